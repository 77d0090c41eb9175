/* diffusers AutoencoderKL (the Stable Diffusion 1.5 KL-f8 autoencoder
 * layout, diffusers tensor names "encoder.*", "quant_conv",
 * "post_quant_conv", "decoder.*"): encode an image to the moments of the
 * latent Gaussian, sample it with a caller-given noise, decode a latent.
 *
 * Configuration: the file's metadata (diffusers config.json keys) when
 * present, else inferred from tensor shapes:
 *   block_out_channels  e.g. "[128, 256, 512, 512]"  (encoder.down_blocks.i)
 *   layers_per_block    "2"     (encoder.down_blocks.0.resnets.j)
 *   in_channels / out_channels / latent_channels     (conv shapes)
 *   norm_num_groups     "32"    (metadata only; default 32)
 *   scaling_factor      "0.18215" (metadata only; default 0.18215)
 *   mid_block_add_attention "true"/"false" (default: whether the file has
 *                       encoder.mid_block.attentions.0)
 * GroupNorm eps is 1e-6 throughout (diffusers' Encoder/Decoder). */
#pragma once
#include "models/layers.h"

G_BEGIN_DECLS

#define AGF_VAE_MAX_LEVELS 8

typedef struct {
  int in_channels, out_channels, latent_channels;
  int n_levels;
  int block_out_channels[AGF_VAE_MAX_LEVELS];
  int layers_per_block;
  int norm_num_groups;
  gboolean mid_attention;
  float scaling_factor; /* latents for the U-Net = sample * scaling_factor */
} AgfAutoencoderKLConfig;

typedef struct AgfAutoencoderKL AgfAutoencoderKL;

/* Stable Diffusion 1.5's configuration (128/256/512/512, 2 layers, 4
 * latent channels, 32 groups, 0.18215). */
void agf_autoencoder_kl_config_sd15(AgfAutoencoderKLConfig *cfg);
/* Parameters of a configuration (SD-1.5: 83,653,863), or -1 with an error
 * when the configuration is invalid. */
gint64 agf_autoencoder_kl_param_count(const AgfAutoencoderKLConfig *cfg,
                                      GError **error);
/* Declares every tensor of a configuration to c (layers.h), in load order. */
gboolean agf_autoencoder_kl_declare(const AgfAutoencoderKLConfig *cfg,
                                    AgfParamCheck *c, GError **error);

/* Reads the configuration and checks every tensor's shape (w is ref'ed). */
AgfAutoencoderKL *agf_autoencoder_kl_new(AgfWeights *w, GError **error);
void agf_autoencoder_kl_free(AgfAutoencoderKL *vae);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfAutoencoderKL, agf_autoencoder_kl_free)
const AgfAutoencoderKLConfig *
agf_autoencoder_kl_config(const AgfAutoencoderKL *vae);

/* Inputs of another float dtype than the weights' are converted to it.
 * x [B, in_channels, H, W] (H, W multiples of 2^(levels-1), values in
 * [-1, 1]) -> mean and logvar [B, latent, H/f, W/f], logvar clamped to
 * [-30, 20] as diffusers' DiagonalGaussianDistribution does. */
gboolean agf_autoencoder_kl_encode(AgfAutoencoderKL *vae, const AgfTensor *x,
                                   AgfTensor **mean, AgfTensor **logvar,
                                   GError **error);
/* mean + exp(0.5 * clamp(logvar, -30, 20)) * noise (all the same shape;
 * noise of another float dtype is converted): the latent sample, before
 * scaling_factor. */
AgfTensor *agf_autoencoder_kl_sample(const AgfTensor *mean,
                                     const AgfTensor *logvar,
                                     const AgfTensor *noise, GError **error);
/* z [B, latent, h, w] (unscaled: divide U-Net latents by scaling_factor
 * first) -> image [B, out_channels, h*f, w*f]. */
AgfTensor *agf_autoencoder_kl_decode(AgfAutoencoderKL *vae, const AgfTensor *z,
                                     GError **error);

G_END_DECLS
