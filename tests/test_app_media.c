/* UI test of the app's media sources, in process under Xvfb (see
 * meson.build), with tiny random models and generated media: a video
 * opened as `agfas FILE` (timeline, the 10 sampled frames scored, the
 * video score their mean, a strip click seeks), a corrupt video (a clear
 * message), a folder opened by drag-and-drop's path (implicit manifest,
 * labels saved, new files merged), the folder score export (CSV + JSON
 * rows, Cancel writes nothing), recent files, and the camera (none here:
 * the message; a video file standing in for it). Screenshots:
 * G_TEST_BUILDDIR/app-media-{video,corrupt,folder,live,nocamera}.png. */
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "agfas-application.h"
#include "agfas-folder.h"
#include "agfas-media.h"
#include "agfas-recent.h"
#include "app_support.h"
#include "io/camera.h"
#include "io/manifest.h"
#include "io/video.h"
#include "media_support.h"

static char *root;
static AgfasApplication *app;
static AgfasWindow *win;

#define N_VIDEO_FRAMES 30

typedef gboolean (*DoneFn)(gpointer data);

/* Runs the main loop until done(data) or the deadline (a failure). */
static void wait_for(DoneFn done, gpointer data, int seconds)
{
  gboolean late = FALSE;
  guint id = g_timeout_add_seconds(seconds, app_test_set_flag, &late);
  while (!late && !done(data))
    g_main_context_iteration(NULL, TRUE);
  if (!late)
    g_source_remove(id);
  if (late && AGFAS_IS_VIDEO_VIEW(data))
    g_test_message("video state %d: %s / %s",
                   agfas_video_view_get_state(data),
                   agfas_video_view_get_status_text(data),
                   agfas_video_view_get_score_text(data));
  g_assert_false(late);
}

static char *write_video(const char *name, int n)
{
  char *path = g_build_filename(root, name, NULL);
  if (!agf_test_write_video(path, "libx264", n, 10, 0))
    g_assert_true(agf_test_write_video(path, "mpeg4", n, 10, 0));
  return path;
}

static gboolean video_settled(gpointer data)
{
  AgfasVideoView *v = data;
  AgfasVideoState s = agfas_video_view_get_state(v);
  return s == AGFAS_VIDEO_DONE || s == AGFAS_VIDEO_FAILED;
}

static gboolean frame_shown(gpointer data)
{
  AgfasVideoView *v = data;
  return agfas_video_view_get_shown_frame(v) ==
         agfas_video_view_get_position(v);
}

/* The generated clips hold no face: the analysis draws the stand-in, the
 * centre square of the frame, with the template's landmarks inside it. */
static void assert_stand_in_face(AgfasCanvas *c)
{
  GdkTexture *tex = agfas_canvas_get_texture(c);
  g_assert_nonnull(tex);
  double w = gdk_texture_get_width(tex), h = gdk_texture_get_height(tex);
  float box[4], lm[AGF_FACE_N_LANDMARKS][2];
  g_assert_true(agfas_canvas_get_face(c, box, lm));
  double side = MIN(w, h);
  g_assert_cmpfloat_with_epsilon(box[0], (w - side) / 2, 1e-3);
  g_assert_cmpfloat_with_epsilon(box[1], (h - side) / 2, 1e-3);
  g_assert_cmpfloat_with_epsilon(box[2], (w + side) / 2 - 1, 1e-3);
  g_assert_cmpfloat_with_epsilon(box[3], (h + side) / 2 - 1, 1e-3);
  for (int i = 0; i < AGF_FACE_N_LANDMARKS; i++) {
    g_assert_cmpfloat(lm[i][0], >, box[0]);
    g_assert_cmpfloat(lm[i][0], <, box[2]);
    g_assert_cmpfloat(lm[i][1], >, box[1]);
    g_assert_cmpfloat(lm[i][1], <, box[3]);
  }
}

/* c lies inside win and draws its whole texture inside itself. */
static void assert_fits(AgfasCanvas *c, AgfasWindow *w)
{
  graphene_rect_t r;
  g_assert_true(gtk_widget_compute_bounds(GTK_WIDGET(c), GTK_WIDGET(w), &r));
  g_test_message("canvas %.0f x %.0f at y %.0f in a %d x %d window",
                 r.size.width, r.size.height, r.origin.y,
                 gtk_widget_get_width(GTK_WIDGET(w)),
                 gtk_widget_get_height(GTK_WIDGET(w)));
  g_assert_cmpfloat(r.size.height, >, 0);
  g_assert_cmpfloat(r.origin.y + r.size.height, <=,
                    gtk_widget_get_height(GTK_WIDGET(w)));
  GdkTexture *tex = agfas_canvas_get_texture(c);
  double s = agfas_canvas_get_fit_scale(c);
  g_assert_cmpfloat(s, >, 0);
  g_assert_cmpfloat(s * gdk_texture_get_width(tex), <=, r.size.width + 0.5);
  g_assert_cmpfloat(s * gdk_texture_get_height(tex), <=,
                    r.size.height + 0.5);
}

static void test_video(void)
{
  g_autofree char *path = write_video("clip.mp4", N_VIDEO_FRAMES);
  g_autoptr(GFile) file = g_file_new_for_path(path);
  g_application_open(G_APPLICATION(app), &file, 1, "");
  AgfasVideoView *v = agfas_media_get_video_view(win);
  g_assert_nonnull(v);
  wait_for(video_settled, v, 60);
  g_assert_cmpint(agfas_video_view_get_state(v), ==, AGFAS_VIDEO_DONE);
  g_assert_cmpint(agfas_video_view_get_n_frames(v), ==, N_VIDEO_FRAMES);

  /* The trainer's samples, each with a score; the video score their mean. */
  int64_t idx[AGF_VIDEO_DEFAULT_SAMPLES];
  int n = agf_video_sample_indices(N_VIDEO_FRAMES, AGF_VIDEO_DEFAULT_SAMPLES,
                                   idx);
  g_assert_cmpuint(agfas_video_view_get_n_scored(v), ==, (guint)n);
  double sum = 0, lo = 1, hi = 0;
  for (int i = 0; i < n; i++) {
    g_assert_cmpint(agfas_video_view_get_sample_frame(v, i), ==, idx[i]);
    double s = -1;
    g_assert_true(agfas_video_view_get_sample_score(v, i, &s));
    g_assert_cmpfloat(s, >=, 0);
    g_assert_cmpfloat(s, <=, 1);
    sum += s, lo = MIN(lo, s), hi = MAX(hi, s);
  }
  double mean = -1;
  g_assert_true(agfas_video_view_get_video_score(v, &mean));
  g_assert_cmpfloat_with_epsilon(mean, sum / n, 1e-9);
  g_test_message("frame scores %.4f..%.4f, video %.4f", lo, hi, mean);
  g_assert_nonnull(strstr(agfas_video_view_get_score_text(v),
                          "Video spoof probability"));

  /* Clicking sample 3 seeks there; the worker decodes it. */
  g_signal_emit_by_name(agfas_video_view_get_sample_button(v, 3), "clicked");
  g_assert_cmpint(agfas_video_view_get_position(v), ==, idx[3]);
  wait_for(frame_shown, v, 20);
  /* A sampled frame shows the box and landmarks its analysis used. */
  AgfasCanvas *canvas = agfas_video_view_get_canvas(v);
  assert_stand_in_face(canvas);
  g_assert_cmpint(gdk_texture_get_width(agfas_canvas_get_texture(canvas)),
                  ==, 64);
  /* Scrubbing to another frame: not sampled, so not analysed, no box. */
  g_assert_cmpint(idx[n - 1], <, N_VIDEO_FRAMES - 1);
  agfas_video_view_seek(v, N_VIDEO_FRAMES - 1);
  wait_for(frame_shown, v, 20);
  g_assert_false(agfas_canvas_get_face(canvas, NULL, NULL));
  agfas_video_view_seek(v, idx[4]);
  wait_for(frame_shown, v, 20);
  assert_stand_in_face(canvas);
  app_test_settle(200);
  assert_fits(canvas, win);
  app_test_save_screenshot(GTK_WIDGET(win), "app-media-video.png");

  /* Opened files are recent files, newest first, in the menu. */
  g_auto(GStrv) recent = agfas_recent_load(agfas_media_get_recent_path(win));
  g_assert_cmpstr(recent[0], ==, path);
  GMenuModel *menu = agfas_media_get_recent_menu(win);
  g_assert_cmpint(g_menu_model_get_n_items(menu), >=, 1);
  g_autoptr(GVariant) target = g_menu_model_get_item_attribute_value(
    menu, 0, G_MENU_ATTRIBUTE_TARGET, G_VARIANT_TYPE_STRING);
  g_assert_cmpstr(g_variant_get_string(target, NULL), ==, path);
}

static void test_corrupt_video(void)
{
  g_autofree char *path = g_build_filename(root, "broken.mp4", NULL);
  static const char junk[] = "this is not a video, just text in an mp4 name";
  g_assert_true(g_file_set_contents(path, junk, sizeof junk, NULL));
  g_autoptr(GFile) file = g_file_new_for_path(path);
  agfas_window_open(win, file);
  AgfasVideoView *v = agfas_media_get_video_view(win);
  wait_for(video_settled, v, 20);
  g_assert_cmpint(agfas_video_view_get_state(v), ==, AGFAS_VIDEO_FAILED);
  const char *status = agfas_video_view_get_status_text(v);
  g_test_message("corrupt: %s", status);
  g_assert_nonnull(strstr(status, "Cannot open the video broken.mp4"));
  g_assert_cmpuint(agfas_video_view_get_n_scored(v), ==, 0);
  app_test_settle(100);
  app_test_save_screenshot(GTK_WIDGET(win), "app-media-corrupt.png");
  /* Nothing lost: the earlier video is still in the recent list. */
  g_auto(GStrv) recent = agfas_recent_load(agfas_media_get_recent_path(win));
  g_assert_cmpuint(g_strv_length(recent), >=, 2);
}

static char *make_folder(void)
{
  char *dir = g_build_filename(root, "dataset", NULL);
  g_autofree char *sub = g_build_filename(dir, "sub", NULL);
  g_assert_cmpint(g_mkdir_with_parents(sub, 0755), ==, 0);
  g_autofree char *a = g_build_filename(dir, "a.png", NULL);
  g_autofree char *b = g_build_filename(sub, "b.png", NULL);
  app_test_write_image(a, 160, 120);
  app_test_write_image(b, 120, 160);
  g_autofree char *vid = g_build_filename(dir, "v.mp4", NULL);
  if (!agf_test_write_video(vid, "libx264", 12, 6, 0))
    g_assert_true(agf_test_write_video(vid, "mpeg4", 12, 6, 0));
  g_autofree char *note = g_build_filename(dir, "notes.txt", NULL);
  g_assert_true(g_file_set_contents(note, "not media", -1, NULL));
  return dir;
}

static gboolean thumbnails_loaded(gpointer data)
{
  for (guint i = 0; i < agfas_dataset_view_get_n_shown(data); i++)
    if (!agfas_dataset_view_get_thumbnail(data, i))
      return FALSE;
  return TRUE;
}

static void test_folder(void)
{
  g_autofree char *dir = make_folder();
  g_autoptr(GFile) file = g_file_new_for_path(dir);
  agfas_window_open(win, file);  /* what a drop of the folder does */
  AgfasDatasetView *dv = agfas_window_get_dataset_view(win);
  g_assert_nonnull(dv);
  AgfasLabelStore *store = agfas_dataset_view_get_store(dv);
  g_assert_nonnull(store);
  g_assert_cmpuint(agfas_label_store_get_n_items(store), ==, 3);
  g_assert_cmpstr(agfas_label_store_get_item(store, 0)->path, ==, "a.png");
  g_assert_cmpstr(agfas_label_store_get_item(store, 1)->path, ==,
                  "sub/b.png");
  g_assert_cmpstr(agfas_label_store_get_item(store, 2)->path, ==, "v.mp4");
  g_autofree char *manifest = agfas_folder_manifest_path(dir);
  g_assert_cmpstr(agfas_label_store_get_path(store), ==, manifest);

  /* Keyboard labeling goes through the dataset actions: "p" = print. */
  agfas_dataset_view_select(dv, 0);
  g_assert_true(gtk_widget_activate_action(GTK_WIDGET(dv), "dataset.label",
                                           "s", "print"));
  g_assert_cmpint(agfas_label_store_get_kind(store, 0), ==,
                  AGFAS_LABEL_KIND_PRINT);
  /* Every row has a thumbnail, the video's from its first sampled frame
   * (64 x 48, scaled to at most 48 pixels a side). */
  wait_for(thumbnails_loaded, dv, 30);
  guint video_row = 0;
  while (agfas_dataset_view_get_item_at(dv, video_row) != 2)
    g_assert_cmpuint(++video_row, <, agfas_dataset_view_get_n_shown(dv));
  GdkPaintable *thumb = agfas_dataset_view_get_thumbnail(dv, video_row);
  g_assert_cmpint(gdk_paintable_get_intrinsic_width(thumb), ==, 48);
  g_assert_cmpint(gdk_paintable_get_intrinsic_height(thumb), ==, 36);
  app_test_settle(300);
  app_test_save_screenshot(GTK_WIDGET(win), "app-media-folder.png");

  /* A new file and a re-open: the label stays, the file is added. */
  GError *error = NULL;
  g_assert_true(agfas_label_store_flush(store, &error));
  g_assert_no_error(error);
  g_autofree char *c = g_build_filename(dir, "c.png", NULL);
  app_test_write_image(c, 100, 100);
  agfas_window_open(win, file);
  store = agfas_dataset_view_get_store(dv);
  g_assert_cmpuint(agfas_label_store_get_n_items(store), ==, 4);
  g_assert_cmpint(agfas_label_store_get_kind(store, 0), ==,
                  AGFAS_LABEL_KIND_PRINT);
  g_autoptr(AgfManifest) m = agf_manifest_load(manifest, &error);
  g_assert_no_error(error);
  g_assert_cmpint(agf_manifest_get(m, 0)->label, ==, AGF_LABEL_SPOOF);
  g_assert_cmpstr(agf_manifest_get(m, 0)->attack, ==, "print");
  g_assert_cmpstr(agf_manifest_get(m, 3)->path, ==, "c.png");
}

static gboolean export_finished(gpointer data)
{
  return agfas_folder_export_get_state(data) != AGFAS_FOLDER_EXPORT_RUNNING;
}

static void test_export(void)
{
  /* After test_folder: a.png (print), sub/b.png, v.mp4 (12 frames: 10
   * sampled), c.png. */
  g_autofree char *csv = g_build_filename(root, "scores.csv", NULL);
  g_assert_true(agfas_media_export_scores_to(win, csv));
  AgfasFolderExport *ex = agfas_media_get_export(win);
  wait_for(export_finished, ex, 60);
  g_assert_cmpint(agfas_folder_export_get_state(ex), ==,
                  AGFAS_FOLDER_EXPORT_DONE);
  g_assert_cmpuint(agfas_folder_export_get_done(ex), ==, 4);
  g_autofree char *text = NULL;
  g_assert_true(g_file_get_contents(csv, &text, NULL, NULL));
  g_auto(GStrv) lines = g_strsplit(text, "\r\n", -1);
  g_assert_cmpstr(lines[0], ==,
                  "path,frame,x1,y1,x2,y2,score,verdict,label,note");
  guint rows = g_strv_length(lines) - 2;  /* header, trailing empty */
  g_assert_cmpuint(rows, ==, 3 + 10);
  g_assert_cmpuint(agfas_folder_export_get_n_rows(ex), ==, rows);
  g_assert_true(g_str_has_prefix(lines[1], "a.png,,"));
  g_assert_nonnull(strstr(lines[1], ",spoof,"));  /* the label */
  int video_rows = 0;
  for (guint i = 1; i <= rows; i++) {
    g_auto(GStrv) f = g_strsplit(lines[i], ",", -1);
    g_assert_cmpuint(g_strv_length(f), >=, 10);
    g_assert_true(*f[6]);  /* every row has a score: tiny models score */
    if (!strcmp(f[0], "v.mp4"))
      video_rows++;
    /* The generated clips hold no face: their rows say so, no box. */
    if (!strcmp(f[0], "v.mp4"))
      g_assert_true(g_str_has_prefix(f[9], "no face"));
  }
  g_assert_cmpint(video_rows, ==, 10);

  g_autofree char *json = g_build_filename(root, "scores.json", NULL);
  g_assert_true(agfas_media_export_scores_to(win, json));
  ex = agfas_media_get_export(win);
  wait_for(export_finished, ex, 60);
  g_autoptr(JsonParser) parser = json_parser_new();
  GError *error = NULL;
  g_assert_true(json_parser_load_from_file(parser, json, &error));
  g_assert_no_error(error);
  JsonObject *o = json_node_get_object(json_parser_get_root(parser));
  g_assert_cmpuint(
    json_array_get_length(json_object_get_array_member(o, "results")), ==,
    rows);

  /* Cancel: nothing written. */
  g_autofree char *cancelled = g_build_filename(root, "cancelled.csv", NULL);
  g_assert_true(agfas_media_export_scores_to(win, cancelled));
  ex = agfas_media_get_export(win);
  agfas_folder_export_cancel(ex);
  wait_for(export_finished, ex, 60);
  g_assert_cmpint(agfas_folder_export_get_state(ex), ==,
                  AGFAS_FOLDER_EXPORT_CANCELLED);
  g_assert_false(g_file_test(cancelled, G_FILE_TEST_EXISTS));
}

static gboolean live_scored(gpointer data)
{
  return agfas_live_view_get_n_scored(data) >= 2;
}

static gboolean live_face_shown(gpointer data)
{
  return agfas_canvas_get_face(data, NULL, NULL);
}

static void test_camera(void)
{
  /* No camera on the test machine: the page says so. */
  g_action_group_activate_action(G_ACTION_GROUP(win), "camera", NULL);
  AgfasLiveView *live = agfas_media_get_live_view(win);
  g_assert_nonnull(live);
  g_autoptr(GPtrArray) cams = agf_camera_list();
  if (cams->len > 0) {
    g_test_message("a camera exists here: the no-camera path is not run");
    agfas_live_view_stop(live);
  } else {
    g_assert_cmpint(agfas_live_view_get_state(live), ==, AGFAS_LIVE_FAILED);
    g_assert_nonnull(strstr(agfas_live_view_get_status_text(live),
                            "No camera found"));
    app_test_settle(100);
    app_test_save_screenshot(GTK_WIDGET(win), "app-media-nocamera.png");
  }
  /* A video file as the camera: frames shown and analysed in turn. */
  g_autofree char *path = write_video("live.mp4", 8);
  AgfasAnalysisParams p;
  agfas_window_get_params(win, &p);
  AgfasEngine *engine = agfas_engine_new();
  agfas_live_view_start_file(live, path, engine, NULL, &p);
  agfas_engine_unref(engine);
  g_assert_cmpint(agfas_live_view_get_state(live), ==, AGFAS_LIVE_RUNNING);
  wait_for(live_scored, live, 60);
  g_assert_cmpuint(agfas_live_view_get_n_shown(live), >=, 2);
  const char *score = agfas_live_view_get_score_text(live);
  g_assert_true(g_str_has_prefix(score, "LIVE") ||
                g_str_has_prefix(score, "SPOOF"));
  /* The frame on the canvas carries its analysis' face box, and the page
   * fits the window (its default 1280 x 760: a frame at the full width
   * would be 940 high). */
  AgfasCanvas *canvas = agfas_live_view_get_canvas(live);
  wait_for(live_face_shown, canvas, 30);
  /* Stopped at once: the next frame would replace this one and its box. */
  agfas_live_view_stop(live);
  g_assert_cmpint(agfas_live_view_get_state(live), ==, AGFAS_LIVE_IDLE);
  assert_stand_in_face(canvas);
  app_test_settle(200);
  assert_fits(canvas, win);
  g_assert_cmpint(gtk_widget_get_height(GTK_WIDGET(win)), <=, 760);
  app_test_save_screenshot(GTK_WIDGET(win), "app-media-live.png");
}

static void test_recent_list(void)
{
  g_autofree char *file = g_build_filename(root, "cfg", "recent.ini", NULL);
  GError *error = NULL;
  char *paths[AGFAS_RECENT_MAX + 2];
  for (int i = 0; i < AGFAS_RECENT_MAX + 2; i++) {
    paths[i] = g_strdup_printf("%s/r_%d.png", root, i);
    app_test_write_image(paths[i], 32, 32);
    g_assert_true(agfas_recent_add(file, paths[i], &error));
    g_assert_no_error(error);
  }
  g_assert_true(agfas_recent_add(file, paths[5], &error));
  g_auto(GStrv) list = agfas_recent_load(file);
  g_assert_cmpuint(g_strv_length(list), ==, AGFAS_RECENT_MAX);
  g_assert_cmpstr(list[0], ==, paths[5]);
  g_assert_cmpstr(list[1], ==, paths[AGFAS_RECENT_MAX + 1]);
  /* A file that went away is dropped. */
  g_unlink(paths[AGFAS_RECENT_MAX + 1]);
  g_auto(GStrv) list2 = agfas_recent_load(file);
  g_assert_cmpstr(list2[1], ==, paths[AGFAS_RECENT_MAX]);
  g_autoptr(GMenu) menu = g_menu_new();
  agfas_recent_fill_menu(menu, (const char *const *)list2, "win.open-recent");
  g_assert_cmpint(g_menu_model_get_n_items(G_MENU_MODEL(menu)), ==,
                  (int)g_strv_length(list2));
  g_autoptr(GVariant) label = g_menu_model_get_item_attribute_value(
    G_MENU_MODEL(menu), 0, G_MENU_ATTRIBUTE_LABEL, G_VARIANT_TYPE_STRING);
  g_assert_cmpstr(g_variant_get_string(label, NULL), ==, "r__5.png");
  for (int i = 0; i < AGFAS_RECENT_MAX + 2; i++)
    g_free(paths[i]);
}

int main(int argc, char **argv)
{
  gtk_test_init(&argc, &argv, NULL);
  GError *error = NULL;
  root = g_dir_make_tmp("agfas-media-XXXXXX", &error);
  g_assert_no_error(error);
  app_test_write_models(root, TRUE);
  g_setenv("AGFAS_MODELS_DIR", root, TRUE);
  app = agfas_application_new(G_APPLICATION_NON_UNIQUE);
  g_assert_true(g_application_register(G_APPLICATION(app), NULL, &error));
  g_application_hold(G_APPLICATION(app));
  g_application_activate(G_APPLICATION(app));
  win = agfas_application_get_window(app);

  g_test_add_func("/app/media/video", test_video);
  g_test_add_func("/app/media/corrupt-video", test_corrupt_video);
  g_test_add_func("/app/media/folder", test_folder);
  g_test_add_func("/app/media/export", test_export);
  g_test_add_func("/app/media/camera", test_camera);
  g_test_add_func("/app/media/recent-list", test_recent_list);
  int rc = g_test_run();

  g_action_group_activate_action(G_ACTION_GROUP(app), "quit", NULL);
  app_test_settle(100);
  g_application_release(G_APPLICATION(app));
  g_object_unref(app);
  app_test_remove_tree(root);
  g_free(root);
  return rc;
}
