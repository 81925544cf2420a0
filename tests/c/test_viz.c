/*
** test_viz.c -- figures on exact pixels: tile colours and padding of a
** grid, the signed map's white at 0, where a plotted line crosses, text in
** its box, and a PNG round trip.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/data/io.h"
#include "../../core/viz/plot.h"
#include "../../core/viz/window.h"
#include "tap.h"

static int same(glab_rgba a, glab_rgba b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

static void test_grid_tiles(void) {
  /* 200x200 figure, no title: the panel spans [4, 196); 2x2 tiles of 8x8,
  ** pad 4 -> scale floor((192 - 12) / 16) = 11, tiles 88 px, grid 188 px
  ** centred at x0 = 6: tiles start at 10 and 102. */
  glab_figure f;
  glab_figure_init(&f, 1, 1, 200, 200, NULL);
  glab_tensor t = GLAB_TENSOR_EMPTY;
  int64_t sh[3] = {4, 8, 8};
  glab_tensor_new(&t, GLAB_F32, 3, sh);
  double v[4] = {0, 0.25, 0.5, 1};
  for (int k = 0; k < 4; k++)
    for (int i = 0; i < 64; i++) ((float *)glab_tensor_data(&t))[k * 64 + i] = (float)v[k];
  glab_grid_opts o = {.rows = 2, .cols = 2, .pad = 4, .norm = GLAB_NORM_NONE};
  OK(glab_panel_grid(&f.panels[0], &t, &o) == GLAB_OK, "grid of 4 constant 8x8 tiles");
  glab_canvas c;
  glab_figure_render(&f, &c);
  int cx[2] = {10 + 44, 102 + 44};
  int ok = 1;
  for (int k = 0; k < 4; k++) {
    uint8_t g = (uint8_t)lround(v[k] * 255);
    glab_rgba p = glab_canvas_get(&c, cx[k % 2], cx[k / 2]);
    ok &= same(p, GLAB_RGB(g, g, g));
    if (!same(p, GLAB_RGB(g, g, g))) printf("# tile %d centre is (%d,%d,%d), want %d\n", k, p.r, p.g, p.b, g);
  }
  OK(ok, "each tile centre has the tile's gray");
  OK(same(glab_canvas_get(&c, 100, 54), GLAB_RGB(64, 64, 64)), "padding colour between tiles");
  OK(same(glab_canvas_get(&c, 10, 54), GLAB_RGB(0, 0, 0)) && same(glab_canvas_get(&c, 9, 54), GLAB_RGB(64, 64, 64)),
     "tile 1 starts at x = 10, after the padding");
  OK(same(glab_canvas_get(&c, 2, 2), GLAB_WHITE), "the figure background is white");
  glab_canvas_free(&c);
  glab_tensor_free(&t);
  glab_figure_free(&f);
}

static void test_colour_maps(void) {
  OK(same(glab_cmap_signed(0), GLAB_WHITE), "the signed map sends 0 to white");
  OK(same(glab_cmap_signed(1), GLAB_RGB(178, 24, 43)) && same(glab_cmap_signed(-1), GLAB_RGB(33, 102, 172)),
     "and +1 to red, -1 to blue");
  glab_rgba a = glab_cmap_signed(0.5), b = glab_cmap_signed(-0.5);
  OK(a.r > a.b && b.b > b.r, "positive values are reddish, negative bluish");
  OK(same(glab_cmap_gray(0.5), GLAB_RGB(128, 128, 128)), "gray(0.5) is 128");
}

/* Whether the pure colour col lies within one pixel of (x, y). */
static int near_pixel(const glab_canvas *c, double x, double y, glab_rgba col) {
  for (int dy = -1; dy <= 1; dy++)
    for (int dx = -1; dx <= 1; dx++)
      if (same(glab_canvas_get(c, (int)x + dx, (int)y + dy), col)) return 1;
  return 0;
}

static void test_line_plot(void) {
  glab_figure f;
  glab_figure_init(&f, 1, 1, 300, 300, NULL);
  double x[2] = {0, 1}, y[2] = {0, 1};
  glab_series s = {.n = 2, .x = x, .y = y};
  glab_panel_lines(&f.panels[0], &s, 1, NULL);
  glab_canvas c;
  glab_figure_render(&f, &c);
  /* plot rectangle: l = 4 + 64, r = 296 - 14, t = 4 + 10, b = 296 - 46;
  ** x spans its data [0, 1], y is padded by 5% to [-0.05, 1.05]. */
  double l = 68, r = 282, t = 14, b = 250;
  glab_rgba blue = glab_palette(0);
  double px = l + 0.5 * (r - l), py = b - 0.55 / 1.1 * (b - t);
  OK(near_pixel(&c, px, py, blue), "the line from (0,0) to (1,1) crosses (0.5, 0.5) at (%.0f, %.0f)", px, py);
  OK(near_pixel(&c, l + 0.25 * (r - l), b - 0.30 / 1.1 * (b - t), blue), "and (0.25, 0.25)");
  OK(!near_pixel(&c, l + 0.6 * (r - l), b - 0.45 / 1.1 * (b - t), blue), "but not (0.6, 0.4)");
  glab_canvas_free(&c);
  glab_figure_free(&f);
}

static void test_text_and_png(void) {
  glab_canvas c;
  glab_canvas_new(&c, 200, 80, GLAB_WHITE);
  OK(glab_font_load() == GLAB_OK, "DejaVu Sans loads");
  double w = glab_canvas_text(&c, 40, 50, 20, GLAB_BLACK, "Hg", GLAB_ALIGN_LEFT);
  int inside = 0, outside = 0;
  for (int y = 0; y < 80; y++)
    for (int x = 0; x < 200; x++) {
      int ink = glab_canvas_get(&c, x, y).r < 128;
      int in_box = x >= 39 && x <= 40 + w + 1 && y >= 50 - 20 && y <= 50 + 6;
      inside += ink && in_box;
      outside += ink && !in_box;
    }
  OK(w > 15 && w < 40, "'Hg' at 20 px is %.1f px wide", w);
  OK(inside > 40, "text inks its box (%d dark pixels)", inside);
  OK(outside == 0, "and nothing outside it (%d)", outside);
  const char *path = "/tmp/genlab-test-viz.png";
  OK(glab_canvas_write_png(&c, path) == GLAB_OK, "write the canvas as PNG");
  glab_tensor img = GLAB_TENSOR_EMPTY;
  OK(glab_image_read(&img, path, 0, 0) == GLAB_OK && img.shape[0] == 80 && img.shape[1] == 200,
     "read it back as (80x200x3)");
  int diff = 0;
  for (int y = 0; y < 80; y++)
    for (int x = 0; x < 200; x++) {
      glab_rgba p = glab_canvas_get(&c, x, y);
      int64_t ij[3] = {y, x, 0};
      diff += lround(glab_tensor_get(&img, ij) * 255) != p.r;
    }
  OK(diff == 0, "every pixel survives the round trip (%d differ)", diff);
  unlink(path);
  glab_tensor_free(&img);
  glab_canvas_free(&c);
}

static void test_layout(void) {
  double x[4], y[4];
  int edges[6] = {0, 1, 1, 2, 2, 3};                  /* a path */
  glab_layout_fr(x, y, 4, 3, edges, 300, 5);
  double x2[4], y2[4];
  glab_layout_fr(x2, y2, 4, 3, edges, 300, 5);
  OK(memcmp(x, x2, sizeof x) == 0 && memcmp(y, y2, sizeof y) == 0, "the layout repeats with its seed");
  double d01 = hypot(x[0] - x[1], y[0] - y[1]), d03 = hypot(x[0] - x[3], y[0] - y[3]);
  OK(d03 > d01, "the ends of a path lie further apart than neighbours (%.2f > %.2f)", d03, d01);
}

/* A figure taller than the display (the denoising figure, 1400x1050, on a
** 1600x1000 screen) opens shrunk to fit, aspect kept; one that fits is kept. */
static void test_window_fit(void) {
  int w = 1400, h = 1050;
  glab_window_fit(&w, &h, 1600 - 16, 1000 - 48);
  OK(h <= 952 && w <= 1584 && abs(w * 1050 - h * 1400) <= 1400, "1400x1050 fits 1584x952 as %dx%d", w, h);
  w = 800, h = 600;
  glab_window_fit(&w, &h, 1584, 952);
  OK(w == 800 && h == 600, "a figure that fits keeps its size");
  w = 3000, h = 500;
  glab_window_fit(&w, &h, 1584, 952);
  OK(w == 1584 && h == 264, "a wide one is limited by the width: %dx%d", w, h);
}

int main(void) {
  test_window_fit();
  test_grid_tiles();
  test_colour_maps();
  test_line_plot();
  test_text_and_png();
  test_layout();
  return tap_done();
}
