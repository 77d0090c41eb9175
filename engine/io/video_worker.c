/* AgfVideoWorker: one thread owning an AgfVideo, fed GTasks through a
 * queue; results go back to each requester's main context via GTask. */
#include "io/video.h"

struct AgfVideoWorker {
  AgfVideo *video;
  GThread *thread;
  GAsyncQueue *queue;      /* GTask*, or the worker itself to stop */
  gint stopping;
};

typedef struct {
  int64_t k;
} Request;

static gpointer
worker_main(gpointer data)
{
  AgfVideoWorker *w = data;
  for (;;) {
    gpointer item = g_async_queue_pop(w->queue);
    if (item == w)
      break;
    GTask *task = item;
    const Request *req = g_task_get_task_data(task);
    GError *error = NULL;
    AgfImage *img = NULL;
    if (g_atomic_int_get(&w->stopping))
      g_set_error_literal(&error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                          "the video worker is shutting down");
    else if (!g_task_return_error_if_cancelled(task))
      img = agf_video_decode_frame(w->video, req->k,
                                   g_task_get_cancellable(task), &error);
    else {
      g_object_unref(task);
      continue;
    }
    if (img != NULL)
      g_task_return_pointer(task, img, (GDestroyNotify) agf_image_free);
    else
      g_task_return_error(task, error);
    g_object_unref(task);
  }
  return NULL;
}

AgfVideoWorker *
agf_video_worker_new(AgfVideo *v)
{
  AgfVideoWorker *w = g_new0(AgfVideoWorker, 1);
  w->video = v;
  w->queue = g_async_queue_new();
  w->thread = g_thread_new("agf-video", worker_main, w);
  return w;
}

const AgfVideoInfo *
agf_video_worker_get_info(const AgfVideoWorker *w)
{
  return agf_video_get_info(w->video);
}

void
agf_video_worker_decode_async(AgfVideoWorker *w, int64_t k,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  GTask *task = g_task_new(NULL, cancellable, callback, user_data);
  g_task_set_source_tag(task, agf_video_worker_decode_async);
  Request *req = g_new(Request, 1);
  req->k = k;
  g_task_set_task_data(task, req, g_free);
  g_async_queue_push(w->queue, task);
}

AgfImage *
agf_video_worker_decode_finish(AgfVideoWorker *w, GAsyncResult *result,
                               int64_t *k_out, GError **error)
{
  (void) w;
  g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
  GTask *task = G_TASK(result);
  if (k_out != NULL)
    *k_out = ((const Request *) g_task_get_task_data(task))->k;
  return g_task_propagate_pointer(task, error);
}

void
agf_video_worker_free(AgfVideoWorker *w)
{
  if (w == NULL)
    return;
  g_atomic_int_set(&w->stopping, 1);
  g_async_queue_push(w->queue, w);
  g_thread_join(w->thread);
  g_async_queue_unref(w->queue);
  agf_video_close(w->video);
  g_free(w);
}
