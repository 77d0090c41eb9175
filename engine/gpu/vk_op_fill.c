/* AGF_OP_FILL: fill.comp writes one constant into a dense f32/f16 tensor. */
#include "gpu/vk_runtime.h"
#include "fill_f32.spv.h"
#include "fill_f16.spv.h"

gboolean agf_vk_op_fill(AgfDevice *dev, const AgfOp *op, GError **error)
{
  const AgfTensor *out = op->out;
  const AgfVkCaps *caps = agf_vk_caps(dev);
  if (out->dtype == AGF_U8 || (out->dtype == AGF_F16 && !caps->fp16)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
                "fill: %s tensors cannot be filled on this Vulkan device: "
                "use f32%s", agf_dtype_name(out->dtype),
                out->dtype == AGF_F16 ? " or --device cpu" : "");
    return FALSE;
  }
  int64_t n = agf_tensor_numel(out);
  if (n > G_MAXUINT32) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                "fill: more than 2^32 elements: fill in parts");
    return FALSE;
  }
  struct { uint32_t count; float value; } pc = { (uint32_t)n, op->p.fill.value };
  const AgfSpirv spv = out->dtype == AGF_F16 ? AGF_SPIRV(agf_spv_fill_f16)
                                             : AGF_SPIRV(agf_spv_fill_f32);
  static const AgfVkBindKind kinds[1] = { AGF_VK_BIND_STORAGE };
  AgfVkPipeline *pl = agf_vk_pipeline(dev, &spv, NULL, 0, kinds, 1, sizeof pc,
                                      error);
  if (!pl)
    return FALSE;
  uint32_t groups = agf_div_up(pc.count / 4 + 1, 256);
  uint32_t gx = MIN(groups, caps->max_workgroup_count[0]);
  uint32_t gy = agf_div_up(groups, MAX(gx, 1));
  AgfVkBinding b = agf_vk_bind(out);
  return agf_vk_dispatch(dev, pl, &b, 1, &pc, sizeof pc, gx, gy, 1, error);
}
