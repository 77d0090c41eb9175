/* The window's media sources beyond single images: videos (the "video"
 * page, AgfasVideoView), folders (an implicit manifest in the dataset
 * browser, agfas-folder.h), recent files (the "Open Recent" menu,
 * agfas-recent.h), the folder score export (win.export-scores) and the
 * live camera (win.camera, the "live" page). Attached to an AgfasWindow
 * by agfas_window_new; the window's open path asks agfas_media_open first.
 *
 * Window actions added: open-folder, open-recent(s), export-scores,
 * camera. */
#pragma once
#include <gtk/gtk.h>

#include "agfas-analysis.h"
#include "agfas-folder-export.h"
#include "agfas-live-view.h"
#include "agfas-video-view.h"
#include "agfas-window.h"

G_BEGIN_DECLS

void agfas_media_attach(AgfasWindow *win, AgfasEngine *engine);

/* Records file in the recent list, then opens it when it is a video or a
 * folder (TRUE); FALSE leaves it to the window (images, manifests). */
gboolean agfas_media_open(AgfasWindow *win, GFile *file);

/* The pages, NULL until first used. */
AgfasVideoView *agfas_media_get_video_view(AgfasWindow *win);
AgfasLiveView *agfas_media_get_live_view(AgfasWindow *win);
/* The recent list's file (g_get_user_config_dir()/agfas/recent.ini). */
const char *agfas_media_get_recent_path(AgfasWindow *win);
/* The "Open Recent" submenu's model. */
GMenuModel *agfas_media_get_recent_menu(AgfasWindow *win);
/* The running or last folder export, NULL before the first. */
AgfasFolderExport *agfas_media_get_export(AgfasWindow *win);
/* Starts exporting the open dataset's scores to path (CSV, or JSON when
 * path ends in .json); FALSE (status line says why) when no dataset is
 * open. Backs win.export-scores after its file chooser. */
gboolean agfas_media_export_scores_to(AgfasWindow *win, const char *path);

/* File chooser filters for every kind the app opens. */
void agfas_media_add_filters(GtkFileChooser *chooser);

G_END_DECLS
