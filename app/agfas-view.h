/* The view shared by the four panels: one zoom and pan, and the hovered
 * point, all in aligned-face coordinates (the 256 x 256 crop the
 * reconstruction, heatmap and cue panels show; the input panel maps them to
 * the frame through the face alignment). The view is the map
 *   V(x) = zoom * x + offset
 * from face coordinates to "fitted" face coordinates: each panel draws
 * V's result where its fitted (zoom 1) layout would put it, so the same
 * face pixel lies under the same view point in every panel. */
#pragma once
#include <glib-object.h>

G_BEGIN_DECLS

#define AGFAS_VIEW_MIN_ZOOM 0.125
#define AGFAS_VIEW_MAX_ZOOM 64.0

#define AGFAS_TYPE_VIEW (agfas_view_get_type())
G_DECLARE_FINAL_TYPE(AgfasView, agfas_view, AGFAS, VIEW, GObject)

AgfasView *agfas_view_new(void);
double agfas_view_get_zoom(AgfasView *self);
void agfas_view_get_offset(AgfasView *self, double *ox, double *oy);
/* V as a row-major 2x3 affine. */
void agfas_view_get_matrix(AgfasView *self, double m[2][3]);
/* Sets zoom (clamped) keeping the face point under fitted point (gx, gy)
 * where it is. */
void agfas_view_zoom_at(AgfasView *self, double gx, double gy, double zoom);
/* Moves the content by (dx, dy) fitted units. */
void agfas_view_pan(AgfasView *self, double dx, double dy);
/* Zoom 1, no offset: every panel fits its image. */
void agfas_view_fit(AgfasView *self);

/* The hovered face point; has FALSE when the pointer left the panels. */
void agfas_view_set_hover(AgfasView *self, gboolean has, double fx,
                          double fy);
gboolean agfas_view_get_hover(AgfasView *self, double *fx, double *fy);

/* out = a after b (out(x) = a(b(x))); out may alias a or b. */
void agfas_affine_mul(const double a[2][3], const double b[2][3],
                      double out[2][3]);

G_END_DECLS
