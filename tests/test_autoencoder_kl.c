/* AutoencoderKL against the PyTorch reference (tests/reference/
 * autoencoder_kl.py): encode moments, sampling with a given noise and decode
 * on the CPU backend and on Vulkan; configuration from the file; parameter
 * counts; load errors naming the tensor. */
#include "models/autoencoder_kl.h"
#include "parity_support.h"
#include "test_support.h"

#define TOL 1e-4
#define TOL_F16 1e-2
#define GOLDEN "autoencoder_kl.safetensors"

static void test_config(void)
{
  GError *error = NULL;
  g_autoptr(AgfWeights) w = parity_open(GOLDEN, agf_test_cpu(), AGF_F32);
  g_autoptr(AgfAutoencoderKL) vae = agf_autoencoder_kl_new(w, &error);
  g_assert_no_error(error);
  const AgfAutoencoderKLConfig *c = agf_autoencoder_kl_config(vae);
  g_assert_cmpint(c->n_levels, ==, 2);
  g_assert_cmpint(c->block_out_channels[0], ==, 16);
  g_assert_cmpint(c->block_out_channels[1], ==, 32);
  g_assert_cmpint(c->layers_per_block, ==, 1);
  g_assert_cmpint(c->in_channels, ==, 3);
  g_assert_cmpint(c->out_channels, ==, 3);
  g_assert_cmpint(c->latent_channels, ==, 4);
  g_assert_cmpint(c->norm_num_groups, ==, 8);
  g_assert_true(c->mid_attention);
  g_assert_cmpfloat_with_epsilon(c->scaling_factor, 0.18215, 1e-7);
  /* The count from the configuration is what the file holds. */
  gint64 n = agf_autoencoder_kl_param_count(c, &error);
  g_assert_no_error(error);
  g_assert_cmpint(n, ==, parity_param_count(agf_weights_file(w), ""));
}

static void test_param_count_sd15(void)
{
  AgfAutoencoderKLConfig c;
  agf_autoencoder_kl_config_sd15(&c);
  GError *error = NULL;
  /* diffusers' AutoencoderKL for SD-1.5 (stable-diffusion-v1-5/vae). */
  g_assert_cmpint(agf_autoencoder_kl_param_count(&c, &error), ==, 83653863);
  g_assert_no_error(error);
  c.norm_num_groups = 7; /* 128 channels do not split into 7 groups */
  g_assert_cmpint(agf_autoencoder_kl_param_count(&c, &error), ==, -1);
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  c.norm_num_groups = 32;
  c.n_levels = 0;
  g_assert_cmpint(agf_autoencoder_kl_param_count(&c, &error), ==, -1);
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
  g_autoptr(AgfAutoencoderKL) vae = agf_autoencoder_kl_new(w, &error);
  g_assert_no_error(error);
  const AgfSafetensors *st = agf_weights_file(w);

  g_autoptr(AgfTensor) x = parity_tensor(st, dev, "x");
  g_autoptr(AgfTensor) mean = NULL, logvar = NULL;
  g_assert_true(agf_autoencoder_kl_encode(vae, x, &mean, &logvar, &error));
  g_assert_no_error(error);
  parity_compare(st, "mean", mean, tol);
  parity_compare(st, "logvar", logvar, tol);

  g_autoptr(AgfTensor) noise = parity_tensor(st, dev, "noise");
  g_autoptr(AgfTensor) s = agf_autoencoder_kl_sample(mean, logvar, noise,
                                                     &error);
  g_assert_no_error(error);
  parity_compare(st, "sample", s, tol);

  /* Decode the reference sample so the decoder is measured alone. */
  g_autoptr(AgfTensor) z = parity_tensor(st, dev, "sample");
  g_autoptr(AgfTensor) y = agf_autoencoder_kl_decode(vae, z, &error);
  g_assert_no_error(error);
  parity_compare(st, "decoded", y, tol);

  /* A wrong input shape is an error, not a crash. */
  g_autoptr(AgfTensor) bad = agf_autoencoder_kl_decode(vae, x, &error);
  g_assert_null(bad);
  g_assert_error(error, AGF_ERROR, AGF_ERROR_SHAPE);
  g_clear_error(&error);
}

static gboolean load(AgfWeights *w, gconstpointer data, GError **error)
{
  (void)data;
  g_autoptr(AgfAutoencoderKL) vae = agf_autoencoder_kl_new(w, error);
  return vae != NULL;
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  static const char *const wrong[] = {
    "decoder.up_blocks.1.resnets.0.conv_shortcut.weight", NULL };
  /* An old-name attention tensor: the decoder's block uses them. */
  static const char *const missing[] = {
    "decoder.mid_block.attentions.0.proj_attn.bias", NULL };
  static const ParityNetTests t = {
    "autoencoder_kl", test_config, "param-count-sd15", test_param_count_sd15,
    parity, &f32, &f16, GOLDEN, load, wrong, missing };
  return parity_net_main(&t);
}
