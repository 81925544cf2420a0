/*
** nn_loss.c -- MSE, binary cross-entropy on logits and cross-entropy, and a
** VAE's Gaussian latents (KL term, reparameterisation), each one recorded
** operation with a closed-form gradient.  The optimizer steps are in
** optim.c.
*/
#include <string.h>
#include <tgmath.h>

#include "../tensor/fastmath.h"
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

/* A sum or mean of contiguous operands of one dtype takes one pass: d = x - y
** and the sum of d^2 in glab_reduce's order, so the loss has the bits of the
** three operations it replaces (sub, square, sum); backward likewise gives
** (d f) 2, the bits of its two products, in one. */
#define MSE_PIECE 1024                      /* squares summed at a time, in L1 */

GLAB_MULTIVERSION static void sq_diff(glab_dtype dt, void *d_, void *l_, const void *x_,
                                      const void *y_, int64_t n) {
  if (dt == GLAB_F64) {
    double *d = d_, *l = l_;
    const double *x = x_, *y = y_;
    for (int64_t i = 0; i < n; i++) { d[i] = x[i] - y[i]; l[i] = d[i] * d[i]; }
  } else {
    float *d = d_, *l = l_;
    const float *x = x_, *y = y_;
    for (int64_t i = 0; i < n; i++) { d[i] = x[i] - y[i]; l[i] = d[i] * d[i]; }
  }
}

/* out = the sum (or mean) of (x - y)^2, d = x - y. */
static glab_status mse_one_pass(glab_tensor *out, glab_tensor *d, const glab_tensor *x,
                                const glab_tensor *y, glab_reduction r) {
  glab_dtype dt = x->dtype;
  size_t es = glab_dtype_size(dt);
  int64_t n = glab_tensor_numel(x);
  double part[GLAB_SUM_LANES] = {0}, l[MSE_PIECE];
  glab_status s = glab_tensor_new(d, dt, x->ndim, x->shape);
  if (s != GLAB_OK) return s;
  char *pd = glab_tensor_data(d);
  const char *px = glab_tensor_data(x), *py = glab_tensor_data(y);
  for (int64_t j = 0; j < n; j += MSE_PIECE) {
    int64_t m = n - j < MSE_PIECE ? n - j : MSE_PIECE, off = j * (int64_t)es;
    sq_diff(dt, pd + off, l, px + off, py + off, m);
    glab_sum_lanes(part, dt, l, m);
  }
  double v = glab_sum_lanes_total(part);
  if (r == GLAB_REDUCE_MEAN) v /= (double)n;
  return glab_tensor_full(out, dt, 0, NULL, v);
}

GLAB_MULTIVERSION static void mse_grad(glab_dtype dt, void *g_, const void *d_, double f,
                                       int64_t n) {
  if (dt == GLAB_F64) {
    double *g = g_;
    const double *d = d_;
    for (int64_t i = 0; i < n; i++) g[i] = d[i] * f * 2.0;
  } else {
    float *g = g_, ff = (float)f;
    const float *d = d_;
    for (int64_t i = 0; i < n; i++) g[i] = d[i] * ff * 2.0f;
  }
}

/* saved: d = x - y */
static glab_status mse_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *d = &n->saved[0];
  glab_tensor f = GLAB_TENSOR_EMPTY;
  glab_status s;
  TRY(grad_factor(&f, n, glab_tensor_numel(d)));
  if (f.ndim == 0 && glab_tensor_is_contiguous(d)) {
    TRY(glab_tensor_new(&gin[0], d->dtype, d->ndim, d->shape));
    mse_grad(d->dtype, glab_tensor_data(&gin[0]), glab_tensor_data(d),
             glab_tensor_flat_get(&f, 0), glab_tensor_numel(d));
  } else {
    TRY(glab_binary(&gin[0], GLAB_MUL, d, &f));
    TRY(glab_binary_scalar(&gin[0], GLAB_MUL, &gin[0], 2.0, 0));
  }
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
  if (r != GLAB_REDUCE_NONE && x->t.dtype == y->t.dtype && glab_tensor_is_contiguous(&x->t) &&
      glab_tensor_is_contiguous(&y->t)) {
    TRY(mse_one_pass(&out->t, &d, &x->t, &y->t, r));
  } else {
    TRY(glab_binary(&d, GLAB_SUB, &x->t, &y->t));
    TRY(glab_binary(&l, GLAB_MUL, &d, &d));
    TRY(reduce_loss(&out->t, &l, r));
  }
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

/* ---- Gaussian latents ------------------------------------------------------------------
** The VAE's KL term and reparameterisation on a batch of 128 x 20 latents
** were 18 small tensor operations forward and back, about 150 us of a 3.7
** ms MLP VAE step.  Each is one pass here that repeats the float operations
** of the expressions, in their order, so the results and gradients keep
** their bits: kl = sum_j (((lv + 1) - m m) - exp(lv)) summed as glab_reduce
** sums a row, times -1/2; z = m + exp(lv 0.5) eps.  The gradients sum what
** the graph of those expressions sent each input: for kl, with t = g -1/2,
** d m = (-t m) + (-t m) and d lv = (-t) exp(lv) + t; for z, d m = g and
** d lv = ((g eps) s) 0.5 with s = exp(lv 0.5), d eps = g s. */

#define EXPF(x) _Generic((x), float: glab_expf, default: exp)(x)

static glab_status latent_check(const char *op, const glab_var *const *in, int nin) {
  char a[96], b[96];
  static const char *const names[3] = {"mean", "logvar", "eps"};
  for (int i = 1; i < nin; i++) {
    const glab_tensor *x = &in[0]->t, *y = &in[i]->t;
    if (y->dtype != x->dtype)
      return glab_fail(GLAB_EDTYPE, "%s: mean is %s but %s is %s; convert one", op,
                       glab_dtype_name(x->dtype), names[i], glab_dtype_name(y->dtype));
    if (y->ndim != x->ndim || memcmp(y->shape, x->shape, (size_t)x->ndim * sizeof *x->shape))
      return glab_fail(GLAB_ESHAPE, "%s: mean (%s) and %s (%s) must have one shape", op,
                       glab_shape_str(a, sizeof a, x->ndim, x->shape), names[i],
                       glab_shape_str(b, sizeof b, y->ndim, y->shape));
  }
  if (in[0]->t.ndim < 1)
    return glab_fail(GLAB_ESHAPE, "%s: the latents must have at least one dimension", op);
  return GLAB_OK;
}

/* The KL terms of rows rows of nz values: kl[r], and e = exp(lv) kept for
** the gradient. */
#define KL_ROWS(T)                                                                       \
  for (int64_t r = 0; r < rows; r++) {                                                   \
    const T *mr = (const T *)m + r * nz, *lr = (const T *)lv + r * nz;                   \
    T *er = (T *)e + r * nz, t[GLAB_SUM_LANES];                                          \
    double part[GLAB_SUM_LANES] = {0};                                                   \
    for (int64_t j0 = 0; j0 < nz; j0 += GLAB_SUM_LANES) {                                \
      int64_t n = nz - j0 < GLAB_SUM_LANES ? nz - j0 : GLAB_SUM_LANES;                   \
      for (int64_t j = 0; j < n; j++) {                                                  \
        T a = lr[j0 + j], mm = mr[j0 + j];                                               \
        er[j0 + j] = EXPF(a);                                                            \
        t[j] = ((a + (T)1) - mm * mm) - er[j0 + j];                                      \
      }                                                                                  \
      glab_sum_lanes(part, dt, t, n);                                                    \
    }                                                                                    \
    ((T *)kl)[r] = (T)glab_sum_lanes_total(part) * (T)-0.5;                              \
  }
static void kl_rows(glab_dtype dt, void *kl, void *e, const void *m, const void *lv,
                    int64_t rows, int64_t nz) {
  if (dt == GLAB_F64) KL_ROWS(double)
  else KL_ROWS(float)
}

#define KL_GRAD(T)                                                                       \
  for (int64_t r = 0; r < rows; r++) {                                                   \
    T t = ((const T *)g)[r] * (T)-0.5;                                                   \
    for (int64_t j = r * nz; j < (r + 1) * nz; j++) {                                    \
      T p = -t * ((const T *)m)[j];                                                      \
      if (dm) ((T *)dm)[j] = p + p;                                                      \
      if (dlv) ((T *)dlv)[j] = -t * ((const T *)e)[j] + t;                               \
    }                                                                                    \
  }
static void kl_grad(glab_dtype dt, void *dm, void *dlv, const void *g, const void *m,
                    const void *e, int64_t rows, int64_t nz) {
  if (dt == GLAB_F64) KL_GRAD(double)
  else KL_GRAD(float)
}

/* saved: mean, exp(logvar) (contiguous) */
static glab_status kl_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *m = &n->saved[0], *e = &n->saved[1];
  glab_tensor g = GLAB_TENSOR_EMPTY;
  glab_status s;
  int64_t nz = m->shape[m->ndim - 1], rows = nz ? glab_tensor_numel(m) / nz : 0;
  TRY(glab_tensor_contiguous(&g, &n->grad[0]));
  for (int i = 0; i < 2; i++)
    if (glab_node_needs(n, i)) TRY(glab_tensor_new(&gin[i], m->dtype, m->ndim, m->shape));
  kl_grad(m->dtype, gin[0].storage ? glab_tensor_data(&gin[0]) : NULL,
          gin[1].storage ? glab_tensor_data(&gin[1]) : NULL, glab_tensor_data(&g),
          glab_tensor_data(m), glab_tensor_data(e), rows, nz);
done:
  glab_tensor_free(&g);
  return s;
}

glab_status glab_nn_gaussian_kl(glab_var *out, const glab_var *mean, const glab_var *logvar) {
  const glab_var *in[2] = {mean, logvar};
  glab_tensor m = GLAB_TENSOR_EMPTY, lv = GLAB_TENSOR_EMPTY, e = GLAB_TENSOR_EMPTY;
  glab_status s;
  TRY(latent_check("gaussian_kl", in, 2));
  const glab_tensor *t = &mean->t;
  int64_t nz = t->shape[t->ndim - 1], rows = nz ? glab_tensor_numel(t) / nz : 0;
  TRY(glab_tensor_contiguous(&m, t));
  TRY(glab_tensor_contiguous(&lv, &logvar->t));
  TRY(glab_tensor_new(&e, t->dtype, t->ndim, t->shape));
  TRY(glab_tensor_new(&out->t, t->dtype, t->ndim - 1, t->shape));
  if (!nz) TRY(glab_tensor_fill(&out->t, 0.0));    /* a sum over nothing */
  else kl_rows(t->dtype, glab_tensor_data(&out->t), glab_tensor_data(&e), glab_tensor_data(&m),
               glab_tensor_data(&lv), rows, nz);
  s = glab_node_record(NULL, out, "gaussian_kl", kl_backward, 2, in, &m, &e, NULL);
done:
  glab_tensor_free(&m);
  glab_tensor_free(&lv);
  glab_tensor_free(&e);
  return s;
}

#define REPARAM(T)                                                                       \
  for (int64_t i = 0; i < n; i++) {                                                      \
    ((T *)sd)[i] = EXPF(((const T *)lv)[i] * (T)0.5);                                    \
    ((T *)z)[i] = ((const T *)m)[i] + ((T *)sd)[i] * ((const T *)eps)[i];                \
  }
GLAB_MULTIVERSION static void reparam(glab_dtype dt, void *z, void *sd, const void *m,
                                      const void *lv, const void *eps, int64_t n) {
  if (dt == GLAB_F64) REPARAM(double)
  else REPARAM(float)
}

#define REPARAM_GRAD(T)                                                                  \
  for (int64_t i = 0; i < n; i++) {                                                      \
    T gi = ((const T *)g)[i], si = ((const T *)sd)[i];                                   \
    if (dlv) ((T *)dlv)[i] = gi * ((const T *)eps)[i] * si * (T)0.5;                     \
    if (deps) ((T *)deps)[i] = gi * si;                                                  \
  }
static void reparam_grad(glab_dtype dt, void *dlv, void *deps, const void *g, const void *sd,
                         const void *eps, int64_t n) {
  if (dt == GLAB_F64) REPARAM_GRAD(double)
  else REPARAM_GRAD(float)
}

/* saved: exp(logvar / 2), eps (contiguous) */
static glab_status reparam_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *sd = &n->saved[0], *eps = &n->saved[1];
  glab_tensor g = GLAB_TENSOR_EMPTY;
  glab_status s;
  TRY(glab_tensor_contiguous(&g, &n->grad[0]));
  if (glab_node_needs(n, 0)) glab_tensor_share(&gin[0], &g);
  for (int i = 1; i < 3; i++)
    if (glab_node_needs(n, i)) TRY(glab_tensor_new(&gin[i], sd->dtype, sd->ndim, sd->shape));
  reparam_grad(sd->dtype, gin[1].storage ? glab_tensor_data(&gin[1]) : NULL,
               gin[2].storage ? glab_tensor_data(&gin[2]) : NULL, glab_tensor_data(&g),
               glab_tensor_data(sd), glab_tensor_data(eps), glab_tensor_numel(sd));
done:
  glab_tensor_free(&g);
  return s;
}

glab_status glab_nn_reparameterize(glab_var *z, const glab_var *mean, const glab_var *logvar,
                                   const glab_var *eps) {
  const glab_var *in[3] = {mean, logvar, eps};
  glab_tensor m = GLAB_TENSOR_EMPTY, lv = GLAB_TENSOR_EMPTY, ep = GLAB_TENSOR_EMPTY;
  glab_tensor sd = GLAB_TENSOR_EMPTY;
  glab_status s;
  TRY(latent_check("reparameterize", in, 3));
  const glab_tensor *t = &mean->t;
  TRY(glab_tensor_contiguous(&m, t));
  TRY(glab_tensor_contiguous(&lv, &logvar->t));
  TRY(glab_tensor_contiguous(&ep, &eps->t));
  TRY(glab_tensor_new(&sd, t->dtype, t->ndim, t->shape));
  TRY(glab_tensor_new(&z->t, t->dtype, t->ndim, t->shape));
  reparam(t->dtype, glab_tensor_data(&z->t), glab_tensor_data(&sd), glab_tensor_data(&m),
          glab_tensor_data(&lv), glab_tensor_data(&ep), glab_tensor_numel(t));
  s = glab_node_record(NULL, z, "reparameterize", reparam_backward, 3, in, &sd, &ep, NULL);
done:
  glab_tensor_free(&m);
  glab_tensor_free(&lv);
  glab_tensor_free(&ep);
  glab_tensor_free(&sd);
  return s;
}
