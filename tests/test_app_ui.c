/* UI test of the agfas app, in process under Xvfb (see meson.build): opens
 * a generated image with tiny random models, waits for the analysis
 * through the main loop, checks the panels and the score, changes knobs
 * (each re-run cancels the previous one), switches device without an
 * OA-Net installed, toggles presentation mode, checks the knobs were saved
 * to the preferences file (XDG_CONFIG_HOME is a temporary folder, see
 * run_under_xvfb.sh), and saves screenshots (G_TEST_BUILDDIR/app-ui-*.png:
 * welcome, analysis, present, narrow, no-oanet) as artifacts. */
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <string.h>

#include "agfas-application.h"
#include "agfas-settings.h"
#include "app_support.h"
#include "io/image.h"

typedef struct {
  char *root;
  AgfasApplication *app;
  AgfasWindow *win;
} Fixture;

static void assert_panels(AgfasWindow *win)
{
  for (int i = 0; i < AGFAS_N_PANELS; i++) {
    AgfasPanel *p = agfas_window_get_panel(win, i);
    GdkTexture *t = agfas_canvas_get_texture(agfas_panel_get_canvas(p));
    g_assert_nonnull(t);
    g_assert_cmpint(gdk_texture_get_width(t), >, 0);
  }
}

static void test_analysis(void)
{
  GError *error = NULL;
  Fixture f = { 0 };
  f.root = g_dir_make_tmp("agfas-ui-XXXXXX", &error);
  g_assert_no_error(error);
  app_test_write_models(f.root, TRUE);
  g_setenv("AGFAS_MODELS_DIR", f.root, TRUE);
  g_autofree char *png = g_build_filename(f.root, "face.png", NULL);
  app_test_write_image(png, 320, 240);

  f.app = agfas_application_new(G_APPLICATION_NON_UNIQUE);
  g_assert_true(g_application_register(G_APPLICATION(f.app), NULL, &error));
  g_assert_no_error(error);
  g_application_hold(G_APPLICATION(f.app));

  /* The welcome page first. */
  g_application_activate(G_APPLICATION(f.app));
  f.win = agfas_application_get_window(f.app);
  g_assert_cmpint(agfas_window_get_state(f.win), ==, AGFAS_WINDOW_EMPTY);
  app_test_settle(200);
  app_test_save_screenshot(GTK_WIDGET(f.win), "app-ui-welcome.png");

  /* `agfas FILE` goes through GApplication::open. */
  g_autoptr(GFile) file = g_file_new_for_path(png);
  g_application_open(G_APPLICATION(f.app), &file, 1, "");
  g_assert_true(agfas_application_get_window(f.app) == f.win);
  g_assert_cmpint(agfas_window_get_state(f.win), ==, AGFAS_WINDOW_RUNNING);
  app_test_wait_runs(f.win, 1, 300);
  g_assert_cmpint(agfas_window_get_state(f.win), ==, AGFAS_WINDOW_DONE);
  assert_panels(f.win);
  g_assert_nonnull(strstr(agfas_window_get_score_text(f.win),
                          "Spoof probability"));
  g_test_message("status: %s", agfas_window_get_status_text(f.win));

  /* win.export's step: the composed PNG, the panels and the cue tensors. */
  g_assert_true(g_action_group_get_action_enabled(G_ACTION_GROUP(f.win),
                                                  "export"));
  g_autofree char *out_dir = g_build_filename(f.root, "export", NULL);
  g_assert_cmpint(g_mkdir_with_parents(out_dir, 0755), ==, 0);
  g_autofree char *out_png = g_build_filename(out_dir, "face.png", NULL);
  g_assert_true(agfas_window_export_to(f.win, out_png, &error));
  g_assert_no_error(error);
  g_autoptr(AgfImage) composed = agf_image_load(out_png, &error);
  g_assert_no_error(error);
  g_assert_nonnull(composed);
  g_assert_cmpint(composed->height, >, 0);
  g_assert_cmpint(composed->width, >, composed->height);
  g_autofree char *cues = g_build_filename(out_dir, "face-cues.safetensors",
                                           NULL);
  g_assert_true(g_file_test(cues, G_FILE_TEST_IS_REGULAR));
  g_autofree char *input_png = g_build_filename(out_dir, "face-input.png",
                                                NULL);
  g_assert_true(g_file_test(input_png, G_FILE_TEST_IS_REGULAR));

  /* Two knob changes in a row: the first run is cancelled, the second
   * one's result is shown. */
  guint before = agfas_window_get_runs_finished(f.win);
  AgfasPanel *heat = agfas_window_get_panel(f.win, AGFAS_PANEL_HEAT);
  GdkTexture *old_heat = agfas_canvas_get_texture(agfas_panel_get_canvas(heat));
  g_object_ref(old_heat);
  GtkDropDown *cmap = GTK_DROP_DOWN(
    gtk_widget_get_template_child(GTK_WIDGET(f.win), AGFAS_TYPE_WINDOW,
                                  "cmap_dropdown"));
  GtkSwitch *mask = GTK_SWITCH(gtk_widget_get_template_child(
    GTK_WIDGET(f.win), AGFAS_TYPE_WINDOW, "mask_switch"));
  gtk_drop_down_set_selected(cmap, 2); /* turbo */
  gtk_switch_set_active(mask, FALSE);
  app_test_wait_runs(f.win, before + 1, 300);
  g_assert_cmpint(agfas_window_get_runs_finished(f.win), ==, before + 1);
  g_assert_cmpint(agfas_window_get_state(f.win), ==, AGFAS_WINDOW_DONE);
  assert_panels(f.win);
  g_assert_true(agfas_canvas_get_texture(agfas_panel_get_canvas(heat))
                != old_heat);
  g_object_unref(old_heat);

  gtk_drop_down_set_selected(cmap, 1); /* inferno, the default look */
  gtk_switch_set_active(mask, TRUE);
  app_test_wait_runs(f.win, before + 2, 300);
  app_test_settle(300);
  app_test_save_screenshot(GTK_WIDGET(f.win), "app-ui-analysis.png");

  /* The knob changes were saved as preferences. */
  g_autofree char *ini = agfas_settings_default_path();
  g_assert_true(g_file_test(ini, G_FILE_TEST_IS_REGULAR));
  AgfasSettings saved;
  agfas_settings_init(&saved);
  agfas_settings_load(&saved, ini);
  g_assert_cmpstr(saved.colormap, ==, "inferno");
  g_assert_true(saved.mask);
  agfas_settings_clear(&saved);

  /* Presentation mode (F5): full screen, no header bar or knobs, the four
   * panels in one row and the verdict in large type. */
  GtkWidget *knobs = (GtkWidget *)gtk_widget_get_template_child(
    GTK_WIDGET(f.win), AGFAS_TYPE_WINDOW, "knobs_pane");
  GtkWidget *verdict = (GtkWidget *)gtk_widget_get_template_child(
    GTK_WIDGET(f.win), AGFAS_TYPE_WINDOW, "verdict_label");
  GtkWidget *header = gtk_window_get_titlebar(GTK_WINDOW(f.win));
  g_assert_false(agfas_window_get_presenting(f.win));
  g_assert_false(gtk_widget_get_visible(verdict));
  g_action_group_activate_action(G_ACTION_GROUP(f.win), "present", NULL);
  g_assert_true(agfas_window_get_presenting(f.win));
  g_autoptr(GVariant) on = g_action_group_get_action_state(
    G_ACTION_GROUP(f.win), "present");
  g_assert_true(g_variant_get_boolean(on));
  g_assert_false(gtk_widget_get_visible(knobs));
  g_assert_false(gtk_widget_get_visible(header));
  g_assert_true(gtk_widget_get_visible(verdict));
  g_assert_true(gtk_widget_has_css_class(GTK_WIDGET(f.win), "presenting"));
  const char *v = gtk_label_get_text(GTK_LABEL(verdict));
  g_assert_true(g_str_equal(v, "LIVE") || g_str_equal(v, "SPOOF"));
  g_assert_true(gtk_widget_has_css_class(verdict, g_str_equal(v, "LIVE")
                                                    ? "live" : "spoof"));
  app_test_settle(800);
  /* Without a window manager, X11 may not grant the request. */
  g_test_message("fullscreen granted: %d",
                 gtk_window_is_fullscreen(GTK_WINDOW(f.win)));
  app_test_save_screenshot(GTK_WIDGET(f.win), "app-ui-present.png");

  /* Leaving it (Esc, or the action again) restores the chrome. */
  g_action_group_change_action_state(G_ACTION_GROUP(f.win), "present",
                                     g_variant_new_boolean(FALSE));
  g_assert_false(agfas_window_get_presenting(f.win));
  g_assert_true(gtk_widget_get_visible(knobs));
  g_assert_true(gtk_widget_get_visible(header));
  g_assert_false(gtk_widget_get_visible(verdict));
  app_test_settle(300);

  /* Narrow window: the panels wrap instead of overflowing. */
  gtk_window_set_default_size(GTK_WINDOW(f.win), 700, 900);
  app_test_settle(500);
  app_test_save_screenshot(GTK_WIDGET(f.win), "app-ui-narrow.png");

  /* Without an OA-Net the score line says so and how to get one; every
   * panel still has its image. Picking another device reloads the
   * networks. */
  g_autofree char *oanet = g_build_filename(f.root, "oanet.safetensors", NULL);
  g_assert_cmpint(g_remove(oanet), ==, 0);
  GtkDropDown *device = GTK_DROP_DOWN(gtk_widget_get_template_child(
    GTK_WIDGET(f.win), AGFAS_TYPE_WINDOW, "device_dropdown"));
  g_assert_cmpuint(g_list_model_get_n_items(gtk_drop_down_get_model(device)),
                   >=, 2);
  gtk_drop_down_set_selected(device, 1); /* the CPU backend, explicitly */
  app_test_wait_runs(f.win, before + 3, 300);
  g_assert_cmpint(agfas_window_get_state(f.win), ==, AGFAS_WINDOW_DONE);
  assert_panels(f.win);
  const char *score = agfas_window_get_score_text(f.win);
  g_assert_nonnull(strstr(score, "No OA-Net installed"));
  g_assert_nonnull(strstr(score, "agfas-train import"));
  app_test_settle(300);
  app_test_save_screenshot(GTK_WIDGET(f.win), "app-ui-no-oanet.png");

  g_action_group_activate_action(G_ACTION_GROUP(f.app), "quit", NULL);
  g_application_release(G_APPLICATION(f.app));
  app_test_settle(100);
  g_object_unref(f.app);
  g_unsetenv("AGFAS_MODELS_DIR");
  app_test_remove_tree(f.root);
  g_free(f.root);
}

int main(int argc, char **argv)
{
  gtk_test_init(&argc, &argv, NULL);
  g_test_add_func("/app/ui/analysis", test_analysis);
  return g_test_run();
}
