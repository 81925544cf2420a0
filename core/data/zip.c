/*
** zip.c -- zip archives, after PKWARE's APPNOTE.TXT (see zip.h).
**
** Layout: local header + data for each member, then the central directory
** (one record per member, with the sizes and the local header's offset),
** then the end-of-central-directory record.  Archives over 4 GiB, or
** members that numpy writes with force_zip64, carry 64-bit values in "zip64"
** records and extra fields wherever a 32-bit field reads 0xFFFFFFFF.
*/
#include <stdlib.h>
#include <string.h>

#include "zip.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_LOC64 0x07064b50u
#define MAX_ENTRIES 1000000
#define U32MAX 0xffffffffu

static uint64_t le(const unsigned char *p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static void put_le(unsigned char *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static glab_status read_at(glab_zip *z, void *dst, uint64_t off, size_t n, const char *part) {
  if (off > z->size || n > z->size - off)
    return glab_fail(GLAB_EFORMAT, "%s: %s lies beyond the end of the file", z->what, part);
  if (fseeko(z->f, (off_t)off, SEEK_SET) != 0 || fread(dst, 1, n, z->f) != n)
    return glab_fail(GLAB_EIO, "%s: cannot read the %s", z->what, part);
  return GLAB_OK;
}

/* The end record's fields, from the zip64 record where the 32-bit ones are
** saturated.  count, cd_at and cd_size come back. */
static glab_status find_directory(glab_zip *z, uint64_t *count, uint64_t *cd_at, uint64_t *cd_size) {
  unsigned char tail[65557];
  size_t n = z->size < sizeof tail ? (size_t)z->size : sizeof tail;
  glab_status s = read_at(z, tail, z->size - n, n, "end record");
  if (s != GLAB_OK) return s;
  long end = -1;
  for (long i = (long)n - 22; i >= 0 && end < 0; i--)
    if (le(tail + i, 4) == SIG_END) end = i;
  if (end < 0) return glab_fail(GLAB_EFORMAT, "%s: not a zip archive (no end-of-directory record)", z->what);
  const unsigned char *e = tail + end;
  *count = le(e + 10, 2);
  *cd_size = le(e + 12, 4);
  *cd_at = le(e + 16, 4);
  if (*count == 0xffff || *cd_size == U32MAX || *cd_at == U32MAX) {
    uint64_t end_at = z->size - n + (uint64_t)end;
    unsigned char loc[20], r64[56];
    if (end_at < 20 || (s = read_at(z, loc, end_at - 20, 20, "zip64 locator")) != GLAB_OK ||
        le(loc, 4) != SIG_LOC64)
      return s ? s : glab_fail(GLAB_EFORMAT, "%s: saturated end record without a zip64 locator", z->what);
    if ((s = read_at(z, r64, le(loc + 8, 8), 56, "zip64 end record")) != GLAB_OK) return s;
    if (le(r64, 4) != SIG_END64) return glab_fail(GLAB_EFORMAT, "%s: bad zip64 end record", z->what);
    *count = le(r64 + 32, 8);
    *cd_size = le(r64 + 40, 8);
    *cd_at = le(r64 + 48, 8);
  }
  if (*cd_at > z->size || *cd_size > z->size - *cd_at)
    return glab_fail(GLAB_EFORMAT, "%s: the central directory (%llu bytes at %llu) exceeds the file",
                     z->what, (unsigned long long)*cd_size, (unsigned long long)*cd_at);
  if (*count > MAX_ENTRIES || *count * 46 > *cd_size)
    return glab_fail(GLAB_EFORMAT, "%s: %llu members do not fit a %llu-byte directory", z->what,
                     (unsigned long long)*count, (unsigned long long)*cd_size);
  return GLAB_OK;
}

/* The zip64 extra field (id 1) replaces each saturated value, in order. */
static void zip64_extra(glab_zip_entry *e, const unsigned char *x, size_t n, int off32_saturated) {
  while (n >= 4) {
    size_t id = (size_t)le(x, 2), len = (size_t)le(x + 2, 2);
    if (len > n - 4) return;
    if (id == 1) {
      const unsigned char *p = x + 4, *end = x + 4 + len;
      if (e->usize == U32MAX && p + 8 <= end) e->usize = le(p, 8), p += 8;
      if (e->csize == U32MAX && p + 8 <= end) e->csize = le(p, 8), p += 8;
      if (off32_saturated && p + 8 <= end) e->header_at = le(p, 8);
      return;
    }
    x += 4 + len;
    n -= 4 + len;
  }
}

static glab_status parse_directory(glab_zip *z, const unsigned char *cd, uint64_t size, uint64_t count) {
  uint64_t at = 0;
  for (uint64_t i = 0; i < count; i++) {
    const unsigned char *r = cd + at;
    if (size - at < 46 || le(r, 4) != SIG_CENTRAL)
      return glab_fail(GLAB_EFORMAT, "%s: directory record %llu is damaged", z->what, (unsigned long long)i + 1);
    size_t nl = (size_t)le(r + 28, 2), xl = (size_t)le(r + 30, 2), cl = (size_t)le(r + 32, 2);
    if (46 + nl + xl + cl > size - at)
      return glab_fail(GLAB_EFORMAT, "%s: directory record %llu overruns the directory", z->what,
                       (unsigned long long)i + 1);
    glab_zip_entry *e = &z->e[z->n];
    if (!(e->name = malloc(nl + 1))) return glab_fail(GLAB_ENOMEM, "%s: out of memory", z->what);
    z->n++;
    memcpy(e->name, r + 46, nl);
    e->name[nl] = '\0';
    e->method = (int)le(r + 10, 2);
    e->crc = (uint32_t)le(r + 16, 4);
    e->csize = le(r + 20, 4);
    e->usize = le(r + 24, 4);
    e->header_at = le(r + 42, 4);
    zip64_extra(e, r + 46 + nl, xl, e->header_at == U32MAX);
    if (le(r + 8, 2) & 1) return glab_fail(GLAB_EFORMAT, "%s: member %s is encrypted", z->what, e->name);
    at += 46 + nl + xl + cl;
  }
  return GLAB_OK;
}

static int by_offset(const void *a, const void *b) {
  uint64_t x = (*(glab_zip_entry *const *)a)->header_at, y = (*(glab_zip_entry *const *)b)->header_at;
  return (x > y) - (x < y);
}

/* Each member's header and data must lie apart from the others': members
** that share bytes let a small file expand many times over (a zip bomb). */
static glab_status check_apart(glab_zip *z) {
  glab_zip_entry **by = malloc((size_t)(z->n ? z->n : 1) * sizeof *by);
  if (!by) return glab_fail(GLAB_ENOMEM, "%s: out of memory", z->what);
  for (int i = 0; i < z->n; i++) by[i] = &z->e[i];
  qsort(by, (size_t)z->n, sizeof *by, by_offset);
  glab_status s = GLAB_OK;
  for (int i = 1; i < z->n && s == GLAB_OK; i++)
    if (by[i]->header_at - by[i - 1]->header_at < 30 + by[i - 1]->csize)
      s = glab_fail(GLAB_EFORMAT, "%s: members %s and %s overlap in the file", z->what,
                    by[i - 1]->name, by[i]->name);
  free(by);
  return s;
}

glab_status glab_zip_open(glab_zip *z, const char *path, const char *op) {
  memset(z, 0, sizeof *z);
  snprintf(z->what, sizeof z->what, "%s: %s", op, path);
  glab_status s = glab_open_read(&z->f, path, op);
  if (s != GLAB_OK) return s;
  off_t size;
  uint64_t count = 0, cd_at = 0, cd_size = 0;
  if (fseeko(z->f, 0, SEEK_END) != 0 || (size = ftello(z->f)) < 0)
    s = glab_fail(GLAB_EIO, "%s: cannot read the file", z->what);
  else z->size = (uint64_t)size;
  if (s == GLAB_OK) s = find_directory(z, &count, &cd_at, &cd_size);
  unsigned char *cd = NULL;
  if (s == GLAB_OK && (!(cd = malloc(cd_size + 1)) || !(z->e = calloc(count + 1, sizeof *z->e))))
    s = glab_fail(GLAB_ENOMEM, "%s: out of memory for the directory", z->what);
  if (s == GLAB_OK) s = read_at(z, cd, cd_at, (size_t)cd_size, "central directory");
  if (s == GLAB_OK) s = parse_directory(z, cd, cd_size, count);
  if (s == GLAB_OK) s = check_apart(z);
  free(cd);
  if (s != GLAB_OK) glab_zip_close(z);
  return s;
}

int glab_zip_find(const glab_zip *z, const char *name) {
  for (int i = 0; i < z->n; i++)
    if (strcmp(z->e[i].name, name) == 0) return i;
  return -1;
}

glab_status glab_zip_data_at(uint64_t *at, glab_zip *z, int i) {
  glab_zip_entry *e = &z->e[i];
  unsigned char h[30];
  glab_status s = read_at(z, h, e->header_at, 30, "local header");
  if (s != GLAB_OK) return s;
  if (le(h, 4) != SIG_LOCAL)
    return glab_fail(GLAB_EFORMAT, "%s: member %s: bad local header", z->what, e->name);
  size_t nl = (size_t)le(h + 26, 2);                 /* the local header names the member too */
  char *name = nl == strlen(e->name) ? malloc(nl + 1) : NULL;
  int same = name && read_at(z, name, e->header_at + 30, nl, "local header") == GLAB_OK &&
             memcmp(name, e->name, nl) == 0;
  free(name);
  if (!same)
    return glab_fail(GLAB_EFORMAT, "%s: member %s: its local header names another member",
                     z->what, e->name);
  *at = e->header_at + 30 + le(h + 26, 2) + le(h + 28, 2);
  if (*at > z->size || e->csize > z->size - *at)
    return glab_fail(GLAB_EFORMAT, "%s: member %s claims %llu bytes at byte %llu; the file has %llu",
                     z->what, e->name, (unsigned long long)e->csize, (unsigned long long)*at,
                     (unsigned long long)z->size);
  return GLAB_OK;
}

glab_status glab_zip_member(glab_reader *r, glab_zip *z, int i) {
  glab_zip_entry *e = &z->e[i];
  char what[320];
  snprintf(what, sizeof what, "%s: member %s", z->what, e->name);
  memset(r, 0, sizeof *r);
  if (e->method != 0 && e->method != 8)
    return glab_fail(GLAB_EFORMAT, "%s: compression method %d (only stored and deflate are read)",
                     what, e->method);
  uint64_t at;
  glab_status s = glab_zip_data_at(&at, z, i);
  if (s != GLAB_OK) return s;
  return glab_reader_range(r, z->f, at, e->csize, e->method == 8, e->usize, e->crc, 1, what);
}

void glab_zip_close(glab_zip *z) {
  if (z->f) fclose(z->f);
  for (int i = 0; i < z->n; i++) free(z->e[i].name);
  free(z->e);
  memset(z, 0, sizeof *z);
}

/* ---- writing ----------------------------------------------------------------- */

glab_status glab_zipw_open(glab_zipw *w, const char *path) {
  memset(w, 0, sizeof *w);
  return glab_afile_open(&w->out, path);
}

static glab_status emit(glab_zipw *w, const void *p, size_t n) {
  w->at += n;
  return glab_afile_write(&w->out, p, n);
}

/* A local header: zip64 sizes in an extra field when the member may pass
** 4 GiB; padding in a second extra field (id 0xfb46, as PyTorch's) up to
** align. */
static glab_status local_header(glab_zipw *w, const glab_zip_entry *e, int big, unsigned align) {
  size_t nl = strlen(e->name), xl = big ? 20 : 0;
  if (align) {
    size_t at = (size_t)(w->at + 30 + nl + xl);
    size_t pad = (align - (at + 4) % align) % align;
    xl += 4 + pad;
  }
  unsigned char h[30 + 65536 + 64] = {0};
  put_le(h, SIG_LOCAL, 4);
  put_le(h + 4, big ? 45 : 20, 2);
  put_le(h + 8, (uint64_t)e->method, 2);
  put_le(h + 14, e->crc, 4);
  put_le(h + 18, big ? U32MAX : e->csize, 4);
  put_le(h + 22, big ? U32MAX : e->usize, 4);
  put_le(h + 26, nl, 2);
  put_le(h + 28, xl, 2);
  memcpy(h + 30, e->name, nl);
  unsigned char *x = h + 30 + nl;
  if (big) {
    put_le(x, 1, 2);
    put_le(x + 2, 16, 2);
    put_le(x + 4, e->usize, 8);
    put_le(x + 12, e->csize, 8);
    x += 20;
  }
  if (align) {
    put_le(x, 0xfb46, 2);
    put_le(x + 2, xl - (big ? 20 : 0) - 4, 2);
  }
  return emit(w, h, 30 + nl + xl);
}

static uint32_t crc_of(const glab_piece *pc, int np) {
  uLong c = crc32(0L, Z_NULL, 0);
  for (int i = 0; i < np; i++) c = crc32_z(c, pc[i].p, pc[i].n);
  return (uint32_t)c;
}

/* Deflate the pieces into the file; e->csize comes back. */
static glab_status deflate_pieces(glab_zipw *w, glab_zip_entry *e, const glab_piece *pc, int np) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return glab_fail(GLAB_ENOMEM, "cannot write %s: zlib failed to start", w->out.path);
  unsigned char out[1 << 16];
  glab_status s = GLAB_OK;
  uint64_t start = w->at;
  for (int i = 0; i <= np && s == GLAB_OK; i++) {
    const unsigned char *p = i < np ? pc[i].p : NULL;
    size_t left = i < np ? pc[i].n : 0;
    int flush = i < np ? Z_NO_FLUSH : Z_FINISH, z;
    do {
      size_t k = left > (1u << 30) ? (1u << 30) : left;
      zs.next_in = (unsigned char *)p;
      zs.avail_in = (uInt)k;
      do {
        zs.next_out = out;
        zs.avail_out = sizeof out;
        z = deflate(&zs, k == left ? flush : Z_NO_FLUSH);
        s = emit(w, out, sizeof out - zs.avail_out);
      } while (s == GLAB_OK && zs.avail_out == 0);
      p += k;
      left -= k;
    } while (s == GLAB_OK && left > 0);
    if (flush == Z_FINISH && s == GLAB_OK && z != Z_STREAM_END)
      s = glab_fail(GLAB_EIO, "cannot write %s: zlib could not finish", w->out.path);
  }
  deflateEnd(&zs);
  e->csize = w->at - start;
  return s;
}

glab_status glab_zipw_add(glab_zipw *w, const char *name, const glab_piece *pieces, int npieces,
                          int deflate, unsigned align) {
  if (strlen(name) > 65535) return glab_fail(GLAB_EARG, "zip: member name too long");
  if (w->n == w->cap) {
    int cap = w->cap ? 2 * w->cap : 16;
    glab_zip_entry *e = realloc(w->e, (size_t)cap * sizeof *e);
    if (!e) return glab_fail(GLAB_ENOMEM, "cannot write %s: out of memory", w->out.path);
    w->e = e;
    w->cap = cap;
  }
  glab_zip_entry *e = &w->e[w->n];
  memset(e, 0, sizeof *e);
  if (!(e->name = strdup(name))) return glab_fail(GLAB_ENOMEM, "cannot write %s: out of memory", w->out.path);
  w->n++;
  for (int i = 0; i < npieces; i++) e->usize += pieces[i].n;
  e->crc = crc_of(pieces, npieces);
  e->method = deflate ? 8 : 0;
  e->csize = deflate ? 0 : e->usize;
  e->header_at = w->at;
  int big = e->usize >= U32MAX - (1u << 20);       /* deflate may grow a little */
  glab_status s = local_header(w, e, big, align);
  if (s != GLAB_OK) return s;
  if (!deflate) {
    for (int i = 0; i < npieces && s == GLAB_OK; i++) s = emit(w, pieces[i].p, pieces[i].n);
    return s;
  }
  if ((s = deflate_pieces(w, e, pieces, npieces)) != GLAB_OK) return s;
  /* the compressed size is known now: patch it into the local header,
  ** in the zip64 extra (after usize) for a big member */
  unsigned char v[8];
  int k = big ? 8 : 4;
  off_t where = (off_t)(big ? e->header_at + 30 + strlen(name) + 12 : e->header_at + 18);
  put_le(v, e->csize, k);
  if (fseeko(w->out.f, where, SEEK_SET) != 0 || fwrite(v, 1, (size_t)k, w->out.f) != (size_t)k ||
      fseeko(w->out.f, 0, SEEK_END) != 0)
    return glab_fail(GLAB_EIO, "cannot write %s: cannot patch a header", w->out.path);
  return GLAB_OK;
}

static glab_status central_record(glab_zipw *w, const glab_zip_entry *e) {
  int big = e->usize >= U32MAX || e->csize >= U32MAX || e->header_at >= U32MAX;
  size_t nl = strlen(e->name), xl = big ? 28 : 0;
  unsigned char h[46 + 28];
  memset(h, 0, sizeof h);
  put_le(h, SIG_CENTRAL, 4);
  put_le(h + 4, 45, 2);
  put_le(h + 6, big ? 45 : 20, 2);
  put_le(h + 10, (uint64_t)e->method, 2);
  put_le(h + 16, e->crc, 4);
  put_le(h + 20, big ? U32MAX : e->csize, 4);
  put_le(h + 24, big ? U32MAX : e->usize, 4);
  put_le(h + 28, nl, 2);
  put_le(h + 30, xl, 2);
  put_le(h + 42, big ? U32MAX : e->header_at, 4);
  glab_status s = emit(w, h, 46);
  if (s == GLAB_OK) s = emit(w, e->name, nl);
  if (s == GLAB_OK && big) {
    unsigned char *x = h + 46;
    put_le(x, 1, 2);
    put_le(x + 2, 24, 2);
    put_le(x + 4, e->usize, 8);
    put_le(x + 12, e->csize, 8);
    put_le(x + 20, e->header_at, 8);
    s = emit(w, x, 28);
  }
  return s;
}

glab_status glab_zipw_close(glab_zipw *w) {
  uint64_t cd_at = w->at;
  glab_status s = GLAB_OK;
  for (int i = 0; i < w->n && s == GLAB_OK; i++) s = central_record(w, &w->e[i]);
  uint64_t cd_size = w->at - cd_at, end64_at = w->at;
  int big = w->n >= 0xffff || cd_at >= U32MAX || cd_size >= U32MAX;
  unsigned char r[56 + 20 + 22];
  memset(r, 0, sizeof r);
  size_t n = 0;
  if (big) {
    put_le(r, SIG_END64, 4);
    put_le(r + 4, 44, 8);
    put_le(r + 12, 45, 2);
    put_le(r + 14, 45, 2);
    put_le(r + 24, (uint64_t)w->n, 8);
    put_le(r + 32, (uint64_t)w->n, 8);
    put_le(r + 40, cd_size, 8);
    put_le(r + 48, cd_at, 8);
    put_le(r + 56, SIG_LOC64, 4);
    put_le(r + 64, end64_at, 8);
    put_le(r + 72, 1, 4);
    n = 76;
  }
  put_le(r + n, SIG_END, 4);
  put_le(r + n + 8, big ? 0xffff : (uint64_t)w->n, 2);
  put_le(r + n + 10, big ? 0xffff : (uint64_t)w->n, 2);
  put_le(r + n + 12, big ? U32MAX : cd_size, 4);
  put_le(r + n + 16, big ? U32MAX : cd_at, 4);
  if (s == GLAB_OK) s = emit(w, r, n + 22);
  if (s == GLAB_OK) s = glab_afile_commit(&w->out);
  for (int i = 0; i < w->n; i++) free(w->e[i].name);
  free(w->e);
  if (s != GLAB_OK) glab_afile_abort(&w->out);
  memset(w, 0, sizeof *w);
  return s;
}

void glab_zipw_abort(glab_zipw *w) {
  glab_afile_abort(&w->out);
  for (int i = 0; i < w->n; i++) free(w->e[i].name);
  free(w->e);
  memset(w, 0, sizeof *w);
}
