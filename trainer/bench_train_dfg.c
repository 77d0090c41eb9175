/* The DFG side of agfas-bench train:
 *   dfg  the step of `agfas-train dfg` (trainer/train_dfg.c): under no-grad
 *        the frozen autoencoder encodes the faces, samples and scales the
 *        latents, and the frozen iresnet gives the context; then random
 *        timesteps, add_noise, the U-Net forward on the tape, epsilon MSE
 *        (read back, as the trainer logs it) and the trainer's own update
 *        (train_loop_model.h: backward, clip at 1 or loss scaling, AdamW,
 *        EMA 0.999).
 *   cue  what `agfas-train cues` runs per batch: a whole reconstruction and
 *        the cue (agf_analysis_run without mask or OA-Net).
 * Noise comes from rng.h on the host as in the trainer; add_noise runs on
 * the device (per-sample coefficients broadcast over the latent). */
#include <math.h>
#include "bench_train.h"
#include "train_loop_model.h"
#include "nn/loss.h"
#include "pipeline/analyze.h"
#include "pipeline/dfg.h"
#include "pipeline/rng.h"

#define SEED 42
/* rng.h streams, step in the low bits (as train_dfg.c keys them) */
#define STREAM_ENC G_GUINT64_CONSTANT(0x6466670000000000)
#define STREAM_EPS G_GUINT64_CONSTANT(0x6466650000000000)
#define STREAM_T G_GUINT64_CONSTANT(0x6466740000000000)

typedef struct {
  const BenchTrainCase *c;
  AgfDevice *dev;
  AgfDType dt;
  AgfWeights *vae_w, *unet_w;
  AgfDfg *dfg;
  AgfParamSet *all;
  AgfTrainUpdate u;
  AgfTensor *x;       /* the faces [B, 3, 256, 256] */
  float *tb;          /* timesteps of the step, one per face */
  gint64 step;
} DfgBench;

static void dfg_bench_free(gpointer self)
{
  DfgBench *b = self;
  agf_train_update_clear(&b->u);
  g_clear_pointer(&b->all, agf_param_set_free);
  g_clear_pointer(&b->dfg, agf_dfg_free);
  g_clear_pointer(&b->unet_w, agf_weights_unref);
  g_clear_pointer(&b->vae_w, agf_weights_unref);
  g_clear_pointer(&b->x, agf_tensor_unref);
  g_free(b->tb);
  g_free(b);
}

/* The DFG of the preset's three checkpoints and the faces. */
static DfgBench *dfg_bench_open(const BenchTrainCase *c, AgfDevice *dev,
                                AgfDType dt, GError **error)
{
  DfgBench *b = g_new0(DfgBench, 1);
  b->c = c;
  b->dev = dev;
  b->dt = dt;
  b->tb = g_new(float, c->batch);
  g_autoptr(AgfWeights) iw = NULL;
  AgfIresnet *id = NULL;
  if (!(b->vae_w = agf_weights_open(c->files[BW_VAE], dev, dt, error)) ||
      !(b->unet_w = agf_weights_open(c->files[BW_UNET], dev, dt, error)) ||
      !(iw = agf_weights_open(c->files[BW_IRESNET], dev, dt, error)) ||
      !(id = agf_iresnet_new(iw, error)) ||
      !(b->dfg = agf_dfg_new(b->vae_w, b->unet_w,
                             agf_dfg_identity_iresnet(id), error))) {
    dfg_bench_free(b);
    return NULL;
  }
  g_autoptr(GRand) rand = g_rand_new_with_seed(SEED);
  if (!(b->x = bench_train_random_tensor(dev, dt, c->in.ndim[0], c->in.shape[0],
                                         rand, error))) {
    dfg_bench_free(b);
    return NULL;
  }
  return b;
}

static gpointer dfg_build(const BenchTrainCase *c, AgfDevice *dev,
                          AgfDType dt, GError **error)
{
  DfgBench *b = dfg_bench_open(c, dev, dt, error);
  if (!b)
    return NULL;
  /* agfas-train dfg's defaults: AdamW 0.9 / 0.999, weight decay 0.01,
   * EMA 0.999, gradient clipping at 1 (f32). */
  const AgfOptimConfig oc = { .kind = AGF_OPTIM_ADAMW, .beta1 = 0.9f,
                              .beta2 = 0.999f, .weight_decay = 0.01f };
  if (!(b->all = agf_weights_param_set(b->unet_w, error)) ||
      !agf_train_update_init(&b->u, dev, b->all, &oc, 0.999f, 1.0f, error)) {
    dfg_bench_free(b);
    return NULL;
  }
  return b;
}

/* z0 = sample(E(x)) * scaling_factor and the identity context. */
static gboolean frozen_inputs(DfgBench *b, AgfTensor **z0, AgfTensor **ctx,
                              GError **error)
{
  AgfAutoencoderKL *vae = agf_dfg_autoencoder(b->dfg);
  g_autoptr(AgfTensor) mean = NULL, logvar = NULL;
  if (!agf_autoencoder_kl_encode(vae, b->x, &mean, &logvar, error))
    return FALSE;
  g_autoptr(AgfTensor) n = agf_train_noise(b->dev, mean->dtype, SEED,
                                           STREAM_ENC + (guint64)b->step,
                                           mean->ndim, mean->shape, error);
  g_autoptr(AgfTensor) z = n ? agf_autoencoder_kl_sample(mean, logvar, n,
                                                         error) : NULL;
  if (!z || !(*z0 = agf_scale(z, agf_autoencoder_kl_config(vae)->scaling_factor,
                              0.0f, error)))
    return FALSE;
  return (*ctx = agf_dfg_context(b->dfg, b->x, error)) != NULL;
}

/* A [B, 1, 1, 1] tensor of v, broadcast over a latent. */
static AgfTensor *per_sample(AgfDevice *dev, AgfDType dt, const float *v,
                             int64_t batch, GError **error)
{
  const int64_t shape[4] = { batch, 1, 1, 1 };
  return agf_tensor_from_f32(dev, dt, 4, shape, v, error);
}

/* zt = sqrt(abar_t) z0 + sqrt(1 - abar_t) n for random t per face;
 * *target = n. */
static AgfTensor *noisy_latents(DfgBench *b, const AgfTensor *z0,
                                AgfTensor **target, GError **error)
{
  const AgfNoiseSchedule *s = agf_dfg_noise_schedule(b->dfg);
  const int64_t batch = z0->shape[0];
  g_autofree float *ca = g_new(float, batch);
  g_autofree float *cb = g_new(float, batch);
  for (int64_t i = 0; i < batch; i++) {
    int t = (int)(agf_rng_uniform(SEED, STREAM_T + (guint64)b->step,
                                  (guint64)i) * s->T);
    t = MIN(t, s->T - 1);
    b->tb[i] = (float)t;
    const double ab = agf_noise_schedule_alpha_cumprod(s, t);
    ca[i] = (float)sqrt(ab);
    cb[i] = (float)sqrt(1.0 - ab);
  }
  g_autoptr(AgfTensor) n = agf_train_noise(b->dev, z0->dtype, SEED,
                                           STREAM_EPS + (guint64)b->step,
                                           z0->ndim, z0->shape, error);
  g_autoptr(AgfTensor) ta = n ? per_sample(b->dev, z0->dtype, ca, batch,
                                           error) : NULL;
  g_autoptr(AgfTensor) tc = ta ? per_sample(b->dev, z0->dtype, cb, batch,
                                            error) : NULL;
  g_autoptr(AgfTensor) sa = tc ? agf_mul(z0, ta, error) : NULL;
  g_autoptr(AgfTensor) sn = sa ? agf_mul(n, tc, error) : NULL;
  AgfTensor *zt = sn ? agf_add(sa, sn, error) : NULL;
  if (zt)
    *target = g_steal_pointer(&n);
  return zt;
}

static gboolean dfg_step(gpointer self, GError **error)
{
  DfgBench *b = self;
  g_autoptr(AgfTensor) z0 = NULL, ctx = NULL, target = NULL;
  agf_no_grad_begin(b->dev);
  gboolean ok = agf_train_update_begin(&b->u, error) &&
                frozen_inputs(b, &z0, &ctx, error);
  agf_no_grad_end(b->dev);
  if (!ok)
    return FALSE;
  g_autoptr(AgfTensor) zt = noisy_latents(b, z0, &target, error);
  g_autoptr(AgfTensor) eps = zt ? agf_unet_forward(agf_dfg_unet(b->dfg), zt,
                                                   b->tb, ctx, error) : NULL;
  g_autoptr(AgfTensor) loss = eps ? agf_loss_mse(eps, target, error) : NULL;
  float v = 0;
  if (!loss || !agf_tensor_to_f32(loss, &v, error))
    return FALSE;
  if (!isfinite(v)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "the loss is %g at step %" G_GINT64_FORMAT ": the step is "
                "broken, not worth timing (delete the %s checkpoints in the "
                "weights cache to rewrite them)", v, b->step, b->c->preset);
    return FALSE;
  }
  if (!agf_train_update_step(&b->u, loss, 1e-5f, error))
    return FALSE;
  b->step++;
  return agf_device_sync(b->dev, error);
}

const BenchTrainOps bench_train_dfg_ops = {
  dfg_build, NULL, dfg_step, dfg_bench_free
};

/* ---- cue generation ---- */

static gpointer cue_build(const BenchTrainCase *c, AgfDevice *dev,
                          AgfDType dt, GError **error)
{
  return dfg_bench_open(c, dev, dt, error);
}

static gboolean cue_run(DfgBench *b, double strength, GError **error)
{
  AgfDfgParams p;
  agf_dfg_params_init(&p);
  p.sampler = b->c->sampler;
  p.steps = b->c->steps;
  p.strength = strength;
  AgfAnalysis a = { 0 };
  if (!agf_analysis_run(b->dfg, NULL, NULL, b->x, NULL, &p, NULL, NULL, &a,
                        error))
    return FALSE;
  agf_analysis_clear(&a);
  return agf_device_sync(b->dev, error);
}

/* As agfas-bench models: a reconstruction of 2 U-Net calls (strength
 * 1 / steps) touches every network. */
static gboolean cue_warm(gpointer self, GError **error)
{
  DfgBench *b = self;
  return cue_run(b, 1.0 / b->c->steps, error);
}

static gboolean cue_step(gpointer self, GError **error)
{
  DfgBench *b = self;
  return cue_run(b, b->c->strength, error);
}

const BenchTrainOps bench_train_cue_ops = {
  cue_build, cue_warm, cue_step, dfg_bench_free
};
