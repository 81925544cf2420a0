/*
** rbm.c -- the binary RBM: free energy, block Gibbs sampling, CD-k and
** persistent CD, exact log Z for a small layer, and AIS (see rbm.h).
**
** A chain's rows never meet until the gradient, so a CD step runs its
** chains in fixed blocks of ROWS rows side by side on the cores: per block
** and Gibbs step the product with W (and then with W^T), a sigmoid over the
** result with its bias, and the draws.  Samples are 0/1, so in float32 a
** product is a sum of the rows of W (or of a transposed copy) at a row's
** ones, the GEMM's work times the fraction of ones, with no packing.  The update is then one product of
** the stacked batch [V0; Vk]^T (nv x 2B) with [P0; -Pk] (2B x nh) on all
** cores, each thread taking its own rows of W.  No OpenBLAS thread is ever
** woken (each product runs on one thread inside glab_parallel), so none
** spins against the chains.  Blocks are fixed in size, not in number, so
** the products and the generators a row sees do not depend on the thread
** count.  Scratch comes from the tensor block cache, warm between batches.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../tensor/fastmath.h"
#include "../tensor/ops.h"
#include "../tensor/parallel.h"
#include "rbm.h"
#include "rows.h"

#define ROWS 32           /* rows of chains per block */
#define WROWS 64          /* rows of W per block of the update */
#define ENUM_BLOCK 4096   /* states per block of the exact sum */
#define MAX_ENUM 24

/* Row r of a buffer of rows of n elements of es bytes. */
#define AT(p, r, n, es) ((char *)(p) + (size_t)(r) * (size_t)(n) * (es))

/* The model as kernels see it: contiguous parameters of one dtype. */
typedef struct {
  glab_dtype dt;
  int64_t nv, nh;
  const void *W, *b, *c;
  const float *Wt;      /* W transposed (nh x nv), float32 only; NULL: none */
} model;

/* ---- argument checks ------------------------------------------------------------ */

static glab_status check_params(const glab_tensor *W, const glab_tensor *b, const glab_tensor *c,
                                const char *op) {
  char sw[64], sb[64], sc[64];
  if (W->ndim != 2 || b->ndim != 1 || c->ndim != 1 || b->shape[0] != W->shape[0] ||
      c->shape[0] != W->shape[1] || W->shape[0] < 1 || W->shape[1] < 1)
    return glab_fail(GLAB_ESHAPE, "%s: W (%s), b (%s), c (%s): expected (nv, nh), (nv), (nh)", op,
                     glab_shape_str(sw, sizeof sw, W->ndim, W->shape),
                     glab_shape_str(sb, sizeof sb, b->ndim, b->shape),
                     glab_shape_str(sc, sizeof sc, c->ndim, c->shape));
  if (b->dtype != W->dtype || c->dtype != W->dtype)
    return glab_fail(GLAB_EDTYPE, "%s: W, b and c must share one dtype (W is %s)", op,
                     glab_dtype_name(W->dtype));
  if (!glab_tensor_is_contiguous(W) || !glab_tensor_is_contiguous(b) ||
      !glab_tensor_is_contiguous(c))
    return glab_fail(GLAB_EARG, "%s: W, b and c must be contiguous", op);
  return GLAB_OK;
}

/* V (N, nv) of the model's dtype. */
static glab_status check_points(const glab_tensor *V, const model *m, const char *what,
                                const char *op) {
  char sv[64];
  if (V->ndim != 2 || V->shape[1] != m->nv)
    return glab_fail(GLAB_ESHAPE, "%s: %s (%s): expected (N, %lld), one row per visible state", op,
                     what, glab_shape_str(sv, sizeof sv, V->ndim, V->shape), (long long)m->nv);
  if (V->dtype != m->dt)
    return glab_fail(GLAB_EDTYPE, "%s: %s is %s, the model %s", op, what,
                     glab_dtype_name(V->dtype), glab_dtype_name(m->dt));
  return GLAB_OK;
}

static glab_status open_model(model *m, const glab_tensor *W, const glab_tensor *b,
                              const glab_tensor *c, const char *op) {
  glab_status s = check_params(W, b, c, op);
  if (s != GLAB_OK) return s;
  *m = (model){W->dtype, W->shape[0], W->shape[1], glab_tensor_data(W), glab_tensor_data(b),
               glab_tensor_data(c), NULL};
  return GLAB_OK;
}

/* ---- typed row kernels ---------------------------------------------------------- */

static double softplus(double x) { return (x > 0 ? x : 0) + log1p(exp(-fabs(x))); }

#define SP_CHUNK 256        /* softplus_row's values at a time, on the stack */

#ifdef GLAB_AVX512_KERNELS
__m512d _ZGVeN8v_exp(__m512d x);      /* libmvec's AVX-512 variants (the vector function ABI) */
__m512d _ZGVeN8v_log1p(__m512d x);

__attribute__((target("avx512f"))) static void softplus_avx512(double *restrict y, int64_t n) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m512d x = _mm512_loadu_pd(y + j);
    __m512d ax = _mm512_abs_pd(x);
    __m512d l = _ZGVeN8v_log1p(_ZGVeN8v_exp(_mm512_sub_pd(_mm512_setzero_pd(), ax)));
    _mm512_storeu_pd(y + j, _mm512_add_pd(_mm512_max_pd(x, _mm512_setzero_pd()), l));
  }
  for (; j < n; j++) y[j] = softplus(y[j]);
}
#endif

/* y[j] := softplus(s (a[j] + c[j])) for j < n, in double from a and c of dt:
** with AVX-512, eight at a time through glibc's vector exp and log1p
** (libmvec, within 4 ulp of the scalar ones), which half of an AIS and of a
** free energy had spent in the scalar calls.  Callers add y up in order, as
** they added the scalar values. */
static void softplus_row(double *restrict y, glab_dtype dt, const void *a, const void *c, double s,
                         int64_t n) {
  for (int64_t j = 0; j < n; j++) y[j] = s * (elem(dt, a, j) + elem(dt, c, j));
#ifdef GLAB_AVX512_KERNELS
  if (__builtin_cpu_supports("avx512f")) {
    softplus_avx512(y, n);
    return;
  }
#endif
  for (int64_t j = 0; j < n; j++) y[j] = softplus(y[j]);
}

static double sigmoid(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }

/* P[r][j] := sigmoid(beta (P[r][j] + bias[j]) + off[j]) for rows x n; off may be NULL. */
GLAB_MULTIVERSION
static void sigmoid_f32(float *P, const float *bias, float beta, const float *off, int64_t rows,
                        int64_t n) {
  for (int64_t r = 0; r < rows; r++, P += n)
    if (off)
      for (int64_t j = 0; j < n; j++) P[j] = glab_sigmoidf(beta * (P[j] + bias[j]) + off[j]);
    else
      for (int64_t j = 0; j < n; j++) P[j] = glab_sigmoidf(beta * (P[j] + bias[j]));
}

static void sigmoid_f64(double *P, const double *bias, double beta, const double *off,
                        int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; r++, P += n)
    for (int64_t j = 0; j < n; j++) P[j] = sigmoid(beta * (P[j] + bias[j]) + (off ? off[j] : 0));
}

static void sigmoid_rows(glab_dtype dt, void *P, const void *bias, double beta, const void *off,
                         int64_t rows, int64_t n) {
  if (dt == GLAB_F64) sigmoid_f64(P, bias, beta, off, rows, n);
  else sigmoid_f32(P, bias, (float)beta, off, rows, n);
}

/* The float32 uniform in [0, 1) that word x gives first (its top 24 bits)
** or second (the 24 below them). */
static inline float uniform24(uint64_t x, int second) {
  return (float)(second ? (x >> 8) & 0xFFFFFF : x >> 40) * 0x1.0p-24f;
}

/* Uniforms in [0, 1): 24 bits each, two to a word (float32), or 53 (float64). */
static void uniforms_f32(float *u, int64_t n, glab_rng *g) {
  int64_t i = 0;
  for (; i + 1 < n; i += 2) {
    uint64_t x = glab_rng_next(g);
    u[i] = uniform24(x, 0);
    u[i + 1] = uniform24(x, 1);
  }
  if (i < n) u[i] = uniform24(glab_rng_next(g), 0);
}

GLAB_MULTIVERSION
static void compare_f32(float *S, const float *u, const float *P, int64_t n) {
  for (int64_t j = 0; j < n; j++) S[j] = u[j] < P[j] ? 1.0f : 0.0f;
}

#ifdef GLAB_AVX512_KERNELS

/* xoshiro256++ (random.h's glab_rng_next) in eight lanes, one generator each. */
typedef struct {
  __m512i s0, s1, s2, s3;
} rng8;

__attribute__((target("avx512f"))) static inline __m512i rng8_next(rng8 *g) {
  __m512i result = _mm512_add_epi64(_mm512_rol_epi64(_mm512_add_epi64(g->s0, g->s3), 23), g->s0);
  __m512i t = _mm512_slli_epi64(g->s1, 17);
  g->s2 = _mm512_xor_si512(g->s2, g->s0);
  g->s3 = _mm512_xor_si512(g->s3, g->s1);
  g->s1 = _mm512_xor_si512(g->s1, g->s2);
  g->s0 = _mm512_xor_si512(g->s0, g->s3);
  g->s2 = _mm512_xor_si512(g->s2, t);
  g->s3 = _mm512_rol_epi64(g->s3, 45);
  return result;
}

/* x[i] := lane i of the eight vectors x[0..7] taken as rows: an 8 x 8
** transpose of 64-bit words. */
__attribute__((target("avx512f"))) static inline void transpose8(__m512i x[8]) {
  __m512i a[8], b[8];
  for (int i = 0; i < 8; i += 2) {
    a[i] = _mm512_unpacklo_epi64(x[i], x[i + 1]);
    a[i + 1] = _mm512_unpackhi_epi64(x[i], x[i + 1]);
  }
  const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13),
                hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
  for (int i = 0; i < 8; i += 4)
    for (int j = 0; j < 2; j++) {
      b[i + j] = _mm512_permutex2var_epi64(a[i + j], lo, a[i + j + 2]);
      b[i + j + 2] = _mm512_permutex2var_epi64(a[i + j], hi, a[i + j + 2]);
    }
  const __m512i lo2 = _mm512_setr_epi64(0, 1, 2, 3, 8, 9, 10, 11),
                hi2 = _mm512_setr_epi64(4, 5, 6, 7, 12, 13, 14, 15);
  for (int i = 0; i < 4; i++) {
    x[i] = _mm512_permutex2var_epi64(b[i], lo2, b[i + 4]);
    x[i + 4] = _mm512_permutex2var_epi64(b[i], hi2, b[i + 4]);
  }
}

/* uniforms_f32's 16 floats from 8 words, compared with 16 of P: 1 or 0. */
__attribute__((target("avx512f"))) static inline void draw16(float *S, const float *P, __m512i w) {
  __m512i pair = _mm512_or_si512(_mm512_srli_epi64(w, 40),
                                 _mm512_slli_epi64(_mm512_and_si512(_mm512_srli_epi64(w, 8),
                                                                    _mm512_set1_epi64(0xFFFFFF)), 32));
  __m512 u = _mm512_mul_ps(_mm512_cvtepi32_ps(pair), _mm512_set1_ps(0x1.0p-24f));
  __mmask16 k = _mm512_cmp_ps_mask(u, _mm512_loadu_ps(P), _CMP_LT_OQ);
  _mm512_storeu_ps(S, _mm512_maskz_mov_ps(k, _mm512_set1_ps(1.0f)));
}

/* draw_rows for `lanes` <= 8 float32 rows at once, each row's words from
** its own generator in its own lane: the uniforms and samples of the scalar
** loop, bit for bit, without waiting on one generator's chain per word. */
__attribute__((target("avx512f"))) static void draw8_avx512(float *S, const float *P, int64_t n,
                                                            glab_rng *rng, int lanes) {
  uint64_t st[4][8] = {{0}};
  for (int l = 0; l < lanes; l++)
    for (int k = 0; k < 4; k++) st[k][l] = rng[l].s[k];
  rng8 g = {_mm512_loadu_si512(st[0]), _mm512_loadu_si512(st[1]), _mm512_loadu_si512(st[2]),
            _mm512_loadu_si512(st[3])};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    __m512i w[8];
    for (int i = 0; i < 8; i++) w[i] = rng8_next(&g);
    transpose8(w);
    for (int l = 0; l < lanes; l++) draw16(S + l * n + j, P + l * n + j, w[l]);
  }
  if (j < n) {                 /* the last (n - j + 1) / 2 words, each lane's in order */
    uint64_t w[8][8];
    int64_t words = (n - j + 1) / 2;
    for (int64_t i = 0; i < words; i++) _mm512_storeu_si512(w[i], rng8_next(&g));
    for (int l = 0; l < lanes; l++)
      for (int64_t i = j; i < n; i++) {
        float u = uniform24(w[(i - j) / 2][l], (int)((i - j) % 2));
        S[l * n + i] = u < P[l * n + i] ? 1.0f : 0.0f;
      }
  }
  _mm512_storeu_si512(st[0], g.s0);
  _mm512_storeu_si512(st[1], g.s1);
  _mm512_storeu_si512(st[2], g.s2);
  _mm512_storeu_si512(st[3], g.s3);
  for (int l = 0; l < lanes; l++)
    for (int k = 0; k < 4; k++) rng[l].s[k] = st[k][l];
}
#endif

/* S[r] := (u < P[r]), row r drawing from rng[r]; u is n floats (or doubles) of scratch. */
static void draw_rows(glab_dtype dt, void *S, const void *P, int64_t rows, int64_t n,
                      glab_rng *rng, void *u) {
#ifdef GLAB_AVX512_KERNELS
  if (dt == GLAB_F32 && __builtin_cpu_supports("avx512f")) {
    for (int64_t r = 0; r < rows; r += 8)
      draw8_avx512((float *)S + r * n, (const float *)P + r * n, n, rng + r,
                   rows - r < 8 ? (int)(rows - r) : 8);
    return;
  }
#endif
  for (int64_t r = 0; r < rows; r++)
    if (dt == GLAB_F64) {
      double *s = (double *)S + r * n;
      const double *p = (const double *)P + r * n;
      for (int64_t j = 0; j < n; j++) s[j] = glab_rng_uniform(&rng[r]) < p[j] ? 1.0 : 0.0;
    } else {
      uniforms_f32(u, n, &rng[r]);
      compare_f32((float *)S + r * n, u, (const float *)P + r * n, n);
    }
}

/* ---- products with 0/1 rows ------------------------------------------------------
** A chain's visible states are samples, 0 or 1, and binary data is too: a
** row's product with W is then the sum of the rows of W where it holds a 1.
** At MNIST's 13% of ones that is an eighth of the GEMM's multiply-adds, and
** W is read as it lies, with no packing (float32; float64 keeps the GEMM). */

/* idx := the positions of the ones of v (n); their count, or -1 when some
** value is neither 0 nor 1.  idx has room for n + 16 (the vector path
** stores whole vectors).  Where the machine has AVX-512, sixteen values at a
** time: one compare, and the set lanes' positions packed by one compress;
** elsewhere an element at a time without branches (there the index costs
** twice the sums it serves, and the whole still beats the GEMM slightly). */
#define IDX_SLACK 16

static int64_t ones_scalar(int32_t *restrict idx, const float *restrict v, int64_t i, int64_t n,
                           int64_t c, int odd) {
  for (; i < n; i++) {
    idx[c] = (int32_t)i;
    c += v[i] != 0;
    odd |= (v[i] != 0) & (v[i] != 1);
  }
  return odd ? -1 : c;
}

#ifdef GLAB_AVX512_KERNELS

__attribute__((target("avx512f"))) static int64_t ones_avx512(int32_t *restrict idx,
                                                              const float *restrict v, int64_t n) {
  __m512i pos = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i step = _mm512_set1_epi32(16);
  const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
  __mmask16 bad = 0;
  int64_t c = 0, i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 x = _mm512_loadu_ps(v + i);
    __mmask16 nz = _mm512_cmp_ps_mask(x, zero, _CMP_NEQ_UQ);     /* NaN: not 0, not 1 */
    bad |= nz & _mm512_cmp_ps_mask(x, one, _CMP_NEQ_UQ);
    _mm512_storeu_si512(idx + c, _mm512_maskz_compress_epi32(nz, pos));
    c += __builtin_popcount(nz);
    pos = _mm512_add_epi32(pos, step);
  }
  return ones_scalar(idx, v, i, n, c, bad != 0);
}

static int64_t ones_of(int32_t *restrict idx, const float *restrict v, int64_t n) {
  return __builtin_cpu_supports("avx512f") ? ones_avx512(idx, v, n)
                                           : ones_scalar(idx, v, 0, n, 0, 0);
}
#else
static int64_t ones_of(int32_t *restrict idx, const float *restrict v, int64_t n) {
  return ones_scalar(idx, v, 0, n, 0, 0);
}
#endif

/* p (n) := the sum of the rows idx[0..c) of W (rows of n), each column added
** in the order of idx; 64 columns at a time in registers. */
GLAB_MULTIVERSION
static void sum_rows_f32(float *restrict p, const float *restrict W, int64_t n,
                         const int32_t *restrict idx, int64_t c) {
  int64_t j = 0;
  for (; j + 64 <= n; j += 64) {
    glab_v16f a[4] = {{0}, {0}, {0}, {0}};
    for (int64_t q = 0; q < c; q++) {
      const float *w = W + (int64_t)idx[q] * n + j;
#pragma GCC unroll 4
      for (int v = 0; v < 4; v++) a[v] += *(const glab_v16f_u *)(w + 16 * v);
    }
    for (int v = 0; v < 4; v++) *(glab_v16f_u *)(p + j + 16 * v) = a[v];
  }
  for (; j + 16 <= n; j += 16) {
    glab_v16f a = {0};
    for (int64_t q = 0; q < c; q++) a += *(const glab_v16f_u *)(W + (int64_t)idx[q] * n + j);
    *(glab_v16f_u *)(p + j) = a;
  }
  for (; j < n; j++) {
    float a = 0;
    for (int64_t q = 0; q < c; q++) a += W[(int64_t)idx[q] * n + j];
    p[j] = a;
  }
}

/* Rows of A (rows x w) := the rows of X (rows x n, float32) times M (n x w)
** by sum_rows_f32, up to the first row that is not 0/1; the rows done. */
static int64_t sum_rows_each(float *A, const float *X, int64_t rows, int64_t n, const float *M,
                             int64_t w, int32_t *idx) {
  int64_t r = 0;
  for (; r < rows; r++) {
    int64_t c = ones_of(idx, X + r * n, n);
    if (c < 0) break;
    sum_rows_f32(A + r * w, M, w, idx, c);
  }
  return r;
}

/* The ones of the rows x n float32 values X, or -1 when some value is neither 0 nor 1. */
static int64_t count_ones(const float *X, int64_t rows, int64_t n, int32_t *idx) {
  int64_t total = 0;
  for (int64_t r = 0; r < rows; r++) {
    int64_t c = ones_of(idx, X + r * n, n);
    if (c < 0) return -1;
    total += c;
  }
  return total;
}

/* A (rows x nh) := V W: float32 rows of 0/1 by sum_rows_f32 when idx (nv +
** IDX_SLACK int32 of scratch) is given, the others by the GEMM.  From the
** first row that is not 0/1 on, the GEMM does the rest.  Even a row of all
** ones reads W once, as the GEMM does, with no packing: a threshold on the
** count (the GEMM above half ones) made the first epoch slower. */
static void times_W(const model *m, void *A, const void *V, int64_t rows, int32_t *idx) {
  int64_t r = idx && m->dt == GLAB_F32 ? sum_rows_each(A, V, rows, m->nv, m->W, m->nh, idx) : 0;
  if (r < rows)
    glab_gemm(m->dt, 0, 0, rows - r, m->nh, m->nv, 1.0, AT(V, r, m->nv, esize(m->dt)), m->nv,
              m->W, m->nh, 0.0, AT(A, r, m->nh, esize(m->dt)), m->nh);
}

/* P (rows x nh) := sigmoid(V W + c). */
static void hidden_probs(const model *m, void *P, const void *V, int64_t rows, int32_t *idx) {
  times_W(m, P, V, rows, idx);
  sigmoid_rows(m->dt, P, m->c, 1.0, NULL, rows, m->nh);
}

/* A (rows x nv) := H W^T.  The hidden states are 0/1 too, and with W^T at
** hand (m->Wt) a block of them at most half ones sums rows of W^T (nv wide)
** as times_W sums rows of W: 32 x 784 from 128 hidden units at 13% ones 17
** us against the GEMM's 78 (its packing of W alone about 10), even at half
** ones 59.  Above half the GEMM is faster (at all ones 127 us against 78,
** W^T's rows read from L2).  Up to OpenBLAS's k-block (nh of a few hundred)
** the GEMM adds each element's k terms in order from zero, so the two give
** the same bits; beyond it they differ in the last bits. */
static void times_Wt(const model *m, void *A, const void *H, int64_t rows, int32_t *idx) {
  int64_t r = 0;
  if (m->Wt) {
    int64_t ones = count_ones(H, rows, m->nh, idx);
    if (ones >= 0 && 2 * ones <= rows * m->nh) r = sum_rows_each(A, H, rows, m->nh, m->Wt, m->nv, idx);
  }
  if (r < rows)
    glab_gemm(m->dt, 0, 1, rows - r, m->nv, m->nh, 1.0, AT(H, r, m->nh, esize(m->dt)), m->nh,
              m->W, m->nh, 0.0, AT(A, r, m->nv, esize(m->dt)), m->nv);
}

/* P (rows x nv) := sigmoid(H W^T + b). */
static void visible_probs(const model *m, void *P, const void *H, int64_t rows, int32_t *idx) {
  times_Wt(m, P, H, rows, idx);
  sigmoid_rows(m->dt, P, m->b, 1.0, NULL, rows, m->nv);
}

/* Elements of a thread's scratch u: uniforms for either layer, or the
** indices of a row's ones (times_W). */
static int64_t u_len(const model *m) { return (m->nv > m->nh ? m->nv : m->nh) + IDX_SLACK; }

static void seed_rows(glab_rng *rng, int64_t rows, glab_rng *g) {
  uint64_t base = glab_rng_next(g);
  for (int64_t r = 0; r < rows; r++) glab_rng_seed(&rng[r], base + (uint64_t)r);
}

/* ---- running blocks of rows on the cores --------------------------------------- */

typedef void (*block_fn)(void *ctx, int64_t r0, int64_t rows, int t);

typedef struct {
  block_fn fn;
  void *ctx;
  int64_t n, block;
} blocks;

static void run_share(void *arg, int t, int nt) {
  blocks *bl = arg;
  glab_set_ftz_daz();
  for (int64_t r0 = (int64_t)t * bl->block; r0 < bl->n; r0 += (int64_t)nt * bl->block)
    bl->fn(bl->ctx, r0, bl->n - r0 < bl->block ? bl->n - r0 : bl->block, t);
}

/* fn over the blocks of `block` rows of 0..n-1, on up to `threads` threads
** (the number to size per-thread scratch for). */
static void run_blocks(int64_t n, int64_t block, int threads, block_fn fn, void *ctx) {
  blocks bl = {fn, ctx, n, block};
  int64_t nb = (n + block - 1) / block;
  glab_parallel(nb < threads ? (int)nb : threads, run_share, &bl);
}

static int pool_size(void) {
  int t = glab_get_num_threads();
  return t < 1 ? 1 : t;
}

typedef struct {
  const model *m;
  float *Wt;
} transposing;

static void transpose_block(void *arg, int64_t i0, int64_t rows, int t) {
  const transposing *x = arg;
  int64_t nv = x->m->nv, nh = x->m->nh;
  (void)t;
  glab_transpose_copy(GLAB_F32, rows, nh, (const float *)x->m->W + i0 * nh, nh, x->Wt + i0, nv);
}

/* The bytes of W^T's scratch: none for a float64 model, which keeps the GEMM. */
static size_t wt_bytes(const model *m) {
  return m->dt == GLAB_F32 ? (size_t)m->nv * (size_t)m->nh * sizeof(float) : 0;
}

/* m->Wt := W^T in Wt (nh x nv floats) for a float32 model, on the pool in
** the update's blocks of rows of W: each thread transposes the rows it has
** just written (serially it took a CD-1 batch 8%, W half in the other
** core's cache). */
static void transpose_W(model *m, float *Wt, int threads) {
  if (m->dt != GLAB_F32) return;
  transposing x = {m, Wt};
  run_blocks(m->nv, WROWS, threads, transpose_block, &x);
  m->Wt = Wt;
}

/* n scratch buffers of the given byte sizes, 64-byte aligned, carved from one
** tensor t that the caller frees: the tensor block cache keeps it warm from
** one call (one batch) to the next, without page faults. */
static glab_status scratch(glab_tensor *t, void **const *ptrs, const size_t *sizes, int n) {
  size_t total = 64;
  for (int i = 0; i < n; i++) total += (sizes[i] + 63) & ~(size_t)63;
  int64_t numel = (int64_t)((total + 7) / 8);
  glab_status s = glab_tensor_new(t, GLAB_F64, 1, &numel);
  if (s != GLAB_OK) return s;
  char *p = glab_tensor_data(t);
  p += (64 - (uintptr_t)p % 64) % 64;
  for (int i = 0; i < n; i++) {
    *ptrs[i] = p;
    p += (sizes[i] + 63) & ~(size_t)63;
  }
  return GLAB_OK;
}

#define NBUF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- free energy ----------------------------------------------------------------- */

/* s^T bs + sum_j softplus(a_j + ba_j) for one row: -F(v) for a visible row
** s = v with bs = b, a = v W and ba = c; with the layers' roles exchanged, the
** same sum over a hidden state, which the exact log Z adds up. */
static double neg_free_energy(glab_dtype dt, const void *s, const void *bs, int64_t ns,
                              const void *a, const void *ba, int64_t na) {
  double f = 0, y[SP_CHUNK];
  for (int64_t i = 0; i < ns; i++) f += elem(dt, s, i) * elem(dt, bs, i);
  for (int64_t j0 = 0; j0 < na; j0 += SP_CHUNK) {
    int64_t n = na - j0 < SP_CHUNK ? na - j0 : SP_CHUNK;
    softplus_row(y, dt, AT(a, j0, 1, esize(dt)), AT(ba, j0, 1, esize(dt)), 1.0, n);
    for (int64_t k = 0; k < n; k++) f += y[k];
  }
  return f;
}

typedef struct {
  const model *m;
  const void *V;
  void *out, *A;        /* out (N); A: threads x ROWS x nh */
  int32_t *idx;         /* threads x (nv + IDX_SLACK) */
} fe_ctx;

static void fe_block(void *arg, int64_t r0, int64_t rows, int t) {
  fe_ctx *x = arg;
  const model *m = x->m;
  size_t es = esize(m->dt);
  void *A = AT(x->A, t, ROWS * m->nh, es);
  const void *V = AT(x->V, r0, m->nv, es);
  times_W(m, A, V, rows, x->idx + t * (m->nv + IDX_SLACK));
  for (int64_t r = 0; r < rows; r++)
    set_elem(m->dt, x->out, r0 + r,
             -neg_free_energy(m->dt, AT(V, r, m->nv, es), m->b, m->nv, AT(A, r, m->nh, es), m->c, m->nh));
}

glab_status glab_rbm_free_energy(glab_tensor *out, const glab_tensor *V, const glab_tensor *W,
                                 const glab_tensor *b, const glab_tensor *c) {
  const char *op = "rbm.free_energy";
  model m;
  glab_status s = open_model(&m, W, b, c, op);
  if (s == GLAB_OK) s = check_points(V, &m, "points", op);
  if (s != GLAB_OK) return s;
  inputs in = {0};
  glab_tensor res = GLAB_TENSOR_EMPTY, ws = GLAB_TENSOR_EMPTY;
  int threads = pool_size();
  fe_ctx x = {&m, NULL, NULL, NULL, NULL};
  size_t sizes[] = {(size_t)threads * ROWS * m.nh * esize(m.dt),
                    (size_t)threads * (m.nv + IDX_SLACK) * sizeof(int32_t)};
  void **bufs[] = {&x.A, (void **)&x.idx};
  if ((s = take(&in, V, &x.V)) == GLAB_OK &&
      (s = glab_tensor_new(&res, m.dt, 1, &V->shape[0])) == GLAB_OK &&
      (s = scratch(&ws, bufs, sizes, NBUF(sizes))) == GLAB_OK) {
    x.out = glab_tensor_data(&res);
    run_blocks(V->shape[0], ROWS, threads, fe_block, &x);
    s = glab_tensor_deliver(out, &res, op);
  }
  glab_tensor_free(&ws);
  glab_tensor_free(&res);
  release(&in);
  return s;
}

/* ---- Gibbs chains ------------------------------------------------------------------ */

static void negate(glab_dtype dt, void *p, int64_t n) {
  if (dt == GLAB_F64)
    for (int64_t i = 0; i < n; i++) ((double *)p)[i] = -((double *)p)[i];
  else
    for (int64_t i = 0; i < n; i++) ((float *)p)[i] = -((float *)p)[i];
}

/* sum_i (a_i - b_i)^2 */
static double sqdist(glab_dtype dt, const void *a, const void *b, int64_t n) {
  double acc = 0;
  if (dt == GLAB_F64) {
    for (int64_t i = 0; i < n; i++) {
      double d = ((const double *)a)[i] - ((const double *)b)[i];
      acc += d * d;
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      double d = (double)((const float *)a)[i] - ((const float *)b)[i];
      acc += d * d;
    }
  }
  return acc;
}

/* k steps from the visible states Vs: Vk gets the last samples, PV its means;
** H is scratch (rows x nh).  Vk may be Vs. */
static void gibbs_from_visible(const model *m, void *Vk, void *PV, void *H, const void *Vs,
                               int64_t rows, int64_t k, glab_rng *rng, void *u) {
  const void *v = Vs;
  for (int64_t s = 0; s < k; s++) {
    hidden_probs(m, H, v, rows, u);
    draw_rows(m->dt, H, H, rows, m->nh, rng, u);
    visible_probs(m, PV, H, rows, u);
    draw_rows(m->dt, Vk, PV, rows, m->nv, rng, u);
    v = Vk;
  }
}

/* A batch of B chains and the statistics of the update: S = [V0; Vk]
** (2B x nv) and Q = [P0; -Pk] (2B x nh), P = sigmoid(V W + c). */
typedef struct {
  const model *m;
  int64_t B, k;
  const void *V0, *chain_in;   /* chain_in: PCD's start, or NULL */
  void *S, *Q, *H, *PV;        /* H (B x nh), PV (B x nv) */
  void *u;                     /* threads x u_len */
  glab_rng *rng;               /* B */
  double *recon;               /* per block of ROWS */
  float *Wt;                   /* nh x nv (float32) */
} chains;

/* One CD block: the positive phase, the one-step reconstruction error, and
** the negative chain from the data (CD) or from the persistent states. */
static void cd_block(void *arg, int64_t r0, int64_t rows, int t) {
  chains *x = arg;
  const model *m = x->m;
  size_t es = esize(m->dt);
  int64_t nv = m->nv, nh = m->nh;
  void *u = AT(x->u, t, u_len(m), es), *H = AT(x->H, r0, nh, es),
       *PV = AT(x->PV, r0, nv, es);
  void *V0 = AT(x->S, r0, nv, es), *Vk = AT(x->S, x->B + r0, nv, es);
  void *P0 = AT(x->Q, r0, nh, es), *Pk = AT(x->Q, x->B + r0, nh, es);
  glab_rng *rng = x->rng + r0;
  memcpy(V0, AT(x->V0, r0, nv, es), (size_t)rows * nv * es);
  hidden_probs(m, P0, V0, rows, u);
  draw_rows(m->dt, H, P0, rows, nh, rng, u);
  visible_probs(m, PV, H, rows, u);
  x->recon[r0 / ROWS] = sqdist(m->dt, V0, PV, rows * nv);
  if (x->chain_in) {
    gibbs_from_visible(m, Vk, PV, H, AT(x->chain_in, r0, nv, es), rows, x->k, rng, u);
  } else {
    draw_rows(m->dt, Vk, PV, rows, nv, rng, u);   /* the first step's v, from h0 */
    gibbs_from_visible(m, Vk, PV, H, Vk, rows, x->k - 1, rng, u);
  }
  hidden_probs(m, Pk, Vk, rows, u);
  negate(m->dt, Pk, rows * nh);
}

/* ---- the update ------------------------------------------------------------------- */

/* tW := alpha S^T Q + betaW tW, tb := alpha (sum V0 - sum Vk) + beta tb over
** (a beta of 0 overwrites, as in BLAS: the targets may hold uninitialised memory)
** blocks of rows of W, and with vel (tW, tb being the velocities)
** vW -= lr wd W, W += vW, b += vb.  tc (the hidden biases) is the caller's. */
typedef struct {
  const model *m;
  int64_t B;
  const void *S, *Q;
  void *tW, *tb, *W, *b;       /* W, b: NULL without velocities */
  double alpha, betaW, beta, lr_wd;
} update;

static void update_block(void *arg, int64_t i0, int64_t rows, int t) {
  update *x = arg;
  const model *m = x->m;
  glab_dtype dt = m->dt;
  size_t es = esize(dt);
  int64_t nv = m->nv, nh = m->nh, B = x->B;
  (void)t;
  void *tW = AT(x->tW, i0, nh, es);
  glab_gemm(dt, 1, 0, rows, nh, 2 * B, x->alpha, (const char *)x->S + (size_t)i0 * es, nv, x->Q,
            nh, x->betaW, tW, nh);
  double d[WROWS] = {0};           /* sum V0 - sum Vk, row by row of S (contiguous) */
  for (int64_t r = 0; r < B; r++)
    for (int64_t i = 0; i < rows; i++)
      d[i] += elem(dt, x->S, r * nv + i0 + i) - elem(dt, x->S, (B + r) * nv + i0 + i);
  for (int64_t i = 0; i < rows; i++)      /* beta 0 overwrites: tb may be fresh memory, NaN */
    set_elem(dt, x->tb, i0 + i, x->alpha * d[i] + (x->beta ? x->beta * elem(dt, x->tb, i0 + i) : 0));
  if (!x->W) return;
  void *W = AT(x->W, i0, nh, es);
  for (int64_t i = 0; i < rows * nh; i++) {
    double v = elem(dt, tW, i) - x->lr_wd * elem(dt, W, i);
    set_elem(dt, tW, i, v);
    set_elem(dt, W, i, elem(dt, W, i) + v);
  }
  for (int64_t i = i0; i < i0 + rows; i++) set_elem(dt, x->b, i, elem(dt, x->b, i) + elem(dt, x->tb, i));
}

/* The update of up from S and Q, then tc := alpha sum Q + beta tc (and c += tc). */
static void apply_update(update *up, void *tc, void *c, int threads) {
  const model *m = up->m;
  run_blocks(m->nv, WROWS, threads, update_block, up);
  for (int64_t j = 0; j < m->nh; j++) {
    double d = 0;
    for (int64_t r = 0; r < 2 * up->B; r++) d += elem(m->dt, up->Q, r * m->nh + j);
    double v = up->alpha * d + (up->beta ? up->beta * elem(m->dt, tc, j) : 0);   /* as BLAS's beta */
    set_elem(m->dt, tc, j, v);
    if (c) set_elem(m->dt, c, j, elem(m->dt, c, j) + v);
  }
}

/* A copy of the B rows at src into out (B, nv). */
static glab_status deliver_rows(glab_tensor *out, const model *m, const void *src, int64_t B,
                                const char *op) {
  glab_tensor res = GLAB_TENSOR_EMPTY;
  int64_t shape[2] = {B, m->nv};
  glab_status s = glab_tensor_new(&res, m->dt, 2, shape);
  if (s != GLAB_OK) return s;
  memcpy(glab_tensor_data(&res), src, (size_t)B * m->nv * esize(m->dt));
  s = glab_tensor_deliver(out, &res, op);
  glab_tensor_free(&res);
  return s;
}

static glab_status check_train(const glab_tensor *W, const glab_tensor *b, const glab_tensor *c,
                               glab_tensor *const *vel, const glab_tensor *chain,
                               const glab_tensor *V0, const glab_rbm_train *o, const char *op) {
  char s1[64];
  if (o->k < 1) return glab_fail(GLAB_EARG, "%s: k must be >= 1, got %lld", op, (long long)o->k);
  if (!isfinite(o->lr) || !isfinite(o->momentum) || !isfinite(o->weight_decay) ||
      o->momentum < 0 || o->momentum >= 1 || o->weight_decay < 0)
    return glab_fail(GLAB_EARG, "%s: need a finite lr, 0 <= momentum < 1 and weight_decay >= 0 "
                     "(got %g, %g, %g)", op, o->lr, o->momentum, o->weight_decay);
  if (V0->shape[0] < 1) return glab_fail(GLAB_ESHAPE, "%s: the batch is empty", op);
  if (o->momentum > 0 && !vel)
    return glab_fail(GLAB_EARG, "%s: momentum %g needs the velocity buffers", op, o->momentum);
  if (vel)
    for (int i = 0; i < 3; i++) {
      const glab_tensor *p = i == 0 ? W : i == 1 ? b : c, *v = vel[i];
      if (v->ndim != p->ndim || v->dtype != p->dtype || v->shape[0] != p->shape[0] ||
          (v->ndim == 2 && v->shape[1] != p->shape[1]) || !glab_tensor_is_contiguous(v))
        return glab_fail(GLAB_ESHAPE, "%s: velocity %d (%s) does not match its parameter", op,
                         i + 1, glab_shape_str(s1, sizeof s1, v->ndim, v->shape));
    }
  if (chain && (chain->ndim != 2 || chain->shape[0] != V0->shape[0] ||
                chain->shape[1] != V0->shape[1] || chain->dtype != V0->dtype ||
                !glab_tensor_is_contiguous(chain)))
    return glab_fail(GLAB_ESHAPE, "%s: the persistent chains (%s) must be a contiguous batch of "
                     "the batch's shape and dtype", op,
                     glab_shape_str(s1, sizeof s1, chain->ndim, chain->shape));
  return GLAB_OK;
}

/* Scratch for B chains: S, Q, H, PV, u, rng, recon. */
static glab_status chain_scratch(glab_tensor *ws, chains *x, int threads) {
  const model *m = x->m;
  size_t es = esize(m->dt), nv = (size_t)m->nv, nh = (size_t)m->nh, B = (size_t)x->B;
  size_t sizes[] = {2 * B * nv * es, 2 * B * nh * es, B * nh * es, B * nv * es,
                    (size_t)threads * u_len(m) * es, B * sizeof(glab_rng),
                    ((B + ROWS - 1) / ROWS) * sizeof(double),
                    wt_bytes(m)};
  void **bufs[] = {&x->S, &x->Q, &x->H, &x->PV, &x->u, (void **)&x->rng, (void **)&x->recon,
                   (void **)&x->Wt};
  return scratch(ws, bufs, sizes, NBUF(sizes));
}

glab_status glab_rbm_cd_step(glab_tensor *W, glab_tensor *b, glab_tensor *c,
                             glab_tensor *const *vel, glab_tensor *chain, glab_tensor *Vk,
                             double *recon, const glab_tensor *V0, const glab_rbm_train *o,
                             glab_rng *g) {
  const char *op = "rbm.cd_step";
  model m;
  glab_status s = open_model(&m, W, b, c, op);
  if (s == GLAB_OK) s = check_points(V0, &m, "batch", op);
  if (s == GLAB_OK) s = check_train(W, b, c, vel, chain, V0, o, op);
  if (s != GLAB_OK) return s;
  glab_tensor_bump(W);
  glab_tensor_bump(b);
  glab_tensor_bump(c);
  if (chain) glab_tensor_bump(chain);
  int64_t B = V0->shape[0];
  size_t es = esize(m.dt);
  int threads = pool_size();
  inputs in = {0};
  glab_tensor ws = GLAB_TENSOR_EMPTY;
  chains x = {&m, B, o->k, NULL, chain ? glab_tensor_data(chain) : NULL,
              NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  if ((s = take(&in, V0, &x.V0)) != GLAB_OK || (s = chain_scratch(&ws, &x, threads)) != GLAB_OK)
    goto done;
  transpose_W(&m, x.Wt, threads);
  seed_rows(x.rng, B, g);
  run_blocks(B, ROWS, threads, cd_block, &x);
  double rec = 0;
  for (int64_t i = 0; i < (B + ROWS - 1) / ROWS; i++) rec += x.recon[i];
  if (recon) *recon = rec / (double)B;
  const void *neg = AT(x.S, B, m.nv, es);
  if (Vk && (s = deliver_rows(Vk, &m, neg, B, op)) != GLAB_OK) goto done;
  if (chain) memcpy(glab_tensor_data(chain), neg, (size_t)B * m.nv * es);
  update up = {&m, B, x.S, x.Q, glab_tensor_data(W), glab_tensor_data(b), NULL, NULL,
               o->lr / (double)B, 1.0 - o->lr * o->weight_decay, 1.0, 0.0};
  if (!vel) {
    apply_update(&up, glab_tensor_data(c), NULL, threads);
  } else {
    up.W = up.tW, up.b = up.tb;
    up.tW = glab_tensor_data(vel[0]), up.tb = glab_tensor_data(vel[1]);
    up.betaW = up.beta = o->momentum;
    up.lr_wd = o->lr * o->weight_decay;
    apply_update(&up, glab_tensor_data(vel[2]), glab_tensor_data(c), threads);
  }
done:
  glab_tensor_free(&ws);
  release(&in);
  return s;
}

glab_status glab_rbm_cd_grad(glab_tensor *gW, glab_tensor *gb, glab_tensor *gc,
                             const glab_tensor *V0, const glab_tensor *Vk, const glab_tensor *W,
                             const glab_tensor *b, const glab_tensor *c) {
  const char *op = "rbm.cd_grad";
  model m;
  glab_status s = open_model(&m, W, b, c, op);
  if (s == GLAB_OK) s = check_points(V0, &m, "positive batch", op);
  if (s == GLAB_OK) s = check_points(Vk, &m, "negative batch", op);
  if (s == GLAB_OK && Vk->shape[0] != V0->shape[0])
    s = glab_fail(GLAB_ESHAPE, "%s: %lld positive and %lld negative rows", op,
                  (long long)V0->shape[0], (long long)Vk->shape[0]);
  if (s == GLAB_OK && V0->shape[0] < 1) s = glab_fail(GLAB_ESHAPE, "%s: the batch is empty", op);
  if (s != GLAB_OK) return s;
  int64_t B = V0->shape[0], shW[2] = {m.nv, m.nh};
  size_t es = esize(m.dt);
  inputs in = {0};
  const void *v0 = NULL, *vk = NULL;
  glab_tensor t[3] = {GLAB_TENSOR_EMPTY, GLAB_TENSOR_EMPTY, GLAB_TENSOR_EMPTY};
  glab_tensor ws = GLAB_TENSOR_EMPTY;
  void *S = NULL, *Q = NULL;
  size_t sizes[] = {2 * (size_t)B * m.nv * es, 2 * (size_t)B * m.nh * es};
  void **bufs[] = {&S, &Q};
  if ((s = take(&in, V0, &v0)) != GLAB_OK || (s = take(&in, Vk, &vk)) != GLAB_OK ||
      (s = scratch(&ws, bufs, sizes, NBUF(sizes))) != GLAB_OK ||
      (s = glab_tensor_new(&t[0], m.dt, 2, shW)) != GLAB_OK ||
      (s = glab_tensor_new(&t[1], m.dt, 1, &m.nv)) != GLAB_OK ||
      (s = glab_tensor_new(&t[2], m.dt, 1, &m.nh)) != GLAB_OK)
    goto done;
  memcpy(S, v0, (size_t)B * m.nv * es);
  memcpy(AT(S, B, m.nv, es), vk, (size_t)B * m.nv * es);
  hidden_probs(&m, Q, S, 2 * B, NULL);
  negate(m.dt, AT(Q, B, m.nh, es), B * m.nh);
  update up = {&m, B, S, Q, glab_tensor_data(&t[0]), glab_tensor_data(&t[1]), NULL, NULL,
               1.0 / (double)B, 0.0, 0.0, 0.0};
  apply_update(&up, glab_tensor_data(&t[2]), NULL, pool_size());
  if ((s = glab_tensor_deliver(gW, &t[0], op)) == GLAB_OK &&
      (s = glab_tensor_deliver(gb, &t[1], op)) == GLAB_OK)
    s = glab_tensor_deliver(gc, &t[2], op);
done:
  for (int i = 0; i < 3; i++) glab_tensor_free(&t[i]);
  glab_tensor_free(&ws);
  release(&in);
  return s;
}

/* ---- sampling ---------------------------------------------------------------------- */

typedef struct {
  const model *m;
  int64_t k;
  const void *V0;
  void *Vk, *PV, *H, *u;
  glab_rng *rng;
} gibbs_ctx;

static void gibbs_block(void *arg, int64_t r0, int64_t rows, int t) {
  gibbs_ctx *x = arg;
  const model *m = x->m;
  size_t es = esize(m->dt);
  gibbs_from_visible(m, AT(x->Vk, r0, m->nv, es), AT(x->PV, r0, m->nv, es),
                     AT(x->H, r0, m->nh, es), AT(x->V0, r0, m->nv, es), rows, x->k, x->rng + r0,
                     AT(x->u, t, u_len(m), es));
}

glab_status glab_rbm_gibbs(glab_tensor *Vk, glab_tensor *PV, const glab_tensor *V0, int64_t k,
                           const glab_tensor *W, const glab_tensor *b, const glab_tensor *c,
                           glab_rng *g) {
  const char *op = "rbm.gibbs";
  model m;
  glab_status s = open_model(&m, W, b, c, op);
  if (s == GLAB_OK) s = check_points(V0, &m, "start", op);
  if (s == GLAB_OK && k < 1) s = glab_fail(GLAB_EARG, "%s: k must be >= 1, got %lld", op, (long long)k);
  if (s != GLAB_OK) return s;
  int64_t N = V0->shape[0], shape[2] = {N, m.nv};
  int threads = pool_size();
  size_t es = esize(m.dt);
  inputs in = {0};
  glab_tensor tv = GLAB_TENSOR_EMPTY, tp = GLAB_TENSOR_EMPTY, ws = GLAB_TENSOR_EMPTY;
  gibbs_ctx x = {&m, k, NULL, NULL, NULL, NULL, NULL, NULL};
  float *Wt = NULL;
  size_t sizes[] = {(size_t)N * m.nh * es, (size_t)threads * u_len(&m) * es,
                    (size_t)N * sizeof(glab_rng),
                    wt_bytes(&m)};
  void **bufs[] = {&x.H, &x.u, (void **)&x.rng, (void **)&Wt};
  if ((s = take(&in, V0, &x.V0)) != GLAB_OK || (s = glab_tensor_new(&tv, m.dt, 2, shape)) != GLAB_OK ||
      (s = glab_tensor_new(&tp, m.dt, 2, shape)) != GLAB_OK ||
      (s = scratch(&ws, bufs, sizes, NBUF(sizes))) != GLAB_OK)
    goto done;
  x.Vk = glab_tensor_data(&tv);
  x.PV = glab_tensor_data(&tp);
  transpose_W(&m, Wt, threads);
  seed_rows(x.rng, N, g);
  run_blocks(N, ROWS, threads, gibbs_block, &x);
  if ((s = glab_tensor_deliver(Vk, &tv, op)) == GLAB_OK && PV) s = glab_tensor_deliver(PV, &tp, op);
done:
  glab_tensor_free(&tv);
  glab_tensor_free(&tp);
  glab_tensor_free(&ws);
  release(&in);
  return s;
}

/* ---- the exact partition function --------------------------------------------------- */

/* log of a sum kept as (max, sum of e^(x - max)). */
typedef struct {
  double max, sum;
} lse;

static void lse_add(lse *a, double x) {
  if (x <= a->max) {
    a->sum += exp(x - a->max);
  } else {
    a->sum = a->sum * exp(a->max - x) + 1;
    a->max = x;
  }
}

static void lse_merge(lse *a, const lse *b) {
  if (b->sum == 0) return;
  if (a->sum == 0 || b->max > a->max) {
    double s = a->sum == 0 ? 0 : a->sum * exp(a->max - b->max);
    a->max = b->max;
    a->sum = b->sum + s;
  } else {
    a->sum += b->sum * exp(b->max - a->max);
  }
}

/* Enumerating the layer of e units (hidden when hidden != 0): for the
** states s, log sum_s exp(bias_e^T s + sum_o softplus(bias_o + (M s)_o)). */
typedef struct {
  const model *m;
  int hidden;
  int64_t e, o;
  void *S, *A;     /* per thread: ENUM_BLOCK x e states, ENUM_BLOCK x o products */
  lse *acc;        /* per thread */
} enum_ctx;

static void enum_block(void *arg, int64_t s0, int64_t rows, int t) {
  enum_ctx *x = arg;
  const model *m = x->m;
  glab_dtype dt = m->dt;
  size_t es = esize(dt);
  void *S = AT(x->S, t, ENUM_BLOCK * x->e, es), *A = AT(x->A, t, ENUM_BLOCK * x->o, es);
  const void *be = x->hidden ? m->c : m->b, *bo = x->hidden ? m->b : m->c;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t i = 0; i < x->e; i++) set_elem(dt, S, r * x->e + i, (double)(((s0 + r) >> i) & 1));
  if (x->hidden)
    glab_gemm(dt, 0, 1, rows, m->nv, m->nh, 1.0, S, m->nh, m->W, m->nh, 0.0, A, m->nv);
  else
    glab_gemm(dt, 0, 0, rows, m->nh, m->nv, 1.0, S, m->nv, m->W, m->nh, 0.0, A, m->nh);
  for (int64_t r = 0; r < rows; r++)
    lse_add(&x->acc[t], neg_free_energy(dt, AT(S, r, x->e, es), be, x->e, AT(A, r, x->o, es), bo, x->o));
}

glab_status glab_rbm_log_partition(double *logZ, const glab_tensor *W, const glab_tensor *b,
                                   const glab_tensor *c) {
  const char *op = "rbm.log_partition";
  model m;
  glab_status s = open_model(&m, W, b, c, op);
  if (s != GLAB_OK) return s;
  int hidden = m.nh <= m.nv;
  int64_t e = hidden ? m.nh : m.nv, o = hidden ? m.nv : m.nh;
  if (e > MAX_ENUM)
    return glab_fail(GLAB_EARG, "%s: %lld visible and %lld hidden units: the exact sum covers "
                     "2^%lld states, and is done only for a layer of at most %d units (use AIS)",
                     op, (long long)m.nv, (long long)m.nh, (long long)e, MAX_ENUM);
  int threads = pool_size();
  size_t es = esize(m.dt);
  glab_tensor ws = GLAB_TENSOR_EMPTY;
  enum_ctx x = {&m, hidden, e, o, NULL, NULL, NULL};
  size_t sizes[] = {(size_t)threads * ENUM_BLOCK * e * es, (size_t)threads * ENUM_BLOCK * o * es,
                    (size_t)threads * sizeof(lse)};
  void **bufs[] = {&x.S, &x.A, (void **)&x.acc};
  if ((s = scratch(&ws, bufs, sizes, NBUF(sizes))) == GLAB_OK) {
    for (int t = 0; t < threads; t++) x.acc[t] = (lse){-INFINITY, 0};
    run_blocks((int64_t)1 << e, ENUM_BLOCK, threads, enum_block, &x);
    lse tot = {-INFINITY, 0};
    for (int t = 0; t < threads; t++) lse_merge(&tot, &x.acc[t]);
    *logZ = tot.max + log(tot.sum);
  }
  glab_tensor_free(&ws);
  return s;
}

/* ---- annealed importance sampling ---------------------------------------------------- */

typedef struct {
  const model *m;
  const void *bA;
  const double *betas;       /* nbetas + 1, betas[0] = 0 */
  int64_t nbetas;
  void *V, *PV, *H;          /* runs x nv, runs x nv, runs x nh */
  void *u, *off;             /* per thread: uniforms, (1 - beta) bA (nv) */
  double *logw;              /* runs */
  glab_rng *rng;
} ais_ctx;

/* The weight update for the rows of v with A = v W: log p*_b1(v) - log p*_b0(v)
** = (b1 - b0) (b - bA)^T v + sum_j [softplus(b1 x_j) - softplus(b0 x_j)], x = A + c. */
static void ais_weights(const ais_ctx *x, double *logw, const void *V, const void *A, int64_t rows,
                        double b0, double b1) {
  const model *m = x->m;
  for (int64_t r = 0; r < rows; r++) {
    double d = 0;
    for (int64_t i = 0; i < m->nv; i++)
      if (elem(m->dt, V, r * m->nv + i) != 0) d += elem(m->dt, m->b, i) - elem(m->dt, x->bA, i);
    d *= b1 - b0;
    double y1[SP_CHUNK], y0[SP_CHUNK];
    for (int64_t j0 = 0; j0 < m->nh; j0 += SP_CHUNK) {
      int64_t n = m->nh - j0 < SP_CHUNK ? m->nh - j0 : SP_CHUNK;
      const void *a = AT(A, r * m->nh + j0, 1, esize(m->dt)), *c = AT(m->c, j0, 1, esize(m->dt));
      softplus_row(y1, m->dt, a, c, b1, n);
      softplus_row(y0, m->dt, a, c, b0, n);
      for (int64_t k = 0; k < n; k++) d += y1[k] - y0[k];
    }
    logw[r] += d;
  }
}

static void ais_block(void *arg, int64_t r0, int64_t rows, int t) {
  ais_ctx *x = arg;
  const model *m = x->m;
  glab_dtype dt = m->dt;
  size_t es = esize(dt);
  int64_t nv = m->nv, nh = m->nh;
  void *V = AT(x->V, r0, nv, es), *PV = AT(x->PV, r0, nv, es), *H = AT(x->H, r0, nh, es);
  void *u = AT(x->u, t, u_len(m), es);
  glab_rng *rng = x->rng + r0;
  double *logw = x->logw + r0;
  void *off = AT(x->off, t, nv, es);
  for (int64_t r = 0; r < rows; r++)         /* v ~ p_A: sigmoid(bA) per pixel */
    for (int64_t i = 0; i < nv; i++) set_elem(dt, PV, r * nv + i, sigmoid(elem(dt, x->bA, i)));
  draw_rows(dt, V, PV, rows, nv, rng, u);
  for (int64_t k = 1; k <= x->nbetas; k++) {
    double b0 = x->betas[k - 1], b1 = x->betas[k];
    glab_gemm(dt, 0, 0, rows, nh, nv, 1.0, V, nv, m->W, nh, 0.0, H, nh);
    ais_weights(x, logw, V, H, rows, b0, b1);
    if (k == x->nbetas) break;
    /* the transition that leaves p_b1 invariant: h ~ p_b1(h | v), v ~ p_b1(v | h) */
    sigmoid_rows(dt, H, m->c, b1, NULL, rows, nh);
    draw_rows(dt, H, H, rows, nh, rng, u);
    times_Wt(m, PV, H, rows, u);
    for (int64_t i = 0; i < nv; i++) set_elem(dt, off, i, (1 - b1) * elem(dt, x->bA, i));
    sigmoid_rows(dt, PV, m->b, b1, off, rows, nv);
    draw_rows(dt, V, PV, rows, nv, rng, u);
  }
}

/* betas[0..n]: 0, then Salakhutdinov & Murray's three even stretches. */
static void ais_schedule(double *betas, int64_t n) {
  int64_t n1 = (int64_t)((double)n * 500 / 14500 + 0.5), n2 = (int64_t)((double)n * 4500 / 14500 + 0.5);
  if (n1 < 1) n1 = 1;
  if (n2 <= n1) n2 = n1 + 1;
  if (n2 >= n) n2 = n - 1;
  betas[0] = 0;
  for (int64_t k = 1; k <= n; k++)
    betas[k] = k <= n1 ? 0.5 * (double)k / (double)n1
             : k <= n2 ? 0.5 + 0.4 * (double)(k - n1) / (double)(n2 - n1)
                       : 0.9 + 0.1 * (double)(k - n2) / (double)(n - n2);
  betas[n] = 1;
}

glab_status glab_rbm_ais(double *logZ, double *se, glab_tensor *logw, const glab_tensor *W,
                         const glab_tensor *b, const glab_tensor *c, const glab_tensor *bA,
                         int64_t runs, int64_t nbetas, glab_rng *g) {
  const char *op = "rbm.ais";
  model m;
  char sa[64];
  glab_status s = open_model(&m, W, b, c, op);
  if (s != GLAB_OK) return s;
  if (bA->ndim != 1 || bA->shape[0] != m.nv || bA->dtype != m.dt)
    return glab_fail(GLAB_ESHAPE, "%s: base-rate biases (%s %s): expected (%lld) %s", op,
                     glab_shape_str(sa, sizeof sa, bA->ndim, bA->shape), glab_dtype_name(bA->dtype),
                     (long long)m.nv, glab_dtype_name(m.dt));
  if (runs < 2 || nbetas < 3)
    return glab_fail(GLAB_EARG, "%s: need runs >= 2 and betas >= 3, got %lld and %lld", op,
                     (long long)runs, (long long)nbetas);
  int threads = pool_size();
  size_t es = esize(m.dt), nv = (size_t)m.nv, nh = (size_t)m.nh, R = (size_t)runs;
  inputs in = {0};
  glab_tensor tw = GLAB_TENSOR_EMPTY, ws = GLAB_TENSOR_EMPTY;
  ais_ctx x = {&m, NULL, NULL, nbetas, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  double *betas = NULL;
  float *Wt = NULL;
  size_t sizes[] = {(size_t)(nbetas + 1) * sizeof(double), R * nv * es, R * nv * es, R * nh * es,
                    (size_t)threads * u_len(&m) * es, (size_t)threads * nv * es,
                    R * sizeof(double), R * sizeof(glab_rng),
                    wt_bytes(&m)};
  void **bufs[] = {(void **)&betas, &x.V, &x.PV, &x.H, &x.u, &x.off, (void **)&x.logw,
                   (void **)&x.rng, (void **)&Wt};
  if ((s = take(&in, bA, &x.bA)) != GLAB_OK || (s = scratch(&ws, bufs, sizes, NBUF(sizes))) != GLAB_OK ||
      (logw && (s = glab_tensor_new(&tw, GLAB_F64, 1, &runs)) != GLAB_OK))
    goto done;
  ais_schedule(betas, nbetas);
  transpose_W(&m, Wt, threads);
  x.betas = betas;
  memset(x.logw, 0, R * sizeof(double));
  seed_rows(x.rng, runs, g);
  run_blocks(runs, ROWS, threads, ais_block, &x);
  double logZA = (double)m.nh * log(2.0), mx = -INFINITY;
  for (int64_t i = 0; i < m.nv; i++) logZA += softplus(elem(m.dt, x.bA, i));
  for (int64_t r = 0; r < runs; r++) mx = x.logw[r] > mx ? x.logw[r] : mx;
  double mean = 0, var = 0;
  for (int64_t r = 0; r < runs; r++) mean += exp(x.logw[r] - mx);
  mean /= (double)runs;
  for (int64_t r = 0; r < runs; r++) {
    double d = exp(x.logw[r] - mx) - mean;
    var += d * d;
  }
  var /= (double)(runs - 1);
  *logZ = logZA + mx + log(mean);
  *se = sqrt(var / (double)runs) / mean;
  if (logw) {
    memcpy(glab_tensor_data(&tw), x.logw, R * sizeof(double));
    s = glab_tensor_deliver(logw, &tw, op);
  }
done:
  glab_tensor_free(&tw);
  glab_tensor_free(&ws);
  release(&in);
  return s;
}
