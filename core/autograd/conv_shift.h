/*
** conv_shift.h -- the stride-1 convolution as shifted sums over padded
** planes (private to nn_conv.c).
**
** With the input zero-padded into planes of width Wp, output (oy, ox) of a
** stride-1 conv reads input u = oy Wp + ox + (i Wp + j) for kernel offset
** (i, j): a constant shift per offset.  Computing every position of the
** "wide" grid oy Wp + ox (ox up to Wp, the last Wp - Wo columns wasted)
** turns the conv into sums of whole shifted planes, with no 9x column
** matrix.  The input gradient is the same sum run with the shifts negated
** over a zero-framed output gradient.
*/
#ifndef GLAB_CONV_SHIFT_H
#define GLAB_CONV_SHIFT_H
#include <stdint.h>

#include "../tensor/tensor.h"

/* Positions a strip of the kernel covers; buffers read or written by
** glab_shift_conv need this much slack past their length. */
#define GLAB_SHIFT_STRIP 16

/* out[a][u] = sum over b < nb, q < nq of wq[(b nq + q) na + a] in[b][u + shift[q]]
** for a < na and u < len rounded up to GLAB_SHIFT_STRIP; planes of out are
** ldo apart, those of in ldi apart. */
void glab_shift_conv(glab_dtype dt, void *out, int64_t ldo, const void *in, int64_t ldi,
                     int64_t nb, const void *wq, const int64_t *shift, int64_t nq, int64_t na,
                     int64_t len);

/* The weight gradient, in lanes: lanes[q][a][b][s] += the sum over u < len
** rounded up to GLAB_SHIFT_STRIP, u = s modulo the strip, of
** g[a][u] x[b][u + shift[q]], for planes of g ldg apart and of x ldx apart;
** g must be zero past len.  The lanes (nq na nb GLAB_SHIFT_STRIP values)
** gather any number of calls; glab_shift_fold then gives the weights. */
void glab_shift_wgrad(glab_dtype dt, void *lanes, const void *g, int64_t ldg, const void *x,
                      int64_t ldx, int64_t na, int64_t nb, const int64_t *shift, int64_t nq,
                      int64_t len);

/* dst[e] = the sum of lanes[e][0 .. GLAB_SHIFT_STRIP) for e < n (summed in
** order, in double); dst may be lanes itself. */
void glab_shift_fold(glab_dtype dt, void *dst, const void *lanes, int64_t n);

/* n planes of (h x w) from src (contiguous) into dst: plane p's element
** (r, c) lands at p dps + org + r dw + c, and the rest of [0, dlen) of each
** plane is zero. */
void glab_place_planes(glab_dtype dt, void *dst, int64_t dps, int64_t dlen, int64_t org,
                       int64_t dw, const void *src, int64_t n, int64_t h, int64_t w);

/* The inverse: n planes of (h x w) into dst (contiguous) from src's element
** p sps + org + r sw + c. */
void glab_take_planes(glab_dtype dt, void *dst, const void *src, int64_t sps, int64_t org,
                      int64_t sw, int64_t n, int64_t h, int64_t w);

#endif
