/* TFLite model files (FlatBuffers, schema tensorflow/lite/schema/schema.fbs):
 * just enough to read constant tensors by name and list the main graph's
 * operators. Every offset and length in the file is checked against the
 * mapping while it is opened, so the views handed out are always in bounds;
 * a damaged file gives an AGF_ERROR_FORMAT error, never a crash. */
#pragma once
#include "nn/tensor.h"
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* TensorType codes of the schema (the ones loaders care about). */
enum {
  AGF_TFL_FLOAT32 = 0,
  AGF_TFL_FLOAT16 = 1,
  AGF_TFL_INT32 = 2,
  AGF_TFL_UINT8 = 3,
  AGF_TFL_INT64 = 4,
  AGF_TFL_INT8 = 9,
};
#define AGF_TFL_MAX_DIMS 8

typedef struct {
  const char *name;
  int type; /* TensorType code */
  int ndim;
  int64_t shape[AGF_TFL_MAX_DIMS];
  uint32_t buffer;
  const void *data; /* constant data in the mapping (unaligned), NULL for
                       activations */
  size_t nbytes;
} AgfTflTensor;

typedef struct {
  int opcode;         /* BuiltinOperator code (32 = CUSTOM) */
  const char *custom; /* custom operator name, else NULL */
  int n_inputs, n_outputs;
  const int32_t *inputs, *outputs; /* tensor indices; -1 = omitted input */
} AgfTflOp;

typedef struct AgfTflite AgfTflite;

AgfTflite *agf_tflite_open(const char *path, GError **error);
void agf_tflite_close(AgfTflite *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfTflite, agf_tflite_close)

const char *agf_tflite_path(const AgfTflite *m);
/* The main graph (subgraph 0): tensors and operators in file order. */
int agf_tflite_n_tensors(const AgfTflite *m);
const AgfTflTensor *agf_tflite_tensor_at(const AgfTflite *m, int i);
int agf_tflite_n_ops(const AgfTflite *m);
const AgfTflOp *agf_tflite_op_at(const AgfTflite *m, int i);
/* Graph inputs / outputs as tensor indices. */
const int32_t *agf_tflite_inputs(const AgfTflite *m, int *n);
const int32_t *agf_tflite_outputs(const AgfTflite *m, int *n);

/* NULL when absent (no error). */
const AgfTflTensor *agf_tflite_find(const AgfTflite *m, const char *name);
/* The tensor, or NULL and "model file X has no tensor Y". */
const AgfTflTensor *agf_tflite_get(const AgfTflite *m, const char *name,
                                   GError **error);

const char *agf_tfl_type_name(int type); /* "FLOAT32", ... */
const char *agf_tfl_op_name(int opcode); /* "CONV_2D", ..., "BUILTIN_N" */

/* The named constant tensor (FLOAT32 or FLOAT16) as a g_malloc'ed float
 * array of numel elements, in the file's layout. shape (NULL: any) must
 * match exactly; the error names the tensor, both shapes and the file. */
float *agf_tflite_read_f32(const AgfTflite *m, const char *name, int ndim,
                           const int64_t *shape, GError **error);
/* The same loaded onto dev as AGF_F32 or AGF_F16. */
AgfTensor *agf_tflite_load(const AgfTflite *m, AgfDevice *dev, const char *name,
                           AgfDType dt, int ndim, const int64_t *shape,
                           GError **error);

G_END_DECLS
