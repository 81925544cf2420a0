/*
** optim.h -- optimizer steps: PyTorch's SGD and Adam updates of a parameter
** tensor from its gradient, in place, never recorded by autograd.
*/
#ifndef GLAB_OPTIM_H
#define GLAB_OPTIM_H

#include "../tensor/tensor.h"

typedef struct glab_sgd_opts {
  double lr, momentum, dampening, weight_decay;
  int nesterov;
} glab_sgd_opts;

/* p -= lr * step with PyTorch's SGD: g + wd p, then the momentum buffer buf
** (buf = g on the first step, first = 1). */
glab_status glab_optim_sgd(glab_tensor *p, const glab_tensor *g, glab_tensor *buf, int first,
                           const glab_sgd_opts *o);

typedef struct glab_adam_opts {
  double lr, beta1, beta2, eps, weight_decay;
} glab_adam_opts;

/* PyTorch's Adam (L2 weight decay added to g) for step t >= 1, with bias
** correction; m and v are the moment buffers, p's shape and dtype. */
glab_status glab_optim_adam(glab_tensor *p, const glab_tensor *g, glab_tensor *m,
                            glab_tensor *v, int64_t t, const glab_adam_opts *o);

#endif
