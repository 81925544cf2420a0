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
#include "pickle.h"
#include "reader.h"

#define MAX_HEADER (1 << 16)

typedef struct {
  char kind;          /* 'f', 'u', 'i', 'b' */
  int size;           /* bytes per element */
  glab_elem elem;     /* the same, for glab_elem_value */
  int fortran;
  int ndim;
  int64_t shape[GLAB_MAXDIM];
} npy_header;

/* The value following the first 'key': at or after h in the dict text, or
** NULL. */
static const char *find_key(const char *h, const char *key) {
  char pat[32];
  snprintf(pat, sizeof pat, "'%s'", key);
  for (const char *p = strstr(h, pat); p; p = strstr(p + 1, pat)) {
    const char *v = p + strlen(pat);
    while (isspace((unsigned char)*v)) v++;
    if (*v != ':') continue;
    v++;
    while (isspace((unsigned char)*v)) v++;
    return v;
  }
  return NULL;
}

/* Whether a value of the header's dict ends at p: spaces, then , or }. */
static int ends_value(const char *p) {
  while (isspace((unsigned char)*p)) p++;
  return *p == ',' || *p == '}';
}

/* numpy's dict literal keeps the last of a repeated key and we would read
** the first: a header that repeats one is refused rather than read either
** way. */
static glab_status check_unique_keys(const char *text, const char *what) {
  static const char *const keys[] = {"descr", "fortran_order", "shape", NULL};
  for (int i = 0; keys[i]; i++) {
    const char *first = find_key(text, keys[i]);
    if (first && find_key(first, keys[i]))
      return glab_fail(GLAB_EFORMAT, "%s: the header has the key '%s' twice", what, keys[i]);
  }
  return GLAB_OK;
}

static glab_status parse_descr(npy_header *h, const char *text, const char *what) {
  const char *p = find_key(text, "descr");
  char d[16] = "";
  int len = 0;
  if (!p || sscanf(p, "'%15[^']'%n", d, &len) != 1 || len == 0)
    return glab_fail(GLAB_EFORMAT, "%s: header has no 'descr'", what);
  if (!ends_value(p + len))
    return glab_fail(GLAB_EFORMAT, "%s: malformed 'descr' in the header", what);
  if (d[0] == 'O' || d[1] == 'O')
    return glab_fail(GLAB_EFORMAT, "%s: object arrays cannot be loaded (descr '%s')", what, d);
  int one_byte = strlen(d) == 3 && d[2] == '1';
  if (d[0] == '>' && !one_byte)
    return glab_fail(GLAB_EFORMAT, "%s: big-endian data ('%s') is not supported; "
                     "save with arr.astype(arr.dtype.newbyteorder('<'))", what, d);
  static const char *const ok[] = {"f4", "f8", "u1", "b1", "i1", "i2", "u2", "i4", "u4", "i8", NULL};
  static const glab_elem elem[] = {GLAB_E_F32, GLAB_E_F64, GLAB_E_U8, GLAB_E_BOOL, GLAB_E_I8, GLAB_E_I16,
                                   GLAB_E_U16, GLAB_E_I32, GLAB_E_U32, GLAB_E_I64};
  for (int i = 0; ok[i]; i++)
    if ((d[0] == '<' || d[0] == '|' || d[0] == '=' || d[0] == '>') && strcmp(d + 1, ok[i]) == 0) {
      h->kind = ok[i][0];
      h->size = ok[i][1] - '0';
      h->elem = elem[i];
      return GLAB_OK;
    }
  return glab_fail(GLAB_EFORMAT, "%s: element type '%s' not supported (f4, f8, b1, i1, u1, i2, u2, "
                   "i4, u4, i8)", what, d);
}

static glab_status parse_shape(npy_header *h, const char *text, const char *what) {
  const char *p = find_key(text, "fortran_order");
  if (!p) return glab_fail(GLAB_EFORMAT, "%s: header has no 'fortran_order'", what);
  if (strncmp(p, "True", 4) == 0 && ends_value(p + 4)) h->fortran = 1;
  else if (strncmp(p, "False", 5) == 0 && ends_value(p + 5)) h->fortran = 0;
  else return glab_fail(GLAB_EFORMAT, "%s: 'fortran_order' is neither True nor False", what);
  p = find_key(text, "shape");
  if (!p || *p != '(') return glab_fail(GLAB_EFORMAT, "%s: header has no 'shape' tuple", what);
  p++;
  h->ndim = 0;
  for (;;) {                               /* (), (3,) or (3, 4): sizes, each then , or ) */
    while (isspace((unsigned char)*p)) p++;
    if (*p == ')') return ends_value(p + 1) ? GLAB_OK
                          : glab_fail(GLAB_EFORMAT, "%s: malformed 'shape' in the header", what);
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p || v < 0)
      return glab_fail(GLAB_EFORMAT, "%s: malformed 'shape' in the header", what);
    if (h->ndim == GLAB_MAXDIM)
      return glab_fail(GLAB_EFORMAT, "%s: more than %d dimensions", what, GLAB_MAXDIM);
    h->shape[h->ndim++] = (int64_t)v;
    p = end;
    while (*p == 'L') p++;                 /* Python 2 long suffix */
    while (isspace((unsigned char)*p)) p++;
    if (*p == ',') p++;
    else if (*p != ')') return glab_fail(GLAB_EFORMAT, "%s: malformed 'shape' in the header", what);
  }
}

/* Magic, version, and the header text (NUL-terminated, caller frees). */
static glab_status read_header_text(char **text, glab_reader *r) {
  unsigned char pre[12];
  glab_status s = GLAB_OK;
  if (glab_reader_left(r) < 10 || (s = glab_reader_read(r, pre, 10)) != GLAB_OK ||
      memcmp(pre, "\x93NUMPY", 6) != 0)
    return s != GLAB_OK ? s : glab_fail(GLAB_EFORMAT, "%s: not an NPY file (bad magic)", r->what);
  int major = pre[6];
  size_t len;
  if (major == 1) {
    len = (size_t)pre[8] | (size_t)pre[9] << 8;
  } else if (major == 2 || major == 3) {
    if ((s = glab_reader_read(r, pre + 10, 2)) != GLAB_OK) return s;
    len = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
  } else {
    return glab_fail(GLAB_EFORMAT, "%s: unknown format version %d", r->what, major);
  }
  if (len > MAX_HEADER || len > glab_reader_left(r))
    return glab_fail(GLAB_EFORMAT, "%s: header length %zu exceeds the file", r->what, len);
  *text = malloc(len + 1);
  if (!*text) return glab_fail(GLAB_ENOMEM, "%s: out of memory", r->what);
  if ((s = glab_reader_read(r, *text, len)) != GLAB_OK) {
    free(*text);
    *text = NULL;
    return s;
  }
  (*text)[len] = '\0';
  return GLAB_OK;
}

static glab_status read_data(glab_tensor *t, glab_reader *r, const npy_header *h) {
  int64_t n = glab_tensor_numel(t), chunk = 1 << 16;
  if (h->kind == 'f' && (size_t)h->size == glab_dtype_size(t->dtype))  /* straight into storage */
    return glab_reader_read(r, glab_tensor_data(t), (size_t)n * (size_t)h->size);
  unsigned char *buf = malloc((size_t)(chunk * h->size));
  if (!buf) return glab_fail(GLAB_ENOMEM, "%s: out of memory", r->what);
  glab_status s = GLAB_OK;
  for (int64_t done = 0; done < n && s == GLAB_OK; done += chunk) {
    int64_t k = n - done < chunk ? n - done : chunk;
    s = glab_reader_read(r, buf, (size_t)(k * h->size));
    int inexact = 0;
    for (int64_t i = 0; s == GLAB_OK && i < k; i++) {
      double v = glab_elem_value(buf + i * h->size, h->elem, &inexact);
      if (t->dtype == GLAB_F64) ((double *)glab_tensor_data(t))[done + i] = v;
      else ((float *)glab_tensor_data(t))[done + i] = (float)v;
    }
    if (s == GLAB_OK && inexact)
      s = glab_fail(GLAB_EFORMAT, "%s: integers beyond 2^53 cannot be held exactly in float64",
                    r->what);
  }
  free(buf);
  return s;
}

/* A Fortran-order array is read as its transpose, then viewed back. */
static glab_status fortran_view(glab_tensor *t) {
  int perm[GLAB_MAXDIM];
  for (int i = 0; i < t->ndim; i++) perm[i] = t->ndim - 1 - i;
  glab_tensor v = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_permute(&v, t, perm);
  if (s == GLAB_OK) glab_tensor_move(t, &v);
  return s;
}

glab_status glab_npy_read_from(glab_tensor *out, glab_reader *r) {
  char *text = NULL, sh[128];
  npy_header h = {0};
  glab_tensor t = GLAB_TENSOR_EMPTY;
  glab_status s = read_header_text(&text, r);
  if (s == GLAB_OK) s = check_unique_keys(text, r->what);
  if (s == GLAB_OK) s = parse_descr(&h, text, r->what);
  if (s == GLAB_OK) s = parse_shape(&h, text, r->what);
  if (s == GLAB_OK) {
    double need = h.size;
    for (int i = 0; i < h.ndim; i++) need *= (double)h.shape[i];
    if (need > (double)glab_reader_left(r))
      s = glab_fail(GLAB_EFORMAT, "%s: truncated: shape (%s) needs %.0f bytes of data, the file holds %llu",
                    r->what, glab_shape_str(sh, sizeof sh, h.ndim, h.shape), need,
                    (unsigned long long)glab_reader_left(r));
  }
  if (s == GLAB_OK && h.fortran)
    for (int i = 0; i < h.ndim / 2; i++) {
      int64_t x = h.shape[i];
      h.shape[i] = h.shape[h.ndim - 1 - i];
      h.shape[h.ndim - 1 - i] = x;
    }
  glab_dtype dt = (h.kind == 'f' && h.size == 4) || (h.size == 1 && h.kind != 'i') ? GLAB_F32 : GLAB_F64;
  if (s == GLAB_OK && (s = glab_tensor_new(&t, dt, h.ndim, h.shape)) != GLAB_OK)
    s = glab_fail(s, "%s: %s", r->what, glab_errmsg());            /* name the file */
  if (s == GLAB_OK) s = read_data(&t, r, &h);
  if (s == GLAB_OK && glab_reader_left(r) > 0)      /* a lying shape, or two files in one */
    s = glab_fail(GLAB_EFORMAT, "%s: %llu bytes after the data of shape (%s)", r->what,
                  (unsigned long long)glab_reader_left(r), glab_shape_str(sh, sizeof sh, h.ndim, h.shape));
  if (s == GLAB_OK && h.fortran) s = fortran_view(&t);
  free(text);
  if (s == GLAB_OK) *out = t;
  else glab_tensor_free(&t);
  return s;
}

glab_status glab_npy_read(glab_tensor *out, const char *path) {
  glab_reader r;
  glab_status s = glab_reader_file(&r, path, "read_npy");
  if (s == GLAB_OK) s = glab_npy_read_from(out, &r);
  glab_reader_close(&r);
  return s;
}

size_t glab_npy_header(unsigned char *out, const glab_tensor *t) {
  char dict[400], sh[256] = "";
  size_t used = 0;
  for (int i = 0; i < t->ndim; i++)
    used += (size_t)snprintf(sh + used, sizeof sh - used, "%lld,%s", (long long)t->shape[i],
                             i + 1 < t->ndim ? " " : "");
  int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                    t->dtype == GLAB_F64 ? "<f8" : "<f4", sh);
  size_t head = 10 + (size_t)dl + 1, pad = (64 - head % 64) % 64, hlen = (size_t)dl + pad + 1;
  memcpy(out, "\x93NUMPY\x01\x00", 8);
  out[8] = (unsigned char)(hlen & 0xff);
  out[9] = (unsigned char)(hlen >> 8);
  memcpy(out + 10, dict, (size_t)dl);
  memset(out + 10 + dl, ' ', pad);
  out[10 + hlen - 1] = '\n';
  return 10 + hlen;
}

glab_status glab_npy_write(const char *path, const glab_tensor *t) {
  unsigned char head[GLAB_NPY_HEADER_MAX];
  size_t hn = glab_npy_header(head, t);
  glab_tensor c = GLAB_TENSOR_EMPTY;
  glab_afile a;
  glab_status s = glab_tensor_contiguous(&c, t);    /* host is little-endian (x86-64) */
  if (s == GLAB_OK) s = glab_afile_open(&a, path);
  if (s == GLAB_OK) {
    s = glab_afile_write(&a, head, hn);
    if (s == GLAB_OK)
      s = glab_afile_write(&a, glab_tensor_data(&c), (size_t)glab_tensor_numel(&c) * glab_dtype_size(c.dtype));
    if (s == GLAB_OK) s = glab_afile_commit(&a);
    else glab_afile_abort(&a);
  }
  glab_tensor_free(&c);
  return s;
}
