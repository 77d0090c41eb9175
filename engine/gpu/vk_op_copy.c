/* Strided copies (AGF_OP_COPY, densification of op inputs, concat): a
 * buffer copy when both sides are dense and of one dtype, else copy.comp
 * (f32/f16, converting) or copy_u8.comp, with up to 6 dims after merging
 * the dims that are contiguous on both sides. */
#include "gpu/vk_runtime.h"
#include "copy_f32.spv.h"
#include "copy_f16.spv.h"
#include "copy_f32_f16.spv.h"
#include "copy_f16_f32.spv.h"
#include "copy_u8.spv.h"

typedef struct {
  uint32_t shape[6], sstride[6], dstride[6];
  uint32_t soff, doff, count, ndim, dense4;
} CopyPush;

typedef struct {
  int ndim;
  int64_t shape[AGF_MAX_DIMS], ss[AGF_MAX_DIMS], ds[AGF_MAX_DIMS];
} Dims;

/* Drops size-1 dims and merges neighbours contiguous on both sides. */
static void collapse(const AgfTensor *src, const AgfTensor *dst, Dims *d)
{
  d->ndim = 0;
  for (int k = 0; k < src->ndim; k++) {
    if (src->shape[k] == 1)
      continue;
    int n = d->ndim;
    if (n > 0 && d->ss[n - 1] == src->stride[k] * src->shape[k] &&
        d->ds[n - 1] == dst->stride[k] * src->shape[k]) {
      d->shape[n - 1] *= src->shape[k];
      d->ss[n - 1] = src->stride[k];
      d->ds[n - 1] = dst->stride[k];
      continue;
    }
    d->shape[n] = src->shape[k];
    d->ss[n] = src->stride[k];
    d->ds[n] = dst->stride[k];
    d->ndim++;
  }
  if (d->ndim == 0) {
    d->ndim = 1;
    d->shape[0] = 1;
    d->ss[0] = d->ds[0] = 1;
  }
}

/* An aligned byte window of t's storage holding every element of t (with
 * the strides in d), and t's first element relative to it. */
static gboolean window(AgfVkDevice *vk, const AgfTensor *t, const int64_t *str,
                       const Dims *d, AgfVkBinding *b, uint32_t *first,
                       GError **error)
{
  size_t es = agf_dtype_size(t->dtype);
  int64_t last = (int64_t)t->offset;
  for (int k = 0; k < d->ndim; k++)
    last += (d->shape[k] - 1) * str[k];
  /* 16: the dense path reads and writes vec4s */
  VkDeviceSize align = MAX(vk->caps.storage_align, 16);
  VkDeviceSize lo = (VkDeviceSize)t->offset * es;
  VkDeviceSize base = lo / align * align;
  VkDeviceSize end = (VkDeviceSize)(last + 1) * es;
  if ((end - base) / es > G_MAXUINT32) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                "a strided copy spans more than 2^32 elements: copy in parts");
    return FALSE;
  }
  *b = (AgfVkBinding){ .kind = AGF_VK_BIND_STORAGE, .s = t->storage,
                       .byte_offset = base, .byte_range = end - base };
  *first = (uint32_t)((lo - base) / es);
  return TRUE;
}

static gboolean is_dense(const Dims *d)
{
  return d->ndim == 1 && d->ss[0] == 1 && d->ds[0] == 1;
}

static gboolean check(AgfVkDevice *vk, const AgfTensor *src,
                      const AgfTensor *dst, GError **error)
{
  char a[96], b[96];
  if (!agf_tensor_same_shape(src, dst)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "copy: source %s and destination %s differ in shape",
                agf_shape_str(src, a, sizeof a), agf_shape_str(dst, b, sizeof b));
    return FALSE;
  }
  if ((src->dtype == AGF_U8) != (dst->dtype == AGF_U8)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
                "copy: cannot convert %s to %s (only f32 <-> f16): use "
                "image_to_tensor / tensor_to_image for u8 images",
                agf_dtype_name(src->dtype), agf_dtype_name(dst->dtype));
    return FALSE;
  }
  if ((src->dtype == AGF_F16 || dst->dtype == AGF_F16) && !vk->caps.fp16) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
                "this Vulkan device has no 16-bit storage / shaderFloat16: "
                "use f32 tensors or --device cpu");
    return FALSE;
  }
  if (agf_tensor_numel(src) > G_MAXUINT32) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                "copy: %s has more than 2^32 elements: copy in parts",
                agf_shape_str(src, a, sizeof a));
    return FALSE;
  }
  return TRUE;
}

static gboolean buffer_copy(AgfVkDevice *vk, const AgfTensor *src,
                            const AgfTensor *dst, GError **error)
{
  size_t es = agf_dtype_size(src->dtype);
  const AgfVkAlloc *sa = src->storage->impl, *da = dst->storage->impl;
  VkBufferCopy region = {
    sa->offset + src->offset * es, da->offset + dst->offset * es,
    (VkDeviceSize)agf_tensor_numel(src) * es,
  };
  if (region.size == 0)
    return TRUE;
  AgfVkBatch *bt = agf_vk_stream_batch(vk, error);
  if (!bt)
    return FALSE;
  vkCmdCopyBuffer(bt->cmd, sa->block->buffer, da->block->buffer, 1, &region);
  agf_vk_stream_barrier(bt->cmd);
  bt->n_commands++;
  return TRUE;
}

gboolean agf_vk_copy_strided(AgfDevice *dev, const AgfTensor *src,
                             const AgfTensor *dst, GError **error)
{
  AgfVkDevice *vk = agf_vk_dev(dev);
  if (!check(vk, src, dst, error))
    return FALSE;
  Dims d;
  collapse(src, dst, &d);
  if (src->dtype == dst->dtype && is_dense(&d))
    return buffer_copy(vk, src, dst, error);
  if (d.ndim > 6) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                "copy: more than 6 non-mergeable dims");
    return FALSE;
  }

  CopyPush pc = { .count = (uint32_t)agf_tensor_numel(src),
                  .ndim = (uint32_t)d.ndim };
  int pad = 6 - d.ndim;
  for (int k = 0; k < 6; k++) {
    gboolean real = k >= pad;
    pc.shape[k] = real ? (uint32_t)d.shape[k - pad] : 1;
    pc.sstride[k] = real ? (uint32_t)d.ss[k - pad] : 0;
    pc.dstride[k] = real ? (uint32_t)d.ds[k - pad] : 0;
  }
  AgfVkBinding bind[2];
  if (!window(vk, src, d.ss, &d, &bind[0], &pc.soff, error) ||
      !window(vk, dst, d.ds, &d, &bind[1], &pc.doff, error))
    return FALSE;

  const AgfSpirv spv[5] = {
    AGF_SPIRV(agf_spv_copy_f32), AGF_SPIRV(agf_spv_copy_f16),
    AGF_SPIRV(agf_spv_copy_f32_f16), AGF_SPIRV(agf_spv_copy_f16_f32),
    AGF_SPIRV(agf_spv_copy_u8),
  };
  int v = src->dtype == AGF_U8 ? 4
        : src->dtype == dst->dtype ? (src->dtype == AGF_F16 ? 1 : 0)
        : src->dtype == AGF_F32 ? 2 : 3;
  static const AgfVkBindKind kinds[2] = { AGF_VK_BIND_STORAGE,
                                          AGF_VK_BIND_STORAGE };
  AgfVkPipeline *pl = agf_vk_pipeline(dev, &spv[v], NULL, 0, kinds, 2,
                                      sizeof pc, error);
  if (!pl)
    return FALSE;
  pc.dense4 = v != 4 && is_dense(&d) && pc.soff % 4 == 0 && pc.doff % 4 == 0;
  uint32_t groups = agf_div_up(pc.dense4 ? pc.count / 4 + 1 : pc.count, 256);
  uint32_t gx = MIN(groups, vk->caps.max_workgroup_count[0]);
  uint32_t gy = agf_div_up(groups, MAX(gx, 1));
  return agf_vk_dispatch(dev, pl, bind, 2, &pc, sizeof pc, gx, gy, 1, error);
}

gboolean agf_vk_op_copy(AgfDevice *dev, const AgfOp *op, GError **error)
{
  return agf_vk_copy_strided(dev, op->in[0], op->out, error);
}
