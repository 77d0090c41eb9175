/* The analysis pipeline; see agfas-analysis.h. */
#include "agfas-analysis.h"

#include <math.h>
#include <string.h>

#include "agfas-models.h"
#include "io/image.h"
#include "models/weights.h"
#include "nn/device.h"
#include "nn/error.h"
#include "nn/ops.h"
#include "pipeline/cue.h"
#include "pipeline/dfg.h"
#include "pipeline/face_detect.h"
#include "pipeline/face_mask.h"

struct AgfasEngine {
  GMutex lock;
  char *spec;             /* device the networks below live on */
  AgfDevice *dev;
  /* Each network is tried once per device; a failure is kept as the
   * message the panel shows. */
  gboolean tried_detector, tried_dfg, tried_oanet;
  AgfFaceDetector *detector;
  char *detector_note;
  AgfDfg *dfg;
  char *dfg_note;
  AgfOanet *oanet;
  char *oanet_note;
};

void agfas_analysis_params_init(AgfasAnalysisParams *p)
{
  memset(p, 0, sizeof *p);
  p->strength = 0.3;
  p->steps = 10;
  g_strlcpy(p->sampler, "ddim", sizeof p->sampler);
  p->cmap = AGF_CMAP_INFERNO;
  p->mask = TRUE;
}

void agfas_analysis_result_free(AgfasAnalysisResult *r)
{
  if (!r)
    return;
  AgfasPixels *px[] = { &r->input, &r->recon, &r->heat, &r->cue };
  for (guint i = 0; i < G_N_ELEMENTS(px); i++)
    g_clear_pointer(&px[i]->rgba, g_bytes_unref);
  g_free(r->face_note);
  g_free(r->dfg_note);
  g_free(r->score_note);
  g_free(r->device_name);
  g_free(r->residual_f32);
  g_free(r->cue_f32);
  g_free(r->recon_f32);
  g_free(r);
}

static void engine_drop_models(AgfasEngine *e)
{
  g_clear_pointer(&e->detector, agf_face_detector_free);
  g_clear_pointer(&e->dfg, agf_dfg_free);
  g_clear_pointer(&e->oanet, agf_oanet_free);
  g_clear_pointer(&e->detector_note, g_free);
  g_clear_pointer(&e->dfg_note, g_free);
  g_clear_pointer(&e->oanet_note, g_free);
  e->tried_detector = e->tried_dfg = e->tried_oanet = FALSE;
  g_clear_pointer(&e->dev, agf_device_free);
  g_clear_pointer(&e->spec, g_free);
}

static void engine_clear(gpointer data)
{
  AgfasEngine *e = data;
  engine_drop_models(e);
  g_mutex_clear(&e->lock);
}

AgfasEngine *agfas_engine_new(void)
{
  AgfasEngine *e = g_atomic_rc_box_new0(AgfasEngine);
  g_mutex_init(&e->lock);
  return e;
}

AgfasEngine *agfas_engine_ref(AgfasEngine *e)
{
  return g_atomic_rc_box_acquire(e);
}

void agfas_engine_unref(AgfasEngine *e)
{
  g_atomic_rc_box_release_full(e, engine_clear);
}

static gboolean engine_use_device(AgfasEngine *e, const char *spec,
                                  GError **error)
{
  const char *want = spec ? spec : "auto";
  if (e->dev && !g_strcmp0(e->spec, want))
    return TRUE;
  engine_drop_models(e);
  e->dev = agf_device_open(want, error);
  if (!e->dev)
    return FALSE;
  e->spec = g_strdup(want);
  return TRUE;
}

static void engine_load_detector(AgfasEngine *e)
{
  if (e->tried_detector)
    return;
  e->tried_detector = TRUE;
  GError *error = NULL;
  e->detector = agf_face_detector_open(NULL, e->dev, &error);
  if (!e->detector) {
    e->detector_note = g_strdup(error->message);
    g_error_free(error);
  }
}

static void engine_load_dfg(AgfasEngine *e)
{
  if (e->tried_dfg)
    return;
  e->tried_dfg = TRUE;
  GError *error = NULL;
  g_autofree char *vae = agfas_model_find(AGFAS_MODEL_AUTOENCODER, &error);
  g_autofree char *unet = vae ? agfas_model_find(AGFAS_MODEL_UNET, &error)
                              : NULL;
  g_autofree char *id = unet ? agfas_model_find(AGFAS_MODEL_IDENTITY, &error)
                             : NULL;
  if (id)
    e->dfg = agf_dfg_open(vae, unet, id, e->dev, AGF_F32, &error);
  if (!e->dfg) {
    e->dfg_note = g_strdup(error->message);
    g_error_free(error);
  }
}

static void engine_load_oanet(AgfasEngine *e)
{
  if (e->tried_oanet)
    return;
  e->tried_oanet = TRUE;
  GError *error = NULL;
  g_autofree char *path = agfas_model_find(AGFAS_MODEL_OANET, &error);
  if (path) {
    AgfWeights *w = agf_weights_open(path, e->dev, AGF_F32, &error);
    if (w) {
      e->oanet = agf_oanet_new(w, &error);
      agf_weights_unref(w);
    }
  }
  if (!e->oanet) {
    e->oanet_note = g_strdup(error->message);
    g_error_free(error);
  }
}

/* The centre square of the frame as the face, when none is detected. */
static void centre_square(int w, int h, AgfFaceAlignment *al, float box[4])
{
  double side = MIN(w, h), x0 = (w - side) / 2, y0 = (h - side) / 2;
  double s = AGF_FACE_ALIGN_SIZE / side;
  al->size = AGF_FACE_ALIGN_SIZE;
  double fwd[2][3] = { { s, 0, -x0 * s }, { 0, s, -y0 * s } };
  memcpy(al->fwd, fwd, sizeof fwd);
  agf_affine_invert(al->fwd, al->inv);
  box[0] = (float)x0, box[1] = (float)y0;
  box[2] = (float)(x0 + side - 1), box[3] = (float)(y0 + side - 1);
}

static gboolean to_pixels(const AgfTensor *rgba_u8, AgfasPixels *out,
                          GError **error)
{
  g_autoptr(AgfImage) img = agf_image_download(rgba_u8, error);
  if (!img)
    return FALSE;
  out->width = img->width, out->height = img->height;
  out->rgba = g_bytes_new(img->pixels, img->stride * img->height);
  return TRUE;
}

/* [1, 3, H, W] in [-1, 1] -> RGBA pixels. */
static gboolean image_pixels(const AgfTensor *x, AgfasPixels *out,
                             GError **error)
{
  static const float mean[3] = { 0.5f, 0.5f, 0.5f }, std[3] = { 0.5f, 0.5f, 0.5f };
  g_autoptr(AgfTensor) u8 = agf_tensor_to_image(x, mean, std, error);
  return u8 && to_pixels(u8, out, error);
}

typedef struct {
  GCancellable *cancellable;
  AgfasProgressFn fn;
  gpointer data;
} ProgressCtx;

static gboolean on_dfg_progress(int done, int total, gpointer data)
{
  ProgressCtx *p = data;
  if (p->fn)
    p->fn(done, total, p->data);
  return !g_cancellable_is_cancelled(p->cancellable);
}

/* Reconstruction, heat, cue and score into r; a missing network leaves a
 * note. FALSE only on a real failure (device error, cancellation). */
/* A host float copy of t (NCHW, batch 1) for export. */
static float *tensor_copy_f32(const AgfTensor *t, GError **error)
{
  float *dst = g_new(float, (gsize)agf_tensor_numel(t));
  if (!agf_tensor_to_f32(t, dst, error)) {
    g_free(dst);
    return NULL;
  }
  return dst;
}

static gboolean run_dfg(AgfasEngine *e, const AgfTensor *aligned,
                        const float lm[AGF_FACE_N_LANDMARKS][2],
                        const AgfasAnalysisParams *p, ProgressCtx *pc,
                        AgfasAnalysisResult *r, GError **error)
{
  engine_load_dfg(e);
  if (!e->dfg) {
    r->dfg_note = g_strdup(e->dfg_note);
    r->score_note = g_strdup("No score: the OA-Net needs the DFG's cue, and "
                             "no DFG model is installed");
    return TRUE;
  }
  AgfDfgParams dp;
  agf_dfg_params_init(&dp);
  dp.strength = p->strength;
  dp.steps = p->steps;
  dp.sampler = p->sampler;
  dp.seed = p->seed;
  AgfDfgInfo info = { 0 };
  g_autoptr(AgfTensor) recon = NULL;
  if (!agf_dfg_reconstruct(e->dfg, aligned, &dp, on_dfg_progress, pc, &recon,
                           &info, error))
    return FALSE;
  r->n_calls = info.n_calls;
  agf_dfg_info_clear(&info);
  if (!image_pixels(recon, &r->recon, error))
    return FALSE;

  g_autoptr(AgfTensor) full = agf_cue_residual(aligned, recon, NULL, error);
  g_autoptr(AgfTensor) heat = full ? agf_cue_heat(full, error) : NULL;
  if (!heat)
    return FALSE;
  AgfColormapParams cp = { .cmap = p->cmap, .vmin = 0,
                           .vmax = AGFAS_HEAT_FIXED_MAX };
  if (!p->fixed_range) {
    gsize n = (gsize)agf_tensor_numel(heat);
    g_autofree float *h = g_new(float, n);
    if (!agf_tensor_to_f32(heat, h, error))
      return FALSE;
    float mx = 0;
    for (gsize i = 0; i < n; i++)
      mx = MAX(mx, h[i]);
    cp.vmax = mx > 1e-6f ? mx : 1e-6f;
  }
  g_autoptr(AgfTensor) heat_rgba = agf_colormap(heat, &cp, error);
  if (!heat_rgba || !to_pixels(heat_rgba, &r->heat, error))
    return FALSE;

  g_autoptr(AgfTensor) mask = NULL;
  if (p->mask) {
    g_autoptr(AgfFaceMasker) masker = agf_face_masker_ellipse(NULL);
    mask = agf_face_masker_run(masker, aligned,
                               (const float (*)[AGF_FACE_N_LANDMARKS][2])lm,
                               error);
    if (!mask)
      return FALSE;
  }
  g_autoptr(AgfTensor) residual = agf_cue_residual(aligned, recon, mask, error);
  g_autoptr(AgfTensor) cue = residual ? agf_cue_standardize(residual, error)
                                      : NULL;
  if (!cue)
    return FALSE;
  if (residual->ndim == 4 && residual->shape[0] == 1 && cue->ndim == 4 &&
      recon->ndim == 4 && agf_tensor_numel(cue) == agf_tensor_numel(residual)
      && agf_tensor_numel(recon) == agf_tensor_numel(residual)) {
    r->cue_channels = (int)residual->shape[1];
    r->cue_height = (int)residual->shape[2];
    r->cue_width = (int)residual->shape[3];
    if (!(r->residual_f32 = tensor_copy_f32(residual, error)) ||
        !(r->cue_f32 = tensor_copy_f32(cue, error)) ||
        !(r->recon_f32 = tensor_copy_f32(recon, error)))
      return FALSE;
  }
  /* The standardised cue spans about +-3 sd: map that to the full range. */
  static const float mean[3] = { 0.5f, 0.5f, 0.5f };
  static const float std[3] = { 1 / 6.0f, 1 / 6.0f, 1 / 6.0f };
  g_autoptr(AgfTensor) cue_rgba = agf_tensor_to_image(cue, mean, std, error);
  if (!cue_rgba || !to_pixels(cue_rgba, &r->cue, error))
    return FALSE;

  engine_load_oanet(e);
  if (!e->oanet) {
    r->score_note = g_strdup(e->oanet_note);
    return TRUE;
  }
  g_autoptr(AgfTensor) spoof = NULL;
  if (!agf_dfg_score(e->oanet, aligned, cue, &spoof, NULL, error))
    return FALSE;
  float s = 0;
  if (!agf_tensor_to_f32(spoof, &s, error))
    return FALSE;
  r->has_score = TRUE;
  r->score = s;
  return TRUE;
}

static gboolean run_locked(AgfasEngine *e, const char *spec, const char *path,
                           const AgfasAnalysisParams *p, ProgressCtx *pc,
                           AgfasAnalysisResult *r, GError **error)
{
  g_autoptr(AgfImage) img = agf_image_load(path, error);
  if (!img || !engine_use_device(e, spec, error))
    return FALSE;
  r->device_name = g_strdup(agf_device_info(e->dev)->name);
  r->input.width = img->width, r->input.height = img->height;
  r->input.rgba = g_bytes_new(img->pixels, img->stride * img->height);
  if (g_cancellable_set_error_if_cancelled(pc->cancellable, error))
    return FALSE;

  g_autoptr(AgfTensor) frame = agf_image_upload(img, e->dev, error);
  if (!frame)
    return FALSE;
  AgfFaceAlignment al;
  float lm_crop[AGF_FACE_N_LANDMARKS][2];
  engine_load_detector(e);
  g_autoptr(GArray) faces = NULL;
  if (e->detector) {
    faces = agf_face_detect(e->detector, frame, NULL, error);
    if (!faces)
      return FALSE;
  }
  if (faces && faces->len > 0) {
    const AgfFace *f = &g_array_index(faces, AgfFace, 0);
    if (!agf_face_alignment_compute(f->landmarks, AGF_FACE_ALIGN_SIZE, &al,
                                    error))
      return FALSE;
    r->face_detected = TRUE;
    r->box[0] = f->x1, r->box[1] = f->y1, r->box[2] = f->x2, r->box[3] = f->y2;
    memcpy(r->landmarks, f->landmarks, sizeof r->landmarks);
    for (int i = 0; i < AGF_FACE_N_LANDMARKS; i++) {
      double x, y;
      agf_affine_apply(al.fwd, f->landmarks[i][0], f->landmarks[i][1], &x, &y);
      lm_crop[i][0] = (float)x, lm_crop[i][1] = (float)y;
    }
  } else {
    r->face_note = g_strdup(e->detector ? "No face detected: analysing the "
                                          "centre square"
                                        : e->detector_note);
    centre_square(img->width, img->height, &al, r->box);
    /* The template's landmarks, mapped back, mark where the face would be. */
    agf_face_template(AGF_FACE_ALIGN_SIZE, lm_crop);
    for (int i = 0; i < AGF_FACE_N_LANDMARKS; i++) {
      double x, y;
      agf_affine_apply(al.inv, lm_crop[i][0], lm_crop[i][1], &x, &y);
      r->landmarks[i][0] = (float)x, r->landmarks[i][1] = (float)y;
    }
  }
  g_autoptr(AgfTensor) aligned = agf_face_align(frame, &al, 1, error);
  if (!aligned)
    return FALSE;
  return run_dfg(e, aligned, (const float (*)[2])lm_crop, p, pc, r, error);
}

AgfasAnalysisResult *agfas_engine_run(AgfasEngine *e, const char *device_spec,
                                      const char *path,
                                      const AgfasAnalysisParams *params,
                                      GCancellable *cancellable,
                                      AgfasProgressFn progress,
                                      gpointer progress_data, GError **error)
{
  g_return_val_if_fail(e && path && params, NULL);
  gint64 t0 = g_get_monotonic_time();
  ProgressCtx pc = { cancellable, progress, progress_data };
  AgfasAnalysisResult *r = g_new0(AgfasAnalysisResult, 1);
  r->params = *params;
  g_mutex_lock(&e->lock);
  gboolean ok = run_locked(e, device_spec, path, params, &pc, r, error);
  g_mutex_unlock(&e->lock);
  if (!ok) {
    agfas_analysis_result_free(r);
    return NULL;
  }
  r->seconds = (g_get_monotonic_time() - t0) / 1e6;
  return r;
}
