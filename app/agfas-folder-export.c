/* See agfas-folder-export.h. */
#include "agfas-folder-export.h"

#include "agfas-export.h"
#include "agfas-media-score.h"

#include <string.h>

#define SPOOF_THRESHOLD 0.5

typedef struct {
  char *rel;    /* the manifest's path (written) */
  char *abs;    /* resolved (read) */
  char *label;  /* live/spoof/unsure, NULL unlabeled */
} Item;

/* One table row; owns its strings. */
typedef struct {
  char *path, *label, *note;
  AgfasFrameScore score;
} Row;

struct _AgfasFolderExport {
  GObject parent_instance;
  AgfasEngine *engine;
  char *spec, *out_path, *error;
  AgfasAnalysisParams params;
  GArray *items;           /* Item */
  GArray *rows;            /* Row, filled by the thread, read when done */
  GCancellable *cancellable;
  AgfasFolderExportState state;
  guint done;
};

enum { SIG_PROGRESS, SIG_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE(AgfasFolderExport, agfas_folder_export, G_TYPE_OBJECT)

static void item_clear(gpointer p)
{
  Item *it = p;
  g_free(it->rel);
  g_free(it->abs);
  g_free(it->label);
}

static void row_clear(gpointer p)
{
  Row *r = p;
  g_free(r->path);
  g_free(r->label);
  g_free(r->note);
  g_free(r->score.note);
}

typedef struct {
  AgfasFolderExport *self;  /* ref */
  guint done;
} ProgressMsg;

static gboolean progress_on_main(gpointer data)
{
  ProgressMsg *m = data;
  if (m->self->state == AGFAS_FOLDER_EXPORT_RUNNING) {
    m->self->done = m->done;
    g_signal_emit(m->self, signals[SIG_PROGRESS], 0, m->done,
                  m->self->items->len);
  }
  g_object_unref(m->self);
  g_free(m);
  return G_SOURCE_REMOVE;
}

typedef struct {
  AgfasFolderExport *self;
  const Item *item;
} FrameCtx;

static void on_frame(AgfasFrameScore *s, int index, int total, gpointer data)
{
  (void)index, (void)total;
  FrameCtx *c = data;
  Row r = { g_strdup(c->item->rel), g_strdup(c->item->label), NULL, *s };
  g_free(s);  /* its note moved into r.score; no image was kept */
  g_array_append_val(c->self->rows, r);
}

/* The rows are only touched here until the task returns. */
static void export_thread(GTask *task, gpointer source, gpointer data,
                          GCancellable *cancellable)
{
  (void)data;
  AgfasFolderExport *self = source;
  for (guint i = 0; i < self->items->len; i++) {
    const Item *it = &g_array_index(self->items, Item, i);
    GError *error = NULL;
    FrameCtx c = { self, it };
    if (!agfas_media_score_file(self->engine, self->spec, &self->params,
                                it->abs, FALSE, cancellable, on_frame, &c,
                                &error)) {
      if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        g_task_return_error(task, error);
        return;
      }
      /* An unreadable item is a row saying why; the export goes on. */
      Row r = { g_strdup(it->rel), g_strdup(it->label),
                g_strdup(error->message), { .frame = -1 } };
      g_array_append_val(self->rows, r);
      g_error_free(error);
    }
    ProgressMsg *m = g_new(ProgressMsg, 1);
    *m = (ProgressMsg){ g_object_ref(self), i + 1 };
    g_main_context_invoke(NULL, progress_on_main, m);
  }
  g_autoptr(GArray) table = g_array_new(FALSE, TRUE, sizeof(AgfasExportRow));
  for (guint i = 0; i < self->rows->len; i++) {
    const Row *r = &g_array_index(self->rows, Row, i);
    AgfasExportRow e = {
      .path = r->path, .frame = (int)r->score.frame,
      .has_score = r->score.has_score, .score = r->score.score,
      .label = r->label, .has_box = r->note == NULL,
      .note = r->note ? r->note : r->score.note,
    };
    memcpy(e.box, r->score.box, sizeof e.box);
    /* The stand-in square of a frame without a face is no face box. */
    e.has_box = e.has_box && r->score.has_face;
    g_array_append_val(table, e);
  }
  GError *error = NULL;
  gboolean ok =
    g_str_has_suffix(self->out_path, ".json")
      ? agfas_export_scores_json((AgfasExportRow *)(void *)table->data,
                                 table->len, SPOOF_THRESHOLD, self->out_path,
                                 &error)
      : agfas_export_scores_csv((AgfasExportRow *)(void *)table->data,
                                table->len, SPOOF_THRESHOLD, self->out_path,
                                &error);
  if (ok)
    g_task_return_boolean(task, TRUE);
  else
    g_task_return_error(task, error);
}

static void on_done(GObject *source, GAsyncResult *res, gpointer data)
{
  (void)data;
  AgfasFolderExport *self = AGFAS_FOLDER_EXPORT(source);
  GError *error = NULL;
  if (g_task_propagate_boolean(G_TASK(res), &error)) {
    self->state = AGFAS_FOLDER_EXPORT_DONE;
    self->done = self->items->len;
  } else if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    self->state = AGFAS_FOLDER_EXPORT_CANCELLED;
  } else {
    self->state = AGFAS_FOLDER_EXPORT_FAILED;
    self->error = g_strdup(error->message);
  }
  g_clear_error(&error);
  g_signal_emit(self, signals[SIG_FINISHED], 0);
}

void agfas_folder_export_start(AgfasFolderExport *self)
{
  g_return_if_fail(AGFAS_IS_FOLDER_EXPORT(self) &&
                   self->state == AGFAS_FOLDER_EXPORT_IDLE);
  self->state = AGFAS_FOLDER_EXPORT_RUNNING;
  GTask *task = g_task_new(self, self->cancellable, on_done, NULL);
  g_task_run_in_thread(task, export_thread);
  g_object_unref(task);
}

void agfas_folder_export_cancel(AgfasFolderExport *self)
{
  g_return_if_fail(AGFAS_IS_FOLDER_EXPORT(self));
  g_cancellable_cancel(self->cancellable);
}

AgfasFolderExport *agfas_folder_export_new(AgfasLabelStore *store,
                                           AgfasEngine *engine,
                                           const char *device_spec,
                                           const AgfasAnalysisParams *params,
                                           const char *out_path)
{
  g_return_val_if_fail(store && engine && params && out_path, NULL);
  AgfasFolderExport *self = g_object_new(AGFAS_TYPE_FOLDER_EXPORT, NULL);
  self->engine = agfas_engine_ref(engine);
  self->spec = g_strdup(device_spec);
  self->params = *params;
  self->out_path = g_strdup(out_path);
  guint n = agfas_label_store_get_n_items(store);
  for (guint i = 0; i < n; i++) {
    const AgfManifestRecord *r = agfas_label_store_get_item(store, i);
    Item it = { g_strdup(r->path), agfas_label_store_resolve(store, i),
                r->label == AGF_LABEL_NONE ? NULL
                                           : g_strdup(agf_label_name(r->label)) };
    g_array_append_val(self->items, it);
  }
  return self;
}

AgfasFolderExportState agfas_folder_export_get_state(AgfasFolderExport *self)
{
  g_return_val_if_fail(AGFAS_IS_FOLDER_EXPORT(self), 0);
  return self->state;
}

guint agfas_folder_export_get_done(AgfasFolderExport *self)
{
  g_return_val_if_fail(AGFAS_IS_FOLDER_EXPORT(self), 0);
  return self->done;
}

guint agfas_folder_export_get_total(AgfasFolderExport *self)
{
  g_return_val_if_fail(AGFAS_IS_FOLDER_EXPORT(self), 0);
  return self->items->len;
}

guint agfas_folder_export_get_n_rows(AgfasFolderExport *self)
{
  g_return_val_if_fail(AGFAS_IS_FOLDER_EXPORT(self), 0);
  return self->state == AGFAS_FOLDER_EXPORT_RUNNING ? 0 : self->rows->len;
}

const char *agfas_folder_export_get_out_path(AgfasFolderExport *self)
{
  g_return_val_if_fail(AGFAS_IS_FOLDER_EXPORT(self), NULL);
  return self->out_path;
}

const char *agfas_folder_export_get_error(AgfasFolderExport *self)
{
  g_return_val_if_fail(AGFAS_IS_FOLDER_EXPORT(self), NULL);
  return self->error;
}

static void agfas_folder_export_finalize(GObject *object)
{
  AgfasFolderExport *self = AGFAS_FOLDER_EXPORT(object);
  g_clear_pointer(&self->engine, agfas_engine_unref);
  g_free(self->spec);
  g_free(self->out_path);
  g_free(self->error);
  g_array_unref(self->items);
  g_array_unref(self->rows);
  g_object_unref(self->cancellable);
  G_OBJECT_CLASS(agfas_folder_export_parent_class)->finalize(object);
}

static void agfas_folder_export_class_init(AgfasFolderExportClass *klass)
{
  G_OBJECT_CLASS(klass)->finalize = agfas_folder_export_finalize;
  signals[SIG_PROGRESS] = g_signal_new(
    "progress", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
    NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_UINT);
  signals[SIG_FINISHED] = g_signal_new(
    "finished", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
    NULL, G_TYPE_NONE, 0);
}

static void agfas_folder_export_init(AgfasFolderExport *self)
{
  self->items = g_array_new(FALSE, TRUE, sizeof(Item));
  g_array_set_clear_func(self->items, item_clear);
  self->rows = g_array_new(FALSE, TRUE, sizeof(Row));
  g_array_set_clear_func(self->rows, row_clear);
  self->cancellable = g_cancellable_new();
}
