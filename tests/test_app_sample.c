/* UI test of the welcome page's built-in sample (app/agfas-sample.c), in
 * process under Xvfb: with a sample folder ($AGFAS_SAMPLE_DIR, a temporary
 * folder of generated live.png / print.png, so no committed file is
 * needed) the buttons are sensitive and "Its Print Attack" opens print.png
 * and analyses it with tiny random models; without the pair the buttons
 * are insensitive and their tooltip says how to make it. Screenshots:
 * G_TEST_BUILDDIR/app-sample-{welcome,print,missing}.png. */
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <string.h>

#include "agfas-application.h"
#include "agfas-sample.h"
#include "app_support.h"
#include "nn/error.h"

/* The sample box's buttons: live, then print. */
static void sample_buttons(AgfasWindow *win, GtkWidget **box,
                           GtkWidget *buttons[2])
{
  *box = GTK_WIDGET(gtk_widget_get_template_child(
    GTK_WIDGET(win), AGFAS_TYPE_WINDOW, "sample_box"));
  g_assert_nonnull(*box);
  buttons[0] = gtk_widget_get_first_child(*box);
  g_assert_nonnull(buttons[0]);
  buttons[1] = gtk_widget_get_next_sibling(buttons[0]);
  g_assert_nonnull(buttons[1]);
}

static void test_sample(void)
{
  GError *error = NULL;
  g_autofree char *root = g_dir_make_tmp("agfas-sample-ui-XXXXXX", &error);
  g_assert_no_error(error);
  app_test_write_models(root, TRUE);
  g_setenv("AGFAS_MODELS_DIR", root, TRUE);
  g_autofree char *sample = g_build_filename(root, "sample", NULL);
  g_assert_cmpint(g_mkdir_with_parents(sample, 0755), ==, 0);
  g_autofree char *live = g_build_filename(sample, "live.png", NULL);
  g_autofree char *print = g_build_filename(sample, "print.png", NULL);
  app_test_write_image(live, 256, 256);
  app_test_write_image(print, 256, 256);
  g_setenv("AGFAS_SAMPLE_DIR", sample, TRUE);

  /* The lookup itself. */
  g_autofree char *found = agfas_sample_find("print", &error);
  g_assert_no_error(error);
  g_assert_cmpstr(found, ==, print);
  g_assert_null(agfas_sample_find("video", &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);

  AgfasApplication *app = agfas_application_new(G_APPLICATION_NON_UNIQUE);
  g_assert_true(g_application_register(G_APPLICATION(app), NULL, &error));
  g_assert_no_error(error);
  g_application_hold(G_APPLICATION(app));
  g_application_activate(G_APPLICATION(app));
  AgfasWindow *win = agfas_application_get_window(app);
  g_assert_cmpint(agfas_window_get_state(win), ==, AGFAS_WINDOW_EMPTY);
  app_test_settle(200);

  GtkWidget *box, *buttons[2];
  sample_buttons(win, &box, buttons);
  g_assert_true(g_action_group_get_action_enabled(G_ACTION_GROUP(win),
                                                  "open-sample"));
  g_assert_true(gtk_widget_is_sensitive(buttons[0]));
  g_assert_true(gtk_widget_is_sensitive(buttons[1]));
  g_assert_true(gtk_widget_is_visible(box));
  g_assert_nonnull(strstr(gtk_widget_get_tooltip_text(buttons[1]), "DFG"));
  app_test_save_screenshot(GTK_WIDGET(win), "app-sample-welcome.png");

  /* The print button opens print.png and analyses it. */
  g_signal_emit_by_name(buttons[1], "clicked");
  g_assert_cmpint(agfas_window_get_state(win), ==, AGFAS_WINDOW_RUNNING);
  g_assert_cmpstr(gtk_window_get_title(GTK_WINDOW(win)), ==, "print.png");
  app_test_wait_runs(win, 1, 300);
  g_assert_cmpint(agfas_window_get_state(win), ==, AGFAS_WINDOW_DONE);
  app_test_settle(200);
  app_test_save_screenshot(GTK_WIDGET(win), "app-sample-print.png");
  /* And the menu's action opens the other one. */
  g_action_group_activate_action(G_ACTION_GROUP(win), "open-sample",
                                 g_variant_new_string("live"));
  g_assert_cmpstr(gtk_window_get_title(GTK_WINDOW(win)), ==, "live.png");
  app_test_wait_runs(win, 1, 300);
  /* An unknown kind opens nothing and leaves the pair available. */
  g_action_group_activate_action(G_ACTION_GROUP(win), "open-sample",
                                 g_variant_new_string("video"));
  g_assert_cmpstr(gtk_window_get_title(GTK_WINDOW(win)), ==, "live.png");
  g_assert_true(g_action_group_get_action_enabled(G_ACTION_GROUP(win),
                                                  "open-sample"));

  /* No pair (the folder moved away; no setenv once threads run): disabled,
   * and the tooltip says how to make it. */
  g_autofree char *moved = g_build_filename(root, "moved", NULL);
  g_assert_cmpint(g_rename(sample, moved), ==, 0);
  agfas_sample_refresh(win);
  g_assert_false(g_action_group_get_action_enabled(G_ACTION_GROUP(win),
                                                   "open-sample"));
  g_assert_false(gtk_widget_is_sensitive(buttons[0]));
  g_assert_false(gtk_widget_is_sensitive(buttons[1]));
  const char *tip = gtk_widget_get_tooltip_text(buttons[0]);
  g_assert_nonnull(tip);
  g_assert_nonnull(strstr(tip, "agfas-train sample"));
  GtkStack *stack = GTK_STACK(gtk_widget_get_template_child(
    GTK_WIDGET(win), AGFAS_TYPE_WINDOW, "stack"));
  gtk_stack_set_visible_child_name(stack, "welcome");
  app_test_settle(200);
  app_test_save_screenshot(GTK_WIDGET(win), "app-sample-missing.png");
  /* A half pair does not count. */
  g_assert_cmpint(g_mkdir_with_parents(sample, 0755), ==, 0);
  app_test_write_image(live, 64, 64);
  agfas_sample_refresh(win);
  g_assert_false(gtk_widget_is_sensitive(buttons[0]));

  g_action_group_activate_action(G_ACTION_GROUP(app), "quit", NULL);
  g_application_release(G_APPLICATION(app));
  app_test_settle(100);
  g_object_unref(app);
  g_unsetenv("AGFAS_MODELS_DIR");
  g_unsetenv("AGFAS_SAMPLE_DIR");
  app_test_remove_tree(root);
}

int main(int argc, char **argv)
{
  gtk_test_init(&argc, &argv, NULL);
  g_test_add_func("/app/sample/welcome", test_sample);
  return g_test_run();
}
