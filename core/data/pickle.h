/*
** pickle.h -- a safe reader of Python pickles, protocols 2 to 5, and the
** element conversions that numpy arrays and torch storages share.
**
**     glab_reader r;
**     glab_pickle pk;
**     glab_pickle_opts o = {0};
**     if (glab_reader_file(&r, "cpts.pkl", "read_pickle") == GLAB_OK &&
**         glab_pickle_load(&pk, &r, &o) == GLAB_OK) {
**       const glab_py *top = &pk.v[pk.root];       // a LIST of 25 TENSORs, say
**       ...
**       glab_pickle_free(&pk);
**     }
**     glab_reader_close(&r);
**
** The reader never runs code.  Pickles name callables (GLOBAL) and apply
** them (REDUCE, NEWOBJ, BUILD); only a fixed list is understood:
** OrderedDict, set, frozenset, bytearray, bytes, _codecs.encode (how
** protocol 2 spells bytes), numpy's _reconstruct + ndarray.__setstate__,
** dtype, _frombuffer (protocol 5) and scalar, in the numpy.core and
** numpy._core spellings, and torch's _rebuild_tensor_v2, _rebuild_parameter,
** _rebuild_from_type_v2 and storage classes.  Any other global is an error
** naming it -- or, with opts.objects, an OBJECT node holding its class name,
** arguments and state, for the caller to look at as data.
**
** The result is a graph of nodes in one array (pk.v), children by index:
** the memo lets a pickle share one object in several places, or even put
** a list inside itself, and the graph keeps that.  Large BINBYTES8 payloads
** are read straight into tensor storage, and an array over them shares that
** storage: a 500 MB array is held once.
*/
#ifndef GLAB_PICKLE_H
#define GLAB_PICKLE_H

#include "../tensor/tensor.h"
#include "reader.h"

typedef enum glab_py_kind {
  GLAB_PY_NONE, GLAB_PY_BOOL, GLAB_PY_INT, GLAB_PY_FLOAT, GLAB_PY_STR, GLAB_PY_BYTES,
  GLAB_PY_LIST, GLAB_PY_TUPLE, GLAB_PY_SET, GLAB_PY_DICT, GLAB_PY_TENSOR, GLAB_PY_OBJECT,
  /* under construction or callables: */
  GLAB_PY_GLOBAL, GLAB_PY_DTYPE, GLAB_PY_NDARRAY, GLAB_PY_STORAGE
} glab_py_kind;

/* Element types of numpy arrays and torch storages. */
typedef enum glab_elem {
  GLAB_E_F64, GLAB_E_F32, GLAB_E_F16, GLAB_E_BF16, GLAB_E_I64, GLAB_E_I32, GLAB_E_I16,
  GLAB_E_I8, GLAB_E_U64, GLAB_E_U32, GLAB_E_U16, GLAB_E_U8, GLAB_E_BOOL, GLAB_E_COUNT
} glab_elem;

/* Object slots of an OBJECT node's kids. */
enum { GLAB_OBJ_CLASS, GLAB_OBJ_ARGS, GLAB_OBJ_STATE, GLAB_OBJ_LIST, GLAB_OBJ_DICT, GLAB_OBJ_SLOTS };

typedef struct glab_py {
  uint8_t kind;                 /* glab_py_kind */
  uint8_t code;                 /* GLOBAL: the reconstructor; DTYPE, STORAGE: a glab_elem */
  uint8_t big_endian;           /* DTYPE */
  uint8_t elem;                 /* GLOBAL of a torch storage class: its glab_elem + 1 */
  int32_t n, cap;               /* kids in use / allocated */
  int32_t *kids;                /* LIST, TUPLE, SET: items; DICT: key, value, key, ...;
                                   OBJECT: GLAB_OBJ_SLOTS indices (-1 when absent) */
  union {
    int64_t i;                  /* BOOL, INT */
    double f;                   /* FLOAT */
    char *s;                    /* STR (UTF-8), GLOBAL ("module.name"), both NUL-ended */
    int32_t t;                  /* BYTES, TENSOR, STORAGE: index into tensors (-1: empty bytes) */
  } u;
  size_t len;                   /* STR, GLOBAL, BYTES: length in bytes */
} glab_py;

typedef struct glab_pickle {
  glab_py *v;
  int32_t n, cap;
  glab_tensor *tensors;         /* payloads, arrays and storages */
  int32_t nt, tcap;
  int32_t root;
} glab_pickle;

/* A persistent id (BINPERSID) resolved by the caller: the .pt reader turns
** ('storage', cls, key, location, numel) into a STORAGE node. */
typedef glab_status (*glab_pickle_persistent)(void *ctx, glab_pickle *pk, int32_t pid,
                                              int32_t *result, const char *what);

typedef struct glab_pickle_opts {
  int objects;                  /* unknown globals become OBJECT nodes, not errors */
  glab_pickle_persistent persistent;
  void *ctx;
} glab_pickle_opts;

glab_status glab_pickle_load(glab_pickle *pk, glab_reader *r, const glab_pickle_opts *o);
void glab_pickle_free(glab_pickle *pk);

/* The element type of a GLOBAL naming a torch storage class, else -1. */
int glab_py_storage_elem(const glab_py *g);
/* The bytes of a BYTES node. */
const unsigned char *glab_py_bytes(const glab_pickle *pk, const glab_py *b);
/* A new node of the given kind; its index, or -1 (message set) when out
** of memory. */
int32_t glab_py_new(glab_pickle *pk, glab_py_kind kind);
/* A new TENSOR or STORAGE node owning *t (moved). */
int32_t glab_py_tensor(glab_pickle *pk, glab_py_kind kind, glab_tensor *t);

/* Bytes per element, and a name ("int64") for messages. */
int glab_elem_size(glab_elem e);
const char *glab_elem_name(glab_elem e);
/* The little-endian element of type e at p as a double; *inexact is set when
** an integer lies beyond 2^53 (NPY and pickles share this decoding). */
double glab_elem_value(const unsigned char *p, glab_elem e, int *inexact);
/* count little-endian elements of type e at src as a 1-D tensor: float32 for
** f32/f16/bf16, float64 for the rest; integers beyond 2^53 are an error
** (what names the source). */
glab_status glab_elems_convert(glab_tensor *out, const void *src, int64_t count, glab_elem e,
                               const char *what);

#endif
