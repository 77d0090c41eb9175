/* safetensors writer. The layout follows the reference implementation so
 * that Python reads our files and our output matches its own: data ordered
 * by dtype (descending, which keeps every tensor aligned to its element
 * size) then name; compact JSON with "__metadata__" first and the tensors
 * in data order; the header padded with spaces to a multiple of 8. */
#include "io/safetensors.h"
#include "io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "nn/device.h"

typedef struct {
  char *name;
  AgfStDType dtype;
  int ndim;
  int64_t shape[AGF_ST_MAX_DIMS];
  guint8 *data;
  size_t nbytes;
} Entry;

struct AgfSafetensorsWriter {
  GPtrArray *entries;   /* Entry* */
  GHashTable *names;    /* set of entry names (owned by the entries) */
  GHashTable *metadata; /* key -> value, owned */
};

static void entry_free(gpointer p) {
  Entry *e = p;
  g_free(e->name);
  g_free(e->data);
  g_free(e);
}

AgfSafetensorsWriter *agf_safetensors_writer_new(void) {
  AgfSafetensorsWriter *w = g_new0(AgfSafetensorsWriter, 1);
  w->entries = g_ptr_array_new_with_free_func(entry_free);
  w->names = g_hash_table_new(g_str_hash, g_str_equal);
  w->metadata = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  return w;
}

void agf_safetensors_writer_free(AgfSafetensorsWriter *w) {
  if (!w)
    return;
  g_hash_table_unref(w->names);
  g_ptr_array_unref(w->entries);
  g_hash_table_unref(w->metadata);
  g_free(w);
}

void agf_safetensors_writer_set_meta(AgfSafetensorsWriter *w, const char *key,
                                     const char *value) {
  g_return_if_fail(key && value);
  g_hash_table_replace(w->metadata, g_strdup(key), g_strdup(value));
}

static Entry *new_entry(AgfSafetensorsWriter *w, const char *name,
                        AgfStDType dt, int ndim, const int64_t *shape,
                        GError **error) {
  if (!name || !*name || !g_utf8_validate(name, -1, NULL) ||
      strcmp(name, "__metadata__") == 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "tensor name \"%s\" cannot be stored: names must be "
                "non-empty UTF-8 other than __metadata__",
                name ? name : "");
    return NULL;
  }
  if (g_hash_table_contains(w->names, name)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "tensor %s was added twice to the same weights file", name);
    return NULL;
  }
  if ((int)dt < 0 || dt >= AGF_ST_DTYPE_COUNT || ndim < 0 ||
      ndim > AGF_ST_MAX_DIMS) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "tensor %s: invalid dtype or rank %d (at most %d dims)", name,
                ndim, AGF_ST_MAX_DIMS);
    return NULL;
  }
  uint64_t n = agf_st_dtype_size(dt);
  for (int d = 0; d < ndim; d++) {
    if (shape[d] < 0 || __builtin_mul_overflow(n, (uint64_t)shape[d], &n) ||
        n > (uint64_t)G_MAXSIZE / 2) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "tensor %s: dimension %d (%" G_GINT64_FORMAT ") is "
                  "negative or makes the tensor too large",
                  name, d, (gint64)shape[d]);
      return NULL;
    }
  }
  Entry *e = g_new0(Entry, 1);
  e->data = g_try_malloc(n ? n : 1);
  if (!e->data) {
    g_free(e);
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY,
                "out of host memory holding tensor %s (%" G_GUINT64_FORMAT
                " bytes) for writing",
                name, n);
    return NULL;
  }
  e->name = g_strdup(name);
  e->dtype = dt;
  e->ndim = ndim;
  for (int d = 0; d < ndim; d++)
    e->shape[d] = shape[d];
  e->nbytes = (size_t)n;
  return e;
}

static void commit_entry(AgfSafetensorsWriter *w, Entry *e) {
  g_ptr_array_add(w->entries, e);
  g_hash_table_add(w->names, e->name);
}

gboolean agf_safetensors_writer_add(AgfSafetensorsWriter *w, const char *name,
                                    AgfStDType dt, int ndim,
                                    const int64_t *shape, const void *data,
                                    GError **error) {
  Entry *e = new_entry(w, name, dt, ndim, shape, error);
  if (!e)
    return FALSE;
  if (e->nbytes)
    memcpy(e->data, data, e->nbytes);
  commit_entry(w, e);
  return TRUE;
}

gboolean agf_safetensors_writer_add_tensor(AgfSafetensorsWriter *w,
                                           const char *name, const AgfTensor *t,
                                           GError **error) {
  AgfStDType dt;
  switch (t->dtype) {
  case AGF_F32:
    dt = AGF_ST_F32;
    break;
  case AGF_F16:
    dt = AGF_ST_F16;
    break;
  case AGF_U8:
    dt = AGF_ST_U8;
    break;
  default:
    g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
                "tensor %s has a dtype safetensors cannot store", name);
    return FALSE;
  }
  Entry *e = new_entry(w, name, dt, t->ndim, t->shape, error);
  if (!e)
    return FALSE;
  if (e->nbytes && !agf_tensor_read(t, e->data, error)) {
    entry_free(e);
    return FALSE;
  }
  commit_entry(w, e);
  return TRUE;
}

/* ---- serialization ---- */

/* JSON string escaping as serde_json does it. */
static void append_json_string(GString *s, const char *str) {
  g_string_append_c(s, '"');
  for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
    switch (*p) {
    case '"':
      g_string_append(s, "\\\"");
      break;
    case '\\':
      g_string_append(s, "\\\\");
      break;
    case '\n':
      g_string_append(s, "\\n");
      break;
    case '\r':
      g_string_append(s, "\\r");
      break;
    case '\t':
      g_string_append(s, "\\t");
      break;
    case '\b':
      g_string_append(s, "\\b");
      break;
    case '\f':
      g_string_append(s, "\\f");
      break;
    default:
      if (*p < 0x20)
        g_string_append_printf(s, "\\u%04x", *p);
      else
        g_string_append_c(s, (char)*p);
    }
  }
  g_string_append_c(s, '"');
}

static int entry_cmp(gconstpointer a, gconstpointer b) {
  const Entry *x = *(Entry *const *)a, *y = *(Entry *const *)b;
  if (x->dtype != y->dtype)
    return x->dtype > y->dtype ? -1 : 1;
  return strcmp(x->name, y->name);
}

static int str_cmp(gconstpointer a, gconstpointer b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static GString *build_header(AgfSafetensorsWriter *w) {
  GString *s = g_string_new("{");
  gboolean first = TRUE;
  if (g_hash_table_size(w->metadata)) {
    guint nkeys;
    g_autofree const char **keys =
        (const char **)g_hash_table_get_keys_as_array(w->metadata, &nkeys);
    qsort(keys, nkeys, sizeof *keys, str_cmp);
    g_string_append(s, "\"__metadata__\":{");
    for (guint i = 0; i < nkeys; i++) {
      if (i)
        g_string_append_c(s, ',');
      append_json_string(s, keys[i]);
      g_string_append_c(s, ':');
      append_json_string(s, g_hash_table_lookup(w->metadata, keys[i]));
    }
    g_string_append_c(s, '}');
    first = FALSE;
  }
  uint64_t offset = 0;
  for (guint i = 0; i < w->entries->len; i++) {
    const Entry *e = w->entries->pdata[i];
    if (!first)
      g_string_append_c(s, ',');
    first = FALSE;
    append_json_string(s, e->name);
    g_string_append_printf(s, ":{\"dtype\":\"%s\",\"shape\":[",
                           agf_st_dtype_name(e->dtype));
    for (int d = 0; d < e->ndim; d++)
      g_string_append_printf(s, d ? ",%" G_GINT64_FORMAT : "%" G_GINT64_FORMAT,
                             (gint64)e->shape[d]);
    g_string_append_printf(
        s, "],\"data_offsets\":[%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "]}",
        offset, offset + e->nbytes);
    offset += e->nbytes;
  }
  g_string_append_c(s, '}');
  while (s->len % 8)
    g_string_append_c(s, ' ');
  return s;
}

gboolean agf_safetensors_writer_write(AgfSafetensorsWriter *w, const char *path,
                                      GError **error) {
  g_ptr_array_sort(w->entries, entry_cmp);
  g_autoptr(GString) header = build_header(w);
  if (header->len > AGF_ST_MAX_HEADER) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "cannot write weights file %s: its header would be %zu bytes, "
                "over the 100 MB limit of the format (too many tensors or too "
                "much metadata)",
                path, header->len);
    return FALSE;
  }
  guint8 len8[8];
  for (int i = 0; i < 8; i++)
    len8[i] = (guint8)((uint64_t)header->len >> (8 * i));

  g_autoptr(AgfAtomicFile) f =
      agf_atomic_file_open(path, "weights file", error);
  if (f == NULL || !agf_atomic_file_write(f, len8, 8, error) ||
      !agf_atomic_file_write(f, header->str, header->len, error))
    return FALSE;
  for (guint i = 0; i < w->entries->len; i++) {
    const Entry *e = w->entries->pdata[i];
    if (!agf_atomic_file_write(f, e->data, e->nbytes, error))
      return FALSE;
  }
  return agf_atomic_file_commit(g_steal_pointer(&f), error);
}
