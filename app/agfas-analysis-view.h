/* Ties the analysis page's view features together for AgfasWindow: the
 * shared zoom / pan (AgfasView) of the four panels, the hover line, the
 * heatmap overlay on the input and the timing table (AgfasViewKnobs), and
 * the window actions and keys for them:
 *   win.zoom-fit (0), win.zoom-100 (1), win.zoom-in (+), win.zoom-out (-),
 *   win.overlay (H, stateful). */
#pragma once
#include <gtk/gtk.h>

#include "agfas-panel.h"
#include "agfas-view-knobs.h"

G_BEGIN_DECLS

typedef struct AgfasAnalysisView AgfasAnalysisView;

/* panels: input, reconstruction, heatmap, cue. Adds the actions to window
 * and its key shortcuts. */
AgfasAnalysisView *agfas_analysis_view_new(GtkApplicationWindow *window,
                                           AgfasPanel *const panels[4],
                                           AgfasViewKnobs *knobs,
                                           GtkLabel *hover_label);
void agfas_analysis_view_free(AgfasAnalysisView *v);
/* The shown result (kept as a pointer until the next call: pass NULL
 * before freeing it). */
void agfas_analysis_view_show(AgfasAnalysisView *v,
                              const AgfasAnalysisResult *r);
AgfasView *agfas_analysis_view_get_view(AgfasAnalysisView *v);

G_END_DECLS
