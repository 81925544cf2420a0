/*
** autoreg.c -- exact sums over the images of a CPT model (see autoreg.h).
**
** Both kernels walk the tree of prefixes depth first, carrying the log
** probability of the prefix: a child adds the log of one table entry.  The
** entropy's walk is split at depth SPLIT into 2^SPLIT subtrees, the tasks
** that the threads share; each task keeps its own compensated sums, and the
** caller adds them in task order.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../tensor/ops.h"
#include "../tensor/parallel.h"
#include "autoreg.h"

#define SPLIT 10

/* Contiguous handles on the n tables. */
typedef struct {
  int n;
  const void *q[GLAB_AUTOREG_MAX_PIXELS];
  glab_dtype dt[GLAB_AUTOREG_MAX_PIXELS];
  glab_tensor h[GLAB_AUTOREG_MAX_PIXELS];
} tables;

/* The first entry out of [0, 1] that a walk reached: level (0-based) -1
** when none; the lowest level, then the lowest index, wins. */
typedef struct {
  int level;
  int64_t index;
  double value;
} fault;

static void close_tables(tables *tb) {
  for (int i = 0; i < tb->n; i++) glab_tensor_free(&tb->h[i]);
}

static glab_status open_tables(tables *tb, const glab_tensor *const *cpt, int n, const char *op) {
  memset(tb, 0, sizeof *tb);
  if (n < 1 || n > GLAB_AUTOREG_MAX_PIXELS)
    return glab_fail(GLAB_EARG, "%s: %d tables: expected 1 to %d", op, n, GLAB_AUTOREG_MAX_PIXELS);
  for (int i = 0; i < n; i++) {
    int64_t want = (int64_t)2 << i, got = glab_tensor_numel(cpt[i]);
    if (got != want) {
      close_tables(tb);
      return glab_fail(GLAB_ESHAPE, "%s: CPT %d has %lld entries, expected 2^%d = %lld", op, i + 1,
                       (long long)got, i + 1, (long long)want);
    }
    glab_status s = glab_tensor_contiguous(&tb->h[i], cpt[i]);
    tb->n = i + 1;
    if (s != GLAB_OK) {
      close_tables(tb);
      return s;
    }
    tb->q[i] = glab_tensor_data(&tb->h[i]);
    tb->dt[i] = cpt[i]->dtype;
  }
  return GLAB_OK;
}

static inline double entry(const tables *tb, int i, int64_t k) {
  return tb->dt[i] == GLAB_F64 ? ((const double *)tb->q[i])[k] : (double)((const float *)tb->q[i])[k];
}

static void note(fault *f, int level, int64_t index, double value) {
  if (f->level < 0 || level < f->level || (level == f->level && index < f->index))
    *f = (fault){level, index, value};
}

/* The entry CPT_i[k] into *q, and *l = lp + log *q; 0 when the entry is 0
** (nothing below it) or not a probability (noted in f). */
static inline int step(const tables *tb, fault *f, int i, int64_t k, double lp, double *l, double *q) {
  *q = entry(tb, i, k);
  if (*q > 0 && *q <= 1) {
    *l = lp + log(*q);
    return 1;
  }
  if (*q != 0) note(f, i, k, *q);
  return 0;
}

static glab_status fail_fault(const fault *f, const char *op) {
  int i = f->level + 1, b = (int)(f->index & 1);
  if (i == 1) return glab_fail(GLAB_EARG, "%s: CPT 1 holds %g for x1 = %d: not a probability", op, f->value, b);
  char prefix[GLAB_AUTOREG_MAX_PIXELS + 1];
  int64_t c = f->index >> 1;
  for (int j = 0; j < i - 1; j++) prefix[j] = (char)('0' + ((c >> (i - 2 - j)) & 1));
  prefix[i - 1] = '\0';
  return glab_fail(GLAB_EARG, "%s: CPT %d holds %g for x%d = %d after x1..x%d = %s: not a probability",
                   op, i, f->value, i, b, i - 1, prefix);
}

/* ---- the entropy ------------------------------------------------------------------ */

typedef struct {
  double h, hc, m, mc;       /* compensated sums of -p log p and p */
  int64_t support;
  fault bad;
} acc;

/* Neumaier's compensated s += x (c gathers the lost low-order parts). */
static inline void add(double *s, double *c, double x) {
  double t = *s + x;
  *c += fabs(*s) >= fabs(x) ? (*s - t) + x : (x - t) + *s;
  *s = t;
}

/* An image of log probability lp and probability p: the product of its
** entries, carried beside lp so that a leaf costs no exp (equal to exp(lp)
** to rounding; a product below 1e-308 flushes to 0, as its term would). */
static inline void leaf(acc *a, double lp, double p) {
  add(&a->h, &a->hc, -p * lp);
  add(&a->m, &a->mc, p);
  a->support++;
}

/* Every image below prefix c of length i (log probability lp, probability p). */
static void walk(const tables *tb, acc *a, int i, int64_t c, double lp, double p) {
  int last = i == tb->n - 1;
  for (int64_t k = 2 * c; k < 2 * c + 2; k++) {
    double l, q;
    if (!step(tb, &a->bad, i, k, lp, &l, &q)) continue;
    if (last) leaf(a, l, p * q);
    else walk(tb, a, i + 1, k, l, p * q);
  }
}

typedef struct {
  const tables *tb;
  int depth;                 /* where the tasks start: min(n, SPLIT) */
  int64_t ntask;
  acc *acc;                  /* one per task */
} entropy_ctx;

static void entropy_task(const entropy_ctx *x, int64_t t) {
  const tables *tb = x->tb;
  acc *a = &x->acc[t];
  *a = (acc){0, 0, 0, 0, 0, {-1, 0, 0}};
  double lp = 0, p = 1, q;
  for (int i = 0; i < x->depth; i++) {
    if (!step(tb, &a->bad, i, t >> (x->depth - 1 - i), lp, &lp, &q)) return;
    p *= q;
  }
  if (x->depth == tb->n) leaf(a, lp, p);
  else walk(tb, a, x->depth, t, lp, p);
}

static void entropy_share(void *arg, int t, int nt) {
  const entropy_ctx *x = arg;
  for (int64_t k = t; k < x->ntask; k += nt) entropy_task(x, k);
}

glab_status glab_autoreg_entropy(glab_autoreg_sums *out, const glab_tensor *const *cpt, int n) {
  const char *op = "autoreg.entropy";
  tables tb;
  glab_status s = open_tables(&tb, cpt, n, op);
  if (s != GLAB_OK) return s;
  entropy_ctx x = {&tb, n < SPLIT ? n : SPLIT, 0, NULL};
  x.ntask = (int64_t)1 << x.depth;
  x.acc = malloc((size_t)x.ntask * sizeof *x.acc);
  if (!x.acc) {
    close_tables(&tb);
    return glab_fail(GLAB_ENOMEM, "%s: out of memory", op);
  }
  int threads = glab_get_num_threads();
  glab_parallel(threads < 1 ? 1 : threads, entropy_share, &x);
  acc tot = {0, 0, 0, 0, 0, {-1, 0, 0}};
  for (int64_t t = 0; t < x.ntask; t++) {
    const acc *a = &x.acc[t];
    add(&tot.h, &tot.hc, a->h);
    add(&tot.h, &tot.hc, a->hc);
    add(&tot.m, &tot.mc, a->m);
    add(&tot.m, &tot.mc, a->mc);
    tot.support += a->support;
    if (a->bad.level >= 0) note(&tot.bad, a->bad.level, a->bad.index, a->bad.value);
  }
  free(x.acc);
  close_tables(&tb);
  if (tot.bad.level >= 0) return fail_fault(&tot.bad, op);
  *out = (glab_autoreg_sums){tot.h + tot.hc, tot.m + tot.mc, tot.support};
  return GLAB_OK;
}

/* ---- the likely images ------------------------------------------------------------ */

typedef struct {
  const tables *tb;
  double log_min;
  int64_t max, count, cap;
  int64_t *codes;
  double *lps;
  int overflow, nomem;
  fault bad;
} states_ctx;

static void keep(states_ctx *x, int64_t code, double lp) {
  if (x->count == x->max) {
    x->overflow = 1;
    return;
  }
  if (x->count == x->cap) {
    int64_t cap = x->cap ? 2 * x->cap : 1024;
    if (cap > x->max) cap = x->max;
    int64_t *c = realloc(x->codes, (size_t)cap * sizeof *c);
    if (c) x->codes = c;
    double *l = c ? realloc(x->lps, (size_t)cap * sizeof *l) : NULL;
    if (l) x->lps = l;
    if (!c || !l) {
      x->nomem = 1;
      return;
    }
    x->cap = cap;
  }
  x->codes[x->count] = code;
  x->lps[x->count++] = lp;
}

static void collect(states_ctx *x, int i, int64_t c, double lp) {
  int last = i == x->tb->n - 1;
  for (int64_t k = 2 * c; k < 2 * c + 2 && !x->overflow && !x->nomem; k++) {
    double l, q;
    if (!step(x->tb, &x->bad, i, k, lp, &l, &q) || l < x->log_min) continue;
    if (last) keep(x, k, l);
    else collect(x, i + 1, k, l);
  }
}

/* The outputs from the kept codes and log probabilities. */
static glab_status write_states(glab_tensor *images, glab_tensor *probs, const states_ctx *x,
                                int n, const char *op) {
  int64_t shape[2] = {x->count, n};
  glab_status s = glab_tensor_prepare(images, GLAB_F64, 2, shape, op);
  if (s == GLAB_OK) s = glab_tensor_prepare(probs, GLAB_F64, 1, shape, op);
  if (s != GLAB_OK) return s;
  double *img = glab_tensor_data(images), *p = glab_tensor_data(probs);
  for (int64_t r = 0; r < x->count; r++) {
    for (int j = 0; j < n; j++) img[r * n + j] = (double)((x->codes[r] >> (n - 1 - j)) & 1);
    p[r] = exp(x->lps[r]);
  }
  glab_tensor_bump(images);
  glab_tensor_bump(probs);
  return GLAB_OK;
}

glab_status glab_autoreg_states(glab_tensor *images, glab_tensor *probs, int *complete,
                                const glab_tensor *const *cpt, int n, double min_p, int64_t max) {
  const char *op = "autoreg.states";
  if (!(min_p >= 0 && min_p <= 1) || max < 1)
    return glab_fail(GLAB_EARG, "%s: min_p = %g and max = %lld: expected 0 <= min_p <= 1 and max >= 1",
                     op, min_p, (long long)max);
  tables tb;
  glab_status s = open_tables(&tb, cpt, n, op);
  if (s != GLAB_OK) return s;
  states_ctx x = {&tb, min_p > 0 ? log(min_p) : -INFINITY, max, 0, 0, NULL, NULL, 0, 0, {-1, 0, 0}};
  collect(&x, 0, 0, 0.0);
  if (x.nomem) s = glab_fail(GLAB_ENOMEM, "%s: out of memory after %lld images", op, (long long)x.count);
  else if (x.bad.level >= 0) s = fail_fault(&x.bad, op);
  else s = write_states(images, probs, &x, n, op);
  if (s == GLAB_OK) *complete = !x.overflow;
  free(x.codes);
  free(x.lps);
  close_tables(&tb);
  return s;
}
