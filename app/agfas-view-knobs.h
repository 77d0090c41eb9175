/* The knobs pane's "View" section: the heatmap overlay on the input (on /
 * off, opacity) and the per-stage timing of the last run. */
#pragma once
#include <gtk/gtk.h>

#include "agfas-analysis.h"

G_BEGIN_DECLS

#define AGFAS_TYPE_VIEW_KNOBS (agfas_view_knobs_get_type())
G_DECLARE_FINAL_TYPE(AgfasViewKnobs, agfas_view_knobs, AGFAS, VIEW_KNOBS,
                     GtkWidget)

/* Properties "overlay" (gboolean) and "overlay-opacity" (double, 0..1). */
gboolean agfas_view_knobs_get_overlay(AgfasViewKnobs *self);
void agfas_view_knobs_set_overlay(AgfasViewKnobs *self, gboolean on);
double agfas_view_knobs_get_opacity(AgfasViewKnobs *self);
void agfas_view_knobs_set_opacity(AgfasViewKnobs *self, double opacity);
/* Fills the timing table from r (NULL: empties it). */
void agfas_view_knobs_set_timing(AgfasViewKnobs *self,
                                 const AgfasAnalysisResult *r);
/* The shown time of stage s ("0.123 s", "—" when it did not run). */
const char *agfas_view_knobs_get_timing_text(AgfasViewKnobs *self,
                                             AgfasStage s);

G_END_DECLS
