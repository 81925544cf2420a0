/*
** test_autoreg.c -- the CPT walks against brute force: H(p), the mass and
** the support against a loop over all 2^n images multiplying n entries
** each; the likely images against the same list filtered; uniform tables
** against n log 2; the same bits on 1 thread and on all; float32 tables;
** the statuses for a bad count, a reached entry outside [0, 1] and the
** indifference to garbage under prefixes of probability 0.
** Tolerances: 1e-12 relative for sums of ~1 (float64).
*/
#include <math.h>
#include <string.h>

#include "../../core/models/autoreg.h"
#include "../../core/tensor/ops.h"
#include "../../core/tensor/random.h"
#include "tap.h"

#define N 12

static glab_rng rng;
static glab_tensor tab[GLAB_AUTOREG_MAX_PIXELS];
static const glab_tensor *cpt[GLAB_AUTOREG_MAX_PIXELS];

static void set1(glab_tensor *t, int64_t i, double v) { glab_tensor_set(t, &i, v); }

/* Tables for n pixels: p(x_i = 1 | c) uniform in (0, 1), with about one
** prefix in zero_every given p = 0 or 1 (so that part of the tree is
** empty); zero_every 0 for none, and q1 < 0 for every entry 1/2. */
static void make(int n, int zero_every, double q1, glab_dtype dt) {
  for (int i = 0; i < n; i++) {
    int64_t k = (int64_t)2 << i;
    glab_tensor_free(&tab[i]);
    glab_tensor_new(&tab[i], dt, 1, &k);
    for (int64_t c = 0; c < k / 2; c++) {
      double u = q1 >= 0 ? q1 : glab_rng_uniform(&rng);
      if (zero_every && glab_rng_uniform(&rng) < 1.0 / zero_every) u = u < 0.5 ? 0 : 1;
      set1(&tab[i], 2 * c + 1, u);
      set1(&tab[i], 2 * c, 1 - u);
    }
    cpt[i] = &tab[i];
  }
}

/* p(x) for the image of code x, the entries multiplied in order. */
static double prob(int n, int64_t x) {
  double p = 1;
  for (int i = 0; i < n; i++) p *= glab_tensor_flat_get(&tab[i], x >> (n - 1 - i));
  return p;
}

static void test_against_brute_force(void) {
  for (int z = 0; z <= 4; z += 4) {
    make(N, z, -1, GLAB_F64);
    double h = 0, m = 0;
    int64_t sup = 0;
    for (int64_t x = 0; x < (1 << N); x++) {
      double p = prob(N, x);
      if (p > 0) h -= p * log(p), m += p, sup++;
    }
    glab_autoreg_sums st;
    OK(glab_autoreg_entropy(&st, cpt, N) == GLAB_OK, "entropy of random tables (zeros: %d)", z);
    NEAR(st.entropy, h, 1e-12 * h, "H(p) as brute force (%.6f nats)", h);
    NEAR(st.mass, m, 1e-12, "the mass sums to %.15f", m);
    OK(st.support == sup, "support %lld as brute force %lld", (long long)st.support, (long long)sup);

    double min_p = 2e-4;
    glab_tensor X = GLAB_TENSOR_EMPTY, P = GLAB_TENSOR_EMPTY;
    int complete = 0;
    OK(glab_autoreg_states(&X, &P, &complete, cpt, N, min_p, 1 << N) == GLAB_OK && complete,
       "states above %g", min_p);
    int64_t r = 0, bad = 0;
    for (int64_t x = 0; x < (1 << N); x++) {
      double p = prob(N, x);
      if (p <= 0 || p < min_p) continue;
      int64_t code = 0;
      for (int j = 0; r < X.shape[0] && j < N; j++) code = 2 * code + (int64_t)glab_tensor_flat_get(&X, r * N + j);
      if (r >= X.shape[0] || code != x || fabs(glab_tensor_flat_get(&P, r) - p) > 1e-14) bad++;
      r++;
    }
    OK(bad == 0 && r == X.shape[0], "%lld images in code order with their p(x), as brute force (%lld)",
       (long long)X.shape[0], (long long)r);
    glab_tensor_free(&X);
    glab_tensor_free(&P);
    OK(glab_autoreg_states(&X, &P, &complete, cpt, N, 0, 5) == GLAB_OK && !complete && X.shape[0] == 5,
       "max = 5 keeps 5 and says the list is incomplete");
    glab_tensor_free(&X);
    glab_tensor_free(&P);
  }
}

static void test_uniform_and_threads(void) {
  int n = 22;
  make(n, 0, 0.5, GLAB_F64);
  glab_autoreg_sums all, one;
  int threads = glab_get_num_threads();
  OK(glab_autoreg_entropy(&all, cpt, n) == GLAB_OK, "uniform tables, %d pixels", n);
  NEAR(all.entropy, n * log(2.0), 1e-12 * n, "H = n log 2");
  OK(all.support == (int64_t)1 << n, "all 2^%d images", n);
  make(n, 8, -1, GLAB_F64);
  glab_autoreg_entropy(&all, cpt, n);
  glab_set_num_threads(1);
  glab_autoreg_entropy(&one, cpt, n);
  glab_set_num_threads(threads);
  OK(all.entropy == one.entropy && all.mass == one.mass && all.support == one.support,
     "the same bits on 1 thread and on %d", threads);
}

static void test_float32(void) {
  make(N, 4, -1, GLAB_F32);
  double h = 0;
  for (int64_t x = 0; x < (1 << N); x++) {
    double p = prob(N, x);                   /* float32 entries, multiplied in double */
    if (p > 0) h -= p * log(p);
  }
  glab_autoreg_sums st;
  OK(glab_autoreg_entropy(&st, cpt, N) == GLAB_OK, "float32 tables");
  NEAR(st.entropy, h, 1e-12 * h, "H(p) of float32 tables");
}

static void test_statuses(void) {
  make(N, 0, 0.5, GLAB_F64);
  glab_autoreg_sums st;
  OK(glab_autoreg_entropy(&st, cpt + 1, N - 1) == GLAB_ESHAPE &&
     strstr(glab_errmsg(), "CPT 1 has 4 entries, expected 2^1 = 2"), "shifted tables: %s", glab_errmsg());
  OK(glab_autoreg_entropy(&st, cpt, 0) == GLAB_EARG, "0 tables: %s", glab_errmsg());
  set1(&tab[2], 2 * 2 + 1, 1.5);       /* CPT 3, prefix x1 x2 = 10, x3 = 1 */
  OK(glab_autoreg_entropy(&st, cpt, N) == GLAB_EARG &&
     strstr(glab_errmsg(), "CPT 3 holds 1.5 for x3 = 1 after x1..x2 = 10: not a probability"),
     "a reached entry out of range: %s", glab_errmsg());
  glab_tensor X = GLAB_TENSOR_EMPTY, P = GLAB_TENSOR_EMPTY;
  int complete;
  OK(glab_autoreg_states(&X, &P, &complete, cpt, N, 0, 1 << N) == GLAB_EARG, "states: the same fault");
  /* p(x1 = 1) = 0: everything under x1 = 1 may be garbage */
  make(N, 0, 0.5, GLAB_F64);
  set1(&tab[0], 1, 0);
  set1(&tab[0], 0, 1);
  for (int i = 1; i < N; i++) {
    int64_t k = (int64_t)2 << i;
    for (int64_t j = k / 2; j < k; j++) set1(&tab[i], j, NAN);
  }
  OK(glab_autoreg_entropy(&st, cpt, N) == GLAB_OK, "NaN under a prefix of probability 0 is never read");
  NEAR(st.entropy, (N - 1) * log(2.0), 1e-12, "H = (n - 1) log 2");
  set1(&tab[0], 0, NAN);
  OK(glab_autoreg_entropy(&st, cpt, N) == GLAB_EARG && strstr(glab_errmsg(), "CPT 1 holds nan for x1 = 0"),
     "NaN where it matters: %s", glab_errmsg());
  glab_tensor_free(&X);
  glab_tensor_free(&P);
}

int main(void) {
  glab_rng_seed(&rng, 25);
  test_against_brute_force();
  test_uniform_and_threads();
  test_float32();
  test_statuses();
  for (int i = 0; i < GLAB_AUTOREG_MAX_PIXELS; i++) glab_tensor_free(&tab[i]);
  return tap_done();
}
