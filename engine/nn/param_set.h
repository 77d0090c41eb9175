/* A named, ordered list of tensors: what an optimizer updates, an EMA
 * averages, gradient clipping measures and a checkpoint saves. Names are
 * the upstream tensor names (they key optimizer state in checkpoints). */
#pragma once
#include "nn/tensor.h"

G_BEGIN_DECLS

typedef struct AgfParamSet AgfParamSet;

AgfParamSet *agf_param_set_new(void);
void agf_param_set_free(AgfParamSet *ps);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfParamSet, agf_param_set_free)

/* Adds t (a new ref); a duplicate name is an error. */
gboolean agf_param_set_add(AgfParamSet *ps, const char *name, AgfTensor *t,
                           GError **error);
int agf_param_set_size(const AgfParamSet *ps);
const char *agf_param_set_name(const AgfParamSet *ps, int i);
AgfTensor *agf_param_set_tensor(const AgfParamSet *ps, int i);
/* Index of name, or -1. */
int agf_param_set_find(const AgfParamSet *ps, const char *name);
/* Total element count. */
gint64 agf_param_set_numel(const AgfParamSet *ps);
/* Marks every tensor as requiring a gradient (or not). */
void agf_param_set_requires_grad(AgfParamSet *ps, gboolean on);

G_END_DECLS
