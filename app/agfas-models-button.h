/* The header bar's "Models" button: a popover listing each network the
 * analysis runs (app/agfas-models.h) as loaded, installed (loads on the
 * next run), failed or not installed, with its file or how to get one, and
 * "Open Model…", which detects what a .safetensors checkpoint is and uses
 * it for this session. */
#pragma once
#include <gtk/gtk.h>

#include "agfas-analysis.h"

G_BEGIN_DECLS

#define AGFAS_TYPE_MODELS_BUTTON (agfas_models_button_get_type())
G_DECLARE_FINAL_TYPE(AgfasModelsButton, agfas_models_button, AGFAS,
                     MODELS_BUTTON, GtkWidget)

/* The engine whose networks are listed (a ref is kept). */
void agfas_models_button_set_engine(AgfasModelsButton *self,
                                    AgfasEngine *engine);
/* Rereads every network's status (after a run, or a change on disk). */
void agfas_models_button_refresh(AgfasModelsButton *self);
/* The state line of m as shown ("Loaded", "Not installed", ...). */
const char *agfas_models_button_get_state_text(AgfasModelsButton *self,
                                               AgfasModel m);
/* What "Open Model…" does with the chosen file: detects the network and
 * sets it on the engine, then emits "model-opened" (the AgfasModel as an
 * int) so the window re-runs. */
gboolean agfas_models_button_open_path(AgfasModelsButton *self,
                                       const char *path, AgfasModel *out,
                                       GError **error);
/* The result of the last "Open Model…" ("Loaded ... as ..." or the
 * error), shown under the list. */
const char *agfas_models_button_get_message(AgfasModelsButton *self);

G_END_DECLS
