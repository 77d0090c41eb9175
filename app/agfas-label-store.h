/* The curator's labels of a dataset manifest (engine/io/manifest.h, the
 * trainer's format, CSV or JSONL), with undo/redo and crash-safe autosave.
 *
 * Label set (one key each in the browser) and how it is stored:
 *   live                      label=live   attack=none
 *   print, replay, mask,      label=spoof  attack=print|replay|mask|other
 *   other
 *   unsure                    label=unsure attack empty (the curator could
 *                             not tell, so no attack type is claimed)
 * Reading is lenient: a spoof whose attack is none of print/replay/mask
 * (empty or free text) shows as "other"; an empty label is NONE. Setting a
 * kind writes exactly the pair above; undo restores the previous pair as
 * it was (free-text attacks included).
 *
 * Autosave: every edit (set, undo, redo) is appended to a journal beside
 * the manifest, MANIFEST.labels.jsonl (AgfManifestJournal: one write +
 * fdatasync per edit), before the call returns TRUE, so an acknowledged
 * edit survives a crash or SIGKILL. Each journal line is the item's
 * path/frame/face with its new label and attack, plus the column
 * "agfas_index" (the item's position). Opening replays the journal onto
 * the manifest (matched by position and path/frame/face, else by
 * path/frame/face alone; lines matching no item are skipped and counted in
 * n-unmatched); flush/close compact it: the manifest is saved atomically
 * in its own format, then the journal is removed. Replaying a journal
 * twice gives the same labels, so a crash between those two steps loses
 * nothing. Dropping the last reference without close keeps the journal
 * (as a crash would) and does not touch the manifest.
 *
 * Main-thread object; not thread-safe. */
#pragma once
#include <glib-object.h>
#include "io/manifest.h"

G_BEGIN_DECLS

typedef enum {
  AGFAS_LABEL_KIND_NONE,   /* unlabeled */
  AGFAS_LABEL_KIND_LIVE,
  AGFAS_LABEL_KIND_PRINT,
  AGFAS_LABEL_KIND_REPLAY,
  AGFAS_LABEL_KIND_MASK,
  AGFAS_LABEL_KIND_OTHER,
  AGFAS_LABEL_KIND_UNSURE,
  AGFAS_LABEL_KIND_COUNT
} AgfasLabelKind;

/* "", "live", "print", "replay", "mask", "other", "unsure". */
const char *agfas_label_kind_name(AgfasLabelKind kind);
/* The reverse (exact, lower case); FALSE for anything else. */
gboolean agfas_label_kind_parse(const char *s, AgfasLabelKind *out);
/* A manifest label/attack pair as a kind (see above). */
AgfasLabelKind agfas_label_kind_from_record(AgfLabel label,
                                            const char *attack);

/* Edits kept for undo; older ones drop off (they stay saved). */
#define AGFAS_LABEL_STORE_UNDO_DEPTH 256

#define AGFAS_TYPE_LABEL_STORE (agfas_label_store_get_type())
G_DECLARE_FINAL_TYPE(AgfasLabelStore, agfas_label_store, AGFAS, LABEL_STORE,
                     GObject)

/* Loads the manifest at path and replays its journal. Errors: those of
 * agf_manifest_load and agf_manifest_journal_open. Signals:
 *   "item-changed" (guint index)  an item's label or attack changed
 * Properties (read-only): "path", "n-items", "can-undo", "can-redo",
 * "dirty" (the journal holds edits not yet compacted into the manifest). */
AgfasLabelStore *agfas_label_store_open(const char *path, GError **error);

const char *agfas_label_store_get_path(AgfasLabelStore *self);
const char *agfas_label_store_get_journal_path(AgfasLabelStore *self);
AgfManifestFormat agfas_label_store_get_format(AgfasLabelStore *self);
/* Journal lines applied at open, and those that matched no item. */
guint agfas_label_store_get_n_replayed(AgfasLabelStore *self);
guint agfas_label_store_get_n_unmatched(AgfasLabelStore *self);

guint agfas_label_store_get_n_items(AgfasLabelStore *self);
/* Item i's record (path, frame, face, label, attack, score, domain, ...),
 * owned by the store; valid until the store is finalized. */
const AgfManifestRecord *agfas_label_store_get_item(AgfasLabelStore *self,
                                                    guint i);
AgfasLabelKind agfas_label_store_get_kind(AgfasLabelStore *self, guint i);
/* Item i's media file as an absolute path (g_free). */
char *agfas_label_store_resolve(AgfasLabelStore *self, guint i);
/* The distinct non-empty domains, sorted (g_strfreev). */
char **agfas_label_store_list_domains(AgfasLabelStore *self);

/* Sets item i's label (see the table above) and journals it; TRUE once it
 * is on disk. Setting the kind an item already has (and the attack that
 * kind writes) changes nothing and adds no undo step. Errors:
 * AGF_ERROR_INVALID_ARGUMENT (index or kind out of range, store closed),
 * AGF_ERROR_IO (journal write failed; the item is left unchanged). */
gboolean agfas_label_store_set_label(AgfasLabelStore *self, guint i,
                                     AgfasLabelKind kind, GError **error);

gboolean agfas_label_store_can_undo(AgfasLabelStore *self);
gboolean agfas_label_store_can_redo(AgfasLabelStore *self);
/* Reverts (re-applies) the last edit, journaled like any edit. out_index
 * (may be NULL) gets the item's index so the browser can select it.
 * Errors: AGF_ERROR_INVALID_ARGUMENT when there is nothing to undo/redo,
 * AGF_ERROR_IO as set_label. */
gboolean agfas_label_store_undo(AgfasLabelStore *self, guint *out_index,
                                GError **error);
gboolean agfas_label_store_redo(AgfasLabelStore *self, guint *out_index,
                                GError **error);

/* Compacts: saves the manifest atomically (when dirty) and starts an empty
 * journal. Edits can go on. */
gboolean agfas_label_store_flush(AgfasLabelStore *self, GError **error);
/* flush, then closes and removes the journal; later edits fail. Calling it
 * again is a no-op. */
gboolean agfas_label_store_close(AgfasLabelStore *self, GError **error);

/* A view for "find hard or mislabeled items". */
typedef struct {
  guint kinds;         /* bits 1u << AgfasLabelKind to keep; 0: any */
  double score_min;    /* inclusive bounds on the record's score */
  double score_max;
  gboolean unscored;   /* keep items without a score (NAN) */
  const char *domain;  /* NULL: any; "": items without a domain */
} AgfasLabelFilter;

typedef enum {
  AGFAS_LABEL_SORT_INDEX,      /* manifest order */
  AGFAS_LABEL_SORT_SCORE_ASC,  /* unscored items last; ties in index order */
  AGFAS_LABEL_SORT_SCORE_DESC,
} AgfasLabelSort;

/* Everything passes: any kind, -inf..+inf, unscored kept, any domain. */
void agfas_label_filter_init(AgfasLabelFilter *f);
/* The indices (guint) of the items f keeps (NULL: all), sorted. */
GArray *agfas_label_store_query(AgfasLabelStore *self,
                                const AgfasLabelFilter *f,
                                AgfasLabelSort sort);

G_END_DECLS
