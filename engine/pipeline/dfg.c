/* The DFG reconstruction over the networks and the samplers; see dfg.h. */
#include "pipeline/dfg.h"
#include <gio/gio.h>
#include <string.h>
#include "nn/device.h"
#include "nn/ops.h"
#include "pipeline/face_identity.h"
#include "pipeline/rng.h"

struct AgfDfgIdentity {
  char *name;
  int input_size;
  AgfDfgTokensFn tokens;
  gpointer self;
  GDestroyNotify free_self;
};

struct AgfDfg {
  AgfDevice *dev;
  AgfAutoencoderKL *vae;
  AgfUnet *unet;
  AgfDfgIdentity *identity;
  AgfNoiseSchedule *schedule;
  int image_size; /* the side the networks were trained at; 0: any */
};

enum { STREAM_ENCODER = 0, STREAM_JUMP = 1, STREAM_ETA = 2 };

/* ---- identity ---- */

AgfDfgIdentity *agf_dfg_identity_new(const char *name, int input_size,
                                     AgfDfgTokensFn tokens, gpointer self,
                                     GDestroyNotify free_self)
{
  g_return_val_if_fail(tokens != NULL && input_size > 0, NULL);
  AgfDfgIdentity *id = g_new0(AgfDfgIdentity, 1);
  id->name = g_strdup(name ? name : "identity");
  id->input_size = input_size;
  id->tokens = tokens;
  id->self = self;
  id->free_self = free_self;
  return id;
}

static AgfTensor *iresnet_tokens(gpointer self, const AgfTensor *face,
                                 GError **error)
{
  AgfTensor *tokens = NULL;
  if (!agf_iresnet_forward(self, face, &tokens, NULL, error))
    return NULL;
  return tokens;
}

AgfDfgIdentity *agf_dfg_identity_iresnet(AgfIresnet *net)
{
  g_return_val_if_fail(net != NULL, NULL);
  const AgfIresnetConfig *cfg = agf_iresnet_config(net);
  g_autofree char *name = cfg->depth > 0
                            ? g_strdup_printf("iresnet%d", cfg->depth)
                            : g_strdup("iresnet");
  return agf_dfg_identity_new(name, 16 * cfg->map_size, iresnet_tokens, net,
                              (GDestroyNotify)agf_iresnet_free);
}

void agf_dfg_identity_free(AgfDfgIdentity *id)
{
  if (!id)
    return;
  if (id->free_self)
    id->free_self(id->self);
  g_free(id->name);
  g_free(id);
}

const char *agf_dfg_identity_name(const AgfDfgIdentity *id)
{
  return id->name;
}

int agf_dfg_identity_input_size(const AgfDfgIdentity *id)
{
  return id->input_size;
}

/* ---- construction ---- */

/* AGF_DFG_META_IMAGE_SIZE, when present: a positive multiple of 8. */
static gboolean read_image_size(GHashTable *meta, int *size, GError **error)
{
  const char *v = meta ? g_hash_table_lookup(meta, AGF_DFG_META_IMAGE_SIZE)
                       : NULL;
  *size = 0;
  if (!v)
    return TRUE;
  char *end = NULL;
  const gint64 n = g_ascii_strtoll(v, &end, 10);
  if (end == v || *end || n <= 0 || n % 8 || n > 1 << 14) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "metadata %s is \"%s\", not a positive multiple of 8",
                AGF_DFG_META_IMAGE_SIZE, v);
    return FALSE;
  }
  *size = (int)n;
  return TRUE;
}

AgfDfg *agf_dfg_new(AgfWeights *vae_w, AgfWeights *unet_w,
                    AgfDfgIdentity *identity, GError **error)
{
  g_autoptr(AgfDfgIdentity) id = identity;
  g_return_val_if_fail(vae_w && unet_w && identity, NULL);
  if (agf_weights_device(vae_w) != agf_weights_device(unet_w)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "the DFG's autoencoder (%s) and U-Net (%s) are open on "
                "different devices; open both on the same one",
                agf_weights_path(vae_w), agf_weights_path(unet_w));
    return NULL;
  }
  AgfScheduleConfig sc;
  GHashTable *meta = agf_safetensors_metadata(agf_weights_file(unet_w));
  if (!agf_schedule_config_from_metadata(&sc, meta, error)) {
    g_prefix_error(error, "U-Net checkpoint %s: ", agf_weights_path(unet_w));
    return NULL;
  }
  g_autoptr(AgfDfg) dfg = g_new0(AgfDfg, 1);
  dfg->dev = agf_weights_device(vae_w);
  if (!(dfg->schedule = agf_noise_schedule_new(&sc, error)) ||
      !(dfg->vae = agf_autoencoder_kl_new(vae_w, error)) ||
      !(dfg->unet = agf_unet_new(unet_w, error)))
    return NULL;
  const AgfAutoencoderKLConfig *vc = agf_autoencoder_kl_config(dfg->vae);
  const AgfUnetConfig *uc = agf_unet_config(dfg->unet);
  if (vc->latent_channels != uc->in_channels ||
      vc->latent_channels != uc->out_channels) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "the autoencoder %s has %d latent channels but the U-Net %s "
                "takes %d and predicts %d: use a matching pair",
                agf_weights_path(vae_w), vc->latent_channels,
                agf_weights_path(unet_w), uc->in_channels, uc->out_channels);
    return NULL;
  }
  if (!read_image_size(meta, &dfg->image_size, error)) {
    g_prefix_error(error, "U-Net checkpoint %s: ", agf_weights_path(unet_w));
    return NULL;
  }
  dfg->identity = g_steal_pointer(&id);
  return g_steal_pointer(&dfg);
}

AgfDfg *agf_dfg_open(const char *vae_path, const char *unet_path,
                     const char *identity_path, AgfDevice *dev, AgfDType dt,
                     GError **error)
{
  g_autoptr(AgfDfgIdentity) id =
    agf_face_identity_dfg_open(identity_path, dev, dt, NULL, error);
  if (!id)
    return NULL;
  g_autoptr(AgfWeights) vw = agf_weights_open(vae_path, dev, dt, error);
  g_autoptr(AgfWeights) uw =
      vw ? agf_weights_open(unet_path, dev, dt, error) : NULL;
  if (!uw)
    return NULL;
  return agf_dfg_new(vw, uw, g_steal_pointer(&id), error);
}

void agf_dfg_free(AgfDfg *dfg)
{
  if (!dfg)
    return;
  agf_autoencoder_kl_free(dfg->vae);
  agf_unet_free(dfg->unet);
  agf_dfg_identity_free(dfg->identity);
  agf_noise_schedule_free(dfg->schedule);
  g_free(dfg);
}

AgfDevice *agf_dfg_device(const AgfDfg *dfg)
{
  return dfg->dev;
}

AgfAutoencoderKL *agf_dfg_autoencoder(const AgfDfg *dfg)
{
  return dfg->vae;
}

AgfUnet *agf_dfg_unet(const AgfDfg *dfg)
{
  return dfg->unet;
}

const AgfDfgIdentity *agf_dfg_identity(const AgfDfg *dfg)
{
  return dfg->identity;
}

const AgfNoiseSchedule *agf_dfg_noise_schedule(const AgfDfg *dfg)
{
  return dfg->schedule;
}

void agf_dfg_params_init(AgfDfgParams *p)
{
  *p = (AgfDfgParams){ .strength = 0.8, .steps = 50, .sampler = "ddim",
                       .eta = 0.0, .seed = 0 };
}

void agf_dfg_info_clear(AgfDfgInfo *info)
{
  if (!info)
    return;
  g_free(info->timesteps);
  memset(info, 0, sizeof *info);
}

/* ---- noise and context ---- */

AgfTensor *agf_dfg_noise(AgfDevice *dev, AgfDType dt, guint64 seed,
                         guint64 stream, int ndim, const int64_t *shape,
                         GError **error)
{
  g_return_val_if_fail(ndim >= 1 && ndim <= AGF_MAX_DIMS, NULL);
  gsize per = 1;
  for (int i = 1; i < ndim; i++)
    per *= (gsize)shape[i];
  const gsize batch = (gsize)shape[0];
  g_autofree float *host = g_new(float, per * batch);
  agf_rng_normal(seed, stream, 0, host, per);
  for (gsize b = 1; b < batch; b++)
    memcpy(host + b * per, host, per * sizeof(float));
  return agf_tensor_from_f32(dev, dt, ndim, shape, host, error);
}

AgfTensor *agf_dfg_context(AgfDfg *dfg, const AgfTensor *image,
                           GError **error)
{
  const int s = dfg->identity->input_size;
  g_autoptr(AgfTensor) face = NULL;
  if (image->shape[2] == s && image->shape[3] == s)
    face = agf_tensor_ref((AgfTensor *)image);
  else if (!(face = agf_resize_bilinear(image, s, s, FALSE, error)))
    return NULL;
  g_autoptr(AgfTensor) tokens = dfg->identity->tokens(dfg->identity->self,
                                                      face, error);
  if (!tokens)
    return NULL;
  if (tokens->ndim != 3 || tokens->shape[0] != image->shape[0]) {
    char buf[64];
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "identity network %s gave tokens %s, not [%" G_GINT64_FORMAT
                ", L, C]", dfg->identity->name,
                agf_shape_str(tokens, buf, sizeof buf), image->shape[0]);
    return NULL;
  }
  return agf_identity_context(tokens,
                              agf_unet_config(dfg->unet)->cross_attention_dim,
                              error);
}

/* ---- reconstruction ---- */

static gboolean check_image(const AgfDfg *dfg, const AgfTensor *image,
                            GError **error)
{
  const AgfAutoencoderKLConfig *vc = agf_autoencoder_kl_config(dfg->vae);
  char buf[64];
  if (image->ndim != 4 || image->shape[1] != vc->in_channels ||
      image->dtype == AGF_U8) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "the DFG takes a float image [B, %d, H, W] in [-1, 1], not "
                "%s %s", vc->in_channels, agf_dtype_name(image->dtype),
                agf_shape_str(image, buf, sizeof buf));
    return FALSE;
  }
  if (image->dev != dfg->dev) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "the image is on another device than the DFG's networks; "
                "copy it to the DFG's device first");
    return FALSE;
  }
  return TRUE;
}

static gboolean cancelled(GError **error)
{
  g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
              "reconstruction cancelled");
  return FALSE;
}

/* Seconds since *t0 once the device has finished the queued work; *t0
 * moves to now. Negative on a device error. */
static double stage_seconds(AgfDfg *dfg, gint64 *t0, GError **error)
{
  if (!agf_device_sync(dfg->dev, error))
    return -1;
  gint64 now = g_get_monotonic_time();
  double s = (now - *t0) / 1e6;
  *t0 = now;
  return s;
}

/* z0 = sample(E(image)) * scaling_factor. */
static AgfTensor *encode(AgfDfg *dfg, const AgfTensor *image, guint64 seed,
                         GError **error)
{
  g_autoptr(AgfTensor) mean = NULL, logvar = NULL;
  if (!agf_autoencoder_kl_encode(dfg->vae, image, &mean, &logvar, error))
    return NULL;
  g_autoptr(AgfTensor) n = agf_dfg_noise(dfg->dev, mean->dtype, seed,
                                         STREAM_ENCODER, mean->ndim,
                                         mean->shape, error);
  g_autoptr(AgfTensor) z = n ? agf_autoencoder_kl_sample(mean, logvar, n,
                                                         error) : NULL;
  if (!z)
    return NULL;
  return agf_scale(z, agf_autoencoder_kl_config(dfg->vae)->scaling_factor,
                   0.0f, error);
}

static AgfTensor *decode(AgfDfg *dfg, const AgfTensor *z, GError **error)
{
  const float sf = agf_autoencoder_kl_config(dfg->vae)->scaling_factor;
  g_autoptr(AgfTensor) u = agf_scale(z, 1.0f / sf, 0.0f, error);
  return u ? agf_autoencoder_kl_decode(dfg->vae, u, error) : NULL;
}

static gboolean check_params(const AgfDfgParams *p, GError **error)
{
  if (!(p->strength >= 0.0 && p->strength <= 1.0) || p->steps < 1 ||
      !p->sampler) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "DFG parameters out of range: strength %g (t0 as a fraction "
                "of the schedule, 0..1), %d steps (>= 1), sampler %s",
                p->strength, p->steps, p->sampler ? p->sampler : "(none)");
    return FALSE;
  }
  return TRUE;
}

static gboolean reconstruct(AgfDfg *dfg, const AgfTensor *image,
                            const AgfDfgParams *params,
                            AgfDfgProgress progress, gpointer progress_data,
                            AgfTensor **out, AgfDfgInfo *info, GError **error)
{
  g_autoptr(AgfScheduler) sched = agf_scheduler_new(
      params->sampler, dfg->schedule, params->eta, error);
  if (!sched ||
      !agf_scheduler_set_timesteps(sched, params->steps, params->strength,
                                   error))
    return FALSE;
  int n = 0;
  const int *ts = agf_scheduler_timesteps(sched, &n);

  double stage_s[4] = { 0 }; /* encode, identity, denoise, decode */
  gint64 t = g_get_monotonic_time();
  g_autoptr(AgfTensor) z = encode(dfg, image, params->seed, error);
  if (!z || (stage_s[0] = stage_seconds(dfg, &t, error)) < 0)
    return FALSE;
  if (progress && !progress(0, n, progress_data))
    return cancelled(error);
  g_autoptr(AgfTensor) ctx = NULL;
  if (n > 0) {
    if (!(ctx = agf_dfg_context(dfg, image, error)) ||
        (stage_s[1] = stage_seconds(dfg, &t, error)) < 0)
      return FALSE;
    g_autoptr(AgfTensor) jn = agf_dfg_noise(dfg->dev, z->dtype, params->seed,
                                            STREAM_JUMP, z->ndim, z->shape,
                                            error);
    AgfTensor *zt = jn ? agf_scheduler_add_noise(sched, z, jn, ts[0], error)
                       : NULL;
    if (!zt)
      return FALSE;
    agf_tensor_unref(z);
    z = zt;
  }
  const int batch = (int)image->shape[0];
  g_autofree float *tb = g_new(float, batch);
  const gboolean eta_noise = !strcmp(agf_scheduler_name(sched), "ddim") &&
                             params->eta > 0.0;
  for (int i = 0; i < n; i++) {
    for (int b = 0; b < batch; b++)
      tb[b] = (float)ts[i];
    g_autoptr(AgfTensor) eps = agf_unet_forward(dfg->unet, z, tb, ctx, error);
    if (!eps)
      return FALSE;
    g_autoptr(AgfTensor) vn = NULL;
    if (eta_noise &&
        !(vn = agf_dfg_noise(dfg->dev, z->dtype, params->seed,
                             STREAM_ETA + (guint64)i, z->ndim, z->shape,
                             error)))
      return FALSE;
    /* PNDM keeps z and eps for its history: both stay referenced there. */
    AgfTensor *next = agf_scheduler_step(sched, eps, ts[i], z, vn, error);
    if (!next)
      return FALSE;
    agf_tensor_unref(z);
    z = next;
    if (progress && !progress(i + 1, n, progress_data))
      return cancelled(error);
  }
  if ((stage_s[2] = stage_seconds(dfg, &t, error)) < 0)
    return FALSE;
  AgfTensor *x = decode(dfg, z, error);
  if (!x)
    return FALSE;
  if ((stage_s[3] = stage_seconds(dfg, &t, error)) < 0) {
    agf_tensor_unref(x);
    return FALSE;
  }
  *out = x;
  if (info) {
    memset(info, 0, sizeof *info);
    g_strlcpy(info->sampler, agf_scheduler_name(sched), sizeof info->sampler);
    info->steps = params->steps;
    info->strength = params->strength;
    info->eta = params->eta;
    info->seed = params->seed;
    info->t0 = n > 0 ? ts[0] : -1;
    info->n_calls = n;
    info->timesteps = n > 0 ? g_memdup2(ts, sizeof(int) * (gsize)n) : NULL;
    info->encode_s = stage_s[0];
    info->identity_s = stage_s[1];
    info->denoise_s = stage_s[2];
    info->decode_s = stage_s[3];
  }
  return TRUE;
}

int agf_dfg_image_size(const AgfDfg *dfg)
{
  return dfg->image_size;
}

gboolean agf_dfg_reconstruct(AgfDfg *dfg, const AgfTensor *image,
                             const AgfDfgParams *params,
                             AgfDfgProgress progress, gpointer progress_data,
                             AgfTensor **out, AgfDfgInfo *info,
                             GError **error)
{
  g_return_val_if_fail(dfg && image && params && out, FALSE);
  *out = NULL;
  if (!check_image(dfg, image, error) || !check_params(params, error))
    return FALSE;
  const int s = dfg->image_size;
  const int64_t h = image->shape[2], w = image->shape[3];
  if (s == 0 || (h == s && w == s))
    return reconstruct(dfg, image, params, progress, progress_data, out, info,
                       error);
  /* Networks trained at another size see the image at theirs. */
  g_autoptr(AgfTensor) in = agf_resize_bilinear(image, s, s, FALSE, error);
  g_autoptr(AgfTensor) rec = NULL;
  if (!in || !reconstruct(dfg, in, params, progress, progress_data, &rec,
                          info, error))
    return FALSE;
  if (!(*out = agf_resize_bilinear(rec, (int)h, (int)w, FALSE, error))) {
    if (info)
      agf_dfg_info_clear(info);
    return FALSE;
  }
  return TRUE;
}
