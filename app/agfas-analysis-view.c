/* See agfas-analysis-view.h. */
#include "agfas-analysis-view.h"

#include "agfas-hover.h"

#define KEY_ZOOM 1.5

struct AgfasAnalysisView {
  GtkApplicationWindow *window;  /* not a ref: the window owns this */
  AgfasPanel *panels[4];
  AgfasViewKnobs *knobs;
  GtkLabel *hover_label;
  AgfasView *view;
  const AgfasAnalysisResult *result;
  GdkTexture *heat;              /* the result's heatmap, for the overlay */
};

static AgfasCanvas *canvas(AgfasAnalysisView *v, int i)
{
  return agfas_panel_get_canvas(v->panels[i]);
}

static void update_overlay(AgfasAnalysisView *v)
{
  gboolean on = agfas_view_knobs_get_overlay(v->knobs);
  agfas_canvas_set_overlay(canvas(v, 0), on ? v->heat : NULL,
                           on ? agfas_view_knobs_get_opacity(v->knobs) : 0);
  GAction *a = g_action_map_lookup_action(G_ACTION_MAP(v->window), "overlay");
  if (a)
    g_simple_action_set_state(G_SIMPLE_ACTION(a), g_variant_new_boolean(on));
}

static void update_hover(AgfasAnalysisView *v)
{
  double fx, fy;
  if (!v->result || !agfas_view_get_hover(v->view, &fx, &fy)) {
    gtk_label_set_text(v->hover_label, "");
    return;
  }
  AgfasHoverValues hv;
  agfas_hover_sample(v->result, fx, fy, &hv);
  g_autofree char *text = agfas_hover_format(&hv);
  gtk_label_set_text(v->hover_label, text);
}

/* Zooms about the centre of the reconstruction panel's view. */
static void zoom_centre(AgfasAnalysisView *v, double zoom)
{
  AgfasCanvas *c = canvas(v, 1);
  double gx = AGF_FACE_ALIGN_SIZE / 2.0, gy = gx;
  agfas_canvas_widget_to_fitted(c, gtk_widget_get_width(GTK_WIDGET(c)) / 2.0,
                                gtk_widget_get_height(GTK_WIDGET(c)) / 2.0,
                                &gx, &gy);
  agfas_view_zoom_at(v->view, gx, gy, zoom);
}

static void on_zoom(GSimpleAction *action, GVariant *param, gpointer data)
{
  (void)param;
  AgfasAnalysisView *v = data;
  const char *name = g_action_get_name(G_ACTION(action));
  double z = agfas_view_get_zoom(v->view);
  if (g_str_equal(name, "zoom-fit")) {
    agfas_view_fit(v->view);
  } else if (g_str_equal(name, "zoom-100")) {
    /* One texture pixel of the face panels per screen pixel. */
    double s = agfas_canvas_get_fit_scale(canvas(v, 1));
    if (s > 0)
      zoom_centre(v, 1 / s);
  } else {
    zoom_centre(v, g_str_equal(name, "zoom-in") ? z * KEY_ZOOM : z / KEY_ZOOM);
  }
}

static void on_overlay_change(GSimpleAction *action, GVariant *value,
                              gpointer data)
{
  (void)action;
  AgfasAnalysisView *v = data;
  agfas_view_knobs_set_overlay(v->knobs, g_variant_get_boolean(value));
}

static void add_key(GtkShortcutController *sc, guint key, const char *action)
{
  gtk_shortcut_controller_add_shortcut(
    sc, gtk_shortcut_new(gtk_keyval_trigger_new(key, 0),
                         gtk_named_action_new(action)));
}

AgfasAnalysisView *agfas_analysis_view_new(GtkApplicationWindow *window,
                                           AgfasPanel *const panels[4],
                                           AgfasViewKnobs *knobs,
                                           GtkLabel *hover_label)
{
  AgfasAnalysisView *v = g_new0(AgfasAnalysisView, 1);
  v->window = window;
  for (int i = 0; i < 4; i++)
    v->panels[i] = panels[i];
  v->knobs = knobs;
  v->hover_label = hover_label;
  v->view = agfas_view_new();
  for (int i = 0; i < 4; i++)
    agfas_canvas_set_view(canvas(v, i), v->view);
  g_signal_connect_swapped(v->view, "hover-changed", G_CALLBACK(update_hover),
                           v);
  g_signal_connect_swapped(knobs, "notify::overlay",
                           G_CALLBACK(update_overlay), v);
  g_signal_connect_swapped(knobs, "notify::overlay-opacity",
                           G_CALLBACK(update_overlay), v);
  const GActionEntry entries[] = {
    { .name = "zoom-fit", .activate = on_zoom },
    { .name = "zoom-100", .activate = on_zoom },
    { .name = "zoom-in", .activate = on_zoom },
    { .name = "zoom-out", .activate = on_zoom },
    { .name = "overlay", .state = "false", .change_state = on_overlay_change },
  };
  g_action_map_add_action_entries(G_ACTION_MAP(window), entries,
                                  G_N_ELEMENTS(entries), v);
  /* Plain keys, in the bubble phase: a focused text field (the seed spin
   * button) gets its digits first. */
  GtkEventController *keys = gtk_shortcut_controller_new();
  GtkShortcutController *sc = GTK_SHORTCUT_CONTROLLER(keys);
  add_key(sc, GDK_KEY_0, "win.zoom-fit");
  add_key(sc, GDK_KEY_KP_0, "win.zoom-fit");
  add_key(sc, GDK_KEY_1, "win.zoom-100");
  add_key(sc, GDK_KEY_KP_1, "win.zoom-100");
  add_key(sc, GDK_KEY_plus, "win.zoom-in");
  add_key(sc, GDK_KEY_equal, "win.zoom-in");
  add_key(sc, GDK_KEY_KP_Add, "win.zoom-in");
  add_key(sc, GDK_KEY_minus, "win.zoom-out");
  add_key(sc, GDK_KEY_KP_Subtract, "win.zoom-out");
  add_key(sc, GDK_KEY_h, "win.overlay");
  gtk_widget_add_controller(GTK_WIDGET(window), keys);
  update_overlay(v);
  return v;
}

void agfas_analysis_view_free(AgfasAnalysisView *v)
{
  if (!v)
    return;
  g_signal_handlers_disconnect_by_data(v->knobs, v);
  g_signal_handlers_disconnect_by_data(v->view, v);
  g_clear_object(&v->view);
  g_clear_object(&v->heat);
  g_free(v);
}

void agfas_analysis_view_show(AgfasAnalysisView *v,
                              const AgfasAnalysisResult *r)
{
  v->result = r;
  g_clear_object(&v->heat);
  if (r && r->heat.rgba)
    v->heat = GDK_TEXTURE(gdk_memory_texture_new(
      r->heat.width, r->heat.height, GDK_MEMORY_R8G8B8A8, r->heat.rgba,
      (gsize)r->heat.width * 4));
  double inv[2][3];
  if (r && agf_affine_invert(r->align_fwd, inv))
    agfas_canvas_set_face_map(canvas(v, 0), inv);
  update_overlay(v);
  agfas_view_knobs_set_timing(v->knobs, r);
  update_hover(v);
}

AgfasView *agfas_analysis_view_get_view(AgfasAnalysisView *v)
{
  return v->view;
}
