/*
** nn_loss.c -- MSE, binary cross-entropy on logits and cross-entropy, each
** one recorded operation with a closed-form gradient.  The optimizer steps
** are in optim.c.
*/
#include <string.h>
#include <tgmath.h>

#include "nn.h"
#include "node.h"

static glab_status same_shape(const char *op, const glab_tensor *a, const glab_tensor *b) {
  char sa[96], sb[96];
  if (a->ndim == b->ndim && !memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof *a->shape))
    return GLAB_OK;
  return glab_fail(GLAB_ESHAPE, "%s: input (%s) and target (%s) must have one shape", op,
                   glab_shape_str(sa, sizeof sa, a->ndim, a->shape),
                   glab_shape_str(sb, sizeof sb, b->ndim, b->shape));
}

/* The elementwise losses l reduced as asked into out. */
static glab_status reduce_loss(glab_tensor *out, glab_tensor *l, glab_reduction r) {
  if (r == GLAB_REDUCE_NONE) { glab_tensor_move(out, l); return GLAB_OK; }
  glab_status s = glab_reduce(out, r == GLAB_REDUCE_SUM ? GLAB_SUM : GLAB_MEAN, l,
                              GLAB_ALLDIMS, 0, 0);
  glab_tensor_free(l);
  return s;
}

/* Record a loss node; its reduction goes in iarg[0], where grad_factor
** reads it. */
static glab_status record_loss(glab_var *out, const char *name, glab_backward_fn bw, int nin,
                               const glab_var *const *in, const glab_tensor *s0,
                               const glab_tensor *s1, glab_reduction r) {
  glab_node *n;
  glab_status s = glab_node_record(&n, out, name, bw, nin, in, s0, s1, NULL);
  if (n) n->iarg[0] = r;
  return s;
}

/* The output gradient as a factor for the elementwise rule: g itself for
** reduction none, else the scalar g (divided by the count for mean). */
static glab_status grad_factor(glab_tensor *out, const glab_node *n, int64_t count) {
  glab_reduction r = (glab_reduction)n->iarg[0];
  if (r == GLAB_REDUCE_NONE) { glab_tensor_share(out, &n->grad[0]); return GLAB_OK; }
  double g = glab_tensor_flat_get(&n->grad[0], 0);
  if (r == GLAB_REDUCE_MEAN) g /= (double)(count ? count : 1);
  return glab_tensor_full(out, n->grad[0].dtype, 0, NULL, g);
}

/* ---- mse ------------------------------------------------------------------------------ */

/* saved: d = x - y */
static glab_status mse_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *d = &n->saved[0];
  glab_tensor f = GLAB_TENSOR_EMPTY;
  glab_status s;
  TRY(grad_factor(&f, n, glab_tensor_numel(d)));
  TRY(glab_binary(&gin[0], GLAB_MUL, d, &f));
  TRY(glab_binary_scalar(&gin[0], GLAB_MUL, &gin[0], 2.0, 0));
  if (glab_node_needs(n, 1)) s = glab_unary(&gin[1], GLAB_NEG, &gin[0]);
done:
  glab_tensor_free(&f);
  return s;
}

glab_status glab_nn_mse_loss(glab_var *out, const glab_var *x, const glab_var *y,
                             glab_reduction r) {
  glab_tensor d = GLAB_TENSOR_EMPTY, l = GLAB_TENSOR_EMPTY;
  glab_status s;
  TRY(same_shape("mse_loss", &x->t, &y->t));
  TRY(glab_binary(&d, GLAB_SUB, &x->t, &y->t));
  TRY(glab_binary(&l, GLAB_MUL, &d, &d));
  TRY(reduce_loss(&out->t, &l, r));
  const glab_var *in[2] = {x, y};
  s = record_loss(out, "mse_loss", mse_backward, 2, in, &d, NULL, r);
done:
  glab_tensor_free(&d);
  glab_tensor_free(&l);
  return s;
}

/* ---- binary cross-entropy on logits ---------------------------------------------------- */

/* saved: z, y.  d/dz = sigmoid(z) - y, d/dy = -z. */
static glab_status bce_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *z = &n->saved[0], *y = &n->saved[1];
  glab_tensor f = GLAB_TENSOR_EMPTY;
  glab_status s;
  TRY(grad_factor(&f, n, glab_tensor_numel(z)));
  if (glab_node_needs(n, 0)) {
    TRY(glab_unary(&gin[0], GLAB_SIGMOID, z));
    TRY(glab_binary(&gin[0], GLAB_SUB, &gin[0], y));
    TRY(glab_binary(&gin[0], GLAB_MUL, &gin[0], &f));
  }
  if (glab_node_needs(n, 1)) {
    TRY(glab_binary(&gin[1], GLAB_MUL, z, &f));
    s = glab_unary(&gin[1], GLAB_NEG, &gin[1]);
  }
done:
  glab_tensor_free(&f);
  return s;
}

glab_status glab_nn_bce_with_logits(glab_var *out, const glab_var *z, const glab_var *y,
                                    glab_reduction r) {
  glab_tensor l = GLAB_TENSOR_EMPTY, t = GLAB_TENSOR_EMPTY;
  glab_status s;
  TRY(same_shape("binary_cross_entropy_with_logits", &z->t, &y->t));
  TRY(glab_unary(&t, GLAB_ABS, &z->t));                     /* log(1 + exp(-|z|)) */
  TRY(glab_unary(&t, GLAB_NEG, &t));
  TRY(glab_unary(&t, GLAB_EXP, &t));
  TRY(glab_unary(&t, GLAB_LOG1P, &t));
  TRY(glab_unary(&l, GLAB_RELU, &z->t));                    /* + max(z, 0) */
  TRY(glab_binary(&l, GLAB_ADD, &l, &t));
  glab_tensor_free(&t);
  TRY(glab_binary(&t, GLAB_MUL, &z->t, &y->t));             /* - z y */
  TRY(glab_binary(&l, GLAB_SUB, &l, &t));
  TRY(reduce_loss(&out->t, &l, r));
  const glab_var *in[2] = {z, y};
  s = record_loss(out, "binary_cross_entropy_with_logits", bce_backward, 2, in, &z->t, &y->t, r);
done:
  glab_tensor_free(&l);
  glab_tensor_free(&t);
  return s;
}

/* ---- cross-entropy ---------------------------------------------------------------------------- */

/* saved: p = softmax(z), target (N, 1) */
static glab_status ce_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *p = &n->saved[0], *tgt = &n->saved[1];
  glab_tensor f = GLAB_TENSOR_EMPTY, m1 = GLAB_TENSOR_EMPTY;
  glab_status s;
  TRY(grad_factor(&f, n, p->shape[0]));
  TRY(glab_tensor_clone(&gin[0], p));
  TRY(glab_tensor_full(&m1, p->dtype, 2, tgt->shape, -1.0));
  TRY(glab_scatter_add(&gin[0], 1, tgt, &m1));              /* p - onehot */
  if (f.ndim == 1) {                                        /* per-row factors */
    glab_tensor_free(&m1);
    TRY(glab_tensor_unsqueeze(&m1, &f, 1));
    s = glab_binary(&gin[0], GLAB_MUL, &gin[0], &m1);
  } else {
    s = glab_binary(&gin[0], GLAB_MUL, &gin[0], &f);
  }
done:
  glab_tensor_free(&f);
  glab_tensor_free(&m1);
  return s;
}

glab_status glab_nn_cross_entropy(glab_var *out, const glab_var *z, const glab_tensor *target,
                                  glab_reduction r) {
  char sz[96], st[96];
  const glab_tensor *zt = &z->t;
  if (zt->ndim != 2 || target->ndim != 1 || target->shape[0] != zt->shape[0])
    return glab_fail(GLAB_ESHAPE, "cross_entropy: logits (%s) must be (N x classes) and the "
                     "targets (%s) N class indices",
                     glab_shape_str(sz, sizeof sz, zt->ndim, zt->shape),
                     glab_shape_str(st, sizeof st, target->ndim, target->shape));
  for (int64_t i = 0; i < target->shape[0]; i++) {
    double c = glab_tensor_flat_get(target, i);
    if (!(c >= 0 && c < (double)zt->shape[1]) || c != floor(c))
      return glab_fail(GLAB_EINDEX, "cross_entropy: target %lld is class %g, outside 1..%lld",
                       (long long)i + 1, c + 1, (long long)zt->shape[1]);
  }
  glab_tensor lse = GLAB_TENSOR_EMPTY, t2 = GLAB_TENSOR_EMPTY, zt_ = GLAB_TENSOR_EMPTY;
  glab_tensor l = GLAB_TENSOR_EMPTY, p = GLAB_TENSOR_EMPTY;
  glab_status s;
  TRY(glab_tensor_unsqueeze(&t2, target, 1));
  TRY(glab_reduce(&lse, GLAB_LOGSUMEXP, zt, 1, 1, 0));     /* (N, 1) */
  TRY(glab_gather(&zt_, zt, 1, &t2));                      /* z[i, t_i] */
  TRY(glab_binary(&l, GLAB_SUB, &lse, &zt_));
  glab_tensor_free(&zt_);
  TRY(glab_tensor_squeeze(&zt_, &l, 1));
  glab_tensor_free(&l);
  TRY(glab_tensor_clone(&l, &zt_));
  TRY(reduce_loss(&out->t, &l, r));
  TRY(glab_binary(&p, GLAB_SUB, zt, &lse));
  TRY(glab_unary(&p, GLAB_EXP, &p));
  s = record_loss(out, "cross_entropy", ce_backward, 1, &z, &p, &t2, r);
done:
  glab_tensor_free(&lse);
  glab_tensor_free(&t2);
  glab_tensor_free(&zt_);
  glab_tensor_free(&l);
  glab_tensor_free(&p);
  return s;
}
