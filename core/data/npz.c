/*
** npz.c -- numpy's .npz: a zip archive of .npy members, one per array,
** named "<key>.npy" (np.savez stores them, np.savez_compressed deflates).
*/
#include <stdlib.h>
#include <string.h>

#include "zip.h"

glab_status glab_npz_read(const char *path, int *n, char ***names, glab_tensor **ts) {
  glab_zip z;
  *n = 0;
  *names = NULL;
  *ts = NULL;
  glab_status s = glab_zip_open(&z, path, "read_npz");
  if (s != GLAB_OK) return s;
  if (!(*names = calloc((size_t)z.n + 1, sizeof **names)) || !(*ts = calloc((size_t)z.n + 1, sizeof **ts)))
    s = glab_fail(GLAB_ENOMEM, "read_npz: %s: out of memory", path);
  for (int i = 0; i < z.n && s == GLAB_OK; i++) {
    const char *name = z.e[i].name;
    size_t len = strlen(name);
    if (len > 4 && strcmp(name + len - 4, ".npy") == 0) len -= 4;
    if (!((*names)[i] = strndup(name, len))) {
      s = glab_fail(GLAB_ENOMEM, "read_npz: %s: out of memory", path);
      break;
    }
    (*n)++;
    glab_reader r;
    s = glab_zip_member(&r, &z, i);
    if (s == GLAB_OK) s = glab_npy_read_from(&(*ts)[i], &r);
    if (s == GLAB_OK && glab_reader_left(&r) > 0)
      s = glab_fail(GLAB_EFORMAT, "%s: %llu bytes after the array's data", r.what,
                    (unsigned long long)glab_reader_left(&r));
    glab_reader_close(&r);
  }
  glab_zip_close(&z);
  if (s != GLAB_OK) {
    glab_ckpt_free(*n, *names, *ts);
    *n = 0;
    *names = NULL;
    *ts = NULL;
  }
  return s;
}

glab_status glab_npz_write(const char *path, int n, const char *const *names,
                           const glab_tensor *const *ts, int deflate) {
  glab_zipw w;
  glab_status s = glab_zipw_open(&w, path);
  for (int i = 0; i < n && s == GLAB_OK; i++) {
    unsigned char head[GLAB_NPY_HEADER_MAX];
    char member[1024];
    if (snprintf(member, sizeof member, "%s.npy", names[i]) >= (int)sizeof member) {
      s = glab_fail(GLAB_EARG, "write_npz: %s: name %.40s... is too long", path, names[i]);
      break;
    }
    glab_tensor c = GLAB_TENSOR_EMPTY;
    s = glab_tensor_contiguous(&c, ts[i]);
    if (s != GLAB_OK) break;
    glab_piece pc[2] = {{head, glab_npy_header(head, &c)},
                        {glab_tensor_data(&c), (size_t)glab_tensor_numel(&c) * glab_dtype_size(c.dtype)}};
    s = glab_zipw_add(&w, member, pc, 2, deflate, 64);
    glab_tensor_free(&c);
  }
  if (s == GLAB_OK) return glab_zipw_close(&w);
  glab_zipw_abort(&w);
  return s;
}
