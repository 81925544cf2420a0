/*
** pt.c -- PyTorch's zip checkpoints (torch.save since 1.6), read and written.
**
** A checkpoint is a zip archive whose members share one top folder:
**   <top>/data.pkl      a pickle of the saved object; each tensor is
**                       torch._utils._rebuild_tensor_v2(storage, offset,
**                       size, stride, requires_grad, hooks), its storage a
**                       persistent id ('storage', torch.FloatStorage, key,
**                       location, numel)
**   <top>/data/<key>    each storage's raw little-endian elements, stored
**                       (not compressed) at a 64-aligned offset
**   <top>/version       "3\n"
** Several tensors may name one key: views share their storage, as here.
*/
#include <stdlib.h>
#include <string.h>

#include "pickle.h"
#include "pt.h"
#include "zip.h"

/* ---- reading ------------------------------------------------------------------- */

typedef struct pt_ctx {
  glab_zip *z;
  char top[256];
  int nkeys;
  char **keys;                  /* storages read so far ... */
  int32_t *nodes;               /* ... and their STORAGE nodes */
} pt_ctx;

static glab_status read_storage(glab_tensor *out, glab_zip *z, int member, glab_elem e,
                                int64_t numel) {
  glab_reader r;
  glab_status s = glab_zip_member(&r, z, member);
  if (s != GLAB_OK) return s;
  uint64_t need = (uint64_t)numel * (uint64_t)glab_elem_size(e);
  if (numel < 0 || (double)numel * glab_elem_size(e) > (double)glab_reader_left(&r)) {
    s = glab_fail(GLAB_EFORMAT, "%s: holds %llu bytes, but its storage claims %lld %s elements",
                  r.what, (unsigned long long)glab_reader_left(&r), (long long)numel, glab_elem_name(e));
  } else if (e == GLAB_E_F32 || e == GLAB_E_F64) {
    s = glab_tensor_new(out, e == GLAB_E_F32 ? GLAB_F32 : GLAB_F64, 1, &numel);
    if (s == GLAB_OK) s = glab_reader_read(&r, glab_tensor_data(out), (size_t)need);
  } else {
    unsigned char *raw = malloc(need + 1);
    s = raw ? glab_reader_read(&r, raw, (size_t)need) : glab_fail(GLAB_ENOMEM, "%s: out of memory", r.what);
    if (s == GLAB_OK) s = glab_elems_convert(out, raw, numel, e, r.what);
    free(raw);
  }
  if (s == GLAB_OK) s = glab_reader_skip(&r, glab_reader_left(&r));    /* to the CRC check */
  if (s != GLAB_OK) glab_tensor_free(out);
  glab_reader_close(&r);
  return s;
}

/* persistent_load: ('storage', cls, key, location, numel) -> a STORAGE node. */
static glab_status persistent(void *vctx, glab_pickle *pk, int32_t pid, int32_t *result,
                              const char *what) {
  pt_ctx *c = vctx;
  const glab_py *t = &pk->v[pid];
  const glab_py *f[5] = {NULL};
  for (int i = 0; t->kind == GLAB_PY_TUPLE && i < 5 && i < t->n; i++) f[i] = &pk->v[t->kids[i]];
  if (!f[4] || f[0]->kind != GLAB_PY_STR || strcmp(f[0]->u.s, "storage") != 0 ||
      glab_py_storage_elem(f[1]) < 0 || f[2]->kind != GLAB_PY_STR || f[4]->kind != GLAB_PY_INT)
    return glab_fail(GLAB_EFORMAT, "%s: a persistent id that is not ('storage', torch.<Type>Storage, key, "
                     "location, numel)", what);
  const char *key = f[2]->u.s;
  for (int i = 0; i < c->nkeys; i++)
    if (strcmp(c->keys[i], key) == 0) {
      *result = c->nodes[i];
      return GLAB_OK;
    }
  char name[600];
  snprintf(name, sizeof name, "%s/data/%s", c->top, key);
  int member = glab_zip_find(c->z, name);
  if (member < 0) return glab_fail(GLAB_EFORMAT, "%s: storage %s has no member %s", c->z->what, key, name);
  glab_tensor st = GLAB_TENSOR_EMPTY;
  glab_status s = read_storage(&st, c->z, member, (glab_elem)glab_py_storage_elem(f[1]), f[4]->u.i);
  if (s != GLAB_OK) return s;
  char **keys = realloc(c->keys, (size_t)(c->nkeys + 1) * sizeof *keys);
  if (keys) c->keys = keys;
  int32_t *nodes = keys ? realloc(c->nodes, (size_t)(c->nkeys + 1) * sizeof *nodes) : NULL;
  if (nodes) c->nodes = nodes;
  int32_t node = nodes ? glab_py_tensor(pk, GLAB_PY_STORAGE, &st) : -1;
  if (node < 0 || !(c->keys[c->nkeys] = strdup(key))) {
    glab_tensor_free(&st);
    return glab_fail(GLAB_ENOMEM, "%s: out of memory", c->z->what);
  }
  c->nodes[c->nkeys++] = node;
  *result = node;
  return GLAB_OK;
}

/* The legacy (pre-1.6) format is a bare pickle stream, not a zip. */
static glab_status check_magic(const char *path) {
  FILE *f;
  glab_status s = glab_open_read(&f, path, "load_pt");
  if (s != GLAB_OK) return s;
  unsigned char m[4] = {0};
  size_t n = fread(m, 1, 4, f);
  fclose(f);
  if (n == 4 && memcmp(m, "PK\3\4", 4) == 0) return GLAB_OK;
  if (n >= 1 && m[0] == 0x80)
    return glab_fail(GLAB_EFORMAT, "load_pt: %s is in PyTorch's legacy format (before 1.6), which is not "
                     "read; re-save it with torch.save in PyTorch 1.6 or later", path);
  return glab_fail(GLAB_EFORMAT, "load_pt: %s is not a PyTorch checkpoint (not a zip archive)", path);
}

glab_status glab_pt_load(glab_pickle *pk, const char *path, int objects) {
  memset(pk, 0, sizeof *pk);
  glab_status s = check_magic(path);
  glab_zip z;
  if (s != GLAB_OK || (s = glab_zip_open(&z, path, "load_pt")) != GLAB_OK) return s;
  pt_ctx c = {.z = &z};
  const char *slash = z.n ? strchr(z.e[0].name, '/') : NULL;
  if (!slash || slash - z.e[0].name >= (long)sizeof c.top) {
    glab_zip_close(&z);
    return glab_fail(GLAB_EFORMAT, "load_pt: %s: the archive has no top folder", path);
  }
  memcpy(c.top, z.e[0].name, (size_t)(slash - z.e[0].name));
  char name[300];
  snprintf(name, sizeof name, "%s/data.pkl", c.top);
  int i = glab_zip_find(&z, name);
  glab_reader r;
  glab_pickle_opts o = {.objects = objects, .persistent = persistent, .ctx = &c};
  if (i < 0) s = glab_fail(GLAB_EFORMAT, "load_pt: %s: no member %s", path, name);
  if (s == GLAB_OK && (s = glab_zip_member(&r, &z, i)) == GLAB_OK) {
    s = glab_pickle_load(pk, &r, &o);
    glab_reader_close(&r);
  }
  for (int k = 0; k < c.nkeys; k++) free(c.keys[k]);
  free(c.keys);
  free(c.nodes);
  glab_zip_close(&z);
  return s;
}

/* ---- writing -------------------------------------------------------------------- */

typedef struct obuf {
  unsigned char *p;
  size_t n, cap;
  int failed;
} obuf;

static void put(obuf *b, const void *src, size_t n) {
  if (b->failed) return;
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? 2 * b->cap : 4096;
    while (cap < b->n + n) cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p) {
      b->failed = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, src, n);
  b->n += n;
}

static void put_s(obuf *b, const char *s) { put(b, s, strlen(s)); }

static void put_int(obuf *b, int64_t v) {
  unsigned char c[10];
  int k;
  if (v >= 0 && v < 256) c[0] = 'K', k = 1;
  else if (v >= 0 && v < 65536) c[0] = 'M', k = 2;
  else if (v >= INT32_MIN && v <= INT32_MAX) c[0] = 'J', k = 4;
  else c[0] = 0x8a, c[1] = 8, k = 8;                  /* LONG1, 8 bytes */
  int at = c[0] == 0x8a ? 2 : 1;
  for (int i = 0; i < k; i++) c[at + i] = (unsigned char)((uint64_t)v >> (8 * i));
  put(b, c, (size_t)(at + k));
}

static void put_str(obuf *b, const char *s) {         /* BINUNICODE */
  unsigned char h[5] = {'X'};
  size_t n = strlen(s);
  for (int i = 0; i < 4; i++) h[1 + i] = (unsigned char)(n >> (8 * i));
  put(b, h, 5);
  put(b, s, n);
}

static void put_ints(obuf *b, const int64_t *v, int n) {
  if (n == 0) {
    put_s(b, ")");
    return;
  }
  put_s(b, "(");
  for (int i = 0; i < n; i++) put_int(b, v[i]);
  put_s(b, "t");
}

/* The data.pkl of an OrderedDict name -> tensor i over storage key "i". */
static void state_dict_pickle(obuf *b, int n, const char *const *names, const glab_tensor *ts) {
  put(b, "\x80\x02", 2);
  put_s(b, "ccollections\nOrderedDict\n)R(");
  for (int i = 0; i < n; i++) {
    char key[24];
    int64_t stride[GLAB_MAXDIM];
    snprintf(key, sizeof key, "%d", i);
    for (int d = ts[i].ndim - 1; d >= 0; d--)
      stride[d] = d == ts[i].ndim - 1 ? 1 : stride[d + 1] * ts[i].shape[d + 1];
    put_str(b, names[i]);
    put_s(b, "ctorch._utils\n_rebuild_tensor_v2\n((");
    put_str(b, "storage");
    put_s(b, ts[i].dtype == GLAB_F64 ? "ctorch\nDoubleStorage\n" : "ctorch\nFloatStorage\n");
    put_str(b, key);
    put_str(b, "cpu");
    put_int(b, glab_tensor_numel(&ts[i]));
    put_s(b, "tQ");
    put_int(b, 0);
    put_ints(b, ts[i].shape, ts[i].ndim);
    put_ints(b, stride, ts[i].ndim);
    put(b, "\x89", 1);
    put_s(b, "ccollections\nOrderedDict\n)RtR");
  }
  put_s(b, "u.");
}

glab_status glab_pt_save(const char *path, int n, const char *const *names,
                         const glab_tensor *const *ts) {
  glab_tensor *c = calloc((size_t)n + 1, sizeof *c);
  if (!c) return glab_fail(GLAB_ENOMEM, "save_pt: out of memory");
  glab_status s = GLAB_OK;
  for (int i = 0; i < n && s == GLAB_OK; i++) s = glab_tensor_contiguous(&c[i], ts[i]);
  obuf pkl = {0};
  if (s == GLAB_OK) state_dict_pickle(&pkl, n, names, c);
  if (s == GLAB_OK && pkl.failed) s = glab_fail(GLAB_ENOMEM, "save_pt: out of memory");
  glab_zipw w;
  if (s == GLAB_OK) s = glab_zipw_open(&w, path);
  if (s == GLAB_OK) {
    glab_piece p = {pkl.p, pkl.n};
    s = glab_zipw_add(&w, "archive/data.pkl", &p, 1, 0, 64);
    p = (glab_piece){"little", 6};
    if (s == GLAB_OK) s = glab_zipw_add(&w, "archive/byteorder", &p, 1, 0, 64);
    for (int i = 0; i < n && s == GLAB_OK; i++) {
      char name[40];
      snprintf(name, sizeof name, "archive/data/%d", i);
      p = (glab_piece){glab_tensor_data(&c[i]), (size_t)glab_tensor_numel(&c[i]) * glab_dtype_size(c[i].dtype)};
      s = glab_zipw_add(&w, name, &p, 1, 0, 64);
    }
    p = (glab_piece){"3\n", 2};
    if (s == GLAB_OK) s = glab_zipw_add(&w, "archive/version", &p, 1, 0, 64);
    if (s == GLAB_OK) s = glab_zipw_close(&w);
    else glab_zipw_abort(&w);
  }
  for (int i = 0; i < n; i++) glab_tensor_free(&c[i]);
  free(c);
  free(pkl.p);
  return s;
}
