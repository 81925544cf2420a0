/*
** nn_conv.c -- linear, conv2d, conv_transpose2d and max_pool2d with their
** backward rules.
**
** Convolutions go image by image through im2col + GEMM: the column buffer
** of one image (C kh kw x Ho Wo) stays in cache, the product lands straight
** in the (O, Ho Wo) slice of the output, and backward rebuilds the columns
** from the saved input instead of keeping a batch-sized buffer.  The
** transposed convolution is the same machinery run the other way round.
*/
#include <math.h>
#include <string.h>

#include "nn.h"
#include "node.h"

static glab_status same_dtype(const char *op, const glab_var *x, const glab_var *w,
                              const glab_var *b) {
  if (w->t.dtype != x->t.dtype || (b && b->t.dtype != x->t.dtype))
    return glab_fail(GLAB_EDTYPE, "%s: input is %s but the weights are %s; convert one", op,
                     glab_dtype_name(x->t.dtype), glab_dtype_name(w->t.dtype));
  return GLAB_OK;
}

/* ---- linear --------------------------------------------------------------------- */

/* saved: x, w (contiguous); g (M x out) */
static glab_status linear_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *x = &n->saved[0], *w = &n->saved[1], *g = &n->grad[0];
  int64_t in = w->shape[1], outf = w->shape[0], m = glab_tensor_numel(x) / (in ? in : 1);
  glab_dtype dt = x->dtype;
  glab_status s = GLAB_OK;
  if (glab_node_needs(n, 0)) {
    TRY(glab_tensor_new(&gin[0], dt, x->ndim, x->shape));
    glab_gemm(dt, 0, 0, m, in, outf, 1.0, glab_tensor_data(g), outf, glab_tensor_data(w), in,
              0.0, glab_tensor_data(&gin[0]), in);
  }
  if (glab_node_needs(n, 1)) {
    TRY(glab_tensor_new(&gin[1], dt, 2, w->shape));
    glab_gemm(dt, 1, 0, outf, in, m, 1.0, glab_tensor_data(g), outf, glab_tensor_data(x), in,
              0.0, glab_tensor_data(&gin[1]), in);
  }
  if (glab_node_needs(n, 2)) {
    glab_tensor g2 = GLAB_TENSOR_EMPTY;
    int64_t sh[2] = {m, outf};
    TRY(glab_tensor_view(&g2, g, 2, sh));
    s = glab_reduce(&gin[2], GLAB_SUM, &g2, 0, 0, 0);
    glab_tensor_free(&g2);
  }
done:
  return s;
}

glab_status glab_nn_linear(glab_var *out, const glab_var *x, const glab_var *w,
                           const glab_var *b) {
  char sx[96], sw[96];
  glab_status s = same_dtype("linear", x, w, b);
  if (s != GLAB_OK) return s;
  int64_t in = x->t.ndim ? x->t.shape[x->t.ndim - 1] : 0;
  if (w->t.ndim != 2 || x->t.ndim < 1 || w->t.shape[1] != in ||
      (b && (b->t.ndim != 1 || b->t.shape[0] != w->t.shape[0])))
    return glab_fail(GLAB_ESHAPE, "linear: input (%s) and weight (%s)%s do not fit: the "
                     "weight must be (out x %lld)",
                     glab_shape_str(sx, sizeof sx, x->t.ndim, x->t.shape),
                     glab_shape_str(sw, sizeof sw, w->t.ndim, w->t.shape),
                     b ? " with its bias" : "", (long long)in);
  glab_tensor xc = GLAB_TENSOR_EMPTY, wc = GLAB_TENSOR_EMPTY;
  int64_t shape[GLAB_MAXDIM], outf = w->t.shape[0], m = glab_tensor_numel(&x->t) / (in ? in : 1);
  memcpy(shape, x->t.shape, sizeof shape);
  shape[x->t.ndim - 1] = outf;
  TRY(glab_tensor_contiguous(&xc, &x->t));
  TRY(glab_tensor_contiguous(&wc, &w->t));
  TRY(glab_tensor_new(&out->t, x->t.dtype, x->t.ndim, shape));
  if (b) TRY(glab_tensor_copy(&out->t, &b->t));
  glab_gemm(x->t.dtype, 0, 1, m, outf, in, 1.0, glab_tensor_data(&xc), in,
            glab_tensor_data(&wc), in, b ? 1.0 : 0.0, glab_tensor_data(&out->t), outf);
  const glab_var *ins[3] = {x, w, b};
  s = glab_node_record(NULL, out, "linear", linear_backward, 3, ins, &xc, &wc, NULL);
done:
  glab_tensor_free(&xc);
  glab_tensor_free(&wc);
  return s;
}

/* ---- im2col ----------------------------------------------------------------------- */

/* One image (c, h, w) seen through kernel windows; columns (c kh kw, ho wo). */
typedef struct geom {
  int64_t c, h, w, kh, kw, sh, sw, ph, pw, ho, wo;
} geom;

/* The output columns ox whose input column ox sw - pw + j lies inside the
** image: [*lo, *hi).  Outside them the columns see padding. */
static void valid_cols(const geom *g, int64_t j, int64_t *lo, int64_t *hi) {
  int64_t a = g->pw - j, b = g->w - 1 + g->pw - j;        /* ox sw in [a, b] */
  *lo = a <= 0 ? 0 : (a + g->sw - 1) / g->sw;
  *hi = b < 0 ? 0 : b / g->sw + 1;
  if (*hi > g->wo) *hi = g->wo;
  if (*lo > *hi) *lo = *hi;
}

/* cols[(ci kh + i) kw + j][oy wo + ox] = img[ci][oy sh - ph + i][ox sw - pw + j] (0 outside);
** col2im adds the columns back into img.  Rows are split once into padding
** and a valid run, which for stride 1 is a straight copy.  Written once per
** element type. */
#define IM2COL(T, SFX)                                                                    \
  static void im2col_##SFX(T *restrict cols, const T *restrict img, const geom *g) {      \
    int64_t L = g->ho * g->wo;                                                            \
    for (int64_t ci = 0; ci < g->c; ci++)                                                 \
      for (int64_t i = 0; i < g->kh; i++)                                                 \
        for (int64_t j = 0; j < g->kw; j++) {                                             \
          T *row = cols + ((ci * g->kh + i) * g->kw + j) * L;                             \
          int64_t lo, hi, off = j - g->pw;                                                \
          valid_cols(g, j, &lo, &hi);                                                     \
          for (int64_t oy = 0; oy < g->ho; oy++) {                                        \
            int64_t iy = oy * g->sh - g->ph + i;                                          \
            T *dst = row + oy * g->wo;                                                    \
            if (iy < 0 || iy >= g->h) { memset(dst, 0, (size_t)g->wo * sizeof(T)); continue; } \
            const T *src = img + (ci * g->h + iy) * g->w + off;                           \
            for (int64_t ox = 0; ox < lo; ox++) dst[ox] = 0;                              \
            if (g->sw == 1) memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof(T));    \
            else for (int64_t ox = lo; ox < hi; ox++) dst[ox] = src[ox * g->sw];          \
            for (int64_t ox = hi; ox < g->wo; ox++) dst[ox] = 0;                          \
          }                                                                               \
        }                                                                                 \
  }                                                                                       \
  static void col2im_##SFX(T *restrict img, const T *restrict cols, const geom *g) {      \
    int64_t L = g->ho * g->wo;                                                            \
    for (int64_t ci = 0; ci < g->c; ci++)                                                 \
      for (int64_t i = 0; i < g->kh; i++)                                                 \
        for (int64_t j = 0; j < g->kw; j++) {                                             \
          const T *row = cols + ((ci * g->kh + i) * g->kw + j) * L;                       \
          int64_t lo, hi, off = j - g->pw;                                                \
          valid_cols(g, j, &lo, &hi);                                                     \
          for (int64_t oy = 0; oy < g->ho; oy++) {                                        \
            int64_t iy = oy * g->sh - g->ph + i;                                          \
            if (iy < 0 || iy >= g->h) continue;                                           \
            const T *src = row + oy * g->wo;                                              \
            T *dst = img + (ci * g->h + iy) * g->w + off;                                 \
            if (g->sw == 1) for (int64_t ox = lo; ox < hi; ox++) dst[ox] += src[ox];      \
            else for (int64_t ox = lo; ox < hi; ox++) dst[ox * g->sw] += src[ox];         \
          }                                                                               \
        }                                                                                 \
  }

IM2COL(float, f32)
IM2COL(double, f64)

static void im2col(glab_dtype dt, void *cols, const void *img, const geom *g) {
  if (dt == GLAB_F64) im2col_f64(cols, img, g);
  else im2col_f32(cols, img, g);
}

static void col2im(glab_dtype dt, void *img, const void *cols, const geom *g) {
  if (dt == GLAB_F64) col2im_f64(img, cols, g);
  else col2im_f32(img, cols, g);
}

/* out[n][o][:] += b[o] over every image. */
static void add_bias(glab_tensor *out, const glab_tensor *b) {
  int64_t N = out->shape[0], O = out->shape[1], L = out->shape[2] * out->shape[3];
  for (int64_t n = 0; n < N; n++)
    for (int64_t o = 0; o < O; o++) {
      double bo = glab_tensor_flat_get(b, o);
      if (out->dtype == GLAB_F64) {
        double *p = (double *)glab_elem(out, (n * O + o) * L);
        for (int64_t l = 0; l < L; l++) p[l] += bo;
      } else {
        float *p = (float *)glab_elem(out, (n * O + o) * L);
        for (int64_t l = 0; l < L; l++) p[l] += (float)bo;
      }
    }
}

/* The bias gradient: g (N, O, H, W) summed over N, H, W. */
static glab_status bias_grad(glab_tensor *gb, const glab_tensor *g) {
  glab_tensor t = GLAB_TENSOR_EMPTY;
  int64_t sh[3] = {g->shape[0], g->shape[1], g->shape[2] * g->shape[3]};
  glab_tensor v = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_view(&v, g, 3, sh);
  if (s == GLAB_OK) s = glab_reduce(&t, GLAB_SUM, &v, 2, 0, 0);
  if (s == GLAB_OK) s = glab_reduce(gb, GLAB_SUM, &t, 0, 0, 0);
  glab_tensor_free(&t);
  glab_tensor_free(&v);
  return s;
}

static glab_status conv_args(const char *op, const glab_var *x, const glab_var *w,
                             const glab_var *b, const glab_conv_opts *o, int transposed) {
  char sx[96], sw[96];
  glab_status s = same_dtype(op, x, w, b);
  if (s != GLAB_OK) return s;
  glab_shape_str(sx, sizeof sx, x->t.ndim, x->t.shape);
  glab_shape_str(sw, sizeof sw, w->t.ndim, w->t.shape);
  if (x->t.ndim != 4 || w->t.ndim != 4)
    return glab_fail(GLAB_ESHAPE, "%s: input (%s) and weight (%s) must both be 4-d", op, sx, sw);
  int64_t cin = transposed ? w->t.shape[0] : w->t.shape[1];
  if (x->t.shape[1] != cin)
    return glab_fail(GLAB_ESHAPE, "%s: input (%s) has %lld channels, weight (%s) expects %lld",
                     op, sx, (long long)x->t.shape[1], sw, (long long)cin);
  int64_t cout = transposed ? w->t.shape[1] : w->t.shape[0];
  if (b && (b->t.ndim != 1 || b->t.shape[0] != cout))
    return glab_fail(GLAB_ESHAPE, "%s: the bias must have %lld entries, one per output channel",
                     op, (long long)cout);
  for (int d = 0; d < 2; d++) {
    if (o->stride[d] < 1 || o->padding[d] < 0 || o->output_padding[d] < 0)
      return glab_fail(GLAB_EARG, "%s: stride must be >= 1 and padding >= 0", op);
    if (o->output_padding[d] && (!transposed || o->output_padding[d] >= o->stride[d]))
      return glab_fail(GLAB_EARG, "%s: output_padding must be smaller than the stride%s", op,
                       transposed ? "" : " (and is for conv_transpose2d only)");
  }
  return GLAB_OK;
}

/* The conv geometry of one image (c, h, w) under weight w's kernel. */
static geom make_geom(int64_t c, int64_t h, int64_t wd, const glab_tensor *w,
                      const glab_conv_opts *o) {
  geom g = {c, h, wd, w->shape[2], w->shape[3], o->stride[0], o->stride[1],
            o->padding[0], o->padding[1], 0, 0};
  g.ho = (h + 2 * g.ph - g.kh) / g.sh + 1;
  g.wo = (wd + 2 * g.pw - g.kw) / g.sw + 1;
  return g;
}

/* ---- conv2d ---------------------------------------------------------------------------- */

/* saved: x, w (contiguous); iarg: stride, padding */
static glab_conv_opts node_opts(const glab_node *n) {
  glab_conv_opts o = {{(int)n->iarg[0], (int)n->iarg[1]}, {(int)n->iarg[2], (int)n->iarg[3]},
                      {(int)n->iarg[4], (int)n->iarg[5]}};
  return o;
}

static void keep_opts(glab_node *n, const glab_conv_opts *o) {
  for (int d = 0; d < 2; d++) {
    n->iarg[d] = o->stride[d];
    n->iarg[2 + d] = o->padding[d];
    n->iarg[4 + d] = o->output_padding[d];
  }
}

/* The end of both convolutions' forwards: bias, then the node with the
** contiguous input and weight saved and the options kept. */
static glab_status finish_conv(glab_var *out, const char *name, glab_backward_fn bw,
                               const glab_var *x, const glab_var *w, const glab_var *b,
                               const glab_tensor *xc, const glab_tensor *wc,
                               const glab_conv_opts *o) {
  if (b) add_bias(&out->t, &b->t);
  const glab_var *ins[3] = {x, w, b};
  glab_node *n;
  glab_status s = glab_node_record(&n, out, name, bw, 3, ins, xc, wc, NULL);
  if (n) keep_opts(n, o);
  return s;
}

static glab_status conv2d_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *x = &n->saved[0], *w = &n->saved[1], *g = &n->grad[0];
  glab_conv_opts o = node_opts(n);
  glab_dtype dt = x->dtype;
  int64_t N = x->shape[0], O = w->shape[0];
  geom gm = make_geom(x->shape[1], x->shape[2], x->shape[3], w, &o);
  int64_t CK = gm.c * gm.kh * gm.kw, L = gm.ho * gm.wo, img = gm.c * gm.h * gm.w;
  glab_tensor cols = GLAB_TENSOR_EMPTY, gcols = GLAB_TENSOR_EMPTY;
  int64_t csh[2] = {CK, L};
  glab_status s;
  TRY(glab_tensor_new(&cols, dt, 2, csh));
  TRY(glab_tensor_new(&gcols, dt, 2, csh));
  if (glab_node_needs(n, 0)) TRY(glab_tensor_full(&gin[0], dt, 4, x->shape, 0.0));
  if (glab_node_needs(n, 1)) TRY(glab_tensor_new(&gin[1], dt, 4, w->shape));
  for (int64_t i = 0; i < N; i++) {
    const void *gi = glab_elem(g, i * O * L);
    if (glab_node_needs(n, 1)) {
      im2col(dt, glab_tensor_data(&cols), glab_elem(x, i * img), &gm);
      glab_gemm(dt, 0, 1, O, CK, L, 1.0, gi, L, glab_tensor_data(&cols), L, i ? 1.0 : 0.0,
                glab_tensor_data(&gin[1]), CK);
    }
    if (glab_node_needs(n, 0)) {
      glab_gemm(dt, 1, 0, CK, L, O, 1.0, glab_tensor_data(w), CK, gi, L, 0.0,
                glab_tensor_data(&gcols), L);
      col2im(dt, glab_elem(&gin[0], i * img), glab_tensor_data(&gcols), &gm);
    }
  }
  if (glab_node_needs(n, 2)) s = bias_grad(&gin[2], g);
done:
  glab_tensor_free(&cols);
  glab_tensor_free(&gcols);
  return s;
}

glab_status glab_nn_conv2d(glab_var *out, const glab_var *x, const glab_var *w,
                           const glab_var *b, const glab_conv_opts *o) {
  glab_status s = conv_args("conv2d", x, w, b, o, 0);
  if (s != GLAB_OK) return s;
  glab_tensor xc = GLAB_TENSOR_EMPTY, wc = GLAB_TENSOR_EMPTY, cols = GLAB_TENSOR_EMPTY;
  glab_dtype dt = x->t.dtype;
  int64_t N = x->t.shape[0], O = w->t.shape[0];
  geom gm = make_geom(x->t.shape[1], x->t.shape[2], x->t.shape[3], &w->t, o);
  if (gm.ho < 1 || gm.wo < 1)
    return glab_fail(GLAB_ESHAPE, "conv2d: a %lldx%lld kernel does not fit a %lldx%lld input "
                     "with padding %d", (long long)gm.kh, (long long)gm.kw, (long long)gm.h,
                     (long long)gm.w, o->padding[0]);
  int64_t CK = gm.c * gm.kh * gm.kw, L = gm.ho * gm.wo, img = gm.c * gm.h * gm.w;
  int64_t osh[4] = {N, O, gm.ho, gm.wo}, csh[2] = {CK, L};
  TRY(glab_tensor_contiguous(&xc, &x->t));
  TRY(glab_tensor_contiguous(&wc, &w->t));
  TRY(glab_tensor_new(&cols, dt, 2, csh));
  TRY(glab_tensor_new(&out->t, dt, 4, osh));
  for (int64_t i = 0; i < N; i++) {
    im2col(dt, glab_tensor_data(&cols), glab_elem(&xc, i * img), &gm);
    glab_gemm(dt, 0, 0, O, L, CK, 1.0, glab_tensor_data(&wc), CK, glab_tensor_data(&cols), L,
              0.0, glab_elem(&out->t, i * O * L), L);
  }
  s = finish_conv(out, "conv2d", conv2d_backward, x, w, b, &xc, &wc, o);
done:
  glab_tensor_free(&xc);
  glab_tensor_free(&wc);
  glab_tensor_free(&cols);
  return s;
}

/* ---- conv_transpose2d --------------------------------------------------------------------- */

/* The conv whose input gradient this is: images of the output's size. */
static geom transposed_geom(const glab_tensor *y, const glab_tensor *w, const glab_conv_opts *o) {
  return make_geom(y->shape[1], y->shape[2], y->shape[3], w, o);
}

/* saved: x, w, y (for the shape); gcols = im2col(g) */
static glab_status conv_transpose2d_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *x = &n->saved[0], *w = &n->saved[1], *g = &n->grad[0];
  glab_conv_opts o = node_opts(n);
  glab_dtype dt = x->dtype;
  geom gm = transposed_geom(g, w, &o);
  int64_t N = x->shape[0], Cin = x->shape[1], HW = x->shape[2] * x->shape[3];
  int64_t CK = gm.c * gm.kh * gm.kw, img = gm.c * gm.h * gm.w;
  glab_tensor gcols = GLAB_TENSOR_EMPTY;
  int64_t csh[2] = {CK, HW};
  glab_status s;
  TRY(glab_tensor_new(&gcols, dt, 2, csh));
  if (glab_node_needs(n, 0)) TRY(glab_tensor_new(&gin[0], dt, 4, x->shape));
  if (glab_node_needs(n, 1)) TRY(glab_tensor_new(&gin[1], dt, 4, w->shape));
  for (int64_t i = 0; i < N; i++) {
    im2col(dt, glab_tensor_data(&gcols), glab_elem(g, i * img), &gm);
    if (glab_node_needs(n, 0))
      glab_gemm(dt, 0, 0, Cin, HW, CK, 1.0, glab_tensor_data(w), CK, glab_tensor_data(&gcols),
                HW, 0.0, glab_elem(&gin[0], i * Cin * HW), HW);
    if (glab_node_needs(n, 1))
      glab_gemm(dt, 0, 1, Cin, CK, HW, 1.0, glab_elem(x, i * Cin * HW), HW,
                glab_tensor_data(&gcols), HW, i ? 1.0 : 0.0, glab_tensor_data(&gin[1]), CK);
  }
  if (glab_node_needs(n, 2)) s = bias_grad(&gin[2], g);
done:
  glab_tensor_free(&gcols);
  return s;
}

glab_status glab_nn_conv_transpose2d(glab_var *out, const glab_var *x, const glab_var *w,
                                     const glab_var *b, const glab_conv_opts *o) {
  glab_status s = conv_args("conv_transpose2d", x, w, b, o, 1);
  if (s != GLAB_OK) return s;
  glab_tensor xc = GLAB_TENSOR_EMPTY, wc = GLAB_TENSOR_EMPTY, cols = GLAB_TENSOR_EMPTY;
  glab_dtype dt = x->t.dtype;
  int64_t N = x->t.shape[0], Cin = x->t.shape[1], H = x->t.shape[2], W = x->t.shape[3];
  int64_t Cout = w->t.shape[1], kh = w->t.shape[2], kw = w->t.shape[3];
  int64_t Ho = (H - 1) * o->stride[0] - 2 * o->padding[0] + kh + o->output_padding[0];
  int64_t Wo = (W - 1) * o->stride[1] - 2 * o->padding[1] + kw + o->output_padding[1];
  if (Ho < 1 || Wo < 1)
    return glab_fail(GLAB_ESHAPE, "conv_transpose2d: padding %d leaves no output for a "
                     "%lldx%lld input", o->padding[0], (long long)H, (long long)W);
  int64_t osh[4] = {N, Cout, Ho, Wo};
  TRY(glab_tensor_contiguous(&xc, &x->t));
  TRY(glab_tensor_contiguous(&wc, &w->t));
  TRY(glab_tensor_full(&out->t, dt, 4, osh, 0.0));
  geom gm = transposed_geom(&out->t, &wc, o);
  int64_t CK = Cout * kh * kw, HW = H * W, img = Cout * Ho * Wo;
  int64_t csh[2] = {CK, HW};
  TRY(glab_tensor_new(&cols, dt, 2, csh));
  for (int64_t i = 0; i < N; i++) {
    glab_gemm(dt, 1, 0, CK, HW, Cin, 1.0, glab_tensor_data(&wc), CK, glab_elem(&xc, i * Cin * HW), HW,
              0.0, glab_tensor_data(&cols), HW);
    col2im(dt, glab_elem(&out->t, i * img), glab_tensor_data(&cols), &gm);
  }
  s = finish_conv(out, "conv_transpose2d", conv_transpose2d_backward, x, w, b, &xc, &wc, o);
done:
  glab_tensor_free(&xc);
  glab_tensor_free(&wc);
  glab_tensor_free(&cols);
  return s;
}

/* ---- max_pool2d ----------------------------------------------------------------------------- */

/* saved: idx (N, C, Ho, Wo), the flat position of each maximum in its plane;
** iarg: the input's shape */
static glab_status max_pool2d_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *idx = &n->saved[0], *g = &n->grad[0];
  int64_t shape[4] = {n->iarg[0], n->iarg[1], n->iarg[2], n->iarg[3]};
  int64_t planes = shape[0] * shape[1], HW = shape[2] * shape[3];
  int64_t L = g->shape[2] * g->shape[3];
  glab_status s = glab_tensor_full(&gin[0], g->dtype, 4, shape, 0.0);
  if (s != GLAB_OK) return s;
  const double *ix = glab_tensor_data(idx);
  for (int64_t p = 0; p < planes; p++)
    for (int64_t l = 0; l < L; l++) {
      int64_t src = p * L + l, dst = p * HW + (int64_t)ix[src];
      if (g->dtype == GLAB_F64) ((double *)glab_tensor_data(&gin[0]))[dst] += ((double *)glab_tensor_data(g))[src];
      else ((float *)glab_tensor_data(&gin[0]))[dst] += ((float *)glab_tensor_data(g))[src];
    }
  return GLAB_OK;
}

/* Row by row: for each window row, the running max of every output column
** is updated from one input row, a loop the compiler vectorises (the
** windows' first maximum wins, NaN propagates). */
#define MAXPOOL(T, SFX)                                                                   \
  static void max_pool_##SFX(T *restrict y, double *restrict ix, const T *restrict x,     \
                             int64_t planes, int64_t h, int64_t w, int64_t ho, int64_t wo, \
                             const int *k, const int *st) {                               \
    for (int64_t p = 0; p < planes; p++, x += h * w, y += ho * wo, ix += ho * wo)         \
      for (int64_t oy = 0; oy < ho; oy++) {                                               \
        T *yr = y + oy * wo;                                                              \
        double *ir = ix + oy * wo;                                                        \
        for (int64_t i = 0; i < k[0]; i++)                                                \
          for (int64_t j = 0; j < k[1]; j++) {                                            \
            const T *xr = x + (oy * st[0] + i) * w + j;                                   \
            double base = (double)((oy * st[0] + i) * w + j);                             \
            int first = i == 0 && j == 0;                                                 \
            for (int64_t ox = 0; ox < wo; ox++) {                                         \
              T v = xr[ox * st[1]];                                                       \
              int take = first | (v > yr[ox]) | ((v != v) & (yr[ox] == yr[ox]));          \
              yr[ox] = take ? v : yr[ox];                                                 \
              ir[ox] = take ? base + (double)(ox * st[1]) : ir[ox];                       \
            }                                                                             \
          }                                                                               \
      }                                                                                   \
  }

MAXPOOL(float, f32)
MAXPOOL(double, f64)

glab_status glab_nn_max_pool2d(glab_var *out, const glab_var *x, const int kernel[2],
                               const int stride[2]) {
  char sx[96];
  const glab_tensor *t = &x->t;
  if (t->ndim != 4)
    return glab_fail(GLAB_ESHAPE, "max_pool2d: input (%s) must be 4-d (N, C, H, W)",
                     glab_shape_str(sx, sizeof sx, t->ndim, t->shape));
  if (kernel[0] < 1 || kernel[1] < 1 || stride[0] < 1 || stride[1] < 1)
    return glab_fail(GLAB_EARG, "max_pool2d: kernel and stride must be >= 1");
  int64_t ho = (t->shape[2] - kernel[0]) / stride[0] + 1;
  int64_t wo = (t->shape[3] - kernel[1]) / stride[1] + 1;
  if (t->shape[2] < kernel[0] || t->shape[3] < kernel[1])
    return glab_fail(GLAB_ESHAPE, "max_pool2d: a %dx%d kernel does not fit the input (%s)",
                     kernel[0], kernel[1], glab_shape_str(sx, sizeof sx, t->ndim, t->shape));
  glab_tensor xc = GLAB_TENSOR_EMPTY, idx = GLAB_TENSOR_EMPTY;
  int64_t osh[4] = {t->shape[0], t->shape[1], ho, wo};
  glab_status s;
  TRY(glab_tensor_contiguous(&xc, t));
  TRY(glab_tensor_new(&out->t, t->dtype, 4, osh));
  TRY(glab_tensor_new(&idx, GLAB_F64, 4, osh));
  int64_t planes = t->shape[0] * t->shape[1];
  if (t->dtype == GLAB_F64)
    max_pool_f64(glab_tensor_data(&out->t), glab_tensor_data(&idx), glab_tensor_data(&xc),
                 planes, t->shape[2], t->shape[3], ho, wo, kernel, stride);
  else
    max_pool_f32(glab_tensor_data(&out->t), glab_tensor_data(&idx), glab_tensor_data(&xc),
                 planes, t->shape[2], t->shape[3], ho, wo, kernel, stride);
  glab_node *n;
  s = glab_node_record(&n, out, "max_pool2d", max_pool2d_backward, 1, &x, &idx, NULL, NULL);
  if (n) memcpy(n->iarg, t->shape, 4 * sizeof *t->shape);
done:
  glab_tensor_free(&xc);
  glab_tensor_free(&idx);
  return s;
}
