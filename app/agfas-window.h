/* The main window: welcome page, or the four-panel analysis of one image
 * with the knobs pane. Every knob change re-runs the analysis on a worker
 * thread, cancelling the previous run. */
#pragma once
#include <gtk/gtk.h>

#include "agfas-analysis.h"
#include "agfas-dataset-view.h"
#include "agfas-export.h"
#include "agfas-panel.h"

G_BEGIN_DECLS

#define AGFAS_TYPE_WINDOW (agfas_window_get_type())
G_DECLARE_FINAL_TYPE(AgfasWindow, agfas_window, AGFAS, WINDOW,
                     GtkApplicationWindow)

typedef enum {
  AGFAS_WINDOW_EMPTY,    /* welcome page */
  AGFAS_WINDOW_RUNNING,  /* an analysis is in flight */
  AGFAS_WINDOW_DONE,     /* the last analysis finished */
  AGFAS_WINDOW_FAILED,   /* the last analysis failed (status says why) */
} AgfasWindowState;

AgfasWindow *agfas_window_new(GtkApplication *app, AgfasEngine *engine);
/* Shows the analysis of file (a local image) and starts it; a manifest
 * (.csv/.jsonl) opens in the dataset browser instead. */
void agfas_window_open(AgfasWindow *self, GFile *file);
/* The dataset browser, or NULL until a manifest was opened. */
AgfasDatasetView *agfas_window_get_dataset_view(AgfasWindow *self);
AgfasWindowState agfas_window_get_state(AgfasWindow *self);
/* The panel of kind (agfas-export.h's AGFAS_PANEL_*). */
AgfasPanel *agfas_window_get_panel(AgfasWindow *self, AgfasPanelKind kind);
/* The score line ("Spoof probability 0.42: live") or why there is none. */
const char *agfas_window_get_score_text(AgfasWindow *self);
/* The status line: timing of the last run or its error. */
const char *agfas_window_get_status_text(AgfasWindow *self);
/* Whether presentation mode (win.present, F5; Esc leaves) is on: full
 * screen, no knobs or header bar, large panels and verdict. */
gboolean agfas_window_get_presenting(AgfasWindow *self);
/* The knobs' current values, and the picked device's spec (NULL: auto),
 * for other analyses than the window's own (video frames, live, export). */
void agfas_window_get_params(AgfasWindow *self, AgfasAnalysisParams *p);
const char *agfas_window_get_device_spec(AgfasWindow *self);
/* Number of analyses finished (successfully or not) so far. */
guint agfas_window_get_runs_finished(AgfasWindow *self);

/* Exports the current analysis result: the composed four-panel PNG at
 * path, and next to it STEM-<panel>.png for each panel and
 * STEM-cues.safetensors (when there is a reconstruction), STEM being
 * path's base name without ".png". FALSE when there is no result or a
 * write fails. Backs the win.export action (Ctrl+E). */
gboolean agfas_window_export_to(AgfasWindow *self, const char *path,
                                GError **error);

G_END_DECLS
