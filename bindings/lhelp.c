/*
** lhelp.c -- help(f) and genlab.doc(f): the docstrings that every binding
** registers with lg_setfuncs.  bindings/API.md is generated from the same
** strings (bindings/gendoc.lua), so the two cannot drift apart.
*/
#include <stdio.h>
#include <string.h>

#include "laux.h"

/* Push the doc of the value at i, or nil. */
static int push_doc(lua_State *L, int i) {
  i = lua_absindex(L, i);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, "genlab.docs");
  lua_pushvalue(L, i);
  lua_rawget(L, -2);
  lua_remove(L, -2);
  return !lua_isnil(L, -1);
}

/* A name looked up in the module, then linalg, then the Tensor methods. */
/* A dotted name ("linalg.eigh", "genlab.nn.Linear") walked from the
** module, pushed (nil when a step is missing). */
static void push_dotted(lua_State *L, const char *name) {
  if (strncmp(name, "genlab.", 7) == 0) name += 7;
  lua_getfield(L, LUA_REGISTRYINDEX, "genlab.module");
  for (const char *dot; lua_istable(L, -1) && (dot = strchr(name, '.')) != NULL; name = dot + 1) {
    lua_pushlstring(L, name, (size_t)(dot - name));
    lua_gettable(L, -2);
    lua_remove(L, -2);
  }
  if (lua_istable(L, -1)) lua_getfield(L, -1, name);
  else lua_pushnil(L);
  lua_remove(L, -2);
}

static int find_by_name(lua_State *L, const char *name) {
  if (strchr(name, '.')) {
    push_dotted(L, name);
    if (!lua_isnil(L, -1)) return 1;
    lua_pop(L, 1);
  }
  lua_getfield(L, LUA_REGISTRYINDEX, "genlab.module");
  lua_getfield(L, -1, name);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_getfield(L, -1, "linalg");
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
  }
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    luaL_getmetatable(L, LG_TENSOR);
    lua_getfield(L, -1, "__methods");
    lua_getfield(L, -1, name);
    lua_replace(L, -3);
    lua_pop(L, 1);
  }
  lua_remove(L, -2);
  return !lua_isnil(L, -1);
}

static void print_summary_line(lua_State *L, const char *key) {
  const char *doc = lua_tostring(L, -1);
  const char *nl = doc ? strchr(doc, '\n') : NULL;
  int len = doc ? (nl ? (int)(nl - doc) : (int)strlen(doc)) : 0;
  printf("  %-18s %.*s\n", key, len, doc ? doc : "");
}

/* The entries of the table at i with their signatures, sorted by name. */
static void list_table(lua_State *L, int i) {
  i = lua_absindex(L, i);
  lua_newtable(L);
  int names = lua_gettop(L), n = 0;
  lua_pushnil(L);
  while (lua_next(L, i)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING && lua_tostring(L, -1)[0] != '_') {
      lua_pushvalue(L, -1);
      lua_rawseti(L, names, ++n);
    }
  }
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_pushvalue(L, names);
  lua_call(L, 1, 0);
  lua_pop(L, 1);
  for (int k = 1; k <= n; k++) {
    lua_rawgeti(L, names, k);
    const char *key = lua_tostring(L, -1);
    lua_gettable(L, i);
    if (lua_istable(L, -1)) {
      printf("  %-18s (table: help(%s))\n", key, key);
    } else if (push_doc(L, -1)) {
      print_summary_line(L, key);
      lua_pop(L, 1);
    } else {
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

static int h_help(lua_State *L) {
  if (lua_isnoneornil(L, 1)) {
    printf("genlab: tensors, linear algebra and generative models for Lua.\n"
           "help(f) shows the doc of a function; help(\"name\") looks a name up;\n"
           "help(linalg) lists a table. Tensor methods: help(\"sum\"), or x:<TAB> in the REPL.\n"
           "\n");
    lua_getfield(L, LUA_REGISTRYINDEX, "genlab.module");
    list_table(L, -1);
    return 0;
  }
  if (lua_type(L, 1) == LUA_TSTRING && !find_by_name(L, lua_tostring(L, 1))) {
    printf("no genlab function or method named '%s'\n", lua_tostring(L, 1));
    return 0;
  }
  int has = push_doc(L, lua_type(L, 1) == LUA_TSTRING ? -1 : 1);
  if (has) printf("%s\n", lua_tostring(L, -1));
  lua_pop(L, 1);
  int target = lua_type(L, 1) == LUA_TSTRING ? lua_gettop(L) : 1;
  if (lua_istable(L, target)) {
    list_table(L, target);
  } else if (!has) {
    printf("no documentation for this %s\n", luaL_typename(L, target));
  }
  return 0;
}

static int h_doc(lua_State *L) {
  luaL_checkany(L, 1);
  push_doc(L, 1);
  return 1;
}

/* _doc(value, text): register a docstring for a Lua-defined function. */
static int m_doc(lua_State *L) {
  luaL_checkany(L, 1);
  lg_setdoc(L, 1, luaL_checkstring(L, 2));
  return 0;
}


static const lg_Reg functions[] = {
  {"help", h_help,
   "help([f | \"name\"])\n"
   "Print the docstring of a genlab function, method or table (all of genlab when empty)."},
  {"_doc", m_doc,
   "_doc(value, text)\n"
   "Register text as value's docstring for help() (the Lua-written parts use it)."},
  {"doc", h_doc, "doc(f) -> string | nil\nThe docstring of f, for use in code."},
  {NULL, NULL, NULL}
};

void lg_open_help(lua_State *L) {
  lg_setfuncs(L, functions);
}
