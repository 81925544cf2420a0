/*
** epll.c -- the score and the MAP patch step of a mixture prior (see epll.h).
**
** Both kernels take the (N, K) log-densities from glab_gmm_log_prob, then
** make one more pass over blocks of rows.  In it each component k gathers
** the rows it weighs, c_n (x_n - mu_k), and applies Sigma_k^-1 = P_k^T P_k
** by two GEMMs, adding the result back to the rows' output.  Responsibilities
** of image patches are sharply peaked, so this pass costs a few d^2 flops
** per row against the E step's 2 K d^2.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../tensor/ops.h"
#include "../tensor/parallel.h"
#include "epll.h"
#include "gmm.h"
#include "rows.h"

#define BLOCK 1024            /* rows per block of the second pass */

enum { SCORE, MAP };

typedef struct {
  int mode;
  glab_dtype dt;
  int64_t N, d, K, next;
  const void *x, *mu, *P;     /* points (N, d), means (K, d), P_k = L_k^-1 (K, d, d) */
  const void *lp;             /* (N, K) log pi_k N(x_n | k), contiguous */
  const double *lse;          /* SCORE: log q(x_n) */
  double noise_var;           /* MAP */
  char *work;                 /* per thread: 2 BLOCK x d elements, BLOCK int64 and doubles */
  void *out;                  /* (N, d): SCORE zeros, MAP a copy of the points */
  double *labels;             /* MAP: (N) */
} pass_job;

/* W (m x d) := c_i (x_idx[i] - mu) over the gathered rows of X. */
static void gather_centered(glab_dtype dt, void *W, const void *X, const int64_t *idx,
                            const double *c, int64_t m, const void *mu, int64_t d) {
  size_t es = esize(dt);
  for (int64_t i = 0; i < m; i++)
    center_rows(dt, (char *)W + i * d * es, (const char *)X + idx[i] * d * es, mu, &c[i], 1, d);
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

/* The rows of block [r0, r0 + n) that component k weighs, and their weights:
** SCORE -r_nk where r_nk >= GLAB_SCORE_MIN_RESP, MAP -noise_var where k is
** the row's label.  Returns their number. */
static int64_t select_rows(const pass_job *j, int64_t k, int64_t r0, int64_t n, int64_t *idx,
                           double *c) {
  int64_t m = 0;
  for (int64_t i = r0; i < r0 + n; i++) {
    if (j->mode == SCORE) {
      double r = exp(elem(j->dt, j->lp, i * j->K + k) - j->lse[i]);
      if (r >= GLAB_SCORE_MIN_RESP) { idx[m] = i; c[m++] = -r; }
    } else if (j->labels[i] == (double)k) {
      idx[m] = i;
      c[m++] = -j->noise_var;
    }
  }
  return m;
}

static void pass_work(void *arg, int t, int nt) {
  pass_job *j = arg;
  glab_dtype dt = j->dt;
  int64_t d = j->d, K = j->K;
  size_t es = esize(dt);
  char *W = j->work + (size_t)t * BLOCK * (2 * d * es + sizeof(int64_t) + sizeof(double));
  char *Z = W + (size_t)BLOCK * d * es;
  int64_t *idx = (int64_t *)(Z + (size_t)BLOCK * d * es);
  double *c = (double *)(idx + BLOCK);
  for (;;) {
    int64_t r0 = __atomic_fetch_add(&j->next, BLOCK, __ATOMIC_RELAXED);
    if (r0 >= j->N) break;
    int64_t n = j->N - r0 < BLOCK ? j->N - r0 : BLOCK;
    if (j->mode == MAP)
      for (int64_t i = r0; i < r0 + n; i++) {
        int64_t best = 0;
        for (int64_t k = 1; k < K; k++)
          if (elem(dt, j->lp, i * K + k) > elem(dt, j->lp, i * K + best)) best = k;
        j->labels[i] = (double)best;
      }
    for (int64_t k = 0; k < K; k++) {
      int64_t m = select_rows(j, k, r0, n, idx, c);
      if (m == 0) continue;
      const char *P = (const char *)j->P + k * d * d * es;
      gather_centered(dt, W, j->x, idx, c, m, (const char *)j->mu + k * d * es, d);
      whiten_rows(dt, m, d, W, P, Z);        /* c P (x - mu) */
      unwhiten_rows(dt, m, d, Z, P, W);      /* c Sigma^-1 (x - mu) */
      scatter_add(dt, j->out, W, idx, m, d);
    }
  }
}

/* Runs the second pass of job j over the points X with the factors chol,
** after lp (N, K) has been filled. */
static glab_status second_pass(pass_job *j, const glab_tensor *X, const glab_tensor *means,
                               const glab_tensor *chol, const glab_tensor *lp, const char *op) {
  int nt = glab_get_num_threads();
  inputs in = {.n = 0};
  glab_tensor P = GLAB_TENSOR_EMPTY;
  size_t es = esize(j->dt);
  j->work = malloc((size_t)nt * BLOCK * (2 * j->d * es + sizeof(int64_t) + sizeof(double)));
  glab_status s = j->work ? GLAB_OK : glab_fail(GLAB_ENOMEM, "%s: cannot allocate the workspace", op);
  if (s == GLAB_OK && (s = take(&in, X, &j->x)) == GLAB_OK &&
      (s = take(&in, means, &j->mu)) == GLAB_OK && (s = take(&in, lp, &j->lp)) == GLAB_OK &&
      (s = glab_gmm_whitening(&P, chol)) == GLAB_OK) {
    j->P = glab_tensor_data(&P);
    glab_parallel(nt, pass_work, j);
  }
  release(&in);
  glab_tensor_free(&P);
  free(j->work);
  return s;
}

glab_status glab_gmm_score(glab_tensor *logq, glab_tensor *grad, const glab_tensor *X,
                           const glab_tensor *log_weights, const glab_tensor *means,
                           const glab_tensor *chol) {
  glab_tensor lp = GLAB_TENSOR_EMPTY, lq = GLAB_TENSOR_EMPTY, g = GLAB_TENSOR_EMPTY;
  glab_status s = glab_gmm_log_prob(&lp, X, log_weights, means, chol);
  if (s != GLAB_OK) return s;
  glab_dtype dt = X->dtype;
  int64_t N = X->shape[0], d = X->shape[1], K = means->shape[0];
  double *lse = malloc(N * sizeof *lse);
  if (!lse) s = glab_fail(GLAB_ENOMEM, "gmm.score: out of memory");
  if (s == GLAB_OK) s = glab_tensor_new(&lq, dt, 1, &N);
  const void *a = glab_tensor_data(&lp);
  for (int64_t i = 0; s == GLAB_OK && i < N; i++) {
    double mx = -INFINITY, acc = 0;
    for (int64_t k = 0; k < K; k++) mx = fmax(mx, elem(dt, a, i * K + k));
    for (int64_t k = 0; k < K; k++) acc += exp(elem(dt, a, i * K + k) - mx);
    lse[i] = mx + log(acc);
    set_elem(dt, glab_tensor_data(&lq), i, lse[i]);
  }
  if (s == GLAB_OK && grad) {
    int64_t shape[2] = {N, d};
    s = glab_tensor_new(&g, dt, 2, shape);
    if (s == GLAB_OK) {
      memset(glab_tensor_data(&g), 0, (size_t)(N * d) * esize(dt));
      pass_job j = {.mode = SCORE, .dt = dt, .N = N, .d = d, .K = K, .lse = lse,
                    .out = glab_tensor_data(&g)};
      s = second_pass(&j, X, means, chol, &lp, "gmm.score");
    }
    if (s == GLAB_OK) s = glab_tensor_deliver(grad, &g, "gmm.score");
  }
  if (s == GLAB_OK) s = glab_tensor_deliver(logq, &lq, "gmm.score");
  free(lse);
  glab_tensor_free(&lp);
  glab_tensor_free(&lq);
  glab_tensor_free(&g);
  return s;
}

glab_status glab_gmm_map_patches(glab_tensor *out, glab_tensor *labels, const glab_tensor *Y,
                                 const glab_tensor *log_weights, const glab_tensor *means,
                                 const glab_tensor *chol_noisy, double noise_var) {
  if (!(noise_var >= 0 && noise_var < INFINITY))
    return glab_fail(GLAB_EARG, "gmm.map_patches: the noise variance must be finite and >= 0, "
                     "got %g", noise_var);
  glab_tensor lp = GLAB_TENSOR_EMPTY, xh = GLAB_TENSOR_EMPTY, lab = GLAB_TENSOR_EMPTY;
  glab_status s = glab_gmm_log_prob(&lp, Y, log_weights, means, chol_noisy);
  if (s != GLAB_OK) return s;
  int64_t N = Y->shape[0], d = Y->shape[1], K = means->shape[0];
  if ((s = glab_tensor_new(&lab, GLAB_F64, 1, &N)) == GLAB_OK &&
      (s = glab_tensor_clone(&xh, Y)) == GLAB_OK) {
    pass_job j = {.mode = MAP, .dt = Y->dtype, .N = N, .d = d, .K = K, .noise_var = noise_var,
                  .out = glab_tensor_data(&xh), .labels = glab_tensor_data(&lab)};
    s = second_pass(&j, Y, means, chol_noisy, &lp, "gmm.map_patches");
  }
  if (s == GLAB_OK) s = glab_tensor_deliver(out, &xh, "gmm.map_patches");
  if (s == GLAB_OK) s = glab_tensor_deliver(labels, &lab, "gmm.map_patches");
  glab_tensor_free(&lp);
  glab_tensor_free(&xh);
  glab_tensor_free(&lab);
  return s;
}
