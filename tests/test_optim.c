/* Optimizers, schedule, clipping, EMA, loss scaling and checkpoints against
 * PyTorch (tests/reference/optim.py wrote golden/optim_steps.safetensors):
 * fixed gradients stand in for backward. Every case runs on the CPU and
 * Vulkan backends in f32, and with f16 parameters (f32 master copies) to
 * f16 tolerance. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include "io/safetensors.h"
#include "models/checkpoint.h"
#include "models/weights.h"
#include "nn/autograd.h"
#include "nn/optim.h"
#include "test_support.h"

#define N_PARAMS 2
#define N_STEPS 4

static AgfSafetensors *golden;

/* data of the parametrised tests: backend and parameter dtype */
typedef struct { gboolean vulkan; AgfDType dt; } Target;

static float *
gold(const char *name, int64_t *n)
{
  g_autoptr(GError) err = NULL;
  const AgfStTensor *t = agf_safetensors_get(golden, name, &err);
  g_assert_no_error(err);
  float *v = g_new(float, t->numel);
  g_assert_true(agf_st_tensor_to_f32(t, v, &err));
  if (n)
    *n = t->numel;
  return v;
}

static AgfDevice *
target_dev(const Target *tg)
{
  AgfDevice *dev = tg->vulkan ? agf_test_vulkan_or_skip() : agf_test_cpu();
  if (dev && !agf_device_supports_dtype(dev, tg->dt)) {
    g_test_skip("the device has no f16 support");
    return NULL;
  }
  return dev;
}

/* Error bound: f32 state follows PyTorch to rounding; f16 parameters are
 * rounded after every step. */
static double
tol(const Target *tg)
{
  return tg->dt == AGF_F16 ? 3e-3 : 2e-6;
}

static void
assert_close(const char *what, const AgfTensor *t, const char *gname,
             double bound)
{
  int64_t n;
  g_autofree float *ref = gold(gname, &n);
  g_assert_cmpint(agf_tensor_numel(t), ==, n);
  g_autofree float *got = agf_test_read_f32(t);
  double e = agf_test_rel_err(got, ref, (size_t) n);
  if (e > bound)
    g_error("%s vs %s: relative error %g above %g", what, gname, e, bound);
}

/* The golden's initial parameters on dev as dt, requiring gradients. */
static AgfParamSet *
make_params(AgfDevice *dev, AgfDType dt)
{
  AgfParamSet *ps = agf_param_set_new();
  for (int i = 0; i < N_PARAMS; i++) {
    g_autofree char *name = g_strdup_printf("init.%d", i);
    const AgfStTensor *st = agf_safetensors_find(golden, name);
    g_autofree float *v = gold(name, NULL);
    g_autoptr(AgfTensor) t = agf_test_tensor(dev, dt, st->ndim, st->shape, v);
    agf_tensor_set_requires_grad(t, TRUE);
    g_autofree char *pname = g_strdup_printf("layer%d.weight", i);
    g_assert_true(agf_param_set_add(ps, pname, t, NULL));
  }
  return ps;
}

/* Gives parameter i the golden gradient of step s times mult (what backward
 * would leave in ag.grad, in the parameter's dtype). */
static void
set_grads(AgfParamSet *ps, int s, float mult)
{
  for (int i = 0; i < agf_param_set_size(ps); i++) {
    AgfTensor *p = agf_param_set_tensor(ps, i);
    int64_t n;
    g_autofree char *name = g_strdup_printf("grad.%d.%d", s, i);
    g_autofree float *v = gold(name, &n);
    for (int64_t k = 0; k < n; k++)
      v[k] *= mult;
    agf_tensor_clear_grad(p);
    p->ag.grad = agf_test_tensor(p->dev, p->dtype, p->ndim, p->shape, v);
  }
}

static const struct {
  const char *name;
  AgfOptimConfig cfg;
} cases[] = {
  { "sgd", { .kind = AGF_OPTIM_SGD } },
  { "sgd_momentum", { .kind = AGF_OPTIM_SGD, .momentum = 0.9f,
                      .weight_decay = 0.01f } },
  { "sgd_nesterov", { .kind = AGF_OPTIM_SGD, .momentum = 0.9f,
                      .nesterov = TRUE, .weight_decay = 0.01f } },
  { "adamw", { .kind = AGF_OPTIM_ADAMW, .beta1 = 0.9f, .beta2 = 0.99f,
               .eps = 1e-6f, .weight_decay = 0.05f } },
};

/* Runs case c for N_STEPS with the golden learning rates; grad_scale
 * multiplies the gradients and is passed to the step (loss scaling). */
static void
run_case(const Target *tg, int c, float grad_scale)
{
  AgfDevice *dev = target_dev(tg);
  if (!dev)
    return;
  g_autoptr(GError) err = NULL;
  g_autoptr(AgfParamSet) ps = make_params(dev, tg->dt);
  g_autoptr(AgfOptimizer) opt = agf_optimizer_new(&cases[c].cfg, ps, &err);
  g_assert_no_error(err);
  gboolean with_ema = strcmp(cases[c].name, "sgd_momentum") == 0;
  g_autoptr(AgfEma) ema = with_ema ? agf_ema_new(ps, 0.8f, &err) : NULL;
  g_assert_no_error(err);
  g_autofree float *lrs = gold("lrs", NULL);
  for (int s = 0; s < N_STEPS; s++) {
    set_grads(ps, s, grad_scale);
    g_assert_true(agf_optimizer_step(opt, lrs[s], grad_scale, &err));
    g_assert_no_error(err);
    if (ema)
      g_assert_true(agf_ema_update(ema, &err));
    g_assert_no_error(err);
  }
  g_assert_cmpint(agf_optimizer_n_steps(opt), ==, N_STEPS);
  g_autoptr(AgfParamSet) state = agf_optimizer_state(opt, &err);
  g_assert_no_error(err);
  for (int i = 0; i < N_PARAMS; i++) {
    g_autofree char *g = g_strdup_printf("%s.param.%d", cases[c].name, i);
    assert_close("parameter", agf_param_set_tensor(ps, i), g, tol(tg));
    static const char *const keys[] = { "momentum_buffer", "exp_avg",
                                        "exp_avg_sq" };
    for (size_t k = 0; k < G_N_ELEMENTS(keys); k++) {
      g_autofree char *gk = g_strdup_printf("%s.%s.%d", cases[c].name,
                                            keys[k], i);
      g_autofree char *sk = g_strdup_printf("layer%d.weight.%s", i, keys[k]);
      int j = agf_param_set_find(state, sk);
      g_assert_cmpint(j >= 0, ==, agf_safetensors_find(golden, gk) != NULL);
      if (j >= 0) /* f32 state; from f16-rounded weights in mixed precision */
        assert_close(sk, agf_param_set_tensor(state, j), gk,
                     tg->dt == AGF_F16 ? 2e-2 : 2e-6);
    }
    if (ema) {
      g_autofree char *ge = g_strdup_printf("ema.%d", i);
      AgfTensor *sh = agf_param_set_tensor(agf_ema_shadow(ema), i);
      g_assert_cmpint(sh->dtype, ==, AGF_F32);
      assert_close("ema", sh, ge, tol(tg));
    }
  }
  agf_optimizer_zero_grad(opt);
  g_assert_null(agf_tensor_grad(agf_param_set_tensor(ps, 0)));
  agf_test_assert_vk_clean();
}

static void
test_optimizers(gconstpointer data)
{
  for (int c = 0; c < (int) G_N_ELEMENTS(cases); c++)
    run_case(data, c, 1.0f);
}

/* Gradients scaled by 1024 and unscaled by the step give AdamW's result. */
static void
test_grad_scale(gconstpointer data)
{
  run_case(data, 3, 1024.0f);
}

static void
test_clip(gconstpointer data)
{
  const Target *tg = data;
  AgfDevice *dev = target_dev(tg);
  if (!dev)
    return;
  g_autoptr(GError) err = NULL;
  g_autoptr(AgfParamSet) ps = make_params(dev, tg->dt);
  set_grads(ps, 0, 1.0f);
  float norm = 0.0f;
  /* a max_norm above the norm changes nothing */
  g_assert_true(agf_clip_grad_norm(ps, 100.0f, &norm, &err));
  g_assert_no_error(err);
  for (int i = 0; i < N_PARAMS; i++) {
    g_autofree char *g = g_strdup_printf("grad.0.%d", i);
    assert_close("unclipped", agf_tensor_grad(agf_param_set_tensor(ps, i)), g,
                 tg->dt == AGF_F16 ? 1e-3 : 0.0);
  }
  g_assert_true(agf_clip_grad_norm(ps, 0.5f, &norm, &err));
  g_assert_no_error(err);
  g_autofree float *ref = gold("clip.norm", NULL);
  g_assert_cmpfloat(fabs(norm - ref[0]), <=, ref[0] * (tg->dt == AGF_F16
                                                       ? 1e-3 : 1e-6));
  for (int i = 0; i < N_PARAMS; i++) {
    g_autofree char *g = g_strdup_printf("clip.grad.%d", i);
    assert_close("clipped", agf_tensor_grad(agf_param_set_tensor(ps, i)), g,
                 tol(tg));
  }
  g_assert_false(agf_clip_grad_norm(ps, 0.0f, &norm, &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  agf_test_assert_vk_clean();
}

static void
test_scaler(gconstpointer data)
{
  const Target *tg = data;
  AgfDevice *dev = target_dev(tg);
  if (!dev)
    return;
  g_autoptr(GError) err = NULL;
  g_autoptr(AgfParamSet) ps = make_params(dev, tg->dt);
  int64_t n;
  g_autofree float *found = gold("scaler.found_inf", &n);
  g_autofree float *scales = gold("scaler.scales", NULL);
  AgfLossScaler sc;
  agf_loss_scaler_init(&sc, 1024.0f);
  sc.growth_interval = 3;
  int bad = 0;
  for (int64_t s = 0; s < n; s++) {
    set_grads(ps, (int) (s % N_STEPS), 1.0f);
    if (found[s] != 0.0f) { /* one element of one gradient: inf, then NaN */
      AgfTensor *p = agf_param_set_tensor(ps, bad % 2);
      g_autofree float *v = agf_test_read_f32(agf_tensor_grad(p));
      v[agf_tensor_numel(p) - 1 - bad] = bad % 2 ? NAN : -INFINITY;
      agf_tensor_clear_grad(p);
      p->ag.grad = agf_test_tensor(dev, tg->dt, p->ndim, p->shape, v);
      bad++;
    }
    gboolean skip = -1;
    gboolean ok = agf_loss_scaler_check(&sc, ps, &skip, &err);
    g_assert_no_error(err);
    g_assert_true(ok);
    g_assert_cmpint(skip, ==, found[s] != 0.0f);
    g_assert_cmpfloat(sc.scale, ==, scales[s]);
  }
  g_assert_cmpint(bad, >=, 2);
  agf_test_assert_vk_clean();
}

static void
test_cosine(void)
{
  int64_t n;
  g_autofree float *ref = gold("cosine.lrs", &n);
  for (int64_t s = 0; s < n; s++) {
    float lr = agf_lr_cosine_warmup(s, 20, 3, 0.1f, 0.001f);
    g_assert_cmpfloat(fabsf(lr - ref[s]), <=, 1e-7f);
  }
}

/* agf_weights_param_set: every float tensor of a weights file, the same
 * device tensors agf_weights_get hands out; integer buffers left out. */
static void
test_weights_param_set(void)
{
  g_autoptr(GError) err = NULL;
  g_autofree char *dir = g_dir_make_tmp("agf-wps-XXXXXX", &err);
  g_autofree char *path = g_build_filename(dir, "w.safetensors", NULL);
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  float v[6] = { 1, 2, 3, 4, 5, 6 };
  gint64 count = 7;
  g_assert_true(agf_safetensors_writer_add(w, "bn.running_var", AGF_ST_F32,
                                           1, (int64_t[]){ 2 }, v, &err));
  g_assert_true(agf_safetensors_writer_add(w, "bn.num_batches_tracked",
                                           AGF_ST_I64, 0, NULL, &count, &err));
  g_assert_true(agf_safetensors_writer_add(w, "fc.weight", AGF_ST_F32, 2,
                                           (int64_t[]){ 2, 3 }, v, &err));
  g_assert_true(agf_safetensors_writer_write(w, path, &err));
  g_assert_no_error(err);
  g_autoptr(AgfWeights) wt = agf_weights_open(path, agf_test_cpu(), AGF_F32,
                                              &err);
  g_autoptr(AgfParamSet) ps = agf_weights_param_set(wt, &err);
  g_assert_no_error(err);
  g_assert_cmpint(agf_param_set_size(ps), ==, 2);
  g_assert_cmpint(agf_param_set_numel(ps), ==, 8);
  int i = agf_param_set_find(ps, "fc.weight");
  g_assert_cmpint(i, >=, 0);
  g_assert_true(agf_param_set_tensor(ps, i) ==
                agf_weights_get(wt, "fc.weight", 0, NULL, &err));
  g_assert_cmpint(agf_param_set_find(ps, "bn.num_batches_tracked"), ==, -1);
  g_assert_true(agf_weights_name_is_buffer("bn.running_var"));
  g_assert_true(agf_weights_name_is_buffer("layer1.0.bn1.num_batches_tracked"));
  g_assert_true(agf_weights_name_is_buffer("running_mean"));
  g_assert_false(agf_weights_name_is_buffer("fc.weight"));
  g_assert_false(agf_weights_name_is_buffer("bn.running_mean_extra"));
  g_unlink(path);
  g_rmdir(dir);
}

static void
test_bad_config(void)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(AgfParamSet) ps = make_params(agf_test_cpu(), AGF_F32);
  AgfOptimConfig c = { .kind = AGF_OPTIM_SGD, .nesterov = TRUE };
  g_assert_null(agf_optimizer_new(&c, ps, &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&err);
  agf_tensor_set_requires_grad(agf_param_set_tensor(ps, 1), FALSE);
  c.nesterov = FALSE;
  g_assert_null(agf_optimizer_new(&c, ps, &err));
  g_assert_nonnull(strstr(err->message, "layer1.weight"));
  g_clear_error(&err);
  g_assert_false(agf_param_set_add(ps, "layer0.weight",
                                   agf_param_set_tensor(ps, 0), &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
}

/* ---- checkpoints ---- */

static void
run_steps(AgfOptimizer *opt, AgfEma *ema, AgfParamSet *ps, int from, int to)
{
  g_autoptr(GError) err = NULL;
  g_autofree float *lrs = gold("lrs", NULL);
  for (int s = from; s < to; s++) {
    set_grads(ps, s % N_STEPS, 1.0f);
    g_assert_true(agf_optimizer_step(opt, lrs[s % N_STEPS], 1.0f, &err));
    g_assert_true(agf_ema_update(ema, &err));
    g_assert_no_error(err);
  }
}

/* Raw bytes of every tensor of ps, concatenated (bit-identity checks). */
static GBytes *
snapshot(const AgfParamSet *ps)
{
  GByteArray *b = g_byte_array_new();
  for (int i = 0; i < agf_param_set_size(ps); i++) {
    AgfTensor *t = agf_param_set_tensor(ps, i);
    size_t n = (size_t) agf_tensor_numel(t) * agf_dtype_size(t->dtype);
    guint old = b->len;
    g_byte_array_set_size(b, old + (guint) n);
    g_assert_true(agf_tensor_read(t, b->data + old, NULL));
  }
  return g_byte_array_free_to_bytes(b);
}

static void
assert_same(const AgfParamSet *a, const AgfParamSet *b)
{
  g_autoptr(GBytes) x = snapshot(a), y = snapshot(b);
  g_assert_true(g_bytes_equal(x, y));
}

static void
test_checkpoint(gconstpointer data)
{
  const Target *tg = data;
  AgfDevice *dev = target_dev(tg);
  if (!dev)
    return;
  g_autoptr(GError) err = NULL;
  g_autofree char *dir = g_dir_make_tmp("agf-ckpt-XXXXXX", &err);
  g_assert_no_error(err);
  g_autofree char *path = g_build_filename(dir, "run.safetensors", NULL);
  AgfOptimConfig cfg = cases[3].cfg; /* AdamW: the most state */

  /* N steps straight, saving at N/2. */
  g_autoptr(AgfParamSet) ps = make_params(dev, tg->dt);
  g_autoptr(AgfOptimizer) opt = agf_optimizer_new(&cfg, ps, &err);
  g_autoptr(AgfEma) ema = agf_ema_new(ps, 0.9f, &err);
  g_assert_no_error(err);
  run_steps(opt, ema, ps, 0, 3);
  AgfCheckpointInfo info = { .step = 3, .seed = 42, .rng_counter = 1234567,
                             .config_json = g_strdup("{\"lr\":0.01}") };
  g_autoptr(GHashTable) meta = g_hash_table_new(g_str_hash, g_str_equal);
  g_hash_table_insert(meta, "net.kind", "toy");
  g_assert_true(agf_checkpoint_save(path, ps, opt, ema, &info, tg->dt, meta,
                                    &err));
  g_assert_no_error(err);
  agf_checkpoint_info_clear(&info);
  run_steps(opt, ema, ps, 3, 6);

  /* A fresh run resumed from the file takes the same last steps. */
  g_autoptr(AgfParamSet) ps2 = make_params(dev, tg->dt);
  g_autoptr(AgfOptimizer) opt2 = agf_optimizer_new(&cfg, ps2, &err);
  g_autoptr(AgfEma) ema2 = agf_ema_new(ps2, 0.9f, &err);
  g_assert_true(agf_checkpoint_load(path, ps2, opt2, ema2, &info, &err));
  g_assert_no_error(err);
  g_assert_cmpint(info.step, ==, 3);
  g_assert_cmpuint(info.seed, ==, 42);
  g_assert_cmpuint(info.rng_counter, ==, 1234567);
  g_assert_cmpstr(info.config_json, ==, "{\"lr\":0.01}");
  agf_checkpoint_info_clear(&info);
  g_assert_cmpint(agf_optimizer_n_steps(opt2), ==, 3);
  run_steps(opt2, ema2, ps2, 3, 6);
  g_assert_cmpint(agf_optimizer_n_steps(opt2), ==, 6);
  assert_same(ps, ps2);
  assert_same(agf_ema_shadow(ema), agf_ema_shadow(ema2));
  g_autoptr(AgfParamSet) st = agf_optimizer_state(opt, &err);
  g_autoptr(AgfParamSet) st2 = agf_optimizer_state(opt2, &err);
  g_assert_no_error(err);
  assert_same(st, st2);

  /* The model part is an ordinary weights file with the caller's meta. */
  {
    g_autoptr(AgfSafetensors) f = agf_safetensors_open(path, &err);
    g_assert_no_error(err);
    g_assert_nonnull(agf_safetensors_find(f, "layer1.weight"));
    g_assert_nonnull(agf_safetensors_find(f, "optim/layer1.weight.exp_avg"));
    g_assert_nonnull(agf_safetensors_find(f, "ema/layer0.weight"));
    g_assert_cmpstr(agf_safetensors_meta(f, "net.kind"), ==, "toy");
  }

  /* A truncated file: a clear error, and nothing loaded. */
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true(g_file_get_contents(path, &bytes, &len, NULL));
  g_autofree char *cut = g_build_filename(dir, "cut.safetensors", NULL);
  g_assert_true(g_file_set_contents(cut, bytes, (gssize) (len - 40), NULL));
  g_autoptr(GBytes) before = snapshot(ps2);
  g_assert_false(agf_checkpoint_load(cut, ps2, opt2, ema2, &info, &err));
  g_assert_nonnull(err);
  g_test_message("truncated: %s", err->message);
  g_assert_nonnull(strstr(err->message, "cut.safetensors"));
  g_clear_error(&err);
  g_autoptr(GBytes) after = snapshot(ps2);
  g_assert_true(g_bytes_equal(before, after));

  /* A file of another model: the missing tensor is named. */
  g_autoptr(AgfParamSet) other = make_params(dev, tg->dt);
  g_autoptr(AgfTensor) extra = agf_tensor_ref(agf_param_set_tensor(other, 0));
  g_assert_true(agf_param_set_add(other, "head.bias", extra, NULL));
  g_assert_false(agf_checkpoint_load(path, other, NULL, NULL, NULL, &err));
  g_assert_nonnull(strstr(err->message, "head.bias"));
  g_clear_error(&err);

  /* A save that fails (a model name clashing with the optimizer state's)
   * leaves the previous checkpoint intact and no temporary file. */
  g_autoptr(AgfParamSet) clash = make_params(dev, tg->dt);
  g_assert_true(agf_param_set_add(clash, "optim/layer0.weight.exp_avg",
                                  extra, NULL));
  info.step = 9;
  g_assert_false(agf_checkpoint_save(path, clash, opt, NULL, &info, tg->dt,
                                     NULL, &err));
  g_assert_nonnull(strstr(err->message, "previous one"));
  g_clear_error(&err);
  g_autofree char *bytes2 = NULL;
  gsize len2;
  g_assert_true(g_file_get_contents(path, &bytes2, &len2, NULL));
  g_assert_true(len2 == len && memcmp(bytes, bytes2, len) == 0);
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  int n_files = 0;
  for (const char *f; (f = g_dir_read_name(d)); n_files++) {
    g_autofree char *full = g_build_filename(dir, f, NULL);
    g_assert_null(strstr(f, ".tmp"));
    g_unlink(full);
  }
  g_assert_cmpint(n_files, ==, 2);
  g_rmdir(dir);
  agf_test_assert_vk_clean();
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_autoptr(GError) err = NULL;
  g_autofree char *path = g_test_build_filename(G_TEST_DIST, "golden",
                                                "optim_steps.safetensors",
                                                NULL);
  golden = agf_safetensors_open(path, &err);
  g_assert_no_error(err);
  static const Target targets[] = {
    { FALSE, AGF_F32 }, { FALSE, AGF_F16 }, { TRUE, AGF_F32 },
    { TRUE, AGF_F16 } };
  static const char *const names[] = { "cpu/f32", "cpu/f16", "vulkan/f32",
                                       "vulkan/f16" };
  for (int t = 0; t < 4; t++) {
    g_autofree char *a = g_strdup_printf("/optim/%s/optimizers", names[t]);
    g_autofree char *b = g_strdup_printf("/optim/%s/grad-scale", names[t]);
    g_autofree char *c = g_strdup_printf("/optim/%s/clip", names[t]);
    g_autofree char *d = g_strdup_printf("/optim/%s/loss-scaler", names[t]);
    g_test_add_data_func(a, &targets[t], test_optimizers);
    g_test_add_data_func(b, &targets[t], test_grad_scale);
    g_test_add_data_func(c, &targets[t], test_clip);
    g_test_add_data_func(d, &targets[t], test_scaler);
  }
  g_test_add_func("/optim/cosine", test_cosine);
  g_test_add_func("/optim/bad-config", test_bad_config);
  g_test_add_func("/optim/weights-param-set", test_weights_param_set);
  for (int t = 0; t < 4; t++) {
    g_autofree char *a = g_strdup_printf("/optim/%s/checkpoint", names[t]);
    g_test_add_data_func(a, &targets[t], test_checkpoint);
  }
  int rc = g_test_run();
  agf_safetensors_close(golden);
  return agf_test_finish() ? 1 : rc;
}
