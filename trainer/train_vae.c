/* agfas-train vae: trains an AutoencoderKL on aligned real faces with the
 * first-stage objective of latent diffusion (L1 reconstruction + a small
 * KL term on encoder samples), without the perceptual and adversarial
 * terms. */
#include <string.h>
#include "train_cli.h"
#include "train_data.h"
#include "train_loop.h"
#include "train_loop_model.h"
#include "models/autoencoder_kl.h"
#include "nn/loss.h"
#include "nn/ops.h"

/* rng.h stream of the encoder's sampling noise, step in the low bits */
#define STREAM_ENC G_GUINT64_CONSTANT(0x7661650000000000)

static const char description[] =
  "MANIFEST: the manifest of 'agfas-train prepare' (aligned face crops);\n"
  "live rows are used (every row when the manifest has no labels).\n\n"
  "Objective (LDM's first stage without LPIPS and the discriminator):\n"
  "  z = mean + exp(logvar / 2) * n,   x' = D(z)\n"
  "  loss = mean|x - x'| + kl_weight * KL / (3 * H * W)\n"
  "  KL = 0.5 * sum(mean^2 + exp(logvar) - 1 - logvar) / batch\n"
  "i.e. LDM's sum|x - x'| / batch + kl_weight * KL scaled by the pixel\n"
  "count; kl_weight 1e-6 as LDM's KL-f8. AdamW; the log has l1 and kl.\n\n"
  "The paper preset uses the Stable Diffusion 1.5 autoencoder as it is:\n"
  "import it with 'agfas-train import' rather than training one (--init\n"
  "FILE fine-tunes any autoencoder file).\n\n"
  "Writes DIR/autoencoder_kl.safetensors at the end (EMA weights when\n"
  "--ema-decay > 0). Ctrl-C saves the checkpoint and exits 130; continue\n"
  "with --resume DIR.";

typedef struct {
  AgfTrainOptions o;
  AgfTrainAdamwOptions w;
  char *preset, *init;
  int size;
  double kl_weight;
} VaeArgs;

static char *config_json(const VaeArgs *a, const char *manifest,
                         guint n_faces)
{
  JsonBuilder *b = agf_train_config_begin("vae", &a->o);
  agf_train_config_str(b, "manifest", manifest);
  agf_train_config_int(b, "faces", n_faces);
  agf_train_config_str(b, "preset", a->preset);
  agf_train_config_str(b, "init", a->init);
  agf_train_config_int(b, "size", a->size);
  agf_train_config_double(b, "kl_weight", a->kl_weight);
  agf_train_adamw_config(b, &a->w);
  return agf_train_config_end(b);
}

/* 0.5 * sum(mean^2 + exp(logvar) - 1 - logvar) / batch */
static AgfTensor *kl_term(const AgfTensor *mean, const AgfTensor *logvar,
                          GError **error)
{
  g_autoptr(AgfTensor) m2 = agf_mul(mean, mean, error);
  g_autoptr(AgfTensor) ev = m2 ? agf_unary(logvar, AGF_UNARY_EXP, 1, 0, error)
                               : NULL;
  g_autoptr(AgfTensor) s1 = ev ? agf_add(m2, ev, error) : NULL;
  g_autoptr(AgfTensor) s2 = s1 ? agf_sub(s1, logvar, error) : NULL;
  const int64_t one[1] = { 1 };
  g_autoptr(AgfTensor) sum = s2 ? agf_reduce(s2, AGF_REDUCE_SUM, 1, one, error)
                                : NULL;
  if (!sum)
    return NULL;
  const float per = (float)agf_tensor_numel(mean);
  const float b = (float)mean->shape[0];
  /* the "- 1" summed over every element, folded into the affine scale */
  return agf_scale(sum, 0.5f / b, -0.5f * per / b, error);
}

static int train(VaeArgs *a, const char *manifest, GError **error)
{
  AgfDType dt, export_dt;
  if (!agf_train_options_dtypes(&a->o, &dt, &export_dt, error) ||
      !agf_train_lr_check(a->w.schedule, error))
    return -1;
  AgfPreset preset;
  if (!agf_preset_from_name(a->preset, &preset, error))
    return -1;
  if (preset == AGF_PRESET_PAPER && !a->init) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "the paper preset uses the Stable Diffusion 1.5 autoencoder "
                "as it is: import it with 'agfas-train import' (or pass "
                "--init FILE to fine-tune it, --preset tiny|small to train "
                "a small one)");
    return -1;
  }
  if (!agf_train_size_check(a->size, error))
    return -1;
  g_autoptr(AgfTrainData) data =
    agf_train_data_open(manifest, AGF_TRAIN_ROWS_LIVE, error);
  if (!data)
    return -1;
  g_autoptr(AgfDevice) dev = agf_cli_open_device(&a->o.common, dt, error);
  if (!dev)
    return -1;
  g_autofree char *cfg = config_json(a, manifest, agf_train_data_len(data));
  g_autoptr(AgfTrainRun) run = agf_train_run_new(&a->o, "vae", cfg, error);
  if (!run)
    return -1;
  g_autoptr(AgfWeights) w = agf_train_weights_open(
    a->init, preset, AGF_NET_AUTOENCODER, (guint64)a->o.seed,
    agf_train_run_dir(run), dev, dt, error);
  g_autoptr(AgfAutoencoderKL) vae = w ? agf_autoencoder_kl_new(w, error) : NULL;
  g_autoptr(AgfParamSet) all = vae ? agf_weights_param_set(w, error) : NULL;
  if (!all)
    return -1;
  g_autoptr(GHashTable) meta = agf_train_weights_meta(w);
  AgfTrainUpdate u = { 0 };
  int rc = -1;
  AgfTrainState st = { .meta = meta,
                       .export_name = "autoencoder_kl.safetensors" };
  if (!agf_train_adamw_begin(run, &u, dev, all, &a->w, &st, error))
    goto out;
  g_printerr("agfas-train vae: %u faces, autoencoder of %.2fM parameters "
             "on %s\n", agf_train_data_len(data),
             agf_param_set_numel(u.trained) / 1e6, agf_device_info(dev)->name);
  const float pixels = 3.0f * (float)a->size * (float)a->size;
  while (agf_train_run_next(run)) {
    const gint64 step = agf_train_run_step(run);
    const guint64 seed = agf_train_run_seed(run);
    g_autoptr(AgfTensor) x = agf_train_data_batch(
      data, seed, step, a->o.batch, a->size, dev, dt, error);
    g_autoptr(AgfTensor) mean = NULL, logvar = NULL;
    if (!x || !agf_train_update_begin(&u, error) ||
        !agf_autoencoder_kl_encode(vae, x, &mean, &logvar, error))
      goto out;
    g_autoptr(AgfTensor) n = agf_train_noise(dev, mean->dtype, seed,
                                             STREAM_ENC + (guint64)step,
                                             mean->ndim, mean->shape, error);
    g_autoptr(AgfTensor) z = n ? agf_autoencoder_kl_sample(mean, logvar, n,
                                                           error) : NULL;
    g_autoptr(AgfTensor) rec = z ? agf_autoencoder_kl_decode(vae, z, error)
                                 : NULL;
    g_autoptr(AgfTensor) l1 = rec ? agf_loss_l1(rec, x, error) : NULL;
    g_autoptr(AgfTensor) kl = l1 ? kl_term(mean, logvar, error) : NULL;
    g_autoptr(AgfTensor) klw = kl ? agf_scale(kl, (float)a->kl_weight / pixels,
                                              0.0f, error) : NULL;
    g_autoptr(AgfTensor) loss = klw ? agf_add(l1, klw, error) : NULL;
    float v[3];
    if (!loss || !agf_tensor_to_f32(loss, &v[0], error) ||
        !agf_tensor_to_f32(l1, &v[1], error) ||
        !agf_tensor_to_f32(kl, &v[2], error))
      goto out;
    const AgfTrainTerm terms[] = { { "loss", v[0] }, { "l1", v[1] },
                                   { "kl", v[2] } };
    if (!agf_train_adamw_step(run, &u, &a->o, &a->w, loss, terms, 3, error))
      goto out;
  }
  rc = agf_train_run_finish(run);
out:
  agf_train_update_clear(&u);
  return rc;
}

int agf_train_vae(int argc, char **argv)
{
  const AgfTrainCommand *cmd = agf_train_command(argv[0]);
  VaeArgs a = { .size = 256, .kl_weight = 1e-6 };
  agf_train_options_init(&a.o, 10000, 8, 1e-4);
  agf_train_adamw_init(&a.w, 0.0, 0.0);
  const GOptionEntry entries[] = {
    { "preset", 0, 0, G_OPTION_ARG_STRING, &a.preset,
      "Network size of a fresh autoencoder: tiny or small (default small; "
      "paper: import SD-1.5's)", "NAME" },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &a.init,
      "Start from this autoencoder file instead of random weights", "FILE" },
    { "size", 0, 0, G_OPTION_ARG_INT, &a.size,
      "Train on crops resized to N x N (default 256, the app's)", "N" },
    { "kl-weight", 0, 0, G_OPTION_ARG_DOUBLE, &a.kl_weight,
      "Weight of the KL term (default 1e-6, LDM's)", "W" },
    { NULL }
  };
  GOptionContext *ctx = agf_train_context(
    cmd, entries, &a.o, &a.w, "EMA of the weights, exported instead of the "
    "weights (default 0: none)", description);
  int rc = AGF_EXIT_OK;
  if (!agf_cli_parse(ctx, cmd->name, &argc, &argv, &rc))
    goto done;
  if (argc != 2) {
    rc = agf_cli_usage_error(cmd->name, argc < 2
                             ? "missing MANIFEST (from agfas-train prepare)"
                             : "expected one MANIFEST");
    goto done;
  }
  if (!a.preset)
    a.preset = g_strdup("small");
  if (!agf_train_options_usage(cmd, &a.o, &a.w, &rc))
    goto done;
  GError *error = NULL;
  rc = train(&a, argv[1], &error);
  if (rc < 0)
    rc = agf_cli_fail(error);
done:
  g_option_context_free(ctx);
  agf_train_options_clear(&a.o);
  g_free(a.preset);
  g_free(a.init);
  agf_train_adamw_clear(&a.w);
  return rc;
}
