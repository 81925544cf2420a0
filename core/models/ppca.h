/*
** ppca.h -- probabilistic PCA (Tipping & Bishop 1999), the kernels behind
** genlab.models.PPCA (seed 002 problem 2).
**
** z ~ N(0, I_d), x | z ~ N(W z + mean, sigma2 I_m), so x ~ N(mean, C) with
** C = W W^T + sigma2 I.  Every kernel works through the d x d matrix
** M = W^T W + sigma2 I and its lower Cholesky factor LM, never an m x m
** matrix or an inverse:
**   C^-1 = (I - W M^-1 W^T) / sigma2        (Woodbury)
**   det C = sigma2^(m - d) det M             (the matrix determinant lemma)
**
**     glab_tensor W = GLAB_TENSOR_EMPTY, mu = GLAB_TENSOR_EMPTY, lam = GLAB_TENSOR_EMPTY;
**     double s2; int64_t rank;
**     glab_ppca_fit(&W, &mu, &lam, &s2, &rank, &X, 16);     // the closed-form MLE
**     ... LM = cholesky(W^T W + s2 I) ...
**     glab_ppca_log_prob(&lp, &X, &W, &mu, &LM, s2);         // (N)
**     glab_ppca_posterior(&Z, &X, &W, &mu, &LM);             // E[z | x], (N, d)
**
** Points are rows of X (N, m), float32 or float64 (W, mean and LM of the
** same dtype); sums of squares accumulate in double.  Bad shapes, d out of
** range and d at or above the rank of S are statuses with a message.
*/
#ifndef GLAB_PPCA_H
#define GLAB_PPCA_H
#include "../tensor/tensor.h"

/* The MLE for the rows of X (N, m) at latent dimension d: mean (m), the
** eigenvalues of S = sum (x - mean)(x - mean)^T / N in descending order
** (m), sigma2 = the mean of the m - d smallest (clamped at 0), W (m, d) =
** U_d (Lambda_d - sigma2 I)^(1/2), and rank = the number of eigenvalues
** above lambda_1 max(N, m) eps.  d must satisfy 0 < d < m and d < rank. */
glab_status glab_ppca_fit(glab_tensor *W, glab_tensor *mean, glab_tensor *eigvals,
                          double *sigma2, int64_t *rank, const glab_tensor *X, int64_t d);

/* out (N): log N(x_n | mean, W W^T + sigma2 I) for the rows of X, given the
** lower Cholesky factor LM (d, d) of M = W^T W + sigma2 I. */
glab_status glab_ppca_log_prob(glab_tensor *out, const glab_tensor *X, const glab_tensor *W,
                               const glab_tensor *mean, const glab_tensor *LM, double sigma2);

/* Z (N, d): E[z | x_n] = M^-1 W^T (x_n - mean), two triangular solves. */
glab_status glab_ppca_posterior(glab_tensor *Z, const glab_tensor *X, const glab_tensor *W,
                                const glab_tensor *mean, const glab_tensor *LM);

#endif
