/* Bounds-checked reading of FlatBuffers (the TFLite container): every
 * accessor checks the position against the buffer first and reports a
 * damaged file as an AGF_ERROR_FORMAT error naming the file. */
#pragma once
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct {
  const guint8 *b;
  size_t n;
  const char *path;
  GError **error;
} AgfFb;

typedef struct {
  size_t pos;     /* table start */
  size_t vt;      /* its vtable */
  guint16 vt_len; /* vtable bytes */
  guint16 len;    /* table bytes (inline fields) */
} AgfFbTable;

gboolean agf_fb_fail(AgfFb *fb, const char *what);
gboolean agf_fb_in_bounds(const AgfFb *fb, uint64_t pos, uint64_t len);
guint16 agf_fb_rd16(const AgfFb *fb, size_t p);
guint32 agf_fb_rd32(const AgfFb *fb, size_t p);
gboolean agf_fb_table(AgfFb *fb, uint64_t pos, AgfFbTable *t, const char *what);
/* Position of field i inside the table, 0 when absent. size is the inline
 * size of the field, which must lie inside the table. */
gboolean agf_fb_field(AgfFb *fb, const AgfFbTable *t, int i, size_t size,
                      size_t *out, const char *what);
gboolean agf_fb_u32(AgfFb *fb, const AgfFbTable *t, int i, guint32 def,
                    guint32 *v, const char *what);
gboolean agf_fb_u64(AgfFb *fb, const AgfFbTable *t, int i, guint64 *v,
                    const char *what);
gboolean agf_fb_i8(AgfFb *fb, const AgfFbTable *t, int i, gint8 *v,
                   const char *what);
/* Follows the offset in field i; *target = 0 when the field is absent. */
gboolean agf_fb_ref(AgfFb *fb, const AgfFbTable *t, int i, size_t *target,
                    const char *what);
/* Vector in field i: element count and first element; absent = empty. */
gboolean agf_fb_vec(AgfFb *fb, const AgfFbTable *t, int i, size_t elem,
                    guint32 *len, size_t *start, const char *what);
/* String in field i, NUL-terminated in the file and valid UTF-8; NULL when
 * absent. */
gboolean agf_fb_str(AgfFb *fb, const AgfFbTable *t, int i, const char **s,
                    const char *what);
/* Element k of a vector of tables. */
gboolean agf_fb_vec_table(AgfFb *fb, size_t start, guint32 k, AgfFbTable *t,
                          const char *what);

G_END_DECLS
