/*
** llinalg.c -- genlab.linalg: the LAPACK solvers of core/tensor/linalg.h.
*/
#include "lgenlab.h"


static int l_cholesky(lua_State *L) {
  glab_tensor *a = lg_check(L, 1);
  lg_checkopts(L, 2, OPTS("upper"));
  int upper = lg_optbool(L, 2, "upper", 0);
  lg_try(L, glab_ag_cholesky(lg_pushv(L), LV(a), upper));
  return 1;
}

static int l_eigh(lua_State *L) {
  glab_tensor *a = lg_check(L, 1);
  glab_tensor *w = lg_push(L), *v = lg_push(L);
  lg_try(L, glab_ag_eigh(LV(w), LV(v), LV(a)));
  return 2;
}

static int l_eigvalsh(lua_State *L) {
  glab_tensor *a = lg_check(L, 1);
  lg_try(L, glab_ag_eigh(lg_pushv(L), NULL, LV(a)));
  return 1;
}

static int l_solve(lua_State *L) {
  glab_tensor *a = lg_check(L, 1), *b = lg_check(L, 2);
  lg_try(L, glab_ag_solve(lg_pushv(L), LV(a), LV(b)));
  return 1;
}

static int l_solve_triangular(lua_State *L) {
  glab_tensor *a = lg_check(L, 1), *b = lg_check(L, 2);
  lg_checkopts(L, 3, OPTS("upper", "left", "unitriangular"));
  int upper = lg_optbool(L, 3, "upper", 0), left = lg_optbool(L, 3, "left", 1);
  int unit = lg_optbool(L, 3, "unitriangular", 0);
  lg_try(L, glab_ag_solve_triangular(lg_pushv(L), LV(a), LV(b), upper, left, unit));
  return 1;
}

static int l_cholesky_solve(lua_State *L) {
  glab_tensor *b = lg_check(L, 1), *l = lg_check(L, 2);
  lg_checkopts(L, 3, OPTS("upper"));
  int upper = lg_optbool(L, 3, "upper", 0);
  lg_try(L, glab_ag_cholesky_solve(lg_pushv(L), LV(b), LV(l), upper));
  return 1;
}

static int l_slogdet(lua_State *L) {
  glab_tensor *a = lg_check(L, 1);
  glab_tensor *sign = lg_push(L), *logabs = lg_push(L);
  lg_try(L, glab_ag_slogdet(sign, LV(logabs), LV(a)));
  return 2;
}

/* A^-1 as the solve A X = I, so that it is recorded with solve's rule
** (gA = -A^-T gX X^T). */
static int l_inv(lua_State *L) {
  glab_tensor *a = lg_check(L, 1);
  if (a->ndim < 2 || a->shape[a->ndim - 1] != a->shape[a->ndim - 2]) {
    char sh[128];
    luaL_error(L, "inv: (%s) is not a square matrix or a batch of them",
               glab_shape_str(sh, sizeof sh, a->ndim, a->shape));
  }
  glab_tensor *eye = lg_push(L);
  lg_try(L, glab_tensor_eye(eye, a->dtype, a->shape[a->ndim - 1], a->shape[a->ndim - 1]));
  lg_try(L, glab_ag_solve(lg_pushv(L), LV(a), LV(eye)));
  return 1;
}

static int l_svd(lua_State *L) {
  glab_tensor *a = lg_check(L, 1);
  lg_checkopts(L, 2, OPTS("full_matrices"));
  int full = lg_optbool(L, 2, "full_matrices", 0);
  glab_tensor *u = lg_push(L), *s = lg_push(L), *vh = lg_push(L);
  lg_try(L, glab_ag_svd(LV(u), LV(s), LV(vh), LV(a), full));
  return 3;
}

static int l_lstsq(lua_State *L) {
  glab_tensor *a = lg_check(L, 1), *b = lg_check(L, 2);
  lg_try(L, glab_ag_lstsq(lg_pushv(L), LV(a), LV(b)));
  return 1;
}

static const lg_Reg functions[] = {
  {"cholesky", l_cholesky, "linalg.cholesky(A, [{upper=false}]) -> L\nLower factor with A = L L^T (or U with A = U^T U), batched over leading dims.\nA matrix that is not positive definite is an error naming the failing minor.\nDifferentiable."},
  {"eigh", l_eigh, "linalg.eigh(A) -> w, V\nEigenvalues in ascending order (as numpy) and eigenvectors as the columns of V,\nA = V diag(w) V^T, for symmetric A (only its lower triangle is read). Batched.\nDifferentiable, with the symmetric gradient; a gradient that reaches V where two eigenvalues\nare equal is an error (V is not unique there)."},
  {"eigvalsh", l_eigvalsh, "linalg.eigvalsh(A) -> w\nEigenvalues of symmetric A, ascending. Differentiable (gA = V diag(gw) V^T), ties included."},
  {"solve", l_solve, "linalg.solve(A, B) -> X\nX with A X = B by LU with partial pivoting; B may be a vector. Batched with broadcasting.\nA singular matrix is an error.\nDifferentiable."},
  {"solve_triangular", l_solve_triangular, "linalg.solve_triangular(A, B, [{upper=false, left=true, unitriangular=false}]) -> X\nX with A X = B (or X A = B when left=false) for triangular A; only that triangle is read.\nTransposed views of A are read without a copy. Batched with broadcasting.\nDifferentiable."},
  {"cholesky_solve", l_cholesky_solve, "linalg.cholesky_solve(B, L, [{upper=false}]) -> X\nX with (L L^T) X = B, given the Cholesky factor L: two triangular solves.\nDifferentiable."},
  {"slogdet", l_slogdet, "linalg.slogdet(A) -> sign, logabsdet\nSign and log|det A| through LU; a singular A gives 0 and -inf. Batched.\nDifferentiable."},
  {"inv", l_inv, "linalg.inv(A) -> Ainv\nThe explicit inverse (LU solve of A X = I, batched): slower and less accurate than solve or\ncholesky_solve, which should be preferred to multiplying by an inverse. Differentiable."},
  {"svd", l_svd, "linalg.svd(A, [{full_matrices=false}]) -> U, S, Vh\nA = U diag(S) Vh with S descending; thin factors unless full_matrices. Batched.\nDifferentiable (thin or square factors); a gradient that reaches U or Vh where singular values\ntie or vanish is an error, S alone is always fine."},
  {"lstsq", l_lstsq, "linalg.lstsq(A, B) -> X\nThe least-squares solution minimising ||A X - B|| (SVD based, any rank). Differentiable in A\nand B where A has full column rank."},
  {NULL, NULL, NULL}
};

void lg_open_linalg(lua_State *L) {
  lua_newtable(L);
  lg_setfuncs(L, functions);
  lg_setdoc(L, -1, "genlab.linalg: dense linear algebra on matrices and batches of them (LAPACK).");
  lua_setfield(L, -2, "linalg");
}
