/* V4L2 cameras through libavdevice's video4linux2 input. */
#include "io/camera.h"

#include <libavdevice/avdevice.h>
#include <limits.h>

#include "io/media_av.h"

#define GRAB_TIMEOUT_S 5.0
#define POLL_US 2000

struct AgfCamera {
  char *path;
  AVFormatContext *fmt;
  AVCodecContext *dec;
  AVPacket *pkt;
  AVFrame *frame;
  AgfAvInterrupt intr;
};

static const AVInputFormat *
v4l2_format(void)
{
  static gsize done = 0;
  if (g_once_init_enter(&done)) {
    agf_av_init();
    avdevice_register_all();
    g_once_init_leave(&done, 1);
  }
  return av_find_input_format("video4linux2");
}

void
agf_camera_info_free(AgfCameraInfo *info)
{
  if (info == NULL)
    return;
  g_free(info->path);
  g_free(info->name);
  g_free(info);
}

GPtrArray *
agf_camera_list(void)
{
  GPtrArray *out = g_ptr_array_new_with_free_func(
    (GDestroyNotify) agf_camera_info_free);
  const AVInputFormat *ifmt = v4l2_format();
  AVDeviceInfoList *list = NULL;
  /* Fails when /dev cannot be read; that, like no V4L2, means none. */
  if (ifmt == NULL || avdevice_list_input_sources(ifmt, NULL, NULL, &list) < 0) {
    avdevice_free_list_devices(&list);
    return out;
  }
  for (int i = 0; i < list->nb_devices; i++) {
    const AVDeviceInfo *d = list->devices[i];
    AgfCameraInfo *info = g_new(AgfCameraInfo, 1);
    info->path = g_strdup(d->device_name);
    info->name = g_strdup(d->device_description != NULL
                          ? d->device_description : d->device_name);
    g_ptr_array_add(out, info);
  }
  avdevice_free_list_devices(&list);
  return out;
}

void
agf_camera_close(AgfCamera *cam)
{
  if (cam == NULL)
    return;
  av_frame_free(&cam->frame);
  av_packet_free(&cam->pkt);
  avcodec_free_context(&cam->dec);
  avformat_close_input(&cam->fmt);
  g_free(cam->path);
  g_free(cam);
}

static AgfCamera *
open_failed(AgfCamera *cam, GError **error, int r, const char *what)
{
  char *msg = g_strdup_printf("camera %s: %s", cam->path, what);
  /* A device that answers nonsense is a device problem, not a file one. */
  AgfError code = agf_av_error_code(r);
  agf_av_error(error, r, code == AGF_ERROR_FORMAT ? AGF_ERROR_IO : code, msg);
  g_free(msg);
  agf_camera_close(cam);
  return NULL;
}

AgfCamera *
agf_camera_open(const char *path, int width, int height, double fps,
                GError **error)
{
  const AVInputFormat *ifmt = v4l2_format();
  if (ifmt == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED, "this FFmpeg has no "
                "video4linux2 input; install Debian's libavdevice59");
    return NULL;
  }
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "no camera at %s: the device "
                "does not exist (is the camera plugged in? the camera list "
                "shows the ones available)", path);
    return NULL;
  }
  AgfCamera *cam = g_new0(AgfCamera, 1);
  cam->path = g_strdup(path);
  cam->pkt = av_packet_alloc();
  cam->frame = av_frame_alloc();
  cam->fmt = avformat_alloc_context();
  if (cam->pkt == NULL || cam->frame == NULL || cam->fmt == NULL)
    return open_failed(cam, error, AVERROR(ENOMEM), "out of memory");
  cam->fmt->interrupt_callback.callback = agf_av_interrupt_cb;
  cam->fmt->interrupt_callback.opaque = &cam->intr;
  /* Non-blocking reads, so grab can honour its deadline and cancellable. */
  cam->fmt->flags |= AVFMT_FLAG_NONBLOCK;
  agf_av_interrupt_arm(&cam->intr, GRAB_TIMEOUT_S);
  AVDictionary *opts = NULL;
  if (width > 0 && height > 0) {
    char size[32];
    g_snprintf(size, sizeof size, "%dx%d", width, height);
    av_dict_set(&opts, "video_size", size, 0);
  }
  if (fps > 0) {
    char rate[32];
    g_ascii_formatd(rate, sizeof rate, "%g", fps);
    av_dict_set(&opts, "framerate", rate, 0);
  }
  int r = avformat_open_input(&cam->fmt, path, ifmt, &opts);
  av_dict_free(&opts);
  if (r < 0) {
    cam->fmt = NULL;
    return open_failed(cam, error, r, "cannot open the device (is it a "
                       "capture device, and not in use by another program?)");
  }
  if (cam->fmt->nb_streams < 1)
    return open_failed(cam, error, AVERROR_INVALIDDATA, "no video stream");
  const AVCodecParameters *par = cam->fmt->streams[0]->codecpar;
  GError *local = NULL;
  if (!agf_av_check_pixels(par->width, par->height, "the camera format",
                           &local)) {
    g_set_error(error, AGF_ERROR, local->code, "camera %s: %s", path,
                local->message);
    g_error_free(local);
    agf_camera_close(cam);
    return NULL;
  }
  const AVCodec *codec = avcodec_find_decoder(par->codec_id);
  if (codec == NULL)
    return open_failed(cam, error, AVERROR_DECODER_NOT_FOUND,
                       "its pixel format cannot be decoded");
  cam->dec = avcodec_alloc_context3(codec);
  if (cam->dec == NULL)
    return open_failed(cam, error, AVERROR(ENOMEM), "out of memory");
  r = avcodec_parameters_to_context(cam->dec, par);
  cam->dec->max_pixels = (int64_t) MIN(agf_media_get_pixel_limit(), INT_MAX);
  if (r >= 0)
    r = avcodec_open2(cam->dec, codec, NULL);
  if (r < 0)
    return open_failed(cam, error, r, "cannot open the frame decoder");
  return cam;
}

void
agf_camera_get_size(const AgfCamera *cam, int *width, int *height)
{
  if (width != NULL)
    *width = cam->dec->width;
  if (height != NULL)
    *height = cam->dec->height;
}

AgfImage *
agf_camera_grab(AgfCamera *cam, GCancellable *cancellable, GError **error)
{
  cam->intr.cancellable = cancellable;
  agf_av_interrupt_arm(&cam->intr, GRAB_TIMEOUT_S);
  AgfImage *img = NULL;
  for (;;) {
    if (cancellable != NULL &&
        g_cancellable_set_error_if_cancelled(cancellable, error))
      break;
    int r = avcodec_receive_frame(cam->dec, cam->frame);
    if (r == 0) {
      img = agf_av_frame_to_image(cam->frame, 1, error);
      av_frame_unref(cam->frame);
      break;
    }
    if (r != AVERROR(EAGAIN)) {
      agf_av_error(error, r, AGF_ERROR_IO, "decoding a camera frame failed");
      break;
    }
    r = av_read_frame(cam->fmt, cam->pkt);
    if (r == AVERROR(EAGAIN)) {
      if (agf_av_interrupt_cb(&cam->intr)) {
        if (cancellable == NULL ||
            !g_cancellable_set_error_if_cancelled(cancellable, error))
          g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "camera %s sent no "
                      "frame for %.0f s (unplugged, or in use?)", cam->path,
                      GRAB_TIMEOUT_S);
        break;
      }
      g_usleep(POLL_US);
      continue;
    }
    if (r < 0) {
      agf_av_error(error, r, AGF_ERROR_IO, "reading from the camera failed");
      break;
    }
    r = avcodec_send_packet(cam->dec, cam->pkt);
    av_packet_unref(cam->pkt);
    /* A damaged frame (USB hiccup) is dropped; wait for the next. */
    if (r < 0 && r != AVERROR_INVALIDDATA) {
      agf_av_error(error, r, AGF_ERROR_IO, "decoding a camera frame failed");
      break;
    }
  }
  cam->intr.cancellable = NULL;
  return img;
}
