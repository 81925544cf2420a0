/*
** plot.h -- figures: a title over a grid of panels, each an image grid, a
** heat map, a line plot, a scatter plot or a graph, rendered to a canvas.
**
**     glab_figure f;
**     glab_figure_init(&f, 1, 2, 900, 400, "PS1 1.1d");
**     glab_series s = {.label = "train", .n = n, .y = nll};
**     glab_panel_lines(&f.panels[0], &s, 1, &(glab_lines_opts){.hline = closed_form,
**                      .has_hline = 1, .title = "NLL per epoch"});
**     glab_panel_grid(&f.panels[1], &samples, &(glab_grid_opts){.rows = 10});
**     glab_canvas c;
**     glab_figure_render(&f, &c);        // allocates c at the figure's size
**
** Panels copy the data they are given, so a training loop may change or free
** its tensors after each update.  Values are doubles; colours RGBA.
*/
#ifndef GLAB_PLOT_H
#define GLAB_PLOT_H

#include "../tensor/tensor.h"
#include "canvas.h"

#define GLAB_LABEL 96
#define GLAB_MAX_LEGEND 12

typedef enum {
  GLAB_PANEL_EMPTY, GLAB_PANEL_GRID, GLAB_PANEL_HEATMAP, GLAB_PANEL_LINES,
  GLAB_PANEL_SCATTER, GLAB_PANEL_GRAPH
} glab_panel_kind;

typedef enum { GLAB_NORM_GLOBAL, GLAB_NORM_TILE, GLAB_NORM_NONE } glab_norm;

typedef struct glab_series {
  char label[GLAB_LABEL];
  int n;
  double *x;            /* NULL: 1, 2, ..., n */
  double *y;
  int dashed;
} glab_series;

typedef struct glab_grid_opts {
  int rows, cols;       /* 0: chosen to be about square */
  int pad;              /* pixels between tiles (default 2 when negative) */
  glab_norm norm;
  int signed_map;       /* blue-white-red, 0 is white */
  char title[GLAB_LABEL];
  char **captions;      /* NULL or one per image */
  int nearest;          /* whole source pixels at any scale, never filtered (zoomed views) */
} glab_grid_opts;

typedef struct glab_lines_opts {
  char title[GLAB_LABEL], xlabel[GLAB_LABEL], ylabel[GLAB_LABEL];
  int logy;
  int bars;                /* lines: each series as bars from 0, side by side at each x */
  int has_hline;
  double hline;
  char hline_label[GLAB_LABEL];
  int has_xlim, has_ylim;  /* fixed axis ranges instead of the data's (scatter) */
  double xlim[2], ylim[2];
  int nlegend;             /* scatter: names of the categories 1..nlegend (palette colours) */
  char legend[GLAB_MAX_LEGEND][32];
} glab_lines_opts;

typedef struct glab_panel {
  glab_panel_kind kind;
  char title[GLAB_LABEL], xlabel[GLAB_LABEL], ylabel[GLAB_LABEL];
  /* grid: n images of h x w x ch (ch 1 or 3), row-major doubles */
  int n, h, w, ch;
  double *pixels;
  glab_grid_opts grid;
  char **captions;
  /* heat map: an h x w matrix in pixels */
  int signed_map, colorbar;
  /* lines */
  glab_series *series;
  int nseries;
  glab_lines_opts lines;
  /* scatter and graph: n points */
  double *px, *py, *sizes;
  glab_rgba *colors;
  char **labels;
  /* graph edges (0-based node pairs) */
  int nedges;
  int *edges;
} glab_panel;

/* A heat map's colour bar and its labels take this many pixels at its right. */
#define GLAB_HEAT_BAR 70

/* How an image panel (grid or heat map) is shown: magnified zoom times
** (1: whole) about the point at fractions (cx, cy) of its picture area, the
** panel less its title.  A zoomed panel shows whole pixels, nearest-
** neighbour, so a 16x16 patch can be read pixel by pixel.  Views outlive the
** panels' data: a training loop that redraws a panel keeps its zoom. */
typedef struct glab_view { double zoom, cx, cy; } glab_view;
#define GLAB_MAX_ZOOM 64

typedef struct glab_figure {
  char title[GLAB_LABEL];
  int rows, cols, width, height;
  int strip;                   /* pixels at the bottom kept for controls (no panel there) */
  glab_panel *panels;          /* rows * cols */
  glab_view *views;            /* rows * cols */
} glab_figure;

/* What lies under a point of a rendered figure, in its own terms. */
typedef struct glab_hit {
  int panel;              /* 0-based panel under the point, or -1 (title, margins, controls) */
  glab_panel_kind kind;
  int inside;             /* in the plot area (lines, scatter) or on a tile (grid) */
  double x, y;            /* lines, scatter: the point in data coordinates */
  int nearest, series;    /* lines: nearest point (index, series); scatter: nearest point; -1 */
  double nx, ny;          /* the nearest point's data coordinates */
  int tile, row, col;     /* grid: tile, and the pixel's row and column in it (0-based);
                             heat map: tile 0, the entry's row and column */
  double value;           /* grid: the pixel's value (its first channel); heat map: the entry */
  int channels;           /* grid: the image's channels (1 or 3) */
  double rgb[3];          /* grid of colour images: the pixel's three values */
} glab_hit;

/* The hit at canvas pixel (x, y) of f as glab_figure_render draws it. */
void glab_figure_locate(const glab_figure *f, double x, double y, glab_hit *hit);
/* The inverse for a line or scatter panel k: the canvas pixel of data point
** (x, y); for an image grid, of the centre of pixel (row y, column x) of
** tile (0-based, as drawn, zoom included); GLAB_EARG for another kind. */
glab_status glab_figure_place(const glab_figure *f, int k, double x, double y, int tile, double *px, double *py);

glab_status glab_figure_init(glab_figure *f, int rows, int cols, int width, int height,
                             const char *title);
/* Zoom image panel k by factor about canvas point (x, y), which stays where
** it is; the zoom is kept within 1..GLAB_MAX_ZOOM.  Returns 1 when the view
** changed, 0 when k is not an image panel or (x, y) is not on its picture. */
int glab_figure_zoom(glab_figure *f, int k, double factor, double x, double y);
/* Move zoomed panel k's picture by (dx, dy) canvas pixels; 1 when it moved. */
int glab_figure_pan(glab_figure *f, int k, double dx, double dy);
/* Every panel shown whole again. */
void glab_figure_reset_views(glab_figure *f);
void glab_figure_free(glab_figure *f);
void glab_panel_clear(glab_panel *p);
/* Render at the figure's size into c (allocated here; free it after). */
glab_status glab_figure_render(const glab_figure *f, glab_canvas *c);

/* images: (N, H, W), (N, H, W, 3), (H, W) or (N, D) with D a square (tiles
** of sqrt(D)^2, as flattened patches are). */
glab_status glab_panel_grid(glab_panel *p, const glab_tensor *images,
                            const glab_grid_opts *o);
glab_status glab_panel_heatmap(glab_panel *p, const glab_tensor *m, int signed_map,
                               const char *title);
glab_status glab_panel_lines(glab_panel *p, const glab_series *s, int n,
                             const glab_lines_opts *o);
/* x, y (n); colors and sizes may be NULL (default colour, 4 px). */
glab_status glab_panel_scatter(glab_panel *p, int n, const double *x, const double *y,
                               const glab_rgba *colors, const double *sizes,
                               const glab_lines_opts *o);
/* Nodes with colours (NULL: default), edges as 0-based pairs, positions from
** a Fruchterman-Reingold layout seeded with `seed` (or given in x, y). */
glab_status glab_panel_graph(glab_panel *p, int nnodes, const glab_rgba *colors, int nedges,
                             const int *edges, const double *x, const double *y,
                             uint64_t seed, int labels, const char *title);
/* The Fruchterman-Reingold layout alone: positions in [0, 1]^2. */
void glab_layout_fr(double *x, double *y, int n, int nedges, const int *edges,
                    int iterations, uint64_t seed);

/* Where the grid's tile and pixel under (x, y) are, for a grid panel drawn
** in the rectangle l, t, r, b (used by glab_figure_locate). */
void glab_grid_locate(const glab_panel *p, double l, double t, double r, double b, double x, double y,
                      glab_hit *hit);
/* The inverse: the canvas pixel at the centre of pixel (row, col) of tile
** (all 0-based) of a grid drawn in l, t, r, b. */
glab_status glab_grid_place(const glab_panel *p, double l, double t, double r, double b, int tile, double row,
                            double col, double *px, double *py);
/* The same for a heat map: its tile is 0, row and col the matrix entry. */
void glab_heatmap_locate(const glab_panel *p, double l, double t, double r, double b, double x, double y,
                         glab_hit *hit);

/* Panel renderers, one per kind (used by glab_figure_render). */
void glab_render_grid(glab_canvas *c, const glab_panel *p, double l, double t, double r, double b);
void glab_render_heatmap(glab_canvas *c, const glab_panel *p, double l, double t, double r, double b);
/* Only the colour bar, h pixels tall from (x, y0), with its labels (a zoomed
** heat map keeps its bar whole beside the magnified matrix). */
void glab_render_heatmap_bar(glab_canvas *c, const glab_panel *p, int x, int y0, int h);
void glab_render_graph(glab_canvas *c, const glab_panel *p, double l, double t, double r, double b);

/* How far an image grid is from showing nothing: spread is the mean over
** pixel positions of the standard deviation across its images of the
** intensities as shown (so in [0, 1] units whatever the data's scale);
** repeats counts the images identical to an earlier one, and same_a <
** same_b are the first such pair (0-based), or -1.  A grid is degenerate
** (flat grey tiles, copies, chains all in a few modes) when spread <
** GLAB_GRID_MIN_SPREAD or more than an eighth of its n images are repeats
** (any repeat among up to 8).  A sampler with sharp modes, such as a CD-1
** RBM after 20 epochs, may put two of 64 chains in one state; that alone is
** not a failure.  One image, or a panel that is not a grid, is healthy by
** definition (spread 1). */
#define GLAB_GRID_MIN_SPREAD 0.05
typedef struct glab_grid_health { double spread; int n, repeats, same_a, same_b; } glab_grid_health;
void glab_grid_check(const glab_panel *p, glab_grid_health *out);
static inline int glab_grid_degenerate(const glab_grid_health *h) {
  return h->spread < GLAB_GRID_MIN_SPREAD || 8 * h->repeats > h->n;
}

/* Colour maps: gray for [0, 1]; signed for [-1, 1] with 0 exactly white;
** viridis for [0, 1]. */
glab_rgba glab_cmap_gray(double v);
glab_rgba glab_cmap_signed(double v);
glab_rgba glab_cmap_viridis(double v);
/* The k-th colour of the categorical palette (matplotlib's tab10). */
glab_rgba glab_palette(int k);

#endif
