/* The GtkApplication: one main window, actions app.open / app.about /
 * app.quit, and `agfas FILE...` (G_APPLICATION_HANDLES_OPEN: the first
 * file is analysed). */
#pragma once
#include <gtk/gtk.h>

#include "agfas-window.h"

G_BEGIN_DECLS

#define AGFAS_APPLICATION_ID "io.github.agfas.Studio"

#define AGFAS_TYPE_APPLICATION (agfas_application_get_type())
G_DECLARE_FINAL_TYPE(AgfasApplication, agfas_application, AGFAS, APPLICATION,
                     GtkApplication)

AgfasApplication *agfas_application_new(GApplicationFlags extra_flags);
/* The main window, created on first use. */
AgfasWindow *agfas_application_get_window(AgfasApplication *self);

G_END_DECLS
