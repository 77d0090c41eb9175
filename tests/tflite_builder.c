/* A forward FlatBuffers builder for making TFLite models in tests (moved
 * from test_tflite.c, which it was written for; test_cli.c builds a tiny
 * P-Net with it).
 *
 * Objects are emitted parent first; a reference is a u32 placeholder
 * patched once the child is emitted later (so always a forward offset,
 * as FlatBuffers requires). Each table field gets an 8-byte slot. */
#include <string.h>
#include "tflite_builder.h"

typedef enum { F_NONE, F_U8, F_I32, F_U64, F_REF } FKind;
typedef struct {
  FKind kind;
  guint64 v;
  TflObj *ref;
} Field;
struct TflObj {
  enum { O_TABLE, O_BYTES, O_REFS } kind;
  Field f[8]; /* O_TABLE */
  int nf;
  const void *bytes; /* O_BYTES: u32 count then count * elem bytes */
  guint32 count;
  size_t elem;
  gboolean nul;   /* strings end with a NUL */
  TflObj *items[64]; /* O_REFS */
  size_t pos;     /* where a table was emitted */
};

static GPtrArray *pool; /* every TflObj, freed at exit */

static TflObj *obj(void) {
  TflObj *o = g_new0(TflObj, 1);
  g_ptr_array_add(pool, o);
  return o;
}

TflObj *tfl_table(void) {
  return obj();
}
void tfl_set_u8(TflObj *t, int i, guint8 v) {
  t->f[i] = (Field){F_U8, v, NULL};
  t->nf = MAX(t->nf, i + 1);
}
void tfl_set_i32(TflObj *t, int i, gint32 v) {
  t->f[i] = (Field){F_I32, (guint32)v, NULL};
  t->nf = MAX(t->nf, i + 1);
}
void tfl_set_u64(TflObj *t, int i, guint64 v) {
  t->f[i] = (Field){F_U64, v, NULL};
  t->nf = MAX(t->nf, i + 1);
}
void tfl_set_ref(TflObj *t, int i, TflObj *r) {
  t->f[i] = (Field){F_REF, 0, r};
  t->nf = MAX(t->nf, i + 1);
}

TflObj *tfl_bytes(const void *data, guint32 count, size_t elem) {
  TflObj *o = obj();
  o->kind = O_BYTES;
  o->bytes = data;
  o->count = count;
  o->elem = elem;
  return o;
}

TflObj *tfl_str(const char *s) {
  TflObj *o = tfl_bytes(s, (guint32)strlen(s), 1);
  o->nul = TRUE;
  return o;
}

TflObj *tfl_ints(int n, const gint32 *v) {
  gint32 *copy = g_memdup2(v, sizeof(gint32) * (size_t)(n ? n : 1));
  g_ptr_array_add(pool, copy); /* freed with the objects */
  return tfl_bytes(copy, (guint32)n, 4);
}

TflObj *tfl_refs(int n, TflObj **items) {
  TflObj *o = obj();
  o->kind = O_REFS;
  o->count = (guint32)n;
  memcpy(o->items, items, sizeof(TflObj *) * (size_t)n);
  return o;
}

void tfl_align(GByteArray *b, guint a) {
  static const guint8 zero[16];
  if (b->len % a)
    g_byte_array_append(b, zero, a - b->len % a);
}

static void put32(GByteArray *b, size_t at, guint32 v) {
  memcpy(b->data + at, &v, 4);
}

static void emit(GByteArray *b, TflObj *o, size_t patch_at);

static void emit_child(GByteArray *b, TflObj *child, size_t placeholder) {
  emit(b, child, placeholder);
}

/* Emits o at the end of b and patches the u32 at patch_at to point at it. */
static void emit(GByteArray *b, TflObj *o, size_t patch_at) {
  static const guint8 zero[8];
  if (o->kind == O_TABLE) {
    tfl_align(b, 2);
    size_t vt = b->len;
    guint16 hdr[2] = {(guint16)(4 + 2 * o->nf), (guint16)(8 + 8 * o->nf)};
    g_byte_array_append(b, (guint8 *)hdr, 4);
    for (int i = 0; i < o->nf; i++) {
      guint16 off = o->f[i].kind == F_NONE ? 0 : (guint16)(8 + 8 * i);
      g_byte_array_append(b, (guint8 *)&off, 2);
    }
    tfl_align(b, 8);
    size_t pos = o->pos = b->len;
    gint32 soff = (gint32)(pos - vt);
    g_byte_array_append(b, (guint8 *)&soff, 4);
    g_byte_array_append(b, zero, 4);
    for (int i = 0; i < o->nf; i++) {
      guint8 slot[8] = {0};
      memcpy(slot, &o->f[i].v, 8);
      g_byte_array_append(b, slot, 8);
    }
    put32(b, patch_at, (guint32)(pos - patch_at));
    for (int i = 0; i < o->nf; i++)
      if (o->f[i].kind == F_REF)
        emit_child(b, o->f[i].ref, pos + 8 + 8 * (size_t)i);
  } else if (o->kind == O_BYTES) {
    tfl_align(b, 16);
    g_byte_array_append(b, zero, 8); /* data 16-aligned after the count, */
    g_byte_array_append(b, zero, 4); /* as flatc aligns buffers */
    size_t pos = b->len - 4;
    put32(b, pos, o->count);
    g_byte_array_append(b, o->bytes, (guint)(o->count * o->elem));
    if (o->nul)
      g_byte_array_append(b, zero, 1);
    put32(b, patch_at, (guint32)(pos - patch_at));
  } else {
    tfl_align(b, 4);
    size_t pos = b->len;
    g_byte_array_append(b, (guint8 *)&o->count, 4);
    for (guint32 i = 0; i < o->count; i++)
      g_byte_array_append(b, zero, 4);
    put32(b, patch_at, (guint32)(pos - patch_at));
    for (guint32 i = 0; i < o->count; i++)
      emit_child(b, o->items[i], pos + 4 + 4 * (size_t)i);
  }
}

GByteArray *tfl_finish(TflObj *root) {
  GByteArray *b = g_byte_array_new();
  guint8 head[8] = {0, 0, 0, 0, 'T', 'F', 'L', '3'};
  g_byte_array_append(b, head, 8);
  emit(b, root, 0);
  return b;
}


void tfl_builder_begin(void)
{
  pool = g_ptr_array_new_with_free_func(g_free);
}

void tfl_builder_end(void)
{
  g_clear_pointer(&pool, g_ptr_array_unref);
}

size_t tfl_obj_pos(const TflObj *o)
{
  return o->pos;
}
