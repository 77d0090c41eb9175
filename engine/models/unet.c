/* diffusers UNet2DConditionModel (SD-1.5 layout) from the shared blocks. */
#include "models/unet.h"
#include <string.h>
#include "models/layers.h"
#include "models/sd_blocks.h"

#define UNET_MAX_LAYERS 8 /* layers_per_block + 1 resnets per up level */
#define UNET_MAX_SKIPS (1 + AGF_UNET_MAX_LEVELS * UNET_MAX_LAYERS)

typedef struct {
  int n_res;
  AgfSdResnet res[UNET_MAX_LAYERS];
  gboolean has_attn;
  AgfSdTransformer attn[UNET_MAX_LAYERS];
  gboolean has_sample;
  AgfSdDownsample down; /* down levels */
  AgfSdUpsample up;     /* up levels */
} Level;

struct AgfUnet {
  AgfWeights *w;
  AgfUnetConfig cfg;
  Level down[AGF_UNET_MAX_LEVELS], up[AGF_UNET_MAX_LEVELS];
  AgfSdResnet mid_res[2];
  AgfSdTransformer mid_attn;
};

void agf_unet_config_sd15(AgfUnetConfig *cfg)
{
  *cfg = (AgfUnetConfig){
    .in_channels = 4, .out_channels = 4, .n_levels = 4,
    .block_out_channels = { 320, 640, 1280, 1280 },
    .down_attention = { TRUE, TRUE, TRUE, FALSE },
    .up_attention = { FALSE, TRUE, TRUE, TRUE },
    .heads = { 8, 8, 8, 8 }, .layers_per_block = 2, .transformer_depth = 1,
    .cross_attention_dim = 768, .time_embed_dim = 1280,
    .norm_num_groups = 32, .norm_eps = 1e-5f, .flip_sin_to_cos = TRUE,
    .freq_shift = 0.0f };
}

static gboolean check_config(const AgfUnetConfig *cfg, GError **error)
{
  gboolean ok = cfg->n_levels >= 1 && cfg->n_levels <= AGF_UNET_MAX_LEVELS &&
                cfg->layers_per_block >= 1 &&
                cfg->layers_per_block < UNET_MAX_LAYERS &&
                cfg->in_channels >= 1 && cfg->out_channels >= 1 &&
                cfg->time_embed_dim >= 1 && cfg->norm_num_groups >= 1 &&
                cfg->block_out_channels[0] >= 2;
  for (int i = 0; ok && i < cfg->n_levels; i++)
    ok = cfg->block_out_channels[i] >= 1;
  if (!ok)
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "U-Net configuration out of range: %d levels (1..%d), %d "
                "layers per block (1..%d), channels in %d out %d first %d, "
                "time embedding %d, %d groups; fix the file's metadata",
                cfg->n_levels, AGF_UNET_MAX_LEVELS, cfg->layers_per_block,
                UNET_MAX_LAYERS - 1, cfg->in_channels, cfg->out_channels,
                cfg->block_out_channels[0], cfg->time_embed_dim,
                cfg->norm_num_groups);
  return ok;
}

/* Fills every block descriptor and checks (or counts) every tensor. */
static gboolean build(AgfUnet *u, AgfParamCheck *c, GError **error)
{
  const AgfUnetConfig *cfg = &u->cfg;
  if (!check_config(cfg, error))
    return FALSE;
  const int n = cfg->n_levels, g = cfg->norm_num_groups;
  const int T = cfg->time_embed_dim;
  const int *boc = cfg->block_out_channels, top = boc[n - 1];
  const int ctx = cfg->cross_attention_dim, depth = cfg->transformer_depth;
  const float eps = cfg->norm_eps;
  char p[AGF_SD_NAME_LEN];

  if (!agf_param_expect_conv(c, "conv_in", boc[0], cfg->in_channels, 3, TRUE,
                             error) ||
      !agf_param_expect_linear(c, "time_embedding.linear_1", T, boc[0], TRUE,
                               error) ||
      !agf_param_expect_linear(c, "time_embedding.linear_2", T, T, TRUE,
                               error))
    return FALSE;

  int ch = boc[0];
  for (int i = 0; i < n; i++) {
    Level *lv = &u->down[i];
    lv->n_res = cfg->layers_per_block;
    lv->has_attn = cfg->down_attention[i];
    for (int j = 0; j < lv->n_res; j++) {
      g_snprintf(p, sizeof p, "down_blocks.%d.resnets.%d", i, j);
      if (!agf_sd_resnet_init(&lv->res[j], c, p, ch, boc[i], T, g, eps, error))
        return FALSE;
      ch = boc[i];
      g_snprintf(p, sizeof p, "down_blocks.%d.attentions.%d", i, j);
      if (lv->has_attn &&
          !agf_sd_transformer_init(&lv->attn[j], c, p, ch, cfg->heads[i], ctx,
                                   g, depth, error))
        return FALSE;
    }
    lv->has_sample = i < n - 1;
    g_snprintf(p, sizeof p, "down_blocks.%d.downsamplers.0.conv", i);
    if (lv->has_sample &&
        !agf_sd_downsample_init(&lv->down, c, p, ch, FALSE, error))
      return FALSE;
  }

  if (!agf_sd_resnet_init(&u->mid_res[0], c, "mid_block.resnets.0", top, top,
                          T, g, eps, error) ||
      !agf_sd_transformer_init(&u->mid_attn, c, "mid_block.attentions.0", top,
                               cfg->heads[n - 1], ctx, g, depth, error) ||
      !agf_sd_resnet_init(&u->mid_res[1], c, "mid_block.resnets.1", top, top,
                          T, g, eps, error))
    return FALSE;

  /* diffusers' channel bookkeeping of the up path: resnet j of level i
   * takes the previous output plus the skip it pops. */
  int out = boc[n - 1];
  for (int i = 0; i < n; i++) {
    Level *lv = &u->up[i];
    const int prev = out, skip_last = boc[MAX(n - 2 - i, 0)];
    out = boc[n - 1 - i];
    lv->n_res = cfg->layers_per_block + 1;
    lv->has_attn = cfg->up_attention[i];
    for (int j = 0; j < lv->n_res; j++) {
      const int skip = j == lv->n_res - 1 ? skip_last : out;
      g_snprintf(p, sizeof p, "up_blocks.%d.resnets.%d", i, j);
      if (!agf_sd_resnet_init(&lv->res[j], c, p, (j ? out : prev) + skip, out,
                              T, g, eps, error))
        return FALSE;
      g_snprintf(p, sizeof p, "up_blocks.%d.attentions.%d", i, j);
      if (lv->has_attn &&
          !agf_sd_transformer_init(&lv->attn[j], c, p, out,
                                   cfg->heads[n - 1 - i], ctx, g, depth,
                                   error))
        return FALSE;
    }
    lv->has_sample = i < n - 1;
    g_snprintf(p, sizeof p, "up_blocks.%d.upsamplers.0.conv", i);
    if (lv->has_sample && !agf_sd_upsample_init(&lv->up, c, p, out, error))
      return FALSE;
  }
  return agf_param_expect_norm(c, "conv_norm_out", boc[0], error) &&
         agf_param_expect_conv(c, "conv_out", cfg->out_channels, boc[0], 3,
                               TRUE, error);
}

gboolean agf_unet_declare(const AgfUnetConfig *cfg, AgfParamCheck *c,
                          GError **error)
{
  g_autofree AgfUnet *u = g_new0(AgfUnet, 1);
  u->cfg = *cfg;
  return build(u, c, error);
}

gint64 agf_unet_param_count(const AgfUnetConfig *cfg, GError **error)
{
  AgfParamCheck c = { 0 };
  return agf_unet_declare(cfg, &c, error) ? c.n_params : -1;
}

/* ---- configuration from the file ---- */

static gboolean meta_error(const AgfWeights *w, const char *key,
                           const char *v, const char *want, GError **error)
{
  g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
              "weights file %s: metadata %s = \"%s\" is not %s",
              agf_weights_path(w), key, v, want);
  return FALSE;
}

/* An int list key: a single value fills all n entries. Absent: untouched. */
static gboolean meta_ints(const AgfWeights *w, const char *key, int *out,
                          int n, GError **error)
{
  const char *v = agf_weights_meta(w, key);
  if (!v || !g_ascii_strcasecmp(v, "null") || !g_ascii_strcasecmp(v, "none"))
    return TRUE;
  int tmp[AGF_UNET_MAX_LEVELS];
  int got = agf_sd_parse_int_list(v, tmp, AGF_UNET_MAX_LEVELS);
  if (got == 1) {
    for (int i = 0; i < n; i++)
      out[i] = tmp[0];
    return TRUE;
  }
  if (got != n) {
    g_autofree char *want = g_strdup_printf("one integer or a list of %d", n);
    return meta_error(w, key, v, want, error);
  }
  memcpy(out, tmp, sizeof(int) * (size_t)n);
  return TRUE;
}

/* down_block_types / up_block_types: a list of n diffusers block names;
 * the CrossAttn ones have attentions. Absent: from the tensors present. */
static gboolean meta_types(const AgfWeights *w, const char *key,
                           const char *part, gboolean *out, int n,
                           GError **error)
{
  const char *v = agf_weights_meta(w, key);
  if (!v) {
    for (int i = 0; i < n; i++)
      out[i] = agf_weights_hasf(w, "%s.%d.attentions.0.norm.weight", part, i);
    return TRUE;
  }
  g_auto(GStrv) items = g_strsplit(v, ",", -1);
  if ((int)g_strv_length(items) != n) {
    g_autofree char *want = g_strdup_printf("a list of %d block types", n);
    return meta_error(w, key, v, want, error);
  }
  for (int i = 0; i < n; i++)
    out[i] = strstr(items[i], "CrossAttn") != NULL;
  return TRUE;
}

static gboolean read_config(AgfWeights *w, AgfUnetConfig *cfg, GError **error)
{
  GError *err = NULL;
  agf_unet_config_sd15(cfg);
  const char *boc = agf_weights_meta(w, "block_out_channels");
  if (boc) {
    cfg->n_levels = agf_sd_parse_int_list(boc, cfg->block_out_channels,
                                          AGF_UNET_MAX_LEVELS);
    if (cfg->n_levels < 1) {
      g_autofree char *want = g_strdup_printf("a list of 1 to %d integers",
                                              AGF_UNET_MAX_LEVELS);
      return meta_error(w, "block_out_channels", boc, want, error);
    }
  } else {
    int n = agf_sd_count_indexed(w, "down_blocks.%d.resnets.0.conv1.weight");
    if (n < 1) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "weights file %s has no tensor down_blocks.0.resnets.0."
                  "conv1.weight: not a diffusers UNet2DConditionModel "
                  "(convert the checkpoint with agfas-train import)",
                  agf_weights_path(w));
      return FALSE;
    }
    cfg->n_levels = MIN(n, AGF_UNET_MAX_LEVELS);
    for (int i = 0; i < cfg->n_levels; i++) {
      g_autofree char *name =
          g_strdup_printf("down_blocks.%d.resnets.0.conv1.weight", i);
      cfg->block_out_channels[i] = agf_sd_dim_of(w, name, 0, 0);
    }
  }
  const int n = cfg->n_levels;
  if (!meta_types(w, "down_block_types", "down_blocks", cfg->down_attention, n,
                  error) ||
      !meta_types(w, "up_block_types", "up_blocks", cfg->up_attention, n,
                  error))
    return FALSE;
  /* diffusers: num_attention_heads = num_attention_heads or
   * attention_head_dim, and the latter is a head count in SD-1.5. */
  for (int i = 0; i < AGF_UNET_MAX_LEVELS; i++)
    cfg->heads[i] = 8;
  if (!meta_ints(w, "attention_head_dim", cfg->heads, n, error) ||
      !meta_ints(w, "num_attention_heads", cfg->heads, n, error))
    return FALSE;

  int lpb = agf_sd_count_indexed(w, "down_blocks.0.resnets.%d.conv1.weight");
  int depth = agf_sd_count_indexed(
      w, "mid_block.attentions.0.transformer_blocks.%d.norm1.weight");
  cfg->layers_per_block = agf_weights_meta_int(w, "layers_per_block",
                                               lpb ? lpb : 2, &err);
  if (!err)
    cfg->transformer_depth = agf_weights_meta_int(
        w, "transformer_layers_per_block", depth ? depth : 1, &err);
  if (!err)
    cfg->in_channels = agf_weights_meta_int(
        w, "in_channels", agf_sd_dim_of(w, "conv_in.weight", 1, 4), &err);
  if (!err)
    cfg->out_channels = agf_weights_meta_int(
        w, "out_channels", agf_sd_dim_of(w, "conv_out.weight", 0, 4), &err);
  if (!err)
    cfg->cross_attention_dim = agf_weights_meta_int(
        w, "cross_attention_dim",
        agf_sd_dim_of(w, "mid_block.attentions.0.transformer_blocks.0.attn2."
                         "to_k.weight", 1, 768), &err);
  if (!err)
    cfg->time_embed_dim = agf_sd_dim_of(w, "time_embedding.linear_1.weight", 0,
                                 4 * cfg->block_out_channels[0]);
  if (!err)
    cfg->norm_num_groups = agf_weights_meta_int(w, "norm_num_groups", 32,
                                                &err);
  if (!err)
    cfg->norm_eps = (float)agf_weights_meta_double(w, "norm_eps", 1e-5, &err);
  if (!err)
    cfg->freq_shift = (float)agf_weights_meta_double(w, "freq_shift", 0.0,
                                                     &err);
  if (!err)
    cfg->flip_sin_to_cos = agf_sd_meta_bool(w, "flip_sin_to_cos",
                                            cfg->flip_sin_to_cos, &err);
  if (err) {
    g_propagate_error(error, err);
    return FALSE;
  }
  return TRUE;
}

AgfUnet *agf_unet_new(AgfWeights *w, GError **error)
{
  g_return_val_if_fail(w != NULL, NULL);
  AgfUnet *u = g_new0(AgfUnet, 1);
  AgfParamCheck c = { .w = w };
  if (!read_config(w, &u->cfg, error) || !build(u, &c, error)) {
    g_free(u);
    return NULL;
  }
  u->w = agf_weights_ref(w);
  return u;
}

void agf_unet_free(AgfUnet *unet)
{
  if (!unet)
    return;
  agf_weights_unref(unet->w);
  g_free(unet);
}

const AgfUnetConfig *agf_unet_config(const AgfUnet *unet)
{
  return &unet->cfg;
}

/* ---- forward ---- */

/* SiLU(time_embedding(sinusoid(t))): what every resnet's time_emb_proj
 * reads. */
static AgfTensor *time_embedding(AgfUnet *u, const float *timesteps,
                                 int64_t batch, GError **error)
{
  g_autoptr(AgfTensor) t = agf_tensor_from_f32(
      agf_weights_device(u->w), AGF_F32, 1, (int64_t[]){ batch }, timesteps,
      error);
  if (!t)
    return NULL;
  const AgfTimestepEmbedParams tp = {
    .dim = u->cfg.block_out_channels[0],
    .flip_sin_to_cos = u->cfg.flip_sin_to_cos,
    .downscale_freq_shift = u->cfg.freq_shift };
  AGF_SD_STEP(t, agf_timestep_embed(t, &tp, error));
  AGF_SD_STEP(t, agf_tensor_cast(t, agf_weights_dtype(u->w), error));
  AGF_SD_STEP(t, agf_layer_linear(u->w, "time_embedding.linear_1", t, error));
  AGF_SD_STEP(t, agf_silu(t, error));
  AGF_SD_STEP(t, agf_layer_linear(u->w, "time_embedding.linear_2", t, error));
  return agf_silu(t, error);
}

typedef struct {
  AgfTensor *t[UNET_MAX_SKIPS];
  int n;
} Skips;

static void skips_clear(Skips *s)
{
  while (s->n > 0)
    agf_tensor_unref(s->t[--s->n]);
}

static AgfTensor *level_down(AgfUnet *u, const Level *lv, AgfTensor *x,
                             const AgfTensor *temb, const AgfTensor *ctx,
                             Skips *s, GError **error)
{
  g_autoptr(AgfTensor) h = agf_tensor_ref(x);
  for (int j = 0; j < lv->n_res; j++) {
    AGF_SD_STEP(h, agf_sd_resnet_forward(&lv->res[j], u->w, h, temb, error));
    if (lv->has_attn)
      AGF_SD_STEP(h, agf_sd_transformer_forward(&lv->attn[j], u->w, h, ctx,
                                                error));
    s->t[s->n++] = agf_tensor_ref(h);
  }
  if (lv->has_sample) {
    AGF_SD_STEP(h, agf_sd_downsample_forward(&lv->down, u->w, h, error));
    s->t[s->n++] = agf_tensor_ref(h);
  }
  return g_steal_pointer(&h);
}

static AgfTensor *level_up(AgfUnet *u, const Level *lv, AgfTensor *x,
                           const AgfTensor *temb, const AgfTensor *ctx,
                           Skips *s, GError **error)
{
  g_autoptr(AgfTensor) h = agf_tensor_ref(x);
  for (int j = 0; j < lv->n_res; j++) {
    g_autoptr(AgfTensor) skip = s->t[--s->n];
    const AgfTensor *pair[2] = { h, skip };
    AGF_SD_STEP(h, agf_concat(pair, 2, 1, error));
    AGF_SD_STEP(h, agf_sd_resnet_forward(&lv->res[j], u->w, h, temb, error));
    if (lv->has_attn)
      AGF_SD_STEP(h, agf_sd_transformer_forward(&lv->attn[j], u->w, h, ctx,
                                                error));
  }
  if (lv->has_sample)
    AGF_SD_STEP(h, agf_sd_upsample_forward(&lv->up, u->w, h, error));
  return g_steal_pointer(&h);
}

static AgfTensor *forward(AgfUnet *u, const AgfTensor *sample,
                          const AgfTensor *temb, const AgfTensor *ctx,
                          Skips *s, GError **error)
{
  const AgfUnetConfig *cfg = &u->cfg;
  const AgfConv2dParams p1 = agf_conv_params(1, 1);
  g_autoptr(AgfTensor) h = agf_layer_conv2d(u->w, "conv_in", sample, &p1,
                                            error);
  if (!h)
    return NULL;
  s->t[s->n++] = agf_tensor_ref(h);
  for (int i = 0; i < cfg->n_levels; i++)
    AGF_SD_STEP(h, level_down(u, &u->down[i], h, temb, ctx, s, error));
  AGF_SD_STEP(h, agf_sd_resnet_forward(&u->mid_res[0], u->w, h, temb, error));
  AGF_SD_STEP(h,
              agf_sd_transformer_forward(&u->mid_attn, u->w, h, ctx, error));
  AGF_SD_STEP(h, agf_sd_resnet_forward(&u->mid_res[1], u->w, h, temb, error));
  for (int i = 0; i < cfg->n_levels; i++)
    AGF_SD_STEP(h, level_up(u, &u->up[i], h, temb, ctx, s, error));
  AGF_SD_STEP(h, agf_layer_group_norm(u->w, "conv_norm_out", h,
                                      cfg->norm_num_groups, cfg->norm_eps,
                                      error));
  AGF_SD_STEP(h, agf_silu(h, error));
  return agf_layer_conv2d(u->w, "conv_out", h, &p1, error);
}

AgfTensor *agf_unet_forward(AgfUnet *unet, const AgfTensor *sample,
                            const float *timesteps, const AgfTensor *context,
                            GError **error)
{
  g_return_val_if_fail(unet != NULL && timesteps != NULL, NULL);
  const AgfUnetConfig *cfg = &unet->cfg;
  const int mult = 1 << (cfg->n_levels - 1);
  if (!sample || sample->ndim != 4 || sample->shape[1] != cfg->in_channels ||
      sample->shape[2] % mult || sample->shape[3] % mult) {
    char s[64] = "none";
    if (sample)
      agf_shape_str(sample, s, sizeof s);
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "U-Net: the sample is %s but must be [B, %d, h, w] with h and "
                "w multiples of %d (%s)", s, cfg->in_channels, mult,
                agf_weights_path(unet->w));
    return NULL;
  }
  g_autoptr(AgfTensor) temb = time_embedding(unet, timesteps, sample->shape[0],
                                             error);
  if (!temb)
    return NULL;
  /* Inputs of another float dtype run in the weights' dtype. */
  const AgfDType dt = agf_weights_dtype(unet->w);
  g_autoptr(AgfTensor) x = agf_tensor_cast((AgfTensor *)sample, dt, error);
  g_autoptr(AgfTensor) ctx =
      x && context ? agf_tensor_cast((AgfTensor *)context, dt, error) : NULL;
  if (!x || (context && !ctx))
    return NULL;
  Skips s = { .n = 0 };
  AgfTensor *out = forward(unet, x, temb, ctx, &s, error);
  skips_clear(&s);
  return out;
}
