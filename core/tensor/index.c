/*
** index.c -- indexing, joining and sorting (see ops.h).
**
** Index tensors hold 0-based integer values (any dtype); each is checked
** against the size it indexes before anything is written.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

static glab_status bad_dim(const char *op, int dim, int ndim) {
  return glab_fail(GLAB_EINDEX, "%s: dimension %d out of range for a %d-d tensor",
                   op, dim < 0 ? dim : dim + 1, ndim);
}

/* Index value at flat position i of idx, checked to be an integer in [0,n). */
static glab_status index_at(int64_t *out, const glab_tensor *idx, int64_t i,
                            int64_t n, const char *op) {
  double v = glab_tensor_flat_get(idx, i);
  if (v != floor(v) || v < 0 || v >= (double)n)
    return glab_fail(GLAB_EINDEX, "%s: index %g out of range for a dimension of size %lld",
                     op, v + 1, (long long)n);
  *out = (int64_t)v;
  return GLAB_OK;
}

/* Copy the slices ks[0..n) of a contiguous a along d into res: blocks of
** the dims after d, one memcpy each (a gather of single values when d is
** the last dim). */
static void select_blocks(glab_tensor *res, const glab_tensor *a, int d, const int64_t *ks,
                          int64_t n) {
  int64_t outer = 1, inner = 1, len = a->shape[d];
  for (int i = 0; i < d; i++) outer *= a->shape[i];
  for (int i = d + 1; i < a->ndim; i++) inner *= a->shape[i];
  size_t es = glab_dtype_size(a->dtype), block = (size_t)inner * es;
  const char *src = glab_tensor_data(a);
  char *dst = glab_tensor_data(res);
  for (int64_t o = 0; o < outer; o++, src += (size_t)(len * inner) * es) {
    if (inner == 1 && es == 8)
      for (int64_t j = 0; j < n; j++) ((double *)dst)[j] = ((const double *)src)[ks[j]];
    else if (inner == 1)
      for (int64_t j = 0; j < n; j++) ((float *)dst)[j] = ((const float *)src)[ks[j]];
    else
      for (int64_t j = 0; j < n; j++) memcpy(dst + (size_t)j * block, src + (size_t)ks[j] * block, block);
    dst += (size_t)n * block;
  }
}

glab_status glab_index_select(glab_tensor *out, const glab_tensor *a, int dim,
                              const glab_tensor *idx) {
  int d = glab_dim(dim, a->ndim);
  if (d < 0) return bad_dim("index_select", dim, a->ndim);
  if (idx->ndim > 1)
    return glab_fail(GLAB_ESHAPE, "index_select: the index must be 1-d, not %d-d", idx->ndim);
  int64_t n = glab_tensor_numel(idx), sh[GLAB_MAXDIM];
  int64_t *ks = malloc((size_t)(n ? n : 1) * sizeof *ks);
  if (!ks) return glab_fail(GLAB_ENOMEM, "index_select: out of memory for %lld indices", (long long)n);
  glab_status s = GLAB_OK;
  for (int64_t j = 0; j < n && s == GLAB_OK; j++) s = index_at(&ks[j], idx, j, a->shape[d], "index_select");
  memcpy(sh, a->shape, sizeof sh);
  sh[d] = n;
  glab_tensor res = GLAB_TENSOR_EMPTY;
  if (s == GLAB_OK) s = glab_tensor_new(&res, a->dtype, a->ndim, sh);
  if (s == GLAB_OK && glab_tensor_is_contiguous(a)) {
    select_blocks(&res, a, d, ks, n);
  } else {
    for (int64_t j = 0; s == GLAB_OK && j < n; j++) {
      glab_tensor src = GLAB_TENSOR_EMPTY, dst = GLAB_TENSOR_EMPTY;
      glab_tensor_narrow(&src, a, d, ks[j], 1);
      glab_tensor_narrow(&dst, &res, d, j, 1);
      s = glab_tensor_copy(&dst, &src);
      glab_tensor_free(&src);
      glab_tensor_free(&dst);
    }
  }
  free(ks);
  if (s == GLAB_OK) s = glab_tensor_deliver(out, &res, "index_select");
  glab_tensor_free(&res);
  return s;
}

/* Shared checks of gather and scatter_add: idx has a's rank and fits in it
** along every other dim. */
static glab_status check_gather(const glab_tensor *a, int d, const glab_tensor *idx,
                                const char *op) {
  char sa[128], si[128];
  int ok = idx->ndim == a->ndim;
  for (int i = 0; ok && i < a->ndim; i++)
    if (i != d && idx->shape[i] > a->shape[i]) ok = 0;
  if (!ok)
    return glab_fail(GLAB_ESHAPE, "%s: index (%s) does not fit tensor (%s) along dimension %d",
                     op, glab_shape_str(si, sizeof si, idx->ndim, idx->shape),
                     glab_shape_str(sa, sizeof sa, a->ndim, a->shape), d + 1);
  int64_t n = glab_tensor_numel(idx), k;
  for (int64_t i = 0; i < n; i++) {
    glab_status s = index_at(&k, idx, i, a->shape[d], op);
    if (s != GLAB_OK) return s;
  }
  return GLAB_OK;
}

/* Row-major position i of shape -> multi-index. */
static void unravel(int64_t *pos, int64_t i, int ndim, const int64_t *shape) {
  for (int d = ndim - 1; d >= 0; d--) {
    pos[d] = shape[d] ? i % shape[d] : 0;
    i = shape[d] ? i / shape[d] : 0;
  }
}

glab_status glab_gather(glab_tensor *out, const glab_tensor *a, int dim,
                        const glab_tensor *idx) {
  int d = glab_dim(dim, a->ndim);
  if (d < 0) return bad_dim("gather", dim, a->ndim);
  glab_status s = check_gather(a, d, idx, "gather");
  if (s != GLAB_OK) return s;
  glab_tensor res = GLAB_TENSOR_EMPTY;
  s = glab_tensor_new(&res, a->dtype, idx->ndim, idx->shape);
  if (s != GLAB_OK) return s;
  int64_t n = glab_tensor_numel(idx), pos[GLAB_MAXDIM];
  for (int64_t i = 0; i < n; i++) {
    unravel(pos, i, idx->ndim, idx->shape);
    double v = glab_tensor_get(idx, pos);
    int64_t keep = pos[d];
    pos[d] = (int64_t)v;
    double x = glab_tensor_get(a, pos);
    pos[d] = keep;
    glab_tensor_set(&res, pos, x);
  }
  s = glab_tensor_deliver(out, &res, "gather");
  glab_tensor_free(&res);
  return s;
}

glab_status glab_scatter_add(glab_tensor *dst, int dim, const glab_tensor *idx,
                             const glab_tensor *src) {
  char si[128], ss[128];
  int d = glab_dim(dim, dst->ndim);
  if (d < 0) return bad_dim("scatter_add", dim, dst->ndim);
  int same = src->ndim == idx->ndim;
  for (int i = 0; same && i < idx->ndim; i++) same = src->shape[i] == idx->shape[i];
  if (!same)
    return glab_fail(GLAB_ESHAPE, "scatter_add: index (%s) and source (%s) differ in shape",
                     glab_shape_str(si, sizeof si, idx->ndim, idx->shape),
                     glab_shape_str(ss, sizeof ss, src->ndim, src->shape));
  glab_status s = check_gather(dst, d, idx, "scatter_add");
  if (s == GLAB_OK) s = glab_tensor_check_writable(dst, "scatter_add");
  if (s != GLAB_OK) return s;
  /* the sums land at other positions than they are read from, so a source
  ** or index that shares any memory with dst is copied first, even one of
  ** dst's own layout (x:scatter_add_(d, idx, x)) */
  glab_tensor ti = GLAB_TENSOR_EMPTY, ts = GLAB_TENSOR_EMPTY;
  const glab_tensor *ix = idx, *sx = src;
  if (glab_tensor_overlaps(dst, idx) && (s = glab_tensor_clone(&ti, idx)) == GLAB_OK) ix = &ti;
  if (s == GLAB_OK && glab_tensor_overlaps(dst, src) && (s = glab_tensor_clone(&ts, src)) == GLAB_OK)
    sx = &ts;
  if (s == GLAB_OK) {
    int64_t n = glab_tensor_numel(ix), pos[GLAB_MAXDIM];
    for (int64_t i = 0; i < n; i++) {
      unravel(pos, i, ix->ndim, ix->shape);
      double v = glab_tensor_get(ix, pos), x = glab_tensor_get(sx, pos);
      pos[d] = (int64_t)v;
      glab_tensor_set(dst, pos, glab_tensor_get(dst, pos) + x);
    }
  }
  glab_tensor_free(&ti);
  glab_tensor_free(&ts);
  return s;
}

glab_status glab_masked_select(glab_tensor *out, const glab_tensor *a,
                               const glab_tensor *mask) {
  int64_t sh[GLAB_MAXDIM];
  int nd;
  glab_status s = glab_broadcast_shape(sh, &nd, a->ndim, a->shape, mask->ndim,
                                       mask->shape, "masked_select");
  if (s != GLAB_OK) return s;
  glab_tensor ea = GLAB_TENSOR_EMPTY, em = GLAB_TENSOR_EMPTY, res = GLAB_TENSOR_EMPTY;
  glab_tensor_expand(&ea, a, nd, sh);
  glab_tensor_expand(&em, mask, nd, sh);
  int64_t total = glab_tensor_numel(&ea), count = 0;
  for (int64_t i = 0; i < total; i++) count += glab_tensor_flat_get(&em, i) != 0;
  s = glab_tensor_new(&res, a->dtype, 1, &count);
  for (int64_t i = 0, j = 0; s == GLAB_OK && i < total; i++)
    if (glab_tensor_flat_get(&em, i) != 0) {
      glab_tensor_set(&res, &j, glab_tensor_flat_get(&ea, i));
      j++;
    }
  if (s == GLAB_OK) s = glab_tensor_deliver(out, &res, "masked_select");
  glab_tensor_free(&ea);
  glab_tensor_free(&em);
  glab_tensor_free(&res);
  return s;
}

glab_status glab_cat(glab_tensor *out, const glab_tensor *const *ts, int n,
                     int dim) {
  if (n < 1) return glab_fail(GLAB_EARG, "cat: needs at least one tensor");
  int d = glab_dim(dim, ts[0]->ndim);
  if (d < 0) return bad_dim("cat", dim, ts[0]->ndim);
  int64_t sh[GLAB_MAXDIM];
  glab_dtype dt = GLAB_F32;
  memcpy(sh, ts[0]->shape, sizeof sh);
  sh[d] = 0;
  for (int k = 0; k < n; k++) {
    int ok = ts[k]->ndim == ts[0]->ndim;
    for (int i = 0; ok && i < ts[0]->ndim; i++)
      if (i != d && ts[k]->shape[i] != ts[0]->shape[i]) ok = 0;
    if (!ok) {
      char a[128], b[128];
      return glab_fail(GLAB_ESHAPE,
                       "cat: tensor %d is (%s), tensor 1 is (%s): they may differ only in dimension %d",
                       k + 1, glab_shape_str(a, sizeof a, ts[k]->ndim, ts[k]->shape),
                       glab_shape_str(b, sizeof b, ts[0]->ndim, ts[0]->shape), d + 1);
    }
    sh[d] += ts[k]->shape[d];
    if (ts[k]->dtype == GLAB_F64) dt = GLAB_F64;
  }
  glab_tensor res = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_new(&res, dt, ts[0]->ndim, sh);
  int64_t at = 0;
  for (int k = 0; s == GLAB_OK && k < n; k++) {
    glab_tensor part = GLAB_TENSOR_EMPTY;
    glab_tensor_narrow(&part, &res, d, at, ts[k]->shape[d]);
    s = glab_tensor_copy(&part, ts[k]);
    glab_tensor_free(&part);
    at += ts[k]->shape[d];
  }
  if (s == GLAB_OK) s = glab_tensor_deliver(out, &res, "cat");
  glab_tensor_free(&res);
  return s;
}

glab_status glab_stack(glab_tensor *out, const glab_tensor *const *ts, int n,
                       int dim) {
  if (n < 1) return glab_fail(GLAB_EARG, "stack: needs at least one tensor");
  if (n > 1 << 20) return glab_fail(GLAB_EARG, "stack: too many tensors (%d)", n);
  glab_tensor *u = calloc((size_t)n, sizeof *u);
  const glab_tensor **p = calloc((size_t)n, sizeof *p);
  glab_status s = (u && p) ? GLAB_OK : glab_fail(GLAB_ENOMEM, "stack: out of memory");
  for (int k = 0; s == GLAB_OK && k < n; k++) {
    char a[128], b[128];
    int same = ts[k]->ndim == ts[0]->ndim;
    for (int i = 0; same && i < ts[0]->ndim; i++) same = ts[k]->shape[i] == ts[0]->shape[i];
    if (!same)
      s = glab_fail(GLAB_ESHAPE, "stack: tensor %d is (%s), tensor 1 is (%s)", k + 1,
                    glab_shape_str(a, sizeof a, ts[k]->ndim, ts[k]->shape),
                    glab_shape_str(b, sizeof b, ts[0]->ndim, ts[0]->shape));
    else
      s = glab_tensor_unsqueeze(&u[k], ts[k], dim);
    p[k] = &u[k];
  }
  if (s == GLAB_OK) s = glab_cat(out, p, n, dim);
  for (int k = 0; u && k < n; k++) glab_tensor_free(&u[k]);
  free(u);
  free(p);
  return s;
}

/* ---- sorting ----------------------------------------------------------------- */

typedef struct { double v; int64_t i; } keyed;

/* NaN counts as the largest value, as in max and argmax: last ascending,
** first descending (numpy's and PyTorch's order); ties keep their order
** (stability). */
static int cmp_asc(const void *x, const void *y) {
  const keyed *a = x, *b = y;
  int an = a->v != a->v, bn = b->v != b->v;
  if (an != bn) return an - bn;
  if (!an && a->v != b->v) return a->v < b->v ? -1 : 1;
  return (a->i > b->i) - (a->i < b->i);
}

static int cmp_desc(const void *x, const void *y) {
  const keyed *a = x, *b = y;
  int an = a->v != a->v, bn = b->v != b->v;
  if (an != bn) return bn - an;
  if (!an && a->v != b->v) return a->v > b->v ? -1 : 1;
  return (a->i > b->i) - (a->i < b->i);
}

glab_status glab_sort(glab_tensor *vals, glab_tensor *idx, const glab_tensor *a,
                      int dim, int descending) {
  if (a->ndim == 0) return glab_fail(GLAB_ESHAPE, "sort: cannot sort a scalar");
  int d = glab_dim(dim, a->ndim);
  if (d < 0) return bad_dim("sort", dim, a->ndim);
  glab_tensor t = GLAB_TENSOR_EMPTY, c = GLAB_TENSOR_EMPTY;
  glab_tensor rv = GLAB_TENSOR_EMPTY, ri = GLAB_TENSOR_EMPTY;
  glab_tensor bv = GLAB_TENSOR_EMPTY, bi = GLAB_TENSOR_EMPTY;
  int64_t len = a->shape[d];
  keyed *row = malloc((size_t)(len ? len : 1) * sizeof *row);
  glab_status s = row ? GLAB_OK : glab_fail(GLAB_ENOMEM, "sort: out of memory");
  if (s == GLAB_OK) s = glab_tensor_transpose(&t, a, d, -1);
  if (s == GLAB_OK) s = glab_tensor_clone(&c, &t);
  if (s == GLAB_OK) s = glab_tensor_new(&ri, GLAB_F64, c.ndim, c.shape);
  if (s == GLAB_OK) {
    int64_t rows = len ? glab_tensor_numel(&c) / len : 0;
    double *ix = glab_tensor_data(&ri);
    for (int64_t r = 0; r < rows; r++) {
      for (int64_t j = 0; j < len; j++) {
        row[j].v = glab_tensor_flat_get(&c, r * len + j);
        row[j].i = j;
      }
      qsort(row, (size_t)len, sizeof *row, descending ? cmp_desc : cmp_asc);
      for (int64_t j = 0; j < len; j++) {
        int64_t at = r * len + j;
        if (c.dtype == GLAB_F64) ((double *)glab_tensor_data(&c))[at] = row[j].v;
        else ((float *)glab_tensor_data(&c))[at] = (float)row[j].v;
        ix[at] = (double)row[j].i;
      }
    }
    glab_tensor_transpose(&bv, &c, d, -1);
    glab_tensor_transpose(&bi, &ri, d, -1);
    if (vals) s = glab_tensor_deliver(vals, &bv, "sort");
    if (s == GLAB_OK && idx) s = glab_tensor_deliver(idx, &bi, "sort");
  }
  free(row);
  glab_tensor_free(&t); glab_tensor_free(&c); glab_tensor_free(&rv);
  glab_tensor_free(&ri); glab_tensor_free(&bv); glab_tensor_free(&bi);
  return s;
}

glab_status glab_topk(glab_tensor *vals, glab_tensor *idx, const glab_tensor *a,
                      int64_t k, int dim, int largest) {
  if (a->ndim == 0) return glab_fail(GLAB_ESHAPE, "topk: needs at least 1 dimension");
  int d = glab_dim(dim, a->ndim);
  if (d < 0) return bad_dim("topk", dim, a->ndim);
  if (k < 0 || k > a->shape[d])
    return glab_fail(GLAB_EARG, "topk: k = %lld out of range for a dimension of size %lld",
                     (long long)k, (long long)a->shape[d]);
  glab_tensor sv = GLAB_TENSOR_EMPTY, si = GLAB_TENSOR_EMPTY;
  glab_tensor nv = GLAB_TENSOR_EMPTY, ni = GLAB_TENSOR_EMPTY;
  glab_status s = glab_sort(&sv, &si, a, d, largest);
  if (s == GLAB_OK) {
    glab_tensor_narrow(&nv, &sv, d, 0, k);
    glab_tensor_narrow(&ni, &si, d, 0, k);
    if (vals) s = glab_tensor_deliver(vals, &nv, "topk");
    if (s == GLAB_OK && idx) s = glab_tensor_deliver(idx, &ni, "topk");
  }
  glab_tensor_free(&sv); glab_tensor_free(&si);
  glab_tensor_free(&nv); glab_tensor_free(&ni);
  return s;
}
