/* agfas-train dfg: trains the DFG's U-Net (method.md step 2) on aligned
 * live faces: epsilon-prediction MSE on the autoencoder's latents, the
 * identity context from a frozen face-recognition network, AdamW, EMA. */
#include <math.h>
#include <string.h>
#include "train_cli.h"
#include "train_data.h"
#include "train_loop.h"
#include "train_loop_model.h"
#include "train_sample.h"
#include "nn/loss.h"
#include "nn/ops.h"
#include "pipeline/dfg.h"
#include "pipeline/rng.h"

/* rng.h streams, step in the low bits */
#define STREAM_ENC G_GUINT64_CONSTANT(0x6466670000000000)
#define STREAM_EPS G_GUINT64_CONSTANT(0x6466650000000000)
#define STREAM_T G_GUINT64_CONSTANT(0x6466740000000000)
#define STREAM_DROP G_GUINT64_CONSTANT(0x6466640000000000)

static const char description[] =
  "MANIFEST: the manifest of 'agfas-train prepare' (aligned face crops);\n"
  "only LIVE rows are used (every row when the manifest has no labels).\n\n"
  "Per step, for a batch x of faces in [-1, 1]:\n"
  "  z0  = sample(E(x)) * scaling_factor             (frozen autoencoder)\n"
  "  ctx = identity tokens of x, zero-padded to the U-Net's context width\n"
  "  t   ~ uniform{0 .. T-1} per face,  n ~ N(0, I)\n"
  "  zt  = sqrt(abar_t) z0 + sqrt(1 - abar_t) n    (the U-Net's schedule)\n"
  "  loss = mse(unet(zt, t, ctx), n)\n"
  "with ctx zeroed for a face with probability --context-dropout.\n"
  "AdamW (the paper: --lr 1e-5, weight decay 0.01, betas 0.9/0.999, batch\n"
  "32; a small preset trained from scratch takes a larger --lr such as\n"
  "1e-4). The autoencoder and the identity network are frozen.\n\n"
  "--identity: an ArcFace iresnet file, or 'mobilefacenet' for the\n"
  "pretrained face network of resources/models/face (its 7x7x512 map), or\n"
  "a MobileFaceNet file. A fresh U-Net (no --init) gets random weights of\n"
  "--preset with SD-1.5's noise schedule, its context widened to the\n"
  "identity tokens' width when they are wider (MobileFaceNet: 512).\n\n"
  "Writes DIR/unet.safetensors at the end: the EMA weights (--ema-decay 0:\n"
  "the weights) with the configuration and agfas.schedule.* metadata the\n"
  "app's DFG reads. Ctrl-C saves the checkpoint and exits 130; continue\n"
  "with --resume DIR.";

typedef struct {
  AgfTrainOptions o;
  AgfTrainAdamwOptions w;
  char *preset, *init, *vae, *identity;
  int size;
  double context_dropout;
} DfgArgs;

static char *config_json(const DfgArgs *a, const char *manifest,
                         guint n_faces, const char *identity_name)
{
  JsonBuilder *b = agf_train_config_begin("dfg", &a->o);
  agf_train_config_str(b, "manifest", manifest);
  agf_train_config_int(b, "faces", n_faces);
  agf_train_config_str(b, "preset", a->preset);
  agf_train_config_str(b, "init", a->init);
  agf_train_config_str(b, "vae", a->vae);
  agf_train_config_str(b, "identity", a->identity);
  agf_train_config_str(b, "identity_network", identity_name);
  agf_train_config_int(b, "size", a->size);
  agf_train_config_double(b, "context_dropout", a->context_dropout);
  agf_train_adamw_config(b, &a->w);
  return agf_train_config_end(b);
}

/* The U-Net to train: --init's, else DIR/init-unet.safetensors, random
 * weights of the preset with its context widened to the identity's token
 * width when that is larger (MobileFaceNet's 512 on the small preset). */
static AgfWeights *open_unet(const DfgArgs *a, AgfPreset preset, int width,
                             const char *dir, AgfDevice *dev, AgfDType dt,
                             GError **error)
{
  if (a->init)
    return agf_train_init_open(a->init, dev, dt, error);
  g_autofree char *path = g_build_filename(dir, "init-unet.safetensors",
                                           NULL);
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    AgfPresetConfigs c;
    agf_preset_configs(preset, &c);
    if (width > c.unet.cross_attention_dim) {
      g_printerr("agfas-train dfg: the %s U-Net's context widened from %d "
                 "to %d for the identity tokens\n", agf_preset_name(preset),
                 c.unet.cross_attention_dim, width);
      c.unet.cross_attention_dim = width;
    }
    if (!agf_preset_write_random_unet(preset, &c.unet, (guint64)a->o.seed,
                                      AGF_ST_F32, path, error)) {
      g_prefix_error(error, "random %s U-Net: ", agf_preset_name(preset));
      return NULL;
    }
  }
  return agf_weights_open(path, dev, dt, error);
}

/* zt = sqrt(abar_t) z0 + sqrt(1 - abar_t) n, per item, on the host (the
 * latents carry no gradient); *target = n. */
static AgfTensor *noisy_latents(AgfDfg *dfg, const AgfTensor *z0,
                                guint64 seed, gint64 step, float *tb,
                                AgfTensor **target, GError **error)
{
  const AgfNoiseSchedule *s = agf_dfg_noise_schedule(dfg);
  const int64_t b = z0->shape[0];
  const gsize per = (gsize)(agf_tensor_numel(z0) / b);
  g_autofree float *z = g_new(float, per * (gsize)b);
  g_autofree float *n = g_new(float, per * (gsize)b);
  if (!agf_tensor_to_f32(z0, z, error))
    return NULL;
  agf_rng_normal(seed, STREAM_EPS + (guint64)step, 0, n, per * (gsize)b);
  for (int64_t i = 0; i < b; i++) {
    int t = (int)(agf_rng_uniform(seed, STREAM_T + (guint64)step,
                                  (guint64)i) * s->T);
    t = MIN(t, s->T - 1);
    tb[i] = (float)t;
    const double ab = agf_noise_schedule_alpha_cumprod(s, t);
    const float ca = (float)sqrt(ab), cb = (float)sqrt(1.0 - ab);
    for (gsize j = 0; j < per; j++) {
      const gsize k = (gsize)i * per + j;
      z[k] = ca * z[k] + cb * n[k];
    }
  }
  AgfDevice *dev = agf_dfg_device(dfg);
  *target = agf_tensor_from_f32(dev, z0->dtype, z0->ndim, z0->shape, n,
                                error);
  if (!*target)
    return NULL;
  return agf_tensor_from_f32(dev, z0->dtype, z0->ndim, z0->shape, z, error);
}

/* The frozen part: z0 = sample(E(x)) * sf and the identity context. */
static gboolean frozen_inputs(AgfDfg *dfg, const AgfTensor *x, guint64 seed,
                              gint64 step, AgfTensor **z0, AgfTensor **ctx,
                              GError **error)
{
  AgfAutoencoderKL *vae = agf_dfg_autoencoder(dfg);
  g_autoptr(AgfTensor) mean = NULL, logvar = NULL;
  if (!agf_autoencoder_kl_encode(vae, x, &mean, &logvar, error))
    return FALSE;
  g_autoptr(AgfTensor) n = agf_train_noise(agf_dfg_device(dfg), mean->dtype,
                                           seed, STREAM_ENC + (guint64)step,
                                           mean->ndim, mean->shape, error);
  g_autoptr(AgfTensor) z = n ? agf_autoencoder_kl_sample(mean, logvar, n,
                                                         error) : NULL;
  if (!z || !(*z0 = agf_scale(z, agf_autoencoder_kl_config(vae)->scaling_factor,
                              0.0f, error)))
    return FALSE;
  return (*ctx = agf_dfg_context(dfg, x, error)) != NULL;
}

/* Classifier-free guidance's training trick: each face's context is zero
 * with probability p (seeded per step and face), so the U-Net also learns
 * to denoise without an identity (the built-in sample is made so). */
static AgfTensor *drop_context(AgfTensor *ctx, double p, guint64 seed,
                               gint64 step, GError **error)
{
  const int64_t b = ctx->shape[0];
  const gsize per = (gsize)(agf_tensor_numel(ctx) / b);
  g_autofree float *c = g_new(float, per * (gsize)b);
  if (!agf_tensor_to_f32(ctx, c, error))
    return NULL;
  for (int64_t i = 0; i < b; i++)
    if (agf_rng_uniform(seed, STREAM_DROP + (guint64)step, (guint64)i) < p)
      memset(c + (gsize)i * per, 0, per * sizeof *c);
  return agf_tensor_from_f32(ctx->dev, ctx->dtype, ctx->ndim, ctx->shape, c,
                             error);
}

/* The exported U-Net's metadata: its file's, plus every schedule key and
 * the image size it is trained at. */
static GHashTable *unet_meta(AgfWeights *w, AgfDfg *dfg, int size)
{
  GHashTable *meta = agf_train_weights_meta(w);
  g_autoptr(GHashTable) sched =
    agf_schedule_config_to_metadata(&agf_dfg_noise_schedule(dfg)->config);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, sched);
  while (g_hash_table_iter_next(&it, &k, &v))
    g_hash_table_insert(meta, g_strdup(k), g_strdup(v));
  g_hash_table_insert(meta, g_strdup(AGF_DFG_META_IMAGE_SIZE),
                      g_strdup_printf("%d", size));
  return meta;
}

static int train(DfgArgs *a, const char *manifest, GError **error)
{
  AgfDType dt, export_dt;
  AgfPreset preset;
  if (!agf_train_options_dtypes(&a->o, &dt, &export_dt, error) ||
      !agf_train_lr_check(a->w.schedule, error) ||
      !agf_preset_from_name(a->preset, &preset, error))
    return -1;
  if (!agf_train_size_check(a->size, error))
    return -1;
  g_autoptr(AgfTrainData) data =
    agf_train_data_open(manifest, AGF_TRAIN_ROWS_LIVE, error);
  g_autoptr(AgfDevice) dev =
    data ? agf_cli_open_device(&a->o.common, dt, error) : NULL;
  if (!dev)
    return -1;
  int width = 0;
  AgfDfgIdentity *id = agf_train_open_identity(a->identity, dev, dt, &width,
                                               " or 'mobilefacenet'", error);
  if (!id)
    return -1;
  g_autofree char *id_name = g_strdup(agf_dfg_identity_name(id));
  g_autoptr(AgfWeights) vw = agf_weights_open(a->vae, dev, dt, error);
  if (!vw) {
    agf_dfg_identity_free(id);
    g_prefix_error(error, "--vae: ");
    return -1;
  }
  g_autofree char *cfg = config_json(a, manifest, agf_train_data_len(data),
                                     id_name);
  g_autoptr(AgfTrainRun) run = agf_train_run_new(&a->o, "dfg", cfg, error);
  g_autoptr(AgfWeights) uw =
    run ? open_unet(a, preset, width, agf_train_run_dir(run), dev, dt, error)
        : NULL;
  if (!uw) {
    agf_dfg_identity_free(id);
    return -1;
  }
  g_autoptr(AgfDfg) dfg = agf_dfg_new(vw, uw, id, error);
  g_autoptr(AgfParamSet) all = dfg ? agf_weights_param_set(uw, error) : NULL;
  if (!all)
    return -1;
  g_autoptr(GHashTable) meta = unet_meta(uw, dfg, a->size);
  g_autofree float *tb = g_new(float, a->o.batch);
  AgfTrainUpdate u = { 0 };
  int rc = -1;
  AgfTrainState st = { .meta = meta, .export_name = "unet.safetensors" };
  if (!agf_train_adamw_begin(run, &u, dev, all, &a->w, &st, error))
    goto out;
  g_printerr("agfas-train dfg: %u live faces, U-Net of %.2fM parameters, "
             "identity %s, on %s\n", agf_train_data_len(data),
             agf_param_set_numel(u.trained) / 1e6, id_name,
             agf_device_info(dev)->name);
  while (agf_train_run_next(run)) {
    const gint64 step = agf_train_run_step(run);
    const guint64 seed = agf_train_run_seed(run);
    g_autoptr(AgfTensor) x = agf_train_data_batch(
      data, seed, step, a->o.batch, a->size, dev, dt, error);
    g_autoptr(AgfTensor) z0 = NULL, ctx = NULL, target = NULL;
    agf_no_grad_begin(dev);
    gboolean ok = x && agf_train_update_begin(&u, error) &&
                  frozen_inputs(dfg, x, seed, step, &z0, &ctx, error);
    if (ok && a->context_dropout > 0) {
      AgfTensor *dropped = drop_context(ctx, a->context_dropout, seed, step,
                                        error);
      agf_tensor_unref(ctx);
      ok = (ctx = dropped) != NULL;
    }
    agf_no_grad_end(dev);
    if (!ok)
      goto out;
    g_autoptr(AgfTensor) zt = noisy_latents(dfg, z0, seed, step, tb, &target,
                                            error);
    g_autoptr(AgfTensor) eps = zt ? agf_unet_forward(agf_dfg_unet(dfg), zt,
                                                     tb, ctx, error) : NULL;
    g_autoptr(AgfTensor) loss = eps ? agf_loss_mse(eps, target, error) : NULL;
    float v = 0;
    if (!loss || !agf_tensor_to_f32(loss, &v, error))
      goto out;
    const AgfTrainTerm terms[] = { { "loss", v } };
    if (!agf_train_adamw_step(run, &u, &a->o, &a->w, loss, terms, 1, error))
      goto out;
  }
  rc = agf_train_run_finish(run);
out:
  agf_train_update_clear(&u);
  return rc;
}

int agf_train_dfg(int argc, char **argv)
{
  const AgfTrainCommand *cmd = agf_train_command(argv[0]);
  DfgArgs a = { .size = 256 };
  agf_train_options_init(&a.o, 10000, 32, 1e-5);
  agf_train_adamw_init(&a.w, 0.01, 0.999);
  const GOptionEntry entries[] = {
    { "vae", 0, 0, G_OPTION_ARG_FILENAME, &a.vae,
      "The (frozen) autoencoder file (required)", "FILE" },
    { "identity", 0, 0, G_OPTION_ARG_FILENAME, &a.identity,
      "The (frozen) identity network: an iresnet or MobileFaceNet file, or "
      "'mobilefacenet' (required)", "FILE|mobilefacenet" },
    { "preset", 0, 0, G_OPTION_ARG_STRING, &a.preset,
      "Size of a fresh U-Net: tiny, small (default) or paper", "NAME" },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &a.init,
      "Fine-tune this U-Net file instead of starting from random weights",
      "UNET_FILE" },
    { "size", 0, 0, G_OPTION_ARG_INT, &a.size,
      "Train on crops resized to N x N (default 256, the app's)", "N" },
    { "context-dropout", 0, 0, G_OPTION_ARG_DOUBLE, &a.context_dropout,
      "Zero each face's identity context with this probability (default 0; "
      "0.1 lets the U-Net also generate without an identity)", "P" },
    { NULL }
  };
  GOptionContext *ctx = agf_train_context(
    cmd, entries, &a.o, &a.w, "EMA decay of the exported weights (default "
    "0.999; 0.9999 for long runs; 0: no EMA)", description);
  int rc = AGF_EXIT_OK;
  GError *error = NULL;
  if (!agf_cli_parse(ctx, cmd->name, &argc, &argv, &rc))
    goto done;
  if (argc != 2 || !a.vae || !a.identity) {
    rc = agf_cli_usage_error(cmd->name, "%s",
                             argc < 2 ? "missing MANIFEST (from agfas-train "
                                        "prepare)"
                             : argc > 2 ? "expected one MANIFEST"
                             : !a.vae ? "--vae FILE is required (the "
                                        "autoencoder, e.g. from agfas-train "
                                        "vae)"
                                      : "--identity is required (an iresnet "
                                        "file or mobilefacenet)");
    goto done;
  }
  if (!a.preset)
    a.preset = g_strdup("small");
  if (!(a.context_dropout >= 0 && a.context_dropout <= 1)) {
    rc = agf_cli_usage_error(cmd->name, "--context-dropout %g: give a "
                             "probability in [0, 1]", a.context_dropout);
    goto done;
  }
  if (!agf_train_options_usage(cmd, &a.o, &a.w, &rc))
    goto done;
  rc = train(&a, argv[1], &error);
  if (rc < 0)
    rc = agf_cli_fail(error);
done:
  g_option_context_free(ctx);
  agf_train_options_clear(&a.o);
  g_free(a.preset);
  g_free(a.init);
  g_free(a.vae);
  g_free(a.identity);
  agf_train_adamw_clear(&a.w);
  return rc;
}
