/* Curator labels with undo/redo and journaled autosave; see
 * agfas-label-store.h. */
#include "agfas-label-store.h"
#include "nn/error.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define INDEX_KEY "agfas_index"

static const char *const kind_names[AGFAS_LABEL_KIND_COUNT] = {
  "", "live", "print", "replay", "mask", "other", "unsure",
};

const char *agfas_label_kind_name(AgfasLabelKind kind)
{
  g_return_val_if_fail(kind < AGFAS_LABEL_KIND_COUNT, "");
  return kind_names[kind];
}

gboolean agfas_label_kind_parse(const char *s, AgfasLabelKind *out)
{
  for (guint k = 0; s && k < AGFAS_LABEL_KIND_COUNT; k++)
    if (strcmp(s, kind_names[k]) == 0) {
      *out = (AgfasLabelKind)k;
      return TRUE;
    }
  return FALSE;
}

AgfasLabelKind agfas_label_kind_from_record(AgfLabel label, const char *attack)
{
  switch (label) {
  case AGF_LABEL_LIVE: return AGFAS_LABEL_KIND_LIVE;
  case AGF_LABEL_UNSURE: return AGFAS_LABEL_KIND_UNSURE;
  case AGF_LABEL_SPOOF:
    if (attack && g_ascii_strcasecmp(attack, "print") == 0)
      return AGFAS_LABEL_KIND_PRINT;
    if (attack && g_ascii_strcasecmp(attack, "replay") == 0)
      return AGFAS_LABEL_KIND_REPLAY;
    if (attack && g_ascii_strcasecmp(attack, "mask") == 0)
      return AGFAS_LABEL_KIND_MASK;
    return AGFAS_LABEL_KIND_OTHER;
  case AGF_LABEL_NONE:
  default: return AGFAS_LABEL_KIND_NONE;
  }
}

/* The label/attack pair a kind writes. */
static void kind_to_pair(AgfasLabelKind kind, AgfLabel *label,
                         const char **attack)
{
  switch (kind) {
  case AGFAS_LABEL_KIND_LIVE: *label = AGF_LABEL_LIVE; *attack = "none"; break;
  case AGFAS_LABEL_KIND_PRINT:
  case AGFAS_LABEL_KIND_REPLAY:
  case AGFAS_LABEL_KIND_MASK:
  case AGFAS_LABEL_KIND_OTHER:
    *label = AGF_LABEL_SPOOF;
    *attack = kind_names[kind];
    break;
  case AGFAS_LABEL_KIND_UNSURE: *label = AGF_LABEL_UNSURE; *attack = NULL; break;
  case AGFAS_LABEL_KIND_NONE:
  default: *label = AGF_LABEL_NONE; *attack = NULL; break;
  }
}

typedef struct {
  AgfLabel label;
  char *attack; /* NULL: empty */
} LabelState;

typedef struct {
  guint index;
  LabelState before, after;
} Edit;

static void edit_free(gpointer p)
{
  Edit *e = p;
  g_free(e->before.attack);
  g_free(e->after.attack);
  g_free(e);
}

struct _AgfasLabelStore {
  GObject parent;
  char *path, *journal_path;
  AgfManifestFormat format;
  AgfManifest *manifest;
  AgfManifestJournal *journal; /* NULL once closed */
  GQueue undo, redo;           /* Edit*, most recent at the head */
  gboolean dirty;
  guint n_replayed, n_unmatched;
};

G_DEFINE_FINAL_TYPE(AgfasLabelStore, agfas_label_store, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PATH,
  PROP_N_ITEMS,
  PROP_CAN_UNDO,
  PROP_CAN_REDO,
  PROP_DIRTY,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

enum { SIGNAL_ITEM_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void agfas_label_store_finalize(GObject *object)
{
  AgfasLabelStore *self = AGFAS_LABEL_STORE(object);
  /* No compaction here: finalize cannot report errors, and the journal
   * already holds every edit. */
  if (self->journal)
    agf_manifest_journal_close(self->journal);
  g_queue_clear_full(&self->undo, edit_free);
  g_queue_clear_full(&self->redo, edit_free);
  if (self->manifest)
    agf_manifest_free(self->manifest);
  g_free(self->path);
  g_free(self->journal_path);
  G_OBJECT_CLASS(agfas_label_store_parent_class)->finalize(object);
}

static void agfas_label_store_get_property(GObject *object, guint id,
                                           GValue *value, GParamSpec *pspec)
{
  AgfasLabelStore *self = AGFAS_LABEL_STORE(object);
  switch (id) {
  case PROP_PATH: g_value_set_string(value, self->path); break;
  case PROP_N_ITEMS:
    g_value_set_uint(value, agfas_label_store_get_n_items(self));
    break;
  case PROP_CAN_UNDO: g_value_set_boolean(value, self->undo.length > 0); break;
  case PROP_CAN_REDO: g_value_set_boolean(value, self->redo.length > 0); break;
  case PROP_DIRTY: g_value_set_boolean(value, self->dirty); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void agfas_label_store_class_init(AgfasLabelStoreClass *klass)
{
  GObjectClass *oc = G_OBJECT_CLASS(klass);
  oc->finalize = agfas_label_store_finalize;
  oc->get_property = agfas_label_store_get_property;
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;
  props[PROP_PATH] = g_param_spec_string("path", NULL, NULL, NULL, ro);
  props[PROP_N_ITEMS] = g_param_spec_uint("n-items", NULL, NULL, 0,
                                          G_MAXUINT, 0, ro);
  props[PROP_CAN_UNDO] = g_param_spec_boolean("can-undo", NULL, NULL,
                                              FALSE, ro);
  props[PROP_CAN_REDO] = g_param_spec_boolean("can-redo", NULL, NULL,
                                              FALSE, ro);
  props[PROP_DIRTY] = g_param_spec_boolean("dirty", NULL, NULL, FALSE, ro);
  g_object_class_install_properties(oc, N_PROPS, props);
  signals[SIGNAL_ITEM_CHANGED] = g_signal_new("item-changed",
      G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, G_TYPE_UINT);
}

static void agfas_label_store_init(AgfasLabelStore *self)
{
  g_queue_init(&self->undo);
  g_queue_init(&self->redo);
}

/* agf_manifest_load's choice of encoding, so a save keeps the file's. */
static AgfManifestFormat sniff_format(const char *path, const char *data,
                                      gsize len)
{
  static const char *const jsonl_ext[] = { ".jsonl", ".ndjson", ".json" };
  g_autofree char *lower = g_ascii_strdown(path, -1);
  for (guint i = 0; i < G_N_ELEMENTS(jsonl_ext); i++)
    if (g_str_has_suffix(lower, jsonl_ext[i]))
      return AGF_MANIFEST_JSONL;
  if (g_str_has_suffix(lower, ".csv"))
    return AGF_MANIFEST_CSV;
  gsize i = 0;
  if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
    i = 3;
  while (i < len && g_ascii_isspace(data[i]))
    i++;
  return i < len && data[i] == '{' ? AGF_MANIFEST_JSONL : AGF_MANIFEST_CSV;
}

static void set_dirty(AgfasLabelStore *self, gboolean dirty)
{
  if (self->dirty == dirty)
    return;
  self->dirty = dirty;
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_DIRTY]);
}

static gboolean same_item(const AgfManifestRecord *a,
                          const AgfManifestRecord *b)
{
  return g_strcmp0(a->path, b->path) == 0 && a->frame == b->frame &&
         a->face == b->face;
}

static char *item_key(const AgfManifestRecord *r)
{
  return g_strdup_printf("%s\x1f%" G_GINT64_FORMAT "\x1f%d",
                         r->path ? r->path : "", (gint64)r->frame, r->face);
}

/* The item a journal line is about, or -1. by_key is built on the first
 * line whose position does not match (the manifest changed under it). */
static gint64 match_line(AgfasLabelStore *self, const AgfManifestRecord *line,
                         GHashTable **by_key)
{
  guint n = agf_manifest_len(self->manifest);
  const char *idx = agf_manifest_record_get_extra(line, INDEX_KEY);
  guint64 i;
  if (idx && g_ascii_string_to_unsigned(idx, 10, 0, G_MAXUINT, &i, NULL) &&
      i < n && same_item(agf_manifest_get(self->manifest, (guint)i), line))
    return (gint64)i;
  if (!*by_key) {
    *by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint k = n; k-- > 0;) /* first item wins on duplicates */
      g_hash_table_insert(*by_key,
                          item_key(agf_manifest_get(self->manifest, k)),
                          GUINT_TO_POINTER(k + 1));
  }
  g_autofree char *key = item_key(line);
  guint hit = GPOINTER_TO_UINT(g_hash_table_lookup(*by_key, key));
  return hit ? (gint64)hit - 1 : -1;
}

static void replay(AgfasLabelStore *self, AgfManifest *lines)
{
  GHashTable *by_key = NULL;
  guint n = agf_manifest_len(lines);
  for (guint k = 0; k < n; k++) {
    const AgfManifestRecord *line = agf_manifest_get(lines, k);
    gint64 i = match_line(self, line, &by_key);
    if (i < 0) {
      self->n_unmatched++;
      continue;
    }
    AgfManifestRecord *r = agf_manifest_get(self->manifest, (guint)i);
    r->label = line->label;
    g_free(r->attack);
    r->attack = g_strdup(line->attack);
    self->n_replayed++;
  }
  if (by_key)
    g_hash_table_unref(by_key);
  self->dirty = n > 0;
}

AgfasLabelStore *agfas_label_store_open(const char *path, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);
  g_autofree char *data = NULL;
  gsize len = 0;
  GError *local = NULL;
  if (!g_file_get_contents(path, &data, &len, &local)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
                "Cannot read the manifest %s: %s; check the path and its "
                "permissions", path, local->message);
    g_error_free(local);
    return NULL;
  }
  g_autofree char *abs = g_canonicalize_filename(path, NULL);
  g_autofree char *dir = g_path_get_dirname(abs);
  AgfManifestFormat format = sniff_format(path, data, len);
  AgfManifest *m = agf_manifest_parse(data, len, format, path, dir, error);
  if (!m)
    return NULL;

  AgfasLabelStore *self = g_object_new(AGFAS_TYPE_LABEL_STORE, NULL);
  self->path = g_strdup(path);
  self->journal_path = g_strconcat(path, ".labels.jsonl", NULL);
  self->format = format;
  self->manifest = m;
  AgfManifest *lines = NULL;
  self->journal = agf_manifest_journal_open(self->journal_path, &lines, error);
  if (!self->journal) {
    g_object_unref(self);
    return NULL;
  }
  replay(self, lines);
  agf_manifest_free(lines);
  return self;
}

const char *agfas_label_store_get_path(AgfasLabelStore *self)
{
  g_return_val_if_fail(AGFAS_IS_LABEL_STORE(self), NULL);
  return self->path;
}

const char *agfas_label_store_get_journal_path(AgfasLabelStore *self)
{
  g_return_val_if_fail(AGFAS_IS_LABEL_STORE(self), NULL);
  return self->journal_path;
}

AgfManifestFormat agfas_label_store_get_format(AgfasLabelStore *self)
{
  g_return_val_if_fail(AGFAS_IS_LABEL_STORE(self), AGF_MANIFEST_JSONL);
  return self->format;
}

guint agfas_label_store_get_n_replayed(AgfasLabelStore *self)
{
  g_return_val_if_fail(AGFAS_IS_LABEL_STORE(self), 0);
  return self->n_replayed;
}

guint agfas_label_store_get_n_unmatched(AgfasLabelStore *self)
{
  g_return_val_if_fail(AGFAS_IS_LABEL_STORE(self), 0);
  return self->n_unmatched;
}

guint agfas_label_store_get_n_items(AgfasLabelStore *self)
{
  g_return_val_if_fail(AGFAS_IS_LABEL_STORE(self), 0);
  return self->manifest ? agf_manifest_len(self->manifest) : 0;
}

const AgfManifestRecord *agfas_label_store_get_item(AgfasLabelStore *self,
                                                    guint i)
{
  g_return_val_if_fail(AGFAS_IS_LABEL_STORE(self), NULL);
  g_return_val_if_fail(i < agf_manifest_len(self->manifest), NULL);
  return agf_manifest_get(self->manifest, i);
}

AgfasLabelKind agfas_label_store_get_kind(AgfasLabelStore *self, guint i)
{
  const AgfManifestRecord *r = agfas_label_store_get_item(self, i);
  return r ? agfas_label_kind_from_record(r->label, r->attack)
           : AGFAS_LABEL_KIND_NONE;
}

char *agfas_label_store_resolve(AgfasLabelStore *self, guint i)
{
  const AgfManifestRecord *r = agfas_label_store_get_item(self, i);
  return r && r->path ? agf_manifest_resolve(self->manifest, r->path) : NULL;
}

static gint cmp_strv(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

char **agfas_label_store_list_domains(AgfasLabelStore *self)
{
  g_return_val_if_fail(AGFAS_IS_LABEL_STORE(self), NULL);
  g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) out = g_ptr_array_new();
  guint n = agf_manifest_len(self->manifest);
  for (guint i = 0; i < n; i++) {
    const char *d = agf_manifest_get(self->manifest, i)->domain;
    if (d && *d && g_hash_table_add(seen, (gpointer)d))
      g_ptr_array_add(out, g_strdup(d));
  }
  g_ptr_array_sort(out, cmp_strv);
  g_ptr_array_add(out, NULL);
  return (char **)g_ptr_array_steal(out, NULL);
}

static gboolean check_open(AgfasLabelStore *self, GError **error)
{
  if (self->journal)
    return TRUE;
  g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
              "The labels of %s are closed; open the manifest again to edit "
              "them", self->path);
  return FALSE;
}

/* Journals item i's new state, then applies it: the in-memory label only
 * changes once the edit is on disk. */
static gboolean apply_state(AgfasLabelStore *self, guint i,
                            AgfLabel label, const char *attack,
                            GError **error)
{
  if (!check_open(self, error))
    return FALSE;
  AgfManifestRecord *r = agf_manifest_get(self->manifest, i);
  g_autoptr(AgfManifestRecord) line = agf_manifest_record_new();
  line->path = g_strdup(r->path);
  line->frame = r->frame;
  line->face = r->face;
  line->label = label;
  line->attack = g_strdup(attack);
  char idx[16];
  g_snprintf(idx, sizeof idx, "%u", i);
  agf_manifest_record_set_extra(line, INDEX_KEY, idx);
  if (!agf_manifest_journal_append(self->journal, &line, 1, error))
    return FALSE;
  r->label = label;
  g_free(r->attack);
  r->attack = g_strdup(attack);
  set_dirty(self, TRUE);
  g_signal_emit(self, signals[SIGNAL_ITEM_CHANGED], 0, i);
  return TRUE;
}

static void notify_history(AgfasLabelStore *self, gboolean could_undo,
                           gboolean could_redo)
{
  if (could_undo != (self->undo.length > 0))
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_CAN_UNDO]);
  if (could_redo != (self->redo.length > 0))
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_CAN_REDO]);
}

gboolean agfas_label_store_set_label(AgfasLabelStore *self, guint i,
                                     AgfasLabelKind kind, GError **error)
{
  g_return_val_if_fail(AGFAS_IS_LABEL_STORE(self), FALSE);
  guint n = agf_manifest_len(self->manifest);
  if (i >= n || kind >= AGFAS_LABEL_KIND_COUNT) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "Cannot label item %u as kind %d: the manifest has %u items "
                "and there are %d kinds; pass a valid index and kind",
                i, (int)kind, n, (int)AGFAS_LABEL_KIND_COUNT);
    return FALSE;
  }
  AgfLabel label;
  const char *attack;
  kind_to_pair(kind, &label, &attack);
  const AgfManifestRecord *r = agf_manifest_get(self->manifest, i);
  if (r->label == label && g_strcmp0(r->attack, attack) == 0)
    return check_open(self, error);

  Edit *e = g_new0(Edit, 1);
  e->index = i;
  e->before.label = r->label;
  e->before.attack = g_strdup(r->attack);
  e->after.label = label;
  e->after.attack = g_strdup(attack);
  if (!apply_state(self, i, label, attack, error)) {
    edit_free(e);
    return FALSE;
  }
  gboolean could_undo = self->undo.length > 0;
  gboolean could_redo = self->redo.length > 0;
  g_queue_clear_full(&self->redo, edit_free);
  g_queue_push_head(&self->undo, e);
  if (self->undo.length > AGFAS_LABEL_STORE_UNDO_DEPTH)
    edit_free(g_queue_pop_tail(&self->undo));
  notify_history(self, could_undo, could_redo);
  return TRUE;
}

gboolean agfas_label_store_can_undo(AgfasLabelStore *self)
{
  g_return_val_if_fail(AGFAS_IS_LABEL_STORE(self), FALSE);
  return self->undo.length > 0;
}

gboolean agfas_label_store_can_redo(AgfasLabelStore *self)
{
  g_return_val_if_fail(AGFAS_IS_LABEL_STORE(self), FALSE);
  return self->redo.length > 0;
}

/* Pops the newest edit of from, writes its before (undo) or after (redo)
 * state and moves it onto to. */
static gboolean step(AgfasLabelStore *self, GQueue *from, GQueue *to,
                     gboolean undo, guint *out_index, GError **error)
{
  g_return_val_if_fail(AGFAS_IS_LABEL_STORE(self), FALSE);
  Edit *e = g_queue_peek_head(from);
  if (!e) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "Nothing to %s; check can-%s first", undo ? "undo" : "redo",
                undo ? "undo" : "redo");
    return FALSE;
  }
  const LabelState *st = undo ? &e->before : &e->after;
  if (!apply_state(self, e->index, st->label, st->attack, error))
    return FALSE;
  gboolean could_undo = self->undo.length > 0;
  gboolean could_redo = self->redo.length > 0;
  g_queue_pop_head(from);
  g_queue_push_head(to, e);
  if (out_index)
    *out_index = e->index;
  notify_history(self, could_undo, could_redo);
  return TRUE;
}

gboolean agfas_label_store_undo(AgfasLabelStore *self, guint *out_index,
                                GError **error)
{
  return step(self, &self->undo, &self->redo, TRUE, out_index, error);
}

gboolean agfas_label_store_redo(AgfasLabelStore *self, guint *out_index,
                                GError **error)
{
  return step(self, &self->redo, &self->undo, FALSE, out_index, error);
}

/* Saves the manifest, then removes the journal (the order makes a crash in
 * between harmless: the journal replays onto the saved labels). */
static gboolean compact(AgfasLabelStore *self, gboolean reopen,
                        GError **error)
{
  if (self->dirty &&
      !agf_manifest_save(self->manifest, self->path, self->format, error))
    return FALSE;
  agf_manifest_journal_close(self->journal);
  self->journal = NULL;
  int unlink_err = g_unlink(self->journal_path) != 0 && errno != ENOENT
                       ? errno : 0;
  if (reopen) {
    self->journal = agf_manifest_journal_open(self->journal_path, NULL,
                                              error);
    if (!self->journal)
      return FALSE;
  }
  if (unlink_err) {
    /* The old journal stays: replaying it gives the saved labels again. */
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
                "Cannot remove the labels journal %s: %s; the labels are "
                "saved in the manifest, so the journal can be deleted by hand",
                self->journal_path, g_strerror(unlink_err));
    return FALSE;
  }
  set_dirty(self, FALSE);
  return TRUE;
}

gboolean agfas_label_store_flush(AgfasLabelStore *self, GError **error)
{
  g_return_val_if_fail(AGFAS_IS_LABEL_STORE(self), FALSE);
  if (!check_open(self, error))
    return FALSE;
  if (!self->dirty)
    return TRUE;
  return compact(self, TRUE, error);
}

gboolean agfas_label_store_close(AgfasLabelStore *self, GError **error)
{
  g_return_val_if_fail(AGFAS_IS_LABEL_STORE(self), FALSE);
  if (!self->journal)
    return TRUE;
  return compact(self, FALSE, error);
}

void agfas_label_filter_init(AgfasLabelFilter *f)
{
  g_return_if_fail(f != NULL);
  *f = (AgfasLabelFilter){
    .kinds = 0,
    .score_min = -INFINITY,
    .score_max = INFINITY,
    .unscored = TRUE,
    .domain = NULL,
  };
}

static gboolean keeps(const AgfasLabelFilter *f, const AgfManifestRecord *r)
{
  if (f->kinds) {
    AgfasLabelKind k = agfas_label_kind_from_record(r->label, r->attack);
    if (!(f->kinds & (1u << k)))
      return FALSE;
  }
  if (isnan(r->score)) {
    if (!f->unscored)
      return FALSE;
  } else if (r->score < f->score_min || r->score > f->score_max) {
    return FALSE;
  }
  if (f->domain) {
    const char *d = r->domain ? r->domain : "";
    if (strcmp(d, f->domain) != 0)
      return FALSE;
  }
  return TRUE;
}

typedef struct {
  AgfManifest *m;
  gboolean desc;
} SortCtx;

static gint by_score(gconstpointer a, gconstpointer b, gpointer data)
{
  const SortCtx *c = data;
  guint ia = *(const guint *)a, ib = *(const guint *)b;
  double sa = agf_manifest_get(c->m, ia)->score;
  double sb = agf_manifest_get(c->m, ib)->score;
  gboolean na = isnan(sa), nb = isnan(sb);
  if (na != nb)
    return na ? 1 : -1;
  if (!na && sa != sb)
    return (sa < sb) != c->desc ? -1 : 1;
  return ia < ib ? -1 : ia > ib;
}

GArray *agfas_label_store_query(AgfasLabelStore *self,
                                const AgfasLabelFilter *f,
                                AgfasLabelSort sort)
{
  g_return_val_if_fail(AGFAS_IS_LABEL_STORE(self), NULL);
  guint n = agf_manifest_len(self->manifest);
  GArray *out = g_array_sized_new(FALSE, FALSE, sizeof(guint), n);
  for (guint i = 0; i < n; i++)
    if (!f || keeps(f, agf_manifest_get(self->manifest, i)))
      g_array_append_val(out, i);
  if (sort != AGFAS_LABEL_SORT_INDEX) {
    SortCtx c = { self->manifest, sort == AGFAS_LABEL_SORT_SCORE_DESC };
    g_array_sort_with_data(out, by_score, &c);
  }
  return out;
}
