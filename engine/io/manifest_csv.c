/* The CSV encoding of a manifest (RFC 4180: quoted fields may hold commas,
 * doubled quotes and newlines). */
#include "io/manifest_private.h"

#include <string.h>

#include "nn/error.h"

/* The text of any known column, NULL when empty. */
static char *cell_text(const AgfManifestRecord *r, int c)
{
  char **s = _agf_manifest_str_field((AgfManifestRecord *)r, c);
  if (s)
    return *s && **s ? g_strdup(*s) : NULL;
  return _agf_manifest_typed_text(r, c, " ");
}

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

gboolean _agf_manifest_parse_csv(AgfManifest *m, const char *data, gsize len,
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
    col[i] = _agf_manifest_col_of(header[i]);
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
          _agf_manifest_set_extra(r, header[i], v, FALSE);
      } else if (*v && !_agf_manifest_set_from_text(r, col[i], v, &e)) {
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

void _agf_manifest_to_csv(const AgfManifest *m, GString *s)
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
      g_string_append_printf(s, "%s%s", first ? "" : ",",
                             _agf_manifest_col_names[c]);
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
