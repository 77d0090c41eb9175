/* What DDIM and PNDM share: timestep spacing, img2img truncation, the
 * forward jump, argument checks and linear combinations on the device. */
#include "pipeline/scheduler_private.h"

#include <math.h>
#include <string.h>
#include "nn/ops.h"

AgfScheduler *
_agf_scheduler_alloc(const AgfSchedulerClass *klass, const AgfNoiseSchedule *ns)
{
  AgfScheduler *s = g_malloc0(klass->instance_size);
  s->klass = klass;
  s->ns = agf_noise_schedule_copy(ns);
  s->full = g_array_new(FALSE, FALSE, sizeof(int));
  return s;
}

AgfScheduler *
agf_scheduler_new(const char *name, const AgfNoiseSchedule *ns, double eta,
                  GError **error)
{
  if (name && strcmp(name, "ddim") == 0)
    return agf_ddim_new(ns, eta, error);
  if (name && strcmp(name, "pndm") == 0) {
    if (eta != 0.0) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "eta %g: the pndm sampler is deterministic, use eta 0 or "
                  "the ddim sampler", eta);
      return NULL;
    }
    return agf_pndm_new(ns, error);
  }
  g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
              "unknown sampler \"%s\": use ddim or pndm",
              name ? name : "(null)");
  return NULL;
}

void
agf_scheduler_free(AgfScheduler *s)
{
  if (!s)
    return;
  s->klass->reset(s);
  g_array_unref(s->full);
  agf_noise_schedule_free(s->ns);
  g_free(s);
}

const char *
agf_scheduler_name(const AgfScheduler *s)
{
  return s->klass->name;
}

const AgfNoiseSchedule *
agf_scheduler_noise_schedule(const AgfScheduler *s)
{
  return s->ns;
}

int
_agf_scheduler_step_ratio(const AgfScheduler *s)
{
  return s->ns->T / s->num_inference_steps;
}

/* The numpy expressions of diffusers' set_timesteps, reproduced operation
 * by operation (np.round is round-half-even = rint). */
gboolean
_agf_spaced_timesteps(const AgfScheduler *s, GArray *out, GError **error)
{
  const AgfScheduleConfig *c = &s->ns->config;
  const int T = s->ns->T, n = s->num_inference_steps;
  g_array_set_size(out, 0);
  switch (c->timestep_spacing) {
  case AGF_SPACING_LEADING: {
    /* (np.arange(0, n) * (T // n)).round()[::-1] + steps_offset */
    const int ratio = T / n;
    for (int i = n - 1; i >= 0; i--) {
      int t = i * ratio + c->steps_offset;
      g_array_append_val(out, t);
    }
    break;
  }
  case AGF_SPACING_TRAILING: {
    /* np.round(np.arange(T, 0, -T / n)) - 1; numpy's arange has
     * ceil(-T / -step) entries, start + i * ((start + step) - start). */
    const double step = -((double)T / n), start = T;
    const double delta = (start + step) - start;
    const long len = (long)ceil((0.0 - start) / step);
    for (long i = 0; i < len; i++) {
      double v = i == 0 ? start : i == 1 ? start + step : start + (double)i * delta;
      int t = (int)rint(v) - 1;
      g_array_append_val(out, t);
    }
    break;
  }
  case AGF_SPACING_LINSPACE: {
    /* np.linspace(0, T - 1, n).round()[::-1]: i * step, the last exact */
    const double step = n > 1 ? (double)(T - 1) / (n - 1) : 0.0;
    for (int i = n - 1; i >= 0; i--) {
      double v = (n > 1 && i == n - 1) ? (double)(T - 1) : (double)i * step;
      int t = (int)rint(v);
      g_array_append_val(out, t);
    }
    break;
  }
  default:
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "unknown timestep spacing %d: use leading, trailing or "
                "linspace", (int)c->timestep_spacing);
    return FALSE;
  }
  for (guint i = 0; i < out->len; i++) {
    int t = g_array_index(out, int, i);
    if (t < 0 || t >= T) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "%s spacing with %d steps and steps_offset %d gives "
                  "timestep %d, outside [0, %d): use fewer steps or another "
                  "spacing", agf_timestep_spacing_name(c->timestep_spacing),
                  n, c->steps_offset, t, T);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
agf_scheduler_set_timesteps(AgfScheduler *s, int num_inference_steps,
                            double strength, GError **error)
{
  const int T = s->ns->T;
  if (num_inference_steps < 1 || num_inference_steps > T) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%d inference steps: use between 1 and the schedule's %d "
                "training timesteps", num_inference_steps, T);
    return FALSE;
  }
  if (!(strength >= 0.0 && strength <= 1.0)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "strength %g is outside [0, 1] (1 starts from pure noise, "
                "0.8 is the AG-FAS setting)", strength);
    return FALSE;
  }
  s->klass->reset(s);
  s->num_inference_steps = num_inference_steps;
  memset(&s->last, 0, sizeof s->last);
  if (!s->klass->make_timesteps(s, s->full, error)) {
    s->num_inference_steps = 0;
    g_array_set_size(s->full, 0);
    return FALSE;
  }
  /* StableDiffusionImg2ImgPipeline.get_timesteps; Python's int() of the
   * double product. */
  const int steps = num_inference_steps;
  int init = (int)(steps * strength);
  if (init > steps)
    init = steps;
  s->t_start = MAX(steps - init, 0) * s->klass->order;
  if (s->t_start > (int)s->full->len)
    s->t_start = (int)s->full->len;
  return TRUE;
}

const int *
agf_scheduler_timesteps(const AgfScheduler *s, int *n_out)
{
  int n = s->num_inference_steps ? (int)s->full->len - s->t_start : 0;
  *n_out = n;
  return n > 0 ? &g_array_index(s->full, int, s->t_start) : NULL;
}

const int *
agf_scheduler_full_timesteps(const AgfScheduler *s, int *n_out)
{
  *n_out = s->num_inference_steps ? (int)s->full->len : 0;
  return *n_out ? (const int *)(void *)s->full->data : NULL;
}

const AgfStepCoeffs *
agf_scheduler_last_coeffs(const AgfScheduler *s)
{
  return &s->last;
}

static gboolean
check_pair(const char *what, const AgfTensor *a, const char *what_b,
           const AgfTensor *b, GError **error)
{
  char sa[64], sb[64];
  if (!a || !b) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "scheduler: %s tensor is missing", !a ? what : what_b);
    return FALSE;
  }
  if ((a->dtype != AGF_F32 && a->dtype != AGF_F16) || a->dtype != b->dtype) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
                "scheduler: %s (%s) and %s (%s) must be float tensors of one "
                "dtype", what, agf_dtype_name(a->dtype), what_b,
                agf_dtype_name(b->dtype));
    return FALSE;
  }
  if (!agf_tensor_same_shape(a, b)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "scheduler: %s %s and %s %s must have the same shape", what,
                agf_shape_str(a, sa, sizeof sa), what_b,
                agf_shape_str(b, sb, sizeof sb));
    return FALSE;
  }
  if (a->dev != b->dev) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "scheduler: %s and %s are on different devices", what, what_b);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_t(const AgfScheduler *s, int t, GError **error)
{
  if (t < 0 || t >= s->ns->T) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "timestep %d is outside the schedule's [0, %d)", t, s->ns->T);
    return FALSE;
  }
  return TRUE;
}

gboolean
_agf_scheduler_check_step(const AgfScheduler *s, const AgfTensor *model_output,
                          int t, const AgfTensor *sample, GError **error)
{
  if (!s->num_inference_steps) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s: call agf_scheduler_set_timesteps before stepping",
                s->klass->name);
    return FALSE;
  }
  return check_t(s, t, error) &&
         check_pair("model output", model_output, "sample", sample, error);
}

AgfTensor *
agf_scheduler_step(AgfScheduler *s, const AgfTensor *model_output, int t,
                   const AgfTensor *sample, const AgfTensor *variance_noise,
                   GError **error)
{
  if (!_agf_scheduler_check_step(s, model_output, t, sample, error))
    return NULL;
  AgfStepCoeffs c = { 0 };
  AgfTensor *out = s->klass->step(s, model_output, t, sample, variance_noise,
                                  &c, error);
  if (out)
    s->last = c;
  return out;
}

AgfTensor *
agf_scheduler_add_noise(const AgfScheduler *s, const AgfTensor *x0,
                        const AgfTensor *noise, int t, GError **error)
{
  if (!check_t(s, t, error) ||
      !check_pair("clean sample", x0, "noise", noise, error))
    return NULL;
  const double ac = s->ns->alphas_cumprod[t];
  const AgfTensor *x[2] = { x0, noise };
  const double w[2] = { sqrt(ac), sqrt(1.0 - ac) };
  return _agf_lincomb(x, w, 2, error);
}

AgfTensor *
_agf_lincomb(const AgfTensor *const *x, const double *w, int n, GError **error)
{
  AgfTensor *acc = NULL;
  for (int i = 0; i < n; i++) {
    if (w[i] == 0.0)
      continue;
    AgfTensor *term = agf_scale(x[i], (float)w[i], 0.0f, error);
    if (!term) {
      g_clear_pointer(&acc, agf_tensor_unref);
      return NULL;
    }
    if (!acc) {
      acc = term;
      continue;
    }
    AgfTensor *sum = agf_add(acc, term, error);
    agf_tensor_unref(acc);
    agf_tensor_unref(term);
    if (!sum)
      return NULL;
    acc = sum;
  }
  if (!acc)
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "scheduler: every coefficient of a step is zero");
  return acc;
}
