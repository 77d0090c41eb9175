/* Dataset manifest records, their field text, and the format-independent
 * load / save (manifest.h). The encodings live in manifest_csv.c and
 * manifest_jsonl.c, the journal in manifest_journal.c. */
#include "io/manifest_private.h"
#include "io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "nn/error.h"

/* ---- known columns ------------------------------------------------------ */

const char *const _agf_manifest_col_names[C_COUNT] = {
  "path", "label", "attack", "subject", "domain", "video", "split", "frame",
  "face", "box", "landmarks", "score", "crop", "source", "status", "error",
};

int _agf_manifest_col_of(const char *name)
{
  for (int c = 0; c < C_COUNT; c++)
    if (!strcmp(name, _agf_manifest_col_names[c]))
      return c;
  return -1;
}

/* The string member of column c, NULL for the typed columns. */
char **_agf_manifest_str_field(AgfManifestRecord *r, int c)
{
  switch (c) {
  case C_PATH: return &r->path;
  case C_ATTACK: return &r->attack;
  case C_SUBJECT: return &r->subject;
  case C_DOMAIN: return &r->domain;
  case C_VIDEO: return &r->video;
  case C_SPLIT: return &r->split;
  case C_CROP: return &r->crop;
  case C_SOURCE: return &r->source;
  case C_STATUS: return &r->status;
  case C_ERROR: return &r->error;
  default: return NULL;
  }
}

/* ---- records ------------------------------------------------------------ */

AgfManifestRecord *agf_manifest_record_new(void)
{
  AgfManifestRecord *r = g_new0(AgfManifestRecord, 1);
  r->frame = -1;
  r->face = -1;
  r->score = NAN;
  return r;
}

static void extra_clear(gpointer p)
{
  AgfManifestExtra *e = p;
  g_free(e->key);
  g_free(e->value);
}

static GArray *extra_array(void)
{
  GArray *a = g_array_new(FALSE, FALSE, sizeof(AgfManifestExtra));
  g_array_set_clear_func(a, extra_clear);
  return a;
}

AgfManifestRecord *agf_manifest_record_copy(const AgfManifestRecord *r)
{
  AgfManifestRecord *c = g_memdup2(r, sizeof *r);
  for (int k = 0; k < C_COUNT; k++) {
    char **s = _agf_manifest_str_field(c, k);
    if (s)
      *s = g_strdup(*s);
  }
  c->extra = NULL;
  if (r->extra) {
    c->extra = extra_array();
    for (guint i = 0; i < r->extra->len; i++) {
      const AgfManifestExtra *e = &g_array_index(r->extra, AgfManifestExtra, i);
      AgfManifestExtra d = { g_strdup(e->key), g_strdup(e->value), e->json };
      g_array_append_val(c->extra, d);
    }
  }
  return c;
}

void agf_manifest_record_free(AgfManifestRecord *r)
{
  if (!r)
    return;
  for (int k = 0; k < C_COUNT; k++) {
    char **s = _agf_manifest_str_field(r, k);
    if (s)
      g_free(*s);
  }
  if (r->extra)
    g_array_unref(r->extra);
  g_free(r);
}

static AgfManifestExtra *find_extra(const AgfManifestRecord *r,
                                    const char *key)
{
  for (guint i = 0; r->extra && i < r->extra->len; i++) {
    AgfManifestExtra *e = &g_array_index(r->extra, AgfManifestExtra, i);
    if (!strcmp(e->key, key))
      return e;
  }
  return NULL;
}

const char *agf_manifest_record_get_extra(const AgfManifestRecord *r,
                                          const char *key)
{
  const AgfManifestExtra *e = find_extra(r, key);
  return e ? e->value : NULL;
}

void _agf_manifest_set_extra(AgfManifestRecord *r, const char *key,
                             const char *value, gboolean json)
{
  AgfManifestExtra *e = find_extra(r, key);
  if (e) {
    g_free(e->value);
    e->value = g_strdup(value);
    e->json = json;
    return;
  }
  if (!r->extra)
    r->extra = extra_array();
  AgfManifestExtra n = { g_strdup(key), g_strdup(value), json };
  g_array_append_val(r->extra, n);
}

void agf_manifest_record_set_extra(AgfManifestRecord *r, const char *key,
                                   const char *value)
{
  g_return_if_fail(key && _agf_manifest_col_of(key) < 0);
  _agf_manifest_set_extra(r, key, value, FALSE);
}

/* ---- labels ------------------------------------------------------------- */

const char *agf_label_name(AgfLabel label)
{
  switch (label) {
  case AGF_LABEL_LIVE: return "live";
  case AGF_LABEL_SPOOF: return "spoof";
  case AGF_LABEL_UNSURE: return "unsure";
  default: return "";
  }
}

gboolean agf_label_parse(const char *s, AgfLabel *out)
{
  static const struct { const char *word; AgfLabel label; } words[] = {
    { "", AGF_LABEL_NONE }, { "live", AGF_LABEL_LIVE },
    { "real", AGF_LABEL_LIVE }, { "genuine", AGF_LABEL_LIVE },
    { "bonafide", AGF_LABEL_LIVE }, { "spoof", AGF_LABEL_SPOOF },
    { "fake", AGF_LABEL_SPOOF }, { "attack", AGF_LABEL_SPOOF },
    { "unsure", AGF_LABEL_UNSURE },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(words); i++)
    if (!g_ascii_strcasecmp(s, words[i].word)) {
      *out = words[i].label;
      return TRUE;
    }
  return FALSE;
}

/* ---- field text --------------------------------------------------------- */

/* Coordinates to 0.01 px, trailing zeros dropped: short and idempotent
 * (write -> read -> write gives the same text). */
static void append_coord(GString *s, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd(buf, sizeof buf, "%.2f", v);
  char *dot = strchr(buf, '.');
  if (dot) {
    char *e = buf + strlen(buf) - 1;
    while (e > dot && *e == '0')
      *e-- = 0;
    if (e == dot)
      *e = 0;
  }
  g_string_append(s, strcmp(buf, "-0") ? buf : "0");
}

static void append_score(GString *s, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append(s, g_ascii_formatd(buf, sizeof buf, "%.6g", v));
}

/* The text of a typed column (CSV cell), NULL when empty. sep separates
 * the numbers of box and landmarks. */
char *_agf_manifest_typed_text(const AgfManifestRecord *r, int c,
                               const char *sep)
{
  GString *s = g_string_new(NULL);
  switch (c) {
  case C_LABEL:
    if (r->label != AGF_LABEL_NONE)
      g_string_append(s, agf_label_name(r->label));
    break;
  case C_FRAME:
    if (r->frame >= 0)
      g_string_append_printf(s, "%" G_GINT64_FORMAT, (gint64)r->frame);
    break;
  case C_FACE:
    if (r->face >= 0)
      g_string_append_printf(s, "%d", r->face);
    break;
  case C_BOX:
    for (int i = 0; r->has_box && i < 4; i++) {
      if (i)
        g_string_append(s, sep);
      append_coord(s, r->box[i]);
    }
    break;
  case C_LANDMARKS:
    for (int i = 0; r->has_landmarks && i < 2 * AGF_MANIFEST_N_LANDMARKS; i++) {
      if (i)
        g_string_append(s, sep);
      append_coord(s, r->landmarks[i / 2][i % 2]);
    }
    break;
  case C_SCORE:
    if (!isnan(r->score))
      append_score(s, r->score);
    break;
  default:
    break;
  }
  if (!s->len) {
    g_string_free(s, TRUE);
    return NULL;
  }
  return g_string_free(s, FALSE);
}

/* n finite numbers separated by spaces (commas also accepted). */
static gboolean parse_numbers(const char *text, float *out, int n,
                              const char *what, GError **error)
{
  g_auto(GStrv) parts = g_strsplit_set(text, " \t,", -1);
  int k = 0;
  for (char **p = parts; *p; p++) {
    if (!**p)
      continue;
    char *end;
    double v = g_ascii_strtod(*p, &end);
    if (*end || !isfinite(v) || k == n) {
      k = -1;
      break;
    }
    out[k++] = (float)v;
  }
  if (k != n) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s '%s' is not %d numbers separated by spaces", what, text,
                n);
    return FALSE;
  }
  return TRUE;
}

static gboolean parse_int(const char *text, gint64 max, gint64 *out,
                          const char *what, GError **error)
{
  guint64 v;
  if (!g_ascii_string_to_unsigned(text, 10, 0, (guint64)max, &v, NULL)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s '%s' is not a whole number >= 0", what, text);
    return FALSE;
  }
  *out = (gint64)v;
  return TRUE;
}

/* Sets known column c from text (non-empty). */
gboolean _agf_manifest_set_from_text(AgfManifestRecord *r, int c,
                                     const char *text, GError **error)
{
  char **s = _agf_manifest_str_field(r, c);
  if (s) {
    g_free(*s);
    *s = g_strdup(text);
    return TRUE;
  }
  gint64 v;
  switch (c) {
  case C_LABEL:
    if (!agf_label_parse(text, &r->label)) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "label '%s' is not live, spoof, unsure or empty", text);
      return FALSE;
    }
    return TRUE;
  case C_FRAME:
    if (!parse_int(text, G_MAXINT64, &v, "frame", error))
      return FALSE;
    r->frame = v;
    return TRUE;
  case C_FACE:
    if (!parse_int(text, G_MAXINT, &v, "face", error))
      return FALSE;
    r->face = (int)v;
    return TRUE;
  case C_BOX:
    return (r->has_box = parse_numbers(text, r->box, 4, "box", error));
  case C_LANDMARKS:
    return (r->has_landmarks = parse_numbers(
              text, &r->landmarks[0][0], 2 * AGF_MANIFEST_N_LANDMARKS,
              "landmarks", error));
  case C_SCORE: {
    char *end;
    double d = g_ascii_strtod(text, &end);
    if (*end || !isfinite(d)) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "score '%s' is not a number", text);
      return FALSE;
    }
    r->score = d;
    return TRUE;
  }
  default:
    g_assert_not_reached();
  }
}

/* ---- the manifest ------------------------------------------------------- */

AgfManifest *agf_manifest_new(const char *dir)
{
  AgfManifest *m = g_new0(AgfManifest, 1);
  m->records = g_ptr_array_new_with_free_func(
    (GDestroyNotify)agf_manifest_record_free);
  g_autofree char *cwd = g_get_current_dir();
  m->dir = dir ? g_canonicalize_filename(dir, cwd) : g_steal_pointer(&cwd);
  m->extra_cols = g_ptr_array_new_with_free_func(g_free);
  return m;
}

void agf_manifest_free(AgfManifest *m)
{
  if (!m)
    return;
  g_ptr_array_unref(m->records);
  g_ptr_array_unref(m->extra_cols);
  g_free(m->dir);
  g_free(m);
}

guint agf_manifest_len(const AgfManifest *m)
{
  return m->records->len;
}

AgfManifestRecord *agf_manifest_get(const AgfManifest *m, guint i)
{
  g_return_val_if_fail(i < m->records->len, NULL);
  return m->records->pdata[i];
}

void agf_manifest_add(AgfManifest *m, AgfManifestRecord *r)
{
  g_ptr_array_add(m->records, r);
}

void agf_manifest_sort(AgfManifest *m, GCompareDataFunc cmp, gpointer data)
{
  /* g_ptr_array_sort_with_data is a stable merge sort. */
  g_ptr_array_sort_with_data(m->records, cmp, data);
}

const char *agf_manifest_dir(const AgfManifest *m)
{
  return m->dir;
}

char *agf_manifest_resolve(const AgfManifest *m, const char *rel)
{
  return g_canonicalize_filename(rel, m->dir);
}

AgfManifestFormat agf_manifest_format_for(const char *path)
{
  return g_str_has_suffix(path, ".csv") || g_str_has_suffix(path, ".CSV")
           ? AGF_MANIFEST_CSV : AGF_MANIFEST_JSONL;
}

/* ---- load and save ------------------------------------------------------ */

AgfManifest *agf_manifest_parse(const char *data, gsize len,
                                AgfManifestFormat format, const char *name,
                                const char *dir, GError **error)
{
  if (!name)
    name = "manifest";
  const char *bad = NULL;
  if (!g_utf8_validate(data, (gssize)len, &bad)) {
    int line = 1;
    for (const char *p = data; p < bad; p++)
      line += *p == '\n';
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s:%d: not UTF-8 text (save the manifest as UTF-8)", name,
                line);
    return NULL;
  }
  AgfManifest *m = agf_manifest_new(dir);
  gboolean ok = format == AGF_MANIFEST_CSV
                  ? _agf_manifest_parse_csv(m, data, len, name, error)
                  : _agf_manifest_parse_jsonl(m, data, len, name, error);
  if (!ok) {
    agf_manifest_free(m);
    return NULL;
  }
  return m;
}

AgfManifest *agf_manifest_load(const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  GError *e = NULL;
  if (!g_file_get_contents(path, &data, &len, &e)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot read manifest: %s",
                e->message);
    g_error_free(e);
    return NULL;
  }
  AgfManifestFormat fmt;
  if (g_str_has_suffix(path, ".csv") || g_str_has_suffix(path, ".CSV")) {
    fmt = AGF_MANIFEST_CSV;
  } else if (g_str_has_suffix(path, ".jsonl") ||
             g_str_has_suffix(path, ".ndjson") ||
             g_str_has_suffix(path, ".json")) {
    fmt = AGF_MANIFEST_JSONL;
  } else {
    const char *p = data;
    while (p < data + len && g_ascii_isspace(*p))
      p++;
    fmt = p < data + len && *p == '{' ? AGF_MANIFEST_JSONL : AGF_MANIFEST_CSV;
  }
  g_autofree char *dir = g_path_get_dirname(path);
  return agf_manifest_parse(data, len, fmt, path, dir, error);
}

char *agf_manifest_to_string(const AgfManifest *m, AgfManifestFormat format,
                             gsize *len_out)
{
  GString *s = g_string_new(NULL);
  if (format == AGF_MANIFEST_CSV)
    _agf_manifest_to_csv(m, s);
  else
    _agf_manifest_to_jsonl(m, s);
  if (len_out)
    *len_out = s->len;
  return g_string_free(s, FALSE);
}

gboolean agf_manifest_save(const AgfManifest *m, const char *path,
                           AgfManifestFormat format, GError **error)
{
  gsize len;
  g_autofree char *text = agf_manifest_to_string(m, format, &len);
  return agf_atomic_write(path, "manifest", text, len, error);
}
