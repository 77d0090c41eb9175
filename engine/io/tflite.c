/* TFLite reader: a bounds-checked walk of the FlatBuffers tables we need
 * (Model -> operator_codes, subgraphs[0] -> tensors/operators/inputs/
 * outputs, buffers). No flatc runtime: every read goes through the
 * bounds-checked helpers of io/flatbuf.h. */
#include "io/tflite.h"

#include <string.h>

#include "io/flatbuf.h"
#include "io/shape_fmt.h"
#include "nn/device.h"

struct AgfTflite {
  char *path;
  GMappedFile *map;
  AgfTflTensor *tensors;
  int n_tensors;
  AgfTflOp *ops;
  int n_ops;
  int32_t *io; /* inputs, then outputs (also every op's index lists) */
  int n_inputs, n_outputs;
  GHashTable *by_name; /* name -> first tensor of that name */
  GStringChunk *strings;
};

/* ---- names ---- */

static const char *const type_names[] = {
    "FLOAT32", "FLOAT16",  "INT32",     "UINT8",  "INT64",   "STRING",
    "BOOL",    "INT16",    "COMPLEX64", "INT8",   "FLOAT64", "COMPLEX128",
    "UINT64",  "RESOURCE", "VARIANT",   "UINT32", "UINT16",  "INT4",
};
static const size_t type_sizes[G_N_ELEMENTS(type_names)] = {
    4, 2, 4, 1, 8, 0, 1, 2, 8, 1, 8, 16, 8, 0, 0, 4, 2, 0,
};

const char *agf_tfl_type_name(int type) {
  if (type < 0 || (size_t)type >= G_N_ELEMENTS(type_names))
    return "UNKNOWN";
  return type_names[type];
}

/* ---- model walk ---- */

typedef struct {
  const guint8 *data;
  size_t len;
} Buf;

static gboolean read_buffers(AgfFb *fb, const AgfFbTable *model, Buf **out,
                             guint32 *n_out) {
  guint32 n;
  size_t start;
  if (!agf_fb_vec(fb, model, 4, 4, &n, &start, "bad buffers list"))
    return FALSE;
  Buf *bufs = g_new0(Buf, n ? n : 1);
  for (guint32 k = 0; k < n; k++) {
    AgfFbTable t;
    guint32 dn;
    size_t ds;
    guint64 off, size;
    if (!agf_fb_vec_table(fb, start, k, &t, "bad buffer entry") ||
        !agf_fb_vec(fb, &t, 0, 1, &dn, &ds, "buffer data outside the file") ||
        !agf_fb_u64(fb, &t, 1, &off, "bad buffer offset") ||
        !agf_fb_u64(fb, &t, 2, &size, "bad buffer size"))
      goto fail;
    if (off > 1) { /* models > 2 GB keep data after the flatbuffer */
      if (!agf_fb_in_bounds(fb, off, size)) {
        agf_fb_fail(fb, "an external buffer lies outside the file");
        goto fail;
      }
      bufs[k].data = fb->b + off;
      bufs[k].len = (size_t)size;
    } else if (dn) {
      bufs[k].data = fb->b + ds;
      bufs[k].len = dn;
    }
  }
  *out = bufs;
  *n_out = n;
  return TRUE;
fail:
  g_free(bufs);
  return FALSE;
}

static gboolean read_opcodes(AgfFb *fb, const AgfFbTable *model, int **codes,
                             const char ***customs, guint32 *n_out) {
  guint32 n;
  size_t start;
  if (!agf_fb_vec(fb, model, 1, 4, &n, &start, "bad operator_codes list"))
    return FALSE;
  *codes = g_new0(int, n ? n : 1);
  *customs = g_new0(const char *, n ? n : 1);
  *n_out = n;
  for (guint32 k = 0; k < n; k++) {
    AgfFbTable t;
    gint8 dep;
    guint32 code;
    if (!agf_fb_vec_table(fb, start, k, &t, "bad operator code") ||
        !agf_fb_i8(fb, &t, 0, &dep, "bad operator code") ||
        !agf_fb_str(fb, &t, 1, &(*customs)[k], "bad custom operator name") ||
        !agf_fb_u32(fb, &t, 3, 0, &code, "bad operator code"))
      return FALSE;
    /* Old files only set the int8 field, new ones both. */
    (*codes)[k] = MAX((int)dep, (int)(gint32)code);
  }
  return TRUE;
}

/* An int32 index vector whose entries are -1 or < n_tensors. */
static gboolean read_indices(AgfFb *fb, AgfTflite *m, const AgfFbTable *t,
                             int field, GArray *into, int *count,
                             const char *what) {
  guint32 n;
  size_t start;
  if (!agf_fb_vec(fb, t, field, 4, &n, &start, what))
    return FALSE;
  /* Lists shared between operators could make the total quadratic in the
   * file size; a real model stores each index once. */
  if ((guint64)into->len + n > fb->n / 4)
    return agf_fb_fail(fb, "operator index lists larger than the file");
  for (guint32 k = 0; k < n; k++) {
    gint32 v = (gint32)agf_fb_rd32(fb, start + 4 * (size_t)k);
    if (v < -1 || v >= m->n_tensors)
      return agf_fb_fail(fb, what);
    g_array_append_val(into, v);
  }
  *count = (int)n;
  return TRUE;
}

static gboolean read_tensors(AgfFb *fb, AgfTflite *m, const AgfFbTable *sg,
                             const Buf *bufs, guint32 n_bufs) {
  guint32 n;
  size_t start;
  if (!agf_fb_vec(fb, sg, 0, 4, &n, &start, "bad tensor list"))
    return FALSE;
  m->tensors = g_new0(AgfTflTensor, n ? n : 1);
  m->n_tensors = (int)n;
  for (guint32 k = 0; k < n; k++) {
    AgfTflTensor *x = &m->tensors[k];
    AgfFbTable t;
    guint32 sn, buffer;
    size_t ss;
    gint8 type;
    if (!agf_fb_vec_table(fb, start, k, &t, "bad tensor entry") ||
        !agf_fb_vec(fb, &t, 0, 4, &sn, &ss, "bad tensor shape") ||
        !agf_fb_i8(fb, &t, 1, &type, "bad tensor type") ||
        !agf_fb_u32(fb, &t, 2, 0, &buffer, "bad tensor buffer index") ||
        !agf_fb_str(fb, &t, 3, &x->name, "bad tensor name"))
      return FALSE;
    if (sn > AGF_TFL_MAX_DIMS)
      return agf_fb_fail(fb, "a tensor has more than 8 dimensions");
    if (buffer >= n_bufs)
      return agf_fb_fail(fb, "a tensor refers to a buffer that does not exist");
    x->name = g_string_chunk_insert_const(m->strings, x->name ? x->name : "");
    x->type = type;
    x->ndim = (int)sn;
    for (guint32 d = 0; d < sn; d++)
      x->shape[d] = (gint32)agf_fb_rd32(fb, ss + 4 * (size_t)d);
    x->buffer = buffer;
    x->data = bufs[buffer].data;
    x->nbytes = bufs[buffer].len;
    if (!g_hash_table_contains(m->by_name, x->name))
      g_hash_table_insert(m->by_name, (gpointer)x->name, x);
  }
  return TRUE;
}

/* Operators; their index lists are appended to idx and their start
 * positions in it recorded in starts[2k] (inputs), starts[2k+1] (outputs),
 * turned into pointers once idx stops growing. */
static gboolean read_ops(AgfFb *fb, AgfTflite *m, const AgfFbTable *sg,
                         const int *codes, const char *const *customs,
                         guint32 n_codes, GArray *idx, guint **starts) {
  guint32 n;
  size_t start;
  if (!agf_fb_vec(fb, sg, 3, 4, &n, &start, "bad operator list"))
    return FALSE;
  m->ops = g_new0(AgfTflOp, n ? n : 1);
  m->n_ops = (int)n;
  *starts = g_new0(guint, 2 * (gsize)n + 1);
  for (guint32 k = 0; k < n; k++) {
    AgfTflOp *op = &m->ops[k];
    AgfFbTable t;
    guint32 ci;
    if (!agf_fb_vec_table(fb, start, k, &t, "bad operator entry") ||
        !agf_fb_u32(fb, &t, 0, 0, &ci, "bad operator code index"))
      return FALSE;
    if (ci >= n_codes)
      return agf_fb_fail(fb, "an operator refers to an operator code that does "
                             "not exist");
    op->opcode = codes[ci];
    op->custom = customs[ci]
                     ? g_string_chunk_insert_const(m->strings, customs[ci])
                     : NULL;
    (*starts)[2 * k] = idx->len;
    if (!read_indices(fb, m, &t, 1, idx, &op->n_inputs,
                      "an operator input is not a tensor of the graph"))
      return FALSE;
    (*starts)[2 * k + 1] = idx->len;
    if (!read_indices(fb, m, &t, 2, idx, &op->n_outputs,
                      "an operator output is not a tensor of the graph"))
      return FALSE;
  }
  return TRUE;
}

static gboolean read_model(AgfFb *fb, AgfTflite *m) {
  if (fb->n < 8 || memcmp(fb->b + 4, "TFL3", 4) != 0) {
    g_set_error(fb->error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s is not a TFLite model (no TFL3 file identifier); pass a "
                ".tflite file",
                fb->path);
    return FALSE;
  }
  AgfFbTable model, sg;
  if (!agf_fb_table(fb, agf_fb_rd32(fb, 0), &model, "bad root table"))
    return FALSE;
  guint32 n_sg;
  size_t sg_start;
  if (!agf_fb_vec(fb, &model, 2, 4, &n_sg, &sg_start, "bad subgraph list"))
    return FALSE;
  if (n_sg == 0)
    return agf_fb_fail(fb, "the model has no subgraph");
  if (!agf_fb_vec_table(fb, sg_start, 0, &sg, "bad main subgraph"))
    return FALSE;

  g_autofree Buf *bufs = NULL;
  g_autofree int *codes = NULL;
  g_autofree const char **customs = NULL;
  guint32 n_bufs = 0, n_codes = 0;
  if (!read_buffers(fb, &model, &bufs, &n_bufs) ||
      !read_opcodes(fb, &model, &codes, &customs, &n_codes) ||
      !read_tensors(fb, m, &sg, bufs, n_bufs))
    return FALSE;

  /* Zero-terminated so that it is allocated even when empty. */
  g_autoptr(GArray) idx = g_array_new(TRUE, FALSE, sizeof(gint32));
  g_autofree guint *starts = NULL;
  if (!read_indices(fb, m, &sg, 1, idx, &m->n_inputs,
                    "a graph input is not a tensor of the graph") ||
      !read_indices(fb, m, &sg, 2, idx, &m->n_outputs,
                    "a graph output is not a tensor of the graph") ||
      !read_ops(fb, m, &sg, codes, customs, n_codes, idx, &starts))
    return FALSE;
  m->io = (int32_t *)g_array_free(g_steal_pointer(&idx), FALSE);
  for (int k = 0; k < m->n_ops; k++) {
    AgfTflOp *op = &m->ops[k];
    op->inputs = m->io + starts[2 * k];
    op->outputs = m->io + starts[2 * k + 1];
  }
  return TRUE;
}

AgfTflite *agf_tflite_open(const char *path, GError **error) {
  g_return_val_if_fail(path != NULL, NULL);
  AgfTflite *m = g_new0(AgfTflite, 1);
  m->path = g_strdup(path);
  m->by_name = g_hash_table_new(g_str_hash, g_str_equal);
  m->strings = g_string_chunk_new(4096);
  g_autoptr(GError) ferr = NULL;
  m->map = g_mapped_file_new(path, FALSE, &ferr);
  if (!m->map) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot open model file: %s",
                ferr->message);
    agf_tflite_close(m);
    return NULL;
  }
  AgfFb fb = {(const guint8 *)g_mapped_file_get_contents(m->map),
              g_mapped_file_get_length(m->map), path, error};
  if (!read_model(&fb, m)) {
    agf_tflite_close(m);
    return NULL;
  }
  return m;
}

void agf_tflite_close(AgfTflite *m) {
  if (!m)
    return;
  g_free(m->tensors);
  g_free(m->ops);
  g_free(m->io);
  g_hash_table_unref(m->by_name);
  g_string_chunk_free(m->strings);
  if (m->map)
    g_mapped_file_unref(m->map);
  g_free(m->path);
  g_free(m);
}

/* ---- queries ---- */

const char *agf_tflite_path(const AgfTflite *m) {
  return m->path;
}
int agf_tflite_n_tensors(const AgfTflite *m) {
  return m->n_tensors;
}
int agf_tflite_n_ops(const AgfTflite *m) {
  return m->n_ops;
}

const AgfTflTensor *agf_tflite_tensor_at(const AgfTflite *m, int i) {
  g_return_val_if_fail(i >= 0 && i < m->n_tensors, NULL);
  return &m->tensors[i];
}

const AgfTflOp *agf_tflite_op_at(const AgfTflite *m, int i) {
  g_return_val_if_fail(i >= 0 && i < m->n_ops, NULL);
  return &m->ops[i];
}

const int32_t *agf_tflite_inputs(const AgfTflite *m, int *n) {
  *n = m->n_inputs;
  return m->io;
}

const int32_t *agf_tflite_outputs(const AgfTflite *m, int *n) {
  *n = m->n_outputs;
  return m->io + m->n_inputs;
}

const AgfTflTensor *agf_tflite_find(const AgfTflite *m, const char *name) {
  return g_hash_table_lookup(m->by_name, name);
}

const AgfTflTensor *agf_tflite_get(const AgfTflite *m, const char *name,
                                   GError **error) {
  const AgfTflTensor *t = agf_tflite_find(m, name);
  if (!t)
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "model file %s has no tensor %s; check that it is the right "
                ".tflite file",
                m->path, name);
  return t;
}

/* The checked constant tensor behind name: float type, data present and of
 * the size its shape says, the expected shape when one is given. */
static const AgfTflTensor *checked_const(const AgfTflite *m, const char *name,
                                         int ndim, const int64_t *shape,
                                         int64_t *numel, GError **error) {
  const AgfTflTensor *t = agf_tflite_get(m, name, error);
  if (!t)
    return NULL;
  char have[160], exp[160];
  agf_fmt_shape(t->ndim, t->shape, have, sizeof have);
  if (shape && !agf_shape_equal(t->ndim, t->shape, ndim, shape)) {
    agf_fmt_shape(ndim, shape, exp, sizeof exp);
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "tensor %s in %s has shape %s but the model expects %s", name,
                m->path, have, exp);
    return NULL;
  }
  if (t->type != AGF_TFL_FLOAT32 && t->type != AGF_TFL_FLOAT16) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
                "tensor %s in %s has type %s; only FLOAT32 and FLOAT16 "
                "weights can be loaded",
                name, m->path, agf_tfl_type_name(t->type));
    return NULL;
  }
  if (!t->data) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "tensor %s in %s holds no data: it is computed by the graph, "
                "not a weight",
                name, m->path);
    return NULL;
  }
  uint64_t n = 1, bytes;
  gboolean bad = FALSE;
  for (int d = 0; d < t->ndim; d++)
    bad |=
        t->shape[d] < 0 || __builtin_mul_overflow(n, (uint64_t)t->shape[d], &n);
  bad |= __builtin_mul_overflow(n, (uint64_t)type_sizes[t->type], &bytes);
  if (bad || bytes != t->nbytes) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "tensor %s in %s has %zu bytes of data but its shape %s of "
                "%s needs a different size; the file is damaged",
                name, m->path, t->nbytes, have, agf_tfl_type_name(t->type));
    return NULL;
  }
  *numel = (int64_t)n;
  return t;
}

static float *to_f32(const AgfTflTensor *t, int64_t numel, GError **error) {
  size_t bytes = (size_t)numel * sizeof(float);
  float *f = g_try_malloc(bytes ? bytes : 1);
  if (!f) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY,
                "out of host memory reading tensor %s (%zu bytes)", t->name,
                bytes);
    return NULL;
  }
  if (t->type == AGF_TFL_FLOAT32) {
    memcpy(f, t->data, bytes);
  } else {
    const guint8 *src = t->data;
    for (int64_t i = 0; i < numel; i++) {
      uint16_t h;
      memcpy(&h, src + 2 * i, 2);
      f[i] = agf_f16_to_f32(h);
    }
  }
  return f;
}

float *agf_tflite_read_f32(const AgfTflite *m, const char *name, int ndim,
                           const int64_t *shape, GError **error) {
  int64_t numel;
  const AgfTflTensor *t = checked_const(m, name, ndim, shape, &numel, error);
  return t ? to_f32(t, numel, error) : NULL;
}

AgfTensor *agf_tflite_load(const AgfTflite *m, AgfDevice *dev, const char *name,
                           AgfDType dt, int ndim, const int64_t *shape,
                           GError **error) {
  if (dt != AGF_F32 && dt != AGF_F16) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "weights load as f32 or f16, not %s (tensor %s)",
                agf_dtype_name(dt), name);
    return NULL;
  }
  int64_t numel;
  const AgfTflTensor *t = checked_const(m, name, ndim, shape, &numel, error);
  if (!t)
    return NULL;
  if (t->ndim > AGF_MAX_DIMS) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "tensor %s in %s has %d dimensions; engine tensors have at "
                "most %d",
                name, m->path, t->ndim, AGF_MAX_DIMS);
    return NULL;
  }
  int n = t->ndim ? t->ndim : 1;
  int64_t shp[AGF_MAX_DIMS] = {1};
  for (int d = 0; d < t->ndim; d++)
    shp[d] = t->shape[d];
  if (dt == AGF_F16 && t->type == AGF_TFL_FLOAT16)
    return agf_tensor_from_host(dev, AGF_F16, n, shp, t->data, error);
  if (dt == AGF_F32 && t->type == AGF_TFL_FLOAT32)
    return agf_tensor_from_host(dev, AGF_F32, n, shp, t->data, error);
  g_autofree float *f = to_f32(t, numel, error);
  if (!f)
    return NULL;
  return agf_tensor_from_f32(dev, dt, n, shp, f, error);
}
