/* agfas-train eval SCORES [--labels MANIFEST] [--threshold T | --val VAL]
 *   [--video-column COL] [--score-column COL] [--out DIR]
 *
 * Frame scores -> (video scores ->) the face anti-spoofing figures: AUC,
 * EER, HTER at the test set's own EER threshold (the literature's
 * convention, optimistic: it peeks at the test labels) and at a fixed
 * threshold chosen without them (--threshold, or the EER threshold of the
 * source validation scores --val), TPR at FPR 1 %, ISO/IEC 30107-3 APCER
 * per attack type / BPCER / ACER, per domain when there is a domain column,
 * the mean and median score of live samples and of each attack type
 * (eval_class_scores.c), and AUC / EER / HTER of live samples against each
 * attack type alone (eval_attack_figures.c). Every figure comes from engine/metrics; this file
 * only selects, groups and reports. Writes DIR/report.json, roc.png/svg and hist.png/svg. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include "train_cli.h"
#include "train_eval.h"
#include "io/atomic_file.h"
#include "metrics/fas_metrics.h"
#include "nn/error.h"

static char *opt_labels, *opt_val, *opt_video_column, *opt_score_column,
  *opt_out;
static double opt_threshold = NAN;

static const GOptionEntry entries[] = {
  { "labels", 'l', 0, G_OPTION_ARG_FILENAME, &opt_labels,
    "Dataset manifest (CSV/JSONL) giving label, attack, domain and video "
    "for rows of SCORES that lack them, joined on path + frame", "MANIFEST" },
  { "threshold", 't', 0, G_OPTION_ARG_DOUBLE, &opt_threshold,
    "Fixed decision threshold (score >= T is an attack)", "T" },
  { "val", 0, 0, G_OPTION_ARG_FILENAME, &opt_val,
    "Source validation scores: the fixed threshold is their EER threshold "
    "(same format, --labels and --score-column as SCORES)", "VAL.csv" },
  { "video-column", 0, 0, G_OPTION_ARG_STRING, &opt_video_column,
    "Column grouping frames into videos (default: video); video scores are "
    "the mean of their frames", "COL" },
  { "score-column", 0, 0, G_OPTION_ARG_STRING, &opt_score_column,
    "Column read as each row's score (default: score), e.g. residual_l1 "
    "of a cues manifest", "COL" },
  { "out", 'o', 0, G_OPTION_ARG_FILENAME, &opt_out,
    "Report folder (default: eval): report.json, roc.png/svg, "
    "hist.png/svg", "DIR" },
  { NULL }
};

static const char description[] =
  "SCORES: CSV or JSONL with columns path, frame, score (spoof probability,\n"
  "higher = attack) and optionally label (live/spoof), attack, domain,\n"
  "video; rows without a live/spoof label are skipped. --score-column COL\n"
  "reads another numeric column as the score (higher = attack), e.g.\n"
  "`eval CUES/manifest.jsonl --score-column residual_l1` on the manifest\n"
  "of `agfas-train cues`, whose rows carry label, attack and video.\n\n"
  "When a video column exists, frames are averaged per video and every\n"
  "figure is per video (rows without a video id count as their own\n"
  "video, keyed by path). Decision rule: score >= threshold is an attack.\n"
  "The report also gives the mean and median score of live samples and\n"
  "of each attack type (score_mean, score_median), and AUC, EER and HTER\n"
  "of live samples against each attack type alone (per_attack_type).\n\n"
  "Exit status: 0 done, 1 failure (no live or no spoof samples, missing\n"
  "columns, NaN scores, unreadable files), 2 usage error.";

#define UNTYPED_ATTACK "unspecified"

/* The evaluated samples: frames, or videos. Strings point into rows or
 * videos. */
typedef struct {
  gsize n;
  double *scores;
  int *labels;
  const char **attacks; /* NULL for live */
  const char **domains; /* NULL: none */
} Samples;

typedef struct {
  GPtrArray *rows;
  AgfFasVideos *videos; /* NULL at frame level */
  Samples s;
  gsize n_frames, n_skipped;
} Set;

static void set_clear(Set *set)
{
  if (set->rows)
    g_ptr_array_unref(set->rows);
  agf_fas_videos_free(set->videos);
  g_free(set->s.scores);
  g_free(set->s.labels);
  g_free(set->s.attacks);
  g_free(set->s.domains);
}

/* Reads a scores file, drops unlabeled rows and groups frames into videos
 * when any row names one. */
static gboolean set_load(Set *set, const char *path, GError **error)
{
  memset(set, 0, sizeof *set);
  set->rows = agf_eval_rows_load(path, opt_labels, opt_video_column,
                                 opt_score_column, error);
  if (!set->rows)
    return FALSE;
  GPtrArray *all = set->rows;
  set->rows = g_ptr_array_new_with_free_func(agf_eval_row_free);
  gboolean grouped = FALSE;
  for (guint i = 0; i < all->len; i++) {
    AgfEvalRow *r = all->pdata[i];
    if (r->label < 0) {
      set->n_skipped++;
      continue;
    }
    grouped |= r->video != NULL;
    g_ptr_array_add(set->rows, g_ptr_array_steal_index(all, i--));
  }
  g_ptr_array_unref(all);
  const guint n = set->rows->len;
  set->n_frames = n;
  if (!n) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s: no row has a live/spoof label; add a 'label' column or "
                "pass --labels MANIFEST", path);
    return FALSE;
  }
  g_autofree double *sc = g_new(double, n);
  g_autofree int *lb = g_new(int, n);
  g_autofree const char **at = g_new0(const char *, n);
  g_autofree const char **ids = g_new(const char *, n);
  for (guint i = 0; i < n; i++) {
    const AgfEvalRow *r = set->rows->pdata[i];
    sc[i] = r->score;
    lb[i] = r->label ? AGF_TRUTH_SPOOF : AGF_TRUTH_LIVE;
    at[i] = r->label ? (r->attack ? r->attack : UNTYPED_ATTACK) : NULL;
    ids[i] = r->video ? r->video : r->path;
  }
  Samples *s = &set->s;
  if (grouped) {
    set->videos = agf_fas_videos_from_frames(sc, n, lb, n, ids, n, at, n,
                                             error);
    if (!set->videos) {
      g_prefix_error(error, "%s: ", path);
      return FALSE;
    }
    /* A video's domain is its first frame's. */
    g_autoptr(GHashTable) dom = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < n; i++) {
      const AgfEvalRow *r = set->rows->pdata[i];
      if (r->domain && !g_hash_table_contains(dom, ids[i]))
        g_hash_table_insert(dom, (gpointer)ids[i], r->domain);
    }
    const AgfFasVideos *v = set->videos;
    s->n = v->n;
    s->scores = g_memdup2(v->scores, v->n * sizeof(double));
    s->labels = g_memdup2(v->labels, v->n * sizeof(int));
    s->attacks = g_new0(const char *, v->n);
    s->domains = g_new0(const char *, v->n);
    for (gsize i = 0; i < v->n; i++) {
      s->attacks[i] = v->attack_types[i];
      s->domains[i] = g_hash_table_lookup(dom, v->group_ids[i]);
    }
  } else {
    s->n = n;
    s->scores = g_steal_pointer(&sc);
    s->labels = g_steal_pointer(&lb);
    s->attacks = g_steal_pointer(&at);
    s->domains = g_new0(const char *, n);
    for (guint i = 0; i < n; i++)
      s->domains[i] = ((const AgfEvalRow *)set->rows->pdata[i])->domain;
  }
  gsize n_live = 0;
  for (gsize i = 0; i < s->n; i++)
    n_live += s->labels[i] == AGF_TRUTH_LIVE;
  if (!n_live || n_live == s->n) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s: no %s samples (%" G_GSIZE_FORMAT " %s); the figures "
                "need both live and spoof samples", path,
                n_live ? "spoof" : "live", s->n,
                n_live ? "live" : "spoof");
    return FALSE;
  }
  return TRUE;
}

/* ---- figures of one sample set ---- */

typedef struct {
  gsize n_live, n_spoof;
  AgfRoc *roc;
  double auc, eer, eer_threshold, tpr_at_fpr1;
  AgfHter hter_eer, hter_fixed;
  AgfFasRates *rates_eer, *rates_fixed; /* rates_fixed: NULL without one */
  GArray *classes; /* AgfEvalClassScore: live, then each attack type */
  GArray *attacks; /* AgfEvalAttackFigures: live vs each attack type */
} Figures;

static void figures_clear(Figures *f)
{
  if (f->classes)
    g_array_unref(f->classes);
  if (f->attacks)
    g_array_unref(f->attacks);
  agf_roc_free(f->roc);
  agf_fas_rates_free(f->rates_eer);
  agf_fas_rates_free(f->rates_fixed);
}

static gboolean figures_compute(const Samples *s, double fixed, Figures *f,
                                GError **error)
{
  memset(f, 0, sizeof *f);
  const gsize n = s->n;
  f->roc = agf_roc_compute(s->scores, n, s->labels, n, error);
  if (!f->roc)
    return FALSE;
  f->n_live = f->roc->n_live;
  f->n_spoof = f->roc->n_spoof;
  f->auc = agf_roc_auc(f->roc);
  f->classes = agf_eval_class_scores(s->scores, s->labels, s->attacks, n);
  f->eer = agf_roc_eer(f->roc, &f->eer_threshold);
  if (!agf_roc_tpr_at_fpr(f->roc, 0.01, &f->tpr_at_fpr1, error) ||
      !agf_fas_hter_at_eer(s->scores, n, s->labels, n, &f->hter_eer, NULL,
                           error))
    return FALSE;
  f->rates_eer = agf_fas_rates_at(s->scores, n, s->labels, n, s->attacks, n,
                                  f->eer_threshold, error);
  if (!f->rates_eer)
    return FALSE;
  f->attacks = agf_eval_attack_figures(s->scores, s->labels, s->attacks, n,
                                       f->eer_threshold, fixed, error);
  if (!f->attacks)
    return FALSE;
  if (isnan(fixed))
    return TRUE;
  if (!agf_fas_hter_at(s->scores, n, s->labels, n, fixed, &f->hter_fixed,
                       error))
    return FALSE;
  f->rates_fixed = agf_fas_rates_at(s->scores, n, s->labels, n, s->attacks,
                                    n, fixed, error);
  return f->rates_fixed != NULL;
}

/* The samples of one domain (pointers into s). */
static Samples subset(const Samples *s, const char *domain)
{
  Samples d = { 0 };
  d.scores = g_new(double, s->n);
  d.labels = g_new(int, s->n);
  d.attacks = g_new(const char *, s->n);
  for (gsize i = 0; i < s->n; i++)
    if (s->domains[i] && !strcmp(s->domains[i], domain)) {
      d.scores[d.n] = s->scores[i];
      d.labels[d.n] = s->labels[i];
      d.attacks[d.n++] = s->attacks[i];
    }
  return d;
}

/* ---- report.json ---- */

static void json_hter(JsonBuilder *b, const char *key, const AgfHter *h)
{
  json_builder_set_member_name(b, key);
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "threshold");
  json_builder_add_double_value(b, h->threshold);
  json_builder_set_member_name(b, "far");
  json_builder_add_double_value(b, h->far);
  json_builder_set_member_name(b, "frr");
  json_builder_add_double_value(b, h->frr);
  json_builder_set_member_name(b, "hter");
  json_builder_add_double_value(b, h->hter);
  json_builder_end_object(b);
}

static void json_rates(JsonBuilder *b, const char *key,
                       const AgfFasRates *r)
{
  json_builder_set_member_name(b, key);
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "threshold");
  json_builder_add_double_value(b, r->threshold);
  json_builder_set_member_name(b, "apcer");
  json_builder_begin_object(b);
  for (gsize i = 0; i < r->n_attack_types; i++) {
    json_builder_set_member_name(b, r->attack_types[i]);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "n");
    json_builder_add_int_value(b, (gint64)r->n_attacks[i]);
    json_builder_set_member_name(b, "apcer");
    json_builder_add_double_value(b, r->apcer[i]);
    json_builder_end_object(b);
  }
  json_builder_end_object(b);
  json_builder_set_member_name(b, "apcer_max");
  json_builder_add_double_value(b, r->apcer_max);
  json_builder_set_member_name(b, "worst_attack_type");
  json_builder_add_string_value(b, r->worst_attack_type);
  json_builder_set_member_name(b, "n_bona_fide");
  json_builder_add_int_value(b, (gint64)r->n_bona_fide);
  json_builder_set_member_name(b, "bpcer");
  json_builder_add_double_value(b, r->bpcer);
  json_builder_set_member_name(b, "acer");
  json_builder_add_double_value(b, r->acer);
  json_builder_end_object(b);
}

/* key: {class: value} with the mean or the median of each class. */
static void json_classes(JsonBuilder *b, const char *key, const GArray *c,
                         gboolean median)
{
  json_builder_set_member_name(b, key);
  json_builder_begin_object(b);
  for (guint i = 0; i < c->len; i++) {
    const AgfEvalClassScore *k = &g_array_index(c, AgfEvalClassScore, i);
    json_builder_set_member_name(b, k->name);
    json_builder_add_double_value(b, median ? k->median : k->mean);
  }
  json_builder_end_object(b);
}

/* "per_attack_type": {type: {n_live, n_spoof, auc, eer, hter_at_eer
 * [, hter_at_fixed]}}, live vs that type alone. */
static void json_attacks(JsonBuilder *b, const GArray *a)
{
  json_builder_set_member_name(b, "per_attack_type");
  json_builder_begin_object(b);
  for (guint i = 0; i < a->len; i++) {
    const AgfEvalAttackFigures *k = &g_array_index(a, AgfEvalAttackFigures,
                                                   i);
    json_builder_set_member_name(b, k->name);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "n_live");
    json_builder_add_int_value(b, (gint64)k->n_live);
    json_builder_set_member_name(b, "n_spoof");
    json_builder_add_int_value(b, (gint64)k->n_spoof);
    json_builder_set_member_name(b, "auc");
    json_builder_add_double_value(b, k->auc);
    json_builder_set_member_name(b, "eer");
    json_builder_add_double_value(b, k->eer);
    json_hter(b, "hter_at_eer", &k->hter);
    if (k->has_fixed)
      json_hter(b, "hter_at_fixed", &k->hter_fixed);
    json_builder_end_object(b);
  }
  json_builder_end_object(b);
}

static void json_figures(JsonBuilder *b, const Figures *f)
{
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "n_live");
  json_builder_add_int_value(b, (gint64)f->n_live);
  json_builder_set_member_name(b, "n_spoof");
  json_builder_add_int_value(b, (gint64)f->n_spoof);
  json_builder_set_member_name(b, "auc");
  json_builder_add_double_value(b, f->auc);
  json_builder_set_member_name(b, "eer");
  json_builder_add_double_value(b, f->eer);
  json_builder_set_member_name(b, "eer_threshold");
  json_builder_add_double_value(b, f->eer_threshold);
  json_builder_set_member_name(b, "tpr_at_fpr_1pct");
  json_builder_add_double_value(b, f->tpr_at_fpr1);
  json_hter(b, "hter_at_eer", &f->hter_eer);
  json_rates(b, "rates_at_eer", f->rates_eer);
  json_classes(b, "score_mean", f->classes, FALSE);
  json_classes(b, "score_median", f->classes, TRUE);
  json_attacks(b, f->attacks);
  if (f->rates_fixed) {
    json_hter(b, "hter_at_fixed", &f->hter_fixed);
    json_rates(b, "rates_at_fixed", f->rates_fixed);
  }
  json_builder_end_object(b);
}

/* ---- the printed table ---- */

static void print_row(const char *name, const Figures *f)
{
  g_print("%-16s %6zu %6zu  %6.4f  %6.2f%%  %6.2f%%  ", name, f->n_live,
          f->n_spoof, f->auc, 100 * f->eer, 100 * f->hter_eer.hter);
  if (f->rates_fixed)
    g_print("%6.2f%%  ", 100 * f->hter_fixed.hter);
  else
    g_print("%7s  ", "-");
  const AgfFasRates *r = f->rates_fixed ? f->rates_fixed : f->rates_eer;
  g_print("%6.2f%%  %6.2f%%  %6.2f%%  %6.2f%%\n", 100 * f->tpr_at_fpr1,
          100 * r->apcer_max, 100 * r->bpcer, 100 * r->acer);
}

static void print_attacks(const Figures *f)
{
  const AgfFasRates *r = f->rates_fixed ? f->rates_fixed : f->rates_eer;
  g_print("\nAPCER per attack type at the %s threshold %.6g:\n",
          f->rates_fixed ? "fixed" : "test EER", r->threshold);
  for (gsize i = 0; i < r->n_attack_types; i++)
    g_print("  %-20s %6zu attacks  APCER %6.2f%%%s\n", r->attack_types[i],
            r->n_attacks[i], 100 * r->apcer[i],
            r->attack_types[i] == r->worst_attack_type ? "  (worst)" : "");
  g_print("  BPCER %.2f%% (%zu bona fide), ACER %.2f%%\n", 100 * r->bpcer,
          r->n_bona_fide, 100 * r->acer);
}

static void print_attack_figures(const Figures *f)
{
  g_print("\nLive vs each attack type alone (HTER at the overall test EER "
          "threshold%s):\n", f->rates_fixed ? "; and at the fixed one" : "");
  for (guint i = 0; i < f->attacks->len; i++) {
    const AgfEvalAttackFigures *k =
      &g_array_index(f->attacks, AgfEvalAttackFigures, i);
    g_print("  %-20s %6zu live %6zu spoof  AUC %6.4f  EER %6.2f%%  HTER "
            "%6.2f%%", k->name, k->n_live, k->n_spoof, k->auc, 100 * k->eer,
            100 * k->hter.hter);
    if (k->has_fixed)
      g_print("  HTER(fixed) %6.2f%%", 100 * k->hter_fixed.hter);
    g_print("\n");
  }
}

static void print_classes(const Figures *f, const char *level)
{
  g_print("\n%s per %s, by class:\n", opt_score_column, level);
  for (guint i = 0; i < f->classes->len; i++) {
    const AgfEvalClassScore *k =
      &g_array_index(f->classes, AgfEvalClassScore, i);
    g_print("  %-20s %6zu %ss  mean %.6g  median %.6g\n", k->name, k->n,
            level, k->mean, k->median);
  }
}

/* ---- the command ---- */

static int run_eval(const char *scores_path)
{
  GError *error = NULL;
  Set test, val = { 0 };
  gboolean ok = set_load(&test, scores_path, &error);
  double fixed = opt_threshold;
  const char *fixed_source = isnan(fixed) ? NULL : "--threshold";
  Figures vf = { 0 };
  if (ok && opt_val) {
    ok = set_load(&val, opt_val, &error) &&
         figures_compute(&val.s, NAN, &vf, &error);
    if (!ok)
      g_prefix_error(&error, "validation scores: ");
    fixed = vf.eer_threshold;
    fixed_source = "--val EER threshold";
  }
  Figures f = { 0 };
  ok = ok && figures_compute(&test.s, fixed, &f, &error);
  if (ok && g_mkdir_with_parents(opt_out, 0755) != 0) {
    int e = errno;
    g_set_error(&error, AGF_ERROR, AGF_ERROR_IO,
                "cannot create the report folder %s: %s", opt_out,
                g_strerror(e));
    ok = FALSE;
  }
  if (!ok) {
    figures_clear(&f);
    figures_clear(&vf);
    set_clear(&test);
    set_clear(&val);
    return agf_cli_fail(error);
  }
  const char *level = test.videos ? "video" : "frame";

  /* Domains, in order of first appearance. */
  g_autoptr(GPtrArray) domains = g_ptr_array_new();
  for (gsize i = 0; i < test.s.n; i++)
    if (test.s.domains[i] &&
        !g_ptr_array_find_with_equal_func(domains, test.s.domains[i],
                                          g_str_equal, NULL))
      g_ptr_array_add(domains, (gpointer)test.s.domains[i]);

  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "scores");
  json_builder_add_string_value(b, scores_path);
  json_builder_set_member_name(b, "score_column");
  json_builder_add_string_value(b, opt_score_column);
  json_builder_set_member_name(b, "labels");
  if (opt_labels)
    json_builder_add_string_value(b, opt_labels);
  else
    json_builder_add_null_value(b);
  json_builder_set_member_name(b, "level");
  json_builder_add_string_value(b, level);
  json_builder_set_member_name(b, "n_frames");
  json_builder_add_int_value(b, (gint64)test.n_frames);
  json_builder_set_member_name(b, "n_samples");
  json_builder_add_int_value(b, (gint64)test.s.n);
  json_builder_set_member_name(b, "n_unlabeled_skipped");
  json_builder_add_int_value(b, (gint64)test.n_skipped);
  json_builder_set_member_name(b, "decision");
  json_builder_add_string_value(b, "score >= threshold is an attack");
  json_builder_set_member_name(b, "fixed_threshold");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "source");
  if (fixed_source)
    json_builder_add_string_value(b, fixed_source);
  else
    json_builder_add_null_value(b);
  json_builder_set_member_name(b, "value");
  if (fixed_source)
    json_builder_add_double_value(b, fixed);
  else
    json_builder_add_null_value(b);
  if (opt_val) {
    json_builder_set_member_name(b, "val_scores");
    json_builder_add_string_value(b, opt_val);
    json_builder_set_member_name(b, "val_eer");
    json_builder_add_double_value(b, vf.eer);
    json_builder_set_member_name(b, "val_n_live");
    json_builder_add_int_value(b, (gint64)vf.n_live);
    json_builder_set_member_name(b, "val_n_spoof");
    json_builder_add_int_value(b, (gint64)vf.n_spoof);
  }
  json_builder_end_object(b);
  json_builder_set_member_name(b, "overall");
  json_figures(b, &f);

  g_print("agfas-train eval: %s, %s level: %zu samples from %zu labeled "
          "frames (%zu unlabeled skipped)\n", scores_path, level, test.s.n,
          test.n_frames, test.n_skipped);
  g_print("Thresholds: test EER %.6g%s", f.eer_threshold,
          fixed_source ? "" : "; no fixed threshold (--threshold or --val)");
  if (fixed_source)
    g_print(", fixed %.6g (%s)", fixed, fixed_source);
  g_print("\n\n%-16s %6s %6s  %6s  %7s  %7s  %7s  %7s  %7s  %7s  %7s\n",
          "set", "live", "spoof", "AUC", "EER", "HTER@E", "HTER@F",
          "TPR@1%", "APCERw", "BPCER", "ACER");
  print_row("all", &f);

  if (domains->len) {
    json_builder_set_member_name(b, "domains");
    json_builder_begin_object(b);
    for (guint k = 0; k < domains->len; k++) {
      const char *name = domains->pdata[k];
      Samples d = subset(&test.s, name);
      Figures df;
      GError *e = NULL;
      json_builder_set_member_name(b, name);
      if (figures_compute(&d, fixed, &df, &e)) {
        json_figures(b, &df);
        print_row(name, &df);
      } else {
        /* A domain with one class has no ROC; say so, keep the rest. */
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "error");
        json_builder_add_string_value(b, e->message);
        json_builder_end_object(b);
        g_print("%-16s %s\n", name, e->message);
        g_error_free(e);
      }
      figures_clear(&df);
      g_free(d.scores);
      g_free(d.labels);
      g_free(d.attacks);
    }
    json_builder_end_object(b);
  }
  json_builder_end_object(b);
  g_print("(E: test EER threshold, F: fixed threshold; APCERw/BPCER/ACER "
          "at F, else at E)\n");
  print_attacks(&f);
  print_attack_figures(&f);
  print_classes(&f, level);

  g_autoptr(JsonGenerator) gen = json_generator_new();
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  json_generator_set_pretty(gen, TRUE);
  gsize len;
  g_autofree char *text = json_generator_to_data(gen, &len);
  g_autofree char *report = g_build_filename(opt_out, "report.json", NULL);
  g_autofree char *title = g_strdup_printf("%s (%s level)", scores_path,
                                           level);
  AgfEvalMark marks[2] = { { "test EER", f.eer_threshold },
                           { "fixed", fixed } };
  ok = agf_atomic_write(report, "report", text, len, &error) &&
       agf_eval_plot_roc(opt_out, f.roc->fpr, f.roc->tpr, f.roc->n_points,
                         f.eer, f.auc, title, &error) &&
       agf_eval_plot_hist(opt_out, test.s.scores, test.s.labels, test.s.n,
                          marks, fixed_source ? 2 : 1, title,
                          opt_score_column, &error);
  figures_clear(&f);
  figures_clear(&vf);
  set_clear(&test);
  set_clear(&val);
  if (!ok)
    return agf_cli_fail(error);
  g_print("\nWrote %s, roc.png/.svg and hist.png/.svg in %s\n", report,
          opt_out);
  return AGF_EXIT_OK;
}

int agf_train_eval(int argc, char **argv)
{
  const AgfTrainCommand *cmd = agf_train_command("eval");
  g_autoptr(GOptionContext) ctx = agf_cli_context(cmd, entries, NULL, FALSE,
                                                  NULL);
  g_option_context_set_description(ctx, description);
  int rc;
  if (!agf_cli_parse(ctx, "eval", &argc, &argv, &rc))
    return rc;
  if (argc != 2)
    return agf_cli_usage_error("eval", argc < 2 ? "missing SCORES file"
                                                : "expected one SCORES file");
  if (!isnan(opt_threshold) && opt_val)
    return agf_cli_usage_error("eval", "--threshold and --val both fix the "
                                       "threshold; give one");
  if (isinf(opt_threshold))
    return agf_cli_usage_error("eval", "--threshold must be finite");
  if (!opt_video_column)
    opt_video_column = g_strdup("video");
  if (!opt_score_column)
    opt_score_column = g_strdup("score");
  if (!*opt_score_column)
    return agf_cli_usage_error("eval", "--score-column needs a column name");
  if (!opt_out)
    opt_out = g_strdup("eval");
  return run_eval(argv[1]);
}
