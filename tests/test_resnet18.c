/* ResNet-18 against the PyTorch reference (tests/reference/resnet18.py):
 * features, tokens and logits on the CPU backend and on Vulkan;
 * configuration from the file; parameter counts; load errors naming the
 * tensor. */
#include "models/resnet18.h"
#include "parity_support.h"
#include "test_support.h"

#define TOL 1e-4
#define GOLDEN "resnet18.safetensors"

static void test_config(void)
{
  GError *error = NULL;
  g_autoptr(AgfWeights) w = parity_open(GOLDEN, agf_test_cpu(), AGF_F32);
  g_autoptr(AgfResnet18) net = agf_resnet18_new(w, &error);
  g_assert_no_error(error);
  const AgfResnet18Config *c = agf_resnet18_config(net);
  g_assert_cmpint(c->in_channels, ==, 6);
  g_assert_cmpint(c->stem_width, ==, 4);
  static const int widths[4] = { 4, 8, 16, 32 };
  for (int s = 0; s < 4; s++) {
    g_assert_cmpint(c->widths[s], ==, widths[s]);
    g_assert_cmpint(c->blocks[s], ==, 2);
  }
  g_assert_cmpint(c->num_classes, ==, 10);
  gint64 n = agf_resnet18_param_count(c, &error);
  g_assert_no_error(error);
  g_assert_cmpint(n, ==, parity_param_count(agf_weights_file(w), ""));
}

static void test_param_count(void)
{
  AgfResnet18Config c;
  agf_resnet18_config_default(&c);
  GError *error = NULL;
  /* torchvision resnet18(): 11.7 M (method.md). */
  g_assert_cmpint(agf_resnet18_param_count(&c, &error), ==, 11689512);
  g_assert_no_error(error);
  /* The OA-Net cue encoder: conv1..layer4, no fc. */
  c.num_classes = 0;
  g_assert_cmpint(agf_resnet18_param_count(&c, &error), ==, 11176512);
  c.blocks[2] = 0;
  g_assert_cmpint(agf_resnet18_param_count(&c, &error), ==, -1);
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
}

static void parity(AgfDevice *dev, gconstpointer data)
{
  (void)data;
  GError *error = NULL;
  g_autoptr(AgfWeights) w = parity_open(GOLDEN, dev, AGF_F32);
  g_autoptr(AgfResnet18) net = agf_resnet18_new(w, &error);
  g_assert_no_error(error);
  const AgfSafetensors *st = agf_weights_file(w);

  g_autoptr(AgfTensor) x = parity_tensor(st, dev, "x");
  g_autoptr(AgfTensor) f = agf_resnet18_features(net, x, &error);
  g_assert_no_error(error);
  parity_compare(st, "features", f, TOL);
  g_autoptr(AgfTensor) t = agf_resnet18_tokens(net, x, &error);
  g_assert_no_error(error);
  parity_compare(st, "tokens", t, TOL);
  g_autoptr(AgfTensor) l = agf_resnet18_logits(net, x, &error);
  g_assert_no_error(error);
  parity_compare(st, "logits", l, TOL);

  /* A wrong channel count is an error, not a crash. */
  g_autoptr(AgfTensor) tok = parity_tensor(st, dev, "tokens");
  g_autoptr(AgfTensor) bad = agf_resnet18_features(net, tok, &error);
  g_assert_null(bad);
  g_assert_error(error, AGF_ERROR, AGF_ERROR_SHAPE);
  g_clear_error(&error);
}

static gboolean load(AgfWeights *w, gconstpointer data, GError **error)
{
  (void)data;
  g_autoptr(AgfResnet18) net = agf_resnet18_new(w, error);
  return net != NULL;
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  static const char *const wrong[] = { "layer3.0.downsample.0.weight",
                                       NULL };
  static const char *const missing[] = { "layer2.1.bn2.running_var", NULL };
  static const ParityNetTests t = {
    "resnet18", test_config, "param-count", test_param_count, parity, NULL, NULL,
    GOLDEN, load, wrong, missing };
  return parity_net_main(&t);
}
