/* Where the app finds its networks. A models root holds:
 *
 *   ROOT/dfg/autoencoder_kl.safetensors   DFG autoencoder (SD-1.5 AutoencoderKL)
 *   ROOT/dfg/unet.safetensors             DFG U-Net (with agfas.schedule.* keys)
 *   ROOT/dfg/identity.safetensors         DFG identity net (ArcFace iresnet or
 *                                         MobileFaceNet)
 *   ROOT/oanet.safetensors                OA-Net (live/spoof scorer)
 *   ROOT/face/{pnet,rnet,onet}.safetensors  MTCNN (pipeline/face_models.h)
 *
 * Roots (agf_models_search_path, pipeline/analyze.h), each file looked up
 * independently (first hit wins):
 *   $AGFAS_MODELS_DIR            alone, when set (never mixed with the
 *                                bundled defaults)
 *   SOURCE/resources/models      (the source tree the app was built from;
 *                                the default models)
 *   DATADIR/agfas/models         (installed)
 * `agfas-train import` writes these files from upstream checkpoints; the
 * model presets (engine/models/presets.h) make random ones for tests. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  AGFAS_MODEL_AUTOENCODER,
  AGFAS_MODEL_UNET,
  AGFAS_MODEL_IDENTITY,
  AGFAS_MODEL_OANET,
  AGFAS_MODEL_COUNT
} AgfasModel;

/* The file's path relative to a models root ("dfg/unet.safetensors"). */
const char *agfas_model_relpath(AgfasModel m);
/* Human-readable name ("DFG U-Net"). */
const char *agfas_model_title(AgfasModel m);
/* The first existing file for m, or NULL and an error (AGF_ERROR_IO) that
 * lists where it looked and how to get the file. */
char *agfas_model_find(AgfasModel m, GError **error);

/* Which network the safetensors file at path holds: its metadata first
 * (agfas.network, written by the model presets; agfas.net, written by
 * `agfas-train import`), else its tensor names (the first tensors each
 * network declares, models/presets.h). Fails, saying what the file is when
 * known, for anything the analysis does not run. */
gboolean agfas_model_detect(const char *path, AgfasModel *out,
                            GError **error);

G_END_DECLS
