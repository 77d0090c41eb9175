/* A network's parameters: one safetensors file whose tensors are uploaded
 * to a device on first use and kept there (dtype chosen at open), looked up
 * by their upstream names (diffusers, insightface, torchvision, ...). The
 * file's "__metadata__" holds the network's configuration. */
#pragma once
#include <stdarg.h>
#include "nn/tensor.h"
#include "io/safetensors.h"
#include "nn/param_set.h"

G_BEGIN_DECLS

typedef struct AgfWeights AgfWeights;

/* Opens path for dev; float tensors load as dt (AGF_F32 or AGF_F16). */
AgfWeights *agf_weights_open(const char *path, AgfDevice *dev, AgfDType dt,
                             GError **error);
AgfWeights *agf_weights_ref(AgfWeights *w);
void agf_weights_unref(AgfWeights *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfWeights, agf_weights_unref)

AgfDevice *agf_weights_device(const AgfWeights *w);
AgfDType agf_weights_dtype(const AgfWeights *w);
const AgfSafetensors *agf_weights_file(const AgfWeights *w);
const char *agf_weights_path(const AgfWeights *w);

gboolean agf_weights_has(const AgfWeights *w, const char *name);
gboolean agf_weights_hasf(const AgfWeights *w, const char *fmt, ...)
  G_GNUC_PRINTF(2, 3);
/* The file's shape of a tensor (no upload); FALSE when absent. */
gboolean agf_weights_shape(const AgfWeights *w, const char *name, int *ndim,
                           int64_t *shape);

/* The device tensor (borrowed: valid while w lives). ndim 0 accepts any
 * shape; otherwise the file's shape must equal shape, or the error names
 * the tensor, both shapes and the file. */
const AgfTensor *agf_weights_get(AgfWeights *w, const char *name, int ndim,
                                 const int64_t *shape, GError **error);
/* Any shape, name from a format. */
const AgfTensor *agf_weights_getf(AgfWeights *w, GError **error,
                                  const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Metadata: the value, or def when absent. An unparsable number is an
 * error (returns def and sets error). */
const char *agf_weights_meta(const AgfWeights *w, const char *key);
int agf_weights_meta_int(const AgfWeights *w, const char *key, int def,
                         GError **error);
double agf_weights_meta_double(const AgfWeights *w, const char *key,
                               double def, GError **error);

/* Training: every float tensor of the file, uploaded now, as a parameter
 * set in file order (the tensors are the ones agf_weights_get returns, so
 * updating them updates what the network computes with). */
AgfParamSet *agf_weights_param_set(AgfWeights *w, GError **error);
/* The names of batch-norm running statistics ("running_mean", "running_var",
 * "num_batches_tracked") are buffers, not trained parameters. */
gboolean agf_weights_name_is_buffer(const char *name);

G_END_DECLS
