/* libav glue shared by the image, video and camera readers. */
#include "io/media_av.h"

#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char *name;
  int level;
} log_levels[] = {
  { "quiet", AV_LOG_QUIET }, { "panic", AV_LOG_PANIC },
  { "fatal", AV_LOG_FATAL }, { "error", AV_LOG_ERROR },
  { "warning", AV_LOG_WARNING }, { "info", AV_LOG_INFO },
  { "verbose", AV_LOG_VERBOSE }, { "debug", AV_LOG_DEBUG },
  { "trace", AV_LOG_TRACE },
};

void
agf_av_init(void)
{
  static gsize done = 0;
  if (!g_once_init_enter(&done))
    return;
  /* libav prints every oddity of a damaged file on stderr; the reader turns
   * failures into GErrors, so stay quiet unless asked. */
  int level = AV_LOG_QUIET;
  const char *env = g_getenv("AGFAS_AV_LOG");
  for (size_t i = 0; env != NULL && i < G_N_ELEMENTS(log_levels); i++)
    if (g_ascii_strcasecmp(env, log_levels[i].name) == 0)
      level = log_levels[i].level;
  av_log_set_level(level);
  g_once_init_leave(&done, 1);
}

AgfError
agf_av_error_code(int averr)
{
  switch (averr) {
  case AVERROR(ENOENT): case AVERROR(EACCES): case AVERROR(EPERM):
  case AVERROR(EIO): case AVERROR(EISDIR): case AVERROR(ENODEV):
  case AVERROR(ENXIO): case AVERROR(EBUSY): case AVERROR_EXIT:
    return AGF_ERROR_IO;
  case AVERROR(ENOMEM):
    return AGF_ERROR_OUT_OF_MEMORY;
  case AVERROR_DECODER_NOT_FOUND: case AVERROR_DEMUXER_NOT_FOUND:
  case AVERROR_PATCHWELCOME: case AVERROR(ENOSYS):
    return AGF_ERROR_UNSUPPORTED;
  default:
    return AGF_ERROR_FORMAT;
  }
}

void
agf_av_error(GError **error, int averr, AgfError code, const char *what)
{
  char msg[AV_ERROR_MAX_STRING_SIZE] = "";
  av_strerror(averr, msg, sizeof msg);
  g_set_error(error, AGF_ERROR, code, "%s: %s", what, msg);
}

static guint64 pixel_limit = AGF_MEDIA_DEFAULT_PIXEL_LIMIT;

void
agf_media_set_pixel_limit(guint64 max_pixels)
{
  __atomic_store_n(&pixel_limit, max_pixels ? max_pixels
                   : AGF_MEDIA_DEFAULT_PIXEL_LIMIT, __ATOMIC_SEQ_CST);
}

guint64
agf_media_get_pixel_limit(void)
{
  return __atomic_load_n(&pixel_limit, __ATOMIC_SEQ_CST);
}

gboolean
agf_av_check_pixels(int64_t w, int64_t h, const char *what, GError **error)
{
  if (w <= 0 || h <= 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT, "%s declares an empty "
                "picture (%" G_GINT64_FORMAT " x %" G_GINT64_FORMAT "): the "
                "file is corrupt", what, w, h);
    return FALSE;
  }
  guint64 limit = agf_media_get_pixel_limit();
  if (w > INT32_MAX / 8 || h > INT32_MAX / 8 || (guint64) w * h > limit) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED, "%s is %"
                G_GINT64_FORMAT " x %" G_GINT64_FORMAT " pixels, above the "
                "limit of %" G_GUINT64_FORMAT " pixels (raise it with "
                "agf_media_set_pixel_limit if the file is trusted)", what,
                w, h, limit);
    return FALSE;
  }
  return TRUE;
}

void
agf_av_interrupt_arm(AgfAvInterrupt *it, double seconds)
{
  it->deadline_us = seconds > 0
    ? g_get_monotonic_time() + (gint64) (seconds * G_USEC_PER_SEC) : 0;
}

int
agf_av_interrupt_cb(void *opaque)
{
  const AgfAvInterrupt *it = opaque;
  if (it == NULL)
    return 0;
  if (it->cancellable != NULL && g_cancellable_is_cancelled(it->cancellable))
    return 1;
  return it->deadline_us != 0 && g_get_monotonic_time() > it->deadline_us;
}

int
agf_av_frame_orientation(const AVFrame *frame)
{
  const AVDictionaryEntry *e = av_dict_get(frame->metadata, "Orientation",
                                           NULL, 0);
  if (e != NULL) {
    long v = strtol(e->value, NULL, 10);   /* libav pads it with spaces */
    return v >= 1 && v <= 8 ? (int) v : 1;
  }
  const AVFrameSideData *sd =
    av_frame_get_side_data(frame, AV_FRAME_DATA_DISPLAYMATRIX);
  return sd != NULL ? agf_av_matrix_orientation(sd->data, sd->size) : 1;
}

int
agf_av_matrix_orientation(const uint8_t *matrix, size_t size)
{
  /* Rotation only (a mirrored matrix is left as stored);
   * av_display_rotation_get is counter-clockwise. */
  if (matrix == NULL || size < 9 * sizeof(int32_t))
    return 1;
  double ccw = av_display_rotation_get((const int32_t *) matrix);
  if (isnan(ccw))
    return 1;
  int cw = ((int) lround(-ccw / 90.0) % 4 + 4) % 4;
  static const int codes[4] = { 1, 6, 3, 8 };
  return codes[cw];
}

/* out(x, y) = in(map(x, y)) for the 8 EXIF orientations. */
static AgfImage *
orient(const AgfImage *in, int code, GError **error)
{
  gboolean swap = code >= 5;
  int ow = swap ? in->height : in->width, oh = swap ? in->width : in->height;
  int W = in->width, H = in->height, c = in->channels;
  AgfImage *out = agf_image_new(ow, oh, c, error);
  if (out == NULL)
    return NULL;
  for (int y = 0; y < oh; y++) {
    guint8 *dst = out->pixels + (size_t) y * out->stride;
    for (int x = 0; x < ow; x++) {
      int sx, sy;
      switch (code) {
      case 2: sx = W - 1 - x; sy = y; break;
      case 3: sx = W - 1 - x; sy = H - 1 - y; break;
      case 4: sx = x; sy = H - 1 - y; break;
      case 5: sx = y; sy = x; break;
      case 6: sx = y; sy = H - 1 - x; break;
      case 7: sx = W - 1 - y; sy = H - 1 - x; break;
      case 8: sx = W - 1 - y; sy = x; break;
      default: sx = x; sy = y; break;
      }
      memcpy(dst + (size_t) x * c,
             in->pixels + (size_t) sy * in->stride + (size_t) sx * c, c);
    }
  }
  return out;
}

static gboolean
is_full_range_yuv(enum AVPixelFormat f)
{
  return f == AV_PIX_FMT_YUVJ420P || f == AV_PIX_FMT_YUVJ422P ||
         f == AV_PIX_FMT_YUVJ444P || f == AV_PIX_FMT_YUVJ440P ||
         f == AV_PIX_FMT_YUVJ411P;
}

AgfImage *
agf_av_frame_to_image(const AVFrame *frame, int orientation, GError **error)
{
  enum AVPixelFormat fmt = frame->format;
  const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(fmt);
  if (desc == NULL || (desc->flags & AV_PIX_FMT_FLAG_HWACCEL)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED, "the decoder "
                "returned pixel format %s, which cannot be converted to RGBA",
                desc != NULL ? desc->name : "(unknown)");
    return NULL;
  }
  if (!agf_av_check_pixels(frame->width, frame->height, "the picture", error))
    return NULL;
  struct SwsContext *sws = sws_getContext(frame->width, frame->height, fmt,
    frame->width, frame->height, AV_PIX_FMT_RGBA,
    SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
  if (sws == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED, "libswscale cannot "
                "convert %s pictures of %d x %d to RGBA", desc->name,
                frame->width, frame->height);
    return NULL;
  }
  /* YUV -> RGB with the matrix and range the stream declares (BT.601
   * limited range when it declares nothing, like every player). */
  if (!(desc->flags & AV_PIX_FMT_FLAG_RGB) && desc->nb_components >= 3) {
    int cs = frame->colorspace != AVCOL_SPC_UNSPECIFIED &&
             frame->colorspace != AVCOL_SPC_RGB ? frame->colorspace
             : SWS_CS_DEFAULT;
    int full = frame->color_range == AVCOL_RANGE_JPEG ||
               is_full_range_yuv(fmt);
    const int *coef = sws_getCoefficients(cs);
    sws_setColorspaceDetails(sws, coef, full, sws_getCoefficients(SWS_CS_DEFAULT),
                             1, 0, 1 << 16, 1 << 16);
  }
  AgfImage *img = agf_image_new(frame->width, frame->height, 4, error);
  if (img == NULL) {
    sws_freeContext(sws);
    return NULL;
  }
  uint8_t *dst[4] = { img->pixels, NULL, NULL, NULL };
  int dst_stride[4] = { (int) img->stride, 0, 0, 0 };
  int rows = sws_scale(sws, (const uint8_t *const *) frame->data,
                       frame->linesize, 0, frame->height, dst, dst_stride);
  sws_freeContext(sws);
  if (rows != frame->height) {
    agf_image_free(img);
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT, "converting a %s "
                "picture to RGBA failed", desc->name);
    return NULL;
  }
  if (orientation > 1 && orientation <= 8) {
    AgfImage *up = orient(img, orientation, error);
    agf_image_free(img);
    return up;
  }
  return img;
}
