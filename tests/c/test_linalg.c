/*
** test_linalg.c -- LAPACK wrappers against closed forms: a known spectrum,
** reconstructions A = V diag(w) V^T and A = L L^T, solve residuals, slogdet
** of products, batched failures naming the batch element.
** Tolerances: float64 1e-10, float32 1e-4 (relative to entries of size ~1).
*/
#include <math.h>
#include <string.h>

#include "../../core/tensor/linalg.h"
#include "../../core/tensor/ops.h"
#include "../../core/tensor/random.h"
#include "tap.h"

static glab_rng rng;

static glab_tensor randn(glab_dtype dt, int nd, const int64_t *sh) {
  glab_tensor t = GLAB_TENSOR_EMPTY;
  glab_tensor_new(&t, dt, nd, sh);
  glab_rand_normal(&rng, &t, 0, 1);
  return t;
}

/* A A^T + n I: symmetric positive definite, batched over leading dims. */
static glab_tensor spd(glab_dtype dt, int nd, const int64_t *sh) {
  glab_tensor a = randn(dt, nd, sh), at = GLAB_TENSOR_EMPTY, p = GLAB_TENSOR_EMPTY;
  glab_tensor eye = GLAB_TENSOR_EMPTY, out = GLAB_TENSOR_EMPTY;
  int64_t n = sh[nd - 1];
  glab_tensor_transpose(&at, &a, -1, -2);
  glab_matmul(&p, &a, &at);
  glab_tensor_eye(&eye, dt, n, n);
  glab_binary_scalar(&eye, GLAB_MUL, &eye, (double)n, 0);
  glab_binary(&out, GLAB_ADD, &p, &eye);
  glab_tensor_free(&a); glab_tensor_free(&at); glab_tensor_free(&p); glab_tensor_free(&eye);
  return out;
}

static double max_diff(const glab_tensor *a, const glab_tensor *b) {
  double m = 0;
  for (int64_t i = 0; i < glab_tensor_numel(a); i++)
    m = fmax(m, fabs(glab_tensor_flat_get(a, i) - glab_tensor_flat_get(b, i)));
  return m;
}

static void test_eigh_known_spectrum(void) {
  /* Q diag(1..6) Q^T with Q orthogonal from a QR-free construction: the
  ** eigenvectors of a random SPD matrix. */
  int64_t sh[2] = {6, 6};
  glab_tensor s = spd(GLAB_F64, 2, sh), w0 = GLAB_TENSOR_EMPTY, q = GLAB_TENSOR_EMPTY;
  glab_linalg_eigh(&w0, &q, &s);
  glab_tensor d = GLAB_TENSOR_EMPTY, qd = GLAB_TENSOR_EMPTY, qt = GLAB_TENSOR_EMPTY;
  glab_tensor a = GLAB_TENSOR_EMPTY, w = GLAB_TENSOR_EMPTY, v = GLAB_TENSOR_EMPTY;
  glab_tensor_arange(&d, GLAB_F64, 1, 7, 1);
  glab_binary(&qd, GLAB_MUL, &q, &d);                  /* Q diag(d) */
  glab_tensor_transpose(&qt, &q, 0, 1);
  glab_matmul(&a, &qd, &qt);
  OK(glab_linalg_eigh(&w, &v, &a) == GLAB_OK, "eigh of Q diag(1..6) Q^T");
  double worst = 0;
  for (int i = 0; i < 6; i++) worst = fmax(worst, fabs(glab_tensor_flat_get(&w, i) - (i + 1)));
  NEAR(worst, 0, 1e-10, "eigenvalues are 1..6, ascending");
  glab_tensor vd = GLAB_TENSOR_EMPTY, vt = GLAB_TENSOR_EMPTY, r = GLAB_TENSOR_EMPTY;
  glab_binary(&vd, GLAB_MUL, &v, &w);
  glab_tensor_transpose(&vt, &v, 0, 1);
  glab_matmul(&r, &vd, &vt);
  NEAR(max_diff(&r, &a), 0, 1e-10, "V diag(w) V^T reconstructs A");
  glab_tensor vtv = GLAB_TENSOR_EMPTY, eye = GLAB_TENSOR_EMPTY;
  glab_matmul(&vtv, &vt, &v);
  glab_tensor_eye(&eye, GLAB_F64, 6, 6);
  NEAR(max_diff(&vtv, &eye), 0, 1e-10, "V is orthogonal");
  glab_tensor *all[] = {&s, &w0, &q, &d, &qd, &qt, &a, &w, &v, &vd, &vt, &r, &vtv, &eye};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) glab_tensor_free(all[i]);
}

static void test_cholesky_batched(void) {
  int64_t sh[3] = {5, 16, 16};
  glab_dtype dts[2] = {GLAB_F64, GLAB_F32};
  double tol[2] = {1e-10, 1e-4};
  for (int k = 0; k < 2; k++) {
    glab_tensor a = spd(dts[k], 3, sh), l = GLAB_TENSOR_EMPTY, lt = GLAB_TENSOR_EMPTY;
    glab_tensor r = GLAB_TENSOR_EMPTY;
    OK(glab_linalg_cholesky(&l, &a, 0) == GLAB_OK, "%s batched cholesky of 5 SPD matrices",
       glab_dtype_name(dts[k]));
    int64_t ij[3] = {2, 3, 9};
    NEAR(glab_tensor_get(&l, ij), 0, 0, "the upper triangle is zero");
    glab_tensor_transpose(&lt, &l, -1, -2);
    glab_matmul(&r, &l, &lt);
    NEAR(max_diff(&r, &a) / 16, 0, tol[k], "L L^T = A for every batch element");
    glab_tensor u = GLAB_TENSOR_EMPTY;
    glab_linalg_cholesky(&u, &a, 1);
    NEAR(max_diff(&u, &lt), 0, tol[k], "upper factor is L^T");
    glab_tensor_free(&a); glab_tensor_free(&l); glab_tensor_free(&lt);
    glab_tensor_free(&r); glab_tensor_free(&u);
  }
  int64_t sh2[3] = {4, 256, 256};
  glab_tensor a = spd(GLAB_F64, 3, sh2), l = GLAB_TENSOR_EMPTY;
  int64_t at[3] = {2, 16, 16};
  glab_tensor_set(&a, at, -1e6);                     /* breaks minor 17 of element 3 */
  OK(glab_linalg_cholesky(&l, &a, 0) == GLAB_ELINALG, "a non-SPD matrix fails");
  OK(strcmp(glab_errmsg(), "cholesky: matrix is not positive definite (leading minor 17 of 256) "
                           "in batch element 3") == 0, "%s", glab_errmsg());
  OK(l.storage == NULL, "and leaves out empty");
  glab_tensor_free(&a);
}

static void test_solvers(void) {
  int64_t sa[2] = {20, 20}, sb[2] = {20, 3};
  glab_tensor a = randn(GLAB_F64, 2, sa), b = randn(GLAB_F64, 2, sb);
  glab_tensor x = GLAB_TENSOR_EMPTY, ax = GLAB_TENSOR_EMPTY;
  OK(glab_linalg_solve(&x, &a, &b) == GLAB_OK, "solve a random 20x20 system");
  glab_matmul(&ax, &a, &x);
  NEAR(max_diff(&ax, &b), 0, 1e-10, "residual A X - B vanishes");
  glab_tensor s = spd(GLAB_F64, 2, sa), l = GLAB_TENSOR_EMPTY, y = GLAB_TENSOR_EMPTY;
  glab_tensor ly = GLAB_TENSOR_EMPTY, cx = GLAB_TENSOR_EMPTY, sx = GLAB_TENSOR_EMPTY;
  glab_linalg_cholesky(&l, &s, 0);
  OK(glab_linalg_solve_triangular(&y, &l, &b, 0, 1, 0) == GLAB_OK, "triangular solve L Y = B");
  glab_matmul(&ly, &l, &y);
  NEAR(max_diff(&ly, &b), 0, 1e-10, "L Y = B");
  glab_tensor lt = GLAB_TENSOR_EMPTY, z = GLAB_TENSOR_EMPTY, ltz = GLAB_TENSOR_EMPTY;
  glab_tensor_transpose(&lt, &l, 0, 1);
  OK(glab_linalg_solve_triangular(&z, &lt, &b, 1, 1, 0) == GLAB_OK, "upper solve through a transposed view");
  glab_matmul(&ltz, &lt, &z);
  NEAR(max_diff(&ltz, &b), 0, 1e-10, "L^T Z = B");
  glab_linalg_cholesky_solve(&cx, &b, &l, 0);
  glab_matmul(&sx, &s, &cx);
  NEAR(max_diff(&sx, &b), 0, 1e-10, "cholesky_solve: S X = B");
  glab_tensor right = GLAB_TENSOR_EMPTY, bt = GLAB_TENSOR_EMPTY, rl = GLAB_TENSOR_EMPTY;
  glab_tensor_transpose(&bt, &b, 0, 1);                          /* (3x20) */
  glab_linalg_solve_triangular(&right, &l, &bt, 0, 0, 0);        /* X L = B^T */
  glab_matmul(&rl, &right, &l);
  NEAR(max_diff(&rl, &bt), 0, 1e-10, "right-side triangular solve: X L = B");
  glab_tensor sing = GLAB_TENSOR_EMPTY, o = GLAB_TENSOR_EMPTY;
  glab_tensor_full(&sing, GLAB_F64, 2, sa, 1.0);
  OK(glab_linalg_solve(&o, &sing, &b) == GLAB_ELINALG, "solve with a singular matrix fails");
  OK(strstr(glab_errmsg(), "singular") != NULL, "%s", glab_errmsg());
  glab_tensor *all[] = {&a, &b, &x, &ax, &s, &l, &y, &ly, &cx, &sx, &lt, &z, &ltz,
                        &right, &bt, &rl, &sing, &o};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) glab_tensor_free(all[i]);
}

static void test_slogdet_inv_svd_lstsq(void) {
  int64_t sh[2] = {8, 8};
  glab_tensor a = randn(GLAB_F64, 2, sh), b = randn(GLAB_F64, 2, sh), ab = GLAB_TENSOR_EMPTY;
  glab_tensor sa = GLAB_TENSOR_EMPTY, la = GLAB_TENSOR_EMPTY, sb = GLAB_TENSOR_EMPTY;
  glab_tensor lb = GLAB_TENSOR_EMPTY, sab = GLAB_TENSOR_EMPTY, lab = GLAB_TENSOR_EMPTY;
  glab_matmul(&ab, &a, &b);
  glab_linalg_slogdet(&sa, &la, &a);
  glab_linalg_slogdet(&sb, &lb, &b);
  glab_linalg_slogdet(&sab, &lab, &ab);
  NEAR(glab_tensor_flat_get(&lab, 0), glab_tensor_flat_get(&la, 0) + glab_tensor_flat_get(&lb, 0),
       1e-10, "log|det AB| = log|det A| + log|det B|");
  NEAR(glab_tensor_flat_get(&sab, 0), glab_tensor_flat_get(&sa, 0) * glab_tensor_flat_get(&sb, 0),
       0, "sign(det AB) = sign(det A) sign(det B)");
  glab_tensor d = GLAB_TENSOR_EMPTY, sd = GLAB_TENSOR_EMPTY, ld = GLAB_TENSOR_EMPTY;
  glab_tensor_eye(&d, GLAB_F64, 3, 3);
  int64_t p[2] = {1, 1};
  glab_tensor_set(&d, p, -4);
  glab_linalg_slogdet(&sd, &ld, &d);
  NEAR(glab_tensor_flat_get(&sd, 0), -1, 0, "det diag(1,-4,1) is negative");
  NEAR(glab_tensor_flat_get(&ld, 0), log(4.0), 1e-15, "and |det| = 4");
  glab_tensor inv = GLAB_TENSOR_EMPTY, ai = GLAB_TENSOR_EMPTY, eye = GLAB_TENSOR_EMPTY;
  glab_linalg_inv(&inv, &a);
  glab_matmul(&ai, &a, &inv);
  glab_tensor_eye(&eye, GLAB_F64, 8, 8);
  NEAR(max_diff(&ai, &eye), 0, 1e-10, "A inv(A) = I");
  int64_t rs[2] = {9, 5};
  glab_tensor r = randn(GLAB_F64, 2, rs), u = GLAB_TENSOR_EMPTY, s = GLAB_TENSOR_EMPTY;
  glab_tensor vh = GLAB_TENSOR_EMPTY, us = GLAB_TENSOR_EMPTY, usv = GLAB_TENSOR_EMPTY;
  glab_linalg_svd(&u, &s, &vh, &r, 0);
  OK(u.shape[1] == 5 && s.shape[0] == 5 && vh.shape[0] == 5, "thin SVD shapes (9x5)(5)(5x5)");
  OK(glab_tensor_flat_get(&s, 0) >= glab_tensor_flat_get(&s, 4), "singular values descend");
  glab_binary(&us, GLAB_MUL, &u, &s);
  glab_matmul(&usv, &us, &vh);
  NEAR(max_diff(&usv, &r), 0, 1e-10, "U diag(S) Vh = A");
  /* least squares: fit y = 2 x - 1 exactly through 9 points */
  glab_tensor xs = GLAB_TENSOR_EMPTY, ones = GLAB_TENSOR_EMPTY, dm = GLAB_TENSOR_EMPTY;
  glab_tensor ys = GLAB_TENSOR_EMPTY, coef = GLAB_TENSOR_EMPTY, cx = GLAB_TENSOR_EMPTY;
  glab_tensor_linspace(&xs, GLAB_F64, 0, 1, 9);
  glab_tensor_full(&ones, GLAB_F64, 1, rs, 1.0);
  const glab_tensor *cols[2] = {&xs, &ones};
  glab_stack(&dm, cols, 2, 1);                         /* (9x2) design */
  glab_binary_scalar(&cx, GLAB_MUL, &xs, 2, 0);
  glab_binary_scalar(&ys, GLAB_SUB, &cx, 1, 0);
  OK(glab_linalg_lstsq(&coef, &dm, &ys) == GLAB_OK && coef.ndim == 1, "lstsq with a vector b");
  NEAR(glab_tensor_flat_get(&coef, 0), 2, 1e-12, "slope 2");
  NEAR(glab_tensor_flat_get(&coef, 1), -1, 1e-12, "intercept -1");
  glab_tensor *all[] = {&a, &b, &ab, &sa, &la, &sb, &lb, &sab, &lab, &d, &sd, &ld, &inv, &ai,
                        &eye, &r, &u, &s, &vh, &us, &usv, &xs, &ones, &dm, &ys, &coef, &cx};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) glab_tensor_free(all[i]);
}

/* float32 eigh at n = 3,000, where the workspace size (1 + 6n + 2n^2 =
** 18,018,001) is no longer a float: it must run, and A v = v diag(w) hold to
** float32 accuracy on the columns checked (relative to |A| ~ sqrt(n)). */
static void test_eigh_large_float32(void) {
  int64_t n = 3000, sh[2] = {n, n};
  glab_tensor b = randn(GLAB_F32, 2, sh), bt = GLAB_TENSOR_EMPTY, a = GLAB_TENSOR_EMPTY;
  glab_tensor w = GLAB_TENSOR_EMPTY, v = GLAB_TENSOR_EMPTY;
  glab_tensor_transpose(&bt, &b, 0, 1);
  glab_binary(&a, GLAB_ADD, &b, &bt);                   /* symmetric */
  glab_status st = glab_linalg_eigh(&w, &v, &a);
  OK(st == GLAB_OK, "float32 eigh of a 3000x3000 matrix runs (%s)", st ? glab_errmsg() : "ok");
  if (st == GLAB_OK) {
    double worst = 0, trace = 0, wsum = 0;
    for (int64_t i = 0; i < n; i++) {
      int64_t ii[2] = {i, i};
      trace += glab_tensor_get(&a, ii);
      wsum += glab_tensor_get(&w, &i);
    }
    for (int64_t k = 0; k < n; k += 599) {               /* columns 1, 600, ... */
      int64_t kk = k;
      double lam = glab_tensor_get(&w, &kk);
      for (int64_t i = 0; i < n; i++) {
        double acc = 0;
        for (int64_t j = 0; j < n; j++) {
          int64_t ij[2] = {i, j}, jk[2] = {j, k};
          acc += glab_tensor_get(&a, ij) * glab_tensor_get(&v, jk);
        }
        int64_t ik[2] = {i, k};
        worst = fmax(worst, fabs(acc - lam * glab_tensor_get(&v, ik)));
      }
    }
    NEAR(worst / sqrt((double)n), 0, 1e-3, "A v = v w on sampled columns");
    NEAR((wsum - trace) / n, 0, 1e-3, "eigenvalues sum to the trace");
  }
  glab_tensor_free(&b); glab_tensor_free(&bt); glab_tensor_free(&a);
  glab_tensor_free(&w); glab_tensor_free(&v);
}

/* An infinite entry is refused by every factorisation, as NaN is:
** LAPACKE's own check sees NaN only. */
static void test_nonfinite_refused(void) {
  int64_t sh[2] = {3, 3};
  for (int k = 0; k < 2; k++) {
    glab_tensor a = spd(GLAB_F64, 2, sh), r1 = GLAB_TENSOR_EMPTY, r2 = GLAB_TENSOR_EMPTY;
    glab_tensor r3 = GLAB_TENSOR_EMPTY;
    int64_t at[2] = {1, 1};
    glab_tensor_set(&a, at, k ? NAN : INFINITY);
    const char *what = k ? "NaN" : "inf";
    OK(glab_linalg_cholesky(&r1, &a, 0) == GLAB_ELINALG && strstr(glab_errmsg(), "NaN or infinity"),
       "cholesky refuses %s: %s", what, glab_errmsg());
    OK(glab_linalg_eigh(&r1, &r2, &a) == GLAB_ELINALG && strstr(glab_errmsg(), "NaN or infinity"),
       "eigh refuses %s", what);
    OK(glab_linalg_inv(&r1, &a) == GLAB_ELINALG, "inv refuses %s", what);
    OK(glab_linalg_slogdet(&r1, &r2, &a) == GLAB_ELINALG, "slogdet refuses %s", what);
    OK(glab_linalg_svd(&r1, &r2, &r3, &a, 0) == GLAB_ELINALG, "svd refuses %s", what);
    OK(glab_linalg_solve(&r1, &a, &a) == GLAB_ELINALG, "solve refuses %s", what);
    OK(glab_linalg_lstsq(&r1, &a, &a) == GLAB_ELINALG, "lstsq refuses %s", what);
    OK(!r1.storage && !r2.storage && !r3.storage, "and writes no output");
    glab_tensor_free(&a);
  }
}

int main(void) {
  glab_rng_seed(&rng, 11);
  test_eigh_known_spectrum();
  test_cholesky_batched();
  test_solvers();
  test_slogdet_inv_svd_lstsq();
  test_nonfinite_refused();
  test_eigh_large_float32();
  return tap_done();
}
