/* The diffusers building blocks shared by the Stable Diffusion autoencoder
 * (AutoencoderKL) and U-Net (UNet2DConditionModel), with diffusers tensor
 * names. Each block is a small descriptor filled at load time by its
 * agf_sd_*_init(), which checks the shape of every tensor the block reads
 * (without uploading it) so that a wrong file fails at load with an error
 * naming the tensor; agf_sd_*_forward() then applies it. The inits declare
 * through layers.h's AgfParamCheck, so the same calls count and list a
 * configuration's parameters (check->w NULL). A block's prefix is relative
 * to the check's; the descriptor keeps the full name its forward reads. */
#pragma once
#include "models/layers.h"

G_BEGIN_DECLS

#define AGF_SD_NAME_LEN 160

/* Replaces the tensor var by the result of expr (which may read var),
 * releasing the old value; returns NULL from the caller when expr failed
 * (the error is set). Keeps the forward passes one line per op. */
#define AGF_SD_STEP(var, expr)                                               \
  do {                                                                       \
    AgfTensor *agf_sd_next_ = (expr);                                        \
    agf_tensor_unref(var);                                                   \
    (var) = agf_sd_next_;                                                    \
    if (!(var))                                                              \
      return NULL;                                                           \
  } while (0)

/* ResnetBlock2D (time_embedding_norm "default", output scale 1):
 * norm1-SiLU-conv1 (+ time_emb_proj(SiLU(temb)) per channel) -norm2-SiLU-
 * conv2, plus x through conv_shortcut (1x1) when the widths differ. */
typedef struct {
  char prefix[AGF_SD_NAME_LEN];
  int in_ch, out_ch;
  int temb_ch; /* 0: no time_emb_proj (the autoencoder) */
  int groups;
  float eps;
} AgfSdResnet;

gboolean agf_sd_resnet_init(AgfSdResnet *r, AgfParamCheck *c,
                            const char *prefix,
                            int in_ch, int out_ch, int temb_ch, int groups,
                            float eps, GError **error);
/* temb_act: SiLU(time embedding) [B, temb_ch] (computed once per network
 * call), or NULL when temb_ch is 0. */
AgfTensor *agf_sd_resnet_forward(const AgfSdResnet *r, AgfWeights *w,
                                 const AgfTensor *x, const AgfTensor *temb_act,
                                 GError **error);

/* Downsample2D with a conv: prefix names the conv ("....downsamplers.0.conv").
 * asym_pad: the autoencoder's zero pad (left 0, right 1, top 0, bottom 1)
 * and no conv padding; else padding 1 (the U-Net). Stride 2 either way. */
typedef struct {
  char prefix[AGF_SD_NAME_LEN];
  int ch;
  gboolean asym_pad;
} AgfSdDownsample;

gboolean agf_sd_downsample_init(AgfSdDownsample *d, AgfParamCheck *c,
                                const char *prefix, int ch, gboolean asym_pad,
                                GError **error);
AgfTensor *agf_sd_downsample_forward(const AgfSdDownsample *d, AgfWeights *w,
                                     const AgfTensor *x, GError **error);

/* Upsample2D with a conv: nearest 2x, then the 3x3 conv at prefix. */
typedef struct {
  char prefix[AGF_SD_NAME_LEN];
  int ch;
} AgfSdUpsample;

gboolean agf_sd_upsample_init(AgfSdUpsample *u, AgfParamCheck *c,
                              const char *prefix, int ch, GError **error);
AgfTensor *agf_sd_upsample_forward(const AgfSdUpsample *u, AgfWeights *w,
                                   const AgfTensor *x, GError **error);

/* The autoencoder's mid-block attention: one head over all H*W positions,
 * group_norm then q/k/v/out linears, plus the input. Newer files name the
 * linears to_q/to_k/to_v/to_out.0, older ones query/key/value/proj_attn;
 * either loads (2-D weights, or 1x1-conv [C, C, 1, 1] ones). */
typedef struct {
  char prefix[AGF_SD_NAME_LEN];
  int ch, groups;
  float eps;
  gboolean old_names;
} AgfSdAttnBlock;

gboolean agf_sd_attn_block_init(AgfSdAttnBlock *a, AgfParamCheck *c,
                                const char *prefix, int ch, int groups,
                                float eps, GError **error);
AgfTensor *agf_sd_attn_block_forward(const AgfSdAttnBlock *a, AgfWeights *w,
                                     const AgfTensor *x, GError **error);

/* Transformer2DModel (continuous input): GroupNorm (eps 1e-6), proj_in,
 * depth x BasicTransformerBlock (LN-self-attn, LN-cross-attn to the context,
 * LN-GEGLU feed-forward of width 4C, each residual), proj_out, plus the
 * input. proj_in/proj_out are 1x1 convs (SD-1.5) or linears
 * (use_linear_projection), told apart by the file's weight rank. heads is
 * the diffusers "attention_head_dim" of SD-1.5 (a head count). */
typedef struct {
  char prefix[AGF_SD_NAME_LEN];
  int ch, heads, ctx_dim, groups, depth;
} AgfSdTransformer;

gboolean agf_sd_transformer_init(AgfSdTransformer *t, AgfParamCheck *c,
                                 const char *prefix, int ch, int heads,
                                 int ctx_dim, int groups, int depth,
                                 GError **error);
/* x [B, C, H, W], context [B, L, ctx_dim]. */
AgfTensor *agf_sd_transformer_forward(const AgfSdTransformer *t,
                                      AgfWeights *w, const AgfTensor *x,
                                      const AgfTensor *context,
                                      GError **error);

/* Counts "<fmt % i>" tensors present for i = 0, 1, ... (a block's resnets,
 * a network's levels): the first absent index. */
int agf_sd_count_indexed(const AgfWeights *w, const char *fmt);

/* shape[dim] of tensor name in w, or def when it is absent or smaller. */
int agf_sd_dim_of(const AgfWeights *w, const char *name, int dim, int def);

/* Metadata key as a boolean ("true"/"1", "false"/"0", any case), def when
 * absent; an error (and def) for any other value. */
gboolean agf_sd_meta_bool(const AgfWeights *w, const char *key, gboolean def,
                          GError **error);

/* Parses metadata lists such as "[320, 640, 1280, 1280]", "320,640" or a
 * single "8" into at most max ints; returns how many, or -1 when the value
 * holds anything but integers and separators. */
int agf_sd_parse_int_list(const char *s, int *out, int max);

G_END_DECLS
