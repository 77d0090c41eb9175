/* The sample generator: a face from pure noise through the DFG's U-Net,
 * sampler and decoder (train_sample.h). */
#include <gio/gio.h>
#include <string.h>
#include "train_sample.h"
#include "io/image.h"
#include "nn/device.h"
#include "nn/ops.h"
#include "pipeline/face_identity.h"
#include "pipeline/face_models.h"

#define STREAM_LATENT 1 /* dfg.h's forward-jump stream */

void agf_sample_params_init(AgfSampleParams *p)
{
  *p = (AgfSampleParams){ .size = 256, .steps = 50, .sampler = "ddim",
                          .seed = 0 };
}

/* ---- identity ---- */

/* "none": one zero token per face, widened to the U-Net's context by
 * agf_identity_context; the cross-attention then sees no identity. */
static AgfTensor *zero_tokens(gpointer self, const AgfTensor *face,
                              GError **error)
{
  (void)self;
  const int64_t shape[3] = { face->shape[0], 1, 1 };
  AgfTensor *t = agf_tensor_new(face->dev, face->dtype, 3, shape, error);
  if (t && !agf_tensor_fill(t, 0.0f, error))
    g_clear_pointer(&t, agf_tensor_unref);
  return t;
}

AgfDfgIdentity *agf_train_open_identity(const char *spec, AgfDevice *dev,
                                        AgfDType dt, int *width,
                                        const char *or_else, GError **error)
{
  g_autofree char *path = !strcmp(spec, "mobilefacenet")
                            ? agf_face_model_path("mobilefacenet", error)
                            : g_strdup(spec);
  if (!path)
    return NULL;
  GError *e = NULL;
  AgfDfgIdentity *id = agf_face_identity_dfg_open(path, dev, dt, width, &e);
  if (!id) {
    g_propagate_prefixed_error(error, e, "--identity: ");
    if (g_error_matches(*error, AGF_ERROR, AGF_ERROR_FORMAT)) {
      char *m = g_strconcat((*error)->message, or_else, NULL);
      g_free((*error)->message);
      (*error)->message = m;
    }
  }
  return id;
}

AgfDfgIdentity *agf_sample_open_identity(const char *spec, AgfDevice *dev,
                                         AgfDType dt, GError **error)
{
  if (!spec || !strcmp(spec, "none"))
    return agf_dfg_identity_new("none", 112, zero_tokens, NULL, NULL);
  return agf_train_open_identity(spec, dev, dt, NULL,
                                 ", 'mobilefacenet' or 'none'", error);
}

AgfTensor *agf_sample_context(AgfDfg *dfg, const char *face_path,
                              AgfDType dt, GError **error)
{
  AgfDevice *dev = agf_dfg_device(dfg);
  const int width = agf_unet_config(agf_dfg_unet(dfg))->cross_attention_dim;
  if (!face_path) {
    const int64_t shape[3] = { 1, 1, width };
    AgfTensor *ctx = agf_tensor_new(dev, dt, 3, shape, error);
    if (ctx && !agf_tensor_fill(ctx, 0.0f, error))
      g_clear_pointer(&ctx, agf_tensor_unref);
    return ctx;
  }
  g_autoptr(AgfImage) img = agf_image_load(face_path, error);
  if (!img) {
    g_prefix_error(error, "--identity-image: ");
    return NULL;
  }
  g_autoptr(AgfRgbImage) rgb = agf_rgb_image_from_image(img);
  g_autoptr(AgfTensor) x = agf_sample_from_rgb(rgb, dev, dt, error);
  AgfTensor *ctx = x ? agf_dfg_context(dfg, x, error) : NULL;
  if (x && !ctx)
    g_prefix_error(error, "--identity %s with this U-Net (use the identity "
                   "network it was trained with): ",
                   agf_dfg_identity_name(agf_dfg_identity(dfg)));
  return ctx;
}

/* ---- generation ---- */

static gboolean check_size(AgfDfg *dfg, int size, int *latent,
                           GError **error)
{
  const AgfAutoencoderKLConfig *vc =
    agf_autoencoder_kl_config(agf_dfg_autoencoder(dfg));
  const AgfUnetConfig *uc = agf_unet_config(agf_dfg_unet(dfg));
  const int f = 1 << (vc->n_levels - 1), u = 1 << (uc->n_levels - 1);
  if (size < f || size % (f * u)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "a %d x %d sample does not fit these networks: the side must "
                "be a multiple of %d (autoencoder factor %d x U-Net factor "
                "%d)", size, size, f * u, f, u);
    return FALSE;
  }
  *latent = size / f;
  return TRUE;
}

AgfTensor *agf_sample_generate(AgfDfg *dfg, const AgfTensor *ctx,
                               const AgfSampleParams *p,
                               AgfDfgProgress progress, gpointer data,
                               GError **error)
{
  g_return_val_if_fail(dfg && ctx && p, NULL);
  /* A DFG trained at one size generates at it; the image is resized. */
  const int native = agf_dfg_image_size(dfg) ? agf_dfg_image_size(dfg)
                                             : p->size;
  int side = 0;
  if (!check_size(dfg, native, &side, error))
    return NULL;
  if (p->steps < 1) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "--steps %d: the schedule needs at least 1 step", p->steps);
    return NULL;
  }
  g_autoptr(AgfScheduler) sched =
    agf_scheduler_new(p->sampler, agf_dfg_noise_schedule(dfg), 0.0, error);
  if (!sched || !agf_scheduler_set_timesteps(sched, p->steps, 1.0, error))
    return NULL;
  int n = 0;
  const int *ts = agf_scheduler_timesteps(sched, &n);
  AgfAutoencoderKL *vae = agf_dfg_autoencoder(dfg);
  const AgfAutoencoderKLConfig *vc = agf_autoencoder_kl_config(vae);
  const int64_t shape[4] = { 1, vc->latent_channels, side, side };
  /* Both samplers' initial noise sigma is 1: z_T is the noise itself. */
  AgfTensor *z = agf_dfg_noise(agf_dfg_device(dfg), ctx->dtype, p->seed,
                               STREAM_LATENT, 4, shape, error);
  if (!z)
    return NULL;
  for (int i = 0; i <= n; i++) {
    if (progress && !progress(i, n, data)) {
      agf_tensor_unref(z);
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                  "sampling cancelled");
      return NULL;
    }
    if (i == n)
      break;
    const float t = (float)ts[i];
    g_autoptr(AgfTensor) eps = agf_unet_forward(agf_dfg_unet(dfg), z, &t,
                                                ctx, error);
    /* PNDM keeps z and eps in its history: both stay referenced there. */
    AgfTensor *next = eps ? agf_scheduler_step(sched, eps, ts[i], z, NULL,
                                               error) : NULL;
    agf_tensor_unref(z);
    if (!(z = next))
      return NULL;
  }
  g_autoptr(AgfTensor) zu = agf_scale(z, 1.0f / vc->scaling_factor, 0.0f,
                                      error);
  agf_tensor_unref(z);
  g_autoptr(AgfTensor) x = zu ? agf_autoencoder_kl_decode(vae, zu, error)
                              : NULL;
  if (!x || native == p->size)
    return g_steal_pointer(&x);
  return agf_resize_bilinear(x, p->size, p->size, FALSE, error);
}

/* ---- host images ---- */

AgfRgbImage *agf_sample_to_rgb(const AgfTensor *x, GError **error)
{
  if (x->ndim != 4 || x->shape[0] != 1 || x->shape[1] != 3) {
    char buf[64];
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "a sample image is [1, 3, H, W], not %s",
                agf_shape_str(x, buf, sizeof buf));
    return NULL;
  }
  const int h = (int)x->shape[2], w = (int)x->shape[3];
  const gsize plane = (gsize)h * w;
  g_autofree float *host = g_new(float, 3 * plane);
  if (!agf_tensor_to_f32(x, host, error))
    return NULL;
  AgfRgbImage *img = agf_rgb_image_new(w, h);
  for (gsize i = 0; i < plane; i++)
    for (int c = 0; c < 3; c++)
      img->rgb[i * 3 + c] = CLAMP((host[c * plane + i] + 1.0f) / 2.0f, 0.0f,
                                  1.0f);
  return img;
}

AgfTensor *agf_sample_from_rgb(const AgfRgbImage *img, AgfDevice *dev,
                               AgfDType dt, GError **error)
{
  const gsize plane = (gsize)img->width * img->height;
  g_autofree float *host = g_new(float, 3 * plane);
  for (gsize i = 0; i < plane; i++)
    for (int c = 0; c < 3; c++)
      host[c * plane + i] = img->rgb[i * 3 + c] * 2.0f - 1.0f;
  const int64_t shape[4] = { 1, 3, img->height, img->width };
  return agf_tensor_from_f32(dev, dt, 4, shape, host, error);
}
