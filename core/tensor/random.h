/*
** random.h -- explicit random generators (xoshiro256++, seeded through
** splitmix64) and the tensor samplers built on them.
**
**     glab_rng g;
**     glab_rng_seed(&g, 42);
**     glab_rand_normal(&g, &x, 0.0, 1.0);     // fills x in row-major order
**
** Every sampler consumes the generator in the row-major order of its output
** on the calling thread, so one seed gives the same numbers on every run and
** whatever the thread count (large draws of normals compute their Box-Muller
** transforms on the pool, from uniforms drawn in order).  float32 uniforms use 24 random
** bits, float64 ones 53, so that a uniform never rounds up to 1.
*/
#ifndef GLAB_RANDOM_H
#define GLAB_RANDOM_H

#include <stdint.h>

#include "tensor.h"

typedef struct glab_rng {
  uint64_t s[4];
  int has_spare;      /* Box-Muller makes normals in pairs */
  double spare;
} glab_rng;

void glab_rng_seed(glab_rng *g, uint64_t seed);
/* The next 64 bits of xoshiro256++; inline, as the samplers call it per
** element. */
static inline uint64_t glab_rng_next(glab_rng *g) {
  uint64_t *s = g->s;
  uint64_t x = s[0] + s[3], result = ((x << 23) | (x >> 41)) + s[0];
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = (s[3] << 45) | (s[3] >> 19);
  return result;
}
double glab_rng_uniform(glab_rng *g);          /* [0, 1), 53 bits */
double glab_rng_normal(glab_rng *g);           /* N(0, 1) */
/* Uniform integer in [0, n), without modulo bias; n > 0. */
uint64_t glab_rng_below(glab_rng *g, uint64_t n);

/* In place on an existing tensor t. */
glab_status glab_rand_uniform(glab_rng *g, glab_tensor *t, double lo, double hi);
glab_status glab_rand_normal(glab_rng *g, glab_tensor *t, double mean, double std);
/* Integers in [lo, hi). */
glab_status glab_rand_int(glab_rng *g, glab_tensor *t, int64_t lo, int64_t hi);
/* out (p's shape) = 1 with probability p, else 0; p must lie in [0, 1]. */
glab_status glab_rand_bernoulli(glab_rng *g, glab_tensor *out, const glab_tensor *p);
/* n 0-based category indices per row of weights w (k) or (b, k); weights
** need not sum to 1 but must be finite, non-negative and not all zero.
** Without replacement n may not exceed the number of non-zero weights. */
glab_status glab_rand_categorical(glab_rng *g, glab_tensor *out, const glab_tensor *w,
                                  int64_t n, int replacement);
/* A uniformly random ordering of 0..n-1 (Fisher-Yates). */
glab_status glab_rand_permutation(glab_rng *g, glab_tensor *out, int64_t n,
                                  glab_dtype dt);

#endif
