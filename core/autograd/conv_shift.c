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
** more with AVX-512.  The weight gradient and the moves into and out of the
** padded planes have AVX-512 kernels of their own besides (fastmath.h's
** GLAB_AVX512_KERNELS).
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

/* Output a alone over ns strips from u0: ns sums in flight, where one output
** strip alone would wait on each multiply-add's latency (seed 004's last
** conv, 8 -> 1 channel); each value is summed in the same order. */
static inline __attribute__((always_inline)) void
shift_strips_f32(float *restrict out, int64_t ldo, const float *restrict in, int64_t ldi,
                 int64_t nb, const float *restrict wq, const int64_t *restrict shift, int64_t nq,
                 int64_t na, int64_t u0, int64_t a, const int ns) {
  vf acc[4] = {0};
  for (int64_t b = 0; b < nb; b++)
    for (int64_t q = 0; q < nq; q++) {
      const float *x = in + b * ldi + u0 + shift[q];
      float w = wq[(b * nq + q) * na + a];
#pragma GCC unroll 4
      for (int k = 0; k < ns; k++) acc[k] += w * *(const vf_u *)(x + k * S);
    }
#pragma GCC unroll 4
  for (int k = 0; k < ns; k++) *(vf_u *)(out + a * ldo + u0 + k * S) = acc[k];
}

GLAB_MULTIVERSION static void shift_conv_f32(float *restrict out, int64_t ldo,
                                          const float *restrict in, int64_t ldi, int64_t nb,
                                          const float *restrict wq,
                                          const int64_t *restrict shift, int64_t nq,
                                          int64_t na, int64_t len) {
  int64_t a8 = na & ~(int64_t)7, end = (len + S - 1) / S * S;
  for (int64_t u0 = 0; u0 < end && a8; u0 += S)
    for (int64_t a0 = 0; a0 < a8; a0 += 8)
      shift_block_f32(out, ldo, in, ldi, nb, wq, shift, nq, na, u0, a0, 8);
  for (int64_t a = a8; a < na; a++) {
    int64_t u0 = 0;
    for (; u0 + 4 * S <= end; u0 += 4 * S)
      shift_strips_f32(out, ldo, in, ldi, nb, wq, shift, nq, na, u0, a, 4);
    for (; u0 < end; u0 += S) shift_strips_f32(out, ldo, in, ldi, nb, wq, shift, nq, na, u0, a, 1);
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

/* Outputs a0 ... a0 + na - 1 of the weight gradient. */
static inline __attribute__((always_inline)) void
wgrad_outputs_f32(float *restrict lanes, const float *restrict g, int64_t ldg,
                  const float *restrict x, int64_t ldx, int64_t a0, int64_t na, int64_t nb,
                  int64_t ldw, const int64_t *restrict shift, int64_t nq, int64_t len) {
  for (int64_t a = a0; a < a0 + na; a++)
    for (int64_t b = 0; b < nb; b++)
      for (int64_t q0 = 0; q0 < nq; q0 += 9) {
        float *w = lanes + (a * nb + b) * S;
        const float *ga = g + a * ldg, *xb = x + b * ldx;
        if (nq - q0 >= 9) wgrad_block_f32(w, ldw, ga, xb, shift, q0, 9, len);
        else
          for (int64_t q = q0; q < nq; q++) wgrad_block_f32(w, ldw, ga, xb, shift, q, 1, len);
      }
}

GLAB_MULTIVERSION static void shift_wgrad_f32(float *restrict lanes, const float *restrict g,
                                              int64_t ldg, const float *restrict x, int64_t ldx,
                                              int64_t na, int64_t nb,
                                              const int64_t *restrict shift, int64_t nq,
                                              int64_t len) {
  wgrad_outputs_f32(lanes, g, ldg, x, ldx, 0, na, nb, na * nb * S, shift, nq, len);
}

#ifdef GLAB_AVX512_KERNELS
/* With AVX-512's 32 registers, 8 outputs a by 3 columns j (three offsets
** of one input, or one offset of three inputs: x0, x1, x2; lanes ldj apart)
** in one pass: each strip of g and of x loaded feeds 3 or 8 multiply-adds,
** not the one of the loop above, whose loads had bound it (35 -> 57 GFLOP/s
** on 14 x 14 planes).  GCC would fold each use of a g strip into its
** multiply as a load of its own, so an empty asm keeps the strip in a
** register.  Every lane sums in the same order as above: the same bits. */
__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) void
wgrad_8x3_f32(float *restrict lanes, int64_t ldj, int64_t lda, const float *restrict g,
              int64_t ldg, const float *x0, const float *x1, const float *x2, int64_t len) {
  vf acc[8][3];
  for (int a = 0; a < 8; a++)
    for (int j = 0; j < 3; j++) acc[a][j] = *(const vf_u *)(lanes + j * ldj + a * lda);
  for (int64_t u = 0; u < len; u += S) {
    vf v0 = *(const vf_u *)(x0 + u), v1 = *(const vf_u *)(x1 + u), v2 = *(const vf_u *)(x2 + u);
#pragma GCC unroll 8
    for (int a = 0; a < 8; a++) {
      vf ga = *(const vf_u *)(g + a * ldg + u);
      __asm__("" : "+v"(ga));
      acc[a][0] += ga * v0;
      acc[a][1] += ga * v1;
      acc[a][2] += ga * v2;
    }
  }
  for (int a = 0; a < 8; a++)
    for (int j = 0; j < 3; j++) *(vf_u *)(lanes + j * ldj + a * lda) = acc[a][j];
}

/* Blocks of 8 outputs: each input's offsets three at a time, then the
** offsets left over (a 1 x 1 or 2 x 2 kernel: all of them) three inputs at a
** time; the rest one lane at a time, as above. */
__attribute__((target("avx512f"))) static void
shift_wgrad_f32_avx512(float *restrict lanes, const float *restrict g, int64_t ldg,
                       const float *restrict x, int64_t ldx, int64_t na, int64_t nb,
                       const int64_t *restrict shift, int64_t nq, int64_t len) {
  int64_t ldw = na * nb * S, lda = nb * S, a8 = na & ~(int64_t)7, q3 = nq - nq % 3,
          b3 = nb - nb % 3;
  for (int64_t a0 = 0; a0 < a8; a0 += 8) {
    const float *ga = g + a0 * ldg;
    for (int64_t b = 0; b < nb; b++) {
      const float *xb = x + b * ldx;
      for (int64_t q = 0; q < q3; q += 3)
        wgrad_8x3_f32(lanes + q * ldw + (a0 * nb + b) * S, ldw, lda, ga, ldg, xb + shift[q],
                      xb + shift[q + 1], xb + shift[q + 2], len);
    }
    for (int64_t q = q3; q < nq; q++) {
      for (int64_t b = 0; b < b3; b += 3) {
        const float *xb = x + b * ldx + shift[q];
        wgrad_8x3_f32(lanes + q * ldw + (a0 * nb + b) * S, S, lda, ga, ldg, xb, xb + ldx,
                      xb + 2 * ldx, len);
      }
      for (int64_t b = b3; b < nb; b++)
        for (int64_t a = a0; a < a0 + 8; a++)
          wgrad_block_f32(lanes + (a * nb + b) * S, ldw, g + a * ldg, x + b * ldx, shift, q, 1, len);
    }
  }
  wgrad_outputs_f32(lanes, g, ldg, x, ldx, a8, na - a8, nb, ldw, shift, nq, len);
}
#endif

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
#ifdef GLAB_AVX512_KERNELS
  else if (na >= 8 && __builtin_cpu_supports("avx512f"))
    shift_wgrad_f32_avx512(lanes, g, ldg, x, ldx, na, nb, shift, nq, len);
#endif
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

#ifdef GLAB_AVX512_KERNELS

/* Moves of n floats (zeros when s is NULL), 16 a store and the last masked:
** seed 004's rows are 3 to 30 floats, where a memcpy and a memset call per
** row had taken 20% of the CNN step, these 17% (the rest waits on memory). */
__attribute__((target("avx512f"))) static inline void move_f32(float *restrict d,
                                                                const float *restrict s,
                                                                int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(d + i, s ? _mm512_loadu_ps(s + i) : _mm512_setzero_ps());
  if (i < n) {
    __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(d + i, m, s ? _mm512_maskz_loadu_ps(m, s + i) : _mm512_setzero_ps());
  }
}

/* glab_place_planes for float32: each plane's rows, and zeros in the gaps
** before, between and after them only. */
__attribute__((target("avx512f"))) static void place_f32_avx512(float *dst, int64_t dps,
                                                                int64_t dlen, int64_t org,
                                                                int64_t dw, const float *src,
                                                                int64_t n, int64_t h, int64_t w) {
  for (int64_t p = 0; p < n; p++, dst += dps, src += h * w) {
    move_f32(dst, NULL, org);
    for (int64_t r = 0; r < h; r++) {
      int64_t end = org + r * dw + w, next = r + 1 < h ? end - w + dw : dlen;
      move_f32(dst + end - w, src + r * w, w);
      move_f32(dst + end, NULL, next - end);
    }
  }
}

__attribute__((target("avx512f"))) static void take_f32_avx512(float *dst, const float *src,
                                                               int64_t sps, int64_t org,
                                                               int64_t sw, int64_t n, int64_t h,
                                                               int64_t w) {
  for (int64_t p = 0; p < n; p++, src += sps)
    for (int64_t r = 0; r < h; r++, dst += w) move_f32(dst, src + org + r * sw, w);
}
#endif

void glab_place_planes(glab_dtype dt, void *dst, int64_t dps, int64_t dlen, int64_t org,
                       int64_t dw, const void *src, int64_t n, int64_t h, int64_t w) {
#ifdef GLAB_AVX512_KERNELS
  if (dt == GLAB_F32 && __builtin_cpu_supports("avx512f")) {
    place_f32_avx512(dst, dps, dlen, org, dw, src, n, h, w);
    return;
  }
#endif
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
#ifdef GLAB_AVX512_KERNELS
  if (dt == GLAB_F32 && __builtin_cpu_supports("avx512f")) {
    take_f32_avx512(dst, src, sps, org, sw, n, h, w);
    return;
  }
#endif
  size_t es = glab_dtype_size(dt);
  char *d = dst;
  const char *s = src;
  for (int64_t p = 0; p < n; p++)
    for (int64_t r = 0; r < h; r++)
      memcpy(d + (size_t)((p * h + r) * w) * es, s + (size_t)(p * sps + org + r * sw) * es,
             (size_t)w * es);
}
