/* See app_support.h. */
#include "app_support.h"

#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#include "agfas-models.h"
#include "agfas-window.h"
#include "io/image.h"
#include "models/presets.h"

void app_test_write_image(const char *path, int width, int height)
{
  GError *error = NULL;
  g_autoptr(AgfImage) img = agf_image_new(width, height, 3, &error);
  g_assert_no_error(error);
  double cx = width / 2.0, cy = height / 2.0;
  double rx = height * 0.28, ry = height * 0.38;
  for (int y = 0; y < height; y++) {
    guint8 *row = img->pixels + (size_t)y * img->stride;
    for (int x = 0; x < width; x++) {
      double u = (x - cx) / rx, v = (y - cy) / ry;
      guint8 r = (guint8)(40 + 120 * x / width), g = (guint8)(60 + 80 * y / height),
             b = 140;
      if (u * u + v * v <= 1) {
        r = 224, g = 172, b = 140;
        double ex = fabs(fabs(x - cx) - rx * 0.4), ey = y - (cy - ry * 0.2);
        if (ex * ex + ey * ey < 36)
          r = g = b = 30;
        if (fabs(x - cx) < rx * 0.35 && fabs(y - (cy + ry * 0.45)) < 4)
          r = 150, g = 40, b = 50;
      }
      row[3 * x] = r, row[3 * x + 1] = g, row[3 * x + 2] = b;
    }
  }
  g_assert_true(agf_image_save_png(img, path, &error));
  g_assert_no_error(error);
}

static void write_one(const char *root, AgfasModel m, AgfNetKind k)
{
  GError *error = NULL;
  g_autofree char *path = g_build_filename(root, agfas_model_relpath(m), NULL);
  g_autofree char *dir = g_path_get_dirname(path);
  g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
  g_assert_true(agf_preset_write_random(AGF_PRESET_TINY, k, 1, AGF_ST_F32,
                                        path, &error));
  g_assert_no_error(error);
}

void app_test_write_models(const char *root, gboolean with_oanet)
{
  write_one(root, AGFAS_MODEL_AUTOENCODER, AGF_NET_AUTOENCODER);
  write_one(root, AGFAS_MODEL_UNET, AGF_NET_UNET);
  write_one(root, AGFAS_MODEL_IDENTITY, AGF_NET_IDENTITY);
  if (with_oanet)
    write_one(root, AGFAS_MODEL_OANET, AGF_NET_OANET);
}

void app_test_remove_tree(const char *path)
{
  if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
      g_autofree char *child = g_build_filename(path, name, NULL);
      app_test_remove_tree(child);
    }
  }
  g_remove(path);
}

gboolean app_test_set_flag(gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

void app_test_settle(int ms)
{
  gboolean done = FALSE;
  g_timeout_add(ms, app_test_set_flag, &done);
  while (!done)
    g_main_context_iteration(NULL, TRUE);
}

void app_test_save_screenshot(GtkWidget *w, const char *name)
{
  int width = gtk_widget_get_width(w), height = gtk_widget_get_height(w);
  g_assert_cmpint(width, >, 0);
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new(w);
  GtkSnapshot *snap = gtk_snapshot_new();
  gdk_paintable_snapshot(paintable, snap, width, height);
  g_autoptr(GskRenderNode) node = gtk_snapshot_free_to_node(snap);
  g_assert_nonnull(node);
  GskRenderer *renderer = gtk_native_get_renderer(GTK_NATIVE(w));
  g_autoptr(GdkTexture) tex = gsk_renderer_render_texture(
    renderer, node, &GRAPHENE_RECT_INIT(0, 0, width, height));
  const char *dir = g_getenv("G_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename(dir ? dir : ".", name, NULL);
  g_assert_true(gdk_texture_save_to_png(tex, path));
  g_test_message("screenshot: %s", path);
}

guint app_test_kill_child(const char *flag, const char *arg, char **env,
                          guint kill_after)
{
  GError *error = NULL;
  g_autofree char *self_exe = g_file_read_link("/proc/self/exe", &error);
  g_assert_no_error(error);
  char *argv[] = { self_exe, (char *)flag, (char *)arg, NULL };
  GPid pid;
  int out_fd;
  g_assert_true(g_spawn_async_with_pipes(NULL, argv, env,
                                         G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                         NULL, &pid, NULL, &out_fd, NULL,
                                         &error));
  g_assert_no_error(error);
  FILE *out = fdopen(out_fd, "r");
  g_assert_nonnull(out);
  char line[64];
  guint acks = 0;
  gboolean killed = FALSE;
  while (fgets(line, sizeof line, out)) {
    g_assert_cmpuint((guint)g_ascii_strtoull(line, NULL, 10), ==, acks);
    acks++;
    if (acks == kill_after) {
      g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
      killed = TRUE;
    }
  }
  fclose(out);
  int status = 0;
  g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
  g_spawn_close_pid(pid);
  g_assert_true(killed);
  g_assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  return acks;
}

void app_test_wait_runs(AgfasWindow *win, guint runs, int seconds)
{
  gboolean late = FALSE;
  guint id = g_timeout_add_seconds(seconds, app_test_set_flag, &late);
  while (!late && (agfas_window_get_runs_finished(win) < runs ||
                   agfas_window_get_state(win) == AGFAS_WINDOW_RUNNING))
    g_main_context_iteration(NULL, TRUE);
  if (!late)
    g_source_remove(id);
  g_assert_false(late);
}
