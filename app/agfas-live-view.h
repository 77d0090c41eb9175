/* Live mode for demos: frames from a camera (engine/io/camera.h) shown as
 * they come, each analysed in turn on a worker thread, with the latest
 * spoof probability and verdict in large type; the frame is drawn fitted
 * to the page, with the face box and landmarks of its analysis. Without a camera the page
 * says so and how to get one. A video file can stand in for the camera
 * (played in a loop at its frame rate), so the live path runs without
 * hardware. */
#pragma once
#include <gtk/gtk.h>

#include "agfas-analysis.h"
#include "agfas-canvas.h"

G_BEGIN_DECLS

#define AGFAS_TYPE_LIVE_VIEW (agfas_live_view_get_type())
G_DECLARE_FINAL_TYPE(AgfasLiveView, agfas_live_view, AGFAS, LIVE_VIEW, GtkBox)

typedef enum {
  AGFAS_LIVE_IDLE,
  AGFAS_LIVE_RUNNING,
  AGFAS_LIVE_FAILED,   /* no camera, or the source failed: status says why */
} AgfasLiveState;

AgfasLiveView *agfas_live_view_new(void);
/* Starts the first camera agf_camera_list finds (camera NULL) or the V4L2
 * device at camera. FALSE, with the page showing the message, when there
 * is none (AGF_ERROR_IO) or it cannot be opened. */
gboolean agfas_live_view_start_camera(AgfasLiveView *self, const char *camera,
                                      AgfasEngine *e, const char *device_spec,
                                      const AgfasAnalysisParams *params,
                                      GError **error);
/* The video at path as the camera (looped). */
void agfas_live_view_start_file(AgfasLiveView *self, const char *path,
                                AgfasEngine *e, const char *device_spec,
                                const AgfasAnalysisParams *params);
void agfas_live_view_stop(AgfasLiveView *self);
AgfasLiveState agfas_live_view_get_state(AgfasLiveView *self);
/* Frames shown and frames analysed since the start. */
guint agfas_live_view_get_n_shown(AgfasLiveView *self);
guint agfas_live_view_get_n_scored(AgfasLiveView *self);
const char *agfas_live_view_get_score_text(AgfasLiveView *self);
const char *agfas_live_view_get_status_text(AgfasLiveView *self);
/* The canvas: the latest frame, with the face box and landmarks of its
 * analysis once that is done. */
AgfasCanvas *agfas_live_view_get_canvas(AgfasLiveView *self);

G_END_DECLS
