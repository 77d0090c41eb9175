/* Reading scores files for agfas-train eval, and joining labels from a
 * dataset manifest. The scores file is read with the manifest reader: its
 * columns (path, frame, score, label, attack, domain, video) are manifest
 * columns, so quoting, BOMs and JSONL come for free; a score column other
 * than score is one of the manifest's extra columns, parsed here. */
#include <math.h>
#include <string.h>
#include "train_eval.h"
#include "io/manifest.h"
#include "metrics/roc.h"
#include "nn/error.h"

void agf_eval_row_free(gpointer p)
{
  AgfEvalRow *r = p;
  if (!r)
    return;
  g_free(r->path);
  g_free(r->attack);
  g_free(r->domain);
  g_free(r->video);
  g_free(r);
}

static char *nonempty(const char *s)
{
  return s && *s ? g_strdup(s) : NULL;
}

static int label_int(AgfLabel l)
{
  return l == AGF_LABEL_LIVE ? AGF_TRUTH_LIVE
         : l == AGF_LABEL_SPOOF ? AGF_TRUTH_SPOOF : -1;
}

/* The video column by name: the known columns, else an extra one. */
static const char *column(const AgfManifestRecord *r, const char *name)
{
  if (!strcmp(name, "video"))
    return r->video;
  if (!strcmp(name, "subject"))
    return r->subject;
  if (!strcmp(name, "path"))
    return r->path;
  if (!strcmp(name, "source"))
    return r->source;
  if (!strcmp(name, "split"))
    return r->split;
  return agf_manifest_record_get_extra(r, name);
}

static char *join_key(const AgfManifest *m, const char *path, gint64 frame)
{
  g_autofree char *abs = agf_manifest_resolve(m, path);
  g_autofree char *canon = g_canonicalize_filename(abs, NULL);
  return g_strdup_printf("%s\n%" G_GINT64_FORMAT, canon, frame);
}

static GHashTable *label_index(const AgfManifest *m)
{
  GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                        NULL);
  for (guint i = 0; i < agf_manifest_len(m); i++) {
    AgfManifestRecord *r = agf_manifest_get(m, i);
    if (r->path && *r->path)
      g_hash_table_insert(h, join_key(m, r->path, r->frame), r);
  }
  return h;
}

/* Record r's score_column as a number: NAN when it is absent or empty,
 * *bad set (to the text) when it is not a number. */
static double score_of(const AgfManifestRecord *r, const char *score_column,
                       const char **bad)
{
  *bad = NULL;
  if (!strcmp(score_column, "score"))
    return r->score;
  const char *v = agf_manifest_record_get_extra(r, score_column);
  if (!v || !*v)
    return NAN;
  char *end;
  const double x = g_ascii_strtod(v, &end);
  if (end == v || *end) {
    *bad = v;
    return NAN;
  }
  return x;
}

GPtrArray *agf_eval_rows_load(const char *scores_path,
                              const char *labels_path,
                              const char *video_column,
                              const char *score_column, GError **error)
{
  g_autoptr(AgfManifest) m = agf_manifest_load(scores_path, error);
  if (!m)
    return NULL;
  g_autoptr(AgfManifest) lm = NULL;
  g_autoptr(GHashTable) index = NULL;
  if (labels_path) {
    lm = agf_manifest_load(labels_path, error);
    if (!lm)
      return NULL;
    index = label_index(lm);
  }
  if (!agf_manifest_len(m)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s holds no scores: it needs a header and one row per "
                "frame (path, frame, score)", scores_path);
    return NULL;
  }
  GPtrArray *rows = g_ptr_array_new_with_free_func(agf_eval_row_free);
  for (guint i = 0; i < agf_manifest_len(m); i++) {
    const AgfManifestRecord *r = agf_manifest_get(m, i);
    const char *bad;
    const double score = score_of(r, score_column, &bad);
    /* agfas-train score's rows for frames it could not score (status
     * no_face, unreadable, ...) carry no score, and cues' records without
     * a crop no residual_l1: not a sample. */
    if (isnan(score) && !bad && r->status && *r->status &&
        strcmp(r->status, "ok"))
      continue;
    if (!r->path || !*r->path || !isfinite(score)) {
      g_autofree char *what =
        !r->path || !*r->path ? g_strdup("no path")
        : bad ? g_strdup_printf("a non-numeric %s '%s'", score_column, bad)
        : isnan(score) ? g_strdup_printf("no %s (or NaN)", score_column)
        : g_strdup_printf("an infinite %s", score_column);
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "%s: record %u has %s; every row needs a path and a "
                  "finite score (is there a '%s' column? --score-column "
                  "names it)", scores_path, i + 1, what, score_column);
      g_ptr_array_unref(rows);
      return NULL;
    }
    AgfEvalRow *row = g_new0(AgfEvalRow, 1);
    row->path = g_strdup(r->path);
    row->frame = r->frame;
    row->score = score;
    row->label = label_int(r->label);
    row->attack = nonempty(r->attack);
    row->domain = nonempty(r->domain);
    row->video = nonempty(column(r, video_column));
    if (index) {
      g_autofree char *k = join_key(m, r->path, r->frame);
      const AgfManifestRecord *l = g_hash_table_lookup(index, k);
      if (!l && r->frame >= 0) {
        g_autofree char *k2 = join_key(m, r->path, -1);
        l = g_hash_table_lookup(index, k2);
      }
      if (l) {
        if (row->label < 0)
          row->label = label_int(l->label);
        if (!row->attack)
          row->attack = nonempty(l->attack);
        if (!row->domain)
          row->domain = nonempty(l->domain);
        if (!row->video)
          row->video = nonempty(column(l, video_column));
      }
    }
    g_ptr_array_add(rows, row);
  }
  return rows;
}
