/*
** lautograd.c -- differentiation from Lua: x.requires_grad, x.grad,
** x:backward(), x:detach(), and the grad-mode scopes genlab.no_grad and
** genlab.enable_grad.
*/
#include "laux.h"

/* ---- fields ------------------------------------------------------------------ */

static int p_requires_grad(lua_State *L) {
  lua_pushboolean(L, glab_var_requires_grad(LV(lg_check(L, 1))));
  return 1;
}

/* x.grad: the accumulated gradient (a tensor sharing it), or nil. */
static int p_grad(lua_State *L) {
  const glab_tensor *g = glab_var_grad(LV(lg_check(L, 1)));
  if (!g || !g->storage) return 0;
  glab_tensor_share(lg_push(L), g);
  return 1;
}

static int p_is_leaf(lua_State *L) {
  lua_pushboolean(L, glab_var_is_leaf(LV(lg_check(L, 1))));
  return 1;
}

static int p_grad_fn(lua_State *L) {
  const char *name = glab_var_grad_fn(LV(lg_check(L, 1)));
  if (!name) return 0;
  lua_pushstring(L, name);
  return 1;
}

static int s_grad(lua_State *L) {
  glab_var *v = LV(lg_check(L, 1));
  glab_tensor *g = lua_isnil(L, 2) ? NULL : lg_check(L, 2);
  lg_try(L, glab_var_set_grad(v, g));
  return 0;
}

static int s_requires_grad(lua_State *L) {
  luaL_checktype(L, 2, LUA_TBOOLEAN);
  lg_try(L, glab_var_set_requires_grad(LV(lg_check(L, 1)), lua_toboolean(L, 2)));
  return 0;
}

/* ---- methods ------------------------------------------------------------------ */

static int a_requires_grad_(lua_State *L) {
  glab_var *v = LV(lg_check(L, 1));
  int on = lua_isnoneornil(L, 2) ? 1 : lua_toboolean(L, 2);
  lg_try(L, glab_var_set_requires_grad(v, on));
  lua_settop(L, 1);
  return 1;
}

/* x:backward([gradient], [{retain_graph = false}]): the gradient, when
** given, is a Tensor (as in PyTorch); a table in its place is the options. */
static int a_backward(lua_State *L) {
  glab_var *v = LV(lg_check(L, 1));
  int opts = lua_istable(L, 2) ? 2 : 3;
  glab_tensor *g = NULL;
  if (opts == 3 && !lua_isnoneornil(L, 2) && !(g = lg_test(L, 2)))
    luaL_error(L, "backward: the gradient must be a Tensor of x's shape, got a %s; call "
               "x:backward(), x:backward(gradient), x:backward(gradient, {retain_graph = true}) "
               "or x:backward{retain_graph = true}", luaL_typename(L, 2));
  if (g && !g->storage) luaL_argerror(L, 2, "tensor has been closed");
  lg_checkopts(L, opts, OPTS("retain_graph"));
  int retain = lg_optbool(L, opts, "retain_graph", 0);
  lg_try(L, glab_backward(v, g, retain));
  return 0;
}

static int a_detach(lua_State *L) {
  glab_var *v = LV(lg_check(L, 1));
  glab_var_detach(lg_pushv(L), v);
  return 1;
}

/* x:zero_grad(): drop the accumulated gradient (the next backward starts
** from zero). */
static int a_zero_grad(lua_State *L) {
  glab_var *v = LV(lg_check(L, 1));
  if (glab_var_grad(v)) lg_try(L, glab_var_set_grad(v, NULL));
  return 0;
}

/* ---- grad mode ------------------------------------------------------------------ */

/* Call the function at 1 with the arguments after it, grad mode set to on;
** restore the mode whatever happens, then return its results or re-raise. */
static int with_grad_mode(lua_State *L, int on) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  int old = glab_grad_set_enabled(on);
  int st = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  glab_grad_set_enabled(old);
  if (st != LUA_OK) return lua_error(L);
  return lua_gettop(L);
}

static int m_no_grad(lua_State *L) { return with_grad_mode(L, 0); }
static int m_enable_grad(lua_State *L) { return with_grad_mode(L, 1); }

static int m_set_grad_enabled(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  lua_pushboolean(L, glab_grad_set_enabled(lua_toboolean(L, 1)));
  return 1;
}

static int m_is_grad_enabled(lua_State *L) {
  lua_pushboolean(L, glab_grad_enabled());
  return 1;
}

static const lg_Reg properties[] = {
  {"requires_grad", p_requires_grad,
   "x.requires_grad -> boolean\n"
   "Whether operations on x are recorded for backward(). Assign it on a leaf\n"
   "(x.requires_grad = true), or use x:requires_grad_()."},
  {"grad", p_grad,
   "x.grad -> Tensor | nil\n"
   "The gradient that backward() accumulated into the leaf x (nil before the first).\n"
   "x.grad = nil drops it; x.grad = g replaces it (same shape and dtype)."},
  {"is_leaf", p_is_leaf,
   "x.is_leaf -> boolean\n"
   "True unless x was computed by a recorded operation."},
  {"grad_fn", p_grad_fn,
   "x.grad_fn -> string | nil\n"
   "The name of the recorded operation that made x (\"matmul\", \"tanh\", ...)."},
  {NULL, NULL, NULL}
};

static const lg_Reg setters[] = {
  {"grad", s_grad, NULL},
  {"requires_grad", s_requires_grad, NULL},
  {NULL, NULL, NULL}
};

static const lg_Reg methods[] = {
  {"requires_grad_", a_requires_grad_,
   "x:requires_grad_([on=true]) -> x\n"
   "Make the leaf x record the operations on it, so backward() fills x.grad."},
  {"backward", a_backward,
   "x:backward([gradient], [{retain_graph=false}])\n"
   "Accumulate d(x)/d(leaf) into the .grad of every leaf that requires grad and reaches x.\n"
   "A one-element x needs no gradient; otherwise pass a Tensor of x's shape. The graph's saved\n"
   "tensors are freed unless retain_graph is true."},
  {"detach", a_detach,
   "x:detach() -> Tensor\n"
   "The same tensor (shared storage) cut from the graph: a constant."},
  {"zero_grad", a_zero_grad, "x:zero_grad()\nDrop x's accumulated gradient, as x.grad = nil."},
  {NULL, NULL, NULL}
};

static const lg_Reg functions[] = {
  {"no_grad", m_no_grad,
   "no_grad(f, ...) -> f(...)\n"
   "Call f with recording turned off (parameter updates, evaluation), restoring the mode after."},
  {"enable_grad", m_enable_grad,
   "enable_grad(f, ...) -> f(...)\n"
   "Call f with recording turned on, restoring the mode after."},
  {"set_grad_enabled", m_set_grad_enabled,
   "set_grad_enabled(on) -> previous\n"
   "Turn recording of operations on or off globally; returns the old setting."},
  {"is_grad_enabled", m_is_grad_enabled,
   "is_grad_enabled() -> boolean\n"
   "Whether operations are recorded for backward()."},
  {NULL, NULL, NULL}
};

void lg_open_autograd(lua_State *L) {
  glab_autograd_set_where(lg_where);
  lg_add_properties(L, properties, setters);
  lg_add_methods(L, methods);
  lg_setfuncs(L, functions);
}
