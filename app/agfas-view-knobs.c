/* See agfas-view-knobs.h. */
#include "agfas-view-knobs.h"

struct _AgfasViewKnobs {
  GtkWidget parent_instance;
  GtkSwitch *overlay_switch;
  GtkScale *opacity_scale;
  GtkLabel *times[AGFAS_STAGE_COUNT];
  GtkLabel *total;
};

G_DEFINE_FINAL_TYPE(AgfasViewKnobs, agfas_view_knobs, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_OVERLAY, PROP_OPACITY, N_PROPS };
static GParamSpec *props[N_PROPS];

static void agfas_view_knobs_get_property(GObject *object, guint id,
                                          GValue *value, GParamSpec *pspec)
{
  AgfasViewKnobs *self = AGFAS_VIEW_KNOBS(object);
  if (id == PROP_OVERLAY)
    g_value_set_boolean(value, agfas_view_knobs_get_overlay(self));
  else if (id == PROP_OPACITY)
    g_value_set_double(value, agfas_view_knobs_get_opacity(self));
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
}

static void agfas_view_knobs_set_property(GObject *object, guint id,
                                          const GValue *value,
                                          GParamSpec *pspec)
{
  AgfasViewKnobs *self = AGFAS_VIEW_KNOBS(object);
  if (id == PROP_OVERLAY)
    agfas_view_knobs_set_overlay(self, g_value_get_boolean(value));
  else if (id == PROP_OPACITY)
    agfas_view_knobs_set_opacity(self, g_value_get_double(value));
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
}

static void agfas_view_knobs_dispose(GObject *object)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child(GTK_WIDGET(object))))
    gtk_widget_unparent(child);
  G_OBJECT_CLASS(agfas_view_knobs_parent_class)->dispose(object);
}

static void agfas_view_knobs_class_init(AgfasViewKnobsClass *klass)
{
  GObjectClass *oc = G_OBJECT_CLASS(klass);
  oc->get_property = agfas_view_knobs_get_property;
  oc->set_property = agfas_view_knobs_set_property;
  oc->dispose = agfas_view_knobs_dispose;
  props[PROP_OVERLAY] = g_param_spec_boolean(
    "overlay", NULL, NULL, FALSE,
    G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_OPACITY] = g_param_spec_double(
    "overlay-opacity", NULL, NULL, 0, 1, 0.5,
    G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(oc, N_PROPS, props);
  gtk_widget_class_set_layout_manager_type(GTK_WIDGET_CLASS(klass),
                                           GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name(GTK_WIDGET_CLASS(klass), "agfas-view-knobs");
}

static GtkWidget *label(const char *text, float xalign, const char *css)
{
  GtkWidget *l = gtk_label_new(text);
  gtk_label_set_xalign(GTK_LABEL(l), xalign);
  if (css)
    gtk_widget_add_css_class(l, css);
  return l;
}

static void on_overlay(AgfasViewKnobs *self)
{
  gtk_widget_set_sensitive(GTK_WIDGET(self->opacity_scale),
                           gtk_switch_get_active(self->overlay_switch));
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_OVERLAY]);
}

static void on_opacity(AgfasViewKnobs *self)
{
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_OPACITY]);
}

static void agfas_view_knobs_init(AgfasViewKnobs *self)
{
  GtkWidget *w = GTK_WIDGET(self);
  GtkLayoutManager *lm = gtk_widget_get_layout_manager(w);
  gtk_orientable_set_orientation(GTK_ORIENTABLE(lm), GTK_ORIENTATION_VERTICAL);
  gtk_box_layout_set_spacing(GTK_BOX_LAYOUT(lm), 6);

  GtkWidget *heading = label("View", 0, "heading");
  gtk_widget_set_margin_top(heading, 12);
  gtk_widget_set_parent(heading, w);
  GtkWidget *row = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *name = label("Heatmap on input", 0, NULL);
  gtk_widget_set_hexpand(name, TRUE);
  gtk_box_append(GTK_BOX(row), name);
  self->overlay_switch = GTK_SWITCH(gtk_switch_new());
  gtk_widget_set_tooltip_text(GTK_WIDGET(self->overlay_switch),
                              "Blend the residual heatmap over the input's "
                              "face (H)");
  gtk_box_append(GTK_BOX(row), GTK_WIDGET(self->overlay_switch));
  gtk_widget_set_parent(row, w);
  gtk_widget_set_parent(label("Overlay opacity", 0, NULL), w);
  self->opacity_scale = GTK_SCALE(
    gtk_scale_new_with_range(GTK_ORIENTATION_HORIZONTAL, 0, 1, 0.05));
  gtk_range_set_value(GTK_RANGE(self->opacity_scale), 0.5);
  gtk_scale_set_digits(self->opacity_scale, 2);
  gtk_scale_set_draw_value(self->opacity_scale, TRUE);
  gtk_widget_set_sensitive(GTK_WIDGET(self->opacity_scale), FALSE);
  gtk_widget_set_tooltip_text(GTK_WIDGET(self->opacity_scale),
                              "How strongly the heatmap covers the input");
  gtk_widget_set_parent(GTK_WIDGET(self->opacity_scale), w);
  g_signal_connect_swapped(self->overlay_switch, "notify::active",
                           G_CALLBACK(on_overlay), self);
  g_signal_connect_swapped(self->opacity_scale, "value-changed",
                           G_CALLBACK(on_opacity), self);

  GtkWidget *timing = label("Last run", 0, "heading");
  gtk_widget_set_margin_top(timing, 12);
  gtk_widget_set_parent(timing, w);
  GtkWidget *grid = gtk_grid_new();
  gtk_grid_set_column_spacing(GTK_GRID(grid), 12);
  gtk_widget_set_tooltip_text(grid, "Wall time of each stage of the last "
                                    "analysis, the device synchronised at "
                                    "each stage's end");
  for (int i = 0; i <= AGFAS_STAGE_COUNT; i++) {
    GtkWidget *n = label(i < AGFAS_STAGE_COUNT ? agfas_stage_title(i)
                                               : "Total", 0, "caption");
    GtkWidget *v = label("—", 1, "caption");
    gtk_widget_add_css_class(v, "numeric");
    gtk_widget_set_hexpand(v, TRUE);
    gtk_grid_attach(GTK_GRID(grid), n, 0, i, 1, 1);
    gtk_grid_attach(GTK_GRID(grid), v, 1, i, 1, 1);
    if (i < AGFAS_STAGE_COUNT)
      self->times[i] = GTK_LABEL(v);
    else
      self->total = GTK_LABEL(v);
  }
  gtk_widget_set_parent(grid, w);
}

gboolean agfas_view_knobs_get_overlay(AgfasViewKnobs *self)
{
  g_return_val_if_fail(AGFAS_IS_VIEW_KNOBS(self), FALSE);
  return gtk_switch_get_active(self->overlay_switch);
}

void agfas_view_knobs_set_overlay(AgfasViewKnobs *self, gboolean on)
{
  g_return_if_fail(AGFAS_IS_VIEW_KNOBS(self));
  gtk_switch_set_active(self->overlay_switch, on);
}

double agfas_view_knobs_get_opacity(AgfasViewKnobs *self)
{
  g_return_val_if_fail(AGFAS_IS_VIEW_KNOBS(self), 0);
  return gtk_range_get_value(GTK_RANGE(self->opacity_scale));
}

void agfas_view_knobs_set_opacity(AgfasViewKnobs *self, double opacity)
{
  g_return_if_fail(AGFAS_IS_VIEW_KNOBS(self));
  gtk_range_set_value(GTK_RANGE(self->opacity_scale), opacity);
}

void agfas_view_knobs_set_timing(AgfasViewKnobs *self,
                                 const AgfasAnalysisResult *r)
{
  g_return_if_fail(AGFAS_IS_VIEW_KNOBS(self));
  for (int i = 0; i < AGFAS_STAGE_COUNT; i++) {
    g_autofree char *t = NULL;
    if (r && r->stage_s[i] >= 0)
      t = i == AGFAS_STAGE_DENOISE
            ? g_strdup_printf("%.3f s (%d calls)", r->stage_s[i], r->n_calls)
            : g_strdup_printf("%.3f s", r->stage_s[i]);
    gtk_label_set_text(self->times[i], t ? t : "—");
  }
  g_autofree char *total = r ? g_strdup_printf("%.3f s", r->seconds) : NULL;
  gtk_label_set_text(self->total, total ? total : "—");
}

const char *agfas_view_knobs_get_timing_text(AgfasViewKnobs *self,
                                             AgfasStage s)
{
  g_return_val_if_fail(AGFAS_IS_VIEW_KNOBS(self) && s < AGFAS_STAGE_COUNT,
                       NULL);
  return gtk_label_get_text(self->times[s]);
}
