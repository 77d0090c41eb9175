/* Protocol files; see protocol.h. */
#include "io/protocol.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "io/json_check.h"
#include "io/protocol_config.h"
#include "nn/error.h"

static void dataset_clear(AgfProtocolDataset *d)
{
  g_free(d->key);
  g_free(d->name);
  g_free(d->manifest);
  g_free(d->domain);
}

void agf_protocol_free(AgfProtocol *p)
{
  if (!p)
    return;
  for (guint i = 0; i < p->n_datasets; i++)
    dataset_clear(&p->datasets[i]);
  g_free(p->datasets);
  g_strfreev(p->sources);
  g_free(p->path);
  g_free(p->dir);
  g_free(p->name);
  g_free(p->title);
  g_free(p->description);
  g_free(p->target);
  g_free(p->train_split);
  g_free(p->val_split);
  g_free(p->test_split);
  g_free(p);
}

static gboolean fail(GError **error, const char *file, const char *fmt, ...)
  G_GNUC_PRINTF(3, 4);

static gboolean fail(GError **error, const char *file, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT, "protocol %s: %s", file,
              msg);
  return FALSE;
}

/* Only the listed members may appear (catches typos). */
static gboolean only_keys(JsonObject *o, const char *const *allowed,
                          const char *where, const char *file,
                          GError **error)
{
  g_autoptr(GList) members = json_object_get_members(o);
  for (GList *l = members; l; l = l->next) {
    gboolean ok = FALSE;
    for (const char *const *a = allowed; *a && !ok; a++)
      ok = !strcmp(l->data, *a);
    if (!ok) {
      g_autofree char *list = g_strjoinv(", ", (char **)allowed);
      return fail(error, file, "unknown key '%s' in %s (allowed: %s)",
                  (const char *)l->data, where, list);
    }
  }
  return TRUE;
}

/* A string member: required ones must be present and non-empty; an
 * optional absent one gives def (may be NULL). */
static gboolean get_string(JsonObject *o, const char *key, gboolean required,
                           const char *def, const char *where,
                           const char *file, char **out, GError **error)
{
  JsonNode *n = json_object_get_member(o, key);
  if (!n) {
    if (required)
      return fail(error, file, "%s has no \"%s\"", where, key);
    *out = g_strdup(def);
    return TRUE;
  }
  if (!JSON_NODE_HOLDS_VALUE(n) ||
      json_node_get_value_type(n) != G_TYPE_STRING ||
      !*json_node_get_string(n))
    return fail(error, file, "\"%s\" of %s must be a non-empty string", key,
                where);
  *out = g_strdup(json_node_get_string(n));
  return TRUE;
}

/* Checks ${NAME} placeholders are well formed. */
static gboolean check_placeholders(const char *s, const char *key,
                                   const char *file, GError **error)
{
  for (const char *p = strstr(s, "${"); p; p = strstr(p, "${")) {
    const char *q = p + 2;
    while (g_ascii_isalnum(*q) || *q == '_')
      q++;
    if (*q != '}' || q == p + 2)
      return fail(error, file, "dataset %s: malformed placeholder in "
                  "\"%s\" (write ${NAME}, NAME of letters, digits and _)",
                  key, s);
    p = q + 1;
  }
  return TRUE;
}

static gboolean parse_datasets(AgfProtocol *p, JsonNode *node,
                               const char *file, GError **error)
{
  if (!node || !JSON_NODE_HOLDS_OBJECT(node) ||
      json_object_get_size(json_node_get_object(node)) < 2)
    return fail(error, file, "\"datasets\" must be an object naming at "
                "least two datasets: {\"KEY\": {\"manifest\": ...}}");
  JsonObject *o = json_node_get_object(node);
  g_autoptr(GList) keys = json_object_get_members(o);
  p->datasets = g_new0(AgfProtocolDataset, g_list_length(keys));
  static const char *const allowed[] = { "name", "manifest", "domain",
                                         NULL };
  for (GList *l = keys; l; l = l->next) {
    const char *key = l->data;
    AgfProtocolDataset *d = &p->datasets[p->n_datasets++];
    d->key = g_strdup(key);
    JsonNode *v = json_object_get_member(o, key);
    g_autofree char *where = g_strdup_printf("dataset %s", key);
    if (!*key)
      return fail(error, file, "a dataset has an empty key");
    if (!JSON_NODE_HOLDS_OBJECT(v))
      return fail(error, file, "%s must be an object with a \"manifest\"",
                  where);
    JsonObject *dobj = json_node_get_object(v);
    if (!only_keys(dobj, allowed, where, file, error) ||
        !get_string(dobj, "manifest", TRUE, NULL, where, file, &d->manifest,
                    error) ||
        !get_string(dobj, "name", FALSE, key, where, file, &d->name, error) ||
        !get_string(dobj, "domain", FALSE, key, where, file, &d->domain,
                    error) ||
        !check_placeholders(d->manifest, key, file, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean parse_sources(AgfProtocol *p, JsonNode *node,
                              const char *file, GError **error)
{
  if (!node || !JSON_NODE_HOLDS_ARRAY(node) ||
      !json_array_get_length(json_node_get_array(node)))
    return fail(error, file, "\"sources\" must be a non-empty array of "
                "dataset keys");
  JsonArray *a = json_node_get_array(node);
  guint n = json_array_get_length(a);
  p->sources = g_new0(char *, n + 1);
  for (guint i = 0; i < n; i++) {
    JsonNode *e = json_array_get_element(a, i);
    if (!JSON_NODE_HOLDS_VALUE(e) ||
        json_node_get_value_type(e) != G_TYPE_STRING)
      return fail(error, file, "\"sources\"[%u] is not a dataset key "
                  "string", i);
    const char *key = json_node_get_string(e);
    if (!agf_protocol_dataset(p, key))
      return fail(error, file, "source '%s' is not a key of \"datasets\"",
                  key);
    for (guint j = 0; j < i; j++)
      if (!strcmp(p->sources[j], key))
        return fail(error, file, "source '%s' is listed twice", key);
    p->sources[i] = g_strdup(key);
  }
  return TRUE;
}

static gboolean parse_root(AgfProtocol *p, JsonObject *root,
                           const char *file, GError **error)
{
  static const char *const allowed[] = { "format", "name", "title",
                                         "description", "datasets",
                                         "sources", "target", "splits",
                                         NULL };
  g_autofree char *format = NULL;
  if (!only_keys(root, allowed, "the protocol", file, error) ||
      !get_string(root, "format", TRUE, NULL, "the protocol", file, &format,
                  error))
    return FALSE;
  if (strcmp(format, AGF_PROTOCOL_FORMAT))
    return fail(error, file, "format '%s' is not %s", format,
                AGF_PROTOCOL_FORMAT);
  if (!get_string(root, "name", TRUE, NULL, "the protocol", file, &p->name,
                  error) ||
      !get_string(root, "title", FALSE, p->name, "the protocol", file,
                  &p->title, error) ||
      !get_string(root, "description", FALSE, NULL, "the protocol", file,
                  &p->description, error) ||
      !parse_datasets(p, json_object_get_member(root, "datasets"), file,
                      error) ||
      !parse_sources(p, json_object_get_member(root, "sources"), file,
                     error) ||
      !get_string(root, "target", TRUE, NULL, "the protocol", file,
                  &p->target, error))
    return FALSE;
  if (!agf_protocol_dataset(p, p->target))
    return fail(error, file, "target '%s' is not a key of \"datasets\"",
                p->target);
  for (char **s = p->sources; *s; s++)
    if (!strcmp(*s, p->target))
      return fail(error, file, "target '%s' is also a source: the target "
                  "domain must be unseen in training", p->target);
  JsonNode *splits = json_object_get_member(root, "splits");
  JsonObject *so = NULL;
  if (splits) {
    static const char *const split_keys[] = { "train", "val", "test",
                                              NULL };
    if (!JSON_NODE_HOLDS_OBJECT(splits))
      return fail(error, file, "\"splits\" must be an object {\"train\": "
                  "..., \"val\": ..., \"test\": ...}");
    so = json_node_get_object(splits);
    if (!only_keys(so, split_keys, "\"splits\"", file, error))
      return FALSE;
  }
  JsonObject *empty = json_object_new();
  gboolean ok =
    get_string(so ? so : empty, "train", FALSE, "train", "\"splits\"", file,
               &p->train_split, error) &&
    get_string(so ? so : empty, "val", FALSE, "val", "\"splits\"", file,
               &p->val_split, error) &&
    get_string(so ? so : empty, "test", FALSE, "test", "\"splits\"", file,
               &p->test_split, error);
  json_object_unref(empty);
  return ok;
}

AgfProtocol *agf_protocol_parse(const char *text, gsize len,
                                const char *name, const char *dir,
                                GError **error)
{
  const char *why = NULL;
  size_t at = 0;
  if (!g_utf8_validate(text, (gssize)len, NULL)) {
    fail(error, name, "not UTF-8 text");
    return NULL;
  }
  if (!agf_json_check(text, len, 16, &why, &at)) {
    fail(error, name, "not valid JSON: %s at byte %zu", why, at);
    return NULL;
  }
  g_autoptr(JsonParser) parser = json_parser_new();
  GError *e = NULL;
  if (!json_parser_load_from_data(parser, text, (gssize)len, &e)) {
    fail(error, name, "not valid JSON: %s", e->message);
    g_error_free(e);
    return NULL;
  }
  JsonNode *root = json_parser_get_root(parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    fail(error, name, "the file must hold one JSON object");
    return NULL;
  }
  AgfProtocol *p = g_new0(AgfProtocol, 1);
  p->path = g_strdup(name);
  p->dir = dir ? g_strdup(dir) : g_get_current_dir();
  if (!parse_root(p, json_node_get_object(root), name, error)) {
    agf_protocol_free(p);
    return NULL;
  }
  return p;
}

AgfProtocol *agf_protocol_load(const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  GError *e = NULL;
  if (!g_file_get_contents(path, &text, &len, &e)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot read protocol %s: "
                "%s", path, e->message);
    g_error_free(e);
    return NULL;
  }
  g_autofree char *cwd = g_get_current_dir();
  g_autofree char *abs = g_canonicalize_filename(path, cwd);
  g_autofree char *dir = g_path_get_dirname(abs);
  return agf_protocol_parse(text, len, path, dir, error);
}

const AgfProtocolDataset *agf_protocol_dataset(const AgfProtocol *p,
                                               const char *key)
{
  for (guint i = 0; i < p->n_datasets; i++)
    if (!strcmp(p->datasets[i].key, key))
      return &p->datasets[i];
  return NULL;
}

char *agf_protocol_manifest(const AgfProtocol *p, const char *key,
                            GHashTable *vars, GError **error)
{
  const AgfProtocolDataset *d = agf_protocol_dataset(p, key);
  if (!d) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "protocol %s has no dataset '%s'", p->name, key);
    return NULL;
  }
  GString *out = g_string_new(NULL);
  const char *s = d->manifest;
  for (const char *ph; (ph = strstr(s, "${"));) {
    g_string_append_len(out, s, ph - s);
    const char *end = strchr(ph, '}');
    g_autofree char *var = g_strndup(ph + 2, end - ph - 2);
    const char *value = vars ? g_hash_table_lookup(vars, var) : NULL;
    if (!value)
      value = g_getenv(var);
    if (!value || !*value) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "protocol %s: dataset %s (%s) is at ${%s}, which is not "
                  "set: set %s to the path of your copy's manifest (made "
                  "by agfas-train prepare)", p->name, d->key, d->name, var,
                  var);
      g_string_free(out, TRUE);
      return NULL;
    }
    g_string_append(out, value);
    s = end + 1;
  }
  g_string_append(out, s);
  g_autofree char *path = g_string_free(out, FALSE);
  return g_canonicalize_filename(path, p->dir);
}

static char **protocol_dirs(void)
{
  return g_strdupv((char *[]){ AGF_PROTOCOLS_SOURCE_DIR,
                               AGF_PROTOCOLS_DATA_DIR, NULL });
}

/* g_ptr_array_sort passes pointers to the elements. */
static int cmp_paths(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

char **agf_protocol_list(void)
{
  g_auto(GStrv) dirs = protocol_dirs();
  GPtrArray *files = g_ptr_array_new();
  g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal,
                                                     g_free, NULL);
  for (char **d = dirs; *d; d++) {
    g_autoptr(GDir) dir = g_dir_open(*d, 0, NULL);
    for (const char *n; dir && (n = g_dir_read_name(dir));)
      if (g_str_has_suffix(n, ".json") && g_hash_table_add(seen, g_strdup(n)))
        g_ptr_array_add(files, g_build_filename(*d, n, NULL));
  }
  g_ptr_array_sort(files, cmp_paths);
  g_ptr_array_add(files, NULL);
  return (char **)g_ptr_array_free(files, FALSE);
}

AgfProtocol *agf_protocol_find(const char *name_or_path, GError **error)
{
  if (g_file_test(name_or_path, G_FILE_TEST_IS_REGULAR))
    return agf_protocol_load(name_or_path, error);
  g_auto(GStrv) files = agf_protocol_list();
  GString *names = g_string_new(NULL);
  for (char **f = files; *f; f++) {
    g_autofree char *base = g_path_get_basename(*f);
    base[strlen(base) - 5] = 0;
    AgfProtocol *p = agf_protocol_load(*f, NULL);
    gboolean hit = !strcmp(base, name_or_path) ||
                   (p && !strcmp(p->name, name_or_path));
    if (hit) {
      g_string_free(names, TRUE);
      if (p)
        return p;
      return agf_protocol_load(*f, error); /* the file's own error */
    }
    g_string_append_printf(names, "%s%s", names->len ? ", " : "",
                           p ? p->name : base);
    agf_protocol_free(p);
  }
  g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
              "no protocol '%s': give a protocol file, or one of: %s",
              name_or_path, names->len ? names->str : "(none installed)");
  g_string_free(names, TRUE);
  return NULL;
}
