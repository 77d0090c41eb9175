/* Dataset manifest records and their CSV / JSONL encodings (manifest.h). */
#include "io/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "io/json_check.h"
#include "nn/error.h"

/* ---- known columns ------------------------------------------------------ */

enum {
  C_PATH, C_LABEL, C_ATTACK, C_SUBJECT, C_DOMAIN, C_VIDEO, C_SPLIT, C_FRAME,
  C_FACE, C_BOX, C_LANDMARKS, C_SCORE, C_CROP, C_SOURCE, C_STATUS, C_ERROR,
  C_COUNT
};

static const char *const col_names[C_COUNT] = {
  "path", "label", "attack", "subject", "domain", "video", "split", "frame",
  "face", "box", "landmarks", "score", "crop", "source", "status", "error",
};

static int col_of(const char *name)
{
  for (int c = 0; c < C_COUNT; c++)
    if (!strcmp(name, col_names[c]))
      return c;
  return -1;
}

/* The string member of column c, NULL for the typed columns. */
static char **str_field(AgfManifestRecord *r, int c)
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
    char **s = str_field(c, k);
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
    char **s = str_field(r, k);
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

static void set_extra(AgfManifestRecord *r, const char *key,
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
  g_return_if_fail(key && col_of(key) < 0);
  set_extra(r, key, value, FALSE);
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
static char *typed_text(const AgfManifestRecord *r, int c, const char *sep)
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
static gboolean set_from_text(AgfManifestRecord *r, int c, const char *text,
                              GError **error)
{
  char **s = str_field(r, c);
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

/* The text of any known column, NULL when empty. */
static char *cell_text(const AgfManifestRecord *r, int c)
{
  char **s = str_field((AgfManifestRecord *)r, c);
  if (s)
    return *s && **s ? g_strdup(*s) : NULL;
  return typed_text(r, c, " ");
}

/* ---- JSON --------------------------------------------------------------- */

static void append_json_string(GString *s, const char *v)
{
  g_string_append_c(s, '"');
  for (const guchar *p = (const guchar *)v; *p; p++) {
    switch (*p) {
    case '"': g_string_append(s, "\\\""); break;
    case '\\': g_string_append(s, "\\\\"); break;
    case '\n': g_string_append(s, "\\n"); break;
    case '\r': g_string_append(s, "\\r"); break;
    case '\t': g_string_append(s, "\\t"); break;
    default:
      if (*p < 0x20)
        g_string_append_printf(s, "\\u%04x", *p);
      else
        g_string_append_c(s, (char)*p);
    }
  }
  g_string_append_c(s, '"');
}

char *agf_manifest_record_to_json(const AgfManifestRecord *r)
{
  GString *s = g_string_new("{");
  gboolean first = TRUE;
  for (int c = 0; c < C_COUNT; c++) {
    g_autofree char *v = NULL;
    char **str = str_field((AgfManifestRecord *)r, c);
    if (str ? !(*str && **str) : !(v = typed_text(r, c, ",")))
      continue;
    g_string_append_printf(s, "%s\"%s\":", first ? "" : ",", col_names[c]);
    first = FALSE;
    if (str || c == C_LABEL)
      append_json_string(s, str ? *str : v);
    else if (c == C_BOX || c == C_LANDMARKS)
      g_string_append_printf(s, "[%s]", v);
    else
      g_string_append(s, v);
  }
  for (guint i = 0; r->extra && i < r->extra->len; i++) {
    const AgfManifestExtra *e = &g_array_index(r->extra, AgfManifestExtra, i);
    if (!e->json && !*e->value)
      continue;
    if (!first)
      g_string_append_c(s, ',');
    first = FALSE;
    append_json_string(s, e->key);
    g_string_append_c(s, ':');
    if (e->json)
      g_string_append(s, e->value);
    else
      append_json_string(s, e->value);
  }
  g_string_append_c(s, '}');
  return g_string_free(s, FALSE);
}

/* A JSON scalar as column text: strings as they are, numbers and
 * booleans as written; NULL for null, arrays and objects. */
static char *scalar_text(JsonNode *n)
{
  if (JSON_NODE_HOLDS_NULL(n) || !JSON_NODE_HOLDS_VALUE(n))
    return NULL;
  if (json_node_get_value_type(n) == G_TYPE_STRING)
    return g_strdup(json_node_get_string(n));
  return json_to_string(n, FALSE);
}

static gboolean set_from_json(AgfManifestRecord *r, int c, JsonNode *n,
                              GError **error)
{
  if (JSON_NODE_HOLDS_NULL(n))
    return TRUE;
  if ((c == C_BOX || c == C_LANDMARKS) && JSON_NODE_HOLDS_ARRAY(n)) {
    JsonArray *a = json_node_get_array(n);
    int want = c == C_BOX ? 4 : 2 * AGF_MANIFEST_N_LANDMARKS;
    float *out = c == C_BOX ? r->box : &r->landmarks[0][0];
    gboolean ok = (int)json_array_get_length(a) == want;
    for (int i = 0; ok && i < want; i++) {
      JsonNode *e = json_array_get_element(a, i);
      GType t = JSON_NODE_HOLDS_VALUE(e) ? json_node_get_value_type(e) : 0;
      ok = t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
      if (ok)
        out[i] = (float)json_node_get_double(e);
      ok = ok && isfinite(out[i]);
    }
    if (!ok) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "\"%s\" is not an array of %d numbers", col_names[c], want);
      return FALSE;
    }
    *(c == C_BOX ? &r->has_box : &r->has_landmarks) = TRUE;
    return TRUE;
  }
  g_autofree char *text = scalar_text(n);
  if (!text) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "\"%s\" holds an array or object, not a value",
                col_names[c]);
    return FALSE;
  }
  return !*text || set_from_text(r, c, text, error);
}

AgfManifestRecord *agf_manifest_record_from_json(const char *text, gsize len,
                                                 GError **error)
{
  const char *why = NULL;
  size_t at = 0;
  if (!g_utf8_validate(text, (gssize)len, NULL)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT, "not UTF-8 text");
    return NULL;
  }
  if (!agf_json_check(text, len, 64, &why, &at)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "invalid JSON (%s at byte %zu)", why, at);
    return NULL;
  }
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!json_parser_load_from_data(parser, text, (gssize)len, error))
    return NULL;
  JsonNode *root = json_parser_get_root(parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "a record must be a JSON object {\"path\": ...}");
    return NULL;
  }
  JsonObject *obj = json_node_get_object(root);
  g_autoptr(AgfManifestRecord) r = agf_manifest_record_new();
  g_autoptr(GList) members = json_object_get_members(obj);
  for (GList *l = members; l; l = l->next) {
    const char *key = l->data;
    JsonNode *n = json_object_get_member(obj, key);
    int c = col_of(key);
    if (c >= 0) {
      if (!set_from_json(r, c, n, error))
        return NULL;
    } else if (JSON_NODE_HOLDS_VALUE(n) &&
               json_node_get_value_type(n) == G_TYPE_STRING) {
      set_extra(r, key, json_node_get_string(n), FALSE);
    } else {
      g_autofree char *raw = json_to_string(n, FALSE);
      set_extra(r, key, raw, TRUE);
    }
  }
  if (!r->path || !*r->path) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "the record has no \"path\"");
    return NULL;
  }
  return g_steal_pointer(&r);
}

/* ---- the manifest ------------------------------------------------------- */

struct AgfManifest {
  GPtrArray *records;
  char *dir;
  guint known_cols;      /* bit c: column c was in the loaded CSV header */
  GPtrArray *extra_cols; /* unknown columns of the loaded header, in order */
};

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

/* ---- CSV ---------------------------------------------------------------- */

typedef struct {
  const char *p, *end;
  int line;        /* of p */
  const char *name;
} CsvIn;

static gboolean at_eol(const CsvIn *in, const char *p)
{
  return p < in->end && (*p == '\n' || (*p == '\r' && p + 1 < in->end &&
                                        p[1] == '\n'));
}

static void skip_eol(CsvIn *in)
{
  in->p += *in->p == '\r' ? 2 : 1;
  in->line++;
}

/* One row's fields into fields; 0 at the end of the data, -1 on error.
 * *row_line gets the line the row starts on. Blank lines are skipped. */
static int csv_row(CsvIn *in, GPtrArray *fields, int *row_line,
                   GError **error)
{
  g_ptr_array_set_size(fields, 0);
  while (at_eol(in, in->p))
    skip_eol(in);
  if (in->p >= in->end)
    return 0;
  *row_line = in->line;
  GString *f = g_string_new(NULL);
  for (;;) {
    g_string_truncate(f, 0);
    if (in->p < in->end && *in->p == '"') {
      in->p++;
      for (;;) {
        if (in->p >= in->end) {
          g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                      "%s:%d: a quoted field is never closed (a missing "
                      "'\"')", in->name, *row_line);
          g_string_free(f, TRUE);
          return -1;
        }
        char ch = *in->p++;
        if (ch == '"') {
          if (in->p < in->end && *in->p == '"') {
            in->p++;
          } else {
            break;
          }
        } else if (ch == '\n') {
          in->line++;
        }
        g_string_append_c(f, ch);
      }
      if (in->p < in->end && *in->p != ',' && !at_eol(in, in->p)) {
        g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                    "%s:%d: text after a closing quote (a '\"' inside a "
                    "quoted field must be doubled)", in->name, in->line);
        g_string_free(f, TRUE);
        return -1;
      }
    } else {
      while (in->p < in->end && *in->p != ',' && !at_eol(in, in->p)) {
        if (*in->p == '"') {
          g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                      "%s:%d: a '\"' inside an unquoted field (quote the "
                      "field and double the '\"')", in->name, in->line);
          g_string_free(f, TRUE);
          return -1;
        }
        g_string_append_c(f, *in->p++);
      }
    }
    g_ptr_array_add(fields, g_strndup(f->str, f->len));
    if (in->p < in->end && *in->p == ',') {
      in->p++;
      continue;
    }
    if (in->p < in->end)
      skip_eol(in);
    break;
  }
  g_string_free(f, TRUE);
  return 1;
}

static gboolean parse_csv(AgfManifest *m, const char *data, gsize len,
                          const char *name, GError **error)
{
  CsvIn in = { data, data + len, 1, name };
  if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
    in.p += 3;
  g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func(g_free);
  int line = 1;
  int rc = csv_row(&in, fields, &line, error);
  if (rc < 0)
    return FALSE;
  if (rc == 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s is empty: a CSV manifest needs a header row with at "
                "least a 'path' column", name);
    return FALSE;
  }
  guint ncols = fields->len;
  g_autofree int *col = g_new(int, ncols);
  g_auto(GStrv) header = g_new0(char *, ncols + 1);
  gboolean have_path = FALSE;
  for (guint i = 0; i < ncols; i++) {
    header[i] = g_strstrip(g_strdup(fields->pdata[i]));
    for (guint j = 0; j < i; j++)
      if (!strcmp(header[i], header[j])) {
        g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                    "%s:%d: column '%s' appears twice in the header", name,
                    line, header[i]);
        return FALSE;
      }
    if (!*header[i]) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "%s:%d: column %u of the header has no name", name, line,
                  i + 1);
      return FALSE;
    }
    col[i] = col_of(header[i]);
    if (col[i] >= 0)
      m->known_cols |= 1u << col[i];
    else
      g_ptr_array_add(m->extra_cols, g_strdup(header[i]));
    have_path = have_path || col[i] == C_PATH;
  }
  if (!have_path) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s:%d: the header has no 'path' column (columns: path, "
                "label, attack, subject, domain, video, split, ...)", name,
                line);
    return FALSE;
  }
  while ((rc = csv_row(&in, fields, &line, error)) > 0) {
    if (fields->len != ncols) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "%s:%d: %u fields, but the header has %u (quote fields "
                  "that hold commas)", name, line, fields->len, ncols);
      return FALSE;
    }
    AgfManifestRecord *r = agf_manifest_record_new();
    agf_manifest_add(m, r);
    for (guint i = 0; i < ncols; i++) {
      const char *v = fields->pdata[i];
      GError *e = NULL;
      if (col[i] < 0) {
        if (*v)
          set_extra(r, header[i], v, FALSE);
      } else if (*v && !set_from_text(r, col[i], v, &e)) {
        g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT, "%s:%d: %s", name,
                    line, e->message);
        g_error_free(e);
        return FALSE;
      }
    }
    if (!r->path) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "%s:%d: empty path", name, line);
      return FALSE;
    }
  }
  return rc == 0;
}

static void append_csv_field(GString *s, const char *v)
{
  size_t n = strlen(v);
  gboolean quote = strpbrk(v, ",\"\r\n") != NULL ||
                   (n && (g_ascii_isspace(v[0]) || g_ascii_isspace(v[n - 1])));
  if (!quote) {
    g_string_append(s, v);
    return;
  }
  g_string_append_c(s, '"');
  for (const char *p = v; *p; p++) {
    if (*p == '"')
      g_string_append_c(s, '"');
    g_string_append_c(s, *p);
  }
  g_string_append_c(s, '"');
}

/* The unknown columns: the loaded header's, then any others in the order
 * the records first use them. */
static GPtrArray *extra_columns(const AgfManifest *m)
{
  GPtrArray *cols = g_ptr_array_new();
  g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < m->extra_cols->len; i++) {
    g_ptr_array_add(cols, m->extra_cols->pdata[i]);
    g_hash_table_add(seen, m->extra_cols->pdata[i]);
  }
  for (guint i = 0; i < m->records->len; i++) {
    const AgfManifestRecord *r = m->records->pdata[i];
    for (guint k = 0; r->extra && k < r->extra->len; k++) {
      char *key = g_array_index(r->extra, AgfManifestExtra, k).key;
      if (g_hash_table_add(seen, key))
        g_ptr_array_add(cols, key);
    }
  }
  return cols;
}

static void to_csv(const AgfManifest *m, GString *s)
{
  gboolean used[C_COUNT];
  for (int c = 0; c < C_COUNT; c++) {
    used[c] = c == C_PATH || (m->known_cols >> c) & 1;
    for (guint i = 0; !used[c] && i < m->records->len; i++) {
      g_autofree char *v = cell_text(m->records->pdata[i], c);
      used[c] = v != NULL;
    }
  }
  g_autoptr(GPtrArray) extras = extra_columns(m);
  gboolean first = TRUE;
  for (int c = 0; c < C_COUNT; c++)
    if (used[c]) {
      g_string_append_printf(s, "%s%s", first ? "" : ",", col_names[c]);
      first = FALSE;
    }
  for (guint k = 0; k < extras->len; k++) {
    g_string_append_c(s, ',');
    append_csv_field(s, extras->pdata[k]);
  }
  g_string_append_c(s, '\n');
  for (guint i = 0; i < m->records->len; i++) {
    const AgfManifestRecord *r = m->records->pdata[i];
    first = TRUE;
    for (int c = 0; c < C_COUNT; c++) {
      if (!used[c])
        continue;
      if (!first)
        g_string_append_c(s, ',');
      first = FALSE;
      g_autofree char *v = cell_text(r, c);
      if (v)
        append_csv_field(s, v);
    }
    for (guint k = 0; k < extras->len; k++) {
      g_string_append_c(s, ',');
      const char *v = agf_manifest_record_get_extra(r, extras->pdata[k]);
      if (v)
        append_csv_field(s, v);
    }
    g_string_append_c(s, '\n');
  }
}

/* ---- JSONL -------------------------------------------------------------- */

static gboolean parse_jsonl(AgfManifest *m, const char *data, gsize len,
                            const char *name, GError **error)
{
  const char *p = data, *end = data + len;
  for (int line = 1; p < end; line++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e = nl ? nl : end;
    const char *t = e;
    if (t > p && t[-1] == '\r')
      t--;
    const char *q = p;
    while (q < t && g_ascii_isspace(*q))
      q++;
    if (q < t) {
      GError *err = NULL;
      AgfManifestRecord *r = agf_manifest_record_from_json(q, (gsize)(t - q),
                                                           &err);
      if (!r) {
        g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT, "%s:%d: %s", name,
                    line, err->message);
        g_error_free(err);
        return FALSE;
      }
      agf_manifest_add(m, r);
    }
    p = nl ? nl + 1 : end;
  }
  return TRUE;
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
                  ? parse_csv(m, data, len, name, error)
                  : parse_jsonl(m, data, len, name, error);
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
  if (format == AGF_MANIFEST_CSV) {
    to_csv(m, s);
  } else {
    for (guint i = 0; i < m->records->len; i++) {
      g_autofree char *j = agf_manifest_record_to_json(m->records->pdata[i]);
      g_string_append(s, j);
      g_string_append_c(s, '\n');
    }
  }
  if (len_out)
    *len_out = s->len;
  return g_string_free(s, FALSE);
}

static gboolean write_all(int fd, const char *p, gsize n)
{
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return FALSE;
    p += w;
    n -= (gsize)w;
  }
  return TRUE;
}

static void fsync_dir_of(const char *path)
{
  g_autofree char *dir = g_path_get_dirname(path);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
}

gboolean agf_manifest_save(const AgfManifest *m, const char *path,
                           AgfManifestFormat format, GError **error)
{
  gsize len;
  g_autofree char *text = agf_manifest_to_string(m, format, &len);
  g_autofree char *tmp = g_strdup_printf("%s.XXXXXX", path);
  int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0644);
  gboolean ok = fd >= 0 && write_all(fd, text, len) && fsync(fd) == 0;
  int e = errno;
  if (fd >= 0 && close(fd) != 0 && ok) {
    ok = FALSE;
    e = errno;
  }
  if (ok && g_rename(tmp, path) != 0) {
    ok = FALSE;
    e = errno;
  }
  if (!ok) {
    if (fd >= 0)
      g_unlink(tmp);
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot write manifest %s: "
                "%s (is the folder writable and the disk not full?)", path,
                g_strerror(e));
    return FALSE;
  }
  fsync_dir_of(path);
  return TRUE;
}

/* ---- journal ------------------------------------------------------------ */

struct AgfManifestJournal {
  int fd;
  char *path;
  GMutex lock;
};

AgfManifestJournal *agf_manifest_journal_open(const char *path,
                                              AgfManifest **records,
                                              GError **error)
{
  int fd = g_open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot open journal %s: %s",
                path, g_strerror(e));
    return NULL;
  }
  /* Two writers would interleave batches and both believe they own it. */
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
                "journal %s is in use by another process (is another "
                "agfas-train prepare writing to this folder?)", path);
    close(fd);
    return NULL;
  }
  fsync_dir_of(path);
  g_autofree char *data = NULL;
  gsize len = 0;
  GError *e = NULL;
  if (!g_file_get_contents(path, &data, &len, &e)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot read journal: %s",
                e->message);
    g_error_free(e);
    close(fd);
    return NULL;
  }
  /* Keep whole lines only: a crash mid-append can leave a torn tail. */
  gsize keep = len;
  while (keep && data[keep - 1] != '\n')
    keep--;
  if (keep < len && ftruncate(fd, (off_t)keep) != 0) {
    int en = errno;
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
                "cannot drop the torn last line of journal %s: %s", path,
                g_strerror(en));
    close(fd);
    return NULL;
  }
  if (records) {
    g_autofree char *dir = g_path_get_dirname(path);
    *records = agf_manifest_parse(data, keep, AGF_MANIFEST_JSONL, path, dir,
                                  error);
    if (!*records) {
      close(fd);
      return NULL;
    }
  }
  AgfManifestJournal *j = g_new0(AgfManifestJournal, 1);
  j->fd = fd;
  j->path = g_strdup(path);
  g_mutex_init(&j->lock);
  return j;
}

gboolean agf_manifest_journal_append(AgfManifestJournal *j,
                                     AgfManifestRecord *const *recs, guint n,
                                     GError **error)
{
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < n; i++) {
    g_autofree char *line = agf_manifest_record_to_json(recs[i]);
    g_string_append(s, line);
    g_string_append_c(s, '\n');
  }
  g_mutex_lock(&j->lock);
  gboolean ok = write_all(j->fd, s->str, s->len) && fdatasync(j->fd) == 0;
  int e = errno;
  g_mutex_unlock(&j->lock);
  g_string_free(s, TRUE);
  if (!ok)
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot append to journal "
                "%s: %s (disk full?)", j->path, g_strerror(e));
  return ok;
}

void agf_manifest_journal_close(AgfManifestJournal *j)
{
  if (!j)
    return;
  close(j->fd);
  g_mutex_clear(&j->lock);
  g_free(j->path);
  g_free(j);
}
