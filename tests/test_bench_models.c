/* agfas-bench models (the built binary, $AGFAS_BENCH): a --quick tiny run
 * on the CPU backend writes valid JSON with a timed row, and a peak memory,
 * for every network and the reconstruction. Functional only: no timing
 * thresholds (the machine's load decides those). */
#include <string.h>
#include "cli_support.h"
#include "test_support.h"

static const char *const networks[] = {
  "vae_encode", "vae_decode", "unet", "iresnet", "oanet", "resnet18",
  "mobilefacenet", "pnet", "reconstruct"
};

static void test_quick_json(void)
{
  const char *bin = g_getenv("AGFAS_BENCH");
  if (!bin) {
    g_test_skip("AGFAS_BENCH is not set (run through meson test)");
    return;
  }
  g_autofree char *dir = agf_test_make_tmp("agfas-bench-test-XXXXXX");
  g_autofree char *json = g_build_filename(dir, "models.json", NULL);
  g_autofree char *cache = g_build_filename(dir, "cache", NULL);
  const char *argv[] = { bin, "models", "--quick", "--preset", "tiny",
                         "--device", "cpu", "--json", json, "--cache-dir",
                         cache, NULL };
  g_autofree char *out = agf_cli_run_ok(argv, NULL);
  g_autoptr(JsonParser) parser = NULL;
  JsonArray *res = agf_bench_results(json, "agfas-bench-models/1", &parser);
  for (guint k = 0; k < G_N_ELEMENTS(networks); k++) {
    gboolean found = FALSE;
    for (guint i = 0; i < json_array_get_length(res); i++) {
      JsonObject *o = json_array_get_object_element(res, i);
      if (strcmp(json_object_get_string_member(o, "network"), networks[k]))
        continue;
      g_assert_cmpstr(json_object_get_string_member(o, "backend"), ==, "cpu");
      g_assert_cmpstr(json_object_get_string_member(o, "dtype"), ==, "f32");
      g_assert_cmpfloat(json_object_get_double_member(o, "usec"), >, 0);
      g_assert_cmpfloat(json_object_get_double_member(o, "peak_bytes"), >, 0);
      g_assert_cmpint(json_object_get_int_member(o, "runs"), >=, 1);
      found = TRUE;
    }
    if (!found)
      g_error("no %s row in %s:\n%s", networks[k], json, out);
  }
  agf_test_remove_tree(dir);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/bench/models/quick-json", test_quick_json);
  return g_test_run();
}
