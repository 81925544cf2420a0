/*
** gmm.h -- Gaussians and Gaussian mixtures with full covariances, and
** k-means: the number crunching behind genlab.models (PS1 1.1, lecture 3).
**
** A mixture of K components in d dimensions is plain tensors of one dtype:
**   log_weights (K)     log pi_k
**   means       (K, d)  mu_k
**   chol        (K, d, d) lower Cholesky factors, Sigma_k = L_k L_k^T
** A Gaussian is the mixture with K = 1.  Nothing here forms an inverse or a
** determinant: Mahalanobis terms are triangular solves (one trsm per
** component over a block of points) and log det Sigma_k = 2 sum log diag L_k.
**
**     glab_tensor lp = GLAB_TENSOR_EMPTY;          // (N, K) log pi_k N(x | k)
**     glab_gmm_log_prob(&lp, &X, &logw, &means, &chol);
**     ... responsibilities r = softmax(lp, 2) ...
**     glab_gmm_mstep(&logw, &means, &covs, &X, &r, 1e-6);
**     ... chol = cholesky(covs) ...
**
** Points are processed in blocks of rows so that the workspace stays small
** and in cache while every component visits it.
*/
#ifndef GLAB_GMM_H
#define GLAB_GMM_H
#include "../tensor/random.h"
#include "../tensor/tensor.h"

/* out (N, K): log pi_k + log N(x_n | mu_k, L_k L_k^T) for X (N, d). */
glab_status glab_gmm_log_prob(glab_tensor *out, const glab_tensor *X,
                              const glab_tensor *log_weights, const glab_tensor *means,
                              const glab_tensor *chol);

/* The E step: resp (N, K) := the responsibilities p(k | x_n), normalised in
** log space row by row while the row's log-densities are in cache, and
** *loglik := the mean of log q(x_n) over the N points. */
glab_status glab_gmm_estep(glab_tensor *resp, double *loglik, const glab_tensor *X,
                           const glab_tensor *log_weights, const glab_tensor *means,
                           const glab_tensor *chol);

/* P (K, d, d) := L_k^-1 for each lower factor in chol (K, d, d): whitening,
** z = P_k (x - mu_k) ~ N(0, I) under component k.  The one inverse the
** kernels form (documented in core/DESIGN-notes.md): applying it is a GEMM,
** twice as fast as a triangular solve per block of points. */
glab_status glab_gmm_whitening(glab_tensor *P, const glab_tensor *chol);

/* The M step: weighted maximum likelihood from responsibilities resp (N, K)
** (rows summing to 1), into log_weights (K), means (K, d) and covs (K, d, d):
**   N_k = sum_n r_nk,  pi_k = N_k / N,  mu_k = sum_n r_nk x_n / N_k,
**   Sigma_k = (sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T + prior I) / N_k.
** prior > 0 makes this the MAP step under p(Sigma_k) ~ exp(-prior/2 tr Sigma_k^-1),
** which keeps Sigma_k positive definite when a component collapses onto
** fewer than d independent points, and keeps EM monotone in the penalised
** log-likelihood.  resp NULL means one component holding every point: the
** closed-form Gaussian MLE (divided by N, not N - 1) when prior is 0. */
glab_status glab_gmm_mstep(glab_tensor *log_weights, glab_tensor *means, glab_tensor *covs,
                           const glab_tensor *X, const glab_tensor *resp, double prior);

/* Nearest centre of each row of X (N, d) among centers (K, d): labels (N,
** float64, 0-based) and squared distances dist2 (N, float64). */
glab_status glab_kmeans_assign(glab_tensor *labels, glab_tensor *dist2, const glab_tensor *X,
                               const glab_tensor *centers);

/* centers (K, d) := the mean of the points labelled with each; a centre
** without points keeps its place.  counts (K, float64) gets the sizes. */
glab_status glab_kmeans_update(glab_tensor *centers, glab_tensor *counts, const glab_tensor *X,
                               const glab_tensor *labels);

/* Greedy k-means++ seeding (Arthur & Vassilvitskii 2007): K rows of X; each
** after the first is the best of 2 + log K candidates drawn with probability
** proportional to the squared distance from the nearest centre so far. */
glab_status glab_kmeans_init(glab_tensor *centers, const glab_tensor *X, int64_t K,
                             glab_rng *rng);

/* ---- score and Wiener filters (EPLL's kernels; see epll.h) ---------------------- */

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

/* The Wiener filter of component k = labels[n] (0-based, whole numbers) for
** each row y_n of Y, given the factors chol_noisy of Sigma_k + noise_var I:
**   out (N, d)  y - noise_var (Sigma_k + noise_var I)^-1 (y - mu_k)
**               = mu_k + Sigma_k (Sigma_k + noise_var I)^-1 (y - mu_k).
** With the noise variance lambda / 2 and zero means it is the
** preconditioner (2 I + lambda Sigma_k^-1)^-1, up to a factor 2, that makes
** patch gradient descent a Newton step for the patch's dominant component. */
glab_status glab_gmm_wiener(glab_tensor *out, const glab_tensor *Y, const glab_tensor *labels,
                            const glab_tensor *log_weights, const glab_tensor *means,
                            const glab_tensor *chol_noisy, double noise_var);

#endif
