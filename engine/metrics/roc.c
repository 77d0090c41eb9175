/* ROC curve, AUC, EER and TPR at a fixed FPR (conventions in roc.h). */
#include "metrics/roc.h"

#include <math.h>
#include <stdlib.h>

#include "nn/error.h"

gboolean
agf_metrics_check_input(const double *scores, gsize n_scores,
                        const int *labels, gsize n_labels,
                        gboolean require_both_classes, GError **error)
{
  if (n_scores != n_labels) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "metrics: %" G_GSIZE_FORMAT " scores but %" G_GSIZE_FORMAT
                " labels; give exactly one label per score",
                n_scores, n_labels);
    return FALSE;
  }
  if (n_scores == 0 || scores == NULL || labels == NULL) {
    g_set_error_literal(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                        "metrics: no samples; metrics need at least one "
                        "live and one spoof score");
    return FALSE;
  }
  gsize n_live = 0, n_spoof = 0;
  for (gsize i = 0; i < n_scores; i++) {
    if (!isfinite(scores[i])) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "metrics: score %" G_GSIZE_FORMAT " is %s; drop or "
                  "rescore that sample", i,
                  isnan(scores[i]) ? "NaN" : "infinite");
      return FALSE;
    }
    if (labels[i] == AGF_TRUTH_LIVE) {
      n_live++;
    } else if (labels[i] == AGF_TRUTH_SPOOF) {
      n_spoof++;
    } else {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "metrics: label %" G_GSIZE_FORMAT " is %d; use 0 (live) "
                  "or 1 (spoof)", i, labels[i]);
      return FALSE;
    }
  }
  if (require_both_classes && (n_live == 0 || n_spoof == 0)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "metrics: all %" G_GSIZE_FORMAT " samples are %s, so the "
                "%s rate and with it ROC, AUC and EER are undefined; "
                "evaluate on a set with both live and spoof samples",
                n_scores, n_live == 0 ? "spoof" : "live",
                n_live == 0 ? "false positive" : "true positive");
    return FALSE;
  }
  return TRUE;
}

typedef struct {
  double score;
  int label;
} ScoredLabel;

/* Descending by score; the order within a tie does not matter because a
 * whole tie group becomes one ROC point. */
static int
compare_desc(const void *a, const void *b)
{
  double sa = ((const ScoredLabel *)a)->score;
  double sb = ((const ScoredLabel *)b)->score;
  return (sa < sb) - (sa > sb);
}

AgfRoc *
agf_roc_compute(const double *scores, gsize n_scores, const int *labels,
                gsize n_labels, GError **error)
{
  if (!agf_metrics_check_input(scores, n_scores, labels, n_labels, TRUE,
                               error))
    return NULL;

  ScoredLabel *items = g_new(ScoredLabel, n_scores);
  gsize n_live = 0, n_spoof = 0;
  for (gsize i = 0; i < n_scores; i++) {
    items[i].score = scores[i];
    items[i].label = labels[i];
    if (labels[i] == AGF_TRUTH_SPOOF)
      n_spoof++;
    else
      n_live++;
  }
  qsort(items, n_scores, sizeof *items, compare_desc);

  AgfRoc *roc = g_new0(AgfRoc, 1);
  roc->n_live = n_live;
  roc->n_spoof = n_spoof;
  roc->thresholds = g_new(double, n_scores + 1);
  roc->fpr = g_new(double, n_scores + 1);
  roc->tpr = g_new(double, n_scores + 1);
  roc->thresholds[0] = INFINITY;
  roc->fpr[0] = 0.0;
  roc->tpr[0] = 0.0;
  gsize n = 1, fp = 0, tp = 0;
  for (gsize i = 0; i < n_scores;) {
    double t = items[i].score;
    for (; i < n_scores && items[i].score == t; i++) {
      if (items[i].label == AGF_TRUTH_SPOOF)
        tp++;
      else
        fp++;
    }
    roc->thresholds[n] = t;
    roc->fpr[n] = (double)fp / (double)n_live;
    roc->tpr[n] = (double)tp / (double)n_spoof;
    n++;
  }
  roc->n_points = n;
  g_free(items);
  return roc;
}

void
agf_roc_free(AgfRoc *roc)
{
  if (roc == NULL)
    return;
  g_free(roc->thresholds);
  g_free(roc->fpr);
  g_free(roc->tpr);
  g_free(roc);
}

double
agf_roc_auc(const AgfRoc *roc)
{
  g_return_val_if_fail(roc != NULL, NAN);
  double area = 0.0;
  for (gsize i = 1; i < roc->n_points; i++)
    area += (roc->fpr[i] - roc->fpr[i - 1]) *
            (roc->tpr[i] + roc->tpr[i - 1]) * 0.5;
  return area;
}

double
agf_roc_eer(const AgfRoc *roc, double *threshold)
{
  g_return_val_if_fail(roc != NULL && roc->n_points >= 2, NAN);
  /* d = FPR - FNR is non-decreasing along the points, -1 at point 0 and
   * +1 at the last, so the first i with d >= 0 exists and i >= 1. */
  gsize i = 1;
  while (i < roc->n_points - 1 &&
         roc->fpr[i] - (1.0 - roc->tpr[i]) < 0.0)
    i++;
  double d0 = roc->fpr[i - 1] - (1.0 - roc->tpr[i - 1]);
  double d1 = roc->fpr[i] - (1.0 - roc->tpr[i]);
  double eer;
  if (d1 == 0.0) {
    eer = roc->fpr[i];
  } else {
    double a = d0 / (d0 - d1); /* d0 < 0 < d1 here */
    eer = roc->fpr[i - 1] + a * (roc->fpr[i] - roc->fpr[i - 1]);
  }
  if (threshold != NULL)
    *threshold = fabs(d1) <= fabs(d0) ? roc->thresholds[i]
                                      : roc->thresholds[i - 1];
  return eer;
}

gboolean
agf_roc_tpr_at_fpr(const AgfRoc *roc, double fpr, double *tpr, GError **error)
{
  g_return_val_if_fail(roc != NULL && roc->n_points >= 2 && tpr != NULL,
                       FALSE);
  if (!(fpr >= 0.0 && fpr <= 1.0)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "metrics: FPR %g is outside [0, 1]; give a rate such as "
                "0.01 for 1 %%", fpr);
    return FALSE;
  }
  /* The last point with FPR <= fpr: the top of any vertical step there. */
  gsize j = 0;
  while (j + 1 < roc->n_points && roc->fpr[j + 1] <= fpr)
    j++;
  if (roc->fpr[j] == fpr || j + 1 == roc->n_points) {
    *tpr = roc->tpr[j];
  } else {
    double a = (fpr - roc->fpr[j]) / (roc->fpr[j + 1] - roc->fpr[j]);
    *tpr = roc->tpr[j] + a * (roc->tpr[j + 1] - roc->tpr[j]);
  }
  return TRUE;
}
