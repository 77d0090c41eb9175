/* ArcFace iresnet against the PyTorch reference (tests/reference/
 * iresnet.py): the 7x7 identity map, its tokens, the padded identity
 * context and the embedding on the CPU backend and on Vulkan;
 * configuration from the file; parameter counts of insightface's depths;
 * load errors naming the tensor. */
#include "models/iresnet.h"
#include "parity_support.h"
#include "test_support.h"

#define TOL 1e-4
#define GOLDEN "iresnet.safetensors"

static void test_config(void)
{
  GError *error = NULL;
  g_autoptr(AgfWeights) w = parity_open(GOLDEN, agf_test_cpu(), AGF_F32);
  g_autoptr(AgfIresnet) net = agf_iresnet_new(w, &error);
  g_assert_no_error(error);
  const AgfIresnetConfig *c = agf_iresnet_config(net);
  g_assert_cmpint(c->in_channels, ==, 3);
  g_assert_cmpint(c->stem_width, ==, 8);
  static const int widths[4] = { 8, 16, 32, 32 };
  for (int s = 0; s < 4; s++) {
    g_assert_cmpint(c->widths[s], ==, widths[s]);
    g_assert_cmpint(c->blocks[s], ==, 2);
  }
  g_assert_cmpint(c->depth, ==, 18);
  g_assert_cmpint(c->map_size, ==, 7);
  g_assert_cmpint(c->num_features, ==, 16);
  gint64 n = agf_iresnet_param_count(c, &error);
  g_assert_no_error(error);
  g_assert_cmpint(n, ==, parity_param_count(agf_weights_file(w), ""));
}

static void test_param_count(void)
{
  /* insightface's backbones (method.md: iresnet18 24.0 M, iresnet50
   * 43.6 M), counted by torch in tests/reference/iresnet.py. */
  static const struct { int depth; gint64 n; } want[] = {
    { 18, 24025600 }, { 34, 34139328 }, { 50, 43590848 }, { 100, 65156160 },
  };
  GError *error = NULL;
  for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
    AgfIresnetConfig c;
    g_assert_true(agf_iresnet_config_preset(&c, want[i].depth, &error));
    g_assert_cmpint(agf_iresnet_param_count(&c, &error), ==, want[i].n);
    g_assert_no_error(error);
  }
  AgfIresnetConfig c;
  g_assert_false(agf_iresnet_config_preset(&c, 42, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
}

static void parity(AgfDevice *dev, gconstpointer data)
{
  (void)data;
  GError *error = NULL;
  g_autoptr(AgfWeights) w = parity_open(GOLDEN, dev, AGF_F32);
  g_autoptr(AgfIresnet) net = agf_iresnet_new(w, &error);
  g_assert_no_error(error);
  const AgfSafetensors *st = agf_weights_file(w);

  g_autoptr(AgfTensor) x = parity_tensor(st, dev, "x");
  g_autoptr(AgfTensor) map = agf_iresnet_map(net, x, &error);
  g_assert_no_error(error);
  parity_compare(st, "map", map, TOL);
  g_autoptr(AgfTensor) tokens = NULL, emb = NULL;
  g_assert_true(agf_iresnet_forward(net, x, &tokens, &emb, &error));
  g_assert_no_error(error);
  parity_compare(st, "tokens", tokens, TOL);
  parity_compare(st, "embedding", emb, TOL);
  g_autoptr(AgfTensor) ctx = agf_identity_context(tokens, 40, &error);
  g_assert_no_error(error);
  parity_compare(st, "context", ctx, TOL);
  g_autoptr(AgfTensor) same = agf_identity_context(tokens, 32, &error);
  g_assert_true(same == tokens);
  g_autoptr(AgfTensor) narrow = agf_identity_context(tokens, 31, &error);
  g_assert_null(narrow);
  g_assert_error(error, AGF_ERROR, AGF_ERROR_SHAPE);
  g_clear_error(&error);

  /* Only 112x112 fits the 7x7 map the fc was trained on. */
  g_autoptr(AgfTensor) bad = agf_iresnet_map(net, map, &error);
  g_assert_null(bad);
  g_assert_error(error, AGF_ERROR, AGF_ERROR_SHAPE);
  g_clear_error(&error);
}

static gboolean load(AgfWeights *w, gconstpointer data, GError **error)
{
  (void)data;
  g_autoptr(AgfIresnet) net = agf_iresnet_new(w, error);
  return net != NULL;
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  static const char *const wrong[] = { "layer4.1.prelu.weight", NULL };
  static const char *const missing[] = { "features.running_mean",
                                         NULL };
  static const ParityNetTests t = {
    "iresnet", test_config, "param-count", test_param_count, parity, NULL, NULL,
    GOLDEN, load, wrong, missing };
  return parity_net_main(&t);
}
