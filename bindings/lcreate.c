/*
** lcreate.c -- making tensors: from tables, constant fills, ranges, and the
** random samplers with their Generator objects.
**
** Sizes are given as integers or as one table: zeros(3, 4) or zeros{3, 4}.
** A trailing options table may name {dtype = "float64", generator = g}.
*/
#include <string.h>

#include "laux.h"



/* Parse sizes from index first; returns the index just after them, where the
** options table may stand. */
static int sizes(lua_State *L, int first, int64_t *shape, int *nd) {
  if (lua_istable(L, first) && lua_rawlen(L, first) > 0) {
    *nd = lg_checkshape(L, first, shape);
    return first + 1;
  }
  *nd = lg_checkshape(L, first, shape);
  return first + *nd;
}

static int c_tensor(lua_State *L) {
  glab_tensor *src = lg_test(L, 1);
  lg_checkopts(L, 2, OPTS("dtype"));
  glab_dtype dt = lg_optdtype(L, 2, src ? src->dtype : lg_default_dtype(L));
  if (src) lg_try(L, glab_tensor_astype(lg_push(L), lg_check(L, 1), dt));
  else lg_fromtable(L, 1, dt);
  return 1;
}

static int filled(lua_State *L, double v) {
  int64_t shape[GLAB_MAXDIM];
  int nd, opts = sizes(L, 1, shape, &nd);
  lg_checkopts(L, opts, OPTS("dtype"));
  glab_dtype dt = lg_optdtype(L, opts, lg_default_dtype(L));
  lg_try(L, glab_tensor_full(lg_push(L), dt, nd, shape, v));
  return 1;
}

static int c_zeros(lua_State *L) { return filled(L, 0.0); }
static int c_ones(lua_State *L) { return filled(L, 1.0); }

static int c_full(lua_State *L) {
  int64_t shape[GLAB_MAXDIM];
  int nd = 1;
  if (lua_type(L, 1) == LUA_TNUMBER) {
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n < 0) luaL_argerror(L, 1, "negative size");
    shape[0] = (int64_t)n;
  } else {
    luaL_checktype(L, 1, LUA_TTABLE);
    nd = lg_checkshape(L, 1, shape);
  }
  double v = luaL_checknumber(L, 2);
  lg_checkopts(L, 3, OPTS("dtype"));
  glab_dtype dt = lg_optdtype(L, 3, lg_default_dtype(L));
  lg_try(L, glab_tensor_full(lg_push(L), dt, nd, shape, v));
  return 1;
}

static int c_eye(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  int opts = lua_isinteger(L, 2) ? 3 : 2;
  lua_Integer m = opts == 3 ? lua_tointeger(L, 2) : n;
  if (n < 0 || m < 0) luaL_argerror(L, 1, "negative size");
  glab_dtype dt = lg_optdtype(L, opts, lg_default_dtype(L));
  lg_try(L, glab_tensor_eye(lg_push(L), dt, n, m));
  return 1;
}

static int c_arange(lua_State *L) {
  int nnum = 0;
  while (nnum < 3 && lua_type(L, nnum + 1) == LUA_TNUMBER) nnum++;
  if (nnum == 0) luaL_argerror(L, 1, "number expected");
  double start = nnum >= 2 ? lua_tonumber(L, 1) : 0;
  double stop = nnum >= 2 ? lua_tonumber(L, 2) : lua_tonumber(L, 1);
  double step = nnum == 3 ? lua_tonumber(L, 3) : 1;
  glab_dtype dt = lg_optdtype(L, nnum + 1, lg_default_dtype(L));
  lg_try(L, glab_tensor_arange(lg_push(L), dt, start, stop, step));
  return 1;
}

static int c_linspace(lua_State *L) {
  double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2);
  lua_Integer n = luaL_checkinteger(L, 3);
  glab_dtype dt = lg_optdtype(L, 4, lg_default_dtype(L));
  lg_try(L, glab_tensor_linspace(lg_push(L), dt, a, b, n));
  return 1;
}

/* x's shape and dtype (dtype overridable through opts at index 2). */
static glab_tensor *like(lua_State *L, int opts) {
  glab_tensor *x = lg_check(L, 1);
  glab_dtype dt = lg_optdtype(L, opts, x->dtype);
  glab_tensor *out = lg_push(L);
  lg_try(L, glab_tensor_new(out, dt, x->ndim, x->shape));
  return out;
}

static int c_zeros_like(lua_State *L) { lg_try(L, glab_tensor_fill(like(L, 2), 0)); return 1; }
static int c_ones_like(lua_State *L) { lg_try(L, glab_tensor_fill(like(L, 2), 1)); return 1; }

static int c_full_like(lua_State *L) {
  double v = luaL_checknumber(L, 2);
  lg_try(L, glab_tensor_fill(like(L, 3), v));
  return 1;
}

/* ---- generators -------------------------------------------------------------- */

static uint64_t check_seed(lua_State *L, int i) {
  lua_Integer s = luaL_checkinteger(L, i);
  return (uint64_t)s;
}

static int g_new(lua_State *L) {
  uint64_t seed = lua_isnoneornil(L, 1) ? 0 : check_seed(L, 1);
  glab_rng *g = lua_newuserdatauv(L, sizeof *g, 0);
  glab_rng_seed(g, seed);
  luaL_setmetatable(L, LG_GENERATOR);
  return 1;
}

static int g_seed(lua_State *L) {
  glab_rng *g = luaL_checkudata(L, 1, LG_GENERATOR);
  glab_rng_seed(g, check_seed(L, 2));
  lua_settop(L, 1);
  return 1;
}

static int g_tostring(lua_State *L) {
  lua_pushfstring(L, "Generator (%p)", lua_touserdata(L, 1));
  return 1;
}

static int c_manual_seed(lua_State *L) {
  glab_rng_seed(lg_default_rng(L), check_seed(L, 1));
  return 0;
}

/* ---- samplers ----------------------------------------------------------------- */

typedef enum { S_UNIFORM, S_NORMAL } sampler;

/* rand/randn(size..., [opts]); uniform/normal(a, b, size..., [opts]). */
static int sample(lua_State *L, sampler kind, int first) {
  double a = first > 1 ? luaL_checknumber(L, 1) : 0;
  double b = first > 1 ? luaL_checknumber(L, 2) : 1;
  int64_t shape[GLAB_MAXDIM];
  int nd, opts = sizes(L, first, shape, &nd);
  lg_checkopts(L, opts, OPTS("dtype", "generator"));
  glab_dtype dt = lg_optdtype(L, opts, lg_default_dtype(L));
  glab_rng *g = lg_optrng(L, opts);
  glab_tensor *out = lg_push(L);
  lg_try(L, glab_tensor_new(out, dt, nd, shape));
  lg_try(L, kind == S_NORMAL ? glab_rand_normal(g, out, a, b) : glab_rand_uniform(g, out, a, b));
  return 1;
}

static int c_rand(lua_State *L) { return sample(L, S_UNIFORM, 1); }
static int c_randn(lua_State *L) { return sample(L, S_NORMAL, 1); }
static int c_uniform(lua_State *L) { return sample(L, S_UNIFORM, 3); }
static int c_normal(lua_State *L) { return sample(L, S_NORMAL, 3); }

static int sample_like(lua_State *L, sampler kind) {
  glab_rng *g = lg_optrng(L, 2);
  glab_tensor *out = like(L, 2);
  lg_try(L, kind == S_NORMAL ? glab_rand_normal(g, out, 0, 1) : glab_rand_uniform(g, out, 0, 1));
  return 1;
}

static int c_rand_like(lua_State *L) { return sample_like(L, S_UNIFORM); }
static int c_randn_like(lua_State *L) { return sample_like(L, S_NORMAL); }

static int c_randint(lua_State *L) {
  lua_Integer lo = luaL_checkinteger(L, 1), hi = luaL_checkinteger(L, 2);
  int64_t shape[GLAB_MAXDIM];
  int nd, opts = sizes(L, 3, shape, &nd);
  lg_checkopts(L, opts, OPTS("dtype", "generator"));
  glab_rng *g = lg_optrng(L, opts);
  glab_dtype dt = lg_optdtype(L, opts, lg_default_dtype(L));
  glab_tensor *out = lg_push(L);
  lg_try(L, glab_tensor_new(out, dt, nd, shape));
  lg_try(L, glab_rand_int(g, out, lo, hi));
  return 1;
}

static int c_bernoulli(lua_State *L) {
  glab_tensor *p = lg_totensor(L, 1, lg_default_dtype(L));
  glab_rng *g = lg_optrng(L, 2);
  lg_try(L, glab_rand_bernoulli(g, lg_push(L), p));
  return 1;
}

/* 0-based categories from the core, shifted to 1-based in place. */
static int c_multinomial(lua_State *L) {
  glab_tensor *w = lg_totensor(L, 1, GLAB_F64);
  lua_Integer n = luaL_optinteger(L, 2, 1);
  int replacement = lua_toboolean(L, 3);
  glab_rng *g = lg_optrng(L, 4);
  glab_tensor *out = lg_push(L);
  lg_try(L, glab_rand_categorical(g, out, w, (int64_t)n, replacement));
  return lg_one_based(L, out, 1);
}

static int c_categorical(lua_State *L) {
  glab_tensor *w = lg_totensor(L, 1, GLAB_F64);
  lua_Integer n = luaL_optinteger(L, 2, 1);
  glab_rng *g = lg_optrng(L, 3);
  glab_tensor *out = lg_push(L);
  lg_try(L, glab_rand_categorical(g, out, w, (int64_t)n, 1));
  return lg_one_based(L, out, 1);
}

static int c_permutation(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 0) luaL_argerror(L, 1, "negative size");
  glab_rng *g = lg_optrng(L, 2);
  glab_dtype dt = lg_optdtype(L, 2, GLAB_F64);
  glab_tensor *out = lg_push(L);
  lg_try(L, glab_rand_permutation(g, out, (int64_t)n, dt));
  return lg_one_based(L, out, 1);
}

static const lg_Reg functions[] = {
  {"tensor", c_tensor,
   "tensor(data, [{dtype=}]) -> Tensor\n"
   "From a nested table of numbers, a number (a scalar) or a tensor (copied).\n"
   "Ragged rows are an error naming the element."},
  {"zeros", c_zeros,
   "zeros(size..., [{dtype=}]) -> Tensor\n"
   "A tensor of zeros; size as integers or one table: zeros(3, 4), zeros{3, 4}."},
  {"ones", c_ones, "ones(size..., [{dtype=}]) -> Tensor\nA tensor of ones."},
  {"full", c_full,
   "full(size, value, [{dtype=}]) -> Tensor\n"
   "A tensor with every element = value; size is an integer or a table."},
  {"eye", c_eye, "eye(n, [m], [{dtype=}]) -> Tensor\nThe n x m identity (m = n by default)."},
  {"arange", c_arange,
   "arange([start=0], stop, [step=1], [{dtype=}]) -> Tensor\n"
   "start, start+step, ... strictly before stop (as numpy and PyTorch)."},
  {"linspace", c_linspace,
   "linspace(a, b, n, [{dtype=}]) -> Tensor\n"
   "n evenly spaced values from a to b inclusive."},
  {"zeros_like", c_zeros_like,
   "zeros_like(x, [{dtype=}]) -> Tensor\n"
   "Zeros with x's shape and dtype.\n"
   "A constant: no gradient flows through it (as in PyTorch)."},
  {"ones_like", c_ones_like,
   "ones_like(x, [{dtype=}]) -> Tensor\n"
   "Ones with x's shape and dtype.\n"
   "A constant: no gradient flows through it (as in PyTorch)."},
  {"full_like", c_full_like,
   "full_like(x, value, [{dtype=}]) -> Tensor\n"
   "value everywhere, with x's shape and dtype.\n"
   "A constant: no gradient flows through it (as in PyTorch)."},
  {"rand", c_rand, "rand(size..., [{dtype=, generator=}]) -> Tensor\nUniform samples in [0, 1)."},
  {"randn", c_randn, "randn(size..., [{dtype=, generator=}]) -> Tensor\nStandard normal samples."},
  {"uniform", c_uniform,
   "uniform(lo, hi, size..., [{dtype=, generator=}]) -> Tensor\n"
   "Uniform samples in [lo, hi)."},
  {"normal", c_normal,
   "normal(mean, std, size..., [{dtype=, generator=}]) -> Tensor\n"
   "Normal samples with the given mean and standard deviation."},
  {"rand_like", c_rand_like,
   "rand_like(x, [{dtype=, generator=}]) -> Tensor\n"
   "Uniform samples with x's shape.\n"
   "A constant: no gradient flows through it (as in PyTorch)."},
  {"randn_like", c_randn_like,
   "randn_like(x, [{dtype=, generator=}]) -> Tensor\n"
   "Standard normal samples with x's shape.\n"
   "A constant: no gradient flows through it (as in PyTorch)."},
  {"randint", c_randint,
   "randint(lo, hi, size..., [{dtype=, generator=}]) -> Tensor\n"
   "Uniform integers in [lo, hi) (hi excluded, as PyTorch)."},
  {"bernoulli", c_bernoulli,
   "bernoulli(p, [{generator=}]) -> Tensor\n"
   "1 with probability p (elementwise, p in [0, 1]), else 0.\n"
   "A constant: no gradient flows through it (as in PyTorch)."},
  {"multinomial", c_multinomial,
   "multinomial(weights, [n=1], [replacement=false], [{generator=}]) -> Tensor\n"
   "1-based category indices drawn in proportion to weights (k) or per row of (b, k).\n"
   "A constant: no gradient flows through it (as in PyTorch)."},
  {"categorical", c_categorical,
   "categorical(probs, [n=1], [{generator=}]) -> Tensor\n"
   "n independent 1-based draws from each row of probs (multinomial with replacement).\n"
   "A constant: no gradient flows through it (as in PyTorch)."},
  {"permutation", c_permutation,
   "permutation(n, [{dtype=, generator=}]) -> Tensor\n"
   "A random ordering of 1..n (float64 unless dtype says otherwise)."},
  {"randperm", c_permutation,
   "randperm(n, [{dtype=, generator=}]) -> Tensor\n"
   "A random permutation of 1..n (the name PyTorch uses for permutation)."},
  {"manual_seed", c_manual_seed,
   "manual_seed(n)\n"
   "Reseed the default generator. genlab starts seeded with 0, so runs repeat."},
  {"Generator", g_new,
   "Generator([seed=0]) -> Generator\n"
   "An independent random stream (xoshiro256++); pass it as {generator = g}.\n"
   "g:seed(n) reseeds it. The same seed gives the same numbers on every run and thread count."},
  {NULL, NULL, NULL}
};

void lg_open_create(lua_State *L) {
  lg_setfuncs(L, functions);
  luaL_newmetatable(L, LG_GENERATOR);
  lua_newtable(L);
  lua_pushcfunction(L, g_seed);
  lg_setdoc(L, -1, "g:seed(n) -> g\nReseed the generator.");
  lua_setfield(L, -2, "seed");
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, g_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  glab_rng *g = lua_newuserdatauv(L, sizeof *g, 0);
  glab_rng_seed(g, 0);
  luaL_setmetatable(L, LG_GENERATOR);
  lua_setfield(L, LUA_REGISTRYINDEX, LG_RNG_KEY);
}
