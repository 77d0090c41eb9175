/* GLib test of app/agfas-settings.c: a round trip keeps every value, a
 * missing file gives the defaults silently, a corrupt file or a bad value
 * gives the defaults with a warning instead of a crash. */
#include <glib/gstdio.h>

#include "agfas-settings.h"

static char *tmp_path(char **dir)
{
  GError *error = NULL;
  *dir = g_dir_make_tmp("agfas-settings-XXXXXX", &error);
  g_assert_no_error(error);
  /* A folder that does not exist yet: save creates it. */
  return g_build_filename(*dir, "agfas", "settings.ini", NULL);
}

static void remove_tmp(char *dir, char *path)
{
  g_remove(path);
  g_autofree char *sub = g_path_get_dirname(path);
  g_rmdir(sub);
  g_rmdir(dir);
  g_free(dir);
  g_free(path);
}

static void assert_defaults(const AgfasSettings *s)
{
  g_assert_cmpstr(s->device, ==, "auto");
  g_assert_cmpstr(s->colormap, ==, "viridis");
  g_assert_cmpstr(s->sampler, ==, "ddim");
  g_assert_cmpint(s->steps, ==, 10);
  g_assert_cmpfloat_with_epsilon(s->t0, 0.3, 1e-9);
  g_assert_true(s->mask);
  g_assert_false(s->fixed_range);
}

static void test_round_trip(void)
{
  char *dir, *path = tmp_path(&dir);
  AgfasSettings s;
  agfas_settings_init(&s);
  g_free(s.device), s.device = g_strdup("vulkan:0");
  g_free(s.colormap), s.colormap = g_strdup("turbo");
  g_free(s.sampler), s.sampler = g_strdup("pndm");
  s.steps = 37, s.t0 = 0.65, s.mask = FALSE, s.fixed_range = TRUE;
  GError *error = NULL;
  g_assert_true(agfas_settings_save(&s, path, &error));
  g_assert_no_error(error);
  /* Saving again replaces the file (atomic rename over it). */
  g_assert_true(agfas_settings_save(&s, path, &error));
  g_assert_no_error(error);

  AgfasSettings r;
  agfas_settings_init(&r);
  agfas_settings_load(&r, path);
  g_assert_cmpstr(r.device, ==, "vulkan:0");
  g_assert_cmpstr(r.colormap, ==, "turbo");
  g_assert_cmpstr(r.sampler, ==, "pndm");
  g_assert_cmpint(r.steps, ==, 37);
  g_assert_cmpfloat_with_epsilon(r.t0, 0.65, 1e-9);
  g_assert_false(r.mask);
  g_assert_true(r.fixed_range);
  agfas_settings_clear(&r);
  agfas_settings_clear(&s);
  /* No temporary file left beside it. */
  g_autofree char *sub = g_path_get_dirname(path);
  g_autoptr(GDir) d = g_dir_open(sub, 0, NULL);
  g_assert_cmpstr(g_dir_read_name(d), ==, "settings.ini");
  g_assert_null(g_dir_read_name(d));
  remove_tmp(dir, path);
}

static void test_missing(void)
{
  char *dir, *path = tmp_path(&dir);
  AgfasSettings s;
  agfas_settings_init(&s);
  agfas_settings_load(&s, path);   /* no warning expected */
  assert_defaults(&s);
  agfas_settings_clear(&s);
  remove_tmp(dir, path);
}

static void write_file(const char *path, const char *text)
{
  g_autofree char *sub = g_path_get_dirname(path);
  g_assert_cmpint(g_mkdir_with_parents(sub, 0700), ==, 0);
  GError *error = NULL;
  g_assert_true(g_file_set_contents(path, text, -1, &error));
  g_assert_no_error(error);
}

static void test_corrupt(void)
{
  char *dir, *path = tmp_path(&dir);
  write_file(path, "\x01\x02 not [a key file\n=== \xff\xfe\n");
  AgfasSettings s;
  agfas_settings_init(&s);
  g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                        "preferences file *unreadable*");
  agfas_settings_load(&s, path);
  g_test_assert_expected_messages();
  assert_defaults(&s);
  agfas_settings_clear(&s);
  remove_tmp(dir, path);
}

static void test_bad_values(void)
{
  char *dir, *path = tmp_path(&dir);
  write_file(path, "[analysis]\nsteps=-4\nt0=banana\ncolormap=jet\n"
                   "sampler=pndm\n");
  AgfasSettings s;
  agfas_settings_init(&s);
  g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*colormap*");
  g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*steps*");
  g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*t0*");
  agfas_settings_load(&s, path);
  g_test_assert_expected_messages();
  /* The good key is kept, the bad ones fall back to their defaults. */
  g_assert_cmpstr(s.sampler, ==, "pndm");
  g_assert_cmpstr(s.colormap, ==, "viridis");
  g_assert_cmpint(s.steps, ==, 10);
  g_assert_cmpfloat_with_epsilon(s.t0, 0.3, 1e-9);
  agfas_settings_clear(&s);
  remove_tmp(dir, path);
}

static void test_default_path(void)
{
  g_autofree char *p = agfas_settings_default_path();
  g_autofree char *want = g_build_filename(g_get_user_config_dir(), "agfas",
                                           "settings.ini", NULL);
  g_assert_cmpstr(p, ==, want);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func("/app/settings/round-trip", test_round_trip);
  g_test_add_func("/app/settings/missing", test_missing);
  g_test_add_func("/app/settings/corrupt", test_corrupt);
  g_test_add_func("/app/settings/bad-values", test_bad_values);
  g_test_add_func("/app/settings/default-path", test_default_path);
  return g_test_run();
}
