/*
** rbm.h -- the binary restricted Boltzmann machine, the kernels behind
** genlab.models.RBM (seed 004 problem 4).
**
** E(v, h) = -b^T v - c^T h - v^T W h over v in {0,1}^nv, h in {0,1}^nh, with
** W (nv, nh), b (nv), c (nh).  Summing h out gives the free energy
**   F(v) = -b^T v - sum_j softplus(c_j + v^T W_:j),   p(v) = e^-F(v) / Z.
**
**     glab_rbm_train o = {.k = 1, .lr = 0.01};
**     double rec;
**     glab_rbm_cd_step(&W, &b, &c, NULL, NULL, NULL, &rec, &V, &o, &g);   // one CD-1 batch
**     glab_rbm_free_energy(&F, &Vtest, &W, &b, &c);                       // (N)
**     glab_rbm_ais(&logZ, &se, &W, &b, &c, &base, 100, 10000, &g);        // log Z +- s.e.
**
** Points are rows of V (N, nv) with entries in [0, 1] (0/1 for sampling),
** float32 or float64, the parameters of the same dtype and contiguous.
**
** Randomness: a call draws one 64-bit word from g and gives row r of its
** chains the generator seeded with word + r, so that rows run on any thread
** in any order and one seed gives the same bits whatever the thread count.
** A Bernoulli draw compares a uniform with the probability (u < p); float32
** uses 24-bit uniforms, two to a generator word.  Rows are split over the
** cores (glab_parallel), each block's products on one BLAS thread.
*/
#ifndef GLAB_RBM_H
#define GLAB_RBM_H
#include "../tensor/random.h"
#include "../tensor/tensor.h"

/* out (N): F(v_n) for the rows of V, softplus taken as
** max(x, 0) + log1p(e^-|x|), so finite for any finite input. */
glab_status glab_rbm_free_energy(glab_tensor *out, const glab_tensor *V, const glab_tensor *W,
                                 const glab_tensor *b, const glab_tensor *c);

/* k >= 1 steps of block Gibbs sampling from the rows of V0: h ~ p(h | v),
** then v ~ p(v | h), k times.  Vk (N, nv) gets the last binary visible
** states and PV (N, nv, or NULL) their means p(v = 1 | h) of that step. */
glab_status glab_rbm_gibbs(glab_tensor *Vk, glab_tensor *PV, const glab_tensor *V0, int64_t k,
                           const glab_tensor *W, const glab_tensor *b, const glab_tensor *c,
                           glab_rng *g);

/* The CD direction of the batch V0 (B, nv) against the negative samples Vk
** (B, nv): gW = (V0^T P0 - Vk^T Pk) / B, gb = mean(V0 - Vk), gc = mean(P0 - Pk)
** with P = sigmoid(V W + c).  It is minus the gradient of
** mean F(V0) - mean F(Vk) with Vk held fixed. */
glab_status glab_rbm_cd_grad(glab_tensor *gW, glab_tensor *gb, glab_tensor *gc,
                             const glab_tensor *V0, const glab_tensor *Vk, const glab_tensor *W,
                             const glab_tensor *b, const glab_tensor *c);

typedef struct glab_rbm_train {
  int64_t k;              /* Gibbs steps of the negative phase, >= 1 */
  double lr;              /* step size */
  double momentum;        /* 0 for plain SGD; then vel may be NULL */
  double weight_decay;    /* L2 on W only, added to the gradient as -weight_decay W */
} glab_rbm_train;

/* One CD-k update from the batch V0 (B, nv), in place on W, b and c:
**   theta += vel,  vel = momentum vel + lr (g - weight_decay W)   (g = glab_rbm_cd_grad)
** with vel = {&vW, &vb, &vc} (shapes of W, b, c) or NULL when momentum is 0.
** The negative chain starts at V0 (CD-k), or at chain (B, nv) when not NULL
** (persistent CD), which then holds the chain's new states.  Vk (or NULL)
** gets the negative samples.  recon = mean over the batch of
** sum_i (v0_i - p(v_i = 1 | h0))^2, h0 ~ p(h | v0): the one-step
** reconstruction error, the same quantity for every k. */
glab_status glab_rbm_cd_step(glab_tensor *W, glab_tensor *b, glab_tensor *c, glab_tensor *const *vel,
                             glab_tensor *chain, glab_tensor *Vk, double *recon,
                             const glab_tensor *V0, const glab_rbm_train *o, glab_rng *g);

/* log Z exactly, summing over the 2^m states of the smaller layer
** (m = min(nv, nh) <= 24) in blocks, in log space and double precision. */
glab_status glab_rbm_log_partition(double *logZ, const glab_tensor *W, const glab_tensor *b,
                                   const glab_tensor *c);

/* Annealed importance sampling of log Z (Salakhutdinov & Murray 2008):
** runs chains from the base-rate model (W = 0, c = 0, visible biases bA (nv):
** independent pixels with p(v_i = 1) = sigmoid(bA_i)) through the intermediate models
** p_beta ~ exp((1 - beta) bA^T v + beta b^T v) prod_j (1 + e^(beta (c_j + v^T W_:j)))
** at nbetas >= 3 temperatures 0 < beta_1 < ... < beta_nbetas = 1, spaced as
** theirs: evenly within [0, 0.5], [0.5, 0.9] and [0.9, 1], which get the
** steps in the ratio 500 : 4000 : 10000.  logZ = log Z_A + log mean_r w_r and se its delta-method
** standard error sd(w) / (sqrt(runs) mean(w)).  logw (runs, or NULL) gets
** each run's log weight. */
glab_status glab_rbm_ais(double *logZ, double *se, glab_tensor *logw, const glab_tensor *W,
                         const glab_tensor *b, const glab_tensor *c, const glab_tensor *bA,
                         int64_t runs, int64_t nbetas, glab_rng *g);

#endif
