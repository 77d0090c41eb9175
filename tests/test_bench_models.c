/* agfas-bench models (the built binary, $AGFAS_BENCH): a --quick tiny run
 * on the CPU backend writes valid JSON with a timed row, and a peak memory,
 * for every network and the reconstruction. Functional only: no timing
 * thresholds (the machine's load decides those). */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

static const char *const networks[] = {
  "vae_encode", "vae_decode", "unet", "iresnet", "oanet", "resnet18",
  "mobilefacenet", "pnet", "reconstruct"
};

static void remove_tree(const char *dir)
{
  GDir *d = g_dir_open(dir, 0, NULL);
  if (!d)
    return;
  const char *name;
  while ((name = g_dir_read_name(d))) {
    g_autofree char *p = g_build_filename(dir, name, NULL);
    if (g_file_test(p, G_FILE_TEST_IS_DIR))
      remove_tree(p);
    else
      g_remove(p);
  }
  g_dir_close(d);
  g_rmdir(dir);
}

static void test_quick_json(void)
{
  const char *bin = g_getenv("AGFAS_BENCH");
  if (!bin) {
    g_test_skip("AGFAS_BENCH is not set (run through meson test)");
    return;
  }
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp("agfas-bench-test-XXXXXX", &error);
  g_assert_no_error(error);
  g_autofree char *json = g_build_filename(dir, "models.json", NULL);
  g_autofree char *cache = g_build_filename(dir, "cache", NULL);
  const char *argv[] = { bin, "models", "--quick", "--preset", "tiny",
                         "--device", "cpu", "--json", json, "--cache-dir",
                         cache, NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL,
                             NULL, &out, &err, &status, &error));
  g_assert_no_error(error);
  if (!g_spawn_check_wait_status(status, NULL))
    g_error("agfas-bench models failed:\n%s\n%s", out, err);

  g_autoptr(JsonParser) parser = json_parser_new();
  g_assert_true(json_parser_load_from_file(parser, json, &error));
  g_assert_no_error(error);
  JsonObject *root = json_node_get_object(json_parser_get_root(parser));
  g_assert_nonnull(root);
  g_assert_cmpstr(json_object_get_string_member(root, "schema"), ==,
                  "agfas-bench-models/1");
  g_assert_cmpint(json_object_get_int_member(root, "threads"), >, 0);
  JsonArray *res = json_object_get_array_member(root, "results");
  g_assert_nonnull(res);
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
  remove_tree(dir);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/bench/models/quick-json", test_quick_json);
  return g_test_run();
}
