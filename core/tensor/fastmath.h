/*
** fastmath.h -- elementary functions that the compiler can vectorise, for
** the float32 hot loops (internal to the core; see ops.c, nn_lstm.c).
*/
#ifndef GLAB_FASTMATH_H
#define GLAB_FASTMATH_H

#include <math.h>

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

#endif
