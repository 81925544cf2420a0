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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../core/viz/plot.h"
#include "../core/viz/window.h"
#include "lgenlab.h"

#define LG_FIGURE "genlab.Figure"
#define FIGURES_KEY "genlab.figures"

typedef struct lg_Figure {
  glab_figure fig;
  glab_window *win;
  char name[64], title[GLAB_LABEL];
  int dirty;
  double last_png, png_cost;
} lg_Figure;

static int told_headless;

static int figure_count;

static lg_Figure *check_figure(lua_State *L, int i) {
  lg_Figure *f = luaL_checkudata(L, i, LG_FIGURE);
  if (!f->fig.panels) luaL_argerror(L, i, "figure has been closed");
  return f;
}

/* out/<script name>/ for headless output and the 's' key. */
static const char *out_dir(lua_State *L) {
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
  if (mkdir(buf, 0755) != 0 && errno != EEXIST) luaL_error(L, "viz: cannot create %s", dir);
}

static glab_status save_png(lg_Figure *f, const char *path) {
  glab_canvas c;
  glab_status s = glab_figure_render(&f->fig, &c);
  if (s == GLAB_OK) s = glab_canvas_write_png(&c, path);
  glab_canvas_free(&c);
  return s;
}

static const char *default_path(lua_State *L, lg_Figure *f) {
  const char *dir = out_dir(L);
  make_dirs(L, dir);
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
  lg_Figure *f = lua_newuserdatauv(L, sizeof *f, 0);
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
  lg_checkopts(L, 3, OPTS("panel", "title", "xlabel", "ylabel", "logy", "hline", "hline_label"));
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

static int v_scatter(lua_State *L) {
  lg_Figure *f = check_figure(L, 1);
  lg_checkopts(L, 4, OPTS("panel", "colors", "sizes", "title", "xlabel", "ylabel"));
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
  lg_try(L, glab_figure_render(&f->fig, &c));
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
  if (glab_figure_render(&f->fig, &c) != GLAB_OK) return;
  glab_window_present(f->win, &c);
  glab_canvas_free(&c);
  glab_window_set_cost(f->win, glab_now() - t0);
  f->dirty = 0;
}

static int v_show(lua_State *L) {
  lg_Figure *f = check_figure(L, 1);
  if (!glab_window_available()) {
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
  while (glab_window_take_save(f->win)) {
    const char *path = default_path(L, f);
    if (save_png(f, path) == GLAB_OK) fprintf(stderr, "viz: saved %s\n", path);
  }
  glab_window_hold_while_paused();
  lua_settop(L, 1);
  return 1;
}

static int v_close(lua_State *L) {
  lg_Figure *f = luaL_checkudata(L, 1, LG_FIGURE);
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

/* {spread =, degenerate =, same = {a, b} (1-based) or nil} of h, pushed. */
static void push_health(lua_State *L, const glab_grid_health *h) {
  lua_createtable(L, 0, 3);
  lua_pushnumber(L, h->spread);
  lua_setfield(L, -2, "spread");
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
  {"grid", v_grid, "fig:grid(images, [{panel=1, rows=, cols=, pad=2, norm=\"global\"|\"tile\"|\"none\", signed=false, title=, captions=}]) -> fig\nA collage: images (N, H, W), (N, 1, H, W), (N, H, W, 3), flattened square tiles (N, D), or a list.\nTiles fill the panel: by whole pixels (crisp) for small tiles and from 2x, else smoothly (bilinear\nup, box-averaged down). norm scales by the min/max of all tiles,\nof each tile, or not at all (values in [0, 1]). signed: blue-white-red with 0 white (eigenvectors)."},
  {"heatmap", v_heatmap, "fig:heatmap(M, [{panel=1, signed=false, title=}]) -> fig\nA matrix as colours (viridis, or blue-white-red centred at 0 when signed) with a colour bar."},
  {"line", v_line, "fig:line(y | {y=, x=, label=, dashed=false} | {{y=, x=, label=, dashed=}, ...}, [{panel=1, title=, xlabel=, ylabel=, logy=false, hline=, hline_label=}]) -> fig\nLine plot of one or several series (x defaults to 1..n), with a legend in the corner that hides the\n"
   "least data (a dashed series has a dashed swatch), readable ticks (whole numbers only when every x\n"
   "is one: epochs, iterations), a log y axis and a dashed horizontal reference line (e.g. the\nclosed-form NLL). A panel not drawn yet says so."},
  {"scatter", v_scatter, "fig:scatter(x, y, [{panel=1, colors=, sizes=, title=, xlabel=, ylabel=}]) -> fig\nPoints; colors as (n, 3) RGB in [0, 1] or n category numbers (1, 2, ...); sizes in pixels."},
  {"graph", v_graph, "fig:graph(nodes, edges, [{panel=1, seed=0, labels=, title=, pos=}]) -> fig\nnodes: (n, 3) RGB features in [0, 1] colouring each node, or a count n; edges: (m, 2) or {{a, b}, ...},\n1-based. Laid out by Fruchterman-Reingold with the seed (or at pos (n, 2)); labels number the nodes."},
  {"show", v_show, "fig:show() -> fig\nDraw the figure: in its window (opened on first use, redrawn at most ~30 times a second, never\nblocking), or without a display as out/<script>/<name>.png. Call it inside a training loop.\nKeys: s saves a PNG, space pauses at the next show(), q closes the window."},
  {"save", v_save, "fig:save([path]) -> path\nWrite the figure as a PNG (default out/<script>/<name>.png)."},
  {"health", v_health, "fig:health() -> {{panel=, title=, spread=, degenerate=, same=}, ...}\nFor each image-grid panel: spread, the mean over pixel positions of the standard deviation across\n"
   "its images of the intensities as shown (0 to 1), and same, the first two identical images; a grid\n"
   "is degenerate (flat grey tiles, chains all in one mode) when spread < 0.05 or two are identical."},
  {"render", v_render, "fig:render() -> Tensor\nThe figure's pixels as an (H, W, 4) float32 RGBA tensor in [0, 1]."},
  {"close", v_close, "fig:close()\nClose the window and free the figure."},
  {NULL, NULL, NULL}
};

static const lg_Reg functions[] = {
  {"figure", v_figure, "viz.figure([{title=, rows=1, cols=1, width=, height=, name=}]) -> Figure\nA figure of rows x cols panels; fill panels with fig:grid/heatmap/line/scatter/graph({panel = k}).\nname (default: from the title) names its PNG file."},
  {"headless", v_headless, "viz.headless() -> boolean\nTrue when figures go to PNG files: --headless, GENLAB_HEADLESS, or no usable display."},
  {"degenerate", v_degenerate, "viz.degenerate(images, [{norm=\"none\"|\"global\"|\"tile\", signed=false}]) -> boolean, health\n"
   "Whether images (any shape fig:grid takes) would make a degenerate grid, by fig:health's rule\n"
   "(spread < 0.05, or two identical images); health = {spread=, degenerate=, same={a, b}}."},
  {"outdir", v_outdir, "viz.outdir() -> path\nWhere PNGs of this script go: out/<script name>."},
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
  lua_newtable(L);
  lg_setfuncs(L, functions);
  lg_setdoc(L, -1, "genlab.viz: figures drawn live in windows, or as PNGs without a display.");
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "plot");
  lua_setfield(L, -2, "viz");
}
