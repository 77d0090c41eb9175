/* A widget drawing one texture scaled to fit (aspect kept, centred), with
 * an optional overlay in the texture's pixel coordinates: a face box and
 * its 5 landmarks. */
#pragma once
#include <gtk/gtk.h>

#include "pipeline/face_align.h"

G_BEGIN_DECLS

#define AGFAS_TYPE_CANVAS (agfas_canvas_get_type())
G_DECLARE_FINAL_TYPE(AgfasCanvas, agfas_canvas, AGFAS, CANVAS, GtkWidget)

GtkWidget *agfas_canvas_new(void);
/* texture NULL clears the canvas (and the overlay). */
void agfas_canvas_set_texture(AgfasCanvas *self, GdkTexture *texture);
GdkTexture *agfas_canvas_get_texture(AgfasCanvas *self);
/* box: x1, y1, x2, y2 (inclusive pixel bounds); NULL removes the overlay. */
void agfas_canvas_set_face(AgfasCanvas *self, const float box[4],
                           const float landmarks[AGF_FACE_N_LANDMARKS][2]);

G_END_DECLS
