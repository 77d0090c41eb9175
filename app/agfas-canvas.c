/* See agfas-canvas.h. */
#include "agfas-canvas.h"

#include <math.h>
#include <string.h>

struct _AgfasCanvas {
  GtkWidget parent_instance;
  GdkTexture *texture;
  gboolean has_face;
  float box[4];
  float landmarks[AGF_FACE_N_LANDMARKS][2];
  AgfasView *view;
  gboolean has_face_map;
  double face_map[2][3];   /* face -> texture */
  GdkTexture *overlay;     /* in face coordinates */
  double overlay_opacity;
  double pointer_x, pointer_y;  /* last pointer position (widget) */
  double drag_x, drag_y;        /* drag offset applied so far */
  double pinch_zoom;            /* view zoom when the pinch began */
};

G_DEFINE_FINAL_TYPE(AgfasCanvas, agfas_canvas, GTK_TYPE_WIDGET)

/* The picture is drawn fitted (aspect kept) into whatever it is given, so
 * its minimum is small and fixed; its natural size has the texture's
 * aspect: a container with room (the analysis view's scrolled flow box
 * asks for natural heights) gets the full picture, one without (a page of
 * the window's height) shrinks it to fit. */
enum { MIN_WIDTH = 120, MIN_HEIGHT = 90, NATURAL_SIDE = 180 };
/* Fitted pixels a wheel step pans by; the zoom factor of a wheel step. */
#define WHEEL_PAN 40.0
#define WHEEL_ZOOM 1.25

static GtkSizeRequestMode agfas_canvas_get_request_mode(GtkWidget *widget)
{
  (void)widget;
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

/* Height over width of the texture (1 when empty). */
static double canvas_aspect(AgfasCanvas *self)
{
  if (!self->texture)
    return 1;
  return (double)gdk_texture_get_height(self->texture) /
         gdk_texture_get_width(self->texture);
}

static void agfas_canvas_measure(GtkWidget *widget, GtkOrientation o,
                                 int for_size, int *min, int *nat,
                                 int *min_base, int *nat_base)
{
  double aspect = canvas_aspect(AGFAS_CANVAS(widget));
  *min_base = *nat_base = -1;
  if (o == GTK_ORIENTATION_HORIZONTAL) {
    *min = MIN_WIDTH;
    *nat = for_size < 0 ? NATURAL_SIDE : (int)(for_size / aspect);
  } else {
    *min = MIN_HEIGHT;
    *nat = (int)((for_size < 0 ? NATURAL_SIDE : for_size) * aspect);
  }
  *nat = MAX(*nat, *min);
}

/* The maps of the current layout: F (texture -> widget at zoom 1), M (face
 * -> texture) and FMV = F o M o V (face -> widget). */
typedef struct {
  double f[2][3], m[2][3], fmv[2][3];
} Maps;

static gboolean get_maps(AgfasCanvas *self, Maps *maps)
{
  GtkWidget *w = GTK_WIDGET(self);
  double ww = gtk_widget_get_width(w), wh = gtk_widget_get_height(w);
  if (!self->texture || ww <= 0 || wh <= 0)
    return FALSE;
  double tw = gdk_texture_get_width(self->texture);
  double th = gdk_texture_get_height(self->texture);
  double s = MIN(ww / tw, wh / th);
  const double f[2][3] = { { s, 0, (ww - tw * s) / 2 },
                           { 0, s, (wh - th * s) / 2 } };
  memcpy(maps->f, f, sizeof f);
  if (self->has_face_map) {
    memcpy(maps->m, self->face_map, sizeof maps->m);
  } else {
    const double m[2][3] = { { tw / AGF_FACE_ALIGN_SIZE, 0, 0 },
                             { 0, th / AGF_FACE_ALIGN_SIZE, 0 } };
    memcpy(maps->m, m, sizeof m);
  }
  double v[2][3] = { { 1, 0, 0 }, { 0, 1, 0 } };
  if (self->view)
    agfas_view_get_matrix(self->view, v);
  agfas_affine_mul(maps->m, v, maps->fmv);
  agfas_affine_mul(maps->f, maps->fmv, maps->fmv);
  return TRUE;
}

/* Appends a (no shear: a similarity, or a scale and translation) as
 * translate, rotate, scale: transforms of these kinds every renderer
 * draws, where a general matrix makes the cairo renderer give up. */
static void append_matrix(GtkSnapshot *s, const double a[2][3])
{
  double sx = hypot(a[0][0], a[1][0]);
  if (sx <= 0)
    return;
  double sy = (a[0][0] * a[1][1] - a[0][1] * a[1][0]) / sx;
  double deg = atan2(a[1][0], a[0][0]) * 180 / G_PI;
  gtk_snapshot_translate(s, &GRAPHENE_POINT_INIT(a[0][2], a[1][2]));
  if (fabs(deg) > 1e-9)
    gtk_snapshot_rotate(s, (float)deg);
  gtk_snapshot_scale(s, (float)sx, (float)sy);
}

static void draw_face(AgfasCanvas *self, GtkSnapshot *s, const double a[2][3])
{
  /* Thin lines in the app's accent green, readable on skin and background;
   * drawn in widget pixels so they keep their width when zoomed. */
  static const GdkRGBA box_col = { 0.2f, 0.9f, 0.4f, 1 };
  static const GdkRGBA lm_col = { 1.0f, 0.3f, 0.3f, 1 };
  double x1, y1, x2, y2;
  agf_affine_apply(a, self->box[0], self->box[1], &x1, &y1);
  agf_affine_apply(a, self->box[2] + 1, self->box[3] + 1, &x2, &y2);
  GskRoundedRect rr;
  gsk_rounded_rect_init_from_rect(
    &rr, &GRAPHENE_RECT_INIT(MIN(x1, x2), MIN(y1, y2), fabs(x2 - x1),
                             fabs(y2 - y1)), 0);
  const float widths[4] = { 2, 2, 2, 2 };
  const GdkRGBA cols[4] = { box_col, box_col, box_col, box_col };
  gtk_snapshot_append_border(s, &rr, widths, cols);
  for (int i = 0; i < AGF_FACE_N_LANDMARKS; i++) {
    double cx, cy;
    agf_affine_apply(a, self->landmarks[i][0], self->landmarks[i][1], &cx,
                     &cy);
    gtk_snapshot_append_color(s, &lm_col,
                              &GRAPHENE_RECT_INIT(cx - 3, cy - 3, 6, 6));
  }
}

static void draw_hover(GtkSnapshot *s, double x, double y)
{
  /* A white cross with a dark edge: visible on any colormap. */
  static const GdkRGBA dark = { 0, 0, 0, 0.6f }, light = { 1, 1, 1, 0.9f };
  gtk_snapshot_append_color(s, &dark, &GRAPHENE_RECT_INIT(x - 8, y - 1.5f, 16, 3));
  gtk_snapshot_append_color(s, &dark, &GRAPHENE_RECT_INIT(x - 1.5f, y - 8, 3, 16));
  gtk_snapshot_append_color(s, &light, &GRAPHENE_RECT_INIT(x - 7, y - 0.5f, 14, 1));
  gtk_snapshot_append_color(s, &light, &GRAPHENE_RECT_INIT(x - 0.5f, y - 7, 1, 14));
}

static void agfas_canvas_snapshot(GtkWidget *widget, GtkSnapshot *s)
{
  AgfasCanvas *self = AGFAS_CANVAS(widget);
  Maps maps;
  if (!get_maps(self, &maps))
    return;
  /* texture -> widget: A = F o M o V o M^-1. */
  double minv[2][3], a[2][3];
  if (!agf_affine_invert(maps.m, minv))
    return;
  agfas_affine_mul(maps.fmv, minv, a);
  float ww = gtk_widget_get_width(widget), wh = gtk_widget_get_height(widget);
  gtk_snapshot_push_clip(s, &GRAPHENE_RECT_INIT(0, 0, ww, wh));
  gtk_snapshot_save(s);
  append_matrix(s, a);
  gtk_snapshot_append_texture(
    s, self->texture, &GRAPHENE_RECT_INIT(0, 0, gdk_texture_get_width(self->texture),
                                          gdk_texture_get_height(self->texture)));
  if (self->overlay && self->overlay_opacity > 0) {
    float ow = gdk_texture_get_width(self->overlay);
    float oh = gdk_texture_get_height(self->overlay);
    const double to_face[2][3] = { { AGF_FACE_ALIGN_SIZE / ow, 0, 0 },
                                   { 0, AGF_FACE_ALIGN_SIZE / oh, 0 } };
    double o[2][3];
    agfas_affine_mul(maps.m, to_face, o);
    gtk_snapshot_save(s);
    append_matrix(s, o);
    gtk_snapshot_push_opacity(s, self->overlay_opacity);
    gtk_snapshot_append_texture(s, self->overlay,
                                &GRAPHENE_RECT_INIT(0, 0, ow, oh));
    gtk_snapshot_pop(s);
    gtk_snapshot_restore(s);
  }
  gtk_snapshot_restore(s);
  if (self->has_face)
    draw_face(self, s, a);
  double hx, hy;
  if (self->view && agfas_view_get_hover(self->view, &hx, &hy)) {
    agf_affine_apply(maps.fmv, hx, hy, &hx, &hy);
    draw_hover(s, hx, hy);
  }
  gtk_snapshot_pop(s);
}

gboolean agfas_canvas_widget_to_fitted(AgfasCanvas *self, double wx,
                                       double wy, double *gx, double *gy)
{
  g_return_val_if_fail(AGFAS_IS_CANVAS(self), FALSE);
  Maps maps;
  double fm[2][3], inv[2][3];
  if (!get_maps(self, &maps))
    return FALSE;
  agfas_affine_mul(maps.f, maps.m, fm);
  if (!agf_affine_invert(fm, inv))
    return FALSE;
  agf_affine_apply(inv, wx, wy, gx, gy);
  return TRUE;
}

gboolean agfas_canvas_widget_to_face(AgfasCanvas *self, double wx, double wy,
                                     double *fx, double *fy)
{
  g_return_val_if_fail(AGFAS_IS_CANVAS(self), FALSE);
  Maps maps;
  double inv[2][3];
  if (!get_maps(self, &maps) || !agf_affine_invert(maps.fmv, inv))
    return FALSE;
  agf_affine_apply(inv, wx, wy, fx, fy);
  return TRUE;
}

gboolean agfas_canvas_face_to_widget(AgfasCanvas *self, double fx, double fy,
                                     double *wx, double *wy)
{
  g_return_val_if_fail(AGFAS_IS_CANVAS(self), FALSE);
  Maps maps;
  if (!get_maps(self, &maps))
    return FALSE;
  agf_affine_apply(maps.fmv, fx, fy, wx, wy);
  return TRUE;
}

double agfas_canvas_get_fit_scale(AgfasCanvas *self)
{
  g_return_val_if_fail(AGFAS_IS_CANVAS(self), 0);
  Maps maps;
  return get_maps(self, &maps) ? maps.f[0][0] : 0;
}

void agfas_canvas_zoom_at(AgfasCanvas *self, double wx, double wy,
                          double factor)
{
  g_return_if_fail(AGFAS_IS_CANVAS(self));
  double gx, gy;
  if (self->view && agfas_canvas_widget_to_fitted(self, wx, wy, &gx, &gy))
    agfas_view_zoom_at(self->view, gx, gy,
                       agfas_view_get_zoom(self->view) * factor);
}

void agfas_canvas_pan_by(AgfasCanvas *self, double dx, double dy)
{
  g_return_if_fail(AGFAS_IS_CANVAS(self));
  double x0, y0, x1, y1;
  if (self->view && agfas_canvas_widget_to_fitted(self, 0, 0, &x0, &y0) &&
      agfas_canvas_widget_to_fitted(self, dx, dy, &x1, &y1))
    agfas_view_pan(self->view, x1 - x0, y1 - y0);
}

void agfas_canvas_hover(AgfasCanvas *self, double wx, double wy)
{
  g_return_if_fail(AGFAS_IS_CANVAS(self));
  double fx = 0, fy = 0;
  self->pointer_x = wx, self->pointer_y = wy;
  if (!self->view)
    return;
  gboolean has = agfas_canvas_widget_to_face(self, wx, wy, &fx, &fy);
  agfas_view_set_hover(self->view, has, fx, fy);
}

static void on_motion(GtkEventControllerMotion *c, double x, double y,
                      gpointer data)
{
  (void)c;
  agfas_canvas_hover(data, x, y);
}

static void on_leave(GtkEventControllerMotion *c, gpointer data)
{
  (void)c;
  AgfasCanvas *self = data;
  if (self->view)
    agfas_view_set_hover(self->view, FALSE, 0, 0);
}

static gboolean on_scroll(GtkEventControllerScroll *c, double dx, double dy,
                          gpointer data)
{
  AgfasCanvas *self = data;
  if (!self->view || !self->texture)
    return FALSE;
  GdkModifierType mods =
    gtk_event_controller_get_current_event_state(GTK_EVENT_CONTROLLER(c));
  if (mods & GDK_CONTROL_MASK) {
    agfas_canvas_zoom_at(self, self->pointer_x, self->pointer_y,
                         pow(WHEEL_ZOOM, -dy));
    return TRUE;
  }
  /* Zoomed in, the wheel moves the picture; else the page scrolls. */
  if (agfas_view_get_zoom(self->view) <= 1)
    return FALSE;
  agfas_canvas_pan_by(self, -dx * WHEEL_PAN, -dy * WHEEL_PAN);
  return TRUE;
}

static void on_drag_begin(GtkGestureDrag *g, double x, double y,
                          gpointer data)
{
  (void)g, (void)x, (void)y;
  AgfasCanvas *self = data;
  self->drag_x = self->drag_y = 0;
  gtk_widget_grab_focus(GTK_WIDGET(self));
}

static void on_drag_update(GtkGestureDrag *g, double ox, double oy,
                           gpointer data)
{
  (void)g;
  AgfasCanvas *self = data;
  agfas_canvas_pan_by(self, ox - self->drag_x, oy - self->drag_y);
  self->drag_x = ox, self->drag_y = oy;
}

static void on_pinch_begin(GtkGesture *g, GdkEventSequence *seq,
                           gpointer data)
{
  (void)g, (void)seq;
  AgfasCanvas *self = data;
  self->pinch_zoom = self->view ? agfas_view_get_zoom(self->view) : 1;
}

static void on_pinch(GtkGestureZoom *g, double scale, gpointer data)
{
  AgfasCanvas *self = data;
  double cx, cy, gx, gy;
  if (!self->view ||
      !gtk_gesture_get_bounding_box_center(GTK_GESTURE(g), &cx, &cy) ||
      !agfas_canvas_widget_to_fitted(self, cx, cy, &gx, &gy))
    return;
  agfas_view_zoom_at(self->view, gx, gy, self->pinch_zoom * scale);
}

static void on_click(GtkGestureClick *g, int n_press, double x, double y,
                     gpointer data)
{
  (void)g, (void)x, (void)y;
  AgfasCanvas *self = data;
  if (n_press == 2 && self->view)
    agfas_view_fit(self->view);
}

static void agfas_canvas_dispose(GObject *object)
{
  AgfasCanvas *self = AGFAS_CANVAS(object);
  agfas_canvas_set_view(self, NULL);
  g_clear_object(&self->texture);
  g_clear_object(&self->overlay);
  G_OBJECT_CLASS(agfas_canvas_parent_class)->dispose(object);
}

static void agfas_canvas_class_init(AgfasCanvasClass *klass)
{
  GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
  G_OBJECT_CLASS(klass)->dispose = agfas_canvas_dispose;
  wc->get_request_mode = agfas_canvas_get_request_mode;
  wc->measure = agfas_canvas_measure;
  wc->snapshot = agfas_canvas_snapshot;
  gtk_widget_class_set_css_name(wc, "agfas-canvas");
  gtk_widget_class_set_accessible_role(wc, GTK_ACCESSIBLE_ROLE_IMG);
}

static void agfas_canvas_init(AgfasCanvas *self)
{
  GtkWidget *w = GTK_WIDGET(self);
  gtk_widget_set_hexpand(w, TRUE);
  gtk_widget_set_vexpand(w, TRUE);
  gtk_widget_set_focusable(w, TRUE);
  gtk_widget_set_overflow(w, GTK_OVERFLOW_HIDDEN);
  GtkEventController *motion = gtk_event_controller_motion_new();
  g_signal_connect(motion, "motion", G_CALLBACK(on_motion), self);
  g_signal_connect(motion, "leave", G_CALLBACK(on_leave), self);
  gtk_widget_add_controller(w, motion);
  GtkEventController *scroll = gtk_event_controller_scroll_new(
    GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES |
    GTK_EVENT_CONTROLLER_SCROLL_DISCRETE);
  g_signal_connect(scroll, "scroll", G_CALLBACK(on_scroll), self);
  gtk_widget_add_controller(w, scroll);
  GtkGesture *drag = gtk_gesture_drag_new();
  g_signal_connect(drag, "drag-begin", G_CALLBACK(on_drag_begin), self);
  g_signal_connect(drag, "drag-update", G_CALLBACK(on_drag_update), self);
  gtk_widget_add_controller(w, GTK_EVENT_CONTROLLER(drag));
  GtkGesture *pinch = gtk_gesture_zoom_new();
  g_signal_connect(pinch, "begin", G_CALLBACK(on_pinch_begin), self);
  g_signal_connect(pinch, "scale-changed", G_CALLBACK(on_pinch), self);
  gtk_widget_add_controller(w, GTK_EVENT_CONTROLLER(pinch));
  GtkGesture *click = gtk_gesture_click_new();
  g_signal_connect(click, "pressed", G_CALLBACK(on_click), self);
  gtk_widget_add_controller(w, GTK_EVENT_CONTROLLER(click));
  gtk_widget_set_tooltip_text(
    w, "Ctrl+wheel or pinch to zoom, drag to pan, double-click or 0 to fit, "
       "1 for 100 %");
}

GtkWidget *agfas_canvas_new(void)
{
  return g_object_new(AGFAS_TYPE_CANVAS, NULL);
}

void agfas_canvas_set_texture(AgfasCanvas *self, GdkTexture *texture)
{
  g_return_if_fail(AGFAS_IS_CANVAS(self));
  g_set_object(&self->texture, texture);
  if (!texture) {
    self->has_face = FALSE;
    g_clear_object(&self->overlay);
  }
  gtk_widget_queue_resize(GTK_WIDGET(self));
}

gboolean agfas_canvas_get_face(AgfasCanvas *self, float box[4],
                               float landmarks[AGF_FACE_N_LANDMARKS][2])
{
  g_return_val_if_fail(AGFAS_IS_CANVAS(self), FALSE);
  if (self->has_face && box)
    memcpy(box, self->box, sizeof self->box);
  if (self->has_face && landmarks)
    memcpy(landmarks, self->landmarks, sizeof self->landmarks);
  return self->has_face;
}

GdkTexture *agfas_canvas_get_texture(AgfasCanvas *self)
{
  g_return_val_if_fail(AGFAS_IS_CANVAS(self), NULL);
  return self->texture;
}

void agfas_canvas_set_face(AgfasCanvas *self, const float box[4],
                           const float landmarks[AGF_FACE_N_LANDMARKS][2])
{
  g_return_if_fail(AGFAS_IS_CANVAS(self));
  self->has_face = box != NULL;
  if (box) {
    memcpy(self->box, box, sizeof self->box);
    memcpy(self->landmarks, landmarks, sizeof self->landmarks);
  }
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

void agfas_canvas_set_view(AgfasCanvas *self, AgfasView *view)
{
  g_return_if_fail(AGFAS_IS_CANVAS(self));
  if (self->view == view)
    return;
  if (self->view)
    g_signal_handlers_disconnect_by_data(self->view, self);
  g_set_object(&self->view, view);
  if (view) {
    g_signal_connect_swapped(view, "changed",
                             G_CALLBACK(gtk_widget_queue_draw), self);
    g_signal_connect_swapped(view, "hover-changed",
                             G_CALLBACK(gtk_widget_queue_draw), self);
  }
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

void agfas_canvas_set_face_map(AgfasCanvas *self, const double m[2][3])
{
  g_return_if_fail(AGFAS_IS_CANVAS(self));
  self->has_face_map = m != NULL;
  if (m)
    memcpy(self->face_map, m, sizeof self->face_map);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

void agfas_canvas_set_overlay(AgfasCanvas *self, GdkTexture *face_texture,
                              double opacity)
{
  g_return_if_fail(AGFAS_IS_CANVAS(self));
  g_set_object(&self->overlay, face_texture);
  self->overlay_opacity = CLAMP(opacity, 0, 1);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

GdkTexture *agfas_canvas_get_overlay(AgfasCanvas *self, double *opacity)
{
  g_return_val_if_fail(AGFAS_IS_CANVAS(self), NULL);
  if (opacity)
    *opacity = self->overlay_opacity;
  return self->overlay_opacity > 0 ? self->overlay : NULL;
}
