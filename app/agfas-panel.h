/* One titled panel of the analysis view: a title, the image (AgfasCanvas)
 * and a note that replaces the image when it cannot be computed (e.g. "No
 * DFG model installed: ..."). */
#pragma once
#include <gtk/gtk.h>

#include "agfas-canvas.h"

G_BEGIN_DECLS

#define AGFAS_TYPE_PANEL (agfas_panel_get_type())
G_DECLARE_FINAL_TYPE(AgfasPanel, agfas_panel, AGFAS, PANEL, GtkWidget)

void agfas_panel_set_title(AgfasPanel *self, const char *title);
const char *agfas_panel_get_title(AgfasPanel *self);
AgfasCanvas *agfas_panel_get_canvas(AgfasPanel *self);
/* Shows texture (NULL: none) and note (NULL: hidden) under it. */
void agfas_panel_show(AgfasPanel *self, GdkTexture *texture, const char *note);
const char *agfas_panel_get_note(AgfasPanel *self);

G_END_DECLS
