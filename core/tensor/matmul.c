/*
** matmul.c -- matrix products through cblas (see ops.h).
**
** A matrix operand is passed to gemm as it lies when one of its two strides
** is 1 (a transposed view becomes CblasTrans, not a copy); anything else is
** made contiguous first.  Batches are walked with an odometer over the
** broadcast leading dims, one gemm call each.
*/
#include <cblas.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "fastmath.h"
#include "iter.h"
#include "parallel.h"
#include "ops.h"


static int max_threads;       /* 0 until first use: OpenBLAS's own default */
static int cur_threads;
static pthread_t owner;       /* the thread that last set the count */
static volatile sig_atomic_t offered;     /* glab_offer_threads' count, not yet taken */

void glab_set_num_threads(int n) {
  if (n < 1) n = 1;
  max_threads = n;
  cur_threads = n;
  owner = pthread_self();
  openblas_set_num_threads(n);
}

void glab_offer_threads(int n) { offered = n; }

const char *glab_blas_core(void) { return openblas_get_corename(); }

int glab_get_num_threads(void) {
  if (!max_threads) max_threads = cur_threads = openblas_get_num_threads();
  if (offered && pthread_equal(pthread_self(), owner) && !glab_parallel_active()) {
    int n = offered;                     /* between operations, on the thread that owns the count */
    offered = 0;
    glab_set_num_threads(n);
  }
  return max_threads;
}

static void blas_threads(int want) {
  if (want != cur_threads) {
    openblas_set_num_threads(want);
    cur_threads = want;
  }
}

void glab_blas_pick_threads(int64_t m, int64_t n, int64_t k) {
  if (glab_parallel_active()) return;           /* held at one by glab_parallel */
  int want = glab_get_num_threads();
  int64_t thin = m < n ? m : n;
  if (k < thin) thin = k;
  if ((double)m * (double)n * (double)k < 1.5e5 || thin < 48) want = 1;
  if (want > 1) glab_parallel_park();
  blas_threads(want);
}

void glab_blas_one_thread(void) {
  if (glab_parallel_active()) return;
  glab_get_num_threads();                       /* reads OpenBLAS's default first */
  blas_threads(1);
}

/* ---- products on the pool ------------------------------------------------------------
** OpenBLAS runs every product on one thread.  A product worth sharing is cut
** into one block of C's rows or columns per core, and the blocks run side by
** side on glab_parallel.  Rows when C has ROWS_ENOUGH of them or is taller
** than wide, else columns: a block of rows writes a whole stretch of C,
** while blocks of columns interleave on every row of it.  Measured on the
** 2-core EPYC, rows against columns in alternating runs over shapes of 64 to
** 1,024 rows and columns and k = 32 to 784, every layout: from 192 rows,
** rows were never slower by more than 3% and up to 2.5 times faster at small
** k (the MLP VAE's first weight gradient, 500 x 784 with k = 128: 185-202
** against 141-193 GFLOP/s); at 64 rows columns won by up to 20%, and at 128
** either, by the shape (its forward products of 128 x 500 x 784: columns,
** by 3-10%).  Against OpenBLAS's own two threads in alternating runs: the
** MLP VAE's five products of 128 x 500 x 784 shapes 187-191 against 178-187
** GFLOP/s, 4096 x 64 x 256 195 against 75-91, 256 x 256 x 1024 158-179
** against 142-144; and the pool
** then owns the cores, so Adam and the activations between products find a
** worker spinning, not one asleep beside OpenBLAS's yielding threads (which
** had kept a step's two Adam shares waiting 0.3 to 1.1 ms).  Each element
** of C is the same sum as in one call, whatever the thread count: blocks
** start at multiples of 16, OpenBLAS's widest unroll; its packed kernels
** cut only the inner dimension, in blocks set by k alone; and every block
** is over the 100^3 multiply-adds up to which OpenBLAS takes its
** small-matrix kernels, which sum k in one pass (a product of 128 x 32 x
** 400 cut in halves of 64 rows had 3,676 of its 4,096 sums differ).  In
** float64, dgemm sums the columns at C's right edge (n mod 16 of them)
** differently in a call of fewer rows or columns (of the 64,000 sums of
** 128 x 500 x 784, 28 differed cut at row 64, 431 cut at columns 160 and
** 336): such a product runs its first n - n mod 16 columns as any other and
** its edge columns as one call of their own, all rows, on one thread, the
** same cut on every thread count (OpenBLAS's own threads had given it bits
** that depended on the count). */
#define GEMM_ALIGN 16
#define BLAS_SMALL 1e6              /* OpenBLAS's small-matrix limit, multiply-adds */
#define ROWS_ENOUGH 192             /* from this many rows of C, blocks of rows (above) */

typedef struct {
  glab_dtype dt;
  int ta, tb, rows;                 /* rows: blocks of C's rows, else of its columns (run_gemm) */
  int64_t m, n, k, lda, ldb, ldc;
  double alpha, beta;
  const char *a, *b;
  char *c;
  const char *bias;                 /* glab_gemm_bias_act's epilogue: C's rows start */
  int act;                          /* as bias (beta 1), end through act (-1: none) */
} gemm_job;

static void blas_gemm(const gemm_job *j, int64_t m, int64_t n, const char *a, const char *b,
                      char *c) {
  CBLAS_TRANSPOSE tra = j->ta ? CblasTrans : CblasNoTrans, trb = j->tb ? CblasTrans : CblasNoTrans;
  if (j->dt == GLAB_F64)
    cblas_dgemm(CblasRowMajor, tra, trb, (int)m, (int)n, (int)j->k, j->alpha, (const double *)a,
                (int)j->lda, (const double *)b, (int)j->ldb, j->beta, (double *)c, (int)j->ldc);
  else
    cblas_sgemm(CblasRowMajor, tra, trb, (int)m, (int)n, (int)j->k, (float)j->alpha,
                (const float *)a, (int)j->lda, (const float *)b, (int)j->ldb, (float)j->beta,
                (float *)c, (int)j->ldc);
}

/* The blocks to cut [0, len) into, at most nt: each of them over BLAS_SMALL
** multiply-adds at per a unit of len. */
static int blocks(int64_t len, double per, int nt) {
  for (; nt > 1; nt--) {
    int64_t least = len, i0, i1;
    for (int t = 0; t < nt; t++) {
      glab_parallel_share(len, t, nt, GEMM_ALIGN, &i0, &i1);
      if (i1 - i0 < least) least = i1 - i0;
    }
    if ((double)least * per > BLAS_SMALL) break;
  }
  return nt;
}

/* Rows [r0, r1) by columns [c0, c1) of C: bias, product, activation. */
static void gemm_block(const gemm_job *j, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  size_t es = glab_dtype_size(j->dt), w = (size_t)(c1 - c0) * es;
  char *c = j->c + (size_t)(r0 * j->ldc + c0) * es;
  if (j->bias)
    for (int64_t r = 0; r < r1 - r0; r++) memcpy(c + (size_t)(r * j->ldc) * es, j->bias + c0 * es, w);
  /* row i of op(A): row i of A, or its column i; column i of op(B): column i of B, or its row i */
  blas_gemm(j, r1 - r0, c1 - c0, j->a + (size_t)(j->ta ? r0 : r0 * j->lda) * es,
            j->b + (size_t)(j->tb ? c0 * j->ldb : c0) * es, c);
  if (j->act < 0) return;
  if (j->ldc == c1 - c0) glab_unary_row((glab_unop)j->act, j->dt, c, c, (r1 - r0) * j->ldc);
  else
    for (int64_t r = 0; r < r1 - r0; r++) {
      char *cr = c + (size_t)(r * j->ldc) * es;
      glab_unary_row((glab_unop)j->act, j->dt, cr, cr, c1 - c0);
    }
}

static void gemm_share(void *arg, int t, int n) {
  const gemm_job *j = arg;
  int64_t i0, i1;
  glab_parallel_share(j->rows ? j->m : j->n, t, n, GEMM_ALIGN, &i0, &i1);
  if (j->rows) gemm_block(j, i0, i1, 0, j->n);
  else gemm_block(j, 0, j->m, i0, i1);
}

static void run_gemm(gemm_job *j) {
  int64_t m = j->m, n = j->n, k = j->k;
  j->rows = m >= n || m >= ROWS_ENOUGH;
  if (j->dt == GLAB_F64 && n % GEMM_ALIGN) {    /* the aligned columns as any product, the */
    int64_t n16 = n / GEMM_ALIGN * GEMM_ALIGN;    /* rest in one call of its own on one thread */
    if (n16 > 0) {
      gemm_job main = *j;
      main.n = n16;
      run_gemm(&main);
    }
    glab_blas_one_thread();
    gemm_block(j, 0, m, n16, n);
    return;
  }
  int nt = glab_parallel_active() ? 1 : glab_get_num_threads();
  if (nt > 1) nt = j->rows ? blocks(m, (double)n * (double)k, nt) : blocks(n, (double)m * (double)k, nt);
  if (nt > 1) {
    glab_parallel(nt, gemm_share, j);
    return;
  }
  glab_blas_one_thread();
  gemm_block(j, 0, m, 0, n);
}

void glab_gemm(glab_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k,
               double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
               double beta, void *c, int64_t ldc) {
  gemm_job j = {dt, ta, tb, 0, m, n, k, lda, ldb, ldc, alpha, beta, a, b, c, NULL, -1};
  run_gemm(&j);
}

void glab_gemm_bias_act(glab_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k,
                        const void *a, int64_t lda, const void *b, int64_t ldb,
                        const void *bias, int act, void *c, int64_t ldc) {
  gemm_job j = {dt, ta, tb, 0, m, n, k, lda, ldb, ldc, 1.0, bias ? 1.0 : 0.0, a, b, c, bias,
                act};
  run_gemm(&j);
}

/* ---- small products ----------------------------------------------------------------------
** C is built in tiles of rb rows by nv vectors of 16 columns (GCC's vector
** types, split where the machine's are narrower): rb nv independent sums,
** enough to keep the adders busy through their latency (a row at a time,
** the n = 32 product of the LSTM's backward had only two in flight), each
** row of B loaded once per tile.  Every element of C is the same sum in the
** same order whatever the tiling, so callers may split the rows. */

#define SV 16                                  /* floats in a glab_v16f */
#define SMALL_SUMS 8                           /* rb nv: the sums a tile keeps */

/* Rows [0, rb) by columns [j, j + nv SV): inlined with constant rb and nv,
** so that the sums stay in registers. */
static inline __attribute__((always_inline)) void
small_tile_f32(float *restrict c, int64_t ldc, const float *restrict a, int64_t lda,
               const float *restrict b, int64_t ldb, int64_t k, int beta, int64_t j,
               const int rb, const int nv) {
  glab_v16f acc[SMALL_SUMS];
  for (int r = 0; r < rb; r++)
    for (int v = 0; v < nv; v++)
      acc[r * nv + v] = beta ? *(glab_v16f_u *)(c + r * ldc + j + v * SV) : (glab_v16f){0};
  for (int64_t q = 0; q < k; q++) {
    const float *bq = b + q * ldb + j;
    glab_v16f bv[4];
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) bv[v] = *(const glab_v16f_u *)(bq + v * SV);
#pragma GCC unroll 8
    for (int r = 0; r < rb; r++) {
      float s = a[r * lda + q];
#pragma GCC unroll 4
      for (int v = 0; v < nv; v++) acc[r * nv + v] += s * bv[v];
    }
  }
  for (int r = 0; r < rb; r++)
    for (int v = 0; v < nv; v++) *(glab_v16f_u *)(c + r * ldc + j + v * SV) = acc[r * nv + v];
}

/* Columns [j, j + nv SV) of every row: tiles of SMALL_SUMS / nv rows, then
** the rows left one at a time. */
static inline __attribute__((always_inline)) void
small_cols_f32(int64_t m, float *restrict c, int64_t ldc, const float *restrict a, int64_t lda,
               const float *restrict b, int64_t ldb, int64_t k, int beta, int64_t j,
               const int nv) {
  const int rb = SMALL_SUMS / nv;
  int64_t r = 0;
  for (; r + rb <= m; r += rb)
    small_tile_f32(c + r * ldc, ldc, a + r * lda, lda, b, ldb, k, beta, j, rb, nv);
  for (; r < m; r++) small_tile_f32(c + r * ldc, ldc, a + r * lda, lda, b, ldb, k, beta, j, 1, nv);
}

GLAB_MULTIVERSION static void gemm_small_f32(int64_t m, int64_t n, int64_t k,
                                             const float *restrict a, int64_t lda,
                                             const float *restrict b, int64_t ldb, int beta,
                                             float *restrict c, int64_t ldc) {
  int64_t j = 0;
  for (; j + 4 * SV <= n; j += 4 * SV) small_cols_f32(m, c, ldc, a, lda, b, ldb, k, beta, j, 4);
  for (; j + 2 * SV <= n; j += 2 * SV) small_cols_f32(m, c, ldc, a, lda, b, ldb, k, beta, j, 2);
  for (; j + SV <= n; j += SV) small_cols_f32(m, c, ldc, a, lda, b, ldb, k, beta, j, 1);
  for (; j < n; j++)
    for (int64_t r = 0; r < m; r++) {
      const float *ar = a + r * lda;
      float acc = beta ? c[r * ldc + j] : 0;
      for (int64_t q = 0; q < k; q++) acc += ar[q] * b[q * ldb + j];
      c[r * ldc + j] = acc;
    }
}

void glab_gemm_small(glab_dtype dt, int64_t m, int64_t n, int64_t k, const void *a, int64_t lda,
                     const void *b, int64_t ldb, int beta, void *c, int64_t ldc) {
  if (dt == GLAB_F64)                  /* float64 (the tests' dtype): the BLAS call */
    glab_gemm(dt, 0, 0, m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc);
  else gemm_small_f32(m, n, k, a, lda, b, ldb, beta, c, ldc);
}

void glab_transpose_copy(glab_dtype dt, int64_t rows, int64_t cols, const void *a, int64_t lda,
                         void *b, int64_t ldb) {
  if (dt == GLAB_F64)
    cblas_domatcopy(CblasRowMajor, CblasTrans, (int)rows, (int)cols, 1.0, a, (int)lda,
                    b, (int)ldb);
  else
    cblas_somatcopy(CblasRowMajor, CblasTrans, (int)rows, (int)cols, 1.0f, a,
                    (int)lda, b, (int)ldb);
}

typedef struct {
  CBLAS_TRANSPOSE trans;
  int64_t ld;
} gemm_arg;

/* How gemm can read the (rows x cols) matrix at the last two dims of t, if
** it can without a copy. */
static int as_gemm_arg(gemm_arg *g, const glab_tensor *t) {
  int64_t rows = t->shape[t->ndim - 2], cols = t->shape[t->ndim - 1];
  int64_t rs = t->stride[t->ndim - 2], cs = t->stride[t->ndim - 1];
  if (cols == 1) cs = 1;
  if (rows == 1) rs = cols > 1 ? cols : 1;
  if (cs == 1 && rs >= (cols > 1 ? cols : 1)) {
    g->trans = CblasNoTrans;
    g->ld = rs;
    return 1;
  }
  if (rs == 1 && cs >= (rows > 1 ? rows : 1)) {
    g->trans = CblasTrans;
    g->ld = cs;
    return 1;
  }
  return 0;
}

static void gemm(glab_dtype dt, const gemm_arg *ga, const void *a,
                 const gemm_arg *gb, const void *b, void *c, int64_t m,
                 int64_t n, int64_t k) {
  glab_gemm(dt, ga->trans == CblasTrans, gb->trans == CblasTrans, m, n, k, 1.0, a, ga->ld, b,
            gb->ld, 0.0, c, n > 1 ? n : 1);
}

/* Operands as (batch..., rows, cols) with broadcast batch dims; 1-d ones
** promoted.  Fails with both shapes in the message. */
static glab_status matmul_shapes(glab_tensor *a2, glab_tensor *b2, int64_t *bsh,
                                 int *bnd, const glab_tensor *a,
                                 const glab_tensor *b) {
  char sa[128], sb[128];
  if (a->ndim == 0 || b->ndim == 0)
    return glab_fail(GLAB_ESHAPE, "matmul: (%s) @ (%s): operands must have at least 1 dimension",
                     glab_shape_str(sa, sizeof sa, a->ndim, a->shape),
                     glab_shape_str(sb, sizeof sb, b->ndim, b->shape));
  if (a->ndim == 1) glab_tensor_unsqueeze(a2, a, 0);
  else glab_tensor_share(a2, a);
  if (b->ndim == 1) glab_tensor_unsqueeze(b2, b, 1);
  else glab_tensor_share(b2, b);
  if (a2->shape[a2->ndim - 1] != b2->shape[b2->ndim - 2])
    return glab_fail(GLAB_ESHAPE, "matmul: (%s) @ (%s): inner dimensions differ",
                     glab_shape_str(sa, sizeof sa, a->ndim, a->shape),
                     glab_shape_str(sb, sizeof sb, b->ndim, b->shape));
  glab_status s = glab_broadcast_shape(bsh, bnd, a2->ndim - 2, a2->shape, b2->ndim - 2,
                                       b2->shape, "matmul");
  if (s != GLAB_OK)
    return glab_fail(GLAB_ESHAPE, "matmul: (%s) @ (%s): batch dimensions do not broadcast",
                     glab_shape_str(sa, sizeof sa, a->ndim, a->shape),
                     glab_shape_str(sb, sizeof sb, b->ndim, b->shape));
  return GLAB_OK;
}

/* Expand x to (batch..., rows, cols), promote to dt, and make it gemm-able. */
static glab_status gemm_operand(glab_tensor *dst, gemm_arg *g, const glab_tensor *x,
                                const int64_t *bsh, int bnd, glab_dtype dt) {
  int64_t sh[GLAB_MAXDIM];
  memcpy(sh, bsh, (size_t)bnd * sizeof *sh);
  sh[bnd] = x->shape[x->ndim - 2];
  sh[bnd + 1] = x->shape[x->ndim - 1];
  glab_tensor e = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_expand(&e, x, bnd + 2, sh);
  if (s != GLAB_OK) return s;
  if (e.dtype == dt && as_gemm_arg(g, &e)) {
    *dst = e;
    return GLAB_OK;
  }
  s = glab_tensor_astype(dst, &e, dt);
  glab_tensor_free(&e);
  if (s == GLAB_OK) as_gemm_arg(g, dst);
  return s;
}

/* One batch of a matmul: C_t = A_t B_t. */
typedef struct {
  const glab_tensor *a, *b, *c;
  const gemm_arg *ga, *gb;
  int bnd;
  int64_t m, n, k;
} mm_batch;

static int mm_item(void *arg, int64_t t) {
  const mm_batch *j = arg;
  size_t es = glab_dtype_size(j->c->dtype);
  char *ct = (char *)glab_tensor_data(j->c) + glab_batch_offset(j->c, j->bnd, t) * (int64_t)es;
  if (j->k == 0)
    memset(ct, 0, (size_t)(j->m * j->n) * es);
  else if (j->m > 0 && j->n > 0)
    gemm(j->c->dtype, j->ga,
         (char *)glab_tensor_data(j->a) + glab_batch_offset(j->a, j->bnd, t) * (int64_t)es,
         j->gb, (char *)glab_tensor_data(j->b) + glab_batch_offset(j->b, j->bnd, t) * (int64_t)es,
         ct, j->m, j->n, j->k);
  return 0;
}

static void run_batches(glab_tensor *c, const glab_tensor *a, const gemm_arg *ga,
                        const glab_tensor *b, const gemm_arg *gb, int bnd) {
  mm_batch j = {a, b, c, ga, gb, bnd, c->shape[bnd], c->shape[bnd + 1], a->shape[bnd + 1]};
  int64_t nb = 1;
  for (int i = 0; i < bnd; i++) nb *= c->shape[i];
  glab_parallel_batches(nb, 2.0 * j.m * j.n * j.k, mm_item, &j);
}

/* The result's shape without the dims that 1-d operands gained. */
static int result_shape(int64_t *res, const int64_t *sh, int bnd, const glab_tensor *a,
                        const glab_tensor *b) {
  int nd = 0;
  for (int i = 0; i < bnd; i++) res[nd++] = sh[i];
  if (a->ndim > 1) res[nd++] = sh[bnd];
  if (b->ndim > 1) res[nd++] = sh[bnd + 1];
  return nd;
}

/* C as a (batch..., m, n) view of out when out can take the result in place
** (existing, contiguous, right shape and dtype, and sharing no memory with
** the operands, which BLAS would read after writing); else a new tensor. */
static glab_status matmul_target(glab_tensor *c, glab_tensor *out, glab_dtype dt,
                                 int bnd, const int64_t *sh, int nd, const int64_t *res,
                                 const glab_tensor *a, const glab_tensor *b) {
  if (!out->storage) return glab_tensor_new(c, dt, bnd + 2, sh);
  glab_status s = glab_tensor_prepare(out, dt, nd, res, "matmul");
  if (s != GLAB_OK) return s;
  if (glab_tensor_is_contiguous(out) && !glab_tensor_overlaps(out, a) &&
      !glab_tensor_overlaps(out, b))
    return glab_tensor_view(c, out, bnd + 2, sh);
  return glab_tensor_new(c, dt, bnd + 2, sh);
}

glab_status glab_matmul(glab_tensor *out, const glab_tensor *a,
                        const glab_tensor *b) {
  glab_tensor a2 = GLAB_TENSOR_EMPTY, b2 = GLAB_TENSOR_EMPTY;
  glab_tensor ea = GLAB_TENSOR_EMPTY, eb = GLAB_TENSOR_EMPTY, c = GLAB_TENSOR_EMPTY;
  int64_t sh[GLAB_MAXDIM], res[GLAB_MAXDIM];
  int bnd = 0, nd = 0;
  gemm_arg ga, gb;
  glab_dtype dt = (a->dtype == GLAB_F64 || b->dtype == GLAB_F64) ? GLAB_F64 : GLAB_F32;
  glab_status s = matmul_shapes(&a2, &b2, sh, &bnd, a, b);
  if (s == GLAB_OK) s = gemm_operand(&ea, &ga, &a2, sh, bnd, dt);
  if (s == GLAB_OK) s = gemm_operand(&eb, &gb, &b2, sh, bnd, dt);
  if (s == GLAB_OK) {
    sh[bnd] = a2.shape[a2.ndim - 2];
    sh[bnd + 1] = b2.shape[b2.ndim - 1];
    nd = result_shape(res, sh, bnd, a, b);
    s = matmul_target(&c, out, dt, bnd, sh, nd, res, a, b);
  }
  if (s == GLAB_OK) {
    run_batches(&c, &ea, &ga, &eb, &gb, bnd);
    if (!out->storage || c.storage != out->storage) {
      glab_tensor v = GLAB_TENSOR_EMPTY;
      glab_tensor_view(&v, &c, nd, res);
      s = glab_tensor_deliver(out, &v, "matmul");
    }
  }
  glab_tensor_free(&a2); glab_tensor_free(&b2);
  glab_tensor_free(&ea); glab_tensor_free(&eb); glab_tensor_free(&c);
  return s;
}

glab_status glab_dot(glab_tensor *out, const glab_tensor *a, const glab_tensor *b) {
  char sa[128], sb[128];
  if (a->ndim != 1 || b->ndim != 1 || a->shape[0] != b->shape[0])
    return glab_fail(GLAB_ESHAPE, "dot: (%s) . (%s): needs two vectors of one length",
                     glab_shape_str(sa, sizeof sa, a->ndim, a->shape),
                     glab_shape_str(sb, sizeof sb, b->ndim, b->shape));
  return glab_matmul(out, a, b);
}

glab_status glab_outer(glab_tensor *out, const glab_tensor *a,
                       const glab_tensor *b) {
  char sa[128], sb[128];
  if (a->ndim != 1 || b->ndim != 1)
    return glab_fail(GLAB_ESHAPE, "outer: (%s) x (%s): needs two vectors",
                     glab_shape_str(sa, sizeof sa, a->ndim, a->shape),
                     glab_shape_str(sb, sizeof sb, b->ndim, b->shape));
  glab_tensor col = GLAB_TENSOR_EMPTY, row = GLAB_TENSOR_EMPTY;
  glab_tensor_unsqueeze(&col, a, 1);
  glab_tensor_unsqueeze(&row, b, 0);
  glab_status s = glab_binary(out, GLAB_MUL, &col, &row);
  glab_tensor_free(&col);
  glab_tensor_free(&row);
  return s;
}
