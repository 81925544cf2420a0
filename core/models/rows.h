/*
** rows.h -- small helpers shared by the model kernels (gmm.c, epll.c, and
** the mixture density of autograd/nn_gmm.c) over rows of float32 or float64
** points: contiguous handles on inputs, typed element access, centring,
** scaling and whitening of blocks of rows.  Private to the core.
*/
#ifndef GLAB_MODELS_ROWS_H
#define GLAB_MODELS_ROWS_H
#include <cblas.h>

#include "../tensor/tensor.h"

#define LOG_2PI 1.8378770664093454836

/* Contiguous handles on the inputs, released together. */
typedef struct {
  glab_tensor t[4];
  int n;
} inputs;

static inline glab_status take(inputs *in, const glab_tensor *src, const void **data) {
  glab_tensor *t = &in->t[in->n++];
  glab_status s = glab_tensor_contiguous(t, src);
  if (s == GLAB_OK) *data = glab_tensor_data(t);
  return s;
}

static inline void release(inputs *in) {
  for (int i = 0; i < in->n; i++) glab_tensor_free(&in->t[i]);
  in->n = 0;
}

static inline double elem(glab_dtype dt, const void *p, int64_t i) {
  return dt == GLAB_F64 ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

static inline void set_elem(glab_dtype dt, void *p, int64_t i, double v) {
  if (dt == GLAB_F64) ((double *)p)[i] = v;
  else ((float *)p)[i] = (float)v;
}

static inline size_t esize(glab_dtype dt) { return dt == GLAB_F64 ? 8 : 4; }

/* W (n x d) := scale_i (X_i - mu) for each row i; scale NULL means 1. */
static inline void center_rows(glab_dtype dt, void *W, const void *X, const void *mu,
                               const double *scale, int64_t n, int64_t d) {
  if (dt == GLAB_F64) {
    const double *x = X, *m = mu;
    double *w = W;
    for (int64_t i = 0; i < n; i++) {
      double s = scale ? scale[i] : 1.0;
      for (int64_t j = 0; j < d; j++) w[i * d + j] = s * (x[i * d + j] - m[j]);
    }
  } else {
    const float *x = X, *m = mu;
    float *w = W;
    for (int64_t i = 0; i < n; i++) {
      float s = scale ? (float)scale[i] : 1.0f;
      for (int64_t j = 0; j < d; j++) w[i * d + j] = s * (x[i * d + j] - m[j]);
    }
  }
}

/* dst (d) := c src. */
static inline void scale_row(glab_dtype dt, void *dst, const void *src, double c, int64_t d) {
  if (dt == GLAB_F64) {
    const double *a = src;
    double *b = dst;
    for (int64_t e = 0; e < d; e++) b[e] = c * a[e];
  } else {
    const float *a = src;
    float *b = dst, cf = (float)c;
    for (int64_t e = 0; e < d; e++) b[e] = cf * a[e];
  }
}

/* out_i = |W_i|^2 over the n rows of W (n x d), in double.  Eight partial
** sums, so that the loop vectorises and no add waits on the one before (a
** single running sum made this a fifth of the E step at d = 256). */
static inline void row_sqnorms(glab_dtype dt, double *out, const void *W, int64_t n, int64_t d) {
  int64_t d8 = d & ~(int64_t)7;
  for (int64_t i = 0; i < n; i++) {
    double acc[8] = {0}, tail = 0;
    if (dt == GLAB_F64) {
      const double *w = (const double *)W + i * d;
      for (int64_t j = 0; j < d8; j += 8)
        for (int l = 0; l < 8; l++) acc[l] += w[j + l] * w[j + l];
      for (int64_t j = d8; j < d; j++) tail += w[j] * w[j];
    } else {
      const float *w = (const float *)W + i * d;
      for (int64_t j = 0; j < d8; j += 8)
        for (int l = 0; l < 8; l++) acc[l] += (double)w[j + l] * w[j + l];
      for (int64_t j = d8; j < d; j++) tail += (double)w[j] * w[j];
    }
    out[i] = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) +
             tail;
  }
}

/* W (n x d) := W P^T (trans), whose row i is P w_i = L^-1 (x_i - mu) for
** w_i = x_i - mu, or W P, in place; P is lower triangular (its upper
** triangle is not read), so trmm takes half a GEMM's flops (E step at K = 64,
** d = 256, N = 1e5, float64: 9.2 s against 13.6 s).  Runs in glab_parallel,
** so it calls cblas without picking thread counts. */
static inline void tri_rows(glab_dtype dt, int64_t n, int64_t d, void *W, const void *P,
                            int trans) {
  CBLAS_TRANSPOSE t = trans ? CblasTrans : CblasNoTrans;
  if (dt == GLAB_F64)
    cblas_dtrmm(CblasRowMajor, CblasRight, CblasLower, t, CblasNonUnit, (int)n, (int)d, 1.0, P,
                (int)d, W, (int)d);
  else
    cblas_strmm(CblasRowMajor, CblasRight, CblasLower, t, CblasNonUnit, (int)n, (int)d, 1.0f, P,
                (int)d, W, (int)d);
}

/* U (n x d) := Z P + beta U: row i gains P^T z_i, which with z_i = P w_i is
** Sigma^-1 w_i for Sigma = L L^T and P = L^-1.  Runs in glab_parallel. */
static inline void unwhiten_rows(glab_dtype dt, int64_t n, int64_t d, const void *Z,
                                 const void *P, double beta, void *U) {
  if (dt == GLAB_F64)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)d, 1.0, Z,
                (int)d, P, (int)d, beta, U, (int)d);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)d, 1.0f, Z,
                (int)d, P, (int)d, (float)beta, U, (int)d);
}

/* Check a mixture (log_weights (K), means (K, d), chol (K, d, d)) against
** points X (N, d), then fill logdet[k] = log det Sigma_k and P (K, d, d) with
** P_k = L_k^-1 (glab_gmm_whitening).  Errors are prefixed with op.  In gmm.c. */
glab_status glab_gmm_prepare(const glab_tensor *X, const glab_tensor *log_weights,
                             const glab_tensor *means, const glab_tensor *chol, double *logdet,
                             glab_tensor *P, const char *op);

#endif
