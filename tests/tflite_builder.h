/* A forward FlatBuffers builder for TFLite models made in tests: tables
 * with up to 8 fields (each in an 8-byte slot), byte vectors, strings and
 * vectors of tables. Objects are emitted parent first, references patched
 * once the child is emitted (always forward offsets, as FlatBuffers
 * requires). Every object lives until tfl_builder_end(). */
#pragma once
#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

typedef struct TflObj TflObj;

void tfl_builder_begin(void);
void tfl_builder_end(void);

TflObj *tfl_table(void);
void tfl_set_u8(TflObj *t, int i, guint8 v);
void tfl_set_i32(TflObj *t, int i, gint32 v);
void tfl_set_u64(TflObj *t, int i, guint64 v);
void tfl_set_ref(TflObj *t, int i, TflObj *r);
/* count elements of elem bytes (not copied: data must outlive the build). */
TflObj *tfl_bytes(const void *data, guint32 count, size_t elem);
TflObj *tfl_str(const char *s);
/* A copy of n int32 values. */
TflObj *tfl_ints(int n, const gint32 *v);
/* A vector of at most 64 tables. */
TflObj *tfl_refs(int n, TflObj **items);
/* The file: 8-byte header (root offset, "TFL3") then root. */
GByteArray *tfl_finish(TflObj *root);
void tfl_align(GByteArray *b, guint a);
/* Where table o was emitted (after tfl_finish). */
size_t tfl_obj_pos(const TflObj *o);

G_END_DECLS
