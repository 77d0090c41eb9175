/* UI test of the dataset browser, in process under Xvfb (see meson.build):
 * opens a generated CSV manifest of PNG crops through the app, labels
 * items through the view's actions (what its keys activate), checks the
 * label store, the on-disk journal, undo/redo, the filter bar, and the
 * compacted manifest after quitting; saves G_TEST_BUILDDIR/app-dataset.png.
 * The kill test spawns this binary as a child that labels through the app
 * until the parent SIGKILLs it; every acknowledged label must be on disk. */
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "agfas-application.h"
#include "app_support.h"

#define N_ITEMS 12
#define CHILD_FLAG "--label-until-killed"
#define KILL_AFTER_ACKS 15
#define KILL_MAX_EDITS 1000000u

static const char *const KINDS[] = { "live", "print", "replay", "mask",
                                     "other", "unsure" };

/* N_ITEMS crops (PNG) under dir/crops and dir/items.csv listing them:
 * scores i/N_ITEMS (item 3 unscored), domains lab/phone alternating; the
 * last item is a video that does not exist (no thumbnail, still listed). */
static char *write_dataset(const char *dir)
{
  g_autofree char *crops = g_build_filename(dir, "crops", NULL);
  g_assert_cmpint(g_mkdir_with_parents(crops, 0755), ==, 0);
  g_autoptr(AgfManifest) m = agf_manifest_new(dir);
  for (guint i = 0; i < N_ITEMS; i++) {
    AgfManifestRecord *r = agf_manifest_record_new();
    if (i + 1 < N_ITEMS) {
      r->path = g_strdup_printf("crops/face%02u.png", i);
      g_autofree char *png = g_build_filename(dir, r->path, NULL);
      app_test_write_image(png, 96 + 8 * (int)(i % 4), 112);
    } else {
      r->path = g_strdup("media/missing.mp4");
      r->frame = 7;
    }
    r->score = i == 3 ? NAN : (double)((i * 5) % N_ITEMS) / N_ITEMS;
    r->domain = g_strdup(i % 2 ? "phone" : "lab");
    agf_manifest_add(m, r);
  }
  char *path = g_build_filename(dir, "items.csv", NULL);
  GError *error = NULL;
  g_assert_true(agf_manifest_save(m, path, AGF_MANIFEST_CSV, &error));
  g_assert_no_error(error);
  return path;
}

static AgfasApplication *start_app(void)
{
  GError *error = NULL;
  AgfasApplication *app = agfas_application_new(G_APPLICATION_NON_UNIQUE);
  g_assert_true(g_application_register(G_APPLICATION(app), NULL, &error));
  g_assert_no_error(error);
  g_application_hold(G_APPLICATION(app));
  return app;
}

static AgfasDatasetView *open_manifest(AgfasApplication *app, const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path(path);
  g_application_open(G_APPLICATION(app), &file, 1, "");
  AgfasWindow *win = agfas_application_get_window(app);
  AgfasDatasetView *view = agfas_window_get_dataset_view(win);
  g_assert_nonnull(view);
  g_assert_nonnull(agfas_dataset_view_get_store(view));
  return view;
}

static void label(AgfasDatasetView *view, const char *kind)
{
  g_assert_true(gtk_widget_activate_action(GTK_WIDGET(view), "dataset.label",
                                           "s", kind));
}

/* Presses accel (gtk_accelerator_parse syntax) on the list: finds the
 * shortcut the list's key controller has for it and activates it on the
 * list, as a key event would (Xvfb has no key injection here). */
static void press(AgfasDatasetView *view, const char *accel)
{
  GtkWidget *scroller = GTK_WIDGET(gtk_widget_get_template_child(
    GTK_WIDGET(view), AGFAS_TYPE_DATASET_VIEW, "scroller"));
  g_autoptr(GtkShortcutTrigger) want = gtk_shortcut_trigger_parse_string(accel);
  g_assert_nonnull(want);
  g_autoptr(GListModel) ctls = gtk_widget_observe_controllers(scroller);
  for (guint c = 0; c < g_list_model_get_n_items(ctls); c++) {
    g_autoptr(GObject) ctl = g_list_model_get_item(ctls, c);
    if (!GTK_IS_SHORTCUT_CONTROLLER(ctl))
      continue;
    for (guint i = 0; i < g_list_model_get_n_items(G_LIST_MODEL(ctl)); i++) {
      g_autoptr(GtkShortcut) s = g_list_model_get_item(G_LIST_MODEL(ctl), i);
      if (!gtk_shortcut_trigger_equal(gtk_shortcut_get_trigger(s), want))
        continue;
      g_assert_true(gtk_shortcut_action_activate(
        gtk_shortcut_get_action(s), 0, scroller, gtk_shortcut_get_arguments(s)));
      return;
    }
  }
  g_assert_not_reached();
}

static GtkDropDown *dropdown(AgfasDatasetView *view, const char *name)
{
  return GTK_DROP_DOWN(gtk_widget_get_template_child(
    GTK_WIDGET(view), AGFAS_TYPE_DATASET_VIEW, name));
}

/* The journal's lines as records. */
static GPtrArray *read_journal(const char *path)
{
  g_autofree char *text = NULL;
  GError *error = NULL;
  g_assert_true(g_file_get_contents(path, &text, NULL, &error));
  g_assert_no_error(error);
  GPtrArray *recs = g_ptr_array_new_with_free_func(
    (GDestroyNotify)agf_manifest_record_free);
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    if (!*lines[i])
      continue;
    AgfManifestRecord *r = agf_manifest_record_from_json(
      lines[i], strlen(lines[i]), &error);
    g_assert_no_error(error);
    g_ptr_array_add(recs, r);
  }
  return recs;
}

static void test_label(void)
{
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp("agfas-ds-XXXXXX", &error);
  g_assert_no_error(error);
  g_setenv("AGFAS_MODELS_DIR", dir, TRUE);  /* no models: not needed */
  g_autofree char *path = write_dataset(dir);

  AgfasApplication *app = start_app();
  g_application_activate(G_APPLICATION(app));
  AgfasDatasetView *view = open_manifest(app, path);
  AgfasLabelStore *store = agfas_dataset_view_get_store(view);
  g_assert_true(gtk_widget_get_mapped(GTK_WIDGET(view)));
  g_assert_cmpuint(agfas_dataset_view_get_n_shown(view), ==, N_ITEMS);
  g_assert_cmpuint(agfas_dataset_view_get_selected(view), ==, 0);
  g_assert_cmpstr(agfas_dataset_view_get_status_text(view), ==,
                  "12 items · 0 labeled · saved");

  /* One label per kind on items 0..5; each advances the selection. */
  for (guint k = 0; k < G_N_ELEMENTS(KINDS); k++) {
    g_assert_cmpuint(agfas_dataset_view_get_selected(view), ==, k);
    label(view, KINDS[k]);
    g_assert_cmpstr(agfas_label_kind_name(agfas_label_store_get_kind(store, k)),
                    ==, KINDS[k]);
  }
  g_assert_cmpuint(agfas_dataset_view_get_selected(view), ==, 6);
  g_assert_cmpstr(agfas_dataset_view_get_status_text(view), ==,
                  "12 items · 6 labeled · saved");

  /* Each label was journaled when the action returned. */
  /* A copy: the store (and its string) goes away when the app quits. */
  g_autofree char *jpath = g_strdup(agfas_label_store_get_journal_path(store));
  {
    g_autoptr(GPtrArray) recs = read_journal(jpath);
    g_assert_cmpuint(recs->len, ==, 6);
    const AgfManifestRecord *live = recs->pdata[0], *print = recs->pdata[1],
                            *unsure = recs->pdata[5];
    g_assert_cmpstr(live->path, ==, "crops/face00.png");
    g_assert_cmpint(live->label, ==, AGF_LABEL_LIVE);
    g_assert_cmpint(print->label, ==, AGF_LABEL_SPOOF);
    g_assert_cmpstr(print->attack, ==, "print");
    g_assert_cmpstr(unsure->path, ==, "crops/face05.png");
  }

  /* Undo selects the item it reverts; redo re-applies; both journaled. */
  g_assert_true(gtk_widget_activate_action(GTK_WIDGET(view), "dataset.undo",
                                           NULL));
  g_assert_cmpuint(agfas_dataset_view_get_selected(view), ==, 5);
  g_assert_cmpint(agfas_label_store_get_kind(store, 5), ==,
                  AGFAS_LABEL_KIND_NONE);
  g_assert_nonnull(strstr(agfas_dataset_view_get_status_text(view),
                          "5 labeled"));
  gtk_widget_activate_action(GTK_WIDGET(view), "dataset.redo", NULL);
  g_assert_cmpint(agfas_label_store_get_kind(store, 5), ==,
                  AGFAS_LABEL_KIND_UNSURE);
  {
    g_autoptr(GPtrArray) recs = read_journal(jpath);
    g_assert_cmpuint(recs->len, ==, 8);
  }

  /* Moving. */
  gtk_widget_activate_action(GTK_WIDGET(view), "dataset.previous", NULL);
  g_assert_cmpuint(agfas_dataset_view_get_selected(view), ==, 4);
  gtk_widget_activate_action(GTK_WIDGET(view), "dataset.next", NULL);
  gtk_widget_activate_action(GTK_WIDGET(view), "dataset.next", NULL);
  g_assert_cmpuint(agfas_dataset_view_get_selected(view), ==, 6);

  /* The same through the list's keys. */
  press(view, "k");
  g_assert_cmpuint(agfas_dataset_view_get_selected(view), ==, 5);
  press(view, "<Control>z");  /* reverts the redo above: item 5 unlabeled */
  g_assert_cmpint(agfas_label_store_get_kind(store, 5), ==,
                  AGFAS_LABEL_KIND_NONE);
  press(view, "<Control><Shift>z");
  g_assert_cmpint(agfas_label_store_get_kind(store, 5), ==,
                  AGFAS_LABEL_KIND_UNSURE);
  press(view, "u");  /* already unsure: nothing to save, still advances */
  g_assert_cmpuint(agfas_dataset_view_get_selected(view), ==, 6);
  press(view, "Down");
  press(view, "2");
  g_assert_cmpint(agfas_label_store_get_kind(store, 7), ==,
                  AGFAS_LABEL_KIND_PRINT);
  press(view, "Up");
  press(view, "Up");
  g_assert_cmpuint(agfas_dataset_view_get_selected(view), ==, 6);
  press(view, "<Control>z");  /* item 7 back to unlabeled */
  g_assert_cmpint(agfas_label_store_get_kind(store, 7), ==,
                  AGFAS_LABEL_KIND_NONE);
  g_assert_cmpuint(agfas_dataset_view_get_selected(view), ==, 7);
  press(view, "Up");

  /* Filter bar: by label, by domain, by score range; sort by score. */
  GtkDropDown *kind = dropdown(view, "kind_dropdown");
  gtk_drop_down_set_selected(kind, 3); /* Print */
  g_assert_cmpuint(agfas_dataset_view_get_n_shown(view), ==, 1);
  g_assert_cmpuint(agfas_dataset_view_get_item_at(view, 0), ==, 1);
  gtk_drop_down_set_selected(kind, 1); /* Unlabeled */
  g_assert_cmpuint(agfas_dataset_view_get_n_shown(view), ==, N_ITEMS - 6);
  gtk_drop_down_set_selected(kind, 0);
  GtkDropDown *domain = dropdown(view, "domain_dropdown");
  g_assert_cmpuint(g_list_model_get_n_items(gtk_drop_down_get_model(domain)),
                   ==, 3);
  gtk_drop_down_set_selected(domain, 2); /* phone: odd items */
  g_assert_cmpuint(agfas_dataset_view_get_n_shown(view), ==, N_ITEMS / 2);
  g_assert_nonnull(strstr(agfas_dataset_view_get_status_text(view),
                          "6 shown"));
  gtk_drop_down_set_selected(domain, 0);
  GtkSpinButton *min = GTK_SPIN_BUTTON(gtk_widget_get_template_child(
    GTK_WIDGET(view), AGFAS_TYPE_DATASET_VIEW, "min_spin"));
  gtk_spin_button_set_value(min, 0.5);
  for (guint p = 0; p < agfas_dataset_view_get_n_shown(view); p++) {
    guint i = agfas_dataset_view_get_item_at(view, p);
    g_assert_cmpfloat(agfas_label_store_get_item(store, i)->score, >=, 0.5);
  }
  g_assert_cmpuint(agfas_dataset_view_get_n_shown(view), ==, 6);
  gtk_spin_button_set_value(min, 0);
  g_assert_cmpuint(agfas_dataset_view_get_n_shown(view), ==, N_ITEMS);
  agfas_dataset_view_select(view, 6);
  GtkDropDown *sort = dropdown(view, "sort_dropdown");
  gtk_drop_down_set_selected(sort, 2); /* score descending */
  double prev = INFINITY;
  for (guint p = 0; p + 1 < N_ITEMS; p++) {  /* the unscored one is last */
    double s = agfas_label_store_get_item(
      store, agfas_dataset_view_get_item_at(view, p))->score;
    g_assert_cmpfloat(s, <=, prev);
    prev = s;
  }
  g_assert_cmpuint(agfas_dataset_view_get_item_at(view, N_ITEMS - 1), ==, 3);
  /* The selected item stays selected across re-filtering. */
  g_assert_cmpuint(agfas_dataset_view_get_selected(view), ==, 6);

  gtk_drop_down_set_selected(sort, 0);
  agfas_dataset_view_select(view, 2);
  app_test_settle(600);  /* thumbnails decode off the main thread */
  app_test_save_screenshot(GTK_WIDGET(agfas_application_get_window(app)),
                  "app-dataset.png");

  /* Quitting compacts the journal into the manifest, in its format. */
  g_action_group_activate_action(G_ACTION_GROUP(app), "quit", NULL);
  g_application_release(G_APPLICATION(app));
  app_test_settle(100);
  g_object_unref(app);
  g_assert_false(g_file_test(jpath, G_FILE_TEST_EXISTS));
  g_autoptr(AgfManifest) m = agf_manifest_load(path, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(agf_manifest_len(m), ==, N_ITEMS);
  g_assert_cmpint(agf_manifest_get(m, 0)->label, ==, AGF_LABEL_LIVE);
  g_assert_cmpstr(agf_manifest_get(m, 3)->attack, ==, "mask");
  g_assert_cmpint(agf_manifest_get(m, 5)->label, ==, AGF_LABEL_UNSURE);
  g_assert_cmpint(agf_manifest_get(m, 6)->label, ==, AGF_LABEL_NONE);

  g_unsetenv("AGFAS_MODELS_DIR");
  app_test_remove_tree(dir);
}

static AgfasLabelKind kill_kind(guint e)
{
  AgfasLabelKind k = AGFAS_LABEL_KIND_NONE;
  g_assert_true(agfas_label_kind_parse(KINDS[(e / N_ITEMS + e) %
                                             G_N_ELEMENTS(KINDS)], &k));
  return k;
}

/* Child: opens the manifest in the app and labels item e % N_ITEMS with
 * kill_kind(e) through the view's action until killed, printing e once
 * the store has it (set_label journals before it returns). */
static int child_main(const char *path)
{
  gtk_init();
  AgfasApplication *app = start_app();
  g_application_activate(G_APPLICATION(app));
  AgfasDatasetView *view = open_manifest(app, path);
  AgfasLabelStore *store = agfas_dataset_view_get_store(view);
  for (guint e = 0; e < KILL_MAX_EDITS; e++) {
    agfas_dataset_view_select(view, e % N_ITEMS);
    label(view, agfas_label_kind_name(kill_kind(e)));
    if (agfas_label_store_get_kind(store, e % N_ITEMS) != kill_kind(e)) {
      fprintf(stderr, "child: %s\n", agfas_dataset_view_get_status_text(view));
      return 1;
    }
    printf("%u\n", e);
    fflush(stdout);
    while (g_main_context_iteration(NULL, FALSE))
      ;
  }
  return 0;
}

static void test_kill(void)
{
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp("agfas-dskill-XXXXXX", &error);
  g_assert_no_error(error);
  g_autofree char *path = write_dataset(dir);
  g_auto(GStrv) env = g_get_environ();
  env = g_environ_setenv(env, "AGFAS_MODELS_DIR", dir, TRUE);
  guint acks = app_test_kill_child(CHILD_FLAG, path, env, KILL_AFTER_ACKS);
  g_test_message("child killed after %u acknowledged labels", acks);

  /* Reopen: every acknowledged label is there; the one in flight at the
   * kill may or may not be. */
  AgfasLabelKind want[N_ITEMS] = { 0 };
  for (guint e = 0; e < acks; e++)
    want[e % N_ITEMS] = kill_kind(e);
  AgfasLabelStore *s = agfas_label_store_open(path, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(agfas_label_store_get_n_unmatched(s), ==, 0);
  g_assert_cmpuint(agfas_label_store_get_n_replayed(s), >=, acks);
  for (guint i = 0; i < N_ITEMS; i++) {
    AgfasLabelKind got = agfas_label_store_get_kind(s, i);
    if (i == acks % N_ITEMS && got == kill_kind(acks))
      continue;
    g_assert_cmpint(got, ==, want[i]);
  }
  g_assert_true(agfas_label_store_close(s, &error));
  g_assert_no_error(error);
  g_object_unref(s);
  app_test_remove_tree(dir);
}

int main(int argc, char **argv)
{
  if (argc == 3 && strcmp(argv[1], CHILD_FLAG) == 0)
    return child_main(argv[2]);
  gtk_test_init(&argc, &argv, NULL);
  g_test_add_func("/app/dataset/label", test_label);
  g_test_add_func("/app/dataset/kill", test_kill);
  return g_test_run();
}
