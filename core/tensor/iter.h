/*
** iter.h -- walking several same-shaped strided tensors in lock step
** (internal to core/tensor).
**
** The caller expands every operand to one shape first.  glab_iter_init merges
** dims that are contiguous in every operand, so a contiguous elementwise op
** becomes a single call of the row function over all elements.
*/
#ifndef GLAB_ITER_H
#define GLAB_ITER_H

#include "tensor.h"

#define GLAB_ITER_MAXOPS 4

typedef struct glab_iter {
  int ndim;                                   /* >= 1 after init */
  int nops;
  int64_t shape[GLAB_MAXDIM];
  int64_t stride[GLAB_ITER_MAXOPS][GLAB_MAXDIM];  /* in bytes */
  char *base[GLAB_ITER_MAXOPS];
} glab_iter;

/* Called once per innermost row: p[k] points at operand k's first element of
** the row, s[k] is its byte stride along the row, n the row length. */
typedef void (*glab_iter_fn)(char **p, const int64_t *s, int64_t n,
                             void *ctx);

/* ops[k] must all have shape (ndim, shape). */
void glab_iter_init(glab_iter *it, int nops, const glab_tensor *const *ops,
                    int ndim, const int64_t *shape);
void glab_iter_run(const glab_iter *it, glab_iter_fn fn, void *ctx);

/* Element offset of batch t (row-major over the first bnd dims of x) for a
** tensor already expanded to its batch shape: broadcast dims have stride 0. */
int64_t glab_batch_offset(const glab_tensor *x, int bnd, int64_t t);

/* Set OpenBLAS's thread count for an (m x k) by (k x n) BLAS-3 call other
** than a product (glab_gemm shares those out on glab_parallel, but for the
** float64 ones it leaves to OpenBLAS): one thread when it is tiny or thin
** (any dim under 48), where the hand-off to a second thread costs more than
** it saves (measured: 128x40x500 and 128x500x20 run faster on one of our 2
** cores, 64^3 on both), else the glab_set_num_threads limit. */
void glab_blas_pick_threads(int64_t m, int64_t n, int64_t k);
/* Set OpenBLAS's thread count to one (on the thread that owns it). */
void glab_blas_one_thread(void);

#endif
