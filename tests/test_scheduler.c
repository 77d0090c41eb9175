/* Noise schedule and samplers against diffusers (v0.27.2 re-implemented in
 * tests/reference/schedulers.py, which wrote golden/schedulers.safetensors):
 * timesteps exactly, per-step coefficients to 1e-6 relative, whole
 * denoising trajectories with a fake model to 1e-5 on every backend. */
#include <math.h>
#include <string.h>
#include "io/safetensors.h"
#include "pipeline/noise_schedule.h"
#include "pipeline/scheduler.h"
#include "test_support.h"

static AgfSafetensors *golden;

static const AgfStTensor *
gold(const char *name, AgfStDType dt)
{
  g_autoptr(GError) err = NULL;
  const AgfStTensor *t = agf_safetensors_expect(golden, name, dt, 0, NULL,
                                                &err);
  g_assert_no_error(err);
  return t;
}

/* The golden int64 list as ints (g_free). */
static int *
gold_ints(const char *name, int *n)
{
  const AgfStTensor *t = gold(name, AGF_ST_I64);
  int *v = g_new(int, t->numel + 1);
  for (int64_t i = 0; i < t->numel; i++) {
    int64_t x;
    memcpy(&x, (const char *)t->data + 8 * i, 8);
    v[i] = (int)x;
  }
  *n = (int)t->numel;
  return v;
}

static double *
gold_f64(const char *name, int64_t *n)
{
  const AgfStTensor *t = gold(name, AGF_ST_F64);
  double *v = g_new(double, t->numel);
  memcpy(v, t->data, 8 * t->numel);
  *n = t->numel;
  return v;
}

static float *
gold_f32(const char *name, int64_t *n)
{
  const AgfStTensor *t = gold(name, AGF_ST_F32);
  float *v = g_new(float, t->numel);
  memcpy(v, t->data, 4 * t->numel);
  *n = t->numel;
  return v;
}

static AgfNoiseSchedule *
sd15(void)
{
  AgfScheduleConfig c;
  agf_schedule_config_init_sd15(&c);
  g_autoptr(GError) err = NULL;
  AgfNoiseSchedule *ns = agf_noise_schedule_new(&c, &err);
  g_assert_no_error(err);
  return ns;
}

static AgfScheduler *
sampler(const char *kind, const AgfNoiseSchedule *ns, double eta)
{
  g_autoptr(GError) err = NULL;
  AgfScheduler *s = agf_scheduler_new(kind, ns, eta, &err);
  g_assert_no_error(err);
  return s;
}

static void
assert_ints(const int *got, int n_got, const int *want, int n_want,
            const char *what)
{
  if (n_got != n_want)
    g_error("%s: %d timesteps, want %d", what, n_got, n_want);
  for (int i = 0; i < n_want; i++)
    if (got[i] != want[i])
      g_error("%s: timestep[%d] = %d, want %d", what, i, got[i], want[i]);
}

static void
assert_rel(double got, double want, double tol, const char *what, int i)
{
  double err = fabs(got - want) / MAX(fabs(want), 1e-12);
  if (!(err <= tol || fabs(got - want) <= 1e-12))
    g_error("%s[%d] = %.10g, want %.10g (rel err %.3g > %.1g)", what, i, got,
            want, err, tol);
}

static void
test_schedule_sd15(void)
{
  g_autoptr(AgfNoiseSchedule) ns = sd15();
  int64_t n;
  g_autofree float *betas = gold_f32("sd15.betas", &n);
  g_autofree float *ac = gold_f32("sd15.alphas_cumprod", &n);
  g_assert_cmpint(n, ==, ns->T);
  g_assert_cmpint(ns->T, ==, 1000);
  int exact = 0;
  for (int i = 0; i < ns->T; i++) {
    assert_rel(ns->betas[i], betas[i], 1e-6, "betas", i);
    assert_rel(ns->alphas_cumprod[i], ac[i], 1e-6, "alphas_cumprod", i);
    exact += ns->alphas_cumprod[i] == ac[i];
  }
  /* All of them on the x86-64 (AVX2) build of torch that made the golden. */
  g_test_message("alphas_cumprod bit-identical to torch: %d of %d", exact,
                 ns->T);
  g_assert_cmpfloat(ns->final_alpha_cumprod, ==, ns->alphas_cumprod[0]);

  AgfScheduleConfig c;
  agf_schedule_config_init_sd15(&c);
  c.beta_schedule = AGF_BETA_LINEAR;
  c.beta_start = 0.0001;
  c.beta_end = 0.02;
  c.set_alpha_to_one = TRUE;
  g_autoptr(GError) err = NULL;
  g_autoptr(AgfNoiseSchedule) lin = agf_noise_schedule_new(&c, &err);
  g_assert_no_error(err);
  g_autofree float *lac = gold_f32("linear.alphas_cumprod", &n);
  for (int i = 0; i < lin->T; i++)
    assert_rel(lin->alphas_cumprod[i], lac[i], 1e-6, "linear alphas_cumprod",
               i);
  g_assert_cmpfloat(agf_noise_schedule_alpha_cumprod(lin, -1), ==, 1.0);
}

static void
expect_meta_error(GHashTable *m, const char *key, const char *value)
{
  AgfScheduleConfig c;
  g_autoptr(GError) err = NULL;
  g_autofree char *old = g_strdup(g_hash_table_lookup(m, key));
  g_hash_table_insert(m, g_strdup(key), g_strdup(value));
  g_assert_false(agf_schedule_config_from_metadata(&c, m, &err));
  g_assert_nonnull(err);
  g_test_message("expected error: %s", err->message);
  if (old)
    g_hash_table_insert(m, g_strdup(key), g_steal_pointer(&old));
  else
    g_hash_table_remove(m, key);
}

static void
assert_config_eq(const AgfScheduleConfig *a, const AgfScheduleConfig *b)
{
  g_assert_cmpint(a->num_train_timesteps, ==, b->num_train_timesteps);
  g_assert_cmpint(a->beta_schedule, ==, b->beta_schedule);
  g_assert_cmpfloat(a->beta_start, ==, b->beta_start);
  g_assert_cmpfloat(a->beta_end, ==, b->beta_end);
  g_assert_cmpint(a->timestep_spacing, ==, b->timestep_spacing);
  g_assert_cmpint(a->steps_offset, ==, b->steps_offset);
  g_assert_cmpint(a->set_alpha_to_one, ==, b->set_alpha_to_one);
}

static void
test_schedule_metadata(void)
{
  AgfScheduleConfig c, d;
  g_autoptr(GError) err = NULL;
  /* No metadata: SD-1.5. */
  g_assert_true(agf_schedule_config_from_metadata(&c, NULL, &err));
  agf_schedule_config_init_sd15(&d);
  assert_config_eq(&c, &d);

  /* Round trip of a non-default config. */
  d.num_train_timesteps = 500;
  d.beta_schedule = AGF_BETA_LINEAR;
  d.beta_start = 1e-4;
  d.beta_end = 0.02;
  d.timestep_spacing = AGF_SPACING_TRAILING;
  d.steps_offset = 0;
  d.set_alpha_to_one = TRUE;
  g_autoptr(GHashTable) m = agf_schedule_config_to_metadata(&d);
  g_hash_table_insert(m, g_strdup("unrelated.key"), g_strdup("x"));
  g_assert_true(agf_schedule_config_from_metadata(&c, m, &err));
  g_assert_no_error(err);
  assert_config_eq(&c, &d);

  expect_meta_error(m, "agfas.schedule.timestep_spacing", "sideways");
  expect_meta_error(m, "agfas.schedule.beta_schedule", "cosine");
  expect_meta_error(m, "agfas.schedule.beta_start", "0.1x");
  expect_meta_error(m, "agfas.schedule.beta_end", "1.5");
  expect_meta_error(m, "agfas.schedule.num_train_timesteps", "0");
  expect_meta_error(m, "agfas.schedule.steps_offset", "-1");
  expect_meta_error(m, "agfas.schedule.set_alpha_to_one", "yes");
  expect_meta_error(m, "agfas.schedule.prediction_type", "v_prediction");
  expect_meta_error(m, "agfas.schedule.num_train_timestep", "1000");

  AgfTimestepSpacing sp;
  g_assert_false(agf_timestep_spacing_from_string("leadin", &sp, &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
}

/* The lists method.md quotes, written out independently of the golden. */
static void
test_timesteps_sd15(void)
{
  g_autoptr(AgfNoiseSchedule) ns = sd15();
  g_autoptr(AgfScheduler) ddim = sampler("ddim", ns, 0.0);
  g_autoptr(AgfScheduler) pndm = sampler("pndm", ns, 0.0);
  g_autoptr(GError) err = NULL;
  int want[64], n = 0, got_n;
  const int *got;

  for (int t = 981; t >= 1; t -= 20)
    want[n++] = t;
  g_assert_true(agf_scheduler_set_timesteps(ddim, 50, 1.0, &err));
  got = agf_scheduler_timesteps(ddim, &got_n);
  assert_ints(got, got_n, want, 50, "ddim 50");

  n = 0;
  for (int t = 981; t >= 1; t -= 20) {
    want[n++] = t;
    if (t == 961)
      want[n++] = t;
  }
  g_assert_true(agf_scheduler_set_timesteps(pndm, 50, 1.0, &err));
  got = agf_scheduler_timesteps(pndm, &got_n);
  assert_ints(got, got_n, want, 51, "pndm 50");

  /* Strength 0.8: PNDM keeps 801..1 (41 calls), DDIM 781..1 (40). */
  n = 0;
  for (int t = 801; t >= 1; t -= 20)
    want[n++] = t;
  g_assert_true(agf_scheduler_set_timesteps(pndm, 50, 0.8, &err));
  got = agf_scheduler_timesteps(pndm, &got_n);
  assert_ints(got, got_n, want, 41, "pndm 50 @0.8");
  g_assert_true(agf_scheduler_set_timesteps(ddim, 50, 0.8, &err));
  got = agf_scheduler_timesteps(ddim, &got_n);
  assert_ints(got, got_n, want + 1, 40, "ddim 50 @0.8");
  got = agf_scheduler_full_timesteps(ddim, &got_n);
  g_assert_cmpint(got_n, ==, 50);
}

static void
test_timesteps_golden(void)
{
  static const char *const spacings[] = { "leading", "trailing", "linspace" };
  static const int counts[] = { 1, 3, 7, 50, 333 };
  static const int trunc_steps[] = { 7, 50, 100 };
  static const char *const strengths[] = { "0.0", "0.29", "0.5", "0.8", "1.0" };
  g_autoptr(GError) err = NULL;
  for (int k = 0; k < 2; k++) {
    const char *kind = k ? "pndm" : "ddim";
    for (int sp = 0; sp < 3; sp++) {
      AgfScheduleConfig c;
      agf_schedule_config_init_sd15(&c);
      g_assert_true(agf_timestep_spacing_from_string(spacings[sp],
                                                     &c.timestep_spacing,
                                                     &err));
      g_autoptr(AgfNoiseSchedule) ns = agf_noise_schedule_new(&c, &err);
      g_assert_no_error(err);
      g_autoptr(AgfScheduler) s = sampler(kind, ns, 0.0);
      for (guint i = 0; i < G_N_ELEMENTS(counts); i++) {
        g_autofree char *name = g_strdup_printf("ts.%s.%s.%d", kind,
                                                spacings[sp], counts[i]);
        int n_want, n_got;
        g_autofree int *want = gold_ints(name, &n_want);
        g_assert_true(agf_scheduler_set_timesteps(s, counts[i], 1.0, &err));
        const int *got = agf_scheduler_timesteps(s, &n_got);
        assert_ints(got, n_got, want, n_want, name);
      }
    }
    g_autoptr(AgfNoiseSchedule) ns = sd15();
    g_autoptr(AgfScheduler) s = sampler(kind, ns, 0.0);
    for (guint i = 0; i < G_N_ELEMENTS(trunc_steps); i++)
      for (guint j = 0; j < G_N_ELEMENTS(strengths); j++) {
        g_autofree char *name = g_strdup_printf("trunc.%s.%d.%s", kind,
                                                trunc_steps[i], strengths[j]);
        int n_want, n_got;
        g_autofree int *want = gold_ints(name, &n_want);
        g_assert_true(agf_scheduler_set_timesteps(
            s, trunc_steps[i], g_ascii_strtod(strengths[j], NULL), &err));
        const int *got = agf_scheduler_timesteps(s, &n_got);
        assert_ints(got, n_got, want, n_want, name);
      }
  }
}

#define EXPECT_FAIL(expr)                                            \
  do {                                                               \
    g_autoptr(GError) e_ = NULL;                                     \
    GError **error = &e_;                                            \
    g_assert_false((expr) != 0);                                     \
    g_assert_nonnull(e_);                                            \
    g_assert_true(e_->domain == AGF_ERROR);                          \
    g_test_message("expected error: %s", e_->message);               \
  } while (0)

static void
test_errors(void)
{
  g_autoptr(AgfNoiseSchedule) ns = sd15();
  g_autoptr(AgfScheduler) ddim = sampler("ddim", ns, 0.5);
  g_autoptr(AgfScheduler) pndm = sampler("pndm", ns, 0.0);
  AgfDevice *cpu = agf_test_cpu();
  const int64_t shape[4] = { 1, 4, 4, 4 }, other[4] = { 1, 4, 4, 2 };
  float zeros[64] = { 0 };
  g_autoptr(AgfTensor) x = agf_test_tensor(cpu, AGF_F32, 4, shape, zeros);
  g_autoptr(AgfTensor) y = agf_test_tensor(cpu, AGF_F32, 4, other, zeros);

  EXPECT_FAIL(agf_scheduler_step(ddim, x, 981, x, x, error));   /* no set */
  EXPECT_FAIL(agf_scheduler_set_timesteps(ddim, 0, 1.0, error));
  EXPECT_FAIL(agf_scheduler_set_timesteps(ddim, 1001, 1.0, error));
  EXPECT_FAIL(agf_scheduler_set_timesteps(pndm, -3, 1.0, error));
  EXPECT_FAIL(agf_scheduler_set_timesteps(ddim, 50, -0.1, error));
  EXPECT_FAIL(agf_scheduler_set_timesteps(ddim, 50, 1.5, error));
  EXPECT_FAIL(agf_scheduler_set_timesteps(pndm, 50, NAN, error));
  /* leading + steps_offset 1 with 1000 steps reaches t = 1000 = T. */
  EXPECT_FAIL(agf_scheduler_set_timesteps(pndm, 1000, 1.0, error));
  EXPECT_FAIL(agf_scheduler_new("euler", ns, 0.0, error));
  EXPECT_FAIL(agf_scheduler_new("pndm", ns, 0.3, error));
  EXPECT_FAIL(agf_ddim_new(ns, 1.5, error));
  EXPECT_FAIL(agf_ddim_new(ns, -0.5, error));

  AgfScheduleConfig c;
  agf_schedule_config_init_sd15(&c);
  c.timestep_spacing = (AgfTimestepSpacing)7;
  EXPECT_FAIL(agf_noise_schedule_new(&c, error));
  agf_schedule_config_init_sd15(&c);
  c.beta_end = 0.0;
  EXPECT_FAIL(agf_noise_schedule_new(&c, error));

  g_autoptr(GError) err = NULL;
  g_assert_true(agf_scheduler_set_timesteps(ddim, 50, 1.0, &err));
  EXPECT_FAIL(agf_scheduler_step(ddim, x, 1000, x, x, error));
  EXPECT_FAIL(agf_scheduler_step(ddim, x, -1, x, x, error));
  EXPECT_FAIL(agf_scheduler_step(ddim, x, 981, x, NULL, error)); /* eta>0 */
  EXPECT_FAIL(agf_scheduler_step(ddim, x, 981, x, y, error));
  EXPECT_FAIL(agf_scheduler_step(ddim, y, 981, x, x, error));
  EXPECT_FAIL(agf_scheduler_add_noise(ddim, x, y, 981, error));
  EXPECT_FAIL(agf_scheduler_add_noise(ddim, x, x, 1000, error));
  g_assert_cmpint(agf_scheduler_last_coeffs(ddim)->t, ==, 0);

  /* PNDM's second call must be one step below a first call. */
  g_assert_true(agf_scheduler_set_timesteps(pndm, 50, 1.0, &err));
  g_autoptr(AgfTensor) s1 = agf_scheduler_step(pndm, x, 981, x, NULL, &err);
  g_assert_no_error(err);
  EXPECT_FAIL(agf_scheduler_step(pndm, x, 995, x, NULL, error));
}

typedef struct {
  const char *name;
  const char *kind;
  double eta;
  double strength;
} Run;

static const Run runs[] = {
  { "ddim_eta0_full", "ddim", 0.0, 1.0 },
  { "ddim_eta0_s08", "ddim", 0.0, 0.8 },
  { "ddim_eta05_full", "ddim", 0.5, 1.0 },
  { "ddim_eta05_s08", "ddim", 0.5, 0.8 },
  { "pndm_full", "pndm", 0.0, 1.0 },
  { "pndm_s08", "pndm", 0.0, 0.8 },
};

/* The stand-in for the U-Net, as in schedulers.py: 0.1 x + 0.01 t / 1000. */
static AgfTensor *
fake_eps(const AgfTensor *x, int t)
{
  g_autoptr(GError) err = NULL;
  AgfTensor *e = agf_scale(x, 0.1f, (float)(0.01 * t / 1000), &err);
  g_assert_no_error(err);
  return e;
}

static void
check_run(AgfDevice *dev, const Run *r)
{
  const int64_t shape[4] = { 1, 4, 4, 4 };
  const int64_t numel = 64;
  g_autoptr(AgfNoiseSchedule) ns = sd15();
  g_autoptr(AgfScheduler) s = sampler(r->kind, ns, r->eta);
  g_autoptr(GError) err = NULL;
  int64_t n;
  g_autofree float *x0 = gold_f32("x0", &n);
  g_autofree float *noise = gold_f32("noise", &n);
  g_autofree float *vnoise = gold_f32("variance_noise", &n);
  g_autofree char *ts_name = g_strdup_printf("run.%s.timesteps", r->name);
  g_autofree char *smp_name = g_strdup_printf("run.%s.samples", r->name);
  g_autofree char *cf_name = g_strdup_printf("run.%s.coeffs", r->name);
  int n_ts, n_got;
  g_autofree int *ts = gold_ints(ts_name, &n_ts);
  g_autofree float *samples = gold_f32(smp_name, &n);
  g_assert_cmpint(n, ==, (n_ts + 1) * numel);
  g_autofree double *coeffs = gold_f64(cf_name, &n);
  g_assert_cmpint(n, ==, n_ts * 9);

  g_assert_true(agf_scheduler_set_timesteps(s, 50, r->strength, &err));
  const int *got_ts = agf_scheduler_timesteps(s, &n_got);
  assert_ints(got_ts, n_got, ts, n_ts, ts_name);

  g_autoptr(AgfTensor) x0_t = agf_test_tensor(dev, AGF_F32, 4, shape, x0);
  g_autoptr(AgfTensor) noise_t = agf_test_tensor(dev, AGF_F32, 4, shape, noise);
  AgfTensor *x = r->strength < 1.0
                     ? agf_scheduler_add_noise(s, x0_t, noise_t, ts[0], &err)
                     : agf_tensor_ref(noise_t);
  g_assert_no_error(err);
  double worst = 0;
  for (int i = 0; i <= n_ts; i++) {
    g_autofree float *got = agf_test_read_f32(x);
    double e = agf_test_rel_err(got, samples + i * numel, numel);
    worst = MAX(worst, e);
    if (e > 1e-5)
      g_error("%s on %s: sample after %d steps off by %.3g (> 1e-5)", r->name,
              agf_device_info(dev)->spec, i, e);
    if (i == n_ts)
      break;
    g_autoptr(AgfTensor) eps = fake_eps(x, ts[i]);
    /* One variance noise per DDIM step (the golden holds 50). */
    g_autoptr(AgfTensor) vn = r->eta > 0.0
        ? agf_test_tensor(dev, AGF_F32, 4, shape, vnoise + i * numel)
        : NULL;
    AgfTensor *next = agf_scheduler_step(s, eps, ts[i], x, vn, &err);
    g_assert_no_error(err);
    const AgfStepCoeffs *c = agf_scheduler_last_coeffs(s);
    const double *row = coeffs + 9 * i;
    if (c->t != (int)row[0] || c->t_prev != (int)row[1])
      g_error("%s step %d: t %d -> %d, want %d -> %d", r->name, i, c->t,
              c->t_prev, (int)row[0], (int)row[1]);
    assert_rel(c->c_sample, row[2], 1e-6, "c_sample", i);
    assert_rel(c->c_eps, row[3], 1e-6, "c_eps", i);
    assert_rel(c->c_noise, row[4], 1e-6, "c_noise", i);
    for (int k = 0; k < 4; k++)
      assert_rel(c->w[k], row[5 + k], 1e-12, "w", i);
    agf_tensor_unref(x);
    x = next;
  }
  agf_tensor_unref(x);
  g_test_message("%s on %s: %d steps, worst rel err %.2g", r->name,
                 agf_device_info(dev)->spec, n_ts, worst);
}

static void
test_trajectory(gconstpointer data)
{
  AgfDevice *dev = GPOINTER_TO_INT(data) ? agf_test_vulkan_or_skip()
                                         : agf_test_cpu();
  if (!dev)
    return;
  for (guint i = 0; i < G_N_ELEMENTS(runs); i++)
    check_run(dev, &runs[i]);
  if (GPOINTER_TO_INT(data))
    agf_test_assert_vk_clean();
}

/* The truncated PNDM run evaluates its third call at t = 761 on the sample
 * that sits at 781 (method.md, "Upstream details"), with upstream. */
static void
test_pndm_quirk(void)
{
  static const int want[4][2] = { { 801, 781 }, { 801, 781 }, { 761, 741 },
                                  { 741, 721 } };
  g_autoptr(AgfNoiseSchedule) ns = sd15();
  g_autoptr(AgfScheduler) s = sampler("pndm", ns, 0.0);
  g_autoptr(GError) err = NULL;
  const int64_t shape[4] = { 1, 4, 4, 4 };
  float ones[64];
  for (int i = 0; i < 64; i++)
    ones[i] = 1.0f;
  int n;
  g_assert_true(agf_scheduler_set_timesteps(s, 50, 0.8, &err));
  const int *ts = agf_scheduler_timesteps(s, &n);
  g_assert_cmpint(n, ==, 41);
  AgfTensor *x = agf_test_tensor(agf_test_cpu(), AGF_F32, 4, shape, ones);
  for (int i = 0; i < 4; i++) {
    g_autoptr(AgfTensor) eps = fake_eps(x, ts[i]);
    AgfTensor *next = agf_scheduler_step(s, eps, ts[i], x, NULL, &err);
    g_assert_no_error(err);
    const AgfStepCoeffs *c = agf_scheduler_last_coeffs(s);
    g_assert_cmpint(c->t, ==, want[i][0]);
    g_assert_cmpint(c->t_prev, ==, want[i][1]);
    agf_tensor_unref(x);
    x = next;
  }
  agf_tensor_unref(x);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_autofree char *path = g_test_build_filename(G_TEST_DIST, "golden",
                                                "schedulers.safetensors",
                                                NULL);
  g_autoptr(GError) err = NULL;
  golden = agf_safetensors_open(path, &err);
  if (!golden)
    g_error("%s (run tests/reference/schedulers.py)", err->message);

  g_test_add_func("/scheduler/schedule/sd15", test_schedule_sd15);
  g_test_add_func("/scheduler/schedule/metadata", test_schedule_metadata);
  g_test_add_func("/scheduler/timesteps/sd15", test_timesteps_sd15);
  g_test_add_func("/scheduler/timesteps/golden", test_timesteps_golden);
  g_test_add_func("/scheduler/timesteps/pndm-quirk", test_pndm_quirk);
  g_test_add_func("/scheduler/errors", test_errors);
  g_test_add_data_func("/scheduler/trajectory/cpu", GINT_TO_POINTER(0),
                       test_trajectory);
  g_test_add_data_func("/scheduler/trajectory/vulkan", GINT_TO_POINTER(1),
                       test_trajectory);
  int rc = g_test_run();
  agf_safetensors_close(golden);
  return agf_test_finish() ? 1 : rc;
}
