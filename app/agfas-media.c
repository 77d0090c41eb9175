/* See agfas-media.h. */
#include "agfas-media.h"

#include "agfas-dataset-view.h"
#include "agfas-folder.h"
#include "agfas-media-score.h"
#include "agfas-recent.h"

#define MEDIA_KEY "agfas-media"

typedef struct {
  AgfasWindow *win;          /* not a ref: the window owns this */
  AgfasEngine *engine;
  GtkStack *stack;
  GtkLabel *status;          /* the analysis page's status line */
  AgfasVideoView *video;
  AgfasLiveView *live;
  char *recent_path;
  GMenu *recent_menu;
  GtkFileChooserNative *chooser;
  AgfasFolderExport *export;
  GtkWindow *export_dialog;
  GtkProgressBar *export_bar;
} Media;

static Media *media_of(AgfasWindow *win)
{
  return g_object_get_data(G_OBJECT(win), MEDIA_KEY);
}

static void media_free(gpointer data)
{
  Media *m = data;
  if (m->export) {
    /* The running task keeps the export alive: it must not call back. */
    g_signal_handlers_disconnect_by_data(m->export, m);
    agfas_folder_export_cancel(m->export);
  }
  g_clear_object(&m->export);
  if (m->export_dialog) {
    g_signal_handlers_disconnect_by_data(m->export_dialog, m);
    gtk_window_destroy(m->export_dialog);
  }
  if (m->chooser)
    gtk_native_dialog_destroy(GTK_NATIVE_DIALOG(m->chooser));
  g_clear_object(&m->chooser);
  agfas_engine_unref(m->engine);
  g_free(m->recent_path);
  g_object_unref(m->recent_menu);
  g_free(m);
}

/* A modal native chooser for m, one at a time (NULL while another is
 * open): the caller adds its filters and shows it. */
static GtkFileChooser *new_chooser(Media *m, const char *title,
                                   GtkFileChooserAction action,
                                   const char *accept, GCallback on_response)
{
  if (m->chooser)
    return NULL;
  m->chooser = gtk_file_chooser_native_new(title, GTK_WINDOW(m->win), action,
                                           accept, "_Cancel");
  gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(m->chooser), TRUE);
  g_signal_connect(m->chooser, "response", on_response, m);
  return GTK_FILE_CHOOSER(m->chooser);
}

/* The file a chooser's response accepted (NULL: none), the chooser
 * released. */
static GFile *chosen_file(Media *m, GtkNativeDialog *dialog, int response)
{
  GFile *file = response == GTK_RESPONSE_ACCEPT
                  ? gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog))
                  : NULL;
  g_clear_object(&m->chooser);
  return file;
}

static void refresh_recent(Media *m)
{
  g_auto(GStrv) paths = agfas_recent_load(m->recent_path);
  agfas_recent_fill_menu(m->recent_menu, (const char *const *)paths,
                         "win.open-recent");
}

static void set_status(Media *m, const char *text)
{
  gtk_label_set_text(m->status, text);
}

static void open_video(Media *m, const char *path)
{
  if (!m->video) {
    m->video = agfas_video_view_new();
    gtk_stack_add_named(m->stack, GTK_WIDGET(m->video), "video");
  }
  if (m->live)
    agfas_live_view_stop(m->live);
  gtk_stack_set_visible_child_name(m->stack, "video");
  AgfasAnalysisParams p;
  agfas_window_get_params(m->win, &p);
  agfas_video_view_open(m->video, path, m->engine,
                        agfas_window_get_device_spec(m->win), &p);
}

static void open_folder(Media *m, GFile *file, const char *path)
{
  GError *error = NULL;
  guint added = 0;
  g_autofree char *manifest = agfas_folder_ensure_manifest(path, &added,
                                                           &error);
  if (!manifest) {
    /* Shown where the user looks: the analysis page's status line. */
    gtk_stack_set_visible_child_name(m->stack, "analysis");
    g_autofree char *msg = g_strdup_printf("Cannot open the folder: %s",
                                           error->message);
    set_status(m, msg);
    g_error_free(error);
    return;
  }
  g_autoptr(GFile) mf = g_file_new_for_path(manifest);
  agfas_window_open(m->win, mf);
  g_autofree char *name = g_file_get_basename(file);
  gtk_window_set_title(GTK_WINDOW(m->win), name);
}

gboolean agfas_media_open(AgfasWindow *win, GFile *file)
{
  Media *m = media_of(win);
  g_return_val_if_fail(m && G_IS_FILE(file), FALSE);
  g_autofree char *path = g_file_get_path(file);
  if (!path)
    return FALSE;
  GError *error = NULL;
  /* An implicit manifest is recorded as its folder, which is what the
   * user opened. */
  g_autofree char *base = g_path_get_basename(path);
  if (g_strcmp0(base, AGFAS_FOLDER_MANIFEST_NAME) != 0) {
    if (!agfas_recent_add(m->recent_path, path, &error)) {
      g_warning("%s", error->message);
      g_clear_error(&error);
    }
    refresh_recent(m);
  }
  if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
    open_folder(m, file, path);
    return TRUE;
  }
  if (agfas_media_kind_of(path) == AGFAS_MEDIA_VIDEO) {
    open_video(m, path);
    return TRUE;
  }
  if (m->video)
    agfas_video_view_stop(m->video);
  if (m->live)
    agfas_live_view_stop(m->live);
  return FALSE;
}

static void on_open_recent(GSimpleAction *action, GVariant *param,
                           gpointer data)
{
  (void)action;
  g_autoptr(GFile) file = g_file_new_for_path(g_variant_get_string(param,
                                                                   NULL));
  agfas_window_open(data, file);
}

static void on_folder_response(GtkNativeDialog *dialog, int response,
                               gpointer data)
{
  Media *m = data;
  g_autoptr(GFile) file = chosen_file(m, dialog, response);
  if (file)
    agfas_window_open(m->win, file);
}

static void on_open_folder(GSimpleAction *action, GVariant *param,
                           gpointer data)
{
  (void)action, (void)param;
  Media *m = media_of(data);
  if (new_chooser(m, "Open Folder", GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                  "_Open", G_CALLBACK(on_folder_response)))
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(m->chooser));
}

static void on_camera(GSimpleAction *action, GVariant *param, gpointer data)
{
  (void)action, (void)param;
  Media *m = media_of(data);
  if (!m->live) {
    m->live = agfas_live_view_new();
    gtk_stack_add_named(m->stack, GTK_WIDGET(m->live), "live");
  }
  if (m->video)
    agfas_video_view_stop(m->video);
  gtk_stack_set_visible_child_name(m->stack, "live");
  AgfasAnalysisParams p;
  agfas_window_get_params(m->win, &p);
  /* No camera: the page itself says so and what to do. */
  agfas_live_view_start_camera(m->live, NULL, m->engine,
                               agfas_window_get_device_spec(m->win), &p,
                               NULL);
}

/* ---- folder score export: progress dialog with Cancel ---- */

static void on_export_progress(AgfasFolderExport *ex, guint done, guint total,
                               gpointer data)
{
  (void)ex;
  Media *m = data;
  if (!m->export_bar)
    return;
  g_autofree char *text = g_strdup_printf("Item %u / %u", done, total);
  gtk_progress_bar_set_fraction(m->export_bar, total ? (double)done / total
                                                     : 1);
  gtk_progress_bar_set_text(m->export_bar, text);
}

static void on_export_finished(AgfasFolderExport *ex, gpointer data)
{
  Media *m = data;
  g_autofree char *msg = NULL;
  switch (agfas_folder_export_get_state(ex)) {
  case AGFAS_FOLDER_EXPORT_DONE:
    msg = g_strdup_printf("Exported %u rows of scores to %s",
                          agfas_folder_export_get_n_rows(ex),
                          agfas_folder_export_get_out_path(ex));
    break;
  case AGFAS_FOLDER_EXPORT_CANCELLED:
    msg = g_strdup("Score export cancelled; nothing was written");
    break;
  default:
    msg = g_strdup_printf("Score export failed: %s",
                          agfas_folder_export_get_error(ex));
  }
  set_status(m, msg);
  AgfasDatasetView *dv = agfas_window_get_dataset_view(m->win);
  if (dv)
    gtk_widget_set_tooltip_text(GTK_WIDGET(dv), msg);
  if (m->export_dialog)
    gtk_window_destroy(m->export_dialog);
}

static void on_export_dialog_destroy(GtkWidget *w, gpointer data)
{
  (void)w;
  Media *m = data;
  m->export_dialog = NULL;
  m->export_bar = NULL;
  if (m->export &&
      agfas_folder_export_get_state(m->export) == AGFAS_FOLDER_EXPORT_RUNNING)
    agfas_folder_export_cancel(m->export);
}

static void show_export_dialog(Media *m, const char *path)
{
  GtkWidget *win = gtk_window_new();
  gtk_window_set_title(GTK_WINDOW(win), "Exporting Scores");
  gtk_window_set_transient_for(GTK_WINDOW(win), GTK_WINDOW(m->win));
  gtk_window_set_default_size(GTK_WINDOW(win), 420, -1);
  GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
  gtk_widget_add_css_class(box, "knobs");
  g_autofree char *base = g_path_get_basename(path);
  g_autofree char *text = g_strdup_printf("Scoring every item into %s", base);
  gtk_box_append(GTK_BOX(box), gtk_label_new(text));
  GtkWidget *bar = gtk_progress_bar_new();
  gtk_progress_bar_set_show_text(GTK_PROGRESS_BAR(bar), TRUE);
  gtk_widget_set_tooltip_text(bar, "Items scored so far");
  gtk_box_append(GTK_BOX(box), bar);
  GtkWidget *cancel = gtk_button_new_with_mnemonic("_Cancel");
  gtk_widget_set_halign(cancel, GTK_ALIGN_END);
  gtk_widget_set_tooltip_text(cancel, "Stop the export; no file is written");
  g_signal_connect_swapped(cancel, "clicked", G_CALLBACK(gtk_window_destroy),
                           win);
  gtk_box_append(GTK_BOX(box), cancel);
  gtk_window_set_child(GTK_WINDOW(win), box);
  g_signal_connect(win, "destroy", G_CALLBACK(on_export_dialog_destroy), m);
  m->export_dialog = GTK_WINDOW(win);
  m->export_bar = GTK_PROGRESS_BAR(bar);
  gtk_window_present(GTK_WINDOW(win));
}

gboolean agfas_media_export_scores_to(AgfasWindow *win, const char *path)
{
  Media *m = media_of(win);
  g_return_val_if_fail(m && path, FALSE);
  AgfasDatasetView *dv = agfas_window_get_dataset_view(win);
  AgfasLabelStore *store = dv ? agfas_dataset_view_get_store(dv) : NULL;
  if (!store) {
    set_status(m, "Open a folder or a dataset manifest first: the export "
                  "scores its items");
    return FALSE;
  }
  if (m->export) {
    g_signal_handlers_disconnect_by_data(m->export, m);
    agfas_folder_export_cancel(m->export);
  }
  g_clear_object(&m->export);
  if (m->export_dialog)
    gtk_window_destroy(m->export_dialog);
  AgfasAnalysisParams p;
  agfas_window_get_params(win, &p);
  m->export = agfas_folder_export_new(store, m->engine,
                                      agfas_window_get_device_spec(win), &p,
                                      path);
  g_signal_connect(m->export, "progress", G_CALLBACK(on_export_progress), m);
  g_signal_connect(m->export, "finished", G_CALLBACK(on_export_finished), m);
  show_export_dialog(m, path);
  agfas_folder_export_start(m->export);
  return TRUE;
}

static void on_export_response(GtkNativeDialog *dialog, int response,
                               gpointer data)
{
  Media *m = data;
  g_autoptr(GFile) file = chosen_file(m, dialog, response);
  g_autofree char *path = file ? g_file_get_path(file) : NULL;
  if (path)
    agfas_media_export_scores_to(m->win, path);
  else if (response == GTK_RESPONSE_ACCEPT)
    set_status(m, "Score export: pick a local file");
}

static void on_export_scores(GSimpleAction *action, GVariant *param,
                             gpointer data)
{
  (void)action, (void)param;
  Media *m = media_of(data);
  GtkFileChooser *fc = new_chooser(m, "Export Scores",
                                   GTK_FILE_CHOOSER_ACTION_SAVE, "_Export",
                                   G_CALLBACK(on_export_response));
  if (!fc)
    return;
  GtkFileFilter *f = gtk_file_filter_new();
  gtk_file_filter_set_name(f, "Score tables (CSV, or JSON by .json)");
  gtk_file_filter_add_suffix(f, "csv");
  gtk_file_filter_add_suffix(f, "json");
  gtk_file_chooser_add_filter(fc, f);
  g_object_unref(f);
  gtk_file_chooser_set_current_name(fc, "scores.csv");
  gtk_native_dialog_show(GTK_NATIVE_DIALOG(m->chooser));
}

void agfas_media_add_filters(GtkFileChooser *chooser)
{
  GtkFileFilter *all = gtk_file_filter_new();
  gtk_file_filter_set_name(all, "Images, videos and manifests");
  GtkFileFilter *videos = gtk_file_filter_new();
  gtk_file_filter_set_name(videos, "Videos");
  gtk_file_filter_add_mime_type(all, "image/*");
  gtk_file_filter_add_mime_type(all, "video/*");
  gtk_file_filter_add_mime_type(videos, "video/*");
  static const char *const suffixes[] = { "csv", "jsonl" };
  for (guint i = 0; i < G_N_ELEMENTS(suffixes); i++)
    gtk_file_filter_add_suffix(all, suffixes[i]);
  gtk_file_chooser_add_filter(chooser, all);
  gtk_file_chooser_add_filter(chooser, videos);
  gtk_file_chooser_set_filter(chooser, all);
  g_object_unref(all);
  g_object_unref(videos);
}

void agfas_media_attach(AgfasWindow *win, AgfasEngine *engine)
{
  g_return_if_fail(AGFAS_IS_WINDOW(win) && engine && !media_of(win));
  Media *m = g_new0(Media, 1);
  m->win = win;
  m->engine = agfas_engine_ref(engine);
  m->stack = GTK_STACK(gtk_widget_get_template_child(
    GTK_WIDGET(win), AGFAS_TYPE_WINDOW, "stack"));
  m->status = GTK_LABEL(gtk_widget_get_template_child(
    GTK_WIDGET(win), AGFAS_TYPE_WINDOW, "status_label"));
  m->recent_path = agfas_recent_default_path();
  m->recent_menu = g_menu_new();
  g_object_set_data_full(G_OBJECT(win), MEDIA_KEY, m, media_free);
  refresh_recent(m);

  static const GActionEntry entries[] = {
    { .name = "open-recent", .parameter_type = "s",
      .activate = on_open_recent },
    { .name = "open-folder", .activate = on_open_folder },
    { .name = "camera", .activate = on_camera },
    { .name = "export-scores", .activate = on_export_scores },
  };
  g_action_map_add_action_entries(G_ACTION_MAP(win), entries,
                                  G_N_ELEMENTS(entries), win);
  GMenu *section = G_MENU(gtk_widget_get_template_child(
    GTK_WIDGET(win), AGFAS_TYPE_WINDOW, "media_section"));
  if (section) {
    g_menu_append(section, "Open _Folder…", "win.open-folder");
    g_menu_append_submenu(section, "Open _Recent",
                          G_MENU_MODEL(m->recent_menu));
    g_menu_append(section, "_Camera", "win.camera");
    g_menu_append(section, "Export _Scores…", "win.export-scores");
  }
}

AgfasVideoView *agfas_media_get_video_view(AgfasWindow *win)
{
  Media *m = media_of(win);
  return m ? m->video : NULL;
}

AgfasLiveView *agfas_media_get_live_view(AgfasWindow *win)
{
  Media *m = media_of(win);
  return m ? m->live : NULL;
}

const char *agfas_media_get_recent_path(AgfasWindow *win)
{
  Media *m = media_of(win);
  return m ? m->recent_path : NULL;
}

GMenuModel *agfas_media_get_recent_menu(AgfasWindow *win)
{
  Media *m = media_of(win);
  return m ? G_MENU_MODEL(m->recent_menu) : NULL;
}

AgfasFolderExport *agfas_media_get_export(AgfasWindow *win)
{
  Media *m = media_of(win);
  return m ? m->export : NULL;
}
