/*
** lgenlab.h -- the openers of genlab's modules, one per bindings/lX.c.
** Each fills the table at the top of the stack (genlab itself, or the
** genlab.X table that luaopen_genlab made for it) and leaves the stack as
** it found it.  lgenlab.c's table says which opener fills which name; no
** binding file includes this header but lgenlab.c and main.c.
*/
#ifndef LGENLAB_H
#define LGENLAB_H

#include <lua.h>

void lg_open_tensor(lua_State *L);       /* ltensor.c: the Tensor type, where */
void lg_open_ops(lua_State *L);          /* lops.c: arithmetic, reductions, cat */
void lg_open_create(lua_State *L);       /* lcreate.c: constructors, Generator */
void lg_open_autograd(lua_State *L);     /* lautograd.c: backward, no_grad */
void lg_open_help(lua_State *L);         /* lhelp.c: help, doc, _doc */
void lg_open_checkpoint(lua_State *L);   /* ldata.c: save, load */
void lg_open_pt(lua_State *L);           /* linterchange.c: save_pt, load_pt */
void lg_open_linalg(lua_State *L);       /* llinalg.c: genlab.linalg */
void lg_open_data(lua_State *L);         /* ldata.c: genlab.data */
void lg_open_interchange(lua_State *L);  /* linterchange.c: pickles, NPZ */
void lg_open_viz(lua_State *L);          /* lviz.c: genlab.viz */
void lg_open_nn(lua_State *L);           /* lnn.c: genlab.nn */
void lg_open_optim(lua_State *L);        /* loptim.c: genlab.optim */
void lg_open_models(lua_State *L);       /* lmodels.c: genlab.models */
void lg_open_notebook(lua_State *L);     /* lnotebook.c: genlab.notebook */
void lg_open_jobs(lua_State *L);         /* ljobs.c: genlab.jobs */

int luaopen_genlab(lua_State *L);

#endif
