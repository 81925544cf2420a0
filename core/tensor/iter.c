/*
** iter.c -- lock-step iteration over strided operands (see iter.h).
*/
#include <string.h>

#include "iter.h"

/* Dims i and i+1 merge when, for every operand, stepping once along i is the
** same as stepping shape[i+1] times along i+1. */
static int mergeable(const glab_iter *it, int i) {
  for (int k = 0; k < it->nops; k++)
    if (it->stride[k][i] != it->stride[k][i + 1] * it->shape[i + 1]) return 0;
  return 1;
}

static void coalesce(glab_iter *it) {
  int nd = 0;
  for (int i = 0; i < it->ndim; i++) {       /* drop size-1 dims */
    if (it->shape[i] == 1) continue;
    it->shape[nd] = it->shape[i];
    for (int k = 0; k < it->nops; k++) it->stride[k][nd] = it->stride[k][i];
    nd++;
  }
  it->ndim = nd;
  if (nd == 0) {
    it->ndim = 1;
    it->shape[0] = 1;
    for (int k = 0; k < it->nops; k++) it->stride[k][0] = 0;
    return;
  }
  int w = 0;
  for (int i = 1; i < it->ndim; i++) {
    it->shape[w + 1] = it->shape[i];
    for (int k = 0; k < it->nops; k++) it->stride[k][w + 1] = it->stride[k][i];
    if (mergeable(it, w)) {
      it->shape[w] *= it->shape[w + 1];
      for (int k = 0; k < it->nops; k++) it->stride[k][w] = it->stride[k][w + 1];
    } else {
      w++;
    }
  }
  it->ndim = w + 1;
}

void glab_iter_init(glab_iter *it, int nops, const glab_tensor *const *ops,
                    int ndim, const int64_t *shape) {
  memset(it, 0, sizeof *it);
  it->nops = nops;
  it->ndim = ndim;
  for (int i = 0; i < ndim; i++) it->shape[i] = shape[i];
  for (int k = 0; k < nops; k++) {
    size_t es = glab_dtype_size(ops[k]->dtype);
    it->base[k] = (char *)glab_tensor_data(ops[k]);
    for (int i = 0; i < ndim; i++)
      it->stride[k][i] = ops[k]->stride[i] * (int64_t)es;
  }
  coalesce(it);
}

void glab_iter_run(const glab_iter *it, glab_iter_fn fn, void *ctx) {
  int last = it->ndim - 1;
  int64_t n = it->shape[last];
  int64_t idx[GLAB_MAXDIM] = {0};
  char *p[GLAB_ITER_MAXOPS];
  int64_t s[GLAB_ITER_MAXOPS];
  for (int k = 0; k < it->nops; k++) {
    p[k] = it->base[k];
    s[k] = it->stride[k][last];
  }
  if (n == 0) return;
  for (int d = 0; d < last; d++)
    if (it->shape[d] == 0) return;
  for (;;) {
    fn(p, s, n, ctx);
    int d = last - 1;
    while (d >= 0) {                          /* odometer over outer dims */
      idx[d]++;
      for (int k = 0; k < it->nops; k++) p[k] += it->stride[k][d];
      if (idx[d] < it->shape[d]) break;
      for (int k = 0; k < it->nops; k++)
        p[k] -= it->stride[k][d] * it->shape[d];
      idx[d] = 0;
      d--;
    }
    if (d < 0) return;
  }
}

int64_t glab_batch_offset(const glab_tensor *x, int bnd, int64_t t) {
  int64_t off = 0;
  for (int i = bnd - 1; i >= 0; i--) {
    off += (t % x->shape[i]) * x->stride[i];
    t /= x->shape[i];
  }
  return off;
}
