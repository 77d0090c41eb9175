/* diffusers UNet2DConditionModel in the Stable Diffusion 1.5 layout
 * (diffusers tensor names): conv_in, time_embedding.linear_1/2, down_blocks
 * (CrossAttnDownBlock2D where the level has attentions, else DownBlock2D),
 * mid_block (UNetMidBlock2DCrossAttn), up_blocks (CrossAttnUpBlock2D /
 * UpBlock2D, skips concatenated), conv_norm_out, conv_out. Predicts the
 * noise eps from a latent, a timestep per batch item and a context.
 *
 * Configuration: the file's metadata (diffusers config.json keys, values
 * plain or JSON) when present, else inferred from tensor shapes:
 *   block_out_channels   "[320, 640, 1280, 1280]"  (down_blocks.i)
 *   layers_per_block     "2"       (down_blocks.0.resnets.j)
 *   in_channels / out_channels / cross_attention_dim    (shapes)
 *   down_block_types / up_block_types  (which levels have attentions;
 *                        else: which down_blocks.i / up_blocks.i have them)
 *   num_attention_heads, else attention_head_dim: the number of heads per
 *                        level, one value or a list (metadata only; SD-1.5
 *                        default 8 - diffusers reads attention_head_dim as
 *                        the head count, and so do we)
 *   transformer_layers_per_block  (transformer_blocks.k; default 1)
 *   norm_num_groups "32", norm_eps "1e-5", flip_sin_to_cos "true",
 *   freq_shift "0"       (metadata only; the defaults are SD-1.5's) */
#pragma once
#include "models/layers.h"

G_BEGIN_DECLS

#define AGF_UNET_MAX_LEVELS 8

typedef struct {
  int in_channels, out_channels;
  int n_levels;
  int block_out_channels[AGF_UNET_MAX_LEVELS];
  gboolean down_attention[AGF_UNET_MAX_LEVELS]; /* per down level */
  gboolean up_attention[AGF_UNET_MAX_LEVELS];   /* per up level (up order) */
  int heads[AGF_UNET_MAX_LEVELS];               /* per down level */
  int layers_per_block;
  int transformer_depth;
  int cross_attention_dim;
  int time_embed_dim;   /* time_embedding width; diffusers: 4 x channels[0] */
  int norm_num_groups;
  float norm_eps;
  gboolean flip_sin_to_cos;
  float freq_shift;
} AgfUnetConfig;

typedef struct AgfUnet AgfUnet;

/* Stable Diffusion 1.5's configuration. */
void agf_unet_config_sd15(AgfUnetConfig *cfg);
/* Parameters of a configuration (SD-1.5: 859,520,964), or -1 with an error
 * when the configuration is invalid. */
gint64 agf_unet_param_count(const AgfUnetConfig *cfg, GError **error);
/* Declares every tensor of a configuration to c (layers.h), in load order. */
gboolean agf_unet_declare(const AgfUnetConfig *cfg, AgfParamCheck *c,
                          GError **error);

/* Reads the configuration and checks every tensor's shape (w is ref'ed). */
AgfUnet *agf_unet_new(AgfWeights *w, GError **error);
void agf_unet_free(AgfUnet *unet);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfUnet, agf_unet_free)
const AgfUnetConfig *agf_unet_config(const AgfUnet *unet);

/* sample [B, in_channels, h, w] (h, w multiples of 2^(levels-1)),
 * timesteps: B host floats (one per batch item), context
 * [B, L, cross_attention_dim] -> eps [B, out_channels, h, w]. sample and
 * context of another float dtype than the weights' are converted to it;
 * eps has the weights' dtype. */
AgfTensor *agf_unet_forward(AgfUnet *unet, const AgfTensor *sample,
                            const float *timesteps, const AgfTensor *context,
                            GError **error);

G_END_DECLS
