/* Still images through libavcodec: the format is recognised from the first
 * bytes, the declared size is read from the header by hand (bounds-checked)
 * so that decompression bombs are refused before the decoder allocates
 * anything, then the whole file goes to the decoder as one packet. */
#include "io/image.h"
#include "io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/media_av.h"

/* Largest image file read into memory: a 100-megapixel RGBA BMP is 400 MB. */
#define MAX_FILE_BYTES ((gsize) 1 << 30)

AgfImage *
agf_image_new(int width, int height, int channels, GError **error)
{
  if (width <= 0 || height <= 0 || (channels != 3 && channels != 4)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT, "an image "
                "must be at least 1 x 1 with 3 or 4 channels, not %d x %d x "
                "%d", width, height, channels);
    return NULL;
  }
  gsize bytes = (gsize) width * height * channels;
  guint8 *px = g_try_malloc0(bytes);
  if (px == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY, "no memory for "
                "a %d x %d image (%" G_GSIZE_FORMAT " bytes)", width, height,
                bytes);
    return NULL;
  }
  AgfImage *img = g_new(AgfImage, 1);
  *img = (AgfImage) { width, height, channels, (size_t) width * channels, px };
  return img;
}

AgfImage *
agf_image_copy(const AgfImage *img)
{
  AgfImage *out = agf_image_new(img->width, img->height, img->channels, NULL);
  if (out == NULL)
    return NULL;
  for (int y = 0; y < img->height; y++)
    memcpy(out->pixels + (size_t) y * out->stride,
           img->pixels + (size_t) y * img->stride, out->stride);
  return out;
}

void
agf_image_free(AgfImage *img)
{
  if (img == NULL)
    return;
  g_free(img->pixels);
  g_free(img);
}

/* ---- header sniffing ---------------------------------------------------- */

static guint32 be16(const guint8 *p) { return (guint32) p[0] << 8 | p[1]; }
static guint32 be32(const guint8 *p) { return be16(p) << 16 | be16(p + 2); }
static guint32 le16(const guint8 *p) { return (guint32) p[1] << 8 | p[0]; }
static guint32 le24(const guint8 *p) { return le16(p) | (guint32) p[2] << 16; }
static guint32 le32(const guint8 *p) { return le16(p) | le16(p + 2) << 16; }

typedef struct {
  enum AVCodecID codec;
  const char *kind;
  int64_t width, height;
} Sniff;

static gboolean
sniff_jpeg(const guint8 *d, gsize n, Sniff *s, GError **error)
{
  gsize i = 2;
  while (i + 4 <= n) {
    if (d[i] != 0xff) {
      i++;                           /* tolerate stray bytes between segments */
      continue;
    }
    guint8 m = d[i + 1];
    if (m == 0xff) {
      i++;                           /* fill byte */
      continue;
    }
    if (m == 0x01 || (m >= 0xd0 && m <= 0xd8)) {
      i += 2;                        /* markers without a length */
      continue;
    }
    if (m == 0xd9 || m == 0xda)
      break;                         /* image end / scan before any frame */
    guint32 len = be16(d + i + 2);
    gboolean sof = m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 &&
                   m != 0xcc;
    if (sof) {
      if (len < 8 || i + 2 + 7 > n)
        break;
      s->height = be16(d + i + 5);
      s->width = be16(d + i + 7);
      if (s->height == 0) {
        g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED, "JPEG images "
                    "whose height comes after the scan (DNL) are not "
                    "supported; re-save the image");
        return FALSE;
      }
      /* libav conceals a missing tail as gray; a damaged crop must not
       * slip into a dataset, so require the end-of-image marker. Marker
       * bytes cannot occur inside the entropy-coded data (0xff is
       * stuffed). */
      if (memmem(d + i, n - i, "\xff\xd9", 2) == NULL) {
        g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT, "the JPEG data "
                    "ends before its end-of-image marker: the file is "
                    "truncated");
        return FALSE;
      }
      return TRUE;
    }
    if (len < 2)
      break;
    i += 2 + len;
  }
  g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT, "the JPEG data has no "
              "frame header: the file is truncated or corrupt");
  return FALSE;
}

static gboolean
sniff_webp(const guint8 *d, gsize n, Sniff *s, GError **error)
{
  if (n >= 30 && memcmp(d + 12, "VP8 ", 4) == 0 &&
      d[23] == 0x9d && d[24] == 0x01 && d[25] == 0x2a) {
    s->width = le16(d + 26) & 0x3fff;
    s->height = le16(d + 28) & 0x3fff;
    return TRUE;
  }
  if (n >= 25 && memcmp(d + 12, "VP8L", 4) == 0 && d[20] == 0x2f) {
    guint32 b = le32(d + 21);
    s->width = (b & 0x3fff) + 1;
    s->height = (b >> 14 & 0x3fff) + 1;
    return TRUE;
  }
  if (n >= 30 && memcmp(d + 12, "VP8X", 4) == 0) {
    if (d[20] & 0x02) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED, "animated WebP "
                  "images are not supported: convert it to a video or save "
                  "one frame");
      return FALSE;
    }
    s->width = (int64_t) le24(d + 24) + 1;
    s->height = (int64_t) le24(d + 27) + 1;
    return TRUE;
  }
  g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT, "the WebP data has no "
              "readable image header: the file is truncated or corrupt");
  return FALSE;
}

/* Recognises the format and reads the declared size. */
static gboolean
sniff(const guint8 *d, gsize n, Sniff *s, GError **error)
{
  static const guint8 png_sig[8] = { 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a,
                                     0x0a };
  if (n >= 8 && memcmp(d, png_sig, 8) == 0) {
    *s = (Sniff) { AV_CODEC_ID_PNG, "PNG", 0, 0 };
    if (n < 24 || memcmp(d + 12, "IHDR", 4) != 0) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT, "the PNG data has no "
                  "IHDR header: the file is truncated or corrupt");
      return FALSE;
    }
    s->width = be32(d + 16);
    s->height = be32(d + 20);
    return TRUE;
  }
  if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff) {
    *s = (Sniff) { AV_CODEC_ID_MJPEG, "JPEG", 0, 0 };
    return sniff_jpeg(d, n, s, error);
  }
  if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0) {
    *s = (Sniff) { AV_CODEC_ID_WEBP, "WebP", 0, 0 };
    return sniff_webp(d, n, s, error);
  }
  if (n >= 2 && d[0] == 'B' && d[1] == 'M') {
    *s = (Sniff) { AV_CODEC_ID_BMP, "BMP", 0, 0 };
    if (n < 26) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT, "the BMP data is too "
                  "short for its header: the file is truncated");
      return FALSE;
    }
    if (le32(d + 14) == 12) {       /* OS/2 core header: 16-bit sizes */
      s->width = le16(d + 18);
      s->height = le16(d + 20);
    } else {
      s->width = (gint32) le32(d + 18);
      s->height = (gint32) le32(d + 22);
      if (s->height < 0)            /* negative = stored top-down */
        s->height = -s->height;
    }
    return TRUE;
  }
  g_set_error(error, AGF_ERROR, n == 0 ? AGF_ERROR_FORMAT
              : AGF_ERROR_UNSUPPORTED, n == 0 ? "the file is empty"
              : "not a JPEG, PNG, WebP or BMP image");
  return FALSE;
}

/* ---- decoding ----------------------------------------------------------- */

/* pkt holds the whole file (with libav's zeroed padding). */
static AgfImage *
decode_packet(AVPacket *pkt, const char *name, GError **error)
{
  Sniff s;
  GError *local = NULL;
  agf_av_init();
  if (!sniff(pkt->data, pkt->size, &s, &local) ||
      !agf_av_check_pixels(s.width, s.height, "the image", &local)) {
    g_set_error(error, AGF_ERROR, local->code, "%s: %s", name,
                local->message);
    g_error_free(local);
    return NULL;
  }
  const AVCodec *codec = avcodec_find_decoder(s.codec);
  if (codec == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED, "%s: this libavcodec "
                "has no %s decoder; install Debian's libavcodec59", name,
                s.kind);
    return NULL;
  }
  AVCodecContext *ctx = avcodec_alloc_context3(codec);
  AVFrame *frame = av_frame_alloc();
  AgfImage *img = NULL;
  char *what = g_strdup_printf("%s: cannot decode the %s image", name, s.kind);
  if (ctx == NULL || frame == NULL) {
    agf_av_error(error, AVERROR(ENOMEM), AGF_ERROR_OUT_OF_MEMORY, what);
    goto out;
  }
  /* The decoder's own guard, in case the header we read is not the one it
   * uses (e.g. a JPEG with several frame headers). */
  ctx->max_pixels = (int64_t) MIN(agf_media_get_pixel_limit(), INT_MAX);
  ctx->thread_count = 1;
  int r = avcodec_open2(ctx, codec, NULL);
  if (r >= 0)
    r = avcodec_send_packet(ctx, pkt);
  if (r >= 0)
    r = avcodec_send_packet(ctx, NULL);
  if (r >= 0 || r == AVERROR_EOF)
    r = avcodec_receive_frame(ctx, frame);
  if (r < 0) {
    /* AVERROR_EOF here means the decoder found no complete picture. */
    agf_av_error(error, r == AVERROR_EOF ? AVERROR_INVALIDDATA : r,
                 r == AVERROR_EOF ? AGF_ERROR_FORMAT : agf_av_error_code(r),
                 what);
    goto out;
  }
  if (frame->decode_error_flags != 0 || (frame->flags & AV_FRAME_FLAG_CORRUPT)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT, "%s: the %s data is "
                "damaged or truncated", name, s.kind);
    goto out;
  }
  img = agf_av_frame_to_image(frame, agf_av_frame_orientation(frame), error);
out:
  g_free(what);
  av_frame_free(&frame);
  avcodec_free_context(&ctx);
  return img;
}

AgfImage *
agf_image_load_data(const guint8 *data, gsize size, const char *name,
                    GError **error)
{
  if (name == NULL)
    name = "image data";
  if (size > MAX_FILE_BYTES) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED, "%s: %"
                G_GSIZE_FORMAT " bytes is larger than any supported image",
                name, size);
    return NULL;
  }
  AVPacket *pkt = av_packet_alloc();
  if (pkt == NULL || av_new_packet(pkt, (int) size) < 0) {
    av_packet_free(&pkt);
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY, "%s: no memory "
                "for %" G_GSIZE_FORMAT " bytes", name, size);
    return NULL;
  }
  if (size > 0)
    memcpy(pkt->data, data, size);
  AgfImage *img = decode_packet(pkt, name, error);
  av_packet_free(&pkt);
  return img;
}

AgfImage *
agf_image_load(const char *path, GError **error)
{
  FILE *f = fopen(path, "rb");
  struct stat st;
  int e = 0;
  if (f == NULL || fstat(fileno(f), &st) != 0)
    e = errno;
  else if (!S_ISREG(st.st_mode))
    e = EISDIR;
  if (e != 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot read image %s: %s",
                path, g_strerror(e));
    if (f != NULL)
      fclose(f);
    return NULL;
  }
  if ((guint64) st.st_size > MAX_FILE_BYTES) {
    fclose(f);
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED, "image %s is %"
                G_GUINT64_FORMAT " bytes, larger than any supported image",
                path, (guint64) st.st_size);
    return NULL;
  }
  AVPacket *pkt = av_packet_alloc();
  if (pkt == NULL || av_new_packet(pkt, (int) st.st_size) < 0) {
    av_packet_free(&pkt);
    fclose(f);
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY, "no memory to "
                "read image %s", path);
    return NULL;
  }
  size_t got = st.st_size > 0 ? fread(pkt->data, 1, st.st_size, f) : 0;
  gboolean bad = ferror(f);
  fclose(f);
  if (bad) {
    av_packet_free(&pkt);
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "reading image %s failed",
                path);
    return NULL;
  }
  pkt->size = (int) got;           /* the file may have shrunk meanwhile */
  memset(pkt->data + got, 0, AV_INPUT_BUFFER_PADDING_SIZE);
  AgfImage *img = decode_packet(pkt, path, error);
  av_packet_free(&pkt);
  return img;
}

/* ---- writing ------------------------------------------------------------ */

static AVPacket *
encode_png(const AgfImage *img, GError **error)
{
  agf_av_init();
  const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
  if (codec == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED, "this libavcodec "
                "has no PNG encoder; install Debian's libavcodec59");
    return NULL;
  }
  AVCodecContext *ctx = avcodec_alloc_context3(codec);
  AVFrame *frame = av_frame_alloc();
  AVPacket *pkt = av_packet_alloc();
  int r = AVERROR(ENOMEM);
  if (ctx != NULL && frame != NULL && pkt != NULL) {
    ctx->width = img->width;
    ctx->height = img->height;
    ctx->pix_fmt = img->channels == 4 ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24;
    ctx->time_base = (AVRational) { 1, 1 };
    r = avcodec_open2(ctx, codec, NULL);
  }
  if (r >= 0) {
    /* A frame that is not reference-counted: the encoder copies it. */
    frame->format = ctx->pix_fmt;
    frame->width = img->width;
    frame->height = img->height;
    frame->data[0] = img->pixels;
    frame->linesize[0] = (int) img->stride;
    r = avcodec_send_frame(ctx, frame);
  }
  if (r >= 0)
    r = avcodec_send_frame(ctx, NULL);
  if (r >= 0)
    r = avcodec_receive_packet(ctx, pkt);
  av_frame_free(&frame);
  avcodec_free_context(&ctx);
  if (r < 0) {
    av_packet_free(&pkt);
    agf_av_error(error, r, agf_av_error_code(r), "encoding the PNG failed");
    return NULL;
  }
  return pkt;
}

gboolean
agf_image_save_png(const AgfImage *img, const char *path, GError **error)
{
  if (img == NULL || img->pixels == NULL || img->width <= 0 ||
      img->height <= 0 || (img->channels != 3 && img->channels != 4) ||
      img->stride < (size_t) img->width * img->channels ||
      img->stride > INT_MAX) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT, "cannot save "
                "%s: not a valid RGB/RGBA image", path);
    return FALSE;
  }
  AVPacket *pkt = encode_png(img, error);
  if (pkt == NULL)
    return FALSE;
  gboolean ok = agf_atomic_write(path, "image", pkt->data,
                                 (gsize) pkt->size, error);
  av_packet_free(&pkt);
  return ok;
}

/* ---- device transfer ---------------------------------------------------- */

AgfTensor *
agf_image_upload(const AgfImage *img, AgfDevice *dev, GError **error)
{
  if (img == NULL || img->pixels == NULL || img->width <= 0 ||
      img->height <= 0 || (img->channels != 3 && img->channels != 4) ||
      img->stride < (size_t) img->width * img->channels) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT, "cannot upload "
                "an invalid image (it must be RGB or RGBA, at least 1 x 1)");
    return NULL;
  }
  int64_t shape[4] = { 1, img->height, img->width, img->channels };
  size_t row = (size_t) img->width * img->channels;
  if (img->stride == row)
    return agf_tensor_from_host(dev, AGF_U8, 4, shape, img->pixels, error);
  guint8 *packed = g_try_malloc(row * img->height);
  if (packed == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY, "no memory to "
                "pack a %d x %d image", img->width, img->height);
    return NULL;
  }
  for (int y = 0; y < img->height; y++)
    memcpy(packed + row * y, img->pixels + img->stride * y, row);
  AgfTensor *t = agf_tensor_from_host(dev, AGF_U8, 4, shape, packed, error);
  g_free(packed);
  return t;
}

AgfImage *
agf_image_download(const AgfTensor *t, GError **error)
{
  if (t == NULL || t->dtype != AGF_U8 || t->ndim != 4 || t->shape[0] != 1 ||
      (t->shape[3] != 3 && t->shape[3] != 4) || t->shape[1] > INT_MAX ||
      t->shape[2] > INT_MAX) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE, "only u8 [1, H, W, 3|4] "
                "tensors can be read back as an image");
    return NULL;
  }
  AgfImage *img = agf_image_new((int) t->shape[2], (int) t->shape[1],
                                (int) t->shape[3], error);
  if (img != NULL && !agf_tensor_read(t, img->pixels, error)) {
    agf_image_free(img);
    return NULL;
  }
  return img;
}
