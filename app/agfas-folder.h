/* A folder opened as a dataset: its images and videos (walked recursively
 * as `agfas-train prepare` walks a folder SRC) become the records of an
 * implicit manifest, FOLDER/agfas-manifest.csv, in the trainer's format
 * with paths relative to the folder, unlabeled. That file is what the
 * curator's labels are saved to (AgfasLabelStore), so it is created on
 * first open; later opens keep its records (and labels) and append the
 * media files added since. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

#define AGFAS_FOLDER_MANIFEST_NAME "agfas-manifest.csv"

/* FOLDER/agfas-manifest.csv (g_free). */
char *agfas_folder_manifest_path(const char *folder);

/* Creates or updates the folder's manifest (atomically) and returns its
 * path. *n_added (may be NULL) gets how many files were new. Errors: the
 * folder cannot be listed, holds no image or video, its manifest does not
 * parse, or cannot be written (the message says where and what to do). */
char *agfas_folder_ensure_manifest(const char *folder, guint *n_added,
                                   GError **error);

G_END_DECLS
