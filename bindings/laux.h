/*
** laux.h -- what the binding files share: the Tensor type's checks,
** argument conversions between Lua's 1-based world and the core's 0-based
** one, and registration of functions together with their docstrings.
**
** Ownership rule (after liolib.c): a binding pushes the result userdata
** first, empty, and lets the core fill it; a Lua error raised later can then
** never leak the result.  Messages from the core are passed as arguments,
** never as format strings.
*/
#ifndef LAUX_H
#define LAUX_H

#include <lauxlib.h>
#include <lua.h>

#include "../core/autograd/autograd.h"
#include "../core/tensor/linalg.h"
#include "../core/tensor/ops.h"
#include "../core/tensor/random.h"
#include "../core/tensor/tensor.h"

#define LG_TENSOR "genlab.Tensor"
#define LG_GENERATOR "genlab.Generator"
#define LG_RNG_KEY "genlab.default_rng"   /* registry: the default Generator */

/* A function with its docstring.  The doc's first line is the signature. */
typedef struct lg_Reg {
  const char *name;
  lua_CFunction func;
  const char *doc;
} lg_Reg;

/* Set every function of r into the table at the top of the stack and record
** its doc for help(). */
void lg_setfuncs(lua_State *L, const lg_Reg *r);
/* Record a doc for the value at index i (a table, say). */
void lg_setdoc(lua_State *L, int i, const char *doc);

/* ---- tensors ------------------------------------------------------------- */
glab_tensor *lg_check(lua_State *L, int i);
glab_tensor *lg_test(lua_State *L, int i);           /* NULL if not a tensor */
/* Push a new empty tensor and return it, for the core to fill.  Every
** tensor userdata is a glab_var (its tensor first), so LV() turns any
** tensor that these functions return into the var the autograd ops take. */
glab_tensor *lg_push(lua_State *L);
#define LV(t) ((glab_var *)(t))
#define lg_pushv(L) LV(lg_push(L))
/* Raise "op: in-place change of a tensor that requires grad" when t takes
** part in differentiation and grad mode is on. */
void lg_check_inplace(lua_State *L, const glab_tensor *t, const char *op);
/* "file:line" of the Lua call that records an autograd node (the first
** line outside the library's own Lua files): autograd's where hook. */
void lg_where(char *buf, size_t n);
/* Raise a Lua error with the core's message when s is not GLAB_OK. */
void lg_try(lua_State *L, glab_status s);
/* Argument i as a tensor: a tensor as is; a number or nested table converted
** (the result is pushed on the stack, so it lives while the call lasts). */
glab_tensor *lg_totensor(lua_State *L, int i, glab_dtype dt);
/* A nested table of numbers (or a number) at index i into a new tensor that
** is pushed.  Ragged rows raise an error naming the position. */
glab_tensor *lg_fromtable(lua_State *L, int i, glab_dtype dt);

/* ---- arguments ----------------------------------------------------------- */
glab_dtype lg_default_dtype(lua_State *L);
/* "float32"/"float" or "float64"/"double" at index i. */
glab_dtype lg_checkdtype(lua_State *L, int i);
/* dtype named in opts table at index i ("float32"/"float64"), else deflt. */
glab_dtype lg_optdtype(lua_State *L, int i, glab_dtype deflt);
/* A 1-based (or negative) dim at index i, as the core's 0-based/negative dim. */
int lg_checkdim(lua_State *L, int i, int ndim);
int lg_optdim(lua_State *L, int i, int ndim, int deflt);
/* A size: integers from index first on (stopping at a table with string keys
** or nil), or one table of integers.  Returns ndim. */
int lg_checkshape(lua_State *L, int first, int64_t *shape);
/* Check that the options table at i (nil is fine) holds only the given
** keys; a misspelt option is an error naming it and the known ones. */
void lg_checkopts(lua_State *L, int i, const char *const *keys);
/* The key list of lg_checkopts: OPTS("dtype", "generator"). */
#define OPTS(...) (const char *const[]){__VA_ARGS__, NULL}
/* Boolean/number field of an options table at index i. */
int lg_optbool(lua_State *L, int i, const char *key, int deflt);
double lg_optnum(lua_State *L, int i, const char *key, double deflt);
/* An integer >= 1 (a count, a limit), deflt when absent; anything else (0,
** -1, 2.5, "x") is the error "option 'key': expected a positive integer". */
int64_t lg_optposint(lua_State *L, int i, const char *key, int64_t deflt);
/* Index in names (NULL-ended) of the string option key, deflt when absent;
** any other string is an error that lists the choices. */
int lg_optchoice(lua_State *L, int i, const char *key, const char *const names[], int deflt);
/* Shift the 0-based index tensor idx (already pushed) to 1-based in place;
** returns nret, for `return lg_one_based(L, idx, 2)`. */
int lg_one_based(lua_State *L, glab_tensor *idx, int nret);
/* Argument i (1-based tensor or table of integers) as a 0-based index
** tensor, pushed. */
glab_tensor *lg_index_arg(lua_State *L, int i);

/* ---- generators ------------------------------------------------------------ */
/* Generator in field `generator` of the options table at i, else default. */
glab_rng *lg_optrng(lua_State *L, int i);
glab_rng *lg_default_rng(lua_State *L);

/* ---- the Tensor type ------------------------------------------------------ */
/* Add methods to the Tensor type and to the table at the top (genlab). */
void lg_add_methods(lua_State *L, const lg_Reg *r);
/* Add fields x.name (and setters for x.name = v) to the Tensor type. */
void lg_add_properties(lua_State *L, const lg_Reg *props, const lg_Reg *setters);
/* The {name, tensor} pairs of the list at the top as C arrays (userdata
** pushed on the stack; the list keeps the strings alive); returns their
** count.  save, save_pt and write_npz hand them to the core. */
int lg_named_arrays(lua_State *L, const char ***names, const glab_tensor ***ts);

#endif
