/* A widget drawing one texture scaled to fit (aspect kept, centred) under
 * the shared AgfasView (zoom and pan), with overlays in the texture's pixel
 * coordinates: a face box and its 5 landmarks, a heatmap in face
 * coordinates blended at an opacity, and a cross at the hovered face point.
 *
 * Input: Ctrl+wheel or pinch zooms about the pointer, a drag pans, the
 * wheel pans while zoomed in (else it scrolls the page), a double click
 * fits; the pointer sets the view's hover point.
 *
 * Size: a small fixed minimum, and a natural height of the width times
 * the texture's aspect, so it fills a scrolled container at the right
 * aspect and shrinks to fit a fixed-height page. */
#pragma once
#include <gtk/gtk.h>

#include "agfas-view.h"
#include "pipeline/face_align.h"

G_BEGIN_DECLS

#define AGFAS_TYPE_CANVAS (agfas_canvas_get_type())
G_DECLARE_FINAL_TYPE(AgfasCanvas, agfas_canvas, AGFAS, CANVAS, GtkWidget)

GtkWidget *agfas_canvas_new(void);
/* texture NULL clears the canvas (and the overlays). */
void agfas_canvas_set_texture(AgfasCanvas *self, GdkTexture *texture);
GdkTexture *agfas_canvas_get_texture(AgfasCanvas *self);
/* box: x1, y1, x2, y2 (inclusive pixel bounds); NULL removes the overlay. */
void agfas_canvas_set_face(AgfasCanvas *self, const float box[4],
                           const float landmarks[AGF_FACE_N_LANDMARKS][2]);
/* Whether the face overlay is on; copies it to box / landmarks (each may
 * be NULL) when it is. */
gboolean agfas_canvas_get_face(AgfasCanvas *self, float box[4],
                               float landmarks[AGF_FACE_N_LANDMARKS][2]);

/* The view this canvas follows (a ref is kept; NULL: always fitted). */
void agfas_canvas_set_view(AgfasCanvas *self, AgfasView *view);
/* Face coordinates -> texture pixels; NULL (the default): the texture is
 * the aligned face itself, scaled to AGF_FACE_ALIGN_SIZE. */
void agfas_canvas_set_face_map(AgfasCanvas *self, const double m[2][3]);
/* A texture of the aligned face (e.g. the heatmap) drawn over this one at
 * opacity in [0, 1]; NULL or opacity 0 removes it. */
void agfas_canvas_set_overlay(AgfasCanvas *self, GdkTexture *face_texture,
                              double opacity);
GdkTexture *agfas_canvas_get_overlay(AgfasCanvas *self, double *opacity);

/* Widget pixels per texture pixel at zoom 1 (0 without a texture). */
double agfas_canvas_get_fit_scale(AgfasCanvas *self);
/* Widget point <-> face point under the current view; FALSE without a
 * texture or size. */
gboolean agfas_canvas_widget_to_face(AgfasCanvas *self, double wx, double wy,
                                     double *fx, double *fy);
gboolean agfas_canvas_face_to_widget(AgfasCanvas *self, double fx, double fy,
                                     double *wx, double *wy);
/* Widget point -> fitted face point (the view's input space). */
gboolean agfas_canvas_widget_to_fitted(AgfasCanvas *self, double wx,
                                       double wy, double *gx, double *gy);

/* What the pointer controllers do (also driven by tests): zoom by factor
 * about widget point (wx, wy); pan by a widget delta; hover a widget
 * point (the view's hover moves to the face point under it). */
void agfas_canvas_zoom_at(AgfasCanvas *self, double wx, double wy,
                          double factor);
void agfas_canvas_pan_by(AgfasCanvas *self, double dx, double dy);
void agfas_canvas_hover(AgfasCanvas *self, double wx, double wy);

G_END_DECLS
