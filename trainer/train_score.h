/* agfas-train score, shared between its files: the scores table (an
 * AgfManifest written as CSV or JSONL) and its rows. */
#pragma once
#include <glib.h>
#include "io/manifest.h"
#include "pipeline/face_detect.h"

G_BEGIN_DECLS

/* Row status values (the manifest's status column), as prepare's. */
#define AGF_SCORE_OK "ok"
#define AGF_SCORE_NO_FACE "no_face"
#define AGF_SCORE_UNREADABLE "unreadable"
#define AGF_SCORE_MISSING "missing"
#define AGF_SCORE_ERROR "error"

/* A new row for frame (-1: a still or the whole file) of the file whose
 * carried columns are meta: the input manifest's label, attack, subject,
 * domain, video, split and extra columns; the prepare columns (face, box,
 * landmarks, score, crop, status, error) are dropped. A video frame gets
 * video = path when meta has none, so eval averages per video. The box,
 * verdict and note columns are set empty, in a fixed order. */
AgfManifestRecord *agf_score_row_new(const AgfManifestRecord *meta,
                                     gint64 frame, const char *status,
                                     const char *note);
/* Fills a row's box from face and its score and verdict (spoof when
 * score >= threshold). */
void agf_score_row_set(AgfManifestRecord *r, const AgfFace *face,
                       double score, double threshold);

/* The table at path to continue (resume) or a new, empty one (its folder
 * created); an existing file without resume is an error saying so. */
AgfManifest *agf_score_open_table(const char *path, gboolean resume,
                                  GError **error);

/* "path\nframe": the key a row is resumed by. */
char *agf_score_key(const char *path, gint64 frame);
/* The keys of every row of m. */
GHashTable *agf_score_done_set(const AgfManifest *m);

/* Sorts m's rows into the run's order: rows of files not in order (from
 * an earlier run over other paths) first, as they were, then by the
 * file's position (order: path -> index + 1) and frame. */
void agf_score_sort(AgfManifest *m, GHashTable *order);

G_END_DECLS
