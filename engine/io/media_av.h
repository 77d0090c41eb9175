/* libav glue shared by image.c, video.c and camera.c (not public API):
 * one-time set-up, error mapping, the pixel limit check, the interrupt
 * callback that keeps a pathological file from hanging a read, and the
 * AVFrame -> AgfImage conversion. */
#pragma once
#include <gio/gio.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "io/image.h"
#include "nn/error.h"

/* Quiets libav's logging (errors come back as GErrors instead) unless
 * AGFAS_AV_LOG is set (to a libav level name: "debug", "info", ...). */
void agf_av_init(void);

/* Sets *error (when not NULL) to code with "<what>: <libav message>". */
void agf_av_error(GError **error, int averr, AgfError code, const char *what);
/* The AgfError that fits a libav error code. */
AgfError agf_av_error_code(int averr);

/* FALSE with AGF_ERROR_UNSUPPORTED when w x h is empty or above the limit. */
gboolean agf_av_check_pixels(int64_t w, int64_t h, const char *what,
                             GError **error);

/* Deadline and cancellation for blocking libav calls; point
 * AVFormatContext.interrupt_callback.opaque at one. */
typedef struct {
  gint64 deadline_us;          /* monotonic; 0 = none */
  GCancellable *cancellable;   /* may be NULL */
} AgfAvInterrupt;
int agf_av_interrupt_cb(void *opaque);
void agf_av_interrupt_arm(AgfAvInterrupt *it, double seconds);

/* Decoded frame (any pixel format) -> upright RGBA image. orientation is
 * the EXIF code 1..8 (1 = as stored). */
AgfImage *agf_av_frame_to_image(const AVFrame *frame, int orientation,
                                GError **error);
/* EXIF orientation of a decoded still image (1 when it has none). */
int agf_av_frame_orientation(const AVFrame *frame);
/* EXIF orientation code (1, 3, 6, 8) of a display matrix (rotation). */
int agf_av_matrix_orientation(const uint8_t *matrix, size_t size);
