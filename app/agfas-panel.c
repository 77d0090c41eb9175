/* See agfas-panel.h. */
#include "agfas-panel.h"

struct _AgfasPanel {
  GtkWidget parent_instance;
  GtkLabel *title_label;
  AgfasCanvas *canvas;
  GtkLabel *note_label;
};

G_DEFINE_FINAL_TYPE(AgfasPanel, agfas_panel, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_TITLE, N_PROPS };
static GParamSpec *props[N_PROPS];

static void agfas_panel_get_property(GObject *object, guint id, GValue *value,
                                     GParamSpec *pspec)
{
  AgfasPanel *self = AGFAS_PANEL(object);
  if (id == PROP_TITLE)
    g_value_set_string(value, agfas_panel_get_title(self));
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
}

static void agfas_panel_set_property(GObject *object, guint id,
                                     const GValue *value, GParamSpec *pspec)
{
  AgfasPanel *self = AGFAS_PANEL(object);
  if (id == PROP_TITLE)
    agfas_panel_set_title(self, g_value_get_string(value));
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
}

static void agfas_panel_dispose(GObject *object)
{
  gtk_widget_dispose_template(GTK_WIDGET(object), AGFAS_TYPE_PANEL);
  G_OBJECT_CLASS(agfas_panel_parent_class)->dispose(object);
}

static void agfas_panel_class_init(AgfasPanelClass *klass)
{
  GObjectClass *oc = G_OBJECT_CLASS(klass);
  GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
  oc->get_property = agfas_panel_get_property;
  oc->set_property = agfas_panel_set_property;
  oc->dispose = agfas_panel_dispose;
  props[PROP_TITLE] = g_param_spec_string("title", NULL, NULL, NULL,
                                          G_PARAM_READWRITE |
                                          G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(oc, N_PROPS, props);
  g_type_ensure(AGFAS_TYPE_CANVAS);
  gtk_widget_class_set_template_from_resource(
    wc, "/io/github/agfas/Studio/ui/agfas-panel.ui");
  gtk_widget_class_bind_template_child(wc, AgfasPanel, title_label);
  gtk_widget_class_bind_template_child(wc, AgfasPanel, canvas);
  gtk_widget_class_bind_template_child(wc, AgfasPanel, note_label);
  gtk_widget_class_set_layout_manager_type(wc, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name(wc, "agfas-panel");
}

static void agfas_panel_init(AgfasPanel *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  GtkLayoutManager *lm = gtk_widget_get_layout_manager(GTK_WIDGET(self));
  gtk_orientable_set_orientation(GTK_ORIENTABLE(lm), GTK_ORIENTATION_VERTICAL);
  gtk_box_layout_set_spacing(GTK_BOX_LAYOUT(lm), 6);
}

void agfas_panel_set_title(AgfasPanel *self, const char *title)
{
  g_return_if_fail(AGFAS_IS_PANEL(self));
  gtk_label_set_text(self->title_label, title ? title : "");
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_TITLE]);
}

const char *agfas_panel_get_title(AgfasPanel *self)
{
  g_return_val_if_fail(AGFAS_IS_PANEL(self), NULL);
  return gtk_label_get_text(self->title_label);
}

AgfasCanvas *agfas_panel_get_canvas(AgfasPanel *self)
{
  g_return_val_if_fail(AGFAS_IS_PANEL(self), NULL);
  return self->canvas;
}

void agfas_panel_show(AgfasPanel *self, GdkTexture *texture, const char *note)
{
  g_return_if_fail(AGFAS_IS_PANEL(self));
  agfas_canvas_set_texture(self->canvas, texture);
  gtk_label_set_text(self->note_label, note ? note : "");
  gtk_widget_set_visible(GTK_WIDGET(self->note_label), note != NULL);
}

const char *agfas_panel_get_note(AgfasPanel *self)
{
  g_return_val_if_fail(AGFAS_IS_PANEL(self), NULL);
  return gtk_widget_get_visible(GTK_WIDGET(self->note_label))
           ? gtk_label_get_text(self->note_label) : NULL;
}
