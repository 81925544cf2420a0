/*
** ops.c -- elementwise operations with numpy broadcasting (see ops.h).
**
** Every op runs through glab_iter: operands are expanded to the broadcast
** shape, contiguous dims merge, and a typed row kernel walks each innermost
** row.  The kernels are written once per op as an expression over `a` (and
** `b`); <tgmath.h> picks expf or exp from the element type.
*/
#include <string.h>
#include <tgmath.h>

#include "fastmath.h"
#include "iter.h"
#include "ops.h"

static const char *const binop_names[] = {
  "add", "sub", "mul", "div", "pow", "maximum", "minimum",
  "eq", "ne", "lt", "le", "gt", "ge"
};
static const char *const unop_names[] = {
  "neg", "abs", "exp", "log", "log1p", "expm1", "sqrt", "tanh", "sigmoid",
  "relu", "softplus", "square", "sin", "cos", "floor", "ceil", "round", "sign",
  "reciprocal", "erf", "erfc"
};

const char *glab_binop_name(glab_binop op) { return binop_names[op]; }
const char *glab_unop_name(glab_unop op) { return unop_names[op]; }

/* ---- row kernels -------------------------------------------------------------- */

/* A row of out = f(x, y) with a fast path for contiguous rows and for a
** scalar y (stride 0), the common `x * 2` and `x + bias` cases. */
#define BINARY_ROW(T, EXPR)                                                  \
  do {                                                                       \
    T *o = (T *)p[0];                                                        \
    const T *x = (const T *)p[1], *y = (const T *)p[2];                      \
    const int64_t e = (int64_t)sizeof(T);                                    \
    if (s[0] == e && s[1] == e && s[2] == e) {                               \
      for (int64_t i = 0; i < n; i++) { T a = x[i], b = y[i]; o[i] = (EXPR); } \
    } else if (s[0] == e && s[1] == e && s[2] == 0) {                        \
      T b = *y;                                                              \
      for (int64_t i = 0; i < n; i++) { T a = x[i]; o[i] = (EXPR); }         \
    } else {                                                                 \
      for (int64_t i = 0; i < n; i++) {                                      \
        T a = *(const T *)(p[1] + i * s[1]);                                 \
        T b = *(const T *)(p[2] + i * s[2]);                                 \
        *(T *)(p[0] + i * s[0]) = (EXPR);                                    \
      }                                                                      \
    }                                                                        \
  } while (0)

#define UNARY_ROW(T, EXPR)                                                   \
  do {                                                                       \
    const int64_t e = (int64_t)sizeof(T);                                    \
    if (s[0] == e && s[1] == e) {                                            \
      T *o = (T *)p[0];                                                      \
      const T *x = (const T *)p[1];                                          \
      for (int64_t i = 0; i < n; i++) { T a = x[i]; o[i] = (EXPR); }         \
    } else {                                                                 \
      for (int64_t i = 0; i < n; i++) {                                      \
        T a = *(const T *)(p[1] + i * s[1]);                                 \
        *(T *)(p[0] + i * s[0]) = (EXPR);                                    \
      }                                                                      \
    }                                                                        \
  } while (0)

#define BINARY_CASES(T)                                                      \
  switch (op) {                                                              \
    case GLAB_ADD: BINARY_ROW(T, a + b); break;                              \
    case GLAB_SUB: BINARY_ROW(T, a - b); break;                              \
    case GLAB_MUL: BINARY_ROW(T, a * b); break;                              \
    case GLAB_DIV: BINARY_ROW(T, a / b); break;                              \
    case GLAB_POW: BINARY_ROW(T, b == 2 ? a * a : pow(a, b)); break;         \
    case GLAB_MAXIMUM: BINARY_ROW(T, (a > b || a != a) ? a : b); break;      \
    case GLAB_MINIMUM: BINARY_ROW(T, (a < b || a != a) ? a : b); break;      \
    case GLAB_EQ: BINARY_ROW(T, (T)(a == b)); break;                         \
    case GLAB_NE: BINARY_ROW(T, (T)(a != b)); break;                         \
    case GLAB_LT: BINARY_ROW(T, (T)(a < b)); break;                          \
    case GLAB_LE: BINARY_ROW(T, (T)(a <= b)); break;                         \
    case GLAB_GT: BINARY_ROW(T, (T)(a > b)); break;                          \
    case GLAB_GE: BINARY_ROW(T, (T)(a >= b)); break;                         \
  }

/* Through <tgmath.h>, exp, log, ... of a float are expf, logf, ...: float32
** rows run in float32, as a float32 user expects of their speed. */
#define TANH(a) _Generic((a), float: glab_tanhf, default: tanh)(a)
#define EXP(a) _Generic((a), float: glab_expf, default: exp)(a)
#define SIGMOID(a) _Generic((a), float: glab_sigmoidf, default: sigmoid)(a)

/* Written to avoid overflow of exp for large |a|. */
static double sigmoid(double a) { return a >= 0 ? 1 / (1 + exp(-a)) : exp(a) / (1 + exp(a)); }

/* softplus is written to avoid overflow of exp for large |a|. */
#define UNARY_CASES(T)                                                       \
  switch (op) {                                                              \
    case GLAB_NEG: UNARY_ROW(T, -a); break;                                  \
    case GLAB_ABS: UNARY_ROW(T, fabs(a)); break;                             \
    case GLAB_EXP: UNARY_ROW(T, EXP(a)); break;                              \
    case GLAB_LOG: UNARY_ROW(T, log(a)); break;                              \
    case GLAB_LOG1P: UNARY_ROW(T, log1p(a)); break;                          \
    case GLAB_EXPM1: UNARY_ROW(T, expm1(a)); break;                          \
    case GLAB_SQRT: UNARY_ROW(T, sqrt(a)); break;                            \
    case GLAB_TANH: UNARY_ROW(T, TANH(a)); break;                            \
    case GLAB_SIGMOID: UNARY_ROW(T, SIGMOID(a)); break;                      \
    case GLAB_RELU: UNARY_ROW(T, a > 0 ? a : (a != a ? a : 0)); break;       \
    case GLAB_SOFTPLUS:                                                      \
      UNARY_ROW(T, (a > 0 ? a : 0) + log1p(exp(-fabs(a))));                  \
      break;                                                                 \
    case GLAB_SQUARE: UNARY_ROW(T, a * a); break;                            \
    case GLAB_SIN: UNARY_ROW(T, sin(a)); break;                              \
    case GLAB_COS: UNARY_ROW(T, cos(a)); break;                              \
    case GLAB_FLOOR: UNARY_ROW(T, floor(a)); break;                          \
    case GLAB_CEIL: UNARY_ROW(T, ceil(a)); break;                            \
    case GLAB_ROUND: UNARY_ROW(T, round(a)); break;                          \
    case GLAB_SIGN: UNARY_ROW(T, (T)((a > 0) - (a < 0))); break;             \
    case GLAB_RECIPROCAL: UNARY_ROW(T, 1 / a); break;                        \
    case GLAB_ERF: UNARY_ROW(T, erf(a)); break;                              \
    case GLAB_ERFC: UNARY_ROW(T, erfc(a)); break;                            \
  }

typedef struct { int op; glab_dtype dt; double lo, hi; } kernel_ctx;

static void binary_row(char **p, const int64_t *s, int64_t n, void *ctx) {
  const kernel_ctx *k = ctx;
  glab_binop op = (glab_binop)k->op;
  if (k->dt == GLAB_F64) { BINARY_CASES(double) }
  else { BINARY_CASES(float) }
}

GLAB_MULTIVERSION static void unary_row(char **p, const int64_t *s, int64_t n, void *ctx) {
  const kernel_ctx *k = ctx;
  glab_unop op = (glab_unop)k->op;
  if (k->dt == GLAB_F64) { UNARY_CASES(double) }
  else { UNARY_CASES(float) }
}

static void clamp_row(char **p, const int64_t *s, int64_t n, void *ctx) {
  const kernel_ctx *k = ctx;
  if (k->dt == GLAB_F64) {
    double lo = k->lo, hi = k->hi;
    UNARY_ROW(double, a < lo ? lo : (a > hi ? hi : a));
  } else {
    float lo = (float)k->lo, hi = (float)k->hi;
    UNARY_ROW(float, a < lo ? lo : (a > hi ? hi : a));
  }
}

static void where_row(char **p, const int64_t *s, int64_t n, void *ctx) {
  const kernel_ctx *k = ctx;
  size_t es = glab_dtype_size(k->dt);
  for (int64_t i = 0; i < n; i++) {
    const char *m = p[1] + i * s[1];
    int take = k->op == GLAB_F64 ? *(const double *)m != 0 : *(const float *)m != 0;
    memcpy(p[0] + i * s[0], (take ? p[2] + i * s[2] : p[3] + i * s[3]), es);
  }
}

/* ---- drivers -------------------------------------------------------------------- */

/* Operands of one elementwise op after promotion and broadcasting. */
typedef struct {
  int n;
  glab_tensor owned[GLAB_ITER_MAXOPS];   /* promoted copies and expanded views */
  const glab_tensor *ops[GLAB_ITER_MAXOPS];
  int ndim;
  int64_t shape[GLAB_MAXDIM];
  glab_dtype dt;
} operands;

static void operands_free(operands *o) {
  for (int k = 0; k < GLAB_ITER_MAXOPS; k++) glab_tensor_free(&o->owned[k]);
}

/* Broadcast ins[0..n) (slot 0 is the output, filled later) and promote the
** inputs to dt; a mask input (slot `mask`, or -1) keeps its own dtype. */
static glab_status operands_init(operands *o, const glab_tensor *const *ins,
                                 int n, int mask, const char *op) {
  memset(o, 0, sizeof *o);
  o->n = n + 1;
  o->dt = GLAB_F32;
  for (int k = 0; k < n; k++)
    if (k != mask && ins[k]->dtype == GLAB_F64) o->dt = GLAB_F64;
  o->ndim = ins[0]->ndim;
  for (int i = 0; i < o->ndim; i++) o->shape[i] = ins[0]->shape[i];
  for (int k = 1; k < n; k++) {
    int64_t sh[GLAB_MAXDIM];
    int nd;
    glab_status s = glab_broadcast_shape(sh, &nd, o->ndim, o->shape, ins[k]->ndim,
                                         ins[k]->shape, op);
    if (s != GLAB_OK) return s;
    o->ndim = nd;
    memcpy(o->shape, sh, sizeof sh);
  }
  for (int k = 0; k < n; k++) {
    glab_tensor prom = GLAB_TENSOR_EMPTY;
    const glab_tensor *src = ins[k];
    if (k != mask && src->dtype != o->dt) {
      glab_status s = glab_tensor_astype(&prom, src, o->dt);
      if (s != GLAB_OK) { operands_free(o); return s; }
      src = &prom;
    }
    glab_tensor_expand(&o->owned[k + 1], src, o->ndim, o->shape);
    glab_tensor_free(&prom);
    o->ops[k + 1] = &o->owned[k + 1];
  }
  return GLAB_OK;
}

/* Inputs that overlap an existing out (an in-place op, or a view of one
** tensor written from another view of it) are read from copies, unless they
** share out's layout exactly: the result is as if every input were copied
** first.  The copies replace the expanded views in o->owned. */
static glab_status unalias_inputs(operands *o, const glab_tensor *out) {
  for (int k = 1; k < o->n; k++) {
    glab_tensor tmp = GLAB_TENSOR_EMPTY;
    const glab_tensor *use;
    glab_status s = glab_tensor_unalias(&use, &tmp, out, o->ops[k]);
    if (s != GLAB_OK) return s;
    if (use == &tmp) glab_tensor_move(&o->owned[k], &tmp);
  }
  return GLAB_OK;
}

/* Allocate or check out, then run fn over every element. */
static glab_status run(glab_tensor *out, operands *o, glab_iter_fn fn,
                       kernel_ctx *ctx, const char *op) {
  int fresh = out->storage == NULL;
  glab_status s = glab_tensor_prepare(out, o->dt, o->ndim, o->shape, op);
  if (s == GLAB_OK && !fresh) s = unalias_inputs(o, out);
  if (s == GLAB_OK) {
    glab_iter it;
    o->ops[0] = out;
    ctx->dt = o->dt;
    glab_iter_init(&it, o->n, o->ops, o->ndim, o->shape);
    glab_iter_run(&it, fn, ctx);
  }
  operands_free(o);
  return s;
}

glab_status glab_binary(glab_tensor *out, glab_binop op, const glab_tensor *a,
                        const glab_tensor *b) {
  const glab_tensor *ins[2] = {a, b};
  operands o;
  kernel_ctx k = {op, GLAB_F32, 0, 0};
  glab_status s = operands_init(&o, ins, 2, -1, binop_names[op]);
  return s != GLAB_OK ? s : run(out, &o, binary_row, &k, binop_names[op]);
}

glab_status glab_binary_scalar(glab_tensor *out, glab_binop op,
                               const glab_tensor *a, double v, int scalar_first) {
  /* The scalar lives on the stack as a 0-d tensor of a's dtype. */
  union { float f; double d; } cell;
  glab_storage st = {&cell, sizeof cell, 1, 0};
  glab_tensor sc = GLAB_TENSOR_EMPTY;
  sc.storage = &st;
  sc.dtype = a->dtype;
  if (a->dtype == GLAB_F64) cell.d = v;
  else cell.f = (float)v;
  st.refs = 2;     /* never reaches 0: nothing may free the stack cell */
  return scalar_first ? glab_binary(out, op, &sc, a) : glab_binary(out, op, a, &sc);
}

glab_status glab_unary(glab_tensor *out, glab_unop op, const glab_tensor *a) {
  operands o;
  kernel_ctx k = {op, GLAB_F32, 0, 0};
  glab_status s = operands_init(&o, &a, 1, -1, unop_names[op]);
  return s != GLAB_OK ? s : run(out, &o, unary_row, &k, unop_names[op]);
}

glab_status glab_clamp(glab_tensor *out, const glab_tensor *a, double lo,
                       double hi) {
  if (lo > hi) return glab_fail(GLAB_EARG, "clamp: min %g is above max %g", lo, hi);
  operands o;
  kernel_ctx k = {0, GLAB_F32, lo, hi};
  glab_status s = operands_init(&o, &a, 1, -1, "clamp");
  return s != GLAB_OK ? s : run(out, &o, clamp_row, &k, "clamp");
}

glab_status glab_where(glab_tensor *out, const glab_tensor *mask,
                       const glab_tensor *a, const glab_tensor *b) {
  const glab_tensor *ins[3] = {mask, a, b};
  operands o;
  kernel_ctx k = {mask->dtype, GLAB_F32, 0, 0};
  glab_status s = operands_init(&o, ins, 3, 0, "where");
  return s != GLAB_OK ? s : run(out, &o, where_row, &k, "where");
}
