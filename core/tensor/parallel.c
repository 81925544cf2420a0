/*
** parallel.c -- glab_parallel: a fork-join over pthreads (see parallel.h).
** Threads are started per call; at the sizes this serves (seconds of BLAS-3
** work) their start-up, some tens of microseconds, does not register.
*/
#include <pthread.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "iter.h"
#include "ops.h"
#include "parallel.h"

#define MAX_THREADS 64

typedef struct {
  void (*fn)(void *arg, int t, int n);
  void *arg;
  int t, n;
} job;

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

static void *run(void *p) {
  job *j = p;
  glab_set_ftz_daz();
  in_parallel = 1;
  j->fn(j->arg, j->t, j->n);
  return NULL;
}

void glab_parallel(int n, void (*fn)(void *arg, int t, int n), void *arg) {
  pthread_t th[MAX_THREADS];
  job jobs[MAX_THREADS];
  int started[MAX_THREADS] = {0};
  if (n > MAX_THREADS) n = MAX_THREADS;
  if (n < 1) n = 1;
  glab_blas_pick_threads(1, 1, 1);              /* one BLAS thread per call */
  for (int t = 1; t < n; t++) {
    jobs[t] = (job){fn, arg, t, n};
    started[t] = pthread_create(&th[t], NULL, run, &jobs[t]) == 0;
  }
  int outer = in_parallel;
  in_parallel = 1;
  fn(arg, 0, n);
  for (int t = 1; t < n; t++) {
    if (started[t]) pthread_join(th[t], NULL);
    else fn(arg, t, n);
  }
  in_parallel = outer;
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
