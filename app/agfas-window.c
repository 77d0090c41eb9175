/* See agfas-window.h. */
#include "agfas-window.h"

#include "agfas-dataset-view.h"
#include "agfas-media.h"
#include "agfas-result-export.h"
#include "agfas-analysis-view.h"
#include "agfas-models-button.h"
#include "agfas-settings.h"
#include "agfas-sample.h"
#include "nn/device.h"

#include <string.h>

/* The verdict's threshold on the spoof probability. */
#define SPOOF_THRESHOLD 0.5

struct _AgfasWindow {
  GtkApplicationWindow parent_instance;
  GtkStack *stack;
  GtkDropDown *device_dropdown, *sampler_dropdown, *cmap_dropdown,
    *norm_dropdown;
  GtkAdjustment *t0_adj, *steps_adj, *seed_adj;
  GtkSwitch *mask_switch;
  GtkLabel *score_label, *status_label, *verdict_label;
  GtkWidget *header_bar, *knobs_pane, *knobs_separator;
  GtkFlowBox *panels;
  GtkLevelBar *score_bar;
  GtkProgressBar *progress_bar;
  AgfasPanel *input_panel, *recon_panel, *heat_panel, *cue_panel;
  AgfasViewKnobs *view_knobs;        /* overlay, timing (appview) */
  GtkLabel *hover_label;
  AgfasModelsButton *models_button;
  AgfasAnalysisView *analysis_view;  /* zoom, hover, overlay glue */
  AgfasDatasetView *dataset_view;  /* the "dataset" page, made on first use */

  AgfasEngine *engine;
  GStrv device_specs;    /* parallel to the device dropdown's items */
  GFile *file;
  GCancellable *cancellable;
  guint generation;      /* of the latest request; stale results dropped */
  AgfasWindowState state;
  guint runs_finished;
  gboolean presenting;   /* presentation mode (win.present) */
  gboolean has_score;    /* the last result had a verdict */
  gboolean loading;      /* applying saved preferences: do not save */
  char *settings_path;
  AgfasAnalysisResult *result; /* the shown result, for win.export */
  char *result_source;         /* its input path */
  GtkFileChooserNative *export_chooser;
};

static const char *const cmap_names[] = { "viridis", "inferno", "turbo",
                                          "grey" };

G_DEFINE_FINAL_TYPE(AgfasWindow, agfas_window, GTK_TYPE_APPLICATION_WINDOW)

typedef struct {
  AgfasEngine *engine;
  char *spec, *path;
  AgfasAnalysisParams params;
  AgfasWindow *window;   /* ref: progress goes to it */
  guint generation;
} RunData;

static void run_data_free(gpointer data)
{
  RunData *d = data;
  agfas_engine_unref(d->engine);
  g_free(d->spec);
  g_free(d->path);
  g_object_unref(d->window);
  g_free(d);
}

typedef struct {
  AgfasWindow *window;
  guint generation;
  int done, total;
} ProgressMsg;

static gboolean progress_on_main(gpointer data)
{
  ProgressMsg *m = data;
  AgfasWindow *self = m->window;
  if (m->generation == self->generation && self->state == AGFAS_WINDOW_RUNNING) {
    g_autofree char *text = g_strdup_printf("Denoising step %d / %d",
                                            m->done, m->total);
    gtk_progress_bar_set_fraction(self->progress_bar,
                                  m->total ? (double)m->done / m->total : 0);
    gtk_progress_bar_set_text(self->progress_bar, text);
  }
  g_object_unref(m->window);
  g_free(m);
  return G_SOURCE_REMOVE;
}

/* Worker thread -> main loop. */
static void on_progress(int done, int total, gpointer data)
{
  RunData *d = data;
  ProgressMsg *m = g_new(ProgressMsg, 1);
  m->window = g_object_ref(d->window);
  m->generation = d->generation;
  m->done = done, m->total = total;
  g_main_context_invoke(NULL, progress_on_main, m);
}

static void run_thread(GTask *task, gpointer source, gpointer task_data,
                       GCancellable *cancellable)
{
  (void)source;
  RunData *d = task_data;
  GError *error = NULL;
  AgfasAnalysisResult *r = agfas_engine_run(d->engine, d->spec, d->path,
                                            &d->params, cancellable,
                                            on_progress, d, &error);
  if (r)
    g_task_return_pointer(task, r, (GDestroyNotify)agfas_analysis_result_free);
  else
    g_task_return_error(task, error);
}

static GdkTexture *pixels_texture(const AgfasPixels *px)
{
  if (!px->rgba)
    return NULL;
  return gdk_memory_texture_new(px->width, px->height,
                                GDK_MEMORY_R8G8B8A8, px->rgba,
                                (gsize)px->width * 4);
}

static void show_result(AgfasWindow *self, const AgfasAnalysisResult *r)
{
  g_autoptr(GdkTexture) in = pixels_texture(&r->input);
  agfas_panel_show(self->input_panel, in, r->face_note);
  agfas_canvas_set_face(agfas_panel_get_canvas(self->input_panel), r->box,
                        r->landmarks);
  g_autoptr(GdkTexture) rec = pixels_texture(&r->recon);
  g_autoptr(GdkTexture) heat = pixels_texture(&r->heat);
  g_autoptr(GdkTexture) cue = pixels_texture(&r->cue);
  agfas_panel_show(self->recon_panel, rec, r->dfg_note);
  agfas_panel_show(self->heat_panel, heat, r->dfg_note);
  agfas_panel_show(self->cue_panel, cue, r->dfg_note);

  if (r->has_score) {
    g_autofree char *s = g_strdup_printf(
      "Spoof probability %.3f: %s", r->score,
      r->score >= SPOOF_THRESHOLD ? "spoof" : "live");
    gtk_label_set_text(self->score_label, s);
    gtk_level_bar_set_value(self->score_bar, r->score);
  } else {
    gtk_label_set_text(self->score_label, r->score_note);
  }
  gtk_widget_set_visible(GTK_WIDGET(self->score_bar), r->has_score);
  self->has_score = r->has_score;
  if (r->has_score) {
    gboolean spoof = r->score >= SPOOF_THRESHOLD;
    gtk_label_set_text(self->verdict_label, spoof ? "SPOOF" : "LIVE");
    gtk_widget_remove_css_class(GTK_WIDGET(self->verdict_label),
                                spoof ? "live" : "spoof");
    gtk_widget_add_css_class(GTK_WIDGET(self->verdict_label),
                             spoof ? "spoof" : "live");
  }
  gtk_widget_set_visible(GTK_WIDGET(self->verdict_label),
                         self->presenting && self->has_score);
  /* The verdict in large type; a missing-model note as plain text. */
  if (r->has_score)
    gtk_widget_add_css_class(GTK_WIDGET(self->score_label), "score");
  else
    gtk_widget_remove_css_class(GTK_WIDGET(self->score_label), "score");
  g_autofree char *status = g_strdup_printf(
    "%s · %d U-Net calls · %.2f s", r->device_name, r->n_calls, r->seconds);
  gtk_label_set_text(self->status_label, status);
  agfas_analysis_view_show(self->analysis_view, r);
  agfas_models_button_refresh(self->models_button);
}

static void update_export_action(AgfasWindow *self)
{
  GAction *action = g_action_map_lookup_action(G_ACTION_MAP(self), "export");
  if (action)
    g_simple_action_set_enabled(G_SIMPLE_ACTION(action),
                                self->result != NULL);
}

static void clear_result(AgfasWindow *self)
{
  agfas_analysis_view_show(self->analysis_view, NULL);
  g_clear_pointer(&self->result, agfas_analysis_result_free);
  g_clear_pointer(&self->result_source, g_free);
  update_export_action(self);
}

static void on_run_done(GObject *source, GAsyncResult *res, gpointer data)
{
  (void)data;
  AgfasWindow *self = AGFAS_WINDOW(source);
  RunData *d = g_task_get_task_data(G_TASK(res));
  GError *error = NULL;
  AgfasAnalysisResult *r = g_task_propagate_pointer(G_TASK(res), &error);
  if (d->generation != self->generation) {
    /* Superseded by a newer request: only its result counts. */
    g_clear_error(&error);
    g_clear_pointer(&r, agfas_analysis_result_free);
    return;
  }
  self->runs_finished++;
  gtk_progress_bar_set_fraction(self->progress_bar, r ? 1 : 0);
  gtk_progress_bar_set_text(self->progress_bar, r ? "Done" : "Failed");
  if (!r) {
    self->state = AGFAS_WINDOW_FAILED;
    self->has_score = FALSE;
    gtk_widget_set_visible(GTK_WIDGET(self->verdict_label), FALSE);
    gtk_label_set_text(self->status_label, error->message);
    gtk_label_set_text(self->score_label, "Analysis failed");
    g_error_free(error);
    clear_result(self);
    return;
  }
  self->state = AGFAS_WINDOW_DONE;
  show_result(self, r);
  g_clear_pointer(&self->result, agfas_analysis_result_free);
  g_free(self->result_source);
  self->result = r;
  self->result_source = g_strdup(d->path);
  update_export_action(self);
}

gboolean agfas_window_export_to(AgfasWindow *self, const char *path,
                                GError **error)
{
  g_return_val_if_fail(AGFAS_IS_WINDOW(self) && path, FALSE);
  const AgfasAnalysisResult *r = self->result;
  if (!r) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                "There is no analysis result to export");
    return FALSE;
  }
  return agfas_result_export(r, self->result_source, SPOOF_THRESHOLD, path,
                             error);
}

static void on_export_response(GtkNativeDialog *dialog, int response,
                               gpointer data)
{
  AgfasWindow *self = data;
  if (response == GTK_RESPONSE_ACCEPT) {
    g_autoptr(GFile) file = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
    g_autofree char *path = file ? g_file_get_path(file) : NULL;
    GError *error = NULL;
    if (!path) {
      gtk_label_set_text(self->status_label,
                         "Export failed: pick a local file");
    } else if (!agfas_window_export_to(self, path, &error)) {
      g_autofree char *msg = g_strdup_printf("Export failed: %s",
                                             error->message);
      gtk_label_set_text(self->status_label, msg);
      g_error_free(error);
    } else {
      g_autofree char *msg = g_strdup_printf("Exported to %s", path);
      gtk_label_set_text(self->status_label, msg);
    }
  }
  g_clear_object(&self->export_chooser);
}

/* GtkFileDialog needs GTK 4.10: the native chooser, as for app.open. */
static void on_export(GSimpleAction *action, GVariant *param, gpointer data)
{
  (void)action, (void)param;
  AgfasWindow *self = data;
  if (self->export_chooser || !self->result)
    return;
  self->export_chooser = gtk_file_chooser_native_new(
    "Export Result", GTK_WINDOW(self), GTK_FILE_CHOOSER_ACTION_SAVE,
    "_Export", "_Cancel");
  GtkFileChooser *chooser = GTK_FILE_CHOOSER(self->export_chooser);
  GtkFileFilter *png = gtk_file_filter_new();
  gtk_file_filter_set_name(png, "PNG images");
  gtk_file_filter_add_mime_type(png, "image/png");
  gtk_file_filter_add_suffix(png, "png");
  gtk_file_chooser_add_filter(chooser, png);
  g_object_unref(png);
  g_autofree char *stem = NULL;
  if (self->result_source) {
    g_autofree char *base = g_path_get_basename(self->result_source);
    char *dot = strrchr(base, '.');
    if (dot && dot != base)
      *dot = '\0';
    stem = g_strconcat(base, "-agfas.png", NULL);
  }
  gtk_file_chooser_set_current_name(chooser, stem ? stem : "agfas.png");
  gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(self->export_chooser), TRUE);
  g_signal_connect(self->export_chooser, "response",
                   G_CALLBACK(on_export_response), self);
  gtk_native_dialog_show(GTK_NATIVE_DIALOG(self->export_chooser));
}

static void read_params(AgfasWindow *self, AgfasAnalysisParams *p)
{
  static const AgfColormap cmaps[] = { AGF_CMAP_VIRIDIS, AGF_CMAP_INFERNO,
                                       AGF_CMAP_TURBO, AGF_CMAP_GREY };
  agfas_analysis_params_init(p);
  p->strength = gtk_adjustment_get_value(self->t0_adj);
  p->steps = (int)gtk_adjustment_get_value(self->steps_adj);
  p->seed = (guint64)gtk_adjustment_get_value(self->seed_adj);
  g_strlcpy(p->sampler,
            gtk_drop_down_get_selected(self->sampler_dropdown) == 1 ? "pndm"
                                                                    : "ddim",
            sizeof p->sampler);
  guint c = gtk_drop_down_get_selected(self->cmap_dropdown);
  p->cmap = cmaps[c < G_N_ELEMENTS(cmaps) ? c : 0];
  p->fixed_range = gtk_drop_down_get_selected(self->norm_dropdown) == 1;
  p->mask = gtk_switch_get_active(self->mask_switch);
}

static void start_run(AgfasWindow *self)
{
  if (!self->file)
    return;
  if (self->cancellable)
    g_cancellable_cancel(self->cancellable);
  g_clear_object(&self->cancellable);
  self->cancellable = g_cancellable_new();
  self->generation++;
  self->state = AGFAS_WINDOW_RUNNING;

  RunData *d = g_new0(RunData, 1);
  d->engine = agfas_engine_ref(self->engine);
  guint sel = gtk_drop_down_get_selected(self->device_dropdown);
  if (self->device_specs && sel < g_strv_length(self->device_specs))
    d->spec = g_strdup(self->device_specs[sel]);
  d->path = g_file_get_path(self->file);
  read_params(self, &d->params);
  d->window = g_object_ref(self);
  d->generation = self->generation;

  gtk_progress_bar_set_fraction(self->progress_bar, 0);
  gtk_progress_bar_set_text(self->progress_bar, "Analysing…");
  GTask *task = g_task_new(self, self->cancellable, on_run_done, NULL);
  g_task_set_source_tag(task, start_run);
  g_task_set_task_data(task, d, run_data_free);
  g_task_run_in_thread(task, run_thread);
  g_object_unref(task);
}

/* Saves the knobs' values; a failure is logged, the knobs still work. */
static void save_settings(AgfasWindow *self)
{
  AgfasSettings s = { 0 };
  guint sel = gtk_drop_down_get_selected(self->device_dropdown);
  s.device = g_strdup(self->device_specs && sel < g_strv_length(
                        self->device_specs) ? self->device_specs[sel]
                                            : "auto");
  guint c = gtk_drop_down_get_selected(self->cmap_dropdown);
  s.colormap = g_strdup(cmap_names[c < G_N_ELEMENTS(cmap_names) ? c : 0]);
  s.sampler = g_strdup(
    gtk_drop_down_get_selected(self->sampler_dropdown) == 1 ? "pndm" : "ddim");
  s.steps = (int)gtk_adjustment_get_value(self->steps_adj);
  s.t0 = gtk_adjustment_get_value(self->t0_adj);
  s.mask = gtk_switch_get_active(self->mask_switch);
  s.fixed_range = gtk_drop_down_get_selected(self->norm_dropdown) == 1;
  s.overlay = agfas_view_knobs_get_overlay(self->view_knobs);
  s.overlay_opacity = agfas_view_knobs_get_opacity(self->view_knobs);
  GError *error = NULL;
  if (!agfas_settings_save(&s, self->settings_path, &error)) {
    g_warning("%s", error->message);
    g_error_free(error);
  }
  agfas_settings_clear(&s);
}

/* Sets the knobs from the saved preferences, before any signal that
 * would start a run is connected (the device dropdown's template signal
 * is held off by `loading`). */
static void load_settings(AgfasWindow *self)
{
  AgfasSettings s;
  agfas_settings_init(&s);
  agfas_settings_load(&s, self->settings_path);
  self->loading = TRUE;
  for (guint i = 0; self->device_specs && self->device_specs[i]; i++)
    if (g_strcmp0(self->device_specs[i], s.device) == 0)
      gtk_drop_down_set_selected(self->device_dropdown, i);
  for (guint i = 0; i < G_N_ELEMENTS(cmap_names); i++)
    if (g_strcmp0(cmap_names[i], s.colormap) == 0)
      gtk_drop_down_set_selected(self->cmap_dropdown, i);
  gtk_drop_down_set_selected(self->sampler_dropdown,
                             g_strcmp0(s.sampler, "pndm") == 0);
  gtk_adjustment_set_value(self->steps_adj, s.steps);
  gtk_adjustment_set_value(self->t0_adj, s.t0);
  gtk_switch_set_active(self->mask_switch, s.mask);
  gtk_drop_down_set_selected(self->norm_dropdown, s.fixed_range ? 1 : 0);
  agfas_view_knobs_set_opacity(self->view_knobs, s.overlay_opacity);
  agfas_view_knobs_set_overlay(self->view_knobs, s.overlay);
  self->loading = FALSE;
  agfas_settings_clear(&s);
}

/* A display-only knob (the overlay): saved, no re-run. */
static void on_display_changed(AgfasWindow *self)
{
  if (!self->loading)
    save_settings(self);
}

static void on_model_opened(AgfasModelsButton *button, int model,
                            AgfasWindow *self)
{
  (void)button, (void)model;
  start_run(self);
}

static void on_knob_changed(AgfasWindow *self)
{
  if (self->loading)
    return;
  save_settings(self);
  start_run(self);
}

static void set_presenting(AgfasWindow *self, gboolean on)
{
  self->presenting = on;
  GAction *action = g_action_map_lookup_action(G_ACTION_MAP(self), "present");
  g_simple_action_set_state(G_SIMPLE_ACTION(action),
                            g_variant_new_boolean(on));
  /* Minimal chrome: no header bar, knobs, progress or status line; the
   * four panels in one row and the verdict in large type. */
  GtkWidget *chrome[] = { self->header_bar, self->knobs_pane,
                          self->knobs_separator,
                          GTK_WIDGET(self->progress_bar),
                          GTK_WIDGET(self->status_label) };
  for (guint i = 0; i < G_N_ELEMENTS(chrome); i++)
    gtk_widget_set_visible(chrome[i], !on);
  gtk_flow_box_set_min_children_per_line(self->panels, on ? 4 : 1);
  /* A selectable label takes the focus and shows a selection on screen. */
  gtk_label_set_selectable(self->score_label, !on);
  gtk_widget_set_visible(GTK_WIDGET(self->verdict_label),
                         on && self->has_score);
  if (on) {
    gtk_widget_add_css_class(GTK_WIDGET(self), "presenting");
    gtk_window_fullscreen(GTK_WINDOW(self));
  } else {
    gtk_widget_remove_css_class(GTK_WIDGET(self), "presenting");
    gtk_window_unfullscreen(GTK_WINDOW(self));
  }
}

static void on_present_change(GSimpleAction *action, GVariant *value,
                              gpointer data)
{
  (void)action;
  set_presenting(data, g_variant_get_boolean(value));
}

/* Esc leaves presentation mode; otherwise it goes on to other handlers. */
static gboolean on_escape(GtkWidget *widget, GVariant *args, gpointer data)
{
  (void)args, (void)data;
  AgfasWindow *self = AGFAS_WINDOW(widget);
  if (!self->presenting)
    return FALSE;
  set_presenting(self, FALSE);
  return TRUE;
}

static gboolean on_drop(GtkDropTarget *target, const GValue *value, double x,
                        double y, gpointer data)
{
  (void)target, (void)x, (void)y;
  AgfasWindow *self = data;
  GSList *files = gdk_file_list_get_files(g_value_get_boxed(value));
  if (!files)
    return FALSE;
  agfas_window_open(self, files->data);
  g_slist_free(files);
  return TRUE;
}

static void fill_devices(AgfasWindow *self)
{
  GError *error = NULL;
  int n = 0;
  g_autofree AgfDeviceInfo *infos = agf_device_list(&n, &error);
  GtkStringList *names = gtk_string_list_new(NULL);
  GPtrArray *specs = g_ptr_array_new();
  gtk_string_list_append(names, "Automatic device");
  g_ptr_array_add(specs, g_strdup("auto"));
  for (int i = 0; infos && i < n; i++) {
    g_autofree char *label = g_strdup_printf("%s (%s)", infos[i].name,
                                             infos[i].spec);
    gtk_string_list_append(names, label);
    g_ptr_array_add(specs, g_strdup(infos[i].spec));
  }
  if (error) {
    g_warning("listing compute devices failed: %s", error->message);
    g_error_free(error);
  }
  g_ptr_array_add(specs, NULL);
  self->device_specs = (GStrv)g_ptr_array_free(specs, FALSE);
  gtk_drop_down_set_model(self->device_dropdown, G_LIST_MODEL(names));
  g_object_unref(names);
}

static void agfas_window_dispose(GObject *object)
{
  AgfasWindow *self = AGFAS_WINDOW(object);
  if (self->cancellable)
    g_cancellable_cancel(self->cancellable);
  g_clear_object(&self->cancellable);
  g_clear_object(&self->file);
  if (self->export_chooser)
    gtk_native_dialog_destroy(GTK_NATIVE_DIALOG(self->export_chooser));
  g_clear_object(&self->export_chooser);
  g_clear_pointer(&self->analysis_view, agfas_analysis_view_free);
  /* No gtk_widget_dispose_template(): GTK 4.8's unparents every bound
   * object, adjustments included (criticals); GtkWindow's own dispose
   * destroys the child and the title bar. */
  G_OBJECT_CLASS(agfas_window_parent_class)->dispose(object);
}

static void agfas_window_finalize(GObject *object)
{
  AgfasWindow *self = AGFAS_WINDOW(object);
  g_clear_pointer(&self->engine, agfas_engine_unref);
  g_strfreev(self->device_specs);
  g_free(self->settings_path);
  g_clear_pointer(&self->result, agfas_analysis_result_free);
  g_free(self->result_source);
  G_OBJECT_CLASS(agfas_window_parent_class)->finalize(object);
}

static void agfas_window_class_init(AgfasWindowClass *klass)
{
  GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
  G_OBJECT_CLASS(klass)->dispose = agfas_window_dispose;
  G_OBJECT_CLASS(klass)->finalize = agfas_window_finalize;
  g_type_ensure(AGFAS_TYPE_PANEL);
  g_type_ensure(AGFAS_TYPE_VIEW_KNOBS);
  g_type_ensure(AGFAS_TYPE_MODELS_BUTTON);
  gtk_widget_class_set_template_from_resource(
    wc, "/io/github/agfas/Studio/ui/agfas-window.ui");
#define BIND(name) gtk_widget_class_bind_template_child(wc, AgfasWindow, name)
  BIND(stack);
  BIND(device_dropdown);
  BIND(sampler_dropdown);
  BIND(cmap_dropdown);
  BIND(norm_dropdown);
  BIND(t0_adj);
  BIND(steps_adj);
  BIND(seed_adj);
  BIND(mask_switch);
  BIND(score_label);
  BIND(status_label);
  BIND(verdict_label);
  BIND(header_bar);
  BIND(knobs_pane);
  BIND(knobs_separator);
  BIND(panels);
  BIND(score_bar);
  BIND(progress_bar);
  BIND(input_panel);
  BIND(recon_panel);
  BIND(heat_panel);
  BIND(cue_panel);
  BIND(view_knobs);
  BIND(hover_label);
  BIND(models_button);
#undef BIND
  /* Filled by agfas-media.c (Open Folder, Open Recent, Camera, ...). */
  gtk_widget_class_bind_template_child_full(wc, "media_section", FALSE, 0);
  /* The welcome page's sample buttons, set up by agfas-sample.c. */
  gtk_widget_class_bind_template_child_full(wc, "sample_box", FALSE, 0);
  gtk_widget_class_bind_template_callback(wc, on_knob_changed);
}

static void agfas_window_init(AgfasWindow *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  AgfasPanel *const panels[4] = { self->input_panel, self->recon_panel,
                                  self->heat_panel, self->cue_panel };
  self->analysis_view = agfas_analysis_view_new(
    GTK_APPLICATION_WINDOW(self), panels, self->view_knobs, self->hover_label);
  self->settings_path = agfas_settings_default_path();
  /* Filling the device list changes its selection: no save, no run. */
  self->loading = TRUE;
  fill_devices(self);
  load_settings(self);
  static const GActionEntry entries[] = {
    { .name = "present", .state = "false", .change_state = on_present_change },
    { .name = "export", .activate = on_export },
  };
  g_action_map_add_action_entries(G_ACTION_MAP(self), entries,
                                  G_N_ELEMENTS(entries), self);
  update_export_action(self);  /* disabled until there is a result */
  GtkEventController *keys = gtk_shortcut_controller_new();
  gtk_shortcut_controller_add_shortcut(
    GTK_SHORTCUT_CONTROLLER(keys),
    gtk_shortcut_new(gtk_keyval_trigger_new(GDK_KEY_Escape, 0),
                     gtk_callback_action_new(on_escape, NULL, NULL)));
  gtk_widget_add_controller(GTK_WIDGET(self), keys);
  /* Colour the bar by verdict: below the threshold "live", above "spoof". */
  gtk_level_bar_remove_offset_value(self->score_bar, GTK_LEVEL_BAR_OFFSET_LOW);
  gtk_level_bar_remove_offset_value(self->score_bar, GTK_LEVEL_BAR_OFFSET_HIGH);
  gtk_level_bar_remove_offset_value(self->score_bar, GTK_LEVEL_BAR_OFFSET_FULL);
  gtk_level_bar_add_offset_value(self->score_bar, "live", SPOOF_THRESHOLD);
  gtk_level_bar_add_offset_value(self->score_bar, "spoof", 1.0);
  gtk_level_bar_set_min_value(self->score_bar, 0);
  gtk_level_bar_set_max_value(self->score_bar, 1);
  /* Knob signals are connected here, after the template set their
   * initial values, so building the window does not start runs. */
  GObject *knobs[] = { G_OBJECT(self->t0_adj), G_OBJECT(self->steps_adj),
                       G_OBJECT(self->seed_adj) };
  for (guint i = 0; i < G_N_ELEMENTS(knobs); i++)
    g_signal_connect_swapped(knobs[i], "value-changed",
                             G_CALLBACK(on_knob_changed), self);
  GObject *drops[] = { G_OBJECT(self->sampler_dropdown),
                       G_OBJECT(self->cmap_dropdown),
                       G_OBJECT(self->norm_dropdown) };
  for (guint i = 0; i < G_N_ELEMENTS(drops); i++)
    g_signal_connect_swapped(drops[i], "notify::selected",
                             G_CALLBACK(on_knob_changed), self);
  g_signal_connect_swapped(self->mask_switch, "notify::active",
                           G_CALLBACK(on_knob_changed), self);
  g_signal_connect_swapped(self->view_knobs, "notify::overlay",
                           G_CALLBACK(on_display_changed), self);
  g_signal_connect_swapped(self->view_knobs, "notify::overlay-opacity",
                           G_CALLBACK(on_display_changed), self);
  g_signal_connect(self->models_button, "model-opened",
                   G_CALLBACK(on_model_opened), self);

  GtkDropTarget *drop = gtk_drop_target_new(GDK_TYPE_FILE_LIST,
                                            GDK_ACTION_COPY);
  g_signal_connect(drop, "drop", G_CALLBACK(on_drop), self);
  gtk_widget_add_controller(GTK_WIDGET(self), GTK_EVENT_CONTROLLER(drop));
}

AgfasWindow *agfas_window_new(GtkApplication *app, AgfasEngine *engine)
{
  AgfasWindow *self = g_object_new(AGFAS_TYPE_WINDOW, "application", app,
                                   NULL);
  self->engine = agfas_engine_ref(engine);
  agfas_models_button_set_engine(self->models_button, engine);
  agfas_media_attach(self, engine); /* videos, folders, recent, camera */
  agfas_sample_attach(self);        /* the built-in sample pair */
  return self;
}

void agfas_window_open(AgfasWindow *self, GFile *file)
{
  g_return_if_fail(AGFAS_IS_WINDOW(self) && G_IS_FILE(file));
  g_autofree char *name = g_file_get_basename(file);
  gtk_window_set_title(GTK_WINDOW(self), name);
  if (agfas_media_open(self, file))
    return;
  if (agfas_dataset_is_manifest(file)) {
    if (!self->dataset_view) {
      self->dataset_view = agfas_dataset_view_new();
      gtk_stack_add_named(self->stack, GTK_WIDGET(self->dataset_view),
                          "dataset");
    }
    gtk_stack_set_visible_child_name(self->stack, "dataset");
    g_autofree char *path = g_file_get_path(file);
    /* A failure is shown on the page's status line. */
    agfas_dataset_view_open(self->dataset_view, path ? path : name, NULL);
    return;
  }
  g_set_object(&self->file, file);
  clear_result(self);  /* export only what is shown */
  gtk_stack_set_visible_child_name(self->stack, "analysis");
  for (int i = 0; i < AGFAS_N_PANELS; i++)
    agfas_panel_show(agfas_window_get_panel(self, i), NULL, NULL);
  gtk_label_set_text(self->score_label, "");
  gtk_label_set_text(self->status_label, "");
  start_run(self);
}

AgfasWindowState agfas_window_get_state(AgfasWindow *self)
{
  g_return_val_if_fail(AGFAS_IS_WINDOW(self), AGFAS_WINDOW_EMPTY);
  return self->state;
}

AgfasPanel *agfas_window_get_panel(AgfasWindow *self, AgfasPanelKind kind)
{
  g_return_val_if_fail(AGFAS_IS_WINDOW(self), NULL);
  AgfasPanel *panels[] = { self->input_panel, self->recon_panel,
                           self->heat_panel, self->cue_panel };
  g_return_val_if_fail((guint)kind < AGFAS_N_PANELS, NULL);
  return panels[kind];
}

const char *agfas_window_get_score_text(AgfasWindow *self)
{
  g_return_val_if_fail(AGFAS_IS_WINDOW(self), NULL);
  return gtk_label_get_text(self->score_label);
}

const char *agfas_window_get_status_text(AgfasWindow *self)
{
  g_return_val_if_fail(AGFAS_IS_WINDOW(self), NULL);
  return gtk_label_get_text(self->status_label);
}

AgfasDatasetView *agfas_window_get_dataset_view(AgfasWindow *self)
{
  g_return_val_if_fail(AGFAS_IS_WINDOW(self), NULL);
  return self->dataset_view;
}

gboolean agfas_window_get_presenting(AgfasWindow *self)
{
  g_return_val_if_fail(AGFAS_IS_WINDOW(self), FALSE);
  return self->presenting;
}

void agfas_window_get_params(AgfasWindow *self, AgfasAnalysisParams *p)
{
  g_return_if_fail(AGFAS_IS_WINDOW(self) && p);
  read_params(self, p);
}

const char *agfas_window_get_device_spec(AgfasWindow *self)
{
  g_return_val_if_fail(AGFAS_IS_WINDOW(self), NULL);
  guint sel = gtk_drop_down_get_selected(self->device_dropdown);
  if (self->device_specs && sel < g_strv_length(self->device_specs))
    return self->device_specs[sel];
  return NULL;
}

guint agfas_window_get_runs_finished(AgfasWindow *self)
{
  g_return_val_if_fail(AGFAS_IS_WINDOW(self), 0);
  return self->runs_finished;
}
