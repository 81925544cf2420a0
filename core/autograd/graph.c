/*
** graph.c -- nodes, leaves, grad mode and the backward engine (see
** autograd.h for the contract and node.h for what an op records).
*/
#include <stdlib.h>
#include <string.h>

#include "node.h"

static int grad_mode = 1;
static glab_where_fn where_fn;

void glab_autograd_set_where(glab_where_fn fn) { where_fn = fn; }

int glab_grad_enabled(void) { return grad_mode; }

int glab_grad_set_enabled(int on) {
  int old = grad_mode;
  grad_mode = on != 0;
  return old;
}

/* ---- nodes -------------------------------------------------------------------- */

glab_status glab_node_new(glab_node **out, const char *name, glab_backward_fn bw,
                          int nin, const glab_var *const *in) {
  *out = NULL;
  if (!grad_mode) return GLAB_OK;
  int any = 0;
  for (int i = 0; i < nin; i++) any |= in[i] && in[i]->node;
  if (!any) return GLAB_OK;
  glab_node *n = calloc(1, sizeof *n);
  if (!n) return glab_fail(GLAB_ENOMEM, "%s: cannot allocate a graph node", name);
  n->name = name;
  n->backward = bw;
  n->refs = 1;
  n->nin = nin;
  if (where_fn) where_fn(n->where, sizeof n->where);
  for (int i = 0; i < nin; i++) {
    if (!in[i] || !in[i]->node) continue;
    n->in[i] = in[i]->node;
    n->in_out[i] = in[i]->out;
    n->in[i]->refs++;
  }
  *out = n;
  return GLAB_OK;
}

void glab_node_save(glab_node *n, int slot, const glab_tensor *t) {
  glab_tensor_free(&n->saved[slot]);
  glab_tensor_share(&n->saved[slot], t);
  n->saved_version[slot] = t->storage ? t->storage->version : 0;
}

void glab_node_save_meta(glab_node *n, int slot, const glab_tensor *t) {
  glab_tensor meta = *t;       /* t may be saved[slot] itself */
  meta.storage = NULL;
  glab_tensor_free(&n->saved[slot]);
  n->saved[slot] = meta;
}

/* A rule must not read a saved tensor that was written since it was saved:
** its gradient would silently be that of other numbers. */
static glab_status check_saved(const glab_node *n) {
  for (int i = 0; i < GLAB_NODE_MAXSAVED; i++) {
    const glab_storage *st = n->saved[i].storage;
    if (st && st->version != n->saved_version[i])
      return glab_fail(GLAB_EARG, "backward: a tensor saved by %s%s%s was modified in place "
                       "(version %llu, now %llu); compute it anew, or clone() it before "
                       "changing it", n->name, n->where[0] ? " at " : "", n->where,
                       (unsigned long long)n->saved_version[i], (unsigned long long)st->version);
  }
  return GLAB_OK;
}

void glab_node_output(glab_node *n, glab_var *out, int k) {
  if (k > 0) n->refs++;
  if (k >= n->nout) n->nout = k + 1;
  out->node = n;
  out->out = k;
  n->ondim[k] = out->t.ndim;
  memcpy(n->oshape[k], out->t.shape, sizeof n->oshape[k]);
  n->odtype[k] = out->t.dtype;
}

glab_status glab_node_record(glab_node **pn, glab_var *out, const char *name,
                             glab_backward_fn bw, int nin, const glab_var *const *in,
                             const glab_tensor *s0, const glab_tensor *s1,
                             const glab_tensor *s2) {
  glab_node *n;
  glab_status s = glab_node_new(&n, name, bw, nin, in);
  if (pn) *pn = n;
  if (s != GLAB_OK || !n) return s;
  if (s0) glab_node_save(n, 0, s0);
  if (s1) glab_node_save(n, 1, s1);
  if (s2) glab_node_save(n, 2, s2);
  glab_node_output(n, out, 0);
  return GLAB_OK;
}

static void release_saved(glab_node *n) {
  for (int i = 0; i < GLAB_NODE_MAXSAVED; i++) glab_tensor_free(&n->saved[i]);
  n->released = 1;
}

/* A growable stack of nodes, for the iterative walks below: a chain of a
** million recorded ops must not overflow the C stack. */
typedef struct stack {
  glab_node **v;
  size_t n, cap;
} stack;

static int push(stack *s, glab_node *n) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 64;
    glab_node **v = realloc(s->v, cap * sizeof *v);
    if (!v) return 0;
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n++] = n;
  return 1;
}

static void free_one(glab_node *n) {
  release_saved(n);
  for (int k = 0; k < GLAB_NODE_MAXOUT; k++) glab_tensor_free(&n->grad[k]);
  free(n);
}

void glab_node_unref(glab_node *n) {
  if (!n || --n->refs > 0) return;
  stack todo = {0};
  glab_node *cur = n;
  for (;;) {
    for (int i = 0; i < cur->nin; i++) {
      glab_node *k = cur->in[i];
      /* when the stack cannot grow, the rest is freed recursively: leaking
      ** would be worse, and depth is then the graph's, as it was built */
      if (k && --k->refs == 0 && !push(&todo, k)) { k->refs = 1; glab_node_unref(k); }
    }
    free_one(cur);
    if (todo.n == 0) break;
    cur = todo.v[--todo.n];
  }
  free(todo.v);
}

/* ---- vars ---------------------------------------------------------------------- */

void glab_var_free(glab_var *v) {
  glab_tensor_free(&v->t);
  glab_node_unref(v->node);
  v->node = NULL;
  v->out = 0;
}

int glab_var_requires_grad(const glab_var *v) { return v->node != NULL; }

int glab_var_is_leaf(const glab_var *v) { return !v->node || !v->node->backward; }

const char *glab_var_grad_fn(const glab_var *v) {
  return v->node && v->node->backward ? v->node->name : NULL;
}

glab_status glab_var_set_requires_grad(glab_var *v, int on) {
  if (!glab_var_is_leaf(v))
    return glab_fail(GLAB_EARG, "requires_grad: only a leaf can be switched; this tensor "
                     "comes from %s (use detach() to get a leaf)", v->node->name);
  if (!on) {
    glab_node_unref(v->node);
    v->node = NULL;
    return GLAB_OK;
  }
  if (v->node) return GLAB_OK;
  glab_node *n = calloc(1, sizeof *n);
  if (!n) return glab_fail(GLAB_ENOMEM, "requires_grad: cannot allocate a graph node");
  n->name = "leaf";
  n->refs = 1;
  glab_node_output(n, v, 0);
  return GLAB_OK;
}

const glab_tensor *glab_var_grad(const glab_var *v) {
  return v->node && !v->node->backward ? &v->node->grad[0] : NULL;
}

glab_status glab_var_set_grad(glab_var *v, const glab_tensor *g) {
  if (!v->node || v->node->backward)
    return glab_fail(GLAB_EARG, "grad: only a leaf that requires grad has a gradient");
  glab_tensor *acc = &v->node->grad[0];
  glab_tensor_free(acc);
  if (!g) return GLAB_OK;
  char a[96], b[96];
  if (g->ndim != v->t.ndim || memcmp(g->shape, v->t.shape, (size_t)g->ndim * sizeof *g->shape)
      || g->dtype != v->t.dtype)
    return glab_fail(GLAB_ESHAPE, "grad: a %s (%s) gradient for a %s (%s) tensor",
                     glab_dtype_name(g->dtype), glab_shape_str(a, sizeof a, g->ndim, g->shape),
                     glab_dtype_name(v->t.dtype),
                     glab_shape_str(b, sizeof b, v->t.ndim, v->t.shape));
  glab_tensor_share(acc, g);
  return GLAB_OK;
}

void glab_var_share(glab_var *out, const glab_var *v) {
  glab_tensor_share(&out->t, &v->t);
  out->node = v->node;
  out->out = v->out;
  if (v->node) v->node->refs++;
}

void glab_var_detach(glab_var *out, const glab_var *v) {
  glab_tensor_share(&out->t, &v->t);
  out->node = NULL;
  out->out = 0;
}

/* ---- gradient arithmetic ---------------------------------------------------------- */

glab_status glab_sum_to(glab_tensor *out, const glab_tensor *g, int ndim,
                        const int64_t *shape) {
  glab_tensor cur = GLAB_TENSOR_EMPTY, next = GLAB_TENSOR_EMPTY;
  glab_tensor_share(&cur, g);
  glab_status s = GLAB_OK;
  while (s == GLAB_OK && cur.ndim > ndim) {            /* dims broadcasting added */
    s = glab_reduce(&next, GLAB_SUM, &cur, 0, 0, 0);
    glab_tensor_move(&cur, &next);
  }
  for (int d = 0; s == GLAB_OK && d < ndim; d++)       /* dims it stretched */
    if (shape[d] == 1 && cur.shape[d] != 1) {
      s = glab_reduce(&next, GLAB_SUM, &cur, d, 1, 0);
      glab_tensor_move(&cur, &next);
    }
  if (s != GLAB_OK) { glab_tensor_free(&cur); return s; }
  glab_tensor_move(out, &cur);
  return GLAB_OK;
}

/* Add g into the gradient acc, and free g.  An empty acc takes g as it is
** when g is contiguous and, unless take_shared, no one else holds its
** storage; an acc whose storage someone else shares is replaced by a sum
** rather than written, so that no other gradient changes. */
static glab_status add_into(glab_tensor *acc, glab_tensor *g, int take_shared) {
  glab_tensor tmp = GLAB_TENSOR_EMPTY;
  glab_status s = GLAB_OK;
  if (!acc->storage) {
    if (glab_tensor_is_contiguous(g) && (take_shared || g->storage->refs == 1))
      glab_tensor_move(acc, g);
    else s = glab_tensor_clone(acc, g);
  } else if (acc->storage->refs == 1) {
    s = glab_binary(acc, GLAB_ADD, acc, g);
  } else if ((s = glab_binary(&tmp, GLAB_ADD, acc, g)) == GLAB_OK) {
    glab_tensor_move(acc, &tmp);
  }
  glab_tensor_free(g);
  return s;
}

/* A leaf sums a pass's gradients in this slot, apart from its .grad (slot
** 0), which takes the sum only once the whole pass has succeeded: a pass
** that fails half-way leaves every .grad as it was. */
#define LEAF_PASS 1

/* Add g into node n's gradient for output k (a leaf's: into this pass's sum). */
static glab_status accumulate(glab_node *n, int k, glab_tensor *g) {
  glab_tensor tmp = GLAB_TENSOR_EMPTY;
  glab_status s;
  char a[96], b[96];
  if (g->ndim != n->ondim[k] ||
      memcmp(g->shape, n->oshape[k], (size_t)g->ndim * sizeof *g->shape))
    return glab_fail(GLAB_ESHAPE, "backward: %s gave a (%s) gradient for a (%s) value",
                     n->name, glab_shape_str(a, sizeof a, g->ndim, g->shape),
                     glab_shape_str(b, sizeof b, n->ondim[k], n->oshape[k]));
  if (g->dtype != n->odtype[k]) {
    if ((s = glab_tensor_astype(&tmp, g, n->odtype[k])) != GLAB_OK) return s;
    glab_tensor_move(g, &tmp);
  }
  return add_into(&n->grad[n->backward ? k : LEAF_PASS], g, 1);
}

/* ---- the backward pass ----------------------------------------------------------------- */

static unsigned pass_mark;

/* Every node reachable from root, each once, with pending = the number of
** edges that reach it from other reachable nodes. */
static glab_status collect(stack *all, glab_node *root) {
  stack todo = {0};
  pass_mark++;
  root->mark = pass_mark;
  root->pending = 0;
  int ok = push(&todo, root) && push(all, root);
  while (ok && todo.n) {
    glab_node *n = todo.v[--todo.n];
    for (int i = 0; ok && i < n->nin; i++) {
      glab_node *k = n->in[i];
      if (!k) continue;
      if (k->mark != pass_mark) {
        k->mark = pass_mark;
        k->pending = 0;
        ok = push(&todo, k) && push(all, k);
      }
      k->pending++;
    }
  }
  free(todo.v);
  return ok ? GLAB_OK : glab_fail(GLAB_ENOMEM, "backward: cannot allocate its work list");
}

/* Zeros for outputs that received no gradient, so that a many-output rule
** sees every slot filled. */
static glab_status fill_missing(glab_node *n) {
  for (int k = 0; k < n->nout; k++)
    if (!n->grad[k].storage) {
      glab_status s = glab_tensor_full(&n->grad[k], n->odtype[k], n->ondim[k],
                                       n->oshape[k], 0.0);
      if (s != GLAB_OK) return s;
    }
  return GLAB_OK;
}

/* Run n's rule and pass the gradients to its inputs; ready collects inputs
** whose consumers are all done. */
static glab_status step(glab_node *n, stack *ready, int retain) {
  glab_tensor gin[GLAB_NODE_MAXIN];
  glab_status s = GLAB_OK;
  int any = 0;
  memset(gin, 0, sizeof gin);
  for (int k = 0; k < n->nout; k++) any |= n->grad[k].storage != NULL;
  if (any && n->released)
    return glab_fail(GLAB_EARG, "backward: a second pass through %s, whose saved tensors "
                     "the first pass freed (pass retain_graph = true to the first)", n->name);
  if (any && (s = check_saved(n)) == GLAB_OK && (s = fill_missing(n)) == GLAB_OK)
    s = n->backward(n, gin);
  for (int k = 0; k < GLAB_NODE_MAXOUT; k++) glab_tensor_free(&n->grad[k]);
  if (!retain && any) release_saved(n);
  for (int i = 0; i < n->nin; i++) {
    glab_node *k = n->in[i];
    if (!k) { glab_tensor_free(&gin[i]); continue; }
    if (s == GLAB_OK && gin[i].storage) s = accumulate(k, n->in_out[i], &gin[i]);
    glab_tensor_free(&gin[i]);
    if (--k->pending == 0 && k->backward && !push(ready, k) && s == GLAB_OK)
      s = glab_fail(GLAB_ENOMEM, "backward: cannot allocate its work list");
  }
  return s;
}

glab_status glab_backward(const glab_var *root, const glab_tensor *gout, int retain) {
  char sh[96];
  if (!root->node)
    return glab_fail(GLAB_EARG, "backward: the tensor does not require grad (no recorded "
                     "operation or leaf reaches it)");
  glab_tensor seed = GLAB_TENSOR_EMPTY;
  glab_status s;
  if (gout && (gout->ndim != root->t.ndim ||
               memcmp(gout->shape, root->t.shape, (size_t)gout->ndim * sizeof *gout->shape))) {
    char gs[96];
    return glab_fail(GLAB_ESHAPE, "backward: a (%s) gradient for a (%s) tensor; it takes "
                     "the tensor's own shape",
                     glab_shape_str(gs, sizeof gs, gout->ndim, gout->shape),
                     glab_shape_str(sh, sizeof sh, root->t.ndim, root->t.shape));
  }
  if (gout) s = glab_tensor_clone(&seed, gout);
  else if (glab_tensor_numel(&root->t) != 1)
    return glab_fail(GLAB_ESHAPE, "backward: a (%s) tensor needs a gradient argument; only "
                     "a one-element result has the implicit gradient 1",
                     glab_shape_str(sh, sizeof sh, root->t.ndim, root->t.shape));
  else s = glab_tensor_full(&seed, root->t.dtype, root->t.ndim, root->t.shape, 1.0);
  if (s != GLAB_OK) return s;

  glab_node *top = root->node;
  stack all = {0}, ready = {0};
  if ((s = collect(&all, top)) == GLAB_OK) s = accumulate(top, root->out, &seed);
  glab_tensor_free(&seed);
  if (s == GLAB_OK && top->backward && !push(&ready, top))
    s = glab_fail(GLAB_ENOMEM, "backward: cannot allocate its work list");
  while (s == GLAB_OK && ready.n) s = step(ready.v[--ready.n], &ready, retain);
  /* the leaves' sums go into their .grad (a leaf's .grad is always its own
  ** storage, since users and optimizers update it), or, after a failure,
  ** nowhere: no half-summed gradient may linger in the graph */
  for (size_t i = 0; i < all.n; i++) {
    glab_node *n = all.v[i];
    n->pending = 0;
    if (n->backward)
      for (int k = 0; k < GLAB_NODE_MAXOUT; k++) glab_tensor_free(&n->grad[k]);
    else if (s == GLAB_OK && n->grad[LEAF_PASS].storage)
      s = add_into(&n->grad[0], &n->grad[LEAF_PASS], 0);
    else
      glab_tensor_free(&n->grad[LEAF_PASS]);
  }
  free(all.v);
  free(ready.v);
  return s;
}
