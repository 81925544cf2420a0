/*
** lgenlab.c -- luaopen_genlab: the `genlab` module, whether loaded by
** require from stock lua5.4 (genlab.so) or embedded in the genlab program.
**
** In the spirit of Lua's linit.c, one table says where every genlab.X comes
** from: the C opener that fills it (bindings/lX.c) and the Lua file that
** completes it (bindings/genlab/X.lua, compiled in as a string by embed.sh).
*/
#include <string.h>

#include "../core/tensor/parallel.h"
#include "embedded_lua.h"     /* lua_X: bindings/genlab/X.lua, made by the Makefile */
#include "laux.h"
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
  {"set_num_threads", m_set_num_threads,
   "set_num_threads(n)\n"
   "Upper bound on threads: those that share out a matrix product (a block of its rows or columns\n"
   "each, with the same result as one thread), a convolution's batch or a mixture's components, and\n"
   "BLAS's own in the linear algebra. Small products still run on one thread, where they are faster."},
  {"get_num_threads", m_get_num_threads,
   "get_num_threads() -> n\n"
   "The thread bound (default: the number of cores)."},
  {"set_default_dtype", m_set_default_dtype,
   "set_default_dtype(\"float32\" | \"float64\")\n"
   "The dtype of new tensors when none is given (float32 at start)."},
  {"get_default_dtype", m_get_default_dtype,
   "get_default_dtype() -> string\n"
   "The dtype of new tensors when none is given."},
  {"time", m_time,
   "time() -> seconds\n"
   "A monotonic wall clock for timing (os.clock counts CPU time of all threads)."},
  {"memory", m_memory,
   "memory() -> {live = bytes, cached = bytes}\n"
   "Bytes held by live tensors, and freed blocks kept for reuse (at most 1/8 of memory).\n"
   "A full garbage collection runs whenever live bytes "
   "double, so loops of temporaries stay bounded."},
  {"is_tensor", m_is_tensor, "is_tensor(v) -> boolean\nTrue when v is a genlab Tensor."},
  {NULL, NULL, NULL}
};


/* genlab.name (NULL: genlab itself), in the order they are opened.  open
** fills the table; then lua, if any, runs as the chunk `source` with the
** arguments (genlab, the table).  A name that appears again extends its
** table; the first entry for a name gives its doc. */
typedef struct Module {
  const char *name;
  void (*open)(lua_State *L);
  const char *lua, *source;
  const char *doc;
} Module;

#define LUA(path) lua_##path, "@bindings/genlab/" #path ".lua"
#define LUA_IN(dir, file) lua_##dir##_##file, "@bindings/genlab/" #dir "/" #file ".lua"

static const Module modules[] = {
  {NULL, lg_open_tensor, NULL, NULL, NULL},
  {NULL, lg_open_ops, NULL, NULL, NULL},
  {NULL, lg_open_create, NULL, NULL, NULL},
  {NULL, lg_open_autograd, NULL, NULL, NULL},
  {NULL, lg_open_help, NULL, NULL, NULL},
  {NULL, lg_open_checkpoint, NULL, NULL, NULL},
  {NULL, lg_open_pt, NULL, NULL, NULL},
  {"_lib", NULL, LUA(_lib),
   "genlab._lib: what the Lua half of the library shares: class, doc, raise (an error\n"
   "reported at the user's line), try, options and shape_str."},
  {"linalg", lg_open_linalg, NULL, NULL,
   "genlab.linalg: dense linear algebra on matrices and batches of them (LAPACK)."},
  {"data", lg_open_data, NULL, NULL,
   "genlab.data: file formats (IDX, NPY, NPZ, pickles, images), the course data sets, "
   "patches, minibatches."},
  {"data", lg_open_interchange, NULL, NULL, NULL},
  {"viz", lg_open_viz, NULL, NULL,
   "genlab.viz: figures drawn live in windows, or as PNGs without a display.\n"
   "Keys in a window: space pauses and resumes, n runs one step while paused, + and - redraw\n"
   "more or less often, s saves a PNG, q closes. Mouse: "
   "fig:on(\"hover\"|\"click\"|\"drag\"|\"release\"|\n"
   "\"wheel\"|\"key\", fn) with the panel and data coordinates (or tile, pixel, value) under it;\n"
   "fig:slider, fig:button and fig:key add controls in a strip under the panels. On an image\n"
   "panel the wheel zooms (whole pixels), a drag pans, 0 shows it whole again (fig:view)."},
  {"nn", lg_open_nn, LUA(nn),
   "genlab.nn: layers (Linear, Conv2d, LSTM, ...), containers and losses; the\n"
   "functional forms (nn.linear, nn.conv2d, ...) underneath them."},
  {"optim", lg_open_optim, LUA(optim),
   "genlab.optim: SGD and Adam over a list of parameters, as PyTorch's."},
  {"models", lg_open_models, LUA(models),
   "genlab.models: the Gaussian, the Gaussian mixture (EM or SGD) and k-means of PS1 1.1\n"
   "and lecture 3; p-PCA and the linear-Gaussian model of seed 002; the binary RBM of seed 004."},
  {"models", NULL, LUA_IN(models, ppca), NULL},
  {"models", NULL, LUA_IN(models, rbm), NULL},
  {"graphs", NULL, LUA(graphs),
   "genlab.graphs: seed 002 problem 3, classroom friendship graphs: the generator with its ground\n"
   "truth, L(a, b) with its hand-derived gradient and Fisher information over all graphs at once,\n"
   "gradient ascent, sampling, and the course's file."},
  {"autoreg", NULL, LUA(autoreg),
   "genlab.autoreg: seed 002 problem 1, 5x5 binary images drawn pixel by pixel: the picture set\n"
   "and its exact CPTs, ancestral sampling, the 2-layer "
   "LSTM, and the checks (chi-square, entropy)."},
  {"vae", NULL, LUA(vae),
   "genlab.vae: seed 004 problem 4's variational auto-encoders on MNIST, VAE1 (MLP) and VAE2\n"
   "(the CNN of Tables 1-2), with the seed's -ELBO (MSE + closed-form KL), sampling and test "
   "metrics."},
  {"denoise", NULL, LUA(denoise),
   "genlab.denoise: Gaussian noise, PSNR, and denoising with a GMM patch prior: per-patch\n"
   "and whole-image gradient descent (PS1 1.2) and EPLL's half-quadratic splitting."},
  {"json", NULL, LUA(json),
   "genlab.json: JSON written with sorted keys (the .ipynb and manifest files) and read by\n"
   "lua-cjson."},
  {"handin", NULL, LUA(handin),
   "genlab.handin: the folder of files a run hands in (out/<script>/ or the notebook's),\n"
   "with manifest.json: configuration, seed, commit, date, sha256 and the metric each "
   "was chosen by."},
  {"notebook", lg_open_notebook, LUA(notebook),
   "genlab.notebook: literate Lua notebooks (percent cells) run in one state and rendered to a\n"
   "self-contained HTML report (cmark, KaTeX) and, by headless Chromium, a PDF."},
  {"notebook", NULL, LUA_IN(notebook, ipynb), NULL},
  {"jobs", lg_open_jobs, LUA(jobs),
   "genlab.jobs: independent tasks (the models of a sweep) run side by side in genlab processes,\n"
   "each on its share of the cores, with messages and results passed back as Lua values."},
  {NULL, NULL, LUA(repr), NULL},
};

/* Push genlab[m->name] (made, with its doc, on first sight), or genlab. */
static void push_module(lua_State *L, int genlab, const Module *m) {
  if (m->name == NULL) {
    lua_pushvalue(L, genlab);
    return;
  }
  if (lua_getfield(L, genlab, m->name) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_newtable(L);
  if (m->doc) lg_setdoc(L, -1, m->doc);
  lua_pushvalue(L, -1);
  lua_setfield(L, genlab, m->name);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);   /* require "genlab.X" */
  lua_pushfstring(L, "genlab.%s", m->name);
  lua_pushvalue(L, -3);
  lua_settable(L, -3);
  lua_pop(L, 1);
}

static void open_modules(lua_State *L, int genlab) {
  for (size_t i = 0; i < sizeof modules / sizeof *modules; i++) {
    const Module *m = &modules[i];
    push_module(L, genlab, m);
    if (m->open) m->open(L);
    if (m->lua) {
      if (luaL_loadbufferx(L, m->lua, strlen(m->lua), m->source, "t") != LUA_OK) lua_error(L);
      lua_pushvalue(L, genlab);
      lua_pushvalue(L, -3);
      lua_call(L, 2, 0);
    }
    lua_pop(L, 1);
  }
  lua_getfield(L, genlab, "viz");          /* genlab.plot: viz's first name */
  lua_setfield(L, genlab, "plot");
}

int luaopen_genlab(lua_State *L) {
  glab_set_ftz_daz();    /* float32 subnormals make BLAS kernels crawl */
  lua_newtable(L);
  int genlab = lua_gettop(L);
  lua_pushvalue(L, genlab);               /* the Lua files find it by require */
  lua_setfield(L, LUA_REGISTRYINDEX, "genlab.module");
  lg_setfuncs(L, functions);
  lua_pushliteral(L, GENLAB_VERSION);
  lua_setfield(L, genlab, "version");
  lua_pushliteral(L, GENLAB_COMMIT);
  lua_setfield(L, genlab, "commit");
  lg_setdoc(L, genlab, "genlab: tensors, linear algebra and generative models for Lua.");
  open_modules(L, genlab);
  return 1;
}
