/*
** test_ops.c -- elementwise ops, reductions, scans, matmul and indexing,
** checked against closed forms and against naive reference loops in double.
*/
#include <math.h>
#include <string.h>

#include "../../core/tensor/fastmath.h"
#include "../../core/tensor/ops.h"
#include "../../core/tensor/random.h"
#include "tap.h"

static glab_rng rng;

static glab_tensor randn(glab_dtype dt, int nd, int64_t a, int64_t b, int64_t c) {
  int64_t sh[3] = {a, b, c};
  glab_tensor t = GLAB_TENSOR_EMPTY;
  glab_tensor_new(&t, dt, nd, sh);
  glab_rand_normal(&rng, &t, 0, 1);
  return t;
}

static double max_abs_diff(const glab_tensor *a, const glab_tensor *b) {
  double m = 0;
  for (int64_t i = 0; i < glab_tensor_numel(a); i++) {
    double d = fabs(glab_tensor_flat_get(a, i) - glab_tensor_flat_get(b, i));
    if (d > m || d != d) m = d;
  }
  return m;
}

static void test_broadcast_arith(void) {
  glab_tensor x = randn(GLAB_F64, 2, 4, 3, 0), b = randn(GLAB_F64, 1, 3, 0, 0);
  glab_tensor y = GLAB_TENSOR_EMPTY;
  OK(glab_binary(&y, GLAB_SUB, &x, &b) == GLAB_OK, "(4x3) - (3) broadcasts");
  double worst = 0;
  for (int64_t i = 0; i < 4; i++)
    for (int64_t j = 0; j < 3; j++) {
      int64_t ij[2] = {i, j};
      worst = fmax(worst, fabs(glab_tensor_get(&y, ij) - (glab_tensor_get(&x, ij) - glab_tensor_get(&b, &j))));
    }
  NEAR(worst, 0, 0, "every element equals x[i][j] - b[j]");
  glab_tensor z = GLAB_TENSOR_EMPTY;
  glab_binary_scalar(&z, GLAB_DIV, &x, 2.0, 1);            /* 2 / x */
  NEAR(glab_tensor_flat_get(&z, 5), 2.0 / glab_tensor_flat_get(&x, 5), 1e-15, "scalar first: 2 / x");
  glab_tensor f = randn(GLAB_F32, 1, 3, 0, 0), m = GLAB_TENSOR_EMPTY;
  glab_binary(&m, GLAB_MUL, &f, &b);
  OK(m.dtype == GLAB_F64, "float32 * float64 promotes to float64");
  glab_tensor bad = randn(GLAB_F64, 1, 4, 0, 0), o = GLAB_TENSOR_EMPTY;
  OK(glab_binary(&o, GLAB_ADD, &x, &bad) == GLAB_ESHAPE, "(4x3) + (4) is a shape error");
  OK(strstr(glab_errmsg(), "(4x3) and (4)") != NULL, "naming both shapes: %s", glab_errmsg());
  glab_binary(&x, GLAB_ADD, &x, &x);                         /* in place */
  NEAR(glab_tensor_flat_get(&x, 0), 2 * (glab_tensor_flat_get(&y, 0) + glab_tensor_flat_get(&b, 0)),
       1e-14, "out == a works in place");
  glab_tensor_free(&x); glab_tensor_free(&b); glab_tensor_free(&y); glab_tensor_free(&z);
  glab_tensor_free(&f); glab_tensor_free(&m); glab_tensor_free(&bad);
}

static void test_unary_stability(void) {
  double vals[4] = {-800, -1, 0, 800};
  glab_tensor x = GLAB_TENSOR_EMPTY, s = GLAB_TENSOR_EMPTY, p = GLAB_TENSOR_EMPTY;
  int64_t n = 4;
  glab_tensor_new(&x, GLAB_F64, 1, &n);
  memcpy(glab_tensor_data(&x), vals, sizeof vals);
  glab_unary(&s, GLAB_SIGMOID, &x);
  glab_unary(&p, GLAB_SOFTPLUS, &x);
  NEAR(glab_tensor_flat_get(&s, 0), 0, 0, "sigmoid(-800) = 0, not NaN");
  NEAR(glab_tensor_flat_get(&s, 3), 1, 0, "sigmoid(800) = 1");
  NEAR(glab_tensor_flat_get(&s, 1), 1 / (1 + exp(1.0)), 1e-16, "sigmoid(-1)");
  NEAR(glab_tensor_flat_get(&p, 3), 800, 0, "softplus(800) = 800, no overflow");
  NEAR(glab_tensor_flat_get(&p, 2), log(2.0), 1e-16, "softplus(0) = log 2");
  glab_tensor c = GLAB_TENSOR_EMPTY;
  glab_clamp(&c, &x, -1, 1);
  NEAR(glab_tensor_flat_get(&c, 0) + glab_tensor_flat_get(&c, 3), 0, 0, "clamp to [-1, 1]");
  glab_tensor_free(&x); glab_tensor_free(&s); glab_tensor_free(&p); glab_tensor_free(&c);
}

/* Float32 exp, sigmoid and tanh (fastmath.h, through glab_unary, whichever
** vector width the machine picks) against double libm over a sweep of 2^20
** points and the special values: exp and sigmoid within 2 and 4 ulp of the
** correctly rounded result, tanh within 4e-7 absolute. */
static double ulp_err(float got, double want) {
  float w = (float)want;
  if (got == w) return 0;
  if (isinf(w) || isinf(got)) return INFINITY;
  double ulp = fabs((double)nextafterf(w, INFINITY) - (double)w);
  if (ulp == 0 || w == 0) ulp = 1.401298464324817e-45;    /* smallest subnormal */
  return fabs((double)got - want) / ulp;
}

static void test_float_functions(void) {
  enum { N = 1 << 20, NS = 8 };
  static const float special[NS] = {0.0f, -0.0f, 88.72f, 88.73f, -103.0f, -110.0f, 1e-30f, -1e-30f};
  int64_t n = N + NS;
  glab_tensor x = GLAB_TENSOR_EMPTY, e = GLAB_TENSOR_EMPTY, s = GLAB_TENSOR_EMPTY,
              t = GLAB_TENSOR_EMPTY;
  glab_tensor_new(&x, GLAB_F32, 1, &n);
  float *xv = glab_tensor_data(&x);
  for (int i = 0; i < N; i++) xv[i] = -104.0f + 194.0f * (float)i / N;   /* -104 .. 90 */
  memcpy(xv + N, special, sizeof special);
  glab_unary(&e, GLAB_EXP, &x);
  glab_unary(&s, GLAB_SIGMOID, &x);
  glab_unary(&t, GLAB_TANH, &x);
  const float *ev = glab_tensor_data(&e), *sv = glab_tensor_data(&s), *tv = glab_tensor_data(&t);
  double me = 0, ms = 0, mt = 0;
  for (int64_t i = 0; i < n; i++) {
    double xi = xv[i];
    me = fmax(me, ulp_err(ev[i], exp(xi)));
    ms = fmax(ms, ulp_err(sv[i], 1 / (1 + exp(-xi))));
    mt = fmax(mt, fabs(tv[i] - tanh(xi)));
  }
  OK(me <= 2, "float32 exp within 2 ulp over [-104, 90] (max %.2f)", me);
  OK(ms <= 4, "float32 sigmoid within 4 ulp over [-104, 90] (max %.2f)", ms);
  OK(mt <= 4e-7, "float32 tanh within 4e-7 over [-104, 90] (max %.2g)", mt);
  float inf_nan[3] = {INFINITY, -INFINITY, NAN};
  memcpy(xv, inf_nan, sizeof inf_nan);
  glab_unary(&e, GLAB_EXP, &x);
  glab_unary(&s, GLAB_SIGMOID, &x);
  OK(isinf(ev[0]) && ev[1] == 0 && isnan(ev[2]), "float32 exp(inf, -inf, NaN) = inf, 0, NaN");
  OK(sv[0] == 1 && sv[1] == 0 && isnan(sv[2]), "float32 sigmoid(inf, -inf, NaN) = 1, 0, NaN");
  glab_tensor_free(&x); glab_tensor_free(&e); glab_tensor_free(&s); glab_tensor_free(&t);
}

/* glab_expf_nonpos, the sigmoid's exp, gives glab_expf's bits on every x <= 0
** (NaN and the infinities included), and the sigmoid kernel the bits of the
** expression on glab_expf: a sweep over one float32 bit pattern in 4,096. */
static void test_sigmoid_bits(void) {
  int64_t n = ((int64_t)1 << 32) / 4096;
  glab_tensor x = GLAB_TENSOR_EMPTY, s = GLAB_TENSOR_EMPTY;
  glab_tensor_new(&x, GLAB_F32, 1, &n);
  float *xv = glab_tensor_data(&x);
  for (int64_t i = 0; i < n; i++) {
    union { uint32_t u; float f; } b = {(uint32_t)(i * 4096 + (i * 61) % 4096)};
    xv[i] = b.f;
  }
  xv[0] = INFINITY, xv[1] = -INFINITY, xv[2] = NAN, xv[3] = -0.0f;
  glab_unary(&s, GLAB_SIGMOID, &x);
  const float *sv = glab_tensor_data(&s);
  int64_t bad_exp = 0, bad_sig = 0;
  for (int64_t i = 0; i < n; i++) {
    float a = -fabsf(xv[i]), e = glab_expf(a), e2 = glab_expf_nonpos(a);
    float r = 1.0f / (1.0f + e), want = xv[i] >= 0 ? r : (xv[i] < 0 ? e * r : xv[i]);
    bad_exp += memcmp(&e, &e2, sizeof e) != 0;
    bad_sig += memcmp(&want, &sv[i], sizeof want) != 0 && !(isnan(want) && isnan(sv[i]));
  }
  OK(bad_exp == 0, "glab_expf_nonpos has glab_expf's bits on x <= 0 (%lld of %lld differ)",
     (long long)bad_exp, (long long)n);
  OK(bad_sig == 0, "the sigmoid kernel has the bits of its expression on glab_expf (%lld differ)",
     (long long)bad_sig);
  glab_tensor_free(&x); glab_tensor_free(&s);
}

static void test_reductions(void) {
  glab_tensor a = GLAB_TENSOR_EMPTY, s = GLAB_TENSOR_EMPTY, v = GLAB_TENSOR_EMPTY;
  int64_t sh[2] = {3, 4};
  glab_tensor_arange(&a, GLAB_F64, 1, 13, 1);                /* 1..12 as 3x4 */
  glab_tensor m = GLAB_TENSOR_EMPTY;
  glab_tensor_view(&m, &a, 2, sh);
  glab_reduce(&s, GLAB_SUM, &m, 0, 0, 0);
  OK(s.ndim == 1 && s.shape[0] == 4, "sum over dim 0 gives (4)");
  NEAR(glab_tensor_flat_get(&s, 0), 1 + 5 + 9, 0, "column sums");
  glab_tensor all = GLAB_TENSOR_EMPTY;
  glab_reduce(&all, GLAB_SUM, &m, GLAB_ALLDIMS, 0, 0);
  NEAR(glab_tensor_flat_get(&all, 0), 78, 0, "sum of 1..12 = 78");
  glab_reduce(&v, GLAB_VAR, &m, 1, 1, 1);
  OK(v.ndim == 2 && v.shape[1] == 1, "keepdim keeps a size-1 dim");
  NEAR(glab_tensor_flat_get(&v, 0), 5.0 / 3.0, 1e-14, "unbiased var of 1,2,3,4 = 5/3");
  glab_tensor sd = GLAB_TENSOR_EMPTY;
  glab_reduce(&sd, GLAB_STD, &m, GLAB_ALLDIMS, 0, 0);
  NEAR(glab_tensor_flat_get(&sd, 0), sqrt(143.0 / 12.0), 1e-14, "population std of 1..12");
  glab_tensor mx = GLAB_TENSOR_EMPTY, ix = GLAB_TENSOR_EMPTY;
  glab_argreduce(&mx, &ix, 1, &m, 1, 0);
  NEAR(glab_tensor_flat_get(&mx, 2), 12, 0, "row max");
  NEAR(glab_tensor_flat_get(&ix, 2), 3, 0, "argmax is 0-based in C");
  glab_tensor big = GLAB_TENSOR_EMPTY, lse = GLAB_TENSOR_EMPTY;
  glab_binary_scalar(&big, GLAB_ADD, &m, 1000, 0);
  glab_reduce(&lse, GLAB_LOGSUMEXP, &big, 1, 0, 0);
  double ref = 1000 + 4 + log(exp(-3.0) + exp(-2.0) + exp(-1.0) + 1);
  NEAR(glab_tensor_flat_get(&lse, 0), ref, 1e-12, "logsumexp of 1001..1004 without overflow");
  glab_tensor_free(&a); glab_tensor_free(&m); glab_tensor_free(&s); glab_tensor_free(&v);
  glab_tensor_free(&all); glab_tensor_free(&sd); glab_tensor_free(&mx); glab_tensor_free(&ix);
  glab_tensor_free(&big); glab_tensor_free(&lse);
}

static void test_scans(void) {
  glab_tensor x = randn(GLAB_F64, 2, 5, 7, 0), sm = GLAB_TENSOR_EMPTY, ls = GLAB_TENSOR_EMPTY;
  glab_tensor rs = GLAB_TENSOR_EMPTY, cs = GLAB_TENSOR_EMPTY;
  glab_scan(&sm, GLAB_SOFTMAX, &x, 0);
  glab_reduce(&rs, GLAB_SUM, &sm, 0, 0, 0);
  double worst = 0;
  for (int64_t j = 0; j < 7; j++) worst = fmax(worst, fabs(glab_tensor_flat_get(&rs, j) - 1));
  NEAR(worst, 0, 1e-15, "softmax over dim 0 sums to 1 in every column");
  glab_scan(&ls, GLAB_LOG_SOFTMAX, &x, 0);
  NEAR(glab_tensor_flat_get(&ls, 10), log(glab_tensor_flat_get(&sm, 10)), 1e-14,
       "log_softmax = log(softmax)");
  glab_scan(&cs, GLAB_CUMSUM, &x, 1);
  double acc = 0;
  for (int j = 0; j < 7; j++) acc += glab_tensor_flat_get(&x, 14 + j);
  NEAR(glab_tensor_flat_get(&cs, 20), acc, 1e-14, "cumsum along a row");
  glab_tensor_free(&x); glab_tensor_free(&sm); glab_tensor_free(&ls);
  glab_tensor_free(&rs); glab_tensor_free(&cs);
}

/* C = A B by a triple loop in double, the reference for gemm. */
static double matmul_error(const glab_tensor *a, const glab_tensor *b, const glab_tensor *c) {
  int64_t m = a->shape[0], k = a->shape[1], n = b->shape[1];
  double worst = 0;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double acc = 0;
      for (int64_t l = 0; l < k; l++) {
        int64_t il[2] = {i, l}, lj[2] = {l, j};
        acc += glab_tensor_get(a, il) * glab_tensor_get(b, lj);
      }
      int64_t ij[2] = {i, j};
      worst = fmax(worst, fabs(glab_tensor_get(c, ij) - acc));
    }
  return worst;
}

static void test_matmul(void) {
  glab_dtype dts[2] = {GLAB_F64, GLAB_F32};
  double tol[2] = {1e-12, 1e-4};
  for (int d = 0; d < 2; d++) {
    glab_tensor a = randn(dts[d], 2, 37, 19, 0), b = randn(dts[d], 2, 19, 23, 0);
    glab_tensor c = GLAB_TENSOR_EMPTY, at = GLAB_TENSOR_EMPTY, bt = GLAB_TENSOR_EMPTY;
    glab_tensor a2 = GLAB_TENSOR_EMPTY, b2 = GLAB_TENSOR_EMPTY, c2 = GLAB_TENSOR_EMPTY;
    glab_matmul(&c, &a, &b);
    NEAR(matmul_error(&a, &b, &c), 0, tol[d], "%s matmul (37x19)@(19x23) matches the loop",
         glab_dtype_name(dts[d]));
    /* the same product from transposed storage: (A^T)^T without a copy */
    glab_tensor_clone(&at, &a);
    glab_tensor_free(&at);
    glab_tensor ta = GLAB_TENSOR_EMPTY, tb = GLAB_TENSOR_EMPTY;
    glab_tensor_transpose(&ta, &a, 0, 1);
    glab_tensor_clone(&a2, &ta);                  /* contiguous A^T */
    glab_tensor_transpose(&at, &a2, 0, 1);        /* view of A, column-major */
    glab_tensor_transpose(&tb, &b, 0, 1);
    glab_tensor_clone(&b2, &tb);
    glab_tensor_transpose(&bt, &b2, 0, 1);
    glab_matmul(&c2, &at, &bt);
    NEAR(max_abs_diff(&c, &c2), 0, tol[d], "%s matmul of transposed views", glab_dtype_name(dts[d]));
    glab_tensor_free(&a); glab_tensor_free(&b); glab_tensor_free(&c); glab_tensor_free(&at);
    glab_tensor_free(&bt); glab_tensor_free(&a2); glab_tensor_free(&b2); glab_tensor_free(&c2);
    glab_tensor_free(&ta); glab_tensor_free(&tb);
  }
  glab_tensor a = randn(GLAB_F64, 3, 4, 5, 6), b = randn(GLAB_F64, 2, 6, 2, 0);
  glab_tensor c = GLAB_TENSOR_EMPTY, a1 = GLAB_TENSOR_EMPTY, c1 = GLAB_TENSOR_EMPTY;
  glab_tensor s = GLAB_TENSOR_EMPTY;
  OK(glab_matmul(&c, &a, &b) == GLAB_OK && c.ndim == 3 && c.shape[0] == 4 && c.shape[2] == 2,
     "(4x5x6)@(6x2) broadcasts to (4x5x2)");
  glab_tensor_select(&a1, &a, 0, 3);
  glab_tensor_select(&c1, &c, 0, 3);
  NEAR(matmul_error(&a1, &b, &c1), 0, 1e-12, "batch element 4 is its own product");
  glab_tensor v = randn(GLAB_F64, 1, 6, 0, 0), mv = GLAB_TENSOR_EMPTY;
  glab_matmul(&mv, &a1, &v);
  OK(mv.ndim == 1 && mv.shape[0] == 5, "matrix @ vector is a vector");
  glab_dot(&s, &v, &v);
  glab_tensor sq = GLAB_TENSOR_EMPTY, ss = GLAB_TENSOR_EMPTY;
  glab_unary(&sq, GLAB_SQUARE, &v);
  glab_reduce(&ss, GLAB_SUM, &sq, GLAB_ALLDIMS, 0, 0);
  OK(s.ndim == 0, "dot gives a scalar");
  NEAR(glab_tensor_flat_get(&s, 0), glab_tensor_flat_get(&ss, 0), 1e-12, "dot(v, v) = sum v^2");
  glab_tensor bad = randn(GLAB_F64, 2, 128, 64, 0), w = randn(GLAB_F64, 2, 512, 256, 0);
  glab_tensor o = GLAB_TENSOR_EMPTY;
  OK(glab_matmul(&o, &w, &bad) == GLAB_ESHAPE, "inner dimensions must agree");
  OK(strcmp(glab_errmsg(), "matmul: (512x256) @ (128x64): inner dimensions differ") == 0, "%s",
     glab_errmsg());
  glab_tensor_free(&a); glab_tensor_free(&b); glab_tensor_free(&c); glab_tensor_free(&a1);
  glab_tensor_free(&c1); glab_tensor_free(&v); glab_tensor_free(&mv); glab_tensor_free(&s);
  glab_tensor_free(&sq); glab_tensor_free(&ss); glab_tensor_free(&bad); glab_tensor_free(&w);
}

/* glab_gemm_small against a loop in double: every column path (blocks of
** 64, 32 and 16 columns, a scalar rest), beta 0 and 1, padded leading
** dimensions, k = 0 (C is beta C), and rows that must not be touched. */
static void test_gemm_small(void) {
  static const int64_t shapes[][3] = {{32, 128, 32}, {32, 32, 128}, {5, 117, 9}, {3, 1, 4},
                                      {7, 50, 0}, {1, 16, 1}, {11, 80, 6}, {19, 48, 33}};
  glab_dtype dts[2] = {GLAB_F64, GLAB_F32};
  for (int d = 0; d < 2; d++)
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
      for (int beta = 0; beta < 2; beta++) {
        int64_t m = shapes[i][0], n = shapes[i][1], k = shapes[i][2];
        int64_t lda = k + 3, ldb = n + 5, ldc = n + 2;
        glab_tensor a = randn(dts[d], 2, m, lda, 0), b = randn(dts[d], 2, k + 1, ldb, 0);
        glab_tensor c = randn(dts[d], 2, m + 1, ldc, 0), c0 = GLAB_TENSOR_EMPTY;
        glab_tensor_clone(&c0, &c);
        glab_gemm_small(dts[d], m, n, k, glab_tensor_data(&a), lda, glab_tensor_data(&b), ldb,
                        beta, glab_tensor_data(&c), ldc);
        double err = 0, untouched = 0;
        for (int64_t r = 0; r <= m; r++)
          for (int64_t j = 0; j < ldc; j++) {
            double want = glab_tensor_flat_get(&c0, r * ldc + j);
            double got = glab_tensor_flat_get(&c, r * ldc + j);
            if (r == m || j >= n) {
              untouched += fabs(got - want);
              continue;
            }
            want = beta ? want : 0;
            for (int64_t q = 0; q < k; q++)
              want += glab_tensor_flat_get(&a, r * lda + q) * glab_tensor_flat_get(&b, q * ldb + j);
            if (fabs(got - want) > err || got != got) err = fabs(got - want);
          }
        NEAR(err, 0, dts[d] == GLAB_F64 ? 1e-12 : 1e-4,
             "%s gemm_small (%lldx%lld)@(%lldx%lld), beta %d, matches the loop",
             glab_dtype_name(dts[d]), (long long)m, (long long)k, (long long)k, (long long)n, beta);
        OK(untouched == 0, "%s gemm_small leaves the padding and the next row alone",
           glab_dtype_name(dts[d]));
        /* float32 (our kernel; float64 is BLAS's): each row alone gives the bits it gets in
        ** a tile, so callers may split the rows */
        glab_tensor c1 = GLAB_TENSOR_EMPTY;
        glab_tensor_clone(&c1, &c0);
        size_t es = glab_dtype_size(dts[d]);
        for (int64_t r = 0; r < m && dts[d] == GLAB_F32; r++)
          glab_gemm_small(dts[d], 1, n, k, (char *)glab_tensor_data(&a) + (size_t)(r * lda) * es,
                          lda, glab_tensor_data(&b), ldb, beta,
                          (char *)glab_tensor_data(&c1) + (size_t)(r * ldc) * es, ldc);
        if (dts[d] == GLAB_F32)
          OK(memcmp(glab_tensor_data(&c1), glab_tensor_data(&c), (size_t)(m * ldc) * es) == 0,
             "float32 gemm_small (%lld rows, beta %d): a row alone gives the bits it gets "
             "in a tile", (long long)m, beta);
        glab_tensor_free(&c1);
        glab_tensor_free(&a); glab_tensor_free(&b); glab_tensor_free(&c); glab_tensor_free(&c0);
      }
}

static void test_matmul_into_out(void) {
  glab_tensor a = randn(GLAB_F32, 2, 6, 5, 0), b = randn(GLAB_F32, 2, 5, 4, 0);
  glab_tensor ref = GLAB_TENSOR_EMPTY, c = GLAB_TENSOR_EMPTY;
  glab_matmul(&ref, &a, &b);
  int64_t sh[2] = {6, 4};
  glab_tensor_full(&c, GLAB_F32, 2, sh, 99);
  void *before = c.storage->data;
  OK(glab_matmul(&c, &a, &b) == GLAB_OK && c.storage->data == before,
     "matmul writes into an existing contiguous out");
  NEAR(max_abs_diff(&c, &ref), 0, 0, "with the same values");
  glab_tensor big = GLAB_TENSOR_EMPTY, tv = GLAB_TENSOR_EMPTY;
  int64_t shb[2] = {4, 6};
  glab_tensor_full(&big, GLAB_F32, 2, shb, 0);
  glab_tensor_transpose(&tv, &big, 0, 1);                   /* (6x4), not contiguous */
  OK(glab_matmul(&tv, &a, &b) == GLAB_OK, "matmul into a transposed view");
  NEAR(max_abs_diff(&tv, &ref), 0, 0, "lands in the right places");
  glab_tensor wrong = GLAB_TENSOR_EMPTY;
  glab_tensor_full(&wrong, GLAB_F32, 2, shb, 0);
  OK(glab_matmul(&wrong, &a, &b) == GLAB_ESHAPE, "an out of the wrong shape is refused");
  glab_tensor_free(&a); glab_tensor_free(&b); glab_tensor_free(&ref); glab_tensor_free(&c);
  glab_tensor_free(&big); glab_tensor_free(&tv); glab_tensor_free(&wrong);
}

/* An out that is an operand (or overlaps one) gets the product of the values
** before the call, as numpy's matmul(a, a, out=a) does. */
static void test_matmul_aliased_out(void) {
  glab_tensor a = randn(GLAB_F64, 2, 5, 5, 0), ref = GLAB_TENSOR_EMPTY;
  glab_tensor a0 = GLAB_TENSOR_EMPTY, at = GLAB_TENSOR_EMPTY;
  glab_tensor_clone(&a0, &a);
  glab_matmul(&ref, &a0, &a0);
  OK(glab_matmul(&a, &a, &a) == GLAB_OK, "matmul(a, a) into a");
  NEAR(max_abs_diff(&a, &ref), 0, 1e-12, "is a0 @ a0, not a product of half-written rows");
  glab_tensor_free(&ref);
  glab_tensor_transpose(&at, &a0, 0, 1);
  glab_tensor a1 = GLAB_TENSOR_EMPTY;
  glab_tensor_clone(&a1, &a0);
  glab_matmul(&ref, &a1, &a1);                  /* reference from untouched copies */
  glab_tensor_free(&ref);
  glab_tensor t0 = GLAB_TENSOR_EMPTY;
  glab_tensor_clone(&t0, &at);
  glab_matmul(&ref, &a1, &t0);
  OK(glab_matmul(&a0, &a0, &at) == GLAB_OK, "matmul(a, a^T view) into a");
  NEAR(max_abs_diff(&a0, &ref), 0, 1e-12, "is a @ a^T of the old values");
  glab_tensor_free(&a); glab_tensor_free(&a0); glab_tensor_free(&at); glab_tensor_free(&ref);
  glab_tensor_free(&a1); glab_tensor_free(&t0);
}

static void test_indexing(void) {
  glab_tensor a = GLAB_TENSOR_EMPTY, m = GLAB_TENSOR_EMPTY, idx = GLAB_TENSOR_EMPTY;
  int64_t sh[2] = {4, 3}, two = 2;
  glab_tensor_arange(&a, GLAB_F32, 0, 12, 1);
  glab_tensor_view(&m, &a, 2, sh);
  glab_tensor_new(&idx, GLAB_F64, 1, &two);
  ((double *)glab_tensor_data(&idx))[0] = 3;
  ((double *)glab_tensor_data(&idx))[1] = 0;
  glab_tensor sel = GLAB_TENSOR_EMPTY;
  glab_index_select(&sel, &m, 0, &idx);
  NEAR(glab_tensor_flat_get(&sel, 0), 9, 0, "index_select picks row 4 first");
  NEAR(glab_tensor_flat_get(&sel, 5), 2, 0, "then row 1");
  ((double *)glab_tensor_data(&idx))[0] = 4;
  OK(glab_index_select(&sel, &m, 0, &idx) == GLAB_EINDEX, "an index past the end is an error");
  glab_tensor vals = GLAB_TENSOR_EMPTY, ord = GLAB_TENSOR_EMPTY;
  glab_sort(&vals, &ord, &m, 0, 1);
  NEAR(glab_tensor_flat_get(&vals, 0), 9, 0, "descending sort along dim 0");
  NEAR(glab_tensor_flat_get(&ord, 0), 3, 0, "with source positions");
  glab_tensor parts[2] = {GLAB_TENSOR_EMPTY, GLAB_TENSOR_EMPTY}, cat = GLAB_TENSOR_EMPTY;
  glab_tensor_narrow(&parts[0], &m, 0, 0, 1);
  glab_tensor_narrow(&parts[1], &m, 0, 3, 1);
  const glab_tensor *ps[2] = {&parts[0], &parts[1]};
  glab_cat(&cat, ps, 2, 1);
  OK(cat.shape[0] == 1 && cat.shape[1] == 6, "cat along dim 1: (1x3)+(1x3) = (1x6)");
  NEAR(glab_tensor_flat_get(&cat, 3), 9, 0, "second part follows the first");
  glab_tensor mask = GLAB_TENSOR_EMPTY, ms = GLAB_TENSOR_EMPTY;
  glab_binary_scalar(&mask, GLAB_GT, &m, 7.5, 0);
  glab_masked_select(&ms, &m, &mask);
  OK(ms.ndim == 1 && ms.shape[0] == 4, "masked_select of x > 7.5 gives 4 values");
  glab_tensor_free(&a); glab_tensor_free(&m); glab_tensor_free(&idx); glab_tensor_free(&sel);
  glab_tensor_free(&vals); glab_tensor_free(&ord); glab_tensor_free(&parts[0]);
  glab_tensor_free(&parts[1]); glab_tensor_free(&cat); glab_tensor_free(&mask); glab_tensor_free(&ms);
}

int main(void) {
  glab_rng_seed(&rng, 7);
  test_broadcast_arith();
  test_unary_stability();
  test_float_functions();
  test_sigmoid_bits();
  test_reductions();
  test_scans();
  test_matmul();
  test_matmul_into_out();
  test_gemm_small();
  test_matmul_aliased_out();
  test_indexing();
  return tap_done();
}
