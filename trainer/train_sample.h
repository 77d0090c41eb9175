/* agfas-train sample: the app's built-in sample, a face the DFG generates
 * from pure noise (train_sample_gen.c) and a simulated print attack of it
 * (pipeline/print_attack.h), written with their provenance
 * (train_sample.c). */
#pragma once
#include "pipeline/dfg.h"
#include "pipeline/print_attack.h"

G_BEGIN_DECLS

typedef struct {
  int size;            /* output side in pixels: 256 (the app's) */
  int steps;           /* the full schedule's U-Net calls: 50 */
  const char *sampler; /* "ddim" (default) or "pndm" */
  guint64 seed;
} AgfSampleParams;

void agf_sample_params_init(AgfSampleParams *p);

/* The DFG's identity stage for --identity: an ArcFace iresnet file, a
 * MobileFaceNet file, "mobilefacenet" (the face front-end's pretrained
 * network, face_models.h) or "none" (zero tokens: an unconditioned
 * sample). */
AgfDfgIdentity *agf_sample_open_identity(const char *spec, AgfDevice *dev,
                                         AgfDType dt, GError **error);
/* Shared with agfas-train dfg: an iresnet or MobileFaceNet file, or
 * "mobilefacenet"; *width (NULL: not asked) gets its tokens' width, probed
 * with one zero face. or_else ends the error's list of what --identity
 * takes (", 'mobilefacenet' or 'none'"). */
AgfDfgIdentity *agf_train_open_identity(const char *spec, AgfDevice *dev,
                                        AgfDType dt, int *width,
                                        const char *or_else, GError **error);

/* The U-Net context [1, L, cross_attention_dim] in dt (the weights'):
 * the identity tokens of the face in face_path (an aligned crop, as
 * agfas-train prepare writes), or zeros when face_path is NULL. The
 * sample is generated in ctx's dtype. */
AgfTensor *agf_sample_context(AgfDfg *dfg, const char *face_path,
                              AgfDType dt, GError **error);

/* Generates one image [1, 3, size, size] in about [-1, 1]:
 *   z_T = N(0, I) of shape [1, latent, n / f, n / f], n the DFG's image
 *         size (agf_dfg_image_size; size when it has none) (rng.h, seed,
 *         stream 1: dfg.h's forward-jump stream, as starting from noise is
 *         the jump to t = T with nothing of an image left)
 *   z   = sampler step(unet(z, t, ctx), t, z) over the full steps-step
 *         schedule (strength 1: the first timestep is the schedule's
 *         highest, e.g. 981 of T = 1000 for 50 leading steps)
 *   x   = D(z / scaling_factor), resized to size when n differs
 * progress as agf_dfg_reconstruct's (done 0 .. n U-Net calls). */
AgfTensor *agf_sample_generate(AgfDfg *dfg, const AgfTensor *ctx,
                               const AgfSampleParams *p,
                               AgfDfgProgress progress, gpointer data,
                               GError **error);

/* [1, 3, H, W] in [-1, 1] on any device -> host RGB (x + 1) / 2, clamped
 * to [0, 1]; and back (to dev in dt). */
AgfRgbImage *agf_sample_to_rgb(const AgfTensor *x, GError **error);
AgfTensor *agf_sample_from_rgb(const AgfRgbImage *img, AgfDevice *dev,
                               AgfDType dt, GError **error);

G_END_DECLS
