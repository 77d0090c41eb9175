/* A protocol's records by role (protocol.h): the datasets' manifests,
 * filtered by split and merged. */
#include "io/protocol.h"

#include <string.h>

#include "nn/error.h"

/* The distinct split values of m, for the error message. */
static char *splits_of(const AgfManifest *m)
{
  g_autoptr(GPtrArray) seen = g_ptr_array_new();
  for (guint i = 0; i < agf_manifest_len(m); i++) {
    const char *s = agf_manifest_get(m, i)->split;
    s = s && *s ? s : "(empty)";
    if (!g_ptr_array_find_with_equal_func(seen, s, g_str_equal, NULL))
      g_ptr_array_add(seen, (gpointer)s);
  }
  g_ptr_array_add(seen, NULL);
  return g_strjoinv(", ", (char **)seen->pdata);
}

/* Adds dataset d's records of split to out. */
static gboolean add_dataset(const AgfProtocol *p, const AgfProtocolDataset *d,
                            const char *split, GHashTable *vars,
                            AgfManifest *out, GError **error)
{
  g_autofree char *path = agf_protocol_manifest(p, d->key, vars, error);
  if (!path)
    return FALSE;
  g_autoptr(AgfManifest) m = agf_manifest_load(path, error);
  if (!m) {
    g_prefix_error(error, "protocol %s, dataset %s (%s): ", p->name, d->key,
                   d->name);
    return FALSE;
  }
  guint n = 0;
  for (guint i = 0; i < agf_manifest_len(m); i++) {
    const AgfManifestRecord *r = agf_manifest_get(m, i);
    if (g_strcmp0(r->split, split))
      continue;
    AgfManifestRecord *c = agf_manifest_record_copy(r);
    g_autofree char *abs = agf_manifest_resolve(m, c->path);
    g_free(c->path);
    c->path = g_steal_pointer(&abs);
    if (c->crop && *c->crop) {
      g_autofree char *crop = agf_manifest_resolve(m, c->crop);
      g_free(c->crop);
      c->crop = g_steal_pointer(&crop);
    }
    if (!c->domain || !*c->domain) {
      g_free(c->domain);
      c->domain = g_strdup(d->domain);
    }
    agf_manifest_add(out, c);
    n++;
  }
  if (!n) {
    g_autofree char *have = splits_of(m);
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "protocol %s: dataset %s (%s, %s) has no record with split "
                "'%s' (its splits: %s); fill its split column, or set the "
                "protocol's \"splits\"", p->name, d->key, d->name, path,
                split, have);
    return FALSE;
  }
  return TRUE;
}

AgfManifest *agf_protocol_records(const AgfProtocol *p, AgfProtocolRole role,
                                  GHashTable *vars, GError **error)
{
  g_autoptr(AgfManifest) out = agf_manifest_new(NULL);
  if (role == AGF_PROTOCOL_TEST)
    return add_dataset(p, agf_protocol_dataset(p, p->target), p->test_split,
                       vars, out, error) ? g_steal_pointer(&out) : NULL;
  const char *split = role == AGF_PROTOCOL_TRAIN ? p->train_split
                                                 : p->val_split;
  for (char **s = p->sources; *s; s++)
    if (!add_dataset(p, agf_protocol_dataset(p, *s), split, vars, out,
                     error))
      return NULL;
  return g_steal_pointer(&out);
}
