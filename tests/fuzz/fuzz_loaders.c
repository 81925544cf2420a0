/*
** fuzz_loaders.c -- libFuzzer target for the file loaders: the input is
** written to a file and handed to the loader named by FUZZ_LOADER at
** compile time (idx, npy or image).  Every input must either load or fail
** with a message; a crash, a leak or a sanitizer report is a bug.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../core/data/io.h"

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!path[0]) snprintf(path, sizeof path, "/tmp/genlab-fuzz-%d", (int)getpid());
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  fwrite(data, 1, size, f);
  fclose(f);
  glab_tensor t = GLAB_TENSOR_EMPTY;
#if defined(FUZZ_IDX)
  glab_status s = glab_idx_read(&t, path, -1, GLAB_F32);
#elif defined(FUZZ_NPY)
  glab_status s = glab_npy_read(&t, path);
#else
  glab_status s = glab_image_read(&t, path, size % 2);
#endif
  if (s != GLAB_OK && glab_errmsg()[0] == '\0') abort();   /* a failure must say why */
  glab_tensor_free(&t);
  return 0;
}
