/*
** epll.h -- a Gaussian mixture as an image prior: the kernels behind patch
** and whole-image denoising (PS1 1.2; Zoran & Weiss 2011, "From learning
** models of natural image patches to whole image restoration").
**
** The mixture is held as in gmm.h: log_weights (K), means (K, d) and lower
** Cholesky factors chol (K, d, d).  Both kernels are the E step (one GEMM
** per component over blocks of points, the dominant cost) followed by
** Sigma_k^-1 = P_k^T P_k, P_k = L_k^-1, applied only to the points that
** component k matters for:
**
**     glab_gmm_score(&logq, &grad, &lab, &X, &lw, &mu, &chol);   // gradient descent (gmm.h)
**     glab_gmm_map_patches(&Xh, &lab, &Y, &lw, &mu, &chol_noisy, s2);   // EPLL's HQS
**
** The score and the Wiener filters (glab_gmm_wiener) are the mixture's own
** and live in gmm.h / gmm.c; this file holds what only EPLL does.
*/
#ifndef GLAB_EPLL_H
#define GLAB_EPLL_H
#include "../tensor/tensor.h"

/* EPLL's approximate MAP step for patches y_n (rows of Y) seen through
** Gaussian noise of variance noise_var, given the factors chol_noisy of
** Sigma_k + noise_var I:
**   labels (N)  k* = argmax_k log pi_k + log N(y_n | mu_k, Sigma_k + noise_var I),
**               0-based, float64;
**   out (N, d)  the posterior mean under k* (its Wiener filter):
**               y - noise_var (Sigma_k* + noise_var I)^-1 (y - mu_k*). */
glab_status glab_gmm_map_patches(glab_tensor *out, glab_tensor *labels, const glab_tensor *Y,
                                 const glab_tensor *log_weights, const glab_tensor *means,
                                 const glab_tensor *chol_noisy, double noise_var);

#endif
