/* End-to-end training (issue 3): a small conv net (conv, group norm, SiLU,
 * strided conv, self-attention over the 8x8 tokens, mean, linear) learns a
 * synthetic task made here (filled squares, rings and crosses at random
 * positions, sizes and intensities, plus noise) with AdamW, a cosine
 * schedule with warm-up and gradient clipping, on the CPU backend and on
 * Vulkan (lavapipe here). Also: a seed reproduces the loss trace exactly,
 * N steps straight equal N/2 steps + checkpoint + fresh objects + load +
 * N/2 steps bit for bit, and mixed precision (f16 weights, f32 masters,
 * dynamic loss scaling) learns on Vulkan devices with f16.
 *
 * Parts (tests/meson.build): -p /train/cpu, -p /train/vulkan. */
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "test_support.h"
#include "nn/autograd.h"
#include "nn/loss.h"
#include "nn/optim.h"
#include "models/checkpoint.h"

#define IMG 16
#define N_CLASSES 3
#define BATCH 32
#define STEPS 80          /* the learning run */
#define WARMUP 10
#define BASE_LR 1e-2f
#define RESUME_STEPS 8    /* checkpoint / determinism runs */
#define EVAL_N 300
#define EVAL_STREAM G_GUINT64_CONSTANT(0x7e57)

/* Runs a call that takes &error; on failure the assertion shows the error. */
#define CHECK(call) \
  do { \
    gboolean ok_ = (call); \
    g_assert_no_error(error); \
    g_assert_true(ok_); \
  } while (0)

/* ---- the task ---- */

/* One image of class 0 (filled square), 1 (ring) or 2 (cross) into img
 * [IMG*IMG]; returns the class. */
static int make_sample(GRand *r, float *img)
{
  const int cls = g_rand_int_range(r, 0, N_CLASSES);
  const int size = g_rand_int_range(r, 6, 12);
  const int x0 = g_rand_int_range(r, 0, IMG - size + 1);
  const int y0 = g_rand_int_range(r, 0, IMG - size + 1);
  const float level = (float)g_rand_double_range(r, 0.5, 1.0);
  const int t = size >= 9 ? 2 : 1; /* stroke width */
  memset(img, 0, sizeof(float) * IMG * IMG);
  for (int u = 0; u < size; u++)
    for (int v = 0; v < size; v++) {
      gboolean on = cls == 0 ||
        (cls == 1 && (u < t || u >= size - t || v < t || v >= size - t)) ||
        (cls == 2 && (abs(2 * u - (size - 1)) <= t || abs(2 * v - (size - 1)) <= t));
      if (on)
        img[(y0 + u) * IMG + x0 + v] = level;
    }
  for (int i = 0; i < IMG * IMG; i++)
    img[i] += (float)g_rand_double_range(r, -0.15, 0.15);
  return cls;
}

/* Batch `index` of a stream: a pure function of (seed, stream, index), so
 * that a resumed run sees the same data as a straight one. */
static AgfTensor *make_batch(AgfDevice *dev, AgfDType dt, guint64 seed,
                             guint64 stream, guint64 index, int n, int *labels)
{
  guint32 key[4] = { (guint32)seed, (guint32)(seed >> 32), (guint32)stream,
                     (guint32)index };
  g_autoptr(GRand) r = g_rand_new_with_seed_array(key, 4);
  g_autofree float *x = g_new(float, (gsize)n * IMG * IMG);
  for (int i = 0; i < n; i++)
    labels[i] = make_sample(r, x + (gsize)i * IMG * IMG);
  const int64_t shape[4] = { n, 1, IMG, IMG };
  return agf_test_tensor(dev, dt, 4, shape, x);
}

/* ---- the network ---- */

enum { C1W, C1B, GNW, GNB, C2W, C2B, QW, KW, VW, OW, OB, FCW, FCB, N_PARAMS };

static const struct {
  const char *name;
  int ndim;
  int64_t shape[4];
  int fan_in; /* PyTorch's uniform(-1/sqrt(fan_in), ..) init; 0: norm */
} param_defs[N_PARAMS] = {
  { "conv1.weight", 4, { 16, 1, 3, 3 }, 9 },
  { "conv1.bias", 1, { 16 }, 9 },
  { "norm.weight", 1, { 16 }, 0 },
  { "norm.bias", 1, { 16 }, 0 },
  { "conv2.weight", 4, { 32, 16, 3, 3 }, 144 },
  { "conv2.bias", 1, { 32 }, 144 },
  { "attn.q.weight", 2, { 32, 32 }, 32 },
  { "attn.k.weight", 2, { 32, 32 }, 32 },
  { "attn.v.weight", 2, { 32, 32 }, 32 },
  { "attn.proj.weight", 2, { 32, 32 }, 32 },
  { "attn.proj.bias", 1, { 32 }, 32 },
  { "fc.weight", 2, { N_CLASSES, 32 }, 32 },
  { "fc.bias", 1, { N_CLASSES }, 32 },
};

/* A training run: parameters, optimizer, tape, scaler, on one device. */
typedef struct {
  AgfDevice *dev;
  AgfDType dt;
  guint64 seed;
  AgfTensor *p[N_PARAMS];
  AgfParamSet *ps;
  AgfOptimizer *opt;
  AgfTape *tape;          /* attached at the first step */
  gboolean mixed;         /* f16: loss scaling, no clipping */
  AgfLossScaler scaler;
} Run;

/* Parameters initialised from init_seed as PyTorch's defaults do (norm
 * weights 1, biases 0) and an AdamW optimizer; the tape comes with the
 * first step (after a checkpoint is loaded, as a trainer does). */
static Run *run_new(AgfDevice *dev, AgfDType dt, guint64 seed,
                    guint32 init_seed)
{
  g_autoptr(GError) error = NULL;
  Run *r = g_new0(Run, 1);
  r->dev = dev;
  r->dt = dt;
  r->seed = seed;
  r->mixed = dt == AGF_F16;
  r->ps = agf_param_set_new();
  g_autoptr(GRand) rand = g_rand_new_with_seed(init_seed);
  for (int i = 0; i < N_PARAMS; i++) {
    int64_t n = 1;
    for (int d = 0; d < param_defs[i].ndim; d++)
      n *= param_defs[i].shape[d];
    g_autofree float *v = g_new(float, n);
    const double b = param_defs[i].fan_in ? 1.0 / sqrt(param_defs[i].fan_in) : 0;
    for (int64_t j = 0; j < n; j++)
      v[j] = param_defs[i].fan_in ? (float)g_rand_double_range(rand, -b, b)
                                  : (i == GNW ? 1.0f : 0.0f);
    r->p[i] = agf_test_tensor(dev, dt, param_defs[i].ndim, param_defs[i].shape, v);
    CHECK(agf_param_set_add(r->ps, param_defs[i].name, r->p[i], &error));
  }
  agf_param_set_requires_grad(r->ps, TRUE);
  AgfOptimConfig cfg = { .kind = AGF_OPTIM_ADAMW, .weight_decay = 0.01f };
  r->opt = agf_optimizer_new(&cfg, r->ps, &error);
  g_assert_no_error(error);
  agf_loss_scaler_init(&r->scaler, 1024.0f);
  return r;
}

static void run_free(Run *r)
{
  agf_tape_free(r->tape);
  agf_optimizer_free(r->opt);
  agf_param_set_free(r->ps);
  for (int i = 0; i < N_PARAMS; i++)
    agf_tensor_unref(r->p[i]);
  g_free(r);
}

#define TRY(var, expr) \
  g_autoptr(AgfTensor) var = (expr); \
  if (!var) \
    return NULL

/* x [B,1,16,16] -> logits [B,3]. */
static AgfTensor *forward(Run *r, AgfTensor *x, GError **error)
{
  AgfTensor *const *p = r->p;
  const int64_t b = x->shape[0];
  AgfConv2dParams same = { .pad_top = 1, .pad_bottom = 1, .pad_left = 1,
                           .pad_right = 1 };
  AgfConv2dParams down = same;
  down.stride_h = down.stride_w = 2;
  TRY(c1, agf_conv2d(x, p[C1W], p[C1B], &same, error));
  TRY(gn, agf_group_norm(c1, p[GNW], p[GNB], 4, 1e-5f, error));
  TRY(act, agf_silu(gn, error));
  TRY(c2, agf_conv2d(act, p[C2W], p[C2B], &down, error)); /* [B,32,8,8] */
  const int64_t flat[3] = { b, 32, 64 };
  TRY(maps, agf_tensor_reshape(c2, 3, flat, error));
  const int perm[3] = { 0, 2, 1 };
  TRY(tok, agf_tensor_permute(maps, perm, error));        /* [B,64,32] */
  TRY(q, agf_linear(tok, p[QW], NULL, error));
  TRY(k, agf_linear(tok, p[KW], NULL, error));
  TRY(v, agf_linear(tok, p[VW], NULL, error));
  TRY(att, agf_attention(q, k, v, 2, 0.0f, error));
  TRY(proj, agf_linear(att, p[OW], p[OB], error));
  TRY(res, agf_add(tok, proj, error));
  const int64_t pooled[3] = { b, 1, 32 };
  TRY(sum, agf_reduce(res, AGF_REDUCE_SUM, 3, pooled, error));
  TRY(mean, agf_scale(sum, 1.0f / 64, 0.0f, error));
  const int64_t feat[2] = { b, 32 };
  TRY(f, agf_tensor_reshape(mean, 2, feat, error));
  return agf_linear(f, p[FCW], p[FCB], error);
}

/* One optimizer step on batch `step` of the training stream; returns the
 * (unscaled) loss. */
static float train_step(Run *r, gint64 step, gint64 total)
{
  g_autoptr(GError) error = NULL;
  if (!r->tape) {
    r->tape = agf_tape_new(r->dev, &error);
    g_assert_no_error(error);
  }
  int labels[BATCH];
  g_autoptr(AgfTensor) x = make_batch(r->dev, r->dt, r->seed, 0, (guint64)step,
                                      BATCH, labels);
  g_autoptr(AgfTensor) logits = forward(r, x, &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) loss = agf_loss_cross_entropy(logits, labels, &error);
  g_assert_no_error(error);
  /* mixed precision: backward from loss * scale, so that small f16
   * gradients do not flush to zero */
  g_autoptr(AgfTensor) scaled =
    r->mixed ? agf_scale(loss, r->scaler.scale, 0.0f, &error) : agf_tensor_ref(loss);
  g_assert_no_error(error);
  CHECK(agf_backward(r->tape, scaled, NULL, &error));
  float value = 0;
  CHECK(agf_tensor_to_f32(loss, &value, &error));
  gboolean skip = FALSE;
  float norm = 0;
  if (r->mixed)
    CHECK(agf_loss_scaler_check(&r->scaler, r->ps, &skip, &error));
  else
    CHECK(agf_clip_grad_norm(r->ps, 5.0f, &norm, &error));
  const float lr = agf_lr_cosine_warmup(step, total, WARMUP, BASE_LR, 0.0f);
  if (!skip)
    CHECK(agf_optimizer_step(r->opt, lr, r->mixed ? r->scaler.scale : 1.0f,
                             &error));
  agf_optimizer_zero_grad(r->opt);
  return value;
}

/* Held-out accuracy over EVAL_N samples of another stream, no tape. */
static double accuracy(Run *r)
{
  g_autoptr(GError) error = NULL;
  int correct = 0;
  agf_no_grad_begin(r->dev);
  for (int done = 0; done < EVAL_N; done += 100) {
    int labels[100];
    g_autoptr(AgfTensor) x = make_batch(r->dev, r->dt, r->seed, EVAL_STREAM,
                                        (guint64)done, 100, labels);
    g_autoptr(AgfTensor) logits = forward(r, x, &error);
    g_assert_no_error(error);
    g_autofree float *l = agf_test_read_f32(logits);
    for (int i = 0; i < 100; i++) {
      int best = 0;
      for (int c = 1; c < N_CLASSES; c++)
        if (l[i * N_CLASSES + c] > l[i * N_CLASSES + best])
          best = c;
      correct += best == labels[i];
    }
  }
  agf_no_grad_end(r->dev);
  return (double)correct / EVAL_N;
}

static double mean_of(const float *v, int n)
{
  double s = 0;
  for (int i = 0; i < n; i++)
    s += v[i];
  return s / n;
}

/* The learning run: loss falls >= min_fall times (mean of the first 5
 * steps over the last 10) and held-out accuracy reaches min_acc. */
static void check_learns(AgfDevice *dev, AgfDType dt, double min_fall,
                         double min_acc)
{
  const int steps = STEPS;
  Run *r = run_new(dev, dt, 11, 1);
  float trace[STEPS];
  gint64 t0 = g_get_monotonic_time();
  for (int s = 0; s < steps; s++) {
    trace[s] = train_step(r, s, steps);
    g_assert_true(isfinite(trace[s]));
  }
  const double first = mean_of(trace, 5), last = mean_of(trace + steps - 10, 10);
  const double acc = accuracy(r);
  g_test_message("%s %s: loss %.4f -> %.5f (%.1fx) in %d steps of %d, "
                 "held-out accuracy %.3f, %.1f s%s",
                 agf_device_info(dev)->spec, agf_dtype_name(dt), first, last,
                 first / last, steps, BATCH, acc,
                 (double)(g_get_monotonic_time() - t0) * 1e-6,
                 r->mixed ? ", loss scaling" : "");
  if (r->mixed) {
    /* the optimizer kept an f32 master of every f16 parameter */
    g_autoptr(GError) error = NULL;
    g_autoptr(AgfParamSet) state = agf_optimizer_state(r->opt, &error);
    g_assert_no_error(error);
    for (int i = 0; i < N_PARAMS; i++) {
      g_autofree char *name = g_strdup_printf("%s.master", param_defs[i].name);
      int at = agf_param_set_find(state, name);
      g_assert_cmpint(at, >=, 0);
      g_assert_cmpint(agf_param_set_tensor(state, at)->dtype, ==, AGF_F32);
    }
    g_test_message("final loss scale %g", r->scaler.scale);
  }
  g_assert_cmpfloat(first / last, >=, min_fall);
  g_assert_cmpfloat(acc, >=, min_acc);
  run_free(r);
}

/* Every parameter's raw bytes, concatenated. */
static GByteArray *snapshot(Run *r)
{
  g_autoptr(GError) error = NULL;
  GByteArray *all = g_byte_array_new();
  for (int i = 0; i < N_PARAMS; i++) {
    gsize n = (gsize)agf_tensor_numel(r->p[i]) * agf_dtype_size(r->dt);
    g_autofree guint8 *buf = g_malloc(n);
    CHECK(agf_tensor_read(r->p[i], buf, &error));
    g_byte_array_append(all, buf, (guint)n);
  }
  return all;
}

/* Same seed, same device: the same loss trace and weights, bit for bit. */
static void check_determinism(AgfDevice *dev)
{
  float trace[2][RESUME_STEPS];
  GByteArray *w[2];
  for (int k = 0; k < 2; k++) {
    Run *r = run_new(dev, AGF_F32, 5, 3);
    for (int s = 0; s < RESUME_STEPS; s++)
      trace[k][s] = train_step(r, s, STEPS);
    w[k] = snapshot(r);
    run_free(r);
  }
  g_assert_cmpmem(trace[0], sizeof trace[0], trace[1], sizeof trace[1]);
  g_assert_cmpmem(w[0]->data, w[0]->len, w[1]->data, w[1]->len);
  /* and the steps did train: the weights moved from their initial values */
  Run *fresh = run_new(dev, AGF_F32, 5, 3);
  g_autoptr(GByteArray) w0 = snapshot(fresh);
  run_free(fresh);
  g_assert_cmpint(w0->len, ==, w[0]->len);
  g_assert_true(memcmp(w0->data, w[0]->data, w0->len) != 0);
  g_byte_array_unref(w[0]);
  g_byte_array_unref(w[1]);
}

/* N steps straight == N/2 steps, save, fresh parameters (another init)
 * and optimizer, load, N/2 steps: the same bytes. */
static void check_resume(AgfDevice *dev)
{
  g_autoptr(GError) error = NULL;
  const int half = RESUME_STEPS / 2;
  Run *straight = run_new(dev, AGF_F32, 7, 3);
  for (int s = 0; s < RESUME_STEPS; s++)
    train_step(straight, s, STEPS);
  g_autoptr(GByteArray) want = snapshot(straight);
  run_free(straight);

  g_autofree char *dir = g_dir_make_tmp("agfas-train-e2e-XXXXXX", &error);
  g_assert_no_error(error);
  g_autofree char *path = g_build_filename(dir, "run.safetensors", NULL);
  Run *first = run_new(dev, AGF_F32, 7, 3);
  for (int s = 0; s < half; s++)
    train_step(first, s, STEPS);
  AgfCheckpointInfo info = { .step = agf_optimizer_n_steps(first->opt),
                             .seed = first->seed, .rng_counter = (guint64)half,
                             .config_json = g_strdup("{\"test\": \"train_e2e\"}") };
  g_assert_cmpint(info.step, ==, half);
  CHECK(agf_checkpoint_save(path, first->ps, first->opt, NULL, &info, AGF_F32,
                            NULL, &error));
  agf_checkpoint_info_clear(&info);
  run_free(first);

  Run *second = run_new(dev, AGF_F32, 7, 99);
  AgfCheckpointInfo got = { 0 };
  CHECK(agf_checkpoint_load(path, second->ps, second->opt, NULL, &got, &error));
  g_assert_cmpint(got.step, ==, half);
  g_assert_cmpuint(got.seed, ==, 7);
  g_assert_cmpuint(got.rng_counter, ==, half);
  g_assert_cmpint(agf_optimizer_n_steps(second->opt), ==, half);
  for (gint64 s = (gint64)got.rng_counter; s < RESUME_STEPS; s++)
    train_step(second, s, STEPS);
  agf_checkpoint_info_clear(&got);
  g_autoptr(GByteArray) have = snapshot(second);
  run_free(second);
  g_assert_cmpmem(have->data, have->len, want->data, want->len);
  g_remove(path);
  g_rmdir(dir);
}

/* ---- registration ---- */

static AgfDevice *device_of(gconstpointer which)
{
  return GPOINTER_TO_INT(which) ? agf_test_vulkan_or_skip() : agf_test_cpu();
}

static void test_learn(gconstpointer which)
{
  AgfDevice *dev = device_of(which);
  if (!dev)
    return;
  check_learns(dev, AGF_F32, 10.0, 0.95);
  agf_test_assert_vk_clean();
}

static void test_determinism(gconstpointer which)
{
  AgfDevice *dev = device_of(which);
  if (!dev)
    return;
  check_determinism(dev);
  agf_test_assert_vk_clean();
}

static void test_resume(gconstpointer which)
{
  AgfDevice *dev = device_of(which);
  if (!dev)
    return;
  check_resume(dev);
  agf_test_assert_vk_clean();
}

static void test_mixed(void)
{
  AgfDevice *dev = agf_test_vulkan_or_skip();
  if (!dev)
    return;
  if (!agf_device_supports_dtype(dev, AGF_F16)) {
    g_test_skip("this Vulkan device has no f16");
    return;
  }
  /* f16 weights and activations: the same fall of the loss; accuracy a
   * little lower, as f16 rounding blurs the faint shapes. */
  check_learns(dev, AGF_F16, 10.0, 0.9);
  agf_test_assert_vk_clean();
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  static const char *const names[2] = { "cpu", "vulkan" };
  for (int d = 0; d < 2; d++) {
    g_autofree char *learn = g_strdup_printf("/train/%s/learn", names[d]);
    g_autofree char *det = g_strdup_printf("/train/%s/determinism", names[d]);
    g_autofree char *res = g_strdup_printf("/train/%s/resume", names[d]);
    g_test_add_data_func(learn, GINT_TO_POINTER(d), test_learn);
    g_test_add_data_func(det, GINT_TO_POINTER(d), test_determinism);
    g_test_add_data_func(res, GINT_TO_POINTER(d), test_resume);
  }
  g_test_add_func("/train/vulkan/mixed-f16", test_mixed);
  int rc = g_test_run();
  return agf_test_finish() ? 1 : rc;
}
