/* The app's non-widget units: the model layout lookup (agfas-models.h) and
 * the analysis pipeline (agfas-analysis.h) with and without networks. */
#include <glib/gstdio.h>
#include <string.h>

#include "agfas-analysis.h"
#include "agfas-models.h"
#include "app_support.h"
#include "io/image.h"
#include "nn/error.h"
#include "pipeline/analyze.h"

static char *tmp_dir(void)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp("agfas-app-XXXXXX", &error);
  g_assert_no_error(error);
  return dir;
}

static void test_layout(void)
{
  g_autofree char *root = tmp_dir();
  g_setenv("AGFAS_MODELS_DIR", root, TRUE);
  g_auto(GStrv) dirs = agf_models_search_path();
  g_assert_cmpstr(dirs[0], ==, root);
  /* Only the user's root: never mixed with the bundled defaults. */
  g_assert_cmpuint(g_strv_length(dirs), ==, 1);

  GError *error = NULL;
  g_autofree char *none = agfas_model_find(AGFAS_MODEL_OANET, &error);
  g_assert_null(none);
  g_assert_error(error, AGF_ERROR, AGF_ERROR_IO);
  g_assert_nonnull(strstr(error->message, "No OA-Net installed"));
  g_assert_nonnull(strstr(error->message, "agfas-train import"));
  g_assert_nonnull(strstr(error->message, root));
  g_clear_error(&error);

  g_autofree char *dfg = g_build_filename(root, "dfg", NULL);
  g_assert_cmpint(g_mkdir_with_parents(dfg, 0755), ==, 0);
  g_autofree char *unet = g_build_filename(root, "dfg", "unet.safetensors",
                                           NULL);
  g_assert_true(g_file_set_contents(unet, "x", 1, NULL));
  g_autofree char *found = agfas_model_find(AGFAS_MODEL_UNET, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(found, ==, unet);
  g_assert_cmpstr(agfas_model_relpath(AGFAS_MODEL_AUTOENCODER), ==,
                  "dfg/autoencoder_kl.safetensors");
  g_unsetenv("AGFAS_MODELS_DIR");
  app_test_remove_tree(root);
}

static void run_on(const char *root, gboolean expect_dfg,
                   gboolean expect_score)
{
  g_setenv("AGFAS_MODELS_DIR", root, TRUE);
  g_autofree char *png = g_build_filename(root, "face.png", NULL);
  app_test_write_image(png, 200, 160);
  AgfasAnalysisParams p;
  agfas_analysis_params_init(&p);
  p.steps = 4;
  p.strength = 0.5;
  g_autoptr(AgfasEngine) e = agfas_engine_new();
  GError *error = NULL;
  g_autoptr(AgfasAnalysisResult) r = agfas_engine_run(e, "cpu", png, &p, NULL,
                                                      NULL, NULL, &error);
  g_assert_no_error(error);
  g_assert_nonnull(r);
  g_assert_cmpint(r->input.width, ==, 200);
  g_assert_cmpint(r->input.height, ==, 160);
  g_assert_nonnull(r->input.rgba);
  g_assert_cmpfloat(r->box[2], >, r->box[0]);
  if (expect_dfg) {
    g_assert_null(r->dfg_note);
    g_assert_cmpint(r->recon.width, ==, 256);
    g_assert_nonnull(r->heat.rgba);
    g_assert_nonnull(r->cue.rgba);
    g_assert_cmpint(r->n_calls, ==, 2);
  } else {
    g_assert_nonnull(strstr(r->dfg_note, "No DFG autoencoder installed"));
    g_assert_null(r->recon.rgba);
  }
  if (expect_score) {
    g_assert_true(r->has_score);
    g_assert_cmpfloat(r->score, >=, 0);
    g_assert_cmpfloat(r->score, <=, 1);
  } else {
    g_assert_false(r->has_score);
    g_assert_nonnull(r->score_note);
  }
  g_unsetenv("AGFAS_MODELS_DIR");
}

static void test_run_no_models(void)
{
  g_autofree char *root = tmp_dir();
  run_on(root, FALSE, FALSE);
  app_test_remove_tree(root);
}

static void test_run_tiny(void)
{
  g_autofree char *root = tmp_dir();
  app_test_write_models(root, TRUE);
  run_on(root, TRUE, TRUE);
  app_test_remove_tree(root);
}

/* img as RGB with a padded stride: the other layout run_image takes. */
static AgfImage *rgb_padded(const AgfImage *img)
{
  AgfImage *out = g_new0(AgfImage, 1);
  out->width = img->width, out->height = img->height, out->channels = 3;
  out->stride = (gsize)img->width * 3 + 5;
  out->pixels = g_malloc0(out->stride * img->height);
  for (int y = 0; y < img->height; y++)
    for (int x = 0; x < img->width; x++)
      memcpy(out->pixels + out->stride * y + x * 3,
             img->pixels + img->stride * y + x * 4, 3);
  return out;
}

/* Decoded pixels give the same analysis as their file, without a read. */
static void test_run_image(void)
{
  g_autofree char *root = tmp_dir();
  app_test_write_models(root, TRUE);
  g_setenv("AGFAS_MODELS_DIR", root, TRUE);
  g_autofree char *png = g_build_filename(root, "face.png", NULL);
  app_test_write_image(png, 120, 96);
  GError *error = NULL;
  g_autoptr(AgfImage) img = agf_image_load(png, &error);
  g_assert_no_error(error);
  g_autoptr(AgfImage) rgb = rgb_padded(img);
  AgfasAnalysisParams p;
  agfas_analysis_params_init(&p);
  p.steps = 4;
  p.strength = 0.5;
  g_autoptr(AgfasEngine) e = agfas_engine_new();
  g_autoptr(AgfasAnalysisResult) from_file = agfas_engine_run(
    e, "cpu", png, &p, NULL, NULL, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpfloat(from_file->stage_s[AGFAS_STAGE_READ], >=, 0);
  const AgfImage *inputs[] = { img, rgb };
  for (guint i = 0; i < G_N_ELEMENTS(inputs); i++) {
    g_autoptr(AgfasAnalysisResult) r = agfas_engine_run_image(
      e, "cpu", inputs[i], &p, NULL, NULL, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpfloat(r->stage_s[AGFAS_STAGE_READ], ==, -1);
    g_assert_true(g_bytes_equal(r->input.rgba, from_file->input.rgba));
    g_assert_cmpmem(r->box, sizeof r->box, from_file->box,
                    sizeof from_file->box);
    g_assert_true(r->has_score && from_file->has_score);
    g_assert_cmpfloat_with_epsilon(r->score, from_file->score, 1e-6);
    g_assert_cmpint(r->heat_width, ==, from_file->heat_width);
    gsize n = (gsize)r->heat_width * r->heat_height;
    for (gsize k = 0; k < n; k++)
      g_assert_cmpfloat_with_epsilon(r->heat_f32[k], from_file->heat_f32[k],
                                     1e-5);
  }
  /* Bad pixels: an error saying what is expected, no crash. */
  AgfImage bad = *img;
  bad.channels = 2;
  g_assert_null(agfas_engine_run_image(e, "cpu", &bad, &p, NULL, NULL, NULL,
                                       &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull(strstr(error->message, "RGB or RGBA"));
  g_clear_error(&error);
  g_unsetenv("AGFAS_MODELS_DIR");
  app_test_remove_tree(root);
}

static void test_cancel(void)
{
  g_autofree char *root = tmp_dir();
  app_test_write_models(root, FALSE);
  g_setenv("AGFAS_MODELS_DIR", root, TRUE);
  g_autofree char *png = g_build_filename(root, "face.png", NULL);
  app_test_write_image(png, 64, 64);
  AgfasAnalysisParams p;
  agfas_analysis_params_init(&p);
  g_autoptr(GCancellable) c = g_cancellable_new();
  g_cancellable_cancel(c);
  g_autoptr(AgfasEngine) e = agfas_engine_new();
  GError *error = NULL;
  AgfasAnalysisResult *r = agfas_engine_run(e, "cpu", png, &p, c, NULL, NULL,
                                            &error);
  g_assert_null(r);
  g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error(&error);
  g_unsetenv("AGFAS_MODELS_DIR");
  app_test_remove_tree(root);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/app/models/layout", test_layout);
  g_test_add_func("/app/analysis/no-models", test_run_no_models);
  g_test_add_func("/app/analysis/tiny", test_run_tiny);
  g_test_add_func("/app/analysis/image", test_run_image);
  g_test_add_func("/app/analysis/cancel", test_cancel);
  return g_test_run();
}
