/* See agfas-video-view.h. */
#include "agfas-video-view.h"

#include "agfas-canvas.h"
#include "agfas-media-score.h"
#include "io/video.h"

#include <string.h>

#define SPOOF_THRESHOLD 0.5

struct _AgfasVideoView {
  GtkBox parent_instance;
  GtkLabel *score_label, *info_label, *frame_label;
  GtkLevelBar *score_bar;
  GtkProgressBar *progress_bar;
  AgfasCanvas *canvas;
  AgfasView *view;           /* the canvas' zoom and pan */
  GtkAdjustment *timeline_adj;
  GtkBox *strip;

  AgfasVideoState state;
  guint generation;          /* of the open video; stale results dropped */
  char *path;
  AgfVideoWorker *worker;
  AgfVideoInfo info;
  GCancellable *cancellable; /* opening and scoring */
  GCancellable *decode_cancel;
  gint64 shown;              /* frame on the canvas, -1: none */
  GPtrArray *scores;         /* AgfasFrameScore*, strip order */
  GPtrArray *buttons;        /* GtkWidget*, parallel to scores */
  gboolean has_mean;
  double mean;
};

G_DEFINE_FINAL_TYPE(AgfasVideoView, agfas_video_view, GTK_TYPE_BOX)

static GdkTexture *image_texture(const AgfImage *img)
{
  g_autoptr(GBytes) bytes = g_bytes_new(img->pixels,
                                        img->stride * img->height);
  return gdk_memory_texture_new(img->width, img->height,
                                img->channels == 4 ? GDK_MEMORY_R8G8B8A8
                                                   : GDK_MEMORY_R8G8B8,
                                bytes, img->stride);
}

static const AgfasFrameScore *sample_of_frame(AgfasVideoView *self,
                                              gint64 k)
{
  for (guint i = 0; i < self->scores->len; i++) {
    const AgfasFrameScore *s = self->scores->pdata[i];
    if (s->frame == k)
      return s;
  }
  return NULL;
}

static void update_frame_label(AgfasVideoView *self)
{
  gint64 k = (gint64)gtk_adjustment_get_value(self->timeline_adj);
  double fps = self->info.fps > 0 ? self->info.fps : 25;
  g_autofree char *text = g_strdup_printf(
    "Frame %" G_GINT64_FORMAT " / %" G_GINT64_FORMAT " · %.2f s", k + 1,
    (gint64)self->info.n_frames, k / fps);
  gtk_label_set_text(self->frame_label, text);
}

/* A sampled frame's face box and landmarks on the canvas, and its score
 * in the frame line. */
static void update_overlay(AgfasVideoView *self)
{
  const AgfasFrameScore *s = sample_of_frame(self, self->shown);
  if (s)
    agfas_canvas_set_face(self->canvas, s->box, s->landmarks);
  else
    agfas_canvas_set_face(self->canvas, NULL, NULL);
  update_frame_label(self);
  if (!s || self->shown != (gint64)gtk_adjustment_get_value(
                              self->timeline_adj))
    return;
  g_autofree char *text = g_strdup_printf(
    "%s · sampled%s%.3f", gtk_label_get_text(self->frame_label),
    s->has_score ? ", spoof probability " : ", no score", s->has_score
                                                           ? s->score : 0.0);
  gtk_label_set_text(self->frame_label, text);
}

typedef struct {
  AgfasVideoView *view;  /* ref */
  AgfVideoWorker *worker;
  guint generation;
} DecodeReq;

static void on_decoded(GObject *source, GAsyncResult *res, gpointer data)
{
  (void)source;
  DecodeReq *d = data;
  AgfasVideoView *self = d->view;
  GError *error = NULL;
  int64_t k = -1;
  g_autoptr(AgfImage) img = agf_video_worker_decode_finish(d->worker, res, &k,
                                                           &error);
  if (d->generation == self->generation && self->worker == d->worker) {
    if (img) {
      g_autoptr(GdkTexture) tex = image_texture(img);
      agfas_canvas_set_texture(self->canvas, tex);
      self->shown = k;
      update_overlay(self);
    } else if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      g_autofree char *msg = g_strdup_printf(
        "Cannot decode frame %" G_GINT64_FORMAT ": %s", (gint64)k,
        error->message);
      gtk_label_set_text(self->info_label, msg);
    }
  }
  g_clear_error(&error);
  g_object_unref(d->view);
  g_free(d);
}

static void request_frame(AgfasVideoView *self)
{
  update_frame_label(self);
  if (!self->worker)
    return;
  if (self->decode_cancel)
    g_cancellable_cancel(self->decode_cancel);
  g_clear_object(&self->decode_cancel);
  self->decode_cancel = g_cancellable_new();
  DecodeReq *d = g_new(DecodeReq, 1);
  *d = (DecodeReq){ g_object_ref(self), self->worker, self->generation };
  agf_video_worker_decode_async(
    self->worker, (int64_t)gtk_adjustment_get_value(self->timeline_adj),
    self->decode_cancel, on_decoded, d);
}

static void on_sample_clicked(GtkButton *button, gpointer data)
{
  AgfasVideoView *self = data;
  guint i;
  if (g_ptr_array_find(self->buttons, button, &i))
    agfas_video_view_seek(self, ((AgfasFrameScore *)self->scores->pdata[i])
                                  ->frame);
}

static char *score_text(const AgfasFrameScore *s)
{
  if (!s->has_score)
    return g_strdup("no score");
  return g_strdup_printf("%.3f %s", s->score,
                         s->score >= SPOOF_THRESHOLD ? "spoof" : "live");
}

static void show_mean(AgfasVideoView *self)
{
  self->has_mean = agfas_frame_scores_mean(
    (AgfasFrameScore *const *)self->scores->pdata, self->scores->len,
    &self->mean);
  gtk_widget_set_visible(GTK_WIDGET(self->score_bar), self->has_mean);
  if (self->has_mean) {
    gtk_level_bar_set_value(self->score_bar, self->mean);
    g_autofree char *text = g_strdup_printf(
      "Video spoof probability %.3f: %s (mean of %u frames)", self->mean,
      self->mean >= SPOOF_THRESHOLD ? "spoof" : "live", self->scores->len);
    gtk_label_set_text(self->score_label, text);
  } else if (self->scores->len > 0) {
    const AgfasFrameScore *s = self->scores->pdata[0];
    g_autofree char *text = g_strdup_printf("No video score: %s",
                                            s->note ? s->note : "no frame "
                                            "has a score");
    gtk_label_set_text(self->score_label, text);
  }
}

/* Appends s (taken) to the strip. */
static void add_sample(AgfasVideoView *self, AgfasFrameScore *s)
{
  GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
  if (s->image) {
    g_autoptr(GdkTexture) tex = image_texture(s->image);
    GtkWidget *pic = gtk_picture_new_for_paintable(GDK_PAINTABLE(tex));
    gtk_widget_set_size_request(pic, 112, 84);
    gtk_box_append(GTK_BOX(box), pic);
    /* The strip needs only the thumbnail; the canvas decodes its own. */
    g_clear_pointer(&s->image, agf_image_free);
  }
  g_autofree char *num = g_strdup_printf("#%" G_GINT64_FORMAT,
                                         (gint64)s->frame);
  gtk_box_append(GTK_BOX(box), gtk_label_new(num));
  g_autofree char *sc = score_text(s);
  GtkWidget *label = gtk_label_new(sc);
  if (s->has_score)
    gtk_widget_add_css_class(label, s->score >= SPOOF_THRESHOLD ? "spoof"
                                                                 : "live");
  gtk_box_append(GTK_BOX(box), label);
  GtkWidget *button = gtk_button_new();
  gtk_button_set_child(GTK_BUTTON(button), box);
  gtk_widget_add_css_class(button, "flat");
  g_autofree char *tip = g_strdup_printf(
    "Frame %" G_GINT64_FORMAT ": %s%s%s (click to show it)", (gint64)s->frame,
    sc, s->note ? " · " : "", s->note ? s->note : "");
  gtk_widget_set_tooltip_text(button, tip);
  g_signal_connect(button, "clicked", G_CALLBACK(on_sample_clicked), self);
  gtk_box_append(self->strip, button);
  g_ptr_array_add(self->scores, s);
  g_ptr_array_add(self->buttons, button);
  show_mean(self);
  if (s->frame == self->shown)
    update_overlay(self);
}

typedef struct {
  AgfasVideoView *view;  /* ref */
  guint generation;
  AgfasFrameScore *score;
  int index, total;
} ScoreMsg;

static gboolean score_on_main(gpointer data)
{
  ScoreMsg *m = data;
  AgfasVideoView *self = m->view;
  if (m->generation == self->generation &&
      self->state == AGFAS_VIDEO_SCORING &&
      (guint)m->index == self->scores->len) {
    add_sample(self, g_steal_pointer(&m->score));
    g_autofree char *text = g_strdup_printf("Scored frame %d / %d",
                                            m->index + 1, m->total);
    gtk_progress_bar_set_fraction(self->progress_bar,
                                  (double)(m->index + 1) / m->total);
    gtk_progress_bar_set_text(self->progress_bar, text);
  }
  agfas_frame_score_free(m->score);
  g_object_unref(m->view);
  g_free(m);
  return G_SOURCE_REMOVE;
}

typedef struct {
  AgfasVideoView *view;  /* ref */
  guint generation;
  AgfasEngine *engine;
  char *spec, *path;
  AgfasAnalysisParams params;
} ScoreJob;

static void score_job_free(gpointer data)
{
  ScoreJob *j = data;
  g_object_unref(j->view);
  agfas_engine_unref(j->engine);
  g_free(j->spec);
  g_free(j->path);
  g_free(j);
}

/* Scoring thread -> main loop, one frame at a time. */
static void on_frame_scored(AgfasFrameScore *s, int index, int total,
                            gpointer data)
{
  ScoreJob *j = data;
  ScoreMsg *m = g_new(ScoreMsg, 1);
  *m = (ScoreMsg){ g_object_ref(j->view), j->generation, s, index, total };
  g_main_context_invoke(NULL, score_on_main, m);
}

static void score_thread(GTask *task, gpointer source, gpointer data,
                         GCancellable *cancellable)
{
  (void)source;
  ScoreJob *j = data;
  GError *error = NULL;
  if (agfas_media_score_file(j->engine, j->spec, &j->params, j->path, TRUE,
                             cancellable, on_frame_scored, j, &error))
    g_task_return_boolean(task, TRUE);
  else
    g_task_return_error(task, error);
}

static void on_score_done(GObject *source, GAsyncResult *res, gpointer data)
{
  (void)data;
  AgfasVideoView *self = AGFAS_VIDEO_VIEW(source);
  ScoreJob *j = g_task_get_task_data(G_TASK(res));
  GError *error = NULL;
  gboolean ok = g_task_propagate_boolean(G_TASK(res), &error);
  if (j->generation != self->generation) {
    g_clear_error(&error);
    return;
  }
  if (ok) {
    self->state = AGFAS_VIDEO_DONE;
    gtk_progress_bar_set_fraction(self->progress_bar, 1);
    gtk_progress_bar_set_text(self->progress_bar, "Done");
  } else {
    self->state = AGFAS_VIDEO_FAILED;
    g_autofree char *msg = g_strdup_printf("Scoring stopped: %s",
                                           error->message);
    gtk_label_set_text(self->info_label, msg);
    gtk_progress_bar_set_text(self->progress_bar, "Failed");
    g_error_free(error);
  }
}

static void open_thread(GTask *task, gpointer source, gpointer data,
                        GCancellable *cancellable)
{
  (void)source, (void)cancellable;
  const ScoreJob *j = data;
  GError *error = NULL;
  AgfVideo *v = agf_video_open(j->path, &error);
  if (v)
    g_task_return_pointer(task, v, (GDestroyNotify)agf_video_close);
  else
    g_task_return_error(task, error);
}

static void on_opened(GObject *source, GAsyncResult *res, gpointer data)
{
  (void)data;
  AgfasVideoView *self = AGFAS_VIDEO_VIEW(source);
  ScoreJob *j = g_task_get_task_data(G_TASK(res));
  GError *error = NULL;
  AgfVideo *v = g_task_propagate_pointer(G_TASK(res), &error);
  if (j->generation != self->generation) {
    g_clear_pointer(&v, agf_video_close);
    g_clear_error(&error);
    return;
  }
  if (!v) {
    self->state = AGFAS_VIDEO_FAILED;
    g_autofree char *base = g_path_get_basename(j->path);
    g_autofree char *msg = g_strdup_printf(
      "Cannot open the video %s: %s", base, error->message);
    gtk_label_set_text(self->info_label, msg);
    gtk_label_set_text(self->score_label, "No video score: the file could "
                                          "not be read");
    gtk_progress_bar_set_fraction(self->progress_bar, 0);
    gtk_progress_bar_set_text(self->progress_bar, "Failed");
    g_error_free(error);
    return;
  }
  self->worker = agf_video_worker_new(v);
  self->info = *agf_video_worker_get_info(self->worker);
  g_autofree char *base = g_path_get_basename(j->path);
  g_autofree char *info = g_strdup_printf(
    "%s · %d × %d · %" G_GINT64_FORMAT " frames · %.2f fps · %s", base,
    self->info.width, self->info.height, (gint64)self->info.n_frames,
    self->info.fps, self->info.codec);
  gtk_label_set_text(self->info_label, info);
  gtk_adjustment_configure(self->timeline_adj, 0, 0,
                           (double)MAX(self->info.n_frames - 1, 0), 1, 10, 0);
  request_frame(self);

  self->state = AGFAS_VIDEO_SCORING;
  gtk_progress_bar_set_text(self->progress_bar, "Scoring the sampled frames…");
  ScoreJob *sj = g_new(ScoreJob, 1);
  *sj = *j;
  g_object_ref(sj->view);
  agfas_engine_ref(sj->engine);
  sj->spec = g_strdup(j->spec);
  sj->path = g_strdup(j->path);
  GTask *task = g_task_new(self, self->cancellable, on_score_done, NULL);
  g_task_set_task_data(task, sj, score_job_free);
  g_task_run_in_thread(task, score_thread);
  g_object_unref(task);
}

void agfas_video_view_stop(AgfasVideoView *self)
{
  g_return_if_fail(AGFAS_IS_VIDEO_VIEW(self));
  self->generation++;
  if (self->cancellable)
    g_cancellable_cancel(self->cancellable);
  g_clear_object(&self->cancellable);
  if (self->decode_cancel)
    g_cancellable_cancel(self->decode_cancel);
  g_clear_object(&self->decode_cancel);
  g_clear_pointer(&self->worker, agf_video_worker_free);
  if (self->state == AGFAS_VIDEO_OPENING ||
      self->state == AGFAS_VIDEO_SCORING)
    self->state = AGFAS_VIDEO_EMPTY;
}

void agfas_video_view_open(AgfasVideoView *self, const char *path,
                           AgfasEngine *e, const char *device_spec,
                           const AgfasAnalysisParams *params)
{
  g_return_if_fail(AGFAS_IS_VIDEO_VIEW(self) && path && e && params);
  agfas_video_view_stop(self);
  self->state = AGFAS_VIDEO_OPENING;
  self->shown = -1;
  self->has_mean = FALSE;
  memset(&self->info, 0, sizeof self->info);
  g_free(self->path);
  self->path = g_strdup(path);
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->strip))))
    gtk_box_remove(self->strip, child);
  g_ptr_array_set_size(self->buttons, 0);
  g_ptr_array_set_size(self->scores, 0);
  agfas_canvas_set_texture(self->canvas, NULL);
  gtk_adjustment_configure(self->timeline_adj, 0, 0, 0, 1, 10, 0);
  gtk_widget_set_visible(GTK_WIDGET(self->score_bar), FALSE);
  gtk_label_set_text(self->score_label, "");
  g_autofree char *base = g_path_get_basename(path);
  g_autofree char *msg = g_strdup_printf("Opening %s…", base);
  gtk_label_set_text(self->info_label, msg);
  gtk_progress_bar_set_fraction(self->progress_bar, 0);
  gtk_progress_bar_set_text(self->progress_bar, "Opening…");

  self->cancellable = g_cancellable_new();
  ScoreJob *j = g_new0(ScoreJob, 1);
  *j = (ScoreJob){ g_object_ref(self), self->generation, agfas_engine_ref(e),
                   g_strdup(device_spec), g_strdup(path), *params };
  GTask *task = g_task_new(self, self->cancellable, on_opened, NULL);
  g_task_set_task_data(task, j, score_job_free);
  g_task_run_in_thread(task, open_thread);
  g_object_unref(task);
}

AgfasVideoState agfas_video_view_get_state(AgfasVideoView *self)
{
  g_return_val_if_fail(AGFAS_IS_VIDEO_VIEW(self), AGFAS_VIDEO_EMPTY);
  return self->state;
}

gint64 agfas_video_view_get_n_frames(AgfasVideoView *self)
{
  g_return_val_if_fail(AGFAS_IS_VIDEO_VIEW(self), 0);
  return self->worker ? self->info.n_frames : 0;
}

void agfas_video_view_seek(AgfasVideoView *self, gint64 k)
{
  g_return_if_fail(AGFAS_IS_VIDEO_VIEW(self));
  gtk_adjustment_set_value(self->timeline_adj, (double)k);
}

gint64 agfas_video_view_get_position(AgfasVideoView *self)
{
  g_return_val_if_fail(AGFAS_IS_VIDEO_VIEW(self), 0);
  return (gint64)gtk_adjustment_get_value(self->timeline_adj);
}

gint64 agfas_video_view_get_shown_frame(AgfasVideoView *self)
{
  g_return_val_if_fail(AGFAS_IS_VIDEO_VIEW(self), -1);
  return self->shown;
}

guint agfas_video_view_get_n_scored(AgfasVideoView *self)
{
  g_return_val_if_fail(AGFAS_IS_VIDEO_VIEW(self), 0);
  return self->scores->len;
}

gint64 agfas_video_view_get_sample_frame(AgfasVideoView *self, guint i)
{
  g_return_val_if_fail(AGFAS_IS_VIDEO_VIEW(self) && i < self->scores->len,
                       -1);
  return ((AgfasFrameScore *)self->scores->pdata[i])->frame;
}

gboolean agfas_video_view_get_sample_score(AgfasVideoView *self, guint i,
                                           double *score)
{
  g_return_val_if_fail(AGFAS_IS_VIDEO_VIEW(self) && i < self->scores->len,
                       FALSE);
  const AgfasFrameScore *s = self->scores->pdata[i];
  if (s->has_score && score)
    *score = s->score;
  return s->has_score;
}

GtkWidget *agfas_video_view_get_sample_button(AgfasVideoView *self, guint i)
{
  g_return_val_if_fail(AGFAS_IS_VIDEO_VIEW(self), NULL);
  return i < self->buttons->len ? self->buttons->pdata[i] : NULL;
}

gboolean agfas_video_view_get_video_score(AgfasVideoView *self,
                                          double *score)
{
  g_return_val_if_fail(AGFAS_IS_VIDEO_VIEW(self), FALSE);
  if (self->has_mean && score)
    *score = self->mean;
  return self->has_mean;
}

const char *agfas_video_view_get_score_text(AgfasVideoView *self)
{
  g_return_val_if_fail(AGFAS_IS_VIDEO_VIEW(self), NULL);
  return gtk_label_get_text(self->score_label);
}

const char *agfas_video_view_get_status_text(AgfasVideoView *self)
{
  g_return_val_if_fail(AGFAS_IS_VIDEO_VIEW(self), NULL);
  return gtk_label_get_text(self->info_label);
}

AgfasCanvas *agfas_video_view_get_canvas(AgfasVideoView *self)
{
  g_return_val_if_fail(AGFAS_IS_VIDEO_VIEW(self), NULL);
  return self->canvas;
}

static void agfas_video_view_dispose(GObject *object)
{
  AgfasVideoView *self = AGFAS_VIDEO_VIEW(object);
  agfas_video_view_stop(self);
  g_clear_object(&self->view);
  G_OBJECT_CLASS(agfas_video_view_parent_class)->dispose(object);
}

static void agfas_video_view_finalize(GObject *object)
{
  AgfasVideoView *self = AGFAS_VIDEO_VIEW(object);
  g_free(self->path);
  g_ptr_array_unref(self->scores);
  g_ptr_array_unref(self->buttons);
  G_OBJECT_CLASS(agfas_video_view_parent_class)->finalize(object);
}

static void agfas_video_view_class_init(AgfasVideoViewClass *klass)
{
  GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
  G_OBJECT_CLASS(klass)->dispose = agfas_video_view_dispose;
  G_OBJECT_CLASS(klass)->finalize = agfas_video_view_finalize;
  g_type_ensure(AGFAS_TYPE_CANVAS);
  gtk_widget_class_set_template_from_resource(
    wc, "/io/github/agfas/Studio/ui/agfas-video-view.ui");
#define BIND(name) \
  gtk_widget_class_bind_template_child(wc, AgfasVideoView, name)
  BIND(score_label);
  BIND(info_label);
  BIND(frame_label);
  BIND(score_bar);
  BIND(progress_bar);
  BIND(canvas);
  BIND(timeline_adj);
  BIND(strip);
#undef BIND
}

static void agfas_video_view_init(AgfasVideoView *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  self->shown = -1;
  self->view = agfas_view_new();
  agfas_canvas_set_view(self->canvas, self->view);
  self->scores = g_ptr_array_new_with_free_func(
    (GDestroyNotify)agfas_frame_score_free);
  self->buttons = g_ptr_array_new();
  gtk_level_bar_remove_offset_value(self->score_bar, GTK_LEVEL_BAR_OFFSET_LOW);
  gtk_level_bar_remove_offset_value(self->score_bar,
                                    GTK_LEVEL_BAR_OFFSET_HIGH);
  gtk_level_bar_remove_offset_value(self->score_bar,
                                    GTK_LEVEL_BAR_OFFSET_FULL);
  gtk_level_bar_add_offset_value(self->score_bar, "live", SPOOF_THRESHOLD);
  gtk_level_bar_add_offset_value(self->score_bar, "spoof", 1.0);
  /* Connected after the template set the adjustment: no decode at build. */
  g_signal_connect_swapped(self->timeline_adj, "value-changed",
                           G_CALLBACK(request_frame), self);
}

AgfasVideoView *agfas_video_view_new(void)
{
  return g_object_new(AGFAS_TYPE_VIDEO_VIEW, NULL);
}
