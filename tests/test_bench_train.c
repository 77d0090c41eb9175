/* agfas-bench train (the built binary, $AGFAS_BENCH): a --quick run on the
 * CPU backend writes valid JSON with a timed row and a peak memory for
 * every step (the bare U-Net and ViT steps, the dfg and oanet training
 * steps, cue generation); where /usr/bin/python3 has torch, the run adds
 * --torch and each of our rows carries its ratio to the torch-cpu row of
 * the same step. Functional only: no timing thresholds (the machine's load
 * decides those). */
#include <math.h>
#include <string.h>
#include "cli_support.h"
#include "test_support.h"

static const char *const steps[] = { "unet", "vit", "dfg", "oanet", "cue" };

static gboolean have_torch(void)
{
  const char *argv[] = { "/usr/bin/python3", "-c", "import torch", NULL };
  int status = 0;
  return g_file_test(argv[0], G_FILE_TEST_IS_EXECUTABLE) &&
         g_spawn_sync(NULL, (char **)argv, NULL,
                      G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                      NULL, NULL, NULL, NULL, &status, NULL) &&
         g_spawn_check_wait_status(status, NULL);
}

/* The row of step with backend, or NULL. */
static JsonObject *find_row(JsonArray *res, const char *step, const char *backend)
{
  for (guint i = 0; i < json_array_get_length(res); i++) {
    JsonObject *o = json_array_get_object_element(res, i);
    if (!strcmp(json_object_get_string_member(o, "step"), step) &&
        !strcmp(json_object_get_string_member(o, "backend"), backend))
      return o;
  }
  return NULL;
}

static void test_quick_json(void)
{
  const char *bin = g_getenv("AGFAS_BENCH");
  if (!bin) {
    g_test_skip("AGFAS_BENCH is not set (run through meson test)");
    return;
  }
  const gboolean torch = have_torch();
  if (!torch)
    g_test_message("no torch in /usr/bin/python3: checking our rows only");
  g_autofree char *dir = agf_test_make_tmp("agfas-bench-train-XXXXXX");
  g_autofree char *json = g_build_filename(dir, "train.json", NULL);
  g_autofree char *cache = g_build_filename(dir, "cache", NULL);
  const char *argv[] = { bin, "train", "--quick", "--device", "cpu", "--json",
                         json, "--cache-dir", cache, torch ? "--torch" : NULL,
                         NULL };
  /* OpenMP threads that spin while waiting (ours through OpenBLAS, and
   * torch's) starve each other on a loaded machine: a shared CI box runs
   * the quick benchmark many times slower without this. */
  g_auto(GStrv) env = g_environ_setenv(g_get_environ(), "OMP_WAIT_POLICY",
                                       "passive", FALSE);
  g_autofree char *out = agf_cli_run_ok(argv, env);
  g_autoptr(JsonParser) parser = NULL;
  JsonArray *res = agf_bench_results(json, "agfas-bench-train/1", &parser);
  JsonObject *root = json_node_get_object(json_parser_get_root(parser));
  g_assert_true(json_object_get_boolean_member(root, "quick"));
  for (guint k = 0; k < G_N_ELEMENTS(steps); k++) {
    JsonObject *o = find_row(res, steps[k], "cpu");
    if (!o)
      g_error("no cpu %s row in %s:\n%s", steps[k], json, out);
    g_assert_cmpstr(json_object_get_string_member(o, "preset"), ==, "tiny");
    g_assert_cmpstr(json_object_get_string_member(o, "dtype"), ==, "f32");
    const double usec = json_object_get_double_member(o, "usec");
    const double sps = json_object_get_double_member(o, "samples_per_sec");
    const gint64 batch = json_object_get_int_member(o, "batch");
    g_assert_cmpfloat(usec, >, 0);
    g_assert_cmpint(batch, >=, 1);
    g_assert_cmpfloat(fabs(sps - batch * 1e6 / usec), <=, 1e-6 * sps);
    g_assert_cmpfloat(json_object_get_double_member(o, "peak_bytes"), >, 0);
    g_assert_cmpint(json_object_get_int_member(o, "runs"), >=, 1);
    const char *in = json_object_get_string_member(o, "input");
    if (!strcmp(steps[k], "oanet")) {
      /* SSDG's balanced batch: 2 domains x live / spoof, image + cue */
      g_assert_cmpint(batch % 4, ==, 0);
      g_assert_nonnull(strstr(in, " + "));
    } else if (!strcmp(steps[k], "cue")) {
      /* --quick: a 10-step PNDM schedule at strength 0.8 */
      g_assert_nonnull(strstr(in, "pndm 10x0.8"));
    } else if (!strcmp(steps[k], "dfg")) {
      g_assert_true(g_str_has_suffix(in, "x3x256x256"));
    }
    if (!torch)
      continue;
    JsonObject *t = find_row(res, steps[k], "torch-cpu");
    if (!t)
      g_error("no torch-cpu %s row in %s:\n%s", steps[k], json, out);
    g_assert_cmpint(json_object_get_int_member(t, "batch"), ==, batch);
    const double tsps = json_object_get_double_member(t, "samples_per_sec");
    g_assert_cmpfloat(tsps, >, 0);
    const double ratio = json_object_get_double_member(o, "ratio_vs_torch");
    g_assert_cmpfloat(fabs(ratio - sps / tsps), <=, 1e-6 * ratio);
  }
  agf_test_remove_tree(dir);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/bench/train/quick-json", test_quick_json);
  return g_test_run();
}
