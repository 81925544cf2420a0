/*
** conv_shift.c -- shifted plane sums for stride-1 convolutions (see
** conv_shift.h).
**
** The kernel keeps a block of OB outputs by a strip of 16 positions in
** registers and streams every (input plane, kernel offset) past them: each
** strip of input loaded feeds OB multiply-adds per lane, so the loop is
** bound by arithmetic, not memory, once it is vectorised.  It is compiled
** for AVX-512 (x86-64-v4), AVX2 + FMA (x86-64-v3) and the baseline, and the
** loader picks the best the machine runs: on one core, for seed 004's
** 8 -> 8 channel layer, 6 GFLOP/s baseline, 20-30 with AVX2 and a fifth
** more with AVX-512.
*/
#include <string.h>

#include "../tensor/fastmath.h"
#include "conv_shift.h"

#define S GLAB_SHIFT_STRIP

/* A strip of S values as one of GCC's vector types (split into halves or
** quarters where the machine's vectors are narrower), and its unaligned
** twin for loads at any element: float32's are fastmath.h's. */
_Static_assert(S == 16, "a float32 strip is one glab_v16f");
typedef glab_v16f vf;
typedef glab_v16f_u vf_u;
typedef double vd __attribute__((vector_size(S * sizeof(double))));
typedef double vd_u __attribute__((vector_size(S * sizeof(double)), aligned(sizeof(double))));

/* One block of ob outputs from a0 over the strip at u0; inlined where ob is
** a constant, so that acc lives in registers. */
static inline __attribute__((always_inline)) void
shift_block_f32(float *restrict out, int64_t ldo, const float *restrict in, int64_t ldi, int64_t nb,
               const float *restrict wq, const int64_t *restrict shift, int64_t nq, int64_t na,
               int64_t u0, int64_t a0, const int ob) {
  vf acc[8] = {0};
  for (int64_t b = 0; b < nb; b++)
    for (int64_t q = 0; q < nq; q++) {
      vf x = *(const vf_u *)(in + b * ldi + u0 + shift[q]);
      const float *w = wq + (b * nq + q) * na + a0;
#pragma GCC unroll 8
      for (int a = 0; a < ob; a++) acc[a] += w[a] * x;
    }
#pragma GCC unroll 8
  for (int a = 0; a < ob; a++) *(vf_u *)(out + (a0 + a) * ldo + u0) = acc[a];
}

GLAB_MULTIVERSION static void shift_conv_f32(float *restrict out, int64_t ldo,
                                          const float *restrict in, int64_t ldi, int64_t nb,
                                          const float *restrict wq,
                                          const int64_t *restrict shift, int64_t nq,
                                          int64_t na, int64_t len) {
  for (int64_t u0 = 0; u0 < len; u0 += S) {
    int64_t a0 = 0;
    for (; a0 + 8 <= na; a0 += 8)
      shift_block_f32(out, ldo, in, ldi, nb, wq, shift, nq, na, u0, a0, 8);
    for (; a0 < na; a0++) shift_block_f32(out, ldo, in, ldi, nb, wq, shift, nq, na, u0, a0, 1);
  }
}

/* One block of ob outputs from a0 over the strip at u0; inlined where ob is
** a constant, so that acc lives in registers. */
static inline __attribute__((always_inline)) void
shift_block_f64(double *restrict out, int64_t ldo, const double *restrict in, int64_t ldi, int64_t nb,
               const double *restrict wq, const int64_t *restrict shift, int64_t nq, int64_t na,
               int64_t u0, int64_t a0, const int ob) {
  vd acc[4] = {0};
  for (int64_t b = 0; b < nb; b++)
    for (int64_t q = 0; q < nq; q++) {
      vd x = *(const vd_u *)(in + b * ldi + u0 + shift[q]);
      const double *w = wq + (b * nq + q) * na + a0;
#pragma GCC unroll 4
      for (int a = 0; a < ob; a++) acc[a] += w[a] * x;
    }
#pragma GCC unroll 4
  for (int a = 0; a < ob; a++) *(vd_u *)(out + (a0 + a) * ldo + u0) = acc[a];
}

GLAB_MULTIVERSION static void shift_conv_f64(double *restrict out, int64_t ldo,
                                          const double *restrict in, int64_t ldi, int64_t nb,
                                          const double *restrict wq,
                                          const int64_t *restrict shift, int64_t nq,
                                          int64_t na, int64_t len) {
  for (int64_t u0 = 0; u0 < len; u0 += S) {
    int64_t a0 = 0;
    for (; a0 + 4 <= na; a0 += 4)
      shift_block_f64(out, ldo, in, ldi, nb, wq, shift, nq, na, u0, a0, 4);
    for (; a0 < na; a0++) shift_block_f64(out, ldo, in, ldi, nb, wq, shift, nq, na, u0, a0, 1);
  }
}

void glab_shift_conv(glab_dtype dt, void *out, int64_t ldo, const void *in, int64_t ldi,
                     int64_t nb, const void *wq, const int64_t *shift, int64_t nq, int64_t na,
                     int64_t len) {
  if (dt == GLAB_F64) shift_conv_f64(out, ldo, in, ldi, nb, wq, shift, nq, na, len);
  else shift_conv_f32(out, ldo, in, ldi, nb, wq, shift, nq, na, len);
}

/* gw[q][a][b] += sum over u < len of g[a][u] x[b][u + shift[q]], up to nine
** offsets at a time: the strip of g is loaded once for them, each (offset,
** strip of x) feeds one multiply-add per lane, and the nine sums stay in
** vector registers (GCC's vector types: split into halves or quarters where
** the machine's vectors are narrower) until the row ends. */

static inline __attribute__((always_inline)) void
wgrad_pair_f32(float *restrict gw, int64_t ldw, const float *restrict g,
               const float *restrict x, const int64_t *restrict shift, int64_t q0, const int nq,
               int64_t len) {
  vf acc[9] = {0};
  const float *xq[9];
  for (int q = 0; q < nq; q++) xq[q] = x + shift[q0 + q];
  for (int64_t u = 0; u < len; u += S) {
    vf gu = *(const vf_u *)(g + u);
#pragma GCC unroll 9
    for (int q = 0; q < nq; q++) acc[q] += gu * *(const vf_u *)(xq[q] + u);
  }
  for (int q = 0; q < nq; q++) {
    float t = 0;
    for (int s = 0; s < S; s++) t += acc[q][s];
    gw[(q0 + q) * ldw] += t;
  }
}

GLAB_MULTIVERSION static void shift_wgrad_f32(float *restrict gw, const float *restrict g,
                                              int64_t ldg, const float *restrict x, int64_t ldx,
                                              int64_t na, int64_t nb,
                                              const int64_t *restrict shift, int64_t nq,
                                              int64_t len) {
  for (int64_t a = 0; a < na; a++)
    for (int64_t b = 0; b < nb; b++)
      for (int64_t q0 = 0; q0 < nq; q0 += 9) {
        float *w = gw + a * nb + b;
        const float *ga = g + a * ldg, *xb = x + b * ldx;
        if (nq - q0 >= 9) wgrad_pair_f32(w, na * nb, ga, xb, shift, q0, 9, len);
        else
          for (int64_t q = q0; q < nq; q++) wgrad_pair_f32(w, na * nb, ga, xb, shift, q, 1, len);
      }
}

/* float64 (the tests' and checks' dtype) takes the plain loop. */
static void shift_wgrad_f64(double *restrict gw, const double *restrict g, int64_t ldg,
                            const double *restrict x, int64_t ldx, int64_t na, int64_t nb,
                            const int64_t *restrict shift, int64_t nq, int64_t len) {
  for (int64_t q = 0; q < nq; q++)
    for (int64_t a = 0; a < na; a++)
      for (int64_t b = 0; b < nb; b++) {
        double t = 0;
        for (int64_t u = 0; u < len; u++) t += g[a * ldg + u] * x[b * ldx + u + shift[q]];
        gw[(q * na + a) * nb + b] += t;
      }
}

void glab_shift_wgrad(glab_dtype dt, void *gw, const void *g, int64_t ldg, const void *x,
                      int64_t ldx, int64_t na, int64_t nb, const int64_t *shift, int64_t nq,
                      int64_t len) {
  if (dt == GLAB_F64) shift_wgrad_f64(gw, g, ldg, x, ldx, na, nb, shift, nq, len);
  else shift_wgrad_f32(gw, g, ldg, x, ldx, na, nb, shift, nq, len);
}

void glab_place_planes(glab_dtype dt, void *dst, int64_t dps, int64_t dlen, int64_t org,
                       int64_t dw, const void *src, int64_t n, int64_t h, int64_t w) {
  size_t es = glab_dtype_size(dt);
  char *d = dst;
  const char *s = src;
  for (int64_t p = 0; p < n; p++) {
    memset(d + (size_t)(p * dps) * es, 0, (size_t)dlen * es);
    for (int64_t r = 0; r < h; r++)
      memcpy(d + (size_t)(p * dps + org + r * dw) * es, s + (size_t)((p * h + r) * w) * es,
             (size_t)w * es);
  }
}

void glab_take_planes(glab_dtype dt, void *dst, const void *src, int64_t sps, int64_t org,
                      int64_t sw, int64_t n, int64_t h, int64_t w) {
  size_t es = glab_dtype_size(dt);
  char *d = dst;
  const char *s = src;
  for (int64_t p = 0; p < n; p++)
    for (int64_t r = 0; r < h; r++)
      memcpy(d + (size_t)((p * h + r) * w) * es, s + (size_t)(p * sps + org + r * sw) * es,
             (size_t)w * es);
}
