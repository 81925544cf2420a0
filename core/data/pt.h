/*
** pt.h -- PyTorch checkpoints (the zip format of torch.save since 1.6).
**
**     glab_pickle pk;
**     if (glab_pt_load(&pk, "model.pt", 0) == GLAB_OK) {
**       // pk.v[pk.root]: the saved object, usually a DICT of name -> TENSOR
**       glab_pickle_free(&pk);
**     }
**
** Tensors come back as views of their storages, so tensors that shared a
** storage in PyTorch share one here.  float32 and float64 storages are read
** straight into tensor storage; int64, int32, int16, int8, uint8 and bool
** become float64, float16 and bfloat16 float32.  The legacy (pre-1.6)
** format is refused with a message.
*/
#ifndef GLAB_PT_H
#define GLAB_PT_H

#include "pickle.h"

glab_status glab_pt_load(glab_pickle *pk, const char *path, int objects);

/* An OrderedDict of the named tensors, in this order, that torch.load reads
** (weights_only=True too) and nn.Module.load_state_dict accepts.  Each
** tensor is saved contiguous in its own storage; written atomically. */
glab_status glab_pt_save(const char *path, int n, const char *const *names,
                         const glab_tensor *const *ts);

#endif
