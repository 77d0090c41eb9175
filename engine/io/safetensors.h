/* safetensors files (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length, a JSON header naming each tensor's dtype,
 * shape and [begin, end) byte range in the data section, then the data.
 *
 * The reader maps the file and validates the whole header up front, the
 * same rules the reference implementation applies (tensors cover the data
 * section exactly, no holes, no overlaps), so every AgfStTensor it hands
 * out points to bytes inside the mapping. The writer produces files that
 * the Python package reads, replacing the target atomically. */
#pragma once
#include "nn/tensor.h"
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* Every dtype of the format; the declaration order is the reference
 * implementation's, which orders the data section by dtype descending. */
typedef enum {
  AGF_ST_BOOL,
  AGF_ST_U8,
  AGF_ST_I8,
  AGF_ST_F8_E5M2,
  AGF_ST_F8_E4M3,
  AGF_ST_F8_E8M0,
  AGF_ST_I16,
  AGF_ST_U16,
  AGF_ST_F16,
  AGF_ST_BF16,
  AGF_ST_I32,
  AGF_ST_U32,
  AGF_ST_F32,
  AGF_ST_F64,
  AGF_ST_I64,
  AGF_ST_U64,
  AGF_ST_DTYPE_COUNT
} AgfStDType;

#define AGF_ST_ANY_DTYPE ((AgfStDType)-1)
#define AGF_ST_MAX_DIMS 16
#define AGF_ST_MAX_HEADER ((uint64_t)100000000) /* as the reference */

const char *agf_st_dtype_name(AgfStDType dt);
size_t agf_st_dtype_size(AgfStDType dt);
/* TRUE for F32, F16 and BF16: the dtypes weights can be loaded from. */
gboolean agf_st_dtype_is_float(AgfStDType dt);

/* One tensor of an open file. data points into the mapping (not aligned:
 * copy with memcpy) and stays valid until the file is closed. */
typedef struct {
  const char *name;
  AgfStDType dtype;
  int ndim; /* 0 for a scalar */
  int64_t shape[AGF_ST_MAX_DIMS];
  int64_t numel;
  const void *data;
  size_t nbytes;
} AgfStTensor;

typedef struct AgfSafetensors AgfSafetensors;

AgfSafetensors *agf_safetensors_open(const char *path, GError **error);
void agf_safetensors_close(AgfSafetensors *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfSafetensors, agf_safetensors_close)

const char *agf_safetensors_path(const AgfSafetensors *st);
/* Tensors in name order. */
int agf_safetensors_n_tensors(const AgfSafetensors *st);
const AgfStTensor *agf_safetensors_tensor_at(const AgfSafetensors *st, int i);
/* NULL when absent (no error). */
const AgfStTensor *agf_safetensors_find(const AgfSafetensors *st,
                                        const char *name);
/* The tensor, or NULL and "weights file X has no tensor Y". */
const AgfStTensor *agf_safetensors_get(const AgfSafetensors *st,
                                       const char *name, GError **error);
/* The tensor when it has dtype want (or AGF_ST_ANY_DTYPE) and, when shape is
 * not NULL, exactly that shape; else NULL and an AGF_ERROR_SHAPE /
 * AGF_ERROR_DTYPE error naming the tensor, both shapes and the file. */
const AgfStTensor *agf_safetensors_expect(const AgfSafetensors *st,
                                          const char *name, AgfStDType want,
                                          int ndim, const int64_t *shape,
                                          GError **error);

/* The "__metadata__" string map (never NULL; owned by st). */
GHashTable *agf_safetensors_metadata(const AgfSafetensors *st);
/* One metadata value or NULL. */
const char *agf_safetensors_meta(const AgfSafetensors *st, const char *key);

/* Converts a float tensor (F32/F16/BF16) to n = t->numel floats. */
gboolean agf_st_tensor_to_f32(const AgfStTensor *t, float *dst, GError **error);
/* A g_malloc'ed f32 copy of the named tensor, checked like _expect
 * (shape may be NULL) with any float dtype. */
float *agf_safetensors_read_f32(const AgfSafetensors *st, const char *name,
                                int ndim, const int64_t *shape, GError **error);

/* Loads the named tensor onto dev as dtype dt (AGF_F32 or AGF_F16),
 * converting from any float dtype; when the file's dtype already matches
 * the bytes are uploaded straight from the mapping. shape (NULL: any) is
 * checked as in _expect. A scalar loads as shape [1]. */
AgfTensor *agf_safetensors_load(const AgfSafetensors *st, AgfDevice *dev,
                                const char *name, AgfDType dt, int ndim,
                                const int64_t *shape, GError **error);

/* ---- writing ---- */

typedef struct AgfSafetensorsWriter AgfSafetensorsWriter;

AgfSafetensorsWriter *agf_safetensors_writer_new(void);
void agf_safetensors_writer_free(AgfSafetensorsWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfSafetensorsWriter, agf_safetensors_writer_free)

/* Adds or replaces one "__metadata__" entry (both UTF-8). */
void agf_safetensors_writer_set_meta(AgfSafetensorsWriter *w, const char *key,
                                     const char *value);
/* Copies numel(shape) elements of dtype dt from data. Fails on a duplicate
 * or invalid name, a negative dim or a rank above AGF_ST_MAX_DIMS. */
gboolean agf_safetensors_writer_add(AgfSafetensorsWriter *w, const char *name,
                                    AgfStDType dt, int ndim,
                                    const int64_t *shape, const void *data,
                                    GError **error);
/* Reads a device tensor back (F32 -> F32, F16 -> F16, U8 -> U8). */
gboolean agf_safetensors_writer_add_tensor(AgfSafetensorsWriter *w,
                                           const char *name, const AgfTensor *t,
                                           GError **error);
/* Writes every added tensor to path: a temporary file in the same folder,
 * fsync, rename over path, fsync of the folder. path is either the old
 * file or the complete new one, never a partial write. */
gboolean agf_safetensors_writer_write(AgfSafetensorsWriter *w, const char *path,
                                      GError **error);

G_END_DECLS
