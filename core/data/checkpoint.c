/*
** checkpoint.c -- named tensors in one file: a model's parameters and an
** optimizer's state, saved and restored.
**
** Format, version 2, every integer little-endian:
**   "GLABCKPT"                 8 bytes, the magic
**   u32 version = 2, u32 count, u64 header_bytes (of the entries that follow)
**   u64 zero                   so that a version 1 reader meets an empty name
**   u64 file_bytes             the length of the whole file, trailer included
**   count entries:             u16 name_len, name (UTF-8, no NUL), u8 dtype
**                              (0 float32, 1 float64), u8 ndim (<= 32),
**                              i64 shape[ndim], u64 offset, u64 nbytes
**   the data of each tensor    raw little-endian elements, row-major, at its
**                              offset from the start of the file (64-aligned)
**   u32 crc                    zlib's CRC-32 of every byte before it
** A reader checks the magic, the version, the file's length against
** file_bytes and the CRC before it reads any entry; then every length
** against the header and the file, and nbytes = numel * element size,
** before it allocates.  Any damage to one byte, or to up to 32 in a row,
** changes the CRC: a damaged file is an error, never different tensors.
**
** Version 1 (genlab before the CRC) is the same less file_bytes and the
** trailer; it is still read, with no checksum to check, and its length must
** end where its last tensor does, as that writer left it.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io.h"

#define MAGIC "GLABCKPT"
#define VERSION 2
#define FIXED 40                /* magic, version, count, header_bytes, 0, file_bytes */
#define FIXED_V1 24
#define TRAILER 4
#define MAX_ENTRIES 100000
#define ALIGN 64

/* ---- writing ----------------------------------------------------------------- */

typedef struct buf {
  unsigned char *p;
  size_t n, cap;
} buf;

static int put(buf *b, const void *src, size_t n) {
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + n) cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p) return 0;
    b->p = p;
    b->cap = cap;
  }
  if (src) memcpy(b->p + b->n, src, n);
  else memset(b->p + b->n, 0, n);
  b->n += n;
  return 1;
}

/* Integers are written byte by byte: little-endian on any host. */
static int put_u(buf *b, uint64_t v, int bytes) {
  unsigned char le[8];
  for (int i = 0; i < bytes; i++) le[i] = (unsigned char)(v >> (8 * i));
  return put(b, le, (size_t)bytes);
}

static size_t entry_bytes(const char *name, const glab_tensor *t) {
  return 2 + strlen(name) + 2 + 8 * (size_t)t->ndim + 16;
}

static glab_status write_entries(buf *b, int n, const char *const *names,
                                 const glab_tensor *const *ts, size_t data0) {
  size_t off = data0;
  for (int i = 0; i < n; i++) {
    size_t nbytes = (size_t)glab_tensor_numel(ts[i]) * glab_dtype_size(ts[i]->dtype);
    int ok = put_u(b, strlen(names[i]), 2) && put(b, names[i], strlen(names[i])) &&
             put_u(b, (uint64_t)ts[i]->dtype, 1) && put_u(b, (uint64_t)ts[i]->ndim, 1);
    for (int d = 0; ok && d < ts[i]->ndim; d++) ok = put_u(b, (uint64_t)ts[i]->shape[d], 8);
    if (!ok || !put_u(b, off, 8) || !put_u(b, nbytes, 8))
      return glab_fail(GLAB_ENOMEM, "save: out of memory");
    off += (nbytes + ALIGN - 1) / ALIGN * ALIGN;
  }
  return GLAB_OK;
}

static glab_status write_data(buf *b, int n, const glab_tensor *const *ts) {
  for (int i = 0; i < n; i++) {
    glab_tensor c = GLAB_TENSOR_EMPTY;
    glab_status s = glab_tensor_contiguous(&c, ts[i]);
    if (s != GLAB_OK) return s;
    size_t nbytes = (size_t)glab_tensor_numel(&c) * glab_dtype_size(c.dtype);
    size_t pad = (ALIGN - b->n % ALIGN) % ALIGN;
    int ok = put(b, NULL, pad) && put(b, glab_tensor_data(&c), nbytes);
    glab_tensor_free(&c);
    if (!ok) return glab_fail(GLAB_ENOMEM, "save: out of memory");
  }
  return GLAB_OK;
}

/* file_bytes into the fixed header, then the CRC-32 trailer over it all. */
static glab_status seal(buf *b) {
  uint64_t total = b->n + TRAILER;
  for (int i = 0; i < 8; i++) b->p[FIXED - 8 + i] = (unsigned char)(total >> (8 * i));
  uLong crc = crc32_z(crc32(0L, Z_NULL, 0), b->p, b->n);
  if (!put_u(b, crc, 4)) return glab_fail(GLAB_ENOMEM, "save: out of memory");
  return GLAB_OK;
}

glab_status glab_ckpt_write(const char *path, int n, const char *const *names,
                            const glab_tensor *const *ts) {
  if (n < 0 || n > MAX_ENTRIES)
    return glab_fail(GLAB_EARG, "save: %d tensors (at most %d)", n, MAX_ENTRIES);
  size_t hdr = 0;
  for (int i = 0; i < n; i++) {
    size_t len = strlen(names[i]);
    if (len == 0 || len > 255)
      return glab_fail(GLAB_EARG, "save: name '%s' must have 1 to 255 bytes", names[i]);
    hdr += entry_bytes(names[i], ts[i]);
  }
  size_t data0 = (FIXED + hdr + ALIGN - 1) / ALIGN * ALIGN;
  buf b = {0};
  glab_status s = GLAB_OK;
  if (!put(&b, MAGIC, 8) || !put_u(&b, VERSION, 4) || !put_u(&b, (uint64_t)n, 4) ||
      !put_u(&b, hdr, 8) || !put_u(&b, 0, 8) || !put_u(&b, 0, 8))   /* file_bytes: in seal */
    s = glab_fail(GLAB_ENOMEM, "save: out of memory");
  if (s == GLAB_OK) s = write_entries(&b, n, names, ts, data0);
  if (s == GLAB_OK) s = write_data(&b, n, ts);
  if (s == GLAB_OK) s = seal(&b);
  if (s == GLAB_OK) s = glab_write_atomic(path, b.p, b.n);
  free(b.p);
  return s;
}

/* ---- reading ------------------------------------------------------------------- */

typedef struct reader {
  const unsigned char *p;
  size_t n, at;
  size_t data_end;              /* the furthest byte of tensor data seen */
  const char *path;
} reader;

static int get_u(reader *r, uint64_t *v, int bytes) {
  if (r->at + (size_t)bytes > r->n) return 0;
  *v = 0;
  for (int i = 0; i < bytes; i++) *v |= (uint64_t)r->p[r->at + i] << (8 * i);
  r->at += (size_t)bytes;
  return 1;
}

/* "load: PATH: what". */
static glab_status bad(const reader *r, const char *fmt, ...) {
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return glab_fail(GLAB_EFORMAT, "load: %s: %s", r->path, what);
}

/* "load: PATH: NAME: what" for a bad field of entry NAME. */
static glab_status bad_entry(const reader *r, const unsigned char *name, uint64_t len,
                             const char *fmt, ...) {
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return glab_fail(GLAB_EFORMAT, "load: %s: %.*s: %s", r->path, (int)len, (const char *)name,
                   what);
}

/* One entry of the header (which ends at hend) into name and t. */
static glab_status read_entry(reader *r, size_t hend, size_t flen, char **name, glab_tensor *t) {
  uint64_t len, dt, nd, off, nbytes, dim;
  int64_t shape[GLAB_MAXDIM];
  if (!get_u(r, &len, 2) || len == 0 || r->at + len > hend) return bad(r, "a truncated entry name");
  const unsigned char *nm = r->p + r->at;
  r->at += len;
  if (!get_u(r, &dt, 1) || !get_u(r, &nd, 1) || r->at > hend)
    return bad(r, "a truncated entry");
  if (dt > 1) return bad_entry(r, nm, len, "unknown dtype %u", (unsigned)dt);
  if (nd > GLAB_MAXDIM) return bad_entry(r, nm, len, "%u dimensions (at most 32)", (unsigned)nd);
  uint64_t numel = 1;
  for (uint64_t d = 0; d < nd; d++) {
    if (!get_u(r, &dim, 8) || r->at > hend) return bad(r, "a truncated shape");
    if (dim > ((uint64_t)1 << 40) || (dim && numel > UINT64_MAX / dim))
      return bad_entry(r, nm, len, "size %llu is too large", (unsigned long long)dim);
    shape[d] = (int64_t)dim;
    numel *= dim;
  }
  if (!get_u(r, &off, 8) || !get_u(r, &nbytes, 8) || r->at > hend) return bad(r, "a truncated entry");
  size_t esz = glab_dtype_size((glab_dtype)dt);
  if (numel > UINT64_MAX / esz || nbytes != numel * esz)
    return bad_entry(r, nm, len, "%llu data bytes for %llu elements",
                     (unsigned long long)nbytes, (unsigned long long)numel);
  if (off < hend || off > flen || nbytes > flen - off)
    return bad_entry(r, nm, len, "data at %llu..%llu lies outside the %zu-byte file "
                     "(truncated?)", (unsigned long long)off, (unsigned long long)(off + nbytes),
                     flen);
  if (off + nbytes > r->data_end) r->data_end = (size_t)(off + nbytes);
  glab_status s = glab_tensor_new(t, (glab_dtype)dt, (int)nd, shape);
  if (s != GLAB_OK) return s;
  memcpy(glab_tensor_data(t), r->p + off, (size_t)nbytes);
  if (!(*name = malloc(len + 1))) return glab_fail(GLAB_ENOMEM, "load: out of memory");
  memcpy(*name, nm, len);
  (*name)[len] = 0;
  return GLAB_OK;
}

/* A version 2 file: its length and CRC, before any entry is trusted. */
static glab_status check_whole(reader *r) {
  uint64_t declared, want;
  r->at = FIXED - 8;
  if (!get_u(r, &declared, 8)) return bad(r, "the header runs past the end of the file (truncated?)");
  if (declared > r->n)
    return bad(r, "truncated: the header declares %llu bytes, the file has %zu",
               (unsigned long long)declared, r->n);
  if (declared < r->n)
    return bad(r, "%llu bytes after the end that the header declares (%llu bytes)",
               (unsigned long long)(r->n - declared), (unsigned long long)declared);
  if (r->n < FIXED + TRAILER) return bad(r, "truncated: no room for the checksum");
  r->at = r->n - TRAILER;
  get_u(r, &want, TRAILER);
  if (crc32_z(crc32(0L, Z_NULL, 0), r->p, r->n - TRAILER) != want)
    return bad(r, "checksum mismatch (file damaged)");
  return GLAB_OK;
}

static glab_status read_all(reader *r, int *n, char ***names, glab_tensor **ts) {
  uint64_t version, count, hdr;
  if (r->n < FIXED_V1 || memcmp(r->p, MAGIC, 8) != 0) return bad(r, "not a genlab checkpoint (bad magic)");
  r->at = 8;
  get_u(r, &version, 4);
  get_u(r, &count, 4);
  get_u(r, &hdr, 8);
  if (version != 1 && version != VERSION)
    return bad(r, "format version %llu (this genlab reads 1 and %d)", (unsigned long long)version, VERSION);
  size_t fixed = version == 1 ? FIXED_V1 : FIXED, dend = r->n;    /* data lies before dend */
  if (version == VERSION) {
    glab_status s = check_whole(r);
    if (s != GLAB_OK) return s;
    dend = r->n - TRAILER;
  }
  if (count > MAX_ENTRIES) return bad(r, "too many entries");
  if (hdr > dend - fixed) return bad(r, "the header runs past the end of the file (truncated?)");
  size_t hend = fixed + hdr;
  *names = calloc(count ? count : 1, sizeof **names);
  *ts = calloc(count ? count : 1, sizeof **ts);
  if (!*names || !*ts) return glab_fail(GLAB_ENOMEM, "load: out of memory");
  r->at = fixed;
  r->data_end = hend;
  for (uint64_t i = 0; i < count; i++) {
    glab_status s = read_entry(r, hend, dend, &(*names)[i], &(*ts)[i]);
    *n = (int)i + 1;
    if (s != GLAB_OK) return s;
  }
  *n = (int)count;
  if (version == 1 && r->data_end != r->n)      /* that writer ended the file at the last tensor */
    return bad(r, "%zu bytes after the last tensor's data (damaged?)", r->n - r->data_end);
  return GLAB_OK;
}

glab_status glab_ckpt_read(const char *path, int *n, char ***names, glab_tensor **ts) {
  unsigned char *file;
  long len;
  *n = 0;
  *names = NULL;
  *ts = NULL;
  glab_status s = glab_read_file(&file, &len, path, (long)glab_max_alloc_bytes(), "load");
  if (s != GLAB_OK) return s;
  reader r = {.p = file, .n = (size_t)len, .path = path};
  s = read_all(&r, n, names, ts);
  free(file);
  if (s != GLAB_OK) {
    glab_ckpt_free(*n, *names, *ts);
    *n = 0;
    *names = NULL;
    *ts = NULL;
  }
  return s;
}

void glab_ckpt_free(int n, char **names, glab_tensor *ts) {
  for (int i = 0; i < n; i++) {
    if (names) free(names[i]);
    if (ts) glab_tensor_free(&ts[i]);
  }
  free(names);
  free(ts);
}
