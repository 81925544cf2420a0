/*
** node.h -- what an operation records for its backward rule (internal to
** core/autograd: the graph, the ops and the nn layers).
**
** An op computes its result first, then asks glab_node_new for a node: it
** gets NULL when grad mode is off or no input needs grad, and records
** nothing.  The node keeps edges to its inputs' nodes, the tensors the rule
** needs (saved[]) and small parameters (arg[], iarg[]).  Its backward reads
** the output gradients in grad[] and writes the gradient of input i into
** gin[i] (left empty: no contribution; ignored where in[i] is NULL).  Every
** gradient has its input's shape and dtype; the engine checks this.
**
**     glab_node *n;
**     s = glab_node_record(&n, out, "tanh", unary_backward, 1, &a, &a->t,
**                          &out->t, NULL);
**     if (n) n->iarg[0] = GLAB_TANH;     // parameters for the rule
*/
#ifndef GLAB_NODE_H
#define GLAB_NODE_H

#include "autograd.h"

#define GLAB_NODE_MAXIN 8
#define GLAB_NODE_MAXOUT 3
#define GLAB_NODE_MAXSAVED 8

typedef glab_status (*glab_backward_fn)(glab_node *n, glab_tensor *gin);

struct glab_node {
  const char *name;
  glab_backward_fn backward;          /* NULL for a leaf's accumulator */
  long refs;
  int nin, nout;
  glab_node *in[GLAB_NODE_MAXIN];     /* producer of input i, or NULL */
  int in_out[GLAB_NODE_MAXIN];        /* ... and which of its outputs */
  glab_tensor saved[GLAB_NODE_MAXSAVED];
  uint64_t saved_version[GLAB_NODE_MAXSAVED];  /* storage versions when saved */
  char where[72];                     /* "file:line" of the recording call, or "" */
  double arg[4];
  int64_t iarg[2 * GLAB_MAXDIM + 4]; /* shape at 1.., op parameters after */
  glab_tensor grad[GLAB_NODE_MAXOUT]; /* incoming gradients; a leaf's .grad */
  int ondim[GLAB_NODE_MAXOUT];        /* shape and dtype of each output */
  int64_t oshape[GLAB_NODE_MAXOUT][GLAB_MAXDIM];
  glab_dtype odtype[GLAB_NODE_MAXOUT];
  int pending;                        /* backward: consumers not yet done */
  unsigned mark;                      /* backward: visited in this pass */
  int released;                       /* saved tensors freed by a backward */
};

/* A node for op `name` over inputs in[0..nin-1] (NULL entries allowed), or
** *out = NULL when nothing needs recording.  GLAB_ENOMEM on failure. */
glab_status glab_node_new(glab_node **out, const char *name, glab_backward_fn bw,
                          int nin, const glab_var *const *in);
/* Keep a shared handle on t in saved[slot], with its storage's version:
** backward refuses to run the rule if t was written in place since. */
void glab_node_save(glab_node *n, int slot, const glab_tensor *t);
/* Keep only t's shape, strides and dtype in saved[slot] (no storage): for a
** rule that needs no values, so that later writes to t do not concern it. */
void glab_node_save_meta(glab_node *n, int slot, const glab_tensor *t);
/* Make out (holding its result) output k of n, taking one reference on n
** (the caller's reference from glab_node_new moves to output 0; further
** outputs add one each). */
void glab_node_output(glab_node *n, glab_var *out, int k);
void glab_node_unref(glab_node *n);
/* The common case in one call: glab_node_new, then save s0, s1, s2 (NULL
** ones skipped) in slots 0-2 and make out its output 0.  *pn (when pn is
** not NULL) receives the node, or NULL when nothing was recorded, for the
** op to set its parameters. */
glab_status glab_node_record(glab_node **pn, glab_var *out, const char *name,
                             glab_backward_fn bw, int nin, const glab_var *const *in,
                             const glab_tensor *s0, const glab_tensor *s1,
                             const glab_tensor *s2);

/* o = g f'(a) from y = f(a) over n contiguous values of dtype dt, for op
** relu, sigmoid or tanh (o may be g): the backward of an activation, also
** run by layers that fuse one into their output. */
void glab_act_grad_row(glab_unop op, glab_dtype dt, void *o, const void *g, const void *y,
                       int64_t n);

/* Whether input i takes part in differentiation (its gradient is wanted). */
static inline int glab_node_needs(const glab_node *n, int i) { return n->in[i] != NULL; }

/* Element i of a contiguous tensor, as a byte pointer for typed kernels. */
static inline char *glab_elem(const glab_tensor *t, int64_t i) {
  return (char *)glab_tensor_data(t) + i * (int64_t)glab_dtype_size(t->dtype);
}

/* The rules' error path: `TRY(glab_matmul(...));` jumps to done with s set. */
#define TRY(x) do { if ((s = (x)) != GLAB_OK) goto done; } while (0)

#endif
