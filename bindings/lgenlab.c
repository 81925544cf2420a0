/*
** lgenlab.c -- luaopen_genlab: the `genlab` module, whether loaded by
** require from stock lua5.4 (genlab.so) or embedded in the genlab program.
*/

#include "../core/tensor/parallel.h"
#include "lgenlab.h"
#include "version.h"          /* GENLAB_VERSION, GENLAB_COMMIT: made by the Makefile */

static int m_set_num_threads(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 1) luaL_argerror(L, 1, "need at least 1 thread");
  glab_set_num_threads((int)n);
  return 0;
}

static int m_get_num_threads(lua_State *L) {
  lua_pushinteger(L, glab_get_num_threads());
  return 1;
}

static int m_set_default_dtype(lua_State *L) {
  static const char *const names[] = {"float32", "float64", NULL};
  int k = luaL_checkoption(L, 1, NULL, names);
  lua_pushinteger(L, k == 1 ? GLAB_F64 : GLAB_F32);
  lua_setfield(L, LUA_REGISTRYINDEX, "genlab.default_dtype");
  return 0;
}

static int m_get_default_dtype(lua_State *L) {
  lua_pushstring(L, glab_dtype_name(lg_default_dtype(L)));
  return 1;
}

static int m_time(lua_State *L) {
  lua_pushnumber(L, glab_now());
  return 1;
}

static int m_memory(lua_State *L) {
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, (lua_Integer)glab_live_bytes());
  lua_setfield(L, -2, "live");
  lua_pushinteger(L, (lua_Integer)glab_cached_bytes());
  lua_setfield(L, -2, "cached");
  return 1;
}

static int m_is_tensor(lua_State *L) {
  lua_pushboolean(L, lg_test(L, 1) != NULL);
  return 1;
}

static const lg_Reg functions[] = {
  {"set_num_threads", m_set_num_threads, "set_num_threads(n)\nUpper bound on threads: BLAS's, and those that split a convolution's batch or a mixture's\ncomponents. Small products still run on one thread, where they are faster."},
  {"get_num_threads", m_get_num_threads, "get_num_threads() -> n\nThe thread bound (default: the number of cores)."},
  {"set_default_dtype", m_set_default_dtype, "set_default_dtype(\"float32\" | \"float64\")\nThe dtype of new tensors when none is given (float32 at start)."},
  {"get_default_dtype", m_get_default_dtype, "get_default_dtype() -> string\nThe dtype of new tensors when none is given."},
  {"time", m_time, "time() -> seconds\nA monotonic wall clock for timing (os.clock counts CPU time of all threads)."},
  {"memory", m_memory, "memory() -> {live = bytes, cached = bytes}\nBytes held by live tensors, and freed blocks kept for reuse (at most 1/8 of memory).\nA full garbage collection runs whenever live bytes double, so loops of temporaries stay bounded."},
  {"is_tensor", m_is_tensor, "is_tensor(v) -> boolean\nTrue when v is a genlab Tensor."},
  {NULL, NULL, NULL}
};

int luaopen_genlab(lua_State *L) {
  glab_set_ftz_daz();    /* float32 subnormals make BLAS kernels crawl */
  lua_newtable(L);
  lg_open_tensor(L);
  lg_open_ops(L);
  lg_open_create(L);
  lg_open_linalg(L);
  lg_open_data(L);
  lg_open_viz(L);
  lg_open_autograd(L);
  lg_open_nn(L);
  lg_open_help(L);
  lg_setfuncs(L, functions);
  lua_pushliteral(L, GENLAB_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushliteral(L, GENLAB_COMMIT);
  lua_setfield(L, -2, "commit");
  lg_setdoc(L, -1, "genlab: tensors, linear algebra and generative models for Lua.");
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, "genlab.module");
  return 1;
}
