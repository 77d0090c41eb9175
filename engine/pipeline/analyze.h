/* The whole AG-FAS analysis of a face, as the app (app/agfas-analysis.c)
 * and agfas-train (score, cues) run it, so both give the same numbers:
 *
 *   frame  -> MTCNN faces -> the largest scoring >= min_score  (front end)
 *          -> 5-point alignment to an S x S crop in [-1, 1]
 *   crop   -> recon    = DFG reconstruction                    (dfg.h)
 *          -> residual = crop - recon, times the face mask when a masker
 *                        is given (the background is reconstructed poorly
 *                        even for live faces)                  (cue.h)
 *          -> cue      = standardize(residual)
 *          -> spoof    = OA-Net(crop, cue) spoof probability   (optional)
 *
 * Everything is batched over the crops: the DFG's noise depends on the
 * seed and the element's position within one sample only, so a crop's
 * result does not depend on what else is in its batch.
 *
 * Models root: the layout the app and the trainer share
 *   ROOT/dfg/autoencoder_kl.safetensors, ROOT/dfg/unet.safetensors,
 *   ROOT/dfg/identity.safetensors (iresnet or MobileFaceNet),
 *   ROOT/oanet.safetensors,
 *   ROOT/face/{pnet,rnet,onet}.safetensors
 * searched, when no root is given, in agf_models_search_path(). */
#pragma once
#include "pipeline/cue.h"
#include "pipeline/dfg.h"
#include "pipeline/face_detect.h"
#include "pipeline/face_mask.h"

G_BEGIN_DECLS

/* Relative paths of the networks under a models root. */
#define AGF_MODEL_AUTOENCODER "dfg/autoencoder_kl.safetensors"
#define AGF_MODEL_UNET "dfg/unet.safetensors"
#define AGF_MODEL_IDENTITY "dfg/identity.safetensors"
#define AGF_MODEL_OANET "oanet.safetensors"

/* The models roots searched for the DFG and the OA-Net: $AGFAS_MODELS_DIR
 * alone when it is set (a user's networks are never mixed with the
 * bundled defaults: an autoencoder and its U-Net only work as a pair),
 * else the source tree's resources/models and the installed one (the
 * parents of face_models.h's folders; the face networks themselves still
 * fall back to those). NULL-terminated; g_strfreev. */
char **agf_models_search_path(void);

/* ROOT/relpath when root is given, else the first root of the search
 * holding relpath. NULL and an AGF_ERROR_IO error naming title, where it
 * looked and how to get the file otherwise. */
char *agf_model_path(const char *root, const char *relpath,
                     const char *title, GError **error);

/* The DFG of a models root (NULL: searched), on dev in dt. */
AgfDfg *agf_analysis_open_dfg(const char *root, AgfDevice *dev, AgfDType dt,
                              GError **error);
/* The OA-Net of a models root (NULL: searched), on dev in dt. */
AgfOanet *agf_analysis_open_oanet(const char *root, AgfDevice *dev,
                                  AgfDType dt, GError **error);

/* The weakest detection the pipeline takes as a face: on NUAA's print
 * attacks the hands holding the photo score 0.79-0.9 and can be the
 * largest box; faces score above 0.9 (prepare's finding). */
#define AGF_ANALYSIS_MIN_FACE_SCORE 0.9

/* The shipped pipeline's reconstruction settings (the app's defaults):
 * DDIM, 10 steps, strength 0.3 (3 U-Net calls), eta 0, seed 0. */
void agf_analysis_dfg_params_init(AgfDfgParams *p);

/* One face picked from a frame and its alignment. */
typedef struct {
  AgfFace face;                 /* frame pixels */
  AgfFaceAlignment align;       /* frame -> crop */
  float crop_landmarks[AGF_FACE_N_LANDMARKS][2]; /* in the crop */
} AgfPickedFace;

/* The first face of faces (agf_face_detect's order: largest first) whose
 * score is at least min_score, aligned to an AGF_FACE_ALIGN_SIZE crop.
 * FALSE with no error when there is none; FALSE and an error when its
 * landmarks are degenerate. */
gboolean agf_analysis_pick_face(const GArray *faces, double min_score,
                                AgfPickedFace *out, GError **error);

/* landmarks (frame pixels) mapped through al into the crop. */
void agf_analysis_crop_landmarks(const AgfFaceAlignment *al,
                                 const float in[AGF_FACE_N_LANDMARKS][2],
                                 float out[AGF_FACE_N_LANDMARKS][2]);

typedef struct {
  AgfTensor *recon;    /* [B, 3, S, S] in [-1, 1] */
  AgfTensor *residual; /* [B, 3, S, S], masked when a masker was given */
  AgfTensor *cue;      /* [B, 3, S, S] standardized residual */
  AgfTensor *mask;     /* the face mask applied; NULL without a masker */
  AgfTensor *spoof;    /* [B] spoof probabilities; NULL without an OA-Net */
  int n_calls;         /* U-Net calls of the reconstruction */
} AgfAnalysis;

void agf_analysis_clear(AgfAnalysis *a);

/* The cue of crops [B, 3, S, S] and their reconstruction: *residual =
 * crops - recon (times the face mask when masker is not NULL; landmarks
 * as below), *cue its standardization; *mask (may be NULL) the mask used,
 * NULL without a masker. */
gboolean agf_analysis_cue(const AgfTensor *crops, const AgfTensor *recon,
                          AgfFaceMasker *masker,
                          const float (*landmarks)[AGF_FACE_N_LANDMARKS][2],
                          AgfTensor **residual, AgfTensor **cue,
                          AgfTensor **mask, GError **error);

/* Runs the DFG, the cue and (oanet not NULL) the OA-Net on crops
 * [B, 3, S, S] in [-1, 1] on the DFG's device. masker NULL: unmasked
 * residual; else landmarks[b] are crop b's five points in the crop.
 * progress as agf_dfg_reconstruct's (may be NULL; returning FALSE cancels
 * with G_IO_ERROR_CANCELLED). On failure *out is left cleared. */
gboolean agf_analysis_run(AgfDfg *dfg, AgfOanet *oanet,
                          AgfFaceMasker *masker, const AgfTensor *crops,
                          const float (*landmarks)[AGF_FACE_N_LANDMARKS][2],
                          const AgfDfgParams *params, AgfDfgProgress progress,
                          gpointer progress_data, AgfAnalysis *out,
                          GError **error);

G_END_DECLS
