/*
** test_parallel.c -- the fork-join pool of glab_parallel: every share runs
** exactly once and the call returns after all of them, job after job, for
** more shares than workers, nested calls and calls from two threads at once;
** glab_parallel_batches reports the lowest failing item.
*/
#include <pthread.h>
#include <string.h>

#include "../../core/tensor/parallel.h"
#include "tap.h"

#define MAXN 9

typedef struct {
  int runs[MAXN], seen_n[MAXN], active[MAXN], nested[MAXN];
  int nest;                      /* run a nested glab_parallel of this many shares */
} record;

static void count_nested(void *arg, int t, int n) {
  (void)n;
  __atomic_add_fetch((int *)arg + t, 1, __ATOMIC_RELAXED);
}

static void share(void *arg, int t, int n) {
  record *r = arg;
  __atomic_add_fetch(&r->runs[t], 1, __ATOMIC_RELAXED);
  r->seen_n[t] = n;
  r->active[t] = glab_parallel_active();
  if (r->nest) {
    int inner[MAXN] = {0};
    glab_parallel(r->nest, count_nested, inner);
    int ok = 1;
    for (int i = 0; i < r->nest; i++) ok &= inner[i] == 1;
    r->nested[t] = ok;
  }
}

/* n shares, reps times: each ran once per job, saw n, and ran marked. */
static int run_jobs(int n, int reps, int nest) {
  for (int k = 0; k < reps; k++) {
    record r;
    memset(&r, 0, sizeof r);
    r.nest = nest;
    glab_parallel(n, share, &r);
    for (int t = 0; t < n; t++)
      if (r.runs[t] != 1 || r.seen_n[t] != n || !r.active[t] || (nest && !r.nested[t]))
        return 0;
  }
  return 1;
}

static void *other_caller(void *p) {
  *(int *)p = run_jobs(3, 2000, 0);
  return NULL;
}

static int fail_from_5(void *arg, int64_t t) {
  (void)arg;
  return t >= 5;
}

int main(void) {
  OK(run_jobs(1, 10, 0), "one share runs on the caller");
  OK(run_jobs(2, 5000, 0), "two shares, 5000 jobs in a row: each share once per job");
  OK(run_jobs(MAXN, 500, 0), "more shares than cores: each once per job");
  OK(run_jobs(3, 200, 4), "a glab_parallel inside a share runs all of its shares");
  OK(!glab_parallel_active(), "the caller is unmarked after the job");
  int other = 0;
  pthread_t th;
  int started = pthread_create(&th, NULL, other_caller, &other) == 0;
  int mine = run_jobs(2, 2000, 0);
  if (started) pthread_join(th, NULL);
  OK(started && other && mine, "two threads calling at once both get every share run");
  OK(glab_parallel_batches(12, 1e6, fail_from_5, NULL) == 5,
     "glab_parallel_batches reports the lowest failing item");
  return tap_done();
}
