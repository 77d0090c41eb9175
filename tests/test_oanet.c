/* OA-Net and its ablation variants against the PyTorch reference
 * (tests/reference/oanet.py): logits, normalized features and spoof
 * probabilities on the CPU backend and on Vulkan; configuration from the
 * file; the paper's parameter counts; load errors naming the tensor. */
#include "models/oanet.h"
#include "parity_support.h"
#include "test_support.h"

#define TOL 1e-4

static const char *const goldens[] = {
  "oanet.safetensors", "oanet_image_only.safetensors",
  "oanet_residual_only.safetensors", "oanet_dual_branch.safetensors",
};

static void test_config(void)
{
  static const AgfOanetVariant variants[] = {
    AGF_OANET_FULL, AGF_OANET_IMAGE_ONLY, AGF_OANET_RESIDUAL_ONLY,
    AGF_OANET_DUAL_BRANCH,
  };
  for (int g = 0; g < 4; g++) {
    GError *error = NULL;
    g_autoptr(AgfWeights) w = parity_open(goldens[g], agf_test_cpu(),
                                          AGF_F32);
    g_autoptr(AgfOanet) net = agf_oanet_new(w, &error);
    g_assert_no_error(error);
    const AgfOanetConfig *c = agf_oanet_config(net);
    g_assert_cmpint(c->variant, ==, variants[g]);
    g_assert_cmpint(c->vit.img_size, ==, 32);
    g_assert_cmpint(c->vit.patch, ==, 16);
    g_assert_cmpint(c->vit.dim, ==, 32);
    g_assert_cmpint(c->vit.depth, ==, 2);
    g_assert_cmpint(c->vit.heads, ==, 2);
    g_assert_cmpint(c->vit.mlp_dim, ==, 128);
    g_assert_cmpint(c->vit.in_channels, ==, g == 2 ? 6 : 3);
    g_assert_cmpint(c->vit.kv_dim, ==, g == 0 ? 32 : 0);
    g_assert_cmpint(c->feature_dim, ==, 16);
    g_assert_cmpint(c->n_classes, ==, 2);
    g_assert_cmpint(c->spoof_class, ==, 0);
    g_assert_cmpint(c->feature_norm, ==,
                    g == 3 ? AGF_OANET_NORM_SSDG : AGF_OANET_NORM_L2);
    g_assert_cmpfloat(c->ln_eps, ==, g == 1 ? 1e-12f : 1e-6f);
    if (g == 0)
      g_assert_cmpint(c->cue_encoder.in_channels, ==, 3);
    if (g == 3)
      g_assert_cmpint(c->cue_vit.in_channels, ==, 6);
    AgfOanetParamCounts parts;
    gint64 n = agf_oanet_param_count(c, &parts, &error);
    g_assert_no_error(error);
    g_assert_cmpint(n, ==, parity_param_count(agf_weights_file(w), ""));
  }
}

static void test_param_count_paper(void)
{
  AgfOanetConfig c;
  AgfOanetParamCounts p;
  GError *error = NULL;
  /* method.md: ViT-B/16 85.8 M; with the 12 cross-attention modules (and
   * the head) 109.8 M; the ResNet-18 cue encoder (conv1..layer4) apart. */
  agf_oanet_config_paper(&c, AGF_OANET_FULL);
  g_assert_cmpint(agf_oanet_param_count(&c, &p, &error), ==, 121018180);
  g_assert_no_error(error);
  g_assert_cmpint(p.vit, ==, 85798656);
  g_assert_cmpint(p.cross, ==, 23648256);
  g_assert_cmpint(p.head, ==, 394756);
  g_assert_cmpint(p.vit + p.cross + p.head, ==, 109841668);
  g_assert_cmpint(p.cue_encoder, ==, 11176512);
  agf_oanet_config_paper(&c, AGF_OANET_IMAGE_ONLY);
  g_assert_cmpint(agf_oanet_param_count(&c, &p, &error), ==,
                  85798656 + 394756);
  agf_oanet_config_paper(&c, AGF_OANET_DUAL_BRANCH);
  g_assert_cmpint(agf_oanet_param_count(&c, &p, &error), ==,
                  2 * 85798656 + 394756 + 768 * 512);
  c.vit.heads = 7; /* 768 does not split into 7 heads */
  g_assert_cmpint(agf_oanet_param_count(&c, &p, &error), ==, -1);
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
}

static void parity(AgfDevice *dev, gconstpointer data)
{
  const int g = GPOINTER_TO_INT(data);
  GError *error = NULL;
  g_autoptr(AgfWeights) w = parity_open(goldens[g], dev, AGF_F32);
  g_autoptr(AgfOanet) net = agf_oanet_new(w, &error);
  g_assert_no_error(error);
  const AgfSafetensors *st = agf_weights_file(w);
  g_test_message("%s", goldens[g]);

  g_autoptr(AgfTensor) image = parity_tensor(st, dev, "image");
  g_autoptr(AgfTensor) cue = parity_tensor(st, dev, "cue");
  g_autoptr(AgfTensor) logits = NULL, feature = NULL;
  g_assert_true(agf_oanet_forward(net, image, cue, &logits, &feature,
                                  &error));
  g_assert_no_error(error);
  parity_compare(st, "logits", logits, TOL);
  parity_compare(st, "feature", feature, TOL);
  g_autoptr(AgfTensor) p = agf_oanet_spoof_probability(net, logits, &error);
  g_assert_no_error(error);
  parity_compare(st, "prob_spoof", p, TOL);

  /* Inputs swapped: a shape error, not a crash. */
  g_autoptr(AgfTensor) bad = NULL;
  const AgfTensor *wrong = g == 1 ? feature : image;
  g_assert_false(agf_oanet_forward(net, cue, wrong, &bad, NULL, &error));
  g_assert_null(bad);
  g_assert_error(error, AGF_ERROR, AGF_ERROR_SHAPE);
  g_clear_error(&error);
}

static gboolean load(AgfWeights *w, gconstpointer data, GError **error)
{
  (void)data;
  g_autoptr(AgfOanet) net = agf_oanet_new(w, error);
  return net != NULL;
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  static const char *const names[] = { "oanet", "image-only", "residual-only",
                                       "dual-branch" };
  for (int g = 0; g < 4; g++) {
    g_autofree char *c = g_strdup_printf("/oanet/parity-cpu/%s", names[g]);
    parity_add_cpu(c, parity, GINT_TO_POINTER(g));
    g_autofree char *v = g_strdup_printf("/oanet/parity-vulkan/%s", names[g]);
    parity_add_vulkan(v, parity, GINT_TO_POINTER(g));
  }
  static const char *const wrong[] = {
    "blocks.1.cross_attn.v.weight", "classifier.weight_g",
    "cue_encoder.layer4.0.conv2.weight", "blocks.1.mlp.fc2.weight", NULL,
  };
  static const char *const missing[] = {
    "blocks.0.cross_norm.bias", "cue_encoder.layer3.1.bn1.running_mean",
    "head.fc.bias", "norm.weight", NULL,
  };
  static ParityNetTests t = {
    "oanet", test_config, "param-count-paper", test_param_count_paper, NULL,
    NULL, NULL, NULL, load, wrong, missing };
  t.golden = goldens[0];
  return parity_net_main(&t);
}
