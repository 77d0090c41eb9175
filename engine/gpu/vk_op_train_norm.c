/* Training normalization kernels on Vulkan (shaders/norm_bwd.comp):
 * batch-norm statistics (AGF_OP_NORM_STATS) and the dx / dgamma gradients
 * of group and layer norm (AGF_OP_NORM_BWD). Statistics are recomputed
 * from x in f32 with two passes, as the forward does. */
#include "gpu/vk_op_launch.h"
#include "norm_bwd.spv.h"
#include "norm_bwd_f16.spv.h"

enum { MODE_STATS, MODE_ROW_STATS, MODE_DX, MODE_DGAMMA };

typedef struct {
  uint32_t rows, len, inner, groups, channels, outer;
  float eps;
} NormBwdPush;

/* x, dy, gamma, out, st: dummies (any bound tensor) where a mode does not
 * read or write the binding. */
static gboolean
launch(AgfDevice *dev, const AgfSpirv *spv, uint32_t mode, gboolean affine,
       uint64_t len, const AgfTensor *const t[5], const NormBwdPush *push,
       uint64_t groups, GError **error)
{
  uint32_t spec[3] = { agf_vk_reduce_wg(dev, len), mode, affine };
  AgfVkBinding bind[5];
  for (int i = 0; i < 5; i++)
    bind[i] = agf_vk_bind(t[i]);
  return agf_vk_launch_folded(dev, spv, spec, 3, bind, 5, push, sizeof *push,
                              groups, error);
}

static const AgfVkShader norm_bwd_shader = AGF_VK_SHADER(norm_bwd);

gboolean
agf_vk_op_norm_stats(AgfDevice *dev, const AgfOp *op, GError **error)
{
  const AgfTensor *x0 = op->in[0];
  AgfDType dt = x0->dtype;
  const AgfSpirv *spv = agf_vk_shader_for(dev, &norm_bwd_shader, dt,
                                          "norm_stats", error);
  if (!spv || !agf_vk_check_u32("norm_stats", agf_tensor_numel(x0), error))
    return FALSE;
  uint64_t c = (uint64_t)x0->shape[1], inner = agf_vk_dims_prod(x0, 2, x0->ndim);
  uint64_t outer = (uint64_t)x0->shape[0];
  if (c == 0)
    return TRUE;
  if (outer * inner == 0)
    return agf_tensor_fill(op->out, 0.0f, error);
  NormBwdPush push = { .inner = (uint32_t)inner, .groups = 1,
                       .channels = (uint32_t)c, .outer = (uint32_t)outer };
  const AgfTensor *t[5] = { x0, x0, x0, op->out, op->out };
  return launch(dev, spv, MODE_STATS, FALSE, outer * inner, t, &push, c, error);
}

gboolean
agf_vk_op_norm_bwd(AgfDevice *dev, const AgfOp *op, GError **error)
{
  const AgfNormBwdParams *np = &op->p.norm_bwd;
  AgfDType dt = op->out->dtype;
  const AgfTensor *x0 = op->in[0];
  const AgfTensor *g0 = op->n_in > 2 ? op->in[2] : NULL;
  const AgfSpirv *spv = agf_vk_shader_for(dev, &norm_bwd_shader, dt,
                                          "norm_bwd", error);
  if (!spv || !agf_vk_check_u32("norm_bwd", agf_tensor_numel(x0), error))
    return FALSE;
  NormBwdPush push = { .eps = np->eps };
  if (np->kind == AGF_NORM_GROUP) {
    int64_t c = x0->ndim >= 2 ? x0->shape[1] : 0;
    if (np->groups <= 0 || c % np->groups != 0) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "norm_bwd: %" G_GINT64_FORMAT " channels do not split into "
                  "%d groups; pass a group count that divides the channels",
                  c, np->groups);
      return FALSE;
    }
    uint64_t inner = agf_vk_dims_prod(x0, 2, x0->ndim);
    push.rows = (uint32_t)(x0->shape[0] * np->groups);
    push.len = (uint32_t)((uint64_t)(c / np->groups) * inner);
    push.inner = (uint32_t)inner;
    push.groups = (uint32_t)np->groups;
    push.channels = (uint32_t)c;
    push.outer = (uint32_t)x0->shape[0];
  } else {
    uint64_t d = (uint64_t)x0->shape[x0->ndim - 1];
    push.rows = d ? (uint32_t)(agf_tensor_numel(x0) / d) : 0;
    push.len = (uint32_t)d;
    push.inner = 1;
    push.groups = 1;
    push.channels = (uint32_t)d;
    push.outer = push.rows;
  }
  if (agf_tensor_numel(op->out) == 0)
    return TRUE;
  if (push.len == 0 || push.rows == 0)
    return agf_tensor_fill(op->out, 0.0f, error);

  g_autoptr(AgfTensor) tx = NULL;
  g_autoptr(AgfTensor) tdy = NULL;
  g_autoptr(AgfTensor) tg = NULL;
  const AgfTensor *x = agf_vk_as_dtype(dev, x0, dt, &tx, error);
  const AgfTensor *dy = x ? agf_vk_as_dtype(dev, op->in[1], dt, &tdy, error)
                          : NULL;
  if (!dy)
    return FALSE;
  if (np->which == AGF_NORM_GRAD_INPUT) {
    const AgfTensor *g = x;
    if (g0 && !(g = agf_vk_as_dtype(dev, g0, dt, &tg, error)))
      return FALSE;
    /* st is unused by this mode: any storage binding will do. */
    const AgfTensor *t[5] = { x, dy, g, op->out, x };
    return launch(dev, spv, MODE_DX, g0 != NULL, push.len, t, &push,
                  push.rows, error);
  }
  /* dgamma needs every row's statistics first: one pass per row into an
   * f32 temporary, then one workgroup per channel. */
  int64_t st_shape[1] = { 2 * (int64_t)push.rows };
  g_autoptr(AgfTensor) st = agf_tensor_new(dev, AGF_F32, 1, st_shape, error);
  if (!st)
    return FALSE;
  const AgfTensor *t1[5] = { x, x, x, x, st };
  if (!launch(dev, spv, MODE_ROW_STATS, FALSE, push.len, t1, &push, push.rows,
              error))
    return FALSE;
  const AgfTensor *t3[5] = { x, dy, x, op->out, st };
  return launch(dev, spv, MODE_DGAMMA, FALSE,
                (uint64_t)push.outer * push.inner, t3, &push, push.channels,
                error);
}
