/* The dataset manifest of the product: one record per media file (an input
 * manifest: what to prepare, with labels) or per face of a frame (what
 * `agfas-train prepare` writes; the trainer reads it, the app's labeling
 * writes it). Two encodings of the same records:
 *
 *  CSV   A header row naming the columns, then one row per record. RFC 4180
 *        quoting: a field holding a comma, a double quote, CR or LF (or
 *        leading/trailing spaces) is written in double quotes with inner
 *        quotes doubled; quoted fields may span lines. Rows end in LF when
 *        written; LF and CRLF are read; a UTF-8 BOM and blank lines are
 *        skipped. Every row has as many fields as the header.
 *  JSONL One JSON object per line (UTF-8); empty fields are left out.
 *
 * Columns (JSON keys), in the order they are written:
 *   path      the media file (image or video); relative paths are relative
 *             to the manifest's folder (agf_manifest_resolve)
 *   label     live | spoof | unsure, or empty (unlabeled). Read leniently:
 *             case-insensitive, real/genuine/bonafide -> live,
 *             fake/attack -> spoof; written as the three words
 *   attack    attack type, free text: none, print, replay, mask, other, ...
 *   subject   subject (identity) id          domain  dataset/domain name
 *   video     group id of frames of one capture (e.g. the video's path)
 *   split     train | val | test | ..., free text
 *   frame     frame index in the video (integer >= 0); empty for a still
 *   face      index of the face in the frame, 0 = largest (integer >= 0)
 *   box       face box x1 y1 x2 y2 (inclusive pixel bounds, pixel centres
 *             at integers); CSV: 4 numbers separated by spaces, JSON: an
 *             array of 4 numbers
 *   landmarks 5 points x y (left eye, right eye, nose, left and right
 *             mouth corner): 10 numbers, as box
 *   score     detection score
 *   crop      the aligned crop's image, relative to the manifest's folder
 *   source    where the record came from (the input manifest or folder)
 *   status    ok, or why the item has no crop: missing, unreadable,
 *             no_face, error
 *   error     the failure's message
 * Any other column is kept as it is (CSV: text; JSON: any value, written
 * back unchanged) and written after the known ones, so a round trip loses
 * nothing. A known column that is present in an input CSV stays in the
 * output CSV even when every row leaves it empty.
 *
 * Appending: AgfManifestJournal is an append-only JSONL file; each append
 * is one write() of whole lines followed by fdatasync(), so after a crash
 * the file holds every appended batch completely, plus at most one torn
 * last line, which opening it drops. */
#pragma once
#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define AGF_MANIFEST_N_LANDMARKS 5

typedef enum {
  AGF_MANIFEST_CSV,
  AGF_MANIFEST_JSONL,
} AgfManifestFormat;

typedef enum {
  AGF_LABEL_NONE,
  AGF_LABEL_LIVE,
  AGF_LABEL_SPOOF,
  AGF_LABEL_UNSURE,
} AgfLabel;

/* An unknown column: value is text, or (json TRUE, from JSONL only) the
 * JSON text of a number, boolean, null, array or object. */
typedef struct {
  char *key;
  char *value;
  gboolean json;
} AgfManifestExtra;

typedef struct {
  char *path;
  AgfLabel label;
  char *attack, *subject, *domain, *video, *split;
  int64_t frame;           /* -1: none */
  int face;                /* -1: none */
  gboolean has_box;
  float box[4];
  gboolean has_landmarks;
  float landmarks[AGF_MANIFEST_N_LANDMARKS][2];
  double score;            /* NAN: none */
  char *crop, *source, *status, *error;
  GArray *extra;           /* AgfManifestExtra in column order, or NULL */
} AgfManifestRecord;

/* Empty record (frame/face -1, score NAN). Strings are g_malloc'ed and
 * owned by the record. */
AgfManifestRecord *agf_manifest_record_new(void);
AgfManifestRecord *agf_manifest_record_copy(const AgfManifestRecord *r);
void agf_manifest_record_free(AgfManifestRecord *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfManifestRecord, agf_manifest_record_free)

/* An unknown column's value, NULL when absent. */
const char *agf_manifest_record_get_extra(const AgfManifestRecord *r,
                                          const char *key);
/* Sets (adds or replaces) an unknown column as text. key must not be a
 * known column name. */
void agf_manifest_record_set_extra(AgfManifestRecord *r, const char *key,
                                   const char *value);

const char *agf_label_name(AgfLabel label); /* "" for NONE */
/* Lenient parse (see above); FALSE for anything else. */
gboolean agf_label_parse(const char *s, AgfLabel *out);

/* One record as a JSON object on one line (no newline). */
char *agf_manifest_record_to_json(const AgfManifestRecord *r);
/* The reverse; errors are AGF_ERROR_FORMAT naming the offending key. */
AgfManifestRecord *agf_manifest_record_from_json(const char *text, gsize len,
                                                 GError **error);

typedef struct AgfManifest AgfManifest;

/* An empty manifest whose relative paths are relative to dir (NULL: the
 * current folder). */
AgfManifest *agf_manifest_new(const char *dir);
void agf_manifest_free(AgfManifest *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfManifest, agf_manifest_free)

/* Reads a manifest: JSONL when the name ends in .jsonl/.ndjson/.json, CSV
 * when it ends in .csv, otherwise JSONL if the first non-blank character
 * is '{', else CSV. Errors: AGF_ERROR_IO (cannot read), AGF_ERROR_FORMAT
 * with the file name and line number (bad quoting, wrong field count, no
 * path column, bad label or number, invalid JSON or UTF-8). */
AgfManifest *agf_manifest_load(const char *path, GError **error);
/* The same from memory; name is used in messages only. */
AgfManifest *agf_manifest_parse(const char *data, gsize len,
                                AgfManifestFormat format, const char *name,
                                const char *dir, GError **error);

/* Writes atomically: a temporary file next to path, fsync, rename over
 * path, fsync of the folder; on failure path is untouched and no
 * temporary file is left. */
gboolean agf_manifest_save(const AgfManifest *m, const char *path,
                           AgfManifestFormat format, GError **error);
/* The encoded text (what save writes). */
char *agf_manifest_to_string(const AgfManifest *m, AgfManifestFormat format,
                             gsize *len_out);

/* The format a file name asks for: CSV for .csv, JSONL otherwise. */
AgfManifestFormat agf_manifest_format_for(const char *path);

guint agf_manifest_len(const AgfManifest *m);
/* Record i, owned by the manifest. */
AgfManifestRecord *agf_manifest_get(const AgfManifest *m, guint i);
/* Appends r, taking ownership. */
void agf_manifest_add(AgfManifest *m, AgfManifestRecord *r);
/* Sorts the records with cmp (stable). */
void agf_manifest_sort(AgfManifest *m, GCompareDataFunc cmp, gpointer data);
/* The folder relative paths are relative to (absolute). */
const char *agf_manifest_dir(const AgfManifest *m);
/* rel as an absolute path: unchanged when absolute, else under the
 * manifest's folder. */
char *agf_manifest_resolve(const AgfManifest *m, const char *rel);

typedef struct AgfManifestJournal AgfManifestJournal;

/* Opens (creating it if needed) the journal at path for appending. When
 * records is not NULL it gets the records already in it, in order (a torn
 * last line, left by a crash mid-write, is dropped from the file). A
 * malformed complete line is an AGF_ERROR_FORMAT error with its number. */
AgfManifestJournal *agf_manifest_journal_open(const char *path,
                                              AgfManifest **records,
                                              GError **error);
/* Appends n records as one write() of n lines, then fdatasync(). Safe to
 * call from several threads. */
gboolean agf_manifest_journal_append(AgfManifestJournal *j,
                                     AgfManifestRecord *const *recs, guint n,
                                     GError **error);
void agf_manifest_journal_close(AgfManifestJournal *j);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfManifestJournal, agf_manifest_journal_close)

G_END_DECLS
