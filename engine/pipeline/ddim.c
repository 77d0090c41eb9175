/* DDIM (Song et al. 2021) as diffusers' DDIMScheduler.step computes it for
 * epsilon prediction, clip_sample off:
 *   x0_hat = (x_t - sqrt(1 - a_t) eps) / sqrt(a_t)
 *   x_prev = sqrt(a_prev) x0_hat + sqrt(1 - a_prev - std^2) eps + std z
 *   std    = eta * sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev))
 * with prev = t - T // steps whatever the spacing, and a_prev =
 * final_alpha_cumprod when prev < 0. Folded here into one combination
 * c_sample x_t + c_eps eps + c_noise z whose coefficients are computed in
 * double, so it needs no temporaries beyond the terms. */
#include "pipeline/scheduler_private.h"

#include <math.h>

typedef struct {
  AgfScheduler parent;
  double eta;
} AgfDdim;

static gboolean
ddim_make_timesteps(AgfScheduler *s, GArray *out, GError **error)
{
  return _agf_spaced_timesteps(s, out, error);
}

static void
ddim_coeffs(const AgfScheduler *s, double eta, int t, AgfStepCoeffs *c)
{
  const int prev = t - _agf_scheduler_step_ratio(s);
  const double a = agf_noise_schedule_alpha_cumprod(s->ns, t);
  const double ap = agf_noise_schedule_alpha_cumprod(s->ns, prev);
  const double variance = (1.0 - ap) / (1.0 - a) * (1.0 - a / ap);
  const double std = eta * sqrt(variance);
  *c = (AgfStepCoeffs){
    .t = t,
    .t_prev = prev,
    .c_sample = sqrt(ap) / sqrt(a),
    /* 1 - ap - std^2 >= 0 for eta <= 1; clamp the rounding below 0. */
    .c_eps = sqrt(MAX(1.0 - ap - std * std, 0.0)) -
             sqrt(ap) * sqrt(1.0 - a) / sqrt(a),
    .c_noise = std,
    .w = { 1.0, 0.0, 0.0, 0.0 },
  };
}

static AgfTensor *
ddim_step(AgfScheduler *s, const AgfTensor *model_output, int t,
          const AgfTensor *sample, const AgfTensor *variance_noise,
          AgfStepCoeffs *c, GError **error)
{
  const AgfDdim *d = (const AgfDdim *)s;
  ddim_coeffs(s, d->eta, t, c);
  if (d->eta > 0.0) {
    if (!variance_noise) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "ddim with eta %g needs the variance noise of every step "
                  "(a standard-normal tensor shaped like the sample)", d->eta);
      return NULL;
    }
    if (!agf_tensor_same_shape(variance_noise, sample) ||
        variance_noise->dev != sample->dev ||
        variance_noise->dtype != sample->dtype) {
      char a[64], b[64];
      g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                  "ddim: variance noise %s (%s) must match the sample %s (%s) "
                  "in shape, dtype and device",
                  agf_shape_str(variance_noise, a, sizeof a),
                  agf_dtype_name(variance_noise->dtype),
                  agf_shape_str(sample, b, sizeof b),
                  agf_dtype_name(sample->dtype));
      return NULL;
    }
  }
  const AgfTensor *x[3] = { sample, model_output, variance_noise };
  const double w[3] = { c->c_sample, c->c_eps, c->c_noise };
  return _agf_lincomb(x, w, d->eta > 0.0 ? 3 : 2, error);
}

static void
ddim_reset(AgfScheduler *s)
{
  (void)s; /* DDIM steps are stateless */
}

static const AgfSchedulerClass ddim_class = {
  .name = "ddim",
  .instance_size = sizeof(AgfDdim),
  .order = 1,
  .make_timesteps = ddim_make_timesteps,
  .step = ddim_step,
  .reset = ddim_reset,
};

AgfScheduler *
agf_ddim_new(const AgfNoiseSchedule *ns, double eta, GError **error)
{
  if (!(eta >= 0.0 && eta <= 1.0)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "ddim eta %g is outside [0, 1] (0 is deterministic DDIM, 1 "
                "is DDPM-like)", eta);
    return NULL;
  }
  AgfScheduler *s = _agf_scheduler_alloc(&ddim_class, ns);
  ((AgfDdim *)s)->eta = eta;
  return s;
}
