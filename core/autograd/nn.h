/*
** nn.h -- neural-network layers and losses, as recorded autograd
** operations over glab_vars (see autograd.h; the optimizer steps are in
** optim.h).  Shapes follow
** PyTorch: images are (N, C, H, W), weights (out, in, kh, kw) for Conv2d and
** (in, out, kh, kw) for ConvTranspose2d, LSTM gates in the order i, f, g, o.
**
**     glab_var h = {0}, y = {0}, loss = {0};
**     glab_nn_linear(&h, &x, &w1, &b1, GLAB_ACT_TANH);  // tanh((128x784) -> (128x500))
**     glab_nn_mse_loss(&loss, &y, &x, GLAB_REDUCE_SUM);
**     glab_backward(&loss, NULL, 0);
**     glab_optim_adam(&w1.t, glab_var_grad(&w1), &m, &v, step, &adam);  // optim.h
**
** Every layer works in the dtype of its input (float32 or float64, not
** mixed) and checks shapes with a message naming both ("conv2d: input
** (128x3x28x28) has 3 channels, weight (8x1x3x3) expects 1").
*/
#ifndef GLAB_NN_H
#define GLAB_NN_H

#include "autograd.h"

/* An activation a layer applies to its own output while that is in cache:
** f(layer(x)) in one pass, with the values and gradients of the two ops
** apart (the layer keeps its output for the gradient, as f would). */
typedef enum glab_act { GLAB_ACT_NONE, GLAB_ACT_RELU, GLAB_ACT_SIGMOID, GLAB_ACT_TANH } glab_act;

/* y = act(x W^T + b) for x (..., in), W (out, in), b (out) or NULL. */
glab_status glab_nn_linear(glab_var *out, const glab_var *x, const glab_var *w,
                           const glab_var *b, glab_act act);

typedef struct glab_conv_opts {
  int stride[2];          /* >= 1 */
  int padding[2];         /* zeros added on each side */
  int output_padding[2];  /* conv_transpose2d only: extra rows/cols, < stride */
  glab_act act;           /* applied to the output (bias included) */
  int pool;               /* conv2d only: 0, or p >= 2 for a p x p max pool of stride p
                          ** after a relu (or no) activation, image by image in cache */
} glab_conv_opts;

/* x (N, C, H, W), w (O, C, kh, kw), b (O) or NULL -> (N, O, Ho, Wo), or
** (N, O, Ho / p, Wo / p) with o->pool = p. */
glab_status glab_nn_conv2d(glab_var *out, const glab_var *x, const glab_var *w,
                           const glab_var *b, const glab_conv_opts *o);
/* The adjoint of conv2d: x (N, Cin, H, W), w (Cin, Cout, kh, kw) ->
** (N, Cout, (H-1) s - 2p + k + output_padding, ...). */
glab_status glab_nn_conv_transpose2d(glab_var *out, const glab_var *x, const glab_var *w,
                                     const glab_var *b, const glab_conv_opts *o);
/* Max over kernel windows moved by stride (no padding): (N, C, H, W) ->
** (N, C, (H - kh) / sh + 1, ...).  The gradient goes to the first maximum. */
glab_status glab_nn_max_pool2d(glab_var *out, const glab_var *x, const int kernel[2],
                               const int stride[2]);

/* One LSTM layer over a whole sequence, batch first: x (B, T, I), h0 and
** c0 (B, H), w_ih (4H, I), w_hh (4H, H), b_ih and b_hh (4H) or NULL.
** y (B, T, H) holds every h_t; hT and cT are the final states. */
glab_status glab_nn_lstm(glab_var *y, glab_var *hT, glab_var *cT, const glab_var *x,
                         const glab_var *h0, const glab_var *c0, const glab_var *w_ih,
                         const glab_var *w_hh, const glab_var *b_ih, const glab_var *b_hh);

/* log q(x_n) (B) of a Gaussian mixture for x (B, d): logits (K) with
** pi = softmax(logits), means (K, d) and Sigma_k = A_k A_k^T + eps I from
** A (K, d, d); one recorded op with the closed-form gradient (nn_gmm.c). */
glab_status glab_nn_gmm_log_density(glab_var *out, const glab_var *x, const glab_var *logits,
                                    const glab_var *means, const glab_var *A, double eps);

typedef enum glab_reduction { GLAB_REDUCE_MEAN, GLAB_REDUCE_SUM, GLAB_REDUCE_NONE } glab_reduction;

/* (x - y)^2 summed, averaged or elementwise; x and y of one shape. */
glab_status glab_nn_mse_loss(glab_var *out, const glab_var *x, const glab_var *y,
                             glab_reduction r);
/* -[y log s(z) + (1 - y) log(1 - s(z))] computed as max(z, 0) - z y +
** log(1 + exp(-|z|)), which neither overflows nor loses precision. */
glab_status glab_nn_bce_with_logits(glab_var *out, const glab_var *z, const glab_var *y,
                                    glab_reduction r);
/* A VAE's Gaussian latents N(mean, diag(exp(logvar))), mean and logvar of
** one shape (..., nz) and dtype.  gaussian_kl: KL(q || N(0, I)) of each
** row, -1/2 sum_j (1 + logvar_j - mean_j^2 - exp(logvar_j)), shape (...);
** reparameterize: z = mean + exp(logvar / 2) eps, eps of the same shape.
** Each is one recorded op with the bits of the tensor expressions written
** out above (vae.lua's), forward and backward. */
glab_status glab_nn_gaussian_kl(glab_var *out, const glab_var *mean, const glab_var *logvar);
glab_status glab_nn_reparameterize(glab_var *z, const glab_var *mean, const glab_var *logvar,
                                   const glab_var *eps);

/* logsumexp(z_i) - z_i[target_i] for logits z (N, C) and 0-based class
** indices target (N) (a float64 index tensor). */
glab_status glab_nn_cross_entropy(glab_var *out, const glab_var *z, const glab_tensor *target,
                                  glab_reduction r);

#endif
