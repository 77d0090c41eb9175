/* Model layout lookup; see agfas-models.h. */
#include "agfas-models.h"
#include "agfas-config.h"
#include "io/safetensors.h"
#include "models/presets.h"
#include "pipeline/analyze.h"
#include "nn/error.h"

#include <string.h>

static const char *const relpaths[AGFAS_MODEL_COUNT] = {
  "dfg/autoencoder_kl.safetensors",
  "dfg/unet.safetensors",
  "dfg/identity.safetensors",
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

char *agfas_model_find(AgfasModel m, GError **error)
{
  g_return_val_if_fail(m < AGFAS_MODEL_COUNT, NULL);
  g_auto(GStrv) dirs = agf_models_search_path();
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

/* The presets' network kinds are the app's models in the same roles. */
static const AgfasModel kind_models[AGF_NET_COUNT] = {
  [AGF_NET_AUTOENCODER] = AGFAS_MODEL_AUTOENCODER,
  [AGF_NET_UNET] = AGFAS_MODEL_UNET,
  [AGF_NET_IDENTITY] = AGFAS_MODEL_IDENTITY,
  [AGF_NET_OANET] = AGFAS_MODEL_OANET,
};

typedef struct {
  const AgfSafetensors *st;
  int seen, present;
} NameProbe;

/* How many tensors a network declares first are enough to tell it. */
enum { PROBE_NAMES = 3 };

static void probe_name(const char *name, int ndim, const int64_t *shape,
                       gpointer data)
{
  (void)ndim, (void)shape;
  NameProbe *p = data;
  if (p->seen++ < PROBE_NAMES && agf_safetensors_find(p->st, name))
    p->present++;
}

static gboolean detect_by_names(const AgfSafetensors *st, AgfasModel *out)
{
  for (int k = 0; k < AGF_NET_COUNT; k++) {
    NameProbe p = { st, 0, 0 };
    if (agf_preset_list_tensors(AGF_PRESET_TINY, k, probe_name, &p, NULL) &&
        p.seen > 0 && p.present == MIN(p.seen, PROBE_NAMES)) {
      *out = kind_models[k];
      return TRUE;
    }
  }
  return FALSE;
}

gboolean agfas_model_detect(const char *path, AgfasModel *out,
                            GError **error)
{
  g_return_val_if_fail(path && out, FALSE);
  g_autoptr(AgfSafetensors) st = agf_safetensors_open(path, error);
  if (!st)
    return FALSE;
  AgfNetKind k;
  const char *network = agf_safetensors_meta(st, "agfas.network");
  if (network && agf_net_kind_from_name(network, &k, NULL)) {
    *out = kind_models[k];
    return TRUE;
  }
  const char *net = agf_safetensors_meta(st, "agfas.net");
  if (net) {
    if (!strcmp(net, "autoencoder_kl")) {
      *out = AGFAS_MODEL_AUTOENCODER;
      return TRUE;
    }
    if (agf_net_kind_from_name(net, &k, NULL)) {
      *out = kind_models[k];
      return TRUE;
    }
  }
  if (detect_by_names(st, out))
    return TRUE;
  g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
              "%s is %s%s%s, not a network the analysis runs (DFG "
              "autoencoder, U-Net or identity network, or OA-Net). Convert "
              "an upstream checkpoint with `agfas-train import SRC --out "
              "FILE.safetensors` first; face detector files belong in the "
              "models folder's face/ (app/agfas-models.h)",
              path, net ? "an imported " : "a file of unknown tensor names",
              net ? net : "", net ? " checkpoint" : "");
  return FALSE;
}
