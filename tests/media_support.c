/* Media generated with libav's encoders for the tests (media_support.h). */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <math.h>
#include <string.h>

#include "media_support.h"
#include "pipeline/face_align.h"

int
agf_test_video_level(int k)
{
  return 20 + 5 * k;
}

gboolean
agf_test_write_video(const char *path, const char *encoder, int n, int gop,
                     int bframes)
{
  const AVCodec *codec = avcodec_find_encoder_by_name(encoder);
  if (codec == NULL)
    return FALSE;
  AVFormatContext *oc = NULL;
  g_assert_cmpint(avformat_alloc_output_context2(&oc, NULL, NULL, path), >=,
                  0);
  AVStream *st = avformat_new_stream(oc, NULL);
  AVCodecContext *ctx = avcodec_alloc_context3(codec);
  ctx->width = 64;
  ctx->height = 48;
  ctx->pix_fmt = AV_PIX_FMT_YUV420P;
  ctx->time_base = (AVRational) { 1, 25 };
  ctx->framerate = (AVRational) { 25, 1 };
  ctx->gop_size = gop;
  ctx->max_b_frames = bframes;
  ctx->thread_count = 1;
  if (strcmp(encoder, "libx264") == 0) {
    av_opt_set(ctx->priv_data, "preset", "veryfast", 0);
    av_opt_set(ctx->priv_data, "crf", "8", 0);
    av_opt_set(ctx->priv_data, "x264-params", "scenecut=0:log=-1", 0);
  } else {
    ctx->flags |= AV_CODEC_FLAG_QSCALE;
    ctx->global_quality = FF_QP2LAMBDA * 2;
  }
  if (oc->oformat->flags & AVFMT_GLOBALHEADER)
    ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  g_assert_cmpint(avcodec_open2(ctx, codec, NULL), >=, 0);
  g_assert_cmpint(avcodec_parameters_from_context(st->codecpar, ctx), >=, 0);
  st->time_base = ctx->time_base;
  g_assert_cmpint(avio_open(&oc->pb, path, AVIO_FLAG_WRITE), >=, 0);
  g_assert_cmpint(avformat_write_header(oc, NULL), >=, 0);
  AVFrame *f = av_frame_alloc();
  f->format = ctx->pix_fmt;
  f->width = ctx->width;
  f->height = ctx->height;
  AVPacket *pkt = av_packet_alloc();
  for (int k = 0; k <= n; k++) {
    if (k < n) {
      g_assert_cmpint(av_frame_get_buffer(f, 0), >=, 0);
      memset(f->data[0], agf_test_video_level(k), f->linesize[0] * ctx->height);
      memset(f->data[1], 128, f->linesize[1] * ctx->height / 2);
      memset(f->data[2], 128, f->linesize[2] * ctx->height / 2);
      f->pts = k;
    }
    g_assert_cmpint(avcodec_send_frame(ctx, k < n ? f : NULL), >=, 0);
    av_frame_unref(f);
    f->format = ctx->pix_fmt;
    f->width = ctx->width;
    f->height = ctx->height;
    while (avcodec_receive_packet(ctx, pkt) >= 0) {
      if (pkt->duration == 0)
        pkt->duration = 1;   /* else MP4's edit list drops the last frame */
      av_packet_rescale_ts(pkt, ctx->time_base, st->time_base);
      pkt->stream_index = st->index;
      g_assert_cmpint(av_interleaved_write_frame(oc, pkt), >=, 0);
    }
  }
  g_assert_cmpint(av_write_trailer(oc), >=, 0);
  avio_closep(&oc->pb);
  avformat_free_context(oc);
  av_packet_free(&pkt);
  av_frame_free(&f);
  avcodec_free_context(&ctx);
  return TRUE;
}

static double smooth_inside(double r, double edge)
{
  /* 1 inside (r < 1), 0 outside, soft over `edge` of r */
  return CLAMP((1.0 - r) / edge + 0.5, 0.0, 1.0);
}

static double ellipse_r(double x, double y, double cx, double cy, double a,
                        double b)
{
  return sqrt(((x - cx) / a) * ((x - cx) / a) + ((y - cy) / b) * ((y - cy) / b));
}

void
agf_test_face_colour(double x, double y, double rgb[3])
{
  float t[5][2];
  agf_face_template(256, t);
  static const double bg[3] = { 120, 150, 175 };
  static const double hair[3] = { 45, 30, 20 };
  static const double skin[3] = { 225, 180, 150 };
  for (int c = 0; c < 3; c++)
    rgb[c] = bg[c] + 20 * sin(x * 0.05) * cos(y * 0.04);
  double mix = smooth_inside(ellipse_r(x, y, 128, 118, 100, 118), 0.04);
  for (int c = 0; c < 3; c++)
    rgb[c] += mix * (hair[c] - rgb[c]);
  mix = smooth_inside(ellipse_r(x, y, 128, 150, 84, 112), 0.03);
  for (int c = 0; c < 3; c++)
    rgb[c] += mix * (skin[c] - rgb[c]);
  for (int e = 0; e < 2; e++) {
    double ex = t[e][0], ey = t[e][1];
    mix = smooth_inside(ellipse_r(x, y, ex, ey - 24, 26, 5), 0.3);
    for (int c = 0; c < 3; c++)
      rgb[c] += mix * (hair[c] - rgb[c]);
    mix = smooth_inside(ellipse_r(x, y, ex, ey, 20, 9), 0.2);
    for (int c = 0; c < 3; c++)
      rgb[c] += mix * (245 - rgb[c]);
    mix = smooth_inside(ellipse_r(x, y, ex, ey, 7.5, 7.5), 0.3);
    for (int c = 0; c < 3; c++)
      rgb[c] += mix * (25 - rgb[c]);
  }
  mix = smooth_inside(ellipse_r(x, y, t[2][0], t[2][1] + 4, 14, 8), 0.6);
  for (int c = 0; c < 3; c++)
    rgb[c] += 0.5 * mix * (140 * skin[c] / 225 - rgb[c]);
  double mx = 0.5 * (t[3][0] + t[4][0]), my = 0.5 * (t[3][1] + t[4][1]);
  double half = 0.5 * (t[4][0] - t[3][0]);
  mix = smooth_inside(ellipse_r(x, y, mx, my, half, 9), 0.15);
  static const double lips[3] = { 150, 50, 55 };
  for (int c = 0; c < 3; c++)
    rgb[c] += mix * (lips[c] - rgb[c]);
}

void
agf_test_similarity(double s, double deg, double tx, double ty,
                    double m[2][3])
{
  double a = deg * G_PI / 180;
  m[0][0] = s * cos(a);
  m[0][1] = -s * sin(a);
  m[1][0] = s * sin(a);
  m[1][1] = s * cos(a);
  m[0][2] = tx;
  m[1][2] = ty;
}

void
agf_test_face_at(double s, double deg, double cx, double cy, double m[2][3])
{
  agf_test_similarity(s, deg, 0, 0, m);
  m[0][2] = cx - (m[0][0] + m[0][1]) * 128;
  m[1][2] = cy - (m[1][0] + m[1][1]) * 128;
}

void
agf_test_render_face(guint8 *px, int w, int h, gsize stride,
                     const double inv[2][3])
{
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double ax, ay, rgb[3];
      agf_affine_apply(inv, x, y, &ax, &ay);
      agf_test_face_colour(ax, ay, rgb);
      for (int c = 0; c < 3; c++)
        px[(gsize)y * stride + (gsize)x * 3 + c] =
          (guint8)lround(CLAMP(rgb[c], 0, 255));
    }
}
