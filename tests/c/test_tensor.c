/*
** test_tensor.c -- storage, views and copies: aliasing, strides, reshape
** rules, broadcasting shapes, and the error contract.
*/
#include <string.h>

#include "../../core/tensor/ops.h"
#include "../../core/tensor/tensor.h"
#include "tap.h"

static glab_tensor arange2(int64_t r, int64_t c) {
  glab_tensor a = GLAB_TENSOR_EMPTY, v = GLAB_TENSOR_EMPTY;
  int64_t sh[2] = {r, c};
  glab_tensor_arange(&a, GLAB_F64, 0, (double)(r * c), 1);
  glab_tensor_view(&v, &a, 2, sh);
  glab_tensor_free(&a);
  return v;
}

static void test_views_share_storage(void) {
  glab_tensor a = arange2(3, 4), row = GLAB_TENSOR_EMPTY, t = GLAB_TENSOR_EMPTY;
  OK(glab_tensor_select(&row, &a, 0, 1) == GLAB_OK, "select row 2");
  OK(row.ndim == 1 && row.shape[0] == 4, "row has shape (4)");
  int64_t i = 2;
  glab_tensor_set(&row, &i, 100);
  int64_t ij[2] = {1, 2};
  NEAR(glab_tensor_get(&a, ij), 100, 0, "writing a view writes the base");
  OK(a.storage->refs == 2, "the view holds a second reference");
  glab_tensor_transpose(&t, &a, 0, 1);
  int64_t ji[2] = {2, 1};
  NEAR(glab_tensor_get(&t, ji), 100, 0, "transpose aliases too");
  OK(!glab_tensor_is_contiguous(&t), "a transposed view is not contiguous");
  glab_tensor_free(&a);
  NEAR(glab_tensor_get(&t, ji), 100, 0, "storage outlives the base while views hold it");
  glab_tensor_free(&t);
  glab_tensor_free(&row);
}

static void test_narrow_and_view_rules(void) {
  glab_tensor a = arange2(4, 6), n = GLAB_TENSOR_EMPTY, v = GLAB_TENSOR_EMPTY;
  glab_tensor t = GLAB_TENSOR_EMPTY, r = GLAB_TENSOR_EMPTY;
  glab_tensor_narrow(&n, &a, 1, 2, 3);                 /* columns 3..5 */
  int64_t ij[2] = {1, 0};
  NEAR(glab_tensor_get(&n, ij), 8, 0, "narrow offsets into the row");
  int64_t flat = -1;
  OK(glab_tensor_view(&v, &n, 1, &flat) != GLAB_OK, "a gapped narrow cannot be viewed flat");
  OK(strstr(glab_errmsg(), "use reshape") != NULL, "the message suggests reshape");
  OK(glab_tensor_reshape(&r, &n, 1, &flat) == GLAB_OK && r.shape[0] == 12, "reshape copies it");
  NEAR(glab_tensor_flat_get(&r, 3), 8, 0, "reshape keeps row-major order");
  glab_tensor_free(&r);
  glab_tensor_transpose(&t, &a, 0, 1);
  int64_t sh3[3] = {2, 3, 4};
  OK(glab_tensor_view(&v, &t, 3, sh3) == GLAB_OK, "splitting a transposed dim is a view");
  int64_t p[3] = {1, 0, 1};
  NEAR(glab_tensor_get(&v, p), 1 * 6 + 3, 0, "the split view reads the right element");
  OK(v.storage == a.storage, "and shares storage");
  int64_t bad[2] = {5, 5};
  OK(glab_tensor_reshape(&r, &a, 2, bad) == GLAB_ESHAPE, "reshape to a wrong size fails");
  OK(strstr(glab_errmsg(), "(4x6) (24 elements) to (5x5)") != NULL, "naming both shapes: %s",
     glab_errmsg());
  glab_tensor_free(&v); glab_tensor_free(&t); glab_tensor_free(&n); glab_tensor_free(&a);
}

static void test_expand_and_broadcast(void) {
  glab_tensor a = arange2(1, 3), e = GLAB_TENSOR_EMPTY, c = GLAB_TENSOR_EMPTY;
  int64_t sh[3] = {2, 4, 3};
  OK(glab_tensor_expand(&e, &a, 3, sh) == GLAB_OK, "expand (1x3) to (2x4x3)");
  OK(e.stride[0] == 0 && e.stride[1] == 0 && e.stride[2] == 1, "expanded dims have stride 0");
  glab_tensor_clone(&c, &e);
  int64_t p[3] = {1, 3, 2};
  NEAR(glab_tensor_get(&c, p), 2, 0, "clone materialises the broadcast");
  int64_t out[GLAB_MAXDIM];
  int nd;
  int64_t a1[2] = {5, 1}, b1[3] = {2, 1, 7};
  OK(glab_broadcast_shape(out, &nd, 2, a1, 3, b1, "add") == GLAB_OK && nd == 3 &&
     out[0] == 2 && out[1] == 5 && out[2] == 7, "(5x1) with (2x1x7) gives (2x5x7)");
  int64_t a2[2] = {3, 4}, b2[1] = {5};
  OK(glab_broadcast_shape(out, &nd, 2, a2, 1, b2, "add") == GLAB_ESHAPE, "(3x4) with (5) fails");
  OK(strstr(glab_errmsg(), "add: shapes (3x4) and (5) do not broadcast") != NULL, "%s",
     glab_errmsg());
  glab_tensor_free(&a); glab_tensor_free(&e); glab_tensor_free(&c);
}

static void test_errors(void) {
  glab_tensor t = GLAB_TENSOR_EMPTY;
  /* (50000 x 60000 x k) float32 with k chosen to exceed this machine's memory */
  int64_t k = (int64_t)(glab_max_alloc_bytes() / (50000.0 * 60000.0 * 4.0)) + 1;
  int64_t huge[3] = {50000, 60000, k};
  OK(glab_tensor_new(&t, GLAB_F32, 3, huge) == GLAB_ENOMEM, "more than the machine's memory fails cleanly");
  char want[128];
  snprintf(want, sizeof want, "GiB for a (50000x60000x%lld) float32 tensor (this machine has", (long long)k);
  OK(strstr(glab_errmsg(), "cannot allocate ") == glab_errmsg() && strstr(glab_errmsg(), want) != NULL,
     "naming size, shape, dtype and the memory: %s", glab_errmsg());
  int64_t wrap[3] = {1 << 30, 1 << 30, 1 << 30};
  OK(glab_tensor_new(&t, GLAB_F64, 3, wrap) == GLAB_ENOMEM, "a size that wraps size_t fails too");
  OK(t.storage == NULL, "out stays empty on failure");
  int64_t neg[1] = {-3};
  OK(glab_tensor_new(&t, GLAB_F32, 1, neg) == GLAB_EARG, "a negative size is rejected");
  int64_t ones[GLAB_MAXDIM + 1];
  for (int i = 0; i <= GLAB_MAXDIM; i++) ones[i] = 1;
  OK(glab_tensor_new(&t, GLAB_F32, GLAB_MAXDIM + 1, ones) == GLAB_EARG, "more than 32 dims is rejected");
  OK(glab_tensor_new(&t, GLAB_F32, 25, ones) == GLAB_OK && t.ndim == 25, "25 dims (seed 002's CPT) are fine");
  glab_tensor_free(&t);
  glab_tensor a = arange2(2, 2), s = GLAB_TENSOR_EMPTY;
  OK(glab_tensor_select(&s, &a, 0, 2) == GLAB_EINDEX, "index past the end");
  OK(strstr(glab_errmsg(), "index 3 out of range for dimension 1 of size 2") != NULL, "%s",
     glab_errmsg());
  OK(glab_tensor_narrow(&s, &a, 5, 0, 1) == GLAB_EINDEX, "narrow on a missing dim");
  glab_tensor_free(&a);
}

static void test_copy_converts(void) {
  glab_tensor a = arange2(2, 3), f = GLAB_TENSOR_EMPTY, t = GLAB_TENSOR_EMPTY;
  glab_tensor_astype(&f, &a, GLAB_F32);
  OK(f.dtype == GLAB_F32 && glab_tensor_is_contiguous(&f), "astype gives contiguous float32");
  NEAR(glab_tensor_flat_get(&f, 5), 5, 0, "values survive conversion");
  glab_tensor_transpose(&t, &a, 0, 1);
  glab_tensor c = GLAB_TENSOR_EMPTY;
  glab_tensor_contiguous(&c, &t);
  NEAR(glab_tensor_flat_get(&c, 1), 3, 0, "contiguous() of a transpose reorders");
  glab_tensor_fill(&t, 7);
  NEAR(glab_tensor_flat_get(&a, 4), 7, 0, "fill through a strided view");
  glab_tensor_free(&a); glab_tensor_free(&f); glab_tensor_free(&t); glab_tensor_free(&c);
}

static void test_linspace_arange(void) {
  glab_tensor a = GLAB_TENSOR_EMPTY, l = GLAB_TENSOR_EMPTY;
  glab_tensor_arange(&a, GLAB_F64, 1, 2, 0.25);
  OK(a.shape[0] == 4, "arange(1, 2, 0.25) has 4 values (stop excluded)");
  glab_tensor_linspace(&l, GLAB_F64, -1, 1, 5);
  NEAR(glab_tensor_flat_get(&l, 4), 1, 0, "linspace ends exactly at b");
  NEAR(glab_tensor_flat_get(&l, 1), -0.5, 1e-15, "linspace steps evenly");
  glab_tensor_free(&a); glab_tensor_free(&l);
}

int main(void) {
  test_views_share_storage();
  test_narrow_and_view_rules();
  test_expand_and_broadcast();
  test_errors();
  test_copy_converts();
  test_linspace_arange();
  return tap_done();
}
