/*
** test_data.c -- file formats and patches: round trips through our writers
** and through hand-built bytes, and patch extraction checked against the
** image they came from.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../../core/data/io.h"
#include "../../core/data/patches.h"
#include "../../core/tensor/ops.h"
#include "tap.h"

static char dir[] = "/tmp/genlab-test-XXXXXX";

static const char *tmp(const char *name) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return path;
}

static void write_bytes(const char *path, const void *b, size_t n) {
  FILE *f = fopen(path, "wb");
  fwrite(b, 1, n, f);
  fclose(f);
}

static double max_diff(const glab_tensor *a, const glab_tensor *b) {
  double m = 0;
  for (int64_t i = 0; i < glab_tensor_numel(a); i++)
    m = fmax(m, fabs(glab_tensor_flat_get(a, i) - glab_tensor_flat_get(b, i)));
  return m;
}

static void test_idx(void) {
  glab_tensor a = GLAB_TENSOR_EMPTY, b = GLAB_TENSOR_EMPTY, v = GLAB_TENSOR_EMPTY;
  int64_t sh[3] = {5, 3, 4};
  glab_tensor_arange(&a, GLAB_F32, 0, 60, 1);
  glab_tensor_view(&v, &a, 3, sh);
  OK(glab_idx_write_u8(tmp("x.idx"), &v) == GLAB_OK, "write an IDX file of bytes");
  OK(glab_idx_read(&b, tmp("x.idx"), -1, GLAB_F32) == GLAB_OK && b.ndim == 3 && b.shape[2] == 4,
     "read it back with its shape");
  NEAR(max_diff(&b, &v), 0, 0, "same values");
  glab_tensor u = GLAB_TENSOR_EMPTY;         /* intensities: every byte b as (float)b / 255 */
  OK(glab_idx_read_unit(&u, tmp("x.idx"), -1) == GLAB_OK && u.dtype == GLAB_F32, "read as intensities");
  int exact = 1;
  for (int64_t i = 0; i < 60; i++) exact &= ((float *)glab_tensor_data(&u))[i] == (float)i / 255.0f;
  OK(exact, "each is the byte divided by 255, as float32 division gives it");
  glab_tensor_free(&u);
  glab_tensor l = GLAB_TENSOR_EMPTY;
  glab_idx_read(&l, tmp("x.idx"), 2, GLAB_F64);
  OK(l.shape[0] == 2 && l.dtype == GLAB_F64, "limit keeps the first 2 items");
  /* the same bytes gzip-compressed, and a big-endian int32 file by hand */
  FILE *f = fopen(tmp("x.idx"), "rb");
  unsigned char raw[256];
  size_t n = fread(raw, 1, sizeof raw, f);
  fclose(f);
  gzFile gz = gzopen(tmp("x.idx.gz"), "wb");
  gzwrite(gz, raw, (unsigned)n);
  gzclose(gz);
  glab_tensor g = GLAB_TENSOR_EMPTY;
  OK(glab_idx_read(&g, tmp("x.idx.gz"), -1, GLAB_F32) == GLAB_OK, "read the gzip version");
  NEAR(max_diff(&g, &v), 0, 0, "gzip gives the same values");
  unsigned char ints[] = {0, 0, 0x0C, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xfe, 0, 1, 0, 0};
  write_bytes(tmp("i.idx"), ints, sizeof ints);
  glab_tensor t = GLAB_TENSOR_EMPTY;
  glab_idx_read(&t, tmp("i.idx"), -1, GLAB_F64);
  NEAR(glab_tensor_flat_get(&t, 0), -2, 0, "big-endian int32 -2");
  NEAR(glab_tensor_flat_get(&t, 1), 65536, 0, "big-endian int32 65536");
  OK(glab_idx_read_unit(&u, tmp("i.idx"), -1) == GLAB_EFORMAT && strstr(glab_errmsg(), "i.idx"),
     "int32 values are not intensities: %s", glab_errmsg());
  glab_tensor e = GLAB_TENSOR_EMPTY;
  OK(glab_idx_read(&e, tmp("missing.idx"), -1, GLAB_F32) == GLAB_EIO, "a missing file is an i/o error");
  OK(strstr(glab_errmsg(), "missing.idx") != NULL, "naming the file: %s", glab_errmsg());
  glab_tensor *all[] = {&a, &b, &v, &l, &g, &t};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) glab_tensor_free(all[i]);
}

static void test_npy(void) {
  glab_dtype dts[2] = {GLAB_F32, GLAB_F64};
  for (int d = 0; d < 2; d++) {
    glab_tensor a = GLAB_TENSOR_EMPTY, r = GLAB_TENSOR_EMPTY, v = GLAB_TENSOR_EMPTY;
    glab_tensor t = GLAB_TENSOR_EMPTY;
    int64_t sh[2] = {3, 5};
    glab_tensor_linspace(&a, dts[d], -1, 2, 15);
    glab_tensor_view(&v, &a, 2, sh);
    glab_tensor_transpose(&t, &v, 0, 1);                  /* non-contiguous input */
    OK(glab_npy_write(tmp("a.npy"), &t) == GLAB_OK, "write %s npy", glab_dtype_name(dts[d]));
    OK(glab_npy_read(&r, tmp("a.npy")) == GLAB_OK && r.dtype == dts[d] && r.shape[0] == 5,
       "read back (5x3) %s", glab_dtype_name(dts[d]));
    NEAR(max_diff(&r, &t), 0, 0, "bit-identical values");
    FILE *f = fopen(tmp("a.npy"), "rb");
    unsigned char head[10];
    OK(fread(head, 1, 10, f) == 10 && (10 + (head[8] | head[9] << 8)) % 64 == 0,
       "header padded to 64 bytes, as numpy writes it");
    fclose(f);
    glab_tensor_free(&a); glab_tensor_free(&r); glab_tensor_free(&v); glab_tensor_free(&t);
  }
  /* hand-built: version 2.0 header, int64 little-endian */
  const char *dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }";
  size_t dl = strlen(dict), hl = 128 - 12;
  unsigned char buf[160] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0};
  buf[8] = (unsigned char)hl;
  memcpy(buf + 12, dict, dl);
  memset(buf + 12 + dl, ' ', hl - dl - 1);
  buf[12 + hl - 1] = '\n';
  int64_t vals[2] = {-7, (int64_t)1 << 40};
  memcpy(buf + 128, vals, sizeof vals);
  write_bytes(tmp("v2.npy"), buf, 128 + sizeof vals);
  glab_tensor r = GLAB_TENSOR_EMPTY;
  OK(glab_npy_read(&r, tmp("v2.npy")) == GLAB_OK && r.dtype == GLAB_F64, "version 2 int64 file");
  NEAR(glab_tensor_flat_get(&r, 1), 1099511627776.0, 0, "int64 2^40 exact in float64");
  NEAR(glab_tensor_flat_get(&r, 0), -7, 0, "negative int64");
  glab_tensor_free(&r);
}

static void test_images(void) {
  glab_tensor rgb = GLAB_TENSOR_EMPTY, back = GLAB_TENSOR_EMPTY, gray = GLAB_TENSOR_EMPTY;
  int64_t sh[3] = {4, 5, 3};
  glab_tensor_new(&rgb, GLAB_F32, 3, sh);
  for (int64_t i = 0; i < 60; i++) ((float *)glab_tensor_data(&rgb))[i] = (float)((i * 37) % 256) / 255.0f;
  OK(glab_image_write_png(tmp("c.png"), &rgb) == GLAB_OK, "write an RGB PNG");
  OK(glab_image_read(&back, tmp("c.png"), 0, 0) == GLAB_OK && back.ndim == 3 && back.shape[2] == 3,
     "read it as (4x5x3)");
  NEAR(max_diff(&back, &rgb), 0, 1e-6, "8-bit values survive exactly");
  glab_image_read(&gray, tmp("c.png"), 1, 0);
  double r = glab_tensor_flat_get(&rgb, 3), g = glab_tensor_flat_get(&rgb, 4), b = glab_tensor_flat_get(&rgb, 5);
  NEAR(glab_tensor_flat_get(&gray, 1), 0.299 * r + 0.587 * g + 0.114 * b, 1e-6, "BT.601 luma on load");
  glab_tensor y = GLAB_TENSOR_EMPTY;
  glab_image_to_gray(&y, &rgb);
  NEAR(max_diff(&y, &gray), 0, 1e-6, "to_gray agrees with gray loading");
  glab_tensor bad = GLAB_TENSOR_EMPTY;
  int64_t sh2[3] = {2, 2, 2};
  glab_tensor_new(&bad, GLAB_F32, 3, sh2);
  OK(glab_image_write_png(tmp("bad.png"), &bad) == GLAB_ESHAPE, "two channels is a shape error");
  OK(access(tmp("bad.png"), F_OK) != 0 && access(tmp("bad.png.tmp"), F_OK) != 0, "and writes nothing");
  glab_tensor_free(&rgb); glab_tensor_free(&back); glab_tensor_free(&gray);
  glab_tensor_free(&y); glab_tensor_free(&bad);
}

static void test_patches(void) {
  glab_tensor img = GLAB_TENSOR_EMPTY, v = GLAB_TENSOR_EMPTY, p = GLAB_TENSOR_EMPTY;
  glab_tensor f = GLAB_TENSOR_EMPTY;
  int64_t sh[2] = {23, 31};
  glab_tensor_arange(&img, GLAB_F64, 0, 23 * 31, 1);        /* every pixel unique */
  glab_tensor_view(&v, &img, 2, sh);
  OK(glab_patches_extract(&p, &v, 8, 1) == GLAB_OK && p.shape[0] == 16 * 24 && p.shape[1] == 64,
     "all 8x8 patches of 23x31: 16*24 rows of 64");
  NEAR(glab_tensor_flat_get(&p, 25 * 64 + 9), 1 * 31 + 1 + 1 * 31 + 1, 0,
       "patch 26 (row 2, col 2) element (2,2) is pixel (3,3)");
  glab_patches_fold(&f, &p, 23, 31, 8, 1, 0);
  NEAR(max_diff(&f, &v), 0, 0, "fold(extract(X)) == X");
  glab_tensor ones = GLAB_TENSOR_EMPTY, cover = GLAB_TENSOR_EMPTY;
  glab_tensor_full(&ones, GLAB_F64, 2, p.shape, 1.0);
  glab_patches_fold(&cover, &ones, 23, 31, 8, 1, 1);
  NEAR(glab_tensor_flat_get(&cover, 0), 1, 0, "summed fold: the corner pixel is in one patch");
  NEAR(glab_tensor_flat_get(&cover, 10 * 31 + 10), 64, 0, "and pixel (11, 11) in 8 x 8 of them");
  NEAR(glab_tensor_flat_get(&cover, 10 * 31 + 2), 24, 0, "and pixel (11, 3) in 8 x 3");
  glab_tensor_free(&ones); glab_tensor_free(&cover);
  OK(glab_patches_positions(23, 8, 5) == 4, "stride 5 over 23: 0, 5, 10, and the last 15");
  glab_tensor p5 = GLAB_TENSOR_EMPTY, f5 = GLAB_TENSOR_EMPTY;
  glab_patches_extract(&p5, &v, 8, 5);
  glab_patches_fold(&f5, &p5, 23, 31, 8, 5, 0);
  NEAR(max_diff(&f5, &v), 0, 0, "fold(extract(X)) == X with stride 5");
  glab_rng g;
  glab_rng_seed(&g, 3);
  glab_tensor rp = GLAB_TENSOR_EMPTY;
  const glab_tensor *imgs[1] = {&v};
  glab_patches_random(&rp, imgs, 1, 8, 200, &g);
  int consistent = 1;
  for (int64_t k = 0; k < 200; k++) {
    double top = glab_tensor_flat_get(&rp, k * 64);
    int64_t r0 = (int64_t)top / 31, c0 = (int64_t)top % 31;
    consistent &= r0 <= 15 && c0 <= 23;
    for (int64_t e = 0; e < 64; e++)
      consistent &= glab_tensor_flat_get(&rp, k * 64 + e) == (double)((r0 + e / 8) * 31 + c0 + e % 8);
  }
  OK(consistent, "each random patch is a true 8x8 window of the image");
  glab_tensor wrong = GLAB_TENSOR_EMPTY;
  OK(glab_patches_fold(&wrong, &p, 23, 30, 8, 1, 0) == GLAB_ESHAPE, "fold with the wrong size fails");
  glab_tensor *all[] = {&img, &v, &p, &f, &p5, &f5, &rp};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) glab_tensor_free(all[i]);
}

int main(void) {
  if (!mkdtemp(dir)) return 1;
  test_idx();
  test_npy();
  test_images();
  test_patches();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) return 1;
  return tap_done();
}
