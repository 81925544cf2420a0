/*
** error.c -- thread-local failure messages, and the clock (see glab.h).
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "glab.h"

static _Thread_local char message[512];

/* Formatted apart first, so that a message may quote the one before it
** (glab_fail(s, "%s: %s", file, glab_errmsg()) names the file of a failure). */
glab_status glab_fail(glab_status s, const char *fmt, ...) {
  char next[sizeof message];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(next, sizeof next, fmt, ap);
  va_end(ap);
  memcpy(message, next, sizeof message);
  return s;
}

const char *glab_errmsg(void) { return message; }

const char *glab_strerror(glab_status s) {
  switch (s) {
    case GLAB_OK: return "no error";
    case GLAB_EARG: return "invalid argument";
    case GLAB_ESHAPE: return "shape mismatch";
    case GLAB_EDTYPE: return "unsupported dtype";
    case GLAB_EINDEX: return "index out of range";
    case GLAB_ENOMEM: return "out of memory";
    case GLAB_ELINALG: return "linear algebra failure";
    case GLAB_EIO: return "i/o error";
    case GLAB_EFORMAT: return "malformed file";
  }
  return "unknown status";
}

double glab_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
