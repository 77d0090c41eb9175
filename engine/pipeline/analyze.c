/* The shared analysis pipeline; see analyze.h. */
#include "pipeline/analyze.h"

#include <string.h>

#include "models/weights.h"
#include "nn/error.h"
#include "pipeline/face_models.h"

char **agf_models_search_path(void)
{
  GPtrArray *roots = g_ptr_array_new();
  const char *env = g_getenv("AGFAS_MODELS_DIR");
  if (env && *env) {
    g_ptr_array_add(roots, g_strdup(env));
  } else {
    /* The parents of the face models' folders (the source tree's, the
     * installed), so the two searches cannot disagree. */
    g_auto(GStrv) face = agf_face_models_search_path();
    for (char **d = face; *d; d++)
      g_ptr_array_add(roots, g_path_get_dirname(*d));
  }
  g_ptr_array_add(roots, NULL);
  return (char **)g_ptr_array_free(roots, FALSE);
}

char *agf_model_path(const char *root, const char *relpath,
                     const char *title, GError **error)
{
  g_auto(GStrv) roots = root ? g_strdupv((char *[]){ (char *)root, NULL })
                             : agf_models_search_path();
  for (char **d = roots; *d; d++) {
    char *path = g_build_filename(*d, relpath, NULL);
    if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
      return path;
    g_free(path);
  }
  g_autofree char *where = g_strjoinv(", ", roots);
  g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
              "no %s: %s not found in %s; import a checkpoint with "
              "`agfas-train import SRC --out ROOT/%s`, or point at a models "
              "folder holding it (--models DIR or AGFAS_MODELS_DIR)",
              title, relpath, where, relpath);
  return NULL;
}

AgfDfg *agf_analysis_open_dfg(const char *root, AgfDevice *dev, AgfDType dt,
                              GError **error)
{
  g_autofree char *vae = agf_model_path(root, AGF_MODEL_AUTOENCODER,
                                        "DFG autoencoder", error);
  g_autofree char *unet = vae ? agf_model_path(root, AGF_MODEL_UNET,
                                               "DFG U-Net", error)
                              : NULL;
  g_autofree char *id = unet ? agf_model_path(root, AGF_MODEL_IDENTITY,
                                              "DFG identity network", error)
                             : NULL;
  return id ? agf_dfg_open(vae, unet, id, dev, dt, error) : NULL;
}

AgfOanet *agf_analysis_open_oanet(const char *root, AgfDevice *dev,
                                  AgfDType dt, GError **error)
{
  g_autofree char *path = agf_model_path(root, AGF_MODEL_OANET, "OA-Net",
                                         error);
  if (!path)
    return NULL;
  g_autoptr(AgfWeights) w = agf_weights_open(path, dev, dt, error);
  return w ? agf_oanet_new(w, error) : NULL;
}

void agf_analysis_dfg_params_init(AgfDfgParams *p)
{
  agf_dfg_params_init(p);
  p->strength = 0.3;
  p->steps = 10;
  p->sampler = "ddim";
  p->seed = 0;
}

void agf_analysis_crop_landmarks(const AgfFaceAlignment *al,
                                 const float in[AGF_FACE_N_LANDMARKS][2],
                                 float out[AGF_FACE_N_LANDMARKS][2])
{
  for (int i = 0; i < AGF_FACE_N_LANDMARKS; i++) {
    double x, y;
    agf_affine_apply(al->fwd, in[i][0], in[i][1], &x, &y);
    out[i][0] = (float)x;
    out[i][1] = (float)y;
  }
}

gboolean agf_analysis_pick_face(const GArray *faces, double min_score,
                                AgfPickedFace *out, GError **error)
{
  memset(out, 0, sizeof *out);
  for (guint i = 0; faces && i < faces->len; i++) {
    const AgfFace *f = &g_array_index(faces, AgfFace, i);
    if (f->score < min_score)
      continue;
    out->face = *f;
    if (!agf_face_alignment_compute(f->landmarks, AGF_FACE_ALIGN_SIZE,
                                    &out->align, error))
      return FALSE;
    agf_analysis_crop_landmarks(&out->align, f->landmarks,
                                out->crop_landmarks);
    return TRUE;
  }
  return FALSE;
}

void agf_analysis_clear(AgfAnalysis *a)
{
  g_clear_pointer(&a->recon, agf_tensor_unref);
  g_clear_pointer(&a->residual, agf_tensor_unref);
  g_clear_pointer(&a->cue, agf_tensor_unref);
  g_clear_pointer(&a->mask, agf_tensor_unref);
  g_clear_pointer(&a->spoof, agf_tensor_unref);
  a->n_calls = 0;
}

gboolean agf_analysis_cue(const AgfTensor *crops, const AgfTensor *recon,
                          AgfFaceMasker *masker,
                          const float (*landmarks)[AGF_FACE_N_LANDMARKS][2],
                          AgfTensor **residual, AgfTensor **cue,
                          AgfTensor **mask_out, GError **error)
{
  g_autoptr(AgfTensor) mask = NULL;
  if (masker) {
    mask = agf_face_masker_run(masker, crops, landmarks, error);
    if (!mask)
      return FALSE;
  }
  g_autoptr(AgfTensor) res = agf_cue_residual(crops, recon, mask, error);
  AgfTensor *c = res ? agf_cue_standardize(res, error) : NULL;
  if (!c)
    return FALSE;
  *residual = g_steal_pointer(&res);
  *cue = c;
  if (mask_out)
    *mask_out = g_steal_pointer(&mask);
  return TRUE;
}

gboolean agf_analysis_run(AgfDfg *dfg, AgfOanet *oanet,
                          AgfFaceMasker *masker, const AgfTensor *crops,
                          const float (*landmarks)[AGF_FACE_N_LANDMARKS][2],
                          const AgfDfgParams *params, AgfDfgProgress progress,
                          gpointer progress_data, AgfAnalysis *out,
                          GError **error)
{
  memset(out, 0, sizeof *out);
  AgfDfgInfo info = { 0 };
  if (!agf_dfg_reconstruct(dfg, crops, params, progress, progress_data,
                           &out->recon, &info, error))
    return FALSE;
  out->n_calls = info.n_calls;
  agf_dfg_info_clear(&info);
  if (!agf_analysis_cue(crops, out->recon, masker, landmarks, &out->residual,
                        &out->cue, &out->mask, error))
    goto fail;
  if (oanet && !agf_dfg_score(oanet, crops, out->cue, &out->spoof, NULL,
                              error))
    goto fail;
  return TRUE;
fail:
  agf_analysis_clear(out);
  return FALSE;
}
