/* PNDM with skip_prk_steps, i.e. the PLMS sampler of diffusers'
 * PNDMScheduler.step_plms (SD-1.5's default scheduler), reproduced call by
 * call because the AG-FAS checkpoints were tuned with it.
 *
 * Timesteps: the spacing's list with its second-to-last entry repeated,
 * e.g. 50 leading steps -> 981, 961, 961, 941, ..., 1 (51 calls).
 * Each call with model output e at timestep t (counter = calls so far):
 *   counter 0:  ets = [e]; remember the sample; step t -> t - r with e
 *               (r = T // steps).
 *   counter 1:  e is NOT added to ets; the passed sample is discarded and
 *               the remembered one is stepped again, from t + r to t, with
 *               (e + ets[-1]) / 2 (a Heun-like restart of the first step).
 *   counter 2+: ets = ets[-3:] + [e]; step t -> t - r with the
 *               Adams-Bashforth combination of the last 2, 3 or 4 entries.
 * A step from a_t to a_prev (final_alpha_cumprod when prev < 0) is formula
 * (9) of the PNDM paper:
 *   x_prev = sqrt(a_prev / a_t) x_t - (a_prev - a_t) e_hat /
 *            (a_t sqrt(1 - a_prev) + sqrt(a_t (1 - a_t) a_prev)).
 *
 * The truncation quirk (kept on purpose, it is what upstream img2img
 * does): truncating at strength 0.8 keeps 801, 781, 761, ... The first
 * call steps 801 -> 781, the second restarts 801 -> 781 as above, and the
 * third is given timestep 761 although its sample sits at 781; upstream
 * evaluates the model at 761 and steps 761 -> 741 from that sample, so one
 * 20-step interval is skipped. In the untruncated list the repeated 961
 * makes the third call consistent; truncation drops that repetition. */
#include "pipeline/scheduler_private.h"

#include <math.h>
#include <string.h>

typedef struct {
  AgfScheduler parent;
  AgfTensor *ets[4]; /* recent model outputs, oldest first */
  int n_ets;
  int counter;
  AgfTensor *cur_sample; /* the sample of the first call, for the restart */
} AgfPndm;

static gboolean
pndm_make_timesteps(AgfScheduler *s, GArray *out, GError **error)
{
  g_autoptr(GArray) d = g_array_new(FALSE, FALSE, sizeof(int));
  if (!_agf_spaced_timesteps(s, d, error))
    return FALSE;
  /* np.concatenate([ts[:-1], ts[-2:-1], ts[-1:]])[::-1] on the ascending
   * list = the descending list with its second entry repeated. */
  g_array_set_size(out, 0);
  for (guint i = 0; i < d->len; i++) {
    g_array_append_val(out, g_array_index(d, int, i));
    if (i == 1)
      g_array_append_val(out, g_array_index(d, int, i));
  }
  return TRUE;
}

static void
pndm_reset(AgfScheduler *s)
{
  AgfPndm *p = (AgfPndm *)s;
  for (int i = 0; i < p->n_ets; i++)
    agf_tensor_unref(p->ets[i]);
  p->n_ets = 0;
  p->counter = 0;
  g_clear_pointer(&p->cur_sample, agf_tensor_unref);
}

static AgfTensor *
pndm_step(AgfScheduler *s, const AgfTensor *model_output, int t,
          const AgfTensor *sample, const AgfTensor *variance_noise,
          AgfStepCoeffs *c, GError **error)
{
  AgfPndm *p = (AgfPndm *)s;
  const int ratio = _agf_scheduler_step_ratio(s);
  AgfTensor *mo = (AgfTensor *)model_output;
  (void)variance_noise;

  /* The history this call leaves behind (committed only on success). */
  AgfTensor *ets[4];
  int n = p->n_ets;
  memcpy(ets, p->ets, sizeof ets);
  int t_cur = t, t_prev = t - ratio;
  if (p->counter != 1) {
    if (n == 4) {
      memmove(ets, ets + 1, 3 * sizeof *ets);
      n = 3;
    }
    ets[n++] = mo;
  } else {
    t_prev = t;
    t_cur = t + ratio;
    if (t_cur >= s->ns->T || !p->cur_sample) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "pndm: the second call (timestep %d) must follow a first "
                  "call one step of %d above it: call the scheduler with "
                  "the timesteps agf_scheduler_timesteps() lists", t, ratio);
      return NULL;
    }
  }

  /* Terms newest first, as AgfStepCoeffs.w documents. */
  const AgfTensor *terms[5];
  double w[4] = { 0 };
  int n_terms;
  const AgfTensor *x = sample;
  if (n == 1 && p->counter == 0) {
    terms[0] = mo;
    w[0] = 1.0;
    n_terms = 1;
  } else if (n == 1 && p->counter == 1) {
    terms[0] = mo;
    terms[1] = ets[0];
    w[0] = w[1] = 0.5;
    n_terms = 2;
    x = p->cur_sample;
  } else {
    static const double ab[5][4] = {
      { 0 }, { 0 },
      { 3.0 / 2, -1.0 / 2 },
      { 23.0 / 12, -16.0 / 12, 5.0 / 12 },
      { 55.0 / 24, -59.0 / 24, 37.0 / 24, -9.0 / 24 },
    };
    for (int i = 0; i < n; i++) {
      terms[i] = ets[n - 1 - i];
      w[i] = ab[n][i];
    }
    n_terms = n;
  }

  const double a = agf_noise_schedule_alpha_cumprod(s->ns, t_cur);
  const double ap = agf_noise_schedule_alpha_cumprod(s->ns, t_prev);
  *c = (AgfStepCoeffs){
    .t = t_cur,
    .t_prev = t_prev,
    .c_sample = sqrt(ap / a),
    .c_eps = -(ap - a) / (a * sqrt(1.0 - ap) + sqrt(a * (1.0 - a) * ap)),
  };
  memcpy(c->w, w, sizeof w);

  const AgfTensor *xs[5] = { x };
  double cw[5] = { c->c_sample };
  for (int i = 0; i < n_terms; i++) {
    xs[1 + i] = terms[i];
    cw[1 + i] = c->c_eps * w[i];
  }
  AgfTensor *out = _agf_lincomb(xs, cw, 1 + n_terms, error);
  if (!out)
    return NULL;

  /* Commit: the new history, and the remembered sample for the restart. */
  if (p->counter != 1) {
    agf_tensor_ref(mo);
    if (p->n_ets == 4)
      agf_tensor_unref(p->ets[0]);
    memcpy(p->ets, ets, sizeof ets);
    p->n_ets = n;
  }
  if (p->counter == 0)
    p->cur_sample = agf_tensor_ref((AgfTensor *)sample);
  else if (p->counter == 1)
    g_clear_pointer(&p->cur_sample, agf_tensor_unref);
  p->counter++;
  return out;
}

static const AgfSchedulerClass pndm_class = {
  .name = "pndm",
  .instance_size = sizeof(AgfPndm),
  .order = 1,
  .make_timesteps = pndm_make_timesteps,
  .step = pndm_step,
  .reset = pndm_reset,
};

AgfScheduler *
agf_pndm_new(const AgfNoiseSchedule *ns, GError **error)
{
  (void)error; /* ns was validated when it was made */
  return _agf_scheduler_alloc(&pndm_class, ns);
}
