/*
** random.c -- xoshiro256++ and samplers (see random.h).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "parallel.h"
#include "random.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void glab_rng_seed(glab_rng *g, uint64_t seed) {
  for (int i = 0; i < 4; i++) g->s[i] = splitmix64(&seed);
  g->has_spare = 0;
  g->spare = 0;
}

double glab_rng_uniform(glab_rng *g) {
  return (double)(glab_rng_next(g) >> 11) * 0x1.0p-53;
}

static float uniform_f32(glab_rng *g) {
  return (float)(glab_rng_next(g) >> 40) * 0x1.0p-24f;
}

/* Box-Muller: two normals, r cos and r sin, from uniforms u1 in (0, 1] (log
** stays finite) and u2 in [0, 1). */
static inline void box_muller(double u1, double u2, double *c, double *s) {
  double r = sqrt(-2.0 * log(u1)), th = 2.0 * M_PI * u2;
  *s = r * sin(th);
  *c = r * cos(th);
}

double glab_rng_normal(glab_rng *g) {
  if (g->has_spare) {
    g->has_spare = 0;
    return g->spare;
  }
  double u1 = 1.0 - glab_rng_uniform(g), u2 = glab_rng_uniform(g), c;
  box_muller(u1, u2, &c, &g->spare);
  g->has_spare = 1;
  return c;
}

uint64_t glab_rng_below(glab_rng *g, uint64_t n) {
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;   /* reject the biased tail */
  uint64_t x;
  do x = glab_rng_next(g); while (x >= limit);
  return x % n;
}

/* Fill t in row-major order with values from draw(). */
typedef double (*draw_fn)(glab_rng *g, const void *ctx, glab_dtype dt);

/* Before a sampler writes t: refuse a tensor that may not be written, and
** count the write for the saved tensors that t may be. */
static glab_status begin_fill(glab_tensor *t) {
  glab_status s = glab_tensor_check_writable(t, "random fill");
  if (s == GLAB_OK) glab_tensor_bump(t);
  return s;
}

static glab_status fill(glab_rng *g, glab_tensor *t, draw_fn draw, const void *ctx) {
  int64_t n = glab_tensor_numel(t);
  glab_status s = begin_fill(t);
  if (s != GLAB_OK) return s;
  if (glab_tensor_is_contiguous(t)) {
    if (t->dtype == GLAB_F64) {
      double *d = glab_tensor_data(t);
      for (int64_t i = 0; i < n; i++) d[i] = draw(g, ctx, GLAB_F64);
    } else {
      float *f = glab_tensor_data(t);
      for (int64_t i = 0; i < n; i++) f[i] = (float)draw(g, ctx, GLAB_F32);
    }
    return GLAB_OK;
  }
  int64_t idx[GLAB_MAXDIM];
  for (int64_t i = 0; i < n; i++) {
    int64_t r = i;
    for (int d = t->ndim - 1; d >= 0; d--) {
      idx[d] = r % t->shape[d];
      r /= t->shape[d];
    }
    glab_tensor_set(t, idx, draw(g, ctx, t->dtype));
  }
  return GLAB_OK;
}

static double draw_uniform(glab_rng *g, const void *ctx, glab_dtype dt) {
  const double *lh = ctx;
  double u = dt == GLAB_F32 ? uniform_f32(g) : glab_rng_uniform(g);
  double v = lh[0] + (lh[1] - lh[0]) * u;
  if (dt == GLAB_F32 && (float)v >= (float)lh[1] && lh[1] > lh[0])
    v = nextafterf((float)lh[1], (float)lh[0]);   /* keep [lo, hi) after rounding */
  return v;
}

static double draw_normal(glab_rng *g, const void *ctx, glab_dtype dt) {
  const double *ms = ctx;
  (void)dt;
  return ms[0] + ms[1] * glab_rng_normal(g);
}

static double draw_int(glab_rng *g, const void *ctx, glab_dtype dt) {
  const int64_t *lh = ctx;
  (void)dt;
  return (double)(lh[0] + (int64_t)glab_rng_below(g, (uint64_t)(lh[1] - lh[0])));
}

glab_status glab_rand_uniform(glab_rng *g, glab_tensor *t, double lo, double hi) {
  if (!(lo <= hi) || !isfinite(lo) || !isfinite(hi))
    return glab_fail(GLAB_EARG, "uniform: need finite lo <= hi, got %g and %g", lo, hi);
  double lh[2] = {lo, hi};
  return fill(g, t, draw_uniform, lh);
}

/* ---- normals in bulk ------------------------------------------------------------------
** A contiguous tensor's normals: the uniforms drawn in order on the calling
** thread, a chunk of pairs at a time, then the pairs' logarithms, square
** roots and sines (some 35 ns a pair, against 7 ns for its two uniforms) shared
** out on the pool.  The same values as glab_rng_normal one at a time, the
** spare of an odd count included. */
#define NORMAL_CHUNK 4096                /* pairs a chunk */
#define NORMAL_SPLIT 512                 /* pairs from which the pool takes a share */

typedef struct {
  const double *u;                       /* u1, u2 of each pair */
  void *out;                             /* the chunk's first value */
  glab_dtype dt;
  double mean, std, *spare;              /* spare: the last pair's sine, when odd */
  int64_t pairs, n;                      /* n values to write (2 pairs, or one less) */
} normal_job;

static void normal_share(void *arg, int t, int nt) {
  const normal_job *j = arg;
  int64_t p0, p1;
  glab_parallel_share(j->pairs, t, nt, 8, &p0, &p1);
  for (int64_t p = p0; p < p1; p++) {
    double z[2];
    box_muller(j->u[2 * p], j->u[2 * p + 1], &z[0], &z[1]);
    for (int k = 0; k < 2; k++) {
      int64_t i = 2 * p + k;
      double v = j->mean + j->std * z[k];
      if (i >= j->n) *j->spare = z[k];
      else if (j->dt == GLAB_F64) ((double *)j->out)[i] = v;
      else ((float *)j->out)[i] = (float)v;
    }
  }
}

static glab_status normals(glab_rng *g, glab_tensor *t, double mean, double std) {
  int64_t n = glab_tensor_numel(t), done = 0;
  size_t es = glab_dtype_size(t->dtype);
  char *out = glab_tensor_data(t);
  int64_t most = n / 2 + 1 < NORMAL_CHUNK ? n / 2 + 1 : NORMAL_CHUNK;   /* pairs a chunk */
  glab_status s = begin_fill(t);
  if (s != GLAB_OK) return s;
  double *u = malloc((size_t)(2 * most) * sizeof *u);
  if (!u) return glab_fail(GLAB_ENOMEM, "normal: cannot allocate %lld uniforms", (long long)(2 * most));
  if (n > 0 && g->has_spare) {
    double v = mean + std * g->spare;
    if (t->dtype == GLAB_F64) *(double *)out = v;
    else *(float *)out = (float)v;
    g->has_spare = 0;
    done = 1;
  }
  while (done < n) {
    int64_t left = n - done, pairs = (left + 1) / 2;
    if (pairs > most) pairs = most;
    for (int64_t p = 0; p < pairs; p++) {
      u[2 * p] = 1.0 - glab_rng_uniform(g);
      u[2 * p + 1] = glab_rng_uniform(g);
    }
    normal_job j = {u, out + done * (int64_t)es, t->dtype, mean, std, &g->spare, pairs,
                    left < 2 * pairs ? left : 2 * pairs};
    int nt = pairs >= NORMAL_SPLIT ? glab_get_num_threads() : 1;
    if (nt > 1) glab_parallel(nt, normal_share, &j);
    else normal_share(&j, 0, 1);
    if (j.n < 2 * pairs) g->has_spare = 1;
    done += j.n;
  }
  free(u);
  return GLAB_OK;
}

glab_status glab_rand_normal(glab_rng *g, glab_tensor *t, double mean, double std) {
  if (!(std >= 0) || !isfinite(mean) || !isfinite(std))
    return glab_fail(GLAB_EARG, "normal: need a finite mean and std >= 0, got %g and %g",
                     mean, std);
  if (glab_tensor_is_contiguous(t)) return normals(g, t, mean, std);
  double ms[2] = {mean, std};
  return fill(g, t, draw_normal, ms);
}

glab_status glab_rand_int(glab_rng *g, glab_tensor *t, int64_t lo, int64_t hi) {
  if (hi <= lo)
    return glab_fail(GLAB_EARG, "randint: empty range [%lld, %lld)", (long long)lo,
                     (long long)hi);
  int64_t lh[2] = {lo, hi};
  return fill(g, t, draw_int, lh);
}

glab_status glab_rand_bernoulli(glab_rng *g, glab_tensor *out, const glab_tensor *p) {
  int64_t n = glab_tensor_numel(p);
  for (int64_t i = 0; i < n; i++) {
    double v = glab_tensor_flat_get(p, i);
    if (!(v >= 0 && v <= 1))
      return glab_fail(GLAB_EARG, "bernoulli: probability %g at element %lld is outside [0, 1]",
                       v, (long long)i + 1);
  }
  glab_tensor res = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_new(&res, p->dtype, p->ndim, p->shape);
  if (s != GLAB_OK) return s;
  for (int64_t i = 0; i < n; i++) {
    double u = p->dtype == GLAB_F32 ? uniform_f32(g) : glab_rng_uniform(g);
    double v = u < glab_tensor_flat_get(p, i) ? 1.0 : 0.0;
    if (res.dtype == GLAB_F64) ((double *)glab_tensor_data(&res))[i] = v;
    else ((float *)glab_tensor_data(&res))[i] = (float)v;
  }
  s = glab_tensor_deliver(out, &res, "bernoulli");
  glab_tensor_free(&res);
  return s;
}

/* Draw n categories from one row of k weights (cum holds k doubles). */
static void categorical_row(glab_rng *g, double *dst, double *w, double *cum, int64_t k,
                            int64_t n, int replacement) {
  for (int64_t j = 0; j < n; j++) {
    double total = 0;
    for (int64_t i = 0; i < k; i++) cum[i] = total += w[i];
    double u = glab_rng_uniform(g) * total;
    int64_t lo = 0, hi = k - 1;                  /* first i with cum[i] > u */
    while (lo < hi) {
      int64_t mid = (lo + hi) / 2;
      if (cum[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    while (lo > 0 && w[lo] == 0) lo--;           /* never a zero-weight category */
    dst[j] = (double)lo;
    if (!replacement) w[lo] = 0;
  }
}

glab_status glab_rand_categorical(glab_rng *g, glab_tensor *out, const glab_tensor *w,
                                  int64_t n, int replacement) {
  if (w->ndim < 1 || w->ndim > 2 || w->shape[w->ndim - 1] == 0)
    return glab_fail(GLAB_ESHAPE, "multinomial: weights must be (k) or (b, k) with k > 0");
  int64_t k = w->shape[w->ndim - 1], rows = w->ndim == 2 ? w->shape[0] : 1;
  if (n < 0) return glab_fail(GLAB_EARG, "multinomial: negative sample count %lld", (long long)n);
  double *buf = malloc((size_t)(2 * k) * sizeof *buf);
  if (!buf) return glab_fail(GLAB_ENOMEM, "multinomial: out of memory");
  glab_tensor res = GLAB_TENSOR_EMPTY;
  int64_t sh[2] = {rows, n};
  glab_status s = w->ndim == 2 ? glab_tensor_new(&res, GLAB_F64, 2, sh)
                               : glab_tensor_new(&res, GLAB_F64, 1, &n);
  for (int64_t r = 0; r < rows && s == GLAB_OK; r++) {
    int64_t nonzero = 0;
    for (int64_t i = 0; i < k; i++) {
      buf[i] = glab_tensor_flat_get(w, r * k + i);
      if (!(buf[i] >= 0) || !isfinite(buf[i]))
        s = glab_fail(GLAB_EARG, "multinomial: weight %g in row %lld is negative or not finite",
                      buf[i], (long long)r + 1);
      nonzero += buf[i] > 0;
    }
    if (s == GLAB_OK && nonzero == 0)
      s = glab_fail(GLAB_EARG, "multinomial: the weights of row %lld are all zero", (long long)r + 1);
    if (s == GLAB_OK && !replacement && n > nonzero)
      s = glab_fail(GLAB_EARG,
                    "multinomial: %lld draws without replacement from %lld non-zero weights",
                    (long long)n, (long long)nonzero);
    if (s == GLAB_OK)
      categorical_row(g, (double *)glab_tensor_data(&res) + r * n, buf, buf + k, k, n,
                      replacement);
  }
  if (s == GLAB_OK) s = glab_tensor_deliver(out, &res, "multinomial");
  glab_tensor_free(&res);
  free(buf);
  return s;
}

glab_status glab_rand_permutation(glab_rng *g, glab_tensor *out, int64_t n,
                                  glab_dtype dt) {
  glab_tensor res = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_arange(&res, GLAB_F64, 0, (double)n, 1);
  if (s != GLAB_OK) return s;
  double *p = glab_tensor_data(&res);
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)glab_rng_below(g, (uint64_t)i + 1);
    double x = p[i];
    p[i] = p[j];
    p[j] = x;
  }
  if (dt == GLAB_F32) {
    glab_tensor f = GLAB_TENSOR_EMPTY;
    s = glab_tensor_astype(&f, &res, GLAB_F32);
    glab_tensor_free(&res);
    res = f;
  }
  if (s == GLAB_OK) s = glab_tensor_deliver(out, &res, "permutation");
  glab_tensor_free(&res);
  return s;
}
