/* The built-in sample's generator (trainer/train_sample_gen.c, in
 * process, on tiny random preset models: size, determinism per seed,
 * cancellation, the identity context) and the `agfas-train sample`
 * command ($AGFAS_TRAIN: both PNGs 256 x 256, identical for a seed,
 * different for another, provenance listing the model and output hashes,
 * usage and failure exits). The print-attack steps' tests are in
 * test_print_attack.c. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include "cli_support.h"
#include "test_sample.h"
#include "test_support.h"
#include "train_sample.h"
#include "io/image.h"
#include "models/presets.h"

static char *tmp; /* the fixture folder */
static char *vae_file, *unet_file, *iresnet_file;

/* ---- generator (in process) ---- */

static AgfDfg *open_dfg_on(AgfDevice *dev, const char *identity)
{
  g_autoptr(GError) error = NULL;
  AgfDfgIdentity *id = agf_sample_open_identity(identity, dev, AGF_F32,
                                                &error);
  g_assert_no_error(error);
  g_autoptr(AgfWeights) vw = agf_weights_open(vae_file, dev, AGF_F32, &error);
  g_assert_no_error(error);
  g_autoptr(AgfWeights) uw = agf_weights_open(unet_file, dev, AGF_F32,
                                              &error);
  g_assert_no_error(error);
  AgfDfg *dfg = agf_dfg_new(vw, uw, id, &error);
  g_assert_no_error(error);
  return dfg;
}

static AgfDfg *open_dfg(const char *identity)
{
  return open_dfg_on(agf_test_cpu(), identity);
}

static AgfRgbImage *generate_with(AgfDfg *dfg, const AgfTensor *ctx,
                                  guint64 seed, int size, const char *sampler)
{
  AgfSampleParams p;
  agf_sample_params_init(&p);
  p.sampler = sampler;
  p.steps = 2;
  p.seed = seed;
  p.size = size;
  g_autoptr(GError) error = NULL;
  g_autoptr(AgfTensor) x = agf_sample_generate(dfg, ctx, &p, NULL, NULL,
                                               &error);
  g_assert_no_error(error);
  g_assert_cmpint(x->shape[2], ==, size);
  g_assert_cmpint(x->shape[3], ==, size);
  AgfRgbImage *img = agf_sample_to_rgb(x, &error);
  g_assert_no_error(error);
  return img;
}

static AgfRgbImage *generate(AgfDfg *dfg, const AgfTensor *ctx,
                             guint64 seed, int size)
{
  return generate_with(dfg, ctx, seed, size, "ddim");
}

static gboolean count_calls(int done, int total, gpointer data)
{
  int *calls = data;
  g_assert_cmpint(done, <=, total);
  *calls = done;
  return done < 1; /* cancel after the first U-Net call */
}

static void test_generate(void)
{
  g_autoptr(AgfDfg) dfg = open_dfg("none");
  g_autoptr(GError) error = NULL;
  g_autoptr(AgfTensor) ctx = agf_sample_context(dfg, NULL, AGF_F32, &error);
  g_assert_no_error(error);
  g_autoptr(AgfRgbImage) a = generate(dfg, ctx, 1, 64);
  g_autoptr(AgfRgbImage) b = generate(dfg, ctx, 1, 64);
  g_autoptr(AgfRgbImage) c = generate(dfg, ctx, 2, 64);
  g_assert_true(sample_test_same_image(a, b));
  g_assert_false(sample_test_same_image(a, c));
  sample_test_assert_unit_range(a);
  /* PNDM: its own trajectory, as deterministic. */
  g_autoptr(AgfRgbImage) d = generate_with(dfg, ctx, 1, 64, "pndm");
  g_autoptr(AgfRgbImage) e = generate_with(dfg, ctx, 1, 64, "pndm");
  g_assert_true(sample_test_same_image(d, e));
  g_assert_false(sample_test_same_image(a, d));
  /* A size the networks cannot take, and cancellation. */
  AgfSampleParams p;
  agf_sample_params_init(&p);
  p.size = 100;
  g_assert_null(agf_sample_generate(dfg, ctx, &p, NULL, NULL, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  p.size = 64;
  p.steps = 5;
  int calls = -1;
  g_assert_null(agf_sample_generate(dfg, ctx, &p, count_calls, &calls,
                                    &error));
  g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint(calls, ==, 1);
}

/* The identity image conditions the sample: a non-zero context, another
 * image than the unconditioned one. */
static void test_generate_identity(void)
{
  g_autoptr(AgfDfg) dfg = open_dfg(iresnet_file);
  g_autoptr(GError) error = NULL;
  g_autoptr(AgfRgbImage) face = sample_test_random_image(64, 64, 9);
  g_autoptr(AgfImage) face8 = agf_rgb_image_to_image(face, &error);
  g_autofree char *path = g_build_filename(tmp, "face.png", NULL);
  g_assert_true(agf_image_save_png(face8, path, &error));
  g_autoptr(AgfTensor) ctx = agf_sample_context(dfg, path, AGF_F32, &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) zero = agf_sample_context(dfg, NULL, AGF_F32, &error);
  g_assert_no_error(error);
  g_assert_cmpint(ctx->shape[2], ==,
                  agf_unet_config(agf_dfg_unet(dfg))->cross_attention_dim);
  g_autofree float *v = agf_test_read_f32(ctx);
  double norm = 0;
  for (int64_t i = 0; i < agf_tensor_numel(ctx); i++)
    norm += fabs(v[i]);
  g_assert_cmpfloat(norm, >, 0);
  g_autoptr(AgfRgbImage) a = generate(dfg, ctx, 1, 64);
  g_autoptr(AgfRgbImage) b = generate(dfg, zero, 1, 64);
  g_assert_false(sample_test_same_image(a, b));
  g_autofree char *missing = g_build_filename(tmp, "no-such.png", NULL);
  g_assert_null(agf_sample_context(dfg, missing, AGF_F32, &error));
  g_assert_nonnull(strstr(error->message, "--identity-image"));
}

/* The same sample on the Vulkan backend: the noise is drawn on the host,
 * so only float rounding differs. */
static void test_generate_vulkan(void)
{
  AgfDevice *vk = agf_test_vulkan_or_skip();
  if (!vk)
    return;
  g_autoptr(AgfDfg) cpu = open_dfg("none");
  g_autoptr(AgfDfg) gpu = open_dfg_on(vk, "none");
  g_autoptr(GError) error = NULL;
  g_autoptr(AgfTensor) ctx_c = agf_sample_context(cpu, NULL, AGF_F32, &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) ctx_g = agf_sample_context(gpu, NULL, AGF_F32, &error);
  g_assert_no_error(error);
  g_autoptr(AgfRgbImage) a = generate(cpu, ctx_c, 5, 64);
  g_autoptr(AgfRgbImage) b = generate(gpu, ctx_g, 5, 64);
  double worst = 0;
  for (int i = 0; i < 64 * 64 * 3; i++)
    worst = MAX(worst, fabs(a->rgb[i] - b->rgb[i]));
  g_test_message("largest CPU / Vulkan difference %g", worst);
  g_assert_cmpfloat(worst, <, 2e-3);
  agf_test_assert_vk_clean();
}

/* ---- the command ---- */

/* agfas-train sample on the tiny models into tmp/name with seed. */
static char *sample_into(const char *name, const char *seed)
{
  char *dir = g_build_filename(tmp, name, NULL);
  AgfCliRun r =
    agf_cli_run("sample", "--vae", vae_file, "--unet", unet_file, "--out", dir,
                "--seed", seed, "--steps", "3", "--device", "cpu", NULL);
  agf_cli_check(&r, 0, NULL);
  return dir;
}

static GBytes *read_bytes(const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename(dir, name, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GMappedFile) f = g_mapped_file_new(path, FALSE, &error);
  g_assert_no_error(error);
  return g_mapped_file_get_bytes(f);
}

static char *sha256_of(const char *path)
{
  gchar *text = NULL;
  gsize n = 0;
  g_assert_true(g_file_get_contents(path, &text, &n, NULL));
  char *sha = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
                                          (const guchar *)text, n);
  g_free(text);
  return sha;
}

static void test_cli_writes_pair(void)
{
  g_autofree char *a = sample_into("a", "3");
  g_autofree char *b = sample_into("b", "3");
  g_autofree char *c = sample_into("c", "4");
  for (int i = 0; i < 2; i++) {
    const char *name = i ? "print.png" : "live.png";
    g_autofree char *path = g_build_filename(a, name, NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(AgfImage) img = agf_image_load(path, &error);
    g_assert_no_error(error);
    g_assert_cmpint(img->width, ==, 256);
    g_assert_cmpint(img->height, ==, 256);
    g_autoptr(GBytes) ba = read_bytes(a, name);
    g_autoptr(GBytes) bb = read_bytes(b, name);
    g_autoptr(GBytes) bc = read_bytes(c, name);
    g_assert_true(g_bytes_equal(ba, bb));
    g_assert_false(g_bytes_equal(ba, bc));
  }
  g_autoptr(GBytes) live = read_bytes(a, "live.png");
  g_autoptr(GBytes) print = read_bytes(a, "print.png");
  g_assert_false(g_bytes_equal(live, print));

  /* Provenance: the tool, the seed, every model's and output's hash. */
  g_autofree char *prov = g_build_filename(a, "provenance.json", NULL);
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *o = agf_test_read_json(prov, &parser);
  g_assert_cmpstr(json_object_get_string_member(o, "tool"), ==,
                  "agfas-train sample");
  g_assert_cmpint(json_object_get_int_member(o, "seed"), ==, 3);
  g_assert_cmpint(json_object_get_int_member(o, "steps"), ==, 3);
  JsonObject *models = json_object_get_object_member(o, "models");
  const char *keys[] = { "autoencoder", "unet" };
  const char *files[] = { vae_file, unet_file };
  for (int i = 0; i < 2; i++) {
    JsonObject *m = json_object_get_object_member(models, keys[i]);
    g_assert_nonnull(m);
    g_autofree char *sha = sha256_of(files[i]);
    g_assert_cmpstr(json_object_get_string_member(m, "sha256"), ==, sha);
    g_autofree char *base = g_path_get_basename(files[i]);
    g_assert_cmpstr(json_object_get_string_member(m, "file"), ==, base);
    /* How the weights were made: here, random tiny presets. */
    JsonObject *meta = json_object_get_object_member(m, "metadata");
    g_assert_cmpstr(json_object_get_string_member(meta, "agfas.preset"), ==,
                    "tiny");
  }
  g_assert_cmpstr(json_object_get_string_member(o, "identity_network"), ==,
                  "none");
  JsonObject *outputs = json_object_get_object_member(o, "outputs");
  for (int i = 0; i < 2; i++) {
    const char *name = i ? "print.png" : "live.png";
    g_autofree char *path = g_build_filename(a, name, NULL);
    g_autofree char *sha = sha256_of(path);
    JsonObject *m = json_object_get_object_member(outputs, name);
    g_assert_cmpstr(json_object_get_string_member(m, "sha256"), ==, sha);
  }
  g_assert_true(json_object_has_member(o, "print_attack"));
}

static void test_cli_errors(void)
{
  g_autofree char *dir = g_build_filename(tmp, "err", NULL);
  AgfCliRun r = agf_cli_run("sample", "--vae", vae_file, "--out", dir, NULL);
  agf_cli_check(&r, 2, "--unet");
  r = agf_cli_run("sample", "--vae", vae_file, "--unet", unet_file, "--out",
                  dir, "--identity-image", vae_file, NULL);
  agf_cli_check(&r, 2, "--identity");
  r = agf_cli_run("sample", "--vae", vae_file, "--unet", unet_file, "--out",
                  dir, "--sampler", "euler", NULL);
  agf_cli_check(&r, 2, NULL);
  g_autofree char *missing = g_build_filename(tmp, "missing.safetensors",
                                              NULL);
  r = agf_cli_run("sample", "--vae", missing, "--unet", unet_file, "--out",
                  dir, "--device", "cpu", "--steps", "1", NULL);
  agf_cli_check(&r, 1, "agfas-train: error: --vae");
  /* Nothing half-written on failure. */
  g_autofree char *live = g_build_filename(dir, "live.png", NULL);
  g_assert_false(g_file_test(live, G_FILE_TEST_EXISTS));
}

/* ---- fixture ---- */

static char *write_random(AgfNetKind k, const char *name)
{
  char *path = g_build_filename(tmp, name, NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true(agf_preset_write_random(AGF_PRESET_TINY, k, 5, AGF_ST_F32,
                                        path, &error));
  g_assert_no_error(error);
  return path;
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  tmp = agf_test_make_tmp("agfas-sample-XXXXXX");
  vae_file = write_random(AGF_NET_AUTOENCODER, "vae.safetensors");
  unet_file = write_random(AGF_NET_UNET, "unet.safetensors");
  iresnet_file = write_random(AGF_NET_IDENTITY, "iresnet.safetensors");
  sample_test_add_print_attack();
  g_test_add_func("/sample/generate/seeded", test_generate);
  g_test_add_func("/sample/generate/identity", test_generate_identity);
  g_test_add_func("/sample/generate/vulkan", test_generate_vulkan);
  if (g_getenv("AGFAS_TRAIN")) {
    g_test_add_func("/sample/cli/pair", test_cli_writes_pair);
    g_test_add_func("/sample/cli/errors", test_cli_errors);
  } else {
    g_printerr("test_sample: AGFAS_TRAIN unset, the command's tests are "
               "not registered (meson test sets it)\n");
  }
  int rc = g_test_run();
  agf_test_remove_tree(tmp);
  g_free(tmp);
  g_free(vae_file);
  g_free(unet_file);
  g_free(iresnet_file);
  return agf_test_finish() ? 1 : rc;
}
