/*
** lnn.c -- genlab.nn's functional layers and losses (core/autograd/nn.h):
** linear, convolutions, pooling, the LSTM layer, the mixture density and the
** losses, each differentiable.  The module classes around them (Linear,
** Conv2d, Sequential, ...) are Lua, in bindings/genlab/nn.lua.
*/
#include <string.h>

#include "../core/autograd/nn.h"
#include "laux.h"

/* The value at index i, an integer or an {h, w} pair, into v[2] (deflt when
** nil); what names it in the message. */
static void pair_value(lua_State *L, int i, const char *what, int *v, int deflt) {
  int t = lua_type(L, i);
  v[0] = v[1] = deflt;
  if (t == LUA_TNUMBER) {
    v[0] = v[1] = (int)luaL_checkinteger(L, i);
  } else if (t == LUA_TTABLE) {
    for (int d = 0; d < 2; d++) {
      lua_rawgeti(L, i, d + 1);
      if (!lua_isinteger(L, -1)) luaL_error(L, "%s must be an integer or {h, w}", what);
      v[d] = (int)lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
  } else if (t != LUA_TNIL && t != LUA_TNONE) {
    luaL_error(L, "%s must be an integer or {h, w}, got %s", what, luaL_typename(L, i));
  }
}

/* Option key of the table at opts (which may be nil) through pair_value. */
static void pair_opt(lua_State *L, int opts, const char *key, int *v, int deflt) {
  if (lua_isnoneornil(L, opts)) { v[0] = v[1] = deflt; return; }
  lua_getfield(L, opts, key);
  int at = lua_gettop(L);                 /* before the message is pushed */
  pair_value(L, at, lua_pushfstring(L, "option %s", key), v, deflt);
  lua_pop(L, 2);
}

static glab_var *optvar(lua_State *L, int i) {
  return lua_isnoneornil(L, i) ? NULL : LV(lg_check(L, i));
}

static glab_reduction checkreduction(lua_State *L, int i) {
  static const char *const names[] = {"mean", "sum", "none", NULL};
  return (glab_reduction)luaL_checkoption(L, i, "mean", names);
}

/* ---- layers ------------------------------------------------------------------- */

/* The option activation = "relu" | "sigmoid" | "tanh" of the table at i, if any. */
static glab_act act_opt(lua_State *L, int i, const char *fn) {
  static const char *const names[] = {"relu", "sigmoid", "tanh", NULL};
  if (!lua_istable(L, i)) return GLAB_ACT_NONE;
  int t = lua_getfield(L, i, "activation");
  const char *a = t == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  lua_pop(L, 1);
  if (t == LUA_TNIL) return GLAB_ACT_NONE;
  for (int k = 0; a && names[k]; k++)
    if (!strcmp(a, names[k])) return (glab_act)(k + 1);
  return (glab_act)luaL_error(L, "%s: activation must be \"relu\", \"sigmoid\" or \"tanh\", "
                              "got %s", fn, a ? a : lua_typename(L, t));
}

static int f_linear(lua_State *L) {
  glab_var *x = LV(lg_check(L, 1)), *w = LV(lg_check(L, 2)), *b = optvar(L, 3);
  lg_checkopts(L, 4, OPTS("activation"));
  glab_act act = act_opt(L, 4, "linear");
  lg_try(L, glab_nn_linear(lg_pushv(L), x, w, b, act));
  return 1;
}

static int f_gmm_log_density(lua_State *L) {
  glab_var *x = LV(lg_check(L, 1)), *w = LV(lg_check(L, 2)), *mu = LV(lg_check(L, 3)),
           *A = LV(lg_check(L, 4));
  double eps = luaL_optnumber(L, 5, 1e-4);
  lg_try(L, glab_nn_gmm_log_density(lg_pushv(L), x, w, mu, A, eps));
  return 1;
}

static int conv(lua_State *L, int transposed) {
  glab_var *x = LV(lg_check(L, 1)), *w = LV(lg_check(L, 2)), *b = optvar(L, 3);
  glab_conv_opts o = {0};
  lg_checkopts(L, 4, transposed ? OPTS("stride", "padding", "output_padding", "activation")
                                 : OPTS("stride", "padding", "activation", "pool"));
  o.act = act_opt(L, 4, transposed ? "conv_transpose2d" : "conv2d");
  if (!transposed && lua_istable(L, 4)) {
    lua_getfield(L, 4, "pool");
    o.pool = (int)luaL_optinteger(L, -1, 0);
    lua_pop(L, 1);
  }
  pair_opt(L, 4, "stride", o.stride, 1);
  pair_opt(L, 4, "padding", o.padding, 0);
  pair_opt(L, 4, "output_padding", o.output_padding, 0);
  glab_var *out = lg_pushv(L);
  lg_try(L, transposed ? glab_nn_conv_transpose2d(out, x, w, b, &o)
                       : glab_nn_conv2d(out, x, w, b, &o));
  return 1;
}

static int f_conv2d(lua_State *L) { return conv(L, 0); }
static int f_conv_transpose2d(lua_State *L) { return conv(L, 1); }

static int f_max_pool2d(lua_State *L) {
  glab_var *x = LV(lg_check(L, 1));
  int k[2], st[2];
  pair_value(L, 2, "kernel", k, 0);
  pair_value(L, lua_isnoneornil(L, 3) ? 2 : 3, "stride", st, 0);
  lg_try(L, glab_nn_max_pool2d(lg_pushv(L), x, k, st));
  return 1;
}

static int f_lstm(lua_State *L) {
  glab_var *in[7];
  for (int i = 0; i < 5; i++) in[i] = LV(lg_check(L, i + 1));
  in[5] = optvar(L, 6);
  in[6] = optvar(L, 7);
  glab_var *y = lg_pushv(L), *h = lg_pushv(L), *c = lg_pushv(L);
  lg_try(L, glab_nn_lstm(y, h, c, in[0], in[1], in[2], in[3], in[4], in[5], in[6]));
  return 3;
}

/* ---- losses ---------------------------------------------------------------------- */

static int f_mse_loss(lua_State *L) {
  glab_reduction r = checkreduction(L, 3);      /* before lg_totensor pushes */
  glab_var *x = LV(lg_check(L, 1)), *y = LV(lg_totensor(L, 2, lg_check(L, 1)->dtype));
  lg_try(L, glab_nn_mse_loss(lg_pushv(L), x, y, r));
  return 1;
}

static int f_bce_with_logits(lua_State *L) {
  glab_reduction r = checkreduction(L, 3);
  glab_var *z = LV(lg_check(L, 1)), *y = LV(lg_totensor(L, 2, lg_check(L, 1)->dtype));
  lg_try(L, glab_nn_bce_with_logits(lg_pushv(L), z, y, r));
  return 1;
}

static int f_cross_entropy(lua_State *L) {
  glab_var *z = LV(lg_check(L, 1));
  glab_reduction r = checkreduction(L, 3);
  glab_tensor *t = lg_index_arg(L, 2);
  lg_try(L, glab_nn_cross_entropy(lg_pushv(L), z, t, r));
  return 1;
}

static int f_gaussian_kl(lua_State *L) {
  lg_try(L, glab_nn_gaussian_kl(lg_pushv(L), LV(lg_check(L, 1)), LV(lg_check(L, 2))));
  return 1;
}

static int f_reparameterize(lua_State *L) {
  glab_var *m = LV(lg_check(L, 1)), *lv = LV(lg_check(L, 2)), *eps = LV(lg_check(L, 3));
  lg_try(L, glab_nn_reparameterize(lg_pushv(L), m, lv, eps));
  return 1;
}

static const lg_Reg nn_functions[] = {
  {"linear", f_linear,
   "nn.linear(x, w, [b], [{activation=}]) -> Tensor\n"
   "x W^T + b for x (..., in), W (out, in), b (out): one GEMM, differentiable.\n"
   "activation = \"relu\", \"sigmoid\" or \"tanh\" applies it to the output in the same pass\n"
   "(the values and gradients of x:relu() etc. after the layer, one tensor less)."},
  {"conv2d", f_conv2d,
   "nn.conv2d(x, w, [b], [{stride=1, padding=0, activation=, pool=}]) -> Tensor\n"
   "2-d convolution (cross-correlation, as PyTorch) of x (N, C, H, W) with w (O, C, kh, kw);\n"
   "stride and padding are integers or {h, w}; activation as for nn.linear, applied to each\n"
   "image's output (bias included) while it is in cache; pool = p (2 or more) then takes the\n"
   "p x p maxima with stride p (nn.max_pool2d(relu(...), p): relu or no activation) in the same\n"
   "pass, the full-size output never stored. Stride 1 runs as shifted plane sums,\n"
   "other strides im2col + GEMM, image by image. Differentiable."},
  {"conv_transpose2d", f_conv_transpose2d,
   "nn.conv_transpose2d(x, w, [b], [{stride=1, padding=0, output_padding=0, activation=}])\n"
   "  -> Tensor\n"
   "Transposed convolution of x (N, Cin, H, W) with w (Cin, Cout, kh, kw): the output is\n"
   "(N, Cout, (H-1) stride - 2 padding + kh + output_padding, ...); activation as for\n"
   "nn.conv2d. Differentiable."},
  {"max_pool2d", f_max_pool2d,
   "nn.max_pool2d(x, kernel, [stride=kernel]) -> Tensor\n"
   "Maximum over windows of x (N, C, H, W); kernel and stride are integers or {h, w}.\n"
   "Differentiable."},
  {"lstm", f_lstm,
   "nn.lstm(x, h0, c0, w_ih, w_hh, [b_ih], [b_hh]) -> y, hT, cT\n"
   "One LSTM layer over a sequence, batch first: x (B, T, I), states (B, H), weights (4H, I) and\n"
   "(4H, H), gates in PyTorch's order i, f, g, o. y (B, T, H) holds every hidden state.\n"
   "Differentiable."},
  {"mse_loss", f_mse_loss,
   "nn.mse_loss(x, y, [reduction=\"mean\"]) -> Tensor\n"
   "(x - y)^2 averaged (\"mean\"), summed (\"sum\") or elementwise (\"none\").\n"
   "Differentiable."},
  {"gaussian_kl", f_gaussian_kl,
   "nn.gaussian_kl(mean, logvar) -> Tensor\n"
   "KL(N(mean, diag(exp(logvar))) || N(0, I)) of each row, -1/2 sum_j (1 + logvar_j - mean_j^2 -\n"
   "exp(logvar_j)), for mean and logvar (..., nz) -> (...). One op with its closed-form gradient,\n"
   "giving the bits of that expression written out in tensor operations. Differentiable."},
  {"reparameterize", f_reparameterize,
   "nn.reparameterize(mean, logvar, eps) -> Tensor\n"
   "z = mean + exp(logvar / 2) eps for three tensors of one shape (eps ~ N(0, I) drawn by the\n"
   "caller): a sample of N(mean, diag(exp(logvar))) through which gradients reach mean and logvar.\n"
   "One op, giving the bits of that expression in tensor operations. Differentiable."},
  {"gmm_log_density", f_gmm_log_density,
   "nn.gmm_log_density(x, logits, means, A, [eps=1e-4]) -> Tensor\n"
   "log q(x_n) (B) for the rows of x (B, d) under the "
   "Gaussian mixture with weights softmax(logits)\n"
   "(K), means (K, d) and covariances A_k A_k^T + eps I (A: (K, d, d)), as one differentiable op\n"
   "with a closed-form gradient: each component's "
   "factor, whitening and gradient run on one thread,\n"
   "the components side by side. The same function as composing cholesky, solve_triangular and\n"
   "logsumexp, in a fraction of the time and memory."},
  {"binary_cross_entropy_with_logits", f_bce_with_logits,
   "nn.binary_cross_entropy_with_logits(z, y, [reduction=\"mean\"]) -> Tensor\n"
   "Binary cross-entropy of targets y in [0, 1] given "
   "logits z, as max(z,0) - z y + log(1 + e^-|z|):\n"
   "stable for any z.\n"
   "Differentiable."},
  {"cross_entropy", f_cross_entropy,
   "nn.cross_entropy(z, target, [reduction=\"mean\"]) -> Tensor\n"
   "logsumexp(z_i) - z_i[target_i] for logits z (N, C) and 1-based class indices target (N).\n"
   "Differentiable."},
  {NULL, NULL, NULL}
};

void lg_open_nn(lua_State *L) {
  lg_setfuncs(L, nn_functions);
}
