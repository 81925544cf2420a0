/*
** reduce.c -- reductions and scans along one dim (see ops.h).
**
** The input is made contiguous and seen as (outer, R, inner), R being the
** reduced dim.  Kernels walk r in the outer loop and the inner dim in the
** inner loop, keeping `inner` double accumulators: reading a (N x 256)
** matrix down its columns then costs one sequential pass, not 256 strided
** ones.  Rows are widened to double on load, so one kernel serves both dtypes.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

typedef struct {
  glab_tensor c;          /* contiguous input */
  int64_t outer, r, inner;
  int dim;                /* -1: all dims */
} layout;

static glab_status layout_init(layout *l, const glab_tensor *a, int dim,
                               const char *op) {
  memset(l, 0, sizeof *l);
  if (dim == GLAB_ALLDIMS) {
    l->dim = -1;
    l->outer = l->inner = 1;
    l->r = glab_tensor_numel(a);
  } else {
    int d = glab_dim(dim, a->ndim);
    if (d < 0)
      return glab_fail(GLAB_EINDEX, "%s: dimension %d out of range for a %d-d tensor",
                       op, dim < 0 ? dim : dim + 1, a->ndim);
    l->dim = d;
    l->outer = l->inner = 1;
    for (int i = 0; i < d; i++) l->outer *= a->shape[i];
    for (int i = d + 1; i < a->ndim; i++) l->inner *= a->shape[i];
    l->r = a->shape[d];
  }
  return glab_tensor_contiguous(&l->c, a);
}

static void load_row(double *dst, const glab_tensor *c, int64_t off, int64_t n) {
  if (c->dtype == GLAB_F64) {
    memcpy(dst, (const double *)glab_tensor_data(c) + off, (size_t)n * sizeof *dst);
  } else {
    const float *f = (const float *)glab_tensor_data(c) + off;
    for (int64_t i = 0; i < n; i++) dst[i] = f[i];
  }
}

static void store_row(glab_tensor *t, int64_t off, const double *src, int64_t n) {
  if (t->dtype == GLAB_F64) {
    memcpy((double *)glab_tensor_data(t) + off, src, (size_t)n * sizeof *src);
  } else {
    float *f = (float *)glab_tensor_data(t) + off;
    for (int64_t i = 0; i < n; i++) f[i] = (float)src[i];
  }
}

/* Shape of the result: dim removed, or kept as 1. */
static int result_shape(int64_t *sh, const glab_tensor *a, const layout *l,
                        int keepdim) {
  int nd = 0;
  for (int i = 0; i < a->ndim; i++) {
    int reduced = l->dim < 0 || l->dim == i;
    if (!reduced) sh[nd++] = a->shape[i];
    else if (keepdim) sh[nd++] = 1;
  }
  return nd;
}

/* acc[i] = op over r of row r.  tmp holds one row. */
static void reduce_block(double *acc, double *tmp, glab_redop op,
                         const layout *l, int64_t o, int unbiased) {
  int64_t n = l->inner, base = o * l->r * n;
  double init = op == GLAB_PROD ? 1 : 0;
  for (int64_t i = 0; i < n; i++) acc[i] = init;
  if (op == GLAB_MAX || op == GLAB_MIN || op == GLAB_LOGSUMEXP) {
    for (int64_t i = 0; i < n; i++) acc[i] = op == GLAB_MIN ? INFINITY : -INFINITY;
    for (int64_t r = 0; r < l->r; r++) {
      load_row(tmp, &l->c, base + r * n, n);
      for (int64_t i = 0; i < n; i++) {
        double v = tmp[i];
        if (op == GLAB_MIN ? (v < acc[i] || v != v) : (v > acc[i] || v != v))
          if (acc[i] == acc[i]) acc[i] = v;    /* a NaN, once met, stays */
      }
    }
    if (op != GLAB_LOGSUMEXP) return;
  }
  if (op == GLAB_LOGSUMEXP) {
    double *m = tmp + n;        /* the maxima, shifted out of the exps */
    memcpy(m, acc, (size_t)n * sizeof *m);
    for (int64_t i = 0; i < n; i++) acc[i] = 0;
    for (int64_t r = 0; r < l->r; r++) {
      load_row(tmp, &l->c, base + r * n, n);
      for (int64_t i = 0; i < n; i++)
        if (isfinite(m[i])) acc[i] += exp(tmp[i] - m[i]);
    }
    for (int64_t i = 0; i < n; i++)
      acc[i] = isfinite(m[i]) ? m[i] + log(acc[i]) : m[i];
    return;
  }
  for (int64_t r = 0; r < l->r; r++) {
    load_row(tmp, &l->c, base + r * n, n);
    if (op == GLAB_PROD) for (int64_t i = 0; i < n; i++) acc[i] *= tmp[i];
    else for (int64_t i = 0; i < n; i++) acc[i] += tmp[i];
  }
  if (op == GLAB_SUM || op == GLAB_PROD) return;
  for (int64_t i = 0; i < n; i++) acc[i] /= (double)l->r;
  if (op == GLAB_MEAN) return;
  double *mean = tmp + n;       /* two-pass variance: no cancellation */
  memcpy(mean, acc, (size_t)n * sizeof *mean);
  for (int64_t i = 0; i < n; i++) acc[i] = 0;
  for (int64_t r = 0; r < l->r; r++) {
    load_row(tmp, &l->c, base + r * n, n);
    for (int64_t i = 0; i < n; i++) acc[i] += (tmp[i] - mean[i]) * (tmp[i] - mean[i]);
  }
  double denom = (double)l->r - (unbiased ? 1 : 0);
  for (int64_t i = 0; i < n; i++) {
    acc[i] = denom > 0 ? acc[i] / denom : NAN;
    if (op == GLAB_STD) acc[i] = sqrt(acc[i]);
  }
}

static const char *const redop_names[] = {
  "sum", "mean", "prod", "max", "min", "logsumexp", "var", "std"
};

/* Workspace: the accumulators plus two rows. */
static glab_status workspace(double **w, int64_t inner, const char *op) {
  *w = malloc((size_t)(3 * inner + 1) * sizeof **w);
  return *w ? GLAB_OK : glab_fail(GLAB_ENOMEM, "%s: out of memory for workspace", op);
}

glab_status glab_reduce(glab_tensor *out, glab_redop op, const glab_tensor *a,
                        int dim, int keepdim, int unbiased) {
  const char *name = redop_names[op];
  layout l;
  glab_tensor res = GLAB_TENSOR_EMPTY;
  int64_t sh[GLAB_MAXDIM];
  double *w = NULL;
  glab_status s = layout_init(&l, a, dim, name);
  if (s != GLAB_OK) return s;
  if ((op == GLAB_MAX || op == GLAB_MIN) && l.r == 0)
    s = glab_fail(GLAB_EARG, "%s: reduction over an empty dimension", name);
  if (s == GLAB_OK) s = glab_tensor_new(&res, a->dtype, result_shape(sh, a, &l, keepdim), sh);
  if (s == GLAB_OK) s = workspace(&w, l.inner, name);
  if (s == GLAB_OK) {
    for (int64_t o = 0; o < l.outer; o++) {
      reduce_block(w, w + l.inner, op, &l, o, unbiased);
      store_row(&res, o * l.inner, w, l.inner);
    }
    s = glab_tensor_deliver(out, &res, name);
  }
  free(w);
  glab_tensor_free(&res);
  glab_tensor_free(&l.c);
  return s;
}

static void argreduce_block(double *best, double *arg, double *tmp, int is_max,
                            const layout *l, int64_t o) {
  int64_t n = l->inner, base = o * l->r * n;
  load_row(best, &l->c, base, n);
  for (int64_t i = 0; i < n; i++) arg[i] = 0;
  for (int64_t r = 1; r < l->r; r++) {
    load_row(tmp, &l->c, base + r * n, n);
    for (int64_t i = 0; i < n; i++) {
      double v = tmp[i], b = best[i];
      if (b != b) continue;                    /* the first NaN wins */
      if (v != v || (is_max ? v > b : v < b)) {
        best[i] = v;
        arg[i] = (double)r;
      }
    }
  }
}

glab_status glab_argreduce(glab_tensor *vals, glab_tensor *idx, int is_max,
                           const glab_tensor *a, int dim, int keepdim) {
  const char *name = is_max ? "max" : "min";
  layout l;
  glab_tensor rv = GLAB_TENSOR_EMPTY, ri = GLAB_TENSOR_EMPTY;
  int64_t sh[GLAB_MAXDIM];
  double *w = NULL;
  glab_status s = layout_init(&l, a, dim, name);
  if (s != GLAB_OK) return s;
  int nd = result_shape(sh, a, &l, keepdim);
  if (l.r == 0) s = glab_fail(GLAB_EARG, "%s: reduction over an empty dimension", name);
  if (s == GLAB_OK) s = glab_tensor_new(&rv, a->dtype, nd, sh);
  if (s == GLAB_OK) s = glab_tensor_new(&ri, GLAB_F64, nd, sh);
  if (s == GLAB_OK) s = workspace(&w, l.inner, name);
  if (s == GLAB_OK) {
    for (int64_t o = 0; o < l.outer; o++) {
      argreduce_block(w, w + l.inner, w + 2 * l.inner, is_max, &l, o);
      store_row(&rv, o * l.inner, w, l.inner);
      store_row(&ri, o * l.inner, w + l.inner, l.inner);
    }
    if (vals) s = glab_tensor_deliver(vals, &rv, name);
    if (s == GLAB_OK && idx) s = glab_tensor_deliver(idx, &ri, name);
  }
  free(w);
  glab_tensor_free(&rv);
  glab_tensor_free(&ri);
  glab_tensor_free(&l.c);
  return s;
}

/* One (R x inner) block of a scan, written in place of the loaded rows. */
static void scan_block(glab_tensor *res, double *acc, double *tmp,
                       glab_scanop op, const layout *l, int64_t o) {
  int64_t n = l->inner, base = o * l->r * n;
  for (int64_t i = 0; i < n; i++) acc[i] = op == GLAB_CUMSUM ? 0 : -INFINITY;
  if (op == GLAB_CUMSUM) {
    for (int64_t r = 0; r < l->r; r++) {
      load_row(tmp, &l->c, base + r * n, n);
      for (int64_t i = 0; i < n; i++) tmp[i] = acc[i] += tmp[i];
      store_row(res, base + r * n, tmp, n);
    }
    return;
  }
  double *sum = tmp + n;
  for (int64_t r = 0; r < l->r; r++) {
    load_row(tmp, &l->c, base + r * n, n);
    for (int64_t i = 0; i < n; i++) if (tmp[i] > acc[i]) acc[i] = tmp[i];
  }
  for (int64_t i = 0; i < n; i++) sum[i] = 0;
  for (int64_t r = 0; r < l->r; r++) {
    load_row(tmp, &l->c, base + r * n, n);
    for (int64_t i = 0; i < n; i++) sum[i] += exp(tmp[i] - acc[i]);
  }
  for (int64_t r = 0; r < l->r; r++) {
    load_row(tmp, &l->c, base + r * n, n);
    for (int64_t i = 0; i < n; i++)
      tmp[i] = op == GLAB_SOFTMAX ? exp(tmp[i] - acc[i]) / sum[i]
                                  : tmp[i] - acc[i] - log(sum[i]);
    store_row(res, base + r * n, tmp, n);
  }
}

glab_status glab_scan(glab_tensor *out, glab_scanop op, const glab_tensor *a,
                      int dim) {
  static const char *const names[] = {"cumsum", "softmax", "log_softmax"};
  layout l;
  glab_tensor res = GLAB_TENSOR_EMPTY;
  double *w = NULL;
  if (a->ndim == 0) dim = GLAB_ALLDIMS;
  glab_status s = layout_init(&l, a, dim, names[op]);
  if (s != GLAB_OK) return s;
  s = glab_tensor_new(&res, a->dtype, a->ndim, a->shape);
  if (s == GLAB_OK) s = workspace(&w, l.inner, names[op]);
  if (s == GLAB_OK) {
    for (int64_t o = 0; o < l.outer; o++)
      scan_block(&res, w, w + l.inner, op, &l, o);
    s = glab_tensor_deliver(out, &res, names[op]);
  }
  free(w);
  glab_tensor_free(&res);
  glab_tensor_free(&l.c);
  return s;
}
