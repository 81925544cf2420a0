/*
** pickle.c -- the pickle virtual machine, without the parts that run code
** (see pickle.h; the opcodes are those of CPython's Lib/pickletools.py).
**
** A pickle is a program for a stack machine: opcodes push values, build
** containers between MARKs, store and fetch values in a memo, and apply
** callables named by GLOBAL to argument tuples.  Here the callables are a
** fixed table (known[]) and applying one builds a node; nothing is looked up
** by name beyond that table.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pickle.h"

#define MAX_NODES (1 << 28)
#define BIG_BYTES (1 << 16)           /* payloads from here go to tensor storage */
#define EXACT (9007199254740992.0)    /* 2^53 */

/* The callables a pickle may name. */
enum {
  G_OTHER, G_RECONSTRUCT, G_NDARRAY, G_DTYPE, G_FROMBUFFER, G_SCALAR, G_ORDEREDDICT, G_SET,
  G_FROZENSET, G_BYTEARRAY, G_BYTES, G_ENCODE, G_REBUILD_V2, G_REBUILD_PARAM, G_FROM_TYPE_V2,
  G_STORAGE, G_TENSOR_TYPE, G_DICT, G_LIST
};

static const struct { const char *module, *name; int code, elem; } known[] = {
  {"numpy.core.multiarray", "_reconstruct", G_RECONSTRUCT, 0},
  {"numpy._core.multiarray", "_reconstruct", G_RECONSTRUCT, 0},
  {"numpy", "ndarray", G_NDARRAY, 0},
  {"numpy", "dtype", G_DTYPE, 0},
  {"numpy.core.numeric", "_frombuffer", G_FROMBUFFER, 0},
  {"numpy._core.numeric", "_frombuffer", G_FROMBUFFER, 0},
  {"numpy.core.multiarray", "scalar", G_SCALAR, 0},
  {"numpy._core.multiarray", "scalar", G_SCALAR, 0},
  {"collections", "OrderedDict", G_ORDEREDDICT, 0},
  {"builtins", "set", G_SET, 0}, {"__builtin__", "set", G_SET, 0},
  {"builtins", "frozenset", G_FROZENSET, 0}, {"__builtin__", "frozenset", G_FROZENSET, 0},
  {"builtins", "bytearray", G_BYTEARRAY, 0}, {"__builtin__", "bytearray", G_BYTEARRAY, 0},
  {"builtins", "bytes", G_BYTES, 0}, {"__builtin__", "bytes", G_BYTES, 0},
  {"builtins", "dict", G_DICT, 0}, {"builtins", "list", G_LIST, 0},
  {"_codecs", "encode", G_ENCODE, 0},
  {"torch._utils", "_rebuild_tensor_v2", G_REBUILD_V2, 0},
  {"torch._utils", "_rebuild_parameter", G_REBUILD_PARAM, 0},
  {"torch._tensor", "_rebuild_from_type_v2", G_FROM_TYPE_V2, 0},
  {"torch", "Tensor", G_TENSOR_TYPE, 0},
  {"torch.nn.parameter", "Parameter", G_TENSOR_TYPE, 0},
  {"torch", "DoubleStorage", G_STORAGE, GLAB_E_F64}, {"torch", "FloatStorage", G_STORAGE, GLAB_E_F32},
  {"torch", "HalfStorage", G_STORAGE, GLAB_E_F16}, {"torch", "BFloat16Storage", G_STORAGE, GLAB_E_BF16},
  {"torch", "LongStorage", G_STORAGE, GLAB_E_I64}, {"torch", "IntStorage", G_STORAGE, GLAB_E_I32},
  {"torch", "ShortStorage", G_STORAGE, GLAB_E_I16}, {"torch", "CharStorage", G_STORAGE, GLAB_E_I8},
  {"torch", "ByteStorage", G_STORAGE, GLAB_E_U8}, {"torch", "BoolStorage", G_STORAGE, GLAB_E_BOOL},
  {"torch", "UntypedStorage", G_STORAGE, GLAB_E_U8},
  {NULL, NULL, 0, 0}
};

/* ---- elements ------------------------------------------------------------------ */

static const struct { const char *name; int size; } elems[GLAB_E_COUNT] = {
  {"float64", 8}, {"float32", 4}, {"float16", 2}, {"bfloat16", 2}, {"int64", 8}, {"int32", 4},
  {"int16", 2}, {"int8", 1}, {"uint64", 8}, {"uint32", 4}, {"uint16", 2}, {"uint8", 1}, {"bool", 1}
};

int glab_elem_size(glab_elem e) { return elems[e].size; }
const char *glab_elem_name(glab_elem e) { return elems[e].name; }

static float half_to_float(uint16_t h) {
  int e = (h >> 10) & 31, m = h & 1023;
  float v = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY)
                                                      : ldexpf((float)(m | 1024), e - 25);
  return h & 0x8000 ? -v : v;
}

double glab_elem_value(const unsigned char *p, glab_elem e, int *inexact) {
  uint64_t u = 0;
  for (int i = elems[e].size - 1; i >= 0; i--) u = u << 8 | p[i];
  double v;
  switch (e) {
  case GLAB_E_F64: memcpy(&v, &u, 8); return v;
  case GLAB_E_F32: { uint32_t w = (uint32_t)u; float f; memcpy(&f, &w, 4); return f; }
  case GLAB_E_F16: return half_to_float((uint16_t)u);
  case GLAB_E_BF16: { uint32_t w = (uint32_t)u << 16; float f; memcpy(&f, &w, 4); return f; }
  case GLAB_E_I64:                     /* tested before rounding: 2^53 + 1 is not exact */
    if ((int64_t)u > (int64_t)EXACT || (int64_t)u < -(int64_t)EXACT) *inexact = 1;
    return (double)(int64_t)u;
  case GLAB_E_U64:
    if (u > (uint64_t)EXACT) *inexact = 1;
    return (double)u;
  case GLAB_E_I32: return (int32_t)u;
  case GLAB_E_I16: return (int16_t)u;
  case GLAB_E_I8: return (int8_t)u;
  case GLAB_E_BOOL: return u != 0;
  default: return (double)u;
  }
  return v;
}

glab_status glab_elems_convert(glab_tensor *out, const void *src, int64_t count, glab_elem e,
                               const char *what) {
  int f32 = e == GLAB_E_F32 || e == GLAB_E_F16 || e == GLAB_E_BF16, inexact = 0;
  glab_tensor t = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_new(&t, f32 ? GLAB_F32 : GLAB_F64, 1, &count);
  if (s != GLAB_OK) return s;
  const unsigned char *p = src;
  int es = elems[e].size;
  if (f32) {
    float *d = glab_tensor_data(&t);
    for (int64_t i = 0; i < count; i++) d[i] = (float)glab_elem_value(p + i * es, e, &inexact);
  } else {
    double *d = glab_tensor_data(&t);
    for (int64_t i = 0; i < count; i++) d[i] = glab_elem_value(p + i * es, e, &inexact);
  }
  if (inexact) {
    glab_tensor_free(&t);
    return glab_fail(GLAB_EFORMAT, "%s: %s values beyond 2^53 cannot be held exactly", what, elems[e].name);
  }
  *out = t;
  return GLAB_OK;
}

/* ---- nodes ---------------------------------------------------------------------- */

int32_t glab_py_new(glab_pickle *pk, glab_py_kind kind) {
  if (pk->n == pk->cap) {
    if (pk->cap >= MAX_NODES) {
      glab_fail(GLAB_ENOMEM, "more than %d objects", MAX_NODES);
      return -1;
    }
    int32_t cap = pk->cap ? 2 * pk->cap : 256;
    glab_py *v = realloc(pk->v, (size_t)cap * sizeof *v);
    if (!v) {
      glab_fail(GLAB_ENOMEM, "out of memory for %d objects", cap);
      return -1;
    }
    pk->v = v;
    pk->cap = cap;
  }
  memset(&pk->v[pk->n], 0, sizeof pk->v[0]);
  pk->v[pk->n].kind = (uint8_t)kind;
  return pk->n++;
}

/* Move *t into the tensor table; its index, or -1. */
static int32_t add_tensor(glab_pickle *pk, glab_tensor *t) {
  if (pk->nt == pk->tcap) {
    int32_t cap = pk->tcap ? 2 * pk->tcap : 16;
    glab_tensor *ts = realloc(pk->tensors, (size_t)cap * sizeof *ts);
    if (!ts) {
      glab_fail(GLAB_ENOMEM, "out of memory");
      return -1;
    }
    pk->tensors = ts;
    pk->tcap = cap;
  }
  pk->tensors[pk->nt] = *t;
  memset(t, 0, sizeof *t);
  return pk->nt++;
}

int32_t glab_py_tensor(glab_pickle *pk, glab_py_kind kind, glab_tensor *t) {
  int32_t i = glab_py_new(pk, kind), k = i < 0 ? -1 : add_tensor(pk, t);
  if (k < 0) return -1;
  pk->v[i].u.t = k;
  return i;
}

int glab_py_storage_elem(const glab_py *g) {
  return g->kind == GLAB_PY_GLOBAL && g->code == G_STORAGE ? g->elem - 1 : -1;
}

const unsigned char *glab_py_bytes(const glab_pickle *pk, const glab_py *b) {
  return b->u.t < 0 ? (const unsigned char *)"" : glab_tensor_data(&pk->tensors[b->u.t]);
}

static int add_kid(glab_pickle *pk, int32_t node, int32_t kid) {
  glab_py *v = &pk->v[node];
  if (v->n == v->cap) {
    int32_t cap = v->cap ? 2 * v->cap : 4;
    int32_t *k = realloc(v->kids, (size_t)cap * sizeof *k);
    if (!k) return 0;
    v->kids = k;
    v->cap = cap;
  }
  v->kids[v->n++] = kid;
  return 1;
}

void glab_pickle_free(glab_pickle *pk) {
  for (int32_t i = 0; i < pk->n; i++) {
    free(pk->v[i].kids);
    if (pk->v[i].kind == GLAB_PY_STR || pk->v[i].kind == GLAB_PY_GLOBAL) free(pk->v[i].u.s);
  }
  for (int32_t i = 0; i < pk->nt; i++) glab_tensor_free(&pk->tensors[i]);
  free(pk->v);
  free(pk->tensors);
  memset(pk, 0, sizeof *pk);
}

/* ---- the machine ------------------------------------------------------------------ */

typedef struct vm {
  glab_pickle *pk;
  glab_reader *r;
  const glab_pickle_opts *o;
  int32_t *stack, nstack, scap;
  int32_t *marks, nmarks, mcap;
  int32_t *memo, nmemo;         /* -1: empty slot */
  uint64_t memo_count;          /* slots filled: MEMOIZE's next key */
  int op;
  uint64_t op_at;
} vm;

#define V(i) (&m->pk->v[i])

static glab_status bad(vm *m, const char *fmt, const char *arg) {
  char msg[1024];
  snprintf(msg, sizeof msg, fmt, arg);
  return glab_fail(GLAB_EFORMAT, "%s: %s (opcode 0x%02x at byte %llu)", m->r->what, msg, m->op,
                   (unsigned long long)m->op_at);
}

static glab_status nomem(vm *m) { return glab_fail(GLAB_ENOMEM, "%s: out of memory", m->r->what); }

static glab_status push(vm *m, int32_t node) {
  if (node < 0) return glab_fail(GLAB_ENOMEM, "%s: %s", m->r->what, glab_errmsg());
  if (m->nstack == m->scap) {
    int32_t cap = m->scap ? 2 * m->scap : 64;
    int32_t *s = realloc(m->stack, (size_t)cap * sizeof *s);
    if (!s) return nomem(m);
    m->stack = s;
    m->scap = cap;
  }
  m->stack[m->nstack++] = node;
  return GLAB_OK;
}

static int floor_(vm *m) { return m->nmarks ? m->marks[m->nmarks - 1] : 0; }

static glab_status pop(vm *m, int32_t *node) {
  if (m->nstack <= floor_(m)) return bad(m, "%sthe stack is empty", "");
  *node = m->stack[--m->nstack];
  return GLAB_OK;
}

static glab_status top(vm *m, int32_t *node) {
  if (m->nstack <= floor_(m)) return bad(m, "%sthe stack is empty", "");
  *node = m->stack[m->nstack - 1];
  return GLAB_OK;
}

/* The items since the last MARK; *first is their stack position. */
static glab_status pop_mark(vm *m, int32_t *first) {
  if (!m->nmarks) return bad(m, "%sno MARK to pop to", "");
  *first = m->marks[--m->nmarks];
  return GLAB_OK;
}

static glab_status rd(vm *m, void *dst, size_t n) { return glab_reader_read(m->r, dst, n); }

/* A length the pickle claims, checked against what the file still holds
** before anything is allocated for it. */
static glab_status claim(vm *m, uint64_t n) {
  if (n <= glab_reader_left(m->r)) return GLAB_OK;
  return glab_fail(GLAB_EFORMAT, "%s: truncated: a %llu-byte value at byte %llu, only %llu bytes left",
                   m->r->what, (unsigned long long)n, (unsigned long long)glab_reader_pos(m->r),
                   (unsigned long long)glab_reader_left(m->r));
}

static glab_status rd_u(vm *m, uint64_t *v, int bytes) {
  unsigned char b[8];
  glab_status s = rd(m, b, (size_t)bytes);
  *v = 0;
  for (int i = bytes - 1; s == GLAB_OK && i >= 0; i--) *v = *v << 8 | b[i];
  return s;
}

/* A text argument up to the newline (GLOBAL, INT, FLOAT, ...). */
static glab_status rd_line(vm *m, char *buf, size_t cap) {
  for (size_t i = 0; i + 1 < cap; i++) {
    glab_status s = rd(m, buf + i, 1);
    if (s != GLAB_OK) return s;
    if (buf[i] == '\n') {
      buf[i] = '\0';
      return GLAB_OK;
    }
  }
  return bad(m, "%sa text argument longer than 255 bytes", "");
}

static glab_status push_int(vm *m, int64_t v) {
  if (v > (int64_t)EXACT || v < -(int64_t)EXACT) {
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)v);
    return bad(m, "the integer %s is beyond 2^53, the largest that genlab holds exactly", num);
  }
  int32_t i = glab_py_new(m->pk, GLAB_PY_INT);
  if (i >= 0) V(i)->u.i = v;
  return push(m, i);
}

static glab_status push_scalar(vm *m, glab_py_kind kind, int64_t iv, double fv) {
  int32_t i = glab_py_new(m->pk, kind);
  if (i >= 0) {
    if (kind == GLAB_PY_FLOAT) V(i)->u.f = fv;
    else V(i)->u.i = iv;
  }
  return push(m, i);
}

/* LONG1/LONG4: n bytes of little-endian two's complement. */
static glab_status push_long(vm *m, uint64_t n) {
  if (n > 8) {
    glab_status s = claim(m, n);
    return s != GLAB_OK ? s : bad(m, "%san integer of more than 64 bits is beyond 2^53, the largest that genlab holds exactly", "");
  }
  unsigned char b[8] = {0};
  glab_status s = rd(m, b, (size_t)n);
  if (s != GLAB_OK) return s;
  uint64_t u = 0;
  for (int i = (int)n - 1; i >= 0; i--) u = u << 8 | b[i];
  if (n > 0 && n < 8 && (b[n - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * n);
  return push_int(m, (int64_t)u);
}

static glab_status push_str(vm *m, glab_py_kind kind, const char *p, size_t n) {
  int32_t i = glab_py_new(m->pk, kind);
  if (i < 0) return push(m, i);
  char *s = malloc(n + 1);
  if (!s) return nomem(m);
  memcpy(s, p, n);
  s[n] = '\0';
  V(i)->u.s = s;
  V(i)->len = n;
  return push(m, i);
}

/* A length-prefixed string read into a fresh node. */
static glab_status read_str(vm *m, uint64_t n) {
  glab_status st = claim(m, n);
  if (st != GLAB_OK) return st;
  int32_t i = glab_py_new(m->pk, GLAB_PY_STR);
  if (i < 0) return push(m, i);
  char *s = malloc(n + 1);
  if (!s) return nomem(m);
  V(i)->u.s = s;
  V(i)->len = n;
  s[n] = '\0';
  st = rd(m, s, n);
  return st == GLAB_OK ? push(m, i) : st;
}

/* Bytes payloads live in tensor storage (64-aligned), which an array over
** them then shares. */
static glab_status read_bytes(vm *m, uint64_t n) {
  glab_status s = claim(m, n);
  if (s != GLAB_OK) return s;
  glab_tensor t = GLAB_TENSOR_EMPTY;
  int32_t i;
  if (n == 0) {
    i = glab_py_new(m->pk, GLAB_PY_BYTES);
    if (i >= 0) V(i)->u.t = -1;
    return push(m, i);
  }
  int64_t words = (int64_t)((n + 3) / 4);
  s = glab_tensor_new(&t, GLAB_F32, 1, &words);
  if (s == GLAB_OK) s = rd(m, glab_tensor_data(&t), (size_t)n);
  if (s != GLAB_OK) {
    glab_tensor_free(&t);
    return s;
  }
  i = glab_py_tensor(m->pk, GLAB_PY_BYTES, &t);
  if (i >= 0) V(i)->len = (size_t)n;
  return push(m, i);
}

static glab_status memo_put(vm *m, uint64_t key) {
  int32_t node;
  glab_status s = top(m, &node);
  if (s != GLAB_OK) return s;
  if (key > glab_reader_pos(m->r) || key >= (1u << 30))
    return bad(m, "%sa memo key beyond any the file could hold", "");
  if (key >= (uint64_t)m->nmemo) {
    int32_t n = (int32_t)key + 1 > 2 * m->nmemo ? (int32_t)key + 1 : 2 * m->nmemo;
    int32_t *mm = realloc(m->memo, (size_t)n * sizeof *mm);
    if (!mm) return nomem(m);
    for (int32_t i = m->nmemo; i < n; i++) mm[i] = -1;
    m->memo = mm;
    m->nmemo = n;
  }
  if (m->memo[key] < 0) m->memo_count++;
  m->memo[key] = node;
  return GLAB_OK;
}

static glab_status memo_get(vm *m, uint64_t key) {
  if (key >= (uint64_t)m->nmemo || m->memo[key] < 0) {
    char k[32];
    snprintf(k, sizeof k, "%llu", (unsigned long long)key);
    return bad(m, "memo key %s was never stored", k);
  }
  return push(m, m->memo[key]);
}

/* ---- globals and their application --------------------------------------------------- */

static glab_status push_global(vm *m, const char *module, const char *name) {
  char full[600];
  snprintf(full, sizeof full, "%s.%s", module, name);
  int code = -1, elem = 0;
  for (int i = 0; known[i].module && code < 0; i++)
    if (strcmp(known[i].module, module) == 0 && strcmp(known[i].name, name) == 0)
      code = known[i].code, elem = known[i].elem;
  if (code < 0 && !m->o->objects)
    return bad(m, "the pickle names %s, which genlab does not run or rebuild (it reads Python's "
               "built-in types, numpy arrays and torch tensors; pass {objects = true} to get other "
               "objects as plain tables)", full);
  glab_status s = push_str(m, GLAB_PY_GLOBAL, full, strlen(full));
  if (s == GLAB_OK) V(m->stack[m->nstack - 1])->code = (uint8_t)(code < 0 ? G_OTHER : code);
  if (s == GLAB_OK && code == G_STORAGE) V(m->stack[m->nstack - 1])->elem = (uint8_t)(elem + 1);
  return s;
}

/* The i-th item of a tuple node, or -1. */
static int32_t item(vm *m, int32_t tup, int i) {
  glab_py *t = V(tup);
  return (t->kind == GLAB_PY_TUPLE || t->kind == GLAB_PY_LIST) && i < t->n ? t->kids[i] : -1;
}

static int is_kind(vm *m, int32_t node, glab_py_kind k) { return node >= 0 && V(node)->kind == k; }

/* A tuple of non-negative ints into dims; returns the count or -1. */
static int int_tuple(vm *m, int32_t tup, int64_t *dims) {
  if (!is_kind(m, tup, GLAB_PY_TUPLE) && !is_kind(m, tup, GLAB_PY_LIST)) return -1;
  if (V(tup)->n > GLAB_MAXDIM) return -1;
  for (int i = 0; i < V(tup)->n; i++) {
    int32_t k = V(tup)->kids[i];
    if (!is_kind(m, k, GLAB_PY_INT) || V(k)->u.i < 0) return -1;
    dims[i] = V(k)->u.i;
  }
  return V(tup)->n;
}

/* numpy's dtype strings: '<f8', '|u1', 'i4', ... */
static glab_status dtype_node(vm *m, int32_t args) {
  int32_t a0 = item(m, args, 0);
  if (!is_kind(m, a0, GLAB_PY_STR)) return bad(m, "%snumpy.dtype without a type string", "");
  const char *d = V(a0)->u.s;
  int big = 0;
  if (*d == '<' || *d == '|' || *d == '=' || *d == '>') big = *d++ == '>';
  static const char *const names[GLAB_E_COUNT] = {"f8", "f4", "f2", "", "i8", "i4", "i2", "i1",
                                                  "u8", "u4", "u2", "u1", "b1"};
  for (int e = 0; e < GLAB_E_COUNT; e++)
    if (*names[e] && strcmp(d, names[e]) == 0) {
      int32_t i = glab_py_new(m->pk, GLAB_PY_DTYPE);
      if (i >= 0) {
        V(i)->code = (uint8_t)e;
        V(i)->big_endian = (uint8_t)big;
      }
      return push(m, i);
    }
  if (*d == 'O') return bad(m, "%sobject arrays (dtype 'O') cannot be read: they hold Python objects", "");
  return bad(m, "numpy dtype '%s' is not read (float16/32/64, ints, uint8 and bool are)", d);
}

/* A TENSOR node from raw little-endian array bytes: float32/float64 share
** the payload's storage when it is one, other types are converted. */
static glab_status array_node(vm *m, int32_t node, const int64_t *shape, int ndim, int32_t dtype,
                              int fortran, int32_t data) {
  if (!is_kind(m, dtype, GLAB_PY_DTYPE)) return bad(m, "%san array without a numpy dtype", "");
  if (!is_kind(m, data, GLAB_PY_BYTES)) return bad(m, "%san array whose data is not bytes (an object array?)", "");
  glab_elem e = (glab_elem)V(dtype)->code;
  if (V(dtype)->big_endian && glab_elem_size(e) > 1)
    return bad(m, "big-endian %s arrays are not read; convert with arr.astype(arr.dtype.newbyteorder('<'))",
               glab_elem_name(e));
  int64_t dims[GLAB_MAXDIM], numel = 1;
  double exact = glab_elem_size(e), span = 1;
  for (int i = 0; i < ndim; i++) {
    dims[i] = fortran ? shape[ndim - 1 - i] : shape[i];
    exact *= (double)shape[i];
    span *= shape[i] > 0 ? (double)shape[i] : 1;
  }
  if (span > EXACT) return bad(m, "%san array whose sizes multiply past 2^53", "");
  for (int i = 0; i < ndim; i++) numel *= shape[i];
  if (exact != (double)V(data)->len) {
    char sh[160], msg[260];
    snprintf(msg, sizeof msg, "an array of shape (%s) %s needs %.0f bytes, its data has %zu",
             glab_shape_str(sh, sizeof sh, ndim, shape), glab_elem_name(e), exact, V(data)->len);
    return bad(m, "%s", msg);
  }
  glab_tensor flat = GLAB_TENSOR_EMPTY, t = GLAB_TENSOR_EMPTY;
  glab_status s;
  if ((e == GLAB_E_F64 || e == GLAB_E_F32) && V(data)->u.t >= 0) {
    glab_tensor_share(&flat, &m->pk->tensors[V(data)->u.t]);
    flat.dtype = e == GLAB_E_F64 ? GLAB_F64 : GLAB_F32;
    flat.shape[0] = numel;
    s = GLAB_OK;
  } else {
    s = glab_elems_convert(&flat, glab_py_bytes(m->pk, V(data)), numel, e, m->r->what);
  }
  if (s == GLAB_OK) s = glab_tensor_view(&t, &flat, ndim, dims);
  glab_tensor_free(&flat);
  if (s == GLAB_OK && fortran) {
    int perm[GLAB_MAXDIM];
    for (int i = 0; i < ndim; i++) perm[i] = ndim - 1 - i;
    glab_tensor p = GLAB_TENSOR_EMPTY;
    s = glab_tensor_permute(&p, &t, perm);
    if (s == GLAB_OK) glab_tensor_move(&t, &p);
  }
  if (s != GLAB_OK) {
    glab_tensor_free(&t);
    return s;
  }
  if (node < 0) {
    int32_t i = glab_py_tensor(m->pk, GLAB_PY_TENSOR, &t);
    if (i < 0) glab_tensor_free(&t);
    return push(m, i);
  }
  int32_t k = add_tensor(m->pk, &t);    /* the NDARRAY placeholder becomes the tensor in place */
  if (k < 0) {
    glab_tensor_free(&t);
    return nomem(m);
  }
  V(node)->kind = GLAB_PY_TENSOR;
  V(node)->u.t = k;
  return GLAB_OK;
}

/* numpy.core.multiarray.scalar(dtype, bytes) -> a number. */
static glab_status scalar_node(vm *m, int32_t args) {
  int32_t dt = item(m, args, 0), b = item(m, args, 1);
  if (!is_kind(m, dt, GLAB_PY_DTYPE) || !is_kind(m, b, GLAB_PY_BYTES) ||
      V(b)->len != (size_t)glab_elem_size((glab_elem)V(dt)->code) || V(dt)->big_endian)
    return bad(m, "%sa numpy scalar that is not a little-endian number", "");
  glab_elem e = (glab_elem)V(dt)->code;
  int inexact = 0;
  double v = glab_elem_value(glab_py_bytes(m->pk, V(b)), e, &inexact);
  if (e == GLAB_E_BOOL) return push_scalar(m, GLAB_PY_BOOL, v != 0, 0);
  if (e <= GLAB_E_BF16) return push_scalar(m, GLAB_PY_FLOAT, 0, v);
  if (inexact) return bad(m, "%sa numpy integer beyond 2^53", "");
  return push_int(m, (int64_t)v);
}

/* _codecs.encode(text, 'latin1'): protocol 2's bytes, each byte one code
** point below 256 in the UTF-8 text. */
static glab_status encode_node(vm *m, int32_t args) {
  int32_t a0 = item(m, args, 0);
  if (!is_kind(m, a0, GLAB_PY_STR)) return bad(m, "%s_codecs.encode of a non-string", "");
  const unsigned char *p = (const unsigned char *)V(a0)->u.s;
  size_t n = V(a0)->len, k = 0;
  unsigned char *out = malloc(n + 1);
  if (!out) return nomem(m);
  for (size_t i = 0; i < n; k++) {
    if (p[i] < 0x80) out[k] = p[i++];
    else if ((p[i] & 0xfe) == 0xc2 && i + 1 < n && (p[i + 1] & 0xc0) == 0x80) {
      out[k] = (unsigned char)((p[i] & 3) << 6 | (p[i + 1] & 0x3f));
      i += 2;
    } else {
      free(out);
      return bad(m, "%s_codecs.encode of text that is not latin-1", "");
    }
  }
  glab_reader mem;
  glab_status s = glab_reader_mem(&mem, out, k, m->r->what);
  if (s == GLAB_OK) {
    glab_reader *saved = m->r;
    m->r = &mem;
    s = read_bytes(m, k);
    m->r = saved;
  }
  glab_reader_close(&mem);
  free(out);
  return s;
}

/* torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...). */
static glab_status rebuild_tensor(vm *m, int32_t args) {
  int32_t st = item(m, args, 0), off = item(m, args, 1);
  int64_t size[GLAB_MAXDIM], stride[GLAB_MAXDIM];
  int nd = int_tuple(m, item(m, args, 2), size), ns = int_tuple(m, item(m, args, 3), stride);
  if (!is_kind(m, st, GLAB_PY_STORAGE) || !is_kind(m, off, GLAB_PY_INT) || nd < 0 || ns != nd)
    return bad(m, "%s_rebuild_tensor_v2 with arguments that are not (storage, offset, size, stride)", "");
  const glab_tensor *base = &m->pk->tensors[V(st)->u.t];
  double last = (double)V(off)->u.i, span = 1;      /* doubles: exact well past any storage */
  int empty = 0;
  for (int i = 0; i < nd; i++) {
    empty |= size[i] == 0;
    span *= size[i] > 0 ? (double)size[i] : 1;
    last += size[i] > 0 ? (double)(size[i] - 1) * (double)stride[i] : 0;
  }
  if (span > EXACT || V(off)->u.i < 0 || V(off)->u.i > base->shape[0] ||
      (!empty && last >= (double)base->shape[0])) {
    char sh[160], msg[260];
    snprintf(msg, sizeof msg, "a tensor of size (%s) at offset %lld reaches element %.0f of a storage of %lld",
             glab_shape_str(sh, sizeof sh, nd, size), (long long)V(off)->u.i, last,
             (long long)base->shape[0]);
    return bad(m, "%s", msg);
  }
  glab_tensor t;
  glab_tensor_share(&t, base);
  t.offset = base->offset + V(off)->u.i;
  t.ndim = nd;
  for (int i = 0; i < nd; i++) {
    t.shape[i] = size[i];
    t.stride[i] = stride[i];
  }
  int32_t i = glab_py_tensor(m->pk, GLAB_PY_TENSOR, &t);
  if (i < 0) glab_tensor_free(&t);
  return push(m, i);
}

static glab_status new_container(vm *m, glab_py_kind kind, int32_t from) {
  int32_t i = glab_py_new(m->pk, kind);
  if (i < 0) return push(m, i);
  if (from >= 0)                 /* OrderedDict([(k, v), ...]), set([...]) */
    for (int j = 0; j < V(from)->n; j++) {
      int32_t x = V(from)->kids[j];
      if (kind == GLAB_PY_DICT) {
        if ((!is_kind(m, x, GLAB_PY_TUPLE) && !is_kind(m, x, GLAB_PY_LIST)) || V(x)->n != 2)
          return bad(m, "%sa dict built from something other than pairs", "");
        if (!add_kid(m->pk, i, V(x)->kids[0]) || !add_kid(m->pk, i, V(x)->kids[1])) return nomem(m);
      } else if (!add_kid(m->pk, i, x)) {
        return nomem(m);
      }
    }
  return push(m, i);
}

static glab_status object_node(vm *m, int32_t cls, int32_t args) {
  int32_t i = glab_py_new(m->pk, GLAB_PY_OBJECT);
  if (i < 0) return push(m, i);
  for (int j = 0; j < GLAB_OBJ_SLOTS; j++)
    if (!add_kid(m->pk, i, j == GLAB_OBJ_CLASS ? cls : j == GLAB_OBJ_ARGS ? args : -1)) return nomem(m);
  return push(m, i);
}

/* Apply a callable to an argument tuple (REDUCE) and push the result. */
static glab_status apply(vm *m, int32_t f, int32_t args) {
  if (!is_kind(m, f, GLAB_PY_GLOBAL)) return bad(m, "%sREDUCE of something that is not a named callable", "");
  if (!is_kind(m, args, GLAB_PY_TUPLE)) return bad(m, "%sREDUCE with arguments that are not a tuple", "");
  int32_t a0 = item(m, args, 0);
  switch (V(f)->code) {
  case G_RECONSTRUCT:
    return push(m, glab_py_new(m->pk, GLAB_PY_NDARRAY));
  case G_DTYPE:
    return dtype_node(m, args);
  case G_SCALAR:
    return scalar_node(m, args);
  case G_FROMBUFFER: {
    int64_t shape[GLAB_MAXDIM];
    int nd = int_tuple(m, item(m, args, 2), shape);
    int32_t order = item(m, args, 3);
    if (nd < 0 || !is_kind(m, order, GLAB_PY_STR)) return bad(m, "%s_frombuffer without a shape and order", "");
    return array_node(m, -1, shape, nd, item(m, args, 1), V(order)->u.s[0] == 'F', a0);
  }
  case G_ORDEREDDICT: case G_DICT:
    return new_container(m, GLAB_PY_DICT, a0);
  case G_SET: case G_FROZENSET: case G_LIST:
    return new_container(m, G_LIST == V(f)->code ? GLAB_PY_LIST : GLAB_PY_SET, a0);
  case G_BYTES: case G_BYTEARRAY:
    if (a0 < 0) return read_bytes(m, 0);
    if (is_kind(m, a0, GLAB_PY_BYTES)) return push(m, a0);
    if (is_kind(m, a0, GLAB_PY_STR)) return encode_node(m, args);
    return bad(m, "%sbytes() of something other than bytes or text", "");
  case G_ENCODE:
    return encode_node(m, args);
  case G_REBUILD_V2:
    return rebuild_tensor(m, args);
  case G_REBUILD_PARAM:
    if (!is_kind(m, a0, GLAB_PY_TENSOR)) return bad(m, "%s_rebuild_parameter of a non-tensor", "");
    return push(m, a0);
  case G_FROM_TYPE_V2:      /* (func, type, args, state): apply func to args, once */
    if (is_kind(m, a0, GLAB_PY_GLOBAL) && V(a0)->code == G_FROM_TYPE_V2)
      return bad(m, "%s_rebuild_from_type_v2 of itself", "");
    return apply(m, a0, item(m, args, 2));
  }
  if (!m->o->objects) return bad(m, "%s cannot be called here", V(f)->u.s);
  return object_node(m, f, args);
}

/* BUILD: set the state of the object below it. */
static glab_status build(vm *m, int32_t obj, int32_t state) {
  switch (V(obj)->kind) {
  case GLAB_PY_NDARRAY: {       /* (version, shape, dtype, is_fortran, data) */
    int64_t shape[GLAB_MAXDIM];
    int nd = int_tuple(m, item(m, state, 1), shape);
    int32_t fort = item(m, state, 3);
    if (nd < 0 || !(is_kind(m, fort, GLAB_PY_BOOL) || is_kind(m, fort, GLAB_PY_INT)))
      return bad(m, "%san ndarray state that is not (version, shape, dtype, fortran, data)", "");
    return array_node(m, obj, shape, nd, item(m, state, 2), V(fort)->u.i != 0, item(m, state, 4));
  }
  case GLAB_PY_DTYPE: {         /* (version, byteorder, ...) */
    int32_t bo = item(m, state, 1);
    if (is_kind(m, bo, GLAB_PY_STR)) V(obj)->big_endian = V(bo)->u.s[0] == '>';
    return GLAB_OK;
  }
  case GLAB_PY_OBJECT:
    V(obj)->kids[GLAB_OBJ_STATE] = state;
    return GLAB_OK;
  case GLAB_PY_DICT: case GLAB_PY_TENSOR:
    return GLAB_OK;             /* an OrderedDict's _metadata, a Parameter's hooks */
  }
  return bad(m, "%sBUILD on a value that takes no state", "");
}

/* Items from stack position first on appended to the container below. */
static glab_status extend(vm *m, int32_t first, int pairs) {
  if (first < 1) return bad(m, "%sno container below the MARK", "");
  int32_t c = m->stack[first - 1];
  glab_py_kind k = (glab_py_kind)V(c)->kind;
  if (k == GLAB_PY_OBJECT) {    /* listitems / dictitems of an opaque object */
    int slot = pairs ? GLAB_OBJ_DICT : GLAB_OBJ_LIST;
    if (V(c)->kids[slot] < 0) {
      int32_t n = glab_py_new(m->pk, pairs ? GLAB_PY_DICT : GLAB_PY_LIST);
      if (n < 0) return nomem(m);
      V(c)->kids[slot] = n;
    }
    c = V(c)->kids[slot];
    k = (glab_py_kind)V(c)->kind;
  }
  if (pairs ? k != GLAB_PY_DICT : (k != GLAB_PY_LIST && k != GLAB_PY_SET))
    return bad(m, "%sitems added to a value that is not a list, set or dict", "");
  if (pairs && (m->nstack - first) % 2) return bad(m, "%sSETITEMS with an odd number of values", "");
  for (int32_t i = first; i < m->nstack; i++)
    if (!add_kid(m->pk, c, m->stack[i])) return nomem(m);
  m->nstack = first;
  return GLAB_OK;
}

/* The tuple of the items from stack position first on. */
static glab_status tuple(vm *m, glab_py_kind kind, int32_t first) {
  int32_t t = glab_py_new(m->pk, kind);
  if (t < 0) return push(m, t);
  for (int32_t i = first; i < m->nstack; i++)
    if (!add_kid(m->pk, t, m->stack[i])) return nomem(m);
  m->nstack = first;
  return push(m, t);
}

static glab_status op_global(vm *m, int stack_form) {
  char mod[256], name[256];
  int32_t a, b;
  glab_status s;
  if (!stack_form) {
    if ((s = rd_line(m, mod, sizeof mod)) != GLAB_OK || (s = rd_line(m, name, sizeof name)) != GLAB_OK) return s;
    return push_global(m, mod, name);
  }
  if ((s = pop(m, &b)) != GLAB_OK || (s = pop(m, &a)) != GLAB_OK) return s;
  if (!is_kind(m, a, GLAB_PY_STR) || !is_kind(m, b, GLAB_PY_STR))
    return bad(m, "%sSTACK_GLOBAL of non-strings", "");
  return push_global(m, V(a)->u.s, V(b)->u.s);
}

static glab_status op_persid(vm *m) {
  int32_t pid, res = -1;
  glab_status s = pop(m, &pid);
  if (s != GLAB_OK) return s;
  if (!m->o->persistent) return bad(m, "%sa persistent id, which only a PyTorch checkpoint resolves (load_pt)", "");
  s = m->o->persistent(m->o->ctx, m->pk, pid, &res, m->r->what);
  return s == GLAB_OK ? push(m, res) : s;
}

/* One opcode; *done at STOP. */
static glab_status step(vm *m, int *done) {
  unsigned char c;
  uint64_t n;
  int32_t a, b, first = 0;
  char line[256];
  glab_status s;
  m->op_at = glab_reader_pos(m->r);
  m->op = -1;
  if ((s = rd(m, &c, 1)) != GLAB_OK) return s;
  m->op = c;
  switch (c) {
  case 0x80: if ((s = rd_u(m, &n, 1)) == GLAB_OK && n > 5) s = bad(m, "%spickle protocol beyond 5", "");
             return s;
  case 0x95: return rd_u(m, &n, 8);                       /* FRAME: grouping only */
  case '.':  *done = 1; return pop(m, &m->pk->root);
  case '(':
    if (m->nmarks == m->mcap) {
      int32_t cap = m->mcap ? 2 * m->mcap : 16;
      int32_t *mk = realloc(m->marks, (size_t)cap * sizeof *mk);
      if (!mk) return nomem(m);
      m->marks = mk;
      m->mcap = cap;
    }
    m->marks[m->nmarks++] = m->nstack;
    return GLAB_OK;
  case '0':                                                /* POP: an empty frame pops its MARK */
    if (m->nstack == floor_(m) && m->nmarks) return pop_mark(m, &first);
    return pop(m, &a);
  case '1':  if ((s = pop_mark(m, &first)) == GLAB_OK) m->nstack = first; return s;
  case '2':  return (s = top(m, &a)) == GLAB_OK ? push(m, a) : s;
  case 'N':  return push(m, glab_py_new(m->pk, GLAB_PY_NONE));
  case 0x88: case 0x89: return push_scalar(m, GLAB_PY_BOOL, c == 0x88, 0);
  case 'K':  return (s = rd_u(m, &n, 1)) == GLAB_OK ? push_int(m, (int64_t)n) : s;
  case 'M':  return (s = rd_u(m, &n, 2)) == GLAB_OK ? push_int(m, (int64_t)n) : s;
  case 'J':  return (s = rd_u(m, &n, 4)) == GLAB_OK ? push_int(m, (int32_t)(uint32_t)n) : s;
  case 0x8a: return (s = rd_u(m, &n, 1)) == GLAB_OK ? push_long(m, n) : s;
  case 0x8b: return (s = rd_u(m, &n, 4)) == GLAB_OK ? push_long(m, n) : s;
  case 'I': case 'L': {
    if ((s = rd_line(m, line, sizeof line)) != GLAB_OK) return s;
    if (c == 'I' && (!strcmp(line, "01") || !strcmp(line, "00"))) return push_scalar(m, GLAB_PY_BOOL, line[1] == '1', 0);
    char *end;
    long long v = strtoll(line, &end, 10);
    if (end == line || (*end && strcmp(end, "L"))) return bad(m, "malformed integer '%s'", line);
    return push_int(m, v);
  }
  case 'G': {
    if ((s = rd_u(m, &n, 8)) != GLAB_OK) return s;
    uint64_t be = 0;
    for (int i = 0; i < 8; i++) be = be << 8 | ((n >> (8 * i)) & 0xff);   /* big-endian */
    double d;
    memcpy(&d, &be, 8);
    return push_scalar(m, GLAB_PY_FLOAT, 0, d);
  }
  case 'F': {
    if ((s = rd_line(m, line, sizeof line)) != GLAB_OK) return s;
    char *end;
    double d = strtod(line, &end);
    if (end == line) return bad(m, "malformed float '%s'", line);
    return push_scalar(m, GLAB_PY_FLOAT, 0, d);
  }
  case 0x8c: return (s = rd_u(m, &n, 1)) == GLAB_OK ? read_str(m, n) : s;
  case 'X':  return (s = rd_u(m, &n, 4)) == GLAB_OK ? read_str(m, n) : s;
  case 0x8d: return (s = rd_u(m, &n, 8)) == GLAB_OK ? read_str(m, n) : s;
  case 'U': case 'C': return (s = rd_u(m, &n, 1)) == GLAB_OK ? read_bytes(m, n) : s;
  case 'T': case 'B': return (s = rd_u(m, &n, 4)) == GLAB_OK ? read_bytes(m, n) : s;
  case 0x8e: case 0x96: return (s = rd_u(m, &n, 8)) == GLAB_OK ? read_bytes(m, n) : s;
  case 0x97: return bad(m, "%san out-of-band buffer (pickle protocol 5 with buffer_callback): the data is "
                        "not in the file; pickle it without buffer_callback", "");
  case 0x98: return GLAB_OK;                                /* READONLY_BUFFER: in-band, no change */
  case ')':  return tuple(m, GLAB_PY_TUPLE, m->nstack);
  case 0x85: case 0x86: case 0x87:
    if (m->nstack - floor_(m) < c - 0x84) return bad(m, "%sthe stack is empty", "");
    return tuple(m, GLAB_PY_TUPLE, m->nstack - (c - 0x84));
  case 't':  return (s = pop_mark(m, &first)) == GLAB_OK ? tuple(m, GLAB_PY_TUPLE, first) : s;
  case 'l':  return (s = pop_mark(m, &first)) == GLAB_OK ? tuple(m, GLAB_PY_LIST, first) : s;
  case 0x91: return (s = pop_mark(m, &first)) == GLAB_OK ? tuple(m, GLAB_PY_SET, first) : s;
  case 'd':
    if ((s = pop_mark(m, &first)) != GLAB_OK) return s;
    if ((m->nstack - first) % 2) return bad(m, "%sDICT with an odd number of values", "");
    return tuple(m, GLAB_PY_DICT, first);
  case ']':  return push(m, glab_py_new(m->pk, GLAB_PY_LIST));
  case '}':  return push(m, glab_py_new(m->pk, GLAB_PY_DICT));
  case 0x8f: return push(m, glab_py_new(m->pk, GLAB_PY_SET));
  case 'a':  return m->nstack - floor_(m) < 2 ? bad(m, "%sthe stack is empty", "") : extend(m, m->nstack - 1, 0);
  case 's':  return m->nstack - floor_(m) < 3 ? bad(m, "%sthe stack is empty", "") : extend(m, m->nstack - 2, 1);
  case 'e': case 0x90: return (s = pop_mark(m, &first)) == GLAB_OK ? extend(m, first, 0) : s;
  case 'u':  return (s = pop_mark(m, &first)) == GLAB_OK ? extend(m, first, 1) : s;
  case 'p':
    if ((s = rd_line(m, line, sizeof line)) != GLAB_OK) return s;
    return memo_put(m, strtoull(line, NULL, 10));
  case 'q':  return (s = rd_u(m, &n, 1)) == GLAB_OK ? memo_put(m, n) : s;
  case 'r':  return (s = rd_u(m, &n, 4)) == GLAB_OK ? memo_put(m, n) : s;
  case 0x94: return memo_put(m, m->memo_count);
  case 'g':
    if ((s = rd_line(m, line, sizeof line)) != GLAB_OK) return s;
    return memo_get(m, strtoull(line, NULL, 10));
  case 'h':  return (s = rd_u(m, &n, 1)) == GLAB_OK ? memo_get(m, n) : s;
  case 'j':  return (s = rd_u(m, &n, 4)) == GLAB_OK ? memo_get(m, n) : s;
  case 'c':  return op_global(m, 0);
  case 0x93: return op_global(m, 1);
  case 'R':
    if ((s = pop(m, &b)) != GLAB_OK || (s = pop(m, &a)) != GLAB_OK) return s;
    return apply(m, a, b);
  case 0x81: case 0x92:                                     /* NEWOBJ, NEWOBJ_EX (kwargs dropped) */
    if (c == 0x92 && (s = pop(m, &b)) != GLAB_OK) return s;
    if ((s = pop(m, &b)) != GLAB_OK || (s = pop(m, &a)) != GLAB_OK) return s;
    if (!is_kind(m, a, GLAB_PY_GLOBAL)) return bad(m, "%sNEWOBJ of something that is not a class", "");
    return V(a)->code == G_OTHER ? (m->o->objects ? object_node(m, a, b) : bad(m, "%s cannot be built here", V(a)->u.s))
                                 : apply(m, a, b);
  case 'b':
    if ((s = pop(m, &b)) != GLAB_OK || (s = top(m, &a)) != GLAB_OK) return s;
    return build(m, a, b);
  case 'Q':  return op_persid(m);
  case 'P':
    if ((s = rd_line(m, line, sizeof line)) != GLAB_OK) return s;
    if ((s = push_str(m, GLAB_PY_STR, line, strlen(line))) != GLAB_OK) return s;
    return op_persid(m);
  case 'S': case 'V':
    return bad(m, "%sa protocol 0 text string: re-pickle with protocol 2 or later", "");
  case 'i': case 'o':
    return bad(m, "%sa protocol 0/1 instance: re-pickle with protocol 2 or later", "");
  case 0x82: case 0x83: case 0x84:
    return bad(m, "%sa copyreg extension code, which names a callable through a registry", "");
  }
  char hex[8];
  snprintf(hex, sizeof hex, "0x%02x", c);
  return bad(m, "unknown opcode %s: not a pickle, or a damaged one", hex);
}

glab_status glab_pickle_load(glab_pickle *pk, glab_reader *r, const glab_pickle_opts *o) {
  static const glab_pickle_opts none = {0};
  memset(pk, 0, sizeof *pk);
  vm m = {.pk = pk, .r = r, .o = o ? o : &none};
  glab_status s = GLAB_OK;
  int done = 0;
  while (!done && s == GLAB_OK) s = step(&m, &done);
  if (s == GLAB_OK && pk->v[pk->root].kind == GLAB_PY_NDARRAY)
    s = bad(&m, "%san ndarray without its data", "");
  free(m.stack);
  free(m.marks);
  free(m.memo);
  if (s != GLAB_OK) glab_pickle_free(pk);
  return s;
}
