/* Training checkpoints in one safetensors file (written through the
 * writer's temp + fsync + rename): model tensors under their names,
 * optimizer state under "optim/", EMA weights under "ema/", and the run's
 * position in "train.*" metadata. Loading checks every name and shape
 * before it overwrites anything. */
#include "models/checkpoint.h"
#include <errno.h>
#include <string.h>
#include "io/safetensors.h"
#include "nn/autograd.h"
#include "nn/op.h"

#define FORMAT_NAME "agfas-checkpoint-1"

void
agf_checkpoint_info_clear(AgfCheckpointInfo *info)
{
  if (!info)
    return;
  g_clear_pointer(&info->config_json, g_free);
  info->step = 0;
  info->seed = 0;
  info->rng_counter = 0;
}

static char *
optim_json(const AgfOptimConfig *c)
{
  return g_strdup_printf(
    "{\"kind\":\"%s\",\"weight_decay\":%.9g,\"momentum\":%.9g,"
    "\"nesterov\":%s,\"beta1\":%.9g,\"beta2\":%.9g,\"eps\":%.9g}",
    c->kind == AGF_OPTIM_SGD ? "sgd" : "adamw", (double) c->weight_decay,
    (double) c->momentum, c->nesterov ? "true" : "false", (double) c->beta1,
    (double) c->beta2, (double) c->eps);
}

static gboolean
add_set(AgfSafetensorsWriter *w, const char *prefix, const AgfParamSet *ps,
        AgfDType dt, GError **error)
{
  for (int i = 0; i < agf_param_set_size(ps); i++) {
    AgfTensor *t = agf_param_set_tensor(ps, i);
    g_autofree char *name = g_strconcat(prefix, agf_param_set_name(ps, i),
                                        NULL);
    g_autoptr(AgfTensor) c = t->dtype == dt || t->dtype == AGF_U8
                               ? agf_tensor_ref(t)
                               : agf_tensor_cast(t, dt, error);
    if (!c || !agf_safetensors_writer_add_tensor(w, name, c, error))
      return FALSE;
  }
  return TRUE;
}

gboolean
agf_checkpoint_save(const char *path, const AgfParamSet *model,
                    AgfOptimizer *opt, AgfEma *ema,
                    const AgfCheckpointInfo *info, AgfDType dt,
                    GHashTable *meta, GError **error)
{
  g_return_val_if_fail(path != NULL && model != NULL && info != NULL, FALSE);
  if (dt != AGF_F32 && dt != AGF_F16) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
                "checkpoint %s: model tensors can be stored as f32 or f16, "
                "not %s", path, agf_dtype_name(dt));
    return FALSE;
  }
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  if (meta) {
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, meta);
    while (g_hash_table_iter_next(&it, &k, &v)) {
      if (g_str_has_prefix(k, AGF_CHECKPOINT_META_PREFIX)) {
        g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                    "checkpoint %s: metadata key %s is reserved (\"train.\" "
                    "keys hold the run's position); rename it", path,
                    (const char *) k);
        return FALSE;
      }
      agf_safetensors_writer_set_meta(w, k, v);
    }
  }
  char num[32];
  agf_safetensors_writer_set_meta(w, AGF_CHECKPOINT_META_FORMAT, FORMAT_NAME);
  g_snprintf(num, sizeof num, "%" G_GINT64_FORMAT, info->step);
  agf_safetensors_writer_set_meta(w, "train.step", num);
  g_snprintf(num, sizeof num, "%" G_GUINT64_FORMAT, info->seed);
  agf_safetensors_writer_set_meta(w, "train.seed", num);
  g_snprintf(num, sizeof num, "%" G_GUINT64_FORMAT, info->rng_counter);
  agf_safetensors_writer_set_meta(w, "train.rng_counter", num);
  if (info->config_json)
    agf_safetensors_writer_set_meta(w, "train.config", info->config_json);
  if (!add_set(w, "", model, dt, error))
    goto fail;
  if (opt) {
    g_autofree char *js = optim_json(agf_optimizer_config(opt));
    agf_safetensors_writer_set_meta(w, "train.optimizer", js);
    g_snprintf(num, sizeof num, "%" G_GINT64_FORMAT,
               agf_optimizer_n_steps(opt));
    agf_safetensors_writer_set_meta(w, "train.optimizer_steps", num);
    g_autoptr(AgfParamSet) st = agf_optimizer_state(opt, error);
    if (!st || !add_set(w, "optim/", st, AGF_F32, error))
      goto fail;
  }
  if (ema && !add_set(w, "ema/", agf_ema_shadow(ema), AGF_F32, error))
    goto fail;
  if (agf_safetensors_writer_write(w, path, error))
    return TRUE;
fail:
  g_prefix_error(error, "checkpoint %s not written (the previous one, if "
                 "any, is unchanged): ", path);
  return FALSE;
}

/* Every tensor of ps is in the file as prefix+name with its shape. */
static gboolean
check_set(const AgfSafetensors *st, const char *prefix, const AgfParamSet *ps,
          GError **error)
{
  for (int i = 0; i < agf_param_set_size(ps); i++) {
    AgfTensor *t = agf_param_set_tensor(ps, i);
    g_autofree char *name = g_strconcat(prefix, agf_param_set_name(ps, i),
                                        NULL);
    if (!agf_safetensors_expect(st, name, AGF_ST_ANY_DTYPE, t->ndim, t->shape,
                                error))
      return FALSE;
  }
  return TRUE;
}

/* Overwrites each tensor of ps with the file's (same dtype: bit-exact).
 * Outside the tape: loading is not part of any step's graph, and the tape
 * refuses in-place writes into parameters while it records. */
static gboolean
load_set(const AgfSafetensors *st, const char *prefix, const AgfParamSet *ps,
         GError **error)
{
  gboolean ok = TRUE;
  for (int i = 0; ok && i < agf_param_set_size(ps); i++) {
    AgfTensor *t = agf_param_set_tensor(ps, i);
    g_autofree char *name = g_strconcat(prefix, agf_param_set_name(ps, i),
                                        NULL);
    g_autoptr(AgfTensor) src = agf_safetensors_load(st, t->dev, name,
                                                    t->dtype, t->ndim,
                                                    t->shape, error);
    AgfOp op = { .kind = AGF_OP_COPY, .in = { src }, .n_in = 1, .out = t };
    agf_no_grad_begin(t->dev);
    ok = src && agf_op_run(&op, error);
    agf_no_grad_end(t->dev);
  }
  return ok;
}

static gboolean
meta_u64(const AgfSafetensors *st, const char *key, gboolean is_signed,
         guint64 *out, GError **error)
{
  const char *v = agf_safetensors_meta(st, key);
  gboolean ok = v != NULL;
  if (ok && is_signed) {
    gint64 s;
    ok = g_ascii_string_to_signed(v, 10, 0, G_MAXINT64, &s, NULL);
    *out = (guint64) s;
  } else if (ok) {
    ok = g_ascii_string_to_unsigned(v, 10, 0, G_MAXUINT64, out, NULL);
  }
  if (!ok)
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "checkpoint %s: metadata %s is %s%s%s, not a count; the file "
                "is not a checkpoint written by agfas-train",
                agf_safetensors_path(st), key, v ? "\"" : "missing",
                v ? v : "", v ? "\"" : "");
  return ok;
}

gboolean
agf_checkpoint_load(const char *path, const AgfParamSet *model,
                    AgfOptimizer *opt, AgfEma *ema, AgfCheckpointInfo *info,
                    GError **error)
{
  g_return_val_if_fail(path != NULL && model != NULL, FALSE);
  g_autoptr(AgfSafetensors) st = agf_safetensors_open(path, error);
  if (!st)
    return FALSE;
  guint64 step, seed, rng, opt_steps = 0;
  if (!meta_u64(st, "train.step", TRUE, &step, error) ||
      !meta_u64(st, "train.seed", FALSE, &seed, error) ||
      !meta_u64(st, "train.rng_counter", FALSE, &rng, error))
    return FALSE;
  g_autoptr(AgfParamSet) ostate = NULL;
  if (opt) {
    g_autofree char *want = optim_json(agf_optimizer_config(opt));
    const char *have = agf_safetensors_meta(st, "train.optimizer");
    if (!have) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "checkpoint %s holds no optimizer state; resume without "
                  "one or from another checkpoint", path);
      return FALSE;
    }
    if (strcmp(have, want) != 0) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "checkpoint %s was saved with optimizer %s, but this run "
                  "uses %s; resume with the same optimizer settings", path,
                  have, want);
      return FALSE;
    }
    if (!meta_u64(st, "train.optimizer_steps", TRUE, &opt_steps, error) ||
        !(ostate = agf_optimizer_state(opt, error)))
      return FALSE;
  }
  /* Check all, then write all: a mismatch leaves every tensor as it was. */
  if (!check_set(st, "", model, error) ||
      (ostate && !check_set(st, "optim/", ostate, error)) ||
      (ema && !check_set(st, "ema/", agf_ema_shadow(ema), error)))
    return FALSE;
  if (!load_set(st, "", model, error) ||
      (ema && !load_set(st, "ema/", agf_ema_shadow(ema), error)))
    return FALSE;
  if (opt) {
    /* Loaded into fresh copies, then handed to the optimizer, which also
     * restores its step counters from them. */
    g_autoptr(AgfParamSet) loaded = agf_param_set_new();
    for (int i = 0; i < agf_param_set_size(ostate); i++) {
      AgfTensor *t = agf_param_set_tensor(ostate, i);
      const char *name = agf_param_set_name(ostate, i);
      g_autofree char *fname = g_strconcat("optim/", name, NULL);
      g_autoptr(AgfTensor) src = agf_safetensors_load(st, t->dev, fname,
                                                      AGF_F32, t->ndim,
                                                      t->shape, error);
      if (!src || !agf_param_set_add(loaded, name, src, error))
        return FALSE;
    }
    if (!agf_optimizer_load_state(opt, loaded, (gint64) opt_steps, error))
      return FALSE;
  }
  if (info) {
    agf_checkpoint_info_clear(info);
    info->step = (gint64) step;
    info->seed = seed;
    info->rng_counter = rng;
    info->config_json = g_strdup(agf_safetensors_meta(st, "train.config"));
  }
  return TRUE;
}
