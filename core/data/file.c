/*
** file.c -- whole files in and out; writing so that a crash never leaves
** half of one.  Every writer of genlab (checkpoints, .npy, .npz, .pt, PNG,
** IDX) goes through glab_afile: a temporary of its own beside the target,
** fsync, rename over the target, fsync of the directory.
*/
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

/* 64 bits that differ between processes and calls: the kernel's, else the
** clock, the pid and a counter. */
static uint64_t fresh_bits(void) {
  static _Atomic uint64_t calls;
  uint64_t r = 0;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) r = 0;
  r ^= (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15u ^ (uint64_t)ts.tv_sec;
  r ^= ((uint64_t)getpid() << 32) ^ (++calls * 0xbf58476d1ce4e5b9u);
  return r;
}

/* Create a new file "<path>.<random>.tmp" beside path and open it for
** writing.  O_EXCL takes only a name that nothing holds, a symlink planted
** there included (O_NOFOLLOW says so twice), so two writers never share a
** temporary and none writes through a link.  Mode 0666 less the umask, as
** fopen gives. */
static FILE *create_unique(char *tmp, size_t cap, const char *path) {
  for (int tries = 0; tries < 64; tries++) {
    if (snprintf(tmp, cap, "%s.%012llx.tmp", path,
                 (unsigned long long)(fresh_bits() & 0xffffffffffffu)) >= (int)cap) {
      errno = ENAMETOOLONG;
      return NULL;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd >= 0) {
      FILE *f = fdopen(fd, "wb");
      if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
      }
      return f;
    }
    if (errno != EEXIST) return NULL;
  }
  return NULL;
}

/* A symlink's file is written through it (the temporary goes beside the
** file the link names, and the link stays); a directory is refused by name. */
glab_status glab_afile_open(glab_afile *a, const char *path) {
  memset(a, 0, sizeof *a);
  struct stat st;
  char target[PATH_MAX];
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return glab_fail(GLAB_EIO, "cannot write %s: it is a directory", path);
  const char *to = lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && realpath(path, target) ? target : path;
  if (snprintf(a->path, sizeof a->path, "%s", to) >= (int)sizeof a->path)
    return glab_fail(GLAB_EIO, "cannot write %s: path too long", path);
  path = a->path;
  if (!(a->f = create_unique(a->tmp, sizeof a->tmp, path)))
    return glab_fail(GLAB_EIO, "cannot write %s: %s", path, strerror(errno));
  return GLAB_OK;
}

glab_status glab_afile_write(glab_afile *a, const void *p, size_t n) {
  if (n && fwrite(p, 1, n, a->f) != n)
    return glab_fail(GLAB_EIO, "cannot write %s: %s", a->path, strerror(errno));
  return GLAB_OK;
}

void glab_afile_abort(glab_afile *a) {
  if (!a->f) return;
  fclose(a->f);
  unlink(a->tmp);
  a->f = NULL;
}

glab_status glab_afile_commit(glab_afile *a) {
  FILE *f = a->f;
  a->f = NULL;
  if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
    int e = errno;
    fclose(f);
    unlink(a->tmp);
    return glab_fail(GLAB_EIO, "cannot write %s: %s", a->path, strerror(e));
  }
  if (fclose(f) != 0 || rename(a->tmp, a->path) != 0) {
    int e = errno;
    unlink(a->tmp);
    return glab_fail(GLAB_EIO, "cannot write %s: %s", a->path, strerror(e));
  }
  /* the rename itself is durable once the directory is synced */
  int dfd = open(dirname(a->tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);   /* tmp is spent */
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return GLAB_OK;
}

glab_status glab_write_atomic(const char *path, const void *data, size_t n) {
  glab_afile a;
  glab_status s = glab_afile_open(&a, path);
  if (s == GLAB_OK) s = glab_afile_write(&a, data, n);
  if (s == GLAB_OK) return glab_afile_commit(&a);
  glab_afile_abort(&a);
  return s;
}

/* What st names, for a message about a file that is not a regular one. */
static const char *file_kind(const struct stat *st) {
  return S_ISDIR(st->st_mode) ? "a directory" : S_ISFIFO(st->st_mode) ? "a FIFO"
       : S_ISSOCK(st->st_mode) ? "a socket" : S_ISCHR(st->st_mode) ? "a character device"
       : S_ISBLK(st->st_mode) ? "a block device" : "something other than a regular file";
}

/* Opened without blocking, so that a FIFO with no writer (or a device) is
** refused at once rather than waited on forever; only regular files are read. */
glab_status glab_open_read(FILE **f, const char *path, const char *op) {
  struct stat st;
  *f = NULL;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return glab_fail(GLAB_EIO, "%s: cannot open %s: %s", op, path, strerror(errno));
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return glab_fail(GLAB_EIO, "%s: cannot read %s: %s", op, path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return glab_fail(GLAB_EIO, "%s: %s is %s, not a file", op, path, file_kind(&st));
  }
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 || !(*f = fdopen(fd, "rb"))) {
    int e = errno;
    close(fd);
    return glab_fail(GLAB_EIO, "%s: cannot open %s: %s", op, path, strerror(e));
  }
  return GLAB_OK;
}

glab_status glab_read_file(unsigned char **buf, long *n, const char *path, long max,
                           const char *op) {
  FILE *f;
  *buf = NULL;
  glab_status s = glab_open_read(&f, path, op);
  if (s != GLAB_OK) return s;
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
