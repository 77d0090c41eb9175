/* The video page: a timeline to scrub the frames (decoded off the UI
 * thread by an AgfVideoWorker), the frames the trainer samples (see
 * agfas-media-score.h) as a clickable strip with per-frame spoof
 * probabilities, and the video-level score, their mean. The sampled
 * frames are scored on a worker thread as soon as the video is open; a new
 * video (or closing the page) cancels the previous one's work. */
#pragma once
#include <gtk/gtk.h>

#include "agfas-analysis.h"
#include "agfas-canvas.h"

G_BEGIN_DECLS

#define AGFAS_TYPE_VIDEO_VIEW (agfas_video_view_get_type())
G_DECLARE_FINAL_TYPE(AgfasVideoView, agfas_video_view, AGFAS, VIDEO_VIEW,
                     GtkBox)

typedef enum {
  AGFAS_VIDEO_EMPTY,
  AGFAS_VIDEO_OPENING,  /* indexing the file */
  AGFAS_VIDEO_SCORING,  /* open; the sampled frames are being scored */
  AGFAS_VIDEO_DONE,     /* every sampled frame scored */
  AGFAS_VIDEO_FAILED,   /* the status line says why */
} AgfasVideoState;

AgfasVideoView *agfas_video_view_new(void);
/* Opens the video at path and starts scoring its sampled frames with e on
 * device_spec with params. Failures (unreadable, corrupt, not a video)
 * end in AGFAS_VIDEO_FAILED with the reason on the status line. */
void agfas_video_view_open(AgfasVideoView *self, const char *path,
                           AgfasEngine *e, const char *device_spec,
                           const AgfasAnalysisParams *params);
AgfasVideoState agfas_video_view_get_state(AgfasVideoView *self);
/* Frames of the open video (0 when none). */
gint64 agfas_video_view_get_n_frames(AgfasVideoView *self);
/* Moves the timeline to frame k (clamped); the frame is decoded async. */
void agfas_video_view_seek(AgfasVideoView *self, gint64 k);
/* The timeline's frame, and the frame the canvas shows (-1: none yet). */
gint64 agfas_video_view_get_position(AgfasVideoView *self);
gint64 agfas_video_view_get_shown_frame(AgfasVideoView *self);
/* Sampled frames scored so far; sample i's frame index and score (FALSE
 * when it has none, e.g. no model). */
guint agfas_video_view_get_n_scored(AgfasVideoView *self);
gint64 agfas_video_view_get_sample_frame(AgfasVideoView *self, guint i);
gboolean agfas_video_view_get_sample_score(AgfasVideoView *self, guint i,
                                           double *score);
/* The strip's button of sample i (NULL out of range), to click it. */
GtkWidget *agfas_video_view_get_sample_button(AgfasVideoView *self, guint i);
/* Mean of the sampled frames' scores; FALSE when none has one. */
gboolean agfas_video_view_get_video_score(AgfasVideoView *self,
                                          double *score);
/* The score line and the status (info) line. */
const char *agfas_video_view_get_score_text(AgfasVideoView *self);
const char *agfas_video_view_get_status_text(AgfasVideoView *self);
/* The canvas: the frame at the timeline's position, with the face box and
 * landmarks of its analysis when it is a scored sampled frame. */
AgfasCanvas *agfas_video_view_get_canvas(AgfasVideoView *self);
/* Stops the decoding and the scoring (the page is left). */
void agfas_video_view_stop(AgfasVideoView *self);

G_END_DECLS
