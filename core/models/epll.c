/*
** epll.c -- the score and the MAP patch step of a mixture prior (see epll.h).
**
** The score makes one pass over blocks of rows.  Each block keeps every
** component's whitened rows Z_k = (X - mu_k) P_k^T (2 K d^2 flops a row, the
** E step), takes the log-densities and responsibilities from them, and then
** adds -r_k P_k^T z_k by one GEMM per component over the rows whose
** responsibility counts.  Image patches have sharply peaked responsibilities,
** so that second GEMM costs a few d^2 flops a row; at worst (every component
** counting for every row) 2 K d^2, the backward pass of autodiff.
**
** The MAP step takes the (N, K) log-densities from glab_gmm_log_prob, then in
** a second pass each component gathers the rows labelled with it and applies
** Sigma_k^-1 = P_k^T P_k by two GEMMs.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../tensor/ops.h"
#include "../tensor/parallel.h"
#include "epll.h"
#include "gmm.h"
#include "rows.h"

#define BLOCK 1024            /* rows per block of the MAP step's second pass */

/* ---- the MAP patch step ----------------------------------------------------------- */

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

static glab_status check_noise(double noise_var, const char *op) {
  if (noise_var >= 0 && noise_var < INFINITY) return GLAB_OK;
  return glab_fail(GLAB_EARG, "%s: the noise variance must be finite and >= 0, got %g", op,
                   noise_var);
}

glab_status glab_gmm_map_patches(glab_tensor *out, glab_tensor *labels, const glab_tensor *Y,
                                 const glab_tensor *log_weights, const glab_tensor *means,
                                 const glab_tensor *chol_noisy, double noise_var) {
  glab_status s = check_noise(noise_var, "gmm.map_patches");
  if (s != GLAB_OK) return s;
  glab_tensor lp = GLAB_TENSOR_EMPTY, lab = GLAB_TENSOR_EMPTY, P = GLAB_TENSOR_EMPTY;
  if ((s = glab_gmm_log_prob(&lp, Y, log_weights, means, chol_noisy)) != GLAB_OK) return s;
  int64_t N = Y->shape[0], K = means->shape[0];
  if ((s = glab_tensor_new(&lab, GLAB_F64, 1, &N)) == GLAB_OK &&
      (s = glab_gmm_whitening(&P, chol_noisy)) == GLAB_OK) {
    const void *l = glab_tensor_data(&lp);   /* fresh, so contiguous */
    double *k_of = glab_tensor_data(&lab);
    for (int64_t i = 0; i < N; i++) {
      int64_t best = 0;
      for (int64_t k = 1; k < K; k++)
        if (elem(Y->dtype, l, i * K + k) > elem(Y->dtype, l, i * K + best)) best = k;
      k_of[i] = (double)best;
    }
    s = wiener_pass(out, Y, k_of, means, &P, noise_var, "gmm.map_patches");
  }
  if (s == GLAB_OK) s = glab_tensor_deliver(labels, &lab, "gmm.map_patches");
  glab_tensor_free(&lp);
  glab_tensor_free(&lab);
  glab_tensor_free(&P);
  return s;
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
