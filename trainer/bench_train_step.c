/* One training case on one device: the random-weight checkpoints (the
 * presets' files of agfas-bench models; the ViT step uses the OA-Net's
 * image ViT and head alone, an image_only file derived from it), then
 * warm-up and timed steps through the kind's BenchTrainOps. The bare
 * U-Net and ViT steps live here: forward on the tape, loss, backward,
 * optimizer step, zero_grad, sync. f16 runs keep f32 masters and scale
 * the loss (agf_loss_scaler_*). */
#include <string.h>
#include "bench_train.h"
#include "nn/autograd.h"
#include "nn/loss.h"
#include "nn/optim.h"

/* The image_only OA-Net of a preset: the full file's tensors without the
 * cross-attention and the cue encoder, with variant image_only. */
static gboolean write_image_only(const char *full, const char *path,
                                 GError **error)
{
  g_autoptr(AgfSafetensors) st = agf_safetensors_open(full, error);
  if (!st)
    return FALSE;
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  for (int i = 0; i < agf_safetensors_n_tensors(st); i++) {
    const AgfStTensor *t = agf_safetensors_tensor_at(st, i);
    if (g_str_has_prefix(t->name, "cue_encoder.") || strstr(t->name, ".cross_"))
      continue;
    if (!agf_safetensors_writer_add(w, t->name, t->dtype, t->ndim, t->shape,
                                    t->data, error))
      return FALSE;
  }
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, agf_safetensors_metadata(st));
  while (g_hash_table_iter_next(&it, &k, &v))
    agf_safetensors_writer_set_meta(w, k, v);
  agf_safetensors_writer_set_meta(w, "oanet.variant", "image_only");
  return agf_safetensors_writer_write(w, path, error);
}

gboolean bench_train_prepare(BenchTrainCase *c, const char *dir,
                             GError **error)
{
  static const BenchModelKind model_of[BT_COUNT] = {
    [BT_UNET] = BM_UNET, [BT_VIT] = BM_OANET, [BT_DFG] = BM_RECONSTRUCT,
    [BT_OANET] = BM_OANET, [BT_CUE] = BM_RECONSTRUCT,
  };
  BenchModelCase mc = { .kind = model_of[c->kind], .p = c->p,
                        .preset = c->preset, .cfg = c->cfg };
  g_autoptr(GPtrArray) one = g_ptr_array_new();
  g_ptr_array_add(one, &mc);
  gboolean ok = bench_models_prepare_weights(one, dir, error);
  for (int i = 0; i < BW_COUNT; i++) {
    g_free(c->files[i]);
    c->files[i] = mc.files[i];
  }
  if (!ok || c->kind != BT_VIT)
    return ok;
  g_autofree char *full = c->files[BW_OANET];
  g_autofree char *stem = g_strndup(full, strlen(full) - strlen(".safetensors"));
  c->files[BW_OANET] = g_strconcat(stem, "-image_only.safetensors", NULL);
  if (g_file_test(c->files[BW_OANET], G_FILE_TEST_IS_REGULAR))
    return TRUE;
  if (!write_image_only(full, c->files[BW_OANET], error)) {
    g_prefix_error(error, "cannot write the benchmark weights %s: ",
                   c->files[BW_OANET]);
    return FALSE;
  }
  return TRUE;
}

typedef struct {
  const BenchTrainCase *c;
  AgfDevice *dev;
  AgfWeights *w;
  AgfParamSet *all, *train;
  AgfUnet *unet;
  AgfOanet *vit;
  AgfOptimizer *opt;
  AgfTape *tape;
  AgfTensor *in[BM_MAX_IN];
  AgfTensor *target;      /* unet: the noise to predict */
  float *timesteps;       /* unet: one per sample */
  int *labels;            /* vit: one class per sample */
  AgfLossScaler scaler;
  gboolean mixed;
} Trainer;

static void trainer_free(gpointer self)
{
  Trainer *t = self;
  if (!t)
    return;
  g_clear_pointer(&t->tape, agf_tape_free);
  g_clear_pointer(&t->opt, agf_optimizer_free);
  g_clear_pointer(&t->unet, agf_unet_free);
  g_clear_pointer(&t->vit, agf_oanet_free);
  for (int i = 0; i < BM_MAX_IN; i++)
    g_clear_pointer(&t->in[i], agf_tensor_unref);
  g_clear_pointer(&t->target, agf_tensor_unref);
  g_clear_pointer(&t->train, agf_param_set_free);
  g_clear_pointer(&t->all, agf_param_set_free);
  g_clear_pointer(&t->w, agf_weights_unref);
  g_clear_pointer(&t->timesteps, g_free);
  g_clear_pointer(&t->labels, g_free);
  g_free(t);
}

AgfTensor *bench_train_random_tensor(AgfDevice *dev, AgfDType dt, int ndim,
                                     const int64_t *shape, GRand *rand,
                                     GError **error)
{
  int64_t n = 1;
  for (int d = 0; d < ndim; d++)
    n *= shape[d];
  g_autofree float *v = g_new(float, n);
  for (int64_t i = 0; i < n; i++)
    v[i] = (float)g_rand_double_range(rand, -1.0, 1.0);
  return agf_tensor_from_f32(dev, dt, ndim, shape, v, error);
}

static gboolean trainer_init(Trainer *t, const BenchTrainCase *c,
                             AgfDevice *dev, AgfDType dt, GError **error)
{
  t->c = c;
  t->dev = dev;
  t->mixed = dt == AGF_F16;
  agf_loss_scaler_init(&t->scaler, 1024.0f);
  const char *file = c->files[c->kind == BT_UNET ? BW_UNET : BW_OANET];
  if (!(t->w = agf_weights_open(file, dev, dt, error)) ||
      !(t->all = agf_weights_param_set(t->w, error)))
    return FALSE;
  /* Every tensor but batch-norm buffers trains. */
  t->train = agf_param_set_new();
  for (int i = 0; i < agf_param_set_size(t->all); i++) {
    const char *name = agf_param_set_name(t->all, i);
    if (!agf_weights_name_is_buffer(name) &&
        !agf_param_set_add(t->train, name, agf_param_set_tensor(t->all, i), error))
      return FALSE;
  }
  agf_param_set_requires_grad(t->train, TRUE);
  g_autoptr(GRand) rand = g_rand_new_with_seed(42);
  for (int i = 0; i < c->in.n; i++)
    if (!(t->in[i] = bench_train_random_tensor(dev, dt, c->in.ndim[i],
                                               c->in.shape[i], rand, error)))
      return FALSE;
  AgfOptimConfig oc;
  if (c->kind == BT_UNET) {
    if (!(t->unet = agf_unet_new(t->w, error)) ||
        !(t->target = bench_train_random_tensor(dev, dt, c->in.ndim[0],
                                                c->in.shape[0], rand, error)))
      return FALSE;
    t->timesteps = g_new(float, c->batch);
    for (int i = 0; i < c->batch; i++)
      t->timesteps[i] = (float)g_rand_int_range(rand, 0, 1000);
    oc = (AgfOptimConfig){ .kind = AGF_OPTIM_ADAMW, .weight_decay = 0.01f };
  } else {
    if (!(t->vit = agf_oanet_new(t->w, error)))
      return FALSE;
    t->labels = g_new(int, c->batch);
    for (int i = 0; i < c->batch; i++)
      t->labels[i] = i % 2;
    oc = (AgfOptimConfig){ .kind = AGF_OPTIM_SGD, .momentum = 0.9f,
                           .weight_decay = 1e-4f };
  }
  if (!(t->opt = agf_optimizer_new(&oc, t->train, error)))
    return FALSE;
  t->tape = agf_tape_new(dev, error);
  return t->tape != NULL;
}

static AgfTensor *trainer_loss(Trainer *t, GError **error)
{
  if (t->unet) {
    g_autoptr(AgfTensor) eps = agf_unet_forward(t->unet, t->in[0], t->timesteps,
                                                t->in[1], error);
    return eps ? agf_loss_mse(eps, t->target, error) : NULL;
  }
  g_autoptr(AgfTensor) logits = NULL;
  if (!agf_oanet_forward(t->vit, t->in[0], NULL, &logits, NULL, error))
    return NULL;
  return agf_loss_cross_entropy(logits, t->labels, error);
}

static gpointer trainer_build(const BenchTrainCase *c, AgfDevice *dev,
                              AgfDType dt, GError **error)
{
  Trainer *t = g_new0(Trainer, 1);
  if (!trainer_init(t, c, dev, dt, error)) {
    trainer_free(t);
    return NULL;
  }
  return t;
}

/* One whole step, synced. */
static gboolean trainer_step(gpointer self, GError **error)
{
  Trainer *t = self;
  g_autoptr(AgfTensor) loss = trainer_loss(t, error);
  if (!loss)
    return FALSE;
  const float scale = t->mixed ? t->scaler.scale : 1.0f;
  g_autoptr(AgfTensor) scaled = t->mixed ? agf_scale(loss, scale, 0.0f, error)
                                         : agf_tensor_ref(loss);
  if (!scaled || !agf_backward(t->tape, scaled, NULL, error))
    return FALSE;
  gboolean skip = FALSE;
  if (t->mixed && !agf_loss_scaler_check(&t->scaler, t->train, &skip, error))
    return FALSE;
  const float lr = t->c->kind == BT_UNET ? 1e-4f : 1e-2f;
  if (!skip && !agf_optimizer_step(t->opt, lr, scale, error))
    return FALSE;
  agf_optimizer_zero_grad(t->opt);
  return agf_device_sync(t->dev, error);
}

const BenchTrainOps bench_train_bare_ops = {
  trainer_build, NULL, trainer_step, trainer_free
};

static const BenchTrainOps *ops_of(BenchTrainKind k)
{
  switch (k) {
  case BT_DFG:
    return &bench_train_dfg_ops;
  case BT_OANET:
    return &bench_train_ssdg_ops;
  case BT_CUE:
    return &bench_train_cue_ops;
  default:
    return &bench_train_bare_ops;
  }
}

gboolean bench_train_run_case(AgfDevice *dev, const BenchTrainCase *c,
                              AgfDType dt, BenchTrainResult *out,
                              GError **error)
{
  const BenchTrainOps *ops = ops_of(c->kind);
  gboolean ok = FALSE;
  double *times = g_new(double, c->runs);
  /* The warm-up builds pipelines, fills arenas and creates the optimizer
   * state. */
  gpointer self = ops->build(c, dev, dt, error);
  if (!self ||
      !(ops->warm ? ops->warm(self, error) : ops->step(self, error)))
    goto done;
  agf_device_reset_peak(dev);
  for (int r = 0; r < c->runs; r++) {
    gint64 t0 = g_get_monotonic_time();
    if (!ops->step(self, error))
      goto done;
    times[r] = (double)(g_get_monotonic_time() - t0);
  }
  out->c = c;
  bench_measure_take(&out->m, dev, dt, times, c->runs);
  ok = TRUE;
done:
  if (!ok)
    g_prefix_error(error, "%s %s %s: ", c->preset, bench_train_name(c->kind),
                   c->kind == BT_CUE ? "generation" : "training step");
  g_free(times);
  if (self)
    ops->free(self);
  return ok;
}
