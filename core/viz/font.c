/*
** font.c -- text for figures: DejaVu Sans (fonts-dejavu-core) rasterised by
** stb_truetype, so a PNG written without a display carries the same labels
** as the window.  Glyph bitmaps are cached by (pixel size, codepoint);
** strings are UTF-8, so labels like "σ²" or "×" render.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_truetype.h>

#include "canvas.h"

#define FONT_PATH "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define CACHE 2048

static unsigned char *font_data;
static stbtt_fontinfo font;
static int font_state;        /* 0 not tried, 1 loaded, -1 failed */

typedef struct {
  int key_size, key_cp;       /* size in half pixels; 0 marks an empty slot */
  int w, h, xoff, yoff;
  float advance;
  unsigned char *bitmap;
} glyph;

static glyph cache[CACHE];

glab_status glab_font_load(void) {
  if (font_state == 1) return GLAB_OK;
  FILE *f = fopen(FONT_PATH, "rb");
  long n = -1;
  if (f && fseek(f, 0, SEEK_END) == 0) n = ftell(f);
  if (f && n > 0 && fseek(f, 0, SEEK_SET) == 0 && (font_data = malloc((size_t)n)) &&
      fread(font_data, 1, (size_t)n, f) == (size_t)n &&
      stbtt_InitFont(&font, font_data, stbtt_GetFontOffsetForIndex(font_data, 0))) {
    fclose(f);
    font_state = 1;
    return GLAB_OK;
  }
  if (f) fclose(f);
  free(font_data);
  font_data = NULL;
  font_state = -1;
  return glab_fail(GLAB_EIO, "font: cannot read %s (install fonts-dejavu-core)", FONT_PATH);
}

/* Next codepoint of UTF-8 s; invalid bytes read as U+FFFD. */
static int utf8_next(const char **s) {
  const unsigned char *p = (const unsigned char *)*s;
  int cp, n;
  if (p[0] < 0x80) { cp = p[0]; n = 1; }
  else if ((p[0] & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) { cp = (p[0] & 0x1F) << 6 | (p[1] & 0x3F); n = 2; }
  else if ((p[0] & 0xF0) == 0xE0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
    cp = (p[0] & 0x0F) << 12 | (p[1] & 0x3F) << 6 | (p[2] & 0x3F); n = 3;
  } else { cp = 0xFFFD; n = 1; }
  *s += n;
  return cp;
}

static const glyph *get_glyph(double size, int cp) {
  int ks = (int)lround(size * 2);
  unsigned h = ((unsigned)ks * 2654435761u ^ (unsigned)cp * 40503u) % CACHE;
  for (int probe = 0; probe < 8; probe++) {
    glyph *g = &cache[(h + (unsigned)probe) % CACHE];
    if (g->key_size == ks && g->key_cp == cp) return g;
    if (g->key_size == 0 || probe == 7) {
      free(g->bitmap);
      float scale = stbtt_ScaleForPixelHeight(&font, (float)ks / 2);
      int adv, lsb;
      stbtt_GetCodepointHMetrics(&font, cp, &adv, &lsb);
      g->bitmap = stbtt_GetCodepointBitmap(&font, 0, scale, cp, &g->w, &g->h, &g->xoff, &g->yoff);
      g->advance = adv * scale;
      g->key_size = ks;
      g->key_cp = cp;
      return g;
    }
  }
  return NULL;
}

double glab_text_width(double size, const char *s) {
  if (glab_font_load() != GLAB_OK || !s) return 0;
  double w = 0;
  while (*s) {
    const glyph *g = get_glyph(size, utf8_next(&s));
    if (g) w += g->advance;
  }
  return w;
}

/* Coverage of the string into a w x h float mask with baseline at `base`. */
static void render_mask(float *mask, int w, int h, double base, double size, const char *s) {
  double x = 0;
  while (*s) {
    const glyph *g = get_glyph(size, utf8_next(&s));
    if (!g) continue;
    int ox = (int)lround(x) + g->xoff, oy = (int)lround(base) + g->yoff;
    for (int j = 0; j < g->h; j++)
      for (int i = 0; i < g->w; i++) {
        int mx = ox + i, my = oy + j;
        if (mx >= 0 && my >= 0 && mx < w && my < h && g->bitmap)
          mask[my * w + mx] = fmaxf(mask[my * w + mx], g->bitmap[j * g->w + i] / 255.0f);
      }
    x += g->advance;
  }
}

/* Blend a mask of text `size` tall at (x, top) or rotated a quarter turn. */
static double draw(glab_canvas *c, double x, double y, double size, glab_rgba col, const char *s,
                   glab_align align, int vertical) {
  if (glab_font_load() != GLAB_OK || !s || !*s) return 0;
  double tw = glab_text_width(size, s);
  int w = (int)ceil(tw) + 2, h = (int)ceil(size * 1.3) + 2;
  double base = ceil(size * 1.0);                    /* room for ascenders */
  float *mask = calloc((size_t)w * (size_t)h, sizeof *mask);
  if (!mask) return 0;
  render_mask(mask, w, h, base, size, s);
  double shift = align == GLAB_ALIGN_CENTER ? tw / 2 : align == GLAB_ALIGN_RIGHT ? tw : 0;
  int x0 = (int)lround(x - (vertical ? base : shift)), y0 = (int)lround(y - (vertical ? -shift : base));
  for (int j = 0; j < h; j++)
    for (int i = 0; i < w; i++) {
      float a = mask[j * w + i];
      if (a <= 0) continue;
      if (vertical) glab_canvas_blend(c, x0 + j, y0 - i, col, a);   /* bottom to top */
      else glab_canvas_blend(c, x0 + i, y0 + j, col, a);
    }
  free(mask);
  return tw;
}

double glab_canvas_text(glab_canvas *c, double x, double y, double size, glab_rgba col,
                        const char *s, glab_align align) {
  return draw(c, x, y, size, col, s, align, 0);
}

double glab_canvas_text_fit(glab_canvas *c, double x, double y, double size, glab_rgba col,
                            const char *s, glab_align align, double max_w) {
  if (!s || glab_text_width(size, s) <= max_w) return draw(c, x, y, size, col, s, align, 0);
  static const char ellipsis[] = "\xe2\x80\xa6";            /* U+2026 */
  size_t n = strlen(s);
  char *buf = malloc(n + sizeof ellipsis);
  if (!buf) return 0;
  size_t keep = n;
  do {                                /* drop whole UTF-8 characters from the end */
    while (keep > 0 && ((unsigned char)s[--keep] & 0xc0) == 0x80) {}
    memcpy(buf, s, keep);
    memcpy(buf + keep, ellipsis, sizeof ellipsis);
  } while (keep > 0 && glab_text_width(size, buf) > max_w);
  double w = keep > 0 ? draw(c, x, y, size, col, buf, align, 0) : 0;
  free(buf);
  return w;
}

double glab_canvas_text_vertical(glab_canvas *c, double x, double y, double size,
                                 glab_rgba col, const char *s) {
  return draw(c, x, y, size, col, s, GLAB_ALIGN_CENTER, 1);
}
