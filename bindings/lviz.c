/*
** lviz.c -- genlab.viz: figures drawn live in windows, or written as PNG
** files when there is no display.  The same script works both ways.
**
** Each figure is also kept in a registry list, so it lives until the program
** ends.  Its __gc then shows the final state, and (unless GENLAB_NO_WAIT is
** set, or the program ran with --no-wait) waits for the window to be closed.
*/
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../core/viz/plot.h"
#include "../core/viz/window.h"
#include "laux.h"

#define LG_FIGURE "genlab.Figure"
#define FIGURES_KEY "genlab.figures"

#define MAX_CONTROLS 12
#define STRIP_H 46             /* a row of controls in the strip, in pixels */
#define STATUS_H 20            /* the strip's last line: the status */
#define CONTROL_W 270          /* each control's width, at most */
#define MAX_QUEUE 256

/* A slider or a button drawn in the figure's control strip. */
typedef struct {
  int button;                  /* 0: a slider */
  char name[48];
  double min, max, value;
  int log;
} control;

typedef struct lg_Figure {
  glab_figure fig;
  glab_window *win;
  char name[64], title[GLAB_LABEL];
  int dirty;
  double last_png, png_cost;
  control controls[MAX_CONTROLS];
  int ncontrols, dragging;     /* the slider being dragged + 1, or 0 */
  int panning;                 /* the zoomed panel being dragged + 1, or 0 */
  double pan_x, pan_y;         /* where its drag last was */
  char status[160];            /* what the mouse is over, drawn in the strip */
  glab_event queue[MAX_QUEUE]; /* events to dispatch: the window's, and injected ones */
  int qhead, qcount;
} lg_Figure;

static int told_headless;

static int figure_count;

static lg_Figure *check_figure(lua_State *L, int i) {
  lg_Figure *f = luaL_checkudata(L, i, LG_FIGURE);
  if (!f->fig.panels) luaL_argerror(L, i, "figure has been closed");
  return f;
}

/* genlab.handin's field k pushed, or nothing and 0 when it is not of type t. */
static int handin_field(lua_State *L, const char *k, int t) {
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "genlab") == LUA_TTABLE && lua_getfield(L, -1, "handin") == LUA_TTABLE &&
      lua_getfield(L, -1, k) == t) {
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
    return 1;
  }
  lua_settop(L, top);
  return 0;
}

/* For headless output and the 's' key: the folder of the notebook being
** rendered (genlab.handin.current, its --out), else out/<script name>/. */
static const char *out_dir(lua_State *L) {
  if (handin_field(L, "current", LUA_TSTRING)) return lua_tostring(L, -1);
  const char *script = "repl";
  lua_getglobal(L, "arg");
  if (lua_istable(L, -1)) {
    lua_rawgeti(L, -1, 0);
    if (lua_isstring(L, -1)) script = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  const char *base = strrchr(script, '/');
  base = base ? base + 1 : script;
  size_t n = strlen(base);
  if (n > 4 && strcmp(base + n - 4, ".lua") == 0) n -= 4;
  else base = "repl", n = 4;                /* the prompt, or -e: arg[0] is genlab itself */
  return lua_pushfstring(L, "out/%s", lua_pushlstring(L, base, n));
}

static void make_dirs(lua_State *L, const char *dir) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", dir);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(buf, 0755);
      *p = '/';
    }
  if (mkdir(buf, 0755) != 0 && errno != EEXIST)
    luaL_error(L, "viz: cannot create %s: %s", dir, strerror(errno));
}

/* ---- the control strip ----------------------------------------------------------
** Sliders and buttons sit in a strip under the panels, drawn by genlab's own
** canvas so that a PNG written headless shows their state too, with the
** status line (what the mouse is over) at its right. */

static double slider_value(const control *k, double t) {
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  return k->log ? k->min * pow(k->max / k->min, t) : k->min + t * (k->max - k->min);
}

static double slider_pos(const control *k) {
  double t = k->log ? log(k->value / k->min) / log(k->max / k->min) : (k->value - k->min) / (k->max - k->min);
  return t < 0 ? 0 : t > 1 ? 1 : t;
}

/* The controls a row of the strip holds, and each one's width: as many of
** CONTROL_W as the figure's width takes, or one, narrower. */
static int per_row(const lg_Figure *f, double *w) {
  int n = (f->fig.width - 20) / CONTROL_W;
  if (n < 1) n = 1;
  *w = fmin(CONTROL_W, (f->fig.width - 20.0) / n);
  return n;
}

/* The strip's height for n controls: their rows, then the status line. */
static int strip_height(const lg_Figure *f, int n) {
  double w;
  int per = per_row(f, &w);
  return (n + per - 1) / per * STRIP_H + STATUS_H;
}

/* Control i's box in the strip: rows of controls, left to right. */
static void control_box(const lg_Figure *f, int i, double *x0, double *y0, double *x1, double *y1) {
  double w;
  int per = per_row(f, &w);
  *x0 = 10 + (i % per) * w;
  *x1 = *x0 + w - 20;
  *y0 = f->fig.height - f->fig.strip + (i / per) * STRIP_H + 4;
  *y1 = *y0 + STRIP_H - 8;
}

static void draw_strip(const lg_Figure *f, glab_canvas *c) {
  if (!f->fig.strip) return;
  glab_rgba ink = {40, 40, 40, 255}, line = {190, 190, 190, 255}, accent = glab_palette(0);
  glab_canvas_line(c, 0, f->fig.height - f->fig.strip, f->fig.width, f->fig.height - f->fig.strip, 1, line);
  for (int i = 0; i < f->ncontrols; i++) {
    const control *k = &f->controls[i];
    double x0, y0, x1, y1;
    char buf[96];
    control_box(f, i, &x0, &y0, &x1, &y1);
    if (k->button) {
      glab_canvas_fill_rect(c, (int)x0, (int)y0 + 6, (int)x1, (int)y1 - 4, (glab_rgba){236, 240, 246, 255});
      glab_canvas_rect(c, (int)x0, (int)y0 + 6, (int)x1, (int)y1 - 4, accent);
      glab_canvas_text_fit(c, (x0 + x1) / 2, y1 - 14, 12, ink, k->name, GLAB_ALIGN_CENTER, x1 - x0 - 6);
      continue;
    }
    snprintf(buf, sizeof buf, "%s = %.4g", k->name, k->value);
    glab_canvas_text_fit(c, x0, y0 + 13, 12, ink, buf, GLAB_ALIGN_LEFT, x1 - x0);
    double ty = y1 - 10, kx = x0 + slider_pos(k) * (x1 - x0);
    glab_canvas_line(c, x0, ty, x1, ty, 3, line);
    glab_canvas_line(c, x0, ty, kx, ty, 3, accent);
    glab_canvas_disc(c, kx, ty, 6, accent);
  }
  if (f->status[0])                           /* its own line, under the controls */
    glab_canvas_text_fit(c, 10, f->fig.height - 6, 12, ink, f->status, GLAB_ALIGN_LEFT, f->fig.width - 20);
}

static glab_status render_figure(const lg_Figure *f, glab_canvas *c) {
  glab_status s = glab_figure_render(&f->fig, c);
  if (s == GLAB_OK) draw_strip(f, c);
  return s;
}

static glab_status save_png(lg_Figure *f, const char *path) {
  glab_canvas c;
  glab_status s = render_figure(f, &c);
  if (s == GLAB_OK) s = glab_canvas_write_png(&c, path);
  glab_canvas_free(&c);
  return s;
}

/* out/<script>/<name>.png, or where genlab.handin.figure_path sends it
** (beside a larger configuration's figure of that name). */
static const char *default_path(lua_State *L, lg_Figure *f) {
  const char *dir = out_dir(L);
  make_dirs(L, dir);
  if (handin_field(L, "figure_path", LUA_TFUNCTION)) {
    lua_pushstring(L, dir);
    lua_pushfstring(L, "%s.png", f->name);
    lua_call(L, 2, 1);
    if (lua_isstring(L, -1)) return lua_tostring(L, -1);
  }
  return lua_pushfstring(L, "%s/%s.png", dir, f->name);
}

/* ---- creation ---------------------------------------------------------------- */

static void sanitize(char *dst, size_t n, const char *src) {
  size_t k = 0;
  for (; *src && k + 1 < n; src++)
    dst[k++] = (isalnum((unsigned char)*src) || *src == '-' || *src == '_') ? *src : '_';
  dst[k] = '\0';
}

static int v_figure(lua_State *L) {
  lg_checkopts(L, 1, OPTS("title", "rows", "cols", "width", "height", "name"));
  int rows = (int)lg_optnum(L, 1, "rows", 1), cols = (int)lg_optnum(L, 1, "cols", 1);
  const char *title = "", *name = NULL;
  if (lua_istable(L, 1)) {
    lua_getfield(L, 1, "title");
    title = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
    lua_getfield(L, 1, "name");
    name = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;
  }
  int width = (int)lg_optnum(L, 1, "width", cols * 440 + 20);
  int height = (int)lg_optnum(L, 1, "height", rows * 400 + (*title ? 34 : 0));
  lg_Figure *f = lua_newuserdatauv(L, sizeof *f, 1);   /* user value: its callbacks */
  memset(f, 0, sizeof *f);
  luaL_setmetatable(L, LG_FIGURE);
  lg_try(L, glab_figure_init(&f->fig, rows, cols, width, height, title));
  figure_count++;
  snprintf(f->title, sizeof f->title, "%s", *title ? title : "genlab");
  if (name) sanitize(f->name, sizeof f->name, name);
  else if (*title) sanitize(f->name, sizeof f->name, title);
  else snprintf(f->name, sizeof f->name, "figure%d", figure_count);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, FIGURES_KEY);   /* keep it until the end */
  lua_pushvalue(L, -2);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  return 1;
}

/* The panel named by opts.panel (1-based, default 1). */
static glab_panel *panel_arg(lua_State *L, lg_Figure *f, int opts) {
  int k = (int)lg_optnum(L, opts, "panel", 1), n = f->fig.rows * f->fig.cols;
  if (k < 1 || k > n) luaL_error(L, "option 'panel': %d is not a panel of this %dx%d figure", k, f->fig.rows, f->fig.cols);
  f->dirty = 1;
  return &f->fig.panels[k - 1];
}

static void opt_string(lua_State *L, int opts, const char *key, char *dst, size_t n) {
  if (!lua_istable(L, opts)) return;
  lua_getfield(L, opts, key);
  if (lua_isstring(L, -1)) snprintf(dst, n, "%s", lua_tostring(L, -1));
  else if (!lua_isnil(L, -1)) luaL_error(L, "option '%s': expected a string", key);
  lua_pop(L, 1);
}

/* A tensor or a table of numbers at i as doubles in a userdata (GC'd). */
static double *doubles(lua_State *L, int i, int *n) {
  glab_tensor *t = lg_totensor(L, i, GLAB_F64);
  *n = (int)glab_tensor_numel(t);
  double *d = lua_newuserdatauv(L, (size_t)(*n > 0 ? *n : 1) * sizeof *d, 0);
  for (int k = 0; k < *n; k++) d[k] = glab_tensor_flat_get(t, k);
  return d;
}

/* ---- panels --------------------------------------------------------------------- */

static int v_grid(lua_State *L) {
  lg_Figure *f = check_figure(L, 1);
  lg_checkopts(L, 3, OPTS("panel", "rows", "cols", "pad", "norm", "signed", "title", "captions"));
  glab_tensor *imgs = lg_test(L, 2);
  if (!imgs) {                                       /* a list of images: stack them */
    luaL_checktype(L, 2, LUA_TTABLE);
    int n = (int)lua_rawlen(L, 2);
    if (n < 1) luaL_argerror(L, 2, "expected images");
    const glab_tensor **ts = lua_newuserdatauv(L, (size_t)n * sizeof *ts, 0);
    for (int k = 0; k < n; k++) {
      lua_rawgeti(L, 2, k + 1);
      if (!(ts[k] = lg_test(L, -1))) luaL_error(L, "grid: image %d is not a tensor", k + 1);
      lua_pop(L, 1);
    }
    imgs = lg_push(L);
    lg_try(L, glab_stack(imgs, ts, n, 0));
  }
  static const char *const norms[] = {"global", "tile", "none", NULL};
  glab_grid_opts o = {.pad = -1};
  o.rows = (int)lg_optnum(L, 3, "rows", 0);
  o.cols = (int)lg_optnum(L, 3, "cols", 0);
  o.pad = (int)lg_optnum(L, 3, "pad", -1);
  o.signed_map = lg_optbool(L, 3, "signed", 0);
  opt_string(L, 3, "title", o.title, sizeof o.title);
  o.norm = (glab_norm)lg_optchoice(L, 3, "norm", norms, 0);
  char **caps = NULL;
  if (lua_istable(L, 3) && lua_getfield(L, 3, "captions") == LUA_TTABLE) {
    int n = (int)lua_rawlen(L, -1);
    caps = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *caps, 0);
    lua_pushvalue(L, -2);
    for (int j = 0; j < n; j++) {
      lua_rawgeti(L, -1, j + 1);
      caps[j] = (char *)luaL_tolstring(L, -1, NULL);       /* kept on the stack */
      lua_insert(L, -3);
      lua_pop(L, 1);
    }
    caps[n] = NULL;
    int nimg = imgs->ndim ? (int)imgs->shape[0] : 0;
    if (n < nimg) luaL_error(L, "option 'captions': %d captions for %d images", n, nimg);
  }
  o.captions = caps;
  lg_try(L, glab_panel_grid(panel_arg(L, f, 3), imgs, &o));
  lua_settop(L, 1);
  return 1;
}

static int v_heatmap(lua_State *L) {
  lg_Figure *f = check_figure(L, 1);
  glab_tensor *m = lg_totensor(L, 2, GLAB_F64);
  lg_checkopts(L, 3, OPTS("panel", "signed", "title"));
  char title[GLAB_LABEL] = "";
  opt_string(L, 3, "title", title, sizeof title);
  lg_try(L, glab_panel_heatmap(panel_arg(L, f, 3), m, lg_optbool(L, 3, "signed", 0), title));
  lua_settop(L, 1);
  return 1;
}

/* One series from a table {y=, x=, label=, dashed=} at index i. */
static void read_series(lua_State *L, int i, glab_series *s) {
  lua_getfield(L, i, "y");
  if (lua_isnil(L, -1)) luaL_error(L, "line: a series needs y");
  s->y = doubles(L, lua_gettop(L), &s->n);
  lua_getfield(L, i, "x");
  if (!lua_isnil(L, -1)) {
    int nx;
    s->x = doubles(L, lua_gettop(L), &nx);
    if (nx != s->n) luaL_error(L, "line: series has %d x values and %d y values", nx, s->n);
  }
  lua_getfield(L, i, "label");
  if (lua_isstring(L, -1)) snprintf(s->label, sizeof s->label, "%s", lua_tostring(L, -1));
  lua_getfield(L, i, "dashed");
  s->dashed = lua_toboolean(L, -1);
  lua_pop(L, 2);
}

static int v_line(lua_State *L) {
  lg_Figure *f = check_figure(L, 1);
  lg_checkopts(L, 3, OPTS("panel", "title", "xlabel", "ylabel", "logy", "bars", "hline", "hline_label"));
  lua_settop(L, 3);
  int single = lg_test(L, 2) != NULL;
  if (!single) {                          /* {1, 2, 3} is one series, {{y=...}} several */
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_rawgeti(L, 2, 1);
    single = lua_type(L, -1) == LUA_TNUMBER;
    lua_pop(L, 1);
  }
  int one_table = !single && (lua_getfield(L, 2, "y"), !lua_isnil(L, -1));   /* {y=, label=} */
  lua_settop(L, 3);
  int n = (single || one_table) ? 1 : (int)luaL_len(L, 2);
  if (n < 1) luaL_argerror(L, 2, "expected y values or a list of series {y=, x=, label=}");
  glab_series *s = lua_newuserdatauv(L, (size_t)n * sizeof *s, 0);
  memset(s, 0, (size_t)n * sizeof *s);
  if (single) s[0].y = doubles(L, 2, &s[0].n);
  if (one_table) read_series(L, 2, &s[0]);
  single |= one_table;
  for (int k = 0; !single && k < n; k++) {
    lua_rawgeti(L, 2, k + 1);
    if (!lua_istable(L, -1) || lg_test(L, -1)) luaL_error(L, "line: series %d is not a table {y=, x=, label=}", k + 1);
    read_series(L, lua_gettop(L), &s[k]);
  }
  glab_lines_opts o = {0};
  opt_string(L, 3, "title", o.title, sizeof o.title);
  opt_string(L, 3, "xlabel", o.xlabel, sizeof o.xlabel);
  opt_string(L, 3, "ylabel", o.ylabel, sizeof o.ylabel);
  opt_string(L, 3, "hline_label", o.hline_label, sizeof o.hline_label);
  o.logy = lg_optbool(L, 3, "logy", 0);
  o.bars = lg_optbool(L, 3, "bars", 0);
  if (o.logy && o.bars) luaL_argerror(L, 3, "bars stand on 0: they cannot have a log axis");
  o.hline = lg_optnum(L, 3, "hline", 0);
  o.has_hline = lua_istable(L, 3) && (lua_getfield(L, 3, "hline"), !lua_isnil(L, -1));
  lg_try(L, glab_panel_lines(panel_arg(L, f, 3), s, n, &o));
  lua_settop(L, 1);
  return 1;
}

/* Colours from an (n, 3) tensor in [0, 1], or a table/tensor of n category
** numbers (palette entries), into a userdata array. */
static glab_rgba *colors_arg(lua_State *L, int i, int n, const char *op) {
  glab_tensor *t = lg_totensor(L, i, GLAB_F64);
  glab_rgba *c = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *c, 0);
  if (t->ndim == 2 && t->shape[0] == n && t->shape[1] == 3) {
    for (int k = 0; k < n; k++) {
      double v[3];
      for (int j = 0; j < 3; j++) {
        v[j] = glab_tensor_flat_get(t, 3 * k + j);
        v[j] = v[j] != v[j] || v[j] < 0 ? 0 : v[j] > 1 ? 1 : v[j];
      }
      c[k] = GLAB_RGB((uint8_t)(v[0] * 255 + 0.5), (uint8_t)(v[1] * 255 + 0.5), (uint8_t)(v[2] * 255 + 0.5));
    }
  } else if (glab_tensor_numel(t) == n) {
    for (int k = 0; k < n; k++) c[k] = glab_palette((int)glab_tensor_flat_get(t, k) - 1);
  } else {
    luaL_error(L, "%s: colors must be (%d, 3) RGB in [0, 1] or %d category numbers", op, n, n);
  }
  return c;
}

/* opts[key] = {lo, hi} with lo < hi into r; 0 when absent. */
static int opt_range(lua_State *L, int opts, const char *key, double *r) {
  if (!lua_istable(L, opts) || lua_getfield(L, opts, key) == LUA_TNIL) {
    if (lua_istable(L, opts)) lua_pop(L, 1);
    return 0;
  }
  int n;
  double *v = doubles(L, lua_gettop(L), &n);
  if (n != 2 || !(v[0] < v[1])) luaL_error(L, "option '%s': expected {lo, hi} with lo < hi", key);
  r[0] = v[0];
  r[1] = v[1];
  return 1;
}

static int v_scatter(lua_State *L) {
  lg_Figure *f = check_figure(L, 1);
  lg_checkopts(L, 4, OPTS("panel", "colors", "sizes", "title", "xlabel", "ylabel", "xlim", "ylim", "legend"));
  lua_settop(L, 4);
  int nx, ny;
  double *x = doubles(L, 2, &nx), *y = doubles(L, 3, &ny);
  if (nx != ny) luaL_error(L, "scatter: %d x values and %d y values", nx, ny);
  glab_rgba *cols = NULL;
  double *sizes = NULL;
  if (lua_istable(L, 4)) {
    if (lua_getfield(L, 4, "colors") != LUA_TNIL) cols = colors_arg(L, lua_gettop(L), nx, "scatter");
    if (lua_getfield(L, 4, "sizes") == LUA_TNUMBER) {
      double v = lua_tonumber(L, -1);
      sizes = lua_newuserdatauv(L, (size_t)(nx > 0 ? nx : 1) * sizeof *sizes, 0);
      for (int k = 0; k < nx; k++) sizes[k] = v;
    } else if (!lua_isnil(L, -1)) {
      int ns;
      sizes = doubles(L, lua_gettop(L), &ns);
      if (ns != nx) luaL_error(L, "scatter: %d sizes for %d points", ns, nx);
    }
  }
  glab_lines_opts o = {0};
  opt_string(L, 4, "title", o.title, sizeof o.title);
  opt_string(L, 4, "xlabel", o.xlabel, sizeof o.xlabel);
  opt_string(L, 4, "ylabel", o.ylabel, sizeof o.ylabel);
  o.has_xlim = opt_range(L, 4, "xlim", o.xlim);
  o.has_ylim = opt_range(L, 4, "ylim", o.ylim);
  if (lua_istable(L, 4) && lua_getfield(L, 4, "legend") == LUA_TTABLE) {
    int n = (int)lua_rawlen(L, -1);
    if (n > GLAB_MAX_LEGEND) luaL_error(L, "option 'legend': %d names (at most %d)", n, GLAB_MAX_LEGEND);
    for (int k = 0; k < n; k++) {
      lua_rawgeti(L, -1, k + 1);
      snprintf(o.legend[k], sizeof o.legend[k], "%s", luaL_tolstring(L, -1, NULL));
      lua_pop(L, 2);
    }
    o.nlegend = n;
  }
  lg_try(L, glab_panel_scatter(panel_arg(L, f, 4), nx, x, y, cols, sizes, &o));
  lua_settop(L, 1);
  return 1;
}

static int v_graph(lua_State *L) {
  lg_Figure *f = check_figure(L, 1);
  lg_checkopts(L, 4, OPTS("panel", "seed", "labels", "title", "pos"));
  lua_settop(L, 4);
  int n;
  glab_rgba *cols = NULL;
  if (lua_type(L, 2) == LUA_TNUMBER) n = (int)luaL_checkinteger(L, 2);
  else {
    glab_tensor *t = lg_totensor(L, 2, GLAB_F64);
    n = t->ndim ? (int)t->shape[0] : 0;
    cols = colors_arg(L, 2, n, "graph");
  }
  glab_tensor *e = lg_totensor(L, 3, GLAB_F64);
  int m = (int)(glab_tensor_numel(e) / 2);
  if (glab_tensor_numel(e) % 2) luaL_error(L, "graph: edges must be pairs {a, b}");
  int *edges = lua_newuserdatauv(L, (size_t)(m > 0 ? 2 * m : 1) * sizeof *edges, 0);
  for (int k = 0; k < 2 * m; k++) edges[k] = (int)glab_tensor_flat_get(e, k) - 1;   /* 1-based in Lua */
  double *px = NULL, *py = NULL;
  if (lua_istable(L, 4) && lua_getfield(L, 4, "pos") != LUA_TNIL) {
    glab_tensor *pos = lg_totensor(L, lua_gettop(L), GLAB_F64);
    if (pos->ndim != 2 || pos->shape[0] != n || pos->shape[1] != 2) luaL_error(L, "option 'pos': expected (%d, 2)", n);
    px = lua_newuserdatauv(L, (size_t)n * sizeof *px, 0);
    py = lua_newuserdatauv(L, (size_t)n * sizeof *py, 0);
    for (int k = 0; k < n; k++) {
      px[k] = glab_tensor_flat_get(pos, 2 * k);
      py[k] = -glab_tensor_flat_get(pos, 2 * k + 1);        /* y up, as in plots */
    }
  }
  char title[GLAB_LABEL] = "";
  opt_string(L, 4, "title", title, sizeof title);
  uint64_t seed = (uint64_t)lg_optnum(L, 4, "seed", 0);
  int labels = lg_optbool(L, 4, "labels", n <= 40);
  lg_try(L, glab_panel_graph(panel_arg(L, f, 4), n, cols, m, edges, px, py, seed, labels, title));
  lua_settop(L, 1);
  return 1;
}

/* ---- output ---------------------------------------------------------------------- */

static int v_save(lua_State *L) {
  lg_Figure *f = check_figure(L, 1);
  const char *path = lua_isnoneornil(L, 2) ? default_path(L, f) : luaL_checkstring(L, 2);
  lg_try(L, save_png(f, path));
  lua_pushstring(L, path);
  return 1;
}

static int v_render(lua_State *L) {
  lg_Figure *f = check_figure(L, 1);
  glab_canvas c;
  lg_try(L, render_figure(f, &c));
  glab_tensor *t = lg_push(L);
  int64_t sh[3] = {c.h, c.w, 4};
  glab_status s = glab_tensor_new(t, GLAB_F32, 3, sh);
  if (s == GLAB_OK)
    for (size_t i = 0; i < (size_t)c.w * c.h * 4; i++) ((float *)glab_tensor_data(t))[i] = c.px[i] / 255.0f;
  glab_canvas_free(&c);
  lg_try(L, s);
  return 1;
}

/* Headless: rewrite the PNG at most every 2 s, or every 19 times what a
** write costs (so files take at most 5% of the time); the last state is
** flushed at exit. */
static void show_headless(lua_State *L, lg_Figure *f) {
  if (!told_headless) {
    fprintf(stderr, "viz: no display; figures are written to %s/\n", out_dir(L));
    lua_pop(L, 1);
    told_headless = 1;
  }
  double gap = f->png_cost * 19 > 2.0 ? f->png_cost * 19 : 2.0;
  if (f->last_png > 0 && glab_now() - f->last_png < gap) return;
  double t0 = glab_now();
  lg_try(L, save_png(f, default_path(L, f)));
  f->last_png = glab_now();
  f->png_cost = f->last_png - t0;
  f->dirty = 0;
}

static void present(lg_Figure *f) {
  double t0 = glab_now();
  glab_canvas c;
  if (render_figure(f, &c) != GLAB_OK) return;
  glab_window_present(f->win, &c);
  glab_canvas_free(&c);
  glab_window_set_cost(f->win, glab_now() - t0);
  f->dirty = 0;
}

/* ---- interaction: callbacks, controls, run control ------------------------------
** Events (the window's, or injected by fig:_event) wait in the figure's
** queue and are dispatched on the Lua thread whenever the program calls
** fig:show(), viz.pump(), or waits at the prompt or in a pause: a callback
** runs between steps, never inside one, and one that raises is reported
** with its traceback while the window and the loop go on. */

static void enqueue(lg_Figure *f, const glab_event *ev) {
  if (f->qcount == MAX_QUEUE) {
    f->qhead = (f->qhead + 1) % MAX_QUEUE;
    f->qcount--;
  }
  f->queue[(f->qhead + f->qcount) % MAX_QUEUE] = *ev;
  f->qcount++;
}

/* The callbacks table (the user value), pushed. */
static void push_callbacks(lua_State *L, int fig) {
  if (lua_getiuservalue(L, fig, 1) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, fig, 1);
  }
}

static int traceback(lua_State *L) {
  luaL_traceback(L, L, lua_tostring(L, 1), 1);
  return 1;
}

/* Call the function at the top with the value at arg; an error is reported,
** not raised. */
static void call_back(lua_State *L, int arg, const char *what) {
  lua_pushcfunction(L, traceback);
  lua_insert(L, -2);
  lua_pushvalue(L, arg);
  if (lua_pcall(L, 1, 0, -3) != LUA_OK) {
    fprintf(stderr, "viz: the %s callback failed: %s\n", what, lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

static const char *event_names[] = {"", "hover", "click", "release", "wheel", "key"};

/* The Lua table for ev at h: kind, panel (1-based), x, y, inside, and the
** grid's tile, row, col and value or the plot's nearest point. */
static void push_event(lua_State *L, const glab_event *ev, const glab_hit *h, const char *kind) {
  lua_createtable(L, 0, 16);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  if (h->panel >= 0) { lua_pushinteger(L, h->panel + 1); lua_setfield(L, -2, "panel"); }
  lua_pushnumber(L, ev->x); lua_setfield(L, -2, "px");
  lua_pushnumber(L, ev->y); lua_setfield(L, -2, "py");
  lua_pushboolean(L, h->inside); lua_setfield(L, -2, "inside");
  if (h->kind == GLAB_PANEL_LINES || h->kind == GLAB_PANEL_SCATTER) {
    lua_pushnumber(L, h->x); lua_setfield(L, -2, "x");
    lua_pushnumber(L, h->y); lua_setfield(L, -2, "y");
    if (h->nearest >= 0) {
      lua_pushinteger(L, h->nearest + 1); lua_setfield(L, -2, "nearest");
      if (h->series >= 0) { lua_pushinteger(L, h->series + 1); lua_setfield(L, -2, "series"); }
      lua_pushnumber(L, h->nx); lua_setfield(L, -2, "nx");
      lua_pushnumber(L, h->ny); lua_setfield(L, -2, "ny");
    }
  }
  if (h->tile >= 0) {
    lua_pushinteger(L, h->tile + 1); lua_setfield(L, -2, "tile");
    lua_pushinteger(L, h->row + 1); lua_setfield(L, -2, "row");
    lua_pushinteger(L, h->col + 1); lua_setfield(L, -2, "col");
    lua_pushnumber(L, h->value); lua_setfield(L, -2, "value");
    if (h->kind == GLAB_PANEL_GRID && h->channels == 3) {
      lua_createtable(L, 3, 0);
      for (int i = 0; i < 3; i++) { lua_pushnumber(L, h->rgb[i]); lua_rawseti(L, -2, i + 1); }
      lua_setfield(L, -2, "rgb");
    }
  }
  lua_pushinteger(L, ev->button); lua_setfield(L, -2, "button");
  lua_pushboolean(L, ev->mods & GLAB_MOD_SHIFT); lua_setfield(L, -2, "shift");
  lua_pushboolean(L, ev->mods & GLAB_MOD_CTRL); lua_setfield(L, -2, "ctrl");
  if (ev->kind == GLAB_EV_WHEEL) { lua_pushnumber(L, ev->wheel); lua_setfield(L, -2, "wheel"); }
  if (ev->kind == GLAB_EV_KEY) { lua_pushfstring(L, "%c", ev->key); lua_setfield(L, -2, "key"); }
}

/* The status line for what the mouse is over: drawn in the control strip,
** or, in a window without one, shown in its title bar. */
static void set_status(lg_Figure *f, const glab_hit *h) {
  char series[24] = "";
  if (h->series >= 0 && h->nearest >= 0) snprintf(series, sizeof series, " of series %d", h->series + 1);
  f->status[0] = '\0';
  if (h->tile >= 0 && h->kind == GLAB_PANEL_HEATMAP)
    snprintf(f->status, sizeof f->status, "panel %d, entry (%d, %d): %.4g", h->panel + 1, h->row + 1,
             h->col + 1, h->value);
  else if (h->tile >= 0 && h->channels == 3)
    snprintf(f->status, sizeof f->status, "panel %d, tile %d, pixel (%d, %d): (%.3g, %.3g, %.3g)",
             h->panel + 1, h->tile + 1, h->row + 1, h->col + 1, h->rgb[0], h->rgb[1], h->rgb[2]);
  else if (h->tile >= 0)
    snprintf(f->status, sizeof f->status, "panel %d, tile %d, pixel (%d, %d): %.4g", h->panel + 1,
             h->tile + 1, h->row + 1, h->col + 1, h->value);
  else if (h->nearest >= 0)
    snprintf(f->status, sizeof f->status, "panel %d, point %d%s: (%.4g, %.4g)", h->panel + 1,
             h->nearest + 1, series, h->nx, h->ny);
  else if (h->inside)
    snprintf(f->status, sizeof f->status, "panel %d: (%.4g, %.4g)", h->panel + 1, h->x, h->y);
  if (f->fig.strip) {
    f->dirty = 1;
  } else if (f->win) {
    char title[sizeof f->status + 160];
    snprintf(title, sizeof title, "%s%s%s", f->fig.title[0] ? f->fig.title : f->name,
             f->status[0] ? "  |  " : "", f->status);
    glab_window_set_title(f->win, title);
  }
}

/* A press or drag at x in the strip: the slider under it moves, the button
** under it is pressed (its callback runs on release). Returns 1 when the
** strip took the event. */
static int strip_event(lua_State *L, int fig, lg_Figure *f, const glab_event *ev) {
  if (!f->fig.strip) return 0;
  if (f->dragging && (ev->kind == GLAB_EV_RELEASE || (ev->kind == GLAB_EV_MOVE && !(ev->button & 1)))) {
    f->dragging = 0;
    return 1;
  }
  int k = -1;
  if (f->dragging && ev->kind == GLAB_EV_MOVE) k = f->dragging - 1;
  else if (ev->y >= f->fig.height - f->fig.strip && ev->kind == GLAB_EV_PRESS)
    for (int i = 0; i < f->ncontrols; i++) {
      double x0, y0, x1, y1;
      control_box(f, i, &x0, &y0, &x1, &y1);
      if (ev->x >= x0 - 6 && ev->x <= x1 + 6 && ev->y >= y0 - 4 && ev->y <= y1 + 4) k = i;
    }
  if (k < 0) return ev->y >= f->fig.height - f->fig.strip;
  control *c = &f->controls[k];
  if (c->button) {
    push_callbacks(L, fig);
    if (lua_getfield(L, -1, "buttons") == LUA_TTABLE && lua_rawgeti(L, -1, k + 1) == LUA_TFUNCTION)
      call_back(L, fig, c->name);
    else lua_pop(L, 1);
    lua_pop(L, 2);
    return 1;
  }
  double x0, y0, x1, y1;
  control_box(f, k, &x0, &y0, &x1, &y1);
  c->value = slider_value(c, (ev->x - x0) / (x1 - x0));
  f->dragging = k + 1;
  f->dirty = 1;
  return 1;
}

/* Whether the callbacks table of the figure at fig has a function for kind. */
static int has_callback(lua_State *L, int fig, const char *kind) {
  push_callbacks(L, fig);
  int yes = lua_getfield(L, -1, kind) == LUA_TFUNCTION;
  lua_pop(L, 2);
  return yes;
}

/* The view's own answers: the wheel zooms an image panel about the mouse, a
** drag pans a zoomed one (the left button only when no drag callback is
** set), 0 shows every panel whole.  Returns 1 for a move that panned:
** callbacks do not see it. */
static int view_event(lua_State *L, int fig, lg_Figure *f, const glab_event *ev, const glab_hit *h) {
  if (ev->kind == GLAB_EV_WHEEL && h->panel >= 0)
    f->dirty |= glab_figure_zoom(&f->fig, h->panel, pow(1.5, ev->wheel), ev->x, ev->y);
  else if (ev->kind == GLAB_EV_KEY && ev->key == '0') {
    glab_figure_reset_views(&f->fig);
    f->dirty = 1;
  } else if (ev->kind == GLAB_EV_PRESS && h->panel >= 0 && f->fig.views[h->panel].zoom > 1 &&
             (ev->button != 1 || !has_callback(L, fig, "drag"))) {
    f->panning = h->panel + 1;
    f->pan_x = ev->x;
    f->pan_y = ev->y;                       /* the press still reaches a click callback */
  } else if (f->panning && (ev->kind == GLAB_EV_RELEASE || (ev->kind == GLAB_EV_MOVE && !ev->button))) {
    f->panning = 0;
  } else if (f->panning && ev->kind == GLAB_EV_MOVE) {
    f->dirty |= glab_figure_pan(&f->fig, f->panning - 1, ev->x - f->pan_x, ev->y - f->pan_y);
    f->pan_x = ev->x;
    f->pan_y = ev->y;
    return 1;
  }
  return 0;
}

/* Run the handlers for one event of the figure at index fig. */
static void dispatch(lua_State *L, int fig, lg_Figure *f, const glab_event *ev) {
  if (ev->kind == GLAB_EV_KEY && glab_window_run_key(ev->key)) return;
  if (strip_event(L, fig, f, ev)) return;
  glab_hit h;
  glab_figure_locate(&f->fig, ev->x, ev->y, &h);
  if (view_event(L, fig, f, ev, &h)) {
    if (ev->kind == GLAB_EV_MOVE) set_status(f, &h);
    return;
  }
  const char *kind = event_names[ev->kind];
  if (ev->kind == GLAB_EV_MOVE) {
    set_status(f, &h);
    if (ev->button & 1) kind = "drag";
  }
  push_callbacks(L, fig);
  int cbs = lua_gettop(L);
  push_event(L, ev, &h, kind);
  int e = lua_gettop(L);
  if (ev->kind == GLAB_EV_KEY) {
    lua_getfield(L, cbs, "keys");
    char k[2] = {(char)ev->key, 0};
    if (lua_istable(L, -1) && lua_getfield(L, -1, k) == LUA_TFUNCTION) call_back(L, e, k);
    else lua_pop(L, 1);
    lua_pop(L, 1);
  }
  if (lua_getfield(L, cbs, kind) == LUA_TFUNCTION) call_back(L, e, kind);
  else lua_pop(L, 1);
  lua_settop(L, cbs - 1);
}

/* Take the window's events into the queue, then dispatch the queue. */
static void pump_figure(lua_State *L, int fig) {
  lg_Figure *f = lua_touserdata(L, fig);
  if (!f || !f->fig.panels) return;
  glab_event ev;
  while (f->win && glab_window_next_event(f->win, &ev)) enqueue(f, &ev);
  while (f->qcount > 0 && f->fig.panels) {          /* a callback may close the figure */
    ev = f->queue[f->qhead];
    f->qhead = (f->qhead + 1) % MAX_QUEUE;
    f->qcount--;
    dispatch(L, fig, f, &ev);
  }
  if (!f->fig.panels) {
    f->qcount = 0;
    return;
  }
  if (f->dirty && f->win && !glab_window_closed(f->win) && glab_window_due(f->win)) present(f);
  while (f->win && glab_window_take_save(f->win)) {     /* s, whenever pressed: paused, waiting */
    const char *path = default_path(L, f);
    if (save_png(f, path) == GLAB_OK) fprintf(stderr, "viz: saved %s\n", path);
    lua_pop(L, 1);
  }
}

/* Every figure's events: the windows' own, then each figure's queue. */
static void pump_all(lua_State *L) {
  glab_window_pump();
  luaL_getsubtable(L, LUA_REGISTRYINDEX, FIGURES_KEY);
  int t = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    int fig = lua_gettop(L);
    pump_figure(L, fig);
    lua_settop(L, fig);
  }
  lua_pop(L, 1);
}

static int v_pump(lua_State *L) {
  double secs = luaL_optnumber(L, 1, 0), until = glab_now() + secs;
  pump_all(L);
  while (glab_now() < until) {               /* keep answering, asleep between polls */
    double left = until - glab_now();
    struct timespec ts = {0, (long)(fmin(left, 0.005) * 1e9)};
    nanosleep(&ts, NULL);
    pump_all(L);
  }
  return 0;
}

/* Until every window is closed: answer them, callbacks included. */
static int v_wait(lua_State *L) {
  int n = glab_window_count_open();
  if (n == 0) return 0;
  fprintf(stderr, "viz: %d figure window%s open: hover, zoom and the controls still work; q in a window "
          "closes it\n", n, n > 1 ? "s" : "");
  while (glab_window_count_open() > 0) {
    pump_all(L);
    struct timespec ts = {0, 15000000};
    nanosleep(&ts, NULL);
  }
  return 0;
}

/* The figure whose show() took the last n: a step runs until that figure is
** shown again, whatever others the loop shows meanwhile. */
static const lg_Figure *stepping;

/* While space has paused the program: keep answering (callbacks included)
** until space again, or n lets one step through. */
static void hold_while_paused(lua_State *L, const lg_Figure *f) {
  if (!glab_window_paused()) { stepping = NULL; return; }
  if (stepping && (!stepping->win || glab_window_closed(stepping->win))) stepping = NULL;
  if (stepping && stepping != f) return;          /* another figure of the same step */
  if (!stepping)
    fprintf(stderr, "\n[paused: space resumes, n runs one step, + and - change the redraw rate]\n");
  while (glab_window_paused() && glab_window_count_open() > 0) {
    pump_all(L);
    if (glab_window_take_step()) { stepping = f; return; }
    struct timespec ts = {0, 15000000};
    nanosleep(&ts, NULL);
  }
  stepping = NULL;
  fprintf(stderr, "[resumed]\n");
}

static int v_on(lua_State *L) {
  check_figure(L, 1);
  static const char *const kinds[] = {"hover", "click", "drag", "release", "wheel", "key", NULL};
  const char *kind = kinds[luaL_checkoption(L, 2, NULL, kinds)];
  if (!lua_isnil(L, 3)) luaL_checktype(L, 3, LUA_TFUNCTION);
  push_callbacks(L, 1);
  lua_pushvalue(L, 3);
  lua_setfield(L, -2, kind);
  lua_settop(L, 1);
  return 1;
}

static int v_key(lua_State *L) {
  check_figure(L, 1);
  size_t n;
  const char *k = luaL_checklstring(L, 2, &n);
  if (n != 1 || strchr(GLAB_WINDOW_KEYS, k[0]))
    luaL_argerror(L, 2, "one character, not space, s, q, n, + or - (the window's own keys)");
  luaL_checktype(L, 3, LUA_TFUNCTION);
  push_callbacks(L, 1);
  luaL_getsubtable(L, -1, "keys");
  lua_pushvalue(L, 3);
  lua_setfield(L, -2, k);
  lua_settop(L, 1);
  return 1;
}

/* A new control: the strip appears (the figure grows by it) with the first. */
static control *add_control(lua_State *L, lg_Figure *f) {
  if (f->ncontrols == MAX_CONTROLS) luaL_error(L, "viz: at most %d controls in a figure", MAX_CONTROLS);
  int h = strip_height(f, f->ncontrols + 1);     /* the figure grows by a row when one fills */
  f->fig.height += h - f->fig.strip;
  f->fig.strip = h;
  f->dirty = 1;
  control *c = &f->controls[f->ncontrols++];
  memset(c, 0, sizeof *c);
  return c;
}

static int v_slider(lua_State *L) {
  lg_Figure *f = check_figure(L, 1);
  lg_checkopts(L, 2, OPTS("name", "min", "max", "log", "value"));
  luaL_checktype(L, 2, LUA_TTABLE);
  double lo = lg_optnum(L, 2, "min", 0), hi = lg_optnum(L, 2, "max", 1);
  int lg = lg_optbool(L, 2, "log", 0);
  if (!(hi > lo) || (lg && !(lo > 0)))
    luaL_error(L, "slider: need min < max%s (got %f, %f)", lg ? " and min > 0 for a log scale" : "", lo, hi);
  double v = lg_optnum(L, 2, "value", lo);
  if (!(v >= lo && v <= hi)) luaL_error(L, "slider: value %f is outside [%f, %f]", v, lo, hi);
  control *c = add_control(L, f);
  opt_string(L, 2, "name", c->name, sizeof c->name);
  c->min = lo, c->max = hi, c->log = lg, c->value = v;
  lua_createtable(L, 0, 2);                        /* the handle: {fig =, index =} + methods */
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "fig");
  lua_pushinteger(L, f->ncontrols);
  lua_setfield(L, -2, "index");
  luaL_setmetatable(L, "genlab.Slider");
  return 1;
}

static control *check_slider(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "fig");
  lg_Figure *f = check_figure(L, -1);
  lua_getfield(L, 1, "index");
  int k = (int)lua_tointeger(L, -1);
  lua_pop(L, 2);
  if (k < 1 || k > f->ncontrols) luaL_error(L, "slider: not a control of its figure");
  return &f->controls[k - 1];
}

static int s_value(lua_State *L) {
  lua_pushnumber(L, check_slider(L)->value);
  return 1;
}

static int s_held(lua_State *L) {
  control *c = check_slider(L);
  lua_getfield(L, 1, "fig");
  lg_Figure *f = lua_touserdata(L, -1);
  lua_pushboolean(L, f->dragging && &f->controls[f->dragging - 1] == c);
  return 1;
}

static int s_set(lua_State *L) {
  control *c = check_slider(L);
  double v = luaL_checknumber(L, 2);
  c->value = v < c->min ? c->min : v > c->max ? c->max : v;
  lua_getfield(L, 1, "fig");
  ((lg_Figure *)lua_touserdata(L, -1))->dirty = 1;
  lua_settop(L, 1);
  return 1;
}

static int v_button(lua_State *L) {
  lg_Figure *f = check_figure(L, 1);
  const char *label = luaL_checkstring(L, 2);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  control *c = add_control(L, f);
  c->button = 1;
  snprintf(c->name, sizeof c->name, "%s", label);
  push_callbacks(L, 1);
  luaL_getsubtable(L, -1, "buttons");
  lua_pushvalue(L, 3);
  lua_rawseti(L, -2, f->ncontrols);
  lua_settop(L, 1);
  return 1;
}

/* Test hook: an event as the window would deliver it, in canvas pixels. */
static int v_event(lua_State *L) {
  lg_Figure *f = check_figure(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lg_checkopts(L, 2, OPTS("kind", "x", "y", "button", "key", "wheel", "shift", "ctrl"));
  static const char *const kinds[] = {"move", "press", "release", "wheel", "key", NULL};
  glab_event ev = {0};
  lua_getfield(L, 2, "kind");
  ev.kind = (glab_event_kind)(luaL_checkoption(L, -1, NULL, kinds) + 1);
  ev.x = lg_optnum(L, 2, "x", 0);
  ev.y = lg_optnum(L, 2, "y", 0);
  ev.button = (int)lg_optnum(L, 2, "button", ev.kind == GLAB_EV_PRESS || ev.kind == GLAB_EV_RELEASE ? 1 : 0);
  ev.wheel = lg_optnum(L, 2, "wheel", 0);
  ev.mods = (lg_optbool(L, 2, "shift", 0) ? GLAB_MOD_SHIFT : 0) | (lg_optbool(L, 2, "ctrl", 0) ? GLAB_MOD_CTRL : 0);
  if (ev.kind == GLAB_EV_KEY) {
    lua_getfield(L, 2, "key");
    ev.key = (unsigned char)luaL_checkstring(L, -1)[0];
  }
  enqueue(f, &ev);
  lua_settop(L, 1);
  return 1;
}

static int v_pixel(lua_State *L) {
  lg_Figure *f = check_figure(L, 1);
  double px, py;
  int k = (int)luaL_checkinteger(L, 2) - 1;
  int grid = k >= 0 && k < f->fig.rows * f->fig.cols && f->fig.panels[k].kind == GLAB_PANEL_GRID;
  double x = luaL_checknumber(L, 3), y = luaL_checknumber(L, 4);     /* a grid's: 1-based row, column */
  lg_try(L, grid ? glab_figure_place(&f->fig, k, y - 1, x - 1, (int)luaL_optinteger(L, 5, 1) - 1, &px, &py)
                 : glab_figure_place(&f->fig, k, x, y, 0, &px, &py));
  lua_pushnumber(L, px);
  lua_pushnumber(L, py);
  return 2;
}

static int v_view(lua_State *L) {
  lg_Figure *f = check_figure(L, 1);
  int k = (int)luaL_checkinteger(L, 2);
  luaL_argcheck(L, k >= 1 && k <= f->fig.rows * f->fig.cols, 2, "no such panel");
  if (!lua_isnoneornil(L, 3)) {                       /* set it: zoom, and the centre */
    double z = luaL_checknumber(L, 3);
    luaL_argcheck(L, z >= 1 && z <= GLAB_MAX_ZOOM, 3, "zoom from 1 to 64");
    glab_view *v = &f->fig.views[k - 1];
    *v = (glab_view){z, luaL_optnumber(L, 4, 0.5), luaL_optnumber(L, 5, 0.5)};
    glab_figure_pan(&f->fig, k - 1, 0, 0);            /* keeps the centre in range */
    f->dirty = 1;
  }
  const glab_view *v = &f->fig.views[k - 1];
  lua_pushnumber(L, v->zoom > 1 ? v->zoom : 1);
  lua_pushnumber(L, v->zoom > 1 ? v->cx : 0.5);
  lua_pushnumber(L, v->zoom > 1 ? v->cy : 0.5);
  return 3;
}

static int v_is_open(lua_State *L) {
  lg_Figure *f = check_figure(L, 1);
  lua_pushboolean(L, f->win && !glab_window_closed(f->win));
  return 1;
}

static int v_status(lua_State *L) {
  lua_pushstring(L, check_figure(L, 1)->status);
  return 1;
}

static int v_show(lua_State *L) {
  lg_Figure *f = check_figure(L, 1);
  if (!glab_window_available()) {
    pump_figure(L, 1);                   /* injected events reach their callbacks */
    show_headless(L, f);
    lua_settop(L, 1);
    return 1;
  }
  if (!f->win) lg_try(L, glab_window_open(&f->win, f->title, f->fig.width, f->fig.height));
  if (glab_window_closed(f->win)) {            /* closed by the user: the script goes on */
    glab_window_pump();
    lua_settop(L, 1);
    return 1;
  }
  if (f->dirty && glab_window_due(f->win)) present(f);   /* the window redraws from its texture */
  else glab_window_pump();
  pump_all(L);                                           /* s's saves among them */
  hold_while_paused(L, f);
  lua_settop(L, 1);
  return 1;
}

static int v_close(lua_State *L) {
  lg_Figure *f = luaL_checkudata(L, 1, LG_FIGURE);
  if (stepping == f) stepping = NULL;
  glab_window_close(f->win);
  f->win = NULL;
  glab_figure_free(&f->fig);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, FIGURES_KEY);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  lua_rawset(L, -3);
  return 0;
}

/* At the end: the last state reaches the window or the PNG, and the window
** stays until closed (unless GENLAB_NO_WAIT). */
static int v_gc(lua_State *L) {
  lg_Figure *f = luaL_checkudata(L, 1, LG_FIGURE);
  if (stepping == f) stepping = NULL;
  if (f->fig.panels && f->dirty && !f->win && f->last_png > 0) {
    const char *path = default_path(L, f);
    save_png(f, path);
  }
  if (f->fig.panels && f->win && !glab_window_closed(f->win)) {
    if (f->dirty) present(f);
    const char *nowait = getenv("GENLAB_NO_WAIT");
    if (!(nowait && *nowait && strcmp(nowait, "0") != 0)) {
      fprintf(stderr, "viz: close the window '%s' (or press q) to finish\n", f->title);
      while (!glab_window_closed(f->win)) {
        glab_window_pump();
        struct timespec ts = {0, 15000000};
        nanosleep(&ts, NULL);
      }
    }
  }
  glab_window_close(f->win);
  f->win = NULL;
  glab_figure_free(&f->fig);
  return 0;
}

static int v_headless(lua_State *L) {
  lua_pushboolean(L, !glab_window_available());
  return 1;
}

static int v_outdir(lua_State *L) {
  out_dir(L);
  return 1;
}

/* {spread =, repeats =, repeated = its words, degenerate =, same = {a, b}
** (1-based) or nil} of h, pushed. */
static void push_health(lua_State *L, const glab_grid_health *h) {
  lua_createtable(L, 0, 5);
  lua_pushnumber(L, h->spread);
  lua_setfield(L, -2, "spread");
  lua_pushinteger(L, h->repeats);
  lua_setfield(L, -2, "repeats");
  if (h->repeats)
    lua_pushfstring(L, "%d of %d images repeat an earlier one (first: %d and %d)", h->repeats,
                    h->n, h->same_a + 1, h->same_b + 1);
  else
    lua_pushliteral(L, "no image repeats another");
  lua_setfield(L, -2, "repeated");
  lua_pushboolean(L, glab_grid_degenerate(h));
  lua_setfield(L, -2, "degenerate");
  if (h->same_a >= 0) {
    lua_createtable(L, 2, 0);
    lua_pushinteger(L, h->same_a + 1);
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, h->same_b + 1);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, -2, "same");
  }
}

static int v_health(lua_State *L) {
  lg_Figure *f = check_figure(L, 1);
  lua_newtable(L);
  for (int k = 0, n = 0; k < f->fig.rows * f->fig.cols; k++) {
    const glab_panel *p = &f->fig.panels[k];
    if (p->kind != GLAB_PANEL_GRID) continue;
    glab_grid_health h;
    glab_grid_check(p, &h);
    push_health(L, &h);
    lua_pushinteger(L, k + 1);
    lua_setfield(L, -2, "panel");
    lua_pushstring(L, p->title);
    lua_setfield(L, -2, "title");
    lua_rawseti(L, -2, ++n);
  }
  return 1;
}

/* A grid panel of images alone, to check as a figure would show them. */
static int v_degenerate(lua_State *L) {
  glab_tensor *imgs = lg_check(L, 1);
  lg_checkopts(L, 2, OPTS("norm", "signed"));
  static const char *const norms[] = {"global", "tile", "none", NULL};
  glab_grid_opts o = {.pad = -1};
  o.norm = (glab_norm)lg_optchoice(L, 2, "norm", norms, 2);
  o.signed_map = lg_optbool(L, 2, "signed", 0);
  glab_panel p;
  memset(&p, 0, sizeof p);
  glab_status s = glab_panel_grid(&p, imgs, &o);
  glab_grid_health h;
  if (s == GLAB_OK) glab_grid_check(&p, &h);
  glab_panel_clear(&p);
  lg_try(L, s);
  lua_pushboolean(L, glab_grid_degenerate(&h));
  push_health(L, &h);
  return 2;
}

static const lg_Reg methods[] = {
  {"grid", v_grid,
   "fig:grid(images, [{panel=1, rows=, cols=, pad=2, "
   "norm=\"global\"|\"tile\"|\"none\", signed=false, title=, captions=}]) -> fig\n"
   "A collage: images (N, H, W), (N, 1, H, W), (N, H, "
   "W, 3), flattened square tiles (N, D), or a list.\n"
   "Tiles fill the panel: by whole pixels (crisp) for "
   "small tiles and from 2x, else smoothly (bilinear\n"
   "up, box-averaged down). norm scales by the min/max of all tiles,\n"
   "of each tile, or not at all (values in [0, 1]). "
   "signed: blue-white-red with 0 white (eigenvectors).\n"
   "NaN and infinite pixels are drawn magenta (a colour no map uses) and the scale ignores\n"
   "them; hover names the value."},
  {"heatmap", v_heatmap,
   "fig:heatmap(M, [{panel=1, signed=false, title=}]) -> fig\n"
   "A matrix as colours (viridis, or blue-white-red centred at 0 when signed) with a colour bar;\n"
   "NaN and infinite entries magenta. A row or column too long for square cells is a band\n"
   "16 pixels deep."},
  {"line", v_line,
   "fig:line(y | {y=, x=, label=, dashed=false} | {{y=, x=, label=, dashed=}, ...}, [{panel=1, "
   "title=, xlabel=, ylabel=, logy=false, bars=false, hline=, hline_label=}]) -> fig\n"
   "Line plot of one or several series (x defaults to "
   "1..n), with a legend in the corner that hides the\n"
   "least data (a dashed series has a dashed swatch), "
   "readable ticks (whole numbers only when every x\n"
   "is one: epochs, iterations), a log y axis and a dashed horizontal reference line (e.g. the\n"
   "closed-form NLL). bars = true draws each series as bars from 0, side by side at each x (a\n"
   "posterior over components). A panel not drawn yet says so."},
  {"scatter", v_scatter,
   "fig:scatter(x, y, [{panel=1, colors=, sizes=, title=, "
   "xlabel=, ylabel=, xlim={lo, hi}, ylim=, legend=}]) -> fig\n"
   "Points; colors as (n, 3) RGB in [0, 1] or n category numbers (1, 2, ...); sizes in pixels;\n"
   "xlim and ylim fix the axes (a plot that the user "
   "clicks points into); legend names the categories\n"
   "1, 2, ... in their colours (at most 12)."},
  {"graph", v_graph,
   "fig:graph(nodes, edges, [{panel=1, seed=0, labels=, title=, pos=}]) -> fig\n"
   "nodes: (n, 3) RGB features in [0, 1] colouring each "
   "node, or a count n; edges: (m, 2) or {{a, b}, ...},\n"
   "1-based. Laid out by Fruchterman-Reingold with the "
   "seed (or at pos (n, 2)); labels number the nodes."},
  {"show", v_show,
   "fig:show() -> fig\n"
   "Draw the figure: in its window (opened on first "
   "use, redrawn at most ~30 times a second, never\n"
   "blocking), or without a display as out/<script>/<name>.png. Call it inside a training loop.\n"
   "Keys: s saves a PNG, space pauses at the next "
   "show(), n steps while paused, + and - change the\n"
   "redraw rate, 0 resets zoom, q closes the window; "
   "the wheel zooms an image panel, a drag pans it."},
  {"save", v_save,
   "fig:save([path]) -> path\n"
   "Write the figure as a PNG (default out/<script>/<name>.png)."},
  {"health", v_health,
   "fig:health() -> {{panel=, title=, spread=, repeats=, repeated=, degenerate=, same=}, ...}\n"
   "For each image-grid panel: spread, the mean over "
   "pixel positions of the standard deviation across\n"
   "its images of the intensities as shown (0 to 1); repeats, the images identical to an\n"
   "earlier one (repeated says so in words); same, the first such pair. A grid is degenerate (flat grey tiles, copies,\n"
   "chains all in a few modes) when spread < 0.05 or more than an eighth of its images\n"
   "are repeats (any repeat among up to 8)."},
  {"render", v_render,
   "fig:render() -> Tensor\n"
   "The figure's pixels as an (H, W, 4) float32 RGBA tensor in [0, 1]."},
  {"close", v_close, "fig:close()\nClose the window and free the figure."},
  {"on", v_on,
   "fig:on(\"hover\" | \"click\" | \"drag\" | \"release\" | \"wheel\" | \"key\", fn | nil) -> fig\n"
   "fn(ev) runs on the Lua thread between steps (at "
   "fig:show(), viz.pump(), a pause or the prompt)\n"
   "for each such event: ev.panel (1-based), ev.inside; "
   "on a plot ev.x, ev.y in its data coordinates\n"
   "and the nearest point (ev.nearest, ev.series, "
   "ev.nx, ev.ny); on an image grid ev.tile, ev.row,\n"
   "ev.col and ev.value; ev.button, ev.shift, ev.ctrl, ev.wheel, ev.key, ev.px/ev.py (pixels). A\n"
   "callback that raises is reported with its traceback; the window and the loop go on."},
  {"key", v_key,
   "fig:key(ch, fn) -> fig\n"
   "fn(ev) when the key ch is typed in the window (not space, s, q, n, + or -: the window's own:\n"
   "space pauses and resumes, n runs one step while "
   "paused, + and - redraw more or less often, s saves\n"
   "a PNG, q closes)."},
  {"slider", v_slider,
   "fig:slider{name=, min=0, max=1, log=false, value=min} -> slider\n"
   "A slider in the figure's control strip (drawn in the PNG too); slider:value() reads it in\n"
   "the training loop, slider:set(v) moves it. Drag it with the mouse."},
  {"button", v_button,
   "fig:button(label, fn) -> fig\n"
   "A button in the control strip; fn(fig) runs when it is clicked."},
  {"view", v_view,
   "fig:view(panel, [zoom, cx, cy]) -> zoom, cx, cy\n"
   "How image panel `panel` is shown: magnified zoom times (1 to 64) about the point at fractions\n"
   "(cx, cy) of its picture; with zoom given, set it. "
   "In a window the wheel zooms about the mouse,\n"
   "a drag pans (the right button, or the left when no drag callback is set) and 0 resets; zoomed\n"
   "pixels stay whole (nearest-neighbour), and the zoom survives the panel's redraws."},
  {"pixel", v_pixel,
   "fig:pixel(panel, x, y) -> px, py | fig:pixel(panel, row, col, [tile=1]) -> px, py\n"
   "The canvas pixel of data point (x, y) in a line "
   "or scatter panel, or of the centre of an image\n"
   "grid's pixel (row, col) of tile: where to send fig:_event (zoom included)."},
  {"is_open", v_is_open,
   "fig:is_open() -> boolean\n"
   "Whether the figure's window is open (false headless, or once the user closed it)."},
  {"status", v_status,
   "fig:status() -> string\n"
   "The status line: what the mouse is over (tile, pixel and value; the nearest point)."},
  {"_event", v_event,
   "fig:_event{kind=\"move\"|\"press\"|\"release\"|\"wheel\"|\"key\", "
   "x=, y=, button=1, key=, wheel=, shift=, ctrl=} -> fig\n"
   "Queue an event as the window would deliver it, at "
   "canvas pixel (x, y): for tests and scripted demos."},
  {NULL, NULL, NULL}
};

static const lg_Reg slider_methods[] = {
  {"value", s_value, "slider:value() -> number\nThe slider's current value."},
  {"set", s_set, "slider:set(v) -> slider\nMove the slider to v (clamped to its range)."},
  {"held", s_held,
   "slider:held() -> boolean\n"
   "Whether the mouse is dragging the slider now: act on a value once it is let go."},
  {NULL, NULL, NULL}
};

static const lg_Reg functions[] = {
  {"figure", v_figure,
   "viz.figure([{title=, rows=1, cols=1, width=, height=, name=}]) -> Figure\n"
   "A figure of rows x cols panels; fill panels with "
   "fig:grid/heatmap/line/scatter/graph({panel = k}).\n"
   "name (default: from the title) names its PNG file."},
  {"wait", v_wait,
   "viz.wait()\n"
   "Keep every open figure window answering (hover, zoom, controls, callbacks) until each is\n"
   "closed. A script's end does this by itself unless --no-wait."},
  {"headless", v_headless,
   "viz.headless() -> boolean\n"
   "True when figures go to PNG files: --headless, GENLAB_HEADLESS, or no usable display."},
  {"degenerate", v_degenerate,
   "viz.degenerate(images, [{norm=\"none\"|\"global\"|\"tile\", "
   "signed=false}]) -> boolean, health\n"
   "Whether images (any shape fig:grid takes) would make a degenerate grid, by fig:health's rule\n"
   "(spread < 0.05, or more than an eighth of the images repeating an earlier one);\n"
   "health = {spread=, repeats=, repeated=, degenerate=, same={a, b}}."},
  {"outdir", v_outdir, "viz.outdir() -> path\nWhere PNGs of this script go: out/<script name>."},
  {"pump", v_pump,
   "viz.pump([seconds=0])\n"
   "Answer every figure's window and run the callbacks of its queued events (fig:show() does\n"
   "this too; the prompt does it while it waits); with "
   "seconds, keep answering that long, asleep between\n"
   "events: a live demo's pause between steps."},
  {NULL, NULL, NULL}
};

void lg_open_viz(lua_State *L) {
  luaL_newmetatable(L, LG_FIGURE);
  lua_newtable(L);
  lg_setfuncs(L, methods);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__methods");
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, v_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newmetatable(L, "genlab.Slider");
  lua_newtable(L);
  lg_setfuncs(L, slider_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lg_setfuncs(L, functions);
}
