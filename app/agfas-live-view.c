/* See agfas-live-view.h. */
#include "agfas-live-view.h"

#include "agfas-canvas.h"
#include "agfas-media-score.h"
#include "io/camera.h"
#include "io/video.h"
#include "nn/error.h"

#define SPOOF_THRESHOLD 0.5

struct _AgfasLiveView {
  GtkBox parent_instance;
  GtkLabel *score_label, *status_label;
  GtkButton *stop_button;
  AgfasCanvas *canvas;
  AgfasView *view;       /* the canvas' zoom and pan */

  AgfasLiveState state;
  guint generation;
  GCancellable *cancellable;
  guint n_shown, n_scored;
  int64_t shown;         /* index of the frame on the canvas, -1: none */
};

G_DEFINE_FINAL_TYPE(AgfasLiveView, agfas_live_view, GTK_TYPE_BOX)

typedef struct {
  AgfasLiveView *view;   /* ref */
  guint generation;
  AgfasEngine *engine;
  char *spec;
  char *camera;          /* V4L2 device, or NULL */
  char *file;            /* video standing in for the camera, or NULL */
  AgfasAnalysisParams params;
} LiveJob;

static void live_job_free(gpointer data)
{
  LiveJob *j = data;
  g_object_unref(j->view);
  agfas_engine_unref(j->engine);
  g_free(j->spec);
  g_free(j->camera);
  g_free(j->file);
  g_free(j);
}

typedef struct {
  AgfasLiveView *view;   /* ref */
  guint generation;
  int64_t k;             /* the frame's index since the start */
  AgfImage *frame;       /* a new frame, or NULL */
  AgfasFrameScore *score; /* its analysis, or NULL */
} LiveMsg;

static gboolean msg_on_main(gpointer data)
{
  LiveMsg *m = data;
  AgfasLiveView *self = m->view;
  if (m->generation == self->generation &&
      self->state == AGFAS_LIVE_RUNNING) {
    if (m->frame) {
      g_autoptr(GBytes) b = g_bytes_new(m->frame->pixels,
                                        m->frame->stride * m->frame->height);
      g_autoptr(GdkTexture) tex = gdk_memory_texture_new(
        m->frame->width, m->frame->height, GDK_MEMORY_R8G8B8A8, b,
        m->frame->stride);
      agfas_canvas_set_texture(self->canvas, tex);
      agfas_canvas_set_face(self->canvas, NULL, NULL);
      self->shown = m->k;
      self->n_shown++;
    }
    if (m->score) {
      const AgfasFrameScore *s = m->score;
      self->n_scored++;
      /* The box of the analysed frame, which is still the one shown. */
      if (m->k == self->shown)
        agfas_canvas_set_face(self->canvas, s->box, s->landmarks);
      g_autofree char *text =
        s->has_score ? g_strdup_printf("%s · %.3f",
                                       s->score >= SPOOF_THRESHOLD ? "SPOOF"
                                                                   : "LIVE",
                                       s->score)
                     : g_strdup_printf("No score: %s",
                                       s->note ? s->note : "unknown");
      gtk_label_set_text(self->score_label, text);
      gtk_widget_remove_css_class(GTK_WIDGET(self->score_label), "live");
      gtk_widget_remove_css_class(GTK_WIDGET(self->score_label), "spoof");
      if (s->has_score)
        gtk_widget_add_css_class(GTK_WIDGET(self->score_label),
                                 s->score >= SPOOF_THRESHOLD ? "spoof"
                                                             : "live");
    }
  }
  g_clear_pointer(&m->frame, agf_image_free);
  g_clear_pointer(&m->score, agfas_frame_score_free);
  g_object_unref(m->view);
  g_free(m);
  return G_SOURCE_REMOVE;
}

static void post(LiveJob *j, int64_t k, AgfImage *frame,
                 AgfasFrameScore *score)
{
  LiveMsg *m = g_new(LiveMsg, 1);
  *m = (LiveMsg){ g_object_ref(j->view), j->generation, k, frame, score };
  g_main_context_invoke(NULL, msg_on_main, m);
}

/* Shows each frame, then analyses it: the frame rate is the analysis
 * rate, and the shown verdict is always that of the frame on screen. */
static gboolean run_loop(LiveJob *j, AgfCamera *cam, AgfVideo *video,
                         GCancellable *cancellable, GError **error)
{
  const AgfVideoInfo *info = video ? agf_video_get_info(video) : NULL;
  gint64 period_us = info && info->fps > 0 ? (gint64)(1e6 / info->fps) : 0;
  for (int64_t k = 0;; k++) {
    gint64 t0 = g_get_monotonic_time();
    AgfImage *frame =
      cam ? agf_camera_grab(cam, cancellable, error)
          : agf_video_decode_frame(video, k % info->n_frames, cancellable,
                                   error);
    if (!frame)
      return FALSE;
    post(j, k, agf_image_copy(frame), NULL);
    g_autoptr(AgfasAnalysisResult) r = agfas_engine_run_image(
      j->engine, j->spec, frame, &j->params, cancellable, NULL, NULL, error);
    agf_image_free(frame);
    if (!r)
      return FALSE;
    post(j, k, NULL, agfas_frame_score_from_result(r, k));
    /* A file plays no faster than its frame rate. */
    gint64 left = period_us - (g_get_monotonic_time() - t0);
    if (left > 0)
      g_usleep((gulong)left);
    if (g_cancellable_set_error_if_cancelled(cancellable, error))
      return FALSE;
  }
}

static void live_thread(GTask *task, gpointer source, gpointer data,
                        GCancellable *cancellable)
{
  (void)source;
  LiveJob *j = data;
  GError *error = NULL;
  g_autoptr(AgfCamera) cam = NULL;
  g_autoptr(AgfVideo) video = NULL;
  if (j->file)
    video = agf_video_open(j->file, &error);
  else
    cam = agf_camera_open(j->camera, 0, 0, 0, &error);
  if ((cam || video) && run_loop(j, cam, video, cancellable, &error))
    g_task_return_boolean(task, TRUE);
  else
    g_task_return_error(task, error);
}

static void on_live_done(GObject *source, GAsyncResult *res, gpointer data)
{
  (void)data;
  AgfasLiveView *self = AGFAS_LIVE_VIEW(source);
  LiveJob *j = g_task_get_task_data(G_TASK(res));
  GError *error = NULL;
  g_task_propagate_boolean(G_TASK(res), &error);
  if (j->generation == self->generation && error &&
      !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    self->state = AGFAS_LIVE_FAILED;
    g_autofree char *msg = g_strdup_printf("The live source stopped: %s",
                                           error->message);
    gtk_label_set_text(self->status_label, msg);
    gtk_widget_set_sensitive(GTK_WIDGET(self->stop_button), FALSE);
  }
  g_clear_error(&error);
}

static void start(AgfasLiveView *self, LiveJob *j, const char *what)
{
  agfas_live_view_stop(self);
  self->state = AGFAS_LIVE_RUNNING;
  self->n_shown = self->n_scored = 0;
  self->shown = -1;
  j->view = g_object_ref(self);
  j->generation = self->generation;
  self->cancellable = g_cancellable_new();
  g_autofree char *msg = g_strdup_printf("Live from %s", what);
  gtk_label_set_text(self->status_label, msg);
  gtk_label_set_text(self->score_label, "Waiting for the first analysis…");
  gtk_widget_set_sensitive(GTK_WIDGET(self->stop_button), TRUE);
  GTask *task = g_task_new(self, self->cancellable, on_live_done, NULL);
  g_task_set_task_data(task, j, live_job_free);
  g_task_run_in_thread(task, live_thread);
  g_object_unref(task);
}

static LiveJob *job_new(AgfasEngine *e, const char *spec,
                        const AgfasAnalysisParams *params)
{
  LiveJob *j = g_new0(LiveJob, 1);
  j->engine = agfas_engine_ref(e);
  j->spec = g_strdup(spec);
  j->params = *params;
  return j;
}

gboolean agfas_live_view_start_camera(AgfasLiveView *self, const char *camera,
                                      AgfasEngine *e, const char *device_spec,
                                      const AgfasAnalysisParams *params,
                                      GError **error)
{
  g_return_val_if_fail(AGFAS_IS_LIVE_VIEW(self) && e && params, FALSE);
  g_autofree char *path = g_strdup(camera);
  g_autofree char *name = NULL;
  if (!path) {
    g_autoptr(GPtrArray) cams = agf_camera_list();
    if (cams->len == 0) {
      agfas_live_view_stop(self);
      self->state = AGFAS_LIVE_FAILED;
      static const char msg[] =
        "No camera found. Connect a webcam (a V4L2 device, /dev/video*) "
        "and choose Camera again; check that your user may open it (the "
        "\"video\" group). Meanwhile, open an image or a video.";
      gtk_label_set_text(self->status_label, msg);
      gtk_label_set_text(self->score_label, "No camera");
      gtk_widget_set_sensitive(GTK_WIDGET(self->stop_button), FALSE);
      agfas_canvas_set_texture(self->canvas, NULL);
      g_set_error_literal(error, AGF_ERROR, AGF_ERROR_IO, msg);
      return FALSE;
    }
    const AgfCameraInfo *info = cams->pdata[0];
    path = g_strdup(info->path);
    name = g_strdup_printf("%s (%s)", info->name, info->path);
  }
  LiveJob *j = job_new(e, device_spec, params);
  j->camera = g_strdup(path);
  start(self, j, name ? name : path);
  return TRUE;
}

void agfas_live_view_start_file(AgfasLiveView *self, const char *path,
                                AgfasEngine *e, const char *device_spec,
                                const AgfasAnalysisParams *params)
{
  g_return_if_fail(AGFAS_IS_LIVE_VIEW(self) && path && e && params);
  LiveJob *j = job_new(e, device_spec, params);
  j->file = g_strdup(path);
  g_autofree char *base = g_path_get_basename(path);
  g_autofree char *what = g_strdup_printf("%s (a video played as a camera)",
                                          base);
  start(self, j, what);
}

void agfas_live_view_stop(AgfasLiveView *self)
{
  g_return_if_fail(AGFAS_IS_LIVE_VIEW(self));
  self->generation++;
  if (self->cancellable)
    g_cancellable_cancel(self->cancellable);
  g_clear_object(&self->cancellable);
  if (self->state == AGFAS_LIVE_RUNNING) {
    self->state = AGFAS_LIVE_IDLE;
    gtk_label_set_text(self->status_label, "Stopped");
    gtk_widget_set_sensitive(GTK_WIDGET(self->stop_button), FALSE);
  }
}

AgfasLiveState agfas_live_view_get_state(AgfasLiveView *self)
{
  g_return_val_if_fail(AGFAS_IS_LIVE_VIEW(self), AGFAS_LIVE_IDLE);
  return self->state;
}

guint agfas_live_view_get_n_shown(AgfasLiveView *self)
{
  g_return_val_if_fail(AGFAS_IS_LIVE_VIEW(self), 0);
  return self->n_shown;
}

guint agfas_live_view_get_n_scored(AgfasLiveView *self)
{
  g_return_val_if_fail(AGFAS_IS_LIVE_VIEW(self), 0);
  return self->n_scored;
}

const char *agfas_live_view_get_score_text(AgfasLiveView *self)
{
  g_return_val_if_fail(AGFAS_IS_LIVE_VIEW(self), NULL);
  return gtk_label_get_text(self->score_label);
}

const char *agfas_live_view_get_status_text(AgfasLiveView *self)
{
  g_return_val_if_fail(AGFAS_IS_LIVE_VIEW(self), NULL);
  return gtk_label_get_text(self->status_label);
}

AgfasCanvas *agfas_live_view_get_canvas(AgfasLiveView *self)
{
  g_return_val_if_fail(AGFAS_IS_LIVE_VIEW(self), NULL);
  return self->canvas;
}

static void agfas_live_view_dispose(GObject *object)
{
  AgfasLiveView *self = AGFAS_LIVE_VIEW(object);
  agfas_live_view_stop(self);
  g_clear_object(&self->view);
  G_OBJECT_CLASS(agfas_live_view_parent_class)->dispose(object);
}

static void agfas_live_view_class_init(AgfasLiveViewClass *klass)
{
  GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
  G_OBJECT_CLASS(klass)->dispose = agfas_live_view_dispose;
  g_type_ensure(AGFAS_TYPE_CANVAS);
  gtk_widget_class_set_template_from_resource(
    wc, "/io/github/agfas/Studio/ui/agfas-live-view.ui");
  gtk_widget_class_bind_template_child(wc, AgfasLiveView, score_label);
  gtk_widget_class_bind_template_child(wc, AgfasLiveView, status_label);
  gtk_widget_class_bind_template_child(wc, AgfasLiveView, stop_button);
  gtk_widget_class_bind_template_child(wc, AgfasLiveView, canvas);
}

static void agfas_live_view_init(AgfasLiveView *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  self->shown = -1;
  self->view = agfas_view_new();
  agfas_canvas_set_view(self->canvas, self->view);
  g_signal_connect_swapped(self->stop_button, "clicked",
                           G_CALLBACK(agfas_live_view_stop), self);
  gtk_widget_set_sensitive(GTK_WIDGET(self->stop_button), FALSE);
}

AgfasLiveView *agfas_live_view_new(void)
{
  return g_object_new(AGFAS_TYPE_LIVE_VIEW, NULL);
}
