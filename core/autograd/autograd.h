/*
** autograd.h -- reverse-mode automatic differentiation over glab tensors.
**
** A glab_var is a tensor that may take part in differentiation.  A leaf
** that requires grad owns an accumulator node, which holds its .grad; every
** glab_ag_* operation whose inputs need grad records a node with the
** tensors its backward rule needs.  glab_backward walks the recorded graph
** from a scalar in reverse topological order and adds each leaf's gradient
** into its .grad (gradients accumulate; zero them with glab_var_zero_grad).
**
**     glab_var w = {0}, x = {0}, y = {0}, loss = {0};
**     ... fill w.t and x.t ...
**     glab_var_requires_grad(&w, 1);           // a leaf with an accumulator
**     glab_ag_matmul(&y, &x, &w);              // records matmul's node
**     glab_ag_unary(&y2, GLAB_TANH, &y);
**     glab_ag_reduce(&loss, GLAB_SUM, &y2, GLAB_ALLDIMS, 0, 0);
**     glab_backward(&loss, NULL, 0);           // w's grad: glab_var_grad(&w)
**     glab_var_free(&loss); ...                // nodes are refcounted
**
** Rules:
**   - every `out` var is empty on entry and receives a fresh tensor (views
**     share their input's storage, as the tensor API's views do);
**   - a node holds references to its input nodes, never to vars, so a
**     graph lives exactly as long as some var that reaches it;
**   - backward frees the saved tensors of the nodes it visits unless asked to
**     retain the graph; a second backward through them is then an error;
**   - a var whose node is NULL is a constant; with grad mode off
**     (glab_grad_set_enabled(0)), no op records anything.
** Each operation's backward rule sits beside its forward, in the file of
** its family (ag_math.c, ag_shape.c, ag_linalg.c, nn_*.c).
*/
#ifndef GLAB_AUTOGRAD_H
#define GLAB_AUTOGRAD_H

#include "../tensor/linalg.h"
#include "../tensor/ops.h"
#include "../tensor/tensor.h"

typedef struct glab_node glab_node;

typedef struct glab_var {
  glab_tensor t;       /* first, so that a glab_var * is a glab_tensor * */
  glab_node *node;     /* producer (or a leaf's accumulator); NULL: constant */
  int out;             /* which output of node this var is */
} glab_var;

/* ---- vars and grad mode ----------------------------------------------------- */
void glab_var_free(glab_var *v);
int glab_var_requires_grad(const glab_var *v);
/* Turn a leaf's accumulator on or off.  Only leaves (vars not produced by a
** recorded op) can be switched; turning it off drops the .grad. */
glab_status glab_var_set_requires_grad(glab_var *v, int on);
int glab_var_is_leaf(const glab_var *v);
/* The leaf's accumulated gradient: empty before the first backward, NULL
** for a var that is not a leaf requiring grad. */
const glab_tensor *glab_var_grad(const glab_var *v);
/* Replace (or with g NULL, drop) a leaf's gradient; g is shared, not copied. */
glab_status glab_var_set_grad(glab_var *v, const glab_tensor *g);
/* The recording op's name ("tanh", "matmul", ...); NULL for leaves and
** constants. */
const char *glab_var_grad_fn(const glab_var *v);
/* out is a second handle on v: the same tensor and node. */
void glab_var_share(glab_var *out, const glab_var *v);
/* out shares v's tensor and records nothing: a constant. */
void glab_var_detach(glab_var *out, const glab_var *v);

/* A host language that knows where the current operation was called from
** (Lua: the user's file and line) registers fn; each recorded node keeps
** that place for its messages.  fn writes a string of at most n bytes. */
typedef void (*glab_where_fn)(char *buf, size_t n);
void glab_autograd_set_where(glab_where_fn fn);

int glab_grad_enabled(void);
/* Returns the previous setting, for a scope to restore. */
int glab_grad_set_enabled(int on);

/* d(root)/d(leaf) for every leaf reachable from root, added into the leaves'
** gradients.  gout is the gradient of root (root's shape); NULL means ones
** and needs a one-element root.  retain keeps the saved tensors for another
** backward through the same graph. */
glab_status glab_backward(const glab_var *root, const glab_tensor *gout, int retain);

/* ---- differentiable operations: the tensor API's, recorded ------------------- */
glab_status glab_ag_binary(glab_var *out, glab_binop op, const glab_var *a,
                           const glab_var *b);
glab_status glab_ag_binary_scalar(glab_var *out, glab_binop op, const glab_var *a,
                                  double s, int scalar_first);
glab_status glab_ag_unary(glab_var *out, glab_unop op, const glab_var *a);
glab_status glab_ag_clamp(glab_var *out, const glab_var *a, double lo, double hi);
glab_status glab_ag_where(glab_var *out, const glab_var *mask, const glab_var *a,
                          const glab_var *b);
glab_status glab_ag_reduce(glab_var *out, glab_redop op, const glab_var *a, int dim,
                           int keepdim, int unbiased);
/* vals are differentiable (the gradient goes to the first extreme); idx is a
** plain index tensor.  Either may be NULL. */
glab_status glab_ag_argreduce(glab_var *vals, glab_tensor *idx, int is_max,
                              const glab_var *a, int dim, int keepdim);
glab_status glab_ag_scan(glab_var *out, glab_scanop op, const glab_var *a, int dim);
glab_status glab_ag_matmul(glab_var *out, const glab_var *a, const glab_var *b);
glab_status glab_ag_dot(glab_var *out, const glab_var *a, const glab_var *b);
glab_status glab_ag_outer(glab_var *out, const glab_var *a, const glab_var *b);

/* ---- views, copies, indexing (ag_shape.c) ----------------------------------------- */
glab_status glab_ag_narrow(glab_var *out, const glab_var *a, int dim, int64_t start,
                           int64_t len);
glab_status glab_ag_slice(glab_var *out, const glab_var *a, int dim, int64_t start,
                          int64_t len, int64_t step);
glab_status glab_ag_select(glab_var *out, const glab_var *a, int dim, int64_t index);
glab_status glab_ag_transpose(glab_var *out, const glab_var *a, int d0, int d1);
glab_status glab_ag_permute(glab_var *out, const glab_var *a, const int *perm);
/* view (no copy, may fail) or reshape (copies when it must). */
glab_status glab_ag_reshape(glab_var *out, const glab_var *a, int ndim,
                            const int64_t *shape, int is_view);
glab_status glab_ag_expand(glab_var *out, const glab_var *a, int ndim,
                           const int64_t *shape);
glab_status glab_ag_unsqueeze(glab_var *out, const glab_var *a, int dim);
glab_status glab_ag_squeeze(glab_var *out, const glab_var *a, int dim);
glab_status glab_ag_diagonal(glab_var *out, const glab_var *a);
glab_status glab_ag_clone(glab_var *out, const glab_var *a);
glab_status glab_ag_contiguous(glab_var *out, const glab_var *a);
glab_status glab_ag_astype(glab_var *out, const glab_var *a, glab_dtype dt);
glab_status glab_ag_index_select(glab_var *out, const glab_var *a, int dim,
                                 const glab_tensor *idx);
glab_status glab_ag_gather(glab_var *out, const glab_var *a, int dim,
                           const glab_tensor *idx);
/* A copy of a with src added at idx along dim (glab_scatter_add); the
** gradient reaches a and src. */
glab_status glab_ag_scatter_add(glab_var *out, const glab_var *a, int dim, const glab_tensor *idx,
                                const glab_var *src);
glab_status glab_ag_cat(glab_var *out, const glab_var *const *vs, int n, int dim);
glab_status glab_ag_stack(glab_var *out, const glab_var *const *vs, int n, int dim);

/* ---- linear algebra (ag_linalg.c) ---------------------------------------------------- */
glab_status glab_ag_cholesky(glab_var *out, const glab_var *a, int upper);
glab_status glab_ag_solve_triangular(glab_var *out, const glab_var *a, const glab_var *b,
                                     int upper, int left, int unit);
glab_status glab_ag_cholesky_solve(glab_var *out, const glab_var *b, const glab_var *l,
                                   int upper);
/* sign is a plain tensor; logabs is differentiable (d log|det A| = A^-T). */
glab_status glab_ag_slogdet(glab_tensor *sign, glab_var *logabs, const glab_var *a);
glab_status glab_ag_solve(glab_var *out, const glab_var *a, const glab_var *b);
/* ag_decomp.c: eigh (V NULL: eigvalsh), thin or square svd, and lstsq of full
** column rank.  A gradient that reaches eigenvectors or singular vectors
** where two values tie is an error, as the vectors are not unique there. */
glab_status glab_ag_eigh(glab_var *w, glab_var *V, const glab_var *a);
glab_status glab_ag_svd(glab_var *U, glab_var *S, glab_var *Vh, const glab_var *a, int full);
glab_status glab_ag_lstsq(glab_var *X, const glab_var *a, const glab_var *b);

/* ---- gradients reduced to a shape ---------------------------------------------------- */
/* Sum g over the dims that broadcasting added or stretched, giving shape
** (ndim, shape); shares g when nothing needs summing. */
glab_status glab_sum_to(glab_tensor *out, const glab_tensor *g, int ndim,
                        const int64_t *shape);

#endif
