/*
** plot_images.c -- image grids (collages of samples, patches, eigenvectors)
** and heat maps with a colour bar, plus the colour maps (see plot.h).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

#define PAD_COLOR ((glab_rgba){64, 64, 64, 255})

static double clamp01(double v) { return v != v ? 0 : v < 0 ? 0 : v > 1 ? 1 : v; }

glab_rgba glab_cmap_gray(double v) {
  uint8_t g = (uint8_t)lround(clamp01(v) * 255);
  return GLAB_RGB(g, g, g);
}

/* White at 0, to (33, 102, 172) at -1 and (178, 24, 43) at +1 (ColorBrewer RdBu). */
glab_rgba glab_cmap_signed(double v) {
  v = v != v ? 0 : v < -1 ? -1 : v > 1 ? 1 : v;
  double t = fabs(v);
  glab_rgba end = v < 0 ? GLAB_RGB(33, 102, 172) : GLAB_RGB(178, 24, 43);
  return GLAB_RGB((uint8_t)lround(255 + (end.r - 255) * t), (uint8_t)lround(255 + (end.g - 255) * t),
                  (uint8_t)lround(255 + (end.b - 255) * t));
}

glab_rgba glab_cmap_viridis(double v) {
  static const uint8_t k[9][3] = {{68, 1, 84}, {71, 44, 122}, {59, 81, 139}, {44, 113, 142},
                                  {33, 144, 141}, {39, 173, 129}, {92, 200, 99}, {170, 220, 50},
                                  {253, 231, 37}};
  double x = clamp01(v) * 8;
  int i = x >= 8 ? 7 : (int)x;
  double f = x - i;
  return GLAB_RGB((uint8_t)lround(k[i][0] + (k[i + 1][0] - k[i][0]) * f),
                  (uint8_t)lround(k[i][1] + (k[i + 1][1] - k[i][1]) * f),
                  (uint8_t)lround(k[i][2] + (k[i + 1][2] - k[i][2]) * f));
}

/* ---- grids ---------------------------------------------------------------------- */

/* Shape of the images in t as n tiles of h x w x ch. */
static glab_status tile_shape(const glab_tensor *t, int *n, int *h, int *w, int *ch) {
  char sh[128];
  int64_t d = t->ndim == 2 ? t->shape[1] : 0, side = (int64_t)llround(sqrt((double)d));
  if (t->ndim == 4 && t->shape[3] == 3) { *n = (int)t->shape[0]; *h = (int)t->shape[1]; *w = (int)t->shape[2]; *ch = 3; }
  else if (t->ndim == 4 && t->shape[1] == 1) { *n = (int)t->shape[0]; *h = (int)t->shape[2]; *w = (int)t->shape[3]; *ch = 1; }
  else if (t->ndim == 3) { *n = (int)t->shape[0]; *h = (int)t->shape[1]; *w = (int)t->shape[2]; *ch = 1; }
  else if (t->ndim == 2 && side * side == d) { *n = (int)t->shape[0]; *h = *w = (int)side; *ch = 1; }
  else
    return glab_fail(GLAB_ESHAPE,
                     "grid: expected (N, H, W), (N, 1, H, W), (N, H, W, 3) or flattened square tiles (N, D); "
                     "got (%s) -- reshape a single image to (1, H, W)",
                     glab_shape_str(sh, sizeof sh, t->ndim, t->shape));
  if (*n < 1 || *h < 1 || *w < 1) return glab_fail(GLAB_ESHAPE, "grid: no images to show");
  return GLAB_OK;
}

glab_status glab_panel_grid(glab_panel *p, const glab_tensor *images, const glab_grid_opts *o) {
  int n = 0, h = 0, w = 0, ch = 0;
  glab_status s = tile_shape(images, &n, &h, &w, &ch);
  if (s != GLAB_OK) return s;
  glab_panel_clear(p);
  p->kind = GLAB_PANEL_GRID;
  if (o) p->grid = *o;
  else p->grid.pad = -1;
  p->grid.captions = NULL;
  snprintf(p->title, sizeof p->title, "%s", p->grid.title);
  size_t total = (size_t)n * h * w * ch;
  p->pixels = malloc(total * sizeof *p->pixels);
  if (!p->pixels) return glab_fail(GLAB_ENOMEM, "grid: out of memory");
  for (size_t i = 0; i < total; i++) p->pixels[i] = glab_tensor_flat_get(images, (int64_t)i);
  p->n = n;
  p->h = h;
  p->w = w;
  p->ch = ch;
  if (o && o->captions) {
    p->captions = calloc((size_t)n, sizeof *p->captions);
    for (int i = 0; p->captions && i < n; i++)
      p->captions[i] = o->captions[i] ? strdup(o->captions[i]) : NULL;
  }
  return GLAB_OK;
}

/* Min and max (or max |v| for the signed map) of tile k, or of all tiles. */
static void value_range(const glab_panel *p, int k, double *lo, double *hi) {
  size_t per = (size_t)p->h * p->w * p->ch, a = k < 0 ? 0 : per * k, b = k < 0 ? per * p->n : a + per;
  *lo = INFINITY;
  *hi = -INFINITY;
  for (size_t i = a; i < b; i++) {
    double v = p->pixels[i];
    if (!isfinite(v)) continue;
    *lo = fmin(*lo, v);
    *hi = fmax(*hi, v);
  }
  if (!isfinite(*lo)) *lo = *hi = 0;
}

/* Value v of a tile whose range is lo..hi as the grid shows it: in [0, 1]
** for the gray and RGB maps, in [-1, 1] for the signed one. */
static double shown(const glab_panel *p, double v, double lo, double hi) {
  const glab_grid_opts *o = &p->grid;
  if (o->signed_map) {
    double m = fmax(fabs(lo), fabs(hi));
    return o->norm == GLAB_NORM_NONE ? v : (m > 0 ? v / m : 0);
  }
  if (o->norm == GLAB_NORM_NONE || hi <= lo) return clamp01(v);
  return clamp01((v - lo) / (hi - lo));
}

/* NaN and infinities have no place on a colour scale: they are drawn in this
** colour, which no map uses, rather than as its end (hover names the value). */
#define NONFINITE_COLOR GLAB_RGB(255, 0, 255)

static glab_rgba tile_pixel(const glab_panel *p, int k, int y, int x, double lo, double hi) {
  size_t at = (((size_t)k * p->h + y) * p->w + x) * p->ch;
  for (int i = 0; i < p->ch && i < 3; i++)
    if (!isfinite(p->pixels[at + i])) return NONFINITE_COLOR;
  if (p->grid.signed_map) return glab_cmap_signed(shown(p, p->pixels[at], lo, hi));
  if (p->ch == 1) return glab_cmap_gray(shown(p, p->pixels[at], lo, hi));
  return GLAB_RGB((uint8_t)lround(shown(p, p->pixels[at], lo, hi) * 255),
                  (uint8_t)lround(shown(p, p->pixels[at + 1], lo, hi) * 255),
                  (uint8_t)lround(shown(p, p->pixels[at + 2], lo, hi) * 255));
}

void glab_grid_check(const glab_panel *p, glab_grid_health *out) {
  out->spread = 0;
  out->n = p->n;
  out->repeats = 0;
  out->same_a = out->same_b = -1;
  if (p->kind != GLAB_PANEL_GRID || p->n < 2) { out->spread = 1; return; }
  size_t per = (size_t)p->h * p->w * p->ch;
  double *range = malloc(2 * (size_t)p->n * sizeof *range), total = 0;
  if (!range) { out->spread = 1; return; }      /* unchecked rather than flagged */
  for (int k = 0; k < p->n; k++)
    value_range(p, p->grid.norm == GLAB_NORM_TILE ? k : -1, &range[2 * k], &range[2 * k + 1]);
  for (size_t i = 0; i < per; i++) {          /* per position: Welford over the tiles */
    double mean = 0, m2 = 0;
    for (int k = 0; k < p->n; k++) {
      double v = shown(p, p->pixels[per * k + i], range[2 * k], range[2 * k + 1]), d = v - mean;
      mean += d / (k + 1);
      m2 += d * (v - mean);
    }
    total += sqrt(m2 / p->n);
  }
  free(range);
  out->spread = total / (double)per;
  for (int b = 1; b < p->n; b++)
    for (int a = 0; a < b; a++)
      if (!memcmp(p->pixels + per * a, p->pixels + per * b, per * sizeof *p->pixels)) {
        if (out->same_a < 0) out->same_a = a, out->same_b = b;
        out->repeats++;
        break;
      }
}

/* Tile k scaled to tw x th at (tx, ty), nearest-neighbour: each source
** pixel's colour is computed once per row, and a built row is copied to
** every output row that shows the same source row.  Only the part on the
** canvas is computed (a zoomed tile may be far larger than the canvas). */
static void draw_scaled(glab_canvas *c, int tx, int ty, int tw, int th, double sc,
                        const glab_panel *p, int k, double lo, double hi) {
  int xa = tx < 0 ? -tx : 0, xb = tx + tw > c->w ? c->w - tx : tw;
  int ya = ty < 0 ? -ty : 0, yb = ty + th > c->h ? c->h - ty : th;
  if (xa >= xb || ya >= yb) return;
  glab_rgba *row = malloc((size_t)(xb - xa) * sizeof *row);
  if (!row) return;
  int built = -1;
  for (int y = ya; y < yb; y++) {
    int sy = (int)(y / sc);
    if (sy >= p->h) sy = p->h - 1;
    if (sy != built) {
      for (int x = xa; x < xb; x++) {
        int sx = (int)(x / sc);
        row[x - xa] = (x > xa && (int)((x - 1) / sc) == sx)
                          ? row[x - xa - 1]
                          : tile_pixel(p, k, sy, sx < p->w ? sx : p->w - 1, lo, hi);
      }
      built = sy;
    }
    glab_canvas_put_row(c, tx + xa, ty + y, row, xb - xa);
  }
  free(row);
}

/* Tile k drawn at a fractional scale sc with a smooth filter: bilinear
** between the source pixels' colours when enlarging, the average of the
** source pixels each output pixel covers (a box filter) when shrinking. */
static void draw_smooth(glab_canvas *c, int tx, int ty, int tw, int th, double sc,
                        const glab_panel *p, int k, double lo, double hi) {
  int w = p->w, h = p->h;
  glab_rgba *src = malloc((size_t)w * h * sizeof *src), *row = malloc((size_t)tw * sizeof *row);
  if (!src || !row) {
    free(src);
    free(row);
    return;
  }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) src[(size_t)y * w + x] = tile_pixel(p, k, y, x, lo, hi);
  for (int y = 0; y < th; y++) {
    for (int x = 0; x < tw; x++) {
      double acc[3] = {0, 0, 0}, wsum = 0;
      if (sc >= 1) {
        double fy = fmin(fmax((y + 0.5) / sc - 0.5, 0), h - 1), fx = fmin(fmax((x + 0.5) / sc - 0.5, 0), w - 1);
        int y0 = (int)fy, x0 = (int)fx, y1 = y0 + 1 < h ? y0 + 1 : y0, x1 = x0 + 1 < w ? x0 + 1 : x0;
        double ay = fy - y0, ax = fx - x0;
        const glab_rgba q[4] = {src[(size_t)y0 * w + x0], src[(size_t)y0 * w + x1], src[(size_t)y1 * w + x0],
                                src[(size_t)y1 * w + x1]};
        const double wq[4] = {(1 - ay) * (1 - ax), (1 - ay) * ax, ay * (1 - ax), ay * ax};
        for (int i = 0; i < 4; i++) {
          acc[0] += wq[i] * q[i].r;
          acc[1] += wq[i] * q[i].g;
          acc[2] += wq[i] * q[i].b;
        }
        wsum = 1;
      } else {
        int sy0 = (int)(y / sc), sy1 = (int)ceil((y + 1) / sc), sx0 = (int)(x / sc), sx1 = (int)ceil((x + 1) / sc);
        for (int sy = sy0; sy < sy1 && sy < h; sy++)
          for (int sx = sx0; sx < sx1 && sx < w; sx++) {
            glab_rgba q = src[(size_t)sy * w + sx];
            acc[0] += q.r;
            acc[1] += q.g;
            acc[2] += q.b;
            wsum += 1;
          }
      }
      if (wsum <= 0) wsum = 1;
      row[x] = GLAB_RGB((uint8_t)lround(acc[0] / wsum), (uint8_t)lround(acc[1] / wsum),
                        (uint8_t)lround(acc[2] / wsum));
    }
    glab_canvas_put_row(c, tx, ty + y, row, tw);
  }
  free(src);
  free(row);
}

/* Tiles fill their panel: small tiles (patches, 5x5 pictures) and any tile
** that can grow at least twofold are scaled by whole pixels, crisp; larger
** images take the fractional scale that fills the panel, smoothly filtered
** (draw_smooth), up or down. */
/* A grid's layout in its rectangle: rows x cols tiles of tw x th pixels
** (scale sc, whole pixels or not), pad between them, caption room cap, the
** block at (x0, y0) of gw x gh; ok is 0 when nothing fits. */
typedef struct {
  int rows, cols, pad, cap, whole, tw, th, gw, gh, x0, y0, ok;
  double sc, title_t;
} grid_geom;

static void grid_layout(const glab_panel *p, double l, double t, double r, double b, grid_geom *g) {
  const glab_grid_opts *o = &p->grid;
  g->cols = o->cols > 0 ? o->cols : (o->rows > 0 ? (p->n + o->rows - 1) / o->rows : (int)ceil(sqrt((double)p->n)));
  g->rows = o->rows > 0 ? o->rows : (p->n + g->cols - 1) / g->cols;
  g->pad = o->pad >= 0 ? o->pad : 2;
  g->cap = p->captions ? 14 : 0;
  g->title_t = t;
  if (p->title[0]) t += 26;
  double sx = (r - l - g->pad * (g->cols + 1)) / (g->cols * (double)p->w);
  double sy = (b - t - (g->pad + g->cap) * (g->rows + 1)) / (g->rows * (double)p->h);
  g->sc = fmin(sx, sy);
  g->whole = g->sc >= 2 || (g->sc >= 1 && p->w <= 32 && p->h <= 32);
  if (g->whole) g->sc = floor(g->sc);
  g->whole |= o->nearest;
  g->ok = g->sc > 0;
  g->tw = (int)floor(p->w * g->sc);
  g->th = (int)floor(p->h * g->sc);
  g->gw = g->cols * g->tw + (g->cols + 1) * g->pad;
  g->gh = g->rows * (g->th + g->cap) + (g->rows + 1) * g->pad;
  g->x0 = (int)floor(l + (r - l - g->gw) / 2);
  g->y0 = (int)floor(t + (b - t - g->gh) / 2);
}

void glab_grid_locate(const glab_panel *p, double l, double t, double r, double b, double x, double y,
                      glab_hit *hit) {
  grid_geom g;
  grid_layout(p, l, t, r, b, &g);
  if (!g.ok) return;
  double gx = x - g.x0 - g.pad, gy = y - g.y0 - g.pad;
  if (gx < 0 || gy < 0) return;
  int col = (int)(gx / (g.tw + g.pad)), row = (int)(gy / (g.th + g.cap + g.pad));
  double ix = gx - col * (g.tw + g.pad), iy = gy - row * (g.th + g.cap + g.pad);
  int k = row * g.cols + col;
  if (col >= g.cols || row >= g.rows || k >= p->n || ix >= g.tw || iy >= g.th) return;
  hit->inside = 1;
  hit->tile = k;
  hit->col = (int)(ix / g.tw * p->w);
  hit->row = (int)(iy / g.th * p->h);
  const double *px = &p->pixels[(((size_t)k * p->h + hit->row) * p->w + hit->col) * p->ch];
  hit->value = px[0];
  hit->channels = p->ch;
  for (int i = 0; i < 3 && i < p->ch; i++) hit->rgb[i] = px[i];
}

glab_status glab_grid_place(const glab_panel *p, double l, double t, double r, double b, int tile, double row,
                            double col, double *px, double *py) {
  grid_geom g;
  grid_layout(p, l, t, r, b, &g);
  if (tile < 0 || tile >= p->n || tile >= g.rows * g.cols)
    return glab_fail(GLAB_EARG, "place: tile %d of a grid of %d", tile + 1, p->n);
  if (!g.ok) return glab_fail(GLAB_EARG, "place: the grid does not fit its panel");
  *px = g.x0 + g.pad + (tile % g.cols) * (g.tw + g.pad) + (col + 0.5) * g.tw / p->w;
  *py = g.y0 + g.pad + (tile / g.cols) * (g.th + g.cap + g.pad) + (row + 0.5) * g.th / p->h;
  return GLAB_OK;
}

void glab_render_grid(glab_canvas *c, const glab_panel *p, double l, double t, double r, double b) {
  const glab_grid_opts *o = &p->grid;
  grid_geom g;
  grid_layout(p, l, t, r, b, &g);
  if (p->title[0])
    glab_canvas_text_fit(c, (l + r) / 2, g.title_t + 19, 15, GLAB_BLACK, p->title, GLAB_ALIGN_CENTER, r - l - 8);
  if (!g.ok) return;
  int cols = g.cols, rows = g.rows, pad = g.pad, cap = g.cap, tw = g.tw, th = g.th, x0 = g.x0, y0 = g.y0;
  int whole = g.whole;
  double sc = g.sc;
  glab_canvas_fill_rect(c, x0, y0, x0 + g.gw, y0 + g.gh, PAD_COLOR);
  double glo, ghi;
  value_range(p, -1, &glo, &ghi);
  for (int k = 0; k < p->n && k < rows * cols; k++) {
    double lo = glo, hi = ghi;
    if (o->norm == GLAB_NORM_TILE) value_range(p, k, &lo, &hi);
    int tx = x0 + pad + (k % cols) * (tw + pad), ty = y0 + pad + (k / cols) * (th + cap + pad);
    if (whole) draw_scaled(c, tx, ty, tw, th, sc, p, k, lo, hi);
    else draw_smooth(c, tx, ty, tw, th, sc, p, k, lo, hi);
    if (p->captions && p->captions[k]) {
      glab_canvas_fill_rect(c, tx, ty + th, tx + tw, ty + th + cap, GLAB_WHITE);
      glab_canvas_text_fit(c, tx + tw / 2.0, ty + th + cap - 3, 10, GLAB_BLACK, p->captions[k], GLAB_ALIGN_CENTER,
                           tw + pad - 2);
    }
  }
}

/* ---- heat maps -------------------------------------------------------------------- */

glab_status glab_panel_heatmap(glab_panel *p, const glab_tensor *m, int signed_map, const char *title) {
  char sh[128];
  if (m->ndim != 2 || m->shape[0] < 1 || m->shape[1] < 1)
    return glab_fail(GLAB_ESHAPE, "heatmap: expected a non-empty matrix, got (%s)",
                     glab_shape_str(sh, sizeof sh, m->ndim, m->shape));
  glab_panel_clear(p);
  size_t total = (size_t)glab_tensor_numel(m);
  p->pixels = malloc(total * sizeof *p->pixels);
  if (!p->pixels) return glab_fail(GLAB_ENOMEM, "heatmap: out of memory");
  for (size_t i = 0; i < total; i++) p->pixels[i] = glab_tensor_flat_get(m, (int64_t)i);
  p->kind = GLAB_PANEL_HEATMAP;
  p->n = 1;
  p->h = (int)m->shape[0];
  p->w = (int)m->shape[1];
  p->ch = 1;
  p->signed_map = signed_map;
  p->colorbar = 1;
  snprintf(p->title, sizeof p->title, "%s", title ? title : "");
  return GLAB_OK;
}

static glab_rgba heat_color(const glab_panel *p, double v, double lo, double hi) {
  if (!isfinite(v)) return NONFINITE_COLOR;
  if (p->signed_map) {
    double m = fmax(fabs(lo), fabs(hi));
    return glab_cmap_signed(m > 0 ? v / m : 0);
  }
  return glab_cmap_viridis(hi > lo ? (v - lo) / (hi - lo) : 0.5);
}

/* A heat map's layout in its rectangle: the matrix at scales sx, sy (square
** cells, unless a side would then be under MIN_BAND pixels: a 1 x 1000 row
** is a band, not a hairline), mw x mh pixels at (x0, y0), its colour bar to
** the right; ok is 0 when nothing fits. */
typedef struct { double sx, sy; int mw, mh, x0, y0, ok; } heat_geom;

#define MIN_BAND 16.0

static void heat_layout(const glab_panel *p, double l, double t, double r, double b, heat_geom *g) {
  double bar = p->colorbar ? GLAB_HEAT_BAR : 0;      /* colour bar and its labels */
  if (p->title[0]) t += 26;
  double aw = r - l - bar - 8, ah = b - t - 8, sc = fmin(aw / p->w, ah / p->h);
  g->sx = p->w * sc < MIN_BAND ? fmin(aw, MIN_BAND) / p->w : sc;
  g->sy = p->h * sc < MIN_BAND ? fmin(ah, MIN_BAND) / p->h : sc;
  g->ok = sc > 0 && aw > 0 && ah > 0;
  g->mw = (int)(p->w * g->sx);
  g->mh = (int)(p->h * g->sy);
  g->x0 = (int)floor(l + (r - l - bar - g->mw) / 2);
  g->y0 = (int)floor(t + (b - t - g->mh) / 2);
}

void glab_heatmap_locate(const glab_panel *p, double l, double t, double r, double b, double x, double y,
                         glab_hit *hit) {
  heat_geom g;
  heat_layout(p, l, t, r, b, &g);
  double ix = x - g.x0, iy = y - g.y0;
  if (!g.ok || ix < 0 || iy < 0 || ix >= g.mw || iy >= g.mh) return;
  hit->inside = 1;
  hit->tile = 0;
  hit->col = (int)(ix / g.sx) < p->w ? (int)(ix / g.sx) : p->w - 1;
  hit->row = (int)(iy / g.sy) < p->h ? (int)(iy / g.sy) : p->h - 1;
  hit->value = p->pixels[(size_t)hit->row * p->w + hit->col];
}

/* The colours' range: the finite values', symmetric about 0 when signed. */
static void heat_range(const glab_panel *p, double *lo, double *hi) {
  value_range(p, -1, lo, hi);
  if (p->signed_map) { *hi = fmax(fabs(*lo), fabs(*hi)); *lo = -*hi; }
}

/* The colour bar beside a matrix mh pixels tall at y0, from x bx, with its
** three labels. */
static void draw_bar(glab_canvas *c, const glab_panel *p, int bx, int y0, int mh, double lo, double hi) {
  char buf[32];
  if (mh < 60) {                     /* beside a band: tall enough for its three labels */
    y0 -= (60 - mh) / 2;
    mh = 60;
  }
  int ya = y0 < 0 ? -y0 : 0, yb = y0 + mh > c->h ? c->h - y0 : mh;
  for (int y = ya; y < yb; y++)
    glab_canvas_fill_rect(c, bx, y0 + y, bx + 14, y0 + y + 1,
                          heat_color(p, hi - (hi - lo) * y / (double)(mh > 1 ? mh - 1 : 1), lo, hi));
  glab_canvas_rect(c, bx, y0, bx + 14, y0 + mh, (glab_rgba){40, 40, 40, 255});
  for (int k = 0; k <= 2; k++) {
    double v = hi - (hi - lo) * k / 2;
    snprintf(buf, sizeof buf, "%.3g", fabs(v) < 1e-12 * fmax(fabs(lo), fabs(hi)) ? 0.0 : v);
    glab_canvas_text(c, bx + 18, y0 + mh * k / 2.0 + 4, 10.5, (glab_rgba){40, 40, 40, 255}, buf, GLAB_ALIGN_LEFT);
  }
}

void glab_render_heatmap(glab_canvas *c, const glab_panel *p, double l, double t, double r, double b) {
  double lo, hi;
  heat_range(p, &lo, &hi);
  if (p->title[0])
    glab_canvas_text_fit(c, (l + r) / 2, t + 19, 15, GLAB_BLACK, p->title, GLAB_ALIGN_CENTER, r - l - 8);
  heat_geom g;
  heat_layout(p, l, t, r, b, &g);
  if (!g.ok) return;
  int mw = g.mw, mh = g.mh, x0 = g.x0, y0 = g.y0;
  int ya = y0 < 0 ? -y0 : 0, yb = y0 + mh > c->h ? c->h - y0 : mh;   /* the part on the canvas */
  int xa = x0 < 0 ? -x0 : 0, xb = x0 + mw > c->w ? c->w - x0 : mw;
  for (int y = ya; y < yb; y++)
    for (int x = xa; x < xb; x++) {                  /* each pixel's centre, as hover reads it */
      int sy = (int)((y + 0.5) / g.sy), sx = (int)((x + 0.5) / g.sx);
      double v = p->pixels[(size_t)(sy < p->h ? sy : p->h - 1) * p->w + (sx < p->w ? sx : p->w - 1)];
      glab_canvas_fill_rect(c, x0 + x, y0 + y, x0 + x + 1, y0 + y + 1, heat_color(p, v, lo, hi));
    }
  if (p->colorbar) draw_bar(c, p, x0 + mw + 12, y0, mh, lo, hi);
}

void glab_render_heatmap_bar(glab_canvas *c, const glab_panel *p, int x, int y0, int h) {
  double lo, hi;
  heat_range(p, &lo, &hi);
  draw_bar(c, p, x, y0, h, lo, hi);
}
