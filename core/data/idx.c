/*
** idx.c -- the IDX format of MNIST and Fashion-MNIST (see io.h).
**
** Layout: two zero bytes, a type code, the number of dims, then each dim as
** a big-endian uint32, then the elements (big-endian when wider than a
** byte).  Files may be gzip-compressed; zlib reads both kinds.  The data
** length a header declares is checked against the real length before any
** allocation: the file size, or for gzip the ISIZE field of its trailer.
** A gzip file is decompressed to its end even when limit keeps fewer items,
** so that its trailer (CRC-32 and length) is always checked.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "io.h"

typedef struct {
  gzFile gz;
  const char *path;
  double avail;          /* uncompressed bytes in the file */
  int gz_file;           /* gzip-compressed (avail is then a bound) */
  double data;           /* bytes of data the header declares */
} source;

/* Uncompressed length: the file size, or for gzip a bound from its ISIZE
** trailer, the length mod 2^32.  deflate expands at most ~1032:1, so ISIZE
** is exact for files under 4 GiB / 1032; for bigger ones the missing
** multiples of 2^32 are bounded by that ratio.  A file shorter than its
** bound still fails cleanly when the read comes up short. */
static glab_status uncompressed_size(double *n, int *is_gz, const char *path) {
  FILE *f;
  glab_status s = glab_open_read(&f, path, "idx");
  if (s != GLAB_OK) return s;
  unsigned char m[2] = {0}, t[4];
  struct stat st;
  int gz = fread(m, 1, 2, f) == 2 && m[0] == 0x1f && m[1] == 0x8b;
  if (fstat(fileno(f), &st) != 0) s = glab_fail(GLAB_EIO, "idx: cannot stat %s", path);
  else if (!(*is_gz = gz)) *n = (double)st.st_size;
  else if (st.st_size < 18 || fseek(f, -4, SEEK_END) != 0 || fread(t, 1, 4, f) != 4)
    s = glab_fail(GLAB_EFORMAT, "idx: %s: truncated gzip file", path);
  else {
    double isize = (double)((uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 |
                            (uint32_t)t[3] << 24);
    double most = (double)st.st_size * 1032.0;
    *n = isize + 4294967296.0 * (double)(int64_t)(most / 4294967296.0);
  }
  fclose(f);
  return s;
}

/* The failure zlib recorded for a gzip file, or GLAB_OK if none: a bad
** CRC-32 or length in the trailer, broken deflate data, or a stream that
** stops before its trailer. */
static glab_status gzip_failure(const source *src) {
  int err;
  const char *m = gzerror(src->gz, &err);
  size_t plen = strlen(src->path);
  if (err == Z_OK) return GLAB_OK;
  if (strncmp(m, src->path, plen) == 0 && m[plen] == ':') m += plen + 1 + (m[plen + 1] == ' ');
  if (err == Z_BUF_ERROR)
    return glab_fail(GLAB_EFORMAT, "idx: %s: the gzip data ends before its trailer (truncated)",
                     src->path);
  if (strstr(m, "incorrect data check"))
    return glab_fail(GLAB_EFORMAT, "idx: %s: corrupt gzip data: CRC mismatch", src->path);
  return glab_fail(GLAB_EFORMAT, "idx: %s: corrupt gzip data (%s)", src->path, m);
}

static glab_status read_exact(source *src, void *buf, size_t n, const char *field) {
  int got = gzread(src->gz, buf, (unsigned)n);
  if (got < 0 || (size_t)got != n) {
    glab_status s = gzip_failure(src);
    if (s != GLAB_OK) return s;
    return glab_fail(GLAB_EFORMAT, "idx: %s: truncated in %s (needed %zu bytes, got %d)",
                     src->path, field, n, got < 0 ? 0 : got);
  }
  return GLAB_OK;
}

/* A gzip file is read to its end, whatever limit kept, so that zlib checks
** its trailer (the CRC-32 and the length of all the data) and that nothing
** follows the data the header declares; read holds the data bytes read. */
static glab_status check_to_end(source *src, double read) {
  if (gzdirect(src->gz)) return GLAB_OK;           /* read_header checked a plain file */
  unsigned char buf[1 << 14];
  int got;
  while ((got = gzread(src->gz, buf, sizeof buf)) > 0) read += got;
  glab_status s = gzip_failure(src);
  if (s == GLAB_OK && read > src->data)
    s = glab_fail(GLAB_EFORMAT, "idx: %s: %.0f bytes after the data the header declares",
                  src->path, read - src->data);
  return s;
}

typedef struct { int code; int size; const char *name; } idx_type;

static const idx_type types[] = {
  {0x08, 1, "ubyte"}, {0x09, 1, "byte"}, {0x0B, 2, "short"},
  {0x0C, 4, "int"}, {0x0D, 4, "float"}, {0x0E, 8, "double"}, {0, 0, NULL}
};

/* Element k of a big-endian buffer of type t. */
static double element(const unsigned char *p, const idx_type *t) {
  uint64_t u = 0;
  for (int i = 0; i < t->size; i++) u = u << 8 | p[i];
  switch (t->code) {
    case 0x08: return (double)(uint8_t)u;
    case 0x09: return (double)(int8_t)u;
    case 0x0B: return (double)(int16_t)u;
    case 0x0C: return (double)(int32_t)u;
    case 0x0D: { uint32_t w = (uint32_t)u; float f; memcpy(&f, &w, 4); return f; }
    default: { double d; memcpy(&d, &u, 8); return d; }
  }
}

/* Header: type and shape, with the data length checked against the file. */
static glab_status read_header(source *src, const idx_type **type, int *ndim, int64_t *shape) {
  unsigned char m[4], d[4];
  char sh[128];
  glab_status s = read_exact(src, m, 4, "the magic number");
  if (s != GLAB_OK) return s;
  *type = NULL;
  for (const idx_type *t = types; t->name; t++)
    if (t->code == m[2]) *type = t;
  if (m[0] != 0 || m[1] != 0)
    return glab_fail(GLAB_EFORMAT, "idx: %s: bad magic number %02x %02x %02x %02x (not an IDX file)",
                     src->path, m[0], m[1], m[2], m[3]);
  if (!*type)
    return glab_fail(GLAB_EFORMAT, "idx: %s: unknown element type 0x%02x in the magic number",
                     src->path, m[2]);
  *ndim = m[3];
  if (*ndim < 1 || *ndim > GLAB_MAXDIM)
    return glab_fail(GLAB_EFORMAT, "idx: %s: %d dimensions in the header (1..%d supported)",
                     src->path, *ndim, GLAB_MAXDIM);
  double total = (*type)->size;
  for (int i = 0; i < *ndim; i++) {
    if ((s = read_exact(src, d, 4, "the dimensions")) != GLAB_OK) return s;
    shape[i] = (int64_t)((uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3]);
    total *= (double)shape[i];
  }
  double data = src->avail - 4 - 4.0 * *ndim;
  src->data = total;
  if (total > data)
    return glab_fail(GLAB_EFORMAT,
                     "idx: %s: truncated: the header declares (%s) %s elements (%.0f bytes), the file holds %.0f",
                     src->path, glab_shape_str(sh, sizeof sh, *ndim, shape), (*type)->name, total,
                     data > 0 ? data : 0);
  if (!src->gz_file && total < data)
    return glab_fail(GLAB_EFORMAT,
                     "idx: %s: %.0f bytes after the data the header declares ((%s) %s elements)",
                     src->path, data - total, glab_shape_str(sh, sizeof sh, *ndim, shape),
                     (*type)->name);
  return GLAB_OK;
}

/* The elements into t; unit: bytes as float32 b / 255, from a table of the
** 256 quotients (the same numbers as dividing, at a fraction of the cost). */
static glab_status read_elements(source *src, glab_tensor *t, const idx_type *type, int unit) {
  int64_t n = glab_tensor_numel(t), chunk = 1 << 16, done = 0;
  float lut[256];
  for (int b = 0; b < 256; b++) lut[b] = unit ? (float)b / 255.0f : (float)b;
  unsigned char *buf = malloc((size_t)(chunk * type->size));
  if (!buf) return glab_fail(GLAB_ENOMEM, "idx: out of memory");
  glab_status s = GLAB_OK;
  while (done < n && s == GLAB_OK) {
    int64_t k = n - done < chunk ? n - done : chunk;
    s = read_exact(src, buf, (size_t)(k * type->size), "the data");
    if (s == GLAB_OK && type->code == 0x08 && t->dtype == GLAB_F32) {
      float *o = (float *)glab_tensor_data(t) + done;       /* MNIST's case */
      for (int64_t i = 0; i < k; i++) o[i] = lut[buf[i]];
    } else {
      for (int64_t i = 0; s == GLAB_OK && i < k; i++) {
        double v = element(buf + i * type->size, type);
        if (t->dtype == GLAB_F64) ((double *)glab_tensor_data(t))[done + i] = v;
        else ((float *)glab_tensor_data(t))[done + i] = (float)v;
      }
    }
    done += k;
  }
  free(buf);
  return s;
}

static glab_status read_idx(glab_tensor *out, const char *path, int64_t limit, glab_dtype dt,
                            int unit) {
  source src = {NULL, path, 0, 0, 0};
  glab_status s = uncompressed_size(&src.avail, &src.gz_file, path);
  if (s != GLAB_OK) return s;
  src.gz = gzopen(path, "rb");
  if (!src.gz) return glab_fail(GLAB_EIO, "idx: cannot open %s", path);
  const idx_type *type = NULL;
  int ndim = 0;
  int64_t shape[GLAB_MAXDIM] = {0};
  glab_tensor t = GLAB_TENSOR_EMPTY;
  s = read_header(&src, &type, &ndim, shape);
  if (s == GLAB_OK && limit >= 0 && limit < shape[0]) shape[0] = limit;
  if (s == GLAB_OK && (s = glab_tensor_new(&t, dt, ndim, shape)) != GLAB_OK)
    s = glab_fail(s, "idx: %s: %s", path, glab_errmsg());          /* name the file */
  if (s == GLAB_OK && unit && type->code != 0x08)
    s = glab_fail(GLAB_EFORMAT, "idx: %s holds %s, not the unsigned bytes of an image", path,
                  type->name);
  if (s == GLAB_OK) s = read_elements(&src, &t, type, unit);
  if (s == GLAB_OK) s = check_to_end(&src, (double)glab_tensor_numel(&t) * type->size);
  gzclose(src.gz);
  if (s == GLAB_OK) *out = t;
  else glab_tensor_free(&t);
  return s;
}

glab_status glab_idx_read(glab_tensor *out, const char *path, int64_t limit, glab_dtype dt) {
  return read_idx(out, path, limit, dt, 0);
}

glab_status glab_idx_read_unit(glab_tensor *out, const char *path, int64_t limit) {
  return read_idx(out, path, limit, GLAB_F32, 1);
}

glab_status glab_idx_write_u8(const char *path, const glab_tensor *t) {
  if (t->ndim < 1 || t->ndim > GLAB_MAXDIM)
    return glab_fail(GLAB_EARG, "idx: %s: needs 1 to %d dimensions", path, GLAB_MAXDIM);
  int64_t n = glab_tensor_numel(t);
  size_t head = 4 + 4 * (size_t)t->ndim, total = head + (size_t)n;
  unsigned char *buf = malloc(total);
  if (!buf) return glab_fail(GLAB_ENOMEM, "idx: out of memory for %s", path);
  buf[0] = buf[1] = 0;
  buf[2] = 0x08;
  buf[3] = (unsigned char)t->ndim;
  for (int i = 0; i < t->ndim; i++)
    for (int b = 0; b < 4; b++) buf[4 + 4 * i + b] = (unsigned char)(t->shape[i] >> (24 - 8 * b));
  for (int64_t i = 0; i < n; i++) {
    double v = glab_tensor_flat_get(t, i) + 0.5;
    buf[head + (size_t)i] = v <= 0 ? 0 : v >= 255 ? 255 : (unsigned char)v;
  }
  glab_status s = glab_write_atomic(path, buf, total);
  free(buf);
  return s;
}
