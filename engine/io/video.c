/* Video reader: packet index at open, frame-accurate seek + decode. */
#include "io/video.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/media_av.h"

/* A read making no progress for this long is abandoned (network mounts,
 * pathological files); indexing gets longer since it reads everything. */
#define READ_TIMEOUT_S 30.0
#define INDEX_TIMEOUT_S 300.0
#define MAX_PACKETS ((int64_t) 50 * 1000 * 1000)

typedef struct {
  int64_t pts;        /* presentation timestamp (dts when the packet has none) */
  int64_t dts;
  int64_t pos;        /* byte position, -1 when unknown */
  gboolean key;
  gboolean discard;   /* decoded but not shown (edit lists) */
} Packet;

struct AgfVideo {
  char *path;
  AVFormatContext *fmt;
  AVCodecContext *dec;
  AVPacket *pkt;
  AVFrame *frame;
  int stream;
  AgfAvInterrupt intr;
  AgfVideoInfo info;
  Packet *packets;      /* decode order */
  int64_t n_packets;
  int64_t *order;       /* frame k -> packet index */
  int64_t *seek_from;   /* packet index -> packet to start decoding from */
  /* The current decoding run: the decoder has been fed packets
   * run_start .. next_packet - 1 since the last seek. */
  gboolean running;
  gboolean pending;     /* pkt holds packet next_packet, not yet sent */
  gboolean eof_sent;
  gboolean by_order;    /* no timestamps: frames identified by position */
  int64_t shown;        /* frames out of this run (by_order only) */
  int64_t run_start;
  int64_t next_packet;
  int64_t last_pts;     /* timestamp of the last frame returned */
};

void
agf_video_close(AgfVideo *v)
{
  if (v == NULL)
    return;
  av_frame_free(&v->frame);
  av_packet_free(&v->pkt);
  avcodec_free_context(&v->dec);
  avformat_close_input(&v->fmt);
  g_free(v->packets);
  g_free(v->order);
  g_free(v->seek_from);
  g_free(v->path);
  g_free(v);
}

const AgfVideoInfo *
agf_video_get_info(const AgfVideo *v)
{
  return &v->info;
}

static gboolean
fail_av(AgfVideo *v, GError **error, int r, const char *what)
{
  if (r == AVERROR_EXIT && v->intr.cancellable != NULL &&
      g_cancellable_set_error_if_cancelled(v->intr.cancellable, error))
    return FALSE;
  char *msg = r == AVERROR_EXIT
    ? g_strdup_printf("%s: %s (no progress for %.0f s)", v->path, what,
                      READ_TIMEOUT_S)
    : g_strdup_printf("%s: %s", v->path, what);
  agf_av_error(error, r, agf_av_error_code(r), msg);
  g_free(msg);
  return FALSE;
}

typedef struct {
  int64_t pts, packet;
} FrameKey;

static int
cmp_frame(const void *a, const void *b)
{
  const FrameKey *x = a, *y = b;
  if (x->pts != y->pts)
    return x->pts < y->pts ? -1 : 1;
  return (x->packet > y->packet) - (x->packet < y->packet);
}

/* Reads every packet of the stream (no decoding) into v->packets. */
static gboolean
build_index(AgfVideo *v, GError **error)
{
  GArray *arr = g_array_new(FALSE, FALSE, sizeof(Packet));
  int r;
  agf_av_interrupt_arm(&v->intr, INDEX_TIMEOUT_S);
  while ((r = av_read_frame(v->fmt, v->pkt)) >= 0) {
    if (v->pkt->stream_index == v->stream) {
      Packet p = {
        .pts = v->pkt->pts != AV_NOPTS_VALUE ? v->pkt->pts : v->pkt->dts,
        .dts = v->pkt->dts,
        .pos = v->pkt->pos,
        .key = (v->pkt->flags & AV_PKT_FLAG_KEY) != 0,
        .discard = (v->pkt->flags & AV_PKT_FLAG_DISCARD) != 0,
      };
      g_array_append_val(arr, p);
    }
    av_packet_unref(v->pkt);
    if ((int64_t) arr->len > MAX_PACKETS) {
      r = AVERROR_INVALIDDATA;
      break;
    }
  }
  /* A read error after some packets is a truncated or damaged tail: the
   * frames before it are still usable. A timeout is not. */
  if (r == AVERROR_EXIT || (r != AVERROR_EOF && arr->len == 0)) {
    g_array_free(arr, TRUE);
    return fail_av(v, error, r, "reading the video stream failed");
  }
  v->n_packets = arr->len;
  v->packets = (Packet *) g_array_free(arr, FALSE);

  int64_t n = 0;
  gboolean have_pts = TRUE;
  for (int64_t i = 0; i < v->n_packets; i++) {
    n += !v->packets[i].discard;
    have_pts = have_pts && v->packets[i].pts != AV_NOPTS_VALUE;
  }
  if (n == 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT, "%s contains no video "
                "frames (empty or truncated before the first frame)",
                v->path);
    return FALSE;
  }
  /* Without timestamps, fall back on decode order (see video.h). */
  v->by_order = !have_pts;
  if (!have_pts)
    for (int64_t i = 0; i < v->n_packets; i++)
      v->packets[i].pts = i;

  FrameKey *pairs = g_new(FrameKey, n);
  for (int64_t i = 0, j = 0; i < v->n_packets; i++)
    if (!v->packets[i].discard)
      pairs[j++] = (FrameKey) { v->packets[i].pts, i };
  qsort(pairs, n, sizeof pairs[0], cmp_frame);
  v->order = g_new(int64_t, n);
  for (int64_t k = 0; k < n; k++)
    v->order[k] = pairs[k].packet;
  g_free(pairs);
  v->info.n_frames = n;

  /* Start of decoding for each packet: the last keyframe before it (in
   * decode order) that is not shown after it; the stream start when no
   * keyframe qualifies. A few steps back at most in real streams. */
  v->seek_from = g_new(int64_t, v->n_packets);
  GArray *keys = g_array_new(FALSE, FALSE, sizeof(int64_t));
  for (int64_t i = 0; i < v->n_packets; i++) {
    if (v->packets[i].key)
      g_array_append_val(keys, i);
    int64_t from = 0;
    for (int j = (int) keys->len - 1, steps = 0; j >= 0 && steps < 64;
         j--, steps++) {
      int64_t kp = g_array_index(keys, int64_t, j);
      if (v->packets[kp].pts <= v->packets[i].pts) {
        from = kp;
        break;
      }
    }
    v->seek_from[i] = from;
  }
  g_array_free(keys, TRUE);
  return TRUE;
}

static void
fill_info(AgfVideo *v)
{
  AVStream *st = v->fmt->streams[v->stream];
  AgfVideoInfo *in = &v->info;
  size_t sd_size = 0;
  const uint8_t *sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX,
                                              &sd_size);
  in->orientation = agf_av_matrix_orientation(sd, sd_size);
  gboolean swap = in->orientation >= 5;
  in->width = swap ? st->codecpar->height : st->codecpar->width;
  in->height = swap ? st->codecpar->width : st->codecpar->height;
  in->container_frames = st->nb_frames > 0 ? st->nb_frames : 0;
  AVRational fr = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0
                  ? st->avg_frame_rate : st->r_frame_rate;
  in->fps = fr.num > 0 && fr.den > 0 ? av_q2d(fr) : 0.0;
  if (v->fmt->duration > 0)
    in->duration_s = (double) v->fmt->duration / AV_TIME_BASE;
  else if (st->duration > 0)
    in->duration_s = st->duration * av_q2d(st->time_base);
  else if (in->fps > 0)
    in->duration_s = in->n_frames / in->fps;
  if (in->fps <= 0 && in->duration_s > 0)
    in->fps = in->n_frames / in->duration_s;
  g_strlcpy(in->codec, avcodec_get_name(st->codecpar->codec_id),
            sizeof in->codec);
  g_strlcpy(in->container, v->fmt->iformat->name, sizeof in->container);
}

static gboolean
open_decoder(AgfVideo *v, GError **error)
{
  AVStream *st = v->fmt->streams[v->stream];
  const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (codec == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED, "%s: this FFmpeg "
                "cannot decode %s video; convert it (e.g. ffmpeg -i IN "
                "-c:v libx264 OUT.mp4)", v->path,
                avcodec_get_name(st->codecpar->codec_id));
    return FALSE;
  }
  GError *local = NULL;
  if (!agf_av_check_pixels(st->codecpar->width, st->codecpar->height,
                           "the video", &local)) {
    g_set_error(error, AGF_ERROR, local->code, "%s: %s", v->path,
                local->message);
    g_error_free(local);
    return FALSE;
  }
  v->dec = avcodec_alloc_context3(codec);
  if (v->dec == NULL)
    return fail_av(v, error, AVERROR(ENOMEM), "cannot create the decoder");
  int r = avcodec_parameters_to_context(v->dec, st->codecpar);
  v->dec->pkt_timebase = st->time_base;
  v->dec->max_pixels = (int64_t) MIN(agf_media_get_pixel_limit(), INT_MAX);
  v->dec->thread_count = 0;   /* automatic */
  if (r >= 0)
    r = avcodec_open2(v->dec, codec, NULL);
  if (r < 0)
    return fail_av(v, error, r, "cannot open the video decoder");
  return TRUE;
}

AgfVideo *
agf_video_open(const char *path, GError **error)
{
  agf_av_init();
  GStatBuf st;
  int e = g_stat(path, &st) != 0 ? errno : 0;
  if (e != 0 || !S_ISREG(st.st_mode)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot read video %s: %s",
                path, e != 0 ? g_strerror(e) : "not a regular file");
    return NULL;
  }
  if (st.st_size == 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT, "video %s is empty (0 "
                "bytes)", path);
    return NULL;
  }
  AgfVideo *v = g_new0(AgfVideo, 1);
  v->path = g_strdup(path);
  v->pkt = av_packet_alloc();
  v->frame = av_frame_alloc();
  v->fmt = avformat_alloc_context();
  if (v->pkt == NULL || v->frame == NULL || v->fmt == NULL) {
    fail_av(v, error, AVERROR(ENOMEM), "cannot allocate the reader");
    agf_video_close(v);
    return NULL;
  }
  v->fmt->interrupt_callback.callback = agf_av_interrupt_cb;
  v->fmt->interrupt_callback.opaque = &v->intr;
  agf_av_interrupt_arm(&v->intr, READ_TIMEOUT_S);
  int r = avformat_open_input(&v->fmt, path, NULL, NULL);
  if (r < 0) {
    v->fmt = NULL;   /* freed by avformat_open_input */
    fail_av(v, error, r, r == AVERROR_INVALIDDATA
            ? "not a video file FFmpeg recognises" : "cannot open the video");
    agf_video_close(v);
    return NULL;
  }
  /* Sizes the container header declares are checked before any decoder
   * (including find_stream_info's probing ones) sees a packet. */
  for (unsigned i = 0; i < v->fmt->nb_streams; i++) {
    const AVCodecParameters *par = v->fmt->streams[i]->codecpar;
    GError *local = NULL;
    if (par->codec_type == AVMEDIA_TYPE_VIDEO && par->width > 0 &&
        par->height > 0 &&
        !agf_av_check_pixels(par->width, par->height, "the video", &local)) {
      g_set_error(error, AGF_ERROR, local->code, "%s: %s", path,
                  local->message);
      g_error_free(local);
      agf_video_close(v);
      return NULL;
    }
  }
  /* Probe with the pixel limit on the probing decoders too. */
  AVDictionary **opts = g_new0(AVDictionary *, v->fmt->nb_streams);
  for (unsigned i = 0; i < v->fmt->nb_streams; i++)
    av_dict_set_int(&opts[i], "max_pixels",
                    (int64_t) MIN(agf_media_get_pixel_limit(), INT_MAX), 0);
  r = avformat_find_stream_info(v->fmt, opts);
  for (unsigned i = 0; i < v->fmt->nb_streams; i++)
    av_dict_free(&opts[i]);
  g_free(opts);
  if (r < 0) {
    fail_av(v, error, r, "cannot read the stream parameters");
    agf_video_close(v);
    return NULL;
  }
  v->stream = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  if (v->stream < 0 || (v->fmt->streams[v->stream]->disposition &
                        AV_DISPOSITION_ATTACHED_PIC)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT, "%s has no video stream "
                "(an audio file or a still image?)", path);
    agf_video_close(v);
    return NULL;
  }
  for (unsigned i = 0; i < v->fmt->nb_streams; i++)
    v->fmt->streams[i]->discard = (int) i == v->stream ? AVDISCARD_DEFAULT
                                                       : AVDISCARD_ALL;
  if (!open_decoder(v, error) || !build_index(v, error)) {
    agf_video_close(v);
    return NULL;
  }
  fill_info(v);
  return v;
}

int
agf_video_sample_indices(int64_t n_frames, int n, int64_t *out)
{
  if (n_frames <= 0 || n <= 0)
    return 0;
  if (n_frames <= n) {
    for (int64_t i = 0; i < n_frames; i++)
      out[i] = i;
    return (int) n_frames;
  }
  for (int i = 0; i < n; i++)   /* floor((i + 0.5) * n_frames / n), exact */
    out[i] = (int64_t) ((2 * (__int128) i + 1) * n_frames / (2 * n));
  return n;
}

/* Positions the demuxer so that the next packet it returns is packet
 * `start` (held in v->pkt, v->pending). Seeks by timestamp, then by byte,
 * and starts from the top when the demuxer lands after the packet. */
static gboolean
seek_to(AgfVideo *v, int64_t start, GError **error)
{
  const Packet *K = &v->packets[start];
  avcodec_flush_buffers(v->dec);
  av_packet_unref(v->pkt);
  v->running = v->pending = v->eof_sent = FALSE;
  for (int attempt = 0; attempt < 3; attempt++) {
    int r = -1;
    int64_t ts = K->dts != AV_NOPTS_VALUE ? K->dts : K->pts;
    if (attempt == 0 && ts != AV_NOPTS_VALUE)
      r = av_seek_frame(v->fmt, v->stream, ts, AVSEEK_FLAG_BACKWARD);
    if (r < 0 && attempt <= 1 && K->pos >= 0)
      r = av_seek_frame(v->fmt, v->stream, K->pos, AVSEEK_FLAG_BYTE);
    if (r < 0 || attempt == 2) {
      /* From the top: the first packet's position, else byte 0. */
      const Packet *F = &v->packets[0];
      int64_t fts = F->dts != AV_NOPTS_VALUE ? F->dts : F->pts;
      r = fts != AV_NOPTS_VALUE
        ? av_seek_frame(v->fmt, v->stream, fts, AVSEEK_FLAG_BACKWARD) : -1;
      if (r < 0)
        r = av_seek_frame(v->fmt, v->stream, 0, AVSEEK_FLAG_BYTE);
      if (r < 0)
        return fail_av(v, error, r, "seeking in the video failed");
      attempt = 2;
    }
    /* Read forward to the packet; overshooting means this seek failed. */
    for (int64_t n = 0; n <= v->n_packets + 64; n++) {
      r = av_read_frame(v->fmt, v->pkt);
      if (r < 0)
        break;
      if (v->pkt->stream_index != v->stream) {
        av_packet_unref(v->pkt);
        continue;
      }
      /* Identity: the byte position when known (dts may be re-guessed
       * differently after a seek, e.g. in Matroska), else the pts. */
      int64_t pts = v->pkt->pts != AV_NOPTS_VALUE ? v->pkt->pts : v->pkt->dts;
      gboolean by_pos = K->pos >= 0 && v->pkt->pos >= 0;
      if (by_pos ? v->pkt->pos == K->pos
                 : !v->by_order && pts == K->pts) {
        v->pending = v->running = TRUE;
        v->run_start = v->next_packet = start;
        v->last_pts = INT64_MIN;
        v->shown = 0;
        return TRUE;
      }
      gboolean past = by_pos ? v->pkt->pos > K->pos
                      : K->dts != AV_NOPTS_VALUE &&
                        v->pkt->dts != AV_NOPTS_VALUE && v->pkt->dts > K->dts;
      av_packet_unref(v->pkt);
      if (past)
        break;
    }
    if (r == AVERROR_EXIT)
      return fail_av(v, error, r, "seeking in the video failed");
  }
  g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT, "%s: cannot find packet "
              "%" G_GINT64_FORMAT " again after seeking (the file changed "
              "or its demuxer is not deterministic)", v->path, start);
  return FALSE;
}

static int64_t
frame_ts(const AVFrame *f)
{
  return f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
}

/* Feeds the decoder from the current run until the frame with timestamp
 * `target` comes out. */
static AgfImage *
decode_until(AgfVideo *v, int64_t k, int64_t target, GError **error)
{
  for (int64_t guard = 0; guard <= 2 * v->n_packets + 64; guard++) {
    if (v->intr.cancellable != NULL &&
        g_cancellable_set_error_if_cancelled(v->intr.cancellable, error))
      return NULL;
    int r = avcodec_receive_frame(v->dec, v->frame);
    if (r == 0) {
      int64_t ts = v->by_order ? v->run_start + v->shown++
                               : frame_ts(v->frame);
      if (ts == target) {
        AgfImage *img = agf_av_frame_to_image(v->frame, v->info.orientation,
                                              error);
        av_frame_unref(v->frame);
        v->last_pts = target;
        return img;
      }
      av_frame_unref(v->frame);
      continue;
    }
    if (r == AVERROR_EOF)
      break;
    if (r != AVERROR(EAGAIN))
      return fail_av(v, error, r, "decoding the video failed"), NULL;
    if (!v->pending && !v->eof_sent) {
      while ((r = av_read_frame(v->fmt, v->pkt)) >= 0 &&
             v->pkt->stream_index != v->stream)
        av_packet_unref(v->pkt);
      if (r == AVERROR_EXIT)
        return fail_av(v, error, r, "reading the video failed"), NULL;
      v->pending = r >= 0;
      if (r < 0) {   /* end, or a damaged tail: flush what is buffered */
        avcodec_send_packet(v->dec, NULL);
        v->eof_sent = TRUE;
        continue;
      }
    }
    if (v->pending) {
      r = avcodec_send_packet(v->dec, v->pkt);
      if (r == AVERROR(EAGAIN))
        continue;    /* output first */
      av_packet_unref(v->pkt);
      v->pending = FALSE;
      v->next_packet++;
      /* A damaged packet is skipped; the decoder conceals what follows. */
      if (r < 0 && r != AVERROR_INVALIDDATA)
        return fail_av(v, error, r, "decoding the video failed"), NULL;
    }
  }
  g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT, "%s: frame %"
              G_GINT64_FORMAT " could not be decoded (the stream is damaged "
              "around it)", v->path, k);
  return NULL;
}

AgfImage *
agf_video_decode_frame(AgfVideo *v, int64_t k, GCancellable *cancellable,
                       GError **error)
{
  if (k < 0 || k >= v->info.n_frames) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT, "%s: frame %"
                G_GINT64_FORMAT " is outside 0..%" G_GINT64_FORMAT, v->path,
                k, v->info.n_frames - 1);
    return NULL;
  }
  if (cancellable != NULL &&
      g_cancellable_set_error_if_cancelled(cancellable, error))
    return NULL;
  v->intr.cancellable = cancellable;
  agf_av_interrupt_arm(&v->intr, READ_TIMEOUT_S);
  int64_t p = v->order[k], start = v->seek_from[p];
  int64_t target = v->packets[p].pts;
  /* Continue the current run when it already covers the keyframe. */
  gboolean cont = v->running && target > v->last_pts &&
                  start >= v->run_start && start <= v->next_packet;
  AgfImage *img = NULL;
  if (cont || seek_to(v, start, error))
    img = decode_until(v, k, target, error);
  if (img == NULL)
    v->running = FALSE;
  v->intr.cancellable = NULL;
  return img;
}

GPtrArray *
agf_video_sample(AgfVideo *v, int n, int64_t **indices_out,
                 GCancellable *cancellable, GError **error)
{
  if (n <= 0)
    n = AGF_VIDEO_DEFAULT_SAMPLES;
  int64_t *idx = g_new(int64_t, n);
  int m = agf_video_sample_indices(v->info.n_frames, n, idx);
  GPtrArray *frames = g_ptr_array_new_with_free_func(
    (GDestroyNotify) agf_image_free);
  for (int i = 0; i < m; i++) {
    AgfImage *img = agf_video_decode_frame(v, idx[i], cancellable, error);
    if (img == NULL) {
      g_ptr_array_unref(frames);
      g_free(idx);
      return NULL;
    }
    g_ptr_array_add(frames, img);
  }
  if (indices_out != NULL)
    *indices_out = idx;
  else
    g_free(idx);
  return frames;
}
