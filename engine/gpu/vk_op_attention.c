/* Fused scaled-dot-product attention on Vulkan (shaders/attention.comp):
 * flash-style online softmax, one invocation per query row, K/V tiles in
 * shared memory; the head dims are specialization constants. */
#include <math.h>
#include "gpu/vk_op_launch.h"
#include "attention.spv.h"
#include "attention_f16.spv.h"
#include "attention_unroll.spv.h"
#include "attention_unroll_f16.spv.h"

#define MIN_HEAD_DIM 1
#define MAX_HEAD_DIM 256

gboolean
agf_vk_op_attention(AgfDevice *dev, const AgfOp *op, GError **error)
{
  static const AgfVkShader sh_plain = AGF_VK_SHADER(attention);
  static const AgfVkShader sh_unroll = AGF_VK_SHADER(attention_unroll);
  const AgfVkCaps *caps = agf_vk_caps(dev);
  const AgfTensor *q = op->in[0], *k = op->in[1], *v = op->in[2];
  int heads = op->p.attention.n_heads;
  AgfDType dt = op->out->dtype;
  if (q->ndim != 3 || k->ndim != 3 || v->ndim != 3 || heads <= 0 ||
      q->shape[2] % heads || v->shape[2] % heads) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "attention: expected q [B,Lq,H*D], k [B,Lk,H*D], v [B,Lk,H*Dv] "
                "with H = %d dividing the last dims", heads);
    return FALSE;
  }
  uint32_t b = (uint32_t)q->shape[0], lq = (uint32_t)q->shape[1];
  uint32_t lk = (uint32_t)k->shape[1];
  uint32_t d = (uint32_t)(q->shape[2] / heads);
  uint32_t dv = (uint32_t)(v->shape[2] / heads);
  if (d < MIN_HEAD_DIM || d > MAX_HEAD_DIM || dv > MAX_HEAD_DIM) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                "attention: head dims %u/%u are outside the 1..%d the Vulkan "
                "kernel supports; use fewer, larger heads or the CPU device",
                d, dv, MAX_HEAD_DIM);
    return FALSE;
  }
  /* Unrolled loops run ~10x faster, but lavapipe's compile time grows
   * fast with the head dims (~6 s at D = 64, minutes at D = 160). */
  gboolean unroll = !caps->cpu_driver || d + dv <= 128;
  const AgfSpirv *spv = agf_vk_shader_for(dev, unroll ? &sh_unroll : &sh_plain,
                                          dt, "attention", error);
  if (!spv ||
      !agf_vk_check_u32("attention", agf_tensor_numel(q), error) ||
      !agf_vk_check_u32("attention", agf_tensor_numel(k), error) ||
      !agf_vk_check_u32("attention", agf_tensor_numel(op->out), error))
    return FALSE;

  /* Keys per tile: the kernel unrolls its loops over the tile, so keep
   * it small (compile time on CPU drivers, registers on GPUs), and within
   * shared memory. */
  uint32_t shared = MIN(caps->max_shared_memory, 32768u);
  uint32_t bk_max = caps->cpu_driver ? 8 : (d + dv > 192 ? 8 : 16);
  uint32_t bk = 1;
  while (bk * 2 <= bk_max && bk * 2 * (d + dv) * 4 <= shared)
    bk *= 2;
  /* Queries per workgroup: small on GPUs so short sequences still fill
   * the machine. */
  uint32_t bq = MIN(caps->cpu_driver ? 64u : 32u, caps->max_workgroup_invocations);
  uint64_t gx = agf_div_up(lq, bq), gy = (uint64_t)b * (uint64_t)heads;
  if (gx > caps->max_workgroup_count[0] || gy > caps->max_workgroup_count[1]) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "attention: %u queries x %" G_GUINT64_FORMAT " batch*heads "
                "exceed this device's dispatch limits; split the batch",
                lq, gy);
    return FALSE;
  }

  g_autoptr(AgfTensor) tq = NULL;
  g_autoptr(AgfTensor) tk = NULL;
  g_autoptr(AgfTensor) tv = NULL;
  const AgfTensor *cq = agf_vk_as_dtype(dev, q, dt, &tq, error);
  const AgfTensor *ck = cq ? agf_vk_as_dtype(dev, k, dt, &tk, error) : NULL;
  const AgfTensor *cv = ck ? agf_vk_as_dtype(dev, v, dt, &tv, error) : NULL;
  if (!cv)
    return FALSE;
  float scale = op->p.attention.scale;
  if (scale == 0.0f)
    scale = 1.0f / sqrtf((float)d);
  struct { uint32_t lq, lk, heads; float scale; } push = {
    lq, lk, (uint32_t)heads, scale };
  uint32_t spec[4] = { bq, d, dv, bk };
  AgfVkBinding bind[4] = { agf_vk_bind(cq), agf_vk_bind(ck), agf_vk_bind(cv),
                           agf_vk_bind(op->out) };
  return agf_vk_launch(dev, spv, spec, 4, bind, 4, &push, sizeof push,
                       (uint32_t)gx, (uint32_t)gy, 1, error);
}
