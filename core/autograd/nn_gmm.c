/*
** nn_gmm.c -- the log-density of a Gaussian mixture in PS1 1.1e's
** parameterisation, one recorded operation with a closed-form gradient:
**
**     log q(x) = logsumexp_k [log softmax(w)_k + log N(x | mu_k, Sigma_k)],
**     Sigma_k = A_k A_k^T + eps I.
**
** Composed from the autograd ops (batched Cholesky, triangular solve,
** logsumexp) the same function records a dozen nodes and their copies; here
** each component is one thread's work from start to end, BLAS and LAPACK
** on blocks that stay in cache, and the components run side by side.
**
** Forward, per component (L_k L_k^T = Sigma_k, P_k = L_k^-1, d_n = x_n - mu_k):
**     Sigma_k by syrk, L_k by potrf, P_k by trsm against I (d^3 / 3 each, syrk d^3);
**     z_n = P_k d_n by trmm (B d^2), log N = -(|z_n|^2 + log|Sigma_k| + d log 2 pi) / 2;
**     when a gradient is wanted, y_n = P_k^T z_n = Sigma_k^-1 d_n (trmm, B d^2).
** Backward, for output gradients g_n and responsibilities r_nk (w_n = g_n r_nk):
**     d w_k    = sum_n w_n - pi_k sum_n g_n
**     d mu_k   = sum_n w_n y_n                                   (gemv)
**     d Sigma_k = (M_k - W_k Sigma_k^-1) / 2, M_k = sum_n w_n y_n y_n^T (syrk, B d^2),
**                 W_k = sum_n w_n, Sigma_k^-1 = P_k^T P_k (lauum, d^3 / 3)
**     d A_k    = 2 d Sigma_k A_k                                  (symm, 2 d^3)
**     d x_n    = -sum_k w_nk y_nk.
** About 4 d^3 + 3 B d^2 flops a component and step, against the 6 d^3 +
** 4 B d^2 of the composed ops.
*/
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../models/rows.h"
#include "../tensor/linalg.h"
#include "../tensor/ops.h"
#include "../tensor/parallel.h"
#include "nn.h"
#include "node.h"

/* ---- typed BLAS on row-major (n x n) lower triangles (LAPACK through linalg.h) ---------- */

/* C := A A^T (n x n lower, from A n x n) plus eps on the diagonal. */
static void sigma_of(glab_dtype dt, int n, const void *A, double eps, void *C) {
  if (dt == GLAB_F64) {
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, n, n, 1.0, A, n, 0.0, C, n);
    for (int i = 0; i < n; i++) ((double *)C)[i * n + i] += eps;
  } else {
    cblas_ssyrk(CblasRowMajor, CblasLower, CblasNoTrans, n, n, 1.0f, A, n, 0.0f, C, n);
    for (int i = 0; i < n; i++) ((float *)C)[i * n + i] += (float)eps;
  }
}

/* The lower triangle of C becomes L (C = L L^T) and P := L^-1, by a
** triangular solve against I (twice trtri's speed here); *logdet = log det C.
** Returns LAPACK's info. */
static int factor_invert(glab_dtype dt, int n, void *C, void *P, double *logdet) {
  int info;
  double acc = 0;
  size_t es = glab_dtype_size(dt);
  memset(P, 0, (size_t)n * n * es);
  if (dt == GLAB_F64) {
    double *c = C, *p = P;
    if ((info = glab_linalg_potrf_lower(dt, n, c)) != 0) return info;
    for (int i = 0; i < n; i++) acc += log(c[i * n + i]), p[i * n + i] = 1;
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, n, n, 1.0, c,
                n, p, n);
  } else {
    float *c = C, *p = P;
    if ((info = glab_linalg_potrf_lower(dt, n, c)) != 0) return info;
    for (int i = 0; i < n; i++) acc += log((double)c[i * n + i]), p[i * n + i] = 1;
    cblas_strsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, n, n, 1.0f, c,
                n, p, n);
  }
  *logdet = 2 * acc;
  return 0;
}

/* T (m x n) := diag(c) Y. */
static void scale_rows(glab_dtype dt, void *T, const void *Y, const double *c, int64_t m,
                       int64_t n) {
  size_t es = glab_dtype_size(dt);
  for (int64_t i = 0; i < m; i++)
    scale_row(dt, (char *)T + i * n * es, (const char *)Y + i * n * es, c[i], n);
}

/* ---- forward ----------------------------------------------------------------------------- */

typedef struct {
  glab_dtype dt;
  int64_t B, d, K, next, failed;   /* failed: lowest component whose factor failed, or K */
  double eps;
  int want_y;
  const void *x, *mu, *A;
  void *P, *Y;                     /* (K, d, d) factors; (K, B, d) whitened, then Sigma^-1 d */
  double *lp, *logdet;             /* (B, K) log N(x_n | k); (K) */
  char *work;                      /* per thread (fwd_share): B doubles, d x d elements */
} fwd_job;

/* Bytes of one thread's workspace, doubles first, rounded to a cache line so
** that every thread's doubles are aligned and no two threads share a line. */
static size_t share(size_t bytes) { return (bytes + 63) & ~(size_t)63; }

static size_t fwd_share(glab_dtype dt, int64_t B, int64_t d) {
  return share((size_t)B * sizeof(double) + (size_t)(d * d) * glab_dtype_size(dt));
}

static size_t bwd_share(glab_dtype dt, int64_t B, int64_t d) {
  return share((size_t)B * sizeof(double) + (size_t)(B * d + d * d) * glab_dtype_size(dt));
}

static void fwd_work(void *arg, int t, int nt) {
  (void)nt;
  fwd_job *j = arg;
  glab_dtype dt = j->dt;
  int64_t B = j->B, d = j->d, K = j->K;
  size_t es = glab_dtype_size(dt);
  double *sq = (double *)(j->work + (size_t)t * fwd_share(dt, B, d));
  char *S = (char *)(sq + B);
  for (;;) {
    int64_t k = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
    if (k >= K) break;
    char *P = (char *)j->P + k * d * d * es, *Y = (char *)j->Y + k * B * d * es;
    sigma_of(dt, (int)d, (const char *)j->A + k * d * d * es, j->eps, S);
    if (factor_invert(dt, (int)d, S, P, &j->logdet[k]) != 0) {
      int64_t f = __atomic_load_n(&j->failed, __ATOMIC_RELAXED);
      while (k < f && !__atomic_compare_exchange_n(&j->failed, &f, k, 0, __ATOMIC_RELAXED,
                                                   __ATOMIC_RELAXED)) {}
      continue;
    }
    center_rows(dt, Y, j->x, (const char *)j->mu + k * d * es, NULL, B, d);
    tri_rows(dt, B, d, Y, P, 1);                               /* z = P (x - mu) */
    row_sqnorms(dt, sq, Y, B, d);
    double c = -0.5 * (j->logdet[k] + (double)d * LOG_2PI);
    for (int64_t n = 0; n < B; n++) j->lp[n * K + k] = c - 0.5 * sq[n];
    if (j->want_y) tri_rows(dt, B, d, Y, P, 0);                /* y = P^T z */
  }
}

/* ---- backward ------------------------------------------------------------------------------- */

typedef struct {
  glab_dtype dt;
  int64_t B, d, K, next;
  const double *g, *r, *pi;        /* (B), (B, K), (K) */
  double gsum;
  const void *A, *P, *Y;
  void *dmu, *dA;                  /* (K, d), (K, d, d) or NULL */
  double *dw;                      /* (K) or NULL */
  char *work;                      /* per thread (bwd_share): B doubles, B x d and d x d elements */
} bwd_job;

static void bwd_work(void *arg, int t, int nt) {
  (void)nt;
  bwd_job *j = arg;
  glab_dtype dt = j->dt;
  int64_t B = j->B, d = j->d, K = j->K;
  size_t es = glab_dtype_size(dt);
  double *w = (double *)(j->work + (size_t)t * bwd_share(dt, B, d));
  char *T = (char *)(w + B), *S = T + B * d * es;
  for (;;) {
    int64_t k = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
    if (k >= K) break;
    const char *Y = (const char *)j->Y + k * B * d * es, *P = (const char *)j->P + k * d * d * es;
    double W = 0;
    int pos = 0, neg = 0;
    for (int64_t n = 0; n < B; n++) {
      w[n] = j->g[n] * j->r[n * K + k];
      W += w[n];
      pos |= w[n] > 0, neg |= w[n] < 0;
    }
    if (j->dw) j->dw[k] = W - j->pi[k] * j->gsum;
    if (j->dmu) {                                              /* Y^T w */
      char *dmu = (char *)j->dmu + k * d * es;
      if (dt == GLAB_F64) {
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)B, (int)d, 1.0, (const void *)Y, (int)d, w, 1, 0.0,
                    (void *)dmu, 1);
      } else {
        float *wf = (float *)T;
        for (int64_t n = 0; n < B; n++) wf[n] = (float)w[n];
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)B, (int)d, 1.0f, (const void *)Y, (int)d, wf, 1,
                    0.0f, (void *)dmu, 1);
      }
    }
    if (!j->dA) continue;
    /* S := Sigma^-1 = P^T P, then S := M - W S with M = Y^T diag(w) Y; all lower */
    memcpy(S, P, d * d * es);
    glab_linalg_lower_gram(dt, (int)d, S);
    if (!(pos && neg)) {              /* one sign: syrk on the rows sqrt|w_n| y_n */
      for (int64_t n = 0; n < B; n++) w[n] = sqrt(fabs(w[n]));
      scale_rows(dt, T, Y, w, B, d);
      double sg = neg ? -1.0 : 1.0;
      if (dt == GLAB_F64)
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)B, sg, (void *)T, (int)d,
                    -W, (void *)S, (int)d);
      else
        cblas_ssyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)B, (float)sg, (void *)T,
                    (int)d, (float)-W, (void *)S, (int)d);
    } else {
      scale_rows(dt, T, Y, w, B, d);
      /* the full product; its lower half is what symm reads */
      glab_gemm(dt, 1, 0, d, d, B, 1.0, T, d, Y, d, -W, S, d);
    }
    char *dA = (char *)j->dA + k * d * d * es;                 /* (M - W Sigma^-1) A */
    if (dt == GLAB_F64)
      cblas_dsymm(CblasRowMajor, CblasLeft, CblasLower, (int)d, (int)d, 1.0, (void *)S, (int)d,
                  (const double *)j->A + k * d * d, (int)d, 0.0, (void *)dA, (int)d);
    else
      cblas_ssymm(CblasRowMajor, CblasLeft, CblasLower, (int)d, (int)d, 1.0f, (void *)S, (int)d,
                  (const float *)j->A + k * d * d, (int)d, 0.0f, (void *)dA, (int)d);
  }
}

/* saved: r (B, K) and pi (K) float64, P (K, d, d), Y (K, B, d), A (K, d, d). */
static glab_status gmm_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *r = &n->saved[0], *pi = &n->saved[1], *P = &n->saved[2],
                    *Y = &n->saved[3], *A = &n->saved[4];
  glab_dtype dt = P->dtype;
  int64_t K = P->shape[0], d = P->shape[1], B = Y->shape[1];
  glab_tensor g = GLAB_TENSOR_EMPTY, g64 = GLAB_TENSOR_EMPTY, dw = GLAB_TENSOR_EMPTY;
  int nt = glab_get_num_threads();
  bwd_job j = {.dt = dt, .B = B, .d = d, .K = K, .r = glab_tensor_data(r),
               .pi = glab_tensor_data(pi), .A = glab_tensor_data(A), .P = glab_tensor_data(P),
               .Y = glab_tensor_data(Y)};
  glab_status s;
  TRY(glab_tensor_astype(&g, &n->grad[0], GLAB_F64));
  TRY(glab_tensor_contiguous(&g64, &g));
  j.g = glab_tensor_data(&g64);
  for (int64_t i = 0; i < B; i++) j.gsum += j.g[i];
  if (glab_node_needs(n, 1)) {
    TRY(glab_tensor_new(&dw, GLAB_F64, 1, &K));
    j.dw = glab_tensor_data(&dw);
  }
  if (glab_node_needs(n, 2)) {
    int64_t sh[2] = {K, d};
    TRY(glab_tensor_new(&gin[2], dt, 2, sh));
    j.dmu = glab_tensor_data(&gin[2]);
  }
  if (glab_node_needs(n, 3)) {
    TRY(glab_tensor_new(&gin[3], dt, 3, A->shape));
    j.dA = glab_tensor_data(&gin[3]);
  }
  if (!(j.work = malloc((size_t)nt * bwd_share(dt, B, d)))) {
    s = glab_fail(GLAB_ENOMEM, "gmm_log_density: cannot allocate the backward workspace");
    goto done;
  }
  glab_parallel(nt, bwd_work, &j);
  free(j.work);
  if (j.dw) TRY(glab_tensor_astype(&gin[1], &dw, dt));
  if (glab_node_needs(n, 0)) {                                 /* d x_n = -sum_k w_nk y_nk */
    int64_t sh[2] = {B, d};
    TRY(glab_tensor_full(&gin[0], dt, 2, sh, 0.0));
    for (int64_t k = 0; k < K; k++)
      for (int64_t i = 0; i < B; i++) {
        double c = -j.g[i] * j.r[i * K + k];
        if (dt == GLAB_F64)
          cblas_daxpy((int)d, c, (const double *)j.Y + (k * B + i) * d, 1,
                      (double *)glab_tensor_data(&gin[0]) + i * d, 1);
        else
          cblas_saxpy((int)d, (float)c, (const float *)j.Y + (k * B + i) * d, 1,
                      (float *)glab_tensor_data(&gin[0]) + i * d, 1);
      }
  }
done:
  glab_tensor_free(&g);
  glab_tensor_free(&g64);
  glab_tensor_free(&dw);
  return s;
}

/* ---- the operation ---------------------------------------------------------------------------- */

static glab_status check_args(const glab_tensor *x, const glab_tensor *w, const glab_tensor *mu,
                              const glab_tensor *A, double eps) {
  char a[96], b[96], c[96], e[96];
  int64_t K = w->ndim == 1 ? w->shape[0] : -1, d = x->ndim == 2 ? x->shape[1] : -1;
  if (K < 1 || d < 1 || mu->ndim != 2 || mu->shape[0] != K || mu->shape[1] != d ||
      A->ndim != 3 || A->shape[0] != K || A->shape[1] != d || A->shape[2] != d)
    return glab_fail(GLAB_ESHAPE, "gmm_log_density: x (%s), logits (%s), means (%s), A (%s): "
                     "expected (B, d), (K), (K, d), (K, d, d)",
                     glab_shape_str(a, sizeof a, x->ndim, x->shape),
                     glab_shape_str(b, sizeof b, w->ndim, w->shape),
                     glab_shape_str(c, sizeof c, mu->ndim, mu->shape),
                     glab_shape_str(e, sizeof e, A->ndim, A->shape));
  if (w->dtype != x->dtype || mu->dtype != x->dtype || A->dtype != x->dtype)
    return glab_fail(GLAB_EDTYPE, "gmm_log_density: x, logits, means and A must share a dtype "
                     "(%s, %s, %s, %s)", glab_dtype_name(x->dtype), glab_dtype_name(w->dtype),
                     glab_dtype_name(mu->dtype), glab_dtype_name(A->dtype));
  if (d > 46340 || x->shape[0] * d > INT32_MAX)
    return glab_fail(GLAB_ESHAPE, "gmm_log_density: x (%s) is too large for one call",
                     glab_shape_str(a, sizeof a, x->ndim, x->shape));
  if (!(eps >= 0 && eps < INFINITY))
    return glab_fail(GLAB_EARG, "gmm_log_density: eps must be finite and >= 0, got %g", eps);
  return GLAB_OK;
}

/* log softmax of the logits into pi_log (K doubles). */
static void log_softmax(double *out, const glab_tensor *w) {
  int64_t K = w->shape[0];
  double mx = -INFINITY, acc = 0;
  for (int64_t k = 0; k < K; k++) mx = fmax(mx, glab_tensor_flat_get(w, k));
  for (int64_t k = 0; k < K; k++) acc += exp(glab_tensor_flat_get(w, k) - mx);
  for (int64_t k = 0; k < K; k++) out[k] = glab_tensor_flat_get(w, k) - mx - log(acc);
}

glab_status glab_nn_gmm_log_density(glab_var *out, const glab_var *x, const glab_var *logits,
                                    const glab_var *means, const glab_var *A, double eps) {
  glab_status s = check_args(&x->t, &logits->t, &means->t, &A->t, eps);
  if (s != GLAB_OK) return s;
  glab_dtype dt = x->t.dtype;
  int64_t B = x->t.shape[0], d = x->t.shape[1], K = logits->t.shape[0];
  const glab_var *in[4] = {x, logits, means, A};
  int want = glab_grad_enabled() && (glab_var_requires_grad(x) || glab_var_requires_grad(logits) ||
                                     glab_var_requires_grad(means) || glab_var_requires_grad(A));
  glab_tensor xc = GLAB_TENSOR_EMPTY, mc = GLAB_TENSOR_EMPTY, Ac = GLAB_TENSOR_EMPTY;
  glab_tensor P = GLAB_TENSOR_EMPTY, Y = GLAB_TENSOR_EMPTY, lp = GLAB_TENSOR_EMPTY;
  glab_tensor pi = GLAB_TENSOR_EMPTY, res = GLAB_TENSOR_EMPTY;
  double *logdet = malloc((size_t)K * sizeof *logdet);
  if (!logdet) return glab_fail(GLAB_ENOMEM, "gmm_log_density: out of memory");
  int64_t psh[3] = {K, d, d}, ysh[3] = {K, B, d}, lsh[2] = {B, K};
  TRY(glab_tensor_contiguous(&xc, &x->t));
  TRY(glab_tensor_contiguous(&mc, &means->t));
  TRY(glab_tensor_contiguous(&Ac, &A->t));
  TRY(glab_tensor_new(&P, dt, 3, psh));
  TRY(glab_tensor_new(&Y, dt, 3, ysh));
  TRY(glab_tensor_new(&lp, GLAB_F64, 2, lsh));
  TRY(glab_tensor_new(&pi, GLAB_F64, 1, &K));
  fwd_job j = {.dt = dt, .B = B, .d = d, .K = K, .failed = K, .eps = eps, .want_y = want,
               .x = glab_tensor_data(&xc), .mu = glab_tensor_data(&mc),
               .A = glab_tensor_data(&Ac), .P = glab_tensor_data(&P), .Y = glab_tensor_data(&Y),
               .lp = glab_tensor_data(&lp), .logdet = logdet};
  int nt = glab_get_num_threads();
  if (!(j.work = malloc((size_t)nt * fwd_share(dt, B, d)))) {
    s = glab_fail(GLAB_ENOMEM, "gmm_log_density: cannot allocate the workspace");
    goto done;
  }
  glab_parallel(nt, fwd_work, &j);
  free(j.work);
  if (j.failed < K) {
    s = glab_fail(GLAB_ELINALG, "gmm_log_density: Sigma = A A^T + eps I of component %lld is "
                  "not positive definite (eps = %g)", (long long)j.failed + 1, eps);
    goto done;
  }
  /* log q_n = logsumexp_k (log pi_k + lp_nk); lp becomes the responsibilities */
  double *lpi = glab_tensor_data(&pi), *l = glab_tensor_data(&lp);
  log_softmax(lpi, &logits->t);
  TRY(glab_tensor_new(&res, dt, 1, &B));
  for (int64_t n = 0; n < B; n++) {
    double mx = -INFINITY, acc = 0;
    for (int64_t k = 0; k < K; k++) mx = fmax(mx, l[n * K + k] += lpi[k]);
    for (int64_t k = 0; k < K; k++) acc += exp(l[n * K + k] - mx);
    double lse = mx + log(acc);
    if (dt == GLAB_F64) ((double *)glab_tensor_data(&res))[n] = lse;
    else ((float *)glab_tensor_data(&res))[n] = (float)lse;
    for (int64_t k = 0; k < K; k++) l[n * K + k] = exp(l[n * K + k] - lse);
  }
  for (int64_t k = 0; k < K; k++) lpi[k] = exp(lpi[k]);
  glab_tensor_move(&out->t, &res);
  if (want) {
    glab_node *nd;
    TRY(glab_node_record(&nd, out, "gmm_log_density", gmm_backward, 4, in, &lp, &pi, &P));
    if (nd) {
      glab_node_save(nd, 3, &Y);
      glab_node_save(nd, 4, &Ac);
    }
  }
done:
  free(logdet);
  glab_tensor_free(&xc);
  glab_tensor_free(&mc);
  glab_tensor_free(&Ac);
  glab_tensor_free(&P);
  glab_tensor_free(&Y);
  glab_tensor_free(&lp);
  glab_tensor_free(&pi);
  glab_tensor_free(&res);
  return s;
}
