/*
** reader.h -- a buffered byte source with a known length: a whole file, a
** range of one (a stored zip member), a raw-deflate stream inside one (a
** deflated zip member), or memory.  The pickle, NPY and zip readers take
** their bytes from here, so each format is parsed once whatever carries it.
**
**     glab_reader r;
**     if (glab_reader_file(&r, "cpts.pkl", "read_pickle") != GLAB_OK) return ...;
**     unsigned char op;
**     glab_status s = glab_reader_read(&r, &op, 1);   // "read_pickle: cpts.pkl:
**     glab_reader_close(&r);                          //  truncated at byte 0"
**
** The length is known before the first byte is read (the file's size, the
** member's uncompressed size), so a parser checks any length a header
** claims against glab_reader_left() before it allocates for it.  Large reads
** bypass the buffer and land straight in the caller's memory: decoding a
** 500 MB array costs one copy, from the kernel into tensor storage.  A
** deflated member's CRC-32 is checked when its last byte has been read.
**
** A file that starts with gzip's magic (1f 8b) reads as what it compresses:
** the course hands out image_cpts.pkl.gz, and read_pickle takes it as is.
** The length is the trailer's ISIZE, so one member of less than 4 GiB
** uncompressed; its CRC-32 is checked as a zip member's.
*/
#ifndef GLAB_READER_H
#define GLAB_READER_H

#include <stdint.h>
#include <stdio.h>
#include <zlib.h>

#include "../glab.h"

#define GLAB_READER_BUF (64 << 10)

typedef struct glab_reader {
  FILE *f;                      /* file sources; NULL for memory */
  int own_file;                 /* close f in glab_reader_close */
  const unsigned char *mem;     /* memory source */
  uint64_t in_left;             /* source bytes (compressed for deflate) not yet taken */
  uint64_t left;                /* bytes not yet taken from the source */
  uint64_t pos;                 /* bytes taken from the source so far */
  int deflate;                  /* 1: raw deflate, zs live */
  z_stream zs;
  unsigned char *zin;           /* compressed input buffer */
  uint32_t crc, want_crc;       /* running and expected CRC-32 (deflate, or check_crc) */
  int check_crc;
  unsigned char *buf;           /* GLAB_READER_BUF bytes */
  size_t bpos, blen;
  char what[320];               /* "op: file" or "op: file: member" for messages */
} glab_reader;

/* The whole of path, or what it compresses when it is gzip. */
glab_status glab_reader_file(glab_reader *r, const char *path, const char *op);
/* n bytes of f from offset off (f stays the caller's).  With deflate set the
** range holds raw deflate data that expands to exactly size bytes with the
** given CRC-32; else size must equal n.  what names the source in messages. */
glab_status glab_reader_range(glab_reader *r, FILE *f, uint64_t off, uint64_t n, int deflate,
                              uint64_t size, uint32_t crc, int check_crc, const char *what);
/* n bytes at p (which must outlive the reader). */
glab_status glab_reader_mem(glab_reader *r, const void *p, size_t n, const char *what);

/* Exactly n bytes into dst, else a failure "<what>: truncated ...". */
glab_status glab_reader_read(glab_reader *r, void *dst, size_t n);
/* Skip n bytes. */
glab_status glab_reader_skip(glab_reader *r, uint64_t n);
/* Bytes still to come, and bytes delivered so far. */
static inline uint64_t glab_reader_left(const glab_reader *r) { return r->left + (r->blen - r->bpos); }
static inline uint64_t glab_reader_pos(const glab_reader *r) { return r->pos - (r->blen - r->bpos); }
void glab_reader_close(glab_reader *r);

#endif
