/* ROC analysis of spoof scores.
 *
 * Conventions used by every function here and in fas_metrics.h:
 * - a score is a spoof probability: higher means more likely an attack;
 * - the positive class is spoof (AGF_TRUTH_SPOOF), the negative class live;
 * - at threshold t a sample is classified as an attack when score >= t.
 * So FPR = live samples flagged as attacks (BPCER, FRR) and
 * FNR = 1 - TPR = attacks accepted as live (pooled APCER, FAR). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Binary ground truth of a scored sample (the manifest's AgfLabel also has
 * none and unsure, which are never scored). */
typedef enum {
  AGF_TRUTH_LIVE = 0,  /* bona fide presentation */
  AGF_TRUTH_SPOOF = 1, /* attack presentation */
} AgfTruth;

/* One point per distinct threshold, thresholds strictly decreasing:
 * point 0 is threshold +inf (FPR = TPR = 0), point k uses the k-th largest
 * distinct score, so tied scores move FPR and TPR together in one step
 * (the diagonal segment that counts cross-class ties as 1/2). The last
 * point (the lowest score) is FPR = TPR = 1. Same points as scikit-learn's
 * roc_curve(drop_intermediate=False). */
typedef struct {
  gsize n_points;
  double *thresholds;
  double *fpr;
  double *tpr;
  gsize n_live;
  gsize n_spoof;
} AgfRoc;

/* Checks that scores and labels have the same, non-zero length, that every
 * score is finite and every label is AGF_TRUTH_LIVE or AGF_TRUTH_SPOOF.
 * When require_both_classes, also that both classes occur. */
gboolean agf_metrics_check_input(const double *scores, gsize n_scores,
                                 const int *labels, gsize n_labels,
                                 gboolean require_both_classes, GError **error);

/* Fails with AGF_ERROR_INVALID_ARGUMENT on empty input, mismatched
 * lengths, a NaN/infinite score, an unknown label, or when only one class
 * is present (FPR or TPR, hence AUC and EER, are then undefined). */
AgfRoc *agf_roc_compute(const double *scores, gsize n_scores,
                        const int *labels, gsize n_labels, GError **error);
void agf_roc_free(AgfRoc *roc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfRoc, agf_roc_free)

/* Trapezoid area under the ROC points: equal to the Mann-Whitney
 * probability P(spoof score > live score) + 1/2 P(equal). */
double agf_roc_auc(const AgfRoc *roc);

/* Equal error rate. FPR - FNR rises from -1 (point 0) to +1 (last point);
 * the EER is where the straight segment between the last point with
 * FPR < FNR and the first with FPR >= FNR crosses FPR = FNR (linear
 * interpolation, so it may lie between achievable operating points).
 * *threshold (may be NULL) is the threshold of whichever of those two
 * points has the smaller |FPR - FNR|, the lower one on a tie: always a
 * finite score present in the data. */
double agf_roc_eer(const AgfRoc *roc, double *threshold);

/* TPR at a given FPR in [0, 1]: the ROC curve read as a function, linearly
 * interpolated between the two points bracketing fpr; where several points
 * share FPR == fpr (a vertical step) the highest TPR is returned. Fails
 * with AGF_ERROR_INVALID_ARGUMENT when fpr is outside [0, 1] or NaN. */
gboolean agf_roc_tpr_at_fpr(const AgfRoc *roc, double fpr, double *tpr,
                            GError **error);

G_END_DECLS
