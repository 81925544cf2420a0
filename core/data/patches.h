/*
** patches.h -- square patches of gray images, flattened to rows: random
** training patches, every overlapping patch of one image in raster order,
** and the fold that averages (or sums) overlapping patches back into an image.
**
**     glab_patches_extract(&P, &img, 16, 1);        // (npos, 256)
**     glab_patches_fold(&img2, &P, H, W, 16, 1);   // img2 == img
**
** Positions along a side are 0, stride, 2 stride, ... and always the last
** one (side - size), so every pixel is covered whatever the stride.
*/
#ifndef GLAB_PATCHES_H
#define GLAB_PATCHES_H

#include "../tensor/random.h"
#include "../tensor/tensor.h"

/* count patches of size x size from the 2-d images imgs[0..n), each drawn
** uniformly over all patch positions of all images (an image's share is
** proportional to its number of positions).  out: (count, size*size), in
** the dtype of the first image. */
glab_status glab_patches_random(glab_tensor *out, const glab_tensor *const *imgs, int n,
                                int64_t size, int64_t count, glab_rng *g);
/* Every patch of img (H, W) at the positions above, row by row. */
glab_status glab_patches_extract(glab_tensor *out, const glab_tensor *img, int64_t size,
                                 int64_t stride);
/* The (H, W) image whose pixels are the averages of the patches covering them
** (the inverse of extract for consistent patches), or with sum != 0 their
** sums: the adjoint of extract, which carries patch gradients to pixels. */
glab_status glab_patches_fold(glab_tensor *out, const glab_tensor *patches, int64_t h,
                              int64_t w, int64_t size, int64_t stride, int sum);
/* Number of positions along a side of length n. */
int64_t glab_patches_positions(int64_t n, int64_t size, int64_t stride);

#endif
