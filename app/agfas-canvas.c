/* See agfas-canvas.h. */
#include "agfas-canvas.h"

#include <string.h>

struct _AgfasCanvas {
  GtkWidget parent_instance;
  GdkTexture *texture;
  gboolean has_face;
  float box[4];
  float landmarks[AGF_FACE_N_LANDMARKS][2];
};

G_DEFINE_FINAL_TYPE(AgfasCanvas, agfas_canvas, GTK_TYPE_WIDGET)

enum { MIN_SIDE = 120, NATURAL_SIDE = 180 };

/* Height for width at the texture's aspect (square when empty), so stacked
 * panels on a narrow window get the full width. */
static GtkSizeRequestMode agfas_canvas_get_request_mode(GtkWidget *widget)
{
  (void)widget;
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void agfas_canvas_measure(GtkWidget *widget, GtkOrientation o,
                                 int for_size, int *min, int *nat,
                                 int *min_base, int *nat_base)
{
  AgfasCanvas *self = AGFAS_CANVAS(widget);
  *min_base = *nat_base = -1;
  if (o == GTK_ORIENTATION_HORIZONTAL || for_size < 0) {
    *min = MIN_SIDE;
    *nat = NATURAL_SIDE;
    return;
  }
  double aspect = 1;
  if (self->texture)
    aspect = (double)gdk_texture_get_height(self->texture) /
             gdk_texture_get_width(self->texture);
  *min = *nat = MAX(MIN_SIDE / 2, (int)(for_size * aspect));
}

static void draw_overlay(AgfasCanvas *self, GtkSnapshot *s, float ox,
                         float oy, float scale)
{
  /* Thin lines in the app's accent green, readable on skin and background. */
  static const GdkRGBA box_col = { 0.2f, 0.9f, 0.4f, 1 };
  static const GdkRGBA lm_col = { 1.0f, 0.3f, 0.3f, 1 };
  float x1 = ox + self->box[0] * scale, y1 = oy + self->box[1] * scale;
  float w = (self->box[2] - self->box[0] + 1) * scale;
  float h = (self->box[3] - self->box[1] + 1) * scale;
  GskRoundedRect rr;
  gsk_rounded_rect_init_from_rect(&rr, &GRAPHENE_RECT_INIT(x1, y1, w, h), 0);
  const float widths[4] = { 2, 2, 2, 2 };
  const GdkRGBA cols[4] = { box_col, box_col, box_col, box_col };
  gtk_snapshot_append_border(s, &rr, widths, cols);
  for (int i = 0; i < AGF_FACE_N_LANDMARKS; i++) {
    float cx = ox + self->landmarks[i][0] * scale;
    float cy = oy + self->landmarks[i][1] * scale;
    gtk_snapshot_append_color(s, &lm_col,
                              &GRAPHENE_RECT_INIT(cx - 3, cy - 3, 6, 6));
  }
}

static void agfas_canvas_snapshot(GtkWidget *widget, GtkSnapshot *s)
{
  AgfasCanvas *self = AGFAS_CANVAS(widget);
  if (!self->texture)
    return;
  float ww = gtk_widget_get_width(widget), wh = gtk_widget_get_height(widget);
  float tw = gdk_texture_get_width(self->texture);
  float th = gdk_texture_get_height(self->texture);
  float scale = MIN(ww / tw, wh / th);
  float dw = tw * scale, dh = th * scale;
  float ox = (ww - dw) / 2, oy = (wh - dh) / 2;
  gtk_snapshot_append_texture(s, self->texture,
                              &GRAPHENE_RECT_INIT(ox, oy, dw, dh));
  if (self->has_face)
    draw_overlay(self, s, ox, oy, scale);
}

static void agfas_canvas_dispose(GObject *object)
{
  g_clear_object(&AGFAS_CANVAS(object)->texture);
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
  gtk_widget_set_hexpand(GTK_WIDGET(self), TRUE);
  gtk_widget_set_vexpand(GTK_WIDGET(self), TRUE);
}

GtkWidget *agfas_canvas_new(void)
{
  return g_object_new(AGFAS_TYPE_CANVAS, NULL);
}

void agfas_canvas_set_texture(AgfasCanvas *self, GdkTexture *texture)
{
  g_return_if_fail(AGFAS_IS_CANVAS(self));
  g_set_object(&self->texture, texture);
  if (!texture)
    self->has_face = FALSE;
  gtk_widget_queue_resize(GTK_WIDGET(self));
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
