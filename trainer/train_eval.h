/* agfas-train eval internals shared by train_eval.c, eval_labels.c and
 * eval_plots.c. A row's label is an int: AGF_TRUTH_LIVE (0) or
 * AGF_TRUTH_SPOOF (1) of metrics/roc.h, or -1 when the manifest's AgfLabel
 * is none or unsure (such rows are skipped). */
#pragma once
#include <glib.h>
#include "metrics/fas_metrics.h"

G_BEGIN_DECLS

/* One scored frame (or still image). Strings are owned by the row. */
typedef struct {
  char *path;
  gint64 frame;  /* -1: a still */
  double score;
  int label;     /* 0 live, 1 spoof, -1 none (unlabeled or unsure) */
  char *attack, *domain, *video; /* NULL or non-empty */
} AgfEvalRow;

void agf_eval_row_free(gpointer row);

/* Reads a scores CSV/JSONL (columns path, frame, the score_column,
 * optionally label, attack, domain and the video_column) into AgfEvalRow
 * pointers; a row's score is its score_column ("score", or any other
 * numeric column, e.g. a cues manifest's residual_l1). Fills missing
 * label/attack/domain/video from labels_path (a manifest, joined on path +
 * frame, falling back to the path's still record) when not NULL. Rows
 * without a value whose status is set and not ok (frames score could not
 * score) are no samples. Errors: unreadable files, a missing, empty,
 * non-numeric or non-finite score_column value (naming the column). */
GPtrArray *agf_eval_rows_load(const char *scores_path,
                              const char *labels_path,
                              const char *video_column,
                              const char *score_column, GError **error);

/* The class of live samples in agf_eval_class_scores. */
#define AGF_EVAL_LIVE_CLASS "live"

/* The scores of one class: live, or one attack type. */
typedef struct {
  char *name;
  gsize n;
  double mean, median;
} AgfEvalClassScore;

/* The mean and median score per class of n samples (labels 0 live, 1
 * spoof; attacks[i] the attack type of spoof sample i, not NULL): live
 * first, then the attack types in order of first appearance. An array of
 * AgfEvalClassScore that frees its names. */
GArray *agf_eval_class_scores(const double *scores, const int *labels,
                              const char *const *attacks, gsize n);

/* Live samples against one attack type (eval_attack_figures.c). */
typedef struct {
  char *name;           /* the attack type */
  gsize n_live, n_spoof;
  double auc, eer;      /* of live vs this type alone */
  AgfHter hter;         /* at the whole set's EER threshold */
  AgfHter hter_fixed;   /* at the fixed threshold, when has_fixed */
  gboolean has_fixed;
} AgfEvalAttackFigures;

/* For each attack type (in order of first appearance) of n samples
 * (labels 0 live, 1 spoof; attacks[i] of spoof sample i): AUC and EER of
 * live vs that type, HTER at threshold (the whole set's EER threshold)
 * and at fixed (NAN: none). An array of AgfEvalAttackFigures that frees
 * its names; NULL and an error when the samples have no live one. */
GArray *agf_eval_attack_figures(const double *scores, const int *labels,
                                const char *const *attacks, gsize n,
                                double threshold, double fixed,
                                GError **error);

/* A vertical line on the histogram. */
typedef struct {
  const char *name;
  double value;
} AgfEvalMark;

/* roc.png + roc.svg: the ROC curve (fpr/tpr, n points), the chance line and
 * the EER point. */
gboolean agf_eval_plot_roc(const char *dir, const double *fpr,
                           const double *tpr, gsize n, double eer,
                           double auc, const char *title, GError **error);
/* hist.png + hist.svg: live and spoof score histograms with marks, the x
 * axis named after the score column (spoof probabilities in [0, 1] when
 * it is "score"). */
gboolean agf_eval_plot_hist(const char *dir, const double *scores,
                            const int *labels, gsize n,
                            const AgfEvalMark *marks, gsize n_marks,
                            const char *title, const char *column,
                            GError **error);

G_END_DECLS
