/*
** ag_decomp.c -- the spectral decompositions and least squares, recorded for
** autograd: eigh / eigvalsh, svd and lstsq.  Batched as their forwards are.
**
** Rules (for one matrix; F_ij = 1/(l_j - l_i) off the diagonal, 0 on it):
**   A = V diag(w) V^T:  gA = sym(V (diag(gw) + F o (V^T gV)) V^T), l = w
**   A = U diag(s) V^T:  gA = U (diag(gs) + (F o (U^T gU - gU^T U)) S
**                             + S (F o (V^T gV - gV^T V))) V^T
**                        + (I - U U^T) gU S^-1 V^T + U S^-1 gV^T (I - V V^T),
**                        l = s^2 (Townsend, "Differentiating the SVD", 2016)
**   X = lstsq(A, B):    with Z = (A^T A)^-1 gX and R = B - A X,
**                        gB = A Z,  gA = R Z^T - A Z X^T  (full column rank)
** The eigenvector and singular-vector terms divide by the gaps l_j - l_i:
** when a gradient reaches the vectors and two values tie, the rule fails
** with a message, as the vectors are not unique there (PyTorch documents the
** same limit).  Gradients that reach only w or s never divide.
*/
#include <math.h>
#include <string.h>

#include "../tensor/linalg.h"
#include "node.h"

static glab_status tr(glab_tensor *out, const glab_tensor *a) {
  return glab_tensor_transpose(out, a, a->ndim - 2, a->ndim - 1);
}

/* c = a @ b^T or a @ b (tb), a fresh tensor. */
static glab_status mm(glab_tensor *c, const glab_tensor *a, const glab_tensor *b, int tb) {
  glab_tensor bt = GLAB_TENSOR_EMPTY;
  glab_status s = tb ? tr(&bt, b) : GLAB_OK;
  if (s == GLAB_OK) s = glab_matmul(c, a, tb ? &bt : b);
  glab_tensor_free(&bt);
  return s;
}

static int any_nonzero(const glab_tensor *t) {
  int64_t n = glab_tensor_numel(t);
  for (int64_t i = 0; i < n; i++)
    if (glab_tensor_flat_get(t, i) != 0) return 1;
  return 0;
}

/* F (..., n, n) from l (..., n): 1/(l_j - l_i) off the diagonal.  A gap
** within 64 ulp of the largest |l| is a tie: an error naming op when
** strict, else F_ij = 0 there. */
static glab_status gap_inverse(glab_tensor *F, const glab_tensor *l, int strict, const char *op) {
  int nd = l->ndim;
  int64_t n = l->shape[nd - 1], batch = glab_tensor_numel(l) / (n ? n : 1), sh[GLAB_MAXDIM];
  memcpy(sh, l->shape, (size_t)nd * sizeof *sh);
  sh[nd] = n;
  glab_status s = glab_tensor_new(F, GLAB_F64, nd + 1, sh);
  if (s != GLAB_OK) return s;
  double eps = l->dtype == GLAB_F64 ? 0x1p-52 : 0x1p-23, *f = glab_tensor_data(F);
  for (int64_t b = 0; b < batch; b++) {
    double scale = 0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(glab_tensor_flat_get(l, b * n + i)));
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < n; j++) {
        double d = glab_tensor_flat_get(l, b * n + j) - glab_tensor_flat_get(l, b * n + i);
        int tie = i != j && fabs(d) <= 64 * eps * fmax(scale, 1e-300);
        if (tie && strict) {
          glab_tensor_free(F);
          return glab_fail(GLAB_ELINALG, "%s: the gradient of the vectors is not defined where two values "
                           "are equal (%.17g, positions %lld and %lld); use the values alone, or perturb A",
                           op, glab_tensor_flat_get(l, b * n + i), (long long)i + 1, (long long)j + 1);
        }
        f[(b * n + i) * n + j] = i == j || tie ? 0 : 1 / d;
      }
  }
  if (l->dtype == GLAB_F32) {
    glab_tensor f32 = GLAB_TENSOR_EMPTY;
    s = glab_tensor_astype(&f32, F, GLAB_F32);
    if (s == GLAB_OK) glab_tensor_move(F, &f32);
  }
  return s;
}

/* diag(v) (..., n, n) from v (..., n): the identity scaled column by column. */
static glab_status diag_embed(glab_tensor *out, const glab_tensor *v) {
  int64_t n = v->shape[v->ndim - 1];
  glab_tensor eye = GLAB_TENSOR_EMPTY, row = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_eye(&eye, v->dtype, n, n);
  if (s == GLAB_OK) s = glab_tensor_unsqueeze(&row, v, v->ndim - 1);
  if (s == GLAB_OK) s = glab_binary(out, GLAB_MUL, &eye, &row);
  glab_tensor_free(&eye);
  glab_tensor_free(&row);
  return s;
}

/* ---- eigh ------------------------------------------------------------------------- */

/* saved: w, V */
static glab_status eigh_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *w = &n->saved[0], *V = &n->saved[1];
  int vectors = n->nout > 1 && any_nonzero(&n->grad[1]);
  glab_tensor inner = GLAB_TENSOR_EMPTY, P = GLAB_TENSOR_EMPTY, F = GLAB_TENSOR_EMPTY;
  glab_tensor VI = GLAB_TENSOR_EMPTY, G = GLAB_TENSOR_EMPTY, Gt = GLAB_TENSOR_EMPTY;
  glab_tensor Vt = GLAB_TENSOR_EMPTY;
  glab_status s;
  TRY(diag_embed(&inner, &n->grad[0]));
  if (vectors) {
    TRY(tr(&Vt, V));
    TRY(glab_matmul(&P, &Vt, &n->grad[1]));                 /* V^T gV */
    TRY(gap_inverse(&F, w, 1, "eigh"));
    TRY(glab_binary(&P, GLAB_MUL, &P, &F));
    TRY(glab_binary(&inner, GLAB_ADD, &inner, &P));
  }
  TRY(glab_matmul(&VI, V, &inner));
  TRY(mm(&G, &VI, V, 1));                                    /* V inner V^T */
  TRY(tr(&Gt, &G));
  TRY(glab_binary(&gin[0], GLAB_ADD, &G, &Gt));
  s = glab_binary_scalar(&gin[0], GLAB_MUL, &gin[0], 0.5, 0);
done:
  glab_tensor_free(&inner);
  glab_tensor_free(&P);
  glab_tensor_free(&F);
  glab_tensor_free(&VI);
  glab_tensor_free(&G);
  glab_tensor_free(&Gt);
  glab_tensor_free(&Vt);
  return s;
}

glab_status glab_ag_eigh(glab_var *w, glab_var *V, const glab_var *a) {
  glab_tensor own = GLAB_TENSOR_EMPTY;
  glab_tensor *vt = V ? &V->t : &own;
  glab_status s = glab_linalg_eigh(&w->t, vt, &a->t);
  glab_node *n = NULL;
  if (s == GLAB_OK) s = glab_node_record(&n, w, V ? "eigh" : "eigvalsh", eigh_backward, 1, &a, &w->t, vt, NULL);
  if (n && V) glab_node_output(n, V, 1);
  glab_tensor_free(&own);
  return s;
}

/* ---- svd --------------------------------------------------------------------------- */

/* The two projection terms of a tall side: (I - U U^T) gU S^-1, one side at
** a time; U (.., m, k), gU (.., m, k), sinv (.., k). */
static glab_status projected(glab_tensor *out, const glab_tensor *U, const glab_tensor *gU,
                             const glab_tensor *sinv) {
  glab_tensor UtG = GLAB_TENSOR_EMPTY, UUtG = GLAB_TENSOR_EMPTY, Ut = GLAB_TENSOR_EMPTY, r = GLAB_TENSOR_EMPTY;
  glab_tensor row = GLAB_TENSOR_EMPTY;
  glab_status s;
  TRY(tr(&Ut, U));
  TRY(glab_matmul(&UtG, &Ut, gU));
  TRY(glab_matmul(&UUtG, U, &UtG));
  TRY(glab_binary(&r, GLAB_SUB, gU, &UUtG));
  TRY(glab_tensor_unsqueeze(&row, sinv, sinv->ndim - 1));
  s = glab_binary(out, GLAB_MUL, &r, &row);                 /* columns times 1/s */
done:
  glab_tensor_free(&UtG);
  glab_tensor_free(&UUtG);
  glab_tensor_free(&Ut);
  glab_tensor_free(&r);
  glab_tensor_free(&row);
  return s;
}

/* F o (X^T gX - gX^T X) for X = U or V. */
static glab_status skew_term(glab_tensor *out, const glab_tensor *X, const glab_tensor *gX,
                             const glab_tensor *F) {
  glab_tensor Xt = GLAB_TENSOR_EMPTY, P = GLAB_TENSOR_EMPTY, Pt = GLAB_TENSOR_EMPTY;
  glab_status s;
  TRY(tr(&Xt, X));
  TRY(glab_matmul(&P, &Xt, gX));
  TRY(tr(&Pt, &P));
  TRY(glab_binary(out, GLAB_SUB, &P, &Pt));
  s = glab_binary(out, GLAB_MUL, out, F);
done:
  glab_tensor_free(&Xt);
  glab_tensor_free(&P);
  glab_tensor_free(&Pt);
  return s;
}

/* saved: U, S, Vh (thin) */
static glab_status svd_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *U = &n->saved[0], *S = &n->saved[1], *Vh = &n->saved[2];
  int vectors = any_nonzero(&n->grad[0]) || any_nonzero(&n->grad[2]);
  glab_tensor V = GLAB_TENSOR_EMPTY, gV = GLAB_TENSOR_EMPTY, inner = GLAB_TENSOR_EMPTY;
  glab_tensor F = GLAB_TENSOR_EMPTY, s2 = GLAB_TENSOR_EMPTY, J = GLAB_TENSOR_EMPTY;
  glab_tensor K = GLAB_TENSOR_EMPTY, Sd = GLAB_TENSOR_EMPTY, t1 = GLAB_TENSOR_EMPTY;
  glab_tensor UI = GLAB_TENSOR_EMPTY, sinv = GLAB_TENSOR_EMPTY, pu = GLAB_TENSOR_EMPTY;
  glab_tensor pv = GLAB_TENSOR_EMPTY, pvt = GLAB_TENSOR_EMPTY, x = GLAB_TENSOR_EMPTY;
  glab_status s;
  TRY(tr(&V, Vh));
  TRY(diag_embed(&inner, &n->grad[1]));
  if (vectors) {
    for (int64_t i = 0; i < glab_tensor_numel(S); i++)
      if (glab_tensor_flat_get(S, i) == 0)
        TRY(glab_fail(GLAB_ELINALG, "svd: the gradient of U or Vh is not defined for a zero singular "
                      "value (A is rank-deficient); use S alone"));
    TRY(tr(&gV, &n->grad[2]));                              /* gVh^T */
    TRY(glab_binary(&s2, GLAB_MUL, S, S));
    TRY(gap_inverse(&F, &s2, 1, "svd"));
    TRY(diag_embed(&Sd, S));
    TRY(skew_term(&J, U, &n->grad[0], &F));
    TRY(skew_term(&K, &V, &gV, &F));
    TRY(glab_matmul(&t1, &J, &Sd));
    TRY(glab_binary(&inner, GLAB_ADD, &inner, &t1));
    glab_tensor_free(&t1);
    TRY(glab_matmul(&t1, &Sd, &K));
    TRY(glab_binary(&inner, GLAB_ADD, &inner, &t1));
  }
  TRY(glab_matmul(&UI, U, &inner));
  TRY(glab_matmul(&gin[0], &UI, Vh));                        /* U inner V^T */
  if (vectors) {
    TRY(glab_unary(&sinv, GLAB_RECIPROCAL, S));
    TRY(projected(&pu, U, &n->grad[0], &sinv));             /* (I - UU^T) gU S^-1 */
    TRY(glab_matmul(&x, &pu, Vh));
    TRY(glab_binary(&gin[0], GLAB_ADD, &gin[0], &x));
    glab_tensor_free(&x);
    TRY(projected(&pv, &V, &gV, &sinv));                    /* (I - VV^T) gV S^-1 */
    TRY(tr(&pvt, &pv));
    TRY(glab_matmul(&x, U, &pvt));
    TRY(glab_binary(&gin[0], GLAB_ADD, &gin[0], &x));
  }
done:
  glab_tensor_free(&V);
  glab_tensor_free(&gV);
  glab_tensor_free(&inner);
  glab_tensor_free(&F);
  glab_tensor_free(&s2);
  glab_tensor_free(&J);
  glab_tensor_free(&K);
  glab_tensor_free(&Sd);
  glab_tensor_free(&t1);
  glab_tensor_free(&UI);
  glab_tensor_free(&sinv);
  glab_tensor_free(&pu);
  glab_tensor_free(&pv);
  glab_tensor_free(&pvt);
  glab_tensor_free(&x);
  return s;
}

glab_status glab_ag_svd(glab_var *U, glab_var *S, glab_var *Vh, const glab_var *a, int full) {
  glab_status s = glab_linalg_svd(&U->t, &S->t, &Vh->t, &a->t, full);
  if (s != GLAB_OK || !glab_grad_enabled() || !glab_var_requires_grad(a)) return s;
  if (full && a->t.shape[a->t.ndim - 1] != a->t.shape[a->t.ndim - 2])
    return glab_fail(GLAB_EARG, "svd: no gradient through full_matrices=true of a non-square matrix "
                     "(its extra columns are not unique); use the thin factors");
  const glab_var *ins[1] = {a};
  glab_node *n;
  s = glab_node_new(&n, "svd", svd_backward, 1, ins);
  if (s != GLAB_OK || !n) return s;
  glab_node_save(n, 0, &U->t);
  glab_node_save(n, 1, &S->t);
  glab_node_save(n, 2, &Vh->t);
  glab_node_output(n, U, 0);
  glab_node_output(n, S, 1);
  glab_node_output(n, Vh, 2);
  return GLAB_OK;
}

/* ---- lstsq -------------------------------------------------------------------------- */

/* saved: A, B, X (B and X as matrices) */
static glab_status lstsq_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *A = &n->saved[0], *B = &n->saved[1], *X = &n->saved[2];
  int vec = (int)n->iarg[0];
  glab_tensor At = GLAB_TENSOR_EMPTY, AtA = GLAB_TENSOR_EMPTY, L = GLAB_TENSOR_EMPTY;
  glab_tensor gX = GLAB_TENSOR_EMPTY, Z = GLAB_TENSOR_EMPTY, AX = GLAB_TENSOR_EMPTY;
  glab_tensor R = GLAB_TENSOR_EMPTY, AZ = GLAB_TENSOR_EMPTY, t = GLAB_TENSOR_EMPTY;
  glab_status s;
  if (vec) TRY(glab_tensor_unsqueeze(&gX, &n->grad[0], n->grad[0].ndim));
  else glab_tensor_share(&gX, &n->grad[0]);
  TRY(tr(&At, A));
  TRY(glab_matmul(&AtA, &At, A));
  if (glab_linalg_cholesky(&L, &AtA, 0) != GLAB_OK)
    TRY(glab_fail(GLAB_ELINALG, "lstsq: the gradient is defined here for A of full column rank "
                  "(A^T A is not positive definite)"));
  TRY(glab_linalg_cholesky_solve(&Z, &gX, &L, 0));          /* (A^T A)^-1 gX */
  TRY(glab_matmul(&AZ, A, &Z));
  if (glab_node_needs(n, 0)) {
    TRY(glab_matmul(&AX, A, X));
    TRY(glab_binary(&R, GLAB_SUB, B, &AX));
    TRY(mm(&gin[0], &R, &Z, 1));                             /* R Z^T */
    TRY(mm(&t, &AZ, X, 1));                                  /* A Z X^T */
    TRY(glab_binary(&gin[0], GLAB_SUB, &gin[0], &t));
  }
  if (glab_node_needs(n, 1)) {
    if (vec) TRY(glab_tensor_squeeze(&gin[1], &AZ, AZ.ndim - 1));
    else glab_tensor_share(&gin[1], &AZ);
  }
done:
  glab_tensor_free(&At);
  glab_tensor_free(&AtA);
  glab_tensor_free(&L);
  glab_tensor_free(&gX);
  glab_tensor_free(&Z);
  glab_tensor_free(&AX);
  glab_tensor_free(&R);
  glab_tensor_free(&AZ);
  glab_tensor_free(&t);
  return s;
}

glab_status glab_ag_lstsq(glab_var *X, const glab_var *a, const glab_var *b) {
  glab_status s = glab_linalg_lstsq(&X->t, &a->t, &b->t);
  if (s != GLAB_OK) return s;
  int vec = b->t.ndim == 1;
  glab_tensor Bm = GLAB_TENSOR_EMPTY, Xm = GLAB_TENSOR_EMPTY;
  if (vec) {
    s = glab_tensor_unsqueeze(&Bm, &b->t, 1);
    if (s == GLAB_OK) s = glab_tensor_unsqueeze(&Xm, &X->t, 1);
  } else {
    glab_tensor_share(&Bm, &b->t);
    glab_tensor_share(&Xm, &X->t);
  }
  const glab_var *ins[2] = {a, b};
  glab_node *n = NULL;
  if (s == GLAB_OK) s = glab_node_record(&n, X, "lstsq", lstsq_backward, 2, ins, &a->t, &Bm, &Xm);
  if (n) n->iarg[0] = vec;
  glab_tensor_free(&Bm);
  glab_tensor_free(&Xm);
  return s;
}
