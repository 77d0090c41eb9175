/* Row reductions on Vulkan (shaders/row_reduce.comp, one workgroup per
 * row): softmax and L2 normalize over the last dim, global average pool
 * over H*W. */
#include "gpu/vk_op_launch.h"
#include "row_reduce.spv.h"
#include "row_reduce_f16.spv.h"

enum { MODE_SOFTMAX, MODE_L2, MODE_MEAN };

static gboolean
run_rows(AgfDevice *dev, const AgfOp *op, const char *name, uint32_t mode,
         uint64_t rows, uint64_t len, float eps, GError **error)
{
  static const AgfVkShader sh_def = AGF_VK_SHADER(row_reduce);
  AgfDType dt = op->out->dtype;
  const AgfSpirv *spv = agf_vk_shader_for(dev, &sh_def, dt, name, error);
  if (!spv || !agf_vk_check_u32(name, rows * len, error))
    return FALSE;
  g_autoptr(AgfTensor) tx = NULL;
  const AgfTensor *x = agf_vk_as_dtype(dev, op->in[0], dt, &tx, error);
  if (!x)
    return FALSE;
  struct { uint32_t rows, len; float eps; } push = {
    (uint32_t)rows, (uint32_t)len, eps };
  uint32_t spec[2] = { agf_vk_reduce_wg(dev, len), mode };
  AgfVkBinding bind[2] = { agf_vk_bind(x), agf_vk_bind(op->out) };
  return agf_vk_launch_folded(dev, spv, spec, 2, bind, 2, &push, sizeof push,
                              rows, error);
}

gboolean
agf_vk_op_softmax(AgfDevice *dev, const AgfOp *op, GError **error)
{
  const AgfTensor *x = op->in[0];
  uint64_t len = (uint64_t)x->shape[x->ndim - 1];
  return run_rows(dev, op, "softmax", MODE_SOFTMAX,
                  (uint64_t)agf_tensor_numel(x) / len, len, 0.0f, error);
}

gboolean
agf_vk_op_l2_normalize(AgfDevice *dev, const AgfOp *op, GError **error)
{
  const AgfTensor *x = op->in[0];
  uint64_t len = (uint64_t)x->shape[x->ndim - 1];
  return run_rows(dev, op, "l2_normalize", MODE_L2,
                  (uint64_t)agf_tensor_numel(x) / len, len, op->p.l2.eps,
                  error);
}

gboolean
agf_vk_op_global_avg_pool(AgfDevice *dev, const AgfOp *op, GError **error)
{
  const AgfTensor *x = op->in[0];
  uint64_t rows = agf_vk_dims_prod(x, 0, MIN(x->ndim, 2));
  return run_rows(dev, op, "global_avg_pool", MODE_MEAN, rows,
                  (uint64_t)agf_tensor_numel(x) / rows, 0.0f, error);
}
