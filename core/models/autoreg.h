/*
** autoreg.h -- exact sums over every image of an autoregressive model of n
** binary pixels given by its conditional probability tables (CPTs): the
** kernels under genlab.autoreg (seed 002 problem 1, n = 25, 5x5 images).
**
** CPT i (i = 1..n, cpt[i - 1] here) holds p(x_i = b | x_1..x_{i-1}) at flat
** position 2c + b, where c is the code of the prefix with x_1 as its most
** significant bit: the C order of the course's image_cpts.pkl, whose array
** i has i dims of size 2 indexed [x1]..[xi].  p(x) is the product of the
** n entries along x.
**
**     const glab_tensor *cpt[25] = {&c1, ..., &c25};
**     glab_autoreg_sums st;
**     glab_autoreg_entropy(&st, cpt, 25);     // H(p), sum p(x), support size
**     glab_tensor X = GLAB_TENSOR_EMPTY, P = GLAB_TENSOR_EMPTY;
**     int complete;
**     glab_autoreg_states(&X, &P, &complete, cpt, 25, 1e-4, 4096);   // p(x) >= 1e-4
**
** A walk down the binary tree of prefixes visits each image once and shares
** each prefix's factors with its subtree, so the 2^n images cost 2^(n+1)
** table reads and logarithms, not n 2^n; a prefix of probability 0 is
** skipped with everything under it, so a distribution on a few pictures
** costs almost nothing.  Only entries that the walk reaches are read:
** the tables of prefixes that p never produces may hold anything (the
** course's file may leave 0/0 there).  A reached entry outside [0, 1] (NaN
** included) is an error naming the CPT and the prefix.
**
** Tables may be float32 or float64, each its own, any shape with 2^i
** elements; sums run in float64, log space.
*/
#ifndef GLAB_AUTOREG_H
#define GLAB_AUTOREG_H
#include "../tensor/tensor.h"

#define GLAB_AUTOREG_MAX_PIXELS 30

typedef struct glab_autoreg_sums {
  double entropy;         /* H(p) = -sum_x p(x) log p(x), nats */
  double mass;            /* sum_x p(x): 1 up to the tables' rounding */
  int64_t support;        /* images with p(x) > 0 */
} glab_autoreg_sums;

/* H(p), the total mass and the support size, by enumerating every image of
** positive probability: log p(x) = sum_i log CPT_i[x_1..x_i], p(x) the
** product of the same entries, the term -p(x) log p(x) summed with
** compensation.  The subtrees below depth 10 are shared out over the cores
** (glab_parallel) and their sums added in a fixed order, so the result does
** not depend on the thread count.  For n = 25 and no zero entries: 2^26
** logarithms, about a second on one core.  1 <= n <= GLAB_AUTOREG_MAX_PIXELS. */
glab_status glab_autoreg_entropy(glab_autoreg_sums *out, const glab_tensor *const *cpt, int n);

/* The images x with p(x) >= min_p (and p(x) > 0; min_p = 0 lists the whole
** support), in increasing code order: images (K, n) float64 of 0/1 and
** probs (K) float64.  A prefix below min_p is not descended, so the walk
** costs at most about 2n / min_p reads.  complete is 1 when all such images
** fit in max (>= 1); otherwise 0, and the outputs hold the first max. */
glab_status glab_autoreg_states(glab_tensor *images, glab_tensor *probs, int *complete,
                                const glab_tensor *const *cpt, int n, double min_p, int64_t max);

#endif
