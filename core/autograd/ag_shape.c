/*
** ag_shape.c -- views, copies, indexing and joining, recorded for autograd.
** A view's gradient is the output gradient put back where the view came
** from: reshaped, transposed back, or written into zeros of the input's
** shape at the viewed positions.
*/
#include <string.h>

#include "node.h"

/* The input's shape and dtype, kept in iarg so that no tensor is saved:
** iarg[0] = ndim, iarg[1..] = shape; arg[0] = dtype. */
static void keep_shape(glab_node *n, const glab_tensor *a) {
  n->iarg[0] = a->ndim;
  memcpy(n->iarg + 1, a->shape, (size_t)a->ndim * sizeof *a->shape);
  n->arg[0] = a->dtype;
}

static glab_status zeros_of_input(glab_tensor *out, const glab_node *n) {
  return glab_tensor_full(out, (glab_dtype)n->arg[0], (int)n->iarg[0], n->iarg + 1, 0.0);
}

static glab_status reshape_backward(glab_node *n, glab_tensor *gin) {
  return glab_tensor_reshape(gin, &n->grad[0], (int)n->iarg[0], n->iarg + 1);
}

/* Record a shape-keeping node (no saved tensors). */
static glab_status record_shape(glab_node **pn, glab_var *out, const char *name,
                                glab_backward_fn bw, const glab_var *a) {
  glab_status s = glab_node_record(pn, out, name, bw, 1, &a, NULL, NULL, NULL);
  if (*pn) keep_shape(*pn, &a->t);
  return s;
}

glab_status glab_ag_reshape(glab_var *out, const glab_var *a, int ndim,
                            const int64_t *shape, int is_view) {
  glab_status s = is_view ? glab_tensor_view(&out->t, &a->t, ndim, shape)
                          : glab_tensor_reshape(&out->t, &a->t, ndim, shape);
  glab_node *n;
  return s != GLAB_OK ? s : record_shape(&n, out, is_view ? "view" : "reshape",
                                         reshape_backward, a);
}

glab_status glab_ag_unsqueeze(glab_var *out, const glab_var *a, int dim) {
  glab_status s = glab_tensor_unsqueeze(&out->t, &a->t, dim);
  glab_node *n;
  return s != GLAB_OK ? s : record_shape(&n, out, "unsqueeze", reshape_backward, a);
}

glab_status glab_ag_squeeze(glab_var *out, const glab_var *a, int dim) {
  glab_status s = glab_tensor_squeeze(&out->t, &a->t, dim);
  glab_node *n;
  return s != GLAB_OK ? s : record_shape(&n, out, "squeeze", reshape_backward, a);
}

/* Zeros of the input's shape; the view of it that the forward took (the
** op in iarg[GLAB_MAXDIM+1..]) receives g. */
static glab_status scatter_view_backward(glab_node *n, glab_tensor *gin) {
  glab_tensor v = GLAB_TENSOR_EMPTY;
  int64_t *p = n->iarg + GLAB_MAXDIM + 1;
  glab_status s = zeros_of_input(gin, n);
  if (s != GLAB_OK) return s;
  switch (p[0]) {
    case 0: s = glab_tensor_slice(&v, gin, (int)p[1], p[2], p[3], p[4]); break;
    case 1: s = glab_tensor_select(&v, gin, (int)p[1], p[2]); break;
    default: s = glab_tensor_diagonal(&v, gin); break;
  }
  if (s == GLAB_OK) s = glab_tensor_copy(&v, &n->grad[0]);
  glab_tensor_free(&v);
  return s;
}

/* kind 0: slice (dim x, start y, length z, step w); 1: select (dim x,
** index y); 2: diagonal. */
static glab_status record_scatter_view(glab_var *out, const char *name, const glab_var *a,
                                       int kind, int64_t x, int64_t y, int64_t z, int64_t w) {
  glab_node *n;
  glab_status s = record_shape(&n, out, name, scatter_view_backward, a);
  if (n) {
    int64_t *p = n->iarg + GLAB_MAXDIM + 1;
    p[0] = kind; p[1] = x; p[2] = y; p[3] = z; p[4] = w;
  }
  return s;
}

glab_status glab_ag_narrow(glab_var *out, const glab_var *a, int dim, int64_t start,
                           int64_t len) {
  return glab_ag_slice(out, a, dim, start, len, 1);
}

glab_status glab_ag_slice(glab_var *out, const glab_var *a, int dim, int64_t start,
                          int64_t len, int64_t step) {
  glab_status s = glab_tensor_slice(&out->t, &a->t, dim, start, len, step);
  return s != GLAB_OK ? s : record_scatter_view(out, step == 1 ? "narrow" : "slice", a, 0,
                                                glab_dim(dim, a->t.ndim), start, len, step);
}

glab_status glab_ag_select(glab_var *out, const glab_var *a, int dim, int64_t index) {
  glab_status s = glab_tensor_select(&out->t, &a->t, dim, index);
  if (s != GLAB_OK) return s;
  dim = glab_dim(dim, a->t.ndim);
  if (index < 0) index += a->t.shape[dim];
  return record_scatter_view(out, "select", a, 1, dim, index, 0, 0);
}

glab_status glab_ag_diagonal(glab_var *out, const glab_var *a) {
  glab_status s = glab_tensor_diagonal(&out->t, &a->t);
  return s != GLAB_OK ? s : record_scatter_view(out, "diagonal", a, 2, 0, 0, 0, 0);
}

/* iarg[GLAB_MAXDIM+1..]: the inverse permutation */
static glab_status permute_backward(glab_node *n, glab_tensor *gin) {
  int inv[GLAB_MAXDIM];
  for (int i = 0; i < n->iarg[0]; i++) inv[i] = (int)n->iarg[GLAB_MAXDIM + 1 + i];
  return glab_tensor_permute(gin, &n->grad[0], inv);
}

glab_status glab_ag_permute(glab_var *out, const glab_var *a, const int *perm) {
  glab_status s = glab_tensor_permute(&out->t, &a->t, perm);
  glab_node *n;
  if (s != GLAB_OK || (s = record_shape(&n, out, "permute", permute_backward, a)) != GLAB_OK
      || !n)
    return s;
  for (int i = 0; i < a->t.ndim; i++) n->iarg[GLAB_MAXDIM + 1 + perm[i]] = i;
  return GLAB_OK;
}

glab_status glab_ag_transpose(glab_var *out, const glab_var *a, int d0, int d1) {
  int perm[GLAB_MAXDIM], nd = a->t.ndim;
  int x = glab_dim(d0, nd), y = glab_dim(d1, nd);
  if (x < 0 || y < 0) return glab_tensor_transpose(&out->t, &a->t, d0, d1);  /* its message */
  for (int i = 0; i < nd; i++) perm[i] = i;
  perm[x] = y;
  perm[y] = x;
  return glab_ag_permute(out, a, perm);
}

/* saved: nothing; the input shape in iarg */
static glab_status expand_backward(glab_node *n, glab_tensor *gin) {
  return glab_sum_to(gin, &n->grad[0], (int)n->iarg[0], n->iarg + 1);
}

glab_status glab_ag_expand(glab_var *out, const glab_var *a, int ndim,
                           const int64_t *shape) {
  glab_status s = glab_tensor_expand(&out->t, &a->t, ndim, shape);
  glab_node *n;
  return s != GLAB_OK ? s : record_shape(&n, out, "expand", expand_backward, a);
}

/* ---- copies --------------------------------------------------------------------- */

static glab_status copy_backward(glab_node *n, glab_tensor *gin) {
  if (n->grad[0].dtype == (glab_dtype)n->arg[0]) {
    glab_tensor_share(gin, &n->grad[0]);
    return GLAB_OK;
  }
  return glab_tensor_astype(gin, &n->grad[0], (glab_dtype)n->arg[0]);
}

glab_status glab_ag_clone(glab_var *out, const glab_var *a) {
  glab_status s = glab_tensor_clone(&out->t, &a->t);
  glab_node *n;
  return s != GLAB_OK ? s : record_shape(&n, out, "clone", copy_backward, a);
}

glab_status glab_ag_contiguous(glab_var *out, const glab_var *a) {
  glab_status s = glab_tensor_contiguous(&out->t, &a->t);
  glab_node *n;
  return s != GLAB_OK ? s : record_shape(&n, out, "contiguous", copy_backward, a);
}

glab_status glab_ag_astype(glab_var *out, const glab_var *a, glab_dtype dt) {
  glab_status s = glab_tensor_astype(&out->t, &a->t, dt);
  glab_node *n;
  return s != GLAB_OK ? s : record_shape(&n, out, "astype", copy_backward, a);
}

/* ---- indexing -------------------------------------------------------------------- */

/* saved: idx (in the form scatter_add takes); iarg[GLAB_MAXDIM+1]: dim */
static glab_status scatter_backward(glab_node *n, glab_tensor *gin) {
  glab_status s = zeros_of_input(gin, n);
  if (s == GLAB_OK)
    s = glab_scatter_add(gin, (int)n->iarg[GLAB_MAXDIM + 1], &n->saved[0], &n->grad[0]);
  return s;
}

static glab_status record_scatter(glab_var *out, const char *name, const glab_var *a,
                                  int dim, const glab_tensor *idx) {
  glab_node *n;
  glab_status s = glab_node_record(&n, out, name, scatter_backward, 1, &a, idx, NULL, NULL);
  if (n) {
    keep_shape(n, &a->t);
    n->iarg[GLAB_MAXDIM + 1] = glab_dim(dim, a->t.ndim);
  }
  return s;
}

glab_status glab_ag_gather(glab_var *out, const glab_var *a, int dim,
                           const glab_tensor *idx) {
  glab_status s = glab_gather(&out->t, &a->t, dim, idx);
  return s != GLAB_OK ? s : record_scatter(out, "gather", a, dim, idx);
}

/* out = a + (src scattered at idx along dim; src has idx's shape).
** saved: idx; iarg[GLAB_MAXDIM+1]: dim.  ga = g, gsrc = g gathered at idx. */
static glab_status scatter_add_backward(glab_node *n, glab_tensor *gin) {
  if (glab_node_needs(n, 0)) glab_tensor_share(&gin[0], &n->grad[0]);
  if (!glab_node_needs(n, 1)) return GLAB_OK;
  return glab_gather(&gin[1], &n->grad[0], (int)n->iarg[GLAB_MAXDIM + 1], &n->saved[0]);
}

glab_status glab_ag_scatter_add(glab_var *out, const glab_var *a, int dim, const glab_tensor *idx,
                                const glab_var *src) {
  glab_status s = glab_tensor_clone(&out->t, &a->t);
  if (s == GLAB_OK) s = glab_scatter_add(&out->t, dim, idx, &src->t);
  if (s != GLAB_OK) return s;
  const glab_var *ins[2] = {a, src};
  glab_node *n;
  s = glab_node_record(&n, out, "scatter_add", scatter_add_backward, 2, ins, idx, NULL, NULL);
  if (n) n->iarg[GLAB_MAXDIM + 1] = glab_dim(dim, a->t.ndim);
  return s;
}

/* index_select is a gather with idx broadcast along the other dims. */
glab_status glab_ag_index_select(glab_var *out, const glab_var *a, int dim,
                                 const glab_tensor *idx) {
  glab_status s = glab_index_select(&out->t, &a->t, dim, idx);
  if (s != GLAB_OK || !glab_grad_enabled() || !a->node) return s;
  int d = glab_dim(dim, a->t.ndim);
  glab_tensor v = GLAB_TENSOR_EMPTY, e = GLAB_TENSOR_EMPTY;
  int64_t vshape[GLAB_MAXDIM];
  for (int i = 0; i < a->t.ndim; i++) vshape[i] = i == d ? idx->shape[0] : 1;
  s = glab_tensor_view(&v, idx, a->t.ndim, vshape);
  if (s == GLAB_OK) s = glab_tensor_expand(&e, &v, a->t.ndim, out->t.shape);
  if (s == GLAB_OK) s = record_scatter(out, "index_select", a, d, &e);
  glab_tensor_free(&v);
  glab_tensor_free(&e);
  return s;
}

/* iarg[GLAB_MAXDIM+1]: dim, iarg[GLAB_MAXDIM+2]: stack; arg[1..]: unused.
** The sizes along dim are in iarg[1..n] (at most GLAB_NODE_MAXIN inputs). */
static glab_status join_backward(glab_node *n, glab_tensor *gin) {
  int dim = (int)n->iarg[GLAB_MAXDIM + 1], stack = (int)n->iarg[GLAB_MAXDIM + 2];
  int64_t start = 0;
  glab_status s = GLAB_OK;
  for (int i = 0; s == GLAB_OK && i < n->nin; i++) {
    int64_t len = n->iarg[i];
    if (glab_node_needs(n, i)) {
      glab_tensor v = GLAB_TENSOR_EMPTY;
      s = stack ? glab_tensor_select(&gin[i], &n->grad[0], dim, start)
                : glab_tensor_narrow(&v, &n->grad[0], dim, start, len);
      if (!stack) glab_tensor_move(&gin[i], &v);
    }
    start += len;
  }
  return s;
}

static glab_status join(glab_var *out, const glab_var *const *vs, int n, int dim, int stack);

/* More inputs needing grad than a node has edges: join them in chunks of
** GLAB_NODE_MAXIN, then cat the chunks' results (a stack's chunks are
** stacked, then concatenated along the new dim). */
static glab_status join_chunked(glab_var *out, const glab_var *const *vs, int n, int dim,
                                int stack) {
  int nc = (n + GLAB_NODE_MAXIN - 1) / GLAB_NODE_MAXIN;
  glab_var part[GLAB_NODE_MAXIN];
  const glab_var *pp[GLAB_NODE_MAXIN];
  glab_status s = GLAB_OK;
  if (nc > GLAB_NODE_MAXIN) nc = GLAB_NODE_MAXIN;        /* deeper trees recurse */
  int per = (n + nc - 1) / nc;
  memset(part, 0, sizeof part);
  for (int c = 0; c < nc && s == GLAB_OK; c++) {
    int lo = c * per, k = n - lo < per ? n - lo : per;
    s = join(&part[c], vs + lo, k, dim, stack);
    pp[c] = &part[c];
  }
  if (s == GLAB_OK) s = join(out, pp, nc, stack ? glab_dim(dim, vs[0]->t.ndim + 1) : dim, 0);
  for (int c = 0; c < nc; c++) glab_var_free(&part[c]);
  return s;
}

/* A var's tensor is its first member, so vs reads as the tensor list. */
static glab_status join(glab_var *out, const glab_var *const *vs, int n, int dim, int stack) {
  int any = 0;
  for (int i = 0; i < n; i++) any |= vs[i]->node != NULL;
  if (any && glab_grad_enabled() && n > GLAB_NODE_MAXIN)
    return join_chunked(out, vs, n, dim, stack);
  const glab_tensor *const *ts = (const glab_tensor *const *)vs;
  glab_status s = stack ? glab_stack(&out->t, ts, n, dim) : glab_cat(&out->t, ts, n, dim);
  if (s != GLAB_OK || !any) return s;
  glab_node *nd;
  s = glab_node_record(&nd, out, stack ? "stack" : "cat", join_backward, n, vs, NULL, NULL, NULL);
  if (nd) {
    int d = glab_dim(dim, out->t.ndim);
    for (int i = 0; i < n; i++) nd->iarg[i] = stack ? 1 : vs[i]->t.shape[d];
    nd->iarg[GLAB_MAXDIM + 1] = d;
    nd->iarg[GLAB_MAXDIM + 2] = stack;
  }
  return s;
}

glab_status glab_ag_cat(glab_var *out, const glab_var *const *vs, int n, int dim) {
  return join(out, vs, n, dim, 0);
}

glab_status glab_ag_stack(glab_var *out, const glab_var *const *vs, int n, int dim) {
  return join(out, vs, n, dim, 1);
}
