/* Export of the scores of every item of a dataset (a folder's implicit
 * manifest or any manifest, through its AgfasLabelStore) to CSV or JSON
 * (agfas-export.h's score tables: path, frame, x1..y2, score, verdict,
 * label, note; the columns `agfas-train score` writes, plus the curator's
 * label). Images give one row, videos one row per sampled frame, items
 * without a face or that cannot be read a row whose note says so. Runs
 * on a worker thread; the file is written atomically once every item is
 * scored, so a cancelled export leaves the previous file untouched. */
#pragma once
#include <glib-object.h>

#include "agfas-analysis.h"
#include "agfas-label-store.h"

G_BEGIN_DECLS

typedef enum {
  AGFAS_FOLDER_EXPORT_IDLE,
  AGFAS_FOLDER_EXPORT_RUNNING,
  AGFAS_FOLDER_EXPORT_DONE,
  AGFAS_FOLDER_EXPORT_CANCELLED,
  AGFAS_FOLDER_EXPORT_FAILED,
} AgfasFolderExportState;

#define AGFAS_TYPE_FOLDER_EXPORT (agfas_folder_export_get_type())
G_DECLARE_FINAL_TYPE(AgfasFolderExport, agfas_folder_export, AGFAS,
                     FOLDER_EXPORT, GObject)

/* Snapshots the store's items (paths and labels) now. out_path: the table
 * (JSON when it ends in .json, CSV otherwise). Signals, on the main loop:
 *   "progress" (guint done, guint total)  after each item
 *   "finished" ()                         state is DONE/CANCELLED/FAILED */
AgfasFolderExport *agfas_folder_export_new(AgfasLabelStore *store,
                                           AgfasEngine *engine,
                                           const char *device_spec,
                                           const AgfasAnalysisParams *params,
                                           const char *out_path);
void agfas_folder_export_start(AgfasFolderExport *self);
void agfas_folder_export_cancel(AgfasFolderExport *self);
AgfasFolderExportState agfas_folder_export_get_state(AgfasFolderExport *self);
guint agfas_folder_export_get_done(AgfasFolderExport *self);
guint agfas_folder_export_get_total(AgfasFolderExport *self);
guint agfas_folder_export_get_n_rows(AgfasFolderExport *self);
const char *agfas_folder_export_get_out_path(AgfasFolderExport *self);
/* Why it failed, NULL otherwise. */
const char *agfas_folder_export_get_error(AgfasFolderExport *self);

G_END_DECLS
