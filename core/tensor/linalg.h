/*
** linalg.h -- dense linear algebra on (batches of) matrices, through LAPACK.
**
** Every function takes (..., n, n) or (..., m, n) tensors and works on each
** matrix of the leading "batch" dims, broadcasting them where two operands
** meet (as PyTorch does).  float32 and float64 are both served; mixing them
** gives float64.
**
**     glab_tensor L = GLAB_TENSOR_EMPTY, X = GLAB_TENSOR_EMPTY;
**     if (glab_linalg_cholesky(&L, &Sigma, 0) != GLAB_OK)   // (K, d, d)
**       puts(glab_errmsg());  // "cholesky: matrix is not positive definite
**                             //  (leading minor 17 of 256) in batch element 3"
**     glab_linalg_solve_triangular(&X, &L, &Xc, 0, 1, 0);   // L X = Xc
**
** Failures name the operation, the property that failed and, for batches,
** the (1-based) batch element.  inv() exists for completeness; solve() and
** cholesky_solve() are faster and more accurate and should be preferred.
*/
#ifndef GLAB_LINALG_H
#define GLAB_LINALG_H

#include "tensor.h"

/* A = L L^T (lower) or U^T U (upper); the other triangle is zero. */
glab_status glab_linalg_cholesky(glab_tensor *out, const glab_tensor *a, int upper);
/* Symmetric eigendecomposition: w ascending (..., n), v (..., n, n) with the
** eigenvectors as columns, A = V diag(w) V^T.  Only the lower triangle of A
** is read.  v may be NULL. */
glab_status glab_linalg_eigh(glab_tensor *w, glab_tensor *v, const glab_tensor *a);
/* X with A X = B by LU with partial pivoting.  B is (..., n, k), or (..., n)
** for one right-hand side. */
glab_status glab_linalg_solve(glab_tensor *out, const glab_tensor *a,
                              const glab_tensor *b);
/* X with A X = B (left) or X A = B (!left) for triangular A; only the named
** triangle of A is read; unit: the diagonal is taken as ones.  A transposed
** view of A is read in place. */
glab_status glab_linalg_solve_triangular(glab_tensor *out, const glab_tensor *a,
                                         const glab_tensor *b, int upper, int left,
                                         int unit);
/* X with (L L^T) X = B given the Cholesky factor L (or U^T U when upper). */
glab_status glab_linalg_cholesky_solve(glab_tensor *out, const glab_tensor *b,
                                       const glab_tensor *l, int upper);
/* sign (..., ) in {-1, 0, 1} and log|det A| (..., ); a singular matrix gives
** sign 0 and -inf, not an error (as numpy). */
glab_status glab_linalg_slogdet(glab_tensor *sign, glab_tensor *logabs,
                                const glab_tensor *a);
/* The slow, less stable path: prefer solve or cholesky_solve. */
glab_status glab_linalg_inv(glab_tensor *out, const glab_tensor *a);
/* A = U diag(S) Vh; full selects square U and Vh (else the thin factors). */
glab_status glab_linalg_svd(glab_tensor *u, glab_tensor *s, glab_tensor *vh,
                            const glab_tensor *a, int full);
/* Least-squares X minimising ||A X - B|| (SVD based, any rank). */
glab_status glab_linalg_lstsq(glab_tensor *out, const glab_tensor *a,
                              const glab_tensor *b);

/* ---- one matrix in place, for kernels that run on a thread of their own --------- */

/* The row-major lower triangle of a (n x n, contiguous, dt's elements)
** becomes the Cholesky factor L of the symmetric matrix it holds (A = L L^T);
** the strict upper triangle is left as it was.  Returns LAPACK's info: 0, or
** the order of the leading minor that is not positive definite. */
int glab_linalg_potrf_lower(glab_dtype dt, int n, void *a);

/* The row-major lower triangle of a (n x n) holds a lower triangular P;
** it becomes the lower triangle of P^T P (the strict upper triangle is left
** as it was).  With P = L^-1 that is (L L^T)^-1. */
void glab_linalg_lower_gram(glab_dtype dt, int n, void *a);

#endif
