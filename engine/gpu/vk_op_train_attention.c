/* AGF_OP_ATTENTION_BWD on Vulkan (shaders/attention_bwd.comp): the
 * statistics pass (logsumexp and rowsum(dO * O)) and the dq / dk / dv /
 * dk+dv passes, each recomputing the scores tile by tile (no Lq x Lk buffer). */
#include <math.h>
#include "gpu/vk_op_launch.h"
#include "attention_bwd.spv.h"
#include "attention_bwd_f16.spv.h"
#include "attention_bwd_unroll.spv.h"
#include "attention_bwd_unroll_f16.spv.h"

#define MAX_HEAD_DIM 256

gboolean
agf_vk_op_attention_bwd(AgfDevice *dev, const AgfOp *op, GError **error)
{
  static const AgfVkShader sh_plain = AGF_VK_SHADER(attention_bwd);
  static const AgfVkShader sh_unroll = AGF_VK_SHADER(attention_bwd_unroll);
  const AgfVkCaps *caps = agf_vk_caps(dev);
  const AgfAttentionBwdParams *ap = &op->p.attention_bwd;
  const AgfTensor *q = op->in[0], *k = op->in[1], *v = op->in[2];
  int heads = ap->n_heads;
  gboolean stats_pass = ap->which == AGF_ATTN_GRAD_STATS;
  AgfDType dt = stats_pass ? q->dtype : op->out->dtype;
  if (q->ndim != 3 || k->ndim != 3 || v->ndim != 3 || heads <= 0 ||
      q->shape[2] % heads || v->shape[2] % heads) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "attention_bwd: expected q [B,Lq,H*D], k [B,Lk,H*D], v "
                "[B,Lk,H*Dv] with H = %d dividing the last dims", heads);
    return FALSE;
  }
  uint32_t b = (uint32_t)q->shape[0], lq = (uint32_t)q->shape[1];
  uint32_t lk = (uint32_t)k->shape[1];
  uint32_t d = (uint32_t)(q->shape[2] / heads);
  uint32_t dv = (uint32_t)(v->shape[2] / heads);
  if (d < 1 || dv < 1 || d > MAX_HEAD_DIM || dv > MAX_HEAD_DIM) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                "attention_bwd: head dims %u/%u are outside the 1..%d the "
                "Vulkan kernel supports; use fewer, larger heads or the CPU "
                "device", d, dv, MAX_HEAD_DIM);
    return FALSE;
  }
  /* As the forward: unrolled loops are much faster, but lavapipe compiles
   * them slowly for large head dims. */
  gboolean unroll = !caps->cpu_driver || d + dv <= 128;
  const AgfSpirv *spv = agf_vk_shader_for(dev, unroll ? &sh_unroll : &sh_plain,
                                          dt, "attention_bwd", error);
  if (!spv ||
      !agf_vk_check_u32("attention_bwd", agf_tensor_numel(q), error) ||
      !agf_vk_check_u32("attention_bwd", agf_tensor_numel(k), error) ||
      !agf_vk_check_u32("attention_bwd", agf_tensor_numel(v), error) ||
      !agf_vk_check_u32("attention_bwd", agf_tensor_numel(op->in[4]), error))
    return FALSE;
  if (agf_tensor_numel(op->out) == 0)
    return TRUE;
  if (lk == 0 && ap->which != AGF_ATTN_GRAD_STATS)
    return agf_tensor_fill(op->out, 0.0f, error);

  /* Rows of the streamed side per tile, within shared memory. */
  uint32_t shared = MIN(caps->max_shared_memory, 32768u);
  uint32_t bt_max = caps->cpu_driver ? 8 : (d + dv > 192 ? 8 : 16);
  uint32_t bt = 1;
  while (bt * 2 <= bt_max && bt * 2 * ((d + dv) * 4 + 8) <= shared)
    bt *= 2;
  uint32_t wg = MIN(caps->cpu_driver ? 64u : 32u, caps->max_workgroup_invocations);
  gboolean by_key = ap->which >= AGF_ATTN_GRAD_K;
  uint64_t gx = agf_div_up(by_key ? lk : lq, wg), gy = (uint64_t)b * heads;
  if (gx > caps->max_workgroup_count[0] || gy > caps->max_workgroup_count[1]) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "attention_bwd: %" G_GUINT64_FORMAT " row blocks x %"
                G_GUINT64_FORMAT " batch*heads exceed this device's dispatch "
                "limits; split the batch", gx, gy);
    return FALSE;
  }

  AgfTensor *tmp[5] = { NULL };
  AgfVkBinding bind[7];
  gboolean ok = TRUE;
  for (int i = 0; i < 5 && ok; i++) {
    const AgfTensor *t = agf_vk_as_dtype(dev, op->in[i], dt, &tmp[i], error);
    ok = t != NULL;
    if (ok)
      bind[i] = agf_vk_bind(t);
  }
  if (ok) {
    /* STATS writes st and never the gradient binding, bound to it too. */
    bind[5] = agf_vk_bind(stats_pass ? op->out : op->in[5]);
    bind[6] = agf_vk_bind(op->out);
    float scale = ap->scale != 0.0f ? ap->scale : 1.0f / sqrtf((float)d);
    struct { uint32_t lq, lk, heads; float scale; } push = {
      lq, lk, (uint32_t)heads, scale };
    uint32_t spec[5] = { wg, d, dv, bt, (uint32_t)ap->which };
    ok = agf_vk_launch(dev, spv, spec, 5, bind, 7, &push, sizeof push,
                       (uint32_t)gx, (uint32_t)gy, 1, error);
  }
  for (int i = 0; i < 5; i++)
    if (tmp[i])
      agf_tensor_unref(tmp[i]);
  return ok;
}
