/*
** zip.h -- the zip container of numpy's .npz and PyTorch's .pt files:
** reading members (stored or deflated, zip64 included) and writing an
** archive member by member.
**
**     glab_zip z;
**     glab_reader r;
**     if (glab_zip_open(&z, "model.pt", "load_pt") != GLAB_OK) return ...;
**     int i = glab_zip_find(&z, "archive/data.pkl");
**     if (i >= 0 && glab_zip_member(&r, &z, i) == GLAB_OK) { ... glab_reader_close(&r); }
**     glab_zip_close(&z);
**
** The central directory is read whole and every member's extent is checked
** against the file before its bytes are read, so a lying size is an error
** naming the archive and the member.  Encrypted members and methods other
** than stored and deflate are refused by name.
*/
#ifndef GLAB_ZIP_H
#define GLAB_ZIP_H

#include "io.h"
#include "reader.h"

typedef struct glab_zip_entry {
  char *name;
  uint64_t header_at;           /* the local header's offset */
  uint64_t csize, usize;
  uint32_t crc;
  int method;                   /* 0 stored, 8 deflate */
} glab_zip_entry;

typedef struct glab_zip {
  FILE *f;
  uint64_t size;
  int n;
  glab_zip_entry *e;
  char what[300];               /* "op: path" */
} glab_zip;

glab_status glab_zip_open(glab_zip *z, const char *path, const char *op);
/* Index of the member called name, or -1. */
int glab_zip_find(const glab_zip *z, const char *name);
/* A reader over member i's uncompressed bytes (CRC-32 checked at its end). */
glab_status glab_zip_member(glab_reader *r, glab_zip *z, int i);
/* Where member i's data begins in the file (for stored members, the bytes
** themselves). */
glab_status glab_zip_data_at(uint64_t *at, glab_zip *z, int i);
void glab_zip_close(glab_zip *z);

/* ---- writing ---------------------------------------------------------------- */

typedef struct glab_zipw {
  glab_afile out;
  uint64_t at;                  /* bytes written so far */
  int n, cap;
  glab_zip_entry *e;
} glab_zipw;

/* One member's bytes as consecutive pieces (an NPY header, then the data). */
typedef struct glab_piece {
  const void *p;
  size_t n;
} glab_piece;

glab_status glab_zipw_open(glab_zipw *w, const char *path);
/* Add a member; deflate compresses it, align > 0 pads the local header so
** that the data begins at a multiple of align (PyTorch mmaps its storages
** at 64). */
glab_status glab_zipw_add(glab_zipw *w, const char *name, const glab_piece *pieces, int npieces,
                          int deflate, unsigned align);
/* Write the central directory and move the file into place. */
glab_status glab_zipw_close(glab_zipw *w);
/* Drop a half-written archive (also after a failed add). */
void glab_zipw_abort(glab_zipw *w);

#endif
