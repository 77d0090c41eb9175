/* Weights: a safetensors file plus the device copies made so far. */
#include "models/weights.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "nn/error.h"

struct AgfWeights {
  int refcount;
  AgfSafetensors *file;
  AgfDevice *dev;
  AgfDType dtype;
  GHashTable *loaded; /* name -> AgfTensor* (owned) */
};

AgfWeights *agf_weights_open(const char *path, AgfDevice *dev, AgfDType dt,
                             GError **error)
{
  g_return_val_if_fail(path != NULL && dev != NULL, NULL);
  if (dt != AGF_F32 && dt != AGF_F16) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
                "weights can load as f32 or f16, not %s", agf_dtype_name(dt));
    return NULL;
  }
  AgfSafetensors *file = agf_safetensors_open(path, error);
  if (!file)
    return NULL;
  AgfWeights *w = g_new0(AgfWeights, 1);
  w->refcount = 1;
  w->file = file;
  w->dev = dev;
  w->dtype = dt;
  w->loaded = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                    (GDestroyNotify)agf_tensor_unref);
  return w;
}

AgfWeights *agf_weights_ref(AgfWeights *w)
{
  g_return_val_if_fail(w != NULL, NULL);
  w->refcount++;
  return w;
}

void agf_weights_unref(AgfWeights *w)
{
  if (!w || --w->refcount > 0)
    return;
  g_hash_table_destroy(w->loaded);
  agf_safetensors_close(w->file);
  g_free(w);
}

AgfDevice *agf_weights_device(const AgfWeights *w) { return w->dev; }
AgfDType agf_weights_dtype(const AgfWeights *w) { return w->dtype; }
const AgfSafetensors *agf_weights_file(const AgfWeights *w) { return w->file; }
const char *agf_weights_path(const AgfWeights *w)
{
  return agf_safetensors_path(w->file);
}

gboolean agf_weights_has(const AgfWeights *w, const char *name)
{
  return agf_safetensors_find(w->file, name) != NULL;
}

gboolean agf_weights_hasf(const AgfWeights *w, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *name = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  return agf_weights_has(w, name);
}

gboolean agf_weights_shape(const AgfWeights *w, const char *name, int *ndim,
                           int64_t *shape)
{
  const AgfStTensor *t = agf_safetensors_find(w->file, name);
  if (!t)
    return FALSE;
  *ndim = t->ndim;
  for (int i = 0; i < t->ndim; i++)
    shape[i] = t->shape[i];
  return TRUE;
}

const AgfTensor *agf_weights_get(AgfWeights *w, const char *name, int ndim,
                                 const int64_t *shape, GError **error)
{
  AgfTensor *t = g_hash_table_lookup(w->loaded, name);
  if (t) {
    if (ndim > 0) {
      gboolean same = t->ndim == ndim;
      for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
      if (!same) /* let the file's check phrase the message */
        return agf_safetensors_expect(w->file, name, AGF_ST_ANY_DTYPE, ndim,
                                      shape, error) ? t : NULL;
    }
    return t;
  }
  t = agf_safetensors_load(w->file, w->dev, name, w->dtype, ndim,
                           ndim > 0 ? shape : NULL, error);
  if (!t)
    return NULL;
  g_hash_table_insert(w->loaded, g_strdup(name), t);
  return t;
}

const AgfTensor *agf_weights_getf(AgfWeights *w, GError **error,
                                  const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *name = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  return agf_weights_get(w, name, 0, NULL, error);
}

const char *agf_weights_meta(const AgfWeights *w, const char *key)
{
  return agf_safetensors_meta(w->file, key);
}

static gboolean bad_meta(const AgfWeights *w, const char *key, const char *v,
                         const char *want, GError **error)
{
  g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
              "weights file %s: metadata %s = \"%s\" is not %s",
              agf_weights_path(w), key, v, want);
  return FALSE;
}

int agf_weights_meta_int(const AgfWeights *w, const char *key, int def,
                         GError **error)
{
  const char *v = agf_weights_meta(w, key);
  if (!v)
    return def;
  gint64 out;
  if (!g_ascii_string_to_signed(v, 10, G_MININT, G_MAXINT, &out, NULL)) {
    bad_meta(w, key, v, "an integer", error);
    return def;
  }
  return (int)out;
}

double agf_weights_meta_double(const AgfWeights *w, const char *key,
                               double def, GError **error)
{
  const char *v = agf_weights_meta(w, key);
  if (!v)
    return def;
  char *end = NULL;
  errno = 0;
  double d = g_ascii_strtod(v, &end);
  if (end == v || *end != '\0' || errno != 0) {
    bad_meta(w, key, v, "a number", error);
    return def;
  }
  return d;
}

AgfParamSet *agf_weights_param_set(AgfWeights *w, GError **error)
{
  g_autoptr(AgfParamSet) ps = agf_param_set_new();
  for (int i = 0; i < agf_safetensors_n_tensors(w->file); i++) {
    const AgfStTensor *t = agf_safetensors_tensor_at(w->file, i);
    if (!agf_st_dtype_is_float(t->dtype))
      continue; /* integer buffers (num_batches_tracked) are not weights */
    const AgfTensor *dev = agf_weights_get(w, t->name, 0, NULL, error);
    if (!dev || !agf_param_set_add(ps, t->name, (AgfTensor *)dev, error))
      return NULL;
  }
  return g_steal_pointer(&ps);
}

gboolean agf_weights_name_is_buffer(const char *name)
{
  static const char *const buffers[] = { "running_mean", "running_var",
                                         "num_batches_tracked" };
  const char *dot = strrchr(name, '.');
  const char *last = dot ? dot + 1 : name;
  for (size_t i = 0; i < G_N_ELEMENTS(buffers); i++)
    if (strcmp(last, buffers[i]) == 0)
      return TRUE;
  return FALSE;
}
