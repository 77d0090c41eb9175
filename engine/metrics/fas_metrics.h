/* ISO/IEC 30107-3 error rates, HTER and video-level aggregation.
 * Scores, labels and the decision rule (score >= threshold = attack) follow
 * roc.h. Every function fails with AGF_ERROR_INVALID_ARGUMENT on empty
 * input, mismatched lengths, NaN/infinite scores or unknown labels. */
#pragma once

#include <glib.h>

#include "metrics/roc.h"

G_BEGIN_DECLS

/* Rates at one threshold. Attack types are sorted by name (strcmp). */
typedef struct {
  double threshold;
  gsize n_attack_types;
  char **attack_types;   /* n_attack_types names */
  gsize *n_attacks;      /* attack presentations per type */
  double *apcer;         /* per type: attacks of the type classified as bona fide */
  double apcer_max;      /* the worst type's APCER */
  const char *worst_attack_type; /* points into attack_types; first on ties */
  gsize n_bona_fide;
  double bpcer;          /* bona fide presentations classified as attacks */
  double acer;           /* (apcer_max + bpcer) / 2 */
} AgfFasRates;

/* attack_types holds one entry per sample (n_attack_types == n_scores);
 * entries of live samples are ignored and may be NULL, each spoof sample
 * needs a non-empty type. Needs at least one live and one spoof sample. */
AgfFasRates *agf_fas_rates_at(const double *scores, gsize n_scores,
                              const int *labels, gsize n_labels,
                              const char *const *attack_types,
                              gsize n_attack_types, double threshold,
                              GError **error);
void agf_fas_rates_free(AgfFasRates *rates);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfFasRates, agf_fas_rates_free)

/* Half total error rate at one threshold. FAR: attacks accepted as live
 * (all attack types pooled); FRR: live samples rejected. */
typedef struct {
  double threshold;
  double far;
  double frr;
  double hter; /* (far + frr) / 2 */
} AgfHter;

gboolean agf_fas_hter_at(const double *scores, gsize n_scores,
                         const int *labels, gsize n_labels, double threshold,
                         AgfHter *out, GError **error);

/* HTER at the test set's own EER threshold (agf_roc_eer's threshold), the
 * convention of the face anti-spoofing literature; *eer (may be NULL)
 * receives the interpolated EER. Needs both classes. */
gboolean agf_fas_hter_at_eer(const double *scores, gsize n_scores,
                             const int *labels, gsize n_labels, AgfHter *out,
                             double *eer, GError **error);

/* Frames grouped into videos by group id: the video score is the mean of
 * its frames' scores. Videos are in order of first appearance. */
typedef struct {
  gsize n;
  char **group_ids;
  double *scores;
  int *labels;
  char **attack_types; /* NULL entries for live videos */
  gsize *n_frames;
} AgfFasVideos;

/* attack_types may be NULL (no types); otherwise one entry per frame as in
 * agf_fas_rates_at. Fails when a group mixes labels or attack types, or a
 * group id is NULL. */
AgfFasVideos *agf_fas_videos_from_frames(const double *scores, gsize n_scores,
                                         const int *labels, gsize n_labels,
                                         const char *const *group_ids,
                                         gsize n_group_ids,
                                         const char *const *attack_types,
                                         gsize n_attack_types, GError **error);
void agf_fas_videos_free(AgfFasVideos *videos);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfFasVideos, agf_fas_videos_free)

G_END_DECLS
