/*
** tensor.c -- storage, views and copies (see tensor.h for the contract).
*/
#include <assert.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iter.h"
#include "tensor.h"

const char *glab_dtype_name(glab_dtype dt) {
  return dt == GLAB_F64 ? "float64" : "float32";
}

int64_t glab_tensor_numel(const glab_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
  return n;
}

int glab_tensor_is_contiguous(const glab_tensor *t) {
  int64_t expect = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] != 1 && t->stride[i] != expect) return 0;
    expect *= t->shape[i];
  }
  return 1;
}

char *glab_shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
  size_t used = 0;
  buf[0] = '\0';
  if (ndim == 0) {
    snprintf(buf, n, "scalar");
    return buf;
  }
  for (int i = 0; i < ndim && used < n; i++)
    used += (size_t)snprintf(buf + used, n - used, i ? "x%lld" : "%lld",
                             (long long)shape[i]);
  return buf;
}

int glab_dim(int dim, int ndim) {
  if (dim < 0) dim += ndim;
  return (dim < 0 || dim >= ndim) ? -1 : dim;
}

/* Row-major strides for shape. */
static void set_contiguous_strides(glab_tensor *t) {
  int64_t s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    t->stride[i] = s;
    s *= t->shape[i] > 0 ? t->shape[i] : 1;
  }
}

static glab_status check_shape(int ndim, const int64_t *shape, const char *op) {
  if (ndim < 0 || ndim > GLAB_MAXDIM)
    return glab_fail(GLAB_EARG, "%s: %d dimensions (at most %d)", op, ndim,
                     GLAB_MAXDIM);
  double span = 1;             /* the strides' largest product, zero sizes skipped */
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0)
      return glab_fail(GLAB_EARG, "%s: negative size %lld in dimension %d", op,
                       (long long)shape[i], i + 1);
    span *= shape[i] > 0 ? (double)shape[i] : 1;
  }
  if (span > 0x1p62) {          /* only an empty tensor gets here with such sizes */
    char sh[128];
    return glab_fail(GLAB_ENOMEM, "cannot allocate a (%s) tensor: its sizes multiply past 2^62",
                     glab_shape_str(sh, sizeof sh, ndim, shape));
  }
  return GLAB_OK;
}

static size_t alloc_limit;

size_t glab_max_alloc_bytes(void) {
  if (!alloc_limit) {
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    alloc_limit = (pages > 0 && size > 0) ? (size_t)pages * (size_t)size : (size_t)1 << 40;
  }
  return alloc_limit;
}

void glab_set_max_alloc_bytes(size_t limit) {
  alloc_limit = limit;
}

static glab_status too_large(double bytes, int ndim, const int64_t *shape, glab_dtype dt) {
  char sh[128];
  return glab_fail(GLAB_ENOMEM,
                   "cannot allocate %.1f GiB for a (%s) %s tensor (this machine has %.1f GiB of memory)",
                   bytes / 1073741824.0, glab_shape_str(sh, sizeof sh, ndim, shape),
                   glab_dtype_name(dt), (double)glab_max_alloc_bytes() / 1073741824.0);
}

/* ---- the block cache ---------------------------------------------------------
** A training loop frees and allocates the same large sizes every step.
** glibc hands blocks over 32 MiB straight back to the kernel, and fresh pages
** cost a fault and a clear each (about 1.5 us per 4 KiB here), so freed
** blocks of 64 KiB and more wait in a small FIFO cache for the next request
** of the same size.  The cache holds at most 1/8 of memory. */

#define CACHE_MIN ((size_t)64 << 10)
#define CACHE_SLOTS 64

static struct { void *p; size_t n; } cache[CACHE_SLOTS];
static int cache_next;
static size_t cache_bytes, live_bytes;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

size_t glab_live_bytes(void) { return live_bytes; }
size_t glab_cached_bytes(void) { return cache_bytes; }

static size_t block_size(size_t bytes) {
  size_t n = bytes ? (bytes + 63) & ~(size_t)63 : 64;
  return n >= CACHE_MIN ? (n + 4095) & ~(size_t)4095 : n;
}

static void *block_alloc(size_t n) {
  void *p = NULL;
  if (n >= CACHE_MIN) {
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_SLOTS && !p; i++)
      if (cache[i].p && cache[i].n == n) {
        p = cache[i].p;
        cache[i].p = NULL;
        cache_bytes -= n;
      }
    pthread_mutex_unlock(&cache_lock);
  }
  if (!p && posix_memalign(&p, 64, n)) p = NULL;    /* 64: the BLAS kernels' alignment */
  if (p) __atomic_add_fetch(&live_bytes, n, __ATOMIC_RELAXED);
  return p;
}

static void block_free(void *p, size_t n) {
  __atomic_sub_fetch(&live_bytes, n, __ATOMIC_RELAXED);
  if (n < CACHE_MIN || n > glab_max_alloc_bytes() / 8) {
    free(p);
    return;
  }
  pthread_mutex_lock(&cache_lock);
  while (cache_bytes + n > glab_max_alloc_bytes() / 8 || cache[cache_next].p) {
    if (cache[cache_next].p) {                       /* evict the oldest */
      free(cache[cache_next].p);
      cache_bytes -= cache[cache_next].n;
      cache[cache_next].p = NULL;
    }
    cache_next = (cache_next + 1) % CACHE_SLOTS;
  }
  cache[cache_next].p = p;
  cache[cache_next].n = n;
  cache_bytes += n;
  cache_next = (cache_next + 1) % CACHE_SLOTS;
  pthread_mutex_unlock(&cache_lock);
}

void glab_cache_clear(void) {
  pthread_mutex_lock(&cache_lock);
  for (int i = 0; i < CACHE_SLOTS; i++) {
    free(cache[i].p);
    cache[i].p = NULL;
  }
  cache_bytes = 0;
  pthread_mutex_unlock(&cache_lock);
}

glab_status glab_tensor_new(glab_tensor *out, glab_dtype dt, int ndim,
                            const int64_t *shape) {
  glab_status s = check_shape(ndim, shape, "new");
  if (s != GLAB_OK) return s;
  size_t es = glab_dtype_size(dt), n = 1, limit = glab_max_alloc_bytes();
  double exact = (double)es;           /* the size even when size_t would wrap */
  for (int i = 0; i < ndim; i++) {
    exact *= (double)shape[i];
    n *= (size_t)shape[i];
  }
  if (exact > (double)limit) return too_large(exact, ndim, shape, dt);
  size_t bytes = n * es;
  char sh[128];
  glab_storage *st = malloc(sizeof *st);
  size_t cap = block_size(bytes);
  void *data = st ? block_alloc(cap) : NULL;
  if (!st || !data) {
    free(st);
    return glab_fail(GLAB_ENOMEM, "cannot allocate %.1f GiB for a (%s) %s tensor",
                     (double)bytes / (1024.0 * 1024 * 1024),
                     glab_shape_str(sh, sizeof sh, ndim, shape),
                     glab_dtype_name(dt));
  }
  st->data = data;
  st->nbytes = cap;
  st->refs = 1;
  st->version = 0;
  memset(out, 0, sizeof *out);
  out->storage = st;
  out->ndim = ndim;
  out->dtype = dt;
  for (int i = 0; i < ndim; i++) out->shape[i] = shape[i];
  set_contiguous_strides(out);
  return GLAB_OK;
}

void glab_tensor_free(glab_tensor *t) {
  if (t->storage && --t->storage->refs == 0) {
    block_free(t->storage->data, t->storage->nbytes);
    free(t->storage);
  }
  memset(t, 0, sizeof *t);
}

void glab_tensor_share(glab_tensor *out, const glab_tensor *src) {
  *out = *src;
  if (out->storage) out->storage->refs++;
}

static int same_shape(int na, const int64_t *a, int nb, const int64_t *b) {
  if (na != nb) return 0;
  for (int i = 0; i < na; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

/* ---- writes and aliasing ---------------------------------------------------- */

/* The lowest and highest element t reaches, as storage offsets. */
static void extent(const glab_tensor *t, int64_t *lo, int64_t *hi) {
  *lo = *hi = t->offset;
  for (int i = 0; i < t->ndim; i++) {
    int64_t span = (t->shape[i] - 1) * t->stride[i];
    if (span < 0) *lo += span;
    else *hi += span;
  }
}

int glab_tensor_overlaps(const glab_tensor *a, const glab_tensor *b) {
  if (!a->storage || a->storage != b->storage) return 0;
  if (glab_tensor_numel(a) == 0 || glab_tensor_numel(b) == 0) return 0;
  int64_t alo, ahi, blo, bhi;
  extent(a, &alo, &ahi);
  extent(b, &blo, &bhi);
  /* a float64 view and a float32 view of one storage cannot both exist */
  return alo <= bhi && blo <= ahi;
}

int glab_tensor_same_layout(const glab_tensor *a, const glab_tensor *b) {
  if (a->storage != b->storage || a->offset != b->offset || a->dtype != b->dtype ||
      !same_shape(a->ndim, a->shape, b->ndim, b->shape))
    return 0;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != 1 && a->stride[i] != b->stride[i]) return 0;
  return 1;
}

glab_status glab_tensor_check_writable(const glab_tensor *t, const char *op) {
  for (int i = 0; i < t->ndim; i++)
    if (t->stride[i] == 0 && t->shape[i] > 1) {
      char sh[128];
      return glab_fail(GLAB_EARG, "%s: the (%s) tensor written in place is expanded (dimension "
                       "%d of size %lld repeats one element), so its elements share memory; "
                       "clone() it first", op, glab_shape_str(sh, sizeof sh, t->ndim, t->shape),
                       i + 1, (long long)t->shape[i]);
    }
  return GLAB_OK;
}

glab_status glab_tensor_unalias(const glab_tensor **use, glab_tensor *tmp,
                                const glab_tensor *dst, const glab_tensor *src) {
  *use = src;
  if (!glab_tensor_overlaps(dst, src) || glab_tensor_same_layout(dst, src)) return GLAB_OK;
  glab_status s = glab_tensor_clone(tmp, src);
  if (s == GLAB_OK) *use = tmp;
  return s;
}

/* ---- life cycle, continued ------------------------------------------------------ */

glab_status glab_tensor_prepare(glab_tensor *out, glab_dtype dt, int ndim,
                                const int64_t *shape, const char *op) {
  if (!out->storage) return glab_tensor_new(out, dt, ndim, shape);
  if (out->dtype != dt || !same_shape(out->ndim, out->shape, ndim, shape)) {
    char a[128], b[128];
    return glab_fail(GLAB_ESHAPE, "%s: output is (%s) %s, result is (%s) %s", op,
                     glab_shape_str(a, sizeof a, out->ndim, out->shape),
                     glab_dtype_name(out->dtype),
                     glab_shape_str(b, sizeof b, ndim, shape), glab_dtype_name(dt));
  }
  glab_status s = glab_tensor_check_writable(out, op);
  if (s == GLAB_OK) glab_tensor_bump(out);
  return s;
}

void glab_tensor_move(glab_tensor *t, glab_tensor *src) {
  glab_tensor_free(t);
  *t = *src;
  memset(src, 0, sizeof *src);
}

glab_status glab_tensor_deliver(glab_tensor *out, glab_tensor *res,
                                const char *op) {
  if (!out->storage) {
    glab_tensor_move(out, res);
    return GLAB_OK;
  }
  glab_status s = glab_tensor_prepare(out, res->dtype, res->ndim, res->shape, op);
  if (s == GLAB_OK) s = glab_tensor_copy(out, res);
  glab_tensor_free(res);
  return s;
}

/* ---- creation ------------------------------------------------------------ */

glab_status glab_tensor_fill(glab_tensor *t, double value) {
  int64_t n = glab_tensor_numel(t);
  glab_status s = glab_tensor_check_writable(t, "fill");
  if (s != GLAB_OK) return s;
  glab_tensor_bump(t);
  if (glab_tensor_is_contiguous(t)) {
    if (t->dtype == GLAB_F64) {
      double *d = glab_tensor_data(t);
      for (int64_t i = 0; i < n; i++) d[i] = value;
    } else {
      float *f = glab_tensor_data(t), v = (float)value;
      for (int64_t i = 0; i < n; i++) f[i] = v;
    }
    return GLAB_OK;
  }
  glab_tensor one = GLAB_TENSOR_EMPTY;
  s = glab_tensor_full(&one, t->dtype, 0, NULL, value);
  if (s == GLAB_OK) s = glab_tensor_copy(t, &one);
  glab_tensor_free(&one);
  return s;
}

glab_status glab_tensor_full(glab_tensor *out, glab_dtype dt, int ndim,
                             const int64_t *shape, double value) {
  glab_tensor t = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_new(&t, dt, ndim, shape);
  if (s != GLAB_OK) return s;
  glab_tensor_fill(&t, value);
  *out = t;
  return GLAB_OK;
}

glab_status glab_tensor_eye(glab_tensor *out, glab_dtype dt, int64_t n,
                            int64_t m) {
  int64_t shape[2] = {n, m};
  glab_tensor t = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_full(&t, dt, 2, shape, 0.0);
  if (s != GLAB_OK) return s;
  for (int64_t i = 0; i < n && i < m; i++) {
    int64_t idx[2] = {i, i};
    glab_tensor_set(&t, idx, 1.0);
  }
  *out = t;
  return GLAB_OK;
}

glab_status glab_tensor_arange(glab_tensor *out, glab_dtype dt, double start,
                               double stop, double step) {
  if (step == 0 || !isfinite(start) || !isfinite(stop) || !isfinite(step))
    return glab_fail(GLAB_EARG, "arange: step must be non-zero and bounds finite");
  double cnt = ceil((stop - start) / step);
  if (cnt > 0x1p62)
    return glab_fail(GLAB_EARG, "arange: %.17g to %.17g by %.17g is %.3g values (at most 2^62)",
                     start, stop, step, cnt);
  int64_t n = cnt > 0 ? (int64_t)cnt : 0;
  glab_tensor t = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_new(&t, dt, 1, &n);
  if (s != GLAB_OK) return s;
  for (int64_t i = 0; i < n; i++) glab_tensor_set(&t, &i, start + (double)i * step);
  *out = t;
  return GLAB_OK;
}

glab_status glab_tensor_linspace(glab_tensor *out, glab_dtype dt, double a,
                                 double b, int64_t n) {
  if (n < 0) return glab_fail(GLAB_EARG, "linspace: negative count %lld", (long long)n);
  glab_tensor t = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_new(&t, dt, 1, &n);
  if (s != GLAB_OK) return s;
  for (int64_t i = 0; i < n; i++) {
    double v = n == 1 ? a : a + (b - a) * (double)i / (double)(n - 1);
    if (i == n - 1 && n > 1) v = b;
    glab_tensor_set(&t, &i, v);
  }
  *out = t;
  return GLAB_OK;
}

/* ---- views ---------------------------------------------------------------- */

static glab_status bad_dim(const char *op, int dim, int ndim) {
  return glab_fail(GLAB_EINDEX, "%s: dimension %d out of range for a %d-d tensor",
                   op, dim, ndim);
}

glab_status glab_tensor_narrow(glab_tensor *out, const glab_tensor *src,
                               int dim, int64_t start, int64_t len) {
  return glab_tensor_slice(out, src, dim, start, len, 1);
}

glab_status glab_tensor_slice(glab_tensor *out, const glab_tensor *src, int dim,
                              int64_t start, int64_t len, int64_t step) {
  const char *op = step == 1 ? "narrow" : "slice";
  int d = glab_dim(dim, src->ndim);
  if (d < 0) return bad_dim(op, dim, src->ndim);
  if (step < 1) return glab_fail(GLAB_EARG, "slice: step %lld (it must be 1 or more)", (long long)step);
  int64_t last = start + (len > 0 ? (len - 1) * step : -1);
  if (start < 0 || len < 0 || last >= src->shape[d] || (len > 0 && last < start))
    return glab_fail(GLAB_EINDEX,
                     "%s: elements %lld..%lld out of range for dimension %d of size %lld",
                     op, (long long)start + 1, (long long)last + 1, d + 1,
                     (long long)src->shape[d]);
  glab_tensor_share(out, src);
  out->offset += start * src->stride[d];
  out->shape[d] = len;
  if (len > 1) out->stride[d] *= step;
  return GLAB_OK;
}

glab_status glab_tensor_select(glab_tensor *out, const glab_tensor *src,
                               int dim, int64_t index) {
  int d = glab_dim(dim, src->ndim);
  if (d < 0) return bad_dim("select", dim, src->ndim);
  if (index < 0 || index >= src->shape[d])
    return glab_fail(GLAB_EINDEX, "index %lld out of range for dimension %d of size %lld",
                     (long long)index + 1, d + 1, (long long)src->shape[d]);
  glab_tensor_share(out, src);
  out->offset += index * src->stride[d];
  for (int i = d; i < src->ndim - 1; i++) {
    out->shape[i] = src->shape[i + 1];
    out->stride[i] = src->stride[i + 1];
  }
  out->ndim--;
  return GLAB_OK;
}

glab_status glab_tensor_transpose(glab_tensor *out, const glab_tensor *src,
                                  int d0, int d1) {
  int a = glab_dim(d0, src->ndim), b = glab_dim(d1, src->ndim);
  if (a < 0) return bad_dim("transpose", d0, src->ndim);
  if (b < 0) return bad_dim("transpose", d1, src->ndim);
  glab_tensor_share(out, src);
  out->shape[a] = src->shape[b];
  out->stride[a] = src->stride[b];
  out->shape[b] = src->shape[a];
  out->stride[b] = src->stride[a];
  return GLAB_OK;
}

glab_status glab_tensor_permute(glab_tensor *out, const glab_tensor *src,
                                const int *perm) {
  int seen[GLAB_MAXDIM] = {0};
  for (int i = 0; i < src->ndim; i++) {
    int p = glab_dim(perm[i], src->ndim);
    if (p < 0 || seen[p])
      return glab_fail(GLAB_EARG, "permute: not a permutation of the %d dimensions",
                       src->ndim);
    seen[p] = 1;
  }
  glab_tensor_share(out, src);
  for (int i = 0; i < src->ndim; i++) {
    int p = glab_dim(perm[i], src->ndim);
    out->shape[i] = src->shape[p];
    out->stride[i] = src->stride[p];
  }
  return GLAB_OK;
}

/* Resolve one -1 in shape against numel; checks the product matches. */
static glab_status infer_shape(int64_t *dst, int ndim, const int64_t *shape,
                               const glab_tensor *src, const char *op) {
  int64_t known = 1, n = glab_tensor_numel(src);
  int infer = -1;
  glab_status s = GLAB_OK;
  if (ndim > GLAB_MAXDIM)
    return glab_fail(GLAB_EARG, "%s: %d dimensions (at most %d)", op, ndim, GLAB_MAXDIM);
  for (int i = 0; i < ndim; i++) {
    dst[i] = shape[i];
    if (shape[i] == -1 && infer < 0) infer = i;
    else if (shape[i] < 0) s = GLAB_EARG;
    else known *= shape[i];
  }
  if (s == GLAB_OK && infer >= 0 && known > 0 && n % known == 0) dst[infer] = n / known;
  char a[128], b[128];
  if (s != GLAB_OK || (infer >= 0 && (known == 0 || n % known)) ||
      (infer < 0 && known != n)) {
    for (int i = 0; i < ndim; i++) dst[i] = shape[i];
    return glab_fail(GLAB_ESHAPE, "%s: cannot reshape (%s) (%lld elements) to (%s)", op,
                     glab_shape_str(a, sizeof a, src->ndim, src->shape),
                     (long long)n, glab_shape_str(b, sizeof b, ndim, dst));
  }
  return GLAB_OK;
}

/* Strides for viewing src as shape without copying, if possible: the
** chunk-matching rule of PyTorch's computeStride.  A chunk is a run of dims
** that is contiguous within itself; the new shape must split into the same
** chunks. */
static int view_strides(int64_t *st, const glab_tensor *src, int ndim,
                        const int64_t *shape) {
  if (glab_tensor_numel(src) == 0 || glab_tensor_is_contiguous(src)) {
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
      st[i] = s;
      s *= shape[i] > 0 ? shape[i] : 1;
    }
    return 1;
  }
  int vd = ndim - 1;
  int64_t base = src->stride[src->ndim - 1], tnumel = 1, vnumel = 1;
  for (int td = src->ndim - 1; td >= 0; td--) {
    tnumel *= src->shape[td];
    if (td > 0 && (src->shape[td - 1] == 1 ||
                   src->stride[td - 1] == tnumel * base))
      continue;                                /* chunk goes on */
    while (vd >= 0 && (vnumel < tnumel || shape[vd] == 1)) {
      st[vd] = vnumel * base;
      vnumel *= shape[vd];
      vd--;
    }
    if (vnumel != tnumel) return 0;
    if (td > 0) {
      base = src->stride[td - 1];
      tnumel = vnumel = 1;
    }
  }
  return vd == -1;
}

glab_status glab_tensor_view(glab_tensor *out, const glab_tensor *src,
                             int ndim, const int64_t *shape) {
  int64_t sh[GLAB_MAXDIM], st[GLAB_MAXDIM];
  glab_status s = infer_shape(sh, ndim, shape, src, "view");
  if (s != GLAB_OK) return s;
  if (!view_strides(st, src, ndim, sh)) {
    char a[128];
    return glab_fail(GLAB_EARG,
                     "view: the strides of this (%s) tensor do not allow a view; "
                     "use reshape (copies) or contiguous() first",
                     glab_shape_str(a, sizeof a, src->ndim, src->shape));
  }
  glab_tensor_share(out, src);
  out->ndim = ndim;
  for (int i = 0; i < ndim; i++) {
    out->shape[i] = sh[i];
    out->stride[i] = st[i];
  }
  return GLAB_OK;
}

glab_status glab_tensor_reshape(glab_tensor *out, const glab_tensor *src,
                                int ndim, const int64_t *shape) {
  int64_t sh[GLAB_MAXDIM], st[GLAB_MAXDIM];
  glab_status s = infer_shape(sh, ndim, shape, src, "reshape");
  if (s != GLAB_OK) return s;
  if (view_strides(st, src, ndim, sh)) return glab_tensor_view(out, src, ndim, sh);
  glab_tensor c = GLAB_TENSOR_EMPTY;
  s = glab_tensor_clone(&c, src);
  if (s != GLAB_OK) return s;
  s = glab_tensor_view(out, &c, ndim, sh);
  glab_tensor_free(&c);
  return s;
}

glab_status glab_broadcast_shape(int64_t *out, int *out_nd, int na,
                                 const int64_t *a, int nb, const int64_t *b,
                                 const char *op) {
  int nd = na > nb ? na : nb;
  for (int i = 0; i < nd; i++) {
    int ia = i - (nd - na), ib = i - (nd - nb);
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1) {
      char sa[128], sb[128];
      return glab_fail(GLAB_ESHAPE,
                       "%s: shapes (%s) and (%s) do not broadcast (dimension %d: %lld vs %lld)",
                       op, glab_shape_str(sa, sizeof sa, na, a),
                       glab_shape_str(sb, sizeof sb, nb, b), i + 1, (long long)da,
                       (long long)db);
    }
    out[i] = da == 1 ? db : da;
  }
  *out_nd = nd;
  return GLAB_OK;
}

glab_status glab_tensor_expand(glab_tensor *out, const glab_tensor *src,
                               int ndim, const int64_t *shape) {
  char a[128], b[128];
  if (ndim < src->ndim || ndim > GLAB_MAXDIM)
    return glab_fail(GLAB_ESHAPE, "expand: cannot expand (%s) to (%s)",
                     glab_shape_str(a, sizeof a, src->ndim, src->shape),
                     glab_shape_str(b, sizeof b, ndim, shape));
  glab_tensor t = *src;
  int lead = ndim - src->ndim;
  for (int i = ndim - 1; i >= 0; i--) {
    int j = i - lead;
    int64_t have = j >= 0 ? src->shape[j] : 1;
    int64_t want = shape[i] == -1 ? have : shape[i];
    if (have == want) {
      t.shape[i] = have;
      t.stride[i] = j >= 0 ? src->stride[j] : 0;
    } else if (have == 1 && want >= 0) {
      t.shape[i] = want;
      t.stride[i] = 0;
    } else {
      return glab_fail(GLAB_ESHAPE, "expand: cannot expand (%s) to (%s)",
                       glab_shape_str(a, sizeof a, src->ndim, src->shape),
                       glab_shape_str(b, sizeof b, ndim, shape));
    }
  }
  double numel = 1;              /* a view, but numel and reshape count its elements */
  for (int i = 0; i < ndim; i++) numel *= (double)t.shape[i];
  if (numel > 0x1p62)
    return glab_fail(GLAB_ESHAPE, "expand: (%s) would have more than 2^62 elements",
                     glab_shape_str(b, sizeof b, ndim, t.shape));
  t.ndim = ndim;
  glab_tensor_share(out, &t);
  return GLAB_OK;
}

glab_status glab_tensor_unsqueeze(glab_tensor *out, const glab_tensor *src,
                                  int dim) {
  int d = glab_dim(dim, src->ndim + 1);
  if (d < 0) return bad_dim("unsqueeze", dim, src->ndim + 1);
  if (src->ndim == GLAB_MAXDIM)
    return glab_fail(GLAB_EARG, "unsqueeze: already %d dimensions", GLAB_MAXDIM);
  glab_tensor t = *src;
  for (int i = src->ndim; i > d; i--) {
    t.shape[i] = src->shape[i - 1];
    t.stride[i] = src->stride[i - 1];
  }
  t.shape[d] = 1;
  t.stride[d] = d + 1 < src->ndim + 1 ? src->stride[d] * src->shape[d] : 1;
  t.ndim = src->ndim + 1;
  glab_tensor_share(out, &t);
  return GLAB_OK;
}

glab_status glab_tensor_diagonal(glab_tensor *out, const glab_tensor *src) {
  char sh[128];
  if (src->ndim < 2)
    return glab_fail(GLAB_ESHAPE, "diagonal: needs a matrix or a batch of them, got (%s)",
                     glab_shape_str(sh, sizeof sh, src->ndim, src->shape));
  int nd = src->ndim;
  glab_tensor_share(out, src);
  int64_t n = src->shape[nd - 2], m = src->shape[nd - 1];
  out->shape[nd - 2] = n < m ? n : m;
  out->stride[nd - 2] = src->stride[nd - 2] + src->stride[nd - 1];
  out->ndim = nd - 1;
  return GLAB_OK;
}

glab_status glab_tensor_squeeze(glab_tensor *out, const glab_tensor *src,
                                int dim) {
  glab_tensor t = *src;
  int d = dim == GLAB_ALLDIMS ? -1 : glab_dim(dim, src->ndim);
  if (dim != GLAB_ALLDIMS && d < 0) return bad_dim("squeeze", dim, src->ndim);
  int nd = 0;
  for (int i = 0; i < src->ndim; i++) {
    int drop = src->shape[i] == 1 && (d < 0 || d == i);
    if (drop) continue;
    t.shape[nd] = src->shape[i];
    t.stride[nd] = src->stride[i];
    nd++;
  }
  t.ndim = nd;
  glab_tensor_share(out, &t);
  return GLAB_OK;
}

/* ---- copies ---------------------------------------------------------------- */

static void copy_row(char **p, const int64_t *s, int64_t n, void *ctx) {
  const glab_dtype *dt = ctx;     /* dt[0] destination, dt[1] source */
  if (dt[0] == dt[1]) {
    size_t es = glab_dtype_size(dt[0]);
    if (s[0] == (int64_t)es && s[1] == (int64_t)es) {
      memmove(p[0], p[1], (size_t)n * es);
      return;
    }
  }
  for (int64_t i = 0; i < n; i++) {
    char *d = p[0] + i * s[0];
    const char *q = p[1] + i * s[1];
    double v = dt[1] == GLAB_F64 ? *(const double *)q : *(const float *)q;
    if (dt[0] == GLAB_F64) *(double *)d = v;
    else *(float *)d = (float)v;
  }
}

glab_status glab_tensor_copy(glab_tensor *dst, const glab_tensor *src) {
  glab_tensor e = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_expand(&e, src, dst->ndim, dst->shape);
  if (s != GLAB_OK) {
    char a[128], b[128];
    return glab_fail(GLAB_ESHAPE, "copy: source (%s) does not broadcast to (%s)",
                     glab_shape_str(a, sizeof a, src->ndim, src->shape),
                     glab_shape_str(b, sizeof b, dst->ndim, dst->shape));
  }
  glab_tensor tmp = GLAB_TENSOR_EMPTY;
  const glab_tensor *from;
  if ((s = glab_tensor_check_writable(dst, "copy")) == GLAB_OK &&
      (s = glab_tensor_unalias(&from, &tmp, dst, &e)) == GLAB_OK) {
    const glab_tensor *ops[2] = {dst, from};
    glab_dtype dt[2] = {dst->dtype, src->dtype};
    glab_iter it;
    glab_tensor_bump(dst);
    glab_iter_init(&it, 2, ops, dst->ndim, dst->shape);
    glab_iter_run(&it, copy_row, dt);
  }
  glab_tensor_free(&tmp);
  glab_tensor_free(&e);
  return s;
}

glab_status glab_tensor_astype(glab_tensor *out, const glab_tensor *src,
                               glab_dtype dt) {
  glab_tensor t = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_new(&t, dt, src->ndim, src->shape);
  if (s != GLAB_OK) return s;
  glab_tensor_copy(&t, src);
  *out = t;
  return GLAB_OK;
}

glab_status glab_tensor_clone(glab_tensor *out, const glab_tensor *src) {
  return glab_tensor_astype(out, src, src->dtype);
}

glab_status glab_tensor_contiguous(glab_tensor *out, const glab_tensor *src) {
  if (glab_tensor_is_contiguous(src)) {
    glab_tensor_share(out, src);
    return GLAB_OK;
  }
  return glab_tensor_clone(out, src);
}

/* ---- elements -------------------------------------------------------------- */

static int64_t elem_offset(const glab_tensor *t, const int64_t *idx) {
  int64_t off = t->offset;
  for (int i = 0; i < t->ndim; i++) {
    assert(idx[i] >= 0 && idx[i] < t->shape[i]);
    off += idx[i] * t->stride[i];
  }
  return off;
}

double glab_tensor_get(const glab_tensor *t, const int64_t *idx) {
  int64_t off = elem_offset(t, idx);
  if (t->dtype == GLAB_F64) return ((const double *)t->storage->data)[off];
  return ((const float *)t->storage->data)[off];
}

void glab_tensor_set(glab_tensor *t, const int64_t *idx, double v) {
  int64_t off = elem_offset(t, idx);
  glab_tensor_bump(t);
  if (t->dtype == GLAB_F64) ((double *)t->storage->data)[off] = v;
  else ((float *)t->storage->data)[off] = (float)v;
}

double glab_tensor_flat_get(const glab_tensor *t, int64_t i) {
  int64_t idx[GLAB_MAXDIM];
  for (int d = t->ndim - 1; d >= 0; d--) {
    idx[d] = t->shape[d] ? i % t->shape[d] : 0;
    i = t->shape[d] ? i / t->shape[d] : 0;
  }
  return glab_tensor_get(t, idx);
}
