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
** crawl).  While they run, OpenBLAS is held at one thread per call:
** glab_gemm inside fn keeps to it.
*/
#ifndef GLAB_PARALLEL_H
#define GLAB_PARALLEL_H
#include <stdint.h>

/* fn(arg, t, n) for t = 0..n-1, the caller being t = 0, the others on a
** pool of worker threads kept between calls; returns when all have
** returned.  Shares that find no worker run on the caller: those beyond a
** thread that could not be started, and all of them in a call made from
** inside fn or while another thread's call runs.  So fn must not depend on
** t running concurrently with another. */
void glab_parallel(int n, void (*fn)(void *arg, int t, int n), void *arg);

/* fn(arg, t) for the items t = 0..nb-1 of a batch, each about flops
** floating-point operations of BLAS or LAPACK work.  When there are at
** least as many items as cores and each is small enough that BLAS splits it
** poorly, the items run side by side, one BLAS thread each; otherwise in
** order on the calling thread, with BLAS's threads as the caller picked
** them.  fn returns 0, or nonzero to report a failure of item t; the result
** is the lowest failing t, or -1.  A failing fn must not call glab_fail:
** the message would stay on its thread; the caller writes it. */
int64_t glab_parallel_batches(int64_t nb, double flops, int (*fn)(void *arg, int64_t t),
                              void *arg);

/* Share t of n of the range [0, len): [*i0, *i1), its bounds at the
** multiples of align nearest to len t / n (whole cache lines, or a kernel's
** unroll, for align 16), the last share ending at len.  The shares cover
** the range in order; with align 1 they are len t / n to len (t + 1) / n. */
void glab_parallel_share(int64_t len, int t, int n, int64_t align, int64_t *i0, int64_t *i1);

/* Nonzero on a thread running inside glab_parallel: glab_gemm and the
** linear algebra then leave BLAS's thread count alone (one per call). */
int glab_parallel_active(void);

/* Tell the pool's idle workers to stop spinning and sleep: BLAS is about
** to run a call on its own threads (glab_blas_pick_threads), which need
** the cores. */
void glab_parallel_park(void);

/* Set FTZ/DAZ on the calling thread. */
void glab_set_ftz_daz(void);

#endif
