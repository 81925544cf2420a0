/*
** ops.c -- elementwise operations with numpy broadcasting (see ops.h).
**
** Every op runs through glab_iter: operands are expanded to the broadcast
** shape, contiguous dims merge, and a typed row kernel walks each innermost
** row (see "row kernels" below).
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

/* Each op is a pair of small typed kernels over contiguous rows, one for
** float32 and one for double: o = f(x, y) elementwise (_vv) and with a scalar
** y (_vs), the common `x * 2` and `x + bias` cases; a unary op has one.  The
** one-line macros below only stamp out such a function from its expression
** over `a` (and `b`); <tgmath.h> picks expf or exp from the element type.
** Strided rows go through one generic driver that gathers them into
** contiguous chunks (strided_binary, strided_unary). */
typedef struct { int op; glab_dtype dt; double lo, hi; } kernel_ctx;
typedef void binary_fn(void *o, const void *x, const void *y, int64_t n);
typedef void unary_fn(void *o, const void *x, int64_t n, const kernel_ctx *k);

#define BINARY_KERNELS(NAME, T, EXPR)                                                      \
  static void NAME##_vv(void *o_, const void *x_, const void *y_, int64_t n) {             \
    T *o = o_; const T *x = x_, *y = y_;                                                   \
    for (int64_t i = 0; i < n; i++) { T a = x[i], b = y[i]; o[i] = (EXPR); } }             \
  static void NAME##_vs(void *o_, const void *x_, const void *y_, int64_t n) {             \
    T *o = o_; const T *x = x_, b = *(const T *)y_;                                        \
    for (int64_t i = 0; i < n; i++) { T a = x[i]; o[i] = (EXPR); } }
#define BINARY_OP(NAME, EXPR) BINARY_KERNELS(NAME##_f32, float, EXPR) \
                              BINARY_KERNELS(NAME##_f64, double, EXPR)

BINARY_OP(add, a + b)
BINARY_OP(sub, a - b)
BINARY_OP(mul, a * b)
BINARY_OP(div, a / b)
BINARY_OP(pow, b == 2 ? a * a : pow(a, b))
BINARY_OP(maximum, (a > b || a != a) ? a : b)
BINARY_OP(minimum, (a < b || a != a) ? a : b)
BINARY_OP(eq, (__typeof__(a))(a == b))
BINARY_OP(ne, (__typeof__(a))(a != b))
BINARY_OP(lt, (__typeof__(a))(a < b))
BINARY_OP(le, (__typeof__(a))(a <= b))
BINARY_OP(gt, (__typeof__(a))(a > b))
BINARY_OP(ge, (__typeof__(a))(a >= b))

/* [dtype is f64][scalar y][op] */
#define BINARY_ROWS(SFX, V) {                                                              \
    add_##SFX##_##V, sub_##SFX##_##V, mul_##SFX##_##V, div_##SFX##_##V, pow_##SFX##_##V,     \
    maximum_##SFX##_##V, minimum_##SFX##_##V, eq_##SFX##_##V, ne_##SFX##_##V,              \
    lt_##SFX##_##V, le_##SFX##_##V, gt_##SFX##_##V, ge_##SFX##_##V }
static binary_fn *const binary_kernels[2][2][GLAB_GE + 1] = {
  {BINARY_ROWS(f32, vv), BINARY_ROWS(f32, vs)},
  {BINARY_ROWS(f64, vv), BINARY_ROWS(f64, vs)},
};

/* Through <tgmath.h>, exp, log, ... of a float are expf, logf, ...: float32
** rows run in float32, as a float32 user expects of their speed. */
#define TANH(a) _Generic((a), float: glab_tanhf, default: tanh)(a)
#define EXP(a) _Generic((a), float: glab_expf, default: exp)(a)
#define SIGMOID(a) _Generic((a), float: glab_sigmoidf, default: sigmoid)(a)

/* Written to avoid overflow of exp for large |a|. */
static double sigmoid(double a) { return a >= 0 ? 1 / (1 + exp(-a)) : exp(a) / (1 + exp(a)); }

/* Built for the wider vector units too (GLAB_MULTIVERSION). */
#define UNARY_KERNEL(NAME, T, EXPR)                                                        \
  GLAB_MULTIVERSION static void NAME(void *o_, const void *x_, int64_t n,                  \
                                     const kernel_ctx *k) {                                \
    T *o = o_; const T *x = x_;                                                            \
    for (int64_t i = 0; i < n; i++) { T a = x[i]; o[i] = (EXPR); } }
#define UNARY_OP(NAME, EXPR) UNARY_KERNEL(NAME##_f32, float, EXPR) \
                             UNARY_KERNEL(NAME##_f64, double, EXPR)

UNARY_OP(neg, -a)
UNARY_OP(abs, fabs(a))
UNARY_OP(exp, EXP(a))
UNARY_OP(log, log(a))
UNARY_OP(log1p, log1p(a))
UNARY_OP(expm1, expm1(a))
UNARY_OP(sqrt, sqrt(a))
UNARY_OP(tanh, TANH(a))
UNARY_OP(sigmoid, SIGMOID(a))
UNARY_OP(relu, a > 0 ? a : (a != a ? a : 0))
UNARY_OP(softplus, (a > 0 ? a : 0) + log1p(exp(-fabs(a))))   /* no overflow of exp */
UNARY_OP(square, a * a)
UNARY_OP(sin, sin(a))
UNARY_OP(cos, cos(a))
UNARY_OP(floor, floor(a))
UNARY_OP(ceil, ceil(a))
UNARY_OP(round, round(a))
UNARY_OP(sign, a != a ? a : (__typeof__(a))((a > 0) - (a < 0)))
UNARY_OP(reciprocal, 1 / a)
UNARY_OP(erf, erf(a))
UNARY_OP(erfc, erfc(a))

#define UNARY_ROWS(SFX) {                                                                  \
    neg_##SFX, abs_##SFX, exp_##SFX, log_##SFX, log1p_##SFX, expm1_##SFX, sqrt_##SFX,      \
    tanh_##SFX, sigmoid_##SFX, relu_##SFX, softplus_##SFX, square_##SFX, sin_##SFX,        \
    cos_##SFX, floor_##SFX, ceil_##SFX, round_##SFX, sign_##SFX, reciprocal_##SFX,         \
    erf_##SFX, erfc_##SFX }
static unary_fn *const unary_kernels[2][GLAB_ERFC + 1] = {UNARY_ROWS(f32), UNARY_ROWS(f64)};

static void clamp_f32(void *o_, const void *x_, int64_t n, const kernel_ctx *k) {
  float *o = o_, lo = (float)k->lo, hi = (float)k->hi;
  const float *x = x_;
  for (int64_t i = 0; i < n; i++) { float a = x[i]; o[i] = a < lo ? lo : (a > hi ? hi : a); }
}

static void clamp_f64(void *o_, const void *x_, int64_t n, const kernel_ctx *k) {
  double *o = o_, lo = k->lo, hi = k->hi;
  const double *x = x_;
  for (int64_t i = 0; i < n; i++) { double a = x[i]; o[i] = a < lo ? lo : (a > hi ? hi : a); }
}

/* ---- strided rows through contiguous chunks ------------------------------------- */

#define CHUNK 256

/* dst[i] = src[i st] (st in bytes) for i < n, elements of es bytes (4 or 8). */
static void gather(void *dst, const char *src, int64_t st, int64_t n, size_t es) {
  if (es == 8) for (int64_t i = 0; i < n; i++) ((uint64_t *)dst)[i] = *(const uint64_t *)(src + i * st);
  else for (int64_t i = 0; i < n; i++) ((uint32_t *)dst)[i] = *(const uint32_t *)(src + i * st);
}

static void scatter(char *dst, int64_t st, const void *src, int64_t n, size_t es) {
  if (es == 8) for (int64_t i = 0; i < n; i++) *(uint64_t *)(dst + i * st) = ((const uint64_t *)src)[i];
  else for (int64_t i = 0; i < n; i++) *(uint32_t *)(dst + i * st) = ((const uint32_t *)src)[i];
}

static void strided_binary(binary_fn *f, size_t es, char **p, const int64_t *s, int64_t n) {
  uint64_t o[CHUNK], x[CHUNK], y[CHUNK];            /* room for CHUNK doubles each */
  for (int64_t i0 = 0; i0 < n; i0 += CHUNK) {
    int64_t m = n - i0 < CHUNK ? n - i0 : CHUNK;
    gather(x, p[1] + i0 * s[1], s[1], m, es);
    gather(y, p[2] + i0 * s[2], s[2], m, es);
    f(o, x, y, m);
    scatter(p[0] + i0 * s[0], s[0], o, m, es);
  }
}

static void strided_unary(unary_fn *f, const kernel_ctx *k, size_t es, char **p,
                          const int64_t *s, int64_t n) {
  uint64_t o[CHUNK], x[CHUNK];
  for (int64_t i0 = 0; i0 < n; i0 += CHUNK) {
    int64_t m = n - i0 < CHUNK ? n - i0 : CHUNK;
    gather(x, p[1] + i0 * s[1], s[1], m, es);
    f(o, x, m, k);
    scatter(p[0] + i0 * s[0], s[0], o, m, es);
  }
}

/* A row of out = f(x, y): contiguous, with a scalar y, or strided. */
static void binary_row(char **p, const int64_t *s, int64_t n, void *ctx) {
  const kernel_ctx *k = ctx;
  int f64 = k->dt == GLAB_F64;
  int64_t e = f64 ? 8 : 4;
  if (s[0] == e && s[1] == e && (s[2] == e || s[2] == 0))
    binary_kernels[f64][s[2] == 0][k->op](p[0], p[1], p[2], n);
  else
    strided_binary(binary_kernels[f64][0][k->op], (size_t)e, p, s, n);
}

static void unary_run(unary_fn *f, char **p, const int64_t *s, int64_t n, const kernel_ctx *k) {
  int64_t e = k->dt == GLAB_F64 ? 8 : 4;
  if (s[0] == e && s[1] == e) f(p[0], p[1], n, k);
  else strided_unary(f, k, (size_t)e, p, s, n);
}

static void unary_row(char **p, const int64_t *s, int64_t n, void *ctx) {
  const kernel_ctx *k = ctx;
  unary_run(unary_kernels[k->dt == GLAB_F64][k->op], p, s, n, k);
}

static void clamp_row(char **p, const int64_t *s, int64_t n, void *ctx) {
  const kernel_ctx *k = ctx;
  unary_run(k->dt == GLAB_F64 ? clamp_f64 : clamp_f32, p, s, n, k);
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

void glab_unary_row(glab_unop op, glab_dtype dt, void *out, const void *x, int64_t n) {
  kernel_ctx k = {op, dt, 0, 0};
  unary_kernels[dt == GLAB_F64][op](out, x, n, &k);
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
