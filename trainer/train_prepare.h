/* agfas-train prepare, shared between its files: the work items (one per
 * media file) the SRC arguments expand to. */
#pragma once
#include <glib.h>
#include "io/manifest.h"

G_BEGIN_DECLS

typedef enum {
  AGF_MEDIA_IMAGE,
  AGF_MEDIA_VIDEO,
  AGF_MEDIA_GUESS, /* unknown extension: tried as an image, then a video */
} AgfMediaKind;

typedef struct {
  char *path;              /* absolute */
  AgfMediaKind kind;
  guint index;             /* position in the run (output order) */
  AgfManifestRecord *meta; /* carried columns: path (absolute), label,
                              attack, subject, ..., source, extras */
} AgfPrepItem;

/* Expands SRC arguments (folders walked recursively for image and video
 * extensions, media files, CSV/JSONL manifests whose columns are carried
 * over) into items, in argument order, each path once. skip_dir (the
 * output's crops folder; may be NULL) is never walked into. *duplicates
 * gets how many repeated paths were dropped. Errors: a SRC that does not exist or
 * a manifest that does not parse. */
GPtrArray *agf_prep_collect(char **srcs, const char *skip_dir,
                            guint *duplicates, GError **error);

/* The kind a file name's extension says (AGF_MEDIA_GUESS when unknown). */
AgfMediaKind agf_prep_kind_of(const char *path);

G_END_DECLS
