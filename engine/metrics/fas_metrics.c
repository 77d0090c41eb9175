/* ISO/IEC 30107-3 APCER/BPCER/ACER, HTER and frame -> video scores. */
#include "metrics/fas_metrics.h"

#include <math.h>
#include <string.h>

#include "nn/error.h"

static gboolean
check_types(const int *labels, gsize n, const char *const *attack_types,
            gsize n_attack_types, GError **error)
{
  if (attack_types == NULL || n_attack_types != n) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "metrics: %" G_GSIZE_FORMAT " attack types for %"
                G_GSIZE_FORMAT " samples; give one entry per sample (NULL "
                "for live ones)", attack_types == NULL ? 0 : n_attack_types,
                n);
    return FALSE;
  }
  for (gsize i = 0; i < n; i++) {
    if (labels[i] == AGF_TRUTH_SPOOF &&
        (attack_types[i] == NULL || attack_types[i][0] == '\0')) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "metrics: spoof sample %" G_GSIZE_FORMAT " has no attack "
                  "type; name its type (e.g. print, replay)", i);
      return FALSE;
    }
  }
  return TRUE;
}

static int
compare_names(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

AgfFasRates *
agf_fas_rates_at(const double *scores, gsize n_scores, const int *labels,
                 gsize n_labels, const char *const *attack_types,
                 gsize n_attack_types, double threshold, GError **error)
{
  if (!agf_metrics_check_input(scores, n_scores, labels, n_labels, TRUE,
                               error) ||
      !check_types(labels, n_scores, attack_types, n_attack_types, error))
    return NULL;
  if (isnan(threshold)) {
    g_set_error_literal(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                        "metrics: the threshold is NaN; give a number");
    return NULL;
  }

  /* Distinct type names, sorted, then index them. */
  GHashTable *index = g_hash_table_new(g_str_hash, g_str_equal);
  GPtrArray *names = g_ptr_array_new();
  for (gsize i = 0; i < n_scores; i++) {
    if (labels[i] == AGF_TRUTH_SPOOF &&
        !g_hash_table_contains(index, attack_types[i])) {
      g_hash_table_add(index, (gpointer)attack_types[i]);
      g_ptr_array_add(names, (gpointer)attack_types[i]);
    }
  }
  g_ptr_array_sort(names, compare_names);
  g_hash_table_remove_all(index);
  for (guint k = 0; k < names->len; k++)
    g_hash_table_insert(index, names->pdata[k], GUINT_TO_POINTER(k + 1));

  AgfFasRates *r = g_new0(AgfFasRates, 1);
  r->threshold = threshold;
  r->n_attack_types = names->len;
  r->attack_types = g_new0(char *, names->len + 1);
  r->n_attacks = g_new0(gsize, names->len);
  r->apcer = g_new0(double, names->len);
  gsize *accepted = g_new0(gsize, names->len);
  gsize rejected_live = 0;
  for (guint k = 0; k < names->len; k++)
    r->attack_types[k] = g_strdup(names->pdata[k]);
  for (gsize i = 0; i < n_scores; i++) {
    gboolean attack = scores[i] >= threshold;
    if (labels[i] == AGF_TRUTH_LIVE) {
      r->n_bona_fide++;
      rejected_live += attack;
    } else {
      gsize k = GPOINTER_TO_UINT(g_hash_table_lookup(index,
                                                     attack_types[i])) - 1;
      r->n_attacks[k]++;
      accepted[k] += !attack;
    }
  }
  r->apcer_max = -1.0;
  for (gsize k = 0; k < r->n_attack_types; k++) {
    r->apcer[k] = (double)accepted[k] / (double)r->n_attacks[k];
    if (r->apcer[k] > r->apcer_max) {
      r->apcer_max = r->apcer[k];
      r->worst_attack_type = r->attack_types[k];
    }
  }
  r->bpcer = (double)rejected_live / (double)r->n_bona_fide;
  r->acer = (r->apcer_max + r->bpcer) * 0.5;
  g_free(accepted);
  g_ptr_array_free(names, TRUE);
  g_hash_table_destroy(index);
  return r;
}

void
agf_fas_rates_free(AgfFasRates *rates)
{
  if (rates == NULL)
    return;
  g_strfreev(rates->attack_types);
  g_free(rates->n_attacks);
  g_free(rates->apcer);
  g_free(rates);
}

gboolean
agf_fas_hter_at(const double *scores, gsize n_scores, const int *labels,
                gsize n_labels, double threshold, AgfHter *out,
                GError **error)
{
  g_return_val_if_fail(out != NULL, FALSE);
  if (!agf_metrics_check_input(scores, n_scores, labels, n_labels, TRUE,
                               error))
    return FALSE;
  if (isnan(threshold)) {
    g_set_error_literal(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                        "metrics: the threshold is NaN; give a number");
    return FALSE;
  }
  gsize n_live = 0, n_spoof = 0, false_accept = 0, false_reject = 0;
  for (gsize i = 0; i < n_scores; i++) {
    gboolean attack = scores[i] >= threshold;
    if (labels[i] == AGF_TRUTH_LIVE) {
      n_live++;
      false_reject += attack;
    } else {
      n_spoof++;
      false_accept += !attack;
    }
  }
  out->threshold = threshold;
  out->far = (double)false_accept / (double)n_spoof;
  out->frr = (double)false_reject / (double)n_live;
  out->hter = (out->far + out->frr) * 0.5;
  return TRUE;
}

gboolean
agf_fas_hter_at_eer(const double *scores, gsize n_scores, const int *labels,
                    gsize n_labels, AgfHter *out, double *eer, GError **error)
{
  g_return_val_if_fail(out != NULL, FALSE);
  g_autoptr(AgfRoc) roc = agf_roc_compute(scores, n_scores, labels, n_labels,
                                          error);
  if (roc == NULL)
    return FALSE;
  double threshold;
  double e = agf_roc_eer(roc, &threshold);
  if (eer != NULL)
    *eer = e;
  return agf_fas_hter_at(scores, n_scores, labels, n_labels, threshold, out,
                         error);
}

AgfFasVideos *
agf_fas_videos_from_frames(const double *scores, gsize n_scores,
                           const int *labels, gsize n_labels,
                           const char *const *group_ids, gsize n_group_ids,
                           const char *const *attack_types,
                           gsize n_attack_types, GError **error)
{
  if (!agf_metrics_check_input(scores, n_scores, labels, n_labels, FALSE,
                               error))
    return NULL;
  if (group_ids == NULL || n_group_ids != n_scores) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "metrics: %" G_GSIZE_FORMAT " group ids for %" G_GSIZE_FORMAT
                " frames; give one video id per frame",
                group_ids == NULL ? 0 : n_group_ids, n_scores);
    return NULL;
  }
  if (attack_types != NULL &&
      !check_types(labels, n_scores, attack_types, n_attack_types, error))
    return NULL;

  GHashTable *index = g_hash_table_new(g_str_hash, g_str_equal);
  gsize *first = g_new(gsize, n_scores); /* first frame of each video */
  double *sums = g_new0(double, n_scores);
  gsize *counts = g_new0(gsize, n_scores);
  gsize n = 0;
  gboolean ok = TRUE;
  for (gsize i = 0; i < n_scores && ok; i++) {
    if (group_ids[i] == NULL) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "metrics: frame %" G_GSIZE_FORMAT " has no group id; give "
                  "each frame its video's id", i);
      ok = FALSE;
      break;
    }
    gpointer found;
    gsize v;
    if (g_hash_table_lookup_extended(index, group_ids[i], NULL, &found)) {
      v = GPOINTER_TO_SIZE(found);
      gsize f = first[v];
      const char *ta = attack_types ? attack_types[f] : NULL;
      const char *tb = attack_types ? attack_types[i] : NULL;
      if (labels[f] != labels[i] ||
          (labels[i] == AGF_TRUTH_SPOOF && ta && tb && strcmp(ta, tb) != 0)) {
        g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                    "metrics: video \"%s\" mixes %s (frame %" G_GSIZE_FORMAT
                    ") and frame %" G_GSIZE_FORMAT "; a video must have one "
                    "label and attack type", group_ids[i],
                    labels[f] != labels[i] ? "labels" : "attack types", f, i);
        ok = FALSE;
        break;
      }
    } else {
      v = n++;
      first[v] = i;
      g_hash_table_insert(index, (gpointer)group_ids[i], GSIZE_TO_POINTER(v));
    }
    sums[v] += scores[i];
    counts[v]++;
  }

  AgfFasVideos *out = NULL;
  if (ok) {
    out = g_new0(AgfFasVideos, 1);
    out->n = n;
    out->group_ids = g_new0(char *, n + 1);
    out->scores = g_new(double, n);
    out->labels = g_new(int, n);
    out->attack_types = g_new0(char *, n);
    out->n_frames = g_new(gsize, n);
    for (gsize v = 0; v < n; v++) {
      gsize f = first[v];
      out->group_ids[v] = g_strdup(group_ids[f]);
      out->scores[v] = sums[v] / (double)counts[v];
      out->labels[v] = labels[f];
      if (attack_types != NULL && labels[f] == AGF_TRUTH_SPOOF)
        out->attack_types[v] = g_strdup(attack_types[f]);
      out->n_frames[v] = counts[v];
    }
  }
  g_hash_table_destroy(index);
  g_free(first);
  g_free(sums);
  g_free(counts);
  return out;
}

void
agf_fas_videos_free(AgfFasVideos *videos)
{
  if (videos == NULL)
    return;
  g_strfreev(videos->group_ids);
  g_free(videos->scores);
  g_free(videos->labels);
  if (videos->attack_types != NULL) {
    for (gsize v = 0; v < videos->n; v++)
      g_free(videos->attack_types[v]);
    g_free(videos->attack_types);
  }
  g_free(videos->n_frames);
  g_free(videos);
}
