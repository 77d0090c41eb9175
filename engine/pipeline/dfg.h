/* The De-fake Face Generator: reconstructs the "real" version of a face
 * (method.md, pipeline steps 2-3, as the authors' public code does it):
 *
 *   ctx   = zero-pad(identity(bilinear(image -> S x S)), U-Net context width)
 *   z0    = (mean + exp(logvar / 2) * n_enc) * scaling_factor   E(image)
 *   z     = sqrt(abar_t0) z0 + sqrt(1 - abar_t0) n_jump           forward jump
 *   z     = sampler step(unet(z, t, ctx), t, z [, n_eta(i)])      per timestep
 *   recon = D(z / scaling_factor)
 *
 * The timesteps are the scheduler's img2img list (scheduler.h): the full
 * num_inference_steps schedule truncated by strength, t0 its first entry
 * (strength 0.8 of 50 steps: t0 = 801, 40 DDIM or 41 PNDM U-Net calls).
 * With strength so small that no timestep is left, nothing is noised and
 * the result is the autoencoder's reconstruction D(E(image)).
 *
 * Determinism: every noise is drawn on the host from rng.h's counter-based
 * generator, so every backend gets the same values:
 *   stream 0      the encoder's sampling noise n_enc
 *   stream 1      the forward-jump noise n_jump
 *   stream 2 + i  DDIM's variance noise of step i (eta > 0 only)
 * each indexed by the element's position within ONE sample ([C, h, w]
 * row-major): every batch item gets the same noise, so an image's
 * reconstruction depends on the image and the seed only, not on what else
 * is in its batch.
 *
 * The noise schedule is the U-Net checkpoint's (its agfas.schedule.*
 * metadata, noise_schedule.h). A U-Net trained at one image size records
 * it (AGF_DFG_META_IMAGE_SIZE, as diffusers' sample_size): images of any
 * other size are resized to it (bilinear), reconstructed, and the result
 * resized back, so the app's 256 crops work with a DFG trained at 128. */
#pragma once
#include "models/autoencoder_kl.h"
#include "models/iresnet.h"
#include "models/unet.h"
#include "pipeline/scheduler.h"

G_BEGIN_DECLS

/* The identity stage: any face-recognition network giving tokens [B, L, C]
 * (C <= the U-Net's context width) for a face already resized (bilinear,
 * align_corners false) to input_size x input_size, values in [-1, 1]. */
typedef AgfTensor *(*AgfDfgTokensFn)(gpointer self, const AgfTensor *face,
                                     GError **error);

typedef struct AgfDfgIdentity AgfDfgIdentity;

/* name is copied (for reports); free_self (may be NULL) frees self with
 * the identity. */
AgfDfgIdentity *agf_dfg_identity_new(const char *name, int input_size,
                                     AgfDfgTokensFn tokens, gpointer self,
                                     GDestroyNotify free_self);
/* ArcFace iresnet: its 7x7 map after bn2 as 49 tokens, on a
 * 16 * map_size (112) input. Takes ownership of net. */
AgfDfgIdentity *agf_dfg_identity_iresnet(AgfIresnet *net);
void agf_dfg_identity_free(AgfDfgIdentity *id);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfDfgIdentity, agf_dfg_identity_free)
const char *agf_dfg_identity_name(const AgfDfgIdentity *id);
int agf_dfg_identity_input_size(const AgfDfgIdentity *id);

typedef struct AgfDfg AgfDfg;

/* U-Net metadata: the image side (pixels) the DFG was trained at. */
#define AGF_DFG_META_IMAGE_SIZE "agfas.dfg.image_size"

/* Builds the autoencoder and U-Net from their weights (both on the same
 * device), reads the schedule from unet_w's metadata. Takes ownership of
 * identity, also on failure. */
AgfDfg *agf_dfg_new(AgfWeights *vae_w, AgfWeights *unet_w,
                    AgfDfgIdentity *identity, GError **error);
/* Opens the three checkpoints (identity: an iresnet or MobileFaceNet
 * file) on dev with float weights of dt. */
AgfDfg *agf_dfg_open(const char *vae_path, const char *unet_path,
                     const char *identity_path, AgfDevice *dev, AgfDType dt,
                     GError **error);
void agf_dfg_free(AgfDfg *dfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfDfg, agf_dfg_free)

AgfDevice *agf_dfg_device(const AgfDfg *dfg);
AgfAutoencoderKL *agf_dfg_autoencoder(const AgfDfg *dfg);
AgfUnet *agf_dfg_unet(const AgfDfg *dfg);
const AgfDfgIdentity *agf_dfg_identity(const AgfDfg *dfg);
const AgfNoiseSchedule *agf_dfg_noise_schedule(const AgfDfg *dfg);
/* AGF_DFG_META_IMAGE_SIZE of the U-Net; 0 when it has none (any size). */
int agf_dfg_image_size(const AgfDfg *dfg);

typedef struct {
  double strength; /* t0 as a fraction of the schedule, [0, 1]: 0.8 */
  int steps;       /* num_inference_steps of the full schedule: 50 */
  const char *sampler; /* "ddim" (default) or "pndm" (the authors' code) */
  double eta;      /* DDIM only: 0 deterministic (default), (0, 1] */
  guint64 seed;    /* 0 */
} AgfDfgParams;

void agf_dfg_params_init(AgfDfgParams *p);

/* Called after the encode (done 0) and after each U-Net call (done 1 ..
 * total); returning FALSE stops the reconstruction with G_IO_ERROR /
 * G_IO_ERROR_CANCELLED. */
typedef gboolean (*AgfDfgProgress)(int done, int total, gpointer data);

/* What produced a reconstruction. */
typedef struct {
  char sampler[8];   /* "ddim" / "pndm" */
  int steps;
  double strength, eta;
  guint64 seed;
  int t0;            /* the forward-jump timestep; -1 when none */
  int n_calls;       /* U-Net calls */
  int *timesteps;    /* [n_calls], in call order */
  /* Wall seconds of each stage, the device synchronised at the end of each
   * so queued work counts where it was recorded; identity is 0 when no
   * timestep is left (no context needed). */
  double encode_s, identity_s, denoise_s, decode_s;
} AgfDfgInfo;

void agf_dfg_info_clear(AgfDfgInfo *info);

/* image [B, 3, H, W] in [-1, 1] on the DFG's device (H, W as the networks
 * need: multiples of 8 * 2^(U-Net levels - 1) for SD-1.5, 256 in the app;
 * any size when the U-Net records its image size)
 * -> *out, the reconstruction [B, 3, H, W]. progress and info may be NULL;
 * info is filled on success (clear it with agf_dfg_info_clear). */
gboolean agf_dfg_reconstruct(AgfDfg *dfg, const AgfTensor *image,
                             const AgfDfgParams *params,
                             AgfDfgProgress progress, gpointer progress_data,
                             AgfTensor **out, AgfDfgInfo *info,
                             GError **error);

/* The identity context of image: [B, L, cross_attention_dim]. */
AgfTensor *agf_dfg_context(AgfDfg *dfg, const AgfTensor *image,
                           GError **error);

/* Standard normal noise of rng.h's stream for a batch of batch samples of
 * sample_shape (ndim - 1 dims after the batch), in dtype dt on dev: every
 * sample gets elements 0 .. numel(sample) - 1. */
AgfTensor *agf_dfg_noise(AgfDevice *dev, AgfDType dt, guint64 seed,
                         guint64 stream, int ndim, const int64_t *shape,
                         GError **error);

G_END_DECLS
