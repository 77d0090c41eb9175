/* Tensors: typed, strided views of a device storage (NCHW by convention).
 * Views (reshape of a contiguous tensor, permute, slice) share the storage
 * and copy nothing; ops materialize a view with agf_tensor_contiguous()
 * only when their kernel needs a dense input. */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <glib.h>
#include "nn/error.h"

G_BEGIN_DECLS

#define AGF_MAX_DIMS 6

typedef enum {
  AGF_F32 = 0,
  AGF_F16 = 1, /* IEEE half, stored as uint16 */
  AGF_U8 = 2,  /* images only (HWC bytes); Vulkan packs 4 per 32-bit word */
  AGF_DTYPE_COUNT
} AgfDType;

typedef struct AgfDevice AgfDevice;
typedef struct AgfStorage AgfStorage;

/* Autograd bookkeeping (nn/autograd.c); all zero for a plain tensor. */
typedef struct {
  gboolean requires_grad;   /* a leaf the tape differentiates for, or an
                               op result that depends on one */
  struct AgfTensor *grad;   /* leaves: the accumulated gradient (owned) */
  gpointer tape;            /* the tape that recorded this tensor's op */
  guint node;               /* that op's index on the tape */
  guint generation;         /* the tape's generation then (stale if not equal) */
} AgfAutogradInfo;

typedef struct AgfTensor {
  int refcount;
  AgfDevice *dev;
  AgfStorage *storage;          /* shared by views; refcounted */
  size_t offset;                /* first element, in elements of dtype */
  AgfDType dtype;
  int ndim;
  int64_t shape[AGF_MAX_DIMS];
  int64_t stride[AGF_MAX_DIMS]; /* in elements */
  AgfAutogradInfo ag;
} AgfTensor;

size_t agf_dtype_size(AgfDType dt);
const char *agf_dtype_name(AgfDType dt);

/* New uninitialized tensor on dev. */
AgfTensor *agf_tensor_new(AgfDevice *dev, AgfDType dt, int ndim,
                          const int64_t *shape, GError **error);
/* New tensor holding host data of the same dtype (numel elements). */
AgfTensor *agf_tensor_from_host(AgfDevice *dev, AgfDType dt, int ndim,
                                const int64_t *shape, const void *data,
                                GError **error);
/* New tensor of dtype dt from f32 host data (converted on upload). */
AgfTensor *agf_tensor_from_f32(AgfDevice *dev, AgfDType dt, int ndim,
                               const int64_t *shape, const float *data,
                               GError **error);
/* Fill with a constant (F32/F16). */
gboolean agf_tensor_fill(AgfTensor *t, float value, GError **error);

AgfTensor *agf_tensor_ref(AgfTensor *t);
void agf_tensor_unref(AgfTensor *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfTensor, agf_tensor_unref)

int64_t agf_tensor_numel(const AgfTensor *t);
gboolean agf_tensor_is_contiguous(const AgfTensor *t);
gboolean agf_tensor_same_shape(const AgfTensor *a, const AgfTensor *b);
/* "[2, 3, 17]" into buf; returns buf. */
char *agf_shape_str(const AgfTensor *t, char *buf, size_t len);

/* Waits for pending work, then copies the elements out in logical
 * (row-major) order. to_f32 converts any float dtype; read copies raw. */
gboolean agf_tensor_to_f32(const AgfTensor *t, float *dst, GError **error);
gboolean agf_tensor_read(const AgfTensor *t, void *dst, GError **error);
/* Overwrites a contiguous tensor with host data of its dtype. */
gboolean agf_tensor_write(AgfTensor *t, const void *src, GError **error);

/* Views. reshape: a view when t is contiguous, otherwise a copy (one dim may
 * be -1). permute: a view with permuted strides. slice: a view of
 * [start, start+len) along dim. */
AgfTensor *agf_tensor_reshape(AgfTensor *t, int ndim, const int64_t *shape,
                              GError **error);
AgfTensor *agf_tensor_permute(AgfTensor *t, const int *perm, GError **error);
AgfTensor *agf_tensor_slice(AgfTensor *t, int dim, int64_t start, int64_t len,
                            GError **error);
/* expand: a view broadcasting t to shape (numpy rules, aligned right;
 * broadcast dims get stride 0), as torch.expand. */
AgfTensor *agf_tensor_expand(AgfTensor *t, int ndim, const int64_t *shape,
                             GError **error);
/* t itself (a new ref) when already dense, else a dense copy. */
AgfTensor *agf_tensor_contiguous(AgfTensor *t, GError **error);
/* A dense copy converted to dt (a new ref of t when nothing changes). */
AgfTensor *agf_tensor_cast(AgfTensor *t, AgfDType dt, GError **error);

/* Half-precision conversion (round to nearest even). */
uint16_t agf_f32_to_f16(float f);
float agf_f16_to_f32(uint16_t h);

G_END_DECLS
