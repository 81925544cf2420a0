/*
** ltensor.c -- the genlab.Tensor type: metatable, operators, indexing,
** views and elementwise methods.  Reductions, products and indexing
** methods are in lops.c.
**
** tostring(x) lays a tensor out like numpy:
**
**     float32 (2x3)
**     [[ 0.4967 -0.1383  0.6477]
**      [ 1.5230 -0.2342 -0.2341]]
**
** One number format for the whole tensor (integers, fixed with 4 decimals,
** or scientific when magnitudes call for it), columns right-aligned, and
** tensors over 1000 elements summarised with "..." keeping 3 per edge.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "laux.h"

/* ---- printing: tostring laid out like numpy ---------------------------------- */

#define SUMMARY_THRESHOLD 1000
#define EDGE 3
#define LINE_WIDTH 100

typedef struct {
  const glab_tensor *t;
  int summarise;
  char fmt[16];
  int width;
  luaL_Buffer *b;
  int col;
} printer;

/* Whether position k of a dim of size n is printed (-1: print "..." here). */
static int shown(const printer *p, int64_t n, int64_t k) {
  if (!p->summarise || n <= 2 * EDGE) return 1;
  if (k < EDGE || k >= n - EDGE) return 1;
  return k == EDGE ? -1 : 0;
}

typedef struct { double maxabs, minabs; int integral, nonfinite, negative; } stats;

static void collect(const printer *p, int d, int64_t *pos, stats *st) {
  const glab_tensor *t = p->t;
  if (d == t->ndim) {
    double v = glab_tensor_get(t, pos);
    if (!isfinite(v)) { st->nonfinite = 1; return; }
    double a = fabs(v);
    if (v < 0) st->negative = 1;
    if (a > st->maxabs) st->maxabs = a;
    if (a > 0 && a < st->minabs) st->minabs = a;
    if (v != floor(v) || a >= 1e15) st->integral = 0;
    return;
  }
  for (int64_t k = 0; k < t->shape[d]; k++) {
    if (shown(p, t->shape[d], k) != 1) continue;
    pos[d] = k;
    collect(p, d + 1, pos, st);
  }
}

static int format_value(char *buf, size_t n, const printer *p, double v) {
  if (isnan(v)) return snprintf(buf, n, "nan");
  if (isinf(v)) return snprintf(buf, n, v > 0 ? "inf" : "-inf");
  return snprintf(buf, n, p->fmt, v);
}

static void choose_format(printer *p) {
  stats st = {0, INFINITY, 1, 0, 0};
  int64_t pos[GLAB_MAXDIM] = {0};
  collect(p, 0, pos, &st);
  if (st.integral) strcpy(p->fmt, "%.0f");
  else if (st.maxabs >= 1e5 || (st.minabs < 1e-4 && st.minabs > 0)) strcpy(p->fmt, "%.4e");
  else strcpy(p->fmt, "%.4f");
  /* width: the longest of the printed values */
  p->width = st.nonfinite ? 4 : 1;
  char buf[64];
  double probes[2] = {st.maxabs, st.negative ? -st.maxabs : st.maxabs};
  for (int i = 0; i < 2; i++) {
    int w = format_value(buf, sizeof buf, p, probes[i]);
    if (w > p->width) p->width = w;
  }
  if (strcmp(p->fmt, "%.4e") == 0 && st.minabs < INFINITY) {
    int w = format_value(buf, sizeof buf, p, st.negative ? -st.minabs : st.minabs);
    if (w > p->width) p->width = w;
  }
}

static void put(printer *p, const char *s) {
  luaL_addstring(p->b, s);
  const char *nl = strrchr(s, '\n');
  p->col = nl ? (int)strlen(nl + 1) : p->col + (int)strlen(s);
}

static void emit(printer *p, int d, int64_t *pos) {
  const glab_tensor *t = p->t;
  char buf[64];
  put(p, "[");
  for (int64_t k = 0; k < t->shape[d]; k++) {
    int sh = shown(p, t->shape[d], k);
    if (sh == 0) continue;
    int last = k == t->shape[d] - 1;
    pos[d] = k;
    if (d == t->ndim - 1) {
      if (p->col + p->width + 1 > LINE_WIDTH) {       /* wrap a long row */
        put(p, "\n");
        for (int i = 0; i <= d; i++) put(p, " ");
      }
      if (sh < 0) snprintf(buf, sizeof buf, "%*s", p->width, "...");
      else {
        char v[48];
        format_value(v, sizeof v, p, glab_tensor_get(t, pos));
        snprintf(buf, sizeof buf, "%*s", p->width, v);
      }
      put(p, buf);
      if (!last) put(p, " ");
    } else {
      if (sh < 0) put(p, "...");
      else emit(p, d + 1, pos);
      if (!last) {
        for (int i = 0; i < t->ndim - d - 1; i++) put(p, "\n");
        for (int i = 0; i <= d; i++) put(p, " ");
      }
    }
  }
  put(p, "]");
}

static void push_tensor_string(lua_State *L, const glab_tensor *t) {
  luaL_Buffer b;
  char head[160], sh[128];
  printer p = {t, glab_tensor_numel(t) > SUMMARY_THRESHOLD, "", 0, &b, 0};
  luaL_buffinit(L, &b);
  choose_format(&p);
  int64_t pos[GLAB_MAXDIM] = {0};
  if (t->ndim == 0) {
    char v[48];
    format_value(v, sizeof v, &p, glab_tensor_get(t, pos));
    snprintf(head, sizeof head, "%s (%s scalar)", v, glab_dtype_name(t->dtype));
    luaL_addstring(&b, head);
  } else {
    snprintf(head, sizeof head, "%s (%s)\n", glab_dtype_name(t->dtype),
             glab_shape_str(sh, sizeof sh, t->ndim, t->shape));
    luaL_addstring(&b, head);
    emit(&p, 0, pos);
  }
  luaL_pushresult(&b);
}

/* ---- life cycle and metadata ------------------------------------------------ */

static int t_gc(lua_State *L) {
  glab_var_free(LV(luaL_checkudata(L, 1, LG_TENSOR)));
  return 0;
}

static int t_tostring(lua_State *L) {
  glab_tensor *t = (glab_tensor *)luaL_checkudata(L, 1, LG_TENSOR);
  if (!t->storage) lua_pushliteral(L, "tensor (closed)");
  else push_tensor_string(L, t);
  return 1;
}

static int t_len(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  if (t->ndim == 0) return luaL_error(L, "len() of a scalar tensor");
  lua_pushinteger(L, (lua_Integer)t->shape[0]);
  return 1;
}

static void push_shape(lua_State *L, const glab_tensor *t) {
  lua_createtable(L, t->ndim, 0);
  for (int i = 0; i < t->ndim; i++) {
    lua_pushinteger(L, (lua_Integer)t->shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

static int t_size(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  if (lua_isnoneornil(L, 2)) {
    for (int i = 0; i < t->ndim; i++) lua_pushinteger(L, (lua_Integer)t->shape[i]);
    return t->ndim;
  }
  lua_pushinteger(L, (lua_Integer)t->shape[lg_checkdim(L, 2, t->ndim)]);
  return 1;
}

static int t_shape(lua_State *L) {
  push_shape(L, lg_check(L, 1));
  return 1;
}

static int t_stride(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  if (!lua_isnoneornil(L, 2)) {
    lua_pushinteger(L, (lua_Integer)t->stride[lg_checkdim(L, 2, t->ndim)]);
    return 1;
  }
  lua_createtable(L, t->ndim, 0);
  for (int i = 0; i < t->ndim; i++) {
    lua_pushinteger(L, (lua_Integer)t->stride[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int t_dim(lua_State *L) {
  lua_pushinteger(L, lg_check(L, 1)->ndim);
  return 1;
}

static int t_numel(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)glab_tensor_numel(lg_check(L, 1)));
  return 1;
}

static int t_dtype(lua_State *L) {
  lua_pushstring(L, glab_dtype_name(lg_check(L, 1)->dtype));
  return 1;
}

static int t_is_contiguous(lua_State *L) {
  lua_pushboolean(L, glab_tensor_is_contiguous(lg_check(L, 1)));
  return 1;
}

static int t_item(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  if (glab_tensor_numel(t) != 1) {
    char sh[128];
    return luaL_error(L, "item: tensor of shape (%s) has %d elements, not 1",
                      glab_shape_str(sh, sizeof sh, t->ndim, t->shape),
                      (int)glab_tensor_numel(t));
  }
  lua_pushnumber(L, glab_tensor_flat_get(t, 0));
  return 1;
}

static void push_table(lua_State *L, const glab_tensor *t, int d, int64_t *pos) {
  if (d == t->ndim) {
    lua_pushnumber(L, glab_tensor_get(t, pos));
    return;
  }
  lua_createtable(L, (int)t->shape[d], 0);
  for (int64_t k = 0; k < t->shape[d]; k++) {
    pos[d] = k;
    push_table(L, t, d + 1, pos);
    lua_rawseti(L, -2, (lua_Integer)k + 1);
  }
}

static int t_totable(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  int64_t pos[GLAB_MAXDIM] = {0};
  luaL_checkstack(L, t->ndim + 4, "tensor too deep");
  push_table(L, t, 0, pos);
  return 1;
}

/* ---- conversions and copies -------------------------------------------------------- */

static int astype(lua_State *L, glab_dtype dt) {
  glab_tensor *t = lg_check(L, 1);
  if (t->dtype == dt) {
    lua_settop(L, 1);
    return 1;
  }
  lg_try(L, glab_ag_astype(lg_pushv(L), LV(t), dt));
  return 1;
}

static int t_float(lua_State *L) { return astype(L, GLAB_F32); }
static int t_double(lua_State *L) { return astype(L, GLAB_F64); }

static int t_to(lua_State *L) {
  lg_check(L, 1);
  return astype(L, lg_checkdtype(L, 2));
}

static int t_clone(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  lg_try(L, glab_ag_clone(lg_pushv(L), LV(t)));
  return 1;
}

static int t_contiguous(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  if (glab_tensor_is_contiguous(t)) {
    lua_settop(L, 1);
    return 1;
  }
  lg_try(L, glab_ag_contiguous(lg_pushv(L), LV(t)));
  return 1;
}

static int t_copy_(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  lg_check_inplace(L, t, "copy_");
  glab_tensor *src = lg_totensor(L, 2, t->dtype);
  lg_try(L, glab_tensor_copy(t, src));
  lua_settop(L, 1);
  return 1;
}

static int t_fill_(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  lg_check_inplace(L, t, "fill_");
  lg_try(L, glab_tensor_fill(t, luaL_checknumber(L, 2)));
  lua_settop(L, 1);
  return 1;
}

static int t_zero_(lua_State *L) {
  lg_check_inplace(L, lg_check(L, 1), "zero_");
  lg_try(L, glab_tensor_fill(lg_check(L, 1), 0.0));
  lua_settop(L, 1);
  return 1;
}

/* ---- views ------------------------------------------------------------------------- */

/* Sizes after the tensor, as integers or one table; -1 may stand for one
** size to infer (view, reshape) or keep (expand).  Returns ndim. */
static int target_shape(lua_State *L, int64_t *shape) {
  int nd;
  if (lua_istable(L, 2)) {
    nd = (int)lua_rawlen(L, 2);
    if (nd > GLAB_MAXDIM) luaL_argerror(L, 2, "more than 32 dimensions");
    for (int k = 0; k < nd; k++) {
      lua_rawgeti(L, 2, k + 1);
      shape[k] = (int64_t)luaL_checkinteger(L, -1);
      lua_pop(L, 1);
    }
  } else {
    nd = lua_gettop(L) - 1;
    if (nd > GLAB_MAXDIM) luaL_argerror(L, GLAB_MAXDIM + 2, "more than 32 dimensions");
    for (int k = 0; k < nd; k++) shape[k] = (int64_t)luaL_checkinteger(L, k + 2);
  }
  return nd;
}

static int reshape_like(lua_State *L, int is_view) {
  glab_tensor *t = lg_check(L, 1);
  int64_t shape[GLAB_MAXDIM];
  int nd = target_shape(L, shape);
  lg_try(L, glab_ag_reshape(lg_pushv(L), LV(t), nd, shape, is_view));
  return 1;
}

static int t_view(lua_State *L) { return reshape_like(L, 1); }
static int t_reshape(lua_State *L) { return reshape_like(L, 0); }

static int t_flatten(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  int nd = t->ndim ? t->ndim : 1;
  int a = lg_optdim(L, 2, nd, 0), b = lg_optdim(L, 3, nd, nd - 1);
  if (a > b) luaL_argerror(L, 3, "end dimension before start dimension");
  int64_t shape[GLAB_MAXDIM];
  int k = 0;
  for (int i = 0; i < a; i++) shape[k++] = t->shape[i];
  shape[k] = 1;
  for (int i = a; i <= b && i < t->ndim; i++) shape[k] *= t->shape[i];
  k++;
  for (int i = b + 1; i < t->ndim; i++) shape[k++] = t->shape[i];
  lg_try(L, glab_ag_reshape(lg_pushv(L), LV(t), k, shape, 0));
  return 1;
}

static int t_transpose(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  int a = lg_checkdim(L, 2, t->ndim), b = lg_checkdim(L, 3, t->ndim);
  lg_try(L, glab_ag_transpose(lg_pushv(L), LV(t), a, b));
  return 1;
}

static int t_t(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  if (t->ndim > 2) {
    char sh[128];
    return luaL_error(L, "t: expects a tensor of at most 2 dimensions, got (%s); use transpose(a, b)",
                      glab_shape_str(sh, sizeof sh, t->ndim, t->shape));
  }
  if (t->ndim < 2) {
    lua_settop(L, 1);
    return 1;
  }
  lg_try(L, glab_ag_transpose(lg_pushv(L), LV(t), 0, 1));
  return 1;
}

static int t_permute(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  int perm[GLAB_MAXDIM], table = lua_istable(L, 2);
  int n = table ? (int)lua_rawlen(L, 2) : lua_gettop(L) - 1;
  if (n != t->ndim)
    return luaL_error(L, "permute: %d dimensions given for a %d-d tensor", n, t->ndim);
  for (int i = 0; i < n; i++) {
    if (table) {
      lua_rawgeti(L, 2, i + 1);
      perm[i] = lg_checkdim(L, -1, t->ndim);
      lua_pop(L, 1);
    } else {
      perm[i] = lg_checkdim(L, i + 2, t->ndim);
    }
  }
  lg_try(L, glab_ag_permute(lg_pushv(L), LV(t), perm));
  return 1;
}

static int t_narrow(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  int d = lg_checkdim(L, 2, t->ndim);
  lua_Integer start = luaL_checkinteger(L, 3), len = luaL_checkinteger(L, 4);
  if (start < 1) luaL_argerror(L, 3, "start is 1-based");
  lg_try(L, glab_ag_narrow(lg_pushv(L), LV(t), d, (int64_t)start - 1, (int64_t)len));
  return 1;
}

/* i (1-based, or negative from the end) as a 0-based index into size n. */
static int64_t index_arg(lua_State *L, lua_Integer i, int64_t n) {
  lua_Integer j = i < 0 ? i + (lua_Integer)n + 1 : i;
  if (j < 1 || j > (lua_Integer)n)
    luaL_error(L, "index %I out of range for a dimension of size %I (valid: 1..%I, "
               "or -%I..-1 from the end)", i, (lua_Integer)n, (lua_Integer)n, (lua_Integer)n);
  return (int64_t)j - 1;
}

static int t_select(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  int d = lg_checkdim(L, 2, t->ndim);
  int64_t i = index_arg(L, luaL_checkinteger(L, 3), t->shape[d]);
  lg_try(L, glab_ag_select(lg_pushv(L), LV(t), d, i));
  return 1;
}

static int t_expand(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  int64_t shape[GLAB_MAXDIM];
  int nd;
  glab_tensor *other = lg_test(L, 2);
  if (other) {
    nd = other->ndim;
    memcpy(shape, other->shape, sizeof shape);
  } else {
    nd = target_shape(L, shape);
  }
  lg_try(L, glab_ag_expand(lg_pushv(L), LV(t), nd, shape));
  return 1;
}

static int t_diagonal(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  lg_try(L, glab_ag_diagonal(lg_pushv(L), LV(t)));
  return 1;
}

static int t_squeeze(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  int d = lua_isnoneornil(L, 2) ? GLAB_ALLDIMS : lg_checkdim(L, 2, t->ndim);
  lg_try(L, glab_ag_squeeze(lg_pushv(L), LV(t), d));
  return 1;
}

static int t_unsqueeze(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  int d = lg_checkdim(L, 2, t->ndim + 1);
  lg_try(L, glab_ag_unsqueeze(lg_pushv(L), LV(t), d));
  return 1;
}

/* ---- x[i], x[{i, {a, b}, {}}] and assignment ------------------------------------ */

#define INDEX_FORMS "an integer i (that element; the dimension goes), {} (all), {i} " \
  "(element i, kept as a dimension of size 1), {first, last} or {first, last, step} " \
  "(inclusive, step >= 1; negative positions count from the end), or a tensor of " \
  "positions (index_select)"

/* Whether the value at i is a whole number, as a Lua table key would be one:
** an integer, or a float such as 3.0 (what arithmetic and item() give). */
static int whole(lua_State *L, int i) {
  int ok = 0;
  if (lua_type(L, i) == LUA_TNUMBER) lua_tointegerx(L, i, &ok);
  return ok;
}

/* Integer k of the range table at the stack top. */
static lua_Integer range_int(lua_State *L, int k) {
  lua_rawgeti(L, -1, k);
  if (!whole(L, -1))
    luaL_error(L, "index range: entry %d is %s, not an integer; an index entry is "
               INDEX_FORMS, k, lua_isnumber(L, -1) ? "a fraction" : luaL_typename(L, -1));
  lua_Integer i = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return i;
}

/* ... as a position in 1..n (negative counts from the end: -1 is n). */
static int64_t range_pos(lua_State *L, int k, int64_t n) {
  lua_Integer i = range_int(L, k);
  return (int64_t)(i < 0 ? i + (lua_Integer)n + 1 : i);
}

/* The range table at the stack top applied along dim d of v into *next. */
static glab_status apply_range(lua_State *L, glab_var *next, const glab_var *v, int d) {
  int64_t n = v->t.shape[d], len = (int64_t)lua_rawlen(L, -1), a = 1, b = n, step = 1;
  if (len > 3)
    luaL_error(L, "index range with %d numbers; an index entry is " INDEX_FORMS, (int)len);
  if (len >= 1) a = b = range_pos(L, 1, n);
  if (len >= 2) b = range_pos(L, 2, n);
  if (len == 3) step = (int64_t)range_int(L, 3);
  if (step < 1) luaL_error(L, "index range {%d, %d, %d}: the step must be 1 or more",
                           (int)a, (int)b, (int)step);
  if (a < 1 || b > n || b < a - 1)
    luaL_error(L, "range {%d, %d} out of bounds for a dimension of size %d", (int)a,
               (int)b, (int)n);
  int64_t count = b < a ? 0 : (b - a) / step + 1;
  return glab_ag_slice(next, v, d, a - 1, count, step);
}

/* Apply one index entry (at stack top) to *v along dim *d; replaces *v. */
static void apply_entry(lua_State *L, glab_var *v, int *d) {
  glab_var next = {0};
  glab_status s;
  if (*d >= v->t.ndim) luaL_error(L, "too many indices for a %d-d tensor", v->t.ndim);
  glab_tensor *list = lg_test(L, -1);
  if (whole(L, -1)) {
    int64_t i = index_arg(L, lua_tointeger(L, -1), v->t.shape[*d]);
    s = glab_ag_select(&next, v, *d, i);
  } else if (lua_istable(L, -1)) {
    s = apply_range(L, &next, v, *d);
    (*d)++;
  } else if (list) {
    if (list->ndim != 1)
      luaL_error(L, "an index list must be a 1-d tensor of positions, got %d-d", list->ndim);
    glab_tensor *pos = lg_index_arg(L, lua_gettop(L));     /* 0-based, pushed */
    s = glab_ag_index_select(&next, v, *d, pos);
    lua_pop(L, 1);
    (*d)++;
  } else {
    luaL_error(L, "index entry of type %s; an index entry is " INDEX_FORMS,
               lua_isnumber(L, -1) ? "fraction" : luaL_typename(L, -1));
    return;
  }
  glab_var_free(v);
  *v = next;
  lg_try(L, s);
}

/* The view named by key (index 2) pushed as a tensor. */
static glab_tensor *index_view(lua_State *L, glab_tensor *t) {
  glab_var *out = lg_pushv(L);
  glab_var_share(out, LV(t));
  int d = 0;
  if (lua_istable(L, 2)) {
    int n = (int)lua_rawlen(L, 2);
    if (n > t->ndim) {                       /* each entry takes one of t's dims */
      char sh[128];
      luaL_error(L, "%d index entries for a (%s) tensor: at most one per dimension", n,
                 glab_shape_str(sh, sizeof sh, t->ndim, t->shape));
    }
    for (int k = 1; k <= n; k++) {
      lua_rawgeti(L, 2, k);
      apply_entry(L, out, &d);
      lua_pop(L, 1);
    }
  } else {
    lua_pushvalue(L, 2);
    apply_entry(L, out, &d);
    lua_pop(L, 1);
  }
  return &out->t;
}

static int t_index(lua_State *L) {
  glab_tensor *t = (glab_tensor *)luaL_checkudata(L, 1, LG_TENSOR);
  if (lua_type(L, 2) == LUA_TSTRING) {
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;   /* a method */
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL) {           /* a property */
      lua_pushvalue(L, 1);
      lua_call(L, 1, 1);
      return 1;
    }
    return 0;
  }
  if (!t->storage) return luaL_error(L, "tensor has been closed");
  if (!whole(L, 2) && !lua_istable(L, 2) && !lg_test(L, 2))
    return lua_type(L, 2) == LUA_TNUMBER
           ? luaL_error(L, "tensor index %s is not a whole number", lua_tostring(L, 2))
           : luaL_error(L, "tensor index must be an integer, a table, a tensor of positions "
                        "or a method name, got %s", luaL_typename(L, 2));
  glab_tensor *v = index_view(L, t);
  if (v->ndim == 0) lua_pushnumber(L, glab_tensor_flat_get(v, 0));
  return 1;
}

static int t_newindex(lua_State *L) {
  glab_tensor *t = lg_check(L, 1);
  if (lua_type(L, 2) == LUA_TSTRING) {                  /* x.grad = g, ... */
    lua_getfield(L, lua_upvalueindex(1), lua_tostring(L, 2));
    if (lua_isnil(L, -1))
      return luaL_error(L, "cannot set field '%s' of a tensor", lua_tostring(L, 2));
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 3);
    lua_call(L, 2, 0);
    return 0;
  }
  if (!whole(L, 2) && !lua_istable(L, 2))
    return lua_type(L, 2) == LUA_TNUMBER
           ? luaL_error(L, "tensor index %s is not a whole number", lua_tostring(L, 2))
           : luaL_error(L, "cannot set field '%s' of a tensor", luaL_typename(L, 2));
  for (int k = 1; lua_istable(L, 2) && k <= (int)lua_rawlen(L, 2); k++) {
    lua_rawgeti(L, 2, k);
    if (lg_test(L, -1))     /* index_select copies: the write would go nowhere */
      return luaL_error(L, "x[...] = value: entry %d is a list of positions, which selects "
                        "a copy; assign through integers and ranges, or use scatter_add_", k);
    lua_pop(L, 1);
  }
  glab_tensor *v = index_view(L, t);
  lg_check_inplace(L, v, "x[...] = value");     /* the view: a row of an expanded x is writable */
  if (lua_type(L, 3) == LUA_TNUMBER) lg_try(L, glab_tensor_fill(v, lua_tonumber(L, 3)));
  else lg_try(L, glab_tensor_copy(v, lg_totensor(L, 3, t->dtype)));
  return 0;
}

/* ---- elementwise ------------------------------------------------------------------- */

/* a op b where either may be a number (or a table); the result is pushed. */
static int binop(lua_State *L, glab_binop op) {
  glab_tensor *a = lg_test(L, 1), *b = lg_test(L, 2);
  glab_tensor *out;
  if (a && lua_type(L, 2) == LUA_TNUMBER) {
    out = lg_push(L);
    lg_try(L, glab_ag_binary_scalar(LV(out), op, LV(lg_check(L, 1)), lua_tonumber(L, 2), 0));
  } else if (b && lua_type(L, 1) == LUA_TNUMBER) {
    out = lg_push(L);
    lg_try(L, glab_ag_binary_scalar(LV(out), op, LV(lg_check(L, 2)), lua_tonumber(L, 1), 1));
  } else {
    glab_dtype dt = a ? a->dtype : b ? b->dtype : lg_default_dtype(L);
    a = lg_totensor(L, 1, dt);
    b = lg_totensor(L, 2, dt);
    out = lg_push(L);
    lg_try(L, glab_ag_binary(LV(out), op, LV(a), LV(b)));
  }
  return 1;
}

/* In place: a op= b; returns a.  A float64 b with a float32 a computes in
** float64 and stores the result rounded to float32, as numpy and PyTorch do. */
static int binop_(lua_State *L, glab_binop op) {
  glab_tensor *a = lg_check(L, 1);
  char name[32];
  snprintf(name, sizeof name, "%s_", glab_binop_name(op));
  lg_check_inplace(L, a, name);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    lg_try(L, glab_binary_scalar(a, op, a, lua_tonumber(L, 2), 0));
  } else {
    glab_tensor *b = lg_totensor(L, 2, a->dtype);
    if (b->dtype == a->dtype) {
      lg_try(L, glab_binary(a, op, a, b));
    } else {
      glab_tensor *wide = lg_push(L);
      lg_try(L, glab_binary(wide, op, a, b));
      lg_try(L, glab_tensor_prepare(a, a->dtype, wide->ndim, wide->shape, name));  /* fits a? */
      lg_try(L, glab_tensor_copy(a, wide));
    }
  }
  lua_settop(L, 1);
  return 1;
}

static int unop(lua_State *L, glab_unop op) {
  glab_tensor *a = lg_totensor(L, 1, lg_default_dtype(L));
  lg_try(L, glab_ag_unary(lg_pushv(L), op, LV(a)));
  return 1;
}

#define BINOP(name, OP)                                           \
  static int t_##name(lua_State *L) { return binop(L, OP); }
#define BINOP_(name, OP)                                          \
  static int t_##name##_(lua_State *L) { return binop_(L, OP); }
#define UNOP(name, OP)                                            \
  static int t_##name(lua_State *L) { return unop(L, OP); }

BINOP(add, GLAB_ADD) BINOP(sub, GLAB_SUB) BINOP(mul, GLAB_MUL) BINOP(div, GLAB_DIV)
BINOP(pow, GLAB_POW) BINOP(maximum, GLAB_MAXIMUM) BINOP(minimum, GLAB_MINIMUM)
BINOP(eq, GLAB_EQ) BINOP(ne, GLAB_NE) BINOP(lt, GLAB_LT) BINOP(le, GLAB_LE)
BINOP(gt, GLAB_GT) BINOP(ge, GLAB_GE)
BINOP_(add, GLAB_ADD) BINOP_(sub, GLAB_SUB) BINOP_(mul, GLAB_MUL) BINOP_(div, GLAB_DIV)
UNOP(neg, GLAB_NEG) UNOP(abs, GLAB_ABS) UNOP(exp, GLAB_EXP) UNOP(log, GLAB_LOG)
UNOP(log1p, GLAB_LOG1P) UNOP(expm1, GLAB_EXPM1) UNOP(sqrt, GLAB_SQRT)
UNOP(tanh, GLAB_TANH) UNOP(sigmoid, GLAB_SIGMOID) UNOP(relu, GLAB_RELU)
UNOP(softplus, GLAB_SOFTPLUS) UNOP(square, GLAB_SQUARE) UNOP(sin, GLAB_SIN)
UNOP(cos, GLAB_COS) UNOP(floor, GLAB_FLOOR) UNOP(ceil, GLAB_CEIL)
UNOP(round, GLAB_ROUND) UNOP(sign, GLAB_SIGN) UNOP(reciprocal, GLAB_RECIPROCAL)
UNOP(erf, GLAB_ERF) UNOP(erfc, GLAB_ERFC)

static int t_clamp(lua_State *L) {
  glab_tensor *a = lg_check(L, 1);
  double lo = luaL_optnumber(L, 2, -HUGE_VAL), hi = luaL_optnumber(L, 3, HUGE_VAL);
  lg_try(L, glab_ag_clamp(lg_pushv(L), LV(a), lo, hi));
  return 1;
}

static int t_clamp_(lua_State *L) {
  glab_tensor *a = lg_check(L, 1);
  double lo = luaL_optnumber(L, 2, -HUGE_VAL), hi = luaL_optnumber(L, 3, HUGE_VAL);
  lg_check_inplace(L, a, "clamp_");
  lg_try(L, glab_clamp(a, a, lo, hi));
  lua_settop(L, 1);
  return 1;
}

static int t_where(lua_State *L) {
  glab_dtype dt = lg_default_dtype(L);
  glab_tensor *m = lg_totensor(L, 1, dt);
  glab_tensor *a0 = lg_test(L, 2), *b0 = lg_test(L, 3);
  if (a0) dt = a0->dtype;
  else if (b0) dt = b0->dtype;
  glab_tensor *a = lg_totensor(L, 2, dt), *b = lg_totensor(L, 3, dt);
  lg_try(L, glab_ag_where(lg_pushv(L), LV(m), LV(a), LV(b)));
  return 1;
}

static const lg_Reg meta[] = {
  {"__gc", t_gc, NULL}, {"__close", t_gc, NULL}, {"__tostring", t_tostring, NULL},
  {"__len", t_len, NULL},
  {"__add", t_add, NULL}, {"__sub", t_sub, NULL}, {"__mul", t_mul, NULL},
  {"__div", t_div, NULL}, {"__pow", t_pow, NULL}, {"__unm", t_neg, NULL},
  {NULL, NULL, NULL}
};

/* Read-only fields: x.shape, x.dtype, x.ndim, x.T. */
static const lg_Reg properties[] = {
  {"shape", t_shape, "x.shape -> {n, ...}\nThe shape as a table of sizes."},
  {"dtype", t_dtype, "x.dtype -> \"float32\" | \"float64\"\nThe element type."},
  {"ndim", t_dim, "x.ndim -> n\nNumber of dimensions."},
  {"T", t_t, "x.T -> Tensor\nTranspose of a matrix (a view)."}, {NULL, NULL, NULL}
};

static const lg_Reg methods[] = {
  {"size", t_size,
   "x:size([dim]) -> n...\n"
   "The sizes of all dimensions (as several values), or of one."},
  {"stride", t_stride,
   "x:stride([dim]) -> {s, ...} | s\n"
   "Strides in elements (0 along expanded dimensions)."},
  {"dim", t_dim, "x:dim() -> n\nNumber of dimensions (0 for a scalar); also x.ndim."},
  {"numel", t_numel, "x:numel() -> n\nNumber of elements."},
  {"is_contiguous", t_is_contiguous,
   "x:is_contiguous() -> boolean\n"
   "True when the elements lie in row-major order without gaps."},
  {"item", t_item, "x:item() -> number\nThe value of a one-element tensor."},
  {"totable", t_totable,
   "x:totable() -> table\n"
   "Nested Lua tables of numbers (a number for a scalar)."},
  {"float", t_float,
   "x:float() -> Tensor\n"
   "As float32 (x itself when it already is).\n"
   "Differentiable."},
  {"double", t_double,
   "x:double() -> Tensor\n"
   "As float64 (x itself when it already is).\n"
   "Differentiable."},
  {"to", t_to, "x:to(dtype) -> Tensor\nAs \"float32\" or \"float64\".\nDifferentiable."},
  {"clone", t_clone,
   "x:clone() -> Tensor\n"
   "A contiguous copy with its own storage.\n"
   "Differentiable."},
  {"contiguous", t_contiguous,
   "x:contiguous() -> Tensor\n"
   "x when contiguous, else a contiguous copy.\n"
   "Differentiable."},
  {"copy_", t_copy_,
   "x:copy_(src) -> x\n"
   "Copy src (broadcast, converted) into x's elements.\n"
   "In place: refused on a tensor that requires grad while grad mode is on."},
  {"fill_", t_fill_,
   "x:fill_(v) -> x\n"
   "Set every element to v.\n"
   "In place: refused on a tensor that requires grad while grad mode is on."},
  {"zero_", t_zero_,
   "x:zero_() -> x\n"
   "Set every element to 0.\n"
   "In place: refused on a tensor that requires grad while grad mode is on."},
  {"view", t_view,
   "x:view(n, ...) -> Tensor\n"
   "The same storage seen with a new shape; one size may be -1.\n"
   "Fails when the strides do not allow it (then use reshape).\n"
   "Differentiable."},
  {"reshape", t_reshape,
   "x:reshape(n, ...) -> Tensor\n"
   "A view when possible, else a copy; one size may be -1.\n"
   "Differentiable."},
  {"flatten", t_flatten,
   "x:flatten([first=1, [last=-1]]) -> Tensor\n"
   "Merge dimensions first..last into one.\n"
   "Differentiable."},
  {"transpose", t_transpose,
   "x:transpose(d1, d2) -> Tensor\n"
   "View with dimensions d1 and d2 swapped.\n"
   "Differentiable."},
  {"t", t_t,
   "x:t() -> Tensor\n"
   "Transpose of a matrix (a view); vectors are returned as they are. Also x.T.\n"
   "Differentiable."},
  {"permute", t_permute,
   "x:permute(d1, d2, ...) -> Tensor\n"
   "View with the dimensions reordered.\n"
   "Differentiable."},
  {"narrow", t_narrow,
   "x:narrow(dim, start, length) -> Tensor\n"
   "View of elements start..start+length-1 (1-based) along dim.\n"
   "x[{...}] takes one entry per dim: i (select), {} (all), {i}, {first, last},\n"
   "{first, last, step} (inclusive views) or a tensor of positions (index_select).\n"
   "Differentiable."},
  {"select", t_select,
   "x:select(dim, i) -> Tensor\n"
   "View of index i along dim, which is removed; x[i] is x:select(1, i).\n"
   "Differentiable."},
  {"expand", t_expand,
   "x:expand(n, ...) | x:expand(other) -> Tensor\n"
   "Broadcast view: size-1 dimensions repeat without copying (-1 keeps a size).\n"
   "Differentiable."},
  {"diagonal", t_diagonal,
   "x:diagonal() -> Tensor\n"
   "View of the diagonal of the last two dims: (..., n, m) gives (..., min(n, m)).\n"
   "Differentiable."},
  {"squeeze", t_squeeze,
   "x:squeeze([dim]) -> Tensor\n"
   "Remove size-1 dimensions (all, or only dim).\n"
   "Differentiable."},
  {"unsqueeze", t_unsqueeze,
   "x:unsqueeze(dim) -> Tensor\n"
   "Insert a size-1 dimension at position dim.\n"
   "Differentiable."},
  {"add", t_add,
   "add(a, b) -> Tensor\n"
   "Elementwise a + b with numpy broadcasting; either may be a number.\n"
   "Differentiable."},
  {"sub", t_sub, "sub(a, b) -> Tensor\nElementwise a - b with broadcasting.\nDifferentiable."},
  {"mul", t_mul,
   "mul(a, b) -> Tensor\n"
   "Elementwise a * b with broadcasting (matmul is the matrix product).\n"
   "Differentiable."},
  {"div", t_div, "div(a, b) -> Tensor\nElementwise a / b with broadcasting.\nDifferentiable."},
  {"pow", t_pow, "pow(a, b) -> Tensor\nElementwise a ^ b with broadcasting.\nDifferentiable."},
  {"maximum", t_maximum,
   "maximum(a, b) -> Tensor\n"
   "Elementwise larger of a and b (NaN propagates).\n"
   "Differentiable."},
  {"minimum", t_minimum,
   "minimum(a, b) -> Tensor\n"
   "Elementwise smaller of a and b (NaN propagates).\n"
   "Differentiable."},
  {"eq", t_eq,
   "eq(a, b) -> Tensor\n"
   "Mask of 1 where a == b, else 0 (same dtype as the inputs).\n"
   "A constant: no gradient flows through it (as in PyTorch)."},
  {"ne", t_ne,
   "ne(a, b) -> Tensor\n"
   "Mask of 1 where a ~= b.\n"
   "A constant: no gradient flows through it (as in PyTorch)."},
  {"lt", t_lt,
   "lt(a, b) -> Tensor\n"
   "Mask of 1 where a < b.\n"
   "A constant: no gradient flows through it (as in PyTorch)."},
  {"le", t_le,
   "le(a, b) -> Tensor\n"
   "Mask of 1 where a <= b.\n"
   "A constant: no gradient flows through it (as in PyTorch)."},
  {"gt", t_gt,
   "gt(a, b) -> Tensor\n"
   "Mask of 1 where a > b.\n"
   "A constant: no gradient flows through it (as in PyTorch)."},
  {"ge", t_ge,
   "ge(a, b) -> Tensor\n"
   "Mask of 1 where a >= b.\n"
   "A constant: no gradient flows through it (as in PyTorch)."},
  {"add_", t_add_,
   "x:add_(b) -> x\n"
   "In place x = x + b (b broadcast to x's shape).\n"
   "Refused on a tensor that requires grad while grad mode is on."},
  {"sub_", t_sub_,
   "x:sub_(b) -> x\n"
   "In place x = x - b.\n"
   "Refused on a tensor that requires grad while grad mode is on."},
  {"mul_", t_mul_,
   "x:mul_(b) -> x\n"
   "In place x = x * b.\n"
   "Refused on a tensor that requires grad while grad mode is on."},
  {"div_", t_div_,
   "x:div_(b) -> x\n"
   "In place x = x / b.\n"
   "Refused on a tensor that requires grad while grad mode is on."},
  {"neg", t_neg, "neg(x) -> Tensor\n-x elementwise.\nDifferentiable."},
  {"abs", t_abs, "abs(x) -> Tensor\n|x| elementwise.\nDifferentiable."},
  {"exp", t_exp, "exp(x) -> Tensor\ne^x elementwise.\nDifferentiable."},
  {"log", t_log,
   "log(x) -> Tensor\n"
   "Natural logarithm elementwise (-inf at 0, NaN below).\n"
   "Differentiable."},
  {"log1p", t_log1p, "log1p(x) -> Tensor\nlog(1 + x), accurate for small x.\nDifferentiable."},
  {"expm1", t_expm1, "expm1(x) -> Tensor\nexp(x) - 1, accurate for small x.\nDifferentiable."},
  {"sqrt", t_sqrt, "sqrt(x) -> Tensor\nSquare root elementwise.\nDifferentiable."},
  {"tanh", t_tanh, "tanh(x) -> Tensor\nHyperbolic tangent elementwise.\nDifferentiable."},
  {"sigmoid", t_sigmoid,
   "sigmoid(x) -> Tensor\n"
   "1 / (1 + exp(-x)), computed without overflow.\n"
   "Differentiable."},
  {"relu", t_relu, "relu(x) -> Tensor\nmax(x, 0) elementwise.\nDifferentiable."},
  {"softplus", t_softplus,
   "softplus(x) -> Tensor\n"
   "log(1 + exp(x)), computed without overflow.\n"
   "Differentiable."},
  {"square", t_square, "square(x) -> Tensor\nx * x elementwise.\nDifferentiable."},
  {"sin", t_sin, "sin(x) -> Tensor\nSine elementwise.\nDifferentiable."},
  {"cos", t_cos, "cos(x) -> Tensor\nCosine elementwise.\nDifferentiable."},
  {"floor", t_floor, "floor(x) -> Tensor\nRound down elementwise.\nDifferentiable."},
  {"ceil", t_ceil, "ceil(x) -> Tensor\nRound up elementwise.\nDifferentiable."},
  {"round", t_round, "round(x) -> Tensor\nRound half away from zero elementwise.\nDifferentiable."},
  {"sign", t_sign, "sign(x) -> Tensor\n-1, 0 or 1 elementwise (NaN stays NaN, as in numpy).\nDifferentiable (zero)."},
  {"reciprocal", t_reciprocal, "reciprocal(x) -> Tensor\n1 / x elementwise.\nDifferentiable."},
  {"erf", t_erf,
   "erf(x) -> Tensor\n"
   "The error function 2/sqrt(pi) int_0^x exp(-t^2) dt (the C library's erf); the\n"
   "standard normal CDF is 0.5 * erfc(-x / sqrt(2)).\n"
   "Differentiable."},
  {"erfc", t_erfc,
   "erfc(x) -> Tensor\n"
   "1 - erf(x), accurate in the tail where 1 - erf(x) would round to 0 (the C library's erfc).\n"
   "Differentiable."},
  {"clamp", t_clamp,
   "clamp(x, [min], [max]) -> Tensor\n"
   "Limit every element to [min, max] (nil: unbounded).\n"
   "Differentiable."},
  {"clamp_", t_clamp_,
   "x:clamp_([min], [max]) -> x\n"
   "In-place clamp.\n"
   "In place: refused on a tensor that requires grad while grad mode is on."},
  {NULL, NULL, NULL}
};

static const lg_Reg functions[] = {
  {"where", t_where,
   "where(mask, a, b) -> Tensor\n"
   "Elementwise mask ~= 0 and a or b; all three broadcast together.\n"
   "Differentiable."},
  {NULL, NULL, NULL}
};

void lg_open_tensor(lua_State *L) {
  int module = lua_gettop(L);
  luaL_newmetatable(L, LG_TENSOR);
  lg_setfuncs(L, meta);
  lua_newtable(L);                 /* methods, also copied into the module */
  lg_setfuncs(L, methods);
  lg_setfuncs(L, functions);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__methods");   /* for completion in the REPL */
  lua_newtable(L);
  lg_setfuncs(L, properties);
  lua_pushvalue(L, -1);
  lua_setfield(L, -4, "__properties");
  lua_pushcclosure(L, t_index, 2);
  lua_setfield(L, -2, "__index");
  lua_newtable(L);                 /* setters of assignable fields */
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__setters");
  lua_pushcclosure(L, t_newindex, 1);
  lua_setfield(L, -2, "__newindex");
  lua_pop(L, 1);
  lua_pushvalue(L, module);
  lg_setfuncs(L, methods);
  lg_setfuncs(L, functions);
  lua_pop(L, 1);
}
