/* AGF_OP_POOL2D_BWD on Vulkan (shaders/pool2d_bwd.comp): one invocation
 * per input pixel gathers the gradients of the windows covering it. */
#include "gpu/vk_op_launch.h"
#include "pool2d_bwd.spv.h"
#include "pool2d_bwd_f16.spv.h"

gboolean
agf_vk_op_pool2d_bwd(AgfDevice *dev, const AgfOp *op, GError **error)
{
  static const AgfVkShader sh_def = AGF_VK_SHADER(pool2d_bwd);
  const AgfPool2dBwdParams *pp = &op->p.pool_bwd;
  AgfDType dt = op->out->dtype;
  const AgfTensor *x0 = op->in[0], *dy0 = op->in[1];
  if (x0->ndim < 2 || dy0->ndim != x0->ndim || pp->kernel_h < 1 ||
      pp->kernel_w < 1 || pp->stride_h < 0 || pp->stride_w < 0 ||
      pp->pad_top < 0 || pp->pad_left < 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "pool2d_bwd: needs [.., H, W] input, kernel >= 1, stride >= 0 "
                "(0 means 1) and padding >= 0");
    return FALSE;
  }
  uint64_t n = (uint64_t)agf_tensor_numel(x0);
  const AgfSpirv *spv = agf_vk_shader_for(dev, &sh_def, dt, "pool2d_bwd", error);
  if (!spv || !agf_vk_check_u32("pool2d_bwd", n, error) ||
      !agf_vk_check_u32("pool2d_bwd", agf_tensor_numel(dy0), error))
    return FALSE;
  g_autoptr(AgfTensor) tx = NULL;
  g_autoptr(AgfTensor) tdy = NULL;
  const AgfTensor *x = agf_vk_as_dtype(dev, x0, dt, &tx, error);
  const AgfTensor *dy = x ? agf_vk_as_dtype(dev, dy0, dt, &tdy, error) : NULL;
  if (!dy)
    return FALSE;
  struct {
    uint32_t n, ih, iw, oh, ow, kh, kw, sh, sw, pt, pl, include_pad;
  } push = {
    (uint32_t)n, (uint32_t)x0->shape[x0->ndim - 2],
    (uint32_t)x0->shape[x0->ndim - 1], (uint32_t)dy0->shape[dy0->ndim - 2],
    (uint32_t)dy0->shape[dy0->ndim - 1], (uint32_t)pp->kernel_h,
    (uint32_t)pp->kernel_w, (uint32_t)MAX(pp->stride_h, 1),
    (uint32_t)MAX(pp->stride_w, 1),
    (uint32_t)pp->pad_top, (uint32_t)pp->pad_left,
    pp->count_include_pad ? 1u : 0u };
  uint32_t spec[2] = { AGF_VK_ELEM_WG, pp->kind == AGF_POOL_MAX ? 0u : 1u };
  AgfVkBinding bind[3] = { agf_vk_bind(x), agf_vk_bind(dy),
                           agf_vk_bind(op->out) };
  return agf_vk_launch_items(dev, spv, spec, 2, bind, 3, &push, sizeof push,
                             n, error);
}
