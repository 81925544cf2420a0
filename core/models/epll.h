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
**     glab_gmm_score(&logq, &grad, &lab, &X, &lw, &mu, &chol);   // gradient descent
**     glab_gmm_map_patches(&Xh, &lab, &Y, &lw, &mu, &chol_noisy, s2);   // EPLL's HQS
**
** glab_gmm_wiener applies the Wiener filters of given components; with the
** noise variance lambda / 2 and zero means it is the preconditioner
** (2 I + lambda Sigma_k^-1)^-1, up to a factor 2, that makes patch gradient
** descent a Newton step for the patch's dominant component.
*/
#ifndef GLAB_EPLL_H
#define GLAB_EPLL_H
#include "../tensor/tensor.h"

/* Responsibilities below this are left out of the score: the term they
** weigh, r Sigma_k^-1 (x - mu_k), is then below float64 rounding of the
** sum for any covariance a model of [0, 1] pixels can have. */
#define GLAB_SCORE_MIN_RESP 1e-20

/* For the rows x_n of X (N, d) and q(x) = sum_k pi_k N(x | mu_k, L_k L_k^T):
**   logq (N)    log q(x_n), by logsumexp over the components;
**   grad (N, d) d log q / dx_n = - sum_k r_nk Sigma_k^-1 (x_n - mu_k), with
**               r_nk the responsibilities; NULL to skip it;
**   labels (N)  argmax_k r_nk, 0-based, float64; NULL to skip them. */
glab_status glab_gmm_score(glab_tensor *logq, glab_tensor *grad, glab_tensor *labels,
                           const glab_tensor *X,
                           const glab_tensor *log_weights, const glab_tensor *means,
                           const glab_tensor *chol);

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

/* The Wiener filter of component k = labels[n] (0-based, whole numbers) for
** each row y_n of Y, given the factors chol_noisy of Sigma_k + noise_var I:
**   out (N, d)  y - noise_var (Sigma_k + noise_var I)^-1 (y - mu_k)
**               = mu_k + Sigma_k (Sigma_k + noise_var I)^-1 (y - mu_k). */
glab_status glab_gmm_wiener(glab_tensor *out, const glab_tensor *Y, const glab_tensor *labels,
                            const glab_tensor *log_weights, const glab_tensor *means,
                            const glab_tensor *chol_noisy, double noise_var);

#endif
