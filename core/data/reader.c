/*
** reader.c -- buffered byte sources of known length (see reader.h).
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "reader.h"

static glab_status init(glab_reader *r, const char *what, uint64_t size) {
  memset(r, 0, sizeof *r);
  snprintf(r->what, sizeof r->what, "%s", what);
  r->left = size;
  r->buf = malloc(GLAB_READER_BUF);
  if (!r->buf) return glab_fail(GLAB_ENOMEM, "%s: out of memory", what);
  return GLAB_OK;
}

/* The gzip member that f holds (n bytes, past its 2-byte magic): the raw
** deflate range between header and trailer, and the size and CRC-32 that
** the trailer declares (RFC 1952). */
static glab_status gzip_member(FILE *f, uint64_t n, uint64_t *off, uint64_t *len, uint32_t *size,
                               uint32_t *crc, const char *what) {
  unsigned char h[8], t[8];
  if (fread(h, 1, 8, f) != 8)
    return glab_fail(GLAB_EFORMAT, "%s: a gzip file cut short (%llu bytes)", what, (unsigned long long)n);
  if (h[0] != 8 || (h[1] & 0xe0))
    return glab_fail(GLAB_EFORMAT, "%s: a gzip header with %s", what,
                     h[0] != 8 ? "an unknown compression method" : "reserved flags set");
  int flags = h[1], c = 0;
  if (flags & 4) {                                        /* FEXTRA: a length, then data */
    int lo = fgetc(f), hi = fgetc(f);
    if (hi == EOF || fseek(f, lo | hi << 8, SEEK_CUR) != 0) c = EOF;
  }
  for (int z = 8; z <= 16 && c != EOF; z *= 2)             /* FNAME, FCOMMENT: NUL-ended */
    if (flags & z)
      while ((c = fgetc(f)) != EOF && c != 0) {}
  if (c != EOF && (flags & 2)) c = fseek(f, 2, SEEK_CUR) ? EOF : 0;     /* FHCRC */
  long pos = ftell(f);
  if (c == EOF || pos < 0 || (uint64_t)pos + 8 > n || fseeko(f, (off_t)(n - 8), SEEK_SET) != 0 ||
      fread(t, 1, 8, f) != 8)
    return glab_fail(GLAB_EFORMAT, "%s: a gzip file cut short (%llu bytes)", what, (unsigned long long)n);
  *off = (uint64_t)pos;
  *len = n - 8 - (uint64_t)pos;
  *crc = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
  *size = (uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;
  return GLAB_OK;
}

static glab_status cannot_read(glab_reader *r, FILE *f, const char *op, const char *path) {
  fclose(f);
  memset(r, 0, sizeof *r);
  return glab_fail(GLAB_EIO, "%s: cannot read %s", op, path);
}

glab_status glab_reader_file(glab_reader *r, const char *path, const char *op) {
  char what[320];
  snprintf(what, sizeof what, "%s: %s", op, path);
  FILE *f;
  glab_status s = glab_open_read(&f, path, op);
  if (s != GLAB_OK) {
    memset(r, 0, sizeof *r);
    return s;
  }
  long n;
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    return cannot_read(r, f, op, path);
  }
  unsigned char magic[2] = {0, 0};
  int gz = n >= 2 && fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (gz) {
    uint64_t off = 0, len = 0;
    uint32_t size = 0, crc = 0;
    memset(r, 0, sizeof *r);
    s = gzip_member(f, (uint64_t)n, &off, &len, &size, &crc, what);
    if (s == GLAB_OK) s = glab_reader_range(r, f, off, len, 1, size, crc, 1, what);
    if (s != GLAB_OK) {
      fclose(f);
      return s;
    }
    r->own_file = 1;
    return GLAB_OK;
  }
  if (fseek(f, 0, SEEK_SET) != 0) {
    return cannot_read(r, f, op, path);
  }
  s = init(r, what, (uint64_t)n);
  r->f = f;
  r->own_file = 1;
  r->in_left = (uint64_t)n;
  if (s != GLAB_OK) glab_reader_close(r);
  return s;
}

glab_status glab_reader_range(glab_reader *r, FILE *f, uint64_t off, uint64_t n, int deflate,
                              uint64_t size, uint32_t crc, int check_crc, const char *what) {
  glab_status s = init(r, what, size);
  if (s != GLAB_OK) return s;
  r->f = f;
  r->in_left = n;
  r->want_crc = crc;
  r->check_crc = check_crc;
  r->crc = (uint32_t)crc32(0L, Z_NULL, 0);
  if (!deflate && n != size)
    s = glab_fail(GLAB_EFORMAT, "%s: stored with %llu bytes but declared as %llu", what,
                  (unsigned long long)n, (unsigned long long)size);
  else if (fseeko(f, (off_t)off, SEEK_SET) != 0)
    s = glab_fail(GLAB_EIO, "%s: cannot seek to byte %llu", what, (unsigned long long)off);
  else if (deflate) {
    r->zin = malloc(GLAB_READER_BUF);
    if (!r->zin) s = glab_fail(GLAB_ENOMEM, "%s: out of memory", what);
    else if (inflateInit2(&r->zs, -15) != Z_OK) s = glab_fail(GLAB_ENOMEM, "%s: zlib failed to start", what);
    else r->deflate = 1;
  }
  if (s != GLAB_OK) glab_reader_close(r);
  return s;
}

glab_status glab_reader_mem(glab_reader *r, const void *p, size_t n, const char *what) {
  glab_status s = init(r, what, n);
  r->mem = p;
  r->in_left = n;
  return s;
}

/* The caller's position and what is left for it count the buffered bytes. */
static glab_status truncated(glab_reader *r, uint64_t want) {
  uint64_t have = r->blen - r->bpos;
  return glab_fail(GLAB_EFORMAT, "%s: truncated: %llu bytes wanted at byte %llu, %llu left", r->what,
                   (unsigned long long)want, (unsigned long long)(r->pos - have),
                   (unsigned long long)(r->left + have));
}

/* Exactly n bytes from the raw source into dst. */
static glab_status take_raw(glab_reader *r, unsigned char *dst, size_t n) {
  if (n > r->in_left)
    return glab_fail(GLAB_EFORMAT, "%s: truncated at byte %llu", r->what, (unsigned long long)r->pos);
  if (r->mem) {
    memcpy(dst, r->mem, n);
    r->mem += n;
  } else if (fread(dst, 1, n, r->f) != n) {
    return glab_fail(GLAB_EIO, "%s: read failed at byte %llu (the file is shorter than it was?)",
                     r->what, (unsigned long long)r->pos);
  }
  r->in_left -= n;
  return GLAB_OK;
}

/* Exactly n bytes inflated into dst. */
static glab_status take_deflate(glab_reader *r, unsigned char *dst, size_t n) {
  size_t done = 0;
  while (done < n) {
    size_t chunk = n - done > (1u << 30) ? (1u << 30) : n - done;
    r->zs.next_out = dst + done;
    r->zs.avail_out = (uInt)chunk;
    while (r->zs.avail_out > 0) {
      if (r->zs.avail_in == 0) {
        size_t k = r->in_left < GLAB_READER_BUF ? (size_t)r->in_left : GLAB_READER_BUF;
        if (k == 0)
          return glab_fail(GLAB_EFORMAT, "%s: compressed data ends after %llu of %llu bytes",
                           r->what, (unsigned long long)(r->pos + done + chunk - r->zs.avail_out),
                           (unsigned long long)(r->pos + r->left));
        glab_status s = take_raw(r, r->zin, k);
        if (s != GLAB_OK) return s;
        r->zs.next_in = r->zin;
        r->zs.avail_in = (uInt)k;
      }
      int z = inflate(&r->zs, Z_NO_FLUSH);
      if (z == Z_STREAM_END && r->zs.avail_out > 0)
        return glab_fail(GLAB_EFORMAT, "%s: compressed data expands to fewer bytes than the %llu declared",
                         r->what, (unsigned long long)(r->pos + r->left));
      if (z != Z_OK && z != Z_STREAM_END && z != Z_BUF_ERROR)
        return glab_fail(GLAB_EFORMAT, "%s: corrupt compressed data near byte %llu (%s)", r->what,
                         (unsigned long long)r->pos, r->zs.msg ? r->zs.msg : "zlib error");
    }
    done += chunk;
  }
  return GLAB_OK;
}

/* n bytes from the source (n <= left), counted and checked. */
static glab_status take(glab_reader *r, unsigned char *dst, size_t n) {
  glab_status s = r->deflate ? take_deflate(r, dst, n) : take_raw(r, dst, n);
  if (s != GLAB_OK) return s;
  if (r->check_crc) r->crc = (uint32_t)crc32_z(r->crc, dst, n);
  r->pos += n;
  r->left -= n;
  if (r->left == 0 && r->check_crc && r->crc != r->want_crc)
    return glab_fail(GLAB_EFORMAT, "%s: CRC-32 mismatch (%08x, the archive says %08x): the data is damaged",
                     r->what, r->crc, r->want_crc);
  return GLAB_OK;
}

glab_status glab_reader_read(glab_reader *r, void *dst, size_t n) {
  unsigned char *d = dst;
  size_t have = r->blen - r->bpos;
  if (n <= have) {                        /* the common case: a few bytes from the buffer */
    memcpy(d, r->buf + r->bpos, n);
    r->bpos += n;
    return GLAB_OK;
  }
  if (n - have > r->left) return truncated(r, n);
  memcpy(d, r->buf + r->bpos, have);
  d += have;
  n -= have;
  r->bpos = r->blen = 0;
  if (n >= GLAB_READER_BUF / 2) return take(r, d, n);
  size_t fill = r->left < GLAB_READER_BUF ? (size_t)r->left : GLAB_READER_BUF;
  glab_status s = take(r, r->buf, fill);
  if (s != GLAB_OK) return s;
  r->blen = fill;
  memcpy(d, r->buf, n);
  r->bpos = n;
  return GLAB_OK;
}

glab_status glab_reader_skip(glab_reader *r, uint64_t n) {
  unsigned char tmp[4096];
  while (n > 0) {
    size_t k = n < sizeof tmp ? (size_t)n : sizeof tmp;
    glab_status s = glab_reader_read(r, tmp, k);
    if (s != GLAB_OK) return s;
    n -= k;
  }
  return GLAB_OK;
}

void glab_reader_close(glab_reader *r) {
  if (r->deflate) inflateEnd(&r->zs);
  if (r->own_file && r->f) fclose(r->f);
  free(r->zin);
  free(r->buf);
  memset(r, 0, sizeof *r);
}
