/* The JSON encoding of a record, and JSONL manifests (one record a line). */
#include "io/manifest_private.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "io/json_check.h"
#include "nn/error.h"

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
    char **str = _agf_manifest_str_field((AgfManifestRecord *)r, c);
    if (str ? !(*str && **str) : !(v = _agf_manifest_typed_text(r, c, ",")))
      continue;
    g_string_append_printf(s, "%s\"%s\":", first ? "" : ",",
                           _agf_manifest_col_names[c]);
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
                  "\"%s\" is not an array of %d numbers",
                  _agf_manifest_col_names[c], want);
      return FALSE;
    }
    *(c == C_BOX ? &r->has_box : &r->has_landmarks) = TRUE;
    return TRUE;
  }
  g_autofree char *text = scalar_text(n);
  if (!text) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "\"%s\" holds an array or object, not a value",
                _agf_manifest_col_names[c]);
    return FALSE;
  }
  return !*text || _agf_manifest_set_from_text(r, c, text, error);
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
    int c = _agf_manifest_col_of(key);
    if (c >= 0) {
      if (!set_from_json(r, c, n, error))
        return NULL;
    } else if (JSON_NODE_HOLDS_VALUE(n) &&
               json_node_get_value_type(n) == G_TYPE_STRING) {
      _agf_manifest_set_extra(r, key, json_node_get_string(n), FALSE);
    } else {
      g_autofree char *raw = json_to_string(n, FALSE);
      _agf_manifest_set_extra(r, key, raw, TRUE);
    }
  }
  if (!r->path || !*r->path) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "the record has no \"path\"");
    return NULL;
  }
  return g_steal_pointer(&r);
}

/* ---- JSONL -------------------------------------------------------------- */

gboolean _agf_manifest_parse_jsonl(AgfManifest *m, const char *data,
                                   gsize len, const char *name,
                                   GError **error)
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

void _agf_manifest_to_jsonl(const AgfManifest *m, GString *s)
{
  for (guint i = 0; i < m->records->len; i++) {
    g_autofree char *j = agf_manifest_record_to_json(m->records->pdata[i]);
    g_string_append(s, j);
    g_string_append_c(s, '\n');
  }
}
