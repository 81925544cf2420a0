/*
** file.c -- whole files in and out; writing so that a crash never leaves
** half of one.
*/
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

glab_status glab_write_atomic(const char *path, const void *data, size_t n) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return glab_fail(GLAB_EIO, "cannot write %s: path too long", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return glab_fail(GLAB_EIO, "cannot write %s: %s", path, strerror(errno));
  const char *p = data;
  size_t left = n;
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = errno;
      close(fd);
      unlink(tmp);
      return glab_fail(GLAB_EIO, "cannot write %s: %s", path, strerror(e));
    }
    p += w;
    left -= (size_t)w;
  }
  if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return glab_fail(GLAB_EIO, "cannot write %s: %s", path, strerror(e));
  }
  /* the rename itself is durable once the directory is synced */
  snprintf(tmp, sizeof tmp, "%s", path);
  int dfd = open(dirname(tmp), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return GLAB_OK;
}

glab_status glab_read_file(unsigned char **buf, long *n, const char *path, long max,
                           const char *op) {
  FILE *f = fopen(path, "rb");
  *buf = NULL;
  if (!f) return glab_fail(GLAB_EIO, "%s: cannot open %s: %s", op, path, strerror(errno));
  glab_status s = GLAB_OK;
  if (fseek(f, 0, SEEK_END) != 0 || (*n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
    s = glab_fail(GLAB_EIO, "%s: cannot read %s", op, path);
  else if (*n > max)
    s = glab_fail(GLAB_EFORMAT, "%s: %s is larger than %ld bytes", op, path, max);
  else if (!(*buf = malloc((size_t)*n + 1)))
    s = glab_fail(GLAB_ENOMEM, "%s: out of memory reading %s", op, path);
  else if (fread(*buf, 1, (size_t)*n, f) != (size_t)*n) {
    free(*buf);
    *buf = NULL;
    s = glab_fail(GLAB_EIO, "%s: cannot read %s", op, path);
  }
  fclose(f);
  return s;
}
