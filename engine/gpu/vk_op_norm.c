/* Normalization ops on Vulkan: group norm and layer norm (one workgroup per
 * row, shaders/norm.comp) and inference batch norm (elementwise,
 * shaders/batch_norm.comp). */
#include "gpu/vk_op_launch.h"
#include "norm.spv.h"
#include "norm_f16.spv.h"
#include "batch_norm.spv.h"
#include "batch_norm_f16.spv.h"

typedef struct {
  uint32_t rows, len, inner, groups;
  float eps;
} NormPush;

/* Normalizes rows x rows of len elements; gamma/beta (or NULL) indexed by
 * (row % groups) * (len / inner) + i / inner. */
static gboolean
run_norm(AgfDevice *dev, const AgfOp *op, const char *name,
         const NormPush *push, GError **error)
{
  static const AgfVkShader sh_def = AGF_VK_SHADER(norm);
  AgfDType dt = op->out->dtype;
  const AgfSpirv *spv = agf_vk_shader_for(dev, &sh_def, dt, name, error);
  if (!spv || !agf_vk_check_u32(name, agf_tensor_numel(op->in[0]), error))
    return FALSE;
  gboolean affine = op->n_in >= 3 && op->in[1] && op->in[2];
  g_autoptr(AgfTensor) tx = NULL;
  g_autoptr(AgfTensor) tg = NULL;
  g_autoptr(AgfTensor) tb = NULL;
  const AgfTensor *x = agf_vk_as_dtype(dev, op->in[0], dt, &tx, error);
  if (!x)
    return FALSE;
  const AgfTensor *g = x, *b = x; /* dummies bound when there is no affine */
  if (affine) {
    g = agf_vk_as_dtype(dev, op->in[1], dt, &tg, error);
    b = g ? agf_vk_as_dtype(dev, op->in[2], dt, &tb, error) : NULL;
    if (!b)
      return FALSE;
  }
  uint32_t spec[2] = { agf_vk_reduce_wg(dev, push->len), affine ? 1u : 0u };
  AgfVkBinding bind[4] = { agf_vk_bind(x), agf_vk_bind(g), agf_vk_bind(b),
                           agf_vk_bind(op->out) };
  return agf_vk_launch_folded(dev, spv, spec, 2, bind, 4, push,
                              sizeof *push, push->rows, error);
}

gboolean
agf_vk_op_group_norm(AgfDevice *dev, const AgfOp *op, GError **error)
{
  const AgfTensor *x = op->in[0];
  int groups = op->p.group_norm.groups;
  int64_t c = x->ndim >= 2 ? x->shape[1] : 0;
  if (groups <= 0 || c % groups != 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "group_norm: %" G_GINT64_FORMAT " channels do not split into "
                "%d groups; pass a group count that divides the channels",
                c, groups);
    return FALSE;
  }
  uint64_t inner = agf_vk_dims_prod(x, 2, x->ndim);
  NormPush push = {
    .rows = (uint32_t)(x->shape[0] * groups),
    .len = (uint32_t)((uint64_t)(c / groups) * inner),
    .inner = (uint32_t)inner,
    .groups = (uint32_t)groups,
    .eps = op->p.group_norm.eps,
  };
  return run_norm(dev, op, "group_norm", &push, error);
}

gboolean
agf_vk_op_layer_norm(AgfDevice *dev, const AgfOp *op, GError **error)
{
  const AgfTensor *x = op->in[0];
  uint64_t d = (uint64_t)x->shape[x->ndim - 1];
  NormPush push = {
    .rows = (uint32_t)(agf_tensor_numel(x) / d),
    .len = (uint32_t)d,
    .inner = 1,
    .groups = 1,
    .eps = op->p.layer_norm.eps,
  };
  return run_norm(dev, op, "layer_norm", &push, error);
}

gboolean
agf_vk_op_batch_norm(AgfDevice *dev, const AgfOp *op, GError **error)
{
  static const AgfVkShader sh_def = AGF_VK_SHADER(batch_norm);
  AgfDType dt = op->out->dtype;
  const AgfTensor *x = op->in[0];
  uint64_t n = (uint64_t)agf_tensor_numel(x);
  const AgfSpirv *spv = agf_vk_shader_for(dev, &sh_def, dt, "batch_norm", error);
  if (!spv || !agf_vk_check_u32("batch_norm", n, error))
    return FALSE;
  AgfTensor *tmp[5] = { NULL };
  AgfVkBinding bind[6];
  gboolean ok = TRUE;
  for (int i = 0; i < 5 && ok; i++) {
    const AgfTensor *t = agf_vk_as_dtype(dev, op->in[i], dt, &tmp[i], error);
    ok = t != NULL;
    if (ok)
      bind[i] = agf_vk_bind(t);
  }
  if (ok) {
    struct { uint32_t n, inner, channels; float eps; } push = {
      (uint32_t)n, (uint32_t)agf_vk_dims_prod(x, 2, x->ndim),
      (uint32_t)(x->ndim >= 2 ? x->shape[1] : 1), op->p.batch_norm.eps };
    uint32_t spec[1] = { AGF_VK_ELEM_WG };
    bind[5] = agf_vk_bind(op->out);
    ok = agf_vk_launch_items(dev, spv, spec, 1, bind, 6, &push, sizeof push,
                             n, error);
  }
  for (int i = 0; i < 5; i++)
    if (tmp[i])
      agf_tensor_unref(tmp[i]);
  return ok;
}
