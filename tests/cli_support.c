#include "cli_support.h"
#include <string.h>
#include <sys/wait.h>

gboolean agf_cli_available(const char *test)
{
  if (g_getenv("AGFAS_TRAIN"))
    return TRUE;
  g_printerr("%s: set AGFAS_TRAIN to the agfas-train binary (meson test "
             "does)\n", test);
  return FALSE;
}

AgfCliRun agf_cli_runv(const char *const *args, char *const *env)
{
  const char *bin = g_getenv("AGFAS_TRAIN");
  g_assert_nonnull(bin);
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  g_ptr_array_add(argv, (char *)bin);
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add(argv, (char *)*a);
  g_ptr_array_add(argv, NULL);
  AgfCliRun r = { 0 };
  GError *error = NULL;
  int wait = 0;
  g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, (char **)env,
                             G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err,
                             &wait, &error));
  g_assert_no_error(error);
  r.status = WIFEXITED(wait) ? WEXITSTATUS(wait) : -1;
  /* The validation layers print "agfas vulkan error/warning:". */
  if (strstr(r.err, "agfas vulkan "))
    g_error("validation messages from agfas-train:\n%s", r.err);
  return r;
}

AgfCliRun agf_cli_run(const char *first, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new();
  va_list ap;
  va_start(ap, first);
  for (const char *a = first; a; a = va_arg(ap, const char *))
    g_ptr_array_add(args, (char *)a);
  va_end(ap);
  g_ptr_array_add(args, NULL);
  return agf_cli_runv((const char *const *)args->pdata, NULL);
}

void agf_cli_run_clear(AgfCliRun *r)
{
  g_clear_pointer(&r->out, g_free);
  g_clear_pointer(&r->err, g_free);
}

void agf_cli_expect_exit(const AgfCliRun *r, int want, const char *needle)
{
  if (r->status != want)
    g_error("agfas-train exited %d, want %d\nstdout: %s\nstderr: %s",
            r->status, want, r->out, r->err);
  if (needle && !strstr(r->err, needle) &&
      !(want == 0 && strstr(r->out, needle)))
    g_error("agfas-train output lacks \"%s\"\nstdout: %s\nstderr: %s",
            needle, r->out, r->err);
}

void agf_cli_expect(const AgfCliRun *r, int want, const char *needle)
{
  agf_cli_expect_exit(r, want, needle);
  if (want == 1) {
    /* One line, prefixed. */
    g_assert_true(g_str_has_prefix(r->err, "agfas-train: error: "));
    g_assert_cmpint(strchr(r->err, '\n') - r->err, ==, strlen(r->err) - 1);
    g_test_message("expected failure: %s", r->err);
  }
}

void agf_cli_check(AgfCliRun *r, int want, const char *needle)
{
  agf_cli_expect(r, want, needle);
  agf_cli_run_clear(r);
}

char *agf_cli_run_ok(const char *const *argv, char *const *env)
{
  g_autofree char *err = NULL;
  char *out = NULL;
  int status = 0;
  GError *error = NULL;
  g_assert_true(g_spawn_sync(NULL, (char **)argv, (char **)env,
                             G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status,
                             &error));
  g_assert_no_error(error);
  if (!g_spawn_check_wait_status(status, NULL))
    g_error("%s failed:\n%s\n%s", argv[0], out, err);
  return out;
}

JsonObject *agf_test_read_json(const char *path, JsonParser **parser)
{
  GError *error = NULL;
  *parser = json_parser_new();
  g_assert_true(json_parser_load_from_file(*parser, path, &error));
  g_assert_no_error(error);
  JsonObject *root = json_node_get_object(json_parser_get_root(*parser));
  g_assert_nonnull(root);
  return root;
}

JsonArray *agf_bench_results(const char *path, const char *schema,
                             JsonParser **parser)
{
  JsonObject *root = agf_test_read_json(path, parser);
  g_assert_cmpstr(json_object_get_string_member(root, "schema"), ==, schema);
  g_assert_cmpint(json_object_get_int_member(root, "threads"), >, 0);
  JsonArray *res = json_object_get_array_member(root, "results");
  g_assert_nonnull(res);
  return res;
}
