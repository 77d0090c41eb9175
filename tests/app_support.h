/* Shared by the app tests: a generated test image and a models root of
 * tiny random networks laid out as app/agfas-models.h says. */
#pragma once
#include <gtk/gtk.h>

/* agfas-window.h's type, declared here so that tests including headers
 * that clash with agfas-window.h can still use this file. */
typedef struct _AgfasWindow AgfasWindow;

/* Writes a width x height PNG with a face-like pattern (skin ellipse, dark
 * eyes and mouth on a gradient) to path; asserts on failure. */
void app_test_write_image(const char *path, int width, int height);
/* Writes ROOT/dfg/{autoencoder_kl,unet,identity}.safetensors and, when
 * with_oanet, ROOT/oanet.safetensors: tiny presets, random weights. */
void app_test_write_models(const char *root, gboolean with_oanet);
/* Deletes path and, for a folder, everything under it. */
void app_test_remove_tree(const char *path);
/* A GSourceFunc that sets the gboolean data points at and stops. */
gboolean app_test_set_flag(gpointer data);
/* Runs the default main context for ms milliseconds. */
void app_test_settle(int ms);
/* Renders w to G_TEST_BUILDDIR/name (PNG); asserts on failure. */
void app_test_save_screenshot(GtkWidget *w, const char *name);
/* Runs this program again as `SELF flag arg` (env NULL: ours) and reads
 * the acknowledgements it prints on stdout, one number a line counting up
 * from 0; SIGKILLs it after kill_after of them and returns how many were
 * read. Asserts the numbering and that the child died of the kill. */
guint app_test_kill_child(const char *flag, const char *arg, char **env,
                          guint kill_after);
/* Runs the main loop until win has finished `runs` analyses and is idle;
 * fails the test when that takes more than `seconds`. */
void app_test_wait_runs(AgfasWindow *win, guint runs, int seconds);
