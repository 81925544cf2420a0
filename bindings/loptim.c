/*
** loptim.c -- genlab.optim's update kernels (core/autograd/optim.h), in place
** on a parameter and its state.  The optimizer classes (SGD, Adam) are Lua,
** in bindings/genlab/optim.lua.
*/
#include "../core/autograd/optim.h"
#include "laux.h"

/* _sgd_step(p, g, buf|nil, first, lr, momentum, dampening, weight_decay, nesterov) */
static int o_sgd_step(lua_State *L) {
  glab_tensor *p = lg_check(L, 1), *g = lg_check(L, 2);
  glab_tensor *buf = lua_isnil(L, 3) ? NULL : lg_check(L, 3);
  int first = lua_toboolean(L, 4);
  glab_sgd_opts o = {luaL_checknumber(L, 5), luaL_checknumber(L, 6), luaL_checknumber(L, 7),
                     luaL_checknumber(L, 8), lua_toboolean(L, 9)};
  lg_try(L, glab_optim_sgd(p, g, buf, first, &o));
  return 0;
}

/* _adam_step(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay) */
static int o_adam_step(lua_State *L) {
  glab_tensor *p = lg_check(L, 1), *g = lg_check(L, 2), *m = lg_check(L, 3), *v = lg_check(L, 4);
  lua_Integer t = luaL_checkinteger(L, 5);
  glab_adam_opts o = {luaL_checknumber(L, 6), luaL_checknumber(L, 7), luaL_checknumber(L, 8),
                      luaL_checknumber(L, 9), luaL_checknumber(L, 10)};
  lg_try(L, glab_optim_adam(p, g, m, v, (int64_t)t, &o));
  return 0;
}

static const lg_Reg functions[] = {
  {"_sgd_step", o_sgd_step,
   "optim._sgd_step(p, g, buf, first, lr, momentum, dampening, weight_decay, nesterov)\n"
   "The SGD update kernel behind optim.SGD (in place on p and buf)."},
  {"_adam_step", o_adam_step,
   "optim._adam_step(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay)\n"
   "The Adam update kernel behind optim.Adam (in place on p, m and v)."},
  {NULL, NULL, NULL}
};

void lg_open_optim(lua_State *L) {
  lg_setfuncs(L, functions);
}
