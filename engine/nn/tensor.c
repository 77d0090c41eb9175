/* Tensors: refcounted views of refcounted backend storage. Everything that
 * touches device memory goes through the backend (alloc/release,
 * upload/download) or through ops (COPY for dense copies and casts, FILL). */
#include <math.h>
#include <string.h>
#include "nn/backend.h"
#include "nn/nn_internal.h"

/* Element counts stay below this so that byte sizes of any dtype and the
 * int64 strides computed from them cannot overflow. */
#define AGF_MAX_NUMEL (INT64_MAX / 16)

size_t
agf_dtype_size(AgfDType dt)
{
  switch (dt) {
  case AGF_F32: return 4;
  case AGF_F16: return 2;
  case AGF_U8: return 1;
  default: return 0;
  }
}

const char *
agf_dtype_name(AgfDType dt)
{
  switch (dt) {
  case AGF_F32: return "f32";
  case AGF_F16: return "f16";
  case AGF_U8: return "u8";
  default: return "invalid dtype";
  }
}

char *
agf_dims_str(int ndim, const int64_t *shape, char *buf, size_t len)
{
  if (len == 0)
    return buf;
  size_t used = (size_t) g_snprintf(buf, len, "[");
  for (int i = 0; i < ndim && used < len; i++)
    used += (size_t) g_snprintf(buf + used, len - used, "%s%" G_GINT64_FORMAT,
                                i ? ", " : "", shape[i]);
  if (used < len)
    g_snprintf(buf + used, len - used, "]");
  return buf;
}

char *
agf_shape_str(const AgfTensor *t, char *buf, size_t len)
{
  if (t == NULL) {
    g_strlcpy(buf, "(none)", len);
    return buf;
  }
  return agf_dims_str(t->ndim, t->shape, buf, len);
}

gboolean
agf_check_dims(const char *what, int ndim, const int64_t *shape,
               int64_t *numel, GError **error)
{
  if (ndim < 1 || ndim > AGF_MAX_DIMS) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "%s: a tensor has 1 to %d dimensions, not %d (use [1] for a "
                "scalar)", what, AGF_MAX_DIMS, ndim);
    return FALSE;
  }
  if (shape == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s: no shape given", what);
    return FALSE;
  }
  char s[AGF_SHAPE_STR_LEN];
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 1) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                  "%s: shape %s has a dimension < 1 (empty tensors are not "
                  "supported)", what, agf_dims_str(ndim, shape, s, sizeof s));
      return FALSE;
    }
    if (shape[i] > AGF_MAX_NUMEL / n) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                  "%s: shape %s has too many elements to address", what,
                  agf_dims_str(ndim, shape, s, sizeof s));
      return FALSE;
    }
    n *= shape[i];
  }
  if (numel)
    *numel = n;
  return TRUE;
}

static gboolean
check_tensor(const char *what, const AgfTensor *t, GError **error)
{
  if (t == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s: no tensor given (NULL)", what);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_dtype(const char *what, AgfDType dt, GError **error)
{
  if ((unsigned) dt >= AGF_DTYPE_COUNT) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
                "%s: unknown dtype %d (use AGF_F32, AGF_F16 or AGF_U8)", what,
                (int) dt);
    return FALSE;
  }
  return TRUE;
}

static void
dense_strides(AgfTensor *t)
{
  int64_t s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    t->stride[i] = s;
    s *= t->shape[i];
  }
}

static void
storage_unref(AgfStorage *s)
{
  if (--s->refcount == 0)
    s->dev->be->release(s->dev, s);
}

AgfTensor *
agf_tensor_new(AgfDevice *dev, AgfDType dt, int ndim, const int64_t *shape,
               GError **error)
{
  int64_t numel;
  if (dev == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "tensor_new: no device given: open one with agf_device_open()");
    return NULL;
  }
  if (!check_dtype("tensor_new", dt, error) ||
      !agf_check_dims("tensor_new", ndim, shape, &numel, error))
    return NULL;
  AgfStorage *s = dev->be->alloc(dev, (size_t) numel * agf_dtype_size(dt),
                                 error);
  if (s == NULL)
    return NULL;
  s->refcount = 1;
  s->dev = dev;
  AgfTensor *t = g_new0(AgfTensor, 1);
  t->refcount = 1;
  t->dev = dev;
  t->storage = s;
  t->dtype = dt;
  t->ndim = ndim;
  memcpy(t->shape, shape, (size_t) ndim * sizeof *shape);
  dense_strides(t);
  return t;
}

AgfTensor *
agf_tensor_from_host(AgfDevice *dev, AgfDType dt, int ndim,
                     const int64_t *shape, const void *data, GError **error)
{
  if (data == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "tensor_from_host: no data given (NULL)");
    return NULL;
  }
  AgfTensor *t = agf_tensor_new(dev, dt, ndim, shape, error);
  if (t && !agf_tensor_write(t, data, error))
    g_clear_pointer(&t, agf_tensor_unref);
  return t;
}

AgfTensor *
agf_tensor_from_f32(AgfDevice *dev, AgfDType dt, int ndim,
                    const int64_t *shape, const float *data, GError **error)
{
  if (dt == AGF_F32 || data == NULL)
    return agf_tensor_from_host(dev, dt, ndim, shape, data, error);
  AgfTensor *t = agf_tensor_new(dev, dt, ndim, shape, error);
  if (t == NULL)
    return NULL;
  size_t n = (size_t) agf_tensor_numel(t);
  void *buf = g_try_malloc(n * agf_dtype_size(dt));
  if (buf == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY,
                "tensor_from_f32: no host memory for %zu MiB of conversion "
                "buffer: use smaller tensors", (n * agf_dtype_size(dt)) >> 20);
    agf_tensor_unref(t);
    return NULL;
  }
  if (dt == AGF_F16) {
    uint16_t *h = buf;
    for (size_t i = 0; i < n; i++)
      h[i] = agf_f32_to_f16(data[i]);
  } else { /* U8: the value itself, rounded and clamped to 0..255 */
    uint8_t *b = buf;
    for (size_t i = 0; i < n; i++) {
      float v = data[i];
      b[i] = !(v > 0.0f) ? 0 : v >= 255.0f ? 255 : (uint8_t) lrintf(v);
    }
  }
  gboolean ok = agf_tensor_write(t, buf, error);
  g_free(buf);
  if (!ok)
    g_clear_pointer(&t, agf_tensor_unref);
  return t;
}

gboolean
agf_tensor_fill(AgfTensor *t, float value, GError **error)
{
  if (!check_tensor("tensor_fill", t, error))
    return FALSE;
  AgfOp op = { .kind = AGF_OP_FILL, .out = t, .p.fill.value = value };
  return agf_op_run(&op, error);
}

AgfTensor *
agf_tensor_ref(AgfTensor *t)
{
  if (t)
    t->refcount++;
  return t;
}

void
agf_tensor_unref(AgfTensor *t)
{
  if (t == NULL || --t->refcount > 0)
    return;
  agf_tensor_unref(t->ag.grad);
  storage_unref(t->storage);
  g_free(t);
}

int64_t
agf_tensor_numel(const AgfTensor *t)
{
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++)
    n *= t->shape[i];
  return n;
}

gboolean
agf_tensor_is_contiguous(const AgfTensor *t)
{
  int64_t expect = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] != 1 && t->stride[i] != expect)
      return FALSE;
    expect *= t->shape[i];
  }
  return TRUE;
}

gboolean
agf_tensor_same_shape(const AgfTensor *a, const AgfTensor *b)
{
  if (a->ndim != b->ndim)
    return FALSE;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i])
      return FALSE;
  return TRUE;
}

/* Downloads the dense tensor t (raw bytes) into dst. */
static gboolean
download_dense(const AgfTensor *t, void *dst, GError **error)
{
  size_t es = agf_dtype_size(t->dtype);
  return t->dev->be->download(t->dev, t->storage, t->offset * es, dst,
                              (size_t) agf_tensor_numel(t) * es, error);
}

gboolean
agf_tensor_read(const AgfTensor *t, void *dst, GError **error)
{
  if (!check_tensor("tensor_read", t, error))
    return FALSE;
  if (dst == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "tensor_read: no destination buffer given (NULL)");
    return FALSE;
  }
  /* contiguous() only adds a reference (or makes a copy): t is not changed. */
  g_autoptr(AgfTensor) d = agf_tensor_contiguous((AgfTensor *) t, error);
  return d && download_dense(d, dst, error);
}

gboolean
agf_tensor_to_f32(const AgfTensor *t, float *dst, GError **error)
{
  if (!check_tensor("tensor_to_f32", t, error))
    return FALSE;
  if (t->dtype == AGF_F32 || dst == NULL)
    return agf_tensor_read(t, dst, error);
  size_t n = (size_t) agf_tensor_numel(t);
  size_t nbytes = n * agf_dtype_size(t->dtype);
  void *buf = g_try_malloc(nbytes);
  if (buf == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY,
                "tensor_to_f32: no host memory for %zu MiB of conversion "
                "buffer: read the tensor in slices", nbytes >> 20);
    return FALSE;
  }
  gboolean ok = agf_tensor_read(t, buf, error);
  if (ok && t->dtype == AGF_F16) {
    const uint16_t *h = buf;
    for (size_t i = 0; i < n; i++)
      dst[i] = agf_f16_to_f32(h[i]);
  } else if (ok) {
    const uint8_t *b = buf;
    for (size_t i = 0; i < n; i++)
      dst[i] = b[i];
  }
  g_free(buf);
  return ok;
}

gboolean
agf_tensor_write(AgfTensor *t, const void *src, GError **error)
{
  char s[AGF_SHAPE_STR_LEN];
  if (!check_tensor("tensor_write", t, error))
    return FALSE;
  if (src == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "tensor_write: no source data given (NULL)");
    return FALSE;
  }
  if (!agf_tensor_is_contiguous(t)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "tensor_write: the %s view is not dense: write a dense tensor "
                "and copy it (agf_copy) where it is needed",
                agf_shape_str(t, s, sizeof s));
    return FALSE;
  }
  size_t es = agf_dtype_size(t->dtype);
  return t->dev->be->upload(t->dev, t->storage, t->offset * es, src,
                            (size_t) agf_tensor_numel(t) * es, error);
}

/* A new tensor struct sharing t's storage (shape/strides set by the
 * caller), without t's autograd state (finish_view records its own). */
static AgfTensor *
new_view(AgfTensor *t)
{
  AgfTensor *v = g_new(AgfTensor, 1);
  *v = *t;
  v->refcount = 1;
  v->storage->refcount++;
  memset(&v->ag, 0, sizeof v->ag);
  return v;
}

/* Records view v of base on the device's tape (when it records). */
static AgfTensor *
finish_view(AgfTensor *v, AgfTensor *base, const AgfViewInfo *info,
            GError **error)
{
  if (!agf_autograd_record_view(v, base, info, error))
    g_clear_pointer(&v, agf_tensor_unref);
  return v;
}

AgfTensor *
agf_tensor_reshape(AgfTensor *t, int ndim, const int64_t *shape,
                   GError **error)
{
  char a[AGF_SHAPE_STR_LEN], b[AGF_SHAPE_STR_LEN];
  int64_t dims[AGF_MAX_DIMS];
  if (!check_tensor("reshape", t, error))
    return NULL;
  if (ndim < 1 || ndim > AGF_MAX_DIMS || shape == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "reshape: the new shape needs 1 to %d dimensions, not %d",
                AGF_MAX_DIMS, ndim);
    return NULL;
  }
  int64_t numel = agf_tensor_numel(t), known = 1;
  int infer = -1;
  gboolean fits = TRUE;
  for (int i = 0; i < ndim; i++) {
    dims[i] = shape[i];
    if (shape[i] == -1 && infer < 0)
      infer = i;
    else if (shape[i] < 1 || shape[i] > numel / known)
      fits = FALSE; /* also catches a second -1 and any overflow */
    else
      known *= shape[i];
  }
  if (!fits || (infer >= 0 ? numel % known != 0 : known != numel)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "reshape: cannot view %s (%" G_GINT64_FORMAT " elements) as "
                "%s: the element counts must match, dims >= 1 with at most "
                "one -1", agf_shape_str(t, a, sizeof a), numel,
                agf_dims_str(ndim, shape, b, sizeof b));
    return NULL;
  }
  if (infer >= 0)
    dims[infer] = numel / known;
  g_autoptr(AgfTensor) dense = agf_tensor_contiguous(t, error);
  if (dense == NULL)
    return NULL;
  AgfTensor *v = new_view(dense);
  v->ndim = ndim;
  memcpy(v->shape, dims, sizeof dims);
  dense_strides(v);
  return finish_view(v, dense, &(AgfViewInfo){ .kind = AGF_VIEW_RESHAPE },
                     error);
}

AgfTensor *
agf_tensor_permute(AgfTensor *t, const int *perm, GError **error)
{
  char a[AGF_SHAPE_STR_LEN];
  if (!check_tensor("permute", t, error))
    return NULL;
  gboolean seen[AGF_MAX_DIMS] = { 0 };
  for (int i = 0; perm && i < t->ndim; i++) {
    if (perm[i] < 0 || perm[i] >= t->ndim || seen[perm[i]]) {
      perm = NULL;
      break;
    }
    seen[perm[i]] = TRUE;
  }
  if (perm == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "permute: the order for %s must list each dimension 0..%d "
                "exactly once", agf_shape_str(t, a, sizeof a), t->ndim - 1);
    return NULL;
  }
  AgfTensor *v = new_view(t);
  AgfViewInfo info = { .kind = AGF_VIEW_PERMUTE };
  for (int i = 0; i < t->ndim; i++) {
    v->shape[i] = t->shape[perm[i]];
    v->stride[i] = t->stride[perm[i]];
    info.perm[i] = perm[i];
  }
  return finish_view(v, t, &info, error);
}

AgfTensor *
agf_tensor_slice(AgfTensor *t, int dim, int64_t start, int64_t len,
                 GError **error)
{
  char a[AGF_SHAPE_STR_LEN];
  if (!check_tensor("slice", t, error))
    return NULL;
  if (dim < 0 || dim >= t->ndim) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "slice: dim %d is out of range for %s (0..%d)", dim,
                agf_shape_str(t, a, sizeof a), t->ndim - 1);
    return NULL;
  }
  if (start < 0 || len < 1 || start > t->shape[dim] - len) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "slice: [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ") along dim "
                "%d is outside %s (needs 0 <= start, len >= 1, start + len <= "
                "%" G_GINT64_FORMAT ")", start, start + len, dim,
                agf_shape_str(t, a, sizeof a), t->shape[dim]);
    return NULL;
  }
  AgfTensor *v = new_view(t);
  v->offset += (size_t) (start * t->stride[dim]);
  v->shape[dim] = len;
  return finish_view(v, t, &(AgfViewInfo){ .kind = AGF_VIEW_SLICE,
                                           .dim = dim, .start = start },
                     error);
}

AgfTensor *
agf_tensor_expand(AgfTensor *t, int ndim, const int64_t *shape,
                  GError **error)
{
  char a[AGF_SHAPE_STR_LEN], b[AGF_SHAPE_STR_LEN];
  if (!check_tensor("expand", t, error))
    return NULL;
  if (ndim < t->ndim || ndim > AGF_MAX_DIMS || shape == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "expand: the new shape of %s needs %d to %d dimensions, not "
                "%d", agf_shape_str(t, a, sizeof a), t->ndim, AGF_MAX_DIMS,
                ndim);
    return NULL;
  }
  if (!agf_check_dims("expand", ndim, shape, NULL, error))
    return NULL;
  int lead = ndim - t->ndim;
  for (int i = 0; i < t->ndim; i++)
    if (t->shape[i] != 1 && t->shape[i] != shape[lead + i]) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                  "expand: cannot broadcast %s to %s: each dim (aligned from "
                  "the last) must be 1 or equal the target's",
                  agf_shape_str(t, a, sizeof a),
                  agf_dims_str(ndim, shape, b, sizeof b));
      return NULL;
    }
  AgfTensor *v = new_view(t);
  v->ndim = ndim;
  for (int i = 0; i < ndim; i++) {
    int src = i - lead;
    v->shape[i] = shape[i];
    /* Broadcast dims repeat the same elements: stride 0. */
    v->stride[i] = src < 0 || t->shape[src] != shape[i] ? 0 : t->stride[src];
  }
  return finish_view(v, t, &(AgfViewInfo){ .kind = AGF_VIEW_EXPAND }, error);
}

/* A dense tensor of dtype dt holding t's elements, made with AGF_OP_COPY. */
static AgfTensor *
copy_as(AgfTensor *t, AgfDType dt, GError **error)
{
  AgfTensor *out = agf_tensor_new(t->dev, dt, t->ndim, t->shape, error);
  if (out == NULL)
    return NULL;
  AgfOp op = { .kind = AGF_OP_COPY, .in = { t }, .n_in = 1, .out = out };
  if (!agf_op_run(&op, error))
    g_clear_pointer(&out, agf_tensor_unref);
  return out;
}

AgfTensor *
agf_tensor_contiguous(AgfTensor *t, GError **error)
{
  if (!check_tensor("contiguous", t, error))
    return NULL;
  if (agf_tensor_is_contiguous(t))
    return agf_tensor_ref(t);
  return copy_as(t, t->dtype, error);
}

AgfTensor *
agf_tensor_cast(AgfTensor *t, AgfDType dt, GError **error)
{
  if (!check_tensor("cast", t, error) || !check_dtype("cast", dt, error))
    return NULL;
  if (dt == t->dtype && agf_tensor_is_contiguous(t))
    return agf_tensor_ref(t);
  return copy_as(t, dt, error);
}
