/* Denoising samplers over a noise schedule, as diffusers v0.27 defines them
 * for Stable Diffusion 1.5 (clip_sample and thresholding off,
 * epsilon prediction):
 *   "ddim"  DDIMScheduler, eta = 0 (deterministic) or eta in (0, 1] with the
 *           variance noise given by the caller;
 *   "pndm"  PNDMScheduler with skip_prk_steps (PLMS), SD-1.5's default and
 *           the sampler the AG-FAS checkpoints were tuned with.
 *
 * Use, as StableDiffusionImg2ImgPipeline does:
 *   agf_scheduler_set_timesteps(s, 50, 0.8, &err);     strength 1 = from noise
 *   ts = agf_scheduler_timesteps(s, &n);
 *   z = agf_scheduler_add_noise(s, z0, noise, ts[0], &err);
 *   for i in 0..n-1: eps = unet(z, ts[i]); z = agf_scheduler_step(s, eps, ts[i], z, NULL, &err);
 * Steps run on the device of their inputs through the engine's ops; the
 * per-step coefficients are computed on the host in double from the float32
 * alphas_cumprod. An AgfScheduler is used from one thread at a time. */
#pragma once
#include <glib.h>
#include "nn/tensor.h"
#include "pipeline/noise_schedule.h"

G_BEGIN_DECLS

typedef struct AgfScheduler AgfScheduler;

/* What one step computed:
 *   eps_hat = sum_i w[i] * (model output of i calls ago)   (PNDM history;
 *             DDIM: w = {1, 0, 0, 0})
 *   prev    = c_sample * sample + c_eps * eps_hat + c_noise * variance_noise
 * with the sample moved from alphas_cumprod[t] to alphas_cumprod[t_prev]
 * (final_alpha_cumprod when t_prev < 0). t and t_prev are the timesteps the
 * formula used, which for PNDM are not always the ones passed in. */
typedef struct {
  int t;
  int t_prev;
  double c_sample;
  double c_eps;
  double c_noise;
  double w[4];
} AgfStepCoeffs;

/* The scheduler keeps its own copy of ns. */
AgfScheduler *agf_ddim_new(const AgfNoiseSchedule *ns, double eta,
                           GError **error);
AgfScheduler *agf_pndm_new(const AgfNoiseSchedule *ns, GError **error);
/* name: "ddim" or "pndm"; eta is for DDIM and must be 0 for PNDM. */
AgfScheduler *agf_scheduler_new(const char *name, const AgfNoiseSchedule *ns,
                                double eta, GError **error);
void agf_scheduler_free(AgfScheduler *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfScheduler, agf_scheduler_free)

const char *agf_scheduler_name(const AgfScheduler *s);
const AgfNoiseSchedule *agf_scheduler_noise_schedule(const AgfScheduler *s);

/* The diffusers schedule for num_inference_steps (1..T) with the
 * configured spacing, truncated as img2img does for strength in [0, 1]:
 * init = min(int(steps * strength), steps), t_start = max(steps - init, 0),
 * timesteps = full[t_start * order:]. Resets the sampler's history. */
gboolean agf_scheduler_set_timesteps(AgfScheduler *s, int num_inference_steps,
                                     double strength, GError **error);
/* The timesteps to call the model at, in order (after truncation); NULL
 * with *n_out = 0 before set_timesteps or when strength left none. */
const int *agf_scheduler_timesteps(const AgfScheduler *s, int *n_out);
/* The untruncated list of the last set_timesteps. */
const int *agf_scheduler_full_timesteps(const AgfScheduler *s, int *n_out);

/* sqrt(alphas_cumprod[t]) * x0 + sqrt(1 - alphas_cumprod[t]) * noise: the
 * forward jump to t (use the first timestep of the list). */
AgfTensor *agf_scheduler_add_noise(const AgfScheduler *s, const AgfTensor *x0,
                                   const AgfTensor *noise, int t,
                                   GError **error);

/* One denoising step from sample at timestep t given the model's epsilon
 * prediction; returns the new sample. variance_noise (standard normal, the
 * sample's shape) is required by DDIM with eta > 0 and ignored otherwise.
 * PNDM keeps references to model_output and sample for its history, so do
 * not overwrite them in place until the next set_timesteps. */
AgfTensor *agf_scheduler_step(AgfScheduler *s, const AgfTensor *model_output,
                              int t, const AgfTensor *sample,
                              const AgfTensor *variance_noise, GError **error);
/* The coefficients of the last successful step (zeroes before any). */
const AgfStepCoeffs *agf_scheduler_last_coeffs(const AgfScheduler *s);

G_END_DECLS
