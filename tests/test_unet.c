/* UNet2DConditionModel against the PyTorch reference (tests/reference/
 * unet.py) on the CPU backend and on Vulkan; configuration from the file;
 * the SD-1.5 parameter count; load errors naming the tensor. */
#include "models/unet.h"
#include "parity_support.h"
#include "test_support.h"

#define TOL 1e-4
#define TOL_F16 1e-2
#define GOLDEN "unet.safetensors"

static void test_config(void)
{
  GError *error = NULL;
  g_autoptr(AgfWeights) w = parity_open(GOLDEN, agf_test_cpu(), AGF_F32);
  g_autoptr(AgfUnet) u = agf_unet_new(w, &error);
  g_assert_no_error(error);
  const AgfUnetConfig *c = agf_unet_config(u);
  g_assert_cmpint(c->n_levels, ==, 2);
  g_assert_cmpint(c->block_out_channels[0], ==, 16);
  g_assert_cmpint(c->block_out_channels[1], ==, 32);
  g_assert_true(c->down_attention[0] && !c->down_attention[1]);
  g_assert_true(!c->up_attention[0] && c->up_attention[1]);
  g_assert_cmpint(c->heads[0], ==, 2);
  g_assert_cmpint(c->heads[1], ==, 2);
  g_assert_cmpint(c->layers_per_block, ==, 1);
  g_assert_cmpint(c->transformer_depth, ==, 1);
  g_assert_cmpint(c->cross_attention_dim, ==, 24);
  g_assert_cmpint(c->time_embed_dim, ==, 64);
  g_assert_cmpint(c->norm_num_groups, ==, 8);
  g_assert_true(c->flip_sin_to_cos);
  gint64 n = agf_unet_param_count(c, &error);
  g_assert_no_error(error);
  g_assert_cmpint(n, ==, parity_param_count(agf_weights_file(w), ""));
}

static void test_param_count_sd15(void)
{
  AgfUnetConfig c;
  agf_unet_config_sd15(&c);
  GError *error = NULL;
  /* diffusers' UNet2DConditionModel for SD-1.5. */
  g_assert_cmpint(agf_unet_param_count(&c, &error), ==, 859520964);
  g_assert_no_error(error);
  c.heads[1] = 7; /* 640 channels do not split into 7 heads */
  g_assert_cmpint(agf_unet_param_count(&c, &error), ==, -1);
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
}

/* fp32 within TOL; f16 weights (and activations) get a looser bound. */
static const ParityPrecision f32 = { AGF_F32, TOL },
                             f16 = { AGF_F16, TOL_F16 };

static void parity(AgfDevice *dev, gconstpointer data)
{
  const AgfDType dt = ((const ParityPrecision *)data)->dt;
  const double tol = ((const ParityPrecision *)data)->tol;
  GError *error = NULL;
  g_autoptr(AgfWeights) w = parity_open(GOLDEN, dev, dt);
  g_autoptr(AgfUnet) u = agf_unet_new(w, &error);
  g_assert_no_error(error);
  const AgfSafetensors *st = agf_weights_file(w);

  g_autoptr(AgfTensor) sample = parity_tensor(st, dev, "sample");
  g_autoptr(AgfTensor) context = parity_tensor(st, dev, "context");
  g_autofree float *t = agf_safetensors_read_f32(st, "test.timesteps", 1,
                                                 (int64_t[]){ 2 }, &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) eps = agf_unet_forward(u, sample, t, context, &error);
  g_assert_no_error(error);
  parity_compare(st, "eps", eps, tol);

  /* Wrong context width and sample size are errors, not crashes. */
  g_autoptr(AgfTensor) bad = agf_unet_forward(u, sample, t, sample, &error);
  g_assert_null(bad);
  g_assert_error(error, AGF_ERROR, AGF_ERROR_SHAPE);
  g_clear_error(&error);
  g_autoptr(AgfTensor) ctx3 = agf_tensor_slice(context, 0, 0, 1, &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) bad2 = agf_unet_forward(u, sample, t, ctx3, &error);
  g_assert_null(bad2);
  g_assert_error(error, AGF_ERROR, AGF_ERROR_SHAPE);
  g_clear_error(&error);
}

static gboolean load(AgfWeights *w, gconstpointer data, GError **error)
{
  (void)data;
  g_autoptr(AgfUnet) u = agf_unet_new(w, error);
  return u != NULL;
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  static const char *const wrong[] = {
    "up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight", NULL };
  static const char *const missing[] = {
    "up_blocks.0.resnets.1.time_emb_proj.bias", NULL };
  static const ParityNetTests t = {
    "unet", test_config, "param-count-sd15", test_param_count_sd15, parity,
    &f32, &f16, GOLDEN, load, wrong, missing };
  return parity_net_main(&t);
}
