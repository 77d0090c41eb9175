/* diffusers AutoencoderKL: Encoder (DownEncoderBlock2D levels, mid block,
 * conv_out to 2 x latent moments), quant_conv, post_quant_conv, Decoder
 * (mid block, UpDecoderBlock2D levels with layers_per_block + 1 resnets). */
#include "models/autoencoder_kl.h"
#include "models/layers.h"
#include "models/sd_blocks.h"

#define VAE_EPS 1e-6f
#define VAE_MAX_LAYERS 8 /* layers_per_block + 1 resnets per decoder level */

typedef struct {
  int n_res;
  AgfSdResnet res[VAE_MAX_LAYERS];
  gboolean has_sample;
  AgfSdDownsample down; /* encoder levels */
  AgfSdUpsample up;     /* decoder levels */
} Level;

typedef struct {
  AgfSdResnet res[2];
  gboolean has_attn;
  AgfSdAttnBlock attn;
} Mid;

struct AgfAutoencoderKL {
  AgfWeights *w;
  AgfAutoencoderKLConfig cfg;
  Level enc[AGF_VAE_MAX_LEVELS], dec[AGF_VAE_MAX_LEVELS];
  Mid enc_mid, dec_mid;
};

void agf_autoencoder_kl_config_sd15(AgfAutoencoderKLConfig *cfg)
{
  *cfg = (AgfAutoencoderKLConfig){
    .in_channels = 3, .out_channels = 3, .latent_channels = 4,
    .n_levels = 4, .block_out_channels = { 128, 256, 512, 512 },
    .layers_per_block = 2, .norm_num_groups = 32, .mid_attention = TRUE,
    .scaling_factor = 0.18215f };
}

static gboolean check_config(const AgfAutoencoderKLConfig *cfg,
                             GError **error)
{
  gboolean ok = cfg->n_levels >= 1 && cfg->n_levels <= AGF_VAE_MAX_LEVELS &&
                cfg->layers_per_block >= 1 &&
                cfg->layers_per_block < VAE_MAX_LAYERS &&
                cfg->in_channels >= 1 && cfg->out_channels >= 1 &&
                cfg->latent_channels >= 1 && cfg->norm_num_groups >= 1;
  for (int i = 0; ok && i < cfg->n_levels; i++)
    ok = cfg->block_out_channels[i] >= 1;
  if (!ok)
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "autoencoder configuration out of range: %d levels (1..%d), "
                "%d layers per block (1..%d), channels in %d out %d latent "
                "%d, %d groups; fix the file's metadata",
                cfg->n_levels, AGF_VAE_MAX_LEVELS, cfg->layers_per_block,
                VAE_MAX_LAYERS - 1, cfg->in_channels, cfg->out_channels,
                cfg->latent_channels, cfg->norm_num_groups);
  return ok;
}

static gboolean mid_init(Mid *m, AgfParamCheck *c, const char *part, int ch,
                         const AgfAutoencoderKLConfig *cfg, GError **error)
{
  char p[AGF_SD_NAME_LEN];
  const int g = cfg->norm_num_groups;
  g_snprintf(p, sizeof p, "%s.mid_block.resnets.0", part);
  if (!agf_sd_resnet_init(&m->res[0], c, p, ch, ch, 0, g, VAE_EPS, error))
    return FALSE;
  m->has_attn = cfg->mid_attention;
  g_snprintf(p, sizeof p, "%s.mid_block.attentions.0", part);
  if (m->has_attn &&
      !agf_sd_attn_block_init(&m->attn, c, p, ch, g, VAE_EPS, error))
    return FALSE;
  g_snprintf(p, sizeof p, "%s.mid_block.resnets.1", part);
  return agf_sd_resnet_init(&m->res[1], c, p, ch, ch, 0, g, VAE_EPS, error);
}

/* Fills every block descriptor and checks (or counts) every tensor. */
static gboolean build(AgfAutoencoderKL *v, AgfParamCheck *c, GError **error)
{
  const AgfAutoencoderKLConfig *cfg = &v->cfg;
  if (!check_config(cfg, error))
    return FALSE;
  const int n = cfg->n_levels, g = cfg->norm_num_groups;
  const int *boc = cfg->block_out_channels, top = boc[n - 1];
  const int L = cfg->latent_channels;
  char p[AGF_SD_NAME_LEN];

  if (!agf_param_expect_conv(c, "encoder.conv_in", boc[0], cfg->in_channels,
                             3, TRUE, error))
    return FALSE;
  int ch = boc[0];
  for (int i = 0; i < n; i++) {
    Level *lv = &v->enc[i];
    lv->n_res = cfg->layers_per_block;
    for (int j = 0; j < lv->n_res; j++) {
      g_snprintf(p, sizeof p, "encoder.down_blocks.%d.resnets.%d", i, j);
      if (!agf_sd_resnet_init(&lv->res[j], c, p, ch, boc[i], 0, g, VAE_EPS,
                              error))
        return FALSE;
      ch = boc[i];
    }
    lv->has_sample = i < n - 1;
    g_snprintf(p, sizeof p, "encoder.down_blocks.%d.downsamplers.0.conv", i);
    if (lv->has_sample &&
        !agf_sd_downsample_init(&lv->down, c, p, ch, TRUE, error))
      return FALSE;
  }
  if (!mid_init(&v->enc_mid, c, "encoder", top, cfg, error) ||
      !agf_param_expect_norm(c, "encoder.conv_norm_out", top, error) ||
      !agf_param_expect_conv(c, "encoder.conv_out", 2 * L, top, 3, TRUE,
                             error) ||
      !agf_param_expect_conv(c, "quant_conv", 2 * L, 2 * L, 1, TRUE, error) ||
      !agf_param_expect_conv(c, "post_quant_conv", L, L, 1, TRUE, error) ||
      !agf_param_expect_conv(c, "decoder.conv_in", top, L, 3, TRUE, error) ||
      !mid_init(&v->dec_mid, c, "decoder", top, cfg, error))
    return FALSE;
  ch = top;
  for (int i = 0; i < n; i++) {
    Level *lv = &v->dec[i];
    const int out = boc[n - 1 - i];
    lv->n_res = cfg->layers_per_block + 1;
    for (int j = 0; j < lv->n_res; j++) {
      g_snprintf(p, sizeof p, "decoder.up_blocks.%d.resnets.%d", i, j);
      if (!agf_sd_resnet_init(&lv->res[j], c, p, ch, out, 0, g, VAE_EPS,
                              error))
        return FALSE;
      ch = out;
    }
    lv->has_sample = i < n - 1;
    g_snprintf(p, sizeof p, "decoder.up_blocks.%d.upsamplers.0.conv", i);
    if (lv->has_sample && !agf_sd_upsample_init(&lv->up, c, p, ch, error))
      return FALSE;
  }
  return agf_param_expect_norm(c, "decoder.conv_norm_out", boc[0], error) &&
         agf_param_expect_conv(c, "decoder.conv_out", cfg->out_channels,
                               boc[0], 3, TRUE, error);
}

gboolean agf_autoencoder_kl_declare(const AgfAutoencoderKLConfig *cfg,
                                    AgfParamCheck *c, GError **error)
{
  g_autofree AgfAutoencoderKL *v = g_new0(AgfAutoencoderKL, 1);
  v->cfg = *cfg;
  return build(v, c, error);
}

gint64 agf_autoencoder_kl_param_count(const AgfAutoencoderKLConfig *cfg,
                                      GError **error)
{
  AgfParamCheck c = { 0 };
  return agf_autoencoder_kl_declare(cfg, &c, error) ? c.n_params : -1;
}

/* ---- configuration from the file ---- */

static gboolean read_config(AgfWeights *w, AgfAutoencoderKLConfig *cfg,
                            GError **error)
{
  GError *err = NULL;
  agf_autoencoder_kl_config_sd15(cfg);
  const char *boc = agf_weights_meta(w, "block_out_channels");
  if (boc) {
    cfg->n_levels = agf_sd_parse_int_list(boc, cfg->block_out_channels,
                                          AGF_VAE_MAX_LEVELS);
    if (cfg->n_levels < 1) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "weights file %s: metadata block_out_channels = \"%s\" is "
                  "not a list of 1 to %d integers", agf_weights_path(w), boc,
                  AGF_VAE_MAX_LEVELS);
      return FALSE;
    }
  } else {
    int n = agf_sd_count_indexed(w, "encoder.down_blocks.%d.resnets.0.conv1."
                                    "weight");
    if (n < 1) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "weights file %s has no tensor encoder.down_blocks.0."
                  "resnets.0.conv1.weight: not a diffusers AutoencoderKL "
                  "(convert the checkpoint with agfas-train import)",
                  agf_weights_path(w));
      return FALSE;
    }
    cfg->n_levels = MIN(n, AGF_VAE_MAX_LEVELS);
    for (int i = 0; i < cfg->n_levels; i++) {
      g_autofree char *name = g_strdup_printf(
          "encoder.down_blocks.%d.resnets.0.conv1.weight", i);
      cfg->block_out_channels[i] = agf_sd_dim_of(w, name, 0, 0);
    }
  }
  int lpb = agf_sd_count_indexed(w, "encoder.down_blocks.0.resnets.%d.conv1."
                                    "weight");
  cfg->layers_per_block = agf_weights_meta_int(w, "layers_per_block",
                                               lpb ? lpb : 2, &err);
  if (!err)
    cfg->in_channels = agf_weights_meta_int(
        w, "in_channels", agf_sd_dim_of(w, "encoder.conv_in.weight", 1, 3),
        &err);
  if (!err)
    cfg->out_channels = agf_weights_meta_int(
        w, "out_channels", agf_sd_dim_of(w, "decoder.conv_out.weight", 0, 3),
        &err);
  if (!err)
    cfg->latent_channels = agf_weights_meta_int(
        w, "latent_channels", agf_sd_dim_of(w, "post_quant_conv.weight", 0, 4),
        &err);
  if (!err)
    cfg->norm_num_groups = agf_weights_meta_int(w, "norm_num_groups", 32,
                                                &err);
  if (!err)
    cfg->scaling_factor = (float)agf_weights_meta_double(
        w, "scaling_factor", 0.18215, &err);
  if (!err)
    cfg->mid_attention = agf_sd_meta_bool(
        w, "mid_block_add_attention",
        agf_weights_has(w, "encoder.mid_block.attentions.0.group_norm.weight"),
        &err);
  if (err) {
    g_propagate_error(error, err);
    return FALSE;
  }
  return TRUE;
}

AgfAutoencoderKL *agf_autoencoder_kl_new(AgfWeights *w, GError **error)
{
  g_return_val_if_fail(w != NULL, NULL);
  AgfAutoencoderKL *v = g_new0(AgfAutoencoderKL, 1);
  AgfParamCheck c = { .w = w };
  if (!read_config(w, &v->cfg, error) || !build(v, &c, error)) {
    g_free(v);
    return NULL;
  }
  v->w = agf_weights_ref(w);
  return v;
}

void agf_autoencoder_kl_free(AgfAutoencoderKL *vae)
{
  if (!vae)
    return;
  agf_weights_unref(vae->w);
  g_free(vae);
}

const AgfAutoencoderKLConfig *
agf_autoencoder_kl_config(const AgfAutoencoderKL *vae)
{
  return &vae->cfg;
}

/* ---- forward ---- */

static AgfTensor *mid_forward(const Mid *m, AgfWeights *w, const AgfTensor *x,
                              GError **error)
{
  g_autoptr(AgfTensor) h = agf_sd_resnet_forward(&m->res[0], w, x, NULL,
                                                 error);
  if (!h)
    return NULL;
  if (m->has_attn)
    AGF_SD_STEP(h, agf_sd_attn_block_forward(&m->attn, w, h, error));
  return agf_sd_resnet_forward(&m->res[1], w, h, NULL, error);
}

/* GroupNorm - SiLU - conv_out 3x3. */
static AgfTensor *head(AgfAutoencoderKL *v, const char *part,
                       const AgfTensor *x, GError **error)
{
  char p[AGF_SD_NAME_LEN];
  g_snprintf(p, sizeof p, "%s.conv_norm_out", part);
  g_autoptr(AgfTensor) h = agf_layer_group_norm(v->w, p, x,
                                                v->cfg.norm_num_groups,
                                                VAE_EPS, error);
  if (!h)
    return NULL;
  AGF_SD_STEP(h, agf_silu(h, error));
  const AgfConv2dParams p1 = agf_conv_params(1, 1);
  g_snprintf(p, sizeof p, "%s.conv_out", part);
  return agf_layer_conv2d(v->w, p, h, &p1, error);
}

static gboolean check_input(const AgfAutoencoderKL *v, const char *what,
                            const AgfTensor *x, int ch, int mult,
                            GError **error)
{
  if (x && x->ndim == 4 && x->shape[1] == ch && x->shape[2] % mult == 0 &&
      x->shape[3] % mult == 0)
    return TRUE;
  char s[64] = "none";
  if (x)
    agf_shape_str(x, s, sizeof s);
  g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
              "autoencoder %s: input is %s but must be [B, %d, H, W] with H "
              "and W multiples of %d (%s)", what, s, ch, mult,
              agf_weights_path(v->w));
  return FALSE;
}

/* Clamp to [lo, hi] from the op set: x - relu(x - hi) + relu(lo - x). */
static AgfTensor *clamp(const AgfTensor *x, float lo, float hi,
                        GError **error)
{
  g_autoptr(AgfTensor) a = agf_scale(x, 1.0f, -hi, error);
  if (!a)
    return NULL;
  AGF_SD_STEP(a, agf_relu(a, error));
  g_autoptr(AgfTensor) b = agf_scale(x, -1.0f, lo, error);
  if (!b)
    return NULL;
  AGF_SD_STEP(b, agf_relu(b, error));
  g_autoptr(AgfTensor) r = agf_sub(x, a, error);
  return r ? agf_add(r, b, error) : NULL;
}

static AgfTensor *encode_moments(AgfAutoencoderKL *v, const AgfTensor *x,
                                 GError **error)
{
  const AgfAutoencoderKLConfig *cfg = &v->cfg;
  if (!check_input(v, "encode", x, cfg->in_channels,
                   1 << (cfg->n_levels - 1), error))
    return NULL;
  const AgfConv2dParams p1 = agf_conv_params(1, 1), p0 = agf_conv_params(1, 0);
  /* Inputs of another float dtype run in the weights' dtype. */
  g_autoptr(AgfTensor) h = agf_tensor_cast((AgfTensor *)x,
                                           agf_weights_dtype(v->w), error);
  if (!h)
    return NULL;
  AGF_SD_STEP(h, agf_layer_conv2d(v->w, "encoder.conv_in", h, &p1, error));
  for (int i = 0; i < cfg->n_levels; i++) {
    const Level *lv = &v->enc[i];
    for (int j = 0; j < lv->n_res; j++)
      AGF_SD_STEP(h, agf_sd_resnet_forward(&lv->res[j], v->w, h, NULL, error));
    if (lv->has_sample)
      AGF_SD_STEP(h, agf_sd_downsample_forward(&lv->down, v->w, h, error));
  }
  AGF_SD_STEP(h, mid_forward(&v->enc_mid, v->w, h, error));
  AGF_SD_STEP(h, head(v, "encoder", h, error));
  return agf_layer_conv2d(v->w, "quant_conv", h, &p0, error);
}

gboolean agf_autoencoder_kl_encode(AgfAutoencoderKL *vae, const AgfTensor *x,
                                   AgfTensor **mean, AgfTensor **logvar,
                                   GError **error)
{
  g_return_val_if_fail(vae && mean && logvar, FALSE);
  *mean = *logvar = NULL;
  g_autoptr(AgfTensor) mom = encode_moments(vae, x, error);
  if (!mom)
    return FALSE;
  const int L = vae->cfg.latent_channels;
  g_autoptr(AgfTensor) m = agf_tensor_slice(mom, 1, 0, L, error);
  g_autoptr(AgfTensor) lv = m ? agf_tensor_slice(mom, 1, L, L, error) : NULL;
  g_autoptr(AgfTensor) mc = lv ? agf_tensor_contiguous(m, error) : NULL;
  g_autoptr(AgfTensor) lc = mc ? clamp(lv, -30.0f, 20.0f, error) : NULL;
  if (!lc)
    return FALSE;
  *mean = g_steal_pointer(&mc);
  *logvar = g_steal_pointer(&lc);
  return TRUE;
}

AgfTensor *agf_autoencoder_kl_sample(const AgfTensor *mean,
                                     const AgfTensor *logvar,
                                     const AgfTensor *noise, GError **error)
{
  if (!agf_tensor_same_shape(mean, logvar) ||
      !agf_tensor_same_shape(mean, noise)) {
    char a[64], b[64], c[64];
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "autoencoder sample: mean %s, logvar %s and noise %s must "
                "have one shape", agf_shape_str(mean, a, sizeof a),
                agf_shape_str(logvar, b, sizeof b),
                agf_shape_str(noise, c, sizeof c));
    return NULL;
  }
  g_autoptr(AgfTensor) s = clamp(logvar, -30.0f, 20.0f, error);
  if (!s)
    return NULL;
  AGF_SD_STEP(s, agf_scale(s, 0.5f, 0.0f, error));
  AGF_SD_STEP(s, agf_unary(s, AGF_UNARY_EXP, 0.0f, 0.0f, error));
  g_autoptr(AgfTensor) n = agf_tensor_cast((AgfTensor *)noise, s->dtype,
                                           error);
  if (!n)
    return NULL;
  AGF_SD_STEP(s, agf_mul(s, n, error));
  return agf_add(mean, s, error);
}

AgfTensor *agf_autoencoder_kl_decode(AgfAutoencoderKL *vae, const AgfTensor *z,
                                     GError **error)
{
  g_return_val_if_fail(vae != NULL, NULL);
  const AgfAutoencoderKLConfig *cfg = &vae->cfg;
  if (!check_input(vae, "decode", z, cfg->latent_channels, 1, error))
    return NULL;
  const AgfConv2dParams p1 = agf_conv_params(1, 1), p0 = agf_conv_params(1, 0);
  g_autoptr(AgfTensor) h = agf_tensor_cast((AgfTensor *)z,
                                           agf_weights_dtype(vae->w), error);
  if (!h)
    return NULL;
  AGF_SD_STEP(h, agf_layer_conv2d(vae->w, "post_quant_conv", h, &p0, error));
  AGF_SD_STEP(h, agf_layer_conv2d(vae->w, "decoder.conv_in", h, &p1, error));
  AGF_SD_STEP(h, mid_forward(&vae->dec_mid, vae->w, h, error));
  for (int i = 0; i < cfg->n_levels; i++) {
    const Level *lv = &vae->dec[i];
    for (int j = 0; j < lv->n_res; j++)
      AGF_SD_STEP(h,
                  agf_sd_resnet_forward(&lv->res[j], vae->w, h, NULL, error));
    if (lv->has_sample)
      AGF_SD_STEP(h, agf_sd_upsample_forward(&lv->up, vae->w, h, error));
  }
  return head(vae, "decoder", h, error);
}
