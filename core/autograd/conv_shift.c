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

/* lanes[q][a][b][s] += the sum over strips u of g[a][u + s] x[b][u + s + shift[q]],
** up to nine offsets at a time: the strip of g is loaded once for them, each
** (offset, strip of x) feeds one multiply-add per lane, and the nine sums
** stay in vector registers (GCC's vector types: split into halves or
** quarters where the machine's vectors are narrower) until the row ends.
** The sums stay in lanes across calls: folding them once, after the last
** image, spares a 16-way horizontal sum per weight and image, which had cost
** as much as the multiply-adds for planes of 7 x 7 to 14 x 14. */

static inline __attribute__((always_inline)) void
wgrad_block_f32(float *restrict lanes, int64_t ldw, const float *restrict g,
                const float *restrict x, const int64_t *restrict shift, int64_t q0, const int nq,
                int64_t len) {
  vf acc[9];
  const float *xq[9];
  for (int q = 0; q < nq; q++) {
    xq[q] = x + shift[q0 + q];
    acc[q] = *(const vf_u *)(lanes + (q0 + q) * ldw);
  }
  for (int64_t u = 0; u < len; u += S) {
    vf gu = *(const vf_u *)(g + u);
#pragma GCC unroll 9
    for (int q = 0; q < nq; q++) acc[q] += gu * *(const vf_u *)(xq[q] + u);
  }
  for (int q = 0; q < nq; q++) *(vf_u *)(lanes + (q0 + q) * ldw) = acc[q];
}

GLAB_MULTIVERSION static void shift_wgrad_f32(float *restrict lanes, const float *restrict g,
                                              int64_t ldg, const float *restrict x, int64_t ldx,
                                              int64_t na, int64_t nb,
                                              const int64_t *restrict shift, int64_t nq,
                                              int64_t len) {
  int64_t ldw = na * nb * S;
  for (int64_t a = 0; a < na; a++)
    for (int64_t b = 0; b < nb; b++)
      for (int64_t q0 = 0; q0 < nq; q0 += 9) {
        float *w = lanes + (a * nb + b) * S;
        const float *ga = g + a * ldg, *xb = x + b * ldx;
        if (nq - q0 >= 9) wgrad_block_f32(w, ldw, ga, xb, shift, q0, 9, len);
        else
          for (int64_t q = q0; q < nq; q++) wgrad_block_f32(w, ldw, ga, xb, shift, q, 1, len);
      }
}

/* float64 (the tests' and checks' dtype) takes the plain loop, into the
** same lanes. */
static void shift_wgrad_f64(double *restrict lanes, const double *restrict g, int64_t ldg,
                            const double *restrict x, int64_t ldx, int64_t na, int64_t nb,
                            const int64_t *restrict shift, int64_t nq, int64_t len) {
  for (int64_t q = 0; q < nq; q++)
    for (int64_t a = 0; a < na; a++)
      for (int64_t b = 0; b < nb; b++) {
        double *l = lanes + ((q * na + a) * nb + b) * S;
        const double *ga = g + a * ldg, *xb = x + b * ldx + shift[q];
        for (int64_t u = 0; u < len; u++) l[u % S] += ga[u] * xb[u];
      }
}

void glab_shift_wgrad(glab_dtype dt, void *lanes, const void *g, int64_t ldg, const void *x,
                      int64_t ldx, int64_t na, int64_t nb, const int64_t *shift, int64_t nq,
                      int64_t len) {
  if (dt == GLAB_F64) shift_wgrad_f64(lanes, g, ldg, x, ldx, na, nb, shift, nq, len);
  else shift_wgrad_f32(lanes, g, ldg, x, ldx, na, nb, shift, nq, len);
}

void glab_shift_fold(glab_dtype dt, void *dst, const void *lanes, int64_t n) {
  for (int64_t e = 0; e < n; e++) {
    double t = 0;               /* in order, in double: the same sum for either dtype */
    if (dt == GLAB_F64) {
      for (int s = 0; s < S; s++) t += ((const double *)lanes)[e * S + s];
      ((double *)dst)[e] = t;
    } else {
      for (int s = 0; s < S; s++) t += ((const float *)lanes)[e * S + s];
      ((float *)dst)[e] = (float)t;
    }
  }
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
