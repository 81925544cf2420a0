/*
** ldata.c -- genlab.data: file formats, the course data sets, patches and
** minibatches; and genlab.save / load, the checkpoints.  The data live
** under data/ (fetched by `make data`), or wherever GENLAB_DATA points.
*/
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/data/io.h"
#include "../core/data/patches.h"
#include "laux.h"

#ifndef GENLAB_DATA_DIR
#define GENLAB_DATA_DIR "data"
#endif

/* Photos of the training set; the last one is held out for denoising demos. */
static const char *const photo_names[] = {
  "acanthus-mollis", "airplane-from-above", "allium-oreophilum", "black-canyon",
  "dust-bowl-home", "french-alpine-landscape", "march-pastoral", "nagasaki-boats", NULL
};
#define HOLDOUT_PHOTO "nagasaki-boats"


static const char *data_root(void) {
  const char *d = getenv("GENLAB_DATA");
  return d && *d ? d : GENLAB_DATA_DIR;
}

/* Push the path of a data file, checking that it exists. */
static const char *data_file(lua_State *L, const char *rel, const char *group) {
  const char *path = lua_pushfstring(L, "%s/%s", data_root(), rel);
  if (access(path, R_OK) != 0)
    luaL_error(L, "data: %s is missing: run `make data` (or vendor/fetch-data.sh %s)", path, group);
  return path;
}

/* ---- formats ------------------------------------------------------------------ */

static int d_read_idx(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lg_checkopts(L, 2, OPTS("limit", "dtype"));
  int64_t limit = lg_optposint(L, 2, "limit", -1);         /* -1: all */
  glab_dtype dt = lg_optdtype(L, 2, lg_default_dtype(L));
  lg_try(L, glab_idx_read(lg_push(L), path, limit, dt));
  return 1;
}

static int d_write_idx(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lg_try(L, glab_idx_write_u8(path, lg_check(L, 2)));
  return 0;
}

static int d_write_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t n;
  const char *bytes = luaL_checklstring(L, 2, &n);
  lg_try(L, glab_write_atomic(path, bytes, n));
  return 0;
}

static int d_read_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer max = luaL_optinteger(L, 2, (lua_Integer)1 << 30);
  luaL_argcheck(L, max >= 0, 2, "the byte limit must be 0 or more");
  unsigned char *buf;
  long n;
  lg_try(L, glab_read_file(&buf, &n, path, (long)max, "read_file"));
  lua_pushlstring(L, (const char *)buf, (size_t)n);
  free(buf);
  return 1;
}

static int d_read_npy(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lg_try(L, glab_npy_read(lg_push(L), path));
  return 1;
}

static int d_write_npy(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lg_try(L, glab_npy_write(path, lg_check(L, 2)));
  return 0;
}

static int d_read_image(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lg_checkopts(L, 2, OPTS("gray", "max_pixels"));
  int gray = lg_optbool(L, 2, "gray", 0);
  int64_t max_pixels = lg_optposint(L, 2, "max_pixels", GLAB_IMAGE_MAX_PIXELS);
  lg_try(L, glab_image_read(lg_push(L), path, gray, max_pixels));
  return 1;
}

static int d_write_png(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lg_try(L, glab_image_write_png(path, lg_check(L, 2)));
  return 0;
}

static int d_to_gray(lua_State *L) {
  glab_tensor *rgb = lg_check(L, 1);
  lg_try(L, glab_image_to_gray(lg_push(L), rgb));
  return 1;
}

/* ---- patches ------------------------------------------------------------------ */

/* images: one tensor or a list of them; their pointers in a userdata array. */
static const glab_tensor **image_list(lua_State *L, int i, int *n) {
  if (lg_test(L, i)) {
    const glab_tensor **one = lua_newuserdatauv(L, sizeof *one, 0);
    one[0] = lg_check(L, i);
    *n = 1;
    return one;
  }
  luaL_checktype(L, i, LUA_TTABLE);
  *n = (int)lua_rawlen(L, i);
  if (*n < 1) luaL_argerror(L, i, "expected an image or a non-empty list of images");
  const glab_tensor **ts = lua_newuserdatauv(L, (size_t)*n * sizeof *ts, 0);
  for (int k = 0; k < *n; k++) {
    lua_rawgeti(L, i, k + 1);
    ts[k] = lg_test(L, -1);
    if (!ts[k] || !ts[k]->storage) luaL_error(L, "patches: image %d is not a tensor", k + 1);
    lua_pop(L, 1);
  }
  return ts;
}

static int d_patches(lua_State *L) {
  lua_settop(L, 3);
  lua_Integer size = luaL_checkinteger(L, 2);
  lg_checkopts(L, 3, OPTS("count", "seed", "generator"));
  int64_t count = lg_optposint(L, 3, "count", 10000);
  glab_rng own, *g = lg_optrng(L, 3);
  if (lua_istable(L, 3)) {
    lua_getfield(L, 3, "seed");
    if (!lua_isnil(L, -1)) {
      glab_rng_seed(&own, (uint64_t)luaL_checkinteger(L, -1));
      g = &own;
    }
    lua_pop(L, 1);
  }
  int n;
  const glab_tensor **imgs = image_list(L, 1, &n);
  lg_try(L, glab_patches_random(lg_push(L), imgs, n, (int64_t)size, count, g));
  return 1;
}

static int d_extract_patches(lua_State *L) {
  glab_tensor *img = lg_check(L, 1);
  lua_Integer size = luaL_checkinteger(L, 2);
  lg_checkopts(L, 3, OPTS("stride"));
  lua_Integer stride = (lua_Integer)lg_optnum(L, 3, "stride", 1);
  lg_try(L, glab_patches_extract(lg_push(L), img, (int64_t)size, (int64_t)stride));
  return 1;
}

static int d_fold_patches(lua_State *L) {
  glab_tensor *p = lg_check(L, 1);
  lua_Integer h = luaL_checkinteger(L, 2), w = luaL_checkinteger(L, 3);
  lua_Integer size = luaL_checkinteger(L, 4);
  static const char *const reduce[] = {"mean", "sum", NULL};
  lg_checkopts(L, 5, OPTS("stride", "reduce"));
  lua_Integer stride = (lua_Integer)lg_optnum(L, 5, "stride", 1);
  int sum = lg_optchoice(L, 5, "reduce", reduce, 0);
  lg_try(L, glab_patches_fold(lg_push(L), p, (int64_t)h, (int64_t)w, (int64_t)size,
                              (int64_t)stride, sum));
  return 1;
}

/* ---- minibatches ------------------------------------------------------------------ */

/* Upvalues: 1 list of tensors, 2 order (0-based float64), 3 position,
** 4 batch size, 5 drop_last, 6 whether a single tensor was given. */
static int batch_next(lua_State *L) {
  glab_tensor *order = lg_check(L, lua_upvalueindex(2));
  lua_Integer pos = lua_tointeger(L, lua_upvalueindex(3));
  lua_Integer bs = lua_tointeger(L, lua_upvalueindex(4)), n = (lua_Integer)order->shape[0];
  lua_Integer len = n - pos < bs ? n - pos : bs;
  if (len <= 0 || (len < bs && lua_toboolean(L, lua_upvalueindex(5)))) return 0;
  lua_pushinteger(L, pos + len);
  lua_replace(L, lua_upvalueindex(3));
  glab_tensor *idx = lg_push(L);
  lg_try(L, glab_tensor_narrow(idx, order, 0, (int64_t)pos, (int64_t)len));
  int k = (int)lua_rawlen(L, lua_upvalueindex(1));
  for (int i = 1; i <= k; i++) {
    lua_rawgeti(L, lua_upvalueindex(1), i);
    glab_tensor *src = lg_check(L, -1);
    glab_tensor *dst = lg_push(L);
    lg_try(L, glab_index_select(dst, src, 0, idx));
    lua_remove(L, -2);
  }
  return k;
}

static int d_batches(lua_State *L) {
  int single = lg_test(L, 1) != NULL;
  lua_Integer bs = luaL_checkinteger(L, 2);
  if (bs < 1) luaL_argerror(L, 2, "batch size must be at least 1");
  lg_checkopts(L, 3, OPTS("shuffle", "drop_last", "generator"));
  int shuffle = lg_optbool(L, 3, "shuffle", 1), drop_last = lg_optbool(L, 3, "drop_last", 0);
  glab_rng *g = lg_optrng(L, 3);
  lua_settop(L, 1);
  if (single) {
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
    lua_replace(L, 1);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  int k = (int)lua_rawlen(L, 1);
  if (k < 1) luaL_argerror(L, 1, "expected a tensor or a list of tensors");
  int64_t n = -1;
  for (int i = 1; i <= k; i++) {
    lua_rawgeti(L, 1, i);
    glab_tensor *t = lg_test(L, -1);
    if (!t || t->ndim < 1) luaL_error(L, "batches: element %d is not a tensor with a first dim", i);
    if (n >= 0 && t->shape[0] != n)
      luaL_error(L, "batches: tensor %d has %d rows, tensor 1 has %d", i, (int)t->shape[0], (int)n);
    n = t->shape[0];
    lua_pop(L, 1);
  }
  glab_tensor *order = lg_push(L);
  lg_try(L, shuffle ? glab_rand_permutation(g, order, n, GLAB_F64)
                    : glab_tensor_arange(order, GLAB_F64, 0, (double)n, 1));
  lua_pushinteger(L, 0);
  lua_pushinteger(L, bs);
  lua_pushboolean(L, drop_last);
  lua_pushboolean(L, single);
  lua_pushcclosure(L, batch_next, 6);
  return 1;
}

/* ---- data sets --------------------------------------------------------------------- */

/* The intensities x (n, rows, cols), optionally thresholded at 0.5, shaped
** (n, 1, rows, cols) or (n, rows * cols). */
static void shape_images(lua_State *L, glab_tensor *x, int binarize, int flat) {
  if (binarize) lg_try(L, glab_binary_scalar(x, GLAB_GT, x, 0.5, 0));
  int64_t n = x->shape[0], rows = x->shape[1], cols = x->shape[2];
  int64_t sh4[4] = {n, 1, rows, cols}, sh2[2] = {n, rows * cols};
  glab_tensor *v = lg_push(L);
  lg_try(L, flat ? glab_tensor_view(v, x, 2, sh2) : glab_tensor_view(v, x, 4, sh4));
  lua_remove(L, -2);
}

/* mnist-style sets: opts at 1; dir/group name the files; gz: .gz suffix. */
static int idx_set(lua_State *L, const char *dir, const char *group, int gz) {
  static const char *const splits[] = {"train", "test", NULL};
  int split = 0;
  lg_checkopts(L, 1, OPTS("split", "binarize", "limit", "flat"));
  if (lua_istable(L, 1)) {
    lua_getfield(L, 1, "split");
    if (!lua_isnil(L, -1)) split = luaL_checkoption(L, -1, NULL, splits);
    lua_pop(L, 1);
  }
  int64_t limit = lg_optposint(L, 1, "limit", -1);         /* -1: all */
  int binarize = lg_optbool(L, 1, "binarize", 0), flat = lg_optbool(L, 1, "flat", 0);
  const char *stem = split ? "t10k" : "train", *sfx = gz ? ".gz" : "";
  const char *img = data_file(L, lua_pushfstring(L, "%s/%s-images-idx3-ubyte%s", dir, stem, sfx), group);
  const char *lab = data_file(L, lua_pushfstring(L, "%s/%s-labels-idx1-ubyte%s", dir, stem, sfx), group);
  glab_tensor *x = lg_push(L);
  lg_try(L, glab_idx_read_unit(x, img, limit));
  if (x->ndim != 3) luaL_error(L, "data: %s: expected 3 dimensions", img);
  shape_images(L, x, binarize, flat);
  lg_try(L, glab_idx_read(lg_push(L), lab, limit, GLAB_F64));
  return 2;
}

static int d_mnist(lua_State *L) { return idx_set(L, "mnist", "mnist", 0); }
static int d_fashion_mnist(lua_State *L) { return idx_set(L, "fashion-mnist", "fashion", 1); }

/* (H, W) averaged over k x k blocks (the last rows/columns that do not
** fill a block are dropped). */
static void downscale(lua_State *L, glab_tensor *img, int64_t k) {
  int64_t h = img->shape[0] / k, w = img->shape[1] / k;
  glab_tensor crop = GLAB_TENSOR_EMPTY, rows = GLAB_TENSOR_EMPTY;
  glab_tensor_narrow(&rows, img, 0, 0, h * k);
  glab_tensor_narrow(&crop, &rows, 1, 0, w * k);
  glab_tensor_free(&rows);
  int64_t sh[4] = {h, k, w, k};
  glab_tensor blocks = GLAB_TENSOR_EMPTY, half = GLAB_TENSOR_EMPTY;
  glab_status s = glab_tensor_reshape(&blocks, &crop, 4, sh);
  glab_tensor_free(&crop);
  if (s == GLAB_OK) s = glab_reduce(&half, GLAB_MEAN, &blocks, 3, 0, 0);
  glab_tensor_free(&blocks);
  glab_tensor *out = lg_push(L);
  if (s == GLAB_OK) s = glab_reduce(out, GLAB_MEAN, &half, 1, 0, 0);
  glab_tensor_free(&half);
  lg_try(L, s);
}

static int d_photos(lua_State *L) {
  static const char *const splits[] = {"train", "holdout", "all", NULL};
  int split = 0;
  lg_checkopts(L, 1, OPTS("split", "downscale"));
  if (lua_istable(L, 1)) {
    lua_getfield(L, 1, "split");
    if (!lua_isnil(L, -1)) split = luaL_checkoption(L, -1, NULL, splits);
    lua_pop(L, 1);
  }
  int64_t k = lg_optposint(L, 1, "downscale", 1);
  lua_settop(L, 1);
  lua_newtable(L);                      /* 2: images */
  lua_newtable(L);                      /* 3: names */
  int n = 0;
  for (int i = 0; photo_names[i]; i++) {
    int held = strcmp(photo_names[i], HOLDOUT_PHOTO) == 0;
    if ((split == 0 && held) || (split == 1 && !held)) continue;
    const char *path = data_file(L, lua_pushfstring(L, "photos/%s.jpg", photo_names[i]), "photos");
    glab_tensor *img = lg_push(L);
    lg_try(L, glab_image_read(img, path, 1, 0));
    if (k > 1) {
      downscale(L, img, k);
      lua_remove(L, -2);
    }
    lua_rawseti(L, 2, ++n);
    lua_pushstring(L, photo_names[i]);
    lua_rawseti(L, 3, n);
    lua_settop(L, 3);                   /* drop the path strings */
  }
  return 2;
}

static int d_faces(lua_State *L) {
  lg_checkopts(L, 1, OPTS("mirror", "dtype"));
  int mirror = lg_optbool(L, 1, "mirror", 0);
  glab_dtype dt = lg_optdtype(L, 1, lg_default_dtype(L));
  const char *path = data_file(L, "faces/lfw_subset.npy", "faces");
  glab_tensor *all = lg_push(L);
  lg_try(L, glab_npy_read(all, path));
  if (all->ndim != 3 || all->shape[0] < 100 || all->shape[1] < 24 || all->shape[2] < 24)
    luaL_error(L, "data: %s: expected (200, 25, 25) faces", path);
  glab_tensor a = GLAB_TENSOR_EMPTY, b = GLAB_TENSOR_EMPTY, c = GLAB_TENSOR_EMPTY;
  glab_tensor_narrow(&a, all, 0, 0, 100);          /* entries 1..100 are faces */
  glab_tensor_narrow(&b, &a, 1, 0, 24);
  glab_tensor_narrow(&c, &b, 2, 0, 24);
  glab_tensor_free(&a);
  glab_tensor_free(&b);
  glab_tensor *faces = lg_push(L);
  glab_status s = glab_tensor_astype(faces, &c, dt);
  glab_tensor_free(&c);
  lg_try(L, s);
  if (mirror) {
    glab_tensor *rev = lg_push(L), *flip = lg_push(L), *both = lg_push(L);
    lg_try(L, glab_tensor_arange(rev, GLAB_F64, 23, -1, -1));
    lg_try(L, glab_index_select(flip, faces, 2, rev));
    const glab_tensor *parts[2] = {faces, flip};
    lg_try(L, glab_cat(both, parts, 2, 0));
    faces = both;
  }
  int64_t sh[2] = {faces->shape[0], 576};
  lg_try(L, glab_tensor_reshape(lg_push(L), faces, 2, sh));
  return 1;
}

static int d_dir(lua_State *L) {
  lua_pushstring(L, data_root());
  return 1;
}

static const lg_Reg functions[] = {
  {"read_idx", d_read_idx,
   "data.read_idx(path, [{limit=, dtype=}]) -> Tensor\n"
   "An IDX file (plain or gzip) with its raw values (bytes stay "
   "0..255); limit (a positive integer) keeps the first items.\n"
   "A gzip file is read to its end, limit or not, so that its CRC-32 and length are checked."},
  {"write_idx", d_write_idx,
   "data.write_idx(path, t)\n"
   "Write t as an IDX file of unsigned bytes (values rounded and clamped to 0..255)."},
  {"write_file", d_write_file,
   "data.write_file(path, bytes)\n"
   "Write a string to path as genlab's own writers do: into a new temporary file beside path\n"
   "(a fresh name, never through a symlink), synced, then renamed over path, so that a crash or a\n"
   "second writer never leaves half a file; a path that is a symlink has the file it names\n"
   "written, the link kept. genlab.handin "
   "writes its manifest and results this way."},
  {"read_file", d_read_file,
   "data.read_file(path, [max_bytes=2^30]) -> string\n"
   "The bytes of a regular file, as the loaders read them: a directory, FIFO or device is an\n"
   "error naming it (never a wait on a pipe with no writer), and so is a file over max_bytes."},
  {"read_npy", d_read_npy,
   "data.read_npy(path) -> Tensor\n"
   "A numpy .npy array (or its gzip): f4 stays float32, "
   "f8 float64, u1 becomes float32, i4/i8 float64\n"
   "(an integer beyond 2^53 is an error, not a rounding). A Fortran-order array keeps its\n"
   "values and shape; object arrays and big-endian files are refused with a message."},
  {"write_npy", d_write_npy,
   "data.write_npy(path, t)\n"
   "Save t as a C-order .npy file that numpy.load reads (written atomically)."},
  {"read_image", d_read_image,
   "data.read_image(path, [{gray=false, max_pixels=2^26}]) -> Tensor\n"
   "A PNG, JPEG or BMP image as float32 in [0, 1]: (H, W) for gray, else (H, W, 3).\n"
   "gray=true converts with the ITU-R BT.601 weights 0.299, 0.587, 0.114. An image of more than\n"
   "max_pixels pixels (width * height; 2^26 is 8192 x 8192) is refused from its header, before\n"
   "decoding: a small file can claim a huge image. Raise max_pixels to read a bigger one."},
  {"write_png", d_write_png,
   "data.write_png(path, img)\n"
   "Save (H, W), (H, W, 3) or (H, W, 4) values in [0, 1] (clamped) as a PNG."},
  {"to_gray", d_to_gray,
   "data.to_gray(rgb) -> Tensor\n"
   "Luma 0.299 R + 0.587 G + 0.114 B of an (..., 3) tensor (ITU-R BT.601)."},
  {"patches", d_patches,
   "data.patches(images, size, [{count=10000, seed=, generator=}]) -> Tensor\n"
   "(count, size*size) random patches of a gray image or a list of them, uniform over\n"
   "all patch positions of all images. seed gives a private generator (same patches every run)."},
  {"extract_patches", d_extract_patches,
   "data.extract_patches(img, size, [{stride=1}]) -> Tensor\n"
   "Every size x size patch of a gray (H, W) image in raster order, one per row. The last\n"
   "position of each side is always included, so every pixel is covered."},
  {"fold_patches", d_fold_patches,
   "data.fold_patches(P, H, W, size, [{stride=1, reduce=\"mean\"|\"sum\"}]) -> Tensor\n"
   "The (H, W) image whose pixels average the patches of P covering them;\n"
   "fold_patches(extract_patches(X, s), H, W, s) == X. "
   "reduce=\"sum\" adds them instead: the adjoint\n"
   "of extract_patches, which carries gradients on patches back to pixels."},
  {"batches", d_batches,
   "data.batches(tensors, batch_size, [{shuffle=true, drop_last=false, generator=}]) -> iterator\n"
   "One epoch of minibatches over the first dim of a tensor or a list of tensors of equal length:\n"
   "for xb, yb in data.batches({X, Y}, 128) do ... end. Shuffled with the generator each call."},
  {"mnist", d_mnist,
   "data.mnist([{split=\"train\"|\"test\", binarize=false, "
   "limit=, flat=false}]) -> images, labels\n"
   "MNIST scaled to [0, 1]: images (n, 1, 28, 28) or "
   "(n, 784) with flat; labels (n) float64 digits.\n"
   "binarize sets pixels above 0.5 to 1, the rest to "
   "0. 60000 train, 10000 test; limit (a positive\n"
   "integer) keeps the first ones."},
  {"fashion_mnist", d_fashion_mnist,
   "data.fashion_mnist([{split=, binarize=, limit=, flat=}]) -> images, labels\n"
   "Fashion-MNIST, as data.mnist (Debian's dataset-fashion-mnist)."},
  {"photos", d_photos,
   "data.photos([{split=\"train\"|\"holdout\"|\"all\", downscale=1}]) -> {images}, {names}\n"
   "The CC0 photos as gray (H, W) float32 images in [0, 1]. 'nagasaki-boats' is held out of\n"
   "\"train\" for the denoising exercises. downscale=k averages k x k blocks."},
  {"faces", d_faces,
   "data.faces([{mirror=false, dtype=}]) -> Tensor\n"
   "The 100 faces of LFW (scikit-image's lfw_subset, "
   "entries 1..100) cropped to 24x24, as (100, 576);\n"
   "mirror appends their left-right mirror images (200, 576)."},
  {"dir", d_dir,
   "data.dir() -> path\n"
   "Where the data sets are read from: $GENLAB_DATA, else the data/ folder of the build."},
  {NULL, NULL, NULL}
};

/* ---- checkpoints ------------------------------------------------------------ */

/* A checkpoint name (the keys joined with "/") has at most this many bytes;
** it is also what bounds how deep flatten recurses. */
#define MAX_NAME 255

/* Collect the tensors of the table at index t into the list table at index
** list as {name, tensor} pairs, nested tables joined with "/".  The table at
** index seen maps each table on the path being walked to its name: a table
** met again below itself is a cycle, an error naming both places. */
static void flatten(lua_State *L, int t, int list, int seen, const char *prefix) {
  luaL_checkstack(L, 8, "save: tables nested too deep");
  t = lua_absindex(L, t);
  lua_pushvalue(L, t);
  if (*prefix) {                                          /* "the table a/b", no last "/" */
    lua_pushliteral(L, "the table ");
    lua_pushlstring(L, prefix, strlen(prefix) - 1);
    lua_concat(L, 2);
  } else {
    lua_pushliteral(L, "the top-level table");
  }
  lua_rawset(L, seen);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -2) != LUA_TSTRING && !lua_isinteger(L, -2))
      luaL_error(L, "save: keys must be strings or integers, got a %s", luaL_typename(L, -2));
    lua_pushvalue(L, -2);
    const char *k = lua_tostring(L, -1);                    /* a copy: safe to convert */
    if (!*k || strchr(k, '/'))                              /* "/" joins the nested names */
      luaL_error(L, "save: the key \"%s\" %s%s: a key may not be empty or hold \"/\", which "
                 "joins the names of nested tables", k, *prefix ? "under " : "at the top",
                 prefix);
    lua_pushfstring(L, "%s%s", prefix, k);
    const char *name = lua_tostring(L, -1);
    if (lg_test(L, -3)) {
      lua_createtable(L, 2, 0);
      lua_pushvalue(L, -2);
      lua_rawseti(L, -2, 1);
      lua_pushvalue(L, -4);
      lua_rawseti(L, -2, 2);
      lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
    } else if (lua_istable(L, -3)) {
      lua_pushvalue(L, -3);
      if (lua_rawget(L, seen) == LUA_TSTRING)
        luaL_error(L, "save: %s: a cycle: %s contains itself", name, lua_tostring(L, -1));
      lua_pop(L, 1);
      if (strlen(name) + 2 > MAX_NAME)                      /* "name/x" at the least */
        luaL_error(L, "save: %s: nested too deep: the names below it would pass the %d bytes "
                   "a checkpoint name may have", name, MAX_NAME);
      lua_pushfstring(L, "%s/", name);
      flatten(L, -4, list, seen, lua_tostring(L, -1));
      lua_pop(L, 1);
    } else {
      luaL_error(L, "save: %s is a %s; only tensors and tables of them are saved", name,
                 luaL_typename(L, -3));
    }
    lua_pop(L, 3);
  }
  lua_pushvalue(L, t);
  lua_pushnil(L);
  lua_rawset(L, seen);
}

static int by_name(lua_State *L) {
  lua_rawgeti(L, 1, 1);
  lua_rawgeti(L, 2, 1);
  lua_pushboolean(L, strcmp(lua_tostring(L, -2), lua_tostring(L, -1)) < 0);
  return 1;
}

/* The flat names (sorted) must come back as the same tables: no name twice,
** as a key 1 beside a key "1" would give.  (Keys hold no "/", so no name is
** both a tensor's and a table's.) */
static void check_names(lua_State *L, int n, const char **names) {
  for (int i = 1; i < n; i++)
    if (strcmp(names[i], names[i - 1]) == 0)
      luaL_error(L, "save: two entries are named %s (an integer key and a string key alike?)", names[i]);
}

static int d_save(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  lua_newtable(L);                                          /* 3: {name, tensor} list */
  lua_newtable(L);                                          /* 4: tables being walked */
  flatten(L, 2, 3, 4, "");
  lua_settop(L, 3);
  lua_getglobal(L, "table");                                /* sort for a stable file */
  lua_getfield(L, -1, "sort");
  lua_pushvalue(L, 3);
  lua_pushcfunction(L, by_name);
  lua_call(L, 2, 0);
  lua_pop(L, 1);
  const char **names;
  const glab_tensor **ts;
  int n = lg_named_arrays(L, &names, &ts);
  check_names(L, n, names);
  lg_try(L, glab_ckpt_write(path, n, names, (const glab_tensor *const *)ts));
  return 0;
}

/* Store tensor (top) at the "/"-separated name in the table at index t. */
static void store_nested(lua_State *L, int t, const char *full, const char *path) {
  const char *name = full, *slash;
  lua_pushvalue(L, t);
  while ((slash = strchr(name, '/')) != NULL) {
    lua_pushlstring(L, name, (size_t)(slash - name));
    int kind = lua_rawget(L, -2);
    if (kind != LUA_TTABLE && kind != LUA_TNIL)
      luaL_error(L, "load: %s: entry %s lies under a tensor of the same name", path, full);
    if (kind == LUA_TNIL) {
      lua_pop(L, 1);
      lua_newtable(L);
      lua_pushlstring(L, name, (size_t)(slash - name));
      lua_pushvalue(L, -2);
      lua_rawset(L, -4);
    }
    lua_remove(L, -2);
    name = slash + 1;
  }
  if (lua_getfield(L, -1, name) != LUA_TNIL)
    luaL_error(L, "load: %s: entry %s clashes with a table of entries under it", path, full);
  lua_pop(L, 1);
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, name);
  lua_pop(L, 2);
}

static int d_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int n;
  char **names;
  glab_tensor *ts;
  lg_try(L, glab_ckpt_read(path, &n, &names, &ts));
  lua_newtable(L);                           /* t: flat name -> tensor */
  int t = lua_gettop(L);
  lua_createtable(L, n, 0);                  /* the names in file order */
  for (int i = 0; i < n; i++) {              /* hand everything over before any error */
    glab_tensor *v = lg_push(L);
    *v = ts[i];
    memset(&ts[i], 0, sizeof ts[i]);
    lua_pushstring(L, names[i]);
    lua_pushvalue(L, -1);
    lua_rawseti(L, t + 1, i + 1);
    lua_insert(L, -2);
    lua_rawset(L, t);
  }
  glab_ckpt_free(n, names, ts);              /* a clash below raises: nothing C-owned left */
  lua_newtable(L);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, t + 1, i + 1);
    const char *name = lua_tostring(L, -1);  /* kept alive by the list */
    lua_pop(L, 1);
    lua_pushstring(L, name);
    lua_rawget(L, t);
    store_nested(L, t + 2, name, path);
  }
  return 1;
}

static const lg_Reg toplevel[] = {
  {"save", d_save,
   "save(path, {name = Tensor, ...})\n"
   "Write named tensors to a checkpoint (tables nest: "
   "{model = m:state_dict(), optim = opt:state_dict()}\n"
   "stores \"model/fc1.weight\", ...); a name has at "
   "most 255 bytes, and a table that contains itself\n"
   "is an error naming where. Written to a new temporary file beside path, synced, then renamed:\n"
   "a crash never leaves half a file. Format: core/DESIGN-notes.md (\"Checkpoints\")."},
  {"load", d_load,
   "load(path) -> table\n"
   "The tensors of a checkpoint, nested as they were saved. The file's CRC-32 and every size\n"
   "are checked: a truncated or damaged file is an error naming the file (and the entry).\n"
   "Files of format version 1 (before the CRC) still load."},
  {NULL, NULL, NULL}
};

void lg_open_checkpoint(lua_State *L) {
  lg_setfuncs(L, toplevel);
}

void lg_open_data(lua_State *L) {
  lg_setfuncs(L, functions);
}
