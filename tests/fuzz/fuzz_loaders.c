/*
** fuzz_loaders.c -- libFuzzer targets for the file loaders, one per
** FUZZ_<NAME> macro given at compile time (see run.sh):
**   idx, npy, image, npz, pt, ckpt (genlab.save's checkpoints)
**                              the input is written to a file and handed to
**                              the loader by path (a ckpt of version 2 with
**                              its length and CRC fixed up first);
**   pickle                     the input is read from memory, once without
**                              and once with opts.objects.
** Every input must either load or fail with a message; a crash, a leak or
** a sanitizer report is a bug.  What loads is then read whole (every
** tensor element, every pickle node's kids and bytes), so that a bad view
** or a bad index inside the result is caught by ASan too.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/data/io.h"
#if defined(FUZZ_PICKLE) || defined(FUZZ_PT)
#include "../../core/data/pickle.h"
#include "../../core/data/pt.h"
#include "../../core/data/reader.h"
#endif

static volatile double sink;   /* keeps the reads below from being optimised away */

static void check(int ok) {
  if (!ok) abort();
}

#if !defined(FUZZ_PICKLE)
static char path[64];

/* The input as a file at a fixed per-process path. */
static int write_input(const uint8_t *data, size_t size) {
  if (!path[0]) snprintf(path, sizeof path, "/tmp/genlab-fuzz-%d", (int)getpid());
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  fwrite(data, 1, size, f);
  fclose(f);
  return 1;
}
#endif

#if defined(FUZZ_CKPT)
#include <zlib.h>
/* A version 2 checkpoint whose length field and CRC-32 trailer are made
** right for whatever the fuzzer put around them, so that the mutations reach
** the entry parser behind the checksum (a wrong CRC is refused at once). */
static void seal(uint8_t *p, size_t n) {
  for (int i = 0; i < 8; i++) p[32 + i] = (uint8_t)((uint64_t)n >> (8 * i));
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32_z(crc, p, n - 4);
  for (int i = 0; i < 4; i++) p[n - 4 + i] = (uint8_t)(crc >> (8 * i));
}
#endif

#if defined(FUZZ_PICKLE) || defined(FUZZ_NPZ) || defined(FUZZ_PT) || defined(FUZZ_CKPT)
/* Read every element of t.  A tensor with very many elements (stride-0
** views can claim billions over a few bytes) is read at its first and last
** 2^20 elements and at every corner instead, which still reaches its
** lowest and highest storage offsets. */
#define ALL_UP_TO (1 << 22)
static void touch_tensor(const glab_tensor *t) {
  check(t->ndim >= 0 && t->ndim <= GLAB_MAXDIM);
  for (int d = 0; d < t->ndim; d++) check(t->shape[d] >= 0);
  if (!t->storage) return;                  /* empty */
  int64_t n = glab_tensor_numel(t);
  double acc = 0;
  if (n <= ALL_UP_TO) {
    for (int64_t i = 0; i < n; i++) acc += glab_tensor_flat_get(t, i);
  } else {
    for (int64_t i = 0; i < ALL_UP_TO / 4; i++)
      acc += glab_tensor_flat_get(t, i) + glab_tensor_flat_get(t, n - 1 - i);
    for (unsigned c = 0; c < (1u << t->ndim); c++) {
      int64_t idx[GLAB_MAXDIM];
      for (int d = 0; d < t->ndim; d++) idx[d] = (c >> d & 1) ? t->shape[d] - 1 : 0;
      acc += glab_tensor_get(t, idx);
    }
  }
  sink = acc;
}
#endif

#if defined(FUZZ_PICKLE) || defined(FUZZ_PT)
/* Visit each node of the graph once, by its place in pk->v rather than by
** following kids: the memo can make cycles. */
static void walk(const glab_pickle *pk) {
  check(pk->n > 0 && pk->root >= 0 && pk->root < pk->n);
  check(pk->nt >= 0 && pk->nt <= pk->tcap);
  double acc = 0;
  for (int32_t i = 0; i < pk->n; i++) {
    const glab_py *v = &pk->v[i];
    check(v->n >= 0 && (v->n == 0 || v->kids));
    for (int32_t k = 0; k < v->n; k++) {
      int32_t kid = v->kids[k];
      check(kid < pk->n && (kid >= 0 || (kid == -1 && v->kind == GLAB_PY_OBJECT)));
      if (kid >= 0) acc += pk->v[kid].kind;
    }
    switch (v->kind) {
    case GLAB_PY_STR: case GLAB_PY_GLOBAL:
      check(v->u.s != NULL);
      for (size_t j = 0; j < v->len; j++) acc += (unsigned char)v->u.s[j];
      check(v->u.s[v->len] == '\0');       /* NUL-ended */
      break;
    case GLAB_PY_BYTES: {
      check(v->u.t >= -1 && v->u.t < pk->nt);
      const unsigned char *b = glab_py_bytes(pk, v);
      check(v->len == 0 || b != NULL);
      for (size_t j = 0; j < v->len; j++) acc += b[j];
      break;
    }
    case GLAB_PY_TENSOR: case GLAB_PY_STORAGE:
      check(v->u.t >= 0 && v->u.t < pk->nt);
      touch_tensor(&pk->tensors[v->u.t]);
      break;
    default:
      break;
    }
  }
  sink = acc;
}
#endif

/* Headers that claim gigabytes are refused by the loaders' own size checks
** once they pass this budget, so each input stays fast and far under
** libFuzzer's -rss_limit_mb. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  glab_set_max_alloc_bytes((size_t)256 << 20);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
#if defined(FUZZ_PICKLE)
  for (int objects = 0; objects <= 1; objects++) {
    glab_reader r;
    if (glab_reader_mem(&r, data, size, "fuzz") != GLAB_OK) return 0;
    glab_pickle pk;
    glab_pickle_opts o = {0};
    o.objects = objects;
    glab_status s = glab_pickle_load(&pk, &r, &o);
    if (s != GLAB_OK && glab_errmsg()[0] == '\0') abort();   /* a failure must say why */
    if (s == GLAB_OK) {
      walk(&pk);
      glab_pickle_free(&pk);
    }
    glab_reader_close(&r);
  }
#elif defined(FUZZ_NPZ) || defined(FUZZ_CKPT)
#if defined(FUZZ_CKPT)
  uint8_t *sealed = NULL;
  if (size >= 44 && data[8] == 2) {         /* see seal() */
    if (!(sealed = malloc(size))) return 0;
    memcpy(sealed, data, size);
    seal(sealed, size);
    data = sealed;
  }
  if (!write_input(data, size)) return 0;
  free(sealed);
#else
  if (!write_input(data, size)) return 0;
#endif
  int n = 0;
  char **names = NULL;
  glab_tensor *ts = NULL;
#if defined(FUZZ_NPZ)
  glab_status s = glab_npz_read(path, &n, &names, &ts);
#else
  glab_status s = glab_ckpt_read(path, &n, &names, &ts);
#endif
  if (s != GLAB_OK && glab_errmsg()[0] == '\0') abort();
  if (s == GLAB_OK) {
    check(n >= 0 && (n == 0 || (names && ts)));
    for (int i = 0; i < n; i++) {
      check(names[i] != NULL);
      sink = (double)strlen(names[i]);
      touch_tensor(&ts[i]);
    }
    glab_ckpt_free(n, names, ts);
  }
#elif defined(FUZZ_PT)
  if (!write_input(data, size)) return 0;
  glab_pickle pk;
  glab_status s = glab_pt_load(&pk, path, 0);
  if (s != GLAB_OK && glab_errmsg()[0] == '\0') abort();
  if (s == GLAB_OK) {
    walk(&pk);
    glab_pickle_free(&pk);
  }
#else
  if (!write_input(data, size)) return 0;
  glab_tensor t = GLAB_TENSOR_EMPTY;
#if defined(FUZZ_IDX)
  glab_status s = glab_idx_read(&t, path, -1, GLAB_F32);
#elif defined(FUZZ_NPY)
  glab_status s = glab_npy_read(&t, path);
#else
  glab_status s = glab_image_read(&t, path, size % 2, 0);
#endif
  if (s != GLAB_OK && glab_errmsg()[0] == '\0') abort();   /* a failure must say why */
  glab_tensor_free(&t);
#endif
  return 0;
}
