/*
** npy.c -- numpy's .npy format, versions 1 to 3 (see io.h).
**
** A file is "\x93NUMPY", a version, the header length (2 bytes in v1, 4 in
** v2/v3, little-endian), then a Python dict literal such as
**   {'descr': '<f4', 'fortran_order': False, 'shape': (100, 25, 25), }
** padded with spaces to a multiple of 64 bytes, then the raw C-order data.
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

#define MAX_HEADER (1 << 16)

typedef struct {
  char kind;          /* 'f', 'u', 'i' */
  int size;           /* bytes per element */
  int ndim;
  int64_t shape[GLAB_MAXDIM];
} npy_header;

/* The quoted value following 'key': in the dict text, or NULL. */
static const char *find_key(const char *h, const char *key) {
  char pat[32];
  snprintf(pat, sizeof pat, "'%s'", key);
  const char *p = strstr(h, pat);
  if (!p) return NULL;
  p += strlen(pat);
  while (isspace((unsigned char)*p)) p++;
  if (*p != ':') return NULL;
  p++;
  while (isspace((unsigned char)*p)) p++;
  return p;
}

static glab_status parse_descr(npy_header *h, const char *text, const char *path) {
  const char *p = find_key(text, "descr");
  char d[16] = "";
  if (!p || sscanf(p, "'%15[^']'", d) != 1)
    return glab_fail(GLAB_EFORMAT, "npy: %s: header has no 'descr'", path);
  if (d[0] == 'O' || d[1] == 'O')
    return glab_fail(GLAB_EFORMAT, "npy: %s: object arrays cannot be loaded (descr '%s')", path, d);
  if (d[0] == '>' && strcmp(d + 1, "u1") != 0)
    return glab_fail(GLAB_EFORMAT, "npy: %s: big-endian data ('%s') is not supported; "
                     "save with arr.astype(arr.dtype.newbyteorder('<'))", path, d);
  static const char *const ok[] = {"f4", "f8", "u1", "i4", "i8", NULL};
  for (int i = 0; ok[i]; i++)
    if ((d[0] == '<' || d[0] == '|' || d[0] == '=') && strcmp(d + 1, ok[i]) == 0) {
      h->kind = ok[i][0];
      h->size = ok[i][1] - '0';
      return GLAB_OK;
    }
  return glab_fail(GLAB_EFORMAT, "npy: %s: element type '%s' not supported (f4, f8, u1, i4, i8)",
                   path, d);
}

static glab_status parse_shape(npy_header *h, const char *text, const char *path) {
  const char *p = find_key(text, "fortran_order");
  if (!p) return glab_fail(GLAB_EFORMAT, "npy: %s: header has no 'fortran_order'", path);
  if (strncmp(p, "True", 4) == 0)
    return glab_fail(GLAB_EFORMAT, "npy: %s: Fortran-order arrays are not supported; "
                     "save np.ascontiguousarray(arr)", path);
  p = find_key(text, "shape");
  if (!p || *p != '(') return glab_fail(GLAB_EFORMAT, "npy: %s: header has no 'shape' tuple", path);
  p++;
  h->ndim = 0;
  for (;;) {
    while (isspace((unsigned char)*p) || *p == ',') p++;
    if (*p == ')') return GLAB_OK;
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p || v < 0)
      return glab_fail(GLAB_EFORMAT, "npy: %s: malformed 'shape' in the header", path);
    if (h->ndim == GLAB_MAXDIM)
      return glab_fail(GLAB_EFORMAT, "npy: %s: more than %d dimensions", path, GLAB_MAXDIM);
    h->shape[h->ndim++] = (int64_t)v;
    p = end;
    while (*p == 'L') p++;                 /* Python 2 long suffix */
  }
}

/* Magic, version, and the header text (NUL-terminated, caller frees). */
static glab_status read_header_text(char **text, long *data_at, FILE *f, long fsize,
                                    const char *path) {
  unsigned char pre[12];
  if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0)
    return glab_fail(GLAB_EFORMAT, "npy: %s: not an NPY file (bad magic)", path);
  int major = pre[6];
  size_t len, at = 10;
  if (major == 1) {
    len = (size_t)pre[8] | (size_t)pre[9] << 8;
  } else if (major == 2 || major == 3) {
    if (fread(pre + 10, 1, 2, f) != 2) return glab_fail(GLAB_EFORMAT, "npy: %s: truncated header", path);
    len = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    at = 12;
  } else {
    return glab_fail(GLAB_EFORMAT, "npy: %s: unknown format version %d", path, major);
  }
  if (len > MAX_HEADER || (long)(at + len) > fsize)
    return glab_fail(GLAB_EFORMAT, "npy: %s: header length %zu exceeds the file", path, len);
  *text = malloc(len + 1);
  if (!*text) return glab_fail(GLAB_ENOMEM, "npy: out of memory");
  if (fread(*text, 1, len, f) != len) {
    free(*text);
    *text = NULL;
    return glab_fail(GLAB_EFORMAT, "npy: %s: truncated header", path);
  }
  (*text)[len] = '\0';
  *data_at = (long)(at + len);
  return GLAB_OK;
}

static double decode(const unsigned char *p, const npy_header *h) {
  uint64_t u = 0;
  for (int i = h->size - 1; i >= 0; i--) u = u << 8 | p[i];   /* little-endian */
  if (h->kind == 'u') return (double)(uint8_t)u;
  if (h->kind == 'i') return h->size == 4 ? (double)(int32_t)u : (double)(int64_t)u;
  if (h->size == 4) { uint32_t w = (uint32_t)u; float x; memcpy(&x, &w, 4); return x; }
  double x;
  memcpy(&x, &u, 8);
  return x;
}

static glab_status read_data(glab_tensor *t, FILE *f, const npy_header *h, const char *path) {
  int64_t n = glab_tensor_numel(t), chunk = 1 << 16;
  unsigned char *buf = malloc((size_t)(chunk * h->size));
  if (!buf) return glab_fail(GLAB_ENOMEM, "npy: out of memory");
  for (int64_t done = 0; done < n; done += chunk) {
    int64_t k = n - done < chunk ? n - done : chunk;
    if (fread(buf, (size_t)h->size, (size_t)k, f) != (size_t)k) {
      free(buf);
      return glab_fail(GLAB_EFORMAT, "npy: %s: truncated data", path);
    }
    for (int64_t i = 0; i < k; i++) {
      double v = decode(buf + i * h->size, h);
      if (t->dtype == GLAB_F64) ((double *)glab_tensor_data(t))[done + i] = v;
      else ((float *)glab_tensor_data(t))[done + i] = (float)v;
    }
  }
  free(buf);
  return GLAB_OK;
}

glab_status glab_npy_read(glab_tensor *out, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return glab_fail(GLAB_EIO, "npy: cannot open %s", path);
  char *text = NULL, sh[128];
  long data_at = 0, fsize = 0;
  npy_header h = {0};
  glab_tensor t = GLAB_TENSOR_EMPTY;
  glab_status s = GLAB_OK;
  if (fseek(f, 0, SEEK_END) != 0 || (fsize = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
    s = glab_fail(GLAB_EIO, "npy: cannot read %s", path);
  if (s == GLAB_OK) s = read_header_text(&text, &data_at, f, fsize, path);
  if (s == GLAB_OK) s = parse_descr(&h, text, path);
  if (s == GLAB_OK) s = parse_shape(&h, text, path);
  if (s == GLAB_OK) {
    double need = h.size;
    for (int i = 0; i < h.ndim; i++) need *= (double)h.shape[i];
    if (need > (double)(fsize - data_at))
      s = glab_fail(GLAB_EFORMAT, "npy: %s: truncated: shape (%s) needs %.0f bytes of data, the file holds %ld",
                    path, glab_shape_str(sh, sizeof sh, h.ndim, h.shape), need, fsize - data_at);
  }
  glab_dtype dt = (h.kind == 'f' && h.size == 4) || h.kind == 'u' ? GLAB_F32 : GLAB_F64;
  if (s == GLAB_OK) s = glab_tensor_new(&t, dt, h.ndim, h.shape);
  if (s == GLAB_OK) s = read_data(&t, f, &h, path);
  fclose(f);
  free(text);
  if (s == GLAB_OK) *out = t;
  else glab_tensor_free(&t);
  return s;
}

glab_status glab_npy_write(const char *path, const glab_tensor *t) {
  char dict[512], sh[256] = "";
  size_t used = 0;
  for (int i = 0; i < t->ndim; i++)
    used += (size_t)snprintf(sh + used, sizeof sh - used, "%lld,%s", (long long)t->shape[i],
                             i + 1 < t->ndim ? " " : "");
  int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                    t->dtype == GLAB_F64 ? "<f8" : "<f4", sh);
  size_t head = 10 + (size_t)dl + 1, pad = (64 - head % 64) % 64, hlen = (size_t)dl + pad + 1;
  size_t es = glab_dtype_size(t->dtype), n = (size_t)glab_tensor_numel(t);
  unsigned char *buf = malloc(10 + hlen + n * es);
  if (!buf) return glab_fail(GLAB_ENOMEM, "npy: out of memory for %s", path);
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)(hlen & 0xff);
  buf[9] = (unsigned char)(hlen >> 8);
  memcpy(buf + 10, dict, (size_t)dl);
  memset(buf + 10 + dl, ' ', pad);
  buf[10 + hlen - 1] = '\n';
  glab_tensor c = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_contiguous(&c, t);    /* host is little-endian (x86-64) */
  if (s == GLAB_OK) {
    memcpy(buf + 10 + hlen, glab_tensor_data(&c), n * es);
    s = glab_write_atomic(path, buf, 10 + hlen + n * es);
  }
  glab_tensor_free(&c);
  free(buf);
  return s;
}
