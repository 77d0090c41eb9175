/* Training checkpoints: one safetensors file holding the model's tensors
 * under their own names, the optimizer state under "optim/<name>", the EMA
 * weights under "ema/<name>", and in the metadata the step, the RNG
 * position and the caller's JSON (configuration, data, ...). Written
 * atomically (temp, fsync, rename): a crash leaves the previous one.
 * Loading it back and continuing gives bit-identical results on the same
 * device. The model part alone is an ordinary weights file that
 * agf_weights_open() and the app load. */
#pragma once
#include "nn/optim.h"

G_BEGIN_DECLS

/* Metadata keys with this prefix hold a checkpoint's run position; the
 * caller's own metadata may not use it. */
#define AGF_CHECKPOINT_META_PREFIX "train."
/* The key every checkpoint has (and exported weights do not). */
#define AGF_CHECKPOINT_META_FORMAT "train.format"

typedef struct {
  gint64 step;          /* optimizer steps done */
  guint64 seed;         /* the run's seed */
  guint64 rng_counter;  /* draws taken from the seed's streams so far */
  char *config_json;    /* caller's JSON (owned; may be NULL) */
} AgfCheckpointInfo;

void agf_checkpoint_info_clear(AgfCheckpointInfo *info);

/* model: every tensor to save (trained or not, e.g. running statistics);
 * opt, ema: NULL when absent. dt: the dtype the model tensors are stored in
 * (optimizer and EMA state stay f32). meta: extra string metadata copied
 * into the file (the network's configuration), may be NULL. */
gboolean agf_checkpoint_save(const char *path, const AgfParamSet *model,
                             AgfOptimizer *opt, AgfEma *ema,
                             const AgfCheckpointInfo *info, AgfDType dt,
                             GHashTable *meta, GError **error);
/* Overwrites the tensors of model (and the state of opt / ema when given)
 * with the file's; every name must be present with the same shape. */
gboolean agf_checkpoint_load(const char *path, const AgfParamSet *model,
                             AgfOptimizer *opt, AgfEma *ema,
                             AgfCheckpointInfo *info, GError **error);

G_END_DECLS
