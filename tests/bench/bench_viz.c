/*
** bench_viz.c -- `make bench` for figures: the time to render one frame of
** a 10x10 grid of 28x28 images upscaled x4 beside a 3-series line plot, the
** figure a VAE script redraws every epoch.
*/
#include <stdio.h>
#include <time.h>

#include "../../core/tensor/random.h"
#include "../../core/viz/plot.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(void) {
  glab_rng g;
  glab_rng_seed(&g, 1);
  glab_figure f;
  /* panel 1 must fit 10 * 28 * 4 = 1120 px plus padding */
  glab_figure_init(&f, 1, 2, 2320, 1200, "VAE samples");
  glab_tensor imgs = GLAB_TENSOR_EMPTY;
  int64_t sh[3] = {100, 28, 28};
  glab_tensor_new(&imgs, GLAB_F32, 3, sh);
  glab_rand_uniform(&g, &imgs, 0, 1);
  glab_grid_opts o = {.rows = 10, .pad = 2, .norm = GLAB_NORM_NONE};
  glab_panel_grid(&f.panels[0], &imgs, &o);
  double y[3][50];
  for (int k = 0; k < 3; k++)
    for (int i = 0; i < 50; i++) y[k][i] = 100.0 / (i + 1) + k;
  glab_series s[3] = {{.label = "train", .n = 50, .y = y[0]}, {.label = "test", .n = 50, .y = y[1]},
                      {.label = "KL", .n = 50, .y = y[2]}};
  glab_panel_lines(&f.panels[1], s, 3, NULL);
  glab_canvas c;
  glab_figure_render(&f, &c);
  glab_canvas_free(&c);
  double best = 1e30;
  for (int r = 0; r < 10; r++) {
    double t0 = now();
    glab_figure_render(&f, &c);
    double dt = now() - t0;
    glab_canvas_free(&c);
    if (dt < best) best = dt;
  }
  printf("genlab bench: figures\n");
  printf("render 10x10 grid of 28x28 at x4 + 3-series line plot (2320x1200)  %7.2f ms/frame\n", best * 1e3);
  printf("at 30 frames/s that is %.1f%% of a core; show() spaces frames to keep it under 5%%\n",
         best * 30 * 100);
  glab_tensor_free(&imgs);
  glab_figure_free(&f);
  return 0;
}
