/* safetensors reader: map, validate the header completely, then hand out
 * views into the mapping. */
#include "io/safetensors.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "io/json_check.h"
#include "io/shape_fmt.h"
#include "nn/device.h"

#if G_BYTE_ORDER != G_LITTLE_ENDIAN
#error "safetensors data is little-endian; this reader copies it unswapped"
#endif

struct AgfSafetensors {
  char *path;
  GMappedFile *map;
  const guint8 *data; /* the data section, after the header */
  size_t data_len;
  AgfStTensor *tensors; /* sorted by name */
  int n_tensors;
  GHashTable *by_name;  /* name -> AgfStTensor* */
  GHashTable *metadata; /* string -> string */
};

static const struct {
  const char *name;
  size_t size;
} dtype_info[AGF_ST_DTYPE_COUNT] = {
    [AGF_ST_BOOL] = {"BOOL", 1},       [AGF_ST_U8] = {"U8", 1},
    [AGF_ST_I8] = {"I8", 1},           [AGF_ST_F8_E5M2] = {"F8_E5M2", 1},
    [AGF_ST_F8_E4M3] = {"F8_E4M3", 1}, [AGF_ST_F8_E8M0] = {"F8_E8M0", 1},
    [AGF_ST_I16] = {"I16", 2},         [AGF_ST_U16] = {"U16", 2},
    [AGF_ST_F16] = {"F16", 2},         [AGF_ST_BF16] = {"BF16", 2},
    [AGF_ST_I32] = {"I32", 4},         [AGF_ST_U32] = {"U32", 4},
    [AGF_ST_F32] = {"F32", 4},         [AGF_ST_F64] = {"F64", 8},
    [AGF_ST_I64] = {"I64", 8},         [AGF_ST_U64] = {"U64", 8},
};

const char *agf_st_dtype_name(AgfStDType dt) {
  if ((int)dt < 0 || dt >= AGF_ST_DTYPE_COUNT)
    return "?";
  return dtype_info[dt].name;
}

size_t agf_st_dtype_size(AgfStDType dt) {
  if ((int)dt < 0 || dt >= AGF_ST_DTYPE_COUNT)
    return 0;
  return dtype_info[dt].size;
}

gboolean agf_st_dtype_is_float(AgfStDType dt) {
  return dt == AGF_ST_F32 || dt == AGF_ST_F16 || dt == AGF_ST_BF16;
}

static gboolean dtype_from_name(const char *s, AgfStDType *out) {
  for (int i = 0; i < AGF_ST_DTYPE_COUNT; i++)
    if (strcmp(s, dtype_info[i].name) == 0) {
      *out = (AgfStDType)i;
      return TRUE;
    }
  return FALSE;
}

/* ---- header parsing ---- */

/* A non-negative JSON integer (json-glib keeps integers as int64; a float,
 * a string or an out-of-range number is rejected). */
static gboolean json_uint(JsonNode *n, uint64_t *out) {
  if (!n || !JSON_NODE_HOLDS_VALUE(n) ||
      json_node_get_value_type(n) != G_TYPE_INT64)
    return FALSE;
  gint64 v = json_node_get_int(n);
  if (v < 0)
    return FALSE;
  *out = (uint64_t)v;
  return TRUE;
}

static gboolean parse_metadata(AgfSafetensors *st, JsonNode *node,
                               GError **error) {
  if (JSON_NODE_HOLDS_NULL(node)) /* the reference reads null as "none" */
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT(node)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s: \"__metadata__\" must be a JSON object of "
                "strings; the file is damaged or was not written as "
                "safetensors",
                st->path);
    return FALSE;
  }
  JsonObjectIter it;
  const char *key;
  JsonNode *val;
  json_object_iter_init(&it, json_node_get_object(node));
  while (json_object_iter_next(&it, &key, &val)) {
    if (!JSON_NODE_HOLDS_VALUE(val) ||
        json_node_get_value_type(val) != G_TYPE_STRING) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "weights file %s: metadata entry \"%s\" is not a string; "
                  "safetensors metadata maps strings to strings",
                  st->path, key);
      return FALSE;
    }
    g_hash_table_insert(st->metadata, g_strdup(key),
                        g_strdup(json_node_get_string(val)));
  }
  return TRUE;
}

static gboolean parse_tensor(AgfSafetensors *st, const char *name,
                             JsonNode *node, AgfStTensor *t, uint64_t *begin,
                             uint64_t *end, GError **error) {
  const char *p = st->path;
  if (!JSON_NODE_HOLDS_OBJECT(node)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s: entry \"%s\" of the header is not an "
                "object with dtype, shape and data_offsets",
                p, name);
    return FALSE;
  }
  JsonObject *o = json_node_get_object(node);
  if (json_object_get_size(o) != 3 || !json_object_has_member(o, "dtype") ||
      !json_object_has_member(o, "shape") ||
      !json_object_has_member(o, "data_offsets")) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s: tensor \"%s\" must have exactly the "
                "members dtype, shape and data_offsets",
                p, name);
    return FALSE;
  }
  JsonNode *dn = json_object_get_member(o, "dtype");
  const char *ds =
      JSON_NODE_HOLDS_VALUE(dn) && json_node_get_value_type(dn) == G_TYPE_STRING
          ? json_node_get_string(dn)
          : NULL;
  if (!ds || !dtype_from_name(ds, &t->dtype)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s: tensor \"%s\" has an unknown dtype %s%s%s; "
                "safetensors dtypes are F32, F16, BF16, F64, I64, U8, ...",
                p, name, ds ? "\"" : "", ds ? ds : "(not a string)",
                ds ? "\"" : "");
    return FALSE;
  }
  JsonNode *sn = json_object_get_member(o, "shape");
  JsonArray *sa = JSON_NODE_HOLDS_ARRAY(sn) ? json_node_get_array(sn) : NULL;
  if (!sa || json_array_get_length(sa) > AGF_ST_MAX_DIMS) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s: tensor \"%s\" needs a shape array of at "
                "most %d non-negative integers",
                p, name, AGF_ST_MAX_DIMS);
    return FALSE;
  }
  t->ndim = (int)json_array_get_length(sa);
  uint64_t numel = 1;
  gboolean overflow = FALSE;
  for (int d = 0; d < t->ndim; d++) {
    uint64_t v;
    if (!json_uint(json_array_get_element(sa, (guint)d), &v)) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "weights file %s: dimension %d of tensor \"%s\" is not a "
                  "non-negative integer",
                  p, d, name);
      return FALSE;
    }
    t->shape[d] = (int64_t)v;
    overflow |= __builtin_mul_overflow(numel, v, &numel);
  }
  JsonNode *on = json_object_get_member(o, "data_offsets");
  JsonArray *oa = JSON_NODE_HOLDS_ARRAY(on) ? json_node_get_array(on) : NULL;
  if (!oa || json_array_get_length(oa) != 2 ||
      !json_uint(json_array_get_element(oa, 0), begin) ||
      !json_uint(json_array_get_element(oa, 1), end)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s: tensor \"%s\" needs data_offsets "
                "[begin, end] of two non-negative integers",
                p, name);
    return FALSE;
  }
  if (*end < *begin) {
    g_set_error(
        error, AGF_ERROR, AGF_ERROR_FORMAT,
        "weights file %s: tensor \"%s\" has data_offsets [%" G_GUINT64_FORMAT
        ", %" G_GUINT64_FORMAT "] that end before they begin; the "
        "file is damaged",
        p, name, *begin, *end);
    return FALSE;
  }
  uint64_t want;
  overflow |= __builtin_mul_overflow(
      numel, (uint64_t)agf_st_dtype_size(t->dtype), &want);
  if (overflow || want != *end - *begin) {
    char sh[256], need[32];
    agf_fmt_shape(t->ndim, t->shape, sh, sizeof sh);
    if (overflow)
      g_strlcpy(need, "more than 2^64", sizeof need);
    else
      g_snprintf(need, sizeof need, "%" G_GUINT64_FORMAT, want);
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s: tensor \"%s\" of shape %s and dtype %s "
                "needs %s bytes but its data_offsets [%" G_GUINT64_FORMAT
                ", %" G_GUINT64_FORMAT "] span %" G_GUINT64_FORMAT
                "; the header is inconsistent",
                p, name, sh, agf_st_dtype_name(t->dtype), need, *begin, *end,
                *end - *begin);
    return FALSE;
  }
  if (*end > st->data_len) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s is truncated or damaged: tensor \"%s\" ends "
                "at byte %" G_GUINT64_FORMAT " of the data section, which has "
                "only %zu bytes; copy or export the file again",
                p, name, *end, st->data_len);
    return FALSE;
  }
  t->numel = (int64_t)numel;
  t->data = st->data + *begin;
  t->nbytes = (size_t)want;
  return TRUE;
}

typedef struct {
  uint64_t begin, end;
  int index;
} Span;

static int span_cmp(const void *a, const void *b) {
  const Span *x = a, *y = b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return 0;
}

static int tensor_name_cmp(const void *a, const void *b) {
  return strcmp(((const AgfStTensor *)a)->name, ((const AgfStTensor *)b)->name);
}

/* The reference rules: sorted by offset, the tensors tile the data section
 * exactly. Anything else is a damaged or hand-crafted (polyglot) file. */
static gboolean check_layout(AgfSafetensors *st, Span *spans, GError **error) {
  qsort(spans, (size_t)st->n_tensors, sizeof *spans, span_cmp);
  uint64_t pos = 0;
  for (int i = 0; i < st->n_tensors; i++) {
    const Span *s = &spans[i];
    if (s->begin < pos) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "weights file %s: tensors \"%s\" and \"%s\" overlap in "
                  "the data section; the file is damaged",
                  st->path, st->tensors[spans[i - 1].index].name,
                  st->tensors[s->index].name);
      return FALSE;
    }
    if (s->begin > pos) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "weights file %s: %" G_GUINT64_FORMAT " bytes before "
                  "tensor \"%s\" belong to no tensor; safetensors files have "
                  "no holes, the file is damaged",
                  st->path, s->begin - pos, st->tensors[s->index].name);
      return FALSE;
    }
    pos = s->end;
  }
  if (pos != st->data_len) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s: %" G_GUINT64_FORMAT " bytes after the last "
                "tensor belong to no tensor; the file is damaged",
                st->path, (uint64_t)st->data_len - pos);
    return FALSE;
  }
  return TRUE;
}

static gboolean parse_header(AgfSafetensors *st, const char *json, size_t len,
                             GError **error) {
  if (len < 2 || json[0] != '{' || memchr(json, '\0', len) ||
      !g_utf8_validate(json, (gssize)len, NULL)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s is not a safetensors file: its header is not a UTF-8 "
                "JSON object",
                st->path);
    return FALSE;
  }
  const char *why;
  size_t at;
  if (!agf_json_check(json, len, 8, &why, &at)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s has a malformed JSON header (%s at byte "
                "%zu); the file is damaged or not a safetensors file",
                st->path, why, at);
    return FALSE;
  }
  g_autoptr(JsonParser) parser = json_parser_new_immutable();
  g_autoptr(GError) jerr = NULL;
  if (!json_parser_load_from_data(parser, json, (gssize)len, &jerr)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s has a malformed JSON header (%s); the file "
                "is damaged or not a safetensors file",
                st->path, jerr->message);
    return FALSE;
  }
  JsonNode *root = json_parser_get_root(parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s is not a safetensors file: its header is not a JSON object",
                st->path);
    return FALSE;
  }
  JsonObject *obj = json_node_get_object(root);
  guint n = json_object_get_size(obj);
  st->tensors = g_new0(AgfStTensor, n ? n : 1);
  g_autofree Span *spans = g_new0(Span, n ? n : 1);

  JsonObjectIter it;
  const char *name;
  JsonNode *node;
  json_object_iter_init(&it, obj);
  while (json_object_iter_next(&it, &name, &node)) {
    if (strcmp(name, "__metadata__") == 0) {
      if (!parse_metadata(st, node, error))
        return FALSE;
      continue;
    }
    int i = st->n_tensors;
    AgfStTensor *t = &st->tensors[i];
    if (!parse_tensor(st, name, node, t, &spans[i].begin, &spans[i].end, error))
      return FALSE;
    t->name = g_strdup(name);
    spans[i].index = i;
    st->n_tensors++;
  }
  if (!check_layout(st, spans, error))
    return FALSE;
  /* Pointers into tensors[] are taken only after this final sort. */
  qsort(st->tensors, (size_t)st->n_tensors, sizeof *st->tensors,
        tensor_name_cmp);
  for (int i = 0; i < st->n_tensors; i++)
    g_hash_table_insert(st->by_name, (gpointer)st->tensors[i].name,
                        &st->tensors[i]);
  return TRUE;
}

AgfSafetensors *agf_safetensors_open(const char *path, GError **error) {
  g_return_val_if_fail(path != NULL, NULL);
  AgfSafetensors *st = g_new0(AgfSafetensors, 1);
  st->path = g_strdup(path);
  st->by_name = g_hash_table_new(g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

  g_autoptr(GError) ferr = NULL;
  st->map = g_mapped_file_new(path, FALSE, &ferr);
  if (!st->map) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot open weights file: %s",
                ferr->message);
    goto fail;
  }
  size_t len = g_mapped_file_get_length(st->map);
  const guint8 *bytes = (const guint8 *)g_mapped_file_get_contents(st->map);
  if (len < 8) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s is not a safetensors file: it has only %zu bytes, less "
                "than the 8-byte header length",
                path, len);
    goto fail;
  }
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | bytes[i];
  if (hlen > AGF_ST_MAX_HEADER) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s is not a safetensors file (or is damaged): its header "
                "length %" G_GUINT64_FORMAT " exceeds the 100 MB limit",
                path, hlen);
    goto fail;
  }
  if (hlen > len - 8) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s is truncated or not a safetensors file: its header "
                "length is %" G_GUINT64_FORMAT " bytes but only %zu bytes "
                "follow",
                path, hlen, len - 8);
    goto fail;
  }
  st->data = bytes + 8 + hlen;
  st->data_len = len - 8 - (size_t)hlen;
  if (!parse_header(st, (const char *)bytes + 8, (size_t)hlen, error))
    goto fail;
  return st;

fail:
  agf_safetensors_close(st);
  return NULL;
}

void agf_safetensors_close(AgfSafetensors *st) {
  if (!st)
    return;
  for (int i = 0; i < st->n_tensors; i++)
    g_free((char *)st->tensors[i].name);
  g_free(st->tensors);
  g_hash_table_unref(st->by_name);
  g_hash_table_unref(st->metadata);
  if (st->map)
    g_mapped_file_unref(st->map);
  g_free(st->path);
  g_free(st);
}

/* ---- lookup ---- */

const char *agf_safetensors_path(const AgfSafetensors *st) {
  return st->path;
}

int agf_safetensors_n_tensors(const AgfSafetensors *st) {
  return st->n_tensors;
}

const AgfStTensor *agf_safetensors_tensor_at(const AgfSafetensors *st, int i) {
  g_return_val_if_fail(i >= 0 && i < st->n_tensors, NULL);
  return &st->tensors[i];
}

const AgfStTensor *agf_safetensors_find(const AgfSafetensors *st,
                                        const char *name) {
  return g_hash_table_lookup(st->by_name, name);
}

const AgfStTensor *agf_safetensors_get(const AgfSafetensors *st,
                                       const char *name, GError **error) {
  const AgfStTensor *t = agf_safetensors_find(st, name);
  if (!t)
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s has no tensor %s; check that the file "
                "belongs to this network (list its tensors to compare)",
                st->path, name);
  return t;
}

const AgfStTensor *agf_safetensors_expect(const AgfSafetensors *st,
                                          const char *name, AgfStDType want,
                                          int ndim, const int64_t *shape,
                                          GError **error) {
  const AgfStTensor *t = agf_safetensors_get(st, name, error);
  if (!t)
    return NULL;
  if (want != AGF_ST_ANY_DTYPE && t->dtype != want) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
                "tensor %s in %s has dtype %s but the model expects %s", name,
                st->path, agf_st_dtype_name(t->dtype), agf_st_dtype_name(want));
    return NULL;
  }
  if (shape && !agf_shape_equal(t->ndim, t->shape, ndim, shape)) {
    char have[256], exp[256];
    agf_fmt_shape(t->ndim, t->shape, have, sizeof have);
    agf_fmt_shape(ndim, shape, exp, sizeof exp);
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "tensor %s in %s has shape %s but the model expects %s; the "
                "weights were made for a different configuration",
                name, st->path, have, exp);
    return NULL;
  }
  return t;
}

GHashTable *agf_safetensors_metadata(const AgfSafetensors *st) {
  return st->metadata;
}

const char *agf_safetensors_meta(const AgfSafetensors *st, const char *key) {
  return g_hash_table_lookup(st->metadata, key);
}

/* ---- conversion and upload ---- */

static gboolean check_float(const AgfStTensor *t, const char *path,
                            GError **error) {
  if (agf_st_dtype_is_float(t->dtype))
    return TRUE;
  g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
              "tensor %s%s%s has dtype %s; only F32, F16 and BF16 tensors can "
              "be loaded as weights (convert the checkpoint to a float dtype)",
              t->name, path ? " in " : "", path ? path : "",
              agf_st_dtype_name(t->dtype));
  return FALSE;
}

static float bf16_to_f32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

gboolean agf_st_tensor_to_f32(const AgfStTensor *t, float *dst,
                              GError **error) {
  if (!check_float(t, NULL, error))
    return FALSE;
  const guint8 *src = t->data;
  if (t->dtype == AGF_ST_F32) {
    memcpy(dst, src, t->nbytes);
    return TRUE;
  }
  for (int64_t i = 0; i < t->numel; i++) {
    uint16_t h;
    memcpy(&h, src + 2 * i, sizeof h);
    dst[i] = t->dtype == AGF_ST_F16 ? agf_f16_to_f32(h) : bf16_to_f32(h);
  }
  return TRUE;
}

static void *alloc_elems(const AgfStTensor *t, size_t elem, GError **error) {
  size_t n = (size_t)t->numel * elem;
  void *p = g_try_malloc(n ? n : 1);
  if (!p)
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY,
                "out of host memory converting tensor %s (%zu bytes)", t->name,
                n);
  return p;
}

float *agf_safetensors_read_f32(const AgfSafetensors *st, const char *name,
                                int ndim, const int64_t *shape,
                                GError **error) {
  const AgfStTensor *t =
      agf_safetensors_expect(st, name, AGF_ST_ANY_DTYPE, ndim, shape, error);
  if (!t || !check_float(t, st->path, error))
    return NULL;
  float *dst = alloc_elems(t, sizeof(float), error);
  if (dst)
    agf_st_tensor_to_f32(t, dst, NULL);
  return dst;
}

AgfTensor *agf_safetensors_load(const AgfSafetensors *st, AgfDevice *dev,
                                const char *name, AgfDType dt, int ndim,
                                const int64_t *shape, GError **error) {
  if (dt != AGF_F32 && dt != AGF_F16) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "weights load as f32 or f16, not %s (tensor %s)",
                agf_dtype_name(dt), name);
    return NULL;
  }
  const AgfStTensor *t =
      agf_safetensors_expect(st, name, AGF_ST_ANY_DTYPE, ndim, shape, error);
  if (!t || !check_float(t, st->path, error))
    return NULL;
  if (t->ndim > AGF_MAX_DIMS) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "tensor %s in %s has %d dimensions; engine tensors have at "
                "most %d",
                name, st->path, t->ndim, AGF_MAX_DIMS);
    return NULL;
  }
  int n = t->ndim ? t->ndim : 1;
  int64_t shp[AGF_MAX_DIMS] = {1};
  for (int d = 0; d < t->ndim; d++)
    shp[d] = t->shape[d];

  /* Same dtype: upload straight from the mapping, no host copy. */
  if ((dt == AGF_F32 && t->dtype == AGF_ST_F32) ||
      (dt == AGF_F16 && t->dtype == AGF_ST_F16))
    return agf_tensor_from_host(dev, dt, n, shp, t->data, error);

  if (dt == AGF_F32) {
    g_autofree float *f = alloc_elems(t, sizeof(float), error);
    if (!f)
      return NULL;
    agf_st_tensor_to_f32(t, f, NULL);
    return agf_tensor_from_host(dev, AGF_F32, n, shp, f, error);
  }
  /* To f16 from F32 or BF16, element by element to keep one buffer. */
  g_autofree uint16_t *h = alloc_elems(t, sizeof(uint16_t), error);
  if (!h)
    return NULL;
  const guint8 *src = t->data;
  for (int64_t i = 0; i < t->numel; i++) {
    float f;
    if (t->dtype == AGF_ST_F32) {
      memcpy(&f, src + 4 * i, sizeof f);
    } else {
      uint16_t b;
      memcpy(&b, src + 2 * i, sizeof b);
      f = bf16_to_f32(b);
    }
    h[i] = agf_f32_to_f16(f);
  }
  return agf_tensor_from_host(dev, AGF_F16, n, shp, h, error);
}
