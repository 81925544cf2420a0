/*
** image.c -- images read through stb_image (Debian's libstb) and PNG
** written around zlib (see io.h).
**
** The file is read into memory first, so its length bounds what is decoded,
** and stbi_info_from_memory gives the dimensions before any pixel buffer is
** allocated: an image header that claims more pixels than the limit (io.h)
** or than memory allows is refused with a message instead of attempted.
** Without the limit, an 875 KB PNG of 30000x30000 zeros decoded to 4.4 GB.
**
** Only PNG, JPEG and BMP are handed to stb, recognised by their first
** bytes: its other decoders (GIF, PNM, PIC, PSD, HDR, TGA, which has no
** magic) are the least hardened (in the stb that Debian ships a crafted PIC
** dereferences NULL and a PNM header overflows an int), and nobody brings
** course data in those formats.
** A PNG's chunks are checked against their CRC-32s and a BMP's length
** against its rows first (stb checks neither and decodes what is there).
** A JPEG's Huffman tables are checked first too: that stb writes past its
** 257-entry code-length table when a DHT segment declares more than 256
** codes (later stb refuses them).
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image.h>
#include <zlib.h>

#include "io.h"

#define MAX_FILE ((long)1 << 30)

/* stb's reason for the last failure, never empty. */
static const char *why(void) {
  const char *r = stbi_failure_reason();
  return r && *r ? r : "corrupt or truncated data";
}

/* Pixel k (of channels c) of an 8- or 16-bit buffer, scaled to [0, 1]. */
static float pixel(const void *px, int wide, int64_t k) {
  return wide ? (float)((const uint16_t *)px)[k] / 65535.0f : (float)((const uint8_t *)px)[k] / 255.0f;
}

static void fill_image(glab_tensor *t, const void *px, int wide, int64_t npix, int c, int gray) {
  float *o = glab_tensor_data(t);
  for (int64_t i = 0; i < npix; i++) {
    if (c >= 3 && gray)
      o[i] = 0.299f * pixel(px, wide, i * c) + 0.587f * pixel(px, wide, i * c + 1) +
             0.114f * pixel(px, wide, i * c + 2);
    else if (c >= 3)
      for (int k = 0; k < 3; k++) o[i * 3 + k] = pixel(px, wide, i * c + k);
    else
      o[i] = pixel(px, wide, i * c);         /* gray, or gray + alpha */
  }
}

static int is_jpeg(const unsigned char *f, long n) {
  return n >= 3 && f[0] == 0xff && f[1] == 0xd8 && f[2] == 0xff;
}

/* Whether the file opens as one of the formats we decode (see the top). */
static int known_format(const unsigned char *f, long n) {
  if (is_jpeg(f, n)) return 1;
  if (n >= 8 && memcmp(f, "\x89PNG\r\n\x1a\n", 8) == 0) return 1;
  return n >= 2 && f[0] == 'B' && f[1] == 'M';
}

/* Whether each table of the DHT segment at p, of length len, declares at
** most 256 codes.  Read as stb reads it: table by table until the declared
** length is used up, each table whole even where it runs past the segment,
** and bytes past the end of the file as 0. */
static int dht_ok(const unsigned char *p, long len, const unsigned char *end) {
  for (long left = len - 2; left > 0 && end - p > 1; ) {
    int codes = 0;
    for (int i = 1; i <= 16 && i < end - p; i++) codes += p[i];
    if (codes > 256) return 0;
    p += 17 + codes;
    left -= 17 + codes;
  }
  return 1;
}

/* Walk a JPEG's marker segments, the entropy-coded data after each SOS
** skipped, and check its DHT segments.  Other damage is left for stb. */
static int jpeg_tables_ok(const unsigned char *f, long n) {
  const unsigned char *p = f + 2, *end = f + n;
  while (end - p >= 4) {
    if (p[0] != 0xff || p[1] == 0xff) { p++; continue; }   /* stb skips to a marker too */
    int m = p[1];
    if (m == 0x01 || (m >= 0xd0 && m <= 0xd7)) { p += 2; continue; }   /* no length */
    if (m == 0xd9) return 1;                                         /* EOI */
    long len = (long)p[2] << 8 | p[3];
    if (m == 0xc4 && !dht_ok(p + 4, len, end)) return 0;
    if (len < 2 || len > end - p - 2) return 1;
    p += 2 + len;
    if (m == 0xda)                    /* to the next marker that is not a stuffed 0 or RST */
      while (end - p >= 2 && !(p[0] == 0xff && p[1] != 0 && (p[1] < 0xd0 || p[1] > 0xd7))) p++;
  }
  return 1;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* NULL when every chunk of the PNG f (n bytes) is whole and matches its
** CRC-32, up to IEND; else what is wrong.  stb checks neither, and decodes a
** damaged chunk's pixels as they are. */
static const char *png_damage(const unsigned char *f, long n) {
  static char msg[96];
  for (long at = 8; ; ) {
    if (n - at < 12) return "truncated (no IEND chunk)";
    uint32_t len = be32(f + at);
    if (len > (uint32_t)(n - at - 12)) return "truncated (a chunk runs past the end of the file)";
    const unsigned char *type = f + at + 4;
    if (crc32(crc32(0, NULL, 0), type, len + 4) != be32(type + 4 + len)) {
      snprintf(msg, sizeof msg, "damaged (the %.4s chunk at byte %ld fails its CRC-32)",
               (const char *)type, at);
      return msg;
    }
    if (memcmp(type, "IEND", 4) == 0) return NULL;
    at += 12 + (long)len;
  }
}

/* NULL when the uncompressed BMP f (n bytes) holds every row its header
** declares; else what is wrong (stb fills missing rows with zeros). */
static const char *bmp_damage(const unsigned char *f, long n) {
  if (n < 34) return "truncated (in its header)";
  uint32_t compression = le32(f + 30), bits = (uint32_t)f[28] | (uint32_t)f[29] << 8;
  if (compression != 0 && compression != 3) return NULL;        /* stb refuses the others */
  double w = (double)(int32_t)le32(f + 18), h = fabs((double)(int32_t)le32(f + 22));
  double row = floor((w * bits + 31) / 32) * 4;
  return (double)le32(f + 10) + row * h > (double)n ? "truncated (fewer pixel rows than its header declares)"
                                                     : NULL;
}

glab_status glab_image_read(glab_tensor *out, const char *path, int gray, int64_t max_pixels) {
  if (max_pixels <= 0) max_pixels = GLAB_IMAGE_MAX_PIXELS;
  unsigned char *file = NULL;
  long n = 0;
  glab_status s = glab_read_file(&file, &n, path, MAX_FILE, "image");
  if (s != GLAB_OK) return s;
  int w, h, c;
  if (!known_format(file, n)) {
    free(file);
    return glab_fail(GLAB_EFORMAT, "image: %s: not a PNG, JPEG or BMP file", path);
  }
  if (is_jpeg(file, n) && !jpeg_tables_ok(file, n)) {
    free(file);
    return glab_fail(GLAB_EFORMAT, "image: %s: corrupt JPEG (a Huffman table with more than 256 codes)", path);
  }
  const char *damage = file[0] == 0x89 ? png_damage(file, n) : file[0] == 'B' ? bmp_damage(file, n) : NULL;
  if (damage) {
    free(file);
    return glab_fail(GLAB_EFORMAT, "image: %s: %s", path, damage);
  }
  if (!stbi_info_from_memory(file, (int)n, &w, &h, &c)) {
    s = glab_fail(GLAB_EFORMAT, "image: %s: not a readable image (%s)", path, why());
    free(file);
    return s;
  }
  int out_c = (c >= 3 && !gray) ? 3 : 1;
  if ((int64_t)w * h > max_pixels) {
    free(file);
    return glab_fail(GLAB_EFORMAT, "image: %s: %dx%d is %lld pixels, over the limit of %lld "
                     "(max_pixels raises it)", path, w, h, (long long)w * h, (long long)max_pixels);
  }
  if ((double)w * h * (c + 4.0 * out_c) > (double)glab_max_alloc_bytes()) {
    free(file);
    return glab_fail(GLAB_ENOMEM, "image: %s: %dx%d pixels do not fit in memory", path, w, h);
  }
  int wide = stbi_is_16_bit_from_memory(file, (int)n);
  void *px = wide ? (void *)stbi_load_16_from_memory(file, (int)n, &w, &h, &c, 0)
                  : (void *)stbi_load_from_memory(file, (int)n, &w, &h, &c, 0);
  free(file);
  if (!px) return glab_fail(GLAB_EFORMAT, "image: %s: cannot decode (%s)", path, why());
  int64_t shape[3] = {h, w, 3};
  glab_tensor t = GLAB_TENSOR_EMPTY;
  s = glab_tensor_new(&t, GLAB_F32, out_c == 3 ? 3 : 2, shape);
  if (s == GLAB_OK) fill_image(&t, px, wide, (int64_t)w * h, c, gray);
  stbi_image_free(px);
  if (s == GLAB_OK) *out = t;
  return s;
}

glab_status glab_image_write_png(const char *path, const glab_tensor *img) {
  char sh[128];
  int c = img->ndim == 2 ? 1 : img->ndim == 3 ? (int)img->shape[2] : 0;
  if (c != 1 && c != 3 && c != 4)
    return glab_fail(GLAB_ESHAPE, "write_png: %s: expected (H, W), (H, W, 3) or (H, W, 4), got (%s)",
                     path, glab_shape_str(sh, sizeof sh, img->ndim, img->shape));
  int64_t h = img->shape[0], w = img->shape[1], n = h * w * c;
  if (h < 1 || w < 1 || h > 1 << 15 || w > 1 << 15)
    return glab_fail(GLAB_ESHAPE, "write_png: %s: cannot write a %lldx%lld image", path,
                     (long long)h, (long long)w);
  unsigned char *px = malloc((size_t)n);
  if (!px) return glab_fail(GLAB_ENOMEM, "write_png: out of memory");
  for (int64_t i = 0; i < n; i++) {
    double v = glab_tensor_flat_get(img, i);
    px[i] = v != v || v <= 0 ? 0 : v >= 1 ? 255 : (unsigned char)(v * 255.0 + 0.5);
  }
  glab_status s = glab_png_write_u8(path, px, (int)w, (int)h, c);
  free(px);
  return s;
}

/* ---- PNG writing ----------------------------------------------------------------
** The container by hand, the rows unfiltered and deflated by zlib at its
** default level.  stb_image_write took 0.15 s for a 1600x1250 figure of
** plots (five trial filters a row and its own slow deflate) and wrote 95 KB;
** zlib takes 0.02 s and writes 23 KB of the same pixels (a figure of image
** grids: 0.20 s and 773 KB against 0.06 s and 569 KB). */

static void put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* The chunk of type t whose n data bytes are already at p + 8: its length,
** type and CRC around them; returns its size. */
static size_t seal_chunk(unsigned char *p, const char *t, size_t n) {
  put32(p, (uint32_t)n);
  memcpy(p + 4, t, 4);
  put32(p + 8 + n, (uint32_t)crc32_z(crc32_z(0, Z_NULL, 0), p + 4, n + 4));
  return n + 12;
}

glab_status glab_png_write_u8(const char *path, const uint8_t *px, int w, int h, int channels) {
  static const unsigned char sig[8] = {137, 'P', 'N', 'G', 13, 10, 26, 10};
  static const unsigned char color[5] = {0, 0, 4, 2, 6};    /* gray, gray + alpha, RGB, RGBA */
  size_t row = (size_t)w * (size_t)channels, head = 8 + 25 + 8;
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit(&z, Z_DEFAULT_COMPRESSION) != Z_OK)
    return glab_fail(GLAB_ENOMEM, "png: cannot encode %s: zlib would not start", path);
  uLong bound = deflateBound(&z, (uLong)((row + 1) * (size_t)h));
  unsigned char *buf = bound <= 0xffffffffu ? malloc(head + bound + 12 + 12) : NULL;
  if (!buf) {
    deflateEnd(&z);
    return glab_fail(GLAB_ENOMEM, "png: out of memory to encode %s (%dx%d)", path, w, h);
  }
  memcpy(buf, sig, 8);
  put32(buf + 16, (uint32_t)w);
  put32(buf + 20, (uint32_t)h);
  memcpy(buf + 24, (unsigned char[5]){8, color[channels], 0, 0, 0}, 5);
  seal_chunk(buf + 8, "IHDR", 13);
  z.next_out = buf + head;
  z.avail_out = (uInt)bound;
  unsigned char filter = 0;                                   /* "none", every row */
  int ok = 1;
  for (int y = 0; y < h && ok; y++) {
    z.next_in = &filter, z.avail_in = 1;
    ok = deflate(&z, Z_NO_FLUSH) == Z_OK;
    z.next_in = (Bytef *)(px + (size_t)y * row), z.avail_in = (uInt)row;
    ok = ok && deflate(&z, Z_NO_FLUSH) == Z_OK;
  }
  ok = ok && deflate(&z, Z_FINISH) == Z_STREAM_END;
  size_t zn = z.total_out;
  deflateEnd(&z);
  glab_status s = GLAB_OK;
  if (!ok) s = glab_fail(GLAB_EIO, "png: cannot encode %s: zlib failed", path);
  else {
    size_t n = head - 8 + seal_chunk(buf + head - 8, "IDAT", zn);
    n += seal_chunk(buf + n, "IEND", 0);
    s = glab_write_atomic(path, buf, n);
  }
  free(buf);
  return s;
}

glab_status glab_image_to_gray(glab_tensor *out, const glab_tensor *rgb) {
  char sh[128];
  if (rgb->ndim < 1 || rgb->shape[rgb->ndim - 1] != 3)
    return glab_fail(GLAB_ESHAPE, "to_gray: expected (..., 3), got (%s)",
                     glab_shape_str(sh, sizeof sh, rgb->ndim, rgb->shape));
  static const double weights[3] = {0.299, 0.587, 0.114};
  glab_tensor res = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_new(&res, rgb->dtype, rgb->ndim - 1, rgb->shape);
  int64_t n = glab_tensor_numel(&res);
  for (int64_t i = 0; s == GLAB_OK && i < n; i++) {
    double y = 0;
    for (int k = 0; k < 3; k++) y += weights[k] * glab_tensor_flat_get(rgb, i * 3 + k);
    if (res.dtype == GLAB_F64) ((double *)glab_tensor_data(&res))[i] = y;
    else ((float *)glab_tensor_data(&res))[i] = (float)y;
  }
  if (s == GLAB_OK) s = glab_tensor_deliver(out, &res, "to_gray");
  glab_tensor_free(&res);
  return s;
}
