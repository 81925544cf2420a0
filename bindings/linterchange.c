/*
** linterchange.c -- the Python ecosystem's files: data.read_pickle,
** data.read_npz / write_npz, and genlab.save_pt / load_pt.
**
** A pickle comes back from the core as a graph of nodes (pickle.h); here it
** becomes Lua values.  A node met twice becomes the same Lua value (the
** memo's sharing, and cycles, survive), tensors share the storage the core
** read them into, and Python's None, which Lua tables cannot hold, is the
** sentinel data.None.
*/
#include <stdlib.h>
#include <string.h>

#include "../core/data/io.h"
#include "../core/data/pickle.h"
#include "../core/data/pt.h"
#include "laux.h"

#define LG_PICKLE "genlab.Pickle"
#define LG_NONE "genlab.None"
#define MAX_DEPTH 200

/* ---- None ------------------------------------------------------------------------ */

static int none_tostring(lua_State *L) {
  lua_pushliteral(L, "None");
  return 1;
}

/* ---- the node graph as Lua values ------------------------------------------------- */

/* The C graph lives in a userdata while it is converted, so a Lua error
** (too deep, out of memory) cannot leak it. */
static int pickle_gc(lua_State *L) {
  glab_pickle_free(luaL_checkudata(L, 1, LG_PICKLE));
  return 0;
}

static glab_pickle *new_pickle(lua_State *L) {
  glab_pickle *pk = lua_newuserdatauv(L, sizeof *pk, 0);
  memset(pk, 0, sizeof *pk);
  if (luaL_newmetatable(L, LG_PICKLE)) {
    lua_pushcfunction(L, pickle_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return pk;
}

typedef struct conv {
  glab_pickle *pk;
  int cache;                    /* stack index: node index -> Lua value */
  const char *what;             /* "read_pickle: path" */
} conv;

static void push_node(lua_State *L, conv *c, int32_t i, int depth);

static void push_items(lua_State *L, conv *c, const glab_py *v, int depth) {
  for (int32_t k = 0; k < v->n; k++) {
    push_node(L, c, v->kids[k], depth + 1);
    lua_rawseti(L, -2, k + 1);
  }
}

/* Whether dict v has, before pair k, a str key and a bytes key of the same
** bytes as key k's (one Lua string: the second would overwrite the first). */
static int str_bytes_clash(const conv *c, const glab_py *v, int32_t k) {
  const glab_py *key = &c->pk->v[v->kids[k]];
  if (key->kind != GLAB_PY_STR && key->kind != GLAB_PY_BYTES) return 0;
  const void *kb = key->kind == GLAB_PY_STR ? (const void *)key->u.s : glab_py_bytes(c->pk, key);
  for (int32_t j = 0; j < k; j += 2) {
    const glab_py *o = &c->pk->v[v->kids[j]];
    if ((o->kind == GLAB_PY_STR || o->kind == GLAB_PY_BYTES) && o->kind != key->kind &&
        o->len == key->len &&
        memcmp(o->kind == GLAB_PY_STR ? (const void *)o->u.s : glab_py_bytes(c->pk, o), kb, key->len) == 0)
      return 1;
  }
  return 0;
}

static void push_dict(lua_State *L, conv *c, const glab_py *v, int depth) {
  for (int32_t k = 0; k + 1 < v->n; k += 2) {
    push_node(L, c, v->kids[k], depth + 1);
    if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) != lua_tonumber(L, -1))
      luaL_error(L, "%s: a dict key is NaN, which a Lua table cannot hold", c->what);
    if (lua_type(L, -1) == LUA_TSTRING) {
      lua_pushvalue(L, -1);
      if (lua_rawget(L, -3) != LUA_TNIL && str_bytes_clash(c, v, k))
        luaL_error(L, "%s: a dict has the keys '%s' and b'%s', which are one Lua string", c->what,
                   lua_tostring(L, -2), lua_tostring(L, -2));
      lua_pop(L, 1);
    }
    push_node(L, c, v->kids[k + 1], depth + 1);
    lua_rawset(L, -3);
  }
}

static void push_object(lua_State *L, conv *c, const glab_py *v, int depth) {
  static const char *const slot[GLAB_OBJ_SLOTS] = {NULL, "args", "state", "items", "dictitems"};
  const glab_py *cls = &c->pk->v[v->kids[GLAB_OBJ_CLASS]];
  lua_pushstring(L, cls->kind == GLAB_PY_GLOBAL ? cls->u.s : "?");
  lua_setfield(L, -2, "__class");
  for (int k = GLAB_OBJ_ARGS; k < GLAB_OBJ_SLOTS; k++)
    if (v->kids[k] >= 0) {
      push_node(L, c, v->kids[k], depth + 1);
      lua_setfield(L, -2, slot[k]);
    }
}

/* Node i as a Lua value, pushed; containers and tensors are made once. */
static void push_node(lua_State *L, conv *c, int32_t i, int depth) {
  const glab_py *v = &c->pk->v[i];
  switch (v->kind) {
  case GLAB_PY_NONE: luaL_getmetafield(L, c->cache, "none"); return;
  case GLAB_PY_BOOL: lua_pushboolean(L, (int)v->u.i); return;
  case GLAB_PY_INT: lua_pushinteger(L, (lua_Integer)v->u.i); return;
  case GLAB_PY_FLOAT: lua_pushnumber(L, v->u.f); return;
  case GLAB_PY_STR: lua_pushlstring(L, v->u.s, v->len); return;
  case GLAB_PY_BYTES: lua_pushlstring(L, (const char *)glab_py_bytes(c->pk, v), v->len); return;
  case GLAB_PY_DTYPE: lua_pushstring(L, glab_elem_name((glab_elem)v->code)); return;
  case GLAB_PY_NDARRAY: luaL_error(L, "%s: an ndarray without its data", c->what); return;
  }
  if (lua_rawgeti(L, c->cache, i + 1) != LUA_TNIL) return;
  lua_pop(L, 1);
  if (depth > MAX_DEPTH) luaL_error(L, "%s: values nested deeper than %d levels", c->what, MAX_DEPTH);
  luaL_checkstack(L, 8, "read_pickle: nested too deep");
  if (v->kind == GLAB_PY_TENSOR || v->kind == GLAB_PY_STORAGE) {
    glab_tensor_share(lg_push(L), &c->pk->tensors[v->u.t]);
  } else if (v->kind == GLAB_PY_GLOBAL) {
    lua_createtable(L, 0, 1);
    lua_pushstring(L, v->u.s);
    lua_setfield(L, -2, "__global");
  } else {
    lua_createtable(L, v->kind == GLAB_PY_DICT ? 0 : v->n, v->kind == GLAB_PY_DICT ? v->n / 2 : 0);
  }
  lua_pushvalue(L, -1);
  lua_rawseti(L, c->cache, i + 1);          /* before the children: cycles end here */
  if (v->kind == GLAB_PY_LIST || v->kind == GLAB_PY_TUPLE || v->kind == GLAB_PY_SET) push_items(L, c, v, depth);
  else if (v->kind == GLAB_PY_DICT) push_dict(L, c, v, depth);
  else if (v->kind == GLAB_PY_OBJECT) push_object(L, c, v, depth);
}

/* Convert the graph in the userdata at index ud (what names the file),
** push the result and free the graph. */
static void push_pickle(lua_State *L, int ud, const char *what) {
  conv c = {.pk = lua_touserdata(L, ud), .what = what};
  lua_newtable(L);                          /* the cache, with None in its metatable */
  c.cache = lua_gettop(L);
  lua_createtable(L, 0, 1);
  luaL_getmetatable(L, LG_NONE);
  lua_getfield(L, -1, "__value");
  lua_setfield(L, -3, "none");
  lua_pop(L, 1);
  lua_setmetatable(L, c.cache);
  push_node(L, &c, c.pk->root, 0);
  glab_pickle_free(c.pk);
}

static int d_read_pickle(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lg_checkopts(L, 2, OPTS("objects"));
  glab_pickle_opts o = {.objects = lg_optbool(L, 2, "objects", 0)};
  lua_settop(L, 2);
  glab_pickle *pk = new_pickle(L);          /* 3 */
  glab_reader r;
  glab_status s = glab_reader_file(&r, path, "read_pickle");
  if (s == GLAB_OK) s = glab_pickle_load(pk, &r, &o);
  glab_reader_close(&r);
  lg_try(L, s);
  push_pickle(L, 3, lua_pushfstring(L, "read_pickle: %s", path));
  return 1;
}

static int l_load_pt(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lg_checkopts(L, 2, OPTS("objects"));
  int objects = lg_optbool(L, 2, "objects", 0);
  lua_settop(L, 2);
  glab_pickle *pk = new_pickle(L);
  lg_try(L, glab_pt_load(pk, path, objects));
  push_pickle(L, 3, lua_pushfstring(L, "load_pt: %s", path));
  return 1;
}

/* ---- named tensors out -------------------------------------------------------------- */

/* "fc.10.weight" after "fc.9.weight": digit runs compare as numbers. */
static int natural_less(const char *a, const char *b) {
  while (*a && *b) {
    if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
      char *ea, *eb;
      unsigned long long x = strtoull(a, &ea, 10), y = strtoull(b, &eb, 10);
      if (x != y) return x < y;
      a = ea;
      b = eb;
    } else if (*a != *b) {
      return (unsigned char)*a < (unsigned char)*b;
    } else {
      a++;
      b++;
    }
  }
  return *a == '\0' && *b != '\0';
}

static int by_name(lua_State *L) {
  lua_rawgeti(L, 1, 1);
  lua_rawgeti(L, 2, 1);
  lua_pushboolean(L, natural_less(lua_tostring(L, -2), lua_tostring(L, -1)));
  return 1;
}

/* Entry i of what named_parameter_list() returned (at index list) must be a
** {name, tensor} pair whose name the table at index seen has not met. */
static void check_pair(lua_State *L, int list, int seen, lua_Integer i, const char *op) {
  const char *where = "named_parameter_list() entry";
  if (lua_rawgeti(L, list, i) != LUA_TTABLE)
    luaL_error(L, "%s: %s %d is a %s; expected a {name, tensor} pair", op, where, (int)i,
               luaL_typename(L, -1));
  if (lua_rawgeti(L, -1, 1) != LUA_TSTRING)
    luaL_error(L, "%s: %s %d: the name (its [1]) is a %s; expected a string", op, where,
               (int)i, luaL_typename(L, -1));
  lua_rawgeti(L, -2, 2);
  glab_tensor *t = lg_test(L, -1);
  if (!t || !t->storage) {
    const char *name = lua_tostring(L, -2);
    luaL_error(L, "%s: %s %d ('%s'): the tensor (its [2]) is %s", op, where, (int)i, name,
               t ? "closed" : lua_pushfstring(L, "a %s", luaL_typename(L, -1)));
  }
  lua_pushvalue(L, -2);
  if (lua_rawget(L, seen) != LUA_TNIL)
    luaL_error(L, "%s: %s %d: the name '%s' is also entry %d", op, where, (int)i,
               lua_tostring(L, -3), (int)lua_tointeger(L, -1));
  lua_pop(L, 1);
  lua_pushvalue(L, -2);
  lua_pushinteger(L, i);
  lua_rawset(L, seen);
  lua_pop(L, 3);
}

/* What named_parameter_list() returned (top) must be a list, 1..n and no
** other key, of {name, tensor} pairs with distinct names: anything else
** would be written as a damaged or silently empty archive. */
static void check_pairs(lua_State *L, const char *op) {
  int list = lua_gettop(L);
  if (!lua_istable(L, list))
    luaL_error(L, "%s: named_parameter_list() returned %s; expected a list of {name, tensor} "
               "pairs", op, lua_isnil(L, list) ? "nil" : lua_pushfstring(L, "a %s", luaL_typename(L, list)));
  lua_Integer n = (lua_Integer)lua_rawlen(L, list);
  lua_pushnil(L);
  while (lua_next(L, list)) {
    lua_pop(L, 1);
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n) {
      const char *q = lua_type(L, -1) == LUA_TSTRING ? "'" : "";
      luaL_error(L, "%s: named_parameter_list() returned a table with the key %s%s%s; expected "
                 "a list of {name, tensor} pairs", op, q, luaL_tolstring(L, -1, NULL), q);
    }
  }
  lua_newtable(L);                          /* name -> entry number */
  for (lua_Integer i = 1; i <= n; i++) check_pair(L, list, list + 1, i, op);
  lua_pop(L, 1);
}

/* The {name, tensor} pairs of the table at index t, pushed as a list: a
** module's named_parameter_list() in its order (checked), else every
** string key in natural order.  op names the caller in errors. */
static void named_list(lua_State *L, int t, const char *op) {
  if (lua_getfield(L, t, "named_parameter_list") == LUA_TFUNCTION) {
    lua_pushvalue(L, t);
    lua_call(L, 1, 1);
    check_pairs(L, op);
    return;
  }
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "%s: keys must be names (strings), got a %s", op, luaL_typename(L, -2));
    if (!lg_test(L, -1))
      luaL_error(L, "%s: entry '%s' is a %s; only tensors are saved (a flat table such as "
                 "m:state_dict())", op, lua_tostring(L, -2), luaL_typename(L, -1));
    lua_createtable(L, 2, 0);
    lua_pushvalue(L, -3);
    lua_rawseti(L, -2, 1);
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -4, (lua_Integer)lua_rawlen(L, -4) + 1);
    lua_pop(L, 1);
  }
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_pushvalue(L, -3);
  lua_pushcfunction(L, by_name);
  lua_call(L, 2, 0);
  lua_pop(L, 1);
}

static int l_save_pt(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  named_list(L, 2, "save_pt");
  const char **names;
  const glab_tensor **ts;
  int n = lg_named_arrays(L, &names, &ts);
  lg_try(L, glab_pt_save(path, n, names, (const glab_tensor *const *)ts));
  return 0;
}

static int d_write_npz(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lg_checkopts(L, 3, OPTS("compress"));
  int deflate = lg_optbool(L, 3, "compress", 0);
  lua_settop(L, 2);
  named_list(L, 2, "write_npz");
  const char **names;
  const glab_tensor **ts;
  int n = lg_named_arrays(L, &names, &ts);
  lg_try(L, glab_npz_write(path, n, names, (const glab_tensor *const *)ts, deflate));
  return 0;
}

static int d_read_npz(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int n;
  char **names;
  glab_tensor *ts;
  lg_try(L, glab_npz_read(path, &n, &names, &ts));
  lua_createtable(L, 0, n);
  for (int i = 0; i < n; i++) {
    glab_tensor *t = lg_push(L);
    *t = ts[i];
    memset(&ts[i], 0, sizeof ts[i]);
    lua_setfield(L, -2, names[i]);
  }
  glab_ckpt_free(n, names, ts);
  return 1;
}

static const lg_Reg data_functions[] = {
  {"read_pickle", d_read_pickle,
   "data.read_pickle(path, [{objects=false}]) -> value\n"
   "A Python pickle (protocols 2 to 5; gzip-compressed too, as "
   "image_cpts.pkl.gz) as Lua values, without running any code: None is\n"
   "data.None, bools, ints (to 2^53) and floats are numbers, str and bytes are strings,\n"
   "list/tuple/set are arrays, dict/OrderedDict are tables (any key type kept), and numpy arrays\n"
   "and torch tensors are Tensors (float32/float64 kept, bool and integers as float64, float16\n"
   "as float32, Fortran order honoured). Shared objects stay shared. Any other class is an error\n"
   "naming it; objects=true returns it as {__class=\"module.Name\", args=, state=, items=}."},
  {"read_npz", d_read_npz,
   "data.read_npz(path) -> {name = Tensor}\n"
   "The arrays of a numpy .npz (np.savez or np.savez_compressed), by name (without .npy).\n"
   "Types as data.read_npy; a member that is not a valid .npy is an error naming it."},
  {"write_npz", d_write_npz,
   "data.write_npz(path, {name = Tensor, ...}, [{compress=false}])\n"
   "Save named tensors as an .npz that numpy.load reads; compress deflates the members\n"
   "(as np.savez_compressed). Written to a new temporary file beside path, synced, then renamed."},
  {NULL, NULL, NULL}
};

static const lg_Reg toplevel[] = {
  {"save_pt", l_save_pt,
   "save_pt(path, state_dict_or_module)\n"
   "Write a PyTorch checkpoint that torch.load reads (weights_only=True too): an OrderedDict\n"
   "of the named tensors, in the module's parameter "
   "order (or by name, digits as numbers), so that\n"
   "model.load_state_dict(torch.load(path), strict=True) accepts it for the module built the same\n"
   "way. Names are PyTorch's: \"0.weight\" (Sequential), \"fc1.bias\", \"weight_ih_l0\". Atomic."},
  {"load_pt", l_load_pt,
   "load_pt(path, [{objects=false}]) -> value\n"
   "What torch.save wrote (the zip format of PyTorch >= 1.6), as data.read_pickle returns values:\n"
   "a state dict is a table of name -> Tensor. Views keep their offsets and strides and share\n"
   "their storage. The legacy format and any storage shorter than its tensors are errors."},
  {NULL, NULL, NULL}
};

void lg_open_pt(lua_State *L) {
  lg_setfuncs(L, toplevel);
}

void lg_open_interchange(lua_State *L) {
  int data = lua_gettop(L);
  luaL_newmetatable(L, LG_NONE);               /* None: one userdata, its metatable's __value */
  lua_pushcfunction(L, none_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, "None");
  lua_setfield(L, -2, "__name");
  lua_newuserdatauv(L, 0, 0);
  lua_pushvalue(L, -2);
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lg_setdoc(L, -1, "data.None\n"
                   "Python's None where a pickle holds it: in a "
                   "list, a tuple or as a dict value, where\n"
                   "Lua's nil would leave a hole. print(data.None) shows None.");
  lua_setfield(L, data, "None");
  lua_setfield(L, -2, "__value");
  lua_pop(L, 1);
  lg_setfuncs(L, data_functions);
}
