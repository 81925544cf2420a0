/*
** ag_math.c -- elementwise operations, reductions, scans and matrix
** products, recorded for autograd; each backward rule follows its forward.
** The rules compute with the tensor API in the gradients' dtype.
*/
#include <math.h>
#include <string.h>

#include "../tensor/parallel.h"
#include "../tensor/fastmath.h"
#include "node.h"

/* gin = sum_to(t, shape of saved[slot]) and t freed. */
static glab_status reduce_into(glab_tensor *gin, glab_tensor *t, const glab_tensor *like) {
  glab_status s = glab_sum_to(gin, t, like->ndim, like->shape);
  glab_tensor_free(t);
  return s;
}

/* ---- binary ------------------------------------------------------------------------ */

/* saved: a, b, out (shapes for the reductions; values where the rule needs them) */
static glab_status binary_backward(glab_node *n, glab_tensor *gin) {
  glab_binop op = (glab_binop)n->iarg[0];
  const glab_tensor *g = &n->grad[0], *a = &n->saved[0], *b = &n->saved[1];
  const glab_tensor *y = &n->saved[2];
  glab_tensor ta = GLAB_TENSOR_EMPTY, tb = GLAB_TENSOR_EMPTY, m = GLAB_TENSOR_EMPTY;
  glab_status s = GLAB_OK;
  switch (op) {
    case GLAB_ADD: case GLAB_SUB:
      glab_tensor_share(&ta, g);
      if (glab_node_needs(n, 1)) {
        if (op == GLAB_ADD) glab_tensor_share(&tb, g);
        else TRY(glab_unary(&tb, GLAB_NEG, g));
      }
      break;
    case GLAB_MUL:
      if (glab_node_needs(n, 0)) TRY(glab_binary(&ta, GLAB_MUL, g, b));
      if (glab_node_needs(n, 1)) TRY(glab_binary(&tb, GLAB_MUL, g, a));
      break;
    case GLAB_DIV:                                   /* d/db a/b = -y/b */
      TRY(glab_binary(&ta, GLAB_DIV, g, b));
      if (glab_node_needs(n, 1)) {
        TRY(glab_binary(&tb, GLAB_MUL, &ta, y));
        TRY(glab_unary(&tb, GLAB_NEG, &tb));
      }
      if (!glab_node_needs(n, 0)) glab_tensor_free(&ta);
      break;
    case GLAB_POW:                                   /* b a^(b-1), y log a */
      if (glab_node_needs(n, 0)) {                   /* 0 where b = 0 (0 a^-1 at a = 0) */
        TRY(glab_binary_scalar(&m, GLAB_SUB, b, 1.0, 0));
        TRY(glab_binary(&ta, GLAB_POW, a, &m));
        TRY(glab_binary(&ta, GLAB_MUL, &ta, b));
        glab_tensor_free(&m);
        TRY(glab_binary_scalar(&m, GLAB_NE, b, 0.0, 0));
        TRY(glab_where(&ta, &m, &ta, &m));
        TRY(glab_binary(&ta, GLAB_MUL, &ta, g));
      }
      if (glab_node_needs(n, 1)) {       /* 0 where a = 0 and b >= 0 (y log a -> 0 there) */
        glab_tensor nz = GLAB_TENSOR_EMPTY, neg = GLAB_TENSOR_EMPTY;
        glab_tensor_free(&m);
        TRY(glab_unary(&m, GLAB_LOG, a));
        TRY(glab_binary(&tb, GLAB_MUL, y, &m));
        glab_tensor_free(&m);
        s = glab_binary_scalar(&nz, GLAB_NE, a, 0.0, 0);
        if (s == GLAB_OK) s = glab_binary_scalar(&neg, GLAB_LT, b, 0.0, 0);
        if (s == GLAB_OK) s = glab_binary(&m, GLAB_MAXIMUM, &nz, &neg);
        glab_tensor_free(&nz);
        glab_tensor_free(&neg);
        if (s != GLAB_OK) goto done;
        TRY(glab_where(&tb, &m, &tb, &m));
        TRY(glab_binary(&tb, GLAB_MUL, &tb, g));
      }
      break;
    case GLAB_MAXIMUM: case GLAB_MINIMUM: {           /* ties share the gradient */
      glab_tensor eq = GLAB_TENSOR_EMPTY;
      TRY(glab_binary(&m, op == GLAB_MAXIMUM ? GLAB_GT : GLAB_LT, a, b));
      s = glab_binary(&eq, GLAB_EQ, a, b);
      if (s == GLAB_OK) s = glab_binary_scalar(&eq, GLAB_MUL, &eq, 0.5, 0);
      if (s == GLAB_OK) s = glab_binary(&m, GLAB_ADD, &m, &eq);
      glab_tensor_free(&eq);
      if (s != GLAB_OK) goto done;
      TRY(glab_binary(&ta, GLAB_MUL, g, &m));
      if (glab_node_needs(n, 1)) TRY(glab_binary(&tb, GLAB_SUB, g, &ta));
      break;
    }
    default:
      break;
  }
  if (glab_node_needs(n, 0) && ta.storage) TRY(reduce_into(&gin[0], &ta, a));
  if (glab_node_needs(n, 1) && tb.storage) TRY(reduce_into(&gin[1], &tb, b));
done:
  glab_tensor_free(&ta);
  glab_tensor_free(&tb);
  glab_tensor_free(&m);
  return s;
}

static int is_comparison(glab_binop op) { return op >= GLAB_EQ; }

glab_status glab_ag_binary(glab_var *out, glab_binop op, const glab_var *a,
                           const glab_var *b) {
  glab_status s = glab_binary(&out->t, op, &a->t, &b->t);
  if (s != GLAB_OK || is_comparison(op)) return s;
  const glab_var *in[2] = {a, b};
  glab_node *n;
  s = glab_node_record(&n, out, glab_binop_name(op), binary_backward, 2, in, &a->t, &b->t,
                       &out->t);
  if (n) {
    n->iarg[0] = op;
    /* values the rule does not read are kept as shapes only: mul reads each
    ** operand for the other's gradient, div b (and y for b's), pow all */
    int need_a = glab_node_needs(n, 0), need_b = glab_node_needs(n, 1);
    int keep_a = op == GLAB_MUL ? need_b : op != GLAB_ADD && op != GLAB_SUB && op != GLAB_DIV;
    int keep_b = op == GLAB_MUL ? need_a : op != GLAB_ADD && op != GLAB_SUB;
    int keep_y = (op == GLAB_DIV && need_b) || (op == GLAB_POW && need_b);
    if (!keep_a) glab_node_save_meta(n, 0, &n->saved[0]);
    if (!keep_b) glab_node_save_meta(n, 1, &n->saved[1]);
    if (!keep_y) glab_node_save_meta(n, 2, &n->saved[2]);
  }
  return s;
}

/* saved: a, out; arg[0] the scalar; iarg: op, scalar_first */
static glab_status binary_scalar_backward(glab_node *n, glab_tensor *gin) {
  glab_binop op = (glab_binop)n->iarg[0];
  int first = (int)n->iarg[1];
  double c = n->arg[0];
  const glab_tensor *g = &n->grad[0], *a = &n->saved[0], *y = &n->saved[1];
  glab_tensor m = GLAB_TENSOR_EMPTY;
  glab_status s = GLAB_OK;
  switch (op) {
    case GLAB_ADD: glab_tensor_share(&gin[0], g); break;
    case GLAB_SUB:
      if (first) s = glab_unary(&gin[0], GLAB_NEG, g);
      else glab_tensor_share(&gin[0], g);
      break;
    case GLAB_MUL: s = glab_binary_scalar(&gin[0], GLAB_MUL, g, c, 0); break;
    case GLAB_DIV:
      if (!first) { s = glab_binary_scalar(&gin[0], GLAB_DIV, g, c, 0); break; }
      TRY(glab_binary(&m, GLAB_DIV, y, a));                      /* c/a: -y/a */
      TRY(glab_binary(&gin[0], GLAB_MUL, g, &m));
      s = glab_unary(&gin[0], GLAB_NEG, &gin[0]);
      break;
    case GLAB_POW:
      if (!first && c == 0) {                       /* a^0 = 1: no slope, at a = 0 too */
        s = glab_tensor_full(&gin[0], g->dtype, g->ndim, g->shape, 0.0);
        break;
      }
      if (first) {                                               /* c^a: y log c */
        TRY(glab_binary_scalar(&gin[0], GLAB_MUL, y, log(c), 0));
        if (c == 0) {                   /* 0^a is 0 or 1 for a >= 0, no slope; inf below */
          TRY(glab_binary_scalar(&m, GLAB_LT, a, 0.0, 0));
          TRY(glab_where(&gin[0], &m, &gin[0], &m));
        }
      } else {                                                   /* a^c: c a^(c-1) */
        TRY(glab_binary_scalar(&gin[0], GLAB_POW, a, c - 1.0, 0));
        TRY(glab_binary_scalar(&gin[0], GLAB_MUL, &gin[0], c, 0));
      }
      s = glab_binary(&gin[0], GLAB_MUL, &gin[0], g);
      break;
    case GLAB_MAXIMUM: case GLAB_MINIMUM:
      TRY(glab_binary_scalar(&m, op == GLAB_MAXIMUM ? GLAB_GE : GLAB_LE, a, c, 0));
      s = glab_binary(&gin[0], GLAB_MUL, g, &m);
      break;
    default: break;
  }
done:
  glab_tensor_free(&m);
  return s;
}

glab_status glab_ag_binary_scalar(glab_var *out, glab_binop op, const glab_var *a,
                                  double c, int scalar_first) {
  glab_status s = glab_binary_scalar(&out->t, op, &a->t, c, scalar_first);
  if (s != GLAB_OK || is_comparison(op)) return s;
  glab_node *n;
  s = glab_node_record(&n, out, glab_binop_name(op), binary_scalar_backward, 1, &a, &a->t,
                       &out->t, NULL);
  if (n) {
    n->iarg[0] = op;
    n->iarg[1] = scalar_first;
    n->arg[0] = c;
    /* values the rule does not read are kept as shapes only */
    int keep_a = (op == GLAB_DIV && scalar_first) || (op == GLAB_POW && (!scalar_first || c == 0)) ||
                 op == GLAB_MAXIMUM || op == GLAB_MINIMUM;
    int keep_y = (op == GLAB_DIV || op == GLAB_POW) && scalar_first;
    if (!keep_a) glab_node_save_meta(n, 0, &n->saved[0]);
    if (!keep_y) glab_node_save_meta(n, 1, &n->saved[1]);
  }
  return s;
}

/* ---- unary --------------------------------------------------------------------------- */

/* The derivative dy/da into d, from a and y = op(a).  An op with a zero
** derivative leaves d empty. */
static glab_status derivative(glab_tensor *d, glab_unop op, const glab_tensor *a,
                              const glab_tensor *y) {
  glab_status s = GLAB_OK;
  switch (op) {
    case GLAB_NEG: return glab_tensor_full(d, a->dtype, a->ndim, a->shape, -1.0);
    case GLAB_ABS: case GLAB_SIGN: return op == GLAB_ABS ? glab_unary(d, GLAB_SIGN, a) : GLAB_OK;
    case GLAB_EXP: glab_tensor_share(d, y); return GLAB_OK;
    case GLAB_LOG: return glab_unary(d, GLAB_RECIPROCAL, a);
    case GLAB_LOG1P:
      if ((s = glab_binary_scalar(d, GLAB_ADD, a, 1.0, 0)) != GLAB_OK) return s;
      return glab_unary(d, GLAB_RECIPROCAL, d);
    case GLAB_EXPM1: return glab_binary_scalar(d, GLAB_ADD, y, 1.0, 0);
    case GLAB_SQRT: return glab_binary_scalar(d, GLAB_DIV, y, 0.5, 1);      /* 0.5 / y */
    case GLAB_TANH:                                                        /* 1 - y^2 */
      if ((s = glab_binary(d, GLAB_MUL, y, y)) != GLAB_OK) return s;
      return glab_binary_scalar(d, GLAB_SUB, d, 1.0, 1);
    case GLAB_SIGMOID:                                                     /* y (1 - y) */
      if ((s = glab_binary_scalar(d, GLAB_SUB, y, 1.0, 1)) != GLAB_OK) return s;
      return glab_binary(d, GLAB_MUL, d, y);
    case GLAB_RELU: return glab_binary_scalar(d, GLAB_GT, y, 0.0, 0);       /* y > 0 iff a > 0 */
    case GLAB_SOFTPLUS: return glab_unary(d, GLAB_SIGMOID, a);
    case GLAB_SQUARE: return glab_binary_scalar(d, GLAB_MUL, a, 2.0, 0);
    case GLAB_SIN: return glab_unary(d, GLAB_COS, a);
    case GLAB_COS:
      if ((s = glab_unary(d, GLAB_SIN, a)) != GLAB_OK) return s;
      return glab_unary(d, GLAB_NEG, d);
    case GLAB_RECIPROCAL:                                                  /* -y^2 */
      if ((s = glab_binary(d, GLAB_MUL, y, y)) != GLAB_OK) return s;
      return glab_unary(d, GLAB_NEG, d);
    case GLAB_ERF: case GLAB_ERFC:                          /* +-2/sqrt(pi) exp(-a^2) */
      if ((s = glab_binary(d, GLAB_MUL, a, a)) != GLAB_OK) return s;
      if ((s = glab_unary(d, GLAB_NEG, d)) != GLAB_OK) return s;
      if ((s = glab_unary(d, GLAB_EXP, d)) != GLAB_OK) return s;
      return glab_binary_scalar(d, GLAB_MUL, d, (op == GLAB_ERF ? 2 : -2) / sqrt(M_PI), 0);
    case GLAB_FLOOR: case GLAB_CEIL: case GLAB_ROUND:
      return GLAB_OK;
  }
  return GLAB_OK;
}

/* gin = g f'(a) in one pass, for the activations of a network (relu,
** sigmoid, tanh) when g, a and y = f(a) are contiguous alike: no derivative
** tensor in between.  The result goes into g's own storage when nothing
** else holds it (a warm buffer instead of a fresh one), and a large one is
** split among the threads: a CNN's first ReLU sees 800 k values a step. */
typedef struct {
  glab_unop op;
  const glab_tensor *g, *y;
  glab_tensor *out;
} act_job;

/* o = g f'(a) from y = f(a), over m values. */
GLAB_MULTIVERSION static void act_grad_f32(glab_unop op, float *o, const float *g, const float *y,
                                           int64_t m) {
  if (op == GLAB_RELU)                      /* both loaded: a select, no branch */
    for (int64_t i = 0; i < m; i++) { float gi = g[i]; o[i] = y[i] > 0 ? gi : 0; }
  else if (op == GLAB_SIGMOID)
    for (int64_t i = 0; i < m; i++) o[i] = g[i] * (y[i] * (1 - y[i]));
  else for (int64_t i = 0; i < m; i++) o[i] = g[i] * (1 - y[i] * y[i]);
}

GLAB_MULTIVERSION static void act_grad_f64(glab_unop op, double *o, const double *g,
                                           const double *y, int64_t m) {
  if (op == GLAB_RELU)
    for (int64_t i = 0; i < m; i++) { double gi = g[i]; o[i] = y[i] > 0 ? gi : 0; }
  else if (op == GLAB_SIGMOID)
    for (int64_t i = 0; i < m; i++) o[i] = g[i] * (y[i] * (1 - y[i]));
  else for (int64_t i = 0; i < m; i++) o[i] = g[i] * (1 - y[i] * y[i]);
}

void glab_act_grad_row(glab_unop op, glab_dtype dt, void *o, const void *g, const void *y,
                       int64_t n) {
  if (dt == GLAB_F64) act_grad_f64(op, o, g, y, n);
  else act_grad_f32(op, o, g, y, n);
}

/* Share t of n: whole cache lines apiece (o may be g itself). */
static void act_share(void *arg, int t, int n) {
  act_job *j = arg;
  int64_t i0, i1;
  glab_parallel_share(glab_tensor_numel(j->g), t, n, 16, &i0, &i1);
  glab_act_grad_row(j->op, j->g->dtype, glab_elem(j->out, i0), glab_elem(j->g, i0),
                    glab_elem(j->y, i0), i1 - i0);
}

#define ACT_SPLIT ((int64_t)1 << 17)   /* values below which one thread does it */

static int act_grad(glab_status *s, glab_tensor *out, glab_unop op, const glab_tensor *gt,
                    const glab_tensor *yt) {
  if (op != GLAB_RELU && op != GLAB_SIGMOID && op != GLAB_TANH) return 0;
  const glab_tensor *ts[2] = {gt, yt};
  for (int k = 0; k < 2; k++)
    if (!glab_tensor_is_contiguous(ts[k]) || ts[k]->dtype != gt->dtype ||
        ts[k]->ndim != gt->ndim || memcmp(ts[k]->shape, gt->shape, sizeof gt->shape[0] * gt->ndim))
      return 0;
  if (gt->storage->refs == 1) glab_tensor_share(out, gt);      /* only the node holds g */
  else if ((*s = glab_tensor_new(out, gt->dtype, gt->ndim, gt->shape)) != GLAB_OK) return 1;
  *s = GLAB_OK;
  act_job j = {op, gt, yt, out};
  int64_t m = glab_tensor_numel(gt);
  int nt = glab_get_num_threads();
  if (m >= ACT_SPLIT && nt > 1) glab_parallel(nt, act_share, &j);
  else act_share(&j, 0, 1);
  return 1;
}

static glab_status unary_backward(glab_node *n, glab_tensor *gin) {
  glab_tensor d = GLAB_TENSOR_EMPTY;
  glab_status s;
  if (act_grad(&s, &gin[0], (glab_unop)n->iarg[0], &n->grad[0], &n->saved[1]))
    return s;
  const glab_tensor *g = &n->grad[0];
  s = derivative(&d, (glab_unop)n->iarg[0], &n->saved[0], &n->saved[1]);
  if (s == GLAB_OK && d.storage) s = glab_binary(&gin[0], GLAB_MUL, g, &d);
  else if (s == GLAB_OK)               /* sign and the roundings: flat, a zero gradient */
    s = glab_tensor_full(&gin[0], g->dtype, g->ndim, g->shape, 0.0);
  glab_tensor_free(&d);
  return s;
}

glab_status glab_ag_unary(glab_var *out, glab_unop op, const glab_var *a) {
  glab_status s = glab_unary(&out->t, op, &a->t);
  if (s != GLAB_OK) return s;
  glab_node *n;
  s = glab_node_record(&n, out, glab_unop_name(op), unary_backward, 1, &a, &a->t, &out->t,
                       NULL);
  if (n) {
    n->iarg[0] = op;
    /* derivative() reads the input for these, the result for the others
    ** (neg, sign and the roundings read neither) */
    int reads_a = op == GLAB_ABS || op == GLAB_LOG || op == GLAB_LOG1P || op == GLAB_SOFTPLUS ||
                  op == GLAB_SQUARE || op == GLAB_SIN || op == GLAB_COS || op == GLAB_ERF ||
                  op == GLAB_ERFC;
    int reads_y = op == GLAB_EXP || op == GLAB_EXPM1 || op == GLAB_SQRT || op == GLAB_TANH ||
                  op == GLAB_SIGMOID || op == GLAB_RELU || op == GLAB_RECIPROCAL;
    if (!reads_a) glab_node_save_meta(n, 0, &n->saved[0]);
    if (!reads_y) glab_node_save_meta(n, 1, &n->saved[1]);
  }
  return s;
}

/* saved: a; arg: lo, hi.  The gradient passes where lo <= a <= hi and is 0
** elsewhere, selected rather than multiplied by a mask: an infinite
** incoming gradient times 0 would be NaN. */
static glab_status clamp_backward(glab_node *n, glab_tensor *gin) {
  glab_tensor m = GLAB_TENSOR_EMPTY, m2 = GLAB_TENSOR_EMPTY, z = GLAB_TENSOR_EMPTY;
  glab_status s = glab_binary_scalar(&m, GLAB_GE, &n->saved[0], n->arg[0], 0);
  if (s == GLAB_OK) s = glab_binary_scalar(&m2, GLAB_LE, &n->saved[0], n->arg[1], 0);
  if (s == GLAB_OK) s = glab_binary(&m, GLAB_MUL, &m, &m2);
  if (s == GLAB_OK) s = glab_tensor_full(&z, n->grad[0].dtype, 0, NULL, 0.0);
  if (s == GLAB_OK) s = glab_where(&gin[0], &m, &n->grad[0], &z);
  glab_tensor_free(&m);
  glab_tensor_free(&m2);
  glab_tensor_free(&z);
  return s;
}

glab_status glab_ag_clamp(glab_var *out, const glab_var *a, double lo, double hi) {
  glab_status s = glab_clamp(&out->t, &a->t, lo, hi);
  if (s != GLAB_OK) return s;
  glab_node *n;
  s = glab_node_record(&n, out, "clamp", clamp_backward, 1, &a, &a->t, NULL, NULL);
  if (n) {
    n->arg[0] = lo;
    n->arg[1] = hi;
  }
  return s;
}

/* saved: mask, a, b (for their shapes) */
static glab_status where_backward(glab_node *n, glab_tensor *gin) {
  glab_tensor z = GLAB_TENSOR_EMPTY, t = GLAB_TENSOR_EMPTY;
  const glab_tensor *g = &n->grad[0];
  glab_status s = glab_tensor_full(&z, g->dtype, 0, NULL, 0.0);
  for (int i = 1; s == GLAB_OK && i <= 2; i++) {
    if (!glab_node_needs(n, i)) continue;
    s = i == 1 ? glab_where(&t, &n->saved[0], g, &z) : glab_where(&t, &n->saved[0], &z, g);
    if (s == GLAB_OK) s = reduce_into(&gin[i], &t, &n->saved[i]);
  }
  glab_tensor_free(&z);
  glab_tensor_free(&t);
  return s;
}

glab_status glab_ag_where(glab_var *out, const glab_var *mask, const glab_var *a,
                          const glab_var *b) {
  glab_status s = glab_where(&out->t, &mask->t, &a->t, &b->t);
  if (s != GLAB_OK) return s;
  const glab_var *in[3] = {NULL, a, b};
  return glab_node_record(NULL, out, "where", where_backward, 3, in, &mask->t, &a->t, &b->t);
}

/* ---- reductions --------------------------------------------------------------------------- */

/* t (reduced over dim, or everything) as a view broadcast back to a's shape. */
static glab_status unreduce(glab_tensor *out, const glab_tensor *t, const glab_tensor *a,
                            int dim, int keepdim) {
  glab_tensor u = GLAB_TENSOR_EMPTY;
  glab_status s;
  if (dim == GLAB_ALLDIMS || keepdim) glab_tensor_share(&u, t);
  else if ((s = glab_tensor_unsqueeze(&u, t, dim)) != GLAB_OK) return s;
  s = glab_tensor_expand(out, &u, a->ndim, a->shape);
  glab_tensor_free(&u);
  return s;
}

/* For each entry of a, the product of the other entries of its line along
** dim (of all entries for GLAB_ALLDIMS): prod's derivative, exact where an
** entry is 0, where y / a would be 0/0.  Prefix times suffix products, in
** double, in a's dtype at the end. */
static glab_status prod_others(glab_tensor *out, const glab_tensor *a, int dim) {
  glab_tensor c = GLAB_TENSOR_EMPTY, r = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_astype(&c, a, GLAB_F64);
  if (s == GLAB_OK) s = glab_tensor_new(&r, GLAB_F64, a->ndim, a->shape);
  if (s == GLAB_OK) {
    int64_t n = dim == GLAB_ALLDIMS ? glab_tensor_numel(a) : a->shape[dim], inner = 1, outer = 1;
    for (int i = 0; dim != GLAB_ALLDIMS && i < a->ndim; i++)
      if (i < dim) outer *= a->shape[i];
      else if (i > dim) inner *= a->shape[i];
    const double *x = glab_tensor_data(&c);
    double *o = glab_tensor_data(&r);
    for (int64_t p = 0; p < outer; p++)
      for (int64_t q = 0; q < inner; q++) {
        int64_t base = p * n * inner + q;
        double acc = 1;
        for (int64_t i = 0; i < n; i++) { o[base + i * inner] = acc; acc *= x[base + i * inner]; }
        acc = 1;
        for (int64_t i = n - 1; i >= 0; i--) { o[base + i * inner] *= acc; acc *= x[base + i * inner]; }
      }
    s = glab_tensor_astype(out, &r, a->dtype);
  }
  glab_tensor_free(&c);
  glab_tensor_free(&r);
  return s;
}

static int64_t count(const glab_tensor *a, int dim) {
  return dim == GLAB_ALLDIMS ? glab_tensor_numel(a) : a->shape[dim];
}

/* saved: a, out; iarg: op, dim, keepdim, unbiased */
static glab_status reduce_backward(glab_node *n, glab_tensor *gin) {
  glab_redop op = (glab_redop)n->iarg[0];
  int dim = (int)n->iarg[1], keepdim = (int)n->iarg[2], unbiased = (int)n->iarg[3];
  const glab_tensor *a = &n->saved[0], *y = &n->saved[1];
  glab_tensor g = GLAB_TENSOR_EMPTY, ye = GLAB_TENSOR_EMPTY, t = GLAB_TENSOR_EMPTY;
  double cnt = (double)count(a, dim);
  glab_status s;
  TRY(unreduce(&g, &n->grad[0], a, dim, keepdim));
  switch (op) {
    case GLAB_SUM: glab_tensor_share(&gin[0], &g); break;
    case GLAB_MEAN: s = glab_binary_scalar(&gin[0], GLAB_DIV, &g, cnt, 0); break;
    case GLAB_PROD:                                /* the product of the others */
      TRY(prod_others(&t, a, dim));
      s = glab_binary(&gin[0], GLAB_MUL, &g, &t);
      break;
    case GLAB_MAX: case GLAB_MIN: {                               /* split among ties */
      glab_tensor c = GLAB_TENSOR_EMPTY;
      TRY(unreduce(&ye, y, a, dim, keepdim));
      TRY(glab_binary(&t, GLAB_EQ, a, &ye));
      s = glab_reduce(&c, GLAB_SUM, &t, dim, 1, 0);
      if (s == GLAB_OK) s = glab_binary(&t, GLAB_DIV, &t, &c);
      glab_tensor_free(&c);
      if (s == GLAB_OK) s = glab_binary(&gin[0], GLAB_MUL, &g, &t);
      break;
    }
    case GLAB_LOGSUMEXP:                                         /* exp(a - y) */
      TRY(unreduce(&ye, y, a, dim, keepdim));
      TRY(glab_binary(&t, GLAB_SUB, a, &ye));
      TRY(glab_unary(&t, GLAB_EXP, &t));
      s = glab_binary(&gin[0], GLAB_MUL, &g, &t);
      break;
    case GLAB_VAR: case GLAB_STD: {                              /* 2 (a - mean) / (N - u) */
      glab_tensor mu = GLAB_TENSOR_EMPTY, mue = GLAB_TENSOR_EMPTY;
      s = glab_reduce(&mu, GLAB_MEAN, a, dim, 1, 0);
      if (s == GLAB_OK) s = glab_tensor_expand(&mue, &mu, a->ndim, a->shape);
      if (s == GLAB_OK) s = glab_binary(&t, GLAB_SUB, a, &mue);
      glab_tensor_free(&mu);
      glab_tensor_free(&mue);
      if (s != GLAB_OK) goto done;
      TRY(glab_binary_scalar(&t, GLAB_MUL, &t, (op == GLAB_VAR ? 2.0 : 1.0) / (cnt - unbiased), 0));
      if (op == GLAB_STD) {                                      /* d std = d var / (2 std) */
        TRY(unreduce(&ye, y, a, dim, keepdim));
        TRY(glab_binary(&t, GLAB_DIV, &t, &ye));
      }
      s = glab_binary(&gin[0], GLAB_MUL, &g, &t);
      break;
    }
  }
done:
  glab_tensor_free(&g);
  glab_tensor_free(&ye);
  glab_tensor_free(&t);
  return s;
}

static const char *const redop_names[] = {"sum", "mean", "prod", "max", "min",
                                          "logsumexp", "var", "std"};

glab_status glab_ag_reduce(glab_var *out, glab_redop op, const glab_var *a, int dim,
                           int keepdim, int unbiased) {
  glab_status s = glab_reduce(&out->t, op, &a->t, dim, keepdim, unbiased);
  if (s != GLAB_OK) return s;
  glab_node *n;
  int values = op != GLAB_SUM && op != GLAB_MEAN;     /* sum and mean need shapes only */
  s = glab_node_record(&n, out, redop_names[op], reduce_backward, 1, &a,
                       values ? &a->t : NULL, values ? &out->t : NULL, NULL);
  if (n) {
    if (!values) glab_node_save_meta(n, 0, &a->t);
    if (op == GLAB_PROD) glab_node_save_meta(n, 1, &out->t);   /* prod_others reads a only */
    n->iarg[0] = op;
    n->iarg[1] = dim == GLAB_ALLDIMS ? dim : glab_dim(dim, a->t.ndim);
    n->iarg[2] = keepdim;
    n->iarg[3] = unbiased;
  }
  return s;
}

/* saved: a, idx (keepdim form); iarg: dim */
static glab_status argreduce_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *a = &n->saved[0], *idx = &n->saved[1];
  int dim = (int)n->iarg[0];
  glab_tensor g = GLAB_TENSOR_EMPTY;
  glab_status s;
  if (idx->ndim == n->grad[0].ndim) s = (glab_tensor_share(&g, &n->grad[0]), GLAB_OK);
  else s = glab_tensor_unsqueeze(&g, &n->grad[0], dim);
  if (s == GLAB_OK) s = glab_tensor_full(&gin[0], a->dtype, a->ndim, a->shape, 0.0);
  if (s == GLAB_OK) s = glab_scatter_add(&gin[0], dim, idx, &g);
  glab_tensor_free(&g);
  return s;
}

glab_status glab_ag_argreduce(glab_var *vals, glab_tensor *idx, int is_max,
                              const glab_var *a, int dim, int keepdim) {
  glab_tensor own = GLAB_TENSOR_EMPTY, kidx = GLAB_TENSOR_EMPTY;
  glab_tensor *ix = idx ? idx : &own;
  glab_status s = glab_argreduce(vals ? &vals->t : NULL, ix, is_max, &a->t, dim, keepdim);
  glab_node *n = NULL;
  if (s == GLAB_OK && vals && dim != GLAB_ALLDIMS)
    s = glab_node_new(&n, is_max ? "max" : "min", argreduce_backward, 1, &a);
  if (s != GLAB_OK || !n) goto done;
  dim = glab_dim(dim, a->t.ndim);
  /* a copy: the caller may shift its index tensor (Lua shows it 1-based) */
  if (keepdim) s = glab_tensor_clone(&kidx, ix);
  else {
    glab_tensor u = GLAB_TENSOR_EMPTY;
    s = glab_tensor_unsqueeze(&u, ix, dim);
    if (s == GLAB_OK) s = glab_tensor_clone(&kidx, &u);
    glab_tensor_free(&u);
  }
  if (s != GLAB_OK) { glab_node_unref(n); goto done; }
  n->iarg[0] = dim;
  glab_node_save_meta(n, 0, &a->t);        /* the rule needs a's shape, and the indices */
  glab_node_save(n, 1, &kidx);
  glab_node_output(n, vals, 0);
done:
  glab_tensor_free(&own);
  glab_tensor_free(&kidx);
  return s;
}

/* ---- scans ------------------------------------------------------------------------------ */

/* saved: out; iarg: op, dim */
static glab_status scan_backward(glab_node *n, glab_tensor *gin) {
  glab_scanop op = (glab_scanop)n->iarg[0];
  int dim = (int)n->iarg[1];
  glab_tensor t = GLAB_TENSOR_EMPTY, r = GLAB_TENSOR_EMPTY, re = GLAB_TENSOR_EMPTY;
  glab_tensor g1 = GLAB_TENSOR_EMPTY, y1 = GLAB_TENSOR_EMPTY, out = GLAB_TENSOR_EMPTY;
  glab_status s = GLAB_OK;
  const glab_tensor *g = &n->grad[0], *y = &n->saved[0];
  if (g->ndim == 0) {                     /* a 0-d input scans as one value in one dim */
    int64_t one = 1;
    TRY(glab_tensor_reshape(&g1, g, 1, &one));
    TRY(glab_tensor_reshape(&y1, y, 1, &one));
    g = &g1;
    y = &y1;
  }
  switch (op) {
    case GLAB_CUMSUM:                       /* reversed cumsum: total - cumsum + g */
      TRY(glab_reduce(&r, GLAB_SUM, g, dim, 1, 0));
      TRY(glab_tensor_expand(&re, &r, g->ndim, g->shape));
      TRY(glab_scan(&t, GLAB_CUMSUM, g, dim));
      TRY(glab_binary(&t, GLAB_SUB, &re, &t));
      s = glab_binary(&out, GLAB_ADD, &t, g);
      break;
    case GLAB_SOFTMAX:                      /* y (g - sum(g y)) */
      TRY(glab_binary(&t, GLAB_MUL, g, y));
      TRY(glab_reduce(&r, GLAB_SUM, &t, dim, 1, 0));
      TRY(glab_binary(&t, GLAB_SUB, g, &r));
      s = glab_binary(&out, GLAB_MUL, &t, y);
      break;
    case GLAB_LOG_SOFTMAX:                  /* g - exp(y) sum(g) */
      TRY(glab_reduce(&r, GLAB_SUM, g, dim, 1, 0));
      TRY(glab_unary(&t, GLAB_EXP, y));
      TRY(glab_binary(&t, GLAB_MUL, &t, &r));
      s = glab_binary(&out, GLAB_SUB, g, &t);
      break;
  }
  if (s == GLAB_OK)
    s = glab_tensor_reshape(&gin[0], &out, n->grad[0].ndim, n->grad[0].shape);
done:
  glab_tensor_free(&t);
  glab_tensor_free(&r);
  glab_tensor_free(&re);
  glab_tensor_free(&g1);
  glab_tensor_free(&y1);
  glab_tensor_free(&out);
  return s;
}

static const char *const scan_names[] = {"cumsum", "softmax", "log_softmax"};

glab_status glab_ag_scan(glab_var *out, glab_scanop op, const glab_var *a, int dim) {
  glab_status s = glab_scan(&out->t, op, &a->t, dim);
  if (s != GLAB_OK) return s;
  glab_node *n;
  s = glab_node_record(&n, out, scan_names[op], scan_backward, 1, &a, &out->t, NULL, NULL);
  if (n) {
    n->iarg[0] = op;
    n->iarg[1] = glab_dim(dim, a->t.ndim ? a->t.ndim : 1);
  }
  return s;
}

/* ---- matrix products ---------------------------------------------------------------------- */

/* A 1-d operand as the matrix matmul treats it: a row (k) -> (1 x k) for the
** left operand, a column (k x 1) for the right one. */
static glab_status as_matrix(glab_tensor *out, const glab_tensor *t, int right) {
  if (t->ndim != 1) { glab_tensor_share(out, t); return GLAB_OK; }
  return glab_tensor_unsqueeze(out, t, right ? 1 : 0);
}

/* saved: a, b; the gradient is g' b'^T and a'^T g' over the promoted shapes,
** summed over broadcast batch dims and reshaped back. */
static glab_status matmul_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *a = &n->saved[0], *b = &n->saved[1];
  glab_tensor A = GLAB_TENSOR_EMPTY, B = GLAB_TENSOR_EMPTY, G = GLAB_TENSOR_EMPTY;
  glab_tensor T = GLAB_TENSOR_EMPTY, P = GLAB_TENSOR_EMPTY, R = GLAB_TENSOR_EMPTY;
  glab_status s;
  TRY(as_matrix(&A, a, 0));
  TRY(as_matrix(&B, b, 1));
  {                                     /* g with the promoted dims put back */
    int64_t shape[GLAB_MAXDIM];
    int nd = n->grad[0].ndim;
    memcpy(shape, n->grad[0].shape, sizeof shape);
    if (a->ndim == 1 && b->ndim == 1) { nd = 2; shape[0] = shape[1] = 1; }
    else if (a->ndim == 1) { memmove(shape + nd, shape + nd - 1, sizeof *shape); shape[nd - 1] = 1; nd++; }
    else if (b->ndim == 1) shape[nd++] = 1;
    TRY(glab_tensor_view(&G, &n->grad[0], nd, shape));
  }
  for (int i = 0; i < 2; i++) {
    if (!glab_node_needs(n, i)) continue;
    const glab_tensor *M = i == 0 ? &B : &A, *orig = i == 0 ? a : b;
    TRY(glab_tensor_transpose(&T, M, M->ndim - 2, M->ndim - 1));
    TRY(i == 0 ? glab_matmul(&P, &G, &T) : glab_matmul(&P, &T, &G));
    const glab_tensor *Mi = i == 0 ? &A : &B;
    TRY(glab_sum_to(&R, &P, Mi->ndim, Mi->shape));
    TRY(glab_tensor_reshape(&gin[i], &R, orig->ndim, orig->shape));
    glab_tensor_free(&T);
    glab_tensor_free(&P);
    glab_tensor_free(&R);
  }
done:
  glab_tensor_free(&A);
  glab_tensor_free(&B);
  glab_tensor_free(&G);
  glab_tensor_free(&T);
  glab_tensor_free(&P);
  glab_tensor_free(&R);
  return s;
}

glab_status glab_ag_matmul(glab_var *out, const glab_var *a, const glab_var *b) {
  glab_status s = glab_matmul(&out->t, &a->t, &b->t);
  if (s != GLAB_OK) return s;
  const glab_var *in[2] = {a, b};
  glab_node *n;
  s = glab_node_record(&n, out, "matmul", matmul_backward, 2, in, &a->t, &b->t, NULL);
  if (n && !glab_node_needs(n, 1)) glab_node_save_meta(n, 0, &a->t);   /* a's values give b's */
  if (n && !glab_node_needs(n, 0)) glab_node_save_meta(n, 1, &b->t);   /* gradient, and back */
  return s;
}

/* saved: a, b; g is a scalar */
static glab_status dot_backward(glab_node *n, glab_tensor *gin) {
  glab_status s = GLAB_OK;
  if (glab_node_needs(n, 0)) s = glab_binary(&gin[0], GLAB_MUL, &n->saved[1], &n->grad[0]);
  if (s == GLAB_OK && glab_node_needs(n, 1)) s = glab_binary(&gin[1], GLAB_MUL, &n->saved[0], &n->grad[0]);
  return s;
}

glab_status glab_ag_dot(glab_var *out, const glab_var *a, const glab_var *b) {
  glab_status s = glab_dot(&out->t, &a->t, &b->t);
  if (s != GLAB_OK) return s;
  const glab_var *in[2] = {a, b};
  return glab_node_record(NULL, out, "dot", dot_backward, 2, in, &a->t, &b->t, NULL);
}

/* saved: a, b; ga = G b, gb = G^T a */
static glab_status outer_backward(glab_node *n, glab_tensor *gin) {
  glab_tensor T = GLAB_TENSOR_EMPTY;
  glab_status s = GLAB_OK;
  if (glab_node_needs(n, 0)) s = glab_matmul(&gin[0], &n->grad[0], &n->saved[1]);
  if (s == GLAB_OK && glab_node_needs(n, 1)) {
    s = glab_tensor_transpose(&T, &n->grad[0], 0, 1);
    if (s == GLAB_OK) s = glab_matmul(&gin[1], &T, &n->saved[0]);
  }
  glab_tensor_free(&T);
  return s;
}

glab_status glab_ag_outer(glab_var *out, const glab_var *a, const glab_var *b) {
  glab_status s = glab_outer(&out->t, &a->t, &b->t);
  if (s != GLAB_OK) return s;
  const glab_var *in[2] = {a, b};
  return glab_node_record(NULL, out, "outer", outer_backward, 2, in, &a->t, &b->t, NULL);
}
