/* `forward ddim_step` / `forward pndm_step`: K consecutive sampler calls of
 * a schedule, starting at call `first`, on model outputs given as data
 * (no network runs), so a researcher can compare one step or a whole
 * trajectory with diffusers' scheduler.step. */
#include <math.h>
#include <string.h>
#include "train_forward.h"
#include "pipeline/scheduler.h"

const char agf_forward_step_help[] =
  "Scheduler steps (ddim_step, pndm_step) take their spec from the inputs "
  "file's\n"
  "metadata:\n"
  "  agfas.step.num_inference_steps  N (required): the schedule's steps\n"
  "  agfas.step.strength             img2img strength in [0, 1] (default 1):"
  " the\n"
  "                                  list is truncated as diffusers' img2img "
  "does\n"
  "  agfas.step.first                index of the first call to run in that "
  "list\n"
  "                                  (default 0)\n"
  "  agfas.step.eta                  DDIM eta (default 0; 0 for PNDM)\n"
  "  agfas.schedule.*                the noise schedule "
  "(pipeline/noise_schedule.h;\n"
  "                                  taken from --weights when given, e.g. a "
  "U-Net;\n"
  "                                  SD-1.5's values for absent keys)\n"
  "Call first+i gets eps[i] (and variance_noise[i]) with the sample the "
  "previous\n"
  "call returned; samples[0] is the input sample. PNDM keeps a history: for\n"
  "first > 0 give the model outputs and samples of the earlier calls "
  "(eps_history,\n"
  "sample_history), which are replayed. coeffs columns: t, t_prev, "
  "c_sample, c_eps,\n"
  "c_noise, w0..w3 (pipeline/scheduler.h AgfStepCoeffs).\n";

/* Metadata number: def when absent; an error when unparsable. */
static gboolean meta_num(GHashTable *m, const char *key, double def,
                         gboolean required, double *out, GError **error)
{
  const char *v = g_hash_table_lookup(m, key);
  if (!v) {
    if (required) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "the inputs file has no metadata %s: scheduler steps need "
                  "it (see agfas-train forward --help)", key);
      return FALSE;
    }
    *out = def;
    return TRUE;
  }
  char *end;
  *out = g_ascii_strtod(v, &end);
  if (end == v || *end || !isfinite(*out)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "metadata %s = \"%s\" is not a number", key, v);
    return FALSE;
  }
  return TRUE;
}

static gboolean meta_int(GHashTable *m, const char *key, int def,
                         gboolean required, int lo, int *out, GError **error)
{
  double d;
  if (!meta_num(m, key, def, required, &d, error))
    return FALSE;
  if (d != floor(d) || d < lo || d > G_MAXINT) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "metadata %s = %g is not an integer >= %d", key, d, lo);
    return FALSE;
  }
  *out = (int)d;
  return TRUE;
}

typedef struct {
  int ndim;                      /* of one sample */
  int64_t shape[AGF_MAX_DIMS];
  int64_t numel;
} SampleShape;

/* A stack of k samples: "[k, ...S]", or S itself when k == 1 and allowed. */
static gboolean stack_of(const AgfStTensor *t, const SampleShape *s,
                         int *k_out, GError **error)
{
  if (t->ndim == s->ndim &&
      !memcmp(t->shape, s->shape, sizeof(int64_t) * s->ndim)) {
    *k_out = 1;
    return TRUE;
  }
  if (t->ndim == s->ndim + 1 &&
      !memcmp(t->shape + 1, s->shape, sizeof(int64_t) * s->ndim)) {
    *k_out = (int)t->shape[0];
    return TRUE;
  }
  g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
              "input %s must be the sample's shape or [K, ...] of it",
              t->name);
  return FALSE;
}

static AgfTensor *slice(AgfForward *f, const SampleShape *s, const float *all,
                        int i, GError **error)
{
  return agf_tensor_from_f32(f->dev, f->dt, s->ndim, s->shape,
                             all + (size_t)i * s->numel, error);
}

/* Optional stack name: its values and count, or NULL (no error) when absent. */
static float *read_stack(AgfForward *f, const char *name, gboolean required,
                         const SampleShape *s, int *k, GError **error)
{
  GError *e = NULL;
  const AgfStTensor *t = agf_forward_find(f, name, required, &e);
  if (!t) {
    if (e)
      g_propagate_error(error, e);
    *k = 0;
    return NULL;
  }
  if (!stack_of(t, s, k, error))
    return NULL;
  return agf_forward_input_f32(f, name, NULL, error);
}

static gboolean run_step(AgfForward *f, const char *kind, GError **error)
{
  GHashTable *m = agf_safetensors_metadata(f->inputs);
  int steps, first;
  double strength, eta;
  if (!meta_int(m, "agfas.step.num_inference_steps", 0, TRUE, 1, &steps,
                error) ||
      !meta_num(m, "agfas.step.strength", 1.0, FALSE, &strength, error) ||
      !meta_int(m, "agfas.step.first", 0, FALSE, 0, &first, error) ||
      !meta_num(m, "agfas.step.eta", 0.0, FALSE, &eta, error))
    return FALSE;
  GHashTable *sched_meta = f->weights
    ? agf_safetensors_metadata(agf_weights_file(f->weights)) : m;
  AgfScheduleConfig cfg;
  if (!agf_schedule_config_from_metadata(&cfg, sched_meta, error))
    return FALSE;
  g_autoptr(AgfNoiseSchedule) ns = agf_noise_schedule_new(&cfg, error);
  g_autoptr(AgfScheduler) s = ns ? agf_scheduler_new(kind, ns, eta, error)
                                 : NULL;
  if (!s || !agf_scheduler_set_timesteps(s, steps, strength, error))
    return FALSE;
  int n_ts;
  const int *ts = agf_scheduler_timesteps(s, &n_ts);

  const AgfStTensor *si;
  g_autofree float *x0 = agf_forward_input_f32(f, "sample", &si, error);
  if (!x0)
    return FALSE;
  SampleShape S = { .ndim = si->ndim, .numel = si->numel };
  memcpy(S.shape, si->shape, sizeof(int64_t) * si->ndim);
  int k, k_noise = 0, k_hist = 0, k_hs = 0;
  g_autofree float *eps = read_stack(f, "eps", TRUE, &S, &k, error);
  if (!eps)
    return FALSE;
  g_autofree float *vn = NULL, *eh = NULL, *sh = NULL;
  if (eta > 0.0 && !(vn = read_stack(f, "variance_noise", TRUE, &S, &k_noise,
                                     error)))
    return FALSE;
  if (vn && k_noise != k) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE, "variance_noise holds %d "
                "samples, eps %d: give one per call", k_noise, k);
    return FALSE;
  }
  if (first + k > n_ts) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "calls %d..%d asked for, but %s with %d steps at strength %g "
                "makes %d calls", first, first + k - 1, kind, steps, strength,
                n_ts);
    return FALSE;
  }
  /* PNDM: replay the earlier calls so the history is upstream's. */
  if (!strcmp(kind, "pndm") && first > 0) {
    if (!(eh = read_stack(f, "eps_history", TRUE, &S, &k_hist, error)) ||
        !(sh = read_stack(f, "sample_history", TRUE, &S, &k_hs, error)))
      return FALSE;
    if (k_hist != first || k_hs != first) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                  "eps_history and sample_history must hold the %d calls "
                  "before agfas.step.first (they hold %d and %d)", first,
                  k_hist, k_hs);
      return FALSE;
    }
    for (int j = 0; j < first; j++) {
      g_autoptr(AgfTensor) ej = slice(f, &S, eh, j, error);
      g_autoptr(AgfTensor) xj = ej ? slice(f, &S, sh, j, error) : NULL;
      g_autoptr(AgfTensor) o = xj ? agf_scheduler_step(s, ej, ts[j], xj, NULL,
                                                       error)
                                  : NULL;
      if (!o)
        return FALSE;
    }
  }

  g_autofree float *samples = g_new(float, (size_t)(k + 1) * S.numel);
  g_autofree int64_t *tout = g_new(int64_t, k);
  g_autofree double *coeffs = g_new(double, (size_t)k * 9);
  memcpy(samples, x0, sizeof(float) * S.numel);
  g_autoptr(AgfTensor) x = slice(f, &S, x0, 0, error);
  if (!x)
    return FALSE;
  for (int i = 0; i < k; i++) {
    g_autoptr(AgfTensor) ei = slice(f, &S, eps, i, error);
    g_autoptr(AgfTensor) ni = ei && vn ? slice(f, &S, vn, i, error) : NULL;
    if (!ei || (vn && !ni))
      return FALSE;
    AgfTensor *next = agf_scheduler_step(s, ei, ts[first + i], x, ni, error);
    if (!next || !agf_tensor_to_f32(next, samples + (size_t)(i + 1) * S.numel,
                                    error)) {
      g_clear_pointer(&next, agf_tensor_unref);
      return FALSE;
    }
    const AgfStepCoeffs *c = agf_scheduler_last_coeffs(s);
    tout[i] = ts[first + i];
    double row[9] = { c->t, c->t_prev, c->c_sample, c->c_eps, c->c_noise,
                      c->w[0], c->w[1], c->w[2], c->w[3] };
    memcpy(coeffs + 9 * i, row, sizeof row);
    agf_tensor_unref(x);
    x = next;
  }
  int64_t sshape[AGF_MAX_DIMS + 1] = { k + 1 };
  memcpy(sshape + 1, S.shape, sizeof(int64_t) * S.ndim);
  return agf_forward_output(f, "prev_sample", x, error) &&
         agf_forward_output_host(f, "samples", AGF_ST_F32, S.ndim + 1, sshape,
                                 samples, error) &&
         agf_forward_output_host(f, "timesteps", AGF_ST_I64, 1,
                                 (int64_t[]){ k }, tout, error) &&
         agf_forward_output_host(f, "coeffs", AGF_ST_F64, 2,
                                 (int64_t[]){ k, 9 }, coeffs, error);
}

gboolean agf_forward_ddim_step(AgfForward *f, GError **error)
{
  return run_step(f, "ddim", error);
}

gboolean agf_forward_pndm_step(AgfForward *f, GError **error)
{
  return run_step(f, "pndm", error);
}
