/* AGF_OP_UNARY_BWD on Vulkan (shaders/unary_bwd.comp): dx = dy * fn'(x),
 * one invocation per element. */
#include "gpu/vk_op_launch.h"
#include "unary_bwd.spv.h"
#include "unary_bwd_f16.spv.h"

gboolean
agf_vk_op_unary_bwd(AgfDevice *dev, const AgfOp *op, GError **error)
{
  static const AgfVkShader sh_def = AGF_VK_SHADER(unary_bwd);
  AgfDType dt = op->out->dtype;
  const AgfUnaryBwdParams *up = &op->p.unary_bwd;
  uint64_t n = (uint64_t)agf_tensor_numel(op->out);
  if ((unsigned)up->fn >= AGF_UNARY_COUNT) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "unary_bwd: unknown function %d; use an AgfUnaryFn value",
                up->fn);
    return FALSE;
  }
  const AgfSpirv *spv = agf_vk_shader_for(dev, &sh_def, dt, "unary_bwd", error);
  if (!spv || !agf_vk_check_u32("unary_bwd", n, error))
    return FALSE;
  g_autoptr(AgfTensor) tx = NULL;
  g_autoptr(AgfTensor) tdy = NULL;
  const AgfTensor *x = agf_vk_as_dtype(dev, op->in[0], dt, &tx, error);
  const AgfTensor *dy = x ? agf_vk_as_dtype(dev, op->in[1], dt, &tdy, error)
                          : NULL;
  if (!dy)
    return FALSE;
  struct { uint32_t n; float a, b; } push = { (uint32_t)n, up->a, up->b };
  uint32_t spec[2] = { AGF_VK_ELEM_WG, (uint32_t)up->fn };
  AgfVkBinding bind[3] = { agf_vk_bind(x), agf_vk_bind(dy),
                           agf_vk_bind(op->out) };
  return agf_vk_launch_items(dev, spv, spec, 2, bind, 3, &push, sizeof push,
                             n, error);
}
