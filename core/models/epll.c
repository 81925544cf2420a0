/*
** epll.c -- EPLL's approximate MAP step for patches (see epll.h).
**
** The step takes the (N, K) log-densities of the noisy patches from
** glab_gmm_log_prob, labels each patch with its best component, and applies
** that component's Wiener filter (glab_gmm_wiener, gmm.c): there each
** component gathers the rows labelled with it and applies
** Sigma_k^-1 = P_k^T P_k by two GEMMs.
*/
#include <math.h>

#include "epll.h"
#include "gmm.h"
#include "rows.h"

glab_status glab_gmm_map_patches(glab_tensor *out, glab_tensor *labels, const glab_tensor *Y,
                                 const glab_tensor *log_weights, const glab_tensor *means,
                                 const glab_tensor *chol_noisy, double noise_var) {
  if (!(noise_var >= 0 && noise_var < INFINITY))
    return glab_fail(GLAB_EARG, "gmm.map_patches: the noise variance must be finite and >= 0, "
                     "got %g", noise_var);
  glab_status s;
  glab_tensor lp = GLAB_TENSOR_EMPTY, lab = GLAB_TENSOR_EMPTY;
  if ((s = glab_gmm_log_prob(&lp, Y, log_weights, means, chol_noisy)) != GLAB_OK) return s;
  int64_t N = Y->shape[0], K = means->shape[0];
  if ((s = glab_tensor_new(&lab, GLAB_F64, 1, &N)) == GLAB_OK) {
    const void *l = glab_tensor_data(&lp);   /* fresh, so contiguous */
    double *k_of = glab_tensor_data(&lab);
    for (int64_t i = 0; i < N; i++) {
      int64_t best = 0;
      for (int64_t k = 1; k < K; k++)
        if (elem(Y->dtype, l, i * K + k) > elem(Y->dtype, l, i * K + best)) best = k;
      k_of[i] = (double)best;
    }
    s = glab_gmm_wiener(out, Y, &lab, log_weights, means, chol_noisy, noise_var);
  }
  if (s == GLAB_OK) s = glab_tensor_deliver(labels, &lab, "gmm.map_patches");
  glab_tensor_free(&lp);
  glab_tensor_free(&lab);
  return s;
}

