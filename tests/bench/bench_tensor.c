/*
** bench_tensor.c -- `make bench` for the tensor core: matmul GFLOP/s at
** 2048^3 and at the VAE's shapes against raw OpenBLAS sgemm measured in the
** same run (the practical peak), and eigh/cholesky timings at 256x256.
** Each figure is the best of several repetitions after a warm-up.
*/
#include <cblas.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../core/tensor/linalg.h"
#include "../../core/tensor/ops.h"
#include "../../core/tensor/random.h"

static glab_rng rng;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static glab_tensor randn(glab_dtype dt, int nd, int64_t a, int64_t b, int64_t c) {
  int64_t sh[3] = {a, b, c};
  glab_tensor t = GLAB_TENSOR_EMPTY;
  glab_tensor_new(&t, dt, nd, sh);
  glab_rand_normal(&rng, &t, 0, 1);
  return t;
}

/* The timed calls: one step of what a row measures, on its operands. */
typedef struct {
  int what;                       /* RAW_GEMM, MATMUL, EIGH, CHOLESKY */
  int64_t m, n, k;
  int tb;
  glab_tensor *a, *b, *c, *w;     /* operands; c and w are outputs, freed before each call */
  float *pc;
} call;
enum { RAW_GEMM, MATMUL, EIGH, CHOLESKY };

static void run_call(const call *f) {
  switch (f->what) {
    case RAW_GEMM:
      cblas_sgemm(CblasRowMajor, CblasNoTrans, f->tb ? CblasTrans : CblasNoTrans, (int)f->m,
                  (int)f->n, (int)f->k, 1.0f, glab_tensor_data(f->a), (int)f->k,
                  glab_tensor_data(f->b), f->tb ? (int)f->k : (int)f->n, 0.0f, f->pc, (int)f->n);
      break;
    case MATMUL: glab_matmul(f->c, f->a, f->b); break;   /* c reused after the first call */
    case EIGH:
      glab_tensor_free(f->w); glab_tensor_free(f->c);
      glab_linalg_eigh(f->w, f->c, f->a);
      break;
    case CHOLESKY: glab_tensor_free(f->c); glab_linalg_cholesky(f->c, f->a, 0); break;
  }
}

/* Best time of reps calls after one warm-up. */
static double best(int reps, const call *f) {
  double secs = 1e30;
  run_call(f);
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    run_call(f);
    double dt = now() - t0;
    if (dt < secs) secs = dt;
  }
  return secs;
}

static void gemm_row(const char *what, int64_t m, int64_t n, int64_t k, int tb, int reps) {
  glab_tensor a = randn(GLAB_F32, 2, m, k, 0);
  glab_tensor b = tb ? randn(GLAB_F32, 2, n, k, 0) : randn(GLAB_F32, 2, k, n, 0);
  glab_tensor bt = GLAB_TENSOR_EMPTY, c = GLAB_TENSOR_EMPTY;
  if (tb) glab_tensor_transpose(&bt, &b, 0, 1);
  else glab_tensor_share(&bt, &b);
  float *pc = NULL;
  glab_tensor raw = GLAB_TENSOR_EMPTY;
  int64_t sh[2] = {m, n};
  glab_tensor_new(&raw, GLAB_F32, 2, sh);
  pc = glab_tensor_data(&raw);
  double t_raw, t_ours, fl = 2.0 * (double)m * (double)n * (double)k;
  /* the peer: OpenBLAS on its own threads (glab_gemm leaves it at one, and
  ** shares a product out on its own pool) */
  int held = openblas_get_num_threads();
  openblas_set_num_threads(glab_get_num_threads());
  t_raw = best(reps, &(call){RAW_GEMM, m, n, k, tb, &a, &b, NULL, NULL, pc});
  openblas_set_num_threads(held);
  t_ours = best(reps, &(call){MATMUL, m, n, k, tb, &a, &bt, &c, NULL, NULL});
  printf("%-34s %8.1f %8.1f %7.2f\n", what, fl / t_raw / 1e9, fl / t_ours / 1e9, t_raw / t_ours);
  glab_tensor_free(&a); glab_tensor_free(&b); glab_tensor_free(&bt);
  glab_tensor_free(&c); glab_tensor_free(&raw);
}

static glab_tensor spd(glab_dtype dt, int64_t batch, int64_t n) {
  glab_tensor a = batch ? randn(dt, 3, batch, n, n) : randn(dt, 2, n, n, 0);
  glab_tensor at = GLAB_TENSOR_EMPTY, p = GLAB_TENSOR_EMPTY, eye = GLAB_TENSOR_EMPTY;
  glab_tensor_transpose(&at, &a, -1, -2);
  glab_matmul(&p, &a, &at);
  glab_tensor_eye(&eye, dt, n, n);
  glab_binary_scalar(&eye, GLAB_MUL, &eye, (double)n, 0);
  glab_binary(&p, GLAB_ADD, &p, &eye);
  glab_tensor_free(&a); glab_tensor_free(&at); glab_tensor_free(&eye);
  return p;
}

static void linalg_rows(void) {
  glab_dtype dts[2] = {GLAB_F32, GLAB_F64};
  for (int d = 0; d < 2; d++) {
    glab_tensor a = spd(dts[d], 0, 256), w = GLAB_TENSOR_EMPTY, v = GLAB_TENSOR_EMPTY;
    glab_tensor l = GLAB_TENSOR_EMPTY;
    double te, tc;
    te = best(20, &(call){.what = EIGH, .a = &a, .c = &v, .w = &w});
    tc = best(50, &(call){.what = CHOLESKY, .a = &a, .c = &l});
    printf("%-7s eigh 256x256 %8.2f ms   cholesky 256x256 %6.3f ms\n", glab_dtype_name(dts[d]),
           te * 1e3, tc * 1e3);
    glab_tensor_free(&a); glab_tensor_free(&w); glab_tensor_free(&v); glab_tensor_free(&l);
  }
  glab_tensor k64 = spd(GLAB_F32, 64, 256), l = GLAB_TENSOR_EMPTY;
  double t;
  t = best(5, &(call){.what = CHOLESKY, .a = &k64, .c = &l});
  printf("float32 batched cholesky 64x256x256 %7.2f ms (the GMM's K = 64 covariances)\n", t * 1e3);
  glab_tensor_free(&k64); glab_tensor_free(&l);
}

int main(void) {
  glab_rng_seed(&rng, 1);
  int threads = glab_get_num_threads();
  printf("genlab bench: tensor core, OpenBLAS %d threads, float32 unless said\n\n", threads);
  printf("%-34s %8s %8s %7s\n", "matmul (GFLOP/s)", "OpenBLAS", "genlab", "ratio");
  gemm_row("2048x2048 @ 2048x2048", 2048, 2048, 2048, 0, 5);
  gemm_row("VAE 128x784 @ 784x500", 128, 500, 784, 0, 50);
  gemm_row("VAE 128x784 @ (500x784)^T view", 128, 500, 784, 1, 50);
  gemm_row("VAE 128x500 @ 500x784", 128, 784, 500, 0, 50);
  gemm_row("small 64x64 @ 64x64", 64, 64, 64, 0, 200);
  printf("\n");
  linalg_rows();
  return 0;
}
