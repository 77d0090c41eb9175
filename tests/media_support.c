/* Media generated with libav's encoders for the tests (media_support.h). */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <string.h>

#include "media_support.h"

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
