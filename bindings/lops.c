/*
** lops.c -- reductions, scans, matrix products, indexing and joining, as
** Tensor methods and genlab.* functions.  Index tensors cross this boundary
** 1-based: lg_index_arg shifts arguments, lg_one_based results.
*/
#include <stdlib.h>

#include "laux.h"

/* ---- reductions ------------------------------------------------------------- */

static int desc(const void *a, const void *b) { return *(const int *)b - *(const int *)a; }

/* op over a table of dims at index i, as PyTorch takes them: one recorded
** reduction per dim, from the last, kept, then squeezed unless keepdim (for
** sum, mean, logsumexp and max the nested reductions are the joint one). */
/* max or min over the n dims (descending) jointly: the dims moved last and
** merged into one, so that ties anywhere among them share the gradient
** evenly, as they do over everything (a chain of one-dim reductions would
** halve a tie at each link). */
static int extreme_dims(lua_State *L, glab_redop op, glab_var *x, const int *dims, int n,
                        int keepdim) {
  int nd = x->t.ndim, perm[GLAB_MAXDIM], reduced[GLAB_MAXDIM] = {0}, m = 0;
  int64_t shape[GLAB_MAXDIM], merged = 1;
  for (int k = 0; k < n; k++) reduced[dims[k]] = 1;
  for (int d = 0; d < nd; d++)
    if (!reduced[d]) { perm[m] = d; shape[m++] = x->t.shape[d]; }
  for (int k = n - 1; k >= 0; k--) { perm[m + n - 1 - k] = dims[k]; merged *= x->t.shape[dims[k]]; }
  shape[m] = merged;
  glab_var *p = lg_pushv(L), *r = lg_pushv(L), *e = lg_pushv(L);
  lg_try(L, glab_ag_permute(p, x, perm));
  lg_try(L, glab_ag_reshape(r, p, m + 1, shape, 0));
  lg_try(L, glab_ag_reduce(e, op, r, m, 0, 0));
  if (keepdim) {                                   /* ones where the dims were */
    for (int d = 0, j = 0; d < nd; d++) shape[d] = reduced[d] ? 1 : x->t.shape[perm[j++]];
    lg_try(L, glab_ag_reshape(lg_pushv(L), e, nd, shape, 0));
  }
  return 1;
}

static int reduce_dims(lua_State *L, glab_redop op, glab_tensor *x, int i, int keepdim) {
  int dims[GLAB_MAXDIM], n = (int)lua_rawlen(L, i);
  if (n < 1 || n > x->ndim) luaL_argerror(L, i, "expected a list of 1 to ndim dims");
  for (int k = 0; k < n; k++) {
    lua_rawgeti(L, i, k + 1);
    dims[k] = glab_dim(lg_checkdim(L, -1, x->ndim), x->ndim);
    lua_pop(L, 1);
    for (int j = 0; j < k; j++)
      if (dims[j] == dims[k]) luaL_argerror(L, i, "a dim appears twice");
  }
  qsort(dims, (size_t)n, sizeof *dims, desc);
  glab_var *cur = LV(x);
  if ((op == GLAB_MAX || op == GLAB_MIN) && n > 1) return extreme_dims(L, op, cur, dims, n, keepdim);
  for (int k = 0; k < n; k++) {
    glab_var *next = lg_pushv(L);
    lg_try(L, glab_ag_reduce(next, op, cur, dims[k], 1, 0));
    cur = next;
  }
  for (int k = 0; k < n && !keepdim; k++) {      /* descending: the later dims go first */
    glab_var *next = lg_pushv(L);
    lg_try(L, glab_ag_squeeze(next, cur, dims[k]));
    cur = next;
  }
  return 1;
}

/* x:op([dim or {dims}], [keepdim]): over dim(s), or everything when nil. */
static int reduce(lua_State *L, glab_redop op) {
  glab_tensor *x = lg_check(L, 1);
  int keepdim = lua_toboolean(L, 3);
  if (lua_istable(L, 2)) return reduce_dims(L, op, x, 2, keepdim);
  int dim = lua_isnoneornil(L, 2) ? GLAB_ALLDIMS : lg_checkdim(L, 2, x->ndim);
  lg_try(L, glab_ag_reduce(lg_pushv(L), op, LV(x), dim, keepdim, 0));
  return 1;
}

static int r_sum(lua_State *L) { return reduce(L, GLAB_SUM); }
static int r_mean(lua_State *L) { return reduce(L, GLAB_MEAN); }
static int r_prod(lua_State *L) { return reduce(L, GLAB_PROD); }
static int r_logsumexp(lua_State *L) { return reduce(L, GLAB_LOGSUMEXP); }

/* x:var([dim], [unbiased=true], [keepdim=false]) */
static int moment(lua_State *L, glab_redop op) {
  glab_tensor *x = lg_check(L, 1);
  int dim = lua_isnoneornil(L, 2) ? GLAB_ALLDIMS : lg_checkdim(L, 2, x->ndim);
  int unbiased = lua_isnoneornil(L, 3) ? 1 : lua_toboolean(L, 3);
  int keepdim = lua_toboolean(L, 4);
  lg_try(L, glab_ag_reduce(lg_pushv(L), op, LV(x), dim, keepdim, unbiased));
  return 1;
}

static int r_var(lua_State *L) { return moment(L, GLAB_VAR); }
static int r_std(lua_State *L) { return moment(L, GLAB_STD); }

/* x:max() -> scalar; x:max(dim, [keepdim]) -> values, indices;
** max(a, b) with a tensor b -> maximum(a, b). */
static int extreme(lua_State *L, int is_max) {
  glab_tensor *x = lg_check(L, 1);
  if (lg_test(L, 2)) {
    glab_tensor *b = lg_check(L, 2);
    lg_try(L, glab_ag_binary(lg_pushv(L), is_max ? GLAB_MAXIMUM : GLAB_MINIMUM, LV(x), LV(b)));
    return 1;
  }
  if (lua_isnoneornil(L, 2)) {
    lg_try(L, glab_ag_reduce(lg_pushv(L), is_max ? GLAB_MAX : GLAB_MIN, LV(x), GLAB_ALLDIMS, 0, 0));
    return 1;
  }
  if (lua_istable(L, 2)) return reduce_dims(L, is_max ? GLAB_MAX : GLAB_MIN, x, 2, lua_toboolean(L, 3));
  int dim = lg_checkdim(L, 2, x->ndim), keepdim = lua_toboolean(L, 3);
  glab_tensor *vals = lg_push(L), *idx = lg_push(L);
  lg_try(L, glab_ag_argreduce(LV(vals), idx, is_max, LV(x), dim, keepdim));
  return lg_one_based(L, idx, 2);
}

static int r_max(lua_State *L) { return extreme(L, 1); }
static int r_min(lua_State *L) { return extreme(L, 0); }

static int arg_extreme(lua_State *L, int is_max) {
  glab_tensor *x = lg_check(L, 1);
  int dim = lua_isnoneornil(L, 2) ? GLAB_ALLDIMS : lg_checkdim(L, 2, x->ndim);
  int keepdim = lua_toboolean(L, 3);
  glab_tensor *idx = lg_push(L);
  lg_try(L, glab_argreduce(NULL, idx, is_max, x, dim, keepdim));
  return lg_one_based(L, idx, 1);
}

static int r_argmax(lua_State *L) { return arg_extreme(L, 1); }
static int r_argmin(lua_State *L) { return arg_extreme(L, 0); }

static int scan(lua_State *L, glab_scanop op) {
  glab_tensor *x = lg_check(L, 1);
  int dim = lg_checkdim(L, 2, x->ndim ? x->ndim : 1);
  lg_try(L, glab_ag_scan(lg_pushv(L), op, LV(x), dim));
  return 1;
}

static int r_cumsum(lua_State *L) { return scan(L, GLAB_CUMSUM); }
static int r_softmax(lua_State *L) { return scan(L, GLAB_SOFTMAX); }
static int r_log_softmax(lua_State *L) { return scan(L, GLAB_LOG_SOFTMAX); }

/* ---- products ------------------------------------------------------------------ */

static int check_ndim(lua_State *L, int i, const glab_tensor *t, int nd, const char *op) {
  if (t->ndim != nd) {
    char sh[128];
    return luaL_error(L, "%s: argument %d must be %d-d, got (%s)", op, i, nd,
                      glab_shape_str(sh, sizeof sh, t->ndim, t->shape));
  }
  return 0;
}

static int p_matmul(lua_State *L) {
  glab_tensor *a = lg_check(L, 1), *b = lg_check(L, 2);
  lg_try(L, glab_ag_matmul(lg_pushv(L), LV(a), LV(b)));
  return 1;
}

static int p_mm(lua_State *L) {
  glab_tensor *a = lg_check(L, 1), *b = lg_check(L, 2);
  check_ndim(L, 1, a, 2, "mm");
  check_ndim(L, 2, b, 2, "mm");
  return p_matmul(L);
}

static int p_bmm(lua_State *L) {
  glab_tensor *a = lg_check(L, 1), *b = lg_check(L, 2);
  check_ndim(L, 1, a, 3, "bmm");
  check_ndim(L, 2, b, 3, "bmm");
  return p_matmul(L);
}

static int p_mv(lua_State *L) {
  glab_tensor *a = lg_check(L, 1), *b = lg_check(L, 2);
  check_ndim(L, 1, a, 2, "mv");
  check_ndim(L, 2, b, 1, "mv");
  return p_matmul(L);
}

static int p_dot(lua_State *L) {
  glab_tensor *a = lg_check(L, 1), *b = lg_check(L, 2);
  lg_try(L, glab_ag_dot(lg_pushv(L), LV(a), LV(b)));
  return 1;
}

static int p_outer(lua_State *L) {
  glab_tensor *a = lg_check(L, 1), *b = lg_check(L, 2);
  lg_try(L, glab_ag_outer(lg_pushv(L), LV(a), LV(b)));
  return 1;
}

/* ---- indexing --------------------------------------------------------------------- */

static int i_index_select(lua_State *L) {
  glab_tensor *x = lg_check(L, 1);
  int dim = lg_checkdim(L, 2, x->ndim);
  glab_tensor *idx = lg_index_arg(L, 3);
  lg_try(L, glab_ag_index_select(lg_pushv(L), LV(x), dim, idx));
  return 1;
}

static int i_gather(lua_State *L) {
  glab_tensor *x = lg_check(L, 1);
  int dim = lg_checkdim(L, 2, x->ndim);
  glab_tensor *idx = lg_index_arg(L, 3);
  lg_try(L, glab_ag_gather(lg_pushv(L), LV(x), dim, idx));
  return 1;
}

static int i_scatter_add_(lua_State *L) {
  glab_tensor *x = lg_check(L, 1);
  lg_check_inplace(L, x, "scatter_add_");
  int dim = lg_checkdim(L, 2, x->ndim);
  glab_tensor *idx = lg_index_arg(L, 3);
  glab_tensor *src = lg_totensor(L, 4, x->dtype);
  lg_try(L, glab_scatter_add(x, dim, idx, src));
  lua_settop(L, 1);
  return 1;
}

static int i_scatter_add(lua_State *L) {
  glab_tensor *x = lg_check(L, 1);
  int dim = lg_checkdim(L, 2, x->ndim);
  glab_tensor *idx = lg_index_arg(L, 3);
  glab_tensor *src = lg_totensor(L, 4, x->dtype);
  lg_try(L, glab_ag_scatter_add(lg_pushv(L), LV(x), dim, idx, LV(src)));
  return 1;
}

static int takes_part(const glab_tensor *x) { return glab_grad_enabled() && glab_var_requires_grad(LV(x)); }

/* Where x takes part in differentiation, the values that sort or topk
** picked are gathered again from x at their (0-based) positions idx, as a
** recorded op: the gradient flows back to the entries they came from. */
static void gather_values(lua_State *L, glab_tensor *vals, glab_tensor *x, int dim, const glab_tensor *idx) {
  if (!takes_part(x)) return;
  glab_tensor *own = lg_push(L);               /* the rule keeps it; idx turns 1-based after */
  lg_try(L, glab_tensor_clone(own, idx));
  glab_tensor_free(vals);
  lg_try(L, glab_ag_gather(LV(vals), LV(x), dim, own));
  lua_pop(L, 1);
}

/* Recorded: x flattened, then its entries at the flat positions where the
** broadcast mask is nonzero (the order masked_select returns). */
static int i_masked_select(lua_State *L) {
  glab_tensor *x = lg_check(L, 1);
  glab_tensor *m = lg_totensor(L, 2, x->dtype);
  if (!takes_part(x)) {
    lg_try(L, glab_masked_select(lg_push(L), x, m));
    return 1;
  }
  glab_tensor *mx = lg_push(L), *pos = lg_push(L);
  lg_try(L, glab_tensor_expand(mx, m, x->ndim, x->shape));
  int64_t n = glab_tensor_numel(x), k = 0, total[1] = {0};
  for (int64_t i = 0; i < n; i++) total[0] += glab_tensor_flat_get(mx, i) != 0;
  lg_try(L, glab_tensor_new(pos, GLAB_F64, 1, total));
  for (int64_t i = 0; i < n; i++)
    if (glab_tensor_flat_get(mx, i) != 0) ((double *)glab_tensor_data(pos))[k++] = (double)i;
  int64_t flat[1] = {n};
  glab_var *xf = lg_pushv(L);
  lg_try(L, glab_ag_reshape(xf, LV(x), 1, flat, 0));
  lg_try(L, glab_ag_index_select(lg_pushv(L), xf, 0, pos));
  return 1;
}

static int i_sort(lua_State *L) {
  glab_tensor *x = lg_check(L, 1);
  int dim = lg_optdim(L, 2, x->ndim, x->ndim - 1), descending = lua_toboolean(L, 3);
  glab_tensor *vals = lg_push(L), *idx = lg_push(L);
  lg_try(L, glab_sort(vals, idx, x, dim, descending));
  gather_values(L, vals, x, dim, idx);
  return lg_one_based(L, idx, 2);
}

static int i_argsort(lua_State *L) {
  glab_tensor *x = lg_check(L, 1);
  int dim = lg_optdim(L, 2, x->ndim, x->ndim - 1), descending = lua_toboolean(L, 3);
  glab_tensor *idx = lg_push(L);
  lg_try(L, glab_sort(NULL, idx, x, dim, descending));
  return lg_one_based(L, idx, 1);
}

static int i_topk(lua_State *L) {
  glab_tensor *x = lg_check(L, 1);
  lua_Integer k = luaL_checkinteger(L, 2);
  int dim = lg_optdim(L, 3, x->ndim, x->ndim - 1);
  int largest = lua_isnoneornil(L, 4) ? 1 : lua_toboolean(L, 4);
  glab_tensor *vals = lg_push(L), *idx = lg_push(L);
  lg_try(L, glab_topk(vals, idx, x, (int64_t)k, dim, largest));
  gather_values(L, vals, x, dim, idx);
  return lg_one_based(L, idx, 2);
}

/* Tensors of the list at index 1, in a userdata array that Lua collects. */
static const glab_tensor **tensor_list(lua_State *L, int *n) {
  luaL_checktype(L, 1, LUA_TTABLE);
  *n = (int)lua_rawlen(L, 1);
  if (*n < 1) luaL_argerror(L, 1, "expected a non-empty list of tensors");
  const glab_tensor **ts = lua_newuserdatauv(L, (size_t)*n * sizeof *ts, 0);
  for (int k = 0; k < *n; k++) {
    lua_rawgeti(L, 1, k + 1);
    ts[k] = lg_test(L, -1);
    if (!ts[k] || !ts[k]->storage)
      luaL_error(L, "element %d of the list is a %s, not a tensor", k + 1, luaL_typename(L, -1));
    lua_pop(L, 1);        /* the list keeps the tensor alive */
  }
  return ts;
}

static int join(lua_State *L, int stack) {
  int n;
  lua_settop(L, 2);          /* the list's array goes above the arguments */
  const glab_tensor **ts = tensor_list(L, &n);
  int nd = ts[0]->ndim + stack;
  int dim = lg_optdim(L, 2, nd, 0);
  glab_var *out = lg_pushv(L);
  lg_try(L, stack ? glab_ag_stack(out, (const glab_var *const *)ts, n, dim)
                  : glab_ag_cat(out, (const glab_var *const *)ts, n, dim));
  return 1;
}

static int i_cat(lua_State *L) { return join(L, 0); }
static int i_stack(lua_State *L) { return join(L, 1); }

static const lg_Reg methods[] = {
  {"sum", r_sum,
   "sum(x, [dim or {dims}], [keepdim]) -> Tensor\n"
   "Sum over dim (or a list of dims), or of all elements "
   "(a scalar tensor). Accumulates in double.\n"
   "Differentiable."},
  {"mean", r_mean,
   "mean(x, [dim or {dims}], [keepdim]) -> Tensor\n"
   "Mean over dim (or a list of dims) or of all elements. Differentiable."},
  {"prod", r_prod,
   "prod(x, [dim], [keepdim]) -> Tensor\n"
   "Product over dim or of all elements.\n"
   "Differentiable."},
  {"var", r_var,
   "var(x, [dim], [unbiased=true], [keepdim]) -> Tensor\n"
   "Variance (divides by N-1 when unbiased, else N); two-pass, no cancellation.\n"
   "Differentiable."},
  {"std", r_std,
   "std(x, [dim], [unbiased=true], [keepdim]) -> Tensor\n"
   "Standard deviation, as var.\n"
   "Differentiable."},
  {"logsumexp", r_logsumexp,
   "logsumexp(x, [dim or {dims}], [keepdim]) -> Tensor\n"
   "log(sum(exp(x))) over dim (or a list of dims), computed stably (shifted by the max).\n"
   "Differentiable."},
  {"max", r_max,
   "max(x) -> Tensor | max(x, dim, [keepdim]) -> values, "
   "indices | max(x, {dims}, [keepdim]) -> values | max(a, b)\n"
   "Largest element; along dim also the 1-based positions (constants); over a list of dims the\n"
   "values only; with a tensor b, maximum(a, b). The values are differentiable."},
  {"min", r_min,
   "min(x) -> Tensor | min(x, dim, [keepdim]) -> values, indices | min(a, b)\n"
   "Smallest element; along dim also the 1-based positions.\n"
   "Differentiable."},
  {"argmax", r_argmax,
   "argmax(x, [dim], [keepdim]) -> Tensor\n"
   "1-based position of the first maximum (in the flattened x when dim is nil).\n"
   "A constant: no gradient flows through it (as in PyTorch)."},
  {"argmin", r_argmin,
   "argmin(x, [dim], [keepdim]) -> Tensor\n"
   "1-based position of the first minimum.\n"
   "A constant: no gradient flows through it (as in PyTorch)."},
  {"cumsum", r_cumsum, "cumsum(x, dim) -> Tensor\nCumulative sum along dim.\nDifferentiable."},
  {"softmax", r_softmax,
   "softmax(x, dim) -> Tensor\n"
   "exp(x) / sum(exp(x)) along dim, shifted by the max.\n"
   "Differentiable."},
  {"log_softmax", r_log_softmax,
   "log_softmax(x, dim) -> Tensor\n"
   "x - logsumexp(x, dim), stable.\n"
   "Differentiable."},
  {"matmul", p_matmul,
   "matmul(a, b) -> Tensor\n"
   "Matrix product with numpy semantics: 1-d operands are vectors, leading dims broadcast\n"
   "(batched). Runs on BLAS sgemm/dgemm; transposed views are not copied.\n"
   "Differentiable."},
  {"mm", p_mm, "mm(a, b) -> Tensor\nProduct of two matrices.\nDifferentiable."},
  {"bmm", p_bmm,
   "bmm(a, b) -> Tensor\n"
   "Batched product of (b, n, k) and (b, k, m).\n"
   "Differentiable."},
  {"mv", p_mv, "mv(A, x) -> Tensor\nMatrix-vector product.\nDifferentiable."},
  {"dot", p_dot,
   "dot(a, b) -> Tensor\n"
   "Scalar product of two vectors of one length.\n"
   "Differentiable."},
  {"outer", p_outer, "outer(a, b) -> Tensor\nOuter product a b^T of two vectors.\nDifferentiable."},
  {"index_select", i_index_select,
   "index_select(x, dim, idx) -> Tensor\n"
   "The entries at the 1-based positions idx (tensor or table) along dim.\n"
   "Differentiable."},
  {"gather", i_gather,
   "gather(x, dim, idx) -> Tensor\n"
   "out[i][j] = x[i][idx[i][j]] for dim 2 (likewise for any dim); idx is 1-based.\n"
   "Differentiable."},
  {"scatter_add", i_scatter_add,
   "scatter_add(x, dim, idx, src) -> Tensor\n"
   "A copy of x with src added at the 1-based positions "
   "idx along dim. Differentiable in x and src\n"
   "(idx is a constant)."},
  {"scatter_add_", i_scatter_add_,
   "x:scatter_add_(dim, idx, src) -> x\n"
   "In-place scatter_add.\n"
   "In place: refused on a tensor that requires grad while grad mode is on."},
  {"masked_select", i_masked_select,
   "masked_select(x, mask) -> Tensor\n"
   "1-d tensor of the elements where mask ~= 0 (mask broadcasts to x), in row-major order.\n"
   "Differentiable in x (the mask is a constant)."},
  {"sort", i_sort,
   "sort(x, [dim=-1], [descending=false]) -> values, indices\n"
   "Stable sort along dim; NaN counts as the largest value (last ascending, first\n"
   "descending, as max sees it); indices are 1-based. "
   "The values are differentiable (the gradient\n"
   "goes back to the entries they came from); the indices are constants."},
  {"argsort", i_argsort,
   "argsort(x, [dim=-1], [descending=false]) -> Tensor\n"
   "The 1-based indices that sort x along dim.\n"
   "A constant: no gradient flows through it (as in PyTorch)."},
  {"topk", i_topk,
   "topk(x, k, [dim=-1], [largest=true]) -> values, indices\n"
   "The k largest (or smallest) entries along dim, in "
   "order; NaN counts as the largest value,\n"
   "so topk(x, 1) agrees with max. Values differentiable, indices constants."},
  {NULL, NULL, NULL}
};

static const lg_Reg functions[] = {
  {"cat", i_cat,
   "cat({t1, t2, ...}, [dim=1]) -> Tensor\n"
   "Join tensors along an existing dim; the others must match.\n"
   "Differentiable."},
  {"stack", i_stack,
   "stack({t1, t2, ...}, [dim=1]) -> Tensor\n"
   "Join equal-shaped tensors along a new dim.\n"
   "Differentiable."},
  {NULL, NULL, NULL}
};

void lg_open_ops(lua_State *L) {
  lg_add_methods(L, methods);
  lg_setfuncs(L, functions);
}
