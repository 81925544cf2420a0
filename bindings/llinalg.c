/*
** llinalg.c -- genlab.linalg: the LAPACK solvers of core/tensor/linalg.h.
*/
#include "laux.h"


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
  {"cholesky", l_cholesky,
   "linalg.cholesky(A, [{upper=false}]) -> L\n"
   "Lower factor with A = L L^T (or U with A = U^T U), batched over leading dims.\n"
   "A matrix that is not positive definite is an error naming the failing minor.\n"
   "Differentiable."},
  {"eigh", l_eigh,
   "linalg.eigh(A) -> w, V\n"
   "Eigenvalues in ascending order (as numpy) and eigenvectors as the columns of V,\n"
   "A = V diag(w) V^T, for symmetric A (only its lower triangle is read). Batched.\n"
   "Differentiable, with the symmetric gradient; a gradient that reaches V where two eigenvalues\n"
   "are equal is an error (V is not unique there)."},
  {"eigvalsh", l_eigvalsh,
   "linalg.eigvalsh(A) -> w\n"
   "Eigenvalues of symmetric A, ascending. Differentiable (gA = V diag(gw) V^T), ties included."},
  {"solve", l_solve,
   "linalg.solve(A, B) -> X\n"
   "X with A X = B by LU with partial pivoting; B may be a vector. Batched with broadcasting.\n"
   "A singular matrix is an error.\n"
   "Differentiable."},
  {"solve_triangular", l_solve_triangular,
   "linalg.solve_triangular(A, B, [{upper=false, left=true, unitriangular=false}]) -> X\n"
   "X with A X = B (or X A = B when left=false) for triangular A; only that triangle is read.\n"
   "Transposed views of A are read without a copy. Batched with broadcasting.\n"
   "Differentiable."},
  {"cholesky_solve", l_cholesky_solve,
   "linalg.cholesky_solve(B, L, [{upper=false}]) -> X\n"
   "X with (L L^T) X = B, given the Cholesky factor L: two triangular solves.\n"
   "Differentiable."},
  {"slogdet", l_slogdet,
   "linalg.slogdet(A) -> sign, logabsdet\n"
   "Sign and log|det A| through LU; a singular A gives 0 and -inf. Batched.\n"
   "Differentiable."},
  {"inv", l_inv,
   "linalg.inv(A) -> Ainv\n"
   "The explicit inverse (LU solve of A X = I, batched): slower and less accurate than solve or\n"
   "cholesky_solve, which should be preferred to multiplying by an inverse. Differentiable."},
  {"svd", l_svd,
   "linalg.svd(A, [{full_matrices=false}]) -> U, S, Vh\n"
   "A = U diag(S) Vh with S descending; thin factors unless full_matrices. Batched.\n"
   "Differentiable (thin or square factors); a gradient "
   "that reaches U or Vh where singular values\n"
   "tie or vanish is an error, S alone is always fine."},
  {"lstsq", l_lstsq,
   "linalg.lstsq(A, B) -> X\n"
   "The least-squares solution minimising ||A X - B|| (SVD based, any rank). Differentiable in A\n"
   "and B where A has full column rank."},
  {NULL, NULL, NULL}
};

void lg_open_linalg(lua_State *L) {
  lg_setfuncs(L, functions);
}
