/*
** canvas.c -- RGBA raster and anti-aliased primitives (see canvas.h).
**
** Coverage comes from the distance between a pixel's centre and the shape:
** a pixel at distance d from the edge of a shape is covered by
** clamp(0.5 - d, 0, 1), a one-pixel linear ramp that reads as smooth edges.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../data/io.h"
#include "canvas.h"

glab_status glab_canvas_new(glab_canvas *c, int w, int h, glab_rgba bg) {
  if (w < 1 || h < 1 || w > 16384 || h > 16384)
    return glab_fail(GLAB_EARG, "canvas: size %dx%d out of range (1..16384)", w, h);
  c->px = malloc((size_t)w * (size_t)h * 4);
  if (!c->px) return glab_fail(GLAB_ENOMEM, "canvas: out of memory for %dx%d", w, h);
  c->w = w;
  c->h = h;
  glab_canvas_clear(c, bg);
  return GLAB_OK;
}

void glab_canvas_free(glab_canvas *c) {
  free(c->px);
  c->px = NULL;
  c->w = c->h = 0;
}

void glab_canvas_clear(glab_canvas *c, glab_rgba bg) {
  for (int x = 0; x < c->w; x++) memcpy(c->px + 4 * x, &bg, 4);
  for (int y = 1; y < c->h; y++) memcpy(c->px + (size_t)y * c->w * 4, c->px, (size_t)c->w * 4);
}

glab_rgba glab_canvas_get(const glab_canvas *c, int x, int y) {
  glab_rgba p = {0, 0, 0, 0};
  if (x >= 0 && y >= 0 && x < c->w && y < c->h) memcpy(&p, c->px + 4 * ((size_t)y * c->w + x), 4);
  return p;
}

void glab_canvas_blend(glab_canvas *c, int x, int y, glab_rgba col, float coverage) {
  if (x < 0 || y < 0 || x >= c->w || y >= c->h || coverage <= 0) return;
  float a = coverage > 1 ? col.a / 255.0f : coverage * col.a / 255.0f;
  uint8_t *p = c->px + 4 * ((size_t)y * c->w + x);
  p[0] = (uint8_t)(p[0] + (col.r - p[0]) * a + 0.5f);
  p[1] = (uint8_t)(p[1] + (col.g - p[1]) * a + 0.5f);
  p[2] = (uint8_t)(p[2] + (col.b - p[2]) * a + 0.5f);
  p[3] = (uint8_t)(p[3] + (255 - p[3]) * a + 0.5f);
}

void glab_canvas_fill_rect(glab_canvas *c, int x0, int y0, int x1, int y1, glab_rgba col) {
  if (x0 < 0) x0 = 0;
  if (y0 < 0) y0 = 0;
  if (x1 > c->w) x1 = c->w;
  if (y1 > c->h) y1 = c->h;
  if (x0 >= x1 || y0 >= y1) return;
  uint8_t *row = c->px + 4 * ((size_t)y0 * c->w + x0);
  for (int x = 0; x < x1 - x0; x++) memcpy(row + 4 * x, &col, 4);
  for (int y = y0 + 1; y < y1; y++)
    memcpy(c->px + 4 * ((size_t)y * c->w + x0), row, (size_t)(x1 - x0) * 4);
}

void glab_canvas_put_row(glab_canvas *c, int x, int y, const glab_rgba *px, int n) {
  if (y < 0 || y >= c->h) return;
  int skip = x < 0 ? -x : 0;
  if (x + n > c->w) n = c->w - x;
  if (n - skip <= 0) return;
  memcpy(c->px + 4 * ((size_t)y * c->w + x + skip), px + skip, (size_t)(n - skip) * 4);
}

void glab_canvas_rect(glab_canvas *c, int x0, int y0, int x1, int y1, glab_rgba col) {
  glab_canvas_fill_rect(c, x0, y0, x1, y0 + 1, col);
  glab_canvas_fill_rect(c, x0, y1 - 1, x1, y1, col);
  glab_canvas_fill_rect(c, x0, y0, x0 + 1, y1, col);
  glab_canvas_fill_rect(c, x1 - 1, y0, x1, y1, col);
}

static float ramp(double d) {
  return d <= -0.5 ? 1.0f : d >= 0.5 ? 0.0f : (float)(0.5 - d);
}

void glab_canvas_line(glab_canvas *c, double x0, double y0, double x1, double y1,
                      double width, glab_rgba col) {
  if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1)) return;
  double r = width / 2, pad = r + 1;
  int bx0 = (int)floor(fmin(x0, x1) - pad), bx1 = (int)ceil(fmax(x0, x1) + pad);
  int by0 = (int)floor(fmin(y0, y1) - pad), by1 = (int)ceil(fmax(y0, y1) + pad);
  if (bx0 < 0) bx0 = 0;
  if (by0 < 0) by0 = 0;
  if (bx1 > c->w) bx1 = c->w;
  if (by1 > c->h) by1 = c->h;
  double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
  for (int y = by0; y < by1; y++)
    for (int x = bx0; x < bx1; x++) {
      double px = x + 0.5 - x0, py = y + 0.5 - y0;
      double t = len2 > 0 ? (px * dx + py * dy) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      double ex = px - t * dx, ey = py - t * dy;
      glab_canvas_blend(c, x, y, col, ramp(sqrt(ex * ex + ey * ey) - r));
    }
}

void glab_canvas_disc(glab_canvas *c, double cx, double cy, double r, glab_rgba col) {
  if (!isfinite(cx) || !isfinite(cy) || !(r > 0)) return;
  for (int y = (int)floor(cy - r - 1); y <= (int)ceil(cy + r + 1); y++)
    for (int x = (int)floor(cx - r - 1); x <= (int)ceil(cx + r + 1); x++) {
      double d = hypot(x + 0.5 - cx, y + 0.5 - cy) - r;
      glab_canvas_blend(c, x, y, col, ramp(d));
    }
}

void glab_canvas_ellipse(glab_canvas *c, double cx, double cy, double a, double b,
                         double angle, double width, glab_rgba col) {
  int n = 96;
  double ca = cos(angle), sa = sin(angle);
  double px = cx + a * ca, py = cy + a * sa;
  for (int i = 1; i <= n; i++) {
    double t = 2 * M_PI * i / n, ex = a * cos(t), ey = b * sin(t);
    double qx = cx + ex * ca - ey * sa, qy = cy + ex * sa + ey * ca;
    glab_canvas_line(c, px, py, qx, qy, width, col);
    px = qx;
    py = qy;
  }
}

glab_status glab_canvas_write_png(const glab_canvas *c, const char *path) {
  return glab_png_write_u8(path, c->px, c->w, c->h, 4);
}
