/*
** canvas.h -- an RGBA raster with anti-aliased primitives and text, the
** surface every figure is drawn on, whether it then goes to a window or to
** a PNG file (so both show the same pixels).
**
**     glab_canvas c;
**     glab_canvas_new(&c, 640, 480, GLAB_WHITE);
**     glab_canvas_line(&c, 10, 10, 300, 200, 1.5, GLAB_RGB(31, 119, 180));
**     glab_canvas_text(&c, 320, 20, 14, GLAB_BLACK, "NLL per epoch", GLAB_ALIGN_CENTER);
**     glab_canvas_free(&c);
**
** Coordinates are in pixels with (0, 0) at the top-left corner of the top-
** left pixel; pixel (i, j) covers [i, i+1) x [j, j+1), so its centre is at
** (i + 0.5, j + 0.5).  Everything is clipped to the canvas.
*/
#ifndef GLAB_CANVAS_H
#define GLAB_CANVAS_H

#include <stdint.h>

#include "../glab.h"

typedef struct glab_rgba { uint8_t r, g, b, a; } glab_rgba;

#define GLAB_RGB(r, g, b) ((glab_rgba){(r), (g), (b), 255})
#define GLAB_WHITE GLAB_RGB(255, 255, 255)
#define GLAB_BLACK GLAB_RGB(0, 0, 0)

typedef struct glab_canvas {
  int w, h;
  uint8_t *px;          /* h rows of w RGBA pixels */
} glab_canvas;

typedef enum { GLAB_ALIGN_LEFT, GLAB_ALIGN_CENTER, GLAB_ALIGN_RIGHT } glab_align;

glab_status glab_canvas_new(glab_canvas *c, int w, int h, glab_rgba bg);
void glab_canvas_free(glab_canvas *c);
void glab_canvas_clear(glab_canvas *c, glab_rgba bg);
glab_rgba glab_canvas_get(const glab_canvas *c, int x, int y);

/* Blend col over pixel (x, y) with coverage in [0, 1]. */
void glab_canvas_blend(glab_canvas *c, int x, int y, glab_rgba col, float coverage);
/* The pixels with x0 <= x < x1, y0 <= y < y1 (no anti-aliasing). */
void glab_canvas_fill_rect(glab_canvas *c, int x0, int y0, int x1, int y1, glab_rgba col);
void glab_canvas_rect(glab_canvas *c, int x0, int y0, int x1, int y1, glab_rgba col);
/* Copy n opaque pixels to row y from x on (clipped). */
void glab_canvas_put_row(glab_canvas *c, int x, int y, const glab_rgba *px, int n);
/* A segment of the given width with anti-aliased edges and round ends. */
void glab_canvas_line(glab_canvas *c, double x0, double y0, double x1, double y1,
                      double width, glab_rgba col);
/* A filled disc with an anti-aliased edge. */
void glab_canvas_disc(glab_canvas *c, double cx, double cy, double r, glab_rgba col);
/* An ellipse outline: centre, semi-axes a and b, rotated by angle (radians). */
void glab_canvas_ellipse(glab_canvas *c, double cx, double cy, double a, double b,
                         double angle, double width, glab_rgba col);

/* Text in DejaVu Sans at `size` pixels; y is the baseline.  Returns the width
** drawn.  vertical draws bottom-to-top (for a y-axis label) with x as the
** baseline and y the anchor along the text. */
double glab_canvas_text(glab_canvas *c, double x, double y, double size, glab_rgba col,
                        const char *s, glab_align align);
double glab_canvas_text_vertical(glab_canvas *c, double x, double y, double size,
                                 glab_rgba col, const char *s);
double glab_text_width(double size, const char *s);
/* glab_canvas_text cut to at most max_w pixels, ending in an ellipsis where
** it had to be cut (whole characters; nothing when not even one fits). */
double glab_canvas_text_fit(glab_canvas *c, double x, double y, double size, glab_rgba col,
                            const char *s, glab_align align, double max_w);
/* The canvas as an RGB PNG file (written atomically). */
glab_status glab_canvas_write_png(const glab_canvas *c, const char *path);

/* Where the font comes from (fonts-dejavu-core); fails with a message that
** names the file and the package when it cannot be read. */
glab_status glab_font_load(void);

#endif
