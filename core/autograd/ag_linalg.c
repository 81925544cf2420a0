/*
** ag_linalg.c -- Cholesky, triangular and general solves, cholesky_solve
** and slogdet, recorded for autograd.  Every rule is batched as its forward
** is, and is built from solves: no explicit inverse, except slogdet's
** gradient, which is A^-T itself.
**
** Rules (for one matrix; L lower, A = L L^T):
**   cholesky:          gA = sym(L^-T Phi(L^T gL) L^-1), Phi = lower half with
**                      the diagonal halved (Murray, 2016)
**   X = A^-1 B (tri):  gB = A^-T gX,  gA = -gB X^T restricted to A's triangle
**   X = (L L^T)^-1 B:  gB = (L L^T)^-1 gX,  gL = -tril((gB X^T + X gB^T) L)
**   log|det A|:        gA = g A^-T
*/
#include <string.h>

#include "node.h"

static glab_status last_transpose(glab_tensor *out, const glab_tensor *a) {
  return glab_tensor_transpose(out, a, a->ndim - 2, a->ndim - 1);
}

/* An (n x n) mask: 1 strictly below (lower) or above the diagonal, diag on it. */
static glab_status tri_mask(glab_tensor *out, glab_dtype dt, int64_t n, int lower,
                            double diag) {
  int64_t shape[2] = {n, n};
  glab_status s = glab_tensor_new(out, dt, 2, shape);
  if (s != GLAB_OK) return s;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < n; j++) {
      int64_t ix[2] = {i, j};
      glab_tensor_set(out, ix, i == j ? diag : (lower ? i > j : i < j));
    }
  return GLAB_OK;
}

static glab_status mask_mul(glab_tensor *t, int lower, double diag) {
  glab_tensor m = GLAB_TENSOR_EMPTY;
  glab_status s = tri_mask(&m, t->dtype, t->shape[t->ndim - 1], lower, diag);
  if (s == GLAB_OK) s = glab_binary(t, GLAB_MUL, t, &m);
  glab_tensor_free(&m);
  return s;
}

/* (x + x^T) / 2 over the last two dims, into x. */
static glab_status symmetrize(glab_tensor *x) {
  glab_tensor xt = GLAB_TENSOR_EMPTY, y = GLAB_TENSOR_EMPTY;
  glab_status s = last_transpose(&xt, x);
  if (s == GLAB_OK) s = glab_binary(&y, GLAB_ADD, x, &xt);
  if (s == GLAB_OK) s = glab_binary_scalar(&y, GLAB_MUL, &y, 0.5, 0);
  glab_tensor_free(&xt);
  if (s == GLAB_OK) glab_tensor_move(x, &y);
  glab_tensor_free(&y);
  return s;
}

/* A (..., n, n) and b as a matrix: a vector right-hand side (..., n) gets a
** unit last dim. */
static glab_status rhs_matrix(glab_tensor *out, const glab_tensor *b, const glab_tensor *a) {
  int vec = b->ndim == 1 && a->ndim == 2;
  if (!vec && b->ndim == a->ndim - 1) {           /* the rule of linalg.c's solve */
    vec = 1;
    for (int i = 0; i < b->ndim; i++) vec &= b->shape[i] == a->shape[i];
  }
  if (vec) return glab_tensor_unsqueeze(out, b, b->ndim);
  glab_tensor_share(out, b);
  return GLAB_OK;
}

/* ---- cholesky ----------------------------------------------------------------------- */

/* saved: the factor (L, or U = L^T); iarg[0]: upper */
static glab_status cholesky_backward(glab_node *n, glab_tensor *gin) {
  int upper = (int)n->iarg[0];
  glab_tensor L = GLAB_TENSOR_EMPTY, gL = GLAB_TENSOR_EMPTY, Lt = GLAB_TENSOR_EMPTY;
  glab_tensor P = GLAB_TENSOR_EMPTY, X = GLAB_TENSOR_EMPTY;
  glab_status s;
  if (upper) {
    TRY(last_transpose(&L, &n->saved[0]));
    TRY(last_transpose(&gL, &n->grad[0]));
  } else {
    glab_tensor_share(&L, &n->saved[0]);
    glab_tensor_share(&gL, &n->grad[0]);
  }
  TRY(last_transpose(&Lt, &L));
  TRY(glab_matmul(&P, &Lt, &gL));
  TRY(mask_mul(&P, 1, 0.5));                                    /* Phi(L^T gL) */
  TRY(glab_linalg_solve_triangular(&X, &Lt, &P, 1, 1, 0));      /* L^-T P */
  TRY(glab_linalg_solve_triangular(&gin[0], &L, &X, 0, 0, 0));  /* ... L^-1 */
  s = symmetrize(&gin[0]);
done:
  glab_tensor_free(&L);
  glab_tensor_free(&gL);
  glab_tensor_free(&Lt);
  glab_tensor_free(&P);
  glab_tensor_free(&X);
  return s;
}

glab_status glab_ag_cholesky(glab_var *out, const glab_var *a, int upper) {
  glab_status s = glab_linalg_cholesky(&out->t, &a->t, upper);
  if (s != GLAB_OK) return s;
  glab_node *n;
  s = glab_node_record(&n, out, "cholesky", cholesky_backward, 1, &a, &out->t, NULL, NULL);
  if (n) n->iarg[0] = upper;
  return s;
}

/* ---- triangular solve ----------------------------------------------------------------- */

/* saved: A, B (shape), X; iarg: upper, left, unit */
static glab_status solve_triangular_backward(glab_node *n, glab_tensor *gin) {
  int upper = (int)n->iarg[0], left = (int)n->iarg[1], unit = (int)n->iarg[2];
  const glab_tensor *A = &n->saved[0], *B = &n->saved[1], *X = &n->saved[2];
  glab_tensor At = GLAB_TENSOR_EMPTY, gB = GLAB_TENSOR_EMPTY, Xt = GLAB_TENSOR_EMPTY;
  glab_tensor gA = GLAB_TENSOR_EMPTY;
  glab_status s;
  TRY(last_transpose(&At, A));
  TRY(glab_linalg_solve_triangular(&gB, &At, &n->grad[0], !upper, left, unit));
  if (glab_node_needs(n, 0)) {
    TRY(last_transpose(&Xt, X));
    TRY(left ? glab_matmul(&gA, &gB, &Xt) : glab_matmul(&gA, &Xt, &gB));
    TRY(glab_unary(&gA, GLAB_NEG, &gA));
    TRY(mask_mul(&gA, !upper, unit ? 0.0 : 1.0));
    TRY(glab_sum_to(&gin[0], &gA, A->ndim, A->shape));
  }
  if (glab_node_needs(n, 1)) TRY(glab_sum_to(&gin[1], &gB, B->ndim, B->shape));
done:
  glab_tensor_free(&At);
  glab_tensor_free(&gB);
  glab_tensor_free(&Xt);
  glab_tensor_free(&gA);
  return s;
}

glab_status glab_ag_solve_triangular(glab_var *out, const glab_var *a, const glab_var *b,
                                     int upper, int left, int unit) {
  glab_status s = glab_linalg_solve_triangular(&out->t, &a->t, &b->t, upper, left, unit);
  if (s != GLAB_OK) return s;
  const glab_var *in[2] = {a, b};
  glab_node *n;
  s = glab_node_record(&n, out, "solve_triangular", solve_triangular_backward, 2, in, &a->t,
                       &b->t, &out->t);
  if (n) {
    n->iarg[0] = upper;
    n->iarg[1] = left;
    n->iarg[2] = unit;
  }
  return s;
}

/* ---- cholesky_solve ------------------------------------------------------------------------ */

/* saved: B (shape), L, X; iarg[0]: upper.  Inputs: 0 = B, 1 = L.  The
** forward reads only L's triangle, so the gradient's product takes that
** triangle alone, whatever the other holds. */
static glab_status cholesky_solve_backward(glab_node *n, glab_tensor *gin) {
  int upper = (int)n->iarg[0];
  const glab_tensor *B = &n->saved[0], *F = &n->saved[1];
  glab_tensor gB = GLAB_TENSOR_EMPTY, gX = GLAB_TENSOR_EMPTY, X = GLAB_TENSOR_EMPTY;
  glab_tensor T = GLAB_TENSOR_EMPTY, M = GLAB_TENSOR_EMPTY, G = GLAB_TENSOR_EMPTY;
  glab_tensor Ft = GLAB_TENSOR_EMPTY;
  glab_status s;
  TRY(rhs_matrix(&gX, &n->grad[0], F));
  TRY(rhs_matrix(&X, &n->saved[2], F));
  TRY(glab_linalg_cholesky_solve(&gB, &gX, F, upper));
  if (glab_node_needs(n, 1)) {                         /* -(gB X^T + X gB^T) L, or U (...) */
    TRY(last_transpose(&T, &X));
    TRY(glab_matmul(&M, &gB, &T));
    TRY(symmetrize(&M));
    TRY(glab_tensor_clone(&Ft, F));
    TRY(mask_mul(&Ft, !upper, 1.0));
    TRY(upper ? glab_matmul(&G, &Ft, &M) : glab_matmul(&G, &M, &Ft));
    TRY(glab_binary_scalar(&G, GLAB_MUL, &G, -2.0, 0));
    TRY(mask_mul(&G, !upper, 1.0));
    TRY(glab_sum_to(&gin[1], &G, F->ndim, F->shape));
  }
  if (glab_node_needs(n, 0)) {
    glab_tensor r = GLAB_TENSOR_EMPTY;
    TRY(glab_tensor_reshape(&r, &gB, n->grad[0].ndim, n->grad[0].shape));
    s = glab_sum_to(&gin[0], &r, B->ndim, B->shape);
    glab_tensor_free(&r);
  }
done:
  glab_tensor_free(&gB);
  glab_tensor_free(&gX);
  glab_tensor_free(&X);
  glab_tensor_free(&T);
  glab_tensor_free(&M);
  glab_tensor_free(&G);
  glab_tensor_free(&Ft);
  return s;
}

glab_status glab_ag_cholesky_solve(glab_var *out, const glab_var *b, const glab_var *l,
                                   int upper) {
  glab_status s = glab_linalg_cholesky_solve(&out->t, &b->t, &l->t, upper);
  if (s != GLAB_OK) return s;
  const glab_var *in[2] = {b, l};
  glab_node *n;
  s = glab_node_record(&n, out, "cholesky_solve", cholesky_solve_backward, 2, in, &b->t,
                       &l->t, &out->t);
  if (n) n->iarg[0] = upper;
  return s;
}

/* ---- general solve ---------------------------------------------------------------------------- */

/* saved: A, B, X */
static glab_status solve_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *A = &n->saved[0], *B = &n->saved[1];
  glab_tensor At = GLAB_TENSOR_EMPTY, gX = GLAB_TENSOR_EMPTY, X = GLAB_TENSOR_EMPTY;
  glab_tensor gB = GLAB_TENSOR_EMPTY, Xt = GLAB_TENSOR_EMPTY, gA = GLAB_TENSOR_EMPTY;
  glab_status s;
  TRY(rhs_matrix(&gX, &n->grad[0], A));
  TRY(rhs_matrix(&X, &n->saved[2], A));
  TRY(last_transpose(&At, A));
  TRY(glab_linalg_solve(&gB, &At, &gX));
  if (glab_node_needs(n, 0)) {
    TRY(last_transpose(&Xt, &X));
    TRY(glab_matmul(&gA, &gB, &Xt));
    TRY(glab_unary(&gA, GLAB_NEG, &gA));
    TRY(glab_sum_to(&gin[0], &gA, A->ndim, A->shape));
  }
  if (glab_node_needs(n, 1)) {
    glab_tensor r = GLAB_TENSOR_EMPTY;
    TRY(glab_tensor_reshape(&r, &gB, n->grad[0].ndim, n->grad[0].shape));
    s = glab_sum_to(&gin[1], &r, B->ndim, B->shape);
    glab_tensor_free(&r);
  }
done:
  glab_tensor_free(&At);
  glab_tensor_free(&gX);
  glab_tensor_free(&X);
  glab_tensor_free(&gB);
  glab_tensor_free(&Xt);
  glab_tensor_free(&gA);
  return s;
}

glab_status glab_ag_solve(glab_var *out, const glab_var *a, const glab_var *b) {
  glab_status s = glab_linalg_solve(&out->t, &a->t, &b->t);
  if (s != GLAB_OK) return s;
  const glab_var *in[2] = {a, b};
  return glab_node_record(NULL, out, "solve", solve_backward, 2, in, &a->t, &b->t, &out->t);
}

/* ---- slogdet ---------------------------------------------------------------------------------------- */

/* saved: A.  g A^-T, the inverse through an LU solve against I. */
static glab_status slogdet_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *A = &n->saved[0];
  glab_tensor At = GLAB_TENSOR_EMPTY, I = GLAB_TENSOR_EMPTY, g = GLAB_TENSOR_EMPTY;
  glab_tensor ge = GLAB_TENSOR_EMPTY;
  int64_t m = A->shape[A->ndim - 1];
  glab_status s;
  TRY(last_transpose(&At, A));
  TRY(glab_tensor_eye(&I, A->dtype, m, m));
  TRY(glab_linalg_solve(&gin[0], &At, &I));
  TRY(glab_tensor_unsqueeze(&g, &n->grad[0], n->grad[0].ndim));
  glab_tensor_move(&ge, &g);
  TRY(glab_tensor_unsqueeze(&g, &ge, ge.ndim));
  s = glab_binary(&gin[0], GLAB_MUL, &gin[0], &g);
done:
  glab_tensor_free(&At);
  glab_tensor_free(&I);
  glab_tensor_free(&g);
  glab_tensor_free(&ge);
  return s;
}

glab_status glab_ag_slogdet(glab_tensor *sign, glab_var *logabs, const glab_var *a) {
  glab_status s = glab_linalg_slogdet(sign, &logabs->t, &a->t);
  if (s != GLAB_OK) return s;
  return glab_node_record(NULL, logabs, "slogdet", slogdet_backward, 1, &a, &a->t, NULL, NULL);
}
