/* Networks and updates of a training run (train_loop_model.h). */
#include "train_loop_model.h"
#include <math.h>
#include <string.h>
#include "models/checkpoint.h"
#include "nn/ops.h"
#include "pipeline/rng.h"

AgfWeights *agf_train_init_open(const char *init, AgfDevice *dev,
                                AgfDType dt, GError **error)
{
  g_autoptr(AgfWeights) w = agf_weights_open(init, dev, dt, error);
  GHashTable *meta = w ? agf_safetensors_metadata(agf_weights_file(w))
                       : NULL;
  if (meta && g_hash_table_contains(meta, AGF_CHECKPOINT_META_FORMAT)) {
    /* Its optimizer and EMA tensors would be trained as weights. */
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s is a training checkpoint, not a network's weights: "
                "continue its run with --resume, or start from the "
                "weights that run exported", init);
    return NULL;
  }
  return g_steal_pointer(&w);
}

AgfWeights *agf_train_weights_open(const char *init, AgfPreset preset,
                                   AgfNetKind kind, guint64 seed,
                                   const char *dir, AgfDevice *dev,
                                   AgfDType dt, GError **error)
{
  if (init)
    return agf_train_init_open(init, dev, dt, error);
  g_autofree char *name = g_strdup_printf("init-%s.safetensors",
                                          agf_net_kind_name(kind));
  g_autofree char *path = g_build_filename(dir, name, NULL);
  if (!g_file_test(path, G_FILE_TEST_EXISTS) &&
      !agf_preset_write_random(preset, kind, seed, AGF_ST_F32, path, error)) {
    g_prefix_error(error, "random %s %s weights: ", agf_preset_name(preset),
                   agf_net_kind_name(kind));
    return NULL;
  }
  return agf_weights_open(path, dev, dt, error);
}

GHashTable *agf_train_weights_meta(const AgfWeights *w)
{
  GHashTable *out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          g_free);
  GHashTable *meta = agf_safetensors_metadata(agf_weights_file(w));
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, meta);
  /* A checkpoint given as --init: its run position is not this run's. */
  while (g_hash_table_iter_next(&it, &k, &v))
    if (!g_str_has_prefix(k, AGF_CHECKPOINT_META_PREFIX))
      g_hash_table_insert(out, g_strdup(k), g_strdup(v));
  return out;
}

gboolean agf_train_update_init(AgfTrainUpdate *u, AgfDevice *dev,
                               const AgfParamSet *model,
                               const AgfOptimConfig *cfg, float ema_decay,
                               float clip, GError **error)
{
  memset(u, 0, sizeof *u);
  u->dev = dev;
  u->clip = clip;
  u->grad_norm = NAN;
  u->trained = agf_param_set_new();
  gboolean f16 = FALSE;
  for (int i = 0; i < agf_param_set_size(model); i++) {
    const char *name = agf_param_set_name(model, i);
    AgfTensor *t = agf_param_set_tensor(model, i);
    if (agf_weights_name_is_buffer(name))
      continue;
    f16 |= t->dtype == AGF_F16;
    if (!agf_param_set_add(u->trained, name, t, error))
      return FALSE;
  }
  agf_param_set_requires_grad(u->trained, TRUE);
  u->scaling = f16;
  agf_loss_scaler_init(&u->scaler, 65536.0f);
  if (!(u->opt = agf_optimizer_new(cfg, u->trained, error)))
    return FALSE;
  if (ema_decay > 0 && !(u->ema = agf_ema_new(u->trained, ema_decay, error)))
    return FALSE;
  return TRUE;
}

gboolean agf_train_update_begin(AgfTrainUpdate *u, GError **error)
{
  return u->tape || (u->tape = agf_tape_new(u->dev, error)) != NULL;
}

gboolean agf_train_update_step(AgfTrainUpdate *u, AgfTensor *loss, float lr,
                               GError **error)
{
  if (!u->tape) {
    g_set_error_literal(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                        "training step without a tape: call "
                        "agf_train_update_begin before the forward");
    return FALSE;
  }
  g_autoptr(AgfTensor) scaled =
    u->scaling ? agf_scale(loss, u->scaler.scale, 0.0f, error)
               : agf_tensor_ref(loss);
  if (!scaled || !agf_backward(u->tape, scaled, NULL, error))
    return FALSE;
  u->skipped = FALSE;
  u->grad_norm = NAN;
  if (u->scaling) {
    if (!agf_loss_scaler_check(&u->scaler, u->trained, &u->skipped, error))
      return FALSE;
  } else if (u->clip > 0 &&
             !agf_clip_grad_norm(u->trained, u->clip, &u->grad_norm, error)) {
    return FALSE;
  }
  if (!u->skipped &&
      !agf_optimizer_step(u->opt, lr, u->scaling ? u->scaler.scale : 1.0f,
                          error))
    return FALSE;
  agf_optimizer_zero_grad(u->opt);
  return u->skipped || !u->ema || agf_ema_update(u->ema, error);
}

void agf_train_update_clear(AgfTrainUpdate *u)
{
  agf_tape_free(u->tape);
  agf_ema_free(u->ema);
  agf_optimizer_free(u->opt);
  agf_param_set_free(u->trained);
  memset(u, 0, sizeof *u);
}

gboolean agf_train_lr_check(const char *schedule, GError **error)
{
  if (!g_strcmp0(schedule, "constant") || !g_strcmp0(schedule, "cosine"))
    return TRUE;
  g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
              "--lr-schedule %s is not constant or cosine",
              schedule ? schedule : "(none)");
  return FALSE;
}

gboolean agf_train_size_check(int size, GError **error)
{
  if (size >= 8 && size % 8 == 0)
    return TRUE;
  g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
              "--size %d must be a positive multiple of 8", size);
  return FALSE;
}

float agf_train_lr(const char *schedule, gint64 step, gint64 total,
                   gint64 warmup, float base)
{
  if (!g_strcmp0(schedule, "cosine"))
    return agf_lr_cosine_warmup(step, total, warmup, base, 0.0f);
  if (step < warmup)
    return (float)((double)base * (double)step / (double)warmup);
  return base;
}

AgfTensor *agf_train_noise(AgfDevice *dev, AgfDType dt, guint64 seed,
                           guint64 stream, int ndim, const int64_t *shape,
                           GError **error)
{
  gsize n = 1;
  for (int i = 0; i < ndim; i++)
    n *= (gsize)shape[i];
  g_autofree float *host = g_new(float, n);
  agf_rng_normal(seed, stream, 0, host, n);
  return agf_tensor_from_f32(dev, dt, ndim, shape, host, error);
}
