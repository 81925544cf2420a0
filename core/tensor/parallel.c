/*
** parallel.c -- glab_parallel: a fork-join over a pool of pthreads (see
** parallel.h).  The workers are started on first use and then wait between
** jobs, spinning briefly before they sleep on a condition variable: a
** convolution layer's job lasts a few tenths of a millisecond, and starting
** threads per call (some tens of microseconds each) had cost a CNN VAE a
** tenth of its training step.
*/
#include <pthread.h>
#include <stdint.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "iter.h"
#include "ops.h"
#include "parallel.h"

#define MAX_THREADS 64

void glab_set_ftz_daz(void) {
#if defined(__x86_64__) || defined(__i386__)
  _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
  _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
#endif
}

/* Set on every thread of a glab_parallel while it runs: BLAS stays at one
** thread per call, whatever the calls inside fn would pick. */
static _Thread_local int in_parallel;

int glab_parallel_active(void) { return in_parallel; }

/* The pool: job number gen is fn(arg, t, n) for the workers t = 1..nw; the
** caller runs t = 0 and any share beyond nw.  One job at a time (busy). */
static struct {
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  void (*fn)(void *arg, int t, int n);
  void *arg;
  int n, nw, pending, started;
  unsigned gen, first_gen[MAX_THREADS];
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .go = PTHREAD_COND_INITIALIZER,
        .done = PTHREAD_COND_INITIALIZER};
static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER;

/* Before sleeping on a condition variable, a worker waiting for the next
** job and the caller waiting for the workers spin this many pauses (some
** hundreds of microseconds): the layers of a training step follow each
** other that closely, and a futex wake-up cost about 20 us a job here (a
** CNN VAE step hands out some twenty; an LSTM's four, with a few hundred
** microseconds of one-thread products between them).  A worker stops
** spinning at once when glab_parallel_park says that BLAS's own threads
** are about to need the cores. */
#define SPIN 32768
static unsigned park_gen;                 /* glab_parallel_park's count */
static int spinning;                      /* workers spinning now */

void glab_parallel_park(void) {
  if (__atomic_load_n(&spinning, __ATOMIC_RELAXED) > 0)
    __atomic_add_fetch(&park_gen, 1, __ATOMIC_RELEASE);
}

static void pause_once(void) {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

static void *worker(void *p) {
  int t = (int)(intptr_t)p;
  glab_set_ftz_daz();
  in_parallel = 1;
  pthread_mutex_lock(&pool.mu);
  for (unsigned seen = pool.first_gen[t];;) {
    if (pool.gen == seen) {                 /* spin a while for the next job, unlocked */
      pthread_mutex_unlock(&pool.mu);
      __atomic_add_fetch(&spinning, 1, __ATOMIC_RELAXED);
      unsigned park = __atomic_load_n(&park_gen, __ATOMIC_ACQUIRE);
      for (int i = 0; i < SPIN && __atomic_load_n(&pool.gen, __ATOMIC_ACQUIRE) == seen &&
                      __atomic_load_n(&park_gen, __ATOMIC_ACQUIRE) == park; i++)
        pause_once();
      __atomic_sub_fetch(&spinning, 1, __ATOMIC_RELAXED);
      pthread_mutex_lock(&pool.mu);
    }
    while (pool.gen == seen) pthread_cond_wait(&pool.go, &pool.mu);
    seen = pool.gen;
    if (t > pool.nw) continue;
    void (*fn)(void *, int, int) = pool.fn;
    void *arg = pool.arg;
    int n = pool.n;
    pthread_mutex_unlock(&pool.mu);
    fn(arg, t, n);
    pthread_mutex_lock(&pool.mu);
    if (__atomic_sub_fetch(&pool.pending, 1, __ATOMIC_RELEASE) == 0)
      pthread_cond_signal(&pool.done);
  }
  return NULL;
}

/* Workers 1..want-1 running (fewer if a thread cannot be started); the
** number that are.  Holds pool.mu. */
static int workers(int want) {
  while (pool.started < want - 1) {
    int t = pool.started + 1;
    pthread_t th;
    pthread_attr_t at;
    pool.first_gen[t] = pool.gen;
    if (pthread_attr_init(&at) != 0) break;
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    int ok = pthread_create(&th, &at, worker, (void *)(intptr_t)t) == 0;
    pthread_attr_destroy(&at);
    if (!ok) break;
    pool.started = t;
  }
  return pool.started < want - 1 ? pool.started : want - 1;
}

void glab_parallel(int n, void (*fn)(void *arg, int t, int n), void *arg) {
  if (n > MAX_THREADS) n = MAX_THREADS;
  if (n < 1) n = 1;
  glab_blas_one_thread();                       /* one BLAS thread per call */
  int outer = in_parallel, nw = 0;
  /* nested, or another thread's job running: this one runs on the caller */
  int pooled = n > 1 && !outer && pthread_mutex_trylock(&busy) == 0;
  if (pooled) {
    pthread_mutex_lock(&pool.mu);
    nw = workers(n);
    pool.fn = fn, pool.arg = arg, pool.n = n, pool.nw = nw, pool.pending = nw;
    __atomic_add_fetch(&pool.gen, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&pool.go);
    pthread_mutex_unlock(&pool.mu);
  }
  in_parallel = 1;
  fn(arg, 0, n);
  for (int t = nw + 1; t < n; t++) fn(arg, t, n);
  in_parallel = outer;
  if (pooled) {
    for (int i = 0; i < SPIN && __atomic_load_n(&pool.pending, __ATOMIC_ACQUIRE) > 0; i++)
      pause_once();
    pthread_mutex_lock(&pool.mu);
    while (pool.pending > 0) pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
    pthread_mutex_unlock(&busy);
  }
}

void glab_parallel_share(int64_t len, int t, int n, int64_t align, int64_t *i0, int64_t *i1) {
  int64_t half = align / 2;
  *i0 = (len * t / n + half) / align * align;
  *i1 = t == n - 1 ? len : (len * (t + 1) / n + half) / align * align;
}

/* Items of one batch handed out in turn; the lowest failure kept. */
typedef struct {
  int (*fn)(void *arg, int64_t t);
  void *arg;
  int64_t nb, next, failed;
} batch_job;

static void batch_work(void *p, int t, int n) {
  batch_job *j = p;
  for (;;) {
    int64_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
    if (i >= j->nb) break;
    if (j->fn(j->arg, i)) {
      int64_t f = __atomic_load_n(&j->failed, __ATOMIC_RELAXED);
      while ((f < 0 || i < f) &&
             !__atomic_compare_exchange_n(&j->failed, &f, i, 0, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED)) {
      }
    }
  }
}

/* Above about 2^27 flops (a 256x256x1024 gemm) one call keeps both BLAS
** threads busy; below it, with a few items per core, side by side wins. */
#define SMALL_ITEM 1.4e8

int64_t glab_parallel_batches(int64_t nb, double flops, int (*fn)(void *arg, int64_t t),
                              void *arg) {
  int nt = glab_get_num_threads();
  batch_job j = {fn, arg, nb, 0, -1};
  if (nt > 1 && nb >= nt && (flops <= SMALL_ITEM || nb >= 4 * nt)) {
    glab_parallel(nt < nb ? nt : (int)nb, batch_work, &j);
    return j.failed;
  }
  for (int64_t t = 0; t < nb; t++)
    if (fn(arg, t)) return t;
  return -1;
}
