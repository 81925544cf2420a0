/*
** glab.h -- the error contract shared by every module of the genlab core.
**
** Core functions never exit, abort or longjmp on bad input.  A function that
** can fail returns a glab_status; on failure it has also written a message
** such as "cholesky: matrix is not positive definite (leading minor 17 of 256)"
** that glab_errmsg() returns until the next failure on the same thread.
**
**     glab_status s = glab_linalg_cholesky(&L, &A, 0);
**     if (s != GLAB_OK) fprintf(stderr, "%s\n", glab_errmsg());
*/
#ifndef GLAB_H
#define GLAB_H

typedef enum glab_status {
  GLAB_OK = 0,
  GLAB_EARG,      /* an argument out of its domain (negative size, bad dim) */
  GLAB_ESHAPE,    /* shapes that do not fit together */
  GLAB_EDTYPE,    /* an element type that the operation does not take */
  GLAB_EINDEX,    /* an index out of range */
  GLAB_ENOMEM,    /* an allocation failed or would be too large */
  GLAB_ELINALG,   /* a matrix without the property asked for (SPD, regular) */
  GLAB_EIO,       /* a file could not be read or written */
  GLAB_EFORMAT    /* a file's contents are malformed */
} glab_status;

#if defined(__GNUC__)
#define GLAB_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define GLAB_PRINTF(f, a)
#endif

/* Record a message for status s and return s, so that failing is one line:
** `return glab_fail(GLAB_ESHAPE, "add: (%s) and (%s) ...", sa, sb);` */
glab_status glab_fail(glab_status s, const char *fmt, ...) GLAB_PRINTF(2, 3);

/* The message of the last failure on this thread ("" if none). */
const char *glab_errmsg(void);

/* Seconds on a monotonic clock, for timing and pacing. */
double glab_now(void);

/* A fixed name for a status: "shape mismatch", "out of memory", ... */
const char *glab_strerror(glab_status s);

#endif
