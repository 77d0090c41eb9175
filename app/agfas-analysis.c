/* The analysis pipeline; see agfas-analysis.h. */
#include "agfas-engine-private.h"

#include <math.h>
#include <string.h>

#include "agfas-models.h"
#include "io/image.h"
#include "models/weights.h"
#include "nn/device.h"
#include "nn/error.h"
#include "nn/ops.h"
#include "pipeline/analyze.h"
#include "pipeline/cue.h"
#include "pipeline/dfg.h"
#include "pipeline/face_detect.h"
#include "pipeline/face_mask.h"

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
  g_free(r->heat_f32);
  g_free(r);
}

static const char *const stage_titles[AGFAS_STAGE_COUNT] = {
  "Read image", "Load networks", "Detect + align", "Identity", "Encode",
  "Denoise", "Decode", "Cue", "Score",
};

const char *agfas_stage_title(AgfasStage st)
{
  g_return_val_if_fail(st < AGFAS_STAGE_COUNT, NULL);
  return stage_titles[st];
}

/* Ends stage st: waits for the device's queued work, so the time is the
 * stage's and not the next one's, and adds it. */
static gboolean stage_end(AgfasEngine *e, AgfasAnalysisResult *r,
                          AgfasStage st, gint64 *t, GError **error)
{
  if (e->dev && !agf_device_sync(e->dev, error))
    return FALSE;
  gint64 now = g_get_monotonic_time();
  r->stage_s[st] = MAX(r->stage_s[st], 0) + (now - *t) / 1e6;
  *t = now;
  return TRUE;
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

/* Reconstruction, heat, cue and score into r; a missing network leaves a
 * note. FALSE only on a real failure (device error, cancellation). */
static gboolean run_dfg(AgfasEngine *e, const AgfTensor *aligned,
                        const float lm[AGF_FACE_N_LANDMARKS][2],
                        const AgfasAnalysisParams *p, ProgressCtx *pc,
                        AgfasAnalysisResult *r, gint64 *t, GError **error)
{
  gboolean loads = !e->tried_dfg;
  _agfas_engine_load_dfg(e);
  if (loads && !stage_end(e, r, AGFAS_STAGE_LOAD, t, error))
    return FALSE;
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
  r->stage_s[AGFAS_STAGE_ENCODE] = info.encode_s;
  r->stage_s[AGFAS_STAGE_IDENTITY] = info.n_calls > 0 ? info.identity_s : -1;
  r->stage_s[AGFAS_STAGE_DENOISE] = info.denoise_s;
  r->stage_s[AGFAS_STAGE_DECODE] = info.decode_s;
  agf_dfg_info_clear(&info);
  *t = g_get_monotonic_time();
  if (!image_pixels(recon, &r->recon, error))
    return FALSE;

  g_autoptr(AgfTensor) full = agf_cue_residual(aligned, recon, NULL, error);
  g_autoptr(AgfTensor) heat = full ? agf_cue_heat(full, error) : NULL;
  if (!heat)
    return FALSE;
  AgfColormapParams cp = { .cmap = p->cmap, .vmin = 0,
                           .vmax = AGFAS_HEAT_FIXED_MAX };
  /* Kept for the hover readout (and the per-image range). */
  if (heat->ndim != 4 || heat->shape[0] != 1 || heat->shape[1] != 1) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "the heat map is not [1, 1, H, W]: report this as a bug");
    return FALSE;
  }
  r->heat_height = (int)heat->shape[2];
  r->heat_width = (int)heat->shape[3];
  if (!(r->heat_f32 = tensor_copy_f32(heat, error)))
    return FALSE;
  if (!p->fixed_range) {
    gsize n = (gsize)r->heat_width * r->heat_height;
    float mx = 0;
    for (gsize i = 0; i < n; i++)
      mx = MAX(mx, r->heat_f32[i]);
    cp.vmax = mx > 1e-6f ? mx : 1e-6f;
  }
  g_autoptr(AgfTensor) heat_rgba = agf_colormap(heat, &cp, error);
  if (!heat_rgba || !to_pixels(heat_rgba, &r->heat, error))
    return FALSE;

  /* The cue as agfas-train score computes it (pipeline/analyze.h). */
  g_autoptr(AgfFaceMasker) masker = p->mask ? agf_face_masker_ellipse(NULL)
                                            : NULL;
  g_autoptr(AgfTensor) residual = NULL, cue = NULL;
  if (!agf_analysis_cue(aligned, recon, masker,
                        (const float (*)[AGF_FACE_N_LANDMARKS][2])lm,
                        &residual, &cue, NULL, error))
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
  if (!cue_rgba || !to_pixels(cue_rgba, &r->cue, error) ||
      !stage_end(e, r, AGFAS_STAGE_CUE, t, error))
    return FALSE;

  loads = !e->tried_oanet;
  _agfas_engine_load_oanet(e);
  if (loads && !stage_end(e, r, AGFAS_STAGE_LOAD, t, error))
    return FALSE;
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
  return stage_end(e, r, AGFAS_STAGE_SCORE, t, error);
}

/* img's pixels as the input panel's tight RGBA. */
static void input_pixels(const AgfImage *img, AgfasPixels *out)
{
  out->width = img->width, out->height = img->height;
  gsize row = (gsize)img->width * 4;
  if (img->channels == 4 && img->stride == row) {
    out->rgba = g_bytes_new(img->pixels, row * img->height);
    return;
  }
  guint8 *dst = g_malloc(row * img->height);
  for (int y = 0; y < img->height; y++) {
    const guint8 *src = img->pixels + img->stride * y;
    guint8 *d = dst + row * y;
    for (int x = 0; x < img->width; x++, d += 4, src += img->channels) {
      d[0] = src[0], d[1] = src[1], d[2] = src[2];
      d[3] = img->channels == 4 ? src[3] : 255;
    }
  }
  out->rgba = g_bytes_new_take(dst, row * img->height);
}

/* The pipeline on the image at path, or on given pixels (path NULL). */
static gboolean run_locked(AgfasEngine *e, const char *spec, const char *path,
                           const AgfImage *given, const AgfasAnalysisParams *p,
                           ProgressCtx *pc, AgfasAnalysisResult *r,
                           GError **error)
{
  gint64 t = g_get_monotonic_time();
  g_autoptr(AgfImage) loaded = NULL;
  const AgfImage *img = given;
  if (!img) {
    if (!(loaded = agf_image_load(path, error)) ||
        !stage_end(e, r, AGFAS_STAGE_READ, &t, error))
      return FALSE;
    img = loaded;
  }
  if (!_agfas_engine_use_device(e, spec, error))
    return FALSE;
  _agfas_engine_apply_changes(e);
  r->device_name = g_strdup(agf_device_info(e->dev)->name);
  input_pixels(img, &r->input);
  if (g_cancellable_set_error_if_cancelled(pc->cancellable, error))
    return FALSE;

  g_autoptr(AgfTensor) frame = agf_image_upload(img, e->dev, error);
  if (!frame)
    return FALSE;
  AgfFaceAlignment al;
  float lm_crop[AGF_FACE_N_LANDMARKS][2];
  gboolean loads = !e->tried_detector;
  _agfas_engine_load_detector(e);
  if (loads && !stage_end(e, r, AGFAS_STAGE_LOAD, &t, error))
    return FALSE;
  g_autoptr(GArray) faces = NULL;
  if (e->detector) {
    faces = agf_face_detect(e->detector, frame, NULL, error);
    if (!faces)
      return FALSE;
  }
  /* The face agfas-train score picks (pipeline/analyze.h). */
  AgfPickedFace pf;
  GError *pick_error = NULL;
  if (agf_analysis_pick_face(faces, AGF_ANALYSIS_MIN_FACE_SCORE, &pf,
                             &pick_error)) {
    const AgfFace *f = &pf.face;
    al = pf.align;
    r->face_detected = TRUE;
    r->box[0] = f->x1, r->box[1] = f->y1, r->box[2] = f->x2, r->box[3] = f->y2;
    memcpy(r->landmarks, f->landmarks, sizeof r->landmarks);
    memcpy(lm_crop, pf.crop_landmarks, sizeof lm_crop);
  } else if (pick_error) {
    g_propagate_error(error, pick_error);
    return FALSE;
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
  memcpy(r->align_fwd, al.fwd, sizeof r->align_fwd);
  g_autoptr(AgfTensor) aligned = agf_face_align(frame, &al, 1, error);
  if (!aligned || !stage_end(e, r, AGFAS_STAGE_DETECT, &t, error))
    return FALSE;
  return run_dfg(e, aligned, (const float (*)[2])lm_crop, p, pc, r, &t,
                 error);
}

static AgfasAnalysisResult *engine_run(AgfasEngine *e, const char *spec,
                                       const char *path, const AgfImage *img,
                                       const AgfasAnalysisParams *params,
                                       GCancellable *cancellable,
                                       AgfasProgressFn progress,
                                       gpointer progress_data, GError **error)
{
  gint64 t0 = g_get_monotonic_time();
  ProgressCtx pc = { cancellable, progress, progress_data };
  AgfasAnalysisResult *r = g_new0(AgfasAnalysisResult, 1);
  r->params = *params;
  for (int i = 0; i < AGFAS_STAGE_COUNT; i++)
    r->stage_s[i] = -1;
  g_mutex_lock(&e->lock);
  gboolean ok = run_locked(e, spec, path, img, params, &pc, r, error);
  g_mutex_unlock(&e->lock);
  if (!ok) {
    agfas_analysis_result_free(r);
    return NULL;
  }
  r->seconds = (g_get_monotonic_time() - t0) / 1e6;
  return r;
}

AgfasAnalysisResult *agfas_engine_run(AgfasEngine *e, const char *device_spec,
                                      const char *path,
                                      const AgfasAnalysisParams *params,
                                      GCancellable *cancellable,
                                      AgfasProgressFn progress,
                                      gpointer progress_data, GError **error)
{
  g_return_val_if_fail(e && path && params, NULL);
  return engine_run(e, device_spec, path, NULL, params, cancellable, progress,
                    progress_data, error);
}

AgfasAnalysisResult *agfas_engine_run_image(AgfasEngine *e,
                                            const char *device_spec,
                                            const AgfImage *image,
                                            const AgfasAnalysisParams *params,
                                            GCancellable *cancellable,
                                            AgfasProgressFn progress,
                                            gpointer progress_data,
                                            GError **error)
{
  g_return_val_if_fail(e && image && params, NULL);
  if (!image->pixels || image->width <= 0 || image->height <= 0 ||
      (image->channels != 3 && image->channels != 4) ||
      image->stride < (gsize)image->width * image->channels) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "Cannot analyse a %d x %d image of %d channels: give RGB or "
                "RGBA pixels, at least 1 x 1", image->width, image->height,
                image->channels);
    return NULL;
  }
  return engine_run(e, device_spec, NULL, image, params, cancellable,
                    progress, progress_data, error);
}
