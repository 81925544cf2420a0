/*
** ops.h -- arithmetic on tensors: elementwise with numpy broadcasting,
** reductions, scans, matrix products, indexing, sorting.
**
**     glab_tensor y = GLAB_TENSOR_EMPTY;
**     glab_binary(&y, GLAB_ADD, &x, &bias);        // (128x500) + (500)
**     glab_unary(&y, GLAB_TANH, &y);               // in place: y exists
**     glab_reduce(&m, GLAB_LOGSUMEXP, &y, 1, 0, 0);// over dim 1 -> (128)
**
** Dtype rule: float32 with float64 gives float64 (numpy's promotion); a
** scalar takes the tensor's dtype.  Comparisons give masks of 0 and 1 in the
** promoted dtype.  Index tensors (argmax results, index_select/gather
** arguments) are float64 tensors of 0-based integer values in this C API; the
** Lua surface shows them 1-based.  See tensor.h for the `out` contract:
** an elementwise op may write into one of its inputs (out == a).
*/
#ifndef GLAB_OPS_H
#define GLAB_OPS_H

#include "tensor.h"

/* ---- elementwise ---------------------------------------------------------- */
typedef enum glab_binop {
  GLAB_ADD, GLAB_SUB, GLAB_MUL, GLAB_DIV, GLAB_POW, GLAB_MAXIMUM, GLAB_MINIMUM,
  GLAB_EQ, GLAB_NE, GLAB_LT, GLAB_LE, GLAB_GT, GLAB_GE
} glab_binop;

typedef enum glab_unop {
  GLAB_NEG, GLAB_ABS, GLAB_EXP, GLAB_LOG, GLAB_LOG1P, GLAB_EXPM1, GLAB_SQRT,
  GLAB_TANH, GLAB_SIGMOID, GLAB_RELU, GLAB_SOFTPLUS, GLAB_SQUARE, GLAB_SIN,
  GLAB_COS, GLAB_FLOOR, GLAB_CEIL, GLAB_ROUND, GLAB_SIGN, GLAB_RECIPROCAL, GLAB_ERF, GLAB_ERFC
} glab_unop;

const char *glab_binop_name(glab_binop op);
const char *glab_unop_name(glab_unop op);
/* out[i] = op(x[i]) for i < n, both contiguous of dtype dt (out may be x):
** the kernel glab_unary runs, for a layer that applies its activation to
** its own output while that is in cache. */
void glab_unary_row(glab_unop op, glab_dtype dt, void *out, const void *x, int64_t n);

glab_status glab_binary(glab_tensor *out, glab_binop op, const glab_tensor *a,
                        const glab_tensor *b);
/* a op s, or s op a when scalar_first (for 2 - x, 1 / x, 2 ^ x). */
glab_status glab_binary_scalar(glab_tensor *out, glab_binop op,
                               const glab_tensor *a, double s, int scalar_first);
glab_status glab_unary(glab_tensor *out, glab_unop op, const glab_tensor *a);
glab_status glab_clamp(glab_tensor *out, const glab_tensor *a, double lo,
                       double hi);
/* mask != 0 ? a : b, all three broadcast together. */
glab_status glab_where(glab_tensor *out, const glab_tensor *mask,
                       const glab_tensor *a, const glab_tensor *b);

/* ---- reductions and scans --------------------------------------------------- */
typedef enum glab_redop {
  GLAB_SUM, GLAB_MEAN, GLAB_PROD, GLAB_MAX, GLAB_MIN, GLAB_LOGSUMEXP, GLAB_VAR,
  GLAB_STD
} glab_redop;

/* Over dim, or over every element when dim == GLAB_ALLDIMS (giving a scalar,
** or all dims of size 1 with keepdim).  unbiased selects N-1 for var/std.
** Sums accumulate in double. */
glab_status glab_reduce(glab_tensor *out, glab_redop op, const glab_tensor *a,
                        int dim, int keepdim, int unbiased);
/* The order in which every plain sum of glab_reduce adds a line of values
** up, for kernels that make the values as they go and must give the bits of
** a sum over them: part[i] (GLAB_SUM_LANES doubles, zeros at first) +=
** v[i], v[GLAB_SUM_LANES + i], ...  A line may come in pieces whose lengths,
** all but the last, are multiples of GLAB_SUM_LANES; its sum is then
** glab_sum_lanes_total(part).  Any line of fewer values sums in order. */
#define GLAB_SUM_LANES 64
void glab_sum_lanes(double *part, glab_dtype dt, const void *v, int64_t n);
double glab_sum_lanes_total(const double *part);

/* Max (is_max) or min over dim with the position of the first extreme.
** Either output may be NULL when not wanted. */
glab_status glab_argreduce(glab_tensor *vals, glab_tensor *idx, int is_max,
                           const glab_tensor *a, int dim, int keepdim);

typedef enum glab_scanop { GLAB_CUMSUM, GLAB_SOFTMAX, GLAB_LOG_SOFTMAX } glab_scanop;
/* Same shape as a; softmax and log_softmax are shifted by the max. */
glab_status glab_scan(glab_tensor *out, glab_scanop op, const glab_tensor *a,
                      int dim);

/* ---- matrix products (cblas) -------------------------------------------------- */
/* numpy.matmul: 1-d operands are promoted to a row/column and the added dim
** removed; leading dims broadcast; every batch is one gemm call. */
glab_status glab_matmul(glab_tensor *out, const glab_tensor *a,
                        const glab_tensor *b);
/* Scalar product of two vectors of the same length, into a 0-d tensor. */
glab_status glab_dot(glab_tensor *out, const glab_tensor *a, const glab_tensor *b);
glab_status glab_outer(glab_tensor *out, const glab_tensor *a,
                       const glab_tensor *b);
/* C = alpha op(A) op(B) + beta C on row-major buffers of dtype dt (op
** transposes when ta / tb): one BLAS call, or a block of C's rows or
** columns per thread on glab_parallel when the product is large enough,
** with the same bits either way (float32; float64 when n is a multiple of
** 16).  For kernels that accumulate into workspaces (nn layers). */
void glab_gemm(glab_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k,
               double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
               double beta, void *c, int64_t ldc);
/* C = act(op(A) op(B) + bias), bias (n values) broadcast over the rows or
** NULL, act a unary op or -1 for none: a layer's output, each thread's block
** of C given its bias, product and activation while in cache.  The bits of
** filling C with the bias, glab_gemm with beta 1 and glab_unary_row. */
void glab_gemm_bias_act(glab_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k,
                        const void *a, int64_t lda, const void *b, int64_t ldb,
                        const void *bias, int act, void *c, int64_t ldc);
/* C = A B + beta C (beta 0 or 1) for A (m x k), B (k x n), C (m x n), all
** row-major with their leading dimensions: the small products of a
** recurrent step (32 x 32 by 32 x 128), where a BLAS call's fixed cost
** (dispatch and packing, microseconds) is most of the work.  float32: one
** thread, rows of C in vector registers, k ascending for every element;
** float64 (the tests' dtype) is glab_gemm's. */
void glab_gemm_small(glab_dtype dt, int64_t m, int64_t n, int64_t k, const void *a, int64_t lda,
                     const void *b, int64_t ldb, int beta, void *c, int64_t ldc);
/* B (cols x rows, leading dimension ldb) := A^T for the row-major A (rows x
** cols, lda): OpenBLAS's omatcopy, values copied as they are, on the
** calling thread (784 x 128 floats take about 10 us from cache). */
void glab_transpose_copy(glab_dtype dt, int64_t rows, int64_t cols, const void *a, int64_t lda,
                         void *b, int64_t ldb);
/* Upper bound on the threads of products, glab_parallel and OpenBLAS
** (default: the cores); a small product runs on one thread whatever this
** says, as it is faster there. */
void glab_set_num_threads(int n);
int glab_get_num_threads(void);
/* Offer n threads from a signal handler (it only stores n): the thread that
** last called glab_set_num_threads takes them at its next
** glab_get_num_threads outside a parallel job.  No result changes with
** the count; only the speed does (genlab.jobs gives a sweep's last task
** the cores the finished ones leave). */
void glab_offer_threads(int n);
/* The kernels OpenBLAS runs: "Haswell", "SkylakeX", ... (its own pick for
** the CPU, or OPENBLAS_CORETYPE's when set). */
const char *glab_blas_core(void);

/* ---- indexing ------------------------------------------------------------------ */
glab_status glab_index_select(glab_tensor *out, const glab_tensor *a, int dim,
                              const glab_tensor *idx);
/* out[i][j] = a[i][idx[i][j]] for dim 1 (and likewise for any dim). */
glab_status glab_gather(glab_tensor *out, const glab_tensor *a, int dim,
                        const glab_tensor *idx);
/* dst[i][idx[i][j]] += src[i][j] for dim 1, in place on dst. */
glab_status glab_scatter_add(glab_tensor *dst, int dim, const glab_tensor *idx,
                             const glab_tensor *src);
/* The elements where mask != 0 (mask broadcast to a), as a 1-d tensor. */
glab_status glab_masked_select(glab_tensor *out, const glab_tensor *a,
                               const glab_tensor *mask);
glab_status glab_cat(glab_tensor *out, const glab_tensor *const *ts, int n,
                     int dim);
glab_status glab_stack(glab_tensor *out, const glab_tensor *const *ts, int n,
                       int dim);
/* Stable sort along dim; idx receives the source positions.  Either output
** may be NULL. */
glab_status glab_sort(glab_tensor *vals, glab_tensor *idx, const glab_tensor *a,
                      int dim, int descending);
glab_status glab_topk(glab_tensor *vals, glab_tensor *idx, const glab_tensor *a,
                      int64_t k, int dim, int largest);

#endif
