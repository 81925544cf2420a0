/*
** ppca.c -- probabilistic PCA: the closed-form MLE, the log-density by
** Woodbury and the determinant lemma, and the posterior mean (see ppca.h).
**
** Per block of B points the work is one GEMM (B x m times m x d, the
** projection R W) and one or two triangular solves with the d x d factor
** LM; nothing is m x m except S in the fit, which the eigendecomposition
** needs.
*/
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "../tensor/linalg.h"
#include "gmm.h"
#include "ppca.h"
#include "rows.h"

#define BLOCK 1024

/* ---- argument checks ------------------------------------------------------------ */

/* X (N, m), W (m, d), mean (m), LM (d, d), one dtype. */
static glab_status check_model(const glab_tensor *X, const glab_tensor *W,
                               const glab_tensor *mean, const glab_tensor *LM, const char *op) {
  char a[128], b[128], c[128], e[128];
  if (X->ndim != 2 || W->ndim != 2 || mean->ndim != 1 || LM->ndim != 2 ||
      W->shape[0] != X->shape[1] || mean->shape[0] != X->shape[1] || LM->shape[0] != W->shape[1] ||
      LM->shape[1] != W->shape[1] || W->shape[1] < 1)
    return glab_fail(GLAB_ESHAPE, "%s: points (%s), W (%s), mean (%s), LM (%s): expected (N, m), "
                     "(m, d), (m), (d, d)", op, glab_shape_str(a, sizeof a, X->ndim, X->shape),
                     glab_shape_str(b, sizeof b, W->ndim, W->shape),
                     glab_shape_str(c, sizeof c, mean->ndim, mean->shape),
                     glab_shape_str(e, sizeof e, LM->ndim, LM->shape));
  if (W->dtype != X->dtype || mean->dtype != X->dtype || LM->dtype != X->dtype)
    return glab_fail(GLAB_EDTYPE, "%s: W, mean and LM must have the points' dtype (%s)", op,
                     glab_dtype_name(X->dtype));
  return GLAB_OK;
}

/* ---- the projection ------------------------------------------------------------- */

/* V (n x d) := (X_b - mean) W, then V := V LM^-T, so that row i is
** (LM^-1 W^T r_i)^T; R (n x m) keeps the centred rows. */
static void project(glab_dtype dt, void *V, void *R, const void *Xb, const void *mu,
                    const void *W, const void *LM, int64_t n, int64_t m, int64_t d) {
  center_rows(dt, R, Xb, mu, NULL, n, m);
  if (dt == GLAB_F64) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)m, 1.0, R, (int)m,
                W, (int)d, 0.0, V, (int)d);
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)n, (int)d,
                1.0, LM, (int)d, V, (int)d);
  } else {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)m, 1.0f, R,
                (int)m, W, (int)d, 0.0f, V, (int)d);
    cblas_strsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)n, (int)d,
                1.0f, LM, (int)d, V, (int)d);
  }
}

/* 2 sum log diag LM, or a status when the factor is not positive. */
static glab_status logdet_M(double *out, glab_dtype dt, const void *LM, int64_t d, const char *op) {
  double acc = 0;
  for (int64_t i = 0; i < d; i++) {
    double v = elem(dt, LM, i * d + i);
    if (!(v > 0))
      return glab_fail(GLAB_ELINALG, "%s: LM has diagonal entry %lld = %g (must be > 0)", op,
                       (long long)i + 1, v);
    acc += log(v);
  }
  *out = 2 * acc;
  return GLAB_OK;
}

/* Workspace for blocks of rows: R (BLOCK x m), V (BLOCK x d), two norms. */
typedef struct {
  char *R, *V;
  double *rr, *vv;
} work;

static glab_status work_new(work *w, glab_dtype dt, int64_t m, int64_t d, const char *op) {
  size_t es = esize(dt);
  w->R = malloc((size_t)BLOCK * m * es);
  w->V = malloc((size_t)BLOCK * d * es);
  w->rr = malloc(BLOCK * sizeof(double));
  w->vv = malloc(BLOCK * sizeof(double));
  if (w->R && w->V && w->rr && w->vv) return GLAB_OK;
  return glab_fail(GLAB_ENOMEM, "%s: cannot allocate the workspace", op);
}

static void work_free(work *w) {
  free(w->R);
  free(w->V);
  free(w->rr);
  free(w->vv);
}

/* ---- log density and posterior ---------------------------------------------------- */

glab_status glab_ppca_log_prob(glab_tensor *out, const glab_tensor *X, const glab_tensor *W,
                               const glab_tensor *mean, const glab_tensor *LM, double sigma2) {
  const char *op = "ppca.log_prob";
  glab_status s = check_model(X, W, mean, LM, op);
  if (s != GLAB_OK) return s;
  if (!(sigma2 > 0) || !isfinite(sigma2))
    return glab_fail(GLAB_EARG, "%s: sigma2 must be finite and > 0, got %g", op, sigma2);
  glab_dtype dt = X->dtype;
  int64_t N = X->shape[0], m = X->shape[1], d = W->shape[1];
  if ((s = glab_tensor_prepare(out, dt, 1, &N, op)) != GLAB_OK) return s;
  inputs in = {.n = 0};
  const void *x, *w, *mu, *lm;
  work wk = {0};
  double ld = 0;
  if ((s = take(&in, X, &x)) != GLAB_OK || (s = take(&in, W, &w)) != GLAB_OK ||
      (s = take(&in, mean, &mu)) != GLAB_OK || (s = take(&in, LM, &lm)) != GLAB_OK ||
      (s = logdet_M(&ld, dt, lm, d, op)) != GLAB_OK || (s = work_new(&wk, dt, m, d, op)) != GLAB_OK)
    goto done;
  double c = -0.5 * (m * LOG_2PI + (double)(m - d) * log(sigma2) + ld);
  size_t es = esize(dt);
  for (int64_t r0 = 0; r0 < N; r0 += BLOCK) {
    int64_t n = N - r0 < BLOCK ? N - r0 : BLOCK;
    project(dt, wk.V, wk.R, (const char *)x + r0 * m * es, mu, w, lm, n, m, d);
    row_sqnorms(dt, wk.rr, wk.R, n, m);
    row_sqnorms(dt, wk.vv, wk.V, n, d);
    for (int64_t i = 0; i < n; i++)   /* r^T C^-1 r = (|r|^2 - |LM^-1 W^T r|^2) / sigma2 */
      set_elem(dt, glab_tensor_data(out), (r0 + i) * out->stride[0],
               c - 0.5 * (wk.rr[i] - wk.vv[i]) / sigma2);
  }
done:
  work_free(&wk);
  release(&in);
  return s;
}

glab_status glab_ppca_posterior(glab_tensor *Z, const glab_tensor *X, const glab_tensor *W,
                                const glab_tensor *mean, const glab_tensor *LM) {
  const char *op = "ppca.posterior";
  glab_status s = check_model(X, W, mean, LM, op);
  if (s != GLAB_OK) return s;
  glab_dtype dt = X->dtype;
  int64_t N = X->shape[0], m = X->shape[1], d = W->shape[1], shape[2] = {N, d};
  glab_tensor res = GLAB_TENSOR_EMPTY;
  if ((s = glab_tensor_new(&res, dt, 2, shape)) != GLAB_OK) return s;
  inputs in = {.n = 0};
  const void *x, *w, *mu, *lm;
  work wk = {0};
  if ((s = take(&in, X, &x)) != GLAB_OK || (s = take(&in, W, &w)) != GLAB_OK ||
      (s = take(&in, mean, &mu)) != GLAB_OK || (s = take(&in, LM, &lm)) != GLAB_OK ||
      (s = work_new(&wk, dt, m, d, op)) != GLAB_OK)
    goto done;
  size_t es = esize(dt);
  for (int64_t r0 = 0; r0 < N; r0 += BLOCK) {
    int64_t n = N - r0 < BLOCK ? N - r0 : BLOCK;
    char *zb = (char *)glab_tensor_data(&res) + r0 * d * es;
    project(dt, zb, wk.R, (const char *)x + r0 * m * es, mu, w, lm, n, m, d);
    if (dt == GLAB_F64)   /* row i: (LM^-T LM^-1 W^T r_i)^T = (M^-1 W^T r_i)^T */
      cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, (int)n,
                  (int)d, 1.0, lm, (int)d, (double *)zb, (int)d);
    else
      cblas_strsm(CblasRowMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, (int)n,
                  (int)d, 1.0f, lm, (int)d, (float *)zb, (int)d);
  }
  s = glab_tensor_deliver(Z, &res, op);
done:
  glab_tensor_free(&res);
  work_free(&wk);
  release(&in);
  return s;
}

/* ---- the closed-form fit --------------------------------------------------------- */

/* Eigenvalues of S above lam1 max(N, m) eps, numpy's matrix_rank rule. */
static int64_t rank_of(glab_dtype dt, const void *w, int64_t m, int64_t N) {
  double lam1 = elem(dt, w, m - 1), eps = dt == GLAB_F64 ? DBL_EPSILON : FLT_EPSILON;
  double tol = lam1 * (double)(N > m ? N : m) * eps;
  int64_t r = 0;
  for (int64_t j = 0; j < m; j++) r += elem(dt, w, j) > tol;
  return r;
}

/* From eigh's ascending w (m) and V (m, m): eigvals descending, sigma2 and
** W (m, d) = U_d (Lambda_d - sigma2 I)^(1/2). */
static void mle_from_eigh(glab_dtype dt, void *Wd, void *lam, double *sigma2, const void *w,
                          const void *V, int64_t m, int64_t d) {
  double rest = 0;
  for (int64_t j = d; j < m; j++) {
    double l = elem(dt, w, m - 1 - j);
    rest += l > 0 ? l : 0;
  }
  *sigma2 = rest / (double)(m - d);
  for (int64_t j = 0; j < m; j++) set_elem(dt, lam, j, elem(dt, w, m - 1 - j));
  for (int64_t j = 0; j < d; j++) {
    double g = elem(dt, w, m - 1 - j) - *sigma2, sc = g > 0 ? sqrt(g) : 0;
    for (int64_t i = 0; i < m; i++) set_elem(dt, Wd, i * d + j, sc * elem(dt, V, i * m + (m - 1 - j)));
  }
}

static glab_status check_fit(const glab_tensor *X, int64_t d, const char *op) {
  char sh[128];
  if (X->ndim != 2 || X->shape[0] < 2)
    return glab_fail(GLAB_ESHAPE, "%s: points must be (N, m) with N >= 2, got (%s)", op,
                     glab_shape_str(sh, sizeof sh, X->ndim, X->shape));
  if (d <= 0 || d >= X->shape[1])
    return glab_fail(GLAB_EARG, "%s: the latent dimension d must satisfy 0 < d < m = %lld, got %lld",
                     op, (long long)X->shape[1], (long long)d);
  return GLAB_OK;
}

glab_status glab_ppca_fit(glab_tensor *W, glab_tensor *mean, glab_tensor *eigvals,
                          double *sigma2, int64_t *rank, const glab_tensor *X, int64_t d) {
  const char *op = "ppca.fit";
  glab_status s = check_fit(X, d, op);
  if (s != GLAB_OK) return s;
  glab_dtype dt = X->dtype;
  int64_t N = X->shape[0], m = X->shape[1], wshape[2] = {m, d};
  glab_tensor lw = GLAB_TENSOR_EMPTY, mu = GLAB_TENSOR_EMPTY, S = GLAB_TENSOR_EMPTY,
              ev = GLAB_TENSOR_EMPTY, V = GLAB_TENSOR_EMPTY, Wr = GLAB_TENSOR_EMPTY,
              lam = GLAB_TENSOR_EMPTY, mu1 = GLAB_TENSOR_EMPTY, mu1c = GLAB_TENSOR_EMPTY;
  inputs in = {.n = 0};
  const void *w, *v;
  if ((s = glab_gmm_mstep(&lw, &mu, &S, X, NULL, 0)) != GLAB_OK ||   /* mean (1, m), S (1, m, m) */
      (s = glab_linalg_eigh(&ev, &V, &S)) != GLAB_OK || (s = take(&in, &ev, &w)) != GLAB_OK ||
      (s = take(&in, &V, &v)) != GLAB_OK)
    goto done;
  *rank = rank_of(dt, w, m, N);
  if (d >= *rank) {
    s = glab_fail(GLAB_EARG, "%s: d = %lld is at or above the rank %lld of the covariance (%lld "
                  "points in %lld dimensions): sigma^2 would be 0; take d < %lld", op, (long long)d,
                  (long long)*rank, (long long)N, (long long)m, (long long)*rank);
    goto done;
  }
  if ((s = glab_tensor_new(&Wr, dt, 2, wshape)) != GLAB_OK ||
      (s = glab_tensor_new(&lam, dt, 1, &m)) != GLAB_OK)
    goto done;
  mle_from_eigh(dt, glab_tensor_data(&Wr), glab_tensor_data(&lam), sigma2, w, v, m, d);
  if ((s = glab_tensor_select(&mu1, &mu, 0, 0)) != GLAB_OK ||
      (s = glab_tensor_contiguous(&mu1c, &mu1)) != GLAB_OK ||
      (s = glab_tensor_deliver(W, &Wr, op)) != GLAB_OK ||
      (s = glab_tensor_deliver(eigvals, &lam, op)) != GLAB_OK)
    goto done;
  s = glab_tensor_deliver(mean, &mu1c, op);
done:
  release(&in);
  glab_tensor *tmp[] = {&lw, &mu, &S, &ev, &V, &Wr, &lam, &mu1, &mu1c};
  for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) glab_tensor_free(tmp[i]);
  return s;
}
