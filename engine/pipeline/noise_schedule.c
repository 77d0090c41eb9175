#include "pipeline/noise_schedule.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define MAX_TRAIN_TIMESTEPS 100000

void
agf_schedule_config_init_sd15(AgfScheduleConfig *c)
{
  *c = (AgfScheduleConfig){
    .num_train_timesteps = 1000,
    .beta_schedule = AGF_BETA_SCALED_LINEAR,
    .beta_start = 0.00085,
    .beta_end = 0.012,
    .timestep_spacing = AGF_SPACING_LEADING,
    .steps_offset = 1,
    .set_alpha_to_one = FALSE,
  };
}

static const char *const spacing_names[] = { "leading", "trailing", "linspace" };
static const char *const beta_names[] = { "linear", "scaled_linear" };

const char *
agf_timestep_spacing_name(AgfTimestepSpacing s)
{
  return (unsigned)s < G_N_ELEMENTS(spacing_names) ? spacing_names[s] : "?";
}

const char *
agf_beta_schedule_name(AgfBetaSchedule s)
{
  return (unsigned)s < G_N_ELEMENTS(beta_names) ? beta_names[s] : "?";
}

gboolean
agf_timestep_spacing_from_string(const char *name, AgfTimestepSpacing *out,
                                 GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS(spacing_names); i++)
    if (name && strcmp(name, spacing_names[i]) == 0) {
      *out = (AgfTimestepSpacing)i;
      return TRUE;
    }
  g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
              "unknown timestep spacing \"%s\": use leading, trailing or "
              "linspace", name ? name : "(null)");
  return FALSE;
}

gboolean
agf_schedule_config_validate(const AgfScheduleConfig *c, GError **error)
{
  if (c->num_train_timesteps < 1 ||
      c->num_train_timesteps > MAX_TRAIN_TIMESTEPS) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "noise schedule: num_train_timesteps %d is outside "
                "[1, %d]", c->num_train_timesteps, MAX_TRAIN_TIMESTEPS);
    return FALSE;
  }
  if ((unsigned)c->beta_schedule >= G_N_ELEMENTS(beta_names)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "noise schedule: unknown beta schedule %d: use linear or "
                "scaled_linear", (int)c->beta_schedule);
    return FALSE;
  }
  if ((unsigned)c->timestep_spacing >= G_N_ELEMENTS(spacing_names)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "noise schedule: unknown timestep spacing %d: use leading, "
                "trailing or linspace", (int)c->timestep_spacing);
    return FALSE;
  }
  /* Every beta must stay in (0, 1): alphas positive, and alphas_cumprod
   * below 1 so that the samplers never divide by 1 - alphas_cumprod = 0. */
  if (!(c->beta_start > 0.0 && c->beta_start < 1.0 && c->beta_end > 0.0 &&
        c->beta_end < 1.0)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "noise schedule: beta_start %g and beta_end %g must both lie "
                "in (0, 1) (SD-1.5 uses 0.00085 and 0.012)", c->beta_start,
                c->beta_end);
    return FALSE;
  }
  if (c->steps_offset < 0 || c->steps_offset >= c->num_train_timesteps) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "noise schedule: steps_offset %d is outside [0, %d)",
                c->steps_offset, c->num_train_timesteps);
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_int(const char *key, const char *v, int *out, GError **error)
{
  char *end = NULL;
  errno = 0;
  gint64 x = g_ascii_strtoll(v, &end, 10);
  if (errno || end == v || *end || x < G_MININT || x > G_MAXINT) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "metadata %s = \"%s\" is not an integer", key, v);
    return FALSE;
  }
  *out = (int)x;
  return TRUE;
}

static gboolean
parse_double(const char *key, const char *v, double *out, GError **error)
{
  char *end = NULL;
  errno = 0;
  double x = g_ascii_strtod(v, &end);
  if (errno || end == v || *end || !isfinite(x)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "metadata %s = \"%s\" is not a finite number", key, v);
    return FALSE;
  }
  *out = x;
  return TRUE;
}

static gboolean
parse_key(AgfScheduleConfig *c, const char *key, const char *v,
          GError **error)
{
  const char *k = key + strlen(AGF_SCHEDULE_META_PREFIX);
  if (strcmp(k, "num_train_timesteps") == 0)
    return parse_int(key, v, &c->num_train_timesteps, error);
  if (strcmp(k, "beta_start") == 0)
    return parse_double(key, v, &c->beta_start, error);
  if (strcmp(k, "beta_end") == 0)
    return parse_double(key, v, &c->beta_end, error);
  if (strcmp(k, "steps_offset") == 0)
    return parse_int(key, v, &c->steps_offset, error);
  if (strcmp(k, "timestep_spacing") == 0)
    return agf_timestep_spacing_from_string(v, &c->timestep_spacing, error);
  if (strcmp(k, "beta_schedule") == 0) {
    for (guint i = 0; i < G_N_ELEMENTS(beta_names); i++)
      if (strcmp(v, beta_names[i]) == 0) {
        c->beta_schedule = (AgfBetaSchedule)i;
        return TRUE;
      }
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "metadata %s = \"%s\": use linear or scaled_linear", key, v);
    return FALSE;
  }
  if (strcmp(k, "set_alpha_to_one") == 0) {
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
      c->set_alpha_to_one = v[0] == 't';
      return TRUE;
    }
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "metadata %s = \"%s\": use true or false", key, v);
    return FALSE;
  }
  if (strcmp(k, "prediction_type") == 0) {
    if (strcmp(v, "epsilon") == 0)
      return TRUE;
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                "metadata %s = \"%s\": only epsilon-prediction U-Nets are "
                "supported", key, v);
    return FALSE;
  }
  g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
              "unknown metadata key %s: the schedule keys are "
              "num_train_timesteps, beta_schedule, beta_start, beta_end, "
              "timestep_spacing, steps_offset, set_alpha_to_one, "
              "prediction_type", key);
  return FALSE;
}

gboolean
agf_schedule_config_from_metadata(AgfScheduleConfig *c, GHashTable *meta,
                                  GError **error)
{
  agf_schedule_config_init_sd15(c);
  if (meta) {
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, meta);
    while (g_hash_table_iter_next(&it, &k, &v))
      if (g_str_has_prefix(k, AGF_SCHEDULE_META_PREFIX) &&
          !parse_key(c, k, v ? v : "", error))
        return FALSE;
  }
  return agf_schedule_config_validate(c, error);
}

GHashTable *
agf_schedule_config_to_metadata(const AgfScheduleConfig *c)
{
  GHashTable *m = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                        g_free);
  char num[G_ASCII_DTOSTR_BUF_SIZE];
#define PUT(key, val) \
  g_hash_table_insert(m, g_strdup(AGF_SCHEDULE_META_PREFIX key), (val))
  PUT("num_train_timesteps", g_strdup_printf("%d", c->num_train_timesteps));
  PUT("beta_schedule", g_strdup(agf_beta_schedule_name(c->beta_schedule)));
  PUT("beta_start", g_strdup(g_ascii_dtostr(num, sizeof num, c->beta_start)));
  PUT("beta_end", g_strdup(g_ascii_dtostr(num, sizeof num, c->beta_end)));
  PUT("timestep_spacing",
      g_strdup(agf_timestep_spacing_name(c->timestep_spacing)));
  PUT("steps_offset", g_strdup_printf("%d", c->steps_offset));
  PUT("set_alpha_to_one", g_strdup(c->set_alpha_to_one ? "true" : "false"));
  PUT("prediction_type", g_strdup("epsilon"));
#undef PUT
  return m;
}

/* torch.linspace(start, end, n, dtype=float32) bit for bit as PyTorch's
 * x86-64 CPU kernel computes it (the AVX2 build, compiled with FMA
 * contraction; checked against torch 1.13): float step; blocks of 2 x 8
 * lanes whose base is counted up from start below n / 2 and down from end
 * above it, lane j = base + j * step fused; the last n % 16 values one by
 * one with the base formula. The betas feed a cumprod and then
 * differences like sqrt(1 - a_prev) - ..., so one ulp here would show as
 * ~1e-6 in the sampler coefficients. */
static float
linspace_base(float start, float end, float step, int n, int i)
{
  return i < n / 2 ? fmaf(step, (float)i, start)
                   : fmaf(-step, (float)(n - i - 1), end);
}

static void
linspace_f32(double start_d, double end_d, int n, float *out)
{
  enum { LANES = 8 };
  const float start = (float)start_d, end = (float)end_d;
  if (n == 1) {
    out[0] = start;
    return;
  }
  const float step = (end - start) / (float)(n - 1);
  int i = 0;
  for (; i + 2 * LANES <= n; i += 2 * LANES)
    for (int v = i; v < i + 2 * LANES; v += LANES) {
      const float base = linspace_base(start, end, step, n, v);
      for (int j = 0; j < LANES; j++)
        out[v + j] = fmaf((float)j, step, base);
    }
  for (; i < n; i++)
    out[i] = linspace_base(start, end, step, n, i);
}

AgfNoiseSchedule *
agf_noise_schedule_new(const AgfScheduleConfig *c, GError **error)
{
  if (!agf_schedule_config_validate(c, error))
    return NULL;
  const int T = c->num_train_timesteps;
  AgfNoiseSchedule *s = g_new0(AgfNoiseSchedule, 1);
  s->config = *c;
  s->T = T;
  s->betas = g_new(float, T);
  s->alphas_cumprod = g_new(float, T);
  if (c->beta_schedule == AGF_BETA_SCALED_LINEAR) {
    /* Python's beta ** 0.5 in double, rounded to float by linspace. */
    linspace_f32(sqrt(c->beta_start), sqrt(c->beta_end), T, s->betas);
    for (int i = 0; i < T; i++)
      s->betas[i] = s->betas[i] * s->betas[i];
  } else {
    linspace_f32(c->beta_start, c->beta_end, T, s->betas);
  }
  /* torch.cumprod on the CPU accumulates float in double, rounding each
   * output to float. */
  double acc = 1.0;
  for (int i = 0; i < T; i++) {
    acc *= (double)(1.0f - s->betas[i]);
    s->alphas_cumprod[i] = (float)acc;
  }
  s->final_alpha_cumprod = c->set_alpha_to_one ? 1.0f : s->alphas_cumprod[0];
  return s;
}

AgfNoiseSchedule *
agf_noise_schedule_copy(const AgfNoiseSchedule *s)
{
  AgfNoiseSchedule *d = g_memdup2(s, sizeof *s);
  d->betas = g_memdup2(s->betas, sizeof(float) * (size_t)s->T);
  d->alphas_cumprod = g_memdup2(s->alphas_cumprod, sizeof(float) * (size_t)s->T);
  return d;
}

void
agf_noise_schedule_free(AgfNoiseSchedule *s)
{
  if (!s)
    return;
  g_free(s->betas);
  g_free(s->alphas_cumprod);
  g_free(s);
}

double
agf_noise_schedule_alpha_cumprod(const AgfNoiseSchedule *s, int t)
{
  g_return_val_if_fail(t < s->T, 0.0);
  return t < 0 ? (double)s->final_alpha_cumprod : (double)s->alphas_cumprod[t];
}
