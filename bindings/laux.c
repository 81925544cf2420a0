/*
** laux.c -- helpers shared by the binding files (see laux.h).
*/
#include <stdio.h>
#include <string.h>

#include "laux.h"

#define DOCS_KEY "genlab.docs"
#define DTYPE_KEY "genlab.default_dtype"

void lg_setdoc(lua_State *L, int i, const char *doc) {
  i = lua_absindex(L, i);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, DOCS_KEY);
  lua_pushvalue(L, i);
  lua_pushstring(L, doc);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/* ---- the autograd guard ------------------------------------------------------
** Every function registered here runs behind one check, so that no op can
** silently cut a result out of the graph: when grad mode is on and a tensor
** argument (or a tensor in a list argument) requires grad, at least one of
** the tensors it returns must require grad too, or the call is an error.
** Functions whose results are constants by definition (indices, masks,
** samples, *_like creators, detach, the gradient accessors) are listed in
** constants[] and registered bare.  The wrapped function runs in the
** closure's own call frame (called through its pointer, not lua_call), so
** argument errors still name it. */

typedef struct lg_Fn {
  lua_CFunction f;
  const char *name;
} lg_Fn;

static const char *const constants[] = {
  "argmax", "argmin", "argsort", "eq", "ne", "lt", "le", "gt", "ge", "zeros_like", "ones_like",
  "full_like", "rand_like", "randn_like", "detach", "bernoulli", "multinomial", "categorical",
  "grad", "requires_grad", NULL
};

static int is_constant(const char *name) {
  for (int i = 0; constants[i]; i++)
    if (strcmp(constants[i], name) == 0) return 1;
  return 0;
}

static int wants_grad(lua_State *L, int i) {
  glab_tensor *t = lg_test(L, i);
  return t && t->storage && glab_var_requires_grad(LV(t));
}

static int grad_inputs(lua_State *L) {
  if (!glab_grad_enabled()) return 0;
  int n = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    if (wants_grad(L, i)) return 1;
    if (lua_type(L, i) == LUA_TTABLE && !lua_getmetatable(L, i)) {   /* a plain list: cat, stack */
      lua_Integer len = (lua_Integer)lua_rawlen(L, i);
      for (lua_Integer k = 1; k <= len && k <= 256; k++) {
        lua_rawgeti(L, i, k);
        int w = wants_grad(L, -1);
        lua_pop(L, 1);
        if (w) return 1;
      }
    } else if (lua_type(L, i) == LUA_TTABLE) {
      lua_pop(L, 1);                                 /* the metatable */
    }
  }
  return 0;
}

static int guarded(lua_State *L) {
  const lg_Fn *fn = lua_touserdata(L, lua_upvalueindex(1));
  int need = grad_inputs(L);
  int nret = fn->f(L);
  if (!need || !glab_grad_enabled()) return nret;
  int tensors = 0;
  for (int k = lua_gettop(L) - nret + 1; k <= lua_gettop(L); k++) {
    if (wants_grad(L, k)) return nret;
    tensors += lg_test(L, k) != NULL;
  }
  if (tensors)
    luaL_error(L, "%s: no gradient is defined for this operation; wrap it in no_grad or detach "
               "its input", fn->name);
  return nret;
}

void lg_setfuncs(lua_State *L, const lg_Reg *r) {
  for (; r->name; r++) {
    if (is_constant(r->name) || r->name[0] == '_') {   /* constants, metamethods, C kernels */
      lua_pushcfunction(L, r->func);
    } else {
      lg_Fn *fn = lua_newuserdatauv(L, sizeof *fn, 0);
      fn->f = r->func;
      fn->name = r->name;
      lua_pushcclosure(L, guarded, 1);
    }
    if (r->doc) lg_setdoc(L, -1, r->doc);
    lua_setfield(L, -2, r->name);
  }
}

/* ---- tensors ---------------------------------------------------------------- */

glab_tensor *lg_test(lua_State *L, int i) {
  return (glab_tensor *)luaL_testudata(L, i, LG_TENSOR);
}

glab_tensor *lg_check(lua_State *L, int i) {
  glab_tensor *t = (glab_tensor *)luaL_checkudata(L, i, LG_TENSOR);
  if (!t->storage) luaL_argerror(L, i, "tensor has been closed");
  return t;
}

/* Lua sees a tensor as a small userdata and would let megabytes of storage
** pile up between collections.  So every new tensor checks the bytes that
** live storage holds, and a full collection runs when they have grown by
** 16 MiB since the last one.  A collection's cost follows the number of Lua
** objects, not the tensor bytes (0.08 ms for a CNN VAE's 0.6 MB Lua heap),
** so the step is fixed rather than a fraction of the live set: the garbage
** of a training step returns to the core's block cache within a step and is
** reused warm.  With a fraction (a quarter of a 188 MB MNIST-sized tensor)
** six CNN VAE steps of fresh pages went by before the first collection, each
** three times as slow as a warm one, and the cache had to hold 64 MiB of
** garbage at every collection after.
** When the live set shrinks by other means (Lua's own collector, a <close>,
** collectgarbage()), the threshold follows it down. */
#define GC_STEP_BYTES ((size_t)16 << 20)
static size_t gc_threshold = GC_STEP_BYTES, gc_base;

static void set_base(size_t live) {
  gc_base = live;
  gc_threshold = live + GC_STEP_BYTES;
}

static void pace_gc(lua_State *L) {
  size_t live = glab_live_bytes();
  if (live < gc_base) set_base(live);
  if (live <= gc_threshold) return;
  lua_gc(L, LUA_GCCOLLECT);
  set_base(glab_live_bytes());
}

/* The thread of the binding that pushed last: every op pushes its result
** before computing it, so this is the thread whose call records a node.  A
** coroutine is anchored in the registry while it is the one, so that the
** pointer never outlives it. */
static lua_State *where_L;

static void track_thread(lua_State *L) {
  if (L == where_L) return;
  where_L = L;
  if (lua_pushthread(L)) lua_pop(L, 1);                 /* the main thread */
  else lua_rawsetp(L, LUA_REGISTRYINDEX, &where_L);
}

/* The library's own Lua files: a node recorded inside them is named by the
** user's line that called into them. */
static int library_frame(const lua_Debug *ar) {
  return strncmp(ar->source, "@bindings/genlab/", 17) == 0;
}

void lg_where(char *buf, size_t n) {
  lua_Debug ar;
  buf[0] = '\0';
  for (int level = 1; where_L && lua_getstack(where_L, level, &ar); level++) {
    if (!lua_getinfo(where_L, "Sl", &ar) || ar.currentline <= 0) continue;
    if (!buf[0] || !library_frame(&ar))
      snprintf(buf, n, "%s:%d", ar.short_src, ar.currentline);
    if (!library_frame(&ar)) return;
  }
}

glab_tensor *lg_push(lua_State *L) {
  track_thread(L);
  pace_gc(L);
  glab_var *v = (glab_var *)lua_newuserdatauv(L, sizeof *v, 1);
  memset(v, 0, sizeof *v);
  luaL_setmetatable(L, LG_TENSOR);
  return &v->t;
}

void lg_check_inplace(lua_State *L, const glab_tensor *t, const char *op) {
  if (glab_grad_enabled() && glab_var_requires_grad(LV(t)))
    luaL_error(L, "%s: in-place change of a tensor that requires grad; a parameter update "
               "(an optimizer step) goes inside genlab.no_grad(function() ... end), where "
               "nothing is recorded (a graph that saved the old values then refuses "
               "backward)", op);
  lg_try(L, glab_tensor_check_writable(t, op));
}

void lg_try(lua_State *L, glab_status s) {
  if (s != GLAB_OK) luaL_error(L, "%s", glab_errmsg());
}

/* Shape of a nested table: the lengths along its first elements. */
static int table_shape(lua_State *L, int i, int64_t *shape) {
  int nd = 0;
  lua_pushvalue(L, i);
  while (lua_istable(L, -1)) {
    if (nd == GLAB_MAXDIM) luaL_error(L, "tensor: tables nested deeper than %d", GLAB_MAXDIM);
    shape[nd++] = (int64_t)lua_rawlen(L, -1);
    if (shape[nd - 1] == 0) break;
    lua_rawgeti(L, -1, 1);
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
  return nd;
}

/* Copy the table at the top into t's elements from *pos on, checking that
** every row has the length of the first (error names the position). */
static void fill_from(lua_State *L, glab_tensor *t, int d, int64_t *pos, char *path,
                      size_t plen) {
  int64_t n = lua_istable(L, -1) ? (int64_t)lua_rawlen(L, -1) : -1;
  if (n != t->shape[d]) {
    char msg[400];
    if (n < 0)
      snprintf(msg, sizeof msg, "tensor: ragged table: element %s is a %s, expected a table of %lld",
               plen ? path : "(top)", luaL_typename(L, -1), (long long)t->shape[d]);
    else
      snprintf(msg, sizeof msg, "tensor: ragged table: element %s has %lld entries, expected %lld",
               plen ? path : "(top)", (long long)n, (long long)t->shape[d]);
    luaL_error(L, "%s", msg);
  }
  for (int64_t k = 1; k <= n; k++) {
    int w = snprintf(path + plen, 256 - plen, "[%lld]", (long long)k);
    lua_rawgeti(L, -1, (lua_Integer)k);
    if (d + 1 < t->ndim) {
      fill_from(L, t, d + 1, pos, path, plen + (size_t)w);
    } else {
      int ok;
      double v = lua_tonumberx(L, -1, &ok);
      if (!ok) luaL_error(L, "tensor: element %s is a %s, expected a number", path,
                          luaL_typename(L, -1));
      glab_tensor_set(t, pos, v);
      for (int j = t->ndim - 1; j >= 0 && ++pos[j] == t->shape[j]; j--)
        if (j > 0) pos[j] = 0;
    }
    lua_pop(L, 1);
  }
}

glab_tensor *lg_fromtable(lua_State *L, int i, glab_dtype dt) {
  i = lua_absindex(L, i);
  int64_t shape[GLAB_MAXDIM], pos[GLAB_MAXDIM] = {0};
  int nd = lua_istable(L, i) ? table_shape(L, i, shape) : 0;
  if (!lua_istable(L, i) && !lua_isnumber(L, i))
    luaL_argerror(L, i, lua_pushfstring(L, "tensor, number or table expected, got %s",
                                        luaL_typename(L, i)));
  glab_tensor *t = lg_push(L);
  lg_try(L, glab_tensor_new(t, dt, nd, shape));
  if (nd == 0) {
    glab_tensor_set(t, pos, lua_tonumber(L, i));
  } else {                              /* an empty tensor too: its rows must agree */
    char path[256] = "";
    lua_pushvalue(L, i);
    fill_from(L, t, 0, pos, path, 0);
    lua_pop(L, 1);
  }
  return t;
}

glab_tensor *lg_totensor(lua_State *L, int i, glab_dtype dt) {
  glab_tensor *t = lg_test(L, i);
  if (t) {
    if (!t->storage) luaL_argerror(L, i, "tensor has been closed");
    return t;
  }
  return lg_fromtable(L, i, dt);
}

/* ---- arguments ------------------------------------------------------------------ */

glab_dtype lg_default_dtype(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, DTYPE_KEY);
  glab_dtype dt = lua_tointeger(L, -1) == GLAB_F64 ? GLAB_F64 : GLAB_F32;
  lua_pop(L, 1);
  return dt;
}

glab_dtype lg_checkdtype(lua_State *L, int i) {
  static const char *const names[] = {"float32", "float64", "float", "double", NULL};
  int k = luaL_checkoption(L, i, NULL, names);
  return (k == 1 || k == 3) ? GLAB_F64 : GLAB_F32;
}

glab_dtype lg_optdtype(lua_State *L, int i, glab_dtype deflt) {
  if (!lua_istable(L, i)) return deflt;
  lua_getfield(L, i, "dtype");
  glab_dtype dt = deflt;
  if (!lua_isnil(L, -1)) {
    if (!lua_isstring(L, -1))
      luaL_error(L, "option 'dtype': expected \"float32\" or \"float64\"");
    dt = lg_checkdtype(L, lua_gettop(L));
  }
  lua_pop(L, 1);
  return dt;
}

int lg_checkdim(lua_State *L, int i, int ndim) {
  lua_Integer d = luaL_checkinteger(L, i);
  if (d == 0) luaL_argerror(L, i, "dimensions are numbered from 1 (or -1 for the last)");
  if (d > ndim || d < -ndim) {
    const char *msg = ndim == 0
        ? lua_pushfstring(L, "dimension %d out of range for a scalar", (int)d)
        : lua_pushfstring(L, "dimension %d out of range for a %d-d tensor", (int)d, ndim);
    luaL_argerror(L, i, msg);
  }
  return d > 0 ? (int)d - 1 : ndim + (int)d;
}

int lg_optdim(lua_State *L, int i, int ndim, int deflt) {
  return lua_isnoneornil(L, i) ? deflt : lg_checkdim(L, i, ndim);
}

/* True for a table that holds a list (a shape), not options. */
static int is_list(lua_State *L, int i) {
  if (!lua_istable(L, i)) return 0;
  if (lua_rawlen(L, i) > 0) return 1;
  lua_pushnil(L);
  int empty = !lua_next(L, i);
  if (!empty) lua_pop(L, 2);
  return empty;
}

static int64_t checksize(lua_State *L, int arg) {
  int ok;
  lua_Integer v = lua_tointegerx(L, -1, &ok);
  if (!ok) luaL_argerror(L, arg, lua_pushfstring(L, "size must be an integer, got %s",
                                                 luaL_typename(L, -1)));
  if (v < 0) luaL_argerror(L, arg, lua_pushfstring(L, "negative size %d", (int)v));
  return (int64_t)v;
}

int lg_checkshape(lua_State *L, int first, int64_t *shape) {
  int nd = 0;
  if (is_list(L, first)) {
    int n = (int)lua_rawlen(L, first);
    if (n > GLAB_MAXDIM) luaL_argerror(L, first, "more than 32 dimensions");
    for (int k = 1; k <= n; k++) {
      lua_rawgeti(L, first, k);
      shape[nd++] = checksize(L, first);
      lua_pop(L, 1);
    }
    return nd;
  }
  for (int i = first; lua_type(L, i) == LUA_TNUMBER; i++) {
    if (nd == GLAB_MAXDIM) luaL_argerror(L, i, "more than 32 dimensions");
    lua_pushvalue(L, i);
    shape[nd++] = checksize(L, i);
    lua_pop(L, 1);
  }
  return nd;
}

void lg_checkopts(lua_State *L, int i, const char *const *keys) {
  if (lua_isnoneornil(L, i)) return;
  i = lua_absindex(L, i);
  if (!lua_istable(L, i))
    luaL_argerror(L, i, lua_pushfstring(L, "options table expected, got %s", luaL_typename(L, i)));
  lua_pushnil(L);
  while (lua_next(L, i)) {
    lua_pop(L, 1);
    const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    int known = 0;
    for (int j = 0; k && keys[j]; j++) known |= strcmp(k, keys[j]) == 0;
    if (!known) {
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      for (int j = 0; keys[j]; j++) {
        if (j) luaL_addstring(&b, ", ");
        luaL_addstring(&b, keys[j]);
      }
      luaL_pushresult(&b);
      luaL_error(L, "unknown option '%s' (options here: %s)", k ? k : "(not a name)",
                 lua_tostring(L, -1));
    }
  }
}

int lg_optbool(lua_State *L, int i, const char *key, int deflt) {
  if (!lua_istable(L, i)) return deflt;
  lua_getfield(L, i, key);
  int v = lua_isnil(L, -1) ? deflt : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

double lg_optnum(lua_State *L, int i, const char *key, double deflt) {
  if (!lua_istable(L, i)) return deflt;
  lua_getfield(L, i, key);
  double v = deflt;
  if (!lua_isnil(L, -1)) {
    int ok;
    v = lua_tonumberx(L, -1, &ok);
    if (!ok) luaL_error(L, "option '%s': expected a number, got %s", key, luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return v;
}

int64_t lg_optposint(lua_State *L, int i, const char *key, int64_t deflt) {
  if (!lua_istable(L, i)) return deflt;
  lua_getfield(L, i, key);
  int64_t v = deflt;
  if (!lua_isnil(L, -1)) {
    int ok;
    lua_Integer k = lua_tointegerx(L, -1, &ok);
    if (!ok || k < 1)
      luaL_error(L, "option '%s': expected a positive integer, got %s", key,
                 lua_type(L, -1) == LUA_TNUMBER ? luaL_tolstring(L, -1, NULL)
                                                : lua_pushfstring(L, "a %s", luaL_typename(L, -1)));
    v = (int64_t)k;
  }
  lua_pop(L, 1);
  return v;
}

int lg_optchoice(lua_State *L, int i, const char *key, const char *const names[], int deflt) {
  if (!lua_istable(L, i)) return deflt;
  lua_getfield(L, i, key);
  int k = deflt;
  if (!lua_isnil(L, -1)) {
    const char *v = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;
    for (k = 0; names[k] && !(v && strcmp(names[k], v) == 0); k++) {}
    if (!names[k]) {
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      for (int j = 0; names[j]; j++) {
        if (j) luaL_addstring(&b, names[j + 1] ? ", " : " or ");
        lua_pushfstring(L, "\"%s\"", names[j]);
        luaL_addvalue(&b);
      }
      luaL_pushresult(&b);
      const char *choices = lua_tostring(L, -1);
      const char *got = v ? lua_pushfstring(L, "\"%s\"", v) : luaL_typename(L, -2);
      luaL_error(L, "option '%s': expected %s, got %s", key, choices, got);
    }
  }
  lua_pop(L, 1);
  return k;
}

int lg_one_based(lua_State *L, glab_tensor *idx, int nret) {
  lg_try(L, glab_binary_scalar(idx, GLAB_ADD, idx, 1.0, 0));
  return nret;
}

glab_tensor *lg_index_arg(lua_State *L, int i) {
  glab_tensor *src = lg_totensor(L, i, GLAB_F64);
  glab_tensor *t = lg_push(L);
  glab_tensor f = GLAB_TENSOR_EMPTY;
  lg_try(L, glab_tensor_astype(&f, src, GLAB_F64));
  glab_status s = glab_binary_scalar(t, GLAB_SUB, &f, 1.0, 0);
  glab_tensor_free(&f);
  lg_try(L, s);
  return t;
}

/* ---- the Tensor type's tables ------------------------------------------------- */

/* Extra read-only fields (and, where setters is not NULL, assignable ones)
** from other binding files. */
void lg_add_properties(lua_State *L, const lg_Reg *props, const lg_Reg *setters) {
  luaL_getmetatable(L, LG_TENSOR);
  lua_getfield(L, -1, "__properties");
  lg_setfuncs(L, props);
  lua_pop(L, 1);
  if (setters) {
    lua_getfield(L, -1, "__setters");
    lg_setfuncs(L, setters);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* Extra methods from other binding files join the method table. */
void lg_add_methods(lua_State *L, const lg_Reg *r) {
  luaL_getmetatable(L, LG_TENSOR);
  lua_getfield(L, -1, "__methods");
  lg_setfuncs(L, r);
  lua_pop(L, 2);
  lg_setfuncs(L, r);      /* and into the module table at the top */
}

/* ---- generators ---------------------------------------------------------------- */

glab_rng *lg_default_rng(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LG_RNG_KEY);
  glab_rng *g = lua_touserdata(L, -1);
  lua_pop(L, 1);     /* the registry keeps it alive */
  return g;
}

glab_rng *lg_optrng(lua_State *L, int i) {
  if (!lua_istable(L, i)) return lg_default_rng(L);
  lua_getfield(L, i, "generator");
  glab_rng *g = NULL;
  if (!lua_isnil(L, -1)) {
    g = luaL_testudata(L, -1, LG_GENERATOR);
    if (!g) luaL_error(L, "option 'generator': expected a Generator, got %s", luaL_typename(L, -1));
  }
  lua_pop(L, 1);     /* the options table keeps it alive */
  return g ? g : lg_default_rng(L);
}

/* ---- named arrays ---------------------------------------------------------------- */

int lg_named_arrays(lua_State *L, const char ***names, const glab_tensor ***ts) {
  int list = lua_gettop(L), n = (int)lua_rawlen(L, list);
  *names = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof **names, 0);
  *ts = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof **ts, 0);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, list, i + 1);
    lua_rawgeti(L, -1, 1);
    (*names)[i] = lua_tostring(L, -1);
    lua_rawgeti(L, -2, 2);
    (*ts)[i] = lg_check(L, -1);
    lua_pop(L, 3);
  }
  return n;
}
