/* Media: images (PNG, BMP, JPEG, WebP) and videos (h264/MP4, mpeg4/MKV)
 * generated here with libav's encoders, so no tool or file is needed.
 * Checks pixel values, EXIF orientation, PNG writing, device upload, frame
 * counts, uniform sampling, frame-accurate seeking (each frame's gray level
 * encodes its index), the decoding thread, every kind of broken input, and
 * the camera list on a machine without cameras. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <string.h>

#include "io/camera.h"
#include "io/image.h"
#include "io/video.h"
#include "nn/error.h"
#include "media_support.h"
#include "test_support.h"

static char *tmp_dir;

static char *
tmp_path(const char *name)
{
  return g_build_filename(tmp_dir, name, NULL);
}

static void
write_file(const char *path, const void *data, gsize n)
{
  g_assert_true(g_file_set_contents(path, data, (gssize) n, NULL));
}

/* ---- image generation --------------------------------------------------- */

/* Quadrants: red, green / blue, white; alpha varies with x (PNG keeps it). */
static const guint8 quad_rgb[4][3] = {
  { 230, 20, 20 }, { 20, 230, 20 }, { 20, 20, 230 }, { 240, 240, 240 }
};

static AgfImage *
make_pattern(int w, int h, gboolean smooth)
{
  AgfImage *img = agf_image_new(w, h, 4, NULL);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      guint8 *p = img->pixels + y * img->stride + x * 4;
      if (smooth) {
        const guint8 *c = quad_rgb[(y >= h / 2) * 2 + (x >= w / 2)];
        memcpy(p, c, 3);
        p[3] = 255;
      } else {
        p[0] = (guint8) (x * 7 + y * 3);
        p[1] = (guint8) (x * 11);
        p[2] = (guint8) (y * 13);
        p[3] = (guint8) (255 - x);
      }
    }
  return img;
}

/* Encodes img with an image encoder into a new byte array. */
static GByteArray *
encode_image(const AgfImage *img, const char *encoder,
             enum AVPixelFormat fmt, const char *opt, const char *val)
{
  const AVCodec *codec = avcodec_find_encoder_by_name(encoder);
  if (codec == NULL)
    return NULL;
  AVCodecContext *ctx = avcodec_alloc_context3(codec);
  ctx->width = img->width;
  ctx->height = img->height;
  ctx->pix_fmt = fmt;
  ctx->time_base = (AVRational) { 1, 25 };
  ctx->flags |= AV_CODEC_FLAG_QSCALE;
  ctx->global_quality = FF_QP2LAMBDA * 2;
  if (opt != NULL)
    av_opt_set(ctx->priv_data, opt, val, 0);
  g_assert_cmpint(avcodec_open2(ctx, codec, NULL), >=, 0);
  AVFrame *f = av_frame_alloc();
  f->format = fmt;
  f->width = img->width;
  f->height = img->height;
  g_assert_cmpint(av_frame_get_buffer(f, 0), >=, 0);
  struct SwsContext *sws = sws_getContext(img->width, img->height,
    AV_PIX_FMT_RGBA, img->width, img->height, fmt,
    SWS_POINT | SWS_ACCURATE_RND, NULL, NULL, NULL);
  const uint8_t *src[1] = { img->pixels };
  int src_stride[1] = { (int) img->stride };
  sws_scale(sws, src, src_stride, 0, img->height, f->data, f->linesize);
  sws_freeContext(sws);
  AVPacket *pkt = av_packet_alloc();
  g_assert_cmpint(avcodec_send_frame(ctx, f), >=, 0);
  g_assert_cmpint(avcodec_send_frame(ctx, NULL), >=, 0);
  g_assert_cmpint(avcodec_receive_packet(ctx, pkt), >=, 0);
  GByteArray *out = g_byte_array_new();
  g_byte_array_append(out, pkt->data, pkt->size);
  av_packet_free(&pkt);
  av_frame_free(&f);
  avcodec_free_context(&ctx);
  return out;
}

static void
assert_pixel_near(const AgfImage *img, int x, int y, const guint8 *rgb,
                  int tol)
{
  const guint8 *p = img->pixels + y * img->stride + x * 4;
  for (int c = 0; c < 3; c++)
    if (abs(p[c] - rgb[c]) > tol)
      g_error("pixel (%d, %d) channel %d is %d, expected %d +- %d", x, y, c,
              p[c], rgb[c], tol);
}

static void
test_image_formats(void)
{
  const int W = 40, H = 24;
  g_autoptr(AgfImage) exact = make_pattern(W, H, FALSE);
  struct {
    const char *encoder, *file;
    enum AVPixelFormat fmt;
    const char *opt, *val;
    gboolean alpha;
  } cases[] = {
    { "png", "a.png", AV_PIX_FMT_RGBA, NULL, NULL, TRUE },
    { "bmp", "a.bmp", AV_PIX_FMT_BGR24, NULL, NULL, FALSE },
    { "libwebp", "a.webp", AV_PIX_FMT_BGRA, "lossless", "1", TRUE },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    GByteArray *bytes = encode_image(exact, cases[i].encoder, cases[i].fmt,
                                     cases[i].opt, cases[i].val);
    if (bytes == NULL) {
      g_test_message("no %s encoder: skipped", cases[i].encoder);
      continue;
    }
    g_autofree char *path = tmp_path(cases[i].file);
    write_file(path, bytes->data, bytes->len);
    g_byte_array_unref(bytes);
    GError *error = NULL;
    g_autoptr(AgfImage) img = agf_image_load(path, &error);
    g_assert_no_error(error);
    g_assert_cmpint(img->width, ==, W);
    g_assert_cmpint(img->height, ==, H);
    g_assert_cmpint(img->channels, ==, 4);
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        const guint8 *a = img->pixels + y * img->stride + x * 4;
        const guint8 *b = exact->pixels + y * exact->stride + x * 4;
        g_assert_cmpmem(a, 3, b, 3);
        g_assert_cmpint(a[3], ==, cases[i].alpha ? b[3] : 255);
      }
  }
  /* Lossy JPEG: flat quadrants within a few levels. */
  g_autoptr(AgfImage) quads = make_pattern(64, 32, TRUE);
  GByteArray *jpg = encode_image(quads, "mjpeg", AV_PIX_FMT_YUVJ444P, NULL,
                                 NULL);
  g_autoptr(AgfImage) img = agf_image_load_data(jpg->data, jpg->len, "q.jpg",
                                                NULL);
  g_byte_array_unref(jpg);
  g_assert_nonnull(img);
  g_assert_cmpint(img->width, ==, 64);
  g_assert_cmpint(img->height, ==, 32);
  for (int q = 0; q < 4; q++)
    assert_pixel_near(img, (q & 1) * 32 + 16, (q >> 1) * 16 + 8, quad_rgb[q],
                      6);
}

/* JPEG with an APP1 EXIF segment (little-endian TIFF, one IFD0 entry:
 * Orientation, SHORT) inserted after SOI. */
static GByteArray *
with_exif(const GByteArray *jpg, int orientation)
{
  guint8 tiff[] = {
    'I', 'I', 42, 0, 8, 0, 0, 0,           /* header, IFD0 at 8 */
    1, 0,                                   /* one entry */
    0x12, 0x01, 3, 0, 1, 0, 0, 0,           /* tag 0x0112, SHORT, count 1 */
    (guint8) orientation, 0, 0, 0,          /* value */
    0, 0, 0, 0,                             /* no next IFD */
  };
  guint8 head[10] = { 0xff, 0xe1, 0, 0, 'E', 'x', 'i', 'f', 0, 0 };
  int len = 2 + 6 + (int) sizeof tiff;
  head[2] = (guint8) (len >> 8);
  head[3] = (guint8) len;
  GByteArray *out = g_byte_array_new();
  g_byte_array_append(out, jpg->data, 2);
  g_byte_array_append(out, head, sizeof head);
  g_byte_array_append(out, tiff, sizeof tiff);
  g_byte_array_append(out, jpg->data + 2, jpg->len - 2);
  return out;
}

static void
test_image_exif(void)
{
  g_autoptr(AgfImage) quads = make_pattern(64, 32, TRUE);
  GByteArray *jpg = encode_image(quads, "mjpeg", AV_PIX_FMT_YUVJ444P, NULL,
                                 NULL);
  /* Expected quadrant (stored index) at each displayed quadrant TL, TR, BL,
   * BR, and whether width and height swap. */
  struct { int code; int q[4]; gboolean swap; } cases[] = {
    { 1, { 0, 1, 2, 3 }, FALSE }, { 2, { 1, 0, 3, 2 }, FALSE },
    { 3, { 3, 2, 1, 0 }, FALSE }, { 4, { 2, 3, 0, 1 }, FALSE },
    { 5, { 0, 2, 1, 3 }, TRUE }, { 6, { 2, 0, 3, 1 }, TRUE },
    { 7, { 3, 1, 2, 0 }, TRUE }, { 8, { 1, 3, 0, 2 }, TRUE },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    GByteArray *ex = with_exif(jpg, cases[i].code);
    GError *error = NULL;
    g_autoptr(AgfImage) img = agf_image_load_data(ex->data, ex->len, "exif",
                                                  &error);
    g_byte_array_unref(ex);
    g_assert_no_error(error);
    int w = cases[i].swap ? 32 : 64, h = cases[i].swap ? 64 : 32;
    g_assert_cmpint(img->width, ==, w);
    g_assert_cmpint(img->height, ==, h);
    for (int q = 0; q < 4; q++)
      assert_pixel_near(img, (q & 1) * (w / 2) + w / 4,
                        (q >> 1) * (h / 2) + h / 4,
                        quad_rgb[cases[i].q[q]], 6);
  }
  g_byte_array_unref(jpg);
}

static void
test_image_save_png(void)
{
  g_autoptr(AgfImage) img = make_pattern(33, 17, FALSE);
  g_autofree char *path = tmp_path("saved.png");
  GError *error = NULL;
  g_assert_true(agf_image_save_png(img, path, &error));
  g_assert_no_error(error);
  g_autoptr(AgfImage) back = agf_image_load(path, &error);
  g_assert_no_error(error);
  g_assert_cmpmem(back->pixels, 33 * 17 * 4, img->pixels, 33 * 17 * 4);
  /* RGB images too; no temporary file is left behind. */
  g_autoptr(AgfImage) rgb = agf_image_new(5, 3, 3, NULL);
  memset(rgb->pixels, 77, 5 * 3 * 3);
  g_assert_true(agf_image_save_png(rgb, path, &error));
  g_autoptr(AgfImage) back3 = agf_image_load(path, &error);
  g_assert_cmpint(back3->pixels[4 * 7 + 1], ==, 77);
  g_assert_cmpint(back3->pixels[4 * 7 + 3], ==, 255);
  GDir *d = g_dir_open(tmp_dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name(d)) != NULL)
    g_assert_false(g_str_has_prefix(name, "saved.png."));
  g_dir_close(d);
  /* Unwritable destination. */
  g_assert_false(agf_image_save_png(img, "/nonexistent-dir/x.png", &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_IO);
  g_clear_error(&error);
}

static void
test_image_upload(void)
{
  AgfDevice *dev = agf_test_cpu();
  g_autoptr(AgfImage) img = make_pattern(9, 7, FALSE);
  GError *error = NULL;
  g_autoptr(AgfTensor) t = agf_image_upload(img, dev, &error);
  g_assert_no_error(error);
  g_assert_cmpint(t->dtype, ==, AGF_U8);
  g_assert_cmpint(t->ndim, ==, 4);
  g_assert_cmpint(t->shape[1], ==, 7);
  g_assert_cmpint(t->shape[2], ==, 9);
  g_assert_cmpint(t->shape[3], ==, 4);
  g_autoptr(AgfImage) back = agf_image_download(t, &error);
  g_assert_no_error(error);
  g_assert_cmpmem(back->pixels, 9 * 7 * 4, img->pixels, 9 * 7 * 4);
  /* The normaliser accepts it: (x / 255 - mean) / std per channel. */
  const float mean[3] = { 0, 0, 0 }, std[3] = { 1, 1, 1 };
  g_autoptr(AgfTensor) x = agf_image_to_tensor(t, mean, std, &error);
  g_assert_no_error(error);
  g_autofree float *v = agf_test_read_f32(x);
  g_assert_cmpfloat_with_epsilon(v[0 * 63 + 1 * 9 + 2],
                                 img->pixels[1 * img->stride + 2 * 4] / 255.0,
                                 1e-6);
}

static void
expect_load_error(const void *data, gsize n, int code, const char *what)
{
  GError *error = NULL;
  AgfImage *img = agf_image_load_data(data, n, what, &error);
  if (img != NULL)
    g_error("%s: loaded %d x %d, expected an error", what, img->width,
            img->height);
  g_assert_error(error, AGF_ERROR, code);
  g_test_message("%s -> %s", what, error->message);
  g_error_free(error);
}

static void
test_image_broken(void)
{
  g_autoptr(AgfImage) pat = make_pattern(64, 48, FALSE);
  GByteArray *png = encode_image(pat, "png", AV_PIX_FMT_RGBA, NULL, NULL);
  GByteArray *jpg = encode_image(pat, "mjpeg", AV_PIX_FMT_YUVJ444P, NULL,
                                 NULL);
  expect_load_error("", 0, AGF_ERROR_FORMAT, "empty");
  guint8 noise[4096];
  GRand *rand = g_rand_new_with_seed(5);
  for (size_t i = 0; i < sizeof noise; i++)
    noise[i] = (guint8) g_rand_int(rand);
  g_rand_free(rand);
  expect_load_error(noise, sizeof noise, AGF_ERROR_UNSUPPORTED, "random");
  expect_load_error("GIF89a\1\0\1\0\0\0\0;", 14, AGF_ERROR_UNSUPPORTED, "gif");
  /* Truncations: every cut of the PNG, a few of the JPEG. */
  for (guint cut = 0; cut < png->len; cut += 1 + cut / 8) {
    GError *error = NULL;
    AgfImage *img = agf_image_load_data(png->data, cut, "png-cut", &error);
    if (img != NULL)
      g_error("PNG cut at %u of %u bytes loaded", cut, png->len);
    g_assert_true(error->domain == AGF_ERROR);
    g_error_free(error);
  }
  expect_load_error(jpg->data, 20, AGF_ERROR_FORMAT, "jpeg-header-cut");
  expect_load_error(jpg->data, jpg->len / 2, AGF_ERROR_FORMAT, "jpeg-half");
  /* Corrupt PNG data (bit flips inside the compressed data). */
  GByteArray *bad = g_byte_array_new();
  g_byte_array_append(bad, png->data, png->len);
  for (guint i = 60; i < bad->len - 20; i += 37)
    bad->data[i] ^= 0x5a;
  expect_load_error(bad->data, bad->len, AGF_ERROR_FORMAT, "png-flipped");
  g_byte_array_unref(bad);
  /* Decompression bomb: a PNG header declaring 100000 x 100000 pixels. */
  GByteArray *bomb = g_byte_array_new();
  g_byte_array_append(bomb, png->data, png->len);
  const guint8 big[8] = { 0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0 };
  memcpy(bomb->data + 16, big, 8);
  expect_load_error(bomb->data, bomb->len, AGF_ERROR_UNSUPPORTED, "bomb");
  /* The limit is configurable. */
  agf_media_set_pixel_limit(1000);
  expect_load_error(png->data, png->len, AGF_ERROR_UNSUPPORTED, "limit");
  agf_media_set_pixel_limit(0);
  g_assert_cmpuint(agf_media_get_pixel_limit(), ==,
                   AGF_MEDIA_DEFAULT_PIXEL_LIMIT);
  /* Files: missing, directory, empty. */
  GError *error = NULL;
  g_assert_null(agf_image_load("/nonexistent/x.png", &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_IO);
  g_clear_error(&error);
  g_assert_null(agf_image_load(tmp_dir, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_IO);
  g_clear_error(&error);
  g_byte_array_unref(bomb);
  g_byte_array_unref(png);
  g_byte_array_unref(jpg);
}

/* ---- video generation --------------------------------------------------- */

/* Frame k is a flat gray with luma agf_test_video_level(k) = 20 + 5 k
 * (media_support.c writes the videos). */

/* Frame index whose level is nearest the decoded (limited-range) gray. */
static int
index_of(const AgfImage *img)
{
  const guint8 *p = img->pixels + (img->height / 2) * img->stride +
                    (img->width / 2) * 4;
  double luma = p[1] * 219.0 / 255.0 + 16.0;
  return (int) lround((luma - 20.0) / 5.0);
}

static char *
write_video(const char *file, const char *encoder, int n, int gop,
            int bframes)
{
  char *path = tmp_path(file);
  if (!agf_test_write_video(path, encoder, n, gop, bframes))
    g_clear_pointer(&path, g_free);
  return path;
}

static void
check_video(const char *path, int n, const char *codec)
{
  GError *error = NULL;
  g_autoptr(AgfVideo) v = agf_video_open(path, &error);
  g_assert_no_error(error);
  const AgfVideoInfo *in = agf_video_get_info(v);
  g_test_message("%s: %s in %s, %" G_GINT64_FORMAT " frames (container says "
                 "%" G_GINT64_FORMAT "), %.3f fps, %.3f s", path, in->codec,
                 in->container, in->n_frames, in->container_frames, in->fps,
                 in->duration_s);
  g_assert_cmpstr(in->codec, ==, codec);
  g_assert_cmpint(in->n_frames, ==, n);
  g_assert_cmpint(in->width, ==, 64);
  g_assert_cmpint(in->height, ==, 48);
  g_assert_cmpfloat_with_epsilon(in->fps, 25.0, 0.01);
  g_assert_cmpfloat_with_epsilon(in->duration_s, n / 25.0, 0.1);

  /* Uniform sampling. */
  int64_t *idx = NULL;
  g_autoptr(GPtrArray) frames = agf_video_sample(v, 0, &idx, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpint(frames->len, ==, AGF_VIDEO_DEFAULT_SAMPLES);
  for (guint i = 0; i < frames->len; i++) {
    g_assert_cmpint(idx[i], ==, (int64_t) floor((i + 0.5) * n / 10));
    g_assert_cmpint(index_of(frames->pdata[i]), ==, idx[i]);
  }
  g_free(idx);

  /* Random access, repeats and backward jumps, then every frame in order
   * (the sequential path). */
  const int64_t jumps[] = { n - 1, 0, n / 2, 5, 5, n - 3, 11, 12, 1, n - 1 };
  for (size_t i = 0; i < G_N_ELEMENTS(jumps); i++) {
    g_autoptr(AgfImage) img = agf_video_decode_frame(v, jumps[i], NULL,
                                                     &error);
    g_assert_no_error(error);
    g_assert_cmpint(index_of(img), ==, jumps[i]);
  }
  gint64 t0 = g_get_monotonic_time();
  for (int k = 0; k < n; k++) {
    g_autoptr(AgfImage) img = agf_video_decode_frame(v, k, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpint(index_of(img), ==, k);
  }
  g_test_message("sequential decode: %.2f ms/frame",
                 (g_get_monotonic_time() - t0) / 1000.0 / n);
  g_assert_null(agf_video_decode_frame(v, n, NULL, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
}

static void
test_video_h264(void)
{
  g_autofree char *path = write_video("h264.mp4", "libx264", 37, 10, 2);
  if (path == NULL) {
    g_test_skip("this libavcodec has no libx264 encoder");
    return;
  }
  check_video(path, 37, "h264");
}

static void
test_video_mpeg4(void)
{
  g_autofree char *path = write_video("mpeg4.mkv", "mpeg4", 25, 8, 1);
  g_assert_nonnull(path);
  check_video(path, 25, "mpeg4");
}

static void
test_video_sample_indices(void)
{
  int64_t out[16];
  const int64_t want[10] = { 1, 5, 9, 12, 16, 20, 24, 27, 31, 35 };
  g_assert_cmpint(agf_video_sample_indices(37, 10, out), ==, 10);
  g_assert_cmpmem(out, sizeof want, want, sizeof want);
  g_assert_cmpint(agf_video_sample_indices(3, 10, out), ==, 3);
  g_assert_cmpint(out[2], ==, 2);
  g_assert_cmpint(agf_video_sample_indices(10, 10, out), ==, 10);
  g_assert_cmpint(out[9], ==, 9);
  g_assert_cmpint(agf_video_sample_indices(0, 10, out), ==, 0);
  for (int64_t n = 11; n < 400; n += 7) {
    g_assert_cmpint(agf_video_sample_indices(n, 10, out), ==, 10);
    for (int i = 0; i < 10; i++) {
      g_assert_cmpint(out[i], ==, (int64_t) floor((i + 0.5) * n / 10.0));
      g_assert_true(i == 0 || out[i] > out[i - 1]);
    }
  }
}

typedef struct {
  int done;
  int64_t got[8];
  int codes[8];
} WorkerState;

static void
on_frame(GObject *src, GAsyncResult *res, gpointer data)
{
  (void) src;
  void **pair = data;
  AgfVideoWorker *w = pair[0];
  WorkerState *s = pair[1];
  int64_t k = -1;
  GError *error = NULL;
  AgfImage *img = agf_video_worker_decode_finish(w, res, &k, &error);
  int slot = GPOINTER_TO_INT(pair[2]);
  s->got[slot] = img != NULL ? index_of(img) : -1;
  s->codes[slot] = error != NULL ? error->code : -1;
  g_assert_true(img != NULL || error != NULL);
  g_clear_error(&error);
  agf_image_free(img);
  s->done++;
  g_free(pair);
}

static void
test_video_worker(void)
{
  g_autofree char *path = write_video("worker.mkv", "mpeg4", 20, 5, 0);
  GError *error = NULL;
  AgfVideo *v = agf_video_open(path, &error);
  g_assert_no_error(error);
  AgfVideoWorker *w = agf_video_worker_new(v);
  g_assert_cmpint(agf_video_worker_get_info(w)->n_frames, ==, 20);
  WorkerState s = { 0 };
  const int64_t ks[4] = { 19, 3, 7, 99 };
  GCancellable *cancelled = g_cancellable_new();
  g_cancellable_cancel(cancelled);
  for (int i = 0; i < 5; i++) {
    void **pair = g_new(void *, 3);
    pair[0] = w;
    pair[1] = &s;
    pair[2] = GINT_TO_POINTER(i);
    agf_video_worker_decode_async(w, i < 4 ? ks[i] : 4,
                                  i == 4 ? cancelled : NULL, on_frame, pair);
  }
  gint64 deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
  while (s.done < 5 && g_get_monotonic_time() < deadline)
    g_main_context_iteration(NULL, TRUE);
  g_assert_cmpint(s.done, ==, 5);
  g_assert_cmpint(s.got[0], ==, 19);
  g_assert_cmpint(s.got[1], ==, 3);
  g_assert_cmpint(s.got[2], ==, 7);
  g_assert_cmpint(s.codes[3], ==, AGF_ERROR_INVALID_ARGUMENT);
  g_assert_cmpint(s.codes[4], ==, G_IO_ERROR_CANCELLED);
  g_object_unref(cancelled);
  agf_video_worker_free(w);
}

static void
expect_video_error(const char *path, int code, const char *what)
{
  GError *error = NULL;
  AgfVideo *v = agf_video_open(path, &error);
  if (v != NULL)
    g_error("%s opened, expected an error", what);
  g_assert_error(error, AGF_ERROR, code);
  g_test_message("%s -> %s", what, error->message);
  g_error_free(error);
}

static void
test_video_broken(void)
{
  g_autofree char *mp4 = write_video("b.mp4", "mpeg4", 20, 5, 0);
  g_autofree char *mkv = write_video("b.mkv", "mpeg4", 20, 5, 0);
  gchar *data;
  gsize n;
  g_assert_true(g_file_get_contents(mp4, &data, &n, NULL));
  g_autofree char *cut = tmp_path("cut.mp4");
  write_file(cut, data, n / 2);        /* the index (moov) is at the end */
  expect_video_error(cut, AGF_ERROR_FORMAT, "truncated mp4");
  g_free(data);

  g_autofree char *empty = tmp_path("empty.mp4");
  write_file(empty, "", 0);
  expect_video_error(empty, AGF_ERROR_FORMAT, "zero-length");
  expect_video_error("/nonexistent/x.mp4", AGF_ERROR_IO, "missing");

  guint8 noise[65536];
  GRand *rand = g_rand_new_with_seed(9);
  for (size_t i = 0; i < sizeof noise; i++)
    noise[i] = (guint8) g_rand_int(rand);
  g_rand_free(rand);
  g_autofree char *rnd = tmp_path("random.mkv");
  write_file(rnd, noise, sizeof noise);
  expect_video_error(rnd, AGF_ERROR_FORMAT, "random bytes");

  /* A still image is not a video. */
  g_autoptr(AgfImage) pat = make_pattern(16, 16, FALSE);
  g_autofree char *png = tmp_path("still.png");
  g_assert_true(agf_image_save_png(pat, png, NULL));
  GError *error = NULL;
  AgfVideo *still = agf_video_open(png, &error);
  if (still != NULL) {   /* image2 demuxer: one frame is acceptable */
    g_assert_cmpint(agf_video_get_info(still)->n_frames, ==, 1);
    agf_video_close(still);
  }
  g_clear_error(&error);

  /* Above the pixel limit: refused from the stream parameters. */
  agf_media_set_pixel_limit(64 * 47);
  expect_video_error(mkv, AGF_ERROR_UNSUPPORTED, "pixel limit");
  agf_media_set_pixel_limit(0);

  /* A truncated MKV keeps the frames before the cut; cuts at several
   * lengths and corrupted middles never crash or hang. */
  g_assert_true(g_file_get_contents(mkv, &data, &n, NULL));
  for (int i = 1; i < 8; i++) {
    g_autofree char *p = tmp_path("cut.mkv");
    write_file(p, data, n * i / 8);
    AgfVideo *v = agf_video_open(p, &error);
    if (v == NULL) {
      g_assert_true(error->domain == AGF_ERROR);
      g_clear_error(&error);
      continue;
    }
    int64_t frames = agf_video_get_info(v)->n_frames;
    g_assert_cmpint(frames, <=, 20);
    for (int64_t k = 0; k < frames; k++) {
      AgfImage *img = agf_video_decode_frame(v, k, NULL, &error);
      g_assert_true(img != NULL || error != NULL);
      agf_image_free(img);
      g_clear_error(&error);
    }
    agf_video_close(v);
  }
  for (gsize i = n / 3; i < n; i += 97)
    data[i] ^= 0xa5;
  g_autofree char *flip = tmp_path("flip.mkv");
  write_file(flip, data, n);
  AgfVideo *v = agf_video_open(flip, &error);
  if (v != NULL) {
    for (int64_t k = agf_video_get_info(v)->n_frames - 1; k >= 0; k -= 3) {
      AgfImage *img = agf_video_decode_frame(v, k, NULL, &error);
      agf_image_free(img);
      g_clear_error(&error);
    }
    agf_video_close(v);
  }
  g_clear_error(&error);
  g_free(data);
}

static void
test_camera_none(void)
{
  g_autoptr(GPtrArray) cams = agf_camera_list();
  for (guint i = 0; i < cams->len; i++) {
    const AgfCameraInfo *c = cams->pdata[i];
    g_test_message("camera %s: %s", c->path, c->name);
  }
  GError *error = NULL;
  const char *path = "/dev/video0";
  if (g_file_test(path, G_FILE_TEST_EXISTS))
    path = "/dev/video-agfas-missing";
  else
    g_assert_cmpuint(cams->len, ==, 0);
  g_assert_null(agf_camera_open(path, 640, 480, 30, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_IO);
  g_test_message("%s", error->message);
  g_clear_error(&error);
  /* Not a camera: a regular file. */
  g_autofree char *f = tmp_path("not-a-camera");
  write_file(f, "x", 1);
  g_assert_null(agf_camera_open(f, 0, 0, 0, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_IO);
  g_test_message("%s", error->message);
  g_error_free(error);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  av_log_set_level(AV_LOG_QUIET);
  tmp_dir = g_dir_make_tmp("agfas-media-XXXXXX", NULL);
  g_assert_nonnull(tmp_dir);
  g_test_add_func("/media/image/formats", test_image_formats);
  g_test_add_func("/media/image/exif", test_image_exif);
  g_test_add_func("/media/image/save-png", test_image_save_png);
  g_test_add_func("/media/image/upload", test_image_upload);
  g_test_add_func("/media/image/broken", test_image_broken);
  g_test_add_func("/media/video/sample-indices", test_video_sample_indices);
  g_test_add_func("/media/video/h264", test_video_h264);
  g_test_add_func("/media/video/mpeg4", test_video_mpeg4);
  g_test_add_func("/media/video/worker", test_video_worker);
  g_test_add_func("/media/video/broken", test_video_broken);
  g_test_add_func("/media/camera/none", test_camera_none);
  int rc = g_test_run();
  GDir *d = g_dir_open(tmp_dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
    g_autofree char *p = tmp_path(name);
    if (!g_getenv("AGF_KEEP"))
      g_unlink(p);
  }
  if (d != NULL)
    g_dir_close(d);
  if (!g_getenv("AGF_KEEP")) g_rmdir(tmp_dir);
  g_free(tmp_dir);
  int vk = agf_test_finish();
  return rc ? rc : (vk ? 1 : 0);
}
