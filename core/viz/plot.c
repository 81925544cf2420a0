/*
** plot.c -- figures and their axes: layout of panels, "nice" ticks, line
** plots and scatter plots (see plot.h).  Image grids and heat maps are in
** plot_images.c, graphs in graph.c.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

#define TITLE_SIZE 15
#define LABEL_SIZE 12
#define TICK_SIZE 10.5

static const glab_rgba axis_col = {40, 40, 40, 255}, grid_col = {228, 228, 228, 255};

void glab_panel_clear(glab_panel *p) {
  free(p->pixels);
  for (int i = 0; i < p->nseries; i++) {
    free(p->series[i].x);
    free(p->series[i].y);
  }
  free(p->series);
  free(p->px);
  free(p->py);
  free(p->sizes);
  free(p->colors);
  free(p->edges);
  if (p->captions)
    for (int i = 0; i < p->n; i++) free(p->captions[i]);
  free(p->captions);
  if (p->labels)
    for (int i = 0; i < p->n; i++) free(p->labels[i]);
  free(p->labels);
  memset(p, 0, sizeof *p);
}

glab_status glab_figure_init(glab_figure *f, int rows, int cols, int width, int height,
                             const char *title) {
  memset(f, 0, sizeof *f);
  if (rows < 1 || cols < 1 || rows * cols > 64)
    return glab_fail(GLAB_EARG, "figure: %dx%d panels (1 to 64 in all)", rows, cols);
  if (width < 64 || height < 64 || width > 8192 || height > 8192)
    return glab_fail(GLAB_EARG, "figure: size %dx%d out of range (64..8192)", width, height);
  f->panels = calloc((size_t)(rows * cols), sizeof *f->panels);
  f->views = calloc((size_t)(rows * cols), sizeof *f->views);
  if (!f->panels || !f->views) {
    glab_figure_free(f);
    return glab_fail(GLAB_ENOMEM, "figure: out of memory");
  }
  f->rows = rows;
  f->cols = cols;
  f->width = width;
  f->height = height;
  snprintf(f->title, sizeof f->title, "%s", title ? title : "");
  return GLAB_OK;
}

void glab_figure_free(glab_figure *f) {
  for (int i = 0; f->panels && i < f->rows * f->cols; i++) glab_panel_clear(&f->panels[i]);
  free(f->panels);
  free(f->views);
  memset(f, 0, sizeof *f);
}

/* ---- ticks ------------------------------------------------------------------ */

/* A step of 1, 2 or 5 times a power of ten giving about `want` ticks. */
static double nice_step(double span, int want) {
  double raw = span / want, mag = pow(10, floor(log10(raw))), r = raw / mag;
  return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

static void tick_label(char *buf, size_t n, double v, double step) {
  if (fabs(v) < step * 1e-9) v = 0;
  double a = fabs(v);
  if (a != 0 && a >= 1e5 && a < 1e9 && step >= 1) {
    snprintf(buf, n, "%.0f", v);                          /* 120100, not 1.2e+05 */
  } else if (a != 0 && (a >= 1e5 || a < 1e-3)) {
    /* as many digits as tell neighbouring ticks apart: 1e9 + 0.1 steps need 11 */
    int sig = (int)floor(log10(a)) - (int)floor(log10(step)) + 1;
    snprintf(buf, n, "%.*g", sig < 3 ? 3 : sig > 15 ? 15 : sig, v);
  } else {
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(buf, n, "%.*f", dec > 6 ? 6 : dec, v);
  }
}

typedef struct {
  double x0, x1, y0, y1;       /* data range (y in log10 units when logy) */
  double l, r, t, b;           /* pixel rectangle */
  int logy;
  int xint;                    /* every x is an integer: integer ticks only */
} axes;

static double to_px(const axes *a, double x) { return a->l + (x - a->x0) / (a->x1 - a->x0) * (a->r - a->l); }
static double to_py(const axes *a, double y) {
  double v = a->logy ? log10(y) : y;
  return a->b - (v - a->y0) / (a->y1 - a->y0) * (a->b - a->t);
}

/* Pad a range by 5% and make it non-empty. */
static void pad_range(double *lo, double *hi) {
  if (!(*hi > *lo)) {
    double m = isfinite(*lo) ? *lo : 0;
    *lo = m - (m == 0 ? 1 : fabs(m) * 0.1);
    *hi = m + (m == 0 ? 1 : fabs(m) * 0.1);
    return;
  }
  double d = (*hi - *lo) * 0.05;
  *lo -= d;
  *hi += d;
}

static void draw_axes(glab_canvas *c, const axes *a, const char *xlabel, const char *ylabel) {
  char buf[32];
  double step = nice_step(a->x1 - a->x0, 6);
  if (a->xint && step < 1) step = 1;          /* epochs, iterations, K: no 2.5 */
  for (double v = ceil(a->x0 / step) * step; v <= a->x1 + step * 1e-9; v += step) {
    double x = to_px(a, v);
    glab_canvas_line(c, x, a->t, x, a->b, 1, grid_col);
    glab_canvas_line(c, x, a->b, x, a->b + 4, 1, axis_col);
    tick_label(buf, sizeof buf, v, step);
    glab_canvas_text(c, x, a->b + 6 + TICK_SIZE, TICK_SIZE, axis_col, buf, GLAB_ALIGN_CENTER);
  }
  if (a->logy) {
    /* powers of ten; 1, 2 and 5 times them when the range spans under two decades */
    double lstep = fmax(1, floor((a->y1 - a->y0) / 6));
    static const double mant[3] = {1, 2, 5};
    int fine = a->y1 - a->y0 < 2;
    for (double e = floor(a->y0); e <= a->y1 + 1e-9; e += lstep)
      for (int m = 0; m < (fine ? 3 : 1); m++) {
        double v = e + log10(mant[m]);
        if (v < a->y0 - 1e-9 || v > a->y1 + 1e-9) continue;
        double y = a->b - (v - a->y0) / (a->y1 - a->y0) * (a->b - a->t);
        glab_canvas_line(c, a->l, y, a->r, y, 1, grid_col);
        snprintf(buf, sizeof buf, "%g", mant[m] * pow(10, e));
        glab_canvas_text(c, a->l - 6, y + TICK_SIZE / 2 - 1, TICK_SIZE, axis_col, buf, GLAB_ALIGN_RIGHT);
      }
  } else {
    step = nice_step(a->y1 - a->y0, 5);
    for (double v = ceil(a->y0 / step) * step; v <= a->y1 + step * 1e-9; v += step) {
      double y = to_py(a, v);
      glab_canvas_line(c, a->l, y, a->r, y, 1, grid_col);
      glab_canvas_line(c, a->l - 4, y, a->l, y, 1, axis_col);
      tick_label(buf, sizeof buf, v, step);
      glab_canvas_text(c, a->l - 6, y + TICK_SIZE / 2 - 1, TICK_SIZE, axis_col, buf, GLAB_ALIGN_RIGHT);
    }
  }
  glab_canvas_rect(c, (int)a->l, (int)a->t, (int)a->r + 1, (int)a->b + 1, axis_col);
  if (xlabel && *xlabel)
    glab_canvas_text(c, (a->l + a->r) / 2, a->b + 26 + LABEL_SIZE, LABEL_SIZE, axis_col, xlabel,
                     GLAB_ALIGN_CENTER);
  if (ylabel && *ylabel)
    glab_canvas_text_vertical(c, a->l - 58 + LABEL_SIZE, (a->t + a->b) / 2, LABEL_SIZE, axis_col, ylabel);
}

/* The plotting rectangle inside a panel's cell, leaving room for labels. */
static void inner_rect(axes *a, double l, double t, double r, double b, const char *title) {
  a->l = l + 64;
  a->r = r - 14;
  a->t = t + (title && *title ? 26 : 10);
  a->b = b - 46;
}

static void draw_title(glab_canvas *c, double l, double r, double t, const char *title) {
  if (title && *title)
    glab_canvas_text_fit(c, (l + r) / 2, t + 4 + TITLE_SIZE, TITLE_SIZE, GLAB_BLACK, title, GLAB_ALIGN_CENTER,
                         r - l - 8);
}

/* ---- lines ------------------------------------------------------------------- */

glab_rgba glab_palette(int k) {
  static const glab_rgba tab10[10] = {
    {31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
    {148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255},
    {188, 189, 34, 255}, {23, 190, 207, 255}};
  return tab10[((k % 10) + 10) % 10];
}

static double series_x(const glab_series *s, int i) { return s->x ? s->x[i] : i + 1; }

static void data_range(const glab_panel *p, axes *a) {
  a->x0 = a->y0 = INFINITY;
  a->x1 = a->y1 = -INFINITY;
  a->xint = 1;
  for (int k = 0; k < p->nseries; k++)
    for (int i = 0; i < p->series[k].n; i++) {
      double x = series_x(&p->series[k], i), y = p->series[k].y[i];
      if (isfinite(x) && x != floor(x)) a->xint = 0;
      if (a->logy) y = y > 0 ? log10(y) : NAN;
      if (!isfinite(x) || !isfinite(y)) continue;
      a->x0 = fmin(a->x0, x);
      a->x1 = fmax(a->x1, x);
      a->y0 = fmin(a->y0, y);
      a->y1 = fmax(a->y1, y);
    }
  if (p->lines.has_hline && isfinite(p->lines.hline) && (!a->logy || p->lines.hline > 0)) {
    double h = a->logy ? log10(p->lines.hline) : p->lines.hline;
    a->y0 = fmin(a->y0, h);
    a->y1 = fmax(a->y1, h);
  }
  if (!isfinite(a->x0)) { a->x0 = 0; a->x1 = 1; }
  if (!isfinite(a->y0)) { a->y0 = 0; a->y1 = 1; }
  if (p->lines.bars && !a->logy) {          /* bars stand on 0 and need half a slot each side */
    a->y0 = fmin(a->y0, 0);
    a->y1 = fmax(a->y1, 0);
    a->x0 -= 0.5;
    a->x1 += 0.5;
    pad_range(&a->y0, &a->y1);
    return;
  }
  if (a->x1 <= a->x0) pad_range(&a->x0, &a->x1);
  else {                          /* a margin, so that the end points are not cut by the frame */
    double d = (a->x1 - a->x0) * 0.02;
    a->x0 -= d;
    a->x1 += d;
  }
  pad_range(&a->y0, &a->y1);
}

/* How much of the data the box (x0, y0)-(x1, y1) would hide: the points of
** every series inside it and seven points along each of their segments (a
** segment's ends and midpoint can all miss a box that it crosses), and the
** reference line crossing it. */
static int hidden(const glab_panel *p, const axes *a, double x0, double y0, double x1, double y1) {
  int n = 0;
  for (int k = 0; k < p->nseries; k++) {
    const glab_series *s = &p->series[k];
    double px = NAN, py = NAN;
    for (int i = 0; i < s->n; i++) {
      double x = to_px(a, series_x(s, i)), y = (a->logy && !(s->y[i] > 0)) ? NAN : to_py(a, s->y[i]);
      n += x >= x0 && x <= x1 && y >= y0 && y <= y1;
      for (int t = 1; t < 8; t++) {
        double mx = px + (x - px) * t / 8, my = py + (y - py) * t / 8;
        n += isfinite(mx) && isfinite(my) && mx >= x0 && mx <= x1 && my >= y0 && my <= y1;
      }
      px = x;
      py = y;
    }
  }
  if (p->lines.has_hline && (!a->logy || p->lines.hline > 0)) {
    double y = to_py(a, p->lines.hline);
    if (y >= y0 && y <= y1) n += 20;
  }
  return n;
}

/* The legend in the inner corner where it hides the least data (top right
** on a tie), or halfway down the right or left side when that hides
** less than every corner. */
static void draw_legend(glab_canvas *c, const glab_panel *p, const axes *a) {
  int rows = 0;
  double w = 0;
  for (int k = 0; k < p->nseries; k++)
    if (p->series[k].label[0]) {
      rows++;
      w = fmax(w, glab_text_width(LABEL_SIZE - 1, p->series[k].label));
    }
  if (p->lines.has_hline && p->lines.hline_label[0]) {
    rows++;
    w = fmax(w, glab_text_width(LABEL_SIZE - 1, p->lines.hline_label));
  }
  if (!rows) return;
  double lh = LABEL_SIZE + 5, bw = w + 36, bh = rows * lh + 8;
  double xs[2] = {a->r - 8 - bw, a->l + 8}, ys[3] = {a->t + 8, a->b - 8 - bh, (a->t + a->b - bh) / 2};
  double bx0 = xs[0], by0 = ys[0];
  int best = -1;
  for (int place = 0; place < 6; place++) {  /* top right, top left, bottom right, bottom left, sides */
    double x = xs[place % 2], y = ys[place / 2];
    int h = hidden(p, a, x - 4, y - 4, x + bw + 4, y + bh + 4);
    if (best < 0 || h < best) {
      best = h;
      bx0 = x;
      by0 = y;
    }
  }
  double bx1 = bx0 + bw;
  glab_canvas_fill_rect(c, (int)bx0, (int)by0, (int)bx1, (int)(by0 + bh), (glab_rgba){255, 255, 255, 255});
  glab_canvas_rect(c, (int)bx0, (int)by0, (int)bx1, (int)(by0 + bh), grid_col);
  double y = by0 + 4 + lh / 2;
  for (int k = 0; k <= p->nseries; k++) {
    const char *label = k < p->nseries ? p->series[k].label : (p->lines.has_hline ? p->lines.hline_label : "");
    if (!label[0]) continue;
    glab_rgba col = k < p->nseries ? glab_palette(k) : (glab_rgba){90, 90, 90, 255};
    if (k == p->nseries || p->series[k].dashed) {            /* the swatch as the line is drawn */
      glab_canvas_line(c, bx0 + 6, y, bx0 + 13, y, 2, col);
      glab_canvas_line(c, bx0 + 19, y, bx0 + 26, y, 2, col);
    } else {
      glab_canvas_line(c, bx0 + 6, y, bx0 + 26, y, 2, col);
    }
    glab_canvas_text(c, bx0 + 30, y + (LABEL_SIZE - 1) / 2 - 1, LABEL_SIZE - 1, axis_col, label, GLAB_ALIGN_LEFT);
    y += lh;
  }
}

static void draw_dashed(glab_canvas *c, double x0, double x1, double y, glab_rgba col) {
  for (double x = x0; x < x1; x += 10) glab_canvas_line(c, x, y, fmin(x + 6, x1), y, 1.5, col);
}

/* A dashed segment: 7-pixel dashes with 5-pixel gaps, the pattern carried
** from segment to segment by *phase (pixels into the current period). */
static void dashed_segment(glab_canvas *c, double x0, double y0, double x1, double y1, glab_rgba col,
                           double *phase) {
  double len = hypot(x1 - x0, y1 - y0), at = 0;
  while (at < len) {
    double in = fmod(*phase, 12), step = fmin(len - at, in < 7 ? 7 - in : 12 - in);
    if (in < 7) {
      double a = at / len, b = (at + step) / len;
      glab_canvas_line(c, x0 + (x1 - x0) * a, y0 + (y1 - y0) * a, x0 + (x1 - x0) * b, y0 + (y1 - y0) * b, 2, col);
    }
    at += step;
    *phase += step;
  }
}

/* The axes of a line panel in the rectangle l, t, r, b. */
static void lines_axes(const glab_panel *p, double l, double t, double r, double b, axes *a) {
  memset(a, 0, sizeof *a);
  a->logy = p->lines.logy;
  data_range(p, a);
  inner_rect(a, l, t, r, b, p->title);
}

static void render_lines(glab_canvas *c, const glab_panel *p, double l, double t, double r, double b) {
  axes a;
  lines_axes(p, l, t, r, b, &a);
  draw_title(c, l, r, t, p->title);
  draw_axes(c, &a, p->lines.xlabel, p->lines.ylabel);
  if (p->lines.has_hline && (!a.logy || p->lines.hline > 0))
    draw_dashed(c, a.l, a.r, to_py(&a, p->lines.hline), (glab_rgba){90, 90, 90, 255});
  for (int k = 0; p->lines.bars && !a.logy && k < p->nseries; k++) {
    const glab_series *s = &p->series[k];
    double w = 0.8 / p->nseries, y0 = to_py(&a, 0);
    for (int i = 0; i < s->n; i++) {
      double x = series_x(s, i) - 0.4 + k * w, y = to_py(&a, s->y[i]);
      if (!isfinite(x) || !isfinite(y)) continue;
      int x0 = (int)lround(to_px(&a, x)), x1 = (int)lround(to_px(&a, x + w));
      glab_canvas_fill_rect(c, x0, (int)lround(fmin(y, y0)), x1 > x0 ? x1 : x0 + 1, (int)lround(fmax(y, y0)) + 1,
                            glab_palette(k));
    }
  }
  for (int k = 0; !(p->lines.bars && !a.logy) && k < p->nseries; k++) {
    const glab_series *s = &p->series[k];
    glab_rgba col = glab_palette(k);
    double px = NAN, py = NAN, phase = 0;
    for (int i = 0; i < s->n; i++) {
      double x = to_px(&a, series_x(s, i)), y = (a.logy && !(s->y[i] > 0)) ? NAN : to_py(&a, s->y[i]);
      if (isfinite(px) && isfinite(x) && isfinite(y)) {
        if (s->dashed) dashed_segment(c, px, py, x, y, col, &phase);
        else glab_canvas_line(c, px, py, x, y, 2, col);
      }
      if (s->n <= 40 && isfinite(x) && isfinite(y)) glab_canvas_disc(c, x, y, 2.5, col);
      px = x;
      py = y;
    }
  }
  draw_legend(c, p, &a);
}

/* The axes of a scatter panel: the data's range, padded, or the given limits. */
static void scatter_axes(const glab_panel *p, double l, double t, double r, double b, axes *a) {
  memset(a, 0, sizeof *a);
  a->x0 = a->y0 = INFINITY;
  a->x1 = a->y1 = -INFINITY;
  for (int i = 0; i < p->n; i++)
    if (isfinite(p->px[i]) && isfinite(p->py[i])) {
      a->x0 = fmin(a->x0, p->px[i]);
      a->x1 = fmax(a->x1, p->px[i]);
      a->y0 = fmin(a->y0, p->py[i]);
      a->y1 = fmax(a->y1, p->py[i]);
    }
  if (!isfinite(a->x0)) { a->x0 = a->y0 = 0; a->x1 = a->y1 = 1; }
  pad_range(&a->x0, &a->x1);
  pad_range(&a->y0, &a->y1);
  if (p->lines.has_xlim) { a->x0 = p->lines.xlim[0]; a->x1 = p->lines.xlim[1]; }
  if (p->lines.has_ylim) { a->y0 = p->lines.ylim[0]; a->y1 = p->lines.ylim[1]; }
  inner_rect(a, l, t, r, b, p->title);
}

/* The names of a scatter's categories with their colours, in the top right
** corner of the plot area (the categorical palette, as colors= numbers use). */
static void scatter_legend(glab_canvas *c, const glab_panel *p, const axes *a) {
  int n = p->lines.nlegend;
  if (n <= 0) return;
  double w = 0, lh = LABEL_SIZE + 4;
  for (int k = 0; k < n; k++) w = fmax(w, glab_text_width(LABEL_SIZE - 1, p->lines.legend[k]));
  double bw = w + 26, bh = n * lh + 8, x0 = a->r - 8 - bw, y0 = a->t + 8;
  glab_canvas_fill_rect(c, (int)x0, (int)y0, (int)(x0 + bw), (int)(y0 + bh), (glab_rgba){255, 255, 255, 255});
  glab_canvas_rect(c, (int)x0, (int)y0, (int)(x0 + bw), (int)(y0 + bh), grid_col);
  for (int k = 0; k < n; k++) {
    double y = y0 + 4 + lh * (k + 0.5);
    glab_canvas_disc(c, x0 + 10, y, 4, glab_palette(k));
    glab_canvas_text(c, x0 + 20, y + (LABEL_SIZE - 1) / 2 - 1, LABEL_SIZE - 1, axis_col, p->lines.legend[k],
                     GLAB_ALIGN_LEFT);
  }
}

static void render_scatter(glab_canvas *c, const glab_panel *p, double l, double t, double r, double b) {
  axes a;
  scatter_axes(p, l, t, r, b, &a);
  draw_title(c, l, r, t, p->title);
  draw_axes(c, &a, p->xlabel, p->ylabel);
  for (int i = 0; i < p->n; i++) {
    glab_rgba col = p->colors ? p->colors[i] : glab_palette(0);
    double rad = p->sizes ? p->sizes[i] / 2 : 2.5;
    glab_canvas_disc(c, to_px(&a, p->px[i]), to_py(&a, p->py[i]), rad, col);
  }
  scatter_legend(c, p, &a);
}

glab_status glab_panel_lines(glab_panel *p, const glab_series *s, int n, const glab_lines_opts *o) {
  glab_panel_clear(p);
  p->kind = GLAB_PANEL_LINES;
  if (o) {
    p->lines = *o;
    snprintf(p->title, sizeof p->title, "%s", o->title);
  }
  p->series = calloc((size_t)(n > 0 ? n : 1), sizeof *p->series);
  if (!p->series) return glab_fail(GLAB_ENOMEM, "line: out of memory");
  p->nseries = n;
  for (int k = 0; k < n; k++) {
    glab_series *d = &p->series[k];
    *d = s[k];
    d->x = NULL;
    d->y = malloc((size_t)(s[k].n > 0 ? s[k].n : 1) * sizeof *d->y);
    if (s[k].x) d->x = malloc((size_t)(s[k].n > 0 ? s[k].n : 1) * sizeof *d->x);
    if (!d->y || (s[k].x && !d->x)) {
      d->n = 0;
      return glab_fail(GLAB_ENOMEM, "line: out of memory");
    }
    memcpy(d->y, s[k].y, (size_t)s[k].n * sizeof *d->y);
    if (s[k].x) memcpy(d->x, s[k].x, (size_t)s[k].n * sizeof *d->x);
  }
  return GLAB_OK;
}

static double *copy_doubles(const double *src, int n) {
  double *d = malloc((size_t)(n > 0 ? n : 1) * sizeof *d);
  if (d && src) memcpy(d, src, (size_t)n * sizeof *d);
  return d;
}

glab_status glab_panel_scatter(glab_panel *p, int n, const double *x, const double *y,
                               const glab_rgba *colors, const double *sizes,
                               const glab_lines_opts *o) {
  glab_panel_clear(p);
  p->kind = GLAB_PANEL_SCATTER;
  p->n = n;
  if (o) {
    snprintf(p->title, sizeof p->title, "%s", o->title);
    snprintf(p->xlabel, sizeof p->xlabel, "%s", o->xlabel);
    snprintf(p->ylabel, sizeof p->ylabel, "%s", o->ylabel);
    p->lines = *o;                       /* its axis limits */
  }
  p->px = copy_doubles(x, n);
  p->py = copy_doubles(y, n);
  if (sizes) p->sizes = copy_doubles(sizes, n);
  if (colors && (p->colors = malloc((size_t)(n > 0 ? n : 1) * sizeof *p->colors)))
    memcpy(p->colors, colors, (size_t)n * sizeof *p->colors);
  if (!p->px || !p->py || (sizes && !p->sizes) || (colors && !p->colors)) {
    glab_panel_clear(p);
    return glab_fail(GLAB_ENOMEM, "scatter: out of memory");
  }
  return GLAB_OK;
}

/* ---- figures ------------------------------------------------------------------- */

/* The rectangle of panel k: the figure less its title and control strip,
** cut into rows x cols cells with a 4-pixel margin. */
static void panel_rect(const glab_figure *f, int k, double *l, double *t, double *r, double *b) {
  double top = f->title[0] ? 34 : 0;
  double cw = (double)f->width / f->cols, ch = (f->height - f->strip - top) / f->rows;
  int i = k / f->cols, j = k % f->cols;
  *l = j * cw + 4;
  *t = top + i * ch + 4;
  *r = (j + 1) * cw - 4;
  *b = top + (i + 1) * ch - 4;
}

/* The point of series/points nearest to pixel (x, y) within 12 pixels. */
static void nearest_point(const glab_panel *p, const axes *a, double x, double y, glab_hit *hit) {
  double best = 12 * 12;
  if (p->kind == GLAB_PANEL_SCATTER) {
    for (int i = 0; i < p->n; i++) {
      double dx = to_px(a, p->px[i]) - x, dy = to_py(a, p->py[i]) - y;
      if (dx * dx + dy * dy < best) { best = dx * dx + dy * dy; hit->nearest = i; hit->nx = p->px[i]; hit->ny = p->py[i]; }
    }
    return;
  }
  if (p->lines.bars && !a->logy) {        /* a bar under the mouse (2 px of slack), as drawn */
    double w = 0.8 / p->nseries, y0 = to_py(a, 0);
    for (int k = 0; k < p->nseries; k++)
      for (int i = 0; i < p->series[k].n; i++) {
        const glab_series *s = &p->series[k];
        double bx = series_x(s, i) - 0.4 + k * w, top = to_py(a, s->y[i]);
        if (x >= to_px(a, bx) - 2 && x <= to_px(a, bx + w) + 2 && y >= fmin(top, y0) - 2 &&
            y <= fmax(top, y0) + 2) {
          hit->nearest = i, hit->series = k, hit->nx = series_x(s, i), hit->ny = s->y[i];
          return;
        }
      }
    return;
  }
  for (int k = 0; k < p->nseries; k++)
    for (int i = 0; i < p->series[k].n; i++) {
      const glab_series *s = &p->series[k];
      if (a->logy && !(s->y[i] > 0)) continue;
      double dx = to_px(a, series_x(s, i)) - x, dy = to_py(a, s->y[i]) - y;
      if (dx * dx + dy * dy < best) {
        best = dx * dx + dy * dy;
        hit->nearest = i;
        hit->series = k;
        hit->nx = series_x(s, i);
        hit->ny = s->y[i];
      }
    }
}

/* ---- zoomed image panels ------------------------------------------------------ */

static int is_image(const glab_panel *p) { return p->kind == GLAB_PANEL_GRID || p->kind == GLAB_PANEL_HEATMAP; }

static int zoomed(const glab_figure *f, int k) { return f->views[k].zoom > 1 && is_image(&f->panels[k]); }

/* Panel k's picture area (the panel less its title): the pixels x0..x1, y0..y1. */
static void picture_area(const glab_figure *f, int k, int *x0, int *y0, int *x1, int *y1) {
  double l, t, r, b;
  panel_rect(f, k, &l, &t, &r, &b);
  *x0 = (int)ceil(l);
  *y0 = (int)ceil(f->panels[k].title[0] ? t + 26 : t);
  *x1 = (int)r - (f->panels[k].kind == GLAB_PANEL_HEATMAP ? GLAB_HEAT_BAR : 0);   /* the bar stays */
  *y1 = (int)b;
}

/* Where the whole picture of zoomed panel k lies, in canvas pixels. */
static void zoom_rect(const glab_figure *f, int k, double *l, double *t, double *r, double *b) {
  int x0, y0, x1, y1;
  picture_area(f, k, &x0, &y0, &x1, &y1);
  const glab_view *v = &f->views[k];
  double w = (x1 - x0) * v->zoom, h = (y1 - y0) * v->zoom;
  *l = (x0 + x1) / 2.0 - v->cx * w;
  *t = (y0 + y1) / 2.0 - v->cy * h;
  *r = *l + w;
  *b = *t + h;
}

/* The panel as drawn inside its zoomed picture: untitled, whole pixels, a
** heat map without its colour bar (drawn apart, unmagnified). */
static glab_panel zoomed_copy(const glab_panel *p) {
  glab_panel q = *p;
  q.title[0] = '\0';
  q.grid.nearest = 1;
  q.colorbar = 0;
  return q;
}

static void render_image(glab_canvas *c, const glab_panel *p, double l, double t, double r, double b) {
  if (p->kind == GLAB_PANEL_GRID) glab_render_grid(c, p, l, t, r, b);
  else glab_render_heatmap(c, p, l, t, r, b);
}

/* Zoomed panel k: its title, then its magnified picture drawn on a canvas of
** the picture area's size (so nothing spills over a neighbour), copied in. */
static void render_zoomed(glab_canvas *c, const glab_figure *f, int k) {
  const glab_panel *p = &f->panels[k];
  double l, t, r, b;
  int x0, y0, x1, y1;
  char buf[64];
  panel_rect(f, k, &l, &t, &r, &b);
  if (p->title[0])
    glab_canvas_text_fit(c, (l + r) / 2, t + 19, TITLE_SIZE, GLAB_BLACK, p->title, GLAB_ALIGN_CENTER, r - l - 8);
  picture_area(f, k, &x0, &y0, &x1, &y1);
  glab_canvas sub;
  if (x1 <= x0 || y1 <= y0 || glab_canvas_new(&sub, x1 - x0, y1 - y0, GLAB_WHITE) != GLAB_OK) return;
  glab_panel q = zoomed_copy(p);
  zoom_rect(f, k, &l, &t, &r, &b);
  render_image(&sub, &q, l - x0, t - y0, r - x0, b - y0);
  for (int y = 0; y < sub.h; y++) glab_canvas_put_row(c, x0, y0 + y, (const glab_rgba *)(sub.px + 4 * (size_t)y * sub.w), sub.w);
  glab_canvas_free(&sub);
  if (p->kind == GLAB_PANEL_HEATMAP)        /* in the strip picture_area leaves it */
    glab_render_heatmap_bar(c, p, x1 + 12, y0 + 8, y1 - y0 - 16);
  snprintf(buf, sizeof buf, "zoom %.3gx (0 resets)", f->views[k].zoom);
  double tw = glab_text_width(TICK_SIZE, buf);
  glab_canvas_fill_rect(c, (int)(x1 - tw - 10), y0, x1, y0 + 17, (glab_rgba){255, 255, 255, 255});
  glab_canvas_text(c, x1 - 5, y0 + 13, TICK_SIZE, axis_col, buf, GLAB_ALIGN_RIGHT);
}

int glab_figure_zoom(glab_figure *f, int k, double factor, double x, double y) {
  if (k < 0 || k >= f->rows * f->cols || !is_image(&f->panels[k]) || !(factor > 0)) return 0;
  int x0, y0, x1, y1;
  picture_area(f, k, &x0, &y0, &x1, &y1);
  if (x < x0 || x >= x1 || y < y0 || y >= y1) return 0;
  glab_view *v = &f->views[k];
  if (!(v->zoom > 1)) *v = (glab_view){1, 0.5, 0.5};
  double z = fmin(fmax(v->zoom * factor, 1), GLAB_MAX_ZOOM);
  if (z == v->zoom) return 0;
  /* a grid's tiles keep their pads and whole pixels at every scale, so the
  ** picture does not scale linearly: note the image point under the mouse
  ** (tile, fractional row and column) and put it back there afterwards */
  glab_hit h;
  double col = 0, row = 0, ax, ay, bx, by;
  glab_figure_locate(f, x, y, &h);
  int anchored = f->panels[k].kind == GLAB_PANEL_GRID && h.panel == k && h.tile >= 0 &&
                 glab_figure_place(f, k, h.col, h.row, h.tile, &ax, &ay) == GLAB_OK &&
                 glab_figure_place(f, k, h.col + 1, h.row + 1, h.tile, &bx, &by) == GLAB_OK &&
                 bx > ax && by > ay;
  if (anchored) col = h.col + (x - ax) / (bx - ax), row = h.row + (y - ay) / (by - ay);
  double l, t, r, b;
  zoom_rect(f, k, &l, &t, &r, &b);
  double u = (x - l) / (r - l), w = (y - t) / (b - t);       /* the point, as fractions of the picture */
  v->cx = u - (x - (x0 + x1) / 2.0) / ((x1 - x0) * z);
  v->cy = w - (y - (y0 + y1) / 2.0) / ((y1 - y0) * z);
  v->zoom = z;
  if (anchored && glab_figure_place(f, k, col, row, h.tile, &ax, &ay) == GLAB_OK)
    glab_figure_pan(f, k, x - ax, y - ay);                   /* also keeps the picture on the panel */
  else
    glab_figure_pan(f, k, 0, 0);                             /* keep the picture on the panel */
  return 1;
}

int glab_figure_pan(glab_figure *f, int k, double dx, double dy) {
  if (k < 0 || k >= f->rows * f->cols || !zoomed(f, k)) return 0;
  int x0, y0, x1, y1;
  picture_area(f, k, &x0, &y0, &x1, &y1);
  glab_view *v = &f->views[k], old = *v;
  double hx = 0.5 / v->zoom, hy = 0.5 / v->zoom;             /* half the view, as a fraction */
  v->cx = fmin(fmax(v->cx - dx / ((x1 - x0) * v->zoom), hx), 1 - hx);
  v->cy = fmin(fmax(v->cy - dy / ((y1 - y0) * v->zoom), hy), 1 - hy);
  return v->cx != old.cx || v->cy != old.cy;
}

void glab_figure_reset_views(glab_figure *f) {
  for (int k = 0; k < f->rows * f->cols; k++) f->views[k] = (glab_view){1, 0.5, 0.5};
}

void glab_figure_locate(const glab_figure *f, double x, double y, glab_hit *hit) {
  memset(hit, 0, sizeof *hit);
  hit->panel = hit->nearest = hit->series = hit->tile = -1;
  for (int k = 0; k < f->rows * f->cols; k++) {
    double l, t, r, b;
    panel_rect(f, k, &l, &t, &r, &b);
    if (x < l || x >= r || y < t || y >= b) continue;
    const glab_panel *p = &f->panels[k];
    hit->panel = k;
    hit->kind = p->kind;
    if (zoomed(f, k)) {
      int x0, y0, x1, y1;
      picture_area(f, k, &x0, &y0, &x1, &y1);
      if (x < x0 || x >= x1 || y < y0 || y >= y1) return;
      glab_panel q = zoomed_copy(p);
      zoom_rect(f, k, &l, &t, &r, &b);
      p = &q;
      if (p->kind == GLAB_PANEL_GRID) glab_grid_locate(p, l, t, r, b, x, y, hit);
      else glab_heatmap_locate(p, l, t, r, b, x, y, hit);
      return;
    }
    if (p->kind == GLAB_PANEL_GRID) glab_grid_locate(p, l, t, r, b, x, y, hit);
    if (p->kind == GLAB_PANEL_HEATMAP) glab_heatmap_locate(p, l, t, r, b, x, y, hit);
    if (p->kind != GLAB_PANEL_LINES && p->kind != GLAB_PANEL_SCATTER) return;
    axes a;
    if (p->kind == GLAB_PANEL_LINES) lines_axes(p, l, t, r, b, &a);
    else scatter_axes(p, l, t, r, b, &a);
    hit->inside = x >= a.l && x <= a.r && y >= a.t && y <= a.b;
    hit->x = a.x0 + (x - a.l) / (a.r - a.l) * (a.x1 - a.x0);
    double v = a.y0 + (a.b - y) / (a.b - a.t) * (a.y1 - a.y0);
    hit->y = a.logy ? pow(10, v) : v;
    nearest_point(p, &a, x, y, hit);
    return;
  }
}

glab_status glab_figure_place(const glab_figure *f, int k, double x, double y, int tile, double *px, double *py) {
  if (k < 0 || k >= f->rows * f->cols)
    return glab_fail(GLAB_EARG, "place: panel %d of a %dx%d figure", k + 1, f->rows, f->cols);
  const glab_panel *p = &f->panels[k];
  double l, t, r, b;
  panel_rect(f, k, &l, &t, &r, &b);
  if (p->kind == GLAB_PANEL_GRID) {
    if (!zoomed(f, k)) return glab_grid_place(p, l, t, r, b, tile, y, x, px, py);
    glab_panel q = zoomed_copy(p);
    zoom_rect(f, k, &l, &t, &r, &b);
    return glab_grid_place(&q, l, t, r, b, tile, y, x, px, py);
  }
  if (p->kind != GLAB_PANEL_LINES && p->kind != GLAB_PANEL_SCATTER)
    return glab_fail(GLAB_EARG, "place: panel %d is not a line or scatter plot or an image grid", k + 1);
  axes a;
  if (p->kind == GLAB_PANEL_LINES) lines_axes(p, l, t, r, b, &a);
  else scatter_axes(p, l, t, r, b, &a);
  *px = to_px(&a, x);
  *py = to_py(&a, y);
  return GLAB_OK;
}

glab_status glab_figure_render(const glab_figure *f, glab_canvas *c) {
  glab_status s = glab_canvas_new(c, f->width, f->height, GLAB_WHITE);
  if (s != GLAB_OK) return s;
  if (f->title[0])
    glab_canvas_text_fit(c, f->width / 2.0, 8 + 17, 17, GLAB_BLACK, f->title, GLAB_ALIGN_CENTER, f->width - 16);
  for (int i = 0; i < f->rows; i++)
    for (int j = 0; j < f->cols; j++) {
      const glab_panel *p = &f->panels[i * f->cols + j];
      double l, t, r, b;
      panel_rect(f, i * f->cols + j, &l, &t, &r, &b);
      if (zoomed(f, i * f->cols + j)) {
        render_zoomed(c, f, i * f->cols + j);
        continue;
      }
      switch (p->kind) {
        case GLAB_PANEL_GRID: glab_render_grid(c, p, l, t, r, b); break;
        case GLAB_PANEL_HEATMAP: glab_render_heatmap(c, p, l, t, r, b); break;
        case GLAB_PANEL_LINES: render_lines(c, p, l, t, r, b); break;
        case GLAB_PANEL_SCATTER: render_scatter(c, p, l, t, r, b); break;
        case GLAB_PANEL_GRAPH: glab_render_graph(c, p, l, t, r, b); break;
        case GLAB_PANEL_EMPTY:          /* a part of the run that has not drawn yet says so */
          if (f->rows * f->cols > 1)
            glab_canvas_text(c, (l + r) / 2, (t + b) / 2, TICK_SIZE + 2, (glab_rgba){150, 150, 150, 255},
                             "(drawn later in the run)", GLAB_ALIGN_CENTER);
          break;
      }
    }
  return GLAB_OK;
}
