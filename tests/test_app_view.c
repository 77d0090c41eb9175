/* UI test of the analysis view's inspection features, in process under
 * Xvfb: zoom and pan shared by the four panels (same face point under the
 * same place), the hover line (values of every panel at one face pixel),
 * the heatmap overlay and its saved opacity, the per-stage timing table,
 * the models popover's states and "Open Model…" detection of tiny preset
 * checkpoints. Screenshots: G_TEST_BUILDDIR/app-view-*.png. */
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "agfas-application.h"
#include "agfas-models-button.h"
#include "agfas-settings.h"
#include "agfas-view-knobs.h"
#include "app_support.h"
#include "io/safetensors.h"
#include "models/presets.h"

static gpointer child(AgfasWindow *win, const char *name)
{
  gpointer w = gtk_widget_get_template_child(GTK_WIDGET(win),
                                             AGFAS_TYPE_WINDOW, name);
  g_assert_nonnull(w);
  return w;
}

static AgfasCanvas *canvas(AgfasWindow *win, AgfasPanelKind id)
{
  return agfas_panel_get_canvas(agfas_window_get_panel(win, id));
}

/* The face point under widget point (wx, wy) of c. */
static void face_at(AgfasCanvas *c, double wx, double wy, double *fx,
                    double *fy)
{
  g_assert_true(agfas_canvas_widget_to_face(c, wx, wy, fx, fy));
}

static void check_zoom(AgfasWindow *win)
{
  AgfasCanvas *heat = canvas(win, AGFAS_PANEL_HEAT);
  AgfasCanvas *recon = canvas(win, AGFAS_PANEL_RECON);
  AgfasCanvas *input = canvas(win, AGFAS_PANEL_INPUT);
  AgfasView *view = NULL;
  double w = gtk_widget_get_width(GTK_WIDGET(heat));
  double h = gtk_widget_get_height(GTK_WIDGET(heat));
  g_assert_cmpfloat(w, >, 50);
  /* Ctrl+wheel's step: zoom x2 about a point left of centre. */
  double px = w * 0.3, py = h * 0.4, fx0, fy0, fx1, fy1;
  face_at(heat, px, py, &fx0, &fy0);
  /* Two face points 10 px apart in the input, before zooming. */
  double a0x, a0y, b0x, b0y;
  g_assert_true(agfas_canvas_face_to_widget(input, 100, 100, &a0x, &a0y));
  g_assert_true(agfas_canvas_face_to_widget(input, 110, 100, &b0x, &b0y));
  agfas_canvas_zoom_at(heat, px, py, 2);
  g_action_group_activate_action(G_ACTION_GROUP(win), "zoom-in", NULL);
  g_action_group_activate_action(G_ACTION_GROUP(win), "zoom-out", NULL);
  face_at(heat, px, py, &fx1, &fy1);
  /* The face point under the pointer stays there ... */
  g_assert_cmpfloat(fabs(fx1 - fx0) + fabs(fy1 - fy0), <, 1e-6 + 2.0);
  /* ... and every panel shows the same zoom: the reconstruction (same
   * size) the same face point at the same place, the input twice the
   * distance between two face points. */
  double rfx, rfy;
  face_at(recon, px, py, &rfx, &rfy);
  g_assert_cmpfloat(fabs(rfx - fx1) + fabs(rfy - fy1), <, 1e-6);
  double a1x, a1y, b1x, b1y;
  g_assert_true(agfas_canvas_face_to_widget(input, 100, 100, &a1x, &a1y));
  g_assert_true(agfas_canvas_face_to_widget(input, 110, 100, &b1x, &b1y));
  g_assert_cmpfloat(fabs(hypot(b1x - a1x, b1y - a1y) -
                         2 * hypot(b0x - a0x, b0y - a0y)), <, 1e-3);
  (void)view;
  /* A drag of 20 px pans every panel: the face point that was under px is
   * now 20 px to the right, in the reconstruction too. */
  agfas_canvas_pan_by(heat, 20, 0);
  double qx, qy;
  g_assert_true(agfas_canvas_face_to_widget(recon, fx1, fy1, &qx, &qy));
  g_assert_cmpfloat(fabs(qx - (px + 20)) + fabs(qy - py), <, 1e-3);
  app_test_settle(200);
  /* 1: one face pixel per screen pixel; 0: fit again. */
  g_action_group_activate_action(G_ACTION_GROUP(win), "zoom-100", NULL);
  double f1x, f1y, f2x, f2y;
  face_at(recon, w / 2, h / 2, &f1x, &f1y);
  face_at(recon, w / 2 + 10, h / 2, &f2x, &f2y);
  g_assert_cmpfloat(fabs((f2x - f1x) * gdk_texture_get_width(
                           agfas_canvas_get_texture(recon)) /
                         AGF_FACE_ALIGN_SIZE - 10), <, 1e-3);
  g_action_group_activate_action(G_ACTION_GROUP(win), "zoom-fit", NULL);
  face_at(heat, 0, 0, &fx0, &fy0);
  g_assert_cmpfloat(fabs(fx0) + fabs(fy0), <, 1e-3);
}

static void check_hover(AgfasWindow *win)
{
  GtkLabel *line = child(win, "hover_label");
  AgfasCanvas *input = canvas(win, AGFAS_PANEL_INPUT);
  GdkTexture *t = agfas_canvas_get_texture(input);
  /* The frame's centre is the generated face's skin (app_support.c). */
  double s = agfas_canvas_get_fit_scale(input);
  double w = gtk_widget_get_width(GTK_WIDGET(input));
  double h = gtk_widget_get_height(GTK_WIDGET(input));
  int tw = gdk_texture_get_width(t), th = gdk_texture_get_height(t);
  double cx = (w - tw * s) / 2 + (tw / 2 + 0.5) * s;
  double cy = (h - th * s) / 2 + (th / 2 + 0.5) * s;
  agfas_canvas_hover(input, cx, cy);
  const char *text = gtk_label_get_text(line);
  g_test_message("hover: %s", text);
  g_autofree char *want = g_strdup_printf("Input (%d, %d) RGB 224 172 140",
                                          tw / 2, th / 2);
  g_assert_nonnull(strstr(text, want));
  g_assert_nonnull(strstr(text, "Reconstruction RGB"));
  g_assert_nonnull(strstr(text, "|residual|"));
  g_assert_nonnull(strstr(text, "Cue ("));
  /* The same face pixel hovered from the heatmap panel gives the same
   * line. */
  double fx, fy, hx, hy;
  g_assert_true(agfas_canvas_widget_to_face(input, cx, cy, &fx, &fy));
  AgfasCanvas *heat = canvas(win, AGFAS_PANEL_HEAT);
  g_assert_true(agfas_canvas_face_to_widget(heat, fx, fy, &hx, &hy));
  g_autofree char *from_input = g_strdup(text);
  agfas_canvas_hover(heat, hx, hy);
  g_assert_cmpstr(gtk_label_get_text(line), ==, from_input);
}

static void check_overlay(AgfasWindow *win)
{
  AgfasViewKnobs *knobs = child(win, "view_knobs");
  AgfasCanvas *input = canvas(win, AGFAS_PANEL_INPUT);
  g_assert_null(agfas_canvas_get_overlay(input, NULL));
  g_action_group_activate_action(G_ACTION_GROUP(win), "overlay", NULL);
  g_assert_true(agfas_view_knobs_get_overlay(knobs));
  double opacity = 0;
  g_assert_nonnull(agfas_canvas_get_overlay(input, &opacity));
  g_assert_cmpfloat(fabs(opacity - agfas_view_knobs_get_opacity(knobs)), <,
                    1e-9);
  agfas_view_knobs_set_opacity(knobs, 0.8);
  agfas_canvas_get_overlay(input, &opacity);
  g_assert_cmpfloat(fabs(opacity - 0.8), <, 1e-9);
  g_autoptr(GVariant) st = g_action_group_get_action_state(
    G_ACTION_GROUP(win), "overlay");
  g_assert_true(g_variant_get_boolean(st));
  /* Saved without a re-run. */
  g_autofree char *ini = agfas_settings_default_path();
  AgfasSettings saved;
  agfas_settings_init(&saved);
  agfas_settings_load(&saved, ini);
  g_assert_true(saved.overlay);
  g_assert_cmpfloat(fabs(saved.overlay_opacity - 0.8), <, 1e-9);
  agfas_settings_clear(&saved);
}

static void check_timing(AgfasWindow *win)
{
  AgfasViewKnobs *knobs = child(win, "view_knobs");
  const AgfasStage ran[] = { AGFAS_STAGE_READ, AGFAS_STAGE_DETECT,
                             AGFAS_STAGE_IDENTITY, AGFAS_STAGE_ENCODE,
                             AGFAS_STAGE_DENOISE, AGFAS_STAGE_DECODE,
                             AGFAS_STAGE_CUE, AGFAS_STAGE_SCORE };
  for (guint i = 0; i < G_N_ELEMENTS(ran); i++) {
    const char *t = agfas_view_knobs_get_timing_text(knobs, ran[i]);
    g_test_message("%s: %s", agfas_stage_title(ran[i]), t);
    double v = g_ascii_strtod(t, NULL);
    g_assert_true(g_str_has_suffix(t, " s") || strstr(t, " s ("));
    g_assert_cmpfloat(v, >=, 0);
  }
  g_assert_nonnull(strstr(agfas_view_knobs_get_timing_text(
                            knobs, AGFAS_STAGE_DENOISE), "calls)"));
}

/* A copy of src's tensors without its metadata: only the names tell. */
static void strip_metadata(const char *src, const char *dst)
{
  GError *error = NULL;
  g_autoptr(AgfSafetensors) st = agf_safetensors_open(src, &error);
  g_assert_no_error(error);
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  for (int i = 0; i < agf_safetensors_n_tensors(st); i++) {
    const AgfStTensor *t = agf_safetensors_tensor_at(st, i);
    g_assert_true(agf_safetensors_writer_add(w, t->name, t->dtype, t->ndim,
                                             t->shape, t->data, &error));
  }
  g_assert_true(agf_safetensors_writer_write(w, dst, &error));
  g_assert_no_error(error);
}

static void check_models(AgfasWindow *win, const char *root)
{
  AgfasModelsButton *mb = child(win, "models_button");
  for (int m = 0; m < AGFAS_MODEL_COUNT; m++)
    g_assert_cmpstr(agfas_models_button_get_state_text(mb, m), ==, "Loaded");

  /* Open Model… on another tiny OA-Net: detected, used from the next run
   * (which the window starts), loaded there. */
  GError *error = NULL;
  g_autofree char *other = g_build_filename(root, "other-oanet.safetensors",
                                            NULL);
  g_assert_true(agf_preset_write_random(AGF_PRESET_TINY, AGF_NET_OANET, 7,
                                        AGF_ST_F32, other, &error));
  g_assert_no_error(error);
  guint before = agfas_window_get_runs_finished(win);
  AgfasModel m = AGFAS_MODEL_COUNT;
  g_assert_true(agfas_models_button_open_path(mb, other, &m, &error));
  g_assert_no_error(error);
  g_assert_cmpint(m, ==, AGFAS_MODEL_OANET);
  g_assert_cmpstr(agfas_models_button_get_state_text(mb, AGFAS_MODEL_OANET),
                  ==, "Installed, loads on the next analysis");
  g_assert_cmpint(agfas_window_get_state(win), ==, AGFAS_WINDOW_RUNNING);
  app_test_wait_runs(win, before + 1, 120);
  g_assert_cmpstr(agfas_models_button_get_state_text(mb, AGFAS_MODEL_OANET),
                  ==, "Loaded");
  g_assert_nonnull(strstr(agfas_window_get_score_text(win),
                          "Spoof probability"));

  /* Without metadata the tensor names tell the network. */
  g_autofree char *vae = g_build_filename(root, "dfg",
                                          "autoencoder_kl.safetensors", NULL);
  g_autofree char *bare = g_build_filename(root, "bare.safetensors", NULL);
  strip_metadata(vae, bare);
  g_assert_true(agfas_model_detect(bare, &m, &error));
  g_assert_no_error(error);
  g_assert_cmpint(m, ==, AGFAS_MODEL_AUTOENCODER);
  for (int k = 0; k < AGF_NET_COUNT; k++) {
    g_autofree char *p = g_build_filename(root, "k.safetensors", NULL);
    g_assert_true(agf_preset_write_random(AGF_PRESET_TINY, k, 3, AGF_ST_F32,
                                          p, &error));
    g_autofree char *q = g_build_filename(root, "k-bare.safetensors", NULL);
    strip_metadata(p, q);
    AgfasModel a, b;
    g_assert_true(agfas_model_detect(p, &a, &error));
    g_assert_true(agfas_model_detect(q, &b, &error));
    g_assert_no_error(error);
    g_assert_cmpint(a, ==, b);
    g_assert_cmpstr(agfas_model_relpath(a), !=, NULL);
  }

  /* Not a network: an error that says what to do, and nothing changes. */
  g_autofree char *junk = g_build_filename(root, "junk.safetensors", NULL);
  {
    g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
    const float v[2] = { 1, 2 };
    const int64_t shape[1] = { 2 };
    g_assert_true(agf_safetensors_writer_add(w, "whatever", AGF_ST_F32, 1,
                                             shape, v, &error));
    g_assert_true(agf_safetensors_writer_write(w, junk, &error));
    g_assert_no_error(error);
  }
  g_assert_false(agfas_models_button_open_path(mb, junk, &m, &error));
  g_assert_nonnull(error);
  g_assert_nonnull(strstr(error->message, "agfas-train import"));
  g_assert_nonnull(strstr(agfas_models_button_get_message(mb),
                          "not a network"));
  g_clear_error(&error);

  /* A network missing on disk: listed as not installed, with how to get
   * one. */
  g_autofree char *unet = g_build_filename(root, "dfg", "unet.safetensors",
                                           NULL);
  g_assert_cmpint(g_remove(unet), ==, 0);
  agfas_models_button_refresh(mb);
  g_assert_cmpstr(agfas_models_button_get_state_text(mb, AGFAS_MODEL_UNET),
                  ==, "Not installed");
}

static void test_view(void)
{
  GError *error = NULL;
  g_autofree char *root = g_dir_make_tmp("agfas-view-XXXXXX", &error);
  g_assert_no_error(error);
  app_test_write_models(root, TRUE);
  g_setenv("AGFAS_MODELS_DIR", root, TRUE);
  g_autofree char *png = g_build_filename(root, "face.png", NULL);
  app_test_write_image(png, 320, 240);

  AgfasApplication *app = agfas_application_new(G_APPLICATION_NON_UNIQUE);
  g_assert_true(g_application_register(G_APPLICATION(app), NULL, &error));
  g_application_hold(G_APPLICATION(app));
  g_autoptr(GFile) file = g_file_new_for_path(png);
  g_application_open(G_APPLICATION(app), &file, 1, "");
  AgfasWindow *win = agfas_application_get_window(app);
  app_test_wait_runs(win, 1, 120);
  g_assert_cmpint(agfas_window_get_state(win), ==, AGFAS_WINDOW_DONE);
  app_test_settle(300);

  check_timing(win);
  check_zoom(win);
  check_hover(win);
  check_overlay(win);
  /* Zoomed in on the face with the overlay and the hover cross. */
  AgfasCanvas *heat = canvas(win, AGFAS_PANEL_HEAT);
  double cx, cy;
  g_assert_true(agfas_canvas_face_to_widget(heat, 128, 110, &cx, &cy));
  agfas_canvas_zoom_at(heat, cx, cy, 2.5);
  agfas_canvas_hover(heat, cx, cy);
  app_test_settle(300);
  app_test_save_screenshot(GTK_WIDGET(win), "app-view-zoom.png");
  check_models(win, root);

  g_action_group_activate_action(G_ACTION_GROUP(app), "quit", NULL);
  g_application_release(G_APPLICATION(app));
  app_test_settle(100);
  g_object_unref(app);
  g_unsetenv("AGFAS_MODELS_DIR");
  app_test_remove_tree(root);
}

int main(int argc, char **argv)
{
  gtk_test_init(&argc, &argv, NULL);
  g_test_add_func("/app/view/inspect", test_view);
  return g_test_run();
}
