/*
** fastmath.h -- elementary functions that the compiler can vectorise, for
** the float32 hot loops, and the attribute that builds such loops for the
** wider vector units (internal to the core; see ops.c, nn_lstm.c).
*/
#ifndef GLAB_FASTMATH_H
#define GLAB_FASTMATH_H

#include <math.h>
#include <stdint.h>

/* Put before a function whose loops are worth building three times (AVX-512,
** AVX2 + FMA, baseline x86-64): the loader picks the best the machine runs.
** The build itself stays generic (-O2, no -march), and as ISO C does not
** contract a * b + c into an FMA, each version gives the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GLAB_MULTIVERSION \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
/* Where AVX-512 pays beyond what GCC's vectors give (masks, permutes,
** registers kept by hand), a kernel of its own: target("avx512f"), called
** when __builtin_cpu_supports("avx512f"), beside the portable path. */
#define GLAB_AVX512_KERNELS 1
#include <immintrin.h>
#else
#define GLAB_MULTIVERSION
#endif

/* 16 floats as one GCC vector (split where the machine's vectors are
** narrower), for sums kept in registers; glab_v16f_u loads and stores at
** any float's alignment, from rows. */
typedef float glab_v16f __attribute__((vector_size(16 * sizeof(float))));
typedef float glab_v16f_u __attribute__((vector_size(16 * sizeof(float)), aligned(sizeof(float))));

/* tanh for float32 as a rational function (Eigen's generic_fast_tanh_float):
** within 4e-7 of tanh everywhere (3 ulp), NaN propagating, and without a
** libm call, so the compiler vectorises a row of it (glibc's tanhf costs
** about 10 ns an element, most of a small MLP's non-GEMM time). */
static inline float glab_tanhf(float x) {
  const float c = 7.90531110763549805f;      /* tanh rounds to +-1 beyond */
  float xc = x > c ? c : (x < -c ? -c : x), x2 = xc * xc;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  float r = p * xc / q;           /* unconditional: a select, not a branch */
  return fabsf(x) < 0.0004f ? x : r;
}

/* exp for float32 (Cephes' expf polynomial): x = n ln2 + r with |r| <= ln2/2,
** n rounded by the 1.5 * 2^23 trick (no libm call, no branch), e^r by a
** polynomial, and 2^n applied as two factors so that results in the
** subnormal range round once.  Within 2 ulp of exp over the floats (the
** sweep in tests/c/test_ops.c); inf beyond 88.72, 0 below -103.98, NaN
** propagating.  glibc's expf called per element cost 3 ns, twice that in a
** sigmoid.  glab_expf_of_clamped is its arithmetic, for an x already within
** [GLAB_EXPF_LO, GLAB_EXPF_HI]. */
static inline float glab_expf_of_clamped(float xc) {
  const float magic = 12582912.0f;
  float t = xc * 1.44269504088896341f + magic;   /* n + magic, rounded to nearest */
  float n = t - magic;
  float r = xc - n * 0.693359375f;               /* ln2 in two parts: n * 0.693359375 exact */
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float e = p * r * r + r + 1.0f;
  union { float f; uint32_t u; } tb = {t}, m = {magic}, s1, s2;
  int32_t ni = (int32_t)(tb.u - m.u), n1 = ni / 2;   /* n in [-150, 128]: 2^n1 2^(n - n1) */
  s1.u = (uint32_t)(n1 + 127) << 23;             /* unsigned: a NaN's bits shift harmlessly */
  s2.u = (uint32_t)(ni - n1 + 127) << 23;
  return e * s1.f * s2.f;
}

#define GLAB_EXPF_HI 88.72283935546875f
#define GLAB_EXPF_LO -103.97208404541015625f

static inline float glab_expf(float x) {
  float xc = x > GLAB_EXPF_HI ? GLAB_EXPF_HI : (x < GLAB_EXPF_LO ? GLAB_EXPF_LO : x);
  float y = glab_expf_of_clamped(xc);
  return x > GLAB_EXPF_HI ? INFINITY : (x < GLAB_EXPF_LO ? 0.0f : y);
}

/* glab_expf of an x <= 0 (or NaN), its bits without the overflow side's
** selects: a sigmoid's e^-|x|. */
static inline float glab_expf_nonpos(float x) {
  float y = glab_expf_of_clamped(x < GLAB_EXPF_LO ? GLAB_EXPF_LO : x);
  return x < GLAB_EXPF_LO ? 0.0f : y;
}

/* 1 / (1 + e^-x), as e^x / (1 + e^x) for x < 0 so that e^-x cannot
** overflow while the result is still a (subnormal) float: within 4 ulp over
** the floats, 0 and 1 in the limits, NaN propagating. */
static inline float glab_sigmoidf(float x) {
  float e = glab_expf_nonpos(-fabsf(x)), r = 1.0f / (1.0f + e);
  return x >= 0 ? r : (x < 0 ? e * r : x);
}

#endif
