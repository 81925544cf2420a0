/*
** gmm.c -- mixture log-densities, the EM M step, k-means, the Wiener
** filters of given components and the score d log q / dx (see gmm.h).
**
** The heavy work is BLAS-3: per block of B points and per component, one
** trsm for the Mahalanobis terms (E step) and one syrk for the scatter
** matrix (M step), each of d^2 B flops.  The elementwise parts (centring,
** row norms) read float32 or float64 through small typed helpers and
** accumulate in double.
*/
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../tensor/iter.h"
#include "../tensor/linalg.h"
#include "../tensor/ops.h"
#include "../tensor/fastmath.h"
#include "../tensor/parallel.h"
#include "gmm.h"
#include "rows.h"

/* Rows of X per block: 1 MiB of points, which a core keeps in its own cache
** between the centring, the BLAS call and the row norms (at K = 64, d = 256,
** float64, 4 MiB blocks made the E step 15% slower). */
static int64_t block_rows(int64_t d, glab_dtype dt) {
  int64_t rows = ((int64_t)1 << 20) / (d * (int64_t)esize(dt));
  return rows < 64 ? 64 : rows > 4096 ? 4096 : rows;
}

/* ---- argument checks ------------------------------------------------------------ */

static glab_status check_matrix(const glab_tensor *X, const char *op) {
  char sh[128];
  if (X->ndim != 2)
    return glab_fail(GLAB_ESHAPE, "%s: points must be (N, d), got (%s)", op,
                     glab_shape_str(sh, sizeof sh, X->ndim, X->shape));
  if (X->shape[0] < 1 || X->shape[1] < 1)
    return glab_fail(GLAB_ESHAPE, "%s: no points in (%s)", op,
                     glab_shape_str(sh, sizeof sh, X->ndim, X->shape));
  return GLAB_OK;
}

static glab_status check_dtype(const glab_tensor *t, glab_dtype dt, const char *what,
                               const char *op) {
  if (t->dtype != dt)
    return glab_fail(GLAB_EDTYPE, "%s: %s is %s but the points are %s", op, what,
                     glab_dtype_name(t->dtype), glab_dtype_name(dt));
  return GLAB_OK;
}

/* log_weights (K), means (K, d), chol (K, d, d) against X (N, d). */
static glab_status check_mixture(const glab_tensor *X, const glab_tensor *lw,
                                 const glab_tensor *mu, const glab_tensor *L, const char *op) {
  char a[128], b[128], c[128], e[128];
  glab_status s = check_matrix(X, op);
  if (s != GLAB_OK) return s;
  int64_t d = X->shape[1], K = lw->ndim == 1 ? lw->shape[0] : -1;
  if (K < 1 || mu->ndim != 2 || mu->shape[0] != K || mu->shape[1] != d || L->ndim != 3 ||
      L->shape[0] != K || L->shape[1] != d || L->shape[2] != d)
    return glab_fail(GLAB_ESHAPE,
                     "%s: points (%s), log weights (%s), means (%s), Cholesky factors (%s): "
                     "expected (N, d), (K), (K, d), (K, d, d)", op,
                     glab_shape_str(a, sizeof a, X->ndim, X->shape),
                     glab_shape_str(b, sizeof b, lw->ndim, lw->shape),
                     glab_shape_str(c, sizeof c, mu->ndim, mu->shape),
                     glab_shape_str(e, sizeof e, L->ndim, L->shape));
  if ((s = check_dtype(lw, X->dtype, "log_weights", op)) != GLAB_OK ||
      (s = check_dtype(mu, X->dtype, "means", op)) != GLAB_OK)
    return s;
  return check_dtype(L, X->dtype, "chol", op);
}

/* ---- log density ------------------------------------------------------------------ */

/* 2 sum log diag L_k for each component; fails on a diagonal entry <= 0. */
static glab_status log_dets(double *out, glab_dtype dt, const void *L, int64_t K, int64_t d,
                            const char *op) {
  for (int64_t k = 0; k < K; k++) {
    double acc = 0;
    for (int64_t i = 0; i < d; i++) {
      double v = elem(dt, L, (k * d + i) * d + i);
      if (!(v > 0))
        return glab_fail(GLAB_ELINALG,
                         "%s: Cholesky factor of component %lld has diagonal entry "
                         "%lld = %g (must be > 0)", op, (long long)k + 1, (long long)i + 1, v);
      acc += log(v);
    }
    out[k] = 2 * acc;
  }
  return GLAB_OK;
}

/* P_k = L_k^-1 by the batched triangular solve against I.  The E step then
** costs one GEMM per component and block of points, which runs at twice
** trsm's speed for these shapes (measured: 5.7 s against 2.9 s per pass at
** K = 64, d = 256, N = 100000, float32). */
glab_status glab_gmm_whitening(glab_tensor *P, const glab_tensor *chol) {
  int64_t d = chol->shape[1];
  glab_tensor eye = GLAB_TENSOR_EMPTY, eyes = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_eye(&eye, chol->dtype, d, d);
  if (s == GLAB_OK) s = glab_tensor_expand(&eyes, &eye, 3, chol->shape);
  if (s == GLAB_OK) s = glab_linalg_solve_triangular(P, chol, &eyes, 0, 1, 0);
  glab_tensor_free(&eyes);
  glab_tensor_free(&eye);
  return s;
}

glab_status glab_gmm_prepare(const glab_tensor *X, const glab_tensor *log_weights,
                             const glab_tensor *means, const glab_tensor *chol, double *logdet,
                             glab_tensor *P, const char *op) {
  glab_status s = check_mixture(X, log_weights, means, chol, op);
  if (s != GLAB_OK) return s;
  inputs in = {.n = 0};
  const void *L;
  if ((s = take(&in, chol, &L)) == GLAB_OK &&
      (s = log_dets(logdet, X->dtype, L, chol->shape[0], chol->shape[1], op)) == GLAB_OK)
    s = glab_gmm_whitening(P, chol);
  release(&in);
  return s;
}

/* The E-step pass: threads take blocks of rows in turn, and for each block
** visit every component, so the block stays in cache and the rows of out
** that a thread writes are its own. */
typedef struct {
  glab_dtype dt;
  int64_t N, d, K, rows, ost0, ost1, next;
  const void *x, *lw, *mu, *P;   /* P: the inverse factors, (K, d, d) */
  const double *logdet;
  char *work;                 /* per thread: rows x d elements, then rows doubles */
  void *out;
  double *part;               /* E step: per block, sum of log q(x_n); NULL: log-densities */
} lp_job;

/* Each of the n rows of K log-densities at lp (contiguous) becomes the
** responsibilities exp(lp_k - lse) with lse = log sum_k exp(lp_k), computed
** as exp(lp_k - max) / sum; the sum is in double and in order.  Returns the
** block's sum of lse. */
GLAB_MULTIVERSION
static double normalise_f32(float *lp, int64_t n, int64_t K) {
  double total = 0;
  for (int64_t i = 0; i < n; i++, lp += K) {
    float m = lp[0];
    for (int64_t k = 1; k < K; k++) m = lp[k] > m ? lp[k] : m;
    for (int64_t k = 0; k < K; k++) lp[k] = glab_expf(lp[k] - m);
    double sum = 0;
    for (int64_t k = 0; k < K; k++) sum += lp[k];
    float inv = (float)(1 / sum);
    for (int64_t k = 0; k < K; k++) lp[k] *= inv;
    total += m + log(sum);
  }
  return total;
}

static double normalise_f64(double *lp, int64_t n, int64_t K) {
  double total = 0;
  for (int64_t i = 0; i < n; i++, lp += K) {
    double m = lp[0], sum = 0;
    for (int64_t k = 1; k < K; k++) m = lp[k] > m ? lp[k] : m;
    for (int64_t k = 0; k < K; k++) sum += lp[k] = exp(lp[k] - m);
    for (int64_t k = 0; k < K; k++) lp[k] /= sum;
    total += m + log(sum);
  }
  return total;
}

static void lp_work(void *arg, int t, int nt) {
  lp_job *j = arg;
  glab_dtype dt = j->dt;
  int64_t d = j->d;
  size_t es = esize(dt);
  char *W = j->work + (size_t)t * j->rows * (d * es + sizeof(double));
  double *maha = (double *)(W + (size_t)j->rows * d * es);
  for (;;) {
    int64_t r0 = __atomic_fetch_add(&j->next, j->rows, __ATOMIC_RELAXED);
    if (r0 >= j->N) break;
    int64_t n = j->N - r0 < j->rows ? j->N - r0 : j->rows;
    const char *xb = (const char *)j->x + r0 * d * es;
    for (int64_t k = 0; k < j->K; k++) {
      center_rows(dt, W, xb, (const char *)j->mu + k * d * es, NULL, n, d);
      tri_rows(dt, n, d, W, (const char *)j->P + k * d * d * es, 1);
      row_sqnorms(dt, maha, W, n, d);
      double c = elem(dt, j->lw, k) - 0.5 * (d * LOG_2PI + j->logdet[k]);
      for (int64_t i = 0; i < n; i++)
        set_elem(dt, j->out, (r0 + i) * j->ost0 + k * j->ost1, c - 0.5 * maha[i]);
    }
    if (j->part) {                    /* out is contiguous: the block's rows are in cache */
      char *lp = (char *)j->out + r0 * j->K * es;
      j->part[r0 / j->rows] = dt == GLAB_F64 ? normalise_f64((double *)lp, n, j->K)
                                             : normalise_f32((float *)lp, n, j->K);
    }
  }
}

/* The pass over X: log-densities into out, or with loglik the E step, whose
** responsibilities replace them block by block and whose mean log q(x_n)
** lands in *loglik (the blocks' sums added in order: the same bits for any
** number of threads). */
static glab_status lp_pass(glab_tensor *out, double *loglik, const glab_tensor *X,
                           const glab_tensor *log_weights, const glab_tensor *means,
                           const glab_tensor *chol, const char *op) {
  glab_status s = check_mixture(X, log_weights, means, chol, op);
  if (s != GLAB_OK) return s;
  glab_dtype dt = X->dtype;
  int64_t N = X->shape[0], d = X->shape[1], K = means->shape[0];
  int64_t oshape[2] = {N, K};
  if ((s = glab_tensor_prepare(out, dt, 2, oshape, op)) != GLAB_OK) return s;
  if (loglik && !glab_tensor_is_contiguous(out))
    return glab_fail(GLAB_EARG, "%s: the responsibilities must be contiguous", op);
  int nt = glab_get_num_threads();
  inputs in = {.n = 0};
  lp_job j = {.dt = dt, .N = N, .d = d, .K = K, .rows = block_rows(d, dt), .ost0 = out->stride[0],
              .ost1 = out->stride[1], .out = glab_tensor_data(out)};
  int64_t blocks = (N + j.rows - 1) / j.rows;
  glab_tensor P = GLAB_TENSOR_EMPTY;
  double *logdet = malloc(K * sizeof *logdet);
  j.work = malloc((size_t)nt * j.rows * (d * esize(dt) + sizeof(double)));
  if (loglik) j.part = malloc(blocks * sizeof *j.part);
  if (!logdet || !j.work || (loglik && !j.part)) {
    s = glab_fail(GLAB_ENOMEM, "%s: cannot allocate the workspace", op);
    goto done;
  }
  if ((s = take(&in, X, &j.x)) != GLAB_OK || (s = take(&in, log_weights, &j.lw)) != GLAB_OK ||
      (s = take(&in, means, &j.mu)) != GLAB_OK ||
      (s = glab_gmm_prepare(X, log_weights, means, chol, logdet, &P, op)) != GLAB_OK)
    goto done;
  j.logdet = logdet;
  j.P = glab_tensor_data(&P);
  glab_parallel(nt, lp_work, &j);
  if (loglik) {
    double total = 0;
    for (int64_t b = 0; b < blocks; b++) total += j.part[b];
    *loglik = total / N;
  }
done:
  release(&in);
  free(logdet);
  glab_tensor_free(&P);
  free(j.work);
  free(j.part);
  return s;
}

glab_status glab_gmm_log_prob(glab_tensor *out, const glab_tensor *X,
                              const glab_tensor *log_weights, const glab_tensor *means,
                              const glab_tensor *chol) {
  return lp_pass(out, NULL, X, log_weights, means, chol, "gmm.log_prob");
}

glab_status glab_gmm_estep(glab_tensor *resp, double *loglik, const glab_tensor *X,
                           const glab_tensor *log_weights, const glab_tensor *means,
                           const glab_tensor *chol) {
  return lp_pass(resp, loglik, X, log_weights, means, chol, "gmm.estep");
}

/* ---- M step ------------------------------------------------------------------------ */

static glab_status check_resp(const glab_tensor *X, const glab_tensor *resp) {
  char a[128], b[128];
  if (resp->ndim != 2 || resp->shape[0] != X->shape[0] || resp->shape[1] < 1)
    return glab_fail(GLAB_ESHAPE, "gmm.mstep: responsibilities (%s) do not fit points (%s): "
                     "expected (N, K)", glab_shape_str(a, sizeof a, resp->ndim, resp->shape),
                     glab_shape_str(b, sizeof b, X->ndim, X->shape));
  return check_dtype(resp, X->dtype, "resp", "gmm.mstep");
}

/* N_k = sum_n r_nk (plus a tiny floor, so that an empty component divides by
** something) and mu_k = sum_n r_nk x_n / N_k. */
static void weighted_means(glab_dtype dt, double *Nk, void *mu, const void *x, const void *r,
                           int64_t N, int64_t d, int64_t K) {
  for (int64_t k = 0; k < K; k++) Nk[k] = 0;
  for (int64_t i = 0; i < N; i++)
    for (int64_t k = 0; k < K; k++) Nk[k] += r ? elem(dt, r, i * K + k) : 1.0;
  for (int64_t k = 0; k < K; k++) Nk[k] += 10 * 2.220446049250313e-16;   /* as scikit-learn */
  if (r) {
    glab_gemm(dt, 1, 0, K, d, N, 1.0, r, K, x, d, 0.0, mu, d);
  } else {
    memset(mu, 0, d * esize(dt));
    for (int64_t i = 0; i < N; i++)
      for (int64_t j = 0; j < d; j++)
        set_elem(dt, mu, j, elem(dt, mu, j) + elem(dt, x, i * d + j));
  }
  for (int64_t k = 0; k < K; k++)
    for (int64_t j = 0; j < d; j++)
      set_elem(dt, mu, k * d + j, elem(dt, mu, k * d + j) / Nk[k]);
}

/* C (lower triangle) := alpha W^T W + beta C for W (n x d).  Runs in
** glab_parallel. */
static void syrk_rows(glab_dtype dt, int64_t n, int64_t d, double alpha, const void *W,
                      double beta, void *C) {
  if (dt == GLAB_F64)
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)n, alpha, W, (int)d, beta,
                C, (int)d);
  else
    cblas_ssyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)n, (float)alpha, W, (int)d,
                (float)beta, C, (int)d);
}

/* Sigma_k = (S_k + prior I) / N_k from the scatter S_k in C's lower triangle. */
static void finish_cov(glab_dtype dt, void *C, int64_t d, double Nk, double prior) {
  for (int64_t i = 0; i < d; i++) {
    for (int64_t j = 0; j < i; j++) {
      double v = elem(dt, C, i * d + j) / Nk;
      set_elem(dt, C, i * d + j, v);
      set_elem(dt, C, j * d + i, v);
    }
    set_elem(dt, C, i * d + i, (elem(dt, C, i * d + i) + prior) / Nk);
  }
}

/* The scatter matrices: threads take groups of up to GROUP components in
** turn and accumulate each over all points into its own Sigma_k; one pass
** over X serves the whole group (each pass streams X from memory: at K = 64,
** d = 256, float64, passes of one component made a seventh of the M step).
** Points whose responsibility is exactly 0 (an exp that underflowed:
** mixtures of separated clusters give most of them) add nothing and are
** skipped; the others are gathered as sqrt(r) (x - mu) into a block of rows
** per component, one syrk each time a block fills. */
#define GROUP 4

typedef struct {
  glab_dtype dt;
  int64_t N, d, K, rows, group, next;
  const void *x, *r, *mu;
  char *work;                 /* per thread: group blocks of rows x d elements */
  void *cov;
} sc_job;

static void sc_work(void *arg, int t, int nt) {
  sc_job *j = arg;
  glab_dtype dt = j->dt;
  int64_t N = j->N, d = j->d, K = j->K, rows = j->rows;
  size_t es = esize(dt), block = (size_t)rows * d * es;
  char *W = j->work + (size_t)t * j->group * block;
  for (;;) {
    int64_t k0 = __atomic_fetch_add(&j->next, j->group, __ATOMIC_RELAXED);
    if (k0 >= K) break;
    int g = (int)(K - k0 < j->group ? K - k0 : j->group);
    int64_t m[GROUP] = {0}, blocks[GROUP] = {0};
    for (int64_t i = 0; i <= N; i++) {
      const char *x = (const char *)j->x + i * d * es;
      for (int c = 0; c < g; c++) {
        int64_t k = k0 + c;
        char *Wc = W + c * block;
        double r = i == N ? 0 : j->r ? elem(dt, j->r, i * K + k) : 1.0;
        if (r > 0) {
          double sr = sqrt(r);
          center_rows(dt, Wc + m[c] * d * es, x, (const char *)j->mu + k * d * es, &sr, 1, d);
          m[c]++;
        }
        if (m[c] == rows || (i == N && (m[c] > 0 || blocks[c] == 0))) {
          syrk_rows(dt, m[c], d, 1.0, Wc, blocks[c] ? 1.0 : 0.0,
                    (char *)j->cov + k * d * d * es);
          m[c] = 0, blocks[c]++;
        }
      }
    }
  }
}

glab_status glab_gmm_mstep(glab_tensor *log_weights, glab_tensor *means, glab_tensor *covs,
                           const glab_tensor *X, const glab_tensor *resp, double prior) {
  glab_status s = check_matrix(X, "gmm.mstep");
  if (s != GLAB_OK || (resp && (s = check_resp(X, resp)) != GLAB_OK)) return s;
  if (!(prior >= 0 && prior < INFINITY))
    return glab_fail(GLAB_EARG, "gmm.mstep: prior must be finite and >= 0, got %g", prior);
  glab_dtype dt = X->dtype;
  int64_t N = X->shape[0], d = X->shape[1], K = resp ? resp->shape[1] : 1;
  int64_t shw[1] = {K}, shm[2] = {K, d}, shc[3] = {K, d, d};
  if ((s = glab_tensor_prepare(log_weights, dt, 1, shw, "gmm.mstep")) != GLAB_OK ||
      (s = glab_tensor_prepare(means, dt, 2, shm, "gmm.mstep")) != GLAB_OK ||
      (s = glab_tensor_prepare(covs, dt, 3, shc, "gmm.mstep")) != GLAB_OK)
    return s;
  if (!glab_tensor_is_contiguous(log_weights) || !glab_tensor_is_contiguous(means) ||
      !glab_tensor_is_contiguous(covs))
    return glab_fail(GLAB_EARG, "gmm.mstep: outputs must be contiguous");
  int nt = glab_get_num_threads();
  inputs in = {.n = 0};
  sc_job j = {.dt = dt, .N = N, .d = d, .K = K, .rows = block_rows(d, dt),
              .group = K / nt < 1 ? 1 : K / nt > GROUP ? GROUP : K / nt,
              .cov = glab_tensor_data(covs)};
  double *Nk = malloc(K * sizeof *Nk);
  j.work = malloc((size_t)nt * j.group * j.rows * d * esize(dt));
  if (!Nk || !j.work) {
    s = glab_fail(GLAB_ENOMEM, "gmm.mstep: cannot allocate the workspace");
    goto done;
  }
  if ((s = take(&in, X, &j.x)) != GLAB_OK || (resp && (s = take(&in, resp, &j.r)) != GLAB_OK))
    goto done;
  void *mu = glab_tensor_data(means);
  j.mu = mu;
  weighted_means(dt, Nk, mu, j.x, j.r, N, d, K);
  glab_parallel(nt, sc_work, &j);
  for (int64_t k = 0; k < K; k++) {
    finish_cov(dt, (char *)j.cov + k * d * d * esize(dt), d, Nk[k], prior);
    set_elem(dt, glab_tensor_data(log_weights), k, log(Nk[k] / N));
  }
done:
  release(&in);
  free(Nk);
  free(j.work);
  return s;
}

/* ---- k-means ----------------------------------------------------------------------- */

static glab_status check_centers(const glab_tensor *X, const glab_tensor *C, const char *op) {
  char a[128], b[128];
  glab_status s = check_matrix(X, op);
  if (s != GLAB_OK) return s;
  if (C->ndim != 2 || C->shape[1] != X->shape[1] || C->shape[0] < 1)
    return glab_fail(GLAB_ESHAPE, "%s: centres (%s) do not fit points (%s): expected (K, d)",
                     op, glab_shape_str(a, sizeof a, C->ndim, C->shape),
                     glab_shape_str(b, sizeof b, X->ndim, X->shape));
  return check_dtype(C, X->dtype, "centers", op);
}

/* |x_i - c_k|^2 = |x_i|^2 - 2 x_i.c_k + |c_k|^2: one GEMM per block of points,
** then the smallest per row (ties go to the lower index). */
static void nearest(glab_dtype dt, double *lab, double *dist, const void *x, const void *c,
                    void *G, const double *cn, int64_t N, int64_t d, int64_t K) {
  double xn[256];
  for (int64_t r0 = 0; r0 < N; r0 += 256) {
    int64_t n = N - r0 < 256 ? N - r0 : 256;
    const char *xb = (const char *)x + r0 * d * esize(dt);
    glab_gemm(dt, 0, 1, n, K, d, -2.0, xb, d, c, d, 0.0, G, K);
    row_sqnorms(dt, xn, xb, n, d);
    for (int64_t i = 0; i < n; i++) {
      int64_t best = 0;
      double bv = INFINITY;
      for (int64_t k = 0; k < K; k++) {
        double v = elem(dt, G, i * K + k) + cn[k];
        if (v < bv) { bv = v; best = k; }
      }
      lab[r0 + i] = (double)best;
      double dd = bv + xn[i];
      dist[r0 + i] = dd > 0 ? dd : 0;
    }
  }
}

glab_status glab_kmeans_assign(glab_tensor *labels, glab_tensor *dist2, const glab_tensor *X,
                               const glab_tensor *centers) {
  glab_status s = check_centers(X, centers, "kmeans");
  if (s != GLAB_OK) return s;
  glab_dtype dt = X->dtype;
  int64_t N = X->shape[0], d = X->shape[1], K = centers->shape[0];
  if ((s = glab_tensor_prepare(labels, GLAB_F64, 1, &N, "kmeans")) != GLAB_OK ||
      (s = glab_tensor_prepare(dist2, GLAB_F64, 1, &N, "kmeans")) != GLAB_OK)
    return s;
  if (!glab_tensor_is_contiguous(labels) || !glab_tensor_is_contiguous(dist2))
    return glab_fail(GLAB_EARG, "kmeans: outputs must be contiguous");
  inputs in = {.n = 0};
  const void *x, *c;
  double *cn = malloc(K * sizeof *cn);
  void *G = malloc((size_t)256 * K * esize(dt));
  if (!cn || !G) {
    s = glab_fail(GLAB_ENOMEM, "kmeans: cannot allocate the workspace");
    goto done;
  }
  if ((s = take(&in, X, &x)) != GLAB_OK || (s = take(&in, centers, &c)) != GLAB_OK) goto done;
  row_sqnorms(dt, cn, c, K, d);
  nearest(dt, glab_tensor_data(labels), glab_tensor_data(dist2), x, c, G, cn, N, d, K);
done:
  release(&in);
  free(cn);
  free(G);
  return s;
}

glab_status glab_kmeans_update(glab_tensor *centers, glab_tensor *counts, const glab_tensor *X,
                               const glab_tensor *labels) {
  glab_status s = check_centers(X, centers, "kmeans");
  if (s != GLAB_OK) return s;
  int64_t N = X->shape[0], d = X->shape[1], K = centers->shape[0];
  if (labels->ndim != 1 || labels->shape[0] != N)
    return glab_fail(GLAB_ESHAPE, "kmeans: expected %lld labels", (long long)N);
  if ((s = glab_tensor_prepare(counts, GLAB_F64, 1, &K, "kmeans")) != GLAB_OK) return s;
  if (!glab_tensor_is_contiguous(centers) || !glab_tensor_is_contiguous(counts))
    return glab_fail(GLAB_EARG, "kmeans: outputs must be contiguous");
  glab_dtype dt = X->dtype;
  inputs in = {.n = 0};
  const void *x, *lab;
  double *sum = calloc((size_t)K * d, sizeof *sum), *cnt = glab_tensor_data(counts);
  if (!sum) return glab_fail(GLAB_ENOMEM, "kmeans: cannot allocate the workspace");
  if ((s = take(&in, X, &x)) != GLAB_OK || (s = take(&in, labels, &lab)) != GLAB_OK) goto done;
  for (int64_t k = 0; k < K; k++) cnt[k] = 0;
  for (int64_t i = 0; i < N; i++) {
    double l = elem(labels->dtype, lab, i);
    if (!(l >= 0 && l < K)) {
      s = glab_fail(GLAB_EINDEX, "kmeans: label %g of point %lld is outside 0..%lld", l,
                    (long long)i + 1, (long long)K - 1);
      goto done;
    }
    int64_t k = (int64_t)l;
    cnt[k] += 1;
    for (int64_t j = 0; j < d; j++) sum[k * d + j] += elem(dt, x, i * d + j);
  }
  void *c = glab_tensor_data(centers);
  glab_tensor_bump(centers);
  for (int64_t k = 0; k < K; k++)
    if (cnt[k] > 0)
      for (int64_t j = 0; j < d; j++) set_elem(dt, c, k * d + j, sum[k * d + j] / cnt[k]);
done:
  release(&in);
  free(sum);
  return s;
}

/* The first index i with cum[i] > u (cum non-decreasing, n > 0), or n.  With
** cum the running sums of w, that is the linear scan "acc += w[i]; u < acc". */
static int64_t first_above(const double *cum, int64_t n, double u) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (cum[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/* Index drawn with probability w_i / sum(w), from the running sums cum of w. */
static int64_t draw(glab_rng *rng, const double *w, const double *cum, int64_t n) {
  int64_t i = first_above(cum, n, glab_rng_uniform(rng) * cum[n - 1]);
  if (i < n) return i;
  for (i = n - 1; i >= 0; i--)
    if (w[i] > 0) return i;
  return (int64_t)(glab_rng_uniform(rng) * n);  /* all points coincide */
}

/* cd[j ldc + i] = |x_i - c_j|^2 for n rows x of d and the m candidates c_j:
** the difference in the points' type T, its squares summed in double in
** eight lanes as row_sqnorms sums them, so the distances are the bits the
** one-candidate-at-a-time pass gave.  One body for float and double. */
#define CAND_DISTS(name, T)                                                                   \
  GLAB_MULTIVERSION static void name(double *cd, int64_t ldc, const T *x, const T *const *c,  \
                                     int m, int64_t n, int64_t d) {                           \
    int64_t d8 = d & ~(int64_t)7;                                                             \
    for (int64_t i = 0; i < n; i++, x += d)                                                   \
      for (int j = 0; j < m; j++) {                                                           \
        const T *cj = c[j];                                                                   \
        double acc[8] = {0}, tail = 0;                                                        \
        for (int64_t e = 0; e < d8; e += 8)                                                   \
          for (int l = 0; l < 8; l++) {                                                       \
            T w = x[e + l] - cj[e + l];                                                       \
            acc[l] += (double)w * w;                                                          \
          }                                                                                   \
        for (int64_t e = d8; e < d; e++) {                                                    \
          T w = x[e] - cj[e];                                                                 \
          tail += (double)w * w;                                                              \
        }                                                                                     \
        cd[j * ldc + i] = ((acc[0] + acc[4]) + (acc[1] + acc[5])) +                           \
                          ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;                     \
      }                                                                                       \
  }
CAND_DISTS(cand_dists_f32, float)
CAND_DISTS(cand_dists_f64, double)

/* One round of the seeding: the distances of every point to the m candidates
** (cd, m x N) and, given dist (each point's distance to its nearest centre so
** far), each candidate's potential sum_i min(cd, dist) by blocks of rows
** (part, blocks x m), which the caller adds in block order: the same sums
** however many threads ran. */
#define SEED_ROWS 1024
#define SEED_TRIALS 48                  /* 2 + log K for any K < 2^63 */

typedef struct {
  glab_dtype dt;
  int64_t N, d, next;
  int m;
  const void *x, *cand[SEED_TRIALS];    /* the candidates are rows of x */
  const double *dist;                   /* NULL: no potentials */
  double *cd, *part;
} seed_job;

static void seed_work(void *arg, int t, int nt) {
  seed_job *j = arg;
  (void)t, (void)nt;
  for (;;) {
    int64_t b = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED), r0 = b * SEED_ROWS;
    if (r0 >= j->N) break;
    int64_t n = j->N - r0 < SEED_ROWS ? j->N - r0 : SEED_ROWS;
    if (j->dt == GLAB_F64)
      cand_dists_f64(j->cd + r0, j->N, (const double *)j->x + r0 * j->d,
                     (const double *const *)j->cand, j->m, n, j->d);
    else
      cand_dists_f32(j->cd + r0, j->N, (const float *)j->x + r0 * j->d,
                     (const float *const *)j->cand, j->m, n, j->d);
    if (!j->dist) continue;
    for (int c = 0; c < j->m; c++) {
      const double *cd = j->cd + c * j->N + r0, *dist = j->dist + r0;
      double pot = 0;
      for (int64_t i = 0; i < n; i++) pot += cd[i] < dist[i] ? cd[i] : dist[i];
      j->part[b * j->m + c] = pot;
    }
  }
}

/* The greedy variant (as scikit-learn's): each centre after the first is
** the best of 2 + log K candidates drawn by D^2 weighting, the one that
** lowers the sum of squared distances most; plain k-means++ too often puts
** two seeds in one cluster, from which Lloyd's iterations cannot escape.
** A round draws its candidates from the running sums of D^2 (a binary
** search), then measures all of them in one threaded pass over the points. */
glab_status glab_kmeans_init(glab_tensor *centers, const glab_tensor *X, int64_t K,
                             glab_rng *rng) {
  glab_status s = check_matrix(X, "kmeans");
  if (s != GLAB_OK) return s;
  int64_t N = X->shape[0], d = X->shape[1], shape[2] = {K, d};
  if (K < 1 || K > N)
    return glab_fail(GLAB_EARG, "kmeans: K = %lld must be between 1 and the %lld points",
                     (long long)K, (long long)N);
  if ((s = glab_tensor_prepare(centers, X->dtype, 2, shape, "kmeans")) != GLAB_OK) return s;
  if (!glab_tensor_is_contiguous(centers))
    return glab_fail(GLAB_EARG, "kmeans: outputs must be contiguous");
  int trials = 2 + (int)log((double)K);
  int64_t blocks = (N + SEED_ROWS - 1) / SEED_ROWS;
  seed_job j = {.dt = X->dtype, .N = N, .d = d};
  inputs in = {.n = 0};
  double *dist = malloc(N * sizeof *dist), *cum = malloc(N * sizeof *cum);
  j.cd = malloc((size_t)trials * N * sizeof *j.cd);
  j.part = malloc((size_t)blocks * trials * sizeof *j.part);
  if (!dist || !cum || !j.cd || !j.part) {
    s = glab_fail(GLAB_ENOMEM, "kmeans: cannot allocate the workspace");
    goto done;
  }
  if ((s = take(&in, X, &j.x)) != GLAB_OK) goto done;
  char *c = glab_tensor_data(centers);
  size_t row = d * esize(j.dt);
  int nt = glab_get_num_threads();
  j.m = 1;
  j.cand[0] = (const char *)j.x + (int64_t)(glab_rng_uniform(rng) * N) * row;
  memcpy(c, j.cand[0], row);
  glab_parallel(nt, seed_work, &j);
  memcpy(dist, j.cd, N * sizeof *dist);
  j.dist = dist;
  j.m = trials;
  for (int64_t k = 1; k < K; k++) {
    double acc = 0;
    for (int64_t i = 0; i < N; i++) cum[i] = acc += dist[i];
    int64_t pick[SEED_TRIALS];
    for (int tr = 0; tr < trials; tr++) {
      pick[tr] = draw(rng, dist, cum, N);
      j.cand[tr] = (const char *)j.x + pick[tr] * row;
    }
    j.next = 0;
    glab_parallel(nt, seed_work, &j);
    int best = 0;
    double best_pot = INFINITY;
    for (int tr = 0; tr < trials; tr++) {
      double pot = 0;
      for (int64_t b = 0; b < blocks; b++) pot += j.part[b * trials + tr];
      if (pot < best_pot) best_pot = pot, best = tr;
    }
    memcpy(c + k * row, j.cand[best], row);
    const double *bd = j.cd + best * N;
    for (int64_t i = 0; i < N; i++)
      if (bd[i] < dist[i]) dist[i] = bd[i];
  }
done:
  release(&in);
  free(dist);
  free(cum);
  free(j.cd);
  free(j.part);
  return s;
}

/* ---- Wiener filters --------------------------------------------------------------- */

#define BLOCK 1024            /* rows per block of the MAP step's second pass */


typedef struct {
  glab_dtype dt;
  int64_t N, d, K, next;
  const void *x, *mu, *P;     /* points (N, d), means (K, d), P_k = L_k^-1 (K, d, d) */
  const double *labels;       /* (N), 0-based */
  double noise_var;
  char *work;                 /* per thread: BLOCK x d elements and BLOCK int64 */
  void *out;                  /* (N, d): a copy of the points, then the estimates */
} pass_job;

/* W (m x d) := c (x_idx[i] - mu) over the gathered rows of X. */
static void gather_centered(glab_dtype dt, void *W, const void *X, const int64_t *idx,
                            double c, int64_t m, const void *mu, int64_t d) {
  size_t es = esize(dt);
  for (int64_t i = 0; i < m; i++)
    center_rows(dt, (char *)W + i * d * es, (const char *)X + idx[i] * d * es, mu, &c, 1, d);
}

/* out[idx[i]] += U_i over the gathered rows. */
static void scatter_add(glab_dtype dt, void *out, const void *U, const int64_t *idx, int64_t m,
                        int64_t d) {
  for (int64_t i = 0; i < m; i++) {
    if (dt == GLAB_F64) {
      double *o = (double *)out + idx[i] * d;
      const double *u = (const double *)U + i * d;
      for (int64_t j = 0; j < d; j++) o[j] += u[j];
    } else {
      float *o = (float *)out + idx[i] * d;
      const float *u = (const float *)U + i * d;
      for (int64_t j = 0; j < d; j++) o[j] += u[j];
    }
  }
}

/* The rows of block [r0, r0 + n) labelled k; returns their number. */
static int64_t select_rows(const pass_job *j, int64_t k, int64_t r0, int64_t n, int64_t *idx) {
  int64_t m = 0;
  for (int64_t i = r0; i < r0 + n; i++)
    if (j->labels[i] == (double)k) idx[m++] = i;
  return m;
}

static void pass_work(void *arg, int t, int nt) {
  pass_job *j = arg;
  glab_dtype dt = j->dt;
  int64_t d = j->d;
  size_t es = esize(dt);
  char *W = j->work + (size_t)t * BLOCK * (d * es + sizeof(int64_t));
  int64_t *idx = (int64_t *)(W + (size_t)BLOCK * d * es);
  for (;;) {
    int64_t r0 = __atomic_fetch_add(&j->next, BLOCK, __ATOMIC_RELAXED);
    if (r0 >= j->N) break;
    int64_t n = j->N - r0 < BLOCK ? j->N - r0 : BLOCK;
    for (int64_t k = 0; k < j->K; k++) {
      int64_t m = select_rows(j, k, r0, n, idx);
      if (m == 0) continue;
      const char *P = (const char *)j->P + k * d * d * es;
      gather_centered(dt, W, j->x, idx, -j->noise_var, m, (const char *)j->mu + k * d * es, d);
      tri_rows(dt, m, d, W, P, 1);           /* -s^2 P (x - mu) */
      tri_rows(dt, m, d, W, P, 0);           /* -s^2 Sigma^-1 (x - mu) */
      scatter_add(dt, j->out, W, idx, m, d);
    }
  }
}

/* out := Y - noise_var (Sigma_k + noise_var I)^-1 (Y - mu_k) row by row,
** k = labels[n], with P the inverse factors of Sigma_k + noise_var I. */
static glab_status wiener_pass(glab_tensor *out, const glab_tensor *Y, const double *labels,
                               const glab_tensor *means, const glab_tensor *P, double noise_var,
                               const char *op) {
  int nt = glab_get_num_threads();
  inputs in = {.n = 0};
  glab_tensor xh = GLAB_TENSOR_EMPTY;
  pass_job j = {.dt = Y->dtype, .N = Y->shape[0], .d = Y->shape[1], .K = means->shape[0],
                .labels = labels, .noise_var = noise_var, .P = glab_tensor_data(P)};
  size_t es = esize(j.dt);
  j.work = malloc((size_t)nt * BLOCK * (j.d * es + sizeof(int64_t)));
  glab_status s = j.work ? GLAB_OK : glab_fail(GLAB_ENOMEM, "%s: cannot allocate the workspace", op);
  if (s == GLAB_OK && (s = glab_tensor_clone(&xh, Y)) == GLAB_OK &&
      (s = take(&in, Y, &j.x)) == GLAB_OK && (s = take(&in, means, &j.mu)) == GLAB_OK) {
    j.out = glab_tensor_data(&xh);
    glab_parallel(nt, pass_work, &j);
    s = glab_tensor_deliver(out, &xh, op);
  }
  release(&in);
  glab_tensor_free(&xh);
  free(j.work);
  return s;
}

static glab_status check_noise(double noise_var, const char *op) {
  if (noise_var >= 0 && noise_var < INFINITY) return GLAB_OK;
  return glab_fail(GLAB_EARG, "%s: the noise variance must be finite and >= 0, got %g", op,
                   noise_var);
}

glab_status glab_gmm_wiener(glab_tensor *out, const glab_tensor *Y, const glab_tensor *labels,
                            const glab_tensor *log_weights, const glab_tensor *means,
                            const glab_tensor *chol_noisy, double noise_var) {
  const char *op = "gmm.wiener";
  glab_status s = check_noise(noise_var, op);
  if (s != GLAB_OK) return s;
  int64_t K = means->ndim == 2 ? means->shape[0] : 0;
  double *logdet = malloc((K > 0 ? K : 1) * sizeof *logdet), *k_of = NULL;
  glab_tensor P = GLAB_TENSOR_EMPTY;
  inputs in = {.n = 0};
  const void *lab;
  if (!logdet) return glab_fail(GLAB_ENOMEM, "%s: out of memory", op);
  if ((s = glab_gmm_prepare(Y, log_weights, means, chol_noisy, logdet, &P, op)) != GLAB_OK)
    goto done;
  int64_t N = Y->shape[0];
  if (labels->ndim != 1 || labels->shape[0] != N) {
    char a[128];
    s = glab_fail(GLAB_ESHAPE, "%s: labels (%s) do not fit %lld points", op,
                  glab_shape_str(a, sizeof a, labels->ndim, labels->shape), (long long)N);
    goto done;
  }
  if (!(k_of = malloc((N > 0 ? N : 1) * sizeof *k_of))) {
    s = glab_fail(GLAB_ENOMEM, "%s: out of memory", op);
    goto done;
  }
  if ((s = take(&in, labels, &lab)) != GLAB_OK) goto done;
  for (int64_t i = 0; i < N; i++) {
    double l = elem(labels->dtype, lab, i);
    if (!(l >= 0 && l < K && l == floor(l))) {
      s = glab_fail(GLAB_EINDEX, "%s: label %g of point %lld is not a component 0..%lld", op, l,
                    (long long)i + 1, (long long)K - 1);
      goto done;
    }
    k_of[i] = l;
  }
  s = wiener_pass(out, Y, k_of, means, &P, noise_var, op);
done:
  release(&in);
  free(logdet);
  free(k_of);
  glab_tensor_free(&P);
  return s;
}

/* ---- the score -------------------------------------------------------------------- */

typedef struct {
  glab_dtype dt;
  int64_t N, d, K, rows, next;  /* rows: the block size */
  const void *x, *lw, *mu, *P;
  const double *logdet;
  char *work;                   /* per thread: see score_work */
  void *logq, *grad;            /* (N), (N, d) or NULL */
  double *labels;               /* (N) or NULL */
} score_job;

/* Per-thread workspace of score_work: Z (K x rows x d), W (rows x d), the
** log-densities (rows x K doubles), row indices and squared norms (rows each). */
static size_t score_space(const score_job *j) {
  size_t es = esize(j->dt);
  return (size_t)j->rows * ((j->K + 1) * j->d * es + j->K * sizeof(double) +
                            sizeof(int64_t) + sizeof(double));
}

/* The gradient of block [r0, r0 + n): for each component, the rows where its
** responsibility r counts, gathered as -r z_k into W, times P_k.  All rows:
** one GEMM into the block's gradient; some: into Z_k, which is no longer
** needed, then added to their rows. */
static void block_grad(const score_job *j, const char *Z, char *W, const double *r, int64_t *idx,
                       int64_t r0, int64_t n) {
  glab_dtype dt = j->dt;
  int64_t d = j->d, K = j->K;
  size_t es = esize(dt);
  char *g = (char *)j->grad + r0 * d * es;
  memset(g, 0, (size_t)(n * d) * es);
  for (int64_t k = 0; k < K; k++) {
    char *Zk = (char *)Z + k * n * d * es;
    const char *P = (const char *)j->P + k * d * d * es;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
      if (r[i * K + k] >= GLAB_SCORE_MIN_RESP) {
        scale_row(dt, W + m * d * es, Zk + i * d * es, -r[i * K + k], d);
        idx[m++] = i;
      }
    if (m == n) {
      unwhiten_rows(dt, n, d, W, P, 1.0, g);
    } else if (m > 0) {
      unwhiten_rows(dt, m, d, W, P, 0.0, Zk);
      scatter_add(dt, g, Zk, idx, m, d);
    }
  }
}

static void score_work(void *arg, int t, int nt) {
  score_job *j = arg;
  glab_dtype dt = j->dt;
  int64_t d = j->d, K = j->K, B = j->rows;
  size_t es = esize(dt);
  char *Z = j->work + (size_t)t * score_space(j);
  char *W = Z + (size_t)K * B * d * es;
  double *r = (double *)(W + (size_t)B * d * es);
  int64_t *idx = (int64_t *)(r + B * K);
  double *sq = (double *)(idx + B);
  for (;;) {
    int64_t r0 = __atomic_fetch_add(&j->next, B, __ATOMIC_RELAXED);
    if (r0 >= j->N) break;
    int64_t n = j->N - r0 < B ? j->N - r0 : B;
    const char *xb = (const char *)j->x + r0 * d * es;
    for (int64_t k = 0; k < K; k++) {               /* the E step, keeping Z_k */
      char *Zk = Z + k * n * d * es;
      center_rows(dt, Zk, xb, (const char *)j->mu + k * d * es, NULL, n, d);
      tri_rows(dt, n, d, Zk, (const char *)j->P + k * d * d * es, 1);
      row_sqnorms(dt, sq, Zk, n, d);
      double ck = elem(dt, j->lw, k) - 0.5 * (d * LOG_2PI + j->logdet[k]);
      for (int64_t i = 0; i < n; i++) r[i * K + k] = ck - 0.5 * sq[i];
    }
    for (int64_t i = 0; i < n; i++) {               /* log q, then responsibilities */
      double mx = -INFINITY, acc = 0;
      for (int64_t k = 0; k < K; k++) mx = fmax(mx, r[i * K + k]);
      for (int64_t k = 0; k < K; k++) acc += exp(r[i * K + k] - mx);
      double lse = mx + log(acc);
      set_elem(dt, j->logq, r0 + i, lse);
      int64_t best = 0;
      for (int64_t k = 0; k < K; k++) {
        r[i * K + k] = exp(r[i * K + k] - lse);
        if (r[i * K + k] > r[i * K + best]) best = k;
      }
      if (j->labels) j->labels[r0 + i] = (double)best;
    }
    if (j->grad) block_grad(j, Z, W, r, idx, r0, n);
  }
}

glab_status glab_gmm_score(glab_tensor *logq, glab_tensor *grad, glab_tensor *labels,
                           const glab_tensor *X,
                           const glab_tensor *log_weights, const glab_tensor *means,
                           const glab_tensor *chol) {
  int64_t K = means->ndim == 2 ? means->shape[0] : 0;
  double *logdet = malloc((K > 0 ? K : 1) * sizeof *logdet);
  glab_tensor P = GLAB_TENSOR_EMPTY, lq = GLAB_TENSOR_EMPTY, g = GLAB_TENSOR_EMPTY,
              lab = GLAB_TENSOR_EMPTY;
  inputs in = {.n = 0};
  score_job j = {.K = K};
  glab_status s = logdet ? glab_gmm_prepare(X, log_weights, means, chol, logdet, &P, "gmm.score")
                         : glab_fail(GLAB_ENOMEM, "gmm.score: out of memory");
  if (s != GLAB_OK) goto done;
  j.dt = X->dtype;
  j.N = X->shape[0];
  j.d = X->shape[1];
  j.rows = (1 << 22) / (K * j.d);                   /* Z: 4 Mi elements a thread */
  j.rows = j.rows < 16 ? 16 : j.rows > 1024 ? 1024 : j.rows;
  j.logdet = logdet;
  j.P = glab_tensor_data(&P);
  int64_t shape[2] = {j.N, j.d};
  int nt = glab_get_num_threads();
  if ((s = glab_tensor_new(&lq, j.dt, 1, &j.N)) != GLAB_OK ||
      (grad && (s = glab_tensor_new(&g, j.dt, 2, shape)) != GLAB_OK) ||
      (labels && (s = glab_tensor_new(&lab, GLAB_F64, 1, &j.N)) != GLAB_OK) ||
      (s = take(&in, X, &j.x)) != GLAB_OK || (s = take(&in, log_weights, &j.lw)) != GLAB_OK ||
      (s = take(&in, means, &j.mu)) != GLAB_OK)
    goto done;
  if (!(j.work = malloc((size_t)nt * score_space(&j)))) {
    s = glab_fail(GLAB_ENOMEM, "gmm.score: cannot allocate the workspace");
    goto done;
  }
  j.logq = glab_tensor_data(&lq);
  j.grad = grad ? glab_tensor_data(&g) : NULL;
  j.labels = labels ? glab_tensor_data(&lab) : NULL;
  glab_parallel(nt, score_work, &j);
  if (grad) s = glab_tensor_deliver(grad, &g, "gmm.score");
  if (labels && s == GLAB_OK) s = glab_tensor_deliver(labels, &lab, "gmm.score");
  if (s == GLAB_OK) s = glab_tensor_deliver(logq, &lq, "gmm.score");
done:
  release(&in);
  free(logdet);
  free(j.work);
  glab_tensor_free(&P);
  glab_tensor_free(&lq);
  glab_tensor_free(&g);
  glab_tensor_free(&lab);
  return s;
}
