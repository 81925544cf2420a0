/*
** test_ppca.c -- the p-PCA kernels against dense forms: log_prob against
** log N(x | mean, W W^T + sigma2 I) through the m x m Cholesky factor,
** the posterior mean against M^-1 W^T (x - mean) by a dense solve, sigma2
** against the mean of the discarded eigenvalues; and the statuses for
** shapes, d out of range and d at or above the rank of S.
** Tolerances: float64 1e-10 (entries of size ~1).
*/
#include <math.h>
#include <string.h>

#include "../../core/models/ppca.h"
#include "../../core/tensor/linalg.h"
#include "../../core/tensor/ops.h"
#include "../../core/tensor/random.h"
#include "tap.h"

static glab_rng rng;

static glab_tensor randn(int64_t r, int64_t c) {
  glab_tensor t = GLAB_TENSOR_EMPTY;
  int64_t sh[2] = {r, c};
  glab_tensor_new(&t, GLAB_F64, 2, sh);
  glab_rand_normal(&rng, &t, 0, 1);
  return t;
}

static glab_tensor eye_times(int64_t n, double v) {
  glab_tensor e = GLAB_TENSOR_EMPTY;
  glab_tensor_eye(&e, GLAB_F64, n, n);
  glab_binary_scalar(&e, GLAB_MUL, &e, v, 0);
  return e;
}

/* A^T B + c I for A (k, p), B (k, q) with p = q when c != 0. */
static glab_tensor tmul(const glab_tensor *A, const glab_tensor *B, double c) {
  glab_tensor at = GLAB_TENSOR_EMPTY, out = GLAB_TENSOR_EMPTY;
  glab_tensor_transpose(&at, A, 0, 1);
  glab_matmul(&out, &at, B);
  if (c != 0) {
    glab_tensor e = eye_times(out.shape[0], c);
    glab_binary(&out, GLAB_ADD, &out, &e);
    glab_tensor_free(&e);
  }
  glab_tensor_free(&at);
  return out;
}

/* 50 points in 8 dimensions near a 2-d plane, with noise. */
static glab_tensor points(void) {
  glab_tensor Z = randn(50, 2), A = randn(2, 8), X = GLAB_TENSOR_EMPTY, E = randn(50, 8);
  glab_matmul(&X, &Z, &A);
  glab_binary_scalar(&E, GLAB_MUL, &E, 0.3, 0);
  glab_binary(&X, GLAB_ADD, &X, &E);
  glab_tensor_free(&Z); glab_tensor_free(&A); glab_tensor_free(&E);
  return X;
}

static void test_fit_and_log_prob(void) {
  glab_tensor X = points(), W = GLAB_TENSOR_EMPTY, mu = GLAB_TENSOR_EMPTY, lam = GLAB_TENSOR_EMPTY;
  double s2 = 0;
  int64_t rank = 0;
  OK(glab_ppca_fit(&W, &mu, &lam, &s2, &rank, &X, 2) == GLAB_OK, "fit d = 2");
  double rest = 0;
  for (int j = 2; j < 8; j++) rest += glab_tensor_flat_get(&lam, j);
  NEAR(s2, rest / 6, 1e-14, "sigma2 is the mean of the 6 smallest eigenvalues");
  OK(rank == 8, "50 points in 8 dimensions have rank 8");
  glab_tensor M = tmul(&W, &W, s2), LM = GLAB_TENSOR_EMPTY, lp = GLAB_TENSOR_EMPTY;
  glab_linalg_cholesky(&LM, &M, 0);
  OK(glab_ppca_log_prob(&lp, &X, &W, &mu, &LM, s2) == GLAB_OK, "log_prob");
  /* dense: C = W W^T + s2 I, v = Lc^-1 (x - mu), log p = -(|v|^2 + log det C + m log 2 pi) / 2 */
  glab_tensor Wt = GLAB_TENSOR_EMPTY, C, Lc = GLAB_TENSOR_EMPTY;
  glab_tensor_transpose(&Wt, &W, 0, 1);
  C = tmul(&Wt, &Wt, s2);
  glab_linalg_cholesky(&Lc, &C, 0);
  double ld = 0, worst = 0;
  for (int i = 0; i < 8; i++) ld += 2 * log(glab_tensor_flat_get(&Lc, i * 8 + i));
  glab_tensor R = GLAB_TENSOR_EMPTY, Rt = GLAB_TENSOR_EMPTY, V = GLAB_TENSOR_EMPTY;
  glab_binary(&R, GLAB_SUB, &X, &mu);
  glab_tensor_transpose(&Rt, &R, 0, 1);
  glab_linalg_solve_triangular(&V, &Lc, &Rt, 0, 1, 0);
  for (int n = 0; n < 50; n++) {
    double q = 0;
    for (int k = 0; k < 8; k++) q += pow(glab_tensor_flat_get(&V, k * 50 + n), 2);
    worst = fmax(worst, fabs(glab_tensor_flat_get(&lp, n) + 0.5 * (q + ld + 8 * log(2 * M_PI))));
  }
  NEAR(worst, 0, 1e-10, "log_prob equals the dense Gaussian log-density");
  /* posterior mean against M^-1 W^T r by LU */
  glab_tensor Z = GLAB_TENSOR_EMPTY, B = tmul(&W, &Rt, 0), Zd = GLAB_TENSOR_EMPTY;
  OK(glab_ppca_posterior(&Z, &X, &W, &mu, &LM) == GLAB_OK, "posterior");
  glab_linalg_solve(&Zd, &M, &B);                       /* (d, N) */
  worst = 0;
  for (int n = 0; n < 50; n++)
    for (int k = 0; k < 2; k++)
      worst = fmax(worst, fabs(glab_tensor_flat_get(&Z, n * 2 + k) - glab_tensor_flat_get(&Zd, k * 50 + n)));
  NEAR(worst, 0, 1e-10, "posterior mean equals M^-1 W^T (x - mean)");
  glab_tensor *all[] = {&X, &W, &mu, &lam, &M, &LM, &lp, &Wt, &C, &Lc, &R, &Rt, &V, &Z, &B, &Zd};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) glab_tensor_free(all[i]);
}

static void test_statuses(void) {
  glab_tensor X = points(), W = GLAB_TENSOR_EMPTY, mu = GLAB_TENSOR_EMPTY, lam = GLAB_TENSOR_EMPTY;
  double s2 = 0;
  int64_t rank = 0;
  OK(glab_ppca_fit(&W, &mu, &lam, &s2, &rank, &X, 0) == GLAB_EARG &&
     strstr(glab_errmsg(), "0 < d < m = 8, got 0"), "d = 0: %s", glab_errmsg());
  OK(glab_ppca_fit(&W, &mu, &lam, &s2, &rank, &X, 8) == GLAB_EARG, "d = m is refused");
  glab_tensor few = GLAB_TENSOR_EMPTY;
  glab_tensor_narrow(&few, &X, 0, 0, 4);                /* 4 points: rank 3 */
  OK(glab_ppca_fit(&W, &mu, &lam, &s2, &rank, &few, 3) == GLAB_EARG &&
     strstr(glab_errmsg(), "d = 3 is at or above the rank 3"), "d = rank: %s", glab_errmsg());
  OK(glab_ppca_fit(&W, &mu, &lam, &s2, &rank, &few, 2) == GLAB_OK && s2 > 0, "d = rank - 1 fits with sigma2 > 0");
  glab_tensor M = tmul(&W, &W, s2), LM = GLAB_TENSOR_EMPTY, lp = GLAB_TENSOR_EMPTY;
  glab_linalg_cholesky(&LM, &M, 0);
  OK(glab_ppca_log_prob(&lp, &X, &W, &mu, &LM, 0) == GLAB_EARG, "sigma2 = 0 is refused");
  OK(glab_ppca_log_prob(&lp, &X, &W, &mu, &LM, s2) == GLAB_OK, "log_prob at d = rank - 1");
  int finite = 1;
  for (int n = 0; n < 50; n++) finite &= isfinite(glab_tensor_flat_get(&lp, n));
  OK(finite, "no NaN or infinity");
  OK(glab_ppca_log_prob(&lp, &X, &LM, &mu, &LM, s2) == GLAB_ESHAPE &&
     strstr(glab_errmsg(), "expected (N, m), (m, d), (m), (d, d)"), "shapes: %s", glab_errmsg());
  glab_tensor *all[] = {&X, &W, &mu, &lam, &few, &M, &LM, &lp};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) glab_tensor_free(all[i]);
}

int main(void) {
  glab_rng_seed(&rng, 19);
  test_fit_and_log_prob();
  test_statuses();
  return tap_done();
}
