/*
** graph.c -- graphs: a Fruchterman-Reingold force-directed layout with a
** seed, and the panel that draws edges and coloured nodes (see plot.h).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tensor/random.h"
#include "plot.h"

/* Repulsion k^2/d between every pair, attraction d^2/k along edges, and a
** weak pull towards the centre that keeps components without edges between
** them from drifting apart; moves are capped by a temperature that cools
** linearly.  The result is rescaled into the unit square. */
void glab_layout_fr(double *x, double *y, int n, int nedges, const int *edges,
                    int iterations, uint64_t seed) {
  glab_rng g;
  glab_rng_seed(&g, seed);
  for (int i = 0; i < n; i++) {
    x[i] = glab_rng_uniform(&g);
    y[i] = glab_rng_uniform(&g);
  }
  if (n < 2) return;
  double k = sqrt(1.0 / n), *dx = calloc((size_t)n, sizeof *dx), *dy = calloc((size_t)n, sizeof *dy);
  if (!dx || !dy) { free(dx); free(dy); return; }
  for (int it = 0; it < iterations; it++) {
    double temp = 0.1 * (1.0 - (double)it / iterations);
    memset(dx, 0, (size_t)n * sizeof *dx);
    memset(dy, 0, (size_t)n * sizeof *dy);
    for (int i = 0; i < n; i++)
      for (int j = i + 1; j < n; j++) {
        double ex = x[i] - x[j], ey = y[i] - y[j], d2 = ex * ex + ey * ey + 1e-9;
        double f = k * k / d2;                        /* (k^2/d) along the unit vector */
        dx[i] += ex * f; dy[i] += ey * f;
        dx[j] -= ex * f; dy[j] -= ey * f;
      }
    for (int e = 0; e < nedges; e++) {
      int a = edges[2 * e], b = edges[2 * e + 1];
      if (a < 0 || b < 0 || a >= n || b >= n || a == b) continue;
      double ex = x[a] - x[b], ey = y[a] - y[b], d = sqrt(ex * ex + ey * ey) + 1e-9;
      double f = d / k;                               /* (d^2/k) along the unit vector */
      dx[a] -= ex * f; dy[a] -= ey * f;
      dx[b] += ex * f; dy[b] += ey * f;
    }
    for (int i = 0; i < n; i++) {
      dx[i] -= (x[i] - 0.5) * 4 * k;
      dy[i] -= (y[i] - 0.5) * 4 * k;
      double d = sqrt(dx[i] * dx[i] + dy[i] * dy[i]) + 1e-12, step = fmin(d, temp);
      x[i] += dx[i] / d * step;
      y[i] += dy[i] / d * step;
    }
  }
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (int i = 0; i < n; i++) {
    x0 = fmin(x0, x[i]); x1 = fmax(x1, x[i]);
    y0 = fmin(y0, y[i]); y1 = fmax(y1, y[i]);
  }
  double span = fmax(fmax(x1 - x0, y1 - y0), 1e-12);
  for (int i = 0; i < n; i++) {
    x[i] = (x[i] - x0) / span;
    y[i] = (y[i] - y0) / span;
  }
  free(dx);
  free(dy);
}

glab_status glab_panel_graph(glab_panel *p, int nnodes, const glab_rgba *colors, int nedges,
                             const int *edges, const double *x, const double *y,
                             uint64_t seed, int labels, const char *title) {
  if (nnodes < 1) return glab_fail(GLAB_EARG, "graph: no nodes");
  for (int e = 0; e < 2 * nedges; e++)
    if (edges[e] < 0 || edges[e] >= nnodes)
      return glab_fail(GLAB_EINDEX, "graph: edge %d names node %d of %d", e / 2 + 1, edges[e] + 1, nnodes);
  glab_panel_clear(p);
  p->kind = GLAB_PANEL_GRAPH;
  p->n = nnodes;
  p->nedges = nedges;
  snprintf(p->title, sizeof p->title, "%s", title ? title : "");
  p->px = malloc((size_t)nnodes * sizeof *p->px);
  p->py = malloc((size_t)nnodes * sizeof *p->py);
  p->colors = malloc((size_t)nnodes * sizeof *p->colors);
  p->edges = malloc((size_t)(nedges > 0 ? 2 * nedges : 1) * sizeof *p->edges);
  if (!p->px || !p->py || !p->colors || !p->edges) {
    glab_panel_clear(p);
    return glab_fail(GLAB_ENOMEM, "graph: out of memory");
  }
  memcpy(p->edges, edges, (size_t)(2 * nedges) * sizeof *edges);
  for (int i = 0; i < nnodes; i++) p->colors[i] = colors ? colors[i] : glab_palette(0);
  if (x && y) {
    memcpy(p->px, x, (size_t)nnodes * sizeof *x);
    memcpy(p->py, y, (size_t)nnodes * sizeof *y);
  } else {
    glab_layout_fr(p->px, p->py, nnodes, nedges, edges, 300, seed);
  }
  if (labels) {
    p->labels = calloc((size_t)nnodes, sizeof *p->labels);
    for (int i = 0; p->labels && i < nnodes; i++) {
      char buf[16];
      snprintf(buf, sizeof buf, "%d", i + 1);
      p->labels[i] = strdup(buf);
    }
  }
  return GLAB_OK;
}

void glab_render_graph(glab_canvas *c, const glab_panel *p, double l, double t, double r, double b) {
  if (p->title[0]) {
    glab_canvas_text_fit(c, (l + r) / 2, t + 19, 15, GLAB_BLACK, p->title, GLAB_ALIGN_CENTER, r - l - 8);
    t += 26;
  }
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (int i = 0; i < p->n; i++) {
    x0 = fmin(x0, p->px[i]); x1 = fmax(x1, p->px[i]);
    y0 = fmin(y0, p->py[i]); y1 = fmax(y1, p->py[i]);
  }
  double rad = fmin(12, fmax(4, 120 / sqrt((double)p->n))), m = rad + 6;
  double sx = x1 > x0 ? (r - l - 2 * m) / (x1 - x0) : 0, sy = y1 > y0 ? (b - t - 2 * m) / (y1 - y0) : 0;
  double s = fmin(sx, sy);
  double ox = l + (r - l - s * (x1 - x0)) / 2, oy = t + (b - t - s * (y1 - y0)) / 2;
  for (int e = 0; e < p->nedges; e++) {
    int a = p->edges[2 * e], bb = p->edges[2 * e + 1];
    glab_canvas_line(c, ox + (p->px[a] - x0) * s, oy + (p->py[a] - y0) * s, ox + (p->px[bb] - x0) * s,
                     oy + (p->py[bb] - y0) * s, 1.2, (glab_rgba){150, 150, 150, 255});
  }
  for (int i = 0; i < p->n; i++) {
    double cx = ox + (p->px[i] - x0) * s, cy = oy + (p->py[i] - y0) * s;
    glab_canvas_disc(c, cx, cy, rad + 1.2, (glab_rgba){40, 40, 40, 255});
    glab_canvas_disc(c, cx, cy, rad, p->colors[i]);
    if (p->labels && p->labels[i]) {
      glab_rgba col = p->colors[i];
      int dark = col.r * 0.299 + col.g * 0.587 + col.b * 0.114 < 128;
      glab_canvas_text(c, cx, cy + rad * 0.4, rad * 1.1, dark ? GLAB_WHITE : GLAB_BLACK, p->labels[i],
                       GLAB_ALIGN_CENTER);
    }
  }
}
