/*
** linalg.c -- LAPACK and BLAS-3 solvers on batches of matrices (see
** linalg.h).  The one other file of the core that calls LAPACK is
** autograd/nn_gmm.c, whose per-component factorisations run inside its
** own threads.
**
** Tensors are row-major; LAPACK is column-major.  A row-major symmetric
** matrix read column-major is itself, so cholesky and eigh hand LAPACK our
** buffer with uplo swapped and need no transposition.  General matrices go
** through LAPACKE's row-major interface.  Triangular solves call cblas trsm,
** which takes row-major operands and a transpose flag directly.
*/
#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "iter.h"
#include "linalg.h"
#include "parallel.h"

/* " in batch element 3" for batches, "" for a single matrix. */
static const char *where_in(char *buf, size_t n, int64_t nb, int64_t t) {
  if (nb <= 1) return "";
  snprintf(buf, n, " in batch element %lld", (long long)t + 1);
  return buf;
}

static glab_status check_square(const glab_tensor *a, const char *op) {
  char sh[128];
  if (a->ndim < 2 || a->shape[a->ndim - 1] != a->shape[a->ndim - 2])
    return glab_fail(GLAB_ESHAPE, "%s: expected a square matrix or a batch of them, got (%s)",
                     op, glab_shape_str(sh, sizeof sh, a->ndim, a->shape));
  return GLAB_OK;
}

static int64_t batch_count(const glab_tensor *a, int trailing) {
  int64_t nb = 1;
  for (int i = 0; i < a->ndim - trailing; i++) nb *= a->shape[i];
  return nb;
}

static glab_status nan_input(const char *op) {
  return glab_fail(GLAB_ELINALG, "%s: the matrix contains NaN or infinity", op);
}

/* LAPACKE's own check finds NaN only; an infinite entry goes through and
** comes back as an inf factor or NaN eigenvalues.  c is contiguous. */
static glab_status check_finite(const glab_tensor *c, const char *op) {
  int64_t n = glab_tensor_numel(c);
  int ok = 1;
  if (c->dtype == GLAB_F64) {
    const double *p = glab_tensor_data(c);
    for (int64_t i = 0; i < n; i++) ok &= isfinite(p[i]) != 0;
  } else {
    const float *p = glab_tensor_data(c);
    for (int64_t i = 0; i < n; i++) ok &= isfinite(p[i]) != 0;
  }
  return ok ? GLAB_OK : nan_input(op);
}

/* A workspace size that LAPACK returned in a float: float32 holds integers
** exactly only below 2^24, and a size rounded down to the nearest float is
** "parameter N had an illegal value" on the real call (eigh at n >= 2,900).
** Rounded up past any such loss, as LAPACK 3.10's sroundup_lwork does. */
static lapack_int work_size(float q) {
  return (lapack_int)ceil((double)q * (1.0 + 2.0 * FLT_EPSILON)) + 1;
}

/* ssyevd with its workspace sized by work_size (LAPACKE_ssyevd truncates). */
static lapack_int ssyevd(char jobz, lapack_int n, float *a, float *w) {
  float q;
  lapack_int iq, info = LAPACKE_ssyevd_work(LAPACK_COL_MAJOR, jobz, 'U', n, a, n, w, &q, -1,
                                            &iq, -1);
  if (info != 0) return info;
  lapack_int lwork = work_size(q);
  float *work = malloc((size_t)lwork * sizeof *work);
  lapack_int *iwork = malloc((size_t)iq * sizeof *iwork);
  info = work && iwork ? LAPACKE_ssyevd_work(LAPACK_COL_MAJOR, jobz, 'U', n, a, n, w, work,
                                             lwork, iwork, iq)
                       : LAPACK_WORK_MEMORY_ERROR;
  free(work);
  free(iwork);
  return info;
}

/* sgesdd likewise (its workspace passes 2^24 near min(m, n) = 1,400). */
static lapack_int sgesdd(char jobz, lapack_int m, lapack_int n, float *a, float *s, float *u,
                         lapack_int ldu, float *vt) {
  lapack_int k = m < n ? m : n, info;
  lapack_int *iwork = malloc((size_t)(8 * (k > 0 ? k : 1)) * sizeof *iwork);
  float q;
  if (!iwork) return LAPACK_WORK_MEMORY_ERROR;
  info = LAPACKE_sgesdd_work(LAPACK_ROW_MAJOR, jobz, m, n, a, n, s, u, ldu, vt, n, &q, -1, iwork);
  if (info == 0) {
    lapack_int lwork = work_size(q);
    float *work = malloc((size_t)lwork * sizeof *work);
    info = work ? LAPACKE_sgesdd_work(LAPACK_ROW_MAJOR, jobz, m, n, a, n, s, u, ldu, vt, n,
                                      work, lwork, iwork)
                : LAPACK_WORK_MEMORY_ERROR;
    free(work);
  }
  free(iwork);
  return info;
}

/* ---- cholesky, eigh ------------------------------------------------------------ */

static void zero_triangle(glab_tensor *c, int64_t off, int64_t n, int upper_part) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < n; j++) {
      if (upper_part ? j <= i : j >= i) continue;
      if (c->dtype == GLAB_F64) ((double *)glab_tensor_data(c))[off + i * n + j] = 0;
      else ((float *)glab_tensor_data(c))[off + i * n + j] = 0;
    }
}

/* One batch of cholesky: potrf on each matrix of c in place, info kept. */
typedef struct {
  glab_tensor *c;
  int64_t n;
  char uplo;
  int upper;
  lapack_int *info;
} chol_batch;

static int chol_item(void *arg, int64_t t) {
  chol_batch *j = arg;
  int64_t n = j->n, off = t * n * n;
  lapack_int info = j->c->dtype == GLAB_F64
      ? LAPACKE_dpotrf(LAPACK_COL_MAJOR, j->uplo, (lapack_int)n, (double *)glab_tensor_data(j->c) + off, (lapack_int)n)
      : LAPACKE_spotrf(LAPACK_COL_MAJOR, j->uplo, (lapack_int)n, (float *)glab_tensor_data(j->c) + off, (lapack_int)n);
  j->info[t] = info;
  if (info == 0) zero_triangle(j->c, off, n, !j->upper);
  return info != 0;
}

glab_status glab_linalg_cholesky(glab_tensor *out, const glab_tensor *a, int upper) {
  glab_status s = check_square(a, "cholesky");
  if (s != GLAB_OK) return s;
  glab_tensor c = GLAB_TENSOR_EMPTY;
  s = glab_tensor_clone(&c, a);
  if (s == GLAB_OK) s = check_finite(&c, "cholesky");
  if (s != GLAB_OK) { glab_tensor_free(&c); return s; }
  int64_t n = a->shape[a->ndim - 1], nb = batch_count(a, 2);
  chol_batch j = {&c, n, upper ? 'L' : 'U', upper, malloc((nb ? nb : 1) * sizeof(lapack_int))};
  if (!j.info) s = glab_fail(GLAB_ENOMEM, "cholesky: cannot allocate %lld status words", (long long)nb);
  int64_t t = -1;                         /* uplo swapped: see the file comment */
  if (s == GLAB_OK && n > 0) {
    glab_blas_pick_threads(n, n, n);
    t = glab_parallel_batches(nb, (double)n * n * n / 3, chol_item, &j);
  }
  char wb[64];
  if (t >= 0 && j.info[t] > 0)
    s = glab_fail(GLAB_ELINALG, "cholesky: matrix is not positive definite (leading minor %d of %lld)%s",
                  (int)j.info[t], (long long)n, where_in(wb, sizeof wb, nb, t));
  else if (t >= 0)
    s = nan_input("cholesky");
  if (s == GLAB_OK) s = glab_tensor_deliver(out, &c, "cholesky");
  glab_tensor_free(&c);
  free(j.info);
  return s;
}

static void transpose_square(glab_tensor *c, int64_t off, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = i + 1; j < n; j++) {
      if (c->dtype == GLAB_F64) {
        double *p = (double *)glab_tensor_data(c) + off, x = p[i * n + j];
        p[i * n + j] = p[j * n + i];
        p[j * n + i] = x;
      } else {
        float *p = (float *)glab_tensor_data(c) + off, x = p[i * n + j];
        p[i * n + j] = p[j * n + i];
        p[j * n + i] = x;
      }
    }
}

glab_status glab_linalg_eigh(glab_tensor *w, glab_tensor *v, const glab_tensor *a) {
  glab_status s = check_square(a, "eigh");
  if (s != GLAB_OK) return s;
  glab_tensor c = GLAB_TENSOR_EMPTY, ev = GLAB_TENSOR_EMPTY;
  int64_t n = a->shape[a->ndim - 1], nb = batch_count(a, 2);
  s = glab_tensor_clone(&c, a);
  if (s == GLAB_OK) s = check_finite(&c, "eigh");
  if (s == GLAB_OK) s = glab_tensor_new(&ev, a->dtype, a->ndim - 1, a->shape);
  char jobz = v ? 'V' : 'N';
  for (int64_t t = 0; t < nb && s == GLAB_OK && n > 0; t++) {
    int64_t off = t * n * n;
    lapack_int info = c.dtype == GLAB_F64
        ? LAPACKE_dsyevd(LAPACK_COL_MAJOR, jobz, 'U', (lapack_int)n, (double *)glab_tensor_data(&c) + off,
                         (lapack_int)n, (double *)glab_tensor_data(&ev) + t * n)
        : ssyevd(jobz, (lapack_int)n, (float *)glab_tensor_data(&c) + off,
                 (float *)glab_tensor_data(&ev) + t * n);
    char wb[64];
    if (info > 0)
      s = glab_fail(GLAB_ELINALG, "eigh: the eigenvalue iteration did not converge%s",
                    where_in(wb, sizeof wb, nb, t));
    else if (info == LAPACK_WORK_MEMORY_ERROR)
      s = glab_fail(GLAB_ENOMEM, "eigh: cannot allocate LAPACK's workspace for n = %lld",
                    (long long)n);
    else if (info < 0)
      s = nan_input("eigh");
    else if (v)
      transpose_square(&c, off, n);   /* LAPACK's columns are our rows */
  }
  if (s == GLAB_OK) s = glab_tensor_deliver(w, &ev, "eigh");
  if (s == GLAB_OK && v) s = glab_tensor_deliver(v, &c, "eigh");
  glab_tensor_free(&c);
  glab_tensor_free(&ev);
  return s;
}

/* ---- two-operand solvers --------------------------------------------------------- */

/* A (..., n, n) with B (..., n, k): expand both to the broadcast batch shape.
** *bnd receives the number of batch dims.  A vector B (b->ndim == 1, or
** A's shape without its last dim) becomes a column; *vec says so. */
static glab_status pair_batches(glab_tensor *ae, glab_tensor *be, int *bnd, int *vec,
                                const glab_tensor *a, const glab_tensor *b,
                                int b_rows_dim_is_n, const char *op) {
  char sa[128], sb[128];
  glab_tensor bc = GLAB_TENSOR_EMPTY;
  int is_vec = b->ndim == 1 && a->ndim == 2;
  if (!is_vec && b->ndim == a->ndim - 1) {
    is_vec = 1;
    for (int i = 0; i < b->ndim; i++) is_vec &= b->shape[i] == a->shape[i];
  }
  if (vec) *vec = is_vec;
  else is_vec = 0;
  if (is_vec) glab_tensor_unsqueeze(&bc, b, -1);
  else glab_tensor_share(&bc, b);
  int64_t n = a->shape[a->ndim - 1];
  int fits = bc.ndim >= 2 &&
             (b_rows_dim_is_n ? bc.shape[bc.ndim - 2] : bc.shape[bc.ndim - 1]) == n;
  int64_t bsh[GLAB_MAXDIM];
  glab_status s = GLAB_OK;
  if (!fits ||
      glab_broadcast_shape(bsh, bnd, a->ndim - 2, a->shape, bc.ndim - 2, bc.shape, op) != GLAB_OK)
    s = glab_fail(GLAB_ESHAPE, "%s: A (%s) and B (%s) do not fit together", op,
                  glab_shape_str(sa, sizeof sa, a->ndim, a->shape),
                  glab_shape_str(sb, sizeof sb, b->ndim, b->shape));
  if (s == GLAB_OK) {
    bsh[*bnd] = n;
    bsh[*bnd + 1] = n;
    glab_tensor_expand(ae, a, *bnd + 2, bsh);
    bsh[*bnd] = bc.shape[bc.ndim - 2];
    bsh[*bnd + 1] = bc.shape[bc.ndim - 1];
    glab_tensor_expand(be, &bc, *bnd + 2, bsh);
  }
  glab_tensor_free(&bc);
  return s;
}

/* Deliver res, dropping the column dim that a vector right-hand side got. */
static glab_status deliver_solution(glab_tensor *out, glab_tensor *res, int vec,
                                    const char *op) {
  if (!vec) return glab_tensor_deliver(out, res, op);
  glab_tensor sq = GLAB_TENSOR_EMPTY;
  glab_tensor_squeeze(&sq, res, -1);
  glab_tensor_free(res);
  return glab_tensor_deliver(out, &sq, op);
}

glab_status glab_linalg_solve(glab_tensor *out, const glab_tensor *a,
                              const glab_tensor *b) {
  glab_status s = check_square(a, "solve");
  if (s != GLAB_OK) return s;
  glab_tensor ae = GLAB_TENSOR_EMPTY, be = GLAB_TENSOR_EMPTY;
  glab_tensor lu = GLAB_TENSOR_EMPTY, x = GLAB_TENSOR_EMPTY;
  int bnd, vec;
  glab_dtype dt = (a->dtype == GLAB_F64 || b->dtype == GLAB_F64) ? GLAB_F64 : GLAB_F32;
  lapack_int *piv = NULL;
  int64_t n = a->shape[a->ndim - 1];
  s = pair_batches(&ae, &be, &bnd, &vec, a, b, 1, "solve");
  if (s == GLAB_OK) s = glab_tensor_astype(&lu, &ae, dt);
  if (s == GLAB_OK) s = glab_tensor_astype(&x, &be, dt);
  if (s == GLAB_OK) s = check_finite(&lu, "solve");
  if (s == GLAB_OK && !(piv = malloc((size_t)(n + 1) * sizeof *piv)))
    s = glab_fail(GLAB_ENOMEM, "solve: out of memory");
  int64_t nb = s == GLAB_OK ? batch_count(&lu, 2) : 0;
  int64_t k = s == GLAB_OK ? x.shape[x.ndim - 1] : 0;
  for (int64_t t = 0; t < nb && s == GLAB_OK && n > 0 && k > 0; t++) {
    lapack_int info = dt == GLAB_F64
        ? LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)k,
                        (double *)glab_tensor_data(&lu) + t * n * n, (lapack_int)n, piv,
                        (double *)glab_tensor_data(&x) + t * n * k, (lapack_int)k)
        : LAPACKE_sgesv(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)k,
                        (float *)glab_tensor_data(&lu) + t * n * n, (lapack_int)n, piv,
                        (float *)glab_tensor_data(&x) + t * n * k, (lapack_int)k);
    char wb[64];
    if (info > 0)
      s = glab_fail(GLAB_ELINALG, "solve: matrix is singular (U(%d,%d) is exactly zero)%s",
                    (int)info, (int)info, where_in(wb, sizeof wb, nb, t));
    else if (info < 0)
      s = nan_input("solve");
  }
  if (s == GLAB_OK) s = deliver_solution(out, &x, vec, "solve");
  free(piv);
  glab_tensor_free(&ae); glab_tensor_free(&be);
  glab_tensor_free(&lu); glab_tensor_free(&x);
  return s;
}

/* How trsm reads the triangular matrix at the last two dims of a: as it lies
** (row stride ld), or, for a transposed view, as the transpose of the other
** triangle.  Returns 0 when neither works and a copy is needed. */
static int trsm_view(CBLAS_TRANSPOSE *tr, CBLAS_UPLO *uplo, int64_t *ld,
                     const glab_tensor *a, int upper) {
  int64_t n = a->shape[a->ndim - 1];
  int64_t rs = a->stride[a->ndim - 2], cs = a->stride[a->ndim - 1];
  if (n <= 1) { rs = 1; cs = 1; }
  if (cs == 1 && rs >= n) {
    *tr = CblasNoTrans;
    *uplo = upper ? CblasUpper : CblasLower;
    *ld = rs > 0 ? rs : 1;
    return 1;
  }
  if (rs == 1 && cs >= n) {
    *tr = CblasTrans;
    *uplo = upper ? CblasLower : CblasUpper;
    *ld = cs > 0 ? cs : 1;
    return 1;
  }
  return 0;
}

static glab_status check_diagonal(const glab_tensor *a, int bnd, int64_t t, int64_t nb,
                                  const char *op) {
  int64_t n = a->shape[bnd], base = a->offset + glab_batch_offset(a, bnd, t);
  for (int64_t i = 0; i < n; i++) {
    int64_t at = base + i * (a->stride[bnd] + a->stride[bnd + 1]);
    double d = a->dtype == GLAB_F64 ? ((double *)a->storage->data)[at]
                                    : ((float *)a->storage->data)[at];
    char wb[64];
    if (d == 0)
      return glab_fail(GLAB_ELINALG, "%s: matrix is singular (diagonal element %lld is zero)%s",
                       op, (long long)i + 1, where_in(wb, sizeof wb, nb, t));
  }
  return GLAB_OK;
}

/* One batch of a triangular solve, in place on x. */
typedef struct {
  const glab_tensor *a, *x;
  int bnd;
  int64_t m, k, lda;
  CBLAS_SIDE side;
  CBLAS_UPLO uplo;
  CBLAS_TRANSPOSE tr;
  CBLAS_DIAG diag;
} trsm_batch;

static int trsm_item(void *arg, int64_t t) {
  const trsm_batch *j = arg;
  size_t es = glab_dtype_size(j->x->dtype);
  const char *pa = (const char *)glab_tensor_data(j->a) + glab_batch_offset(j->a, j->bnd, t) * (int64_t)es;
  char *px = (char *)glab_tensor_data(j->x) + t * j->m * j->k * (int64_t)es;
  if (j->x->dtype == GLAB_F64)
    cblas_dtrsm(CblasRowMajor, j->side, j->uplo, j->tr, j->diag, (int)j->m, (int)j->k, 1.0,
                (const double *)pa, (int)j->lda, (double *)px, (int)j->k);
  else
    cblas_strsm(CblasRowMajor, j->side, j->uplo, j->tr, j->diag, (int)j->m, (int)j->k, 1.0f,
                (const float *)pa, (int)j->lda, (float *)px, (int)j->k);
  return 0;
}

static glab_status triangular(glab_tensor *out, const glab_tensor *a, const glab_tensor *b,
                              int upper, int left, int unit, int allow_vec,
                              const char *op) {
  glab_status s = check_square(a, op);
  if (s != GLAB_OK) return s;
  glab_tensor ae = GLAB_TENSOR_EMPTY, be = GLAB_TENSOR_EMPTY;
  glab_tensor ac = GLAB_TENSOR_EMPTY, x = GLAB_TENSOR_EMPTY;
  glab_dtype dt = (a->dtype == GLAB_F64 || b->dtype == GLAB_F64) ? GLAB_F64 : GLAB_F32;
  int bnd = 0, vec = 0;
  CBLAS_TRANSPOSE tr;
  CBLAS_UPLO uplo;
  int64_t lda;
  s = pair_batches(&ae, &be, &bnd, allow_vec ? &vec : NULL, a, b, left, op);
  if (s == GLAB_OK) {
    if (ae.dtype == dt && trsm_view(&tr, &uplo, &lda, &ae, upper)) {
      glab_tensor_share(&ac, &ae);
    } else {
      s = glab_tensor_astype(&ac, &ae, dt);
      if (s == GLAB_OK) trsm_view(&tr, &uplo, &lda, &ac, upper);
    }
  }
  if (s == GLAB_OK) s = glab_tensor_astype(&x, &be, dt);
  if (s != GLAB_OK) goto done;
  int64_t nb = batch_count(&x, 2), m = x.shape[bnd], k = x.shape[bnd + 1];
  trsm_batch j = {&ac, &x, bnd, m, k, lda, left ? CblasLeft : CblasRight, uplo, tr,
                  unit ? CblasUnit : CblasNonUnit};
  for (int64_t t = 0; t < nb && s == GLAB_OK && m > 0 && k > 0 && !unit; t++)
    s = check_diagonal(&ac, bnd, t, nb, op);
  if (s == GLAB_OK && m > 0 && k > 0) {
    int64_t n = ac.shape[bnd];
    glab_blas_pick_threads(n, left ? k : m, n);
    glab_parallel_batches(nb, (double)n * n * (left ? k : m), trsm_item, &j);
  }
  if (s == GLAB_OK) s = deliver_solution(out, &x, vec, op);
done:
  glab_tensor_free(&ae); glab_tensor_free(&be);
  glab_tensor_free(&ac); glab_tensor_free(&x);
  return s;
}

glab_status glab_linalg_solve_triangular(glab_tensor *out, const glab_tensor *a,
                                         const glab_tensor *b, int upper, int left,
                                         int unit) {
  return triangular(out, a, b, upper, left, unit, 0, "solve_triangular");
}

glab_status glab_linalg_cholesky_solve(glab_tensor *out, const glab_tensor *b,
                                       const glab_tensor *l, int upper) {
  glab_tensor y = GLAB_TENSOR_EMPTY, lt = GLAB_TENSOR_EMPTY;
  glab_status s = check_square(l, "cholesky_solve");
  if (s != GLAB_OK) return s;
  /* L L^T X = B: first L Y = B, then L^T X = Y (read through a transposed
  ** view of L, no copy).  For upper, U^T Y = B then U X = Y. */
  glab_tensor_transpose(&lt, l, -1, -2);
  s = upper ? triangular(&y, &lt, b, 0, 1, 0, 1, "cholesky_solve")
            : triangular(&y, l, b, 0, 1, 0, 1, "cholesky_solve");
  if (s == GLAB_OK)
    s = upper ? triangular(out, l, &y, 1, 1, 0, 1, "cholesky_solve")
              : triangular(out, &lt, &y, 1, 1, 0, 1, "cholesky_solve");
  glab_tensor_free(&y);
  glab_tensor_free(&lt);
  return s;
}

/* ---- LU based: slogdet, inv --------------------------------------------------------- */

static lapack_int getrf(glab_tensor *c, int64_t t, int64_t n, lapack_int *piv) {
  if (c->dtype == GLAB_F64)
    return LAPACKE_dgetrf(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)n,
                          (double *)glab_tensor_data(c) + t * n * n, (lapack_int)n, piv);
  return LAPACKE_sgetrf(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)n,
                        (float *)glab_tensor_data(c) + t * n * n, (lapack_int)n, piv);
}

glab_status glab_linalg_slogdet(glab_tensor *sign, glab_tensor *logabs,
                                const glab_tensor *a) {
  glab_status s = check_square(a, "slogdet");
  if (s != GLAB_OK) return s;
  glab_tensor c = GLAB_TENSOR_EMPTY, sg = GLAB_TENSOR_EMPTY, la = GLAB_TENSOR_EMPTY;
  int64_t n = a->shape[a->ndim - 1], nb = batch_count(a, 2);
  lapack_int *piv = malloc((size_t)(n + 1) * sizeof *piv);
  s = piv ? glab_tensor_clone(&c, a) : glab_fail(GLAB_ENOMEM, "slogdet: out of memory");
  if (s == GLAB_OK) s = check_finite(&c, "slogdet");
  if (s == GLAB_OK) s = glab_tensor_new(&sg, a->dtype, a->ndim - 2, a->shape);
  if (s == GLAB_OK) s = glab_tensor_new(&la, a->dtype, a->ndim - 2, a->shape);
  for (int64_t t = 0; t < nb && s == GLAB_OK; t++) {
    lapack_int info = n > 0 ? getrf(&c, t, n, piv) : 0;
    double sgn = 1, acc = 0;
    if (info < 0) { s = nan_input("slogdet"); break; }
    for (int64_t i = 0; i < n; i++) {
      int64_t at = t * n * n + i * n + i;
      double u = c.dtype == GLAB_F64 ? ((double *)glab_tensor_data(&c))[at]
                                     : ((float *)glab_tensor_data(&c))[at];
      if (piv[i] != i + 1) sgn = -sgn;
      if (u < 0) sgn = -sgn;
      acc += log(fabs(u));
    }
    if (info > 0) { sgn = 0; acc = -INFINITY; }
    if (a->dtype == GLAB_F64) {
      ((double *)glab_tensor_data(&sg))[t] = sgn;
      ((double *)glab_tensor_data(&la))[t] = acc;
    } else {
      ((float *)glab_tensor_data(&sg))[t] = (float)sgn;
      ((float *)glab_tensor_data(&la))[t] = (float)acc;
    }
  }
  if (s == GLAB_OK && sign) s = glab_tensor_deliver(sign, &sg, "slogdet");
  if (s == GLAB_OK && logabs) s = glab_tensor_deliver(logabs, &la, "slogdet");
  free(piv);
  glab_tensor_free(&c); glab_tensor_free(&sg); glab_tensor_free(&la);
  return s;
}

glab_status glab_linalg_inv(glab_tensor *out, const glab_tensor *a) {
  glab_status s = check_square(a, "inv");
  if (s != GLAB_OK) return s;
  glab_tensor c = GLAB_TENSOR_EMPTY;
  int64_t n = a->shape[a->ndim - 1], nb = batch_count(a, 2);
  lapack_int *piv = malloc((size_t)(n + 1) * sizeof *piv);
  s = piv ? glab_tensor_clone(&c, a) : glab_fail(GLAB_ENOMEM, "inv: out of memory");
  if (s == GLAB_OK) s = check_finite(&c, "inv");
  for (int64_t t = 0; t < nb && s == GLAB_OK && n > 0; t++) {
    lapack_int info = getrf(&c, t, n, piv);
    char wb[64];
    if (info == 0)
      info = c.dtype == GLAB_F64
          ? LAPACKE_dgetri(LAPACK_ROW_MAJOR, (lapack_int)n, (double *)glab_tensor_data(&c) + t * n * n, (lapack_int)n, piv)
          : LAPACKE_sgetri(LAPACK_ROW_MAJOR, (lapack_int)n, (float *)glab_tensor_data(&c) + t * n * n, (lapack_int)n, piv);
    if (info > 0)
      s = glab_fail(GLAB_ELINALG, "inv: matrix is singular (U(%d,%d) is exactly zero)%s",
                    (int)info, (int)info, where_in(wb, sizeof wb, nb, t));
    else if (info < 0)
      s = nan_input("inv");
  }
  if (s == GLAB_OK) s = glab_tensor_deliver(out, &c, "inv");
  free(piv);
  glab_tensor_free(&c);
  return s;
}

/* ---- SVD based: svd, lstsq ------------------------------------------------------------ */

static glab_status check_matrix(const glab_tensor *a, const char *op) {
  char sh[128];
  if (a->ndim < 2)
    return glab_fail(GLAB_ESHAPE, "%s: expected a matrix or a batch of them, got (%s)", op,
                     glab_shape_str(sh, sizeof sh, a->ndim, a->shape));
  return GLAB_OK;
}

/* Each of the nb contiguous (n x n) matrices of t set to the identity. */
static glab_status set_eye(glab_tensor *t, int64_t nb, int64_t n) {
  glab_status s = glab_tensor_fill(t, 0.0);
  for (int64_t b = 0; s == GLAB_OK && b < nb; b++)
    for (int64_t i = 0; i < n; i++) {
      int64_t at = (b * n + i) * n + i;
      if (t->dtype == GLAB_F64) ((double *)glab_tensor_data(t))[at] = 1;
      else ((float *)glab_tensor_data(t))[at] = 1;
    }
  return s;
}

glab_status glab_linalg_svd(glab_tensor *u, glab_tensor *sv, glab_tensor *vh,
                            const glab_tensor *a, int full) {
  glab_status s = check_matrix(a, "svd");
  if (s != GLAB_OK) return s;
  int nd = a->ndim;
  int64_t m = a->shape[nd - 2], n = a->shape[nd - 1], k = m < n ? m : n;
  int64_t ucols = full ? m : k, vrows = full ? n : k, nb = batch_count(a, 2);
  int64_t sh[GLAB_MAXDIM];
  glab_tensor c = GLAB_TENSOR_EMPTY, tu = GLAB_TENSOR_EMPTY, ts = GLAB_TENSOR_EMPTY,
              tv = GLAB_TENSOR_EMPTY;
  memcpy(sh, a->shape, sizeof sh);
  s = glab_tensor_clone(&c, a);
  if (s == GLAB_OK) s = check_finite(&c, "svd");
  sh[nd - 1] = ucols;
  if (s == GLAB_OK) s = glab_tensor_new(&tu, a->dtype, nd, sh);
  sh[nd - 2] = vrows;
  sh[nd - 1] = n;
  if (s == GLAB_OK) s = glab_tensor_new(&tv, a->dtype, nd, sh);
  sh[nd - 2] = k;
  if (s == GLAB_OK) s = glab_tensor_new(&ts, a->dtype, nd - 1, sh);
  char jobz = full ? 'A' : 'S';
  for (int64_t t = 0; t < nb && s == GLAB_OK && k > 0; t++) {
    lapack_int info = a->dtype == GLAB_F64
        ? LAPACKE_dgesdd(LAPACK_ROW_MAJOR, jobz, (lapack_int)m, (lapack_int)n,
                         (double *)glab_tensor_data(&c) + t * m * n, (lapack_int)n,
                         (double *)glab_tensor_data(&ts) + t * k,
                         (double *)glab_tensor_data(&tu) + t * m * ucols, (lapack_int)ucols,
                         (double *)glab_tensor_data(&tv) + t * vrows * n, (lapack_int)n)
        : sgesdd(jobz, (lapack_int)m, (lapack_int)n, (float *)glab_tensor_data(&c) + t * m * n,
                 (float *)glab_tensor_data(&ts) + t * k,
                 (float *)glab_tensor_data(&tu) + t * m * ucols, (lapack_int)ucols,
                 (float *)glab_tensor_data(&tv) + t * vrows * n);
    char wb[64];
    if (info > 0)
      s = glab_fail(GLAB_ELINALG, "svd: the iteration did not converge%s",
                    where_in(wb, sizeof wb, nb, t));
    else if (info == LAPACK_WORK_MEMORY_ERROR)
      s = glab_fail(GLAB_ENOMEM, "svd: cannot allocate LAPACK's workspace");
    else if (info < 0)
      s = nan_input("svd");
  }
  if (s == GLAB_OK && k == 0 && full) {     /* no singular values: U and Vh are I (numpy) */
    s = set_eye(&tu, nb, m);
    if (s == GLAB_OK) s = set_eye(&tv, nb, n);
  }
  if (s == GLAB_OK && u) s = glab_tensor_deliver(u, &tu, "svd");
  if (s == GLAB_OK && sv) s = glab_tensor_deliver(sv, &ts, "svd");
  if (s == GLAB_OK && vh) s = glab_tensor_deliver(vh, &tv, "svd");
  glab_tensor_free(&c); glab_tensor_free(&tu);
  glab_tensor_free(&ts); glab_tensor_free(&tv);
  return s;
}

glab_status glab_linalg_lstsq(glab_tensor *out, const glab_tensor *a,
                              const glab_tensor *b) {
  glab_status s = check_matrix(a, "lstsq");
  if (s != GLAB_OK) return s;
  char sa[128], sb[128];
  int vec = b->ndim == a->ndim - 1;
  int64_t m = a->shape[a->ndim - 2], n = a->shape[a->ndim - 1];
  int same = (vec || b->ndim == a->ndim) && b->shape[a->ndim - 2] == m;
  for (int i = 0; same && i < a->ndim - 2; i++) same = b->shape[i] == a->shape[i];
  if (!same)
    return glab_fail(GLAB_ESHAPE, "lstsq: A (%s) and B (%s) do not fit together",
                     glab_shape_str(sa, sizeof sa, a->ndim, a->shape),
                     glab_shape_str(sb, sizeof sb, b->ndim, b->shape));
  glab_tensor c = GLAB_TENSOR_EMPTY, bb = GLAB_TENSOR_EMPTY, x = GLAB_TENSOR_EMPTY,
              bc = GLAB_TENSOR_EMPTY, top = GLAB_TENSOR_EMPTY, sv = GLAB_TENSOR_EMPTY;
  glab_dtype dt = (a->dtype == GLAB_F64 || b->dtype == GLAB_F64) ? GLAB_F64 : GLAB_F32;
  int64_t sh[GLAB_MAXDIM], nb = batch_count(a, 2), rows = m > n ? m : n, kmin = m < n ? m : n;
  if (vec) glab_tensor_unsqueeze(&bc, b, -1);
  else glab_tensor_share(&bc, b);
  int64_t k = bc.shape[bc.ndim - 1];
  memcpy(sh, bc.shape, sizeof sh);
  sh[a->ndim - 2] = rows;
  s = glab_tensor_astype(&c, a, dt);
  if (s == GLAB_OK) s = check_finite(&c, "lstsq");
  if (s == GLAB_OK) s = glab_tensor_full(&bb, dt, a->ndim, sh, 0.0);
  if (s == GLAB_OK) s = glab_tensor_new(&sv, dt, 1, &kmin);
  if (s == GLAB_OK) {
    glab_tensor_narrow(&top, &bb, -2, 0, m);
    glab_tensor_copy(&top, &bc);
    glab_tensor_free(&top);
  }
  for (int64_t t = 0; t < nb && s == GLAB_OK && kmin > 0 && k > 0; t++) {
    lapack_int rank, info = dt == GLAB_F64
        ? LAPACKE_dgelsd(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)n, (lapack_int)k,
                         (double *)glab_tensor_data(&c) + t * m * n, (lapack_int)n,
                         (double *)glab_tensor_data(&bb) + t * rows * k, (lapack_int)k,
                         glab_tensor_data(&sv), -1.0, &rank)
        : LAPACKE_sgelsd(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)n, (lapack_int)k,
                         (float *)glab_tensor_data(&c) + t * m * n, (lapack_int)n,
                         (float *)glab_tensor_data(&bb) + t * rows * k, (lapack_int)k,
                         glab_tensor_data(&sv), -1.0f, &rank);
    if (info > 0) s = glab_fail(GLAB_ELINALG, "lstsq: the SVD did not converge");
    else if (info < 0) s = nan_input("lstsq");
  }
  if (s == GLAB_OK) {
    glab_tensor_narrow(&top, &bb, -2, 0, n);
    s = glab_tensor_clone(&x, &top);
  }
  if (s == GLAB_OK) s = deliver_solution(out, &x, vec, "lstsq");
  glab_tensor_free(&c); glab_tensor_free(&bb); glab_tensor_free(&x);
  glab_tensor_free(&bc); glab_tensor_free(&top); glab_tensor_free(&sv);
  return s;
}

/* ---- one matrix in place ------------------------------------------------------------- */

/* LAPACK is column-major: a row-major lower triangle is a column-major upper
** one (the matrix transposed), so both ask for 'U'. */
int glab_linalg_potrf_lower(glab_dtype dt, int n, void *a) {
  return dt == GLAB_F64 ? LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', n, a, n)
                        : LAPACKE_spotrf_work(LAPACK_COL_MAJOR, 'U', n, a, n);
}

void glab_linalg_lower_gram(glab_dtype dt, int n, void *a) {
  if (dt == GLAB_F64) LAPACKE_dlauum_work(LAPACK_COL_MAJOR, 'U', n, a, n);
  else LAPACKE_slauum_work(LAPACK_COL_MAJOR, 'U', n, a, n);
}
