/*
** patches.c -- patch extraction and folding (see patches.h).
*/
#include <stdlib.h>
#include <string.h>

#include "patches.h"

int64_t glab_patches_positions(int64_t n, int64_t size, int64_t stride) {
  if (size > n) return 0;
  int64_t k = (n - size) / stride + 1;
  return (n - size) % stride ? k + 1 : k;
}

/* Offset of position i along a side of length n. */
static int64_t position(int64_t i, int64_t n, int64_t size, int64_t stride) {
  int64_t p = i * stride;
  return p > n - size ? n - size : p;
}

static glab_status check_args(const glab_tensor *img, int64_t size, int64_t stride,
                              const char *op) {
  char sh[128];
  if (img->ndim != 2)
    return glab_fail(GLAB_ESHAPE, "%s: expected a gray image (H, W), got (%s)", op,
                     glab_shape_str(sh, sizeof sh, img->ndim, img->shape));
  if (size < 1 || stride < 1)
    return glab_fail(GLAB_EARG, "%s: patch size and stride must be at least 1", op);
  if (size > img->shape[0] || size > img->shape[1])
    return glab_fail(GLAB_ESHAPE, "%s: %lldx%lld patches do not fit in a (%s) image", op,
                     (long long)size, (long long)size,
                     glab_shape_str(sh, sizeof sh, img->ndim, img->shape));
  return GLAB_OK;
}

/* Copy the patch at (r, c) of img into row `row` of res (size*size wide). */
static void copy_patch(glab_tensor *res, int64_t row, const glab_tensor *img, int64_t r,
                       int64_t c, int64_t size) {
  int64_t base = row * size * size;
  if (img->dtype == res->dtype && img->stride[1] == 1) {     /* rows are contiguous */
    size_t es = glab_dtype_size(img->dtype);
    const char *src = (const char *)glab_tensor_data(img) + (r * img->stride[0] + c) * (int64_t)es;
    char *dst = (char *)glab_tensor_data(res) + base * (int64_t)es;
    for (int64_t i = 0; i < size; i++)
      memcpy(dst + i * size * (int64_t)es, src + i * img->stride[0] * (int64_t)es, (size_t)size * es);
    return;
  }
  for (int64_t i = 0; i < size; i++)
    for (int64_t j = 0; j < size; j++) {
      int64_t idx[2] = {r + i, c + j};
      double v = glab_tensor_get(img, idx);
      if (res->dtype == GLAB_F64) ((double *)glab_tensor_data(res))[base + i * size + j] = v;
      else ((float *)glab_tensor_data(res))[base + i * size + j] = (float)v;
    }
}

glab_status glab_patches_random(glab_tensor *out, const glab_tensor *const *imgs, int n,
                                int64_t size, int64_t count, glab_rng *g) {
  if (n < 1) return glab_fail(GLAB_EARG, "patches: no images");
  if (count < 0) return glab_fail(GLAB_EARG, "patches: negative count");
  double *cum = malloc((size_t)n * sizeof *cum), total = 0;
  if (!cum) return glab_fail(GLAB_ENOMEM, "patches: out of memory");
  glab_status s = GLAB_OK;
  for (int k = 0; k < n && s == GLAB_OK; k++) {
    s = check_args(imgs[k], size, 1, "patches");
    if (s == GLAB_OK)
      total += (double)(imgs[k]->shape[0] - size + 1) * (double)(imgs[k]->shape[1] - size + 1);
    cum[k] = total;
  }
  int64_t shape[2] = {count, size * size};
  glab_tensor res = GLAB_TENSOR_EMPTY;
  if (s == GLAB_OK) s = glab_tensor_new(&res, imgs[0]->dtype, 2, shape);
  for (int64_t p = 0; s == GLAB_OK && p < count; p++) {
    double u = glab_rng_uniform(g) * total;
    int k = 0;
    while (k < n - 1 && cum[k] <= u) k++;
    const glab_tensor *img = imgs[k];
    int64_t r = (int64_t)glab_rng_below(g, (uint64_t)(img->shape[0] - size + 1));
    int64_t c = (int64_t)glab_rng_below(g, (uint64_t)(img->shape[1] - size + 1));
    copy_patch(&res, p, img, r, c, size);
  }
  if (s == GLAB_OK) s = glab_tensor_deliver(out, &res, "patches");
  glab_tensor_free(&res);
  free(cum);
  return s;
}

glab_status glab_patches_extract(glab_tensor *out, const glab_tensor *img, int64_t size,
                                 int64_t stride) {
  glab_status s = check_args(img, size, stride, "extract_patches");
  if (s != GLAB_OK) return s;
  int64_t h = img->shape[0], w = img->shape[1];
  int64_t nr = glab_patches_positions(h, size, stride), nc = glab_patches_positions(w, size, stride);
  int64_t shape[2] = {nr * nc, size * size};
  glab_tensor res = GLAB_TENSOR_EMPTY;
  s = glab_tensor_new(&res, img->dtype, 2, shape);
  for (int64_t i = 0; s == GLAB_OK && i < nr; i++)
    for (int64_t j = 0; j < nc; j++)
      copy_patch(&res, i * nc + j, img, position(i, h, size, stride),
                 position(j, w, size, stride), size);
  if (s == GLAB_OK) s = glab_tensor_deliver(out, &res, "extract_patches");
  glab_tensor_free(&res);
  return s;
}

/* acc[r + a, c + b] += the patch row p (size*size elements of dtype dt). */
static void add_patch(double *acc, int64_t w, int64_t r, int64_t c, const void *p,
                      glab_dtype dt, int64_t size) {
  for (int64_t a = 0; a < size; a++) {
    double *dst = acc + (r + a) * w + c;
    if (dt == GLAB_F64) {
      const double *src = (const double *)p + a * size;
      for (int64_t b = 0; b < size; b++) dst[b] += src[b];
    } else {
      const float *src = (const float *)p + a * size;
      for (int64_t b = 0; b < size; b++) dst[b] += src[b];
    }
  }
}

glab_status glab_patches_fold(glab_tensor *out, const glab_tensor *patches, int64_t h,
                              int64_t w, int64_t size, int64_t stride, int sum) {
  char sh[128];
  if (size < 1 || stride < 1 || h < size || w < size)
    return glab_fail(GLAB_EARG, "fold_patches: %lldx%lld patches do not fit a %lldx%lld image",
                     (long long)size, (long long)size, (long long)h, (long long)w);
  int64_t nr = glab_patches_positions(h, size, stride), nc = glab_patches_positions(w, size, stride);
  if (patches->ndim != 2 || patches->shape[0] != nr * nc || patches->shape[1] != size * size)
    return glab_fail(GLAB_ESHAPE, "fold_patches: expected (%lldx%lld) patches for a %lldx%lld image, got (%s)",
                     (long long)(nr * nc), (long long)(size * size), (long long)h, (long long)w,
                     glab_shape_str(sh, sizeof sh, patches->ndim, patches->shape));
  if (patches->dtype != GLAB_F32 && patches->dtype != GLAB_F64)
    return glab_fail(GLAB_EDTYPE, "fold_patches: patches must be float32 or float64, got %s",
                     glab_dtype_name(patches->dtype));
  double *acc = calloc((size_t)(h * w), sizeof *acc);
  int *cnt = calloc((size_t)(h * w), sizeof *cnt);
  glab_tensor res = GLAB_TENSOR_EMPTY, src = GLAB_TENSOR_EMPTY;
  int64_t shape[2] = {h, w};
  glab_dtype dt = patches->dtype;
  size_t row_bytes = (size_t)(size * size) * glab_dtype_size(dt);
  glab_status s = (acc && cnt) ? glab_tensor_contiguous(&src, patches)
                               : glab_fail(GLAB_ENOMEM, "fold_patches: out of memory");
  if (s == GLAB_OK) s = glab_tensor_new(&res, dt, 2, shape);
  for (int64_t i = 0; s == GLAB_OK && i < nr; i++)
    for (int64_t j = 0; j < nc; j++) {
      int64_t r = position(i, h, size, stride), c = position(j, w, size, stride);
      add_patch(acc, w, r, c, (const char *)glab_tensor_data(&src) + (i * nc + j) * row_bytes,
                dt, size);
      for (int64_t a = 0; a < size; a++)
        for (int64_t b = 0; b < size; b++) cnt[(r + a) * w + c + b]++;
    }
  for (int64_t k = 0; s == GLAB_OK && k < h * w; k++) {
    double v = sum ? acc[k] : acc[k] / cnt[k];
    if (dt == GLAB_F64) ((double *)glab_tensor_data(&res))[k] = v;
    else ((float *)glab_tensor_data(&res))[k] = (float)v;
  }
  if (s == GLAB_OK) s = glab_tensor_deliver(out, &res, "fold_patches");
  glab_tensor_free(&res);
  glab_tensor_free(&src);
  free(acc);
  free(cnt);
  return s;
}
