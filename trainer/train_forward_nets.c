/* The networks `agfas-train forward` runs: one runner per NET, reading the
 * inputs named in the table and writing every output the network has. */
#include <string.h>
#include "train_forward.h"
#include "models/autoencoder_kl.h"
#include "models/iresnet.h"
#include "models/mobilefacenet.h"
#include "models/mtcnn.h"
#include "models/oanet.h"
#include "models/resnet18.h"
#include "models/unet.h"

/* Writes every non-NULL tensor of outs under the table's output names. */
static gboolean emit(AgfForward *f, AgfTensor **outs, int n, GError **error)
{
  gboolean ok = TRUE;
  for (int i = 0; i < n; i++) {
    if (ok && outs[i])
      ok = agf_forward_output(f, f->net->out[i].name, outs[i], error);
    g_clear_pointer(&outs[i], agf_tensor_unref);
  }
  return ok;
}

static gboolean run_encode(AgfForward *f, GError **error)
{
  g_autoptr(AgfAutoencoderKL) vae = agf_autoencoder_kl_new(f->weights, error);
  g_autoptr(AgfTensor) x = vae ? agf_forward_input(f, "x", TRUE, error) : NULL;
  if (!x)
    return FALSE;
  GError *e = NULL;
  g_autoptr(AgfTensor) noise = agf_forward_input(f, "noise", FALSE, &e);
  if (e) {
    g_propagate_error(error, e);
    return FALSE;
  }
  AgfTensor *o[3] = { NULL };
  if (!agf_autoencoder_kl_encode(vae, x, &o[0], &o[1], error))
    return FALSE;
  if (noise && !(o[2] = agf_autoencoder_kl_sample(o[0], o[1], noise, error))) {
    emit(f, o, 3, NULL);
    return FALSE;
  }
  return emit(f, o, 3, error);
}

static gboolean run_decode(AgfForward *f, GError **error)
{
  g_autoptr(AgfAutoencoderKL) vae = agf_autoencoder_kl_new(f->weights, error);
  g_autoptr(AgfTensor) z = vae ? agf_forward_input(f, "z", TRUE, error) : NULL;
  AgfTensor *o[1] = { z ? agf_autoencoder_kl_decode(vae, z, error) : NULL };
  return o[0] && emit(f, o, 1, error);
}

static gboolean run_unet(AgfForward *f, GError **error)
{
  g_autoptr(AgfUnet) unet = agf_unet_new(f->weights, error);
  g_autoptr(AgfTensor) x = unet ? agf_forward_input(f, "sample", TRUE, error)
                                : NULL;
  g_autoptr(AgfTensor) ctx = x ? agf_forward_input(f, "context", TRUE, error)
                               : NULL;
  const AgfStTensor *ti = NULL;
  g_autofree float *ts = ctx ? agf_forward_input_f32(f, "timesteps", &ti, error)
                             : NULL;
  if (!ts)
    return FALSE;
  int64_t b = x->shape[0];
  if (ti->numel != b && ti->numel != 1) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "input timesteps has %" G_GINT64_FORMAT " values; unet needs "
                "one per batch item (%" G_GINT64_FORMAT ") or one for all",
                ti->numel, b);
    return FALSE;
  }
  g_autofree float *per = g_new(float, b);
  for (int64_t i = 0; i < b; i++)
    per[i] = ts[ti->numel == 1 ? 0 : i];
  AgfTensor *o[1] = { agf_unet_forward(unet, x, per, ctx, error) };
  return o[0] && emit(f, o, 1, error);
}

static gboolean run_iresnet(AgfForward *f, GError **error)
{
  g_autoptr(AgfIresnet) net = agf_iresnet_new(f->weights, error);
  g_autoptr(AgfTensor) x = net ? agf_forward_input(f, "x", TRUE, error) : NULL;
  AgfTensor *o[3] = { x ? agf_iresnet_map(net, x, error) : NULL };
  if (!o[0] || !agf_iresnet_forward(net, x, &o[1], &o[2], error)) {
    emit(f, o, 3, NULL);
    return FALSE;
  }
  return emit(f, o, 3, error);
}

static gboolean run_mfn(AgfForward *f, GError **error)
{
  g_autoptr(AgfMobilefacenet) net = agf_mobilefacenet_new(f->weights, error);
  g_autoptr(AgfTensor) x = net ? agf_forward_input(f, "x", TRUE, error) : NULL;
  AgfTensor *o[3] = { x ? agf_mobilefacenet_map(net, x, error) : NULL };
  if (!o[0] || !agf_mobilefacenet_forward(net, x, &o[1], &o[2], error)) {
    emit(f, o, 3, NULL);
    return FALSE;
  }
  return emit(f, o, 3, error);
}

static gboolean run_resnet18(AgfForward *f, GError **error)
{
  g_autoptr(AgfResnet18) net = agf_resnet18_new_at(
    f->weights, f->weights_prefix ? f->weights_prefix : "", error);
  g_autoptr(AgfTensor) x = net ? agf_forward_input(f, "x", TRUE, error) : NULL;
  if (!x)
    return FALSE;
  AgfTensor *o[3] = { agf_resnet18_features(net, x, error) };
  if (o[0])
    o[1] = agf_resnet18_tokens(net, x, error);
  if (o[1] && agf_resnet18_config(net)->num_classes > 0)
    o[2] = agf_resnet18_logits(net, x, error);
  if (!o[1] || (agf_resnet18_config(net)->num_classes > 0 && !o[2])) {
    emit(f, o, 3, NULL);
    return FALSE;
  }
  return emit(f, o, 3, error);
}

static gboolean run_oanet(AgfForward *f, GError **error)
{
  g_autoptr(AgfOanet) net = agf_oanet_new(f->weights, error);
  if (!net)
    return FALSE;
  AgfOanetVariant v = agf_oanet_config(net)->variant;
  g_autoptr(AgfTensor) image = NULL, cue = NULL;
  if (v != AGF_OANET_RESIDUAL_ONLY &&
      !(image = agf_forward_input(f, "image", TRUE, error)))
    return FALSE;
  if (v != AGF_OANET_IMAGE_ONLY &&
      !(cue = agf_forward_input(f, "cue", TRUE, error)))
    return FALSE;
  AgfTensor *o[3] = { NULL };
  if (!agf_oanet_forward(net, image, cue, &o[0], &o[1], error))
    return FALSE;
  if (!(o[2] = agf_oanet_spoof_probability(net, o[0], error))) {
    emit(f, o, 3, NULL);
    return FALSE;
  }
  return emit(f, o, 3, error);
}

static gboolean run_mtcnn(AgfForward *f, AgfMtcnnStage stage, GError **error)
{
  /* A file with all three stages keeps each under "pnet." etc.: use that
   * prefix when the stage is not at the root. */
  const char *sn = agf_mtcnn_stage_name(stage);
  g_autofree char *auto_prefix = g_strconcat(sn, ".", NULL);
  const char *prefix = f->weights_prefix ? f->weights_prefix : "";
  if (!f->weights_prefix && !agf_weights_has(f->weights, "conv1.weight") &&
      agf_weights_hasf(f->weights, "%sconv1.weight", auto_prefix))
    prefix = auto_prefix;
  g_autoptr(AgfMtcnn) net = agf_mtcnn_new_at(f->weights, prefix, error);
  if (!net)
    return FALSE;
  if (agf_mtcnn_config(net)->stage != stage) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s holds an MTCNN %s%s%s, not a %s: use forward mtcnn_%s, or "
                "--weights-prefix to pick a stage", agf_weights_path(f->weights),
                agf_mtcnn_stage_name(agf_mtcnn_config(net)->stage),
                *prefix ? " under " : "", prefix, sn,
                agf_mtcnn_stage_name(agf_mtcnn_config(net)->stage));
    return FALSE;
  }
  g_autoptr(AgfTensor) x = agf_forward_input(f, "x", TRUE, error);
  AgfTensor *o[3] = { NULL };
  if (!x || !agf_mtcnn_forward(net, x, &o[0], &o[1],
                               stage == AGF_MTCNN_ONET ? &o[2] : NULL, error))
    return FALSE;
  return emit(f, o, 3, error);
}

static gboolean run_pnet(AgfForward *f, GError **e) { return run_mtcnn(f, AGF_MTCNN_PNET, e); }
static gboolean run_rnet(AgfForward *f, GError **e) { return run_mtcnn(f, AGF_MTCNN_RNET, e); }
static gboolean run_onet(AgfForward *f, GError **e) { return run_mtcnn(f, AGF_MTCNN_ONET, e); }

#define OPT(n, s, note) { n, s, "optional: " note }
#define IO(n, s) { n, s, NULL }

const AgfForwardNet agf_forward_nets[] = {
  { "autoencoder_encode", "AutoencoderKL encode (and sample)", TRUE, FALSE,
    { IO("x", "[B, 3, H, W] in [-1, 1]"),
      OPT("noise", "[B, 4, H/8, W/8]", "standard normal; gives sample") },
    { IO("mean", "[B, 4, H/8, W/8]"), IO("logvar", "[B, 4, H/8, W/8]"),
      OPT("sample", "[B, 4, H/8, W/8]", "mean + std * noise (unscaled)") },
    run_encode },
  { "autoencoder_decode", "AutoencoderKL decode", TRUE, FALSE,
    { IO("z", "[B, 4, h, w] unscaled (U-Net latents / scaling_factor)") },
    { IO("decoded", "[B, 3, 8h, 8w]") }, run_decode },
  { "unet", "UNet2DConditionModel: noise prediction", TRUE, FALSE,
    { IO("sample", "[B, 4, h, w]"), IO("timesteps", "[B] or [1]"),
      IO("context", "[B, L, cross_attention_dim]") },
    { IO("eps", "[B, 4, h, w]") }, run_unet },
  { "iresnet", "ArcFace iresnet identity network", TRUE, FALSE,
    { IO("x", "[B, 3, 112, 112] in [-1, 1]") },
    { IO("map", "[B, C, 7, 7] after bn2"), IO("tokens", "[B, 49, C]"),
      IO("embedding", "[B, 512]") }, run_iresnet },
  { "mobilefacenet", "MobileFaceNet identity network", TRUE, FALSE,
    { IO("x", "[B, 3, 112, 112], (pixel - 127.5) / 128") },
    { IO("map", "[B, L, 7, 7]"), IO("tokens", "[B, 49, L]"),
      IO("embedding", "[B, D] (not normalised)") }, run_mfn },
  { "resnet18", "torchvision ResNet-18 (cue encoder)", TRUE, TRUE,
    { IO("x", "[B, C, H, W]") },
    { IO("features", "[B, 512, H/32, W/32] layer4 map"),
      IO("tokens", "[B, H*W/1024, 512]"),
      OPT("logits", "[B, classes]", "when the file has fc") },
    run_resnet18 },
  { "oanet", "OA-Net (any variant)", TRUE, FALSE,
    { IO("image", "[B, 3, S, S] (not for residual_only)"),
      IO("cue", "[B, C, H, W] (not for image_only)") },
    { IO("logits", "[B, 2]"), IO("feature", "[B, 512] normalised"),
      IO("prob_spoof", "[B] softmax(logits)[:, spoof_class]") },
    run_oanet },
  { "mtcnn_pnet", "MTCNN P-Net (root or pnet. prefix)", TRUE, TRUE,
    { IO("x", "[B, 3, H, W] normalised, transposed") },
    { IO("prob", "[B, 2, H', W']"), IO("box", "[B, 4, H', W']") }, run_pnet },
  { "mtcnn_rnet", "MTCNN R-Net (root or rnet. prefix)", TRUE, TRUE,
    { IO("x", "[B, 3, 24, 24]") },
    { IO("prob", "[B, 2]"), IO("box", "[B, 4]") }, run_rnet },
  { "mtcnn_onet", "MTCNN O-Net (root or onet. prefix)", TRUE, TRUE,
    { IO("x", "[B, 3, 48, 48]") },
    { IO("prob", "[B, 2]"), IO("box", "[B, 4]"),
      IO("landmarks", "[B, 10]") }, run_onet },
  { "ddim_step", "DDIM sampler step(s)", FALSE, FALSE,
    { IO("sample", "S = [B, C, h, w]"), IO("eps", "S or [K, ...S]"),
      OPT("variance_noise", "S or [K, ...S]", "required when eta > 0") },
    { IO("prev_sample", "S"), IO("samples", "[K+1, ...S]"),
      IO("timesteps", "[K] int64"), IO("coeffs", "[K, 9] float64") },
    agf_forward_ddim_step },
  { "pndm_step", "PNDM (PLMS) sampler step(s)", FALSE, FALSE,
    { IO("sample", "S = [B, C, h, w]"), IO("eps", "S or [K, ...S]"),
      OPT("eps_history", "[first, ...S]", "when agfas.step.first > 0"),
      OPT("sample_history", "[first, ...S]", "when agfas.step.first > 0") },
    { IO("prev_sample", "S"), IO("samples", "[K+1, ...S]"),
      IO("timesteps", "[K] int64"), IO("coeffs", "[K, 9] float64") },
    agf_forward_pndm_step },
  { NULL }
};

const AgfForwardNet *agf_forward_net(const char *name)
{
  for (const AgfForwardNet *n = agf_forward_nets; n->name; n++)
    if (!strcmp(n->name, name))
      return n;
  return NULL;
}
