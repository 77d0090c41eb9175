/* Thumbnails of dataset items, decoded off the UI thread: an image file
 * scaled down, or for a video the first frame the trainer samples
 * (agf_video_sample_indices), so a video item shows the face its scores
 * are about rather than a black first frame. */
#pragma once
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/* The thumbnail of the file at path, its longest side size pixels (never
 * enlarged). Blocking: call it from a worker thread. Errors: the file
 * cannot be read or decoded (the message names it), G_IO_ERROR_CANCELLED. */
GdkPixbuf *agfas_thumbnail_load(const char *path, int size,
                                GCancellable *cancellable, GError **error);

G_END_DECLS
