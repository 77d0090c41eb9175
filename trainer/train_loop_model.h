/* The network side of a training run (train_loop.h covers the run): a
 * weights file to start from (a given one, or random weights of a preset
 * written into the run folder), the split of its tensors into trained
 * parameters and buffers, and the update after a loss: backward, loss
 * scaling (f16) or gradient clipping (f32), the optimizer step and the EMA.
 *
 *   AgfWeights *w = agf_train_weights_open(init, preset, AGF_NET_UNET, seed,
 *                                          dir, dev, dt, &error);
 *   AgfParamSet *all = agf_weights_param_set(w, &error);
 *   AgfTrainUpdate u;
 *   agf_train_update_init(&u, dev, all, &optim_cfg, ema_decay, clip, &error);
 *   ... resume the run (checkpoint load), then per step:
 *   agf_train_update_begin(&u, &error);      // the tape records from here
 *   loss = ...; agf_train_update_step(&u, loss, lr, &error);
 *   agf_train_update_clear(&u);
 */
#pragma once
#include "models/presets.h"
#include "models/weights.h"
#include "nn/autograd.h"
#include "nn/optim.h"

G_BEGIN_DECLS

/* A network file given as --init, on dev with float tensors of dt; a
 * training checkpoint is refused (with how to continue its run). */
AgfWeights *agf_train_init_open(const char *init, AgfDevice *dev,
                                AgfDType dt, GError **error);

/* init: that file (agf_train_init_open); NULL: DIR/init-<net>.safetensors, random weights of the
 * preset from seed (written once; a resumed run reuses it). Opened on dev
 * with float tensors of dt. */
AgfWeights *agf_train_weights_open(const char *init, AgfPreset preset,
                                   AgfNetKind kind, guint64 seed,
                                   const char *dir, AgfDevice *dev,
                                   AgfDType dt, GError **error);
/* A copy of the file's metadata (string -> string, owned). */
GHashTable *agf_train_weights_meta(const AgfWeights *w);

typedef struct {
  AgfDevice *dev;
  AgfParamSet *trained; /* the non-buffer tensors of the model, requiring
                           gradients */
  AgfOptimizer *opt;
  AgfEma *ema;          /* NULL when ema_decay <= 0 */
  AgfTape *tape;        /* attached by the first agf_train_update_begin */
  float clip;           /* max gradient norm, f32 only; <= 0: none */
  gboolean scaling;     /* f16 parameters: dynamic loss scaling */
  AgfLossScaler scaler;
  float grad_norm;      /* of the last step (before clipping); NAN: none */
  gboolean skipped;     /* the last step was skipped (f16 overflow) */
} AgfTrainUpdate;

gboolean agf_train_update_init(AgfTrainUpdate *u, AgfDevice *dev,
                               const AgfParamSet *model,
                               const AgfOptimConfig *cfg, float ema_decay,
                               float clip, GError **error);
/* Before a step's forward: attaches the tape (once, after any checkpoint
 * was loaded) so that the forward is recorded. */
gboolean agf_train_update_begin(AgfTrainUpdate *u, GError **error);
/* Backward from loss (one element), then clip / unscale, step at lr, zero
 * the gradients and update the EMA. */
gboolean agf_train_update_step(AgfTrainUpdate *u, AgfTensor *loss, float lr,
                               GError **error);
void agf_train_update_clear(AgfTrainUpdate *u);

/* Linear warm-up over warmup steps, then constant (schedule "constant") or
 * cosine down to 0 over the rest of total ("cosine"). */
float agf_train_lr(const char *schedule, gint64 step, gint64 total,
                   gint64 warmup, float base);
/* FALSE with an error naming the choices unless schedule is one of them. */
gboolean agf_train_lr_check(const char *schedule, GError **error);
/* FALSE with an error unless --size is a positive multiple of 8 (the
 * autoencoder's downsampling). */
gboolean agf_train_size_check(int size, GError **error);

/* Standard normal noise for training: every element of the tensor its own
 * draw from rng.h's (seed, stream) (unlike agf_dfg_noise, which repeats one
 * sample's noise over the batch). */
AgfTensor *agf_train_noise(AgfDevice *dev, AgfDType dt, guint64 seed,
                           guint64 stream, int ndim, const int64_t *shape,
                           GError **error);

G_END_DECLS
