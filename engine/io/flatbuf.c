/* FlatBuffers primitives: tables via their vtables, scalar fields,
 * offsets, vectors and strings, each checked before it is read. */
#include "io/flatbuf.h"

#include <string.h>

#include "nn/error.h"

#if G_BYTE_ORDER != G_LITTLE_ENDIAN
#error "FlatBuffers are little-endian; these readers copy them unswapped"
#endif

gboolean agf_fb_fail(AgfFb *fb, const char *what) {
  g_set_error(fb->error, AGF_ERROR, AGF_ERROR_FORMAT,
              "%s is damaged or not a TFLite model: %s; use the original "
              ".tflite file",
              fb->path, what);
  return FALSE;
}

gboolean agf_fb_in_bounds(const AgfFb *fb, uint64_t pos, uint64_t len) {
  return pos <= fb->n && len <= fb->n - pos;
}

guint16 agf_fb_rd16(const AgfFb *fb, size_t p) {
  guint16 v;
  memcpy(&v, fb->b + p, 2);
  return v;
}

guint32 agf_fb_rd32(const AgfFb *fb, size_t p) {
  guint32 v;
  memcpy(&v, fb->b + p, 4);
  return v;
}

gboolean agf_fb_table(AgfFb *fb, uint64_t pos, AgfFbTable *t,
                      const char *what) {
  if (!agf_fb_in_bounds(fb, pos, 4))
    return agf_fb_fail(fb, what);
  int64_t vt = (int64_t)pos - (int32_t)agf_fb_rd32(fb, (size_t)pos);
  if (vt < 0 || !agf_fb_in_bounds(fb, (uint64_t)vt, 4))
    return agf_fb_fail(fb, what);
  t->pos = (size_t)pos;
  t->vt = (size_t)vt;
  t->vt_len = agf_fb_rd16(fb, t->vt);
  t->len = agf_fb_rd16(fb, t->vt + 2);
  if (t->vt_len < 4 || t->vt_len % 2 ||
      !agf_fb_in_bounds(fb, t->vt, t->vt_len) || t->len < 4 ||
      !agf_fb_in_bounds(fb, pos, t->len))
    return agf_fb_fail(fb, what);
  return TRUE;
}

/* Position of field i inside the table, 0 when absent. size is the inline
 * size of the field, which must lie inside the table. */
gboolean agf_fb_field(AgfFb *fb, const AgfFbTable *t, int i, size_t size,
                      size_t *out, const char *what) {
  *out = 0;
  size_t slot = 4 + 2 * (size_t)i;
  if (slot + 2 > t->vt_len)
    return TRUE;
  guint16 off = agf_fb_rd16(fb, t->vt + slot);
  if (!off)
    return TRUE;
  if ((size_t)off + size > t->len)
    return agf_fb_fail(fb, what);
  *out = t->pos + off;
  return TRUE;
}

gboolean agf_fb_u32(AgfFb *fb, const AgfFbTable *t, int i, guint32 def,
                    guint32 *v, const char *what) {
  size_t p;
  if (!agf_fb_field(fb, t, i, 4, &p, what))
    return FALSE;
  *v = p ? agf_fb_rd32(fb, p) : def;
  return TRUE;
}

gboolean agf_fb_u64(AgfFb *fb, const AgfFbTable *t, int i, guint64 *v,
                    const char *what) {
  size_t p;
  if (!agf_fb_field(fb, t, i, 8, &p, what))
    return FALSE;
  *v = 0;
  if (p)
    memcpy(v, fb->b + p, 8);
  return TRUE;
}

gboolean agf_fb_i8(AgfFb *fb, const AgfFbTable *t, int i, gint8 *v,
                   const char *what) {
  size_t p;
  if (!agf_fb_field(fb, t, i, 1, &p, what))
    return FALSE;
  *v = p ? (gint8)fb->b[p] : 0;
  return TRUE;
}

/* Follows the offset in field i; *target = 0 when the field is absent. */
gboolean agf_fb_ref(AgfFb *fb, const AgfFbTable *t, int i, size_t *target,
                    const char *what) {
  size_t p;
  if (!agf_fb_field(fb, t, i, 4, &p, what))
    return FALSE;
  *target = 0;
  if (!p)
    return TRUE;
  uint64_t tgt = (uint64_t)p + agf_fb_rd32(fb, p);
  if (!agf_fb_in_bounds(fb, tgt, 4))
    return agf_fb_fail(fb, what);
  *target = (size_t)tgt;
  return TRUE;
}

/* Vector in field i: element count and first element; absent = empty. */
gboolean agf_fb_vec(AgfFb *fb, const AgfFbTable *t, int i, size_t elem,
                    guint32 *len, size_t *start, const char *what) {
  size_t v;
  *len = 0;
  *start = 0;
  if (!agf_fb_ref(fb, t, i, &v, what))
    return FALSE;
  if (!v)
    return TRUE;
  guint32 n = agf_fb_rd32(fb, v);
  if (!agf_fb_in_bounds(fb, (uint64_t)v + 4, (uint64_t)n * elem))
    return agf_fb_fail(fb, what);
  *len = n;
  *start = v + 4;
  return TRUE;
}

/* String in field i, NUL-terminated in the file and valid UTF-8; NULL when
 * absent. */
gboolean agf_fb_str(AgfFb *fb, const AgfFbTable *t, int i, const char **s,
                    const char *what) {
  guint32 n;
  size_t start;
  *s = NULL;
  if (!agf_fb_vec(fb, t, i, 1, &n, &start, what))
    return FALSE;
  if (!start)
    return TRUE;
  const char *c = (const char *)fb->b + start;
  if (!agf_fb_in_bounds(fb, start, (uint64_t)n + 1) || c[n] != '\0' ||
      memchr(c, '\0', n) || !g_utf8_validate(c, n, NULL))
    return agf_fb_fail(fb, what);
  *s = c;
  return TRUE;
}

/* Element k of a vector of tables. */
gboolean agf_fb_vec_table(AgfFb *fb, size_t start, guint32 k, AgfFbTable *t,
                          const char *what) {
  size_t e = start + 4 * (size_t)k;
  return agf_fb_table(fb, (uint64_t)e + agf_fb_rd32(fb, e), t, what);
}
