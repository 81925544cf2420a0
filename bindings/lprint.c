/*
** lprint.c -- tostring of tensors, laid out like numpy:
**
**     float32 (2x3)
**     [[ 0.4967 -0.1383  0.6477]
**      [ 1.5230 -0.2342 -0.2341]]
**
** One number format for the whole tensor (integers, fixed with 4 decimals,
** or scientific when magnitudes call for it), columns right-aligned, and
** tensors over 1000 elements summarised with "..." keeping 3 per edge.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lgenlab.h"

#define SUMMARY_THRESHOLD 1000
#define EDGE 3
#define LINE_WIDTH 100

typedef struct {
  const glab_tensor *t;
  int summarise;
  char fmt[16];
  int width;
  luaL_Buffer *b;
  int col;
} printer;

/* Whether position k of a dim of size n is printed (-1: print "..." here). */
static int shown(const printer *p, int64_t n, int64_t k) {
  if (!p->summarise || n <= 2 * EDGE) return 1;
  if (k < EDGE || k >= n - EDGE) return 1;
  return k == EDGE ? -1 : 0;
}

typedef struct { double maxabs, minabs; int integral, nonfinite, negative; } stats;

static void collect(const printer *p, int d, int64_t *pos, stats *st) {
  const glab_tensor *t = p->t;
  if (d == t->ndim) {
    double v = glab_tensor_get(t, pos);
    if (!isfinite(v)) { st->nonfinite = 1; return; }
    double a = fabs(v);
    if (v < 0) st->negative = 1;
    if (a > st->maxabs) st->maxabs = a;
    if (a > 0 && a < st->minabs) st->minabs = a;
    if (v != floor(v) || a >= 1e15) st->integral = 0;
    return;
  }
  for (int64_t k = 0; k < t->shape[d]; k++) {
    if (shown(p, t->shape[d], k) != 1) continue;
    pos[d] = k;
    collect(p, d + 1, pos, st);
  }
}

static int format_value(char *buf, size_t n, const printer *p, double v) {
  if (isnan(v)) return snprintf(buf, n, "nan");
  if (isinf(v)) return snprintf(buf, n, v > 0 ? "inf" : "-inf");
  return snprintf(buf, n, p->fmt, v);
}

static void choose_format(printer *p) {
  stats st = {0, INFINITY, 1, 0, 0};
  int64_t pos[GLAB_MAXDIM] = {0};
  collect(p, 0, pos, &st);
  if (st.integral) strcpy(p->fmt, "%.0f");
  else if (st.maxabs >= 1e5 || (st.minabs < 1e-4 && st.minabs > 0)) strcpy(p->fmt, "%.4e");
  else strcpy(p->fmt, "%.4f");
  /* width: the longest of the printed values */
  p->width = st.nonfinite ? 4 : 1;
  char buf[64];
  double probes[2] = {st.maxabs, st.negative ? -st.maxabs : st.maxabs};
  for (int i = 0; i < 2; i++) {
    int w = format_value(buf, sizeof buf, p, probes[i]);
    if (w > p->width) p->width = w;
  }
  if (strcmp(p->fmt, "%.4e") == 0 && st.minabs < INFINITY) {
    int w = format_value(buf, sizeof buf, p, st.negative ? -st.minabs : st.minabs);
    if (w > p->width) p->width = w;
  }
}

static void put(printer *p, const char *s) {
  luaL_addstring(p->b, s);
  const char *nl = strrchr(s, '\n');
  p->col = nl ? (int)strlen(nl + 1) : p->col + (int)strlen(s);
}

static void emit(printer *p, int d, int64_t *pos) {
  const glab_tensor *t = p->t;
  char buf[64];
  put(p, "[");
  for (int64_t k = 0; k < t->shape[d]; k++) {
    int sh = shown(p, t->shape[d], k);
    if (sh == 0) continue;
    int last = k == t->shape[d] - 1;
    pos[d] = k;
    if (d == t->ndim - 1) {
      if (p->col + p->width + 1 > LINE_WIDTH) {       /* wrap a long row */
        put(p, "\n");
        for (int i = 0; i <= d; i++) put(p, " ");
      }
      if (sh < 0) snprintf(buf, sizeof buf, "%*s", p->width, "...");
      else {
        char v[48];
        format_value(v, sizeof v, p, glab_tensor_get(t, pos));
        snprintf(buf, sizeof buf, "%*s", p->width, v);
      }
      put(p, buf);
      if (!last) put(p, " ");
    } else {
      if (sh < 0) put(p, "...");
      else emit(p, d + 1, pos);
      if (!last) {
        for (int i = 0; i < t->ndim - d - 1; i++) put(p, "\n");
        for (int i = 0; i <= d; i++) put(p, " ");
      }
    }
  }
  put(p, "]");
}

void lg_pushtensorstring(lua_State *L, const glab_tensor *t) {
  luaL_Buffer b;
  char head[160], sh[128];
  printer p = {t, glab_tensor_numel(t) > SUMMARY_THRESHOLD, "", 0, &b, 0};
  luaL_buffinit(L, &b);
  choose_format(&p);
  int64_t pos[GLAB_MAXDIM] = {0};
  if (t->ndim == 0) {
    char v[48];
    format_value(v, sizeof v, &p, glab_tensor_get(t, pos));
    snprintf(head, sizeof head, "%s (%s scalar)", v, glab_dtype_name(t->dtype));
    luaL_addstring(&b, head);
  } else {
    snprintf(head, sizeof head, "%s (%s)\n", glab_dtype_name(t->dtype),
             glab_shape_str(sh, sizeof sh, t->ndim, t->shape));
    luaL_addstring(&b, head);
    emit(&p, 0, pos);
  }
  luaL_pushresult(&b);
}
