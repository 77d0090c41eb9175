/* See agfas-recent.h. */
#include "agfas-recent.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "io/atomic_file.h"

#define GROUP "recent"
#define KEY "paths"

char *agfas_recent_default_path(void)
{
  return g_build_filename(g_get_user_config_dir(), "agfas", "recent.ini",
                          NULL);
}

GStrv agfas_recent_load(const char *file)
{
  g_autoptr(GKeyFile) kf = g_key_file_new();
  GError *error = NULL;
  g_autoptr(GStrvBuilder) out = g_strv_builder_new();
  if (!g_key_file_load_from_file(kf, file, G_KEY_FILE_NONE, &error)) {
    if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      g_warning("Recent files list %s is unreadable (%s); starting a new "
                "one", file, error->message);
    g_error_free(error);
    return g_strv_builder_end(out);
  }
  g_auto(GStrv) paths = g_key_file_get_string_list(kf, GROUP, KEY, NULL,
                                                   NULL);
  guint n = 0;
  for (guint i = 0; paths && paths[i] && n < AGFAS_RECENT_MAX; i++)
    if (g_file_test(paths[i], G_FILE_TEST_EXISTS)) {
      g_strv_builder_add(out, paths[i]);
      n++;
    }
  return g_strv_builder_end(out);
}

gboolean agfas_recent_add(const char *file, const char *path, GError **error)
{
  g_return_val_if_fail(file && path, FALSE);
  g_auto(GStrv) old = agfas_recent_load(file);
  g_autoptr(GPtrArray) list = g_ptr_array_new();
  g_ptr_array_add(list, (gpointer)path);
  for (guint i = 0; old[i] && list->len < AGFAS_RECENT_MAX; i++)
    if (g_strcmp0(old[i], path) != 0)
      g_ptr_array_add(list, old[i]);
  g_autoptr(GKeyFile) kf = g_key_file_new();
  g_key_file_set_string_list(kf, GROUP, KEY,
                             (const char *const *)list->pdata, list->len);
  gsize len = 0;
  g_autofree char *text = g_key_file_to_data(kf, &len, NULL);
  g_autofree char *dir = g_path_get_dirname(file);
  if (g_mkdir_with_parents(dir, 0700) != 0) {
    int e = errno;
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                "Cannot create the folder %s for the recent files list: %s; "
                "check its permissions", dir, g_strerror(e));
    return FALSE;
  }
  return agf_atomic_write(file, "recent files list", text, len, error);
}

void agfas_recent_fill_menu(GMenu *menu, const char *const *paths,
                            const char *action)
{
  g_menu_remove_all(menu);
  for (guint i = 0; paths && paths[i]; i++) {
    g_autofree char *base = g_path_get_basename(paths[i]);
    /* Underscores in file names are not mnemonics. */
    g_auto(GStrv) parts = g_strsplit(base, "_", -1);
    g_autofree char *label = g_strjoinv("__", parts);
    g_autoptr(GMenuItem) item = g_menu_item_new(label, NULL);
    g_menu_item_set_action_and_target_value(item, action,
                                            g_variant_new_string(paths[i]));
    g_menu_append_item(menu, item);
  }
  if (!paths || !paths[0]) {
    g_autoptr(GMenuItem) item = g_menu_item_new("No recent files",
                                                "win.recent-none");
    g_menu_append_item(menu, item);
  }
}
