/* What the manifest sources share: the column table and record field text
 * (manifest.c), one parser and writer per format (manifest_csv.c,
 * manifest_jsonl.c), and the durable-write helpers the journal
 * (manifest_journal.c) also needs. Not installed API. */
#pragma once
#include "io/manifest.h"

G_BEGIN_DECLS

/* The known columns, in the order CSV headers and JSON objects list them. */
enum {
  C_PATH, C_LABEL, C_ATTACK, C_SUBJECT, C_DOMAIN, C_VIDEO, C_SPLIT, C_FRAME,
  C_FACE, C_BOX, C_LANDMARKS, C_SCORE, C_CROP, C_SOURCE, C_STATUS, C_ERROR,
  C_COUNT
};

extern const char *const _agf_manifest_col_names[C_COUNT];

struct AgfManifest {
  GPtrArray *records;
  char *dir;
  guint known_cols;      /* bit c: column c was in the loaded CSV header */
  GPtrArray *extra_cols; /* unknown columns of the loaded header, in order */
};

/* The column named name, -1 for an unknown one (an extra). */
int _agf_manifest_col_of(const char *name);
/* The string member of column c, NULL for the typed columns. */
char **_agf_manifest_str_field(AgfManifestRecord *r, int c);
/* Adds or replaces extra key; json: value is raw JSON, not a string. */
void _agf_manifest_set_extra(AgfManifestRecord *r, const char *key,
                             const char *value, gboolean json);
/* The text of typed column c, NULL when empty; sep between numbers. */
char *_agf_manifest_typed_text(const AgfManifestRecord *r, int c,
                               const char *sep);
/* Sets known column c from text (non-empty). */
gboolean _agf_manifest_set_from_text(AgfManifestRecord *r, int c,
                                     const char *text, GError **error);

/* Parsers append to m (already UTF-8 checked); name is for messages.
 * Writers append the whole manifest to s. */
gboolean _agf_manifest_parse_csv(AgfManifest *m, const char *data, gsize len,
                                 const char *name, GError **error);
void _agf_manifest_to_csv(const AgfManifest *m, GString *s);
gboolean _agf_manifest_parse_jsonl(AgfManifest *m, const char *data,
                                   gsize len, const char *name,
                                   GError **error);
void _agf_manifest_to_jsonl(const AgfManifest *m, GString *s);


G_END_DECLS
