/*
** io.h -- reading and writing the file formats of the course data:
** IDX (MNIST, Fashion-MNIST; plain or gzip), NPY (numpy arrays), and images
** (PNG/JPEG/... read through stb_image, PNG written around zlib).
**
**     glab_tensor x = GLAB_TENSOR_EMPTY;
**     if (glab_idx_read(&x, "data/mnist/train-images-idx3-ubyte", -1, GLAB_F32))
**       fprintf(stderr, "%s\n", glab_errmsg());
**     // x: (60000x28x28) float32 holding the raw bytes 0..255
**
** Every reader checks the sizes a header declares against the length of the
** file (for gzip, the uncompressed length its trailer records) before it
** allocates or reads, so a truncated or lying file is an error naming the
** file and the field, never a crash or an allocation the file cannot fill.
** Writers go through a temporary file and rename(2): a crash never leaves a
** half-written file under the final name.
*/
#ifndef GLAB_IO_H
#define GLAB_IO_H

#include <stdio.h>

#include "../tensor/tensor.h"

/* IDX: the first `limit` items (all when limit < 0), values as stored
** (bytes 0..255, not scaled), converted to dt.  gzip is detected by magic. */
glab_status glab_idx_read(glab_tensor *out, const char *path, int64_t limit,
                          glab_dtype dt);
/* The same for a file of unsigned bytes (else an error), as float32 intensities b / 255. */
glab_status glab_idx_read_unit(glab_tensor *out, const char *path, int64_t limit);
/* Write t as an IDX file of unsigned bytes (values rounded, clamped to
** 0..255) -- the format's common case, used by tests and tools. */
glab_status glab_idx_write_u8(const char *path, const glab_tensor *t);

/* NPY: little-endian f4 and f8 keep their dtype; b1 and u1 become float32,
** the other integers (i1 to i8, u2, u4) float64 (exact below 2^53).  A
** Fortran-order array comes back as a strided view of the same values.
** Object arrays and big-endian data are rejected with a message. */
glab_status glab_npy_read(glab_tensor *out, const char *path);
glab_status glab_npy_write(const char *path, const glab_tensor *t);
/* The NPY header (magic to newline, 64-aligned) for t's dtype and shape, C
** order; returns its length, at most GLAB_NPY_HEADER_MAX. */
#define GLAB_NPY_HEADER_MAX 512
/* One NPY array from a reader (reader.h): a file, a zip member, memory. */
struct glab_reader;
glab_status glab_npy_read_from(glab_tensor *out, struct glab_reader *r);
size_t glab_npy_header(unsigned char *out, const glab_tensor *t);

/* NPZ: numpy's zip of .npy members, stored or deflated.  *names (without
** the .npy suffix) and *ts belong to the caller (glab_ckpt_free frees
** them).  A member that is not a valid NPY is an error naming it. */
glab_status glab_npz_read(const char *path, int *n, char ***names, glab_tensor **ts);
/* Written atomically; deflate compresses the members (np.savez_compressed). */
glab_status glab_npz_write(const char *path, int n, const char *const *names,
                           const glab_tensor *const *ts, int deflate);

/* An image as float32 in [0, 1]: (H, W) for gray files or when gray is set
** (ITU-R BT.601 luma), else (H, W, 3); alpha is dropped.  16-bit PNGs keep
** their precision.  An image of more than max_pixels pixels (W * H; 0 for
** GLAB_IMAGE_MAX_PIXELS) is refused from its header, before it is decoded:
** a small file can claim a huge image (a decompression bomb). */
#define GLAB_IMAGE_MAX_PIXELS ((int64_t)1 << 26)   /* 8192 x 8192: 1 GiB at most as RGB */
glab_status glab_image_read(glab_tensor *out, const char *path, int gray, int64_t max_pixels);
/* (H, W), (H, W, 3) or (H, W, 4) with values clamped to [0, 1]. */
glab_status glab_image_write_png(const char *path, const glab_tensor *img);
/* 8-bit pixels (h rows of w * channels bytes, channels 1..4) as a PNG. */
glab_status glab_png_write_u8(const char *path, const uint8_t *px, int w, int h, int channels);
/* Luma Y = 0.299 R + 0.587 G + 0.114 B of an (..., 3) tensor. */
glab_status glab_image_to_gray(glab_tensor *out, const glab_tensor *rgb);

/* path opened for reading ("rb"), or a failure "op: cannot open PATH: why";
** a directory is refused as "op: PATH is a directory" (fopen opens one, and
** its size then reads as ~2^63 or its first read fails). */
glab_status glab_open_read(FILE **f, const char *path, const char *op);

/* The whole file in a malloc'd buffer (one spare byte at the end), refusing
** files over max bytes; op names the caller in messages. */
glab_status glab_read_file(unsigned char **buf, long *n, const char *path, long max,
                           const char *op);

/* Checkpoints: named tensors in one file (format in checkpoint.c).  Written
** through glab_write_atomic with a CRC-32 of the whole; read with the CRC
** and every size checked against the file length.  Names are at most 255
** bytes, at most 100000 entries. */
glab_status glab_ckpt_write(const char *path, int n, const char *const *names,
                            const glab_tensor *const *ts);
/* *names (malloc'd strings) and *ts (an array of n tensors) belong to the
** caller, who frees them with glab_ckpt_free. */
glab_status glab_ckpt_read(const char *path, int *n, char ***names, glab_tensor **ts);
void glab_ckpt_free(int n, char **names, glab_tensor *ts);

/* Write `n` bytes to path through a temporary + fsync + rename (+ directory
** fsync).  The temporary, "<path>.<12 random hex digits>.tmp", is created
** with O_EXCL | O_NOFOLLOW and mode 0666 less the umask: a symlink planted
** beside the target is never written through, and two writers of one path
** never share a temporary (the last rename wins, whole). */
glab_status glab_write_atomic(const char *path, const void *data, size_t n);

/* The same, streamed: open creates the temporary, commit syncs and renames
** it over path, abort removes it.  After a failed write, call abort. */
typedef struct glab_afile {
  FILE *f;
  char path[4096], tmp[4096];
} glab_afile;
glab_status glab_afile_open(glab_afile *a, const char *path);
glab_status glab_afile_write(glab_afile *a, const void *p, size_t n);
glab_status glab_afile_commit(glab_afile *a);
void glab_afile_abort(glab_afile *a);

#endif
