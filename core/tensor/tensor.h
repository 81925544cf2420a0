/*
** tensor.h -- strided float32/float64 tensors over refcounted storage.
**
** A glab_tensor is a small value: a pointer to shared storage plus an offset,
** a shape and strides (in elements).  Views (narrow, select, transpose, ...)
** are new values that share the storage; the storage is freed when its last
** tensor is freed.  Indices in this C API are 0-based; the Lua surface adds 1.
**
**     glab_tensor x = GLAB_TENSOR_EMPTY, xt = GLAB_TENSOR_EMPTY;
**     glab_tensor c = GLAB_TENSOR_EMPTY;
**     int64_t shape[2] = {3, 4};
**     if (glab_tensor_new(&x, GLAB_F32, 2, shape) != GLAB_OK) return error;
**     glab_tensor_fill(&x, 1.0);
**     glab_tensor_transpose(&xt, &x, 0, 1);      // 4x3 view, same storage
**     if (glab_matmul(&c, &x, &xt) != GLAB_OK)   // 3x3, allocated by matmul
**       fprintf(stderr, "%s\n", glab_errmsg());
**     glab_tensor_free(&c); glab_tensor_free(&xt); glab_tensor_free(&x);
**
** Contract for every function that produces a tensor `out` (first argument):
**   - view functions (narrow, select, transpose, permute, view, expand, ...)
**     need an empty `out` and make it share `src`'s storage;
**   - computing functions allocate `out` when it is empty; when it already
**     holds a tensor of the result's shape and dtype they write into it, which
**     lets a training loop reuse its buffers (a mismatch is GLAB_ESHAPE);
**   - on failure `out` is left as it was and glab_errmsg() says why.
** Whoever creates a tensor frees it with glab_tensor_free; no function frees
** its arguments.  Storage refcounts are not atomic: one thread owns a graph
** of tensors (the Lua state); compute threads only touch element data.
*/
#ifndef GLAB_TENSOR_H
#define GLAB_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "../glab.h"

#define GLAB_MAXDIM 32             /* numpy 1.x's NPY_MAXDIMS; seed 002's CPT 25 has 25 */

typedef enum glab_dtype { GLAB_F32 = 0, GLAB_F64 = 1 } glab_dtype;

typedef struct glab_storage {
  void *data;
  size_t nbytes;
  long refs;
  uint64_t version;             /* bumped by every in-place write (views share it) */
} glab_storage;

typedef struct glab_tensor {
  glab_storage *storage;        /* NULL while the tensor is empty */
  int64_t offset;               /* of element (0,...,0), in elements */
  int64_t shape[GLAB_MAXDIM];
  int64_t stride[GLAB_MAXDIM];  /* in elements; 0 along expanded dims */
  int ndim;                     /* 0 for a scalar */
  glab_dtype dtype;
} glab_tensor;

#define GLAB_TENSOR_EMPTY {0}

/* Largest single allocation attempted: the machine's physical memory.
** Linux overcommits, so a bigger malloc "succeeds" and the process dies
** when the pages are touched; refusing up front gives a message instead. */
size_t glab_max_alloc_bytes(void);
/* Lower (or, with 0, restore) that limit: a harness that feeds loaders
** hostile headers keeps each input's claim to a budget it can afford. */
void glab_set_max_alloc_bytes(size_t limit);
/* Bytes held by live tensor storage: what a garbage-collected host (Lua)
** needs to pace its collector, since it sees only the small handles. */
size_t glab_live_bytes(void);
/* Bytes parked in the block cache; glab_cache_clear() returns them. */
size_t glab_cached_bytes(void);
void glab_cache_clear(void);

/* ---- metadata ---------------------------------------------------------- */
static inline size_t glab_dtype_size(glab_dtype dt) { return dt == GLAB_F64 ? 8 : 4; }
const char *glab_dtype_name(glab_dtype dt);        /* "float32", "float64" */
int64_t glab_tensor_numel(const glab_tensor *t);
int glab_tensor_is_contiguous(const glab_tensor *t);
/* element (0,...,0); NULL while empty.  Inline: kernels call it per row. */
static inline void *glab_tensor_data(const glab_tensor *t) {
  if (!t->storage) return NULL;
  return (char *)t->storage->data + t->offset * (int64_t)glab_dtype_size(t->dtype);
}
/* "512x256" (or "scalar") into buf; returns buf. */
char *glab_shape_str(char *buf, size_t n, int ndim, const int64_t *shape);
/* Normalise a possibly negative dim against ndim; -1 if out of range. */
int glab_dim(int dim, int ndim);

/* ---- writes and aliasing -------------------------------------------------
** A write into an existing tensor (an `out` that already holds storage, copy,
** fill, set, the in-place kernels) bumps its storage's version, so that
** autograd can tell that a tensor it saved for backward has changed since. */
static inline void glab_tensor_bump(const glab_tensor *t) {
  if (t->storage) t->storage->version++;
}
/* Whether a and b may touch a common element: the same storage and
** intersecting element ranges.  Conservative: interleaved views count. */
int glab_tensor_overlaps(const glab_tensor *a, const glab_tensor *b);
/* Whether a and b reach the same elements in the same order: the same
** storage, offset, shape and strides (an elementwise op may then read and
** write through them at once). */
int glab_tensor_same_layout(const glab_tensor *a, const glab_tensor *b);
/* Check that t may be written element by element: GLAB_EARG, naming op,
** when a stride-0 dim of size > 1 makes several elements one memory cell
** (an expanded tensor). */
glab_status glab_tensor_check_writable(const glab_tensor *t, const char *op);
/* *use is src, or (when src overlaps dst without sharing its layout) a
** clone of it in *tmp: what an op writing dst reads instead of src, so that
** the result is as if every input were copied first (numpy's rule).  The
** caller frees *tmp. */
glab_status glab_tensor_unalias(const glab_tensor **use, glab_tensor *tmp,
                                const glab_tensor *dst, const glab_tensor *src);

/* ---- life cycle --------------------------------------------------------- */
/* Contiguous tensor with uninitialised elements.  Fails with GLAB_ENOMEM and
** "cannot allocate 12.0 GiB for a (50000x60000) float32 tensor (...)". */
glab_status glab_tensor_new(glab_tensor *out, glab_dtype dt, int ndim,
                            const int64_t *shape);
void glab_tensor_free(glab_tensor *t);
/* out shares everything with src (a second handle). */
void glab_tensor_share(glab_tensor *out, const glab_tensor *src);
/* Allocate out when empty, else check that it has this dtype and shape. */
glab_status glab_tensor_prepare(glab_tensor *out, glab_dtype dt, int ndim,
                                const int64_t *shape, const char *op);

/* Free the tensor held in t (if any) and move src into it; src is empty
** afterwards. */
void glab_tensor_move(glab_tensor *t, glab_tensor *src);

/* Hand a freshly computed contiguous res to the caller's out: moved when out
** is empty, else copied into it after the shape and dtype check.  res is
** empty afterwards either way. */
glab_status glab_tensor_deliver(glab_tensor *out, glab_tensor *res,
                                const char *op);

/* ---- creation ------------------------------------------------------------ */
glab_status glab_tensor_fill(glab_tensor *t, double value);
glab_status glab_tensor_full(glab_tensor *out, glab_dtype dt, int ndim,
                             const int64_t *shape, double value);
glab_status glab_tensor_eye(glab_tensor *out, glab_dtype dt, int64_t n,
                            int64_t m);
/* Values start, start+step, ... strictly before stop (as numpy.arange). */
glab_status glab_tensor_arange(glab_tensor *out, glab_dtype dt, double start,
                               double stop, double step);
glab_status glab_tensor_linspace(glab_tensor *out, glab_dtype dt, double a,
                                 double b, int64_t n);

/* ---- views ---------------------------------------------------------------- */
glab_status glab_tensor_narrow(glab_tensor *out, const glab_tensor *src,
                               int dim, int64_t start, int64_t len);
/* len elements of dim from start, step apart (step >= 1): a view whose
** stride along dim is step times src's.  narrow is the step-1 case. */
glab_status glab_tensor_slice(glab_tensor *out, const glab_tensor *src, int dim,
                              int64_t start, int64_t len, int64_t step);
/* Removes dim: a (3x4) select(dim=0, i) is the (4) row i. */
glab_status glab_tensor_select(glab_tensor *out, const glab_tensor *src,
                               int dim, int64_t index);
glab_status glab_tensor_transpose(glab_tensor *out, const glab_tensor *src,
                                  int d0, int d1);
glab_status glab_tensor_permute(glab_tensor *out, const glab_tensor *src,
                                const int *perm);
/* shape may hold one -1, inferred.  Fails if the strides do not allow a
** view; glab_tensor_reshape then copies. */
glab_status glab_tensor_view(glab_tensor *out, const glab_tensor *src,
                             int ndim, const int64_t *shape);
glab_status glab_tensor_reshape(glab_tensor *out, const glab_tensor *src,
                                int ndim, const int64_t *shape);
/* numpy broadcast_to: size-1 dims (and new leading dims) get stride 0. */
glab_status glab_tensor_expand(glab_tensor *out, const glab_tensor *src,
                               int ndim, const int64_t *shape);
glab_status glab_tensor_unsqueeze(glab_tensor *out, const glab_tensor *src,
                                  int dim);
/* The diagonal of the last two dims, (..., min(n, m)), as a view. */
glab_status glab_tensor_diagonal(glab_tensor *out, const glab_tensor *src);
/* dim < -ndim.. or dim == GLAB_ALLDIMS removes every size-1 dim. */
#define GLAB_ALLDIMS 1000
glab_status glab_tensor_squeeze(glab_tensor *out, const glab_tensor *src,
                                int dim);

/* ---- copies --------------------------------------------------------------- */
/* src broadcast into dst (which must exist), converting dtype. */
glab_status glab_tensor_copy(glab_tensor *dst, const glab_tensor *src);
glab_status glab_tensor_clone(glab_tensor *out, const glab_tensor *src);
/* Shares src when already contiguous, else copies. */
glab_status glab_tensor_contiguous(glab_tensor *out, const glab_tensor *src);
glab_status glab_tensor_astype(glab_tensor *out, const glab_tensor *src,
                               glab_dtype dt);

/* ---- elements (0-based, no bounds check beyond the assertion) ------------ */
double glab_tensor_get(const glab_tensor *t, const int64_t *idx);
void glab_tensor_set(glab_tensor *t, const int64_t *idx, double v);
/* Element at flat row-major position i of a tensor of any strides. */
double glab_tensor_flat_get(const glab_tensor *t, int64_t i);

/* Broadcast shapes a and b (numpy rules) into out/out_nd.  op names the
** caller in the message: "add: (3x4) and (5): shapes do not broadcast". */
glab_status glab_broadcast_shape(int64_t *out, int *out_nd, int na,
                                 const int64_t *a, int nb, const int64_t *b,
                                 const char *op);

#endif
