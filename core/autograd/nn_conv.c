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
#include <stdlib.h>
#include <string.h>

#include "../tensor/fastmath.h"
#include "../tensor/parallel.h"
#include "conv_shift.h"
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

/* The unary op of a fused activation. */
static glab_unop act_op(glab_act a) {
  return a == GLAB_ACT_RELU ? GLAB_RELU : a == GLAB_ACT_SIGMOID ? GLAB_SIGMOID : GLAB_TANH;
}

/* saved: x, w (contiguous), y when an activation was fused (iarg[0]); g (M x out) */
static glab_status linear_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *x = &n->saved[0], *w = &n->saved[1], *g = &n->grad[0];
  int64_t in = w->shape[1], outf = w->shape[0], m = glab_tensor_numel(x) / (in ? in : 1);
  glab_dtype dt = x->dtype;
  glab_status s = GLAB_OK;
  glab_tensor ga = GLAB_TENSOR_EMPTY;       /* g through the activation's derivative */
  if (n->iarg[0]) {
    if (g->storage->refs == 1) glab_tensor_share(&ga, g);      /* only the node holds g */
    else TRY(glab_tensor_new(&ga, dt, g->ndim, g->shape));
    glab_act_grad_row(act_op((glab_act)n->iarg[0]), dt, glab_tensor_data(&ga),
                      glab_tensor_data(g), glab_tensor_data(&n->saved[2]), m * outf);
    g = &ga;
  }
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
  glab_tensor_free(&ga);
  return s;
}

glab_status glab_nn_linear(glab_var *out, const glab_var *x, const glab_var *w,
                           const glab_var *b, glab_act act) {
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
  glab_tensor xc = GLAB_TENSOR_EMPTY, wc = GLAB_TENSOR_EMPTY, bc = GLAB_TENSOR_EMPTY;
  int64_t shape[GLAB_MAXDIM], outf = w->t.shape[0], m = glab_tensor_numel(&x->t) / (in ? in : 1);
  memcpy(shape, x->t.shape, sizeof shape);
  shape[x->t.ndim - 1] = outf;
  TRY(glab_tensor_contiguous(&xc, &x->t));
  TRY(glab_tensor_contiguous(&wc, &w->t));
  if (b) TRY(glab_tensor_contiguous(&bc, &b->t));
  TRY(glab_tensor_new(&out->t, x->t.dtype, x->t.ndim, shape));
  glab_gemm_bias_act(x->t.dtype, 0, 1, m, outf, in, glab_tensor_data(&xc), in,
                     glab_tensor_data(&wc), in, b ? glab_tensor_data(&bc) : NULL,
                     act ? (int)act_op(act) : -1, glab_tensor_data(&out->t), outf);
  const glab_var *ins[3] = {x, w, b};
  glab_node *n;
  s = glab_node_record(&n, out, "linear", linear_backward, 3, ins, &xc, &wc,
                       act ? &out->t : NULL);
  if (n) n->iarg[0] = act;
done:
  glab_tensor_free(&xc);
  glab_tensor_free(&wc);
  glab_tensor_free(&bc);
  return s;
}

/* ---- im2col ----------------------------------------------------------------------- */

/* One image (c, h, w) seen through kernel windows; columns (c kh kw, ho wo). */
typedef struct geom {
  int64_t c, h, w, kh, kw, sh, sw, ph, pw, ho, wo;
} geom;

/* The outputs o (along one axis of n_out) whose input o stride - pad + k,
** for a kernel offset k, lies inside [0, n_in): [*lo, *hi).  Outside them
** the outputs see padding. */
static void valid_range(int64_t n_in, int64_t n_out, int64_t stride, int64_t pad, int64_t k,
                        int64_t *lo, int64_t *hi) {
  int64_t a = pad - k, b = n_in - 1 + pad - k;            /* o stride in [a, b] */
  *lo = a <= 0 ? 0 : (a + stride - 1) / stride;
  *hi = b < 0 ? 0 : b / stride + 1;
  if (*hi > n_out) *hi = n_out;
  if (*lo > *hi) *lo = *hi;
}

/* The valid output rows [oy0, oy1) and columns [lo, hi) for kernel offset
** (i, j). */
static void valid_window(const geom *g, int64_t i, int64_t j, int64_t *oy0, int64_t *oy1,
                         int64_t *lo, int64_t *hi) {
  valid_range(g->h, g->ho, g->sh, g->ph, i, oy0, oy1);
  valid_range(g->w, g->wo, g->sw, g->pw, j, lo, hi);
}

/* cols[(ci kh + i) kw + j][oy wo + ox] = img[ci][oy sh - ph + i][ox sw - pw + j] (0 outside);
** col2im adds the columns back into img.  Per kernel offset (ci, i, j) the
** output rows oy in [oy0, oy1) see the image, and in each the columns
** [lo, hi); the rest sees padding.  Stride 1 (in a row) is a straight copy,
** stride 2 a constant stride the compiler vectorises.  im2col only moves
** elements, so it is one function over the element size; col2im adds, and
** its typed part is add_strided. */

/* dst[ox] = src[ox sw] for ox in [lo, hi), elements of es bytes (4 or 8). */
static void copy_strided(size_t es, char *dst, const char *src, int64_t lo, int64_t hi,
                         int64_t sw) {
  if (sw == 1) { memcpy(dst + lo * es, src + lo * es, (size_t)(hi - lo) * es); return; }
  if (es == 8) {
    uint64_t *d = (uint64_t *)dst;
    const uint64_t *x = (const uint64_t *)src;
    if (sw == 2) for (int64_t ox = lo; ox < hi; ox++) d[ox] = x[2 * ox];
    else for (int64_t ox = lo; ox < hi; ox++) d[ox] = x[ox * sw];
  } else {
    uint32_t *d = (uint32_t *)dst;
    const uint32_t *x = (const uint32_t *)src;
    if (sw == 2) for (int64_t ox = lo; ox < hi; ox++) d[ox] = x[2 * ox];
    else for (int64_t ox = lo; ox < hi; ox++) d[ox] = x[ox * sw];
  }
}

/* dst[ox sw] += src[ox] for ox in [lo, hi). */
static void add_strided(glab_dtype dt, void *dst, const void *src, int64_t lo, int64_t hi,
                        int64_t sw) {
  if (dt == GLAB_F64) {
    double *d = dst;
    const double *x = src;
    if (sw == 1) for (int64_t ox = lo; ox < hi; ox++) d[ox] += x[ox];
    else if (sw == 2) for (int64_t ox = lo; ox < hi; ox++) d[2 * ox] += x[ox];
    else for (int64_t ox = lo; ox < hi; ox++) d[ox * sw] += x[ox];
  } else {
    float *d = dst;
    const float *x = src;
    if (sw == 1) for (int64_t ox = lo; ox < hi; ox++) d[ox] += x[ox];
    else if (sw == 2) for (int64_t ox = lo; ox < hi; ox++) d[2 * ox] += x[ox];
    else for (int64_t ox = lo; ox < hi; ox++) d[ox * sw] += x[ox];
  }
}

static void im2col(glab_dtype dt, void *cols, const void *img, const geom *g) {
  size_t es = glab_dtype_size(dt);
  int64_t L = g->ho * g->wo;
  for (int64_t ci = 0; ci < g->c; ci++)
    for (int64_t i = 0; i < g->kh; i++)
      for (int64_t j = 0; j < g->kw; j++) {
        char *row = (char *)cols + (size_t)(((ci * g->kh + i) * g->kw + j) * L) * es;
        int64_t sh0 = ci * g->h * g->w + (i - g->ph) * g->w + j - g->pw;
        int64_t lo, hi, oy0, oy1;
        valid_window(g, i, j, &oy0, &oy1, &lo, &hi);
        memset(row, 0, (size_t)(oy0 * g->wo) * es);
        memset(row + (size_t)(oy1 * g->wo) * es, 0, (size_t)(L - oy1 * g->wo) * es);
        for (int64_t oy = oy0; oy < oy1; oy++) {
          char *dst = row + (size_t)(oy * g->wo) * es;
          memset(dst, 0, (size_t)lo * es);
          memset(dst + hi * es, 0, (size_t)(g->wo - hi) * es);
          copy_strided(es, dst, (const char *)img + (sh0 + oy * g->sh * g->w) * (int64_t)es,
                       lo, hi, g->sw);
        }
      }
}

static void col2im(glab_dtype dt, void *img, const void *cols, const geom *g) {
  size_t es = glab_dtype_size(dt);
  int64_t L = g->ho * g->wo;
  for (int64_t ci = 0; ci < g->c; ci++)
    for (int64_t i = 0; i < g->kh; i++)
      for (int64_t j = 0; j < g->kw; j++) {
        const char *row = (const char *)cols + (size_t)(((ci * g->kh + i) * g->kw + j) * L) * es;
        int64_t sh0 = ci * g->h * g->w + (i - g->ph) * g->w + j - g->pw;
        int64_t lo, hi, oy0, oy1;
        valid_window(g, i, j, &oy0, &oy1, &lo, &hi);
        for (int64_t oy = oy0; oy < oy1; oy++)
          add_strided(dt, (char *)img + (sh0 + oy * g->sh * g->w) * (int64_t)es,
                      row + (size_t)(oy * g->wo) * es, lo, hi, g->sw);
      }
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
    if (o->pool && transposed)
      return glab_fail(GLAB_EARG, "%s: pool is for conv2d only", op);
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

/* saved: x, w (contiguous), y when an activation was fused, the pooling's
** argmax positions when one was; iarg: stride, padding, output_padding, act,
** pool */
static glab_conv_opts node_opts(const glab_node *n) {
  glab_conv_opts o = {{(int)n->iarg[0], (int)n->iarg[1]}, {(int)n->iarg[2], (int)n->iarg[3]},
                      {(int)n->iarg[4], (int)n->iarg[5]}, (glab_act)n->iarg[6],
                      (int)n->iarg[7]};
  return o;
}

static void keep_opts(glab_node *n, const glab_conv_opts *o) {
  for (int d = 0; d < 2; d++) {
    n->iarg[d] = o->stride[d];
    n->iarg[2 + d] = o->padding[d];
    n->iarg[4 + d] = o->output_padding[d];
  }
  n->iarg[6] = o->act;
  n->iarg[7] = o->pool;
}

/* The end of both convolutions' forwards: the node with the contiguous
** input and weight (and the output, when an activation was fused) saved
** and the options kept. */
static glab_status finish_conv(glab_var *out, const char *name, glab_backward_fn bw,
                               const glab_var *x, const glab_var *w, const glab_var *b,
                               const glab_tensor *xc, const glab_tensor *wc,
                               const glab_tensor *idx, const glab_conv_opts *o) {
  const glab_var *ins[3] = {x, w, b};
  glab_node *n;
  glab_status s = glab_node_record(&n, out, name, bw, 3, ins, xc, wc, o->act ? &out->t : NULL);
  if (n) keep_opts(n, o);
  if (n && idx) glab_node_save(n, 3, idx);
  return s;
}

/* ---- the image runner ------------------------------------------------------------------------
** Both convolutions and their backwards are one small function per image.
** The runner cuts the batch into at most RUN_PARTS contiguous parts, fixed
** by the batch size alone, and the threads take whole parts, each thread
** with its own scratch (column or padded-plane buffers).  When a weight
** gradient is summed over the images, every part has its own partial sum,
** and the parts are added in their order at the end: the sum, and so every
** number a seed gives, does not depend on the thread count.  A small batch
** runs on the calling thread alone.  The runner also finishes each output
** image while it is in cache (bias, then the fused activation), and in a
** backward hands each function its image's output gradient gi, already
** through the activation's derivative. */

typedef struct conv_run conv_run;
typedef void (*image_fn)(const conv_run *r, int64_t i, void *yi, const void *gi, void *scratch,
                         void *gw);

/* The max pooling of the planes x (h x w) into y (ho x wo) with argmax
** positions ix (max_pool2d's kernels, below). */
static void pool_planes(glab_dtype dt, void *y, int32_t *ix, const void *x, int64_t planes,
                        int64_t h, int64_t w, int64_t ho, int64_t wo, const int *k,
                        const int *st);

#ifdef GLAB_AVX512_KERNELS
/* The 2 x 2 pooling of planes of any row pitch, a bias added on the way
** (a shifted-sum conv's wide planes, in its fused pooling), and its
** gradient (below; AVX-512 only). */
static void pool2_avx512(float *restrict y, int32_t *restrict ix, const float *restrict x,
                         int64_t ldx, int64_t ps, const float *bias, int64_t planes, int64_t w,
                         int64_t ho, int64_t wo);
static void unpool2_avx512(float *restrict gi, const float *restrict g,
                           const float *restrict ya, const int32_t *restrict ix, int64_t planes,
                           int64_t h, int64_t w, int64_t ho, int64_t wo);
#endif

/* A stride-1 conv as shifted plane sums (conv_shift.h): planes padded to
** width Wp, plane strides PL (padded input), LD (output gradient framed by F
** zeros in front), YL (wide output of Lw positions); the nq kernel offsets'
** shifts and the weights laid out (c, q, o) for the forward and (o, q, c)
** for the input gradient. */
typedef struct {
  int64_t Wp, PL, org, F, LD, YL, Lw, nq;
  int64_t *fwd, *bwd;
  void *wf, *wb;
} shift_plan;

struct conv_run {
  glab_dtype dt;
  geom gm;                 /* the conv (for the transposed one: its adjoint's) */
  int64_t O, CK, L, img;   /* out channels, C kh kw, Ho Wo, one image's size */
  int64_t cin, hw;         /* conv_transpose2d: x's channels and pixels */
  const void *x, *w, *g;   /* input, weight, output gradient */
  void *y, *gx, *gw;       /* results; gw summed over the images */
  const shift_plan *sp;    /* conv2d with stride 1, else NULL */
  void *gb;                /* the bias gradient: g's planes summed, or NULL */
  int64_t oc, ol;          /* one output image's channels and pixels */
  const void *bias;        /* forward: oc values added to the output, or NULL */
  glab_act act;            /* the fused activation */
  const void *ya;          /* backward with an activation: the saved output */
  int pool;                /* conv2d with a fused p x p pooling: p, else 0 */
  int64_t qh, qw;          /* its output planes (the forward writes them at y) */
  int32_t *qidx;           /* the argmax positions, written forward and read backward */
  int wide_pool;           /* forward: conv_fwd_shift pools its wide planes itself */
  int64_t lx;              /* tiled conv_transpose2d: its planes' length, in whole strips */
  const void *wt;          /* its weight as (C kh kw, cin), for the input gradient */
};

/* Element e of a buffer of r's dtype. */
static void *at(const void *p, glab_dtype dt, int64_t e) {
  return (char *)p + e * (int64_t)glab_dtype_size(dt);
}

/* The parts a batch's weight gradient is summed in (and the most threads a
** conv runs on). */
#define RUN_PARTS 8

typedef struct {
  const conv_run *r;
  image_fn fn;
  int64_t N, scratch_n;    /* images; scratch elements per thread */
  int parts;               /* the batch's parts: min(N, RUN_PARTS) */
  char *scratch;           /* per thread: scratch, then gi's buffer */
  size_t per;              /* bytes of one thread's share */
  char *gws;               /* gw's partials of parts 1.. (part 0 sums into gw) */
  int64_t gw_n;            /* elements of gw, 0 when none */
  double *gb;              /* per part: oc sums for the bias gradient */
} run_job;

static void *partial(const run_job *j, int part) {
  return part ? j->gws + (size_t)(part - 1) * (size_t)j->gw_n * glab_dtype_size(j->r->dt)
              : j->r->gw;
}

/* acc[c] += the sum of plane c, for the C planes of l elements at g: eight
** partial sums in double, so that the loop vectorises.  This and the bias
** below run once per image on planes of 9 to 784 values: both are built for
** the wider vector units too (GLAB_MULTIVERSION; the pooling is not, see
** DESIGN-notes). */
GLAB_MULTIVERSION static void add_plane_sums(glab_dtype dt, double *acc, const void *g, int64_t C,
                                             int64_t l) {
  int64_t l8 = l & ~(int64_t)7;
  for (int64_t c = 0; c < C; c++) {
    double s8[8] = {0}, tail = 0;
    if (dt == GLAB_F64) {
      const double *p = (const double *)g + c * l;
      for (int64_t e = 0; e < l8; e += 8)
        for (int k = 0; k < 8; k++) s8[k] += p[e + k];
      for (int64_t e = l8; e < l; e++) tail += p[e];
    } else {
      const float *p = (const float *)g + c * l;
      for (int64_t e = 0; e < l8; e += 8)
        for (int k = 0; k < 8; k++) s8[k] += p[e + k];
      for (int64_t e = l8; e < l; e++) tail += p[e];
    }
    acc[c] += ((s8[0] + s8[4]) + (s8[1] + s8[5])) + ((s8[2] + s8[6]) + (s8[3] + s8[7])) + tail;
  }
}

/* y[c][l] += bias[c] over the C planes of L values of one image. */
GLAB_MULTIVERSION static void add_bias_planes(glab_dtype dt, void *y, const void *bias, int64_t C,
                                              int64_t L) {
  for (int64_t c = 0; c < C; c++) {
    if (dt == GLAB_F64) {
      double *p = (double *)y + c * L, b = ((const double *)bias)[c];
      for (int64_t l = 0; l < L; l++) p[l] += b;
    } else {
      float *p = (float *)y + c * L, b = ((const float *)bias)[c];
      for (int64_t l = 0; l < L; l++) p[l] += b;
    }
  }
}

/* The bias, then the activation (after the pooling, when one is fused), on
** output image y. */
static void finish_image(const conv_run *r, void *y) {
  if (r->bias) add_bias_planes(r->dt, y, r->bias, r->oc, r->ol);
  if (r->act && !r->pool) glab_unary_row(act_op(r->act), r->dt, y, y, r->oc * r->ol);
}

/* The fused pooling of output image yi (in the thread's buffer) into image
** i of the pooled output, then the activation on the pooled values (relu
** commutes with the max, so the values and gradients are max_pool2d's of
** the activated image). */
static void pool_image(const conv_run *r, int64_t i, const void *yi) {
  int64_t qn = r->oc * r->qh * r->qw;
  int k[2] = {r->pool, r->pool};
  void *qy = at(r->y, r->dt, i * qn);
  pool_planes(r->dt, qy, r->qidx + i * qn, yi, r->oc, r->gm.ho, r->gm.wo, r->qh, r->qw, k, k);
  if (r->act) glab_unary_row(act_op(r->act), r->dt, qy, qy, qn);
}

/* Its gradient: gi (the conv's output planes) zero but at the argmax
** positions, which get the pooled gradient g (where the relu passed it). */
static void unpool_image(const conv_run *r, int64_t i, void *gi, const void *g) {
  int64_t L = r->ol, ql = r->qh * r->qw, qn = r->oc * ql;
  const int32_t *ix = r->qidx + i * qn;
#ifdef GLAB_AVX512_KERNELS
  if (r->dt == GLAB_F32 && r->pool == 2 && __builtin_cpu_supports("avx512f")) {
    unpool2_avx512(gi, g, r->ya ? (const float *)r->ya + i * qn : NULL, ix, r->oc, r->gm.ho,
                   r->gm.wo, r->qh, r->qw);
    return;
  }
#endif
  memset(gi, 0, (size_t)(r->oc * L) * glab_dtype_size(r->dt));
  for (int64_t p = 0; p < r->oc; p++)
    for (int64_t l = 0; l < ql; l++) {
      int64_t e = p * ql + l;
      if (r->dt == GLAB_F64) {         /* a store either way: no branch on the relu's zeros */
        double v = ((const double *)g)[e];
        ((double *)gi)[p * L + ix[e]] = !r->ya || ((const double *)r->ya)[i * qn + e] > 0 ? v : 0;
      } else {
        float v = ((const float *)g)[e];
        ((float *)gi)[p * L + ix[e]] = !r->ya || ((const float *)r->ya)[i * qn + e] > 0 ? v : 0;
      }
    }
}

/* Images a..b-1 of one part, with weight-gradient partial gw and bias sums gb. */
static void run_part(const run_job *j, char *own, int64_t a, int64_t b, void *gw, double *gb) {
  const conv_run *r = j->r;
  void *buf = at(own, r->dt, j->scratch_n);               /* one output image */
  int64_t out_n = r->oc * r->ol, g_n = r->pool ? r->oc * r->qh * r->qw : out_n;
  for (int64_t i = a; i < b; i++) {
    if (!r->g) {                                          /* forward */
      void *yi = r->pool ? buf : at(r->y, r->dt, i * out_n);
      j->fn(r, i, yi, NULL, own, gw);
      if (r->wide_pool) continue;                         /* fn finished the image */
      finish_image(r, yi);
      if (r->pool) pool_image(r, i, yi);
      continue;
    }
    const void *gi = at(r->g, r->dt, i * g_n);
    if (r->pool) {
      unpool_image(r, i, buf, gi);
      gi = buf;
    } else if (r->ya) {
      glab_act_grad_row(act_op(r->act), r->dt, buf, gi, at(r->ya, r->dt, i * out_n), out_n);
      gi = buf;
    }
    j->fn(r, i, NULL, gi, own, gw);
    if (r->gb)                     /* image i's output gradient, still in cache */
      add_plane_sums(r->dt, gb, gi, r->oc, r->ol);
  }
}

static void run_images(void *arg, int t, int nt) {
  run_job *j = arg;
  char *own = j->scratch + (size_t)t * j->per;
  for (int p = j->parts * t / nt, e = j->parts * (t + 1) / nt; p < e; p++)
    run_part(j, own, j->N * p / j->parts, j->N * (p + 1) / j->parts,
             j->gw_n ? partial(j, p) : NULL, j->gb ? j->gb + p * j->r->oc : NULL);
}

/* Allocate the bias gradient gb (oc) and have over_images fill it with the
** sums of the output gradient's planes. */
static glab_status want_bias_grad(conv_run *r, glab_tensor *gb) {
  glab_status s = glab_tensor_new(gb, r->dt, 1, &r->oc);
  if (s == GLAB_OK) r->gb = glab_tensor_data(gb);
  return s;
}

/* Above this many flops a batch is split among the threads. */
#define CONV_SPLIT 2e6

/* fn on every image 0..N-1 with scratch_n elements of scratch each; gw_n
** elements of r->gw are summed over them (r->gw zeroed first), and r->gb,
** when set, gets the sums of the output gradient's planes (the bias
** gradient: read while each image is in cache, it costs next to nothing,
** where a separate reduction over the batch was a tenth of a CNN's step).
** flops: the whole batch's, to pick the threads. */
static glab_status over_images(const conv_run *r, image_fn fn, int64_t N, int64_t scratch_n,
                               int64_t gw_n, double flops) {
  int parts = N < RUN_PARTS ? (int)N : RUN_PARTS, nt = glab_get_num_threads();
  if (nt > parts) nt = parts;
  if (flops < CONV_SPLIT || nt < 1) nt = 1;
  size_t es = glab_dtype_size(r->dt), gi_n = r->ya || r->pool ? (size_t)(r->oc * r->ol) : 0;
  run_job j = {r, fn, N, scratch_n, parts, NULL, ((size_t)scratch_n + gi_n) * es, NULL, gw_n,
               NULL};
  j.scratch = malloc(j.per * (size_t)nt);
  if (gw_n && parts > 1) j.gws = malloc((size_t)(parts - 1) * (size_t)gw_n * es);
  if (r->gb) j.gb = calloc((size_t)parts * r->oc, sizeof *j.gb);
  if (!j.scratch || (gw_n && parts > 1 && !j.gws) || (r->gb && !j.gb)) {
    free(j.scratch);
    free(j.gws);
    free(j.gb);
    return glab_fail(GLAB_ENOMEM, "conv: out of memory for scratch buffers");
  }
  for (int p = 0; p < parts && gw_n; p++) memset(partial(&j, p), 0, (size_t)gw_n * es);
  if (nt == 1) run_images(&j, 0, 1);
  else glab_parallel(nt, run_images, &j);
  for (int p = 1; p < parts && gw_n; p++) {
    const void *part = partial(&j, p);
    if (r->dt == GLAB_F64)
      for (int64_t e = 0; e < gw_n; e++) ((double *)r->gw)[e] += ((const double *)part)[e];
    else
      for (int64_t e = 0; e < gw_n; e++) ((float *)r->gw)[e] += ((const float *)part)[e];
  }
  for (int64_t c = 0; r->gb && c < r->oc; c++) {
    double sum = 0;
    for (int p = 0; p < parts; p++) sum += j.gb[p * r->oc + c];
    if (r->dt == GLAB_F64) ((double *)r->gb)[c] = sum;
    else ((float *)r->gb)[c] = (float)sum;
  }
  free(j.scratch);
  free(j.gws);
  free(j.gb);
  return GLAB_OK;
}

/* ---- conv2d, image by image.  Stride 1: shifted plane sums over the padded
** image (conv_shift.h), the weight gradient one GEMM per kernel offset.
** Otherwise y_i = W im2col(x_i); gW += g_i im2col(x_i)^T, gx_i = col2im(W^T g_i).
** ---------------------------------------------------------------------------------------------- */

static void plan_free(shift_plan *p) { free(p->fwd); }

/* The bytes of glab_shift_wgrad's lanes for n weights. */
static size_t lanes_bytes(glab_dtype dt, int64_t n) {
  return (size_t)n * GLAB_SHIFT_STRIP * glab_dtype_size(dt);
}

/* The plan of r's conv (stride 1) with weight w (O, C, kh, kw). */
static glab_status plan_shift(shift_plan *p, const conv_run *r, const void *w) {
  const geom *g = &r->gm;
  int64_t C = g->c, O = r->O, Hp = g->h + 2 * g->ph, nq = g->kh * g->kw;
  size_t es = glab_dtype_size(r->dt);
  p->Wp = g->w + 2 * g->pw;
  p->PL = Hp * p->Wp + g->kw + GLAB_SHIFT_STRIP;
  p->org = g->ph * p->Wp + g->pw;
  p->F = (g->kh - 1) * p->Wp + g->kw - 1;
  p->LD = p->F + Hp * p->Wp + GLAB_SHIFT_STRIP;
  p->Lw = g->ho * p->Wp;
  p->YL = p->Lw + GLAB_SHIFT_STRIP;
  p->nq = nq;
  p->fwd = malloc(2 * (size_t)nq * sizeof *p->fwd + 2 * (size_t)(nq * C * O) * es);
  if (!p->fwd) return glab_fail(GLAB_ENOMEM, "conv2d: out of memory for the weight tables");
  p->bwd = p->fwd + nq;
  p->wf = p->bwd + nq;
  p->wb = (char *)p->wf + (size_t)(nq * C * O) * es;
  for (int64_t q = 0; q < nq; q++) {
    p->fwd[q] = q / g->kw * p->Wp + q % g->kw;
    p->bwd[q] = p->F - p->fwd[q];
  }
  for (int64_t o = 0; o < O; o++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t q = 0; q < nq; q++) {
        int64_t src = (o * C + c) * nq + q, f = (c * nq + q) * O + o, b = (o * nq + q) * C + c;
        if (r->dt == GLAB_F64) {
          ((double *)p->wf)[f] = ((double *)p->wb)[b] = ((const double *)w)[src];
        } else {
          ((float *)p->wf)[f] = ((float *)p->wb)[b] = ((const float *)w)[src];
        }
      }
  return GLAB_OK;
}

/* Image i of x, zero-padded into the plan's planes at xp. */
static void pad_image(const conv_run *r, int64_t i, void *xp) {
  const shift_plan *p = r->sp;
  glab_place_planes(r->dt, xp, p->PL, p->PL, p->org, p->Wp, at(r->x, r->dt, i * r->img),
                    r->gm.c, r->gm.h, r->gm.w);
}

static void conv_fwd_shift(const conv_run *r, int64_t i, void *yi, const void *gi, void *scratch,
                           void *gw) {
  (void)gi, (void)gw;
  const shift_plan *p = r->sp;
  const geom *g = &r->gm;
  void *xp = scratch, *yw = at(scratch, r->dt, g->c * p->PL);
  pad_image(r, i, xp);
  glab_shift_conv(r->dt, yw, p->YL, xp, p->PL, g->c, p->wf, p->fwd, p->nq, r->O, p->Lw);
#ifdef GLAB_AVX512_KERNELS
  if (r->wide_pool) {         /* bias, pooling and activation from the wide planes at once */
    int64_t qn = r->oc * r->qh * r->qw;
    float *qy = (float *)r->y + i * qn;
    pool2_avx512(qy, r->qidx + i * qn, yw, p->Wp, p->YL, r->bias, r->O, g->wo, r->qh, r->qw);
    if (r->act) glab_unary_row(act_op(r->act), r->dt, qy, qy, qn);
    return;
  }
#endif
  glab_take_planes(r->dt, yi, yw, p->YL, 0, p->Wp, r->O, g->ho, g->wo);
}

static void conv_fwd_image(const conv_run *r, int64_t i, void *yi, const void *gi, void *cols,
                           void *gw) {
  (void)gi, (void)gw;
  im2col(r->dt, cols, at(r->x, r->dt, i * r->img), &r->gm);
  glab_gemm(r->dt, 0, 0, r->O, r->L, r->CK, 1.0, r->w, r->CK, cols, r->L, 0.0, yi, r->L);
}

/* Stride 1: gW_q += G X_q^T for each kernel offset q, G the framed output
** gradient and X_q the padded image shifted by q (gw laid out (q, O, C));
** the input gradient is the shifted sum with the shifts negated. */
static void conv_bwd_shift(const conv_run *r, int64_t i, void *yi, const void *gi, void *scratch,
                           void *gw) {
  (void)yi;
  const shift_plan *p = r->sp;
  const geom *g = &r->gm;
  int64_t C = g->c, O = r->O;
  void *xp = scratch, *gp = at(scratch, r->dt, C * p->PL), *gxp = at(gp, r->dt, O * p->LD);
  glab_place_planes(r->dt, gp, p->LD, p->LD, p->F, p->Wp, gi, O, g->ho, g->wo);
  if (gw) {
    pad_image(r, i, xp);
    glab_shift_wgrad(r->dt, gw, at(gp, r->dt, p->F), p->LD, xp, p->PL, O, C, p->fwd, p->nq,
                     p->Lw);
  }
  if (r->gx) {                   /* the input's own rows only, not the padding's */
    glab_shift_conv(r->dt, at(gxp, r->dt, p->org), p->PL, at(gp, r->dt, p->org), p->LD, O, p->wb,
                    p->bwd, p->nq, C, (g->h - 1) * p->Wp + g->w);
    glab_take_planes(r->dt, at(r->gx, r->dt, i * r->img), gxp, p->PL, p->org, p->Wp, C, g->h,
                     g->w);
  }
}

static void conv_bwd_image(const conv_run *r, int64_t i, void *yi, const void *gi, void *cols,
                           void *gw) {
  (void)yi;
  if (gw) {
    im2col(r->dt, cols, at(r->x, r->dt, i * r->img), &r->gm);
    glab_gemm(r->dt, 0, 1, r->O, r->CK, r->L, 1.0, gi, r->L, cols, r->L, 1.0, gw, r->CK);
  }
  if (r->gx) {
    void *gcols = at(cols, r->dt, r->CK * r->L);
    glab_gemm(r->dt, 1, 0, r->CK, r->L, r->O, 1.0, r->w, r->CK, gi, r->L, 0.0, gcols, r->L);
    col2im(r->dt, at(r->gx, r->dt, i * r->img), gcols, &r->gm);
  }
}

/* The runner of conv2d with input x (N, C, H, W), weight w, options o;
** a stride-1 conv gets a shift plan in *p (else p->fwd is NULL). */
static glab_status conv_setup(conv_run *r, shift_plan *p, const glab_tensor *x,
                              const glab_tensor *w, const glab_conv_opts *o) {
  geom gm = make_geom(x->shape[1], x->shape[2], x->shape[3], w, o);
  *r = (conv_run){.dt = x->dtype, .gm = gm, .O = w->shape[0], .CK = gm.c * gm.kh * gm.kw,
                  .L = gm.ho * gm.wo, .img = gm.c * gm.h * gm.w, .x = glab_tensor_data(x),
                  .w = glab_tensor_data(w), .oc = w->shape[0], .ol = gm.ho * gm.wo,
                  .act = o->act, .pool = o->pool};
  if (o->pool) r->qh = gm.ho / o->pool, r->qw = gm.wo / o->pool;
  memset(p, 0, sizeof *p);
  if (gm.sh != 1 || gm.sw != 1) return GLAB_OK;
  glab_status s = plan_shift(p, r, r->w);
  if (s == GLAB_OK) r->sp = p;
  return s;
}

static glab_status conv2d_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *x = &n->saved[0], *w = &n->saved[1], *g = &n->grad[0];
  glab_conv_opts o = node_opts(n);
  glab_dtype dt = x->dtype;
  conv_run r;
  shift_plan p;
  void *gwq = NULL;
  glab_status s = conv_setup(&r, &p, x, w, &o);
  if (s != GLAB_OK) return s;
  r.g = glab_tensor_data(g);
  if (o.act) r.ya = glab_tensor_data(&n->saved[2]);
  if (o.pool) r.qidx = (int32_t *)glab_tensor_data(&n->saved[3]);
  if (glab_node_needs(n, 0)) {           /* col2im adds into zeros; the shifted sum writes */
    TRY(r.sp ? glab_tensor_new(&gin[0], dt, 4, x->shape)
             : glab_tensor_full(&gin[0], dt, 4, x->shape, 0.0));
    r.gx = glab_tensor_data(&gin[0]);
  }
  if (glab_node_needs(n, 1)) {
    TRY(glab_tensor_new(&gin[1], dt, 4, w->shape));
    r.gw = glab_tensor_data(&gin[1]);
    if (r.sp && !(r.gw = gwq = malloc(lanes_bytes(dt, r.O * r.CK))))
      TRY(glab_fail(GLAB_ENOMEM, "conv2d: out of memory for the weight gradient"));
  }
  if (glab_node_needs(n, 2)) TRY(want_bias_grad(&r, &gin[2]));
  double flops = 4.0 * (double)(x->shape[0] * r.O * r.CK * r.L);
  int64_t scratch = r.sp ? r.gm.c * 2 * p.PL + r.O * p.LD : 2 * r.CK * r.L;
  TRY(over_images(&r, r.sp ? conv_bwd_shift : conv_bwd_image, x->shape[0], scratch,
                  r.gw ? r.O * r.CK * (r.sp ? GLAB_SHIFT_STRIP : 1) : 0, flops));
  if (gwq) {                       /* lanes (q, O, C, s) -> (q, O, C) -> (O, C, kh, kw) */
    int64_t nq = p.nq, C = r.gm.c;
    glab_shift_fold(dt, gwq, gwq, r.O * r.CK);
    for (int64_t q = 0; q < nq; q++)
      for (int64_t oc = 0; oc < r.O * C; oc++) {
        if (dt == GLAB_F64)
          ((double *)glab_tensor_data(&gin[1]))[oc * nq + q] = ((double *)gwq)[q * r.O * C + oc];
        else
          ((float *)glab_tensor_data(&gin[1]))[oc * nq + q] = ((float *)gwq)[q * r.O * C + oc];
      }
  }
done:
  free(gwq);
  plan_free(&p);
  return s;
}

glab_status glab_nn_conv2d(glab_var *out, const glab_var *x, const glab_var *w,
                           const glab_var *b, const glab_conv_opts *o) {
  glab_status s = conv_args("conv2d", x, w, b, o, 0);
  if (s != GLAB_OK) return s;
  glab_tensor xc = GLAB_TENSOR_EMPTY, wc = GLAB_TENSOR_EMPTY, bc = GLAB_TENSOR_EMPTY;
  glab_dtype dt = x->t.dtype;
  int64_t N = x->t.shape[0], O = w->t.shape[0];
  geom gm = make_geom(x->t.shape[1], x->t.shape[2], x->t.shape[3], &w->t, o);
  if (gm.ho < 1 || gm.wo < 1)
    return glab_fail(GLAB_ESHAPE, "conv2d: a %lldx%lld kernel does not fit a %lldx%lld input "
                     "with padding %d", (long long)gm.kh, (long long)gm.kw, (long long)gm.h,
                     (long long)gm.w, o->padding[0]);
  if (o->pool && (o->pool < 2 || gm.ho < o->pool || gm.wo < o->pool ||
                  (o->act && o->act != GLAB_ACT_RELU)))
    return glab_fail(GLAB_EARG, "conv2d: pool %d needs an output of at least %dx%d (this is "
                     "%lldx%lld), a size of 2 or more, and a relu activation or none", o->pool,
                     o->pool, o->pool, (long long)gm.ho, (long long)gm.wo);
  int64_t osh[4] = {N, O, o->pool ? gm.ho / o->pool : gm.ho, o->pool ? gm.wo / o->pool : gm.wo};
  glab_tensor idx = GLAB_TENSOR_EMPTY;
  conv_run r;
  shift_plan p = {0};
  TRY(glab_tensor_contiguous(&xc, &x->t));
  TRY(glab_tensor_contiguous(&wc, &w->t));
  if (b) TRY(glab_tensor_contiguous(&bc, &b->t));
  TRY(glab_tensor_new(&out->t, dt, 4, osh));
  TRY(conv_setup(&r, &p, &xc, &wc, o));
  r.y = glab_tensor_data(&out->t);
  r.bias = b ? glab_tensor_data(&bc) : NULL;
  if (o->pool) {                          /* int32 positions in float32 storage, as max_pool2d */
    TRY(glab_tensor_new(&idx, GLAB_F32, 4, osh));
    r.qidx = (int32_t *)glab_tensor_data(&idx);
#ifdef GLAB_AVX512_KERNELS
    r.wide_pool = r.sp && dt == GLAB_F32 && o->pool == 2 && __builtin_cpu_supports("avx512f");
#endif
  }
  TRY(over_images(&r, r.sp ? conv_fwd_shift : conv_fwd_image, N,
                  r.sp ? gm.c * p.PL + O * p.YL : r.CK * r.L, 0,
                  2.0 * (double)(N * O * r.CK * r.L)));
  s = finish_conv(out, "conv2d", conv2d_backward, x, w, b, &xc, &wc, o->pool ? &idx : NULL, o);
done:
  glab_tensor_free(&idx);
  plan_free(&p);
  glab_tensor_free(&xc);
  glab_tensor_free(&wc);
  glab_tensor_free(&bc);
  return s;
}

/* ---- conv_transpose2d: the adjoint of the conv whose images have the
** output's size.  y_i = col2im(W^T x_i); gx_i = W im2col(g_i),
** gW += x_i im2col(g_i)^T. -------------------------------------------------------------------- */

/* The conv whose input gradient this is: images of the output's size. */
static geom transposed_geom(const glab_tensor *y, const glab_tensor *w, const glab_conv_opts *o) {
  return make_geom(y->shape[1], y->shape[2], y->shape[3], w, o);
}

static void convt_fwd_image(const conv_run *r, int64_t i, void *y, const void *gi, void *cols,
                            void *gw) {
  (void)gi, (void)gw;
  glab_gemm(r->dt, 1, 0, r->CK, r->hw, r->cin, 1.0, r->w, r->CK,
            at(r->x, r->dt, i * r->cin * r->hw), r->hw, 0.0, cols, r->hw);
  memset(y, 0, (size_t)r->img * glab_dtype_size(r->dt));    /* col2im adds; zeroed in cache */
  col2im(r->dt, y, cols, &r->gm);
}

static void convt_bwd_image(const conv_run *r, int64_t i, void *yi, const void *gi, void *gcols,
                            void *gw) {
  (void)yi;
  im2col(r->dt, gcols, gi, &r->gm);
  if (r->gx)
    glab_gemm(r->dt, 0, 0, r->cin, r->hw, r->CK, 1.0, r->w, r->CK, gcols, r->hw, 0.0,
              at(r->gx, r->dt, i * r->cin * r->hw), r->hw);
  if (gw)
    glab_gemm(r->dt, 0, 1, r->cin, r->CK, r->hw, 1.0,
              at(r->x, r->dt, i * r->cin * r->hw), r->hw, gcols, r->hw, 1.0, gw,
              r->CK);
}

/* ---- conv_transpose2d with the stride equal to the kernel and no padding:
** every input pixel owns a kh x kw tile of the output, so the columns
** W^T x_i (one plane per (c, a, b) of the tile) go to the image by plain
** stores, with no zeroing and no adds, and the output gradient's tiles are
** the backward's columns.  The products are conv_shift's with the one shift
** 0, over planes padded to whole strips (lx); the weight gradient sums into
** per-lane partials, folded after the last image. */

static const int64_t no_shift[1] = {0};

static int tiled(const geom *g) {
  return g->sh == g->kh && g->sw == g->kw && g->ph == 0 && g->pw == 0;
}

/* dst[ox sw] = src[ox] for ox < n, elements of es bytes (4 or 8). */
static void spread_strided(size_t es, char *dst, const char *src, int64_t n, int64_t sw) {
  if (es == 8)
    for (int64_t ox = 0; ox < n; ox++) ((uint64_t *)dst)[ox * sw] = ((const uint64_t *)src)[ox];
  else if (sw == 2)
    for (int64_t ox = 0; ox < n; ox++) ((uint32_t *)dst)[2 * ox] = ((const uint32_t *)src)[ox];
  else
    for (int64_t ox = 0; ox < n; ox++) ((uint32_t *)dst)[ox * sw] = ((const uint32_t *)src)[ox];
}

/* The two columns of a tile 2 wide and their row of the image, float32:
** the row holds c0[x], c1[x] side by side (two columns a step, not one). */
static void pair_rows(uint32_t *restrict row, uint32_t *restrict c0, uint32_t *restrict c1,
                      int64_t W, int to_img) {
  if (to_img)
    for (int64_t x = 0; x < W; x++) row[2 * x] = c0[x], row[2 * x + 1] = c1[x];
  else
    for (int64_t x = 0; x < W; x++) c0[x] = row[2 * x], c1[x] = row[2 * x + 1];
}

/* Between image img (c, h, w: the output's size) and the columns, one plane
** of lx per tile position q = (ci kh + a) kw + b, holding the ho x wo input
** pixels: to_img stores the columns into their tiles (the margin that
** output_padding adds, zero); otherwise the tiles are copied into the
** columns, with zeros past ho wo.  Moves only: one function over the
** element size. */
static void tiles(size_t es, char *img, char *cols, int64_t lx, const geom *g, int to_img) {
  int64_t H = g->ho, W = g->wo, wd = g->w, pairs = es == 4 && g->kw == 2;
  for (int64_t ci = 0; ci < g->c; ci++) {
    char *plane = img + (size_t)(ci * g->h * wd) * es;
    for (int64_t a = 0; a < g->kh; a++)
      for (int64_t b = 0; b < g->kw; b += 1 + pairs) {
        char *col = cols + (size_t)(((ci * g->kh + a) * g->kw + b) * lx) * es;
        for (int64_t y = 0; y < H; y++) {
          char *row = plane + (size_t)((y * g->kh + a) * wd + b) * es, *c = col + (size_t)(y * W) * es;
          if (pairs) pair_rows((uint32_t *)row, (uint32_t *)c, (uint32_t *)(c + lx * 4), W, to_img);
          else if (to_img) spread_strided(es, row, c, W, g->sw);
          else copy_strided(es, c, row, 0, W, g->sw);
        }
        for (int64_t k = 0; !to_img && k <= pairs; k++)
          memset(col + (size_t)(k * lx + H * W) * es, 0, (size_t)(lx - H * W) * es);
      }
    if (!to_img) continue;
    for (int64_t y = 0; y < H * g->kh && W * g->kw < wd; y++)  /* output_padding: columns, rows */
      memset(plane + (size_t)(y * wd + W * g->kw) * es, 0, (size_t)(wd - W * g->kw) * es);
    memset(plane + (size_t)(H * g->kh * wd) * es, 0, (size_t)((g->h - H * g->kh) * wd) * es);
  }
}

/* Image i of x in cin planes of lx (zeros past its pixels) at xp. */
static void place_input(const conv_run *r, int64_t i, void *xp) {
  glab_place_planes(r->dt, xp, r->lx, r->lx, 0, r->hw, at(r->x, r->dt, i * r->cin * r->hw),
                    r->cin, 1, r->hw);
}

static void convt_fwd_tiled(const conv_run *r, int64_t i, void *y, const void *gi, void *scratch,
                            void *gw) {
  (void)gi, (void)gw;
  void *xp = scratch, *cols = at(scratch, r->dt, r->cin * r->lx);
  place_input(r, i, xp);
  glab_shift_conv(r->dt, cols, r->lx, xp, r->lx, r->cin, r->w, no_shift, 1, r->CK, r->hw);
  tiles(glab_dtype_size(r->dt), y, cols, r->lx, &r->gm, 1);
}

static void convt_bwd_tiled(const conv_run *r, int64_t i, void *yi, const void *gi,
                            void *scratch, void *gw) {
  (void)yi;
  void *xp = scratch, *gq = at(xp, r->dt, r->cin * r->lx), *gxp = at(gq, r->dt, r->CK * r->lx);
  tiles(glab_dtype_size(r->dt), (void *)gi, gq, r->lx, &r->gm, 0);
  if (r->gx) {
    glab_shift_conv(r->dt, gxp, r->lx, gq, r->lx, r->CK, r->wt, no_shift, 1, r->cin, r->hw);
    glab_take_planes(r->dt, at(r->gx, r->dt, i * r->cin * r->hw), gxp, r->lx, 0, r->hw, r->cin,
                     1, r->hw);
  }
  if (gw) {
    place_input(r, i, xp);
    glab_shift_wgrad(r->dt, gw, xp, r->lx, gq, r->lx, r->cin, r->CK, no_shift, 1, r->hw);
  }
}

/* The runner's view of a transposed convolution of x (N, Cin, H, W) by w
** into y, whose image size fixes the geometry. */
static conv_run transposed_run(const glab_tensor *x, const glab_tensor *w, const glab_tensor *y,
                               const glab_conv_opts *o) {
  geom gm = transposed_geom(y, w, o);
  conv_run r = {.dt = x->dtype, .gm = gm, .CK = gm.c * gm.kh * gm.kw,
                .img = gm.c * gm.h * gm.w, .cin = x->shape[1], .hw = x->shape[2] * x->shape[3],
                .x = glab_tensor_data(x), .w = glab_tensor_data(w), .oc = gm.c,
                .ol = gm.h * gm.w, .act = o->act};
  if (tiled(&gm)) r.lx = (r.hw + GLAB_SHIFT_STRIP - 1) / GLAB_SHIFT_STRIP * GLAB_SHIFT_STRIP;
  return r;
}

/* saved: x, w (contiguous) */
static glab_status conv_transpose2d_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *x = &n->saved[0], *w = &n->saved[1], *g = &n->grad[0];
  glab_conv_opts o = node_opts(n);
  glab_dtype dt = x->dtype;
  conv_run r = transposed_run(x, w, g, &o);
  void *lanes = NULL, *wt = NULL;
  glab_status s;
  r.g = glab_tensor_data(g);
  if (o.act) r.ya = glab_tensor_data(&n->saved[2]);
  if (glab_node_needs(n, 0)) {
    TRY(glab_tensor_new(&gin[0], dt, 4, x->shape));
    r.gx = glab_tensor_data(&gin[0]);
  }
  if (glab_node_needs(n, 1)) {
    TRY(glab_tensor_new(&gin[1], dt, 4, w->shape));
    r.gw = glab_tensor_data(&gin[1]);
    if (r.lx && !(r.gw = lanes = malloc(lanes_bytes(dt, r.cin * r.CK))))
      TRY(glab_fail(GLAB_ENOMEM, "conv_transpose2d: out of memory for the weight gradient"));
  }
  if (glab_node_needs(n, 2)) TRY(want_bias_grad(&r, &gin[2]));
  if (r.lx && r.gx) {                         /* w as (C kh kw, cin) */
    if (!(r.wt = wt = malloc((size_t)(r.cin * r.CK) * glab_dtype_size(dt))))
      TRY(glab_fail(GLAB_ENOMEM, "conv_transpose2d: out of memory for the weight"));
    glab_transpose_copy(dt, r.cin, r.CK, r.w, r.CK, wt, r.cin);
  }
  double flops = 4.0 * (double)(x->shape[0] * r.cin * r.CK * r.hw);
  int64_t gw_n = r.gw ? r.cin * r.CK * (r.lx ? GLAB_SHIFT_STRIP : 1) : 0;
  TRY(over_images(&r, r.lx ? convt_bwd_tiled : convt_bwd_image, x->shape[0],
                  r.lx ? (2 * r.cin + r.CK) * r.lx : r.CK * r.hw, gw_n, flops));
  if (lanes) glab_shift_fold(dt, glab_tensor_data(&gin[1]), lanes, r.cin * r.CK);
done:
  free(lanes);
  free(wt);
  return s;
}

glab_status glab_nn_conv_transpose2d(glab_var *out, const glab_var *x, const glab_var *w,
                                     const glab_var *b, const glab_conv_opts *o) {
  glab_status s = conv_args("conv_transpose2d", x, w, b, o, 1);
  if (s != GLAB_OK) return s;
  glab_tensor xc = GLAB_TENSOR_EMPTY, wc = GLAB_TENSOR_EMPTY, bc = GLAB_TENSOR_EMPTY;
  glab_dtype dt = x->t.dtype;
  int64_t N = x->t.shape[0], H = x->t.shape[2], W = x->t.shape[3];
  int64_t Cout = w->t.shape[1], kh = w->t.shape[2], kw = w->t.shape[3];
  int64_t Ho = (H - 1) * o->stride[0] - 2 * o->padding[0] + kh + o->output_padding[0];
  int64_t Wo = (W - 1) * o->stride[1] - 2 * o->padding[1] + kw + o->output_padding[1];
  if (Ho < 1 || Wo < 1)
    return glab_fail(GLAB_ESHAPE, "conv_transpose2d: padding %d leaves no output for a "
                     "%lldx%lld input", o->padding[0], (long long)H, (long long)W);
  int64_t osh[4] = {N, Cout, Ho, Wo};
  TRY(glab_tensor_contiguous(&xc, &x->t));
  TRY(glab_tensor_contiguous(&wc, &w->t));
  if (b) TRY(glab_tensor_contiguous(&bc, &b->t));
  TRY(glab_tensor_new(&out->t, dt, 4, osh));
  conv_run r = transposed_run(&xc, &wc, &out->t, o);
  r.y = glab_tensor_data(&out->t);
  r.bias = b ? glab_tensor_data(&bc) : NULL;
  TRY(over_images(&r, r.lx ? convt_fwd_tiled : convt_fwd_image, N,
                  r.lx ? (r.cin + r.CK) * r.lx : r.CK * r.hw, 0,
                  2.0 * (double)(N * r.cin * r.CK * r.hw)));
  s = finish_conv(out, "conv_transpose2d", conv_transpose2d_backward, x, w, b, &xc, &wc, NULL,
                  o);
done:
  glab_tensor_free(&xc);
  glab_tensor_free(&wc);
  glab_tensor_free(&bc);
  return s;
}

/* ---- max_pool2d ----------------------------------------------------------------------------- */

/* saved: idx, the flat position of each maximum in its plane as int32 (the
** memory of a float32 tensor of the output's shape: private to the node,
** and half the traffic of float64 positions); iarg: the input's shape */
static void max_pool_back(glab_dtype dt, void *gx, const void *g, const int32_t *restrict ix,
                          int64_t planes, int64_t HW, int64_t L) {
  for (int64_t p = 0; p < planes; p++, ix += L)
    if (dt == GLAB_F64) {
      double *restrict d = (double *)gx + p * HW;
      const double *restrict gp = (const double *)g + p * L;
      for (int64_t l = 0; l < L; l++) d[ix[l]] += gp[l];
    } else {
      float *restrict d = (float *)gx + p * HW;
      const float *restrict gp = (const float *)g + p * L;
      for (int64_t l = 0; l < L; l++) d[ix[l]] += gp[l];
    }
}

/* Row by row: for each window row, the running max of every output column
** is updated from one input row, a loop the compiler vectorises (the
** windows' first maximum wins, NaN propagates).  Inlined with S = 2 (a
** constant stride vectorises) and with the layer's own stride.  MAX_POOL
** writes the step and the planes' outputs y and argmax positions ix from
** the inputs x for one dtype. */
#define MAX_POOL(SFX, T)                                                                       \
  static inline __attribute__((always_inline)) void                                            \
  pool_step_##SFX(T *restrict yr, int32_t *restrict ir, const T *restrict xr, int64_t wo,      \
                  int32_t S, int32_t base) {                                                   \
    for (int64_t ox = 0; ox < wo; ox++) {                                                      \
      T v = xr[ox * S], cur = yr[ox];                                                          \
      int take = (v > cur) | ((v != v) & (cur == cur));                                        \
      yr[ox] = take ? v : cur;                                                                 \
      ir[ox] = take ? base + (int32_t)ox * S : ir[ox];                                         \
    }                                                                                          \
  }                                                                                            \
  static void max_pool_##SFX(T *restrict y, int32_t *restrict ix, const T *restrict x,         \
                             int64_t planes, int64_t h, int64_t w, int64_t ho, int64_t wo,     \
                             const int *k, const int *st) {                                    \
    for (int64_t p = 0; p < planes; p++, x += h * w, y += ho * wo, ix += ho * wo)              \
      for (int64_t oy = 0; oy < ho; oy++)                                                      \
        for (int64_t i = 0; i < k[0]; i++)                                                     \
          for (int64_t j = 0; j < k[1]; j++) {                                                 \
            const T *xr = x + (oy * st[0] + i) * w + j;                                        \
            int32_t base = (int32_t)((oy * st[0] + i) * w + j), s1 = st[1];                    \
            T *yr = y + oy * wo;                                                               \
            int32_t *ir = ix + oy * wo;                                                        \
            if (i == 0 && j == 0)                                                              \
              for (int64_t ox = 0; ox < wo; ox++) {                                            \
                yr[ox] = xr[ox * s1];                                                          \
                ir[ox] = base + (int32_t)ox * s1;                                              \
              }                                                                                \
            else if (s1 == 2) pool_step_##SFX(yr, ir, xr, wo, 2, base);                        \
            else pool_step_##SFX(yr, ir, xr, wo, s1, base);                                    \
          }                                                                                    \
  }
MAX_POOL(f32, float)
MAX_POOL(f64, double)

/* The 2 x 2 windows of stride 2 over float32 planes of even width (seed
** 004's 28 x 28 and 14 x 14; its 7 x 7 takes the row kernel) in two flat
** passes that vectorise: the larger of
** each horizontal pair over the whole plane, then of each vertical pair of
** those, both under pool_step's rule (a NaN wins, then the strictly
** larger), which picks the element the scan in window order picks.  Rows of
** 14 and 7 are too short for the row kernels' vectors. */
#define POOL2_MAX 2048

GLAB_MULTIVERSION static void pool2_f32(float *restrict y, int32_t *restrict ix,
                                        const float *restrict x, int64_t planes, int64_t h,
                                        int64_t ho, int64_t wo) {
  float hv[POOL2_MAX];
  int32_t hi[POOL2_MAX];
  int32_t n = (int32_t)(2 * ho * wo), W = (int32_t)wo;
  for (int64_t p = 0; p < planes; p++, x += h * 2 * wo, y += ho * wo, ix += ho * wo) {
    for (int32_t k = 0; k < n; k++) {
      float a = x[2 * k], b = x[2 * k + 1];
      int32_t t = (b > a) | ((b != b) & (a == a));
      hv[k] = t ? b : a;
      hi[k] = 2 * k + t;
    }
    for (int32_t oy = 0; oy < (int32_t)ho; oy++) {
      const float *v0 = hv + 2 * oy * W, *v1 = v0 + W;
      const int32_t *i0 = hi + 2 * oy * W, *i1 = i0 + W;
      for (int32_t ox = 0; ox < W; ox++) {
        int32_t t = (v1[ox] > v0[ox]) | ((v1[ox] != v1[ox]) & (v0[ox] == v0[ox]));
        y[oy * W + ox] = t ? v1[ox] : v0[ox];
        ix[oy * W + ox] = t ? i1[ox] : i0[ox];
      }
    }
  }
}

#ifdef GLAB_AVX512_KERNELS

/* The larger of a and b under pool_step's rule (b wins when strictly larger,
** or NaN where a is not): the lanes where b is taken. */
__attribute__((target("avx512f"))) static inline __mmask16 takes_b(__m512 a, __m512 b) {
  return _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ) |
         (_mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q) & _mm512_cmp_ps_mask(a, a, _CMP_ORD_Q));
}

/* One input row's horizontal pairs from 2 cnt floats at r (masked: nothing
** past them is read): the larger of each pair in *v, its position base + 2 i
** (+ 1 for the right one) in *i. */
__attribute__((target("avx512f"))) static inline void row_pairs(__m512 *v, __m512i *i,
                                                                const float *r, int cnt,
                                                                int32_t base, __m512 bias,
                                                                int add) {
  const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i od = _mm512_add_epi32(ev, _mm512_set1_epi32(1));
  __mmask16 lo = cnt >= 8 ? 0xFFFF : (__mmask16)((1u << (2 * cnt)) - 1);
  __mmask16 hi = cnt > 8 ? (__mmask16)((1u << (2 * cnt - 16)) - 1) : 0;
  __m512 x0 = _mm512_maskz_loadu_ps(lo, r), x1 = _mm512_maskz_loadu_ps(hi, r + 16);
  if (add) x0 = _mm512_add_ps(x0, bias), x1 = _mm512_add_ps(x1, bias);
  __m512 a = _mm512_permutex2var_ps(x0, ev, x1), b = _mm512_permutex2var_ps(x0, od, x1);
  __mmask16 t = takes_b(a, b);
  *v = _mm512_mask_blend_ps(t, a, b);
  *i = _mm512_mask_add_epi32(_mm512_add_epi32(_mm512_set1_epi32(base), ev), t,
                             _mm512_add_epi32(_mm512_set1_epi32(base), ev), _mm512_set1_epi32(1));
}

/* pool2_f32 with AVX-512 masks: up to 16 outputs of a row at once, the
** rows' ends masked instead of run one element at a time (seed 004's rows
** of 14 and 7 outputs had spent most of pool2_f32's time in its scalar
** tails).  The same choices, so the same values and positions.  Planes of
** row pitch ldx and stride ps: a dense plane's (w and h w), or a
** shifted-sum conv's wide output, each value plus its plane's bias first
** (the add of add_bias_planes, so the same values; none when bias is NULL)
** and positions counted in dense planes of width w (any w >= 2 wo: an odd
** last column is never a window's), which saves the take into dense planes
** and the bias pass over them. */
__attribute__((target("avx512f"))) static void pool2_avx512(float *restrict y,
                                                             int32_t *restrict ix,
                                                             const float *restrict x,
                                                             int64_t ldx, int64_t ps,
                                                             const float *bias, int64_t planes,
                                                             int64_t w, int64_t ho, int64_t wo) {
  for (int64_t p = 0; p < planes; p++, x += ps, y += ho * wo, ix += ho * wo) {
    __m512 b = _mm512_set1_ps(bias ? bias[p] : 0.0f);
    for (int32_t oy = 0; oy < (int32_t)ho; oy++)
      for (int32_t ox = 0; ox < (int32_t)wo; ox += 16) {
        int cnt = (int32_t)wo - ox < 16 ? (int32_t)wo - ox : 16;
        int32_t base = 2 * oy * (int32_t)w + 2 * ox;
        const float *r0 = x + 2 * oy * ldx + 2 * ox;
        __m512 v0, v1;
        __m512i i0, i1;
        row_pairs(&v0, &i0, r0, cnt, base, b, bias != NULL);
        row_pairs(&v1, &i1, r0 + ldx, cnt, base + (int32_t)w, b, bias != NULL);
        __mmask16 t = takes_b(v0, v1), m = (__mmask16)(cnt == 16 ? 0xFFFF : (1u << cnt) - 1);
        _mm512_mask_storeu_ps(y + oy * wo + ox, m, _mm512_mask_blend_ps(t, v0, v1));
        _mm512_mask_storeu_epi32(ix + oy * wo + ox, m, _mm512_mask_blend_epi32(t, i0, i1));
      }
  }
}

/* unpool_image's planes for a 2 x 2 pooling of stride 2, float32, every
** value written once: each window's four positions compared with its
** argmax, the gradient (zero where the relu stopped it) blended in, and two
** windows' columns interleaved by permutes into 32 values of a row; a
** plane of odd height or width is zeroed first for the row and column no
** window covers.  The scalar loop's memset and stores at scattered
** positions had taken a seventh of a fused 28 x 28 conv's backward. */
__attribute__((target("avx512f"))) static void unpool2_avx512(float *restrict gi,
                                                               const float *restrict g,
                                                               const float *restrict ya,
                                                               const int32_t *restrict ix,
                                                               int64_t planes, int64_t h,
                                                               int64_t w, int64_t ho,
                                                               int64_t wo) {
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
  const __m512i two = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (int64_t p = 0; p < planes; p++, gi += h * w, g += ho * wo, ix += ho * wo) {
    if (h != 2 * ho || w != 2 * wo) memset(gi, 0, (size_t)(h * w) * sizeof *gi);
    for (int32_t oy = 0; oy < (int32_t)ho; oy++)
      for (int32_t ox = 0; ox < (int32_t)wo; ox += 16) {
        int cnt = (int32_t)wo - ox < 16 ? (int32_t)wo - ox : 16;
        __mmask16 m = (__mmask16)(cnt == 16 ? 0xFFFF : (1u << cnt) - 1);
        __mmask16 m0 = cnt >= 8 ? 0xFFFF : (__mmask16)((1u << 2 * cnt) - 1);
        __mmask16 m1 = cnt > 8 ? (__mmask16)((1u << (2 * cnt - 16)) - 1) : 0;
        int64_t q = oy * wo + ox;
        __m512 v = _mm512_maskz_loadu_ps(m, g + q);
        if (ya) {                                  /* the relu passed it where its output > 0 */
          __m512 a = _mm512_maskz_loadu_ps(m, ya + p * ho * wo + q);
          v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_GT_OQ), v);
        }
        __m512i at = _mm512_maskz_loadu_epi32(m, ix + q);
        for (int32_t dy = 0; dy < 2; dy++) {
          int32_t row = (2 * oy + dy) * (int32_t)w;
          __m512i left = _mm512_add_epi32(_mm512_set1_epi32(row + 2 * ox), two);
          __m512 e = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(at, left), v);
          __m512 o = _mm512_maskz_mov_ps(
              _mm512_cmpeq_epi32_mask(at, _mm512_add_epi32(left, _mm512_set1_epi32(1))), v);
          float *d = gi + row + 2 * ox;
          _mm512_mask_storeu_ps(d, m0, _mm512_permutex2var_ps(e, lo, o));
          _mm512_mask_storeu_ps(d + 16, m1, _mm512_permutex2var_ps(e, hi, o));
        }
      }
  }
}
#endif

static void pool_planes(glab_dtype dt, void *y, int32_t *ix, const void *x, int64_t planes,
                        int64_t h, int64_t w, int64_t ho, int64_t wo, const int *k,
                        const int *st) {
  int pool2 = k[0] == 2 && k[1] == 2 && st[0] == 2 && st[1] == 2 && w == 2 * wo;
  if (dt == GLAB_F64) max_pool_f64(y, ix, x, planes, h, w, ho, wo, k, st);
#ifdef GLAB_AVX512_KERNELS
  else if (pool2 && __builtin_cpu_supports("avx512f"))
    pool2_avx512(y, ix, x, w, h * w, NULL, planes, w, ho, wo);
#endif
  else if (pool2 && 2 * ho * wo <= POOL2_MAX) pool2_f32(y, ix, x, planes, h, ho, wo);
  else max_pool_f32(y, ix, x, planes, h, w, ho, wo, k, st);
}

/* The planes of a pooling, split among the threads (each plane is one
** thread's alone, so the split changes no result). */
typedef struct {
  glab_dtype dt;
  int back;                          /* 0: forward, 1: backward */
  void *y, *gx;
  const void *x, *g;
  int32_t *ix;
  int64_t planes, h, w, ho, wo;
  const int *k, *st;
} pool_job;

static void pool_work(void *arg, int t, int nt) {
  const pool_job *j = arg;
  int64_t p0 = j->planes * t / nt, np = j->planes * (t + 1) / nt - p0, HW = j->h * j->w;
  int64_t L = j->ho * j->wo;
  size_t es = glab_dtype_size(j->dt);
  if (j->back) {
    char *gx = (char *)j->gx + (size_t)(p0 * HW) * es;
    const char *g = (const char *)j->g + (size_t)(p0 * L) * es;
    memset(gx, 0, (size_t)(np * HW) * es);
    max_pool_back(j->dt, gx, g, j->ix + p0 * L, np, HW, L);
    return;
  }
  pool_planes(j->dt, (char *)j->y + (size_t)(p0 * L) * es, j->ix + p0 * L,
              (const char *)j->x + (size_t)(p0 * HW) * es, np, j->h, j->w, j->ho, j->wo, j->k,
              j->st);
}

/* Above this many input elements a pooling splits its planes among the threads. */
#define POOL_SPLIT ((int64_t)1 << 17)

static void pool_run(pool_job *j) {
  int nt = glab_get_num_threads();
  if (nt > j->planes) nt = (int)j->planes;
  if (nt < 2 || j->planes * j->h * j->w < POOL_SPLIT) pool_work(j, 0, 1);
  else glab_parallel(nt, pool_work, j);
}

static glab_status max_pool2d_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *idx = &n->saved[0], *g = &n->grad[0];
  int64_t shape[4] = {n->iarg[0], n->iarg[1], n->iarg[2], n->iarg[3]};
  glab_status s = glab_tensor_new(&gin[0], g->dtype, 4, shape);
  if (s != GLAB_OK) return s;
  pool_job j = {g->dtype, 1, NULL, glab_tensor_data(&gin[0]), NULL, glab_tensor_data(g),
                glab_tensor_data(idx), shape[0] * shape[1], shape[2], shape[3], g->shape[2],
                g->shape[3], NULL, NULL};
  pool_run(&j);
  return GLAB_OK;
}


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
  if (t->shape[2] * t->shape[3] > INT32_MAX)
    return glab_fail(GLAB_ESHAPE, "max_pool2d: planes of more than 2^31 pixels (%s)",
                     glab_shape_str(sx, sizeof sx, t->ndim, t->shape));
  if (t->shape[2] < kernel[0] || t->shape[3] < kernel[1])
    return glab_fail(GLAB_ESHAPE, "max_pool2d: a %dx%d kernel does not fit the input (%s)",
                     kernel[0], kernel[1], glab_shape_str(sx, sizeof sx, t->ndim, t->shape));
  glab_tensor xc = GLAB_TENSOR_EMPTY, idx = GLAB_TENSOR_EMPTY;
  int64_t osh[4] = {t->shape[0], t->shape[1], ho, wo};
  glab_status s;
  TRY(glab_tensor_contiguous(&xc, t));
  TRY(glab_tensor_new(&out->t, t->dtype, 4, osh));
  TRY(glab_tensor_new(&idx, GLAB_F32, 4, osh));       /* int32 positions, see above */
  pool_job j = {t->dtype, 0, glab_tensor_data(&out->t), NULL, glab_tensor_data(&xc), NULL,
                glab_tensor_data(&idx), t->shape[0] * t->shape[1], t->shape[2], t->shape[3],
                ho, wo, kernel, stride};
  pool_run(&j);
  glab_node *n;
  s = glab_node_record(&n, out, "max_pool2d", max_pool2d_backward, 1, &x, &idx, NULL, NULL);
  if (n) memcpy(n->iarg, t->shape, 4 * sizeof *t->shape);
done:
  glab_tensor_free(&xc);
  glab_tensor_free(&idx);
  return s;
}
