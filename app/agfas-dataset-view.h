/* The curators' dataset browser: the items of a manifest (through an
 * AgfasLabelStore) in a list with lazily loaded thumbnails, a filter bar
 * (label, score range, domain, sort by score) and keyboard-first labeling.
 *
 * Actions (group "dataset", on the view; the list's keys map to them):
 *   dataset.label(s)   set "live"|"print"|"replay"|"mask"|"other"|"unsure"
 *                      on the selected item (keys 1..6, l p r m o u), then
 *                      select the next one
 *   dataset.next / dataset.previous    Down/j, Up/k
 *   dataset.undo / dataset.redo        Ctrl+Z, Ctrl+Shift+Z (Ctrl+Y)
 * Every label goes through agfas_label_store_set_label, so it is on disk
 * (journaled) before the status line says "saved". */
#pragma once
#include <gtk/gtk.h>

#include "agfas-label-store.h"

G_BEGIN_DECLS

#define AGFAS_TYPE_DATASET_VIEW (agfas_dataset_view_get_type())
G_DECLARE_FINAL_TYPE(AgfasDatasetView, agfas_dataset_view, AGFAS,
                     DATASET_VIEW, GtkWidget)

/* TRUE when file's name ends in .csv or .jsonl (any case). */
gboolean agfas_dataset_is_manifest(GFile *file);

AgfasDatasetView *agfas_dataset_view_new(void);
/* Closes the current store (compacting its labels into its manifest) and
 * opens the manifest at path. On failure the view is empty and its status
 * line carries the error. Errors: those of agfas_label_store_open. */
gboolean agfas_dataset_view_open(AgfasDatasetView *self, const char *path,
                                 GError **error);
/* The open store, or NULL. */
AgfasLabelStore *agfas_dataset_view_get_store(AgfasDatasetView *self);
/* Rows shown after filtering. */
guint agfas_dataset_view_get_n_shown(AgfasDatasetView *self);
/* The store index of the item shown at row position, or G_MAXUINT. */
guint agfas_dataset_view_get_item_at(AgfasDatasetView *self, guint position);
/* The thumbnail of the item at row position: NULL until its row was
 * shown and its file decoded (images scaled down; a video's first sampled
 * frame), or when it cannot be decoded. */
GdkPaintable *agfas_dataset_view_get_thumbnail(AgfasDatasetView *self,
                                               guint position);
/* Selects (and scrolls to) row position; ignored when out of range. */
void agfas_dataset_view_select(AgfasDatasetView *self, guint position);
/* The store index of the selected item, or G_MAXUINT. */
guint agfas_dataset_view_get_selected(AgfasDatasetView *self);
/* "N items · M labeled · saved" or why the last edit failed. */
const char *agfas_dataset_view_get_status_text(AgfasDatasetView *self);

G_END_DECLS
