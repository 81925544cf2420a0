/*
** nn_lstm.c -- one LSTM layer over a whole sequence, forward and backward
** through time, as a single recorded operation.
**
** The input projection of all T steps is one GEMM; each step then adds
** h_{t-1} W_hh^T (glab_gemm_small: at 32 x 32 by 32 x 128 a BLAS call's
** fixed cost was most of the step) and runs the gate arithmetic in place.
** Backward walks the steps in reverse with the saved gate activations and
** cell states, and finishes with one GEMM per weight gradient (W_hh's over
** all B T rows at once, against the states h_{t-1} gathered in a buffer).
** The rows of the batch are independent through time, so the steps of both
** walks run on the cores side by side, a share of the rows each: every row
** gets the same bits whatever the share (glab_gemm_small's rows do).
**
** Buffers (B batch, T steps, H hidden, I input; rows are b T + t):
**   gates (B, T, 4H)  activated i, f, g, o          saved
**   cs    (B, T, H)   cell states c_t               saved
**   y     (B, T, H)   hidden states h_t             output 0
**   dA    (B, T, 4H)  gradient of the gate pre-activations (backward)
*/
#include <math.h>
#include <string.h>

#include "../tensor/fastmath.h"
#include "../tensor/parallel.h"
#include "nn.h"
#include "node.h"

/* One step's gate arithmetic for every row b: g4 holds pre-activations on
** entry and activations on exit (ld4 apart), c/cprev/h rows ld apart.
** The dh and dc (B, H) of the backward step carry the gradient from step
** t+1 in and to step t-1 out.  float32 and float64 are the same code.
**
** sigmoid(x) = (1 + tanh(x/2)) / 2 in float32 (absolute error under 2e-7),
** with fastmath.h's rational tanh: no libm call, so the loops vectorise. */
static inline float sigm_f32(float x) { return 0.5f + 0.5f * glab_tanhf(0.5f * x); }
static inline double sigm_f64(double x) { return 1 / (1 + exp(-x)); }

/* The cell's forward and backward for one dtype, with its sigmoid and tanh. */
#define LSTM_CELL(SFX, T, SIGM, TANH)                                                          \
  GLAB_MULTIVERSION static void cell_forward_##SFX(T *restrict g4, int64_t ld4, T *restrict c,  \
                                                   T *restrict h, int64_t ld,                   \
                                                   const T *restrict cprev, int64_t ldp,        \
                                                   int64_t B, int64_t H) {                      \
    for (int64_t b = 0; b < B; b++) {                                                          \
      T *a = g4 + b * ld4, *cb = c + b * ld, *hb = h + b * ld;                                 \
      const T *cp = cprev + b * ldp;                                                           \
      for (int64_t k = 0; k < H; k++) {                                                        \
        T i = SIGM(a[k]), f = SIGM(a[H + k]);                                                  \
        T g = TANH(a[2 * H + k]), o = SIGM(a[3 * H + k]);                                      \
        a[k] = i; a[H + k] = f; a[2 * H + k] = g; a[3 * H + k] = o;                            \
        cb[k] = f * cp[k] + i * g;                                                             \
        hb[k] = o * TANH(cb[k]);                                                               \
      }                                                                                        \
    }                                                                                          \
  }                                                                                            \
  GLAB_MULTIVERSION static void cell_backward_##SFX(                                           \
      T *restrict dA, const T *restrict g4, int64_t ld4, const T *restrict c,                  \
      const T *restrict gy, int64_t ld, const T *restrict cprev, int64_t ldp, T *restrict dh,  \
      T *restrict dc, int64_t B, int64_t H) {                                                  \
    for (int64_t b = 0; b < B; b++) {                                                          \
      const T *a = g4 + b * ld4, *cb = c + b * ld, *cp = cprev + b * ldp;                      \
      const T *gyb = gy + b * ld;                                                              \
      T *d = dA + b * ld4, *dhb = dh + b * H, *dcb = dc + b * H;                               \
      for (int64_t k = 0; k < H; k++) {                                                        \
        T i = a[k], f = a[H + k], g = a[2 * H + k], o = a[3 * H + k];                          \
        T tc = TANH(cb[k]), dhk = gyb[k] + dhb[k];                                             \
        T dck = dhk * o * (1 - tc * tc) + dcb[k];                                              \
        d[k] = dck * g * i * (1 - i);                                                          \
        d[H + k] = dck * cp[k] * f * (1 - f);                                                  \
        d[2 * H + k] = dck * i * (1 - g * g);                                                  \
        d[3 * H + k] = dhk * tc * o * (1 - o);                                                 \
        dcb[k] = dck * f;                                                                      \
      }                                                                                        \
    }                                                                                          \
  }
LSTM_CELL(f32, float, sigm_f32, glab_tanhf)
LSTM_CELL(f64, double, sigm_f64, tanh)

/* The walks through time, on rows [b0, b1) of the batch (rows_of). */
typedef struct {
  int64_t B, T, H;
  const glab_tensor *w;           /* W_hh^T (H x 4H) forward, W_hh (4H x H) backward */
  const glab_tensor *h0, *c0;     /* (B, H) */
  const glab_tensor *gates, *cs, *y;   /* (B, T, 4H), (B, T, H), (B, T, H) */
  const glab_tensor *dA, *dh, *dc, *dh2;   /* backward: (B, T, 4H), then (B, H) each */
  const glab_tensor *gy;          /* backward: the gradient of y (B, T, H) */
} lstm_job;

/* Share t of n: rows [b0, b1), or 0 when it has none. */
static int rows_of(const lstm_job *j, int t, int n, int64_t *b0, int64_t *b1) {
  glab_parallel_share(j->B, t, n, 1, b0, b1);
  return *b1 > *b0;
}

static void forward_share(void *arg, int share, int nshares) {
  const lstm_job *j = arg;
  int64_t b0, b1, T = j->T, H = j->H, G = 4 * H;
  if (!rows_of(j, share, nshares, &b0, &b1)) return;
  glab_dtype dt = j->w->dtype;
  for (int64_t t = 0; t < T; t++) {
    const char *hp = t ? glab_elem(j->y, (b0 * T + t - 1) * H) : glab_elem(j->h0, b0 * H);
    const char *cp = t ? glab_elem(j->cs, (b0 * T + t - 1) * H) : glab_elem(j->c0, b0 * H);
    int64_t ldp = t ? T * H : H;
    char *g = glab_elem(j->gates, (b0 * T + t) * G), *c = glab_elem(j->cs, (b0 * T + t) * H);
    char *h = glab_elem(j->y, (b0 * T + t) * H);
    glab_gemm_small(dt, b1 - b0, G, H, hp, ldp, glab_tensor_data(j->w), G, 1, g, T * G);
    if (dt == GLAB_F64)
      cell_forward_f64((double *)g, T * G, (double *)c, (double *)h, T * H, (const double *)cp,
                       ldp, b1 - b0, H);
    else
      cell_forward_f32((float *)g, T * G, (float *)c, (float *)h, T * H, (const float *)cp, ldp,
                       b1 - b0, H);
  }
}

static void backward_share(void *arg, int share, int nshares) {
  const lstm_job *j = arg;
  int64_t b0, b1, T = j->T, H = j->H, G = 4 * H;
  if (!rows_of(j, share, nshares, &b0, &b1)) return;
  glab_dtype dt = j->w->dtype;
  char *dh = glab_elem(j->dh, b0 * H), *dh2 = glab_elem(j->dh2, b0 * H);
  char *dc = glab_elem(j->dc, b0 * H);
  for (int64_t t = T - 1; t >= 0; t--) {
    const char *cp = t ? glab_elem(j->cs, (b0 * T + t - 1) * H) : glab_elem(j->c0, b0 * H);
    int64_t ldp = t ? T * H : H;
    char *d = glab_elem(j->dA, (b0 * T + t) * G);
    const char *g = glab_elem(j->gates, (b0 * T + t) * G);
    const char *c = glab_elem(j->cs, (b0 * T + t) * H), *gyt = glab_elem(j->gy, (b0 * T + t) * H);
    if (dt == GLAB_F64)
      cell_backward_f64((double *)d, (const double *)g, T * G, (const double *)c,
                        (const double *)gyt, T * H, (const double *)cp, ldp, (double *)dh,
                        (double *)dc, b1 - b0, H);
    else
      cell_backward_f32((float *)d, (const float *)g, T * G, (const float *)c,
                        (const float *)gyt, T * H, (const float *)cp, ldp, (float *)dh,
                        (float *)dc, b1 - b0, H);
    glab_gemm_small(dt, b1 - b0, H, G, d, T * G, glab_tensor_data(j->w), H, 0, dh2, H);
    char *tmp = dh;                           /* swap: dh2 is the next step's output */
    dh = dh2;
    dh2 = tmp;
  }
  if (T % 2)                              /* the last step's output is in j->dh2's rows */
    memcpy(glab_elem(j->dh, b0 * H), dh, (size_t)((b1 - b0) * H) * glab_dtype_size(dt));
}

/* How many shares: one per core, of 8 rows or more, where the walk is long
** enough (a million multiply-adds in its products) to pay for the hand-off. */
static int lstm_shares(int64_t B, int64_t T, int64_t H) {
  int n = glab_get_num_threads();
  if ((double)B * (double)T * 4.0 * (double)H * (double)H < 1e6) return 1;
  if (n > B / 8) n = (int)(B / 8);
  return n < 1 ? 1 : n;
}

/* saved: x, h0, c0, w_ih, w_hh, gates, cs, y */
static glab_status lstm_backward(glab_node *n, glab_tensor *gin) {
  const glab_tensor *x = &n->saved[0], *h0 = &n->saved[1], *c0 = &n->saved[2];
  const glab_tensor *wih = &n->saved[3], *whh = &n->saved[4], *gates = &n->saved[5];
  const glab_tensor *cs = &n->saved[6], *y = &n->saved[7];
  glab_dtype dt = x->dtype;
  int64_t B = x->shape[0], T = x->shape[1], I = x->shape[2], H = whh->shape[1], G = 4 * H;
  glab_tensor dA = GLAB_TENSOR_EMPTY, dh = GLAB_TENSOR_EMPTY, dc = GLAB_TENSOR_EMPTY;
  glab_tensor dh2 = GLAB_TENSOR_EMPTY, hp = GLAB_TENSOR_EMPTY;
  int64_t ash[3] = {B, T, G}, hsh[2] = {B, H};
  glab_status s;
  TRY(glab_tensor_new(&dA, dt, 3, ash));
  TRY(glab_tensor_clone(&dh, &n->grad[1]));
  TRY(glab_tensor_clone(&dc, &n->grad[2]));
  TRY(glab_tensor_new(&dh2, dt, 2, hsh));
  lstm_job j = {.B = B, .T = T, .H = H, .w = whh, .c0 = c0, .gates = gates, .cs = cs,
               .dA = &dA, .dh = &dh, .dc = &dc, .dh2 = &dh2, .gy = &n->grad[0]};
  glab_parallel(lstm_shares(B, T, H), backward_share, &j);       /* dh: the gradient of h0 */
  if (glab_node_needs(n, 0)) {                                          /* dA W_ih */
    TRY(glab_tensor_new(&gin[0], dt, 3, x->shape));
    glab_gemm(dt, 0, 0, B * T, I, G, 1.0, glab_tensor_data(&dA), G, glab_tensor_data(wih), I,
              0.0, glab_tensor_data(&gin[0]), I);
  }
  if (glab_node_needs(n, 1)) glab_tensor_move(&gin[1], &dh);
  if (glab_node_needs(n, 2)) glab_tensor_move(&gin[2], &dc);
  if (glab_node_needs(n, 3)) {                                          /* dA^T x */
    TRY(glab_tensor_new(&gin[3], dt, 2, wih->shape));
    glab_gemm(dt, 1, 0, G, I, B * T, 1.0, glab_tensor_data(&dA), G, glab_tensor_data(x), I,
              0.0, glab_tensor_data(&gin[3]), I);
  }
  if (glab_node_needs(n, 4)) {                                          /* sum_t dA_t^T h_{t-1} */
    int64_t psh[2] = {B * T, H};
    size_t row = (size_t)H * glab_dtype_size(dt);
    TRY(glab_tensor_new(&hp, dt, 2, psh));                              /* row b T + t: h_{t-1} */
    for (int64_t b = 0; b < B; b++) {
      memcpy(glab_elem(&hp, b * T * H), glab_elem(h0, b * H), row);
      memcpy(glab_elem(&hp, (b * T + 1) * H), glab_elem(y, b * T * H), (size_t)(T - 1) * row);
    }
    TRY(glab_tensor_new(&gin[4], dt, 2, whh->shape));
    glab_gemm(dt, 1, 0, G, H, B * T, 1.0, glab_tensor_data(&dA), G, glab_tensor_data(&hp), H,
              0.0, glab_tensor_data(&gin[4]), H);
  }
  if (glab_node_needs(n, 5) || glab_node_needs(n, 6)) {
    glab_tensor a2 = GLAB_TENSOR_EMPTY, gb = GLAB_TENSOR_EMPTY;
    int64_t sh[2] = {B * T, G};
    TRY(glab_tensor_view(&a2, &dA, 2, sh));
    s = glab_reduce(&gb, GLAB_SUM, &a2, 0, 0, 0);
    glab_tensor_free(&a2);
    if (s == GLAB_OK && glab_node_needs(n, 5)) glab_tensor_share(&gin[5], &gb);
    if (s == GLAB_OK && glab_node_needs(n, 6)) glab_tensor_share(&gin[6], &gb);
    glab_tensor_free(&gb);
  }
done:
  glab_tensor_free(&dA);
  glab_tensor_free(&dh);
  glab_tensor_free(&dc);
  glab_tensor_free(&dh2);
  glab_tensor_free(&hp);
  return s;
}

static glab_status lstm_check(const glab_var *x, const glab_var *h0, const glab_var *c0,
                              const glab_var *wih, const glab_var *whh, const glab_var *bih,
                              const glab_var *bhh) {
  char a[96], b[96];
  const glab_var *all[7] = {x, h0, c0, wih, whh, bih, bhh};
  for (int i = 1; i < 7; i++)
    if (all[i] && all[i]->t.dtype != x->t.dtype)
      return glab_fail(GLAB_EDTYPE, "lstm: input is %s but a weight or state is %s",
                       glab_dtype_name(x->t.dtype), glab_dtype_name(all[i]->t.dtype));
  if (x->t.ndim != 3)
    return glab_fail(GLAB_ESHAPE, "lstm: input (%s) must be (batch, time, features)",
                     glab_shape_str(a, sizeof a, x->t.ndim, x->t.shape));
  if (x->t.shape[1] < 1)
    return glab_fail(GLAB_ESHAPE, "lstm: input (%s) has no time steps: the sequence must have "
                     "at least one", glab_shape_str(a, sizeof a, x->t.ndim, x->t.shape));
  int64_t B = x->t.shape[0], I = x->t.shape[2], H = whh->t.ndim == 2 ? whh->t.shape[1] : -1;
  if (wih->t.ndim != 2 || wih->t.shape[0] != 4 * H || wih->t.shape[1] != I ||
      whh->t.shape[0] != 4 * H)
    return glab_fail(GLAB_ESHAPE, "lstm: weights w_ih (%s) and w_hh (%s) do not fit input "
                     "size %lld: they must be (4H x %lld) and (4H x H)",
                     glab_shape_str(a, sizeof a, wih->t.ndim, wih->t.shape),
                     glab_shape_str(b, sizeof b, whh->t.ndim, whh->t.shape), (long long)I,
                     (long long)I);
  for (int i = 5; i < 7; i++)
    if (all[i] && (all[i]->t.ndim != 1 || all[i]->t.shape[0] != 4 * H))
      return glab_fail(GLAB_ESHAPE, "lstm: biases must have 4H = %lld entries", (long long)(4 * H));
  for (int i = 1; i < 3; i++)
    if (all[i]->t.ndim != 2 || all[i]->t.shape[0] != B || all[i]->t.shape[1] != H)
      return glab_fail(GLAB_ESHAPE, "lstm: state %s (%s) must be (batch x hidden) = (%lldx%lld)",
                       i == 1 ? "h0" : "c0",
                       glab_shape_str(a, sizeof a, all[i]->t.ndim, all[i]->t.shape),
                       (long long)B, (long long)H);
  return GLAB_OK;
}

glab_status glab_nn_lstm(glab_var *y, glab_var *hT, glab_var *cT, const glab_var *x,
                         const glab_var *h0, const glab_var *c0, const glab_var *w_ih,
                         const glab_var *w_hh, const glab_var *b_ih, const glab_var *b_hh) {
  glab_status s = lstm_check(x, h0, c0, w_ih, w_hh, b_ih, b_hh);
  if (s != GLAB_OK) return s;
  glab_dtype dt = x->t.dtype;
  int64_t B = x->t.shape[0], T = x->t.shape[1], I = x->t.shape[2];
  int64_t H = w_hh->t.shape[1], G = 4 * H;
  glab_tensor xc = GLAB_TENSOR_EMPTY, h0c = GLAB_TENSOR_EMPTY, c0c = GLAB_TENSOR_EMPTY;
  glab_tensor wih = GLAB_TENSOR_EMPTY, whh = GLAB_TENSOR_EMPTY, gates = GLAB_TENSOR_EMPTY;
  glab_tensor cs = GLAB_TENSOR_EMPTY, v = GLAB_TENSOR_EMPTY, wt = GLAB_TENSOR_EMPTY;
  int64_t gsh[3] = {B, T, G}, ysh[3] = {B, T, H}, wsh[2] = {H, G};
  TRY(glab_tensor_contiguous(&xc, &x->t));
  TRY(glab_tensor_contiguous(&h0c, &h0->t));
  TRY(glab_tensor_contiguous(&c0c, &c0->t));
  TRY(glab_tensor_contiguous(&wih, &w_ih->t));
  TRY(glab_tensor_contiguous(&whh, &w_hh->t));
  TRY(glab_tensor_new(&wt, dt, 2, wsh));                                 /* W_hh^T (H x 4H) */
  TRY(glab_tensor_transpose(&v, &whh, 0, 1));
  TRY(glab_tensor_copy(&wt, &v));
  glab_tensor_free(&v);
  TRY(glab_tensor_full(&gates, dt, 3, gsh, 0.0));
  if (b_ih) TRY(glab_tensor_copy(&gates, &b_ih->t));
  if (b_hh) TRY(glab_binary(&gates, GLAB_ADD, &gates, &b_hh->t));
  TRY(glab_tensor_new(&cs, dt, 3, ysh));
  TRY(glab_tensor_new(&y->t, dt, 3, ysh));
  glab_gemm(dt, 0, 1, B * T, G, I, 1.0, glab_tensor_data(&xc), I, glab_tensor_data(&wih), I,
            1.0, glab_tensor_data(&gates), G);
  lstm_job j = {.B = B, .T = T, .H = H, .w = &wt, .h0 = &h0c, .c0 = &c0c, .gates = &gates,
               .cs = &cs, .y = &y->t};
  glab_parallel(lstm_shares(B, T, H), forward_share, &j);
  TRY(glab_tensor_select(&v, &y->t, 1, T - 1));
  TRY(glab_tensor_clone(&hT->t, &v));
  glab_tensor_free(&v);
  TRY(glab_tensor_select(&v, &cs, 1, T - 1));
  TRY(glab_tensor_clone(&cT->t, &v));
  const glab_var *ins[7] = {x, h0, c0, w_ih, w_hh, b_ih, b_hh};
  glab_node *n;
  s = glab_node_record(&n, y, "lstm", lstm_backward, 7, ins, &xc, &h0c, &c0c);
  if (n) {
    glab_node_save(n, 3, &wih);
    glab_node_save(n, 4, &whh);
    glab_node_save(n, 5, &gates);
    glab_node_save(n, 6, &cs);
    glab_node_save(n, 7, &y->t);
    glab_node_output(n, hT, 1);
    glab_node_output(n, cT, 2);
  }
done:
  glab_tensor_free(&xc);
  glab_tensor_free(&h0c);
  glab_tensor_free(&c0c);
  glab_tensor_free(&wih);
  glab_tensor_free(&whh);
  glab_tensor_free(&gates);
  glab_tensor_free(&cs);
  glab_tensor_free(&v);
  glab_tensor_free(&wt);
  return s;
}
