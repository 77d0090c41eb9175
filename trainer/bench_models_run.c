/* Timing one network case on one device: load its checkpoints, one
 * warm-up forward (uploads the weights, builds pipelines, fills arenas),
 * reset the device's peak, then `runs` forwards each ended by a sync; the
 * median is reported with the memory high-water mark of the timed runs
 * (weights included: what the network needs resident). */
#include <string.h>
#include "bench_models.h"
#include "models/mobilefacenet.h"
#include "models/mtcnn.h"
#include "pipeline/dfg.h"

typedef struct {
  AgfWeights *w[BW_COUNT];
  AgfAutoencoderKL *vae;
  AgfUnet *unet;
  AgfIresnet *iresnet;
  AgfOanet *oanet;
  AgfResnet18 *resnet;
  AgfMobilefacenet *mfn;
  AgfMtcnn *pnet;
  AgfDfg *dfg;
  AgfTensor *in[BM_MAX_IN];
} Net;

static void net_clear(Net *n)
{
  g_clear_pointer(&n->vae, agf_autoencoder_kl_free);
  g_clear_pointer(&n->unet, agf_unet_free);
  g_clear_pointer(&n->iresnet, agf_iresnet_free);
  g_clear_pointer(&n->oanet, agf_oanet_free);
  g_clear_pointer(&n->resnet, agf_resnet18_free);
  g_clear_pointer(&n->mfn, agf_mobilefacenet_free);
  g_clear_pointer(&n->pnet, agf_mtcnn_free);
  g_clear_pointer(&n->dfg, agf_dfg_free);
  for (int i = 0; i < BM_MAX_IN; i++)
    g_clear_pointer(&n->in[i], agf_tensor_unref);
  for (int i = 0; i < BW_COUNT; i++)
    g_clear_pointer(&n->w[i], agf_weights_unref);
}

static gboolean net_build(Net *n, const BenchModelCase *c, AgfDevice *dev,
                          AgfDType dt, GError **error)
{
  for (int k = 0; k < BW_COUNT; k++)
    if (c->files[k] && !(n->w[k] = agf_weights_open(c->files[k], dev, dt, error)))
      return FALSE;
  /* Inputs in [-1, 1], as the networks get them. */
  GRand *rand = g_rand_new_with_seed(42);
  for (int i = 0; i < c->in.n; i++) {
    int64_t count = 1;
    for (int d = 0; d < c->in.ndim[i]; d++)
      count *= c->in.shape[i][d];
    g_autofree float *v = g_new(float, count);
    for (int64_t j = 0; j < count; j++)
      v[j] = (float)g_rand_double_range(rand, -1.0, 1.0);
    if (!(n->in[i] = agf_tensor_from_f32(dev, dt, c->in.ndim[i], c->in.shape[i], v,
                                         error))) {
      g_rand_free(rand);
      return FALSE;
    }
  }
  g_rand_free(rand);
  switch (c->kind) {
  case BM_VAE_ENCODE:
  case BM_VAE_DECODE:
    return (n->vae = agf_autoencoder_kl_new(n->w[BW_VAE], error)) != NULL;
  case BM_UNET:
    return (n->unet = agf_unet_new(n->w[BW_UNET], error)) != NULL;
  case BM_IRESNET:
    return (n->iresnet = agf_iresnet_new(n->w[BW_IRESNET], error)) != NULL;
  case BM_OANET:
    return (n->oanet = agf_oanet_new(n->w[BW_OANET], error)) != NULL;
  case BM_RESNET18:
    return (n->resnet = agf_resnet18_new_at(n->w[BW_OANET], "cue_encoder.",
                                            error)) != NULL;
  case BM_MOBILEFACENET:
    return (n->mfn = agf_mobilefacenet_new(n->w[BW_MOBILEFACENET], error)) != NULL;
  case BM_PNET:
    return (n->pnet = agf_mtcnn_new(n->w[BW_PNET], error)) != NULL;
  case BM_RECONSTRUCT: {
    AgfIresnet *id = agf_iresnet_new(n->w[BW_IRESNET], error);
    if (!id)
      return FALSE;
    n->dfg = agf_dfg_new(n->w[BW_VAE], n->w[BW_UNET], agf_dfg_identity_iresnet(id),
                         error);
    return n->dfg != NULL;
  }
  default:
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "unknown benchmark network %d", (int)c->kind);
    return FALSE;
  }
}

/* One forward, synced; outputs dropped. strength < 0: the case's own. */
static gboolean net_forward(Net *n, const BenchModelCase *c, AgfDevice *dev,
                            double strength, GError **error)
{
  AgfTensor *out[3] = { 0 };
  gboolean ok = FALSE;
  switch (c->kind) {
  case BM_VAE_ENCODE:
    ok = agf_autoencoder_kl_encode(n->vae, n->in[0], &out[0], &out[1], error);
    break;
  case BM_VAE_DECODE:
    ok = (out[0] = agf_autoencoder_kl_decode(n->vae, n->in[0], error)) != NULL;
    break;
  case BM_UNET: {
    /* t0 of strength 0.8 of a 50-step schedule */
    float t[1] = { 801.0f };
    ok = (out[0] = agf_unet_forward(n->unet, n->in[0], t, n->in[1], error)) != NULL;
    break;
  }
  case BM_IRESNET:
    ok = agf_iresnet_forward(n->iresnet, n->in[0], &out[0], &out[1], error);
    break;
  case BM_OANET:
    ok = agf_oanet_forward(n->oanet, n->in[0], n->in[1], &out[0], &out[1], error);
    break;
  case BM_RESNET18:
    ok = (out[0] = agf_resnet18_tokens(n->resnet, n->in[0], error)) != NULL;
    break;
  case BM_MOBILEFACENET:
    ok = agf_mobilefacenet_forward(n->mfn, n->in[0], &out[0], &out[1], error);
    break;
  case BM_PNET:
    ok = agf_mtcnn_forward(n->pnet, n->in[0], &out[0], &out[1], NULL, error);
    break;
  case BM_RECONSTRUCT: {
    AgfDfgParams p;
    agf_dfg_params_init(&p);
    p.steps = c->steps;
    p.strength = strength >= 0 ? strength : c->strength;
    p.sampler = c->sampler;
    ok = agf_dfg_reconstruct(n->dfg, n->in[0], &p, NULL, NULL, &out[0], NULL,
                             error);
    break;
  }
  default:
    break;
  }
  ok = ok && agf_device_sync(dev, error);
  for (int i = 0; i < 3; i++)
    if (out[i])
      agf_tensor_unref(out[i]);
  return ok;
}

gboolean bench_models_run_case(AgfDevice *dev, const BenchModelCase *c,
                               AgfDType dt, int runs, BenchModelResult *out,
                               GError **error)
{
  Net n = { 0 };
  gboolean ok = FALSE;
  double *t = g_new(double, runs);
  if (!net_build(&n, c, dev, dt, error))
    goto done;
  /* The warm-up reconstruction runs 2 U-Net calls (strength 1/50), enough
   * to touch every network and kernel. */
  if (!net_forward(&n, c, dev, c->kind == BM_RECONSTRUCT ? 1.0 / c->steps : -1,
                   error))
    goto done;
  agf_device_reset_peak(dev);
  for (int r = 0; r < runs; r++) {
    gint64 t0 = g_get_monotonic_time();
    if (!net_forward(&n, c, dev, -1, error))
      goto done;
    t[r] = (double)(g_get_monotonic_time() - t0);
  }
  out->c = c;
  bench_measure_take(&out->m, dev, dt, t, runs);
  ok = TRUE;
done:
  g_free(t);
  net_clear(&n);
  return ok;
}
