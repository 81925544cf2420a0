/*
** lmodels.c -- the C kernels under genlab.models (core/models/gmm.h): mixture
** log-densities, the EM M step, k-means steps, p-PCA (core/models/ppca.h) and the
** binary RBM (core/models/rbm.h), and the exact sums over the images of an
** autoregressive CPT model (core/models/autoreg.h).  The classes around them
** (Gaussian, GMM, KMeans, GMM training by SGD, p-PCA, the RBM) are Lua, in
** bindings/genlab/models.lua and models/; genlab.autoreg
** (bindings/genlab/autoreg.lua) calls the CPT kernels.
** None of these kernels records gradients.
*/
#include "../core/models/autoreg.h"
#include "../core/models/epll.h"
#include "../core/models/gmm.h"
#include "../core/models/ppca.h"
#include "../core/models/rbm.h"
#include "laux.h"

static int f_log_prob(lua_State *L) {
  glab_tensor *X = lg_check(L, 1), *lw = lg_check(L, 2), *mu = lg_check(L, 3),
              *ch = lg_check(L, 4);
  lg_try(L, glab_gmm_log_prob(lg_push(L), X, lw, mu, ch));
  return 1;
}

static int f_estep(lua_State *L) {
  glab_tensor *X = lg_check(L, 1), *lw = lg_check(L, 2), *mu = lg_check(L, 3),
              *ch = lg_check(L, 4);
  double loglik = 0;
  lg_try(L, glab_gmm_estep(lg_push(L), &loglik, X, lw, mu, ch));
  lua_pushnumber(L, loglik);
  return 2;
}

static int f_mstep(lua_State *L) {
  glab_tensor *X = lg_check(L, 1), *r = lua_isnil(L, 2) ? NULL : lg_check(L, 2);
  double prior = luaL_optnumber(L, 3, 0.0);
  glab_tensor *lw = lg_push(L), *mu = lg_push(L), *cov = lg_push(L);
  lg_try(L, glab_gmm_mstep(lw, mu, cov, X, r, prior));
  return 3;
}

static int f_score(lua_State *L) {
  glab_tensor *X = lg_check(L, 1), *lw = lg_check(L, 2), *mu = lg_check(L, 3),
              *ch = lg_check(L, 4);
  int want_grad = lua_isnoneornil(L, 5) || lua_toboolean(L, 5);
  glab_tensor *lq = lg_push(L), *g = want_grad ? lg_push(L) : NULL;
  if (!want_grad) {
    lg_try(L, glab_gmm_score(lq, NULL, NULL, X, lw, mu, ch));
    return 1;
  }
  glab_tensor *lab = lg_push(L);
  lg_try(L, glab_gmm_score(lq, g, lab, X, lw, mu, ch));
  return lg_one_based(L, lab, 3);
}

static int f_map_patches(lua_State *L) {
  glab_tensor *Y = lg_check(L, 1), *lw = lg_check(L, 2), *mu = lg_check(L, 3),
              *ch = lg_check(L, 4);
  double s2 = luaL_checknumber(L, 5);
  glab_tensor *out = lg_push(L), *lab = lg_push(L);
  lg_try(L, glab_gmm_map_patches(out, lab, Y, lw, mu, ch, s2));
  return lg_one_based(L, lab, 2);
}

static int f_wiener(lua_State *L) {
  glab_tensor *Y = lg_check(L, 1), *lab = lg_index_arg(L, 2), *lw = lg_check(L, 3),
              *mu = lg_check(L, 4), *ch = lg_check(L, 5);
  double s2 = luaL_checknumber(L, 6);
  lg_try(L, glab_gmm_wiener(lg_push(L), Y, lab, lw, mu, ch, s2));
  return 1;
}

static int f_kmeans_assign(lua_State *L) {
  glab_tensor *X = lg_check(L, 1), *C = lg_check(L, 2);
  glab_tensor *lab = lg_push(L), *dist = lg_push(L);
  lg_try(L, glab_kmeans_assign(lab, dist, X, C));
  return lg_one_based(L, lab, 2);
}

static int f_kmeans_update(lua_State *L) {
  glab_tensor *C = lg_check(L, 1), *X = lg_check(L, 2), *lab = lg_index_arg(L, 3);
  lg_check_inplace(L, C, "models._kmeans_update");
  lg_try(L, glab_kmeans_update(C, lg_push(L), X, lab));
  return 1;
}

static int f_kmeans_init(lua_State *L) {
  glab_tensor *X = lg_check(L, 1);
  lua_Integer K = luaL_checkinteger(L, 2);
  lg_checkopts(L, 3, OPTS("generator"));
  glab_rng *g = lg_optrng(L, 3);
  lg_try(L, glab_kmeans_init(lg_push(L), X, (int64_t)K, g));
  return 1;
}

static int f_ppca_fit(lua_State *L) {
  glab_tensor *X = lg_check(L, 1);
  lua_Integer d = luaL_checkinteger(L, 2);
  glab_tensor *W = lg_push(L), *mu = lg_push(L), *lam = lg_push(L);
  double s2 = 0;
  int64_t rank = 0;
  lg_try(L, glab_ppca_fit(W, mu, lam, &s2, &rank, X, (int64_t)d));
  lua_pushnumber(L, s2);
  lua_pushinteger(L, (lua_Integer)rank);
  return 5;
}

static int f_ppca_log_prob(lua_State *L) {
  glab_tensor *X = lg_check(L, 1), *W = lg_check(L, 2), *mu = lg_check(L, 3), *LM = lg_check(L, 4);
  double s2 = luaL_checknumber(L, 5);
  lg_try(L, glab_ppca_log_prob(lg_push(L), X, W, mu, LM, s2));
  return 1;
}

static int f_ppca_posterior(lua_State *L) {
  glab_tensor *X = lg_check(L, 1), *W = lg_check(L, 2), *mu = lg_check(L, 3), *LM = lg_check(L, 4);
  lg_try(L, glab_ppca_posterior(lg_push(L), X, W, mu, LM));
  return 1;
}

static int f_rbm_free_energy(lua_State *L) {
  glab_tensor *V = lg_check(L, 1), *W = lg_check(L, 2), *b = lg_check(L, 3), *c = lg_check(L, 4);
  lg_try(L, glab_rbm_free_energy(lg_push(L), V, W, b, c));
  return 1;
}

static int f_rbm_gibbs(lua_State *L) {
  glab_tensor *V = lg_check(L, 1), *W = lg_check(L, 3), *b = lg_check(L, 4), *c = lg_check(L, 5);
  lua_Integer k = luaL_checkinteger(L, 2);
  lg_checkopts(L, 6, OPTS("generator"));
  glab_rng *g = lg_optrng(L, 6);
  glab_tensor *Vk = lg_push(L), *PV = lg_push(L);
  lg_try(L, glab_rbm_gibbs(Vk, PV, V, (int64_t)k, W, b, c, g));
  return 2;
}

static int f_rbm_cd_grad(lua_State *L) {
  glab_tensor *V0 = lg_check(L, 1), *Vk = lg_check(L, 2), *W = lg_check(L, 3),
              *b = lg_check(L, 4), *c = lg_check(L, 5);
  glab_tensor *gW = lg_push(L), *gb = lg_push(L), *gc = lg_push(L);
  lg_try(L, glab_rbm_cd_grad(gW, gb, gc, V0, Vk, W, b, c));
  return 3;
}

/* The tensor in field key of the table at i, or NULL when absent. */
static glab_tensor *opt_tensor(lua_State *L, int i, const char *key) {
  lua_getfield(L, i, key);
  glab_tensor *t = lua_isnil(L, -1) ? NULL : lg_check(L, lua_gettop(L));
  lua_pop(L, 1);   /* the options table keeps it alive */
  return t;
}

static int f_rbm_cd_step(lua_State *L) {
  glab_tensor *V0 = lg_check(L, 1), *W = lg_check(L, 2), *b = lg_check(L, 3), *c = lg_check(L, 4);
  luaL_checktype(L, 5, LUA_TTABLE);
  lg_checkopts(L, 5, OPTS("k", "lr", "momentum", "weight_decay", "vW", "vb", "vc", "chain",
                          "samples", "generator"));
  glab_rbm_train o = {(int64_t)lg_optnum(L, 5, "k", 1), lg_optnum(L, 5, "lr", 0.01),
                      lg_optnum(L, 5, "momentum", 0), lg_optnum(L, 5, "weight_decay", 0)};
  glab_tensor *vel[3] = {opt_tensor(L, 5, "vW"), opt_tensor(L, 5, "vb"), opt_tensor(L, 5, "vc")};
  glab_tensor *chain = opt_tensor(L, 5, "chain");
  int samples = lg_optbool(L, 5, "samples", 0);
  glab_rng *g = lg_optrng(L, 5);
  if ((vel[0] || vel[1] || vel[2]) && !(vel[0] && vel[1] && vel[2]))
    return luaL_error(L, "models._rbm_cd_step: give all of vW, vb and vc, or none");
  lg_check_inplace(L, W, "rbm:cd_step");
  lg_check_inplace(L, b, "rbm:cd_step");
  lg_check_inplace(L, c, "rbm:cd_step");
  double recon = 0;
  glab_tensor *Vk = samples ? lg_push(L) : NULL;
  lg_try(L, glab_rbm_cd_step(W, b, c, vel[0] ? vel : NULL, chain, Vk, &recon, V0, &o, g));
  lua_pushnumber(L, recon);
  if (Vk) lua_insert(L, -2);
  return samples ? 2 : 1;
}

static int f_rbm_log_partition(lua_State *L) {
  glab_tensor *W = lg_check(L, 1), *b = lg_check(L, 2), *c = lg_check(L, 3);
  double z = 0;
  lg_try(L, glab_rbm_log_partition(&z, W, b, c));
  lua_pushnumber(L, z);
  return 1;
}

static int f_rbm_ais(lua_State *L) {
  glab_tensor *W = lg_check(L, 1), *b = lg_check(L, 2), *c = lg_check(L, 3), *bA = lg_check(L, 4);
  lua_Integer runs = luaL_checkinteger(L, 5), betas = luaL_checkinteger(L, 6);
  lg_checkopts(L, 7, OPTS("generator"));
  glab_rng *g = lg_optrng(L, 7);
  double z = 0, se = 0;
  glab_tensor *lw = lg_push(L);
  lg_try(L, glab_rbm_ais(&z, &se, lw, W, b, c, bA, (int64_t)runs, (int64_t)betas, g));
  lua_pushnumber(L, z);
  lua_pushnumber(L, se);
  lua_rotate(L, -3, 2);
  return 3;
}

/* The list of CPTs at index i into cpt (the list keeps the tensors alive);
** returns how many. */
static int cpt_list(lua_State *L, int i, const glab_tensor **cpt, const char *op) {
  luaL_checktype(L, i, LUA_TTABLE);
  lua_Integer n = luaL_len(L, i);
  if (n < 1 || n > GLAB_AUTOREG_MAX_PIXELS)
    return luaL_error(L, "%s: %d CPTs: expected 1 to %d", op, (int)n, GLAB_AUTOREG_MAX_PIXELS);
  for (int k = 1; k <= n; k++) {
    lua_rawgeti(L, i, k);
    glab_tensor *t = lg_test(L, -1);
    if (!t || !t->storage) return luaL_error(L, "%s: CPT %d is not a tensor", op, k);
    cpt[k - 1] = t;
    lua_pop(L, 1);
  }
  return (int)n;
}

static int f_autoreg_entropy(lua_State *L) {
  const glab_tensor *cpt[GLAB_AUTOREG_MAX_PIXELS];
  int n = cpt_list(L, 1, cpt, "models._autoreg_entropy");
  glab_autoreg_sums st;
  lg_try(L, glab_autoreg_entropy(&st, cpt, n));
  lua_pushnumber(L, st.entropy);
  lua_pushnumber(L, st.mass);
  lua_pushinteger(L, (lua_Integer)st.support);
  return 3;
}

static int f_autoreg_states(lua_State *L) {
  const glab_tensor *cpt[GLAB_AUTOREG_MAX_PIXELS];
  int n = cpt_list(L, 1, cpt, "models._autoreg_states");
  double min_p = luaL_optnumber(L, 2, 0);
  lua_Integer max = luaL_optinteger(L, 3, 4096);
  glab_tensor *X = lg_push(L), *P = lg_push(L);
  int complete = 0;
  lg_try(L, glab_autoreg_states(X, P, &complete, cpt, n, min_p, (int64_t)max));
  lua_pushboolean(L, complete);
  return 3;
}

static const lg_Reg functions[] = {
  {"_log_prob", f_log_prob,
   "models._log_prob(X, log_weights, means, chol) -> Tensor\n"
   "(N, K) log pi_k + log N(x_n | mu_k, L_k L_k^T) "
   "for X (N, d), log_weights (K), means (K, d) and\n"
   "lower Cholesky factors chol (K, d, d): one triangular "
   "solve per component over blocks of points."},
  {"_estep", f_estep,
   "models._estep(X, log_weights, means, chol) -> resp, loglik\n"
   "The EM E step in one pass over blocks of points: resp (N, K) the responsibilities\n"
   "p(k | x_n), normalised in log space, and loglik the mean log q(x_n) per point."},
  {"_mstep", f_mstep,
   "models._mstep(X, resp | nil, [prior=0]) -> log_weights, means, covs\n"
   "The EM M step from responsibilities resp (N, K): weighted means and covariances\n"
   "(S_k + prior I) / N_k, the MAP step under p(Sigma) "
   "~ exp(-prior/2 tr Sigma^-1); resp nil fits one\n"
   "Gaussian (the MLE, divided by N, when prior is 0)."},
  {"_score", f_score,
   "models._score(X, log_weights, means, chol, [grad=true]) -> logq, grad, labels\n"
   "log q(x_n) (N), its gradient d log q / dx_n = -sum_k r_nk Sigma_k^-1 (x_n - mu_k) (N, d) for\n"
   "the mixture and the most responsible component argmax_k r_nk (N, 1-based); responsibilities\n"
   "below 1e-20 are left out of the sum. grad=false returns logq alone."},
  {"_wiener", f_wiener,
   "models._wiener(Y, labels, log_weights, means, chol_noisy, noise_var) -> X\n"
   "The Wiener filter of component labels[n] (1-based) for each row y of Y:\n"
   "y - noise_var (Sigma_k + noise_var I)^-1 (y - "
   "mu_k); chol_noisy factors Sigma_k + noise_var I."},
  {"_map_patches", f_map_patches,
   "models._map_patches(Y, log_weights, means, chol_noisy, noise_var) -> X, labels\n"
   "EPLL's MAP patch step: for each noisy row y of Y, the component k maximising\n"
   "log pi_k N(y | mu_k, Sigma_k + noise_var I) (1-based labels) and its Wiener estimate\n"
   "y - noise_var (Sigma_k + noise_var I)^-1 (y - "
   "mu_k); chol_noisy factors Sigma_k + noise_var I."},
  {"_kmeans_assign", f_kmeans_assign,
   "models._kmeans_assign(X, centers) -> labels, dist2\n"
   "The nearest of the centres (K, d) to each row of "
   "X (N, d): 1-based labels and squared distances."},
  {"_kmeans_update", f_kmeans_update,
   "models._kmeans_update(centers, X, labels) -> counts\n"
   "Move each centre to the mean of its points (in place); a centre without points stays."},
  {"_kmeans_init", f_kmeans_init,
   "models._kmeans_init(X, K, [{generator=}]) -> centers\n"
   "k-means++ seeding: K rows of X, each drawn in proportion to its squared distance from the\n"
   "centres chosen before it."},
  {"_ppca_fit", f_ppca_fit,
   "models._ppca_fit(X, d) -> W, mean, eigenvalues, sigma2, rank\n"
   "p-PCA's closed-form MLE for the rows of X (N, m): W (m, d), mean (m), the eigenvalues of S\n"
   "(divided by N) descending, sigma2 (the mean of the "
   "m - d smallest) and the numerical rank of S.\n"
   "d <= 0, d >= m or d >= rank is an error."},
  {"_ppca_log_prob", f_ppca_log_prob,
   "models._ppca_log_prob(X, W, mean, LM, sigma2) -> Tensor\n"
   "(N) log N(x_n | mean, W W^T + sigma2 I) by Woodbury and the determinant lemma, LM the lower\n"
   "Cholesky factor of M = W^T W + sigma2 I: one GEMM "
   "and one triangular solve per block of points."},
  {"_ppca_posterior", f_ppca_posterior,
   "models._ppca_posterior(X, W, mean, LM) -> Tensor\n"
   "(N, d) E[z | x_n] = M^-1 W^T (x_n - mean): one GEMM and two triangular solves per block."},
  {"_rbm_free_energy", f_rbm_free_energy,
   "models._rbm_free_energy(V, W, b, c) -> Tensor\n"
   "(N) F(v) = -b^T v - sum_j softplus(c_j + v^T W_:j) for the rows of V (N, nv), W (nv, nh):\n"
   "one GEMM per block of rows, softplus as max(x, 0) + log1p(e^-|x|)."},
  {"_rbm_gibbs", f_rbm_gibbs,
   "models._rbm_gibbs(V0, k, W, b, c, [{generator=}]) -> Vk, PV\n"
   "k block-Gibbs steps (h ~ p(h|v), v ~ p(v|h)) from each row of V0: the last binary states\n"
   "and their means p(v = 1 | h)."},
  {"_rbm_cd_grad", f_rbm_cd_grad,
   "models._rbm_cd_grad(V0, Vk, W, b, c) -> gW, gb, gc\n"
   "The CD direction (V0^T P0 - Vk^T Pk) / B, mean(V0 - Vk), mean(P0 - Pk), P = sigmoid(V W + c):\n"
   "minus the gradient of mean F(V0) - mean F(Vk) at fixed Vk."},
  {"_rbm_cd_step", f_rbm_cd_step,
   "models._rbm_cd_step(V0, W, b, c, {k=1, lr=0.01, momentum=0, weight_decay=0, "
   "vW=, vb=, vc=, chain=, samples=false, generator=}) -> recon, [Vk]\n"
   "One CD-k (or, with chain, persistent CD) update "
   "of W, b, c in place, with velocities vW, vb, vc\n"
   "when momentum > 0; returns the one-step reconstruction error and, with samples=true, after it\n"
   "the negative samples."},
  {"_rbm_log_partition", f_rbm_log_partition,
   "models._rbm_log_partition(W, b, c) -> number\n"
   "log Z summed exactly over the 2^m states of the smaller layer (m <= 24), in log space."},
  {"_rbm_ais", f_rbm_ais,
   "models._rbm_ais(W, b, c, base_biases, runs, betas, [{generator=}]) -> logZ, se, logw\n"
   "Annealed importance sampling of log Z from the base-rate model with visible biases\n"
   "base_biases (Salakhutdinov & Murray 2008): the estimate, its standard error and the runs'\n"
   "log weights."},
  {"_autoreg_entropy", f_autoreg_entropy,
   "models._autoreg_entropy(cpts) -> H, mass, support\n"
   "H(p) = -sum_x p(x) log p(x) in nats over every image x of the CPT model (CPT i holds\n"
   "p(x_i | x_1..x_{i-1}) at flat position 2 "
   "code(x_1..x_{i-1}) + x_i), by a walk over the tree of\n"
   "prefixes in log space on all cores; also sum_x p(x) and the number of images with p(x) > 0.\n"
   "A reached entry outside [0, 1] is an error; prefixes of probability 0 are never read."},
  {"_autoreg_states", f_autoreg_states,
   "models._autoreg_states(cpts, [min_p=0], [max=4096]) -> images, p, complete\n"
   "The images with p(x) >= min_p (and > 0) of the CPT "
   "model, in code order (x_1 most significant):\n"
   "images (K, n) of 0/1 and p (K), float64; complete is false when more than max qualify (the\n"
   "first max are returned)."},
  {NULL, NULL, NULL}
};

void lg_open_models(lua_State *L) {
  lg_setfuncs(L, functions);
}
