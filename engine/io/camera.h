/* Live cameras: V4L2 capture devices (/dev/video*) through libavdevice.
 * Frames come back as upright RGBA AgfImages, like files. */
#pragma once
#include <gio/gio.h>

#include "io/image.h"

G_BEGIN_DECLS

typedef struct {
  char *path;   /* "/dev/video0" */
  char *name;   /* the driver's card name, e.g. "Integrated Camera" */
} AgfCameraInfo;

void agf_camera_info_free(AgfCameraInfo *info);

/* Capture-capable devices (metadata nodes are left out). Never fails: no
 * camera, no /dev/video* or no V4L2 support gives an empty array.
 * Elements are AgfCameraInfo*, freed with the array. */
GPtrArray *agf_camera_list(void);

typedef struct AgfCamera AgfCamera;

/* Opens a device; width/height/fps 0 take the driver's defaults.
 * Errors: AGF_ERROR_IO (no such device, busy, permission),
 * AGF_ERROR_UNSUPPORTED (no V4L2 in this FFmpeg, pixel format without a
 * decoder, above the pixel limit). */
AgfCamera *agf_camera_open(const char *path, int width, int height,
                           double fps, GError **error);
void agf_camera_close(AgfCamera *cam);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfCamera, agf_camera_close)

/* Size of the frames grab returns. */
void agf_camera_get_size(const AgfCamera *cam, int *width, int *height);

/* Waits for the next frame (at most 5 s, or until cancelled: then
 * G_IO_ERROR_CANCELLED). */
AgfImage *agf_camera_grab(AgfCamera *cam, GCancellable *cancellable,
                          GError **error);

G_END_DECLS
