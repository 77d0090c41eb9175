/* See agfas-media-score.h. */
#include "agfas-media-score.h"

#include <string.h>

#include "io/video.h"
#include "train_prepare.h"

AgfasMediaKind agfas_media_kind_of(const char *path)
{
  switch (agf_prep_kind_of(path)) {
  case AGF_MEDIA_IMAGE: return AGFAS_MEDIA_IMAGE;
  case AGF_MEDIA_VIDEO: return AGFAS_MEDIA_VIDEO;
  default: return AGFAS_MEDIA_OTHER;
  }
}

void agfas_frame_score_free(AgfasFrameScore *s)
{
  if (!s)
    return;
  g_free(s->note);
  g_clear_pointer(&s->image, agf_image_free);
  g_free(s);
}

AgfasFrameScore *agfas_frame_score_from_result(const AgfasAnalysisResult *r,
                                               int64_t frame)
{
  AgfasFrameScore *s = g_new0(AgfasFrameScore, 1);
  s->frame = frame;
  s->has_face = r->face_detected;
  memcpy(s->box, r->box, sizeof s->box);
  memcpy(s->landmarks, r->landmarks, sizeof s->landmarks);
  s->has_score = r->has_score;
  s->score = r->score;
  /* Rows for frames without a face say so (as agfas-train score does). */
  if (!r->face_detected && !r->has_score)
    s->note = g_strdup_printf("no face: %s; %s",
                              r->face_note ? r->face_note : "none detected",
                              r->score_note ? r->score_note : "no score");
  else if (!r->face_detected)
    s->note = g_strdup_printf("no face: %s",
                              r->face_note ? r->face_note : "none detected");
  else if (!r->has_score)
    s->note = g_strdup(r->score_note ? r->score_note : "no score");
  return s;
}

static AgfImage *result_image(const AgfasAnalysisResult *r)
{
  if (!r->input.rgba)
    return NULL;
  AgfImage *img = agf_image_new(r->input.width, r->input.height, 4, NULL);
  if (!img)
    return NULL;
  gsize n = 0;
  const guint8 *src = g_bytes_get_data(r->input.rgba, &n);
  memcpy(img->pixels, src, MIN(n, img->stride * img->height));
  return img;
}

static gboolean score_video(AgfasEngine *e, const char *spec,
                            const AgfasAnalysisParams *params,
                            const char *path, gboolean keep_images,
                            GCancellable *cancellable, AgfasFrameScoreFn fn,
                            gpointer data, GError **error)
{
  g_autoptr(AgfVideo) v = agf_video_open(path, error);
  if (!v)
    return FALSE;
  g_autofree int64_t *idx = NULL;
  g_autoptr(GPtrArray) frames = agf_video_sample(v, AGF_VIDEO_DEFAULT_SAMPLES,
                                                 &idx, cancellable, error);
  if (!frames)
    return FALSE;
  g_autofree char *base = g_path_get_basename(path);
  for (guint i = 0; i < frames->len; i++) {
    g_autoptr(AgfasAnalysisResult) r = agfas_engine_run_image(
      e, spec, frames->pdata[i], params, cancellable, NULL, NULL, error);
    if (!r) {
      g_prefix_error(error, "%s frame %" G_GINT64_FORMAT ": ", base,
                     (gint64)idx[i]);
      return FALSE;
    }
    AgfasFrameScore *s = agfas_frame_score_from_result(r, idx[i]);
    if (keep_images)
      s->image = agf_image_copy(frames->pdata[i]);
    fn(s, (int)i, (int)frames->len, data);
  }
  return TRUE;
}

gboolean agfas_media_score_file(AgfasEngine *e, const char *device_spec,
                                const AgfasAnalysisParams *params,
                                const char *path, gboolean keep_images,
                                GCancellable *cancellable,
                                AgfasFrameScoreFn fn, gpointer data,
                                GError **error)
{
  g_return_val_if_fail(e && params && path && fn, FALSE);
  if (agfas_media_kind_of(path) == AGFAS_MEDIA_VIDEO)
    return score_video(e, device_spec, params, path, keep_images,
                       cancellable, fn, data, error);
  g_autoptr(AgfasAnalysisResult) r = agfas_engine_run(
    e, device_spec, path, params, cancellable, NULL, NULL, error);
  if (!r)
    return FALSE;
  AgfasFrameScore *s = agfas_frame_score_from_result(r, -1);
  if (keep_images)
    s->image = result_image(r);
  fn(s, 0, 1, data);
  return TRUE;
}

gboolean agfas_frame_scores_mean(AgfasFrameScore *const *scores, guint n,
                                 double *mean_out)
{
  double sum = 0;
  guint count = 0;
  for (guint i = 0; i < n; i++)
    if (scores[i] && scores[i]->has_score) {
      sum += scores[i]->score;
      count++;
    }
  if (count == 0)
    return FALSE;
  *mean_out = sum / count;
  return TRUE;
}
