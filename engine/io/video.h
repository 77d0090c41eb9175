/* Video files through libavformat/libavcodec/libswscale: any container and
 * codec the system's FFmpeg decodes.
 *
 * Opening reads the whole file once WITHOUT decoding (demuxing only, so
 * I/O-bound) and builds a packet index: one entry per packet of the
 * video stream with its timestamps and keyframe flag. That index gives
 *  - the frame count, always counted (containers often store no count, or a
 *    wrong one, e.g. for edited MP4s, MKV and MPEG-TS); the container's own
 *    figure is reported beside it. One packet is one frame, as in every
 *    mainstream container/codec pair;
 *  - frame-accurate random access: frame k is the k-th packet in
 *    presentation (pts) order; decode_frame(k) seeks to the last keyframe
 *    at or before it (in decode order, with a pts not after frame k, so
 *    open-GOP leading pictures are handled), decodes forward and returns the
 *    frame whose timestamp is frame k's. Consecutive requests inside the
 *    run already decoded continue without seeking (cheap playback).
 * Streams whose packets carry no pts are ordered by dts (decode order =
 * presentation order, true for codecs without B-frames).
 *
 * A display-matrix rotation on the stream (phone videos) is applied, so
 * frames and info->width/height are upright.
 *
 * An AgfVideo is not thread-safe; AgfVideoWorker owns one on its own
 * thread for the app's timeline. Cancellation reports G_IO_ERROR_CANCELLED;
 * every other failure is an AGF_ERROR. */
#pragma once
#include <gio/gio.h>

#include "io/image.h"

G_BEGIN_DECLS

#define AGF_VIDEO_DEFAULT_SAMPLES 10

typedef struct AgfVideo AgfVideo;

typedef struct {
  int width, height;          /* upright display size */
  int64_t n_frames;           /* counted from the packet index */
  int64_t container_frames;   /* what the container claims; 0 = nothing */
  double fps;                 /* average frame rate */
  double duration_s;          /* container duration, else n_frames / fps */
  int orientation;            /* EXIF-style code applied to frames (1 = none) */
  char codec[32];             /* e.g. "h264" */
  char container[32];         /* e.g. "mov,mp4,m4a,3gp,3g2,mj2" (truncated) */
} AgfVideoInfo;

/* Errors: AGF_ERROR_IO (cannot read), AGF_ERROR_FORMAT (not a video,
 * corrupt, truncated before the first frame, no frames),
 * AGF_ERROR_UNSUPPORTED (no decoder for the codec, above the pixel limit).
 * Bounded: a read that makes no progress for 30 s is abandoned. */
AgfVideo *agf_video_open(const char *path, GError **error);
void agf_video_close(AgfVideo *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfVideo, agf_video_close)

const AgfVideoInfo *agf_video_get_info(const AgfVideo *v);

/* Frame k (0 <= k < n_frames, presentation order) as upright RGBA.
 * cancellable may be NULL. */
AgfImage *agf_video_decode_frame(AgfVideo *v, int64_t k,
                                 GCancellable *cancellable, GError **error);

/* Uniform sampling: n indices out of n_frames, the middle frame of each of
 * n equal segments: idx_i = floor((i + 0.5) * n_frames / n), i = 0..n-1,
 * strictly increasing. A video shorter than n frames gives every frame
 * once. Writes up to n indices to out; returns how many. */
int agf_video_sample_indices(int64_t n_frames, int n, int64_t *out);

/* Decodes the frames agf_video_sample_indices picks (n <= 0: the default
 * 10). Returns a GPtrArray of AgfImage* (freed with it); *indices_out, when
 * not NULL, gets a g_new array of the frame indices (g_free it). */
GPtrArray *agf_video_sample(AgfVideo *v, int n, int64_t **indices_out,
                            GCancellable *cancellable, GError **error);

/* A decoding thread for interactive use (timeline scrubbing, playback).
 * Requests are served in order on the worker thread; callbacks run in the
 * thread-default main context of the thread that made the request.
 * Cancelling a request's cancellable drops it if still queued and aborts
 * it mid-decode otherwise (both finish with G_IO_ERROR_CANCELLED). */
typedef struct AgfVideoWorker AgfVideoWorker;

/* Takes ownership of v (do not use v directly afterwards). */
AgfVideoWorker *agf_video_worker_new(AgfVideo *v);
const AgfVideoInfo *agf_video_worker_get_info(const AgfVideoWorker *w);
void agf_video_worker_decode_async(AgfVideoWorker *w, int64_t k,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
/* The frame (free with agf_image_free); *k_out gets the requested index. */
AgfImage *agf_video_worker_decode_finish(AgfVideoWorker *w,
                                         GAsyncResult *result,
                                         int64_t *k_out, GError **error);
/* Cancels queued requests (their callbacks still run, cancelled), waits
 * for the thread, closes the video. */
void agf_video_worker_free(AgfVideoWorker *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfVideoWorker, agf_video_worker_free)

G_END_DECLS
