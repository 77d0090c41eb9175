/* Decoded images: the one pixel type of the product, and still-image files.
 *
 * Decoding goes through libavcodec's image decoders (mjpeg, png, webp, bmp)
 * and libswscale, the same libraries that decode video and camera frames, so
 * there is one decoding path and one set of pixel conversions for every
 * source; gdk-pixbuf would add a second stack (and its WebP loader is a
 * separate package) for no gain. EXIF orientation (JPEG APP1, WebP EXIF
 * chunk) is read from the "Orientation" tag libav's EXIF parser puts in the
 * frame metadata (FFmpeg 5.1 also exports it as a display matrix, used when
 * the tag is missing) and applied to the pixels, so callers always get the
 * upright image.
 *
 * Decompression bombs: every decode checks the size declared by the file's
 * header against agf_media_get_pixel_limit() before any pixel is decoded. */
#pragma once
#include <glib.h>

#include "nn/device.h"
#include "nn/tensor.h"

G_BEGIN_DECLS

/* 8-bit RGB (channels 3) or RGBA (channels 4) pixels, rows top to bottom,
 * row r at pixels + r * stride. Loaders and decoders always return RGBA
 * with a tight stride (width * 4); alpha is 255 for opaque sources. */
typedef struct AgfImage {
  int width;
  int height;
  int channels;
  size_t stride;    /* bytes per row, >= width * channels */
  guint8 *pixels;
} AgfImage;

/* Default for the pixel limit: 100 megapixels (a 10000 x 10000 photo). */
#define AGF_MEDIA_DEFAULT_PIXEL_LIMIT ((guint64) 100 * 1000 * 1000)

/* Largest width * height any image, video or camera decode accepts; larger
 * ones fail with AGF_ERROR_UNSUPPORTED before decoding. Process-wide,
 * thread-safe. 0 restores the default. */
void agf_media_set_pixel_limit(guint64 max_pixels);
guint64 agf_media_get_pixel_limit(void);

/* New zeroed image, tight stride. channels: 3 or 4. */
AgfImage *agf_image_new(int width, int height, int channels, GError **error);
AgfImage *agf_image_copy(const AgfImage *img);
void agf_image_free(AgfImage *img);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfImage, agf_image_free)

/* JPEG, PNG, WebP or BMP (recognised by content, not by name) -> upright
 * RGBA. Errors: AGF_ERROR_IO (cannot read), AGF_ERROR_FORMAT (not an image
 * or corrupt/truncated), AGF_ERROR_UNSUPPORTED (other format, or above the
 * pixel limit). */
AgfImage *agf_image_load(const char *path, GError **error);
/* Same from memory; name is used in messages only (may be NULL). */
AgfImage *agf_image_load_data(const guint8 *data, gsize size,
                              const char *name, GError **error);

/* Writes an 8-bit RGB/RGBA PNG atomically: a temporary file next to path,
 * fsync, then rename over path, so readers never see a partial file. */
gboolean agf_image_save_png(const AgfImage *img, const char *path,
                            GError **error);

/* Uploads to dev as an AGF_U8 tensor [1, H, W, C], the input of
 * agf_image_to_tensor (which normalises it on the device). */
AgfTensor *agf_image_upload(const AgfImage *img, AgfDevice *dev,
                            GError **error);
/* The reverse for u8 [1, H, W, 3|4] tensors (e.g. agf_tensor_to_image). */
AgfImage *agf_image_download(const AgfTensor *t, GError **error);

G_END_DECLS
