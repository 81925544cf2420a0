/*
** lnn.c -- genlab.nn's functional layers and losses, genlab.optim's update
** kernels, and the Lua half of both (bindings/lua/nn.lua, optim.lua:
** module and optimizer classes), compiled into the program as strings.
*/
#include <string.h>

#include "../core/autograd/nn.h"
#include "lgenlab.h"
#include "embedded_lua.h"    /* generated from bindings/lua/ by the Makefile */

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

static int f_linear(lua_State *L) {
  glab_var *x = LV(lg_check(L, 1)), *w = LV(lg_check(L, 2)), *b = optvar(L, 3);
  lg_try(L, glab_nn_linear(lg_pushv(L), x, w, b));
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
  glab_conv_opts o;
  lg_checkopts(L, 4, transposed ? OPTS("stride", "padding", "output_padding")
                                 : OPTS("stride", "padding"));
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

/* ---- optimizer kernels ------------------------------------------------------------- */

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

/* _doc(value, text): register a docstring for a Lua-defined function. */
static int m_doc(lua_State *L) {
  luaL_checkany(L, 1);
  lg_setdoc(L, 1, luaL_checkstring(L, 2));
  return 0;
}

static const lg_Reg nn_functions[] = {
  {"linear", f_linear, "nn.linear(x, w, [b]) -> Tensor\nx W^T + b for x (..., in), W (out, in), b (out): one GEMM, differentiable."},
  {"conv2d", f_conv2d, "nn.conv2d(x, w, [b], [{stride=1, padding=0}]) -> Tensor\n2-d convolution (cross-correlation, as PyTorch) of x (N, C, H, W) with w (O, C, kh, kw);\nstride and padding are integers or {h, w}. im2col + GEMM per image.\nDifferentiable."},
  {"conv_transpose2d", f_conv_transpose2d, "nn.conv_transpose2d(x, w, [b], [{stride=1, padding=0, output_padding=0}]) -> Tensor\nTransposed convolution of x (N, Cin, H, W) with w (Cin, Cout, kh, kw): the output is\n(N, Cout, (H-1) stride - 2 padding + kh + output_padding, ...).\nDifferentiable."},
  {"max_pool2d", f_max_pool2d, "nn.max_pool2d(x, kernel, [stride=kernel]) -> Tensor\nMaximum over windows of x (N, C, H, W); kernel and stride are integers or {h, w}.\nDifferentiable."},
  {"lstm", f_lstm, "nn.lstm(x, h0, c0, w_ih, w_hh, [b_ih], [b_hh]) -> y, hT, cT\nOne LSTM layer over a sequence, batch first: x (B, T, I), states (B, H), weights (4H, I) and\n(4H, H), gates in PyTorch's order i, f, g, o. y (B, T, H) holds every hidden state.\nDifferentiable."},
  {"mse_loss", f_mse_loss, "nn.mse_loss(x, y, [reduction=\"mean\"]) -> Tensor\n(x - y)^2 averaged (\"mean\"), summed (\"sum\") or elementwise (\"none\").\nDifferentiable."},
  {"gmm_log_density", f_gmm_log_density, "nn.gmm_log_density(x, logits, means, A, [eps=1e-4]) -> Tensor\nlog q(x_n) (B) for the rows of x (B, d) under the Gaussian mixture with weights softmax(logits)\n(K), means (K, d) and covariances A_k A_k^T + eps I (A: (K, d, d)), as one differentiable op\nwith a closed-form gradient: each component's factor, whitening and gradient run on one thread,\nthe components side by side. The same function as composing cholesky, solve_triangular and\nlogsumexp, in a fraction of the time and memory."},
  {"binary_cross_entropy_with_logits", f_bce_with_logits, "nn.binary_cross_entropy_with_logits(z, y, [reduction=\"mean\"]) -> Tensor\nBinary cross-entropy of targets y in [0, 1] given logits z, as max(z,0) - z y + log(1 + e^-|z|):\nstable for any z.\nDifferentiable."},
  {"cross_entropy", f_cross_entropy, "nn.cross_entropy(z, target, [reduction=\"mean\"]) -> Tensor\nlogsumexp(z_i) - z_i[target_i] for logits z (N, C) and 1-based class indices target (N).\nDifferentiable."},
  {NULL, NULL, NULL}
};

static const lg_Reg optim_functions[] = {
  {"_sgd_step", o_sgd_step, "optim._sgd_step(p, g, buf, first, lr, momentum, dampening, weight_decay, nesterov)\nThe SGD update kernel behind optim.SGD (in place on p and buf)."},
  {"_adam_step", o_adam_step, "optim._adam_step(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay)\nThe Adam update kernel behind optim.Adam (in place on p, m and v)."},
  {NULL, NULL, NULL}
};

/* genlab[name]: a table of C functions with its doc, then completed by the
** embedded Lua chunk src, run with (genlab, the table) as arguments. */
static void open_lib(lua_State *L, int module, const char *name, const lg_Reg *funcs,
                     const char *doc, const char *src, const char *chunkname) {
  lua_newtable(L);
  lg_setfuncs(L, funcs);
  lg_setdoc(L, -1, doc);
  lua_pushvalue(L, -1);
  lua_setfield(L, module, name);
  if (luaL_loadbufferx(L, src, strlen(src), chunkname, "t") != LUA_OK) lua_error(L);
  lua_pushvalue(L, module);
  lua_pushvalue(L, -3);
  lua_call(L, 2, 0);
  lua_pop(L, 1);
}

/* Run the embedded chunk src with (genlab, genlab[name]): more of a table
** that open_lib made. */
static void extend_lib(lua_State *L, int module, const char *name, const char *src,
                       const char *chunkname) {
  if (luaL_loadbufferx(L, src, strlen(src), chunkname, "t") != LUA_OK) lua_error(L);
  lua_pushvalue(L, module);
  lua_getfield(L, module, name);
  lua_call(L, 2, 0);
}

/* Run the embedded chunk src with the genlab table: functions it adds to it. */
static void run_lib(lua_State *L, int module, const char *src, const char *chunkname) {
  if (luaL_loadbufferx(L, src, strlen(src), chunkname, "t") != LUA_OK) lua_error(L);
  lua_pushvalue(L, module);
  lua_call(L, 1, 0);
}

void lg_open_nn(lua_State *L) {
  int module = lua_gettop(L);
  lua_pushcfunction(L, m_doc);
  lg_setdoc(L, -1, "_doc(value, text)\nRegister text as value's docstring for help() (the Lua-written parts use it).");
  lua_setfield(L, module, "_doc");
  open_lib(L, module, "nn", nn_functions, "genlab.nn: layers (Linear, Conv2d, LSTM, ...), containers and losses; the\nfunctional forms (nn.linear, nn.conv2d, ...) underneath them.", lua_nn, "@bindings/lua/nn.lua");
  open_lib(L, module, "optim", optim_functions, "genlab.optim: SGD and Adam over a list of parameters, as PyTorch's.", lua_optim, "@bindings/lua/optim.lua");
  static const lg_Reg none[] = {{NULL, NULL, NULL}};
  open_lib(L, module, "models", lg_models_functions, "genlab.models: the Gaussian, the Gaussian mixture (EM or SGD) and k-means of PS1 1.1\nand lecture 3; p-PCA and the linear-Gaussian model of seed 002; the binary RBM of seed 004.", lua_models, "@bindings/lua/models.lua");
  extend_lib(L, module, "models", lua_ppca, "@bindings/lua/ppca.lua");
  extend_lib(L, module, "models", lua_rbm, "@bindings/lua/rbm.lua");
  open_lib(L, module, "graphs", none, "genlab.graphs: seed 002 problem 3, classroom friendship graphs: the generator with its ground\ntruth, L(a, b) with its hand-derived gradient and Fisher information over all graphs at once,\ngradient ascent, sampling, and the course's file.", lua_graphs, "@bindings/lua/graphs.lua");
  open_lib(L, module, "autoreg", none, "genlab.autoreg: seed 002 problem 1, 5x5 binary images drawn pixel by pixel: the picture set\nand its exact CPTs, ancestral sampling, the 2-layer LSTM, and the checks (chi-square, entropy).", lua_autoreg, "@bindings/lua/autoreg.lua");
  open_lib(L, module, "vae", none, "genlab.vae: seed 004 problem 4's variational auto-encoders on MNIST, VAE1 (MLP) and VAE2\n(the CNN of Tables 1-2), with the seed's -ELBO (MSE + closed-form KL), sampling and test metrics.", lua_vae, "@bindings/lua/vae.lua");
  open_lib(L, module, "denoise", none, "genlab.denoise: Gaussian noise, PSNR, and denoising with a GMM patch prior: per-patch\nand whole-image gradient descent (PS1 1.2) and EPLL's half-quadratic splitting.", lua_denoise, "@bindings/lua/denoise.lua");
  open_lib(L, module, "json", none, "genlab.json: JSON written with sorted keys (the .ipynb and manifest files) and read by\nlua-cjson.", lua_json, "@bindings/lua/json.lua");
  open_lib(L, module, "handin", none, "genlab.handin: the folder of files a run hands in (out/<script>/ or the notebook's),\nwith manifest.json: configuration, seed, commit, date, sha256 and the metric each was chosen by.", lua_handin, "@bindings/lua/handin.lua");
  open_lib(L, module, "notebook", lg_notebook_functions, "genlab.notebook: literate Lua notebooks (percent cells) run in one state and rendered to a\nself-contained HTML report (cmark, KaTeX) and, by headless Chromium, a PDF.", lua_notebook, "@bindings/lua/notebook.lua");
  extend_lib(L, module, "notebook", lua_ipynb, "@bindings/lua/ipynb.lua");
  run_lib(L, module, lua_repr, "@bindings/lua/repr.lua");
}
