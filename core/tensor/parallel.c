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

static void *run(void *p) {
  job *j = p;
  glab_set_ftz_daz();
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
  fn(arg, 0, n);
  for (int t = 1; t < n; t++) {
    if (started[t]) pthread_join(th[t], NULL);
    else fn(arg, t, n);
  }
}
