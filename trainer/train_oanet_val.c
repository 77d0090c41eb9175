/* Validation during SSDG training: spoof scores of every validation face,
 * written as the frame scores `agfas-train eval` reads, and AUC / EER /
 * HTER from engine/metrics (per video when every face has a video id, as
 * eval and the literature do). */
#include <math.h>
#include "train_oanet.h"
#include "metrics/fas_metrics.h"
#include "nn/error.h"
#include "nn/ops.h"

static gboolean write_scores(const AgfSsdgData *val, const double *scores,
                             const char *csv_path, GError **error)
{
  g_autoptr(AgfManifest) out = agf_manifest_new(NULL);
  for (guint i = 0; i < agf_ssdg_data_len(val); i++) {
    const AgfSsdgItem *it = agf_ssdg_data_item(val, i);
    AgfManifestRecord *r = agf_manifest_record_new();
    r->path = g_strdup(it->path);
    r->frame = it->frame;
    r->score = scores[i];
    r->label = it->truth == AGF_TRUTH_SPOOF ? AGF_LABEL_SPOOF : AGF_LABEL_LIVE;
    r->attack = g_strdup(it->attack);
    const char *dom = agf_ssdg_data_domain(val, (guint)it->domain);
    r->domain = *dom ? g_strdup(dom) : NULL;
    r->video = g_strdup(it->video);
    agf_manifest_add(out, r);
  }
  return agf_manifest_save(out, csv_path, AGF_MANIFEST_CSV, error);
}

static gboolean metrics(const AgfSsdgData *val, const double *scores,
                        AgfSsdgValResult *out, GError **error)
{
  const guint n = agf_ssdg_data_len(val);
  g_autofree int *labels = g_new(int, n);
  g_autofree const char **videos = g_new(const char *, n);
  gboolean all_videos = TRUE;
  for (guint i = 0; i < n; i++) {
    const AgfSsdgItem *it = agf_ssdg_data_item(val, i);
    labels[i] = it->truth;
    videos[i] = it->video;
    all_videos = all_videos && it->video;
  }
  g_autoptr(AgfFasVideos) v = NULL;
  const double *s = scores;
  const int *l = labels;
  gsize m = n;
  if (all_videos) {
    if (!(v = agf_fas_videos_from_frames(scores, n, labels, n, videos, n,
                                         NULL, 0, error)))
      return FALSE;
    s = v->scores, l = v->labels, m = v->n;
  }
  g_autoptr(AgfRoc) roc = agf_roc_compute(s, m, l, m, error);
  AgfHter h;
  if (!roc || !agf_fas_hter_at_eer(s, m, l, m, &h, &out->eer, error))
    return FALSE;
  out->n = m;
  out->videos = all_videos;
  out->auc = agf_roc_auc(roc);
  out->hter = h.hter;
  out->threshold = h.threshold;
  return TRUE;
}

gboolean agf_ssdg_validate(AgfSsdgModel *m, AgfSsdgData *val, int batch,
                           AgfDevice *dev, AgfDType dt, const char *csv_path,
                           AgfSsdgValResult *out, GError **error)
{
  const guint n = agf_ssdg_data_len(val);
  if (!n) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "the validation set has no labelled faces with a cue");
    return FALSE;
  }
  g_autofree double *scores = g_new(double, n);
  g_autofree guint *rows = g_new(guint, batch);
  for (guint done = 0; done < n;) {
    const int b = (int)MIN((guint)batch, n - done);
    for (int i = 0; i < b; i++)
      rows[i] = done + (guint)i;
    g_autoptr(AgfTensor) image = NULL, cue = NULL;
    if (!agf_ssdg_data_load(val, rows, NULL, b, dev, dt, &image, &cue,
                            error) ||
        !agf_ssdg_score(m, image, cue, scores + done, error))
      return FALSE;
    done += (guint)b;
  }
  return write_scores(val, scores, csv_path, error) &&
         metrics(val, scores, out, error);
}
