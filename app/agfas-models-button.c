/* See agfas-models-button.h. */
#include "agfas-models-button.h"

struct _AgfasModelsButton {
  GtkWidget parent_instance;
  GtkMenuButton *button;
  GtkLabel *state[AGFAS_MODEL_COUNT], *path[AGFAS_MODEL_COUNT],
    *note[AGFAS_MODEL_COUNT];
  GtkLabel *message;
  AgfasEngine *engine;
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE(AgfasModelsButton, agfas_models_button, GTK_TYPE_WIDGET)

enum { SIG_MODEL_OPENED, N_SIGNALS };
static guint signals[N_SIGNALS];

static const char *const state_texts[] = {
  [AGFAS_MODEL_STATE_MISSING] = "Not installed",
  [AGFAS_MODEL_STATE_FOUND] = "Installed, loads on the next analysis",
  [AGFAS_MODEL_STATE_LOADED] = "Loaded",
  [AGFAS_MODEL_STATE_FAILED] = "Failed to load",
};

static void agfas_models_button_dispose(GObject *object)
{
  AgfasModelsButton *self = AGFAS_MODELS_BUTTON(object);
  if (self->chooser)
    gtk_native_dialog_destroy(GTK_NATIVE_DIALOG(self->chooser));
  g_clear_object(&self->chooser);
  g_clear_pointer(&self->engine, agfas_engine_unref);
  if (self->button)
    gtk_widget_unparent(GTK_WIDGET(self->button));
  self->button = NULL;
  G_OBJECT_CLASS(agfas_models_button_parent_class)->dispose(object);
}

static void on_chooser_response(GtkNativeDialog *dialog, int response,
                                gpointer data)
{
  AgfasModelsButton *self = data;
  if (response == GTK_RESPONSE_ACCEPT) {
    g_autoptr(GFile) file = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
    g_autofree char *path = file ? g_file_get_path(file) : NULL;
    GError *error = NULL;
    AgfasModel m;
    if (!path)
      gtk_label_set_text(self->message, "Pick a local file");
    else if (!agfas_models_button_open_path(self, path, &m, &error))
      g_error_free(error); /* shown in the message line */
  }
  g_clear_object(&self->chooser);
}

static void open_model(GtkWidget *widget, const char *action,
                       GVariant *param)
{
  (void)action, (void)param;
  AgfasModelsButton *self = AGFAS_MODELS_BUTTON(widget);
  if (self->chooser)
    return;
  gtk_menu_button_popdown(self->button);
  GtkRoot *root = gtk_widget_get_root(widget);
  self->chooser = gtk_file_chooser_native_new(
    "Open Model", GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL,
    GTK_FILE_CHOOSER_ACTION_OPEN, "_Open", "_Cancel");
  GtkFileFilter *filter = gtk_file_filter_new();
  gtk_file_filter_set_name(filter, "Checkpoints (safetensors)");
  gtk_file_filter_add_suffix(filter, "safetensors");
  gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(self->chooser), filter);
  g_object_unref(filter);
  gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(self->chooser), TRUE);
  g_signal_connect(self->chooser, "response", G_CALLBACK(on_chooser_response),
                   self);
  gtk_native_dialog_show(GTK_NATIVE_DIALOG(self->chooser));
}

static void agfas_models_button_class_init(AgfasModelsButtonClass *klass)
{
  GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
  G_OBJECT_CLASS(klass)->dispose = agfas_models_button_dispose;
  gtk_widget_class_set_layout_manager_type(wc, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_install_action(wc, "models.open", NULL, open_model);
  signals[SIG_MODEL_OPENED] = g_signal_new(
    "model-opened", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
    NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);
}

static GtkLabel *add_label(GtkGrid *grid, int row, const char *css,
                           gboolean wrap)
{
  GtkWidget *l = gtk_label_new(NULL);
  gtk_label_set_xalign(GTK_LABEL(l), 0);
  gtk_label_set_selectable(GTK_LABEL(l), TRUE);
  if (wrap) {
    gtk_label_set_wrap(GTK_LABEL(l), TRUE);
    gtk_label_set_max_width_chars(GTK_LABEL(l), 60);
  } else {
    gtk_label_set_ellipsize(GTK_LABEL(l), PANGO_ELLIPSIZE_MIDDLE);
    gtk_label_set_max_width_chars(GTK_LABEL(l), 60);
  }
  if (css)
    gtk_widget_add_css_class(l, css);
  gtk_grid_attach(grid, l, 0, row, 2, 1);
  return GTK_LABEL(l);
}

static void agfas_models_button_init(AgfasModelsButton *self)
{
  self->button = GTK_MENU_BUTTON(gtk_menu_button_new());
  gtk_menu_button_set_label(self->button, "Models");
  gtk_widget_set_tooltip_text(GTK_WIDGET(self->button),
                              "The networks in use, and Open Model… to load "
                              "another checkpoint");
  gtk_widget_set_parent(GTK_WIDGET(self->button), GTK_WIDGET(self));

  GtkGrid *grid = GTK_GRID(gtk_grid_new());
  gtk_grid_set_row_spacing(grid, 2);
  gtk_grid_set_column_spacing(grid, 12);
  int row = 0;
  for (int m = 0; m < AGFAS_MODEL_COUNT; m++) {
    GtkWidget *title = gtk_label_new(agfas_model_title(m));
    gtk_label_set_xalign(GTK_LABEL(title), 0);
    gtk_widget_add_css_class(title, "heading");
    if (m > 0)
      gtk_widget_set_margin_top(title, 8);
    gtk_grid_attach(grid, title, 0, row, 1, 1);
    GtkWidget *state = gtk_label_new(NULL);
    gtk_label_set_xalign(GTK_LABEL(state), 1);
    gtk_widget_set_hexpand(state, TRUE);
    gtk_widget_set_valign(state, GTK_ALIGN_END);
    gtk_grid_attach(grid, state, 1, row++, 1, 1);
    self->state[m] = GTK_LABEL(state);
    self->path[m] = add_label(grid, row++, "caption", FALSE);
    self->note[m] = add_label(grid, row++, "dim-label", TRUE);
    gtk_widget_add_css_class(GTK_WIDGET(self->note[m]), "caption");
  }
  self->message = add_label(grid, row++, "caption", TRUE);
  gtk_widget_set_margin_top(GTK_WIDGET(self->message), 8);
  gtk_widget_set_visible(GTK_WIDGET(self->message), FALSE);
  GtkWidget *open = gtk_button_new_with_mnemonic("_Open Model…");
  gtk_actionable_set_action_name(GTK_ACTIONABLE(open), "models.open");
  gtk_widget_set_tooltip_text(open, "Load a .safetensors checkpoint for this "
                                    "session; its network is detected from "
                                    "its metadata or tensor names");
  gtk_widget_set_margin_top(open, 8);
  gtk_grid_attach(grid, open, 0, row, 2, 1);
  GtkWidget *popover = gtk_popover_new();
  gtk_popover_set_child(GTK_POPOVER(popover), GTK_WIDGET(grid));
  gtk_menu_button_set_popover(self->button, popover);
  g_signal_connect_swapped(popover, "show",
                           G_CALLBACK(agfas_models_button_refresh), self);
  agfas_models_button_refresh(self);
}

void agfas_models_button_set_engine(AgfasModelsButton *self,
                                    AgfasEngine *engine)
{
  g_return_if_fail(AGFAS_IS_MODELS_BUTTON(self));
  if (engine)
    agfas_engine_ref(engine);
  g_clear_pointer(&self->engine, agfas_engine_unref);
  self->engine = engine;
  agfas_models_button_refresh(self);
}

void agfas_models_button_refresh(AgfasModelsButton *self)
{
  g_return_if_fail(AGFAS_IS_MODELS_BUTTON(self));
  for (int m = 0; m < AGFAS_MODEL_COUNT; m++) {
    AgfasModelStatus st = { 0 };
    if (self->engine) {
      agfas_engine_model_status(self->engine, m, &st);
    } else {
      GError *error = NULL;
      st.path = agfas_model_find(m, &error);
      st.state = st.path ? AGFAS_MODEL_STATE_FOUND : AGFAS_MODEL_STATE_MISSING;
      st.note = error ? g_strdup(error->message) : NULL;
      g_clear_error(&error);
    }
    gtk_label_set_text(self->state[m], state_texts[st.state]);
    g_autofree char *path = st.path ? g_strdup_printf(
      "%s%s", st.path, st.session ? " (opened this session)" : "") : NULL;
    gtk_label_set_text(self->path[m], path ? path : "");
    gtk_widget_set_visible(GTK_WIDGET(self->path[m]), path != NULL);
    gtk_label_set_text(self->note[m], st.note ? st.note : "");
    gtk_widget_set_visible(GTK_WIDGET(self->note[m]), st.note != NULL);
    agfas_model_status_clear(&st);
  }
}

const char *agfas_models_button_get_state_text(AgfasModelsButton *self,
                                               AgfasModel m)
{
  g_return_val_if_fail(AGFAS_IS_MODELS_BUTTON(self) && m < AGFAS_MODEL_COUNT,
                       NULL);
  return gtk_label_get_text(self->state[m]);
}

gboolean agfas_models_button_open_path(AgfasModelsButton *self,
                                       const char *path, AgfasModel *out,
                                       GError **error)
{
  g_return_val_if_fail(AGFAS_IS_MODELS_BUTTON(self) && path, FALSE);
  AgfasModel m;
  GError *err = NULL;
  gboolean ok = self->engine != NULL;
  if (!ok)
    g_set_error(&err, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                "No analysis engine to load %s into", path);
  else
    ok = agfas_model_detect(path, &m, &err);
  gtk_widget_set_visible(GTK_WIDGET(self->message), TRUE);
  if (!ok) {
    gtk_label_set_text(self->message, err->message);
    g_propagate_error(error, err);
    return FALSE;
  }
  agfas_engine_set_model_path(self->engine, m, path);
  g_autofree char *base = g_path_get_basename(path);
  g_autofree char *msg = g_strdup_printf("%s opened as the %s", base,
                                         agfas_model_title(m));
  gtk_label_set_text(self->message, msg);
  agfas_models_button_refresh(self);
  if (out)
    *out = m;
  g_signal_emit(self, signals[SIG_MODEL_OPENED], 0, (int)m);
  return TRUE;
}

const char *agfas_models_button_get_message(AgfasModelsButton *self)
{
  g_return_val_if_fail(AGFAS_IS_MODELS_BUTTON(self), NULL);
  return gtk_label_get_text(self->message);
}
