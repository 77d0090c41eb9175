/* Scores of media files, without GTK so they run on worker threads: a
 * still image is one frame (index -1); a video is scored on the frames the
 * trainer samples (agf_video_sample: AGF_VIDEO_DEFAULT_SAMPLES uniformly
 * spaced frames, as `agfas-train prepare` takes them), and its video-level
 * score is the mean of those frames' spoof probabilities. */
#pragma once
#include <gio/gio.h>

#include "agfas-analysis.h"
#include "io/image.h"

G_BEGIN_DECLS

typedef enum {
  AGFAS_MEDIA_OTHER,
  AGFAS_MEDIA_IMAGE,
  AGFAS_MEDIA_VIDEO,
} AgfasMediaKind;

/* By extension, with the trainer's lists (trainer/train_prepare.h). */
AgfasMediaKind agfas_media_kind_of(const char *path);

/* One scored frame. */
typedef struct {
  int64_t frame;        /* video frame index; -1 for a still image */
  gboolean has_face;    /* a face was detected (box is its box) */
  float box[4];         /* x1, y1, x2, y2 in frame pixels (stand-in when
                           no face: the centre square that was analysed) */
  float landmarks[AGF_FACE_N_LANDMARKS][2]; /* frame pixels (stand-in: the
                           template's points in that square) */
  gboolean has_score;
  double score;         /* spoof probability */
  char *note;           /* no face / no score: why; NULL otherwise */
  AgfImage *image;      /* the frame (only when asked for); may be NULL */
} AgfasFrameScore;

/* The score part of an analysis result (image NULL). */
AgfasFrameScore *agfas_frame_score_from_result(const AgfasAnalysisResult *r,
                                               int64_t frame);
void agfas_frame_score_free(AgfasFrameScore *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfasFrameScore, agfas_frame_score_free)

/* Called on the scoring thread after each frame, in order; takes
 * ownership of s. index: 0-based position, of total frames. */
typedef void (*AgfasFrameScoreFn)(AgfasFrameScore *s, int index, int total,
                                  gpointer data);

/* Scores the file at path (image or video; other kinds are tried as an
 * image). keep_images: give each frame's pixels in AgfasFrameScore.image.
 * Blocking. Errors: the file cannot be read or decoded (the message names
 * it), a device error, G_IO_ERROR_CANCELLED. */
gboolean agfas_media_score_file(AgfasEngine *e, const char *device_spec,
                                const AgfasAnalysisParams *params,
                                const char *path, gboolean keep_images,
                                GCancellable *cancellable,
                                AgfasFrameScoreFn fn, gpointer data,
                                GError **error);

/* Mean of the scored frames' spoof probabilities; FALSE when none has a
 * score. scores: AgfasFrameScore* (NULL entries skipped). */
gboolean agfas_frame_scores_mean(AgfasFrameScore *const *scores, guint n,
                                 double *mean_out);

G_END_DECLS
