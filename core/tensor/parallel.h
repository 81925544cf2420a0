/*
** parallel.h -- run one function on every core, for work that BLAS cannot
** split well by itself: many medium-sized calls (a trsm or syrk per mixture
** component) go faster side by side on one thread each than one after
** another on all threads.
**
**     static void work(void *arg, int t, int n) { ... items t, t + n, ... }
**     glab_parallel(glab_get_num_threads(), work, &ctx);
**
** Every thread runs with FTZ/DAZ set (float32 subnormals make kernels
** crawl).  While they run, OpenBLAS is held at one thread per call, so the
** BLAS calls inside fn must not pick thread counts themselves.
*/
#ifndef GLAB_PARALLEL_H
#define GLAB_PARALLEL_H

/* fn(arg, t, n) for t = 0..n-1, the caller being t = 0; returns when all
** have returned.  If a thread cannot be started its share runs on the
** caller, so fn must not depend on t running concurrently with another. */
void glab_parallel(int n, void (*fn)(void *arg, int t, int n), void *arg);

/* Set FTZ/DAZ on the calling thread. */
void glab_set_ftz_daz(void);

#endif
