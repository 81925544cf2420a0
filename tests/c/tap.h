/*
** tap.h -- a minimal TAP producer for the C unit tests.  Each check prints
** "ok N - what" or "not ok N - what" with the failing file:line and values;
** tap_done() prints the plan and returns the exit status.
*/
#ifndef TAP_H
#define TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

static int tap_count, tap_failed;

static void tap_result(int ok, const char *file, int line, const char *fmt, ...) {
  va_list ap;
  printf("%s %d - ", ok ? "ok" : "not ok", ++tap_count);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  if (!ok) {
    tap_failed++;
    printf("# failed at %s:%d\n", file, line);
  }
  fflush(stdout);
}

#define OK(cond, ...) tap_result(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* |got - want| <= tol, printing both on failure. */
#define NEAR(got, want, tol, ...)                                               \
  do {                                                                        \
    double g_ = (got), w_ = (want);                                           \
    int ok_ = fabs(g_ - w_) <= (tol) || (g_ == w_);                            \
    tap_result(ok_, __FILE__, __LINE__, __VA_ARGS__);                          \
    if (!ok_) printf("# got %.17g, want %.17g (tol %g)\n", g_, w_, (double)(tol)); \
  } while (0)

static int tap_done(void) {
  printf("1..%d\n", tap_count);
  return tap_failed ? 1 : 0;
}

#endif
