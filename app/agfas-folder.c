/* See agfas-folder.h. */
#include "agfas-folder.h"

#include <string.h>

#include "io/manifest.h"
#include "nn/error.h"
#include "train_prepare.h"

char *agfas_folder_manifest_path(const char *folder)
{
  return g_build_filename(folder, AGFAS_FOLDER_MANIFEST_NAME, NULL);
}

/* path relative to dir (both absolute), or path itself outside dir. */
static char *relative_to(const char *dir, const char *path)
{
  gsize n = strlen(dir);
  if (g_str_has_prefix(path, dir) && path[n] == G_DIR_SEPARATOR)
    return g_strdup(path + n + 1);
  return g_strdup(path);
}

char *agfas_folder_ensure_manifest(const char *folder, guint *n_added,
                                   GError **error)
{
  g_return_val_if_fail(folder, NULL);
  g_autofree char *cwd = g_get_current_dir();
  g_autofree char *dir = g_canonicalize_filename(folder, cwd);
  g_autofree char *path = agfas_folder_manifest_path(dir);
  char *srcs[] = { dir, NULL };
  guint dups = 0;
  g_autoptr(GPtrArray) items = agf_prep_collect(srcs, NULL, &dups, error);
  if (!items)
    return NULL;

  g_autoptr(AgfManifest) m = NULL;
  gboolean existed = g_file_test(path, G_FILE_TEST_EXISTS);
  if (existed) {
    m = agf_manifest_load(path, error);
    if (!m)
      return NULL;
  } else {
    if (items->len == 0) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
                  "%s holds no image or video (looked for .jpg, .png, "
                  ".webp, .bmp and common video files, in subfolders too)",
                  dir);
      return NULL;
    }
    m = agf_manifest_new(dir);
  }
  /* Files the manifest already names keep their record and label. */
  g_autoptr(GHashTable) known = g_hash_table_new_full(g_str_hash,
                                                      g_str_equal, g_free,
                                                      NULL);
  for (guint i = 0; i < agf_manifest_len(m); i++)
    g_hash_table_add(known,
                     agf_manifest_resolve(m, agf_manifest_get(m, i)->path));
  guint added = 0;
  for (guint i = 0; i < items->len; i++) {
    const AgfPrepItem *it = items->pdata[i];
    if (g_hash_table_contains(known, it->path))
      continue;
    AgfManifestRecord *r = agf_manifest_record_new();
    r->path = relative_to(dir, it->path);
    agf_manifest_add(m, r);
    added++;
  }
  if ((added > 0 || !existed) &&
      !agf_manifest_save(m, path, AGF_MANIFEST_CSV, error)) {
    g_prefix_error(error, "Cannot keep the labels of %s: ", dir);
    return NULL;
  }
  if (n_added)
    *n_added = added;
  return g_steal_pointer(&path);
}
