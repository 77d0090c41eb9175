/* Losses against PyTorch (tests/reference/loss.py wrote
 * golden/loss_values.safetensors): each loss's value, and the gradient
 * autograd computes for its input, on the CPU and Vulkan backends. */
#include <math.h>
#include <string.h>
#include "io/safetensors.h"
#include "nn/autograd.h"
#include "nn/loss.h"
#include "test_support.h"

static AgfSafetensors *golden;

typedef enum { L_MSE, L_L1, L_CE, L_BCE, L_TRIPLET, L_TRIPLET_ALL,
               L_COUNT } LossKind;
static const char *const loss_names[L_COUNT] = { "mse", "l1", "ce", "bce",
                                                 "triplet", "triplet_all" };
/* the differentiated input and the other one, per loss (golden names) */
static const char *const in_names[L_COUNT][2] = {
  { "pred", "target" }, { "pred", "target" }, { "logits", "labels" },
  { "logits", "targets" }, { "features", "classes" },
  { "features", "classes" } };

static const AgfStTensor *
gold(const char *loss, const char *what)
{
  g_autofree char *name = g_strdup_printf("%s.%s", loss, what);
  g_autoptr(GError) err = NULL;
  const AgfStTensor *t = agf_safetensors_get(golden, name, &err);
  g_assert_no_error(err);
  return t;
}

static float *
gold_f32(const AgfStTensor *t)
{
  float *v = g_new(float, t->numel);
  g_assert_true(agf_st_tensor_to_f32(t, v, NULL));
  return v;
}

static AgfTensor *
upload(AgfDevice *dev, AgfDType dt, const AgfStTensor *t)
{
  g_autofree float *v = gold_f32(t);
  return agf_test_tensor(dev, dt, t->ndim, t->shape, v);
}

static AgfTensor *
compute(LossKind k, const AgfTensor *x, const AgfTensor *other,
        const int *labels, GError **error)
{
  switch (k) {
  case L_MSE: return agf_loss_mse(x, other, error);
  case L_L1: return agf_loss_l1(x, other, error);
  case L_CE: return agf_loss_cross_entropy(x, labels, error);
  case L_BCE: return agf_loss_bce_with_logits(x, other, error);
  case L_TRIPLET: return agf_loss_asym_triplet(x, labels, 0.1f, error);
  default: return agf_loss_asym_triplet_all(x, labels, 0.1f, error);
  }
}

typedef struct { gboolean vulkan; AgfDType dt; } Target;

static void
run_loss(const Target *tg, LossKind k)
{
  AgfDevice *dev = tg->vulkan ? agf_test_vulkan_or_skip() : agf_test_cpu();
  if (!dev)
    return;
  if (!agf_device_supports_dtype(dev, tg->dt)) {
    g_test_skip("the device has no f16 support");
    return;
  }
  const char *name = loss_names[k];
  g_autoptr(GError) err = NULL;
  const AgfStTensor *gx = gold(name, in_names[k][0]);
  const AgfStTensor *go = gold(name, in_names[k][1]);
  g_autoptr(AgfTensor) x = upload(dev, tg->dt, gx);
  g_autoptr(AgfTensor) other = upload(dev, tg->dt, go);
  g_autofree float *ov = gold_f32(go);
  g_autofree int *labels = g_new(int, go->numel);
  for (int64_t i = 0; i < go->numel; i++)
    labels[i] = (int) ov[i];
  agf_tensor_set_requires_grad(x, TRUE);
  g_autoptr(AgfTape) tape = agf_tape_new(dev, &err);
  g_assert_no_error(err);
  g_autoptr(AgfTensor) loss = compute(k, x, other, labels, &err);
  g_assert_no_error(err);
  g_assert_cmpint(agf_tensor_numel(loss), ==, 1);

  /* f32 sums in another order than PyTorch's; f16 rounds every op */
  double bound = tg->dt == AGF_F16 ? 1e-2 : 1e-5;
  g_autofree float *ref = gold_f32(gold(name, "value"));
  g_autofree float *got = agf_test_read_f32(loss);
  g_test_message("%s: %.7g (torch %.7g)", name, got[0], ref[0]);
  g_assert_cmpfloat(fabs(got[0] - ref[0]), <=, bound * fabs(ref[0]));

  g_assert_true(agf_backward(tape, loss, NULL, &err));
  g_assert_no_error(err);
  g_autoptr(GString) key = g_string_new(in_names[k][0]);
  g_string_append(key, ".grad");
  const AgfStTensor *gg = gold(name, key->str);
  g_autofree float *gref = gold_f32(gg);
  AgfTensor *grad = agf_tensor_grad(x);
  g_assert_nonnull(grad);
  g_autofree float *ggot = agf_test_read_f32(grad);
  double e = agf_test_rel_err(ggot, gref, (size_t) gg->numel);
  g_test_message("%s: gradient relative error %g", name, e);
  g_assert_cmpfloat(e, <=, tg->dt == AGF_F16 ? 2e-2 : 1e-5);
  agf_test_assert_vk_clean();
}

static void test_mse(gconstpointer d) { run_loss(d, L_MSE); }
static void test_l1(gconstpointer d) { run_loss(d, L_L1); }
static void test_ce(gconstpointer d) { run_loss(d, L_CE); }
static void test_bce(gconstpointer d) { run_loss(d, L_BCE); }
static void test_triplet(gconstpointer d) { run_loss(d, L_TRIPLET); }
static void test_triplet_all(gconstpointer d) { run_loss(d, L_TRIPLET_ALL); }

static void
test_bad_input(void)
{
  AgfDevice *dev = agf_test_cpu();
  g_autoptr(GError) err = NULL;
  float v[6] = { 0 };
  g_autoptr(AgfTensor) a = agf_test_tensor(dev, AGF_F32, 2,
                                           (int64_t[]){ 2, 3 }, v);
  g_autoptr(AgfTensor) b = agf_test_tensor(dev, AGF_F32, 2,
                                           (int64_t[]){ 3, 2 }, v);
  g_assert_null(agf_loss_mse(a, b, &err));
  g_assert_error(err, AGF_ERROR, AGF_ERROR_SHAPE);
  g_clear_error(&err);
  int labels[2] = { 0, 3 };
  g_assert_null(agf_loss_cross_entropy(a, labels, &err));
  g_assert_nonnull(strstr(err->message, "label 3"));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_autoptr(GError) err = NULL;
  g_autofree char *path = g_test_build_filename(G_TEST_DIST, "golden",
                                                "loss_values.safetensors",
                                                NULL);
  golden = agf_safetensors_open(path, &err);
  g_assert_no_error(err);
  static const Target targets[] = {
    { FALSE, AGF_F32 }, { TRUE, AGF_F32 }, { FALSE, AGF_F16 } };
  static const char *const tnames[] = { "cpu/f32", "vulkan/f32", "cpu/f16" };
  static const GTestDataFunc fns[L_COUNT] = { test_mse, test_l1, test_ce,
                                              test_bce, test_triplet,
                                              test_triplet_all };
  for (int t = 0; t < 3; t++)
    for (int k = 0; k < L_COUNT; k++) {
      g_autofree char *p = g_strdup_printf("/loss/%s/%s", tnames[t],
                                           loss_names[k]);
      g_test_add_data_func(p, &targets[t], fns[k]);
    }
  g_test_add_func("/loss/bad-input", test_bad_input);
  int rc = g_test_run();
  agf_safetensors_close(golden);
  return agf_test_finish() ? 1 : rc;
}
