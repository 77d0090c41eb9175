/* See agfas-dataset-view.h. */
#include "agfas-dataset-view.h"

#include <math.h>

#include "agfas-thumbnail.h"

/* Thumbnails are decoded at this size (pixels, longest side) off the main
 * thread, only once a row is first shown. */
#define THUMB_SIZE 48

/* ---- One row: an item of the store, with its cached thumbnail ---- */

#define AGFAS_TYPE_DATASET_ROW (agfas_dataset_row_get_type())
G_DECLARE_FINAL_TYPE(AgfasDatasetRow, agfas_dataset_row, AGFAS, DATASET_ROW,
                     GObject)

struct _AgfasDatasetRow {
  GObject parent_instance;
  guint index;           /* in the store */
  AgfasLabelKind kind;
  char *label, *attack;  /* shown text, bound to the cells */
  char *image;           /* crop if it exists, else the item's file */
  GdkPaintable *thumbnail;
  gboolean thumb_requested;
};

enum { ROW_PROP_0, ROW_PROP_LABEL, ROW_PROP_ATTACK, ROW_PROP_THUMBNAIL,
       ROW_N_PROPS };
static GParamSpec *row_props[ROW_N_PROPS];

G_DEFINE_FINAL_TYPE(AgfasDatasetRow, agfas_dataset_row, G_TYPE_OBJECT)

static void agfas_dataset_row_finalize(GObject *object)
{
  AgfasDatasetRow *row = AGFAS_DATASET_ROW(object);
  g_free(row->label);
  g_free(row->attack);
  g_free(row->image);
  g_clear_object(&row->thumbnail);
  G_OBJECT_CLASS(agfas_dataset_row_parent_class)->finalize(object);
}

static void agfas_dataset_row_get_property(GObject *object, guint id,
                                           GValue *value, GParamSpec *pspec)
{
  AgfasDatasetRow *row = AGFAS_DATASET_ROW(object);
  switch (id) {
  case ROW_PROP_LABEL: g_value_set_string(value, row->label); break;
  case ROW_PROP_ATTACK: g_value_set_string(value, row->attack); break;
  case ROW_PROP_THUMBNAIL: g_value_set_object(value, row->thumbnail); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void agfas_dataset_row_class_init(AgfasDatasetRowClass *klass)
{
  GObjectClass *oc = G_OBJECT_CLASS(klass);
  oc->finalize = agfas_dataset_row_finalize;
  oc->get_property = agfas_dataset_row_get_property;
  row_props[ROW_PROP_LABEL] = g_param_spec_string(
    "label", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  row_props[ROW_PROP_ATTACK] = g_param_spec_string(
    "attack", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  row_props[ROW_PROP_THUMBNAIL] = g_param_spec_object(
    "thumbnail", NULL, NULL, GDK_TYPE_PAINTABLE,
    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(oc, ROW_N_PROPS, row_props);
}

static void agfas_dataset_row_init(AgfasDatasetRow *row) { (void)row; }

/* Re-reads the item's label from the store; notifies bound cells. */
static void row_refresh(AgfasDatasetRow *row, AgfasLabelStore *store)
{
  const AgfManifestRecord *r = agfas_label_store_get_item(store, row->index);
  row->kind = agfas_label_store_get_kind(store, row->index);
  g_free(row->label);
  row->label = g_strdup(row->kind == AGFAS_LABEL_KIND_NONE
                          ? "—" : agfas_label_kind_name(row->kind));
  g_free(row->attack);
  row->attack = g_strdup(r->attack && *r->attack ? r->attack : "—");
  g_object_notify_by_pspec(G_OBJECT(row), row_props[ROW_PROP_LABEL]);
  g_object_notify_by_pspec(G_OBJECT(row), row_props[ROW_PROP_ATTACK]);
}

static AgfasDatasetRow *row_new(AgfasLabelStore *store, guint index)
{
  AgfasDatasetRow *row = g_object_new(AGFAS_TYPE_DATASET_ROW, NULL);
  row->index = index;
  const AgfManifestRecord *r = agfas_label_store_get_item(store, index);
  if (r->crop && *r->crop) {
    if (g_path_is_absolute(r->crop)) {
      row->image = g_strdup(r->crop);
    } else {
      g_autofree char *dir = g_path_get_dirname(
        agfas_label_store_get_path(store));
      row->image = g_build_filename(dir, r->crop, NULL);
    }
    if (!g_file_test(row->image, G_FILE_TEST_IS_REGULAR))
      g_clear_pointer(&row->image, g_free);
  }
  if (!row->image)
    row->image = agfas_label_store_resolve(store, index);
  row_refresh(row, store);
  return row;
}

static void thumb_thread(GTask *task, gpointer source, gpointer task_data,
                         GCancellable *cancellable)
{
  (void)source;
  GError *error = NULL;
  GdkPixbuf *pb = agfas_thumbnail_load(task_data, THUMB_SIZE, cancellable,
                                       &error);
  if (pb)
    g_task_return_pointer(task, pb, g_object_unref);
  else
    g_task_return_error(task, error);
}

static void on_thumb_done(GObject *source, GAsyncResult *res, gpointer data)
{
  (void)data;
  AgfasDatasetRow *row = AGFAS_DATASET_ROW(source);
  /* A missing or undecodable file just has no thumbnail. */
  g_autoptr(GdkPixbuf) pb = g_task_propagate_pointer(G_TASK(res), NULL);
  if (!pb)
    return;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  row->thumbnail = GDK_PAINTABLE(gdk_texture_new_for_pixbuf(pb));
  G_GNUC_END_IGNORE_DEPRECATIONS
  g_object_notify_by_pspec(G_OBJECT(row), row_props[ROW_PROP_THUMBNAIL]);
}

/* Starts decoding the thumbnail the first time the row is shown. */
static void row_request_thumbnail(AgfasDatasetRow *row,
                                  GCancellable *cancellable)
{
  if (row->thumb_requested)
    return;
  row->thumb_requested = TRUE;
  if (!g_file_test(row->image, G_FILE_TEST_IS_REGULAR))
    return;
  GTask *task = g_task_new(row, cancellable, on_thumb_done, NULL);
  g_task_set_task_data(task, g_strdup(row->image), g_free);
  g_task_run_in_thread(task, thumb_thread);
  g_object_unref(task);
}

/* ---- The view ---- */

struct _AgfasDatasetView {
  GtkWidget parent_instance;
  GtkDropDown *kind_dropdown, *domain_dropdown, *sort_dropdown;
  GtkSpinButton *min_spin, *max_spin;
  GtkScrolledWindow *scroller;
  GtkColumnView *column_view;
  GtkLabel *status_label;

  AgfasLabelStore *store;
  gulong item_changed_id;
  GPtrArray *rows;           /* AgfasDatasetRow per store index */
  GListStore *shown;         /* the filtered, sorted rows */
  GtkSingleSelection *selection;
  GArray *position_of;       /* store index -> row position, or G_MAXUINT */
  GStrv domains;             /* parallel to domain_dropdown items 1.. */
  guint n_labeled;
  GCancellable *cancellable; /* thumbnails in flight */
  char *save_error;          /* the last failed edit, or NULL */
};

G_DEFINE_FINAL_TYPE(AgfasDatasetView, agfas_dataset_view, GTK_TYPE_WIDGET)

gboolean agfas_dataset_is_manifest(GFile *file)
{
  g_return_val_if_fail(G_IS_FILE(file), FALSE);
  g_autofree char *name = g_file_get_basename(file);
  if (!name)
    return FALSE;
  g_autofree char *lower = g_ascii_strdown(name, -1);
  return g_str_has_suffix(lower, ".csv") || g_str_has_suffix(lower, ".jsonl");
}

static void update_status(AgfasDatasetView *self)
{
  if (!self->store)
    return;
  guint n = agfas_label_store_get_n_items(self->store);
  guint shown = g_list_model_get_n_items(G_LIST_MODEL(self->shown));
  g_autofree char *filtered = shown == n ? g_strdup("")
                                         : g_strdup_printf(" · %u shown", shown);
  g_autofree char *text = g_strdup_printf(
    "%u items%s · %u labeled · %s", n, filtered, self->n_labeled,
    self->save_error ? self->save_error : "saved");
  gtk_label_set_text(self->status_label, text);
}

/* Re-runs the store's query with the filter bar's values. Keeps the
 * selected item selected when it is still shown. */
static void refilter(AgfasDatasetView *self)
{
  if (!self->store)
    return;
  guint keep = agfas_dataset_view_get_selected(self);
  AgfasLabelFilter f;
  agfas_label_filter_init(&f);
  guint kind = gtk_drop_down_get_selected(self->kind_dropdown);
  if (kind != GTK_INVALID_LIST_POSITION && kind > 0)
    f.kinds = 1u << (kind - 1);  /* items 1.. follow AgfasLabelKind */
  double lo = gtk_spin_button_get_value(self->min_spin);
  double hi = gtk_spin_button_get_value(self->max_spin);
  /* The full 0..1 range means "no score filter": unscored items and any
   * out-of-range scores stay. */
  if (lo > 0 || hi < 1) {
    f.score_min = lo > 0 ? lo : -INFINITY;
    f.score_max = hi < 1 ? hi : INFINITY;
    f.unscored = FALSE;
  }
  guint dom = gtk_drop_down_get_selected(self->domain_dropdown);
  if (dom != GTK_INVALID_LIST_POSITION && dom > 0 && self->domains &&
      dom - 1 < g_strv_length(self->domains))
    f.domain = self->domains[dom - 1];
  guint sort = gtk_drop_down_get_selected(self->sort_dropdown);
  AgfasLabelSort s = sort == 1 ? AGFAS_LABEL_SORT_SCORE_ASC
                   : sort == 2 ? AGFAS_LABEL_SORT_SCORE_DESC
                               : AGFAS_LABEL_SORT_INDEX;
  g_autoptr(GArray) idx = agfas_label_store_query(self->store, &f, s);

  g_autoptr(GPtrArray) items = g_ptr_array_sized_new(idx->len);
  for (guint i = 0; i < self->position_of->len; i++)
    g_array_index(self->position_of, guint, i) = G_MAXUINT;
  for (guint p = 0; p < idx->len; p++) {
    guint i = g_array_index(idx, guint, p);
    g_ptr_array_add(items, self->rows->pdata[i]);
    g_array_index(self->position_of, guint, i) = p;
  }
  g_list_store_splice(self->shown, 0,
                      g_list_model_get_n_items(G_LIST_MODEL(self->shown)),
                      items->pdata, items->len);
  if (keep != G_MAXUINT &&
      g_array_index(self->position_of, guint, keep) != G_MAXUINT)
    agfas_dataset_view_select(self,
                              g_array_index(self->position_of, guint, keep));
  update_status(self);
}

static void on_item_changed(AgfasLabelStore *store, guint index, gpointer data)
{
  AgfasDatasetView *self = data;
  if (index >= self->rows->len)
    return;
  AgfasDatasetRow *row = self->rows->pdata[index];
  gboolean was = row->kind != AGFAS_LABEL_KIND_NONE;
  row_refresh(row, store);
  gboolean is = row->kind != AGFAS_LABEL_KIND_NONE;
  self->n_labeled += (guint)is - (guint)was;
  update_status(self);
}

static void set_save_error(AgfasDatasetView *self, GError *error)
{
  g_clear_pointer(&self->save_error, g_free);
  if (error)
    self->save_error = g_strdup_printf("not saved: %s", error->message);
  update_status(self);
}

/* ---- Actions ---- */

static void move_by(AgfasDatasetView *self, int delta)
{
  guint n = g_list_model_get_n_items(G_LIST_MODEL(self->shown));
  if (n == 0)
    return;
  guint pos = gtk_single_selection_get_selected(self->selection);
  if (pos == GTK_INVALID_LIST_POSITION)
    pos = 0;
  else if (delta > 0 && pos + 1 < n)
    pos++;
  else if (delta < 0 && pos > 0)
    pos--;
  agfas_dataset_view_select(self, pos);
}

static void action_label(GtkWidget *widget, const char *name, GVariant *param)
{
  (void)name;
  AgfasDatasetView *self = AGFAS_DATASET_VIEW(widget);
  guint index = agfas_dataset_view_get_selected(self);
  AgfasLabelKind kind;
  if (!self->store || index == G_MAXUINT ||
      !agfas_label_kind_parse(g_variant_get_string(param, NULL), &kind) ||
      kind == AGFAS_LABEL_KIND_NONE)
    return;
  GError *error = NULL;
  gboolean ok = agfas_label_store_set_label(self->store, index, kind, &error);
  set_save_error(self, error);
  g_clear_error(&error);
  if (ok)
    move_by(self, +1);
}

static void action_move(GtkWidget *widget, const char *name, GVariant *param)
{
  (void)param;
  move_by(AGFAS_DATASET_VIEW(widget),
          g_str_equal(name, "dataset.next") ? +1 : -1);
}

static void action_history(GtkWidget *widget, const char *name,
                           GVariant *param)
{
  (void)param;
  AgfasDatasetView *self = AGFAS_DATASET_VIEW(widget);
  if (!self->store)
    return;
  gboolean undo = g_str_equal(name, "dataset.undo");
  if (undo ? !agfas_label_store_can_undo(self->store)
           : !agfas_label_store_can_redo(self->store))
    return;
  GError *error = NULL;
  guint index = G_MAXUINT;
  gboolean ok = undo ? agfas_label_store_undo(self->store, &index, &error)
                     : agfas_label_store_redo(self->store, &index, &error);
  set_save_error(self, error);
  g_clear_error(&error);
  /* Show the item the edit touched, so the curator sees what changed. */
  if (ok && index < self->position_of->len &&
      g_array_index(self->position_of, guint, index) != G_MAXUINT)
    agfas_dataset_view_select(self,
                              g_array_index(self->position_of, guint, index));
}

/* ---- Cells ---- */

typedef enum { COL_THUMB, COL_PATH, COL_FRAME, COL_LABEL, COL_ATTACK,
               COL_SCORE, COL_DOMAIN } ColumnId;

static void cell_setup(GtkSignalListItemFactory *f, GtkListItem *item,
                       gpointer data)
{
  (void)f;
  ColumnId col = GPOINTER_TO_INT(data);
  GtkWidget *w;
  if (col == COL_THUMB) {
    w = gtk_picture_new();
    gtk_widget_set_size_request(w, THUMB_SIZE, THUMB_SIZE);
    gtk_picture_set_can_shrink(GTK_PICTURE(w), TRUE);
  } else {
    w = gtk_label_new(NULL);
    gtk_label_set_xalign(GTK_LABEL(w),
                         col == COL_FRAME || col == COL_SCORE ? 1 : 0);
    if (col == COL_PATH)
      gtk_label_set_ellipsize(GTK_LABEL(w), PANGO_ELLIPSIZE_MIDDLE);
    if (col == COL_FRAME || col == COL_SCORE)
      gtk_widget_add_css_class(w, "numeric");
  }
  gtk_list_item_set_child(item, w);
}

static void cell_bind(GtkSignalListItemFactory *f, GtkListItem *item,
                      gpointer data)
{
  ColumnId col = GPOINTER_TO_INT(data);
  AgfasDatasetRow *row = gtk_list_item_get_item(item);
  GtkWidget *w = gtk_list_item_get_child(item);
  AgfasDatasetView *self = g_object_get_data(G_OBJECT(f), "view");
  const AgfManifestRecord *r = agfas_label_store_get_item(self->store,
                                                          row->index);
  GBinding *binding = NULL;
  g_autofree char *text = NULL;
  switch (col) {
  case COL_THUMB:
    row_request_thumbnail(row, self->cancellable);
    binding = g_object_bind_property(row, "thumbnail", w, "paintable",
                                     G_BINDING_SYNC_CREATE);
    break;
  case COL_PATH:
    gtk_label_set_text(GTK_LABEL(w), r->path);
    gtk_widget_set_tooltip_text(w, row->image);
    break;
  case COL_FRAME:
    text = r->frame >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, r->frame)
                         : g_strdup("—");
    gtk_label_set_text(GTK_LABEL(w), text);
    break;
  case COL_LABEL:
  case COL_ATTACK:
    binding = g_object_bind_property(row, col == COL_LABEL ? "label" : "attack",
                                     w, "label", G_BINDING_SYNC_CREATE);
    break;
  case COL_SCORE:
    text = isnan(r->score) ? g_strdup("—") : g_strdup_printf("%.3f", r->score);
    gtk_label_set_text(GTK_LABEL(w), text);
    break;
  case COL_DOMAIN:
    gtk_label_set_text(GTK_LABEL(w), r->domain && *r->domain ? r->domain
                                                             : "—");
    break;
  }
  g_object_set_data(G_OBJECT(item), "binding", binding);
}

static void cell_unbind(GtkSignalListItemFactory *f, GtkListItem *item,
                        gpointer data)
{
  (void)f, (void)data;
  GBinding *binding = g_object_get_data(G_OBJECT(item), "binding");
  if (binding)
    g_binding_unbind(binding);
  g_object_set_data(G_OBJECT(item), "binding", NULL);
}

static void add_column(AgfasDatasetView *self, const char *title, ColumnId col,
                       gboolean expand)
{
  GtkListItemFactory *f = gtk_signal_list_item_factory_new();
  g_object_set_data(G_OBJECT(f), "view", self);
  g_signal_connect(f, "setup", G_CALLBACK(cell_setup), GINT_TO_POINTER(col));
  g_signal_connect(f, "bind", G_CALLBACK(cell_bind), GINT_TO_POINTER(col));
  g_signal_connect(f, "unbind", G_CALLBACK(cell_unbind), GINT_TO_POINTER(col));
  GtkColumnViewColumn *c = gtk_column_view_column_new(title, f);
  gtk_column_view_column_set_expand(c, expand);
  gtk_column_view_column_set_resizable(c, TRUE);
  gtk_column_view_append_column(self->column_view, c);
  g_object_unref(c);
}

/* The list's own keys; in the capture phase so they beat the list's
 * keyboard navigation, and only on the list so typing into the filter
 * bar's spin buttons still works. */
static void add_list_shortcuts(AgfasDatasetView *self)
{
  GtkEventController *ctl = gtk_shortcut_controller_new();
  gtk_event_controller_set_propagation_phase(ctl, GTK_PHASE_CAPTURE);
  GtkShortcutController *sc = GTK_SHORTCUT_CONTROLLER(ctl);
  static const struct { guint key, alt; const char *kind; } labels[] = {
    { GDK_KEY_1, GDK_KEY_l, "live" },   { GDK_KEY_2, GDK_KEY_p, "print" },
    { GDK_KEY_3, GDK_KEY_r, "replay" }, { GDK_KEY_4, GDK_KEY_m, "mask" },
    { GDK_KEY_5, GDK_KEY_o, "other" },  { GDK_KEY_6, GDK_KEY_u, "unsure" },
  };
  for (guint i = 0; i < G_N_ELEMENTS(labels); i++) {
    guint keys[] = { labels[i].key, labels[i].alt,
                     labels[i].key - GDK_KEY_0 + GDK_KEY_KP_0 };
    for (guint k = 0; k < G_N_ELEMENTS(keys); k++) {
      GtkShortcut *s = gtk_shortcut_new(
        gtk_keyval_trigger_new(keys[k], 0),
        gtk_named_action_new("dataset.label"));
      gtk_shortcut_set_arguments(s, g_variant_new_string(labels[i].kind));
      gtk_shortcut_controller_add_shortcut(sc, s);
    }
  }
  static const struct { guint key; GdkModifierType mods; const char *action; }
  moves[] = {
    { GDK_KEY_Down, 0, "dataset.next" },  { GDK_KEY_j, 0, "dataset.next" },
    { GDK_KEY_Up, 0, "dataset.previous" }, { GDK_KEY_k, 0, "dataset.previous" },
    { GDK_KEY_z, GDK_CONTROL_MASK, "dataset.undo" },
    { GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "dataset.redo" },
    { GDK_KEY_Z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "dataset.redo" },
    { GDK_KEY_y, GDK_CONTROL_MASK, "dataset.redo" },
  };
  for (guint i = 0; i < G_N_ELEMENTS(moves); i++)
    gtk_shortcut_controller_add_shortcut(sc, gtk_shortcut_new(
      gtk_keyval_trigger_new(moves[i].key, moves[i].mods),
      gtk_named_action_new(moves[i].action)));
  gtk_widget_add_controller(GTK_WIDGET(self->scroller), ctl);
}

/* ---- Life cycle ---- */

static void close_store(AgfasDatasetView *self)
{
  if (!self->store)
    return;
  g_cancellable_cancel(self->cancellable);
  g_clear_object(&self->cancellable);
  g_clear_signal_handler(&self->item_changed_id, self->store);
  /* Compacts the journal into the manifest; on failure the journal stays
   * beside it and is replayed at the next open, so nothing is lost. */
  GError *error = NULL;
  if (!agfas_label_store_close(self->store, &error)) {
    g_message("Labels of %s stay in %s: %s",
              agfas_label_store_get_path(self->store),
              agfas_label_store_get_journal_path(self->store), error->message);
    g_clear_error(&error);
  }
  g_clear_object(&self->store);
  if (self->shown)
    g_list_store_remove_all(self->shown);
  g_ptr_array_set_size(self->rows, 0);
  g_array_set_size(self->position_of, 0);
  g_clear_pointer(&self->domains, g_strfreev);
  g_clear_pointer(&self->save_error, g_free);
  self->n_labeled = 0;
}

static void agfas_dataset_view_dispose(GObject *object)
{
  AgfasDatasetView *self = AGFAS_DATASET_VIEW(object);
  close_store(self);
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))))
    gtk_widget_unparent(child);
  g_clear_object(&self->selection);
  g_clear_object(&self->shown);
  G_OBJECT_CLASS(agfas_dataset_view_parent_class)->dispose(object);
}

static void agfas_dataset_view_finalize(GObject *object)
{
  AgfasDatasetView *self = AGFAS_DATASET_VIEW(object);
  g_ptr_array_unref(self->rows);
  g_array_unref(self->position_of);
  G_OBJECT_CLASS(agfas_dataset_view_parent_class)->finalize(object);
}

static void agfas_dataset_view_class_init(AgfasDatasetViewClass *klass)
{
  GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
  G_OBJECT_CLASS(klass)->dispose = agfas_dataset_view_dispose;
  G_OBJECT_CLASS(klass)->finalize = agfas_dataset_view_finalize;
  gtk_widget_class_set_layout_manager_type(wc, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_template_from_resource(
    wc, "/io/github/agfas/Studio/ui/agfas-dataset-view.ui");
#define BIND(name) \
  gtk_widget_class_bind_template_child(wc, AgfasDatasetView, name)
  BIND(kind_dropdown);
  BIND(domain_dropdown);
  BIND(sort_dropdown);
  BIND(min_spin);
  BIND(max_spin);
  BIND(scroller);
  BIND(column_view);
  BIND(status_label);
#undef BIND
  gtk_widget_class_install_action(wc, "dataset.label", "s", action_label);
  gtk_widget_class_install_action(wc, "dataset.next", NULL, action_move);
  gtk_widget_class_install_action(wc, "dataset.previous", NULL, action_move);
  gtk_widget_class_install_action(wc, "dataset.undo", NULL, action_history);
  gtk_widget_class_install_action(wc, "dataset.redo", NULL, action_history);
}

static void agfas_dataset_view_init(AgfasDatasetView *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  gtk_orientable_set_orientation(
    GTK_ORIENTABLE(gtk_widget_get_layout_manager(GTK_WIDGET(self))),
    GTK_ORIENTATION_VERTICAL);
  self->rows = g_ptr_array_new_with_free_func(g_object_unref);
  self->position_of = g_array_new(FALSE, TRUE, sizeof(guint));
  self->shown = g_list_store_new(AGFAS_TYPE_DATASET_ROW);
  self->selection = gtk_single_selection_new(
    G_LIST_MODEL(g_object_ref(self->shown)));
  gtk_single_selection_set_autoselect(self->selection, TRUE);
  gtk_column_view_set_model(self->column_view,
                            GTK_SELECTION_MODEL(self->selection));
  add_column(self, "", COL_THUMB, FALSE);
  add_column(self, "Path", COL_PATH, TRUE);
  add_column(self, "Frame", COL_FRAME, FALSE);
  add_column(self, "Label", COL_LABEL, FALSE);
  add_column(self, "Attack", COL_ATTACK, FALSE);
  add_column(self, "Score", COL_SCORE, FALSE);
  add_column(self, "Domain", COL_DOMAIN, FALSE);
  add_list_shortcuts(self);
  GObject *filters[] = { G_OBJECT(self->kind_dropdown),
                         G_OBJECT(self->domain_dropdown),
                         G_OBJECT(self->sort_dropdown) };
  for (guint i = 0; i < G_N_ELEMENTS(filters); i++)
    g_signal_connect_swapped(filters[i], "notify::selected",
                             G_CALLBACK(refilter), self);
  g_signal_connect_swapped(self->min_spin, "value-changed",
                           G_CALLBACK(refilter), self);
  g_signal_connect_swapped(self->max_spin, "value-changed",
                           G_CALLBACK(refilter), self);
}

AgfasDatasetView *agfas_dataset_view_new(void)
{
  return g_object_new(AGFAS_TYPE_DATASET_VIEW, NULL);
}

gboolean agfas_dataset_view_open(AgfasDatasetView *self, const char *path,
                                 GError **error)
{
  g_return_val_if_fail(AGFAS_IS_DATASET_VIEW(self) && path, FALSE);
  close_store(self);
  GError *err = NULL;
  AgfasLabelStore *store = agfas_label_store_open(path, &err);
  if (!store) {
    g_autofree char *text = g_strdup_printf("Cannot open %s: %s", path,
                                            err->message);
    gtk_label_set_text(self->status_label, text);
    g_propagate_error(error, err);
    return FALSE;
  }
  self->store = store;
  self->cancellable = g_cancellable_new();
  guint n = agfas_label_store_get_n_items(store);
  g_array_set_size(self->position_of, n);
  for (guint i = 0; i < n; i++) {
    AgfasDatasetRow *row = row_new(store, i);
    g_ptr_array_add(self->rows, row);
    self->n_labeled += row->kind != AGFAS_LABEL_KIND_NONE;
  }
  self->item_changed_id = g_signal_connect(store, "item-changed",
                                           G_CALLBACK(on_item_changed), self);

  /* Domain choices: "Any domain", then the store's domains. Filters are
   * reset without re-querying each time; refilter runs once below. */
  self->domains = agfas_label_store_list_domains(store);
  g_autoptr(GtkStringList) doms = gtk_string_list_new(NULL);
  gtk_string_list_append(doms, "Any domain");
  for (guint i = 0; self->domains[i]; i++)
    gtk_string_list_append(doms, self->domains[i]);
  g_signal_handlers_block_by_func(self->domain_dropdown, refilter, self);
  gtk_drop_down_set_model(self->domain_dropdown, G_LIST_MODEL(doms));
  gtk_drop_down_set_selected(self->domain_dropdown, 0);
  g_signal_handlers_unblock_by_func(self->domain_dropdown, refilter, self);
  refilter(self);
  agfas_dataset_view_select(self, 0);
  gtk_widget_grab_focus(GTK_WIDGET(self->column_view));
  return TRUE;
}

AgfasLabelStore *agfas_dataset_view_get_store(AgfasDatasetView *self)
{
  g_return_val_if_fail(AGFAS_IS_DATASET_VIEW(self), NULL);
  return self->store;
}

guint agfas_dataset_view_get_n_shown(AgfasDatasetView *self)
{
  g_return_val_if_fail(AGFAS_IS_DATASET_VIEW(self), 0);
  return g_list_model_get_n_items(G_LIST_MODEL(self->shown));
}

GdkPaintable *agfas_dataset_view_get_thumbnail(AgfasDatasetView *self,
                                               guint position)
{
  g_return_val_if_fail(AGFAS_IS_DATASET_VIEW(self), NULL);
  g_autoptr(AgfasDatasetRow) row =
    g_list_model_get_item(G_LIST_MODEL(self->shown), position);
  return row ? row->thumbnail : NULL;
}

guint agfas_dataset_view_get_item_at(AgfasDatasetView *self, guint position)
{
  g_return_val_if_fail(AGFAS_IS_DATASET_VIEW(self), G_MAXUINT);
  g_autoptr(AgfasDatasetRow) row =
    g_list_model_get_item(G_LIST_MODEL(self->shown), position);
  return row ? row->index : G_MAXUINT;
}

void agfas_dataset_view_select(AgfasDatasetView *self, guint position)
{
  g_return_if_fail(AGFAS_IS_DATASET_VIEW(self));
  if (position >= g_list_model_get_n_items(G_LIST_MODEL(self->shown)))
    return;
  gtk_single_selection_set_selected(self->selection, position);
  /* GTK 4.8 has no gtk_column_view_scroll_to(); the inner list view's
   * action scrolls and moves its keyboard focus to the row too. */
  for (GtkWidget *c = gtk_widget_get_first_child(GTK_WIDGET(self->column_view));
       c; c = gtk_widget_get_next_sibling(c))
    if (gtk_widget_activate_action(c, "list.scroll-to-item", "u", position))
      break;
}

guint agfas_dataset_view_get_selected(AgfasDatasetView *self)
{
  g_return_val_if_fail(AGFAS_IS_DATASET_VIEW(self), G_MAXUINT);
  AgfasDatasetRow *row = gtk_single_selection_get_selected_item(
    self->selection);
  return row ? row->index : G_MAXUINT;
}

const char *agfas_dataset_view_get_status_text(AgfasDatasetView *self)
{
  g_return_val_if_fail(AGFAS_IS_DATASET_VIEW(self), NULL);
  return gtk_label_get_text(self->status_label);
}
