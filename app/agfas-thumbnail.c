/* See agfas-thumbnail.h. */
#include "agfas-thumbnail.h"

#include "agfas-media-score.h"
#include "io/video.h"
#include "nn/error.h"

/* img scaled so its longest side is at most size. */
static GdkPixbuf *scaled(const AgfImage *img, int size)
{
  g_autoptr(GdkPixbuf) full = gdk_pixbuf_new_from_data(
    img->pixels, GDK_COLORSPACE_RGB, img->channels == 4, 8, img->width,
    img->height, (int)img->stride, NULL, NULL);
  double s = MIN(1.0, (double)size / MAX(img->width, img->height));
  int w = MAX(1, (int)(img->width * s + 0.5));
  int h = MAX(1, (int)(img->height * s + 0.5));
  /* A copy even at scale 1: full borrows img's pixels. */
  return gdk_pixbuf_scale_simple(full, w, h, GDK_INTERP_BILINEAR);
}

static GdkPixbuf *video_thumbnail(const char *path, int size,
                                  GCancellable *cancellable, GError **error)
{
  g_autoptr(AgfVideo) v = agf_video_open(path, error);
  if (!v)
    return NULL;
  int64_t idx[AGF_VIDEO_DEFAULT_SAMPLES];
  if (agf_video_sample_indices(agf_video_get_info(v)->n_frames,
                               AGF_VIDEO_DEFAULT_SAMPLES, idx) < 1) {
    g_autofree char *base = g_path_get_basename(path);
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "The video %s has no frames: check that it plays", base);
    return NULL;
  }
  g_autoptr(AgfImage) frame = agf_video_decode_frame(v, idx[0], cancellable,
                                                     error);
  return frame ? scaled(frame, size) : NULL;
}

GdkPixbuf *agfas_thumbnail_load(const char *path, int size,
                                GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail(path && size > 0, NULL);
  if (g_cancellable_set_error_if_cancelled(cancellable, error))
    return NULL;
  if (agfas_media_kind_of(path) == AGFAS_MEDIA_VIDEO)
    return video_thumbnail(path, size, cancellable, error);
  return gdk_pixbuf_new_from_file_at_scale(path, size, size, TRUE, error);
}
