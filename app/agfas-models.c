/* Model layout lookup; see agfas-models.h. */
#include "agfas-models.h"
#include "agfas-config.h"
#include "nn/error.h"

static const char *const relpaths[AGFAS_MODEL_COUNT] = {
  "dfg/autoencoder_kl.safetensors",
  "dfg/unet.safetensors",
  "dfg/iresnet.safetensors",
  "oanet.safetensors",
};

static const char *const titles[AGFAS_MODEL_COUNT] = {
  "DFG autoencoder", "DFG U-Net", "DFG identity network", "OA-Net",
};

const char *agfas_model_relpath(AgfasModel m)
{
  g_return_val_if_fail(m < AGFAS_MODEL_COUNT, NULL);
  return relpaths[m];
}

const char *agfas_model_title(AgfasModel m)
{
  g_return_val_if_fail(m < AGFAS_MODEL_COUNT, NULL);
  return titles[m];
}

char **agfas_models_search_path(void)
{
  GPtrArray *dirs = g_ptr_array_new();
  const char *root = g_getenv("AGFAS_MODELS_DIR");
  if (root && *root)
    g_ptr_array_add(dirs, g_strdup(root));
  g_ptr_array_add(dirs, g_strdup(AGFAS_MODELS_SOURCE_DIR));
  g_ptr_array_add(dirs, g_strdup(AGFAS_MODELS_DATA_DIR));
  g_ptr_array_add(dirs, NULL);
  return (char **)g_ptr_array_free(dirs, FALSE);
}

char *agfas_model_find(AgfasModel m, GError **error)
{
  g_return_val_if_fail(m < AGFAS_MODEL_COUNT, NULL);
  g_auto(GStrv) dirs = agfas_models_search_path();
  for (char **d = dirs; *d; d++) {
    char *path = g_build_filename(*d, relpaths[m], NULL);
    if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
      return path;
    g_free(path);
  }
  g_autofree char *where = g_strjoinv(", ", dirs);
  g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
              "No %s installed: %s not found in %s. Import a checkpoint "
              "with `agfas-train import SRC --out ROOT/%s`, or set "
              "AGFAS_MODELS_DIR to a folder laid out as app/agfas-models.h "
              "describes", titles[m], relpaths[m], where, relpaths[m]);
  return NULL;
}
