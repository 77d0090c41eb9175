/* AGF_OP_GEMM on Vulkan: maps the op's A/B layouts (transposes, batch
 * broadcasting) onto strided operands of the GEMM engine (vk_gemm.c). */
#include "gpu/vk_gemm.h"

gboolean agf_vk_op_gemm(AgfDevice *dev, const AgfOp *op, GError **error)
{
  const AgfGemmParams *p = &op->p.gemm;
  AgfDType dt = op->out->dtype;
  g_autoptr(AgfTensor) ta = NULL, tb = NULL, tbias = NULL;
  const AgfTensor *a = agf_vk_gemm_input(dev, op->in[0], dt, &ta, "GEMM", error);
  const AgfTensor *b = a ? agf_vk_gemm_input(dev, op->in[1], dt, &tb, "GEMM", error)
                         : NULL;
  if (!b)
    return FALSE;
  const AgfTensor *bias = NULL;
  if (op->n_in > 2 && op->in[2]) {
    bias = agf_vk_gemm_input(dev, op->in[2], dt, &tbias, "GEMM", error);
    if (!bias)
      return FALSE;
  }
  int ra = a->ndim, rb = b->ndim;
  uint32_t ba = ra == 3 ? (uint32_t)a->shape[0] : 1;
  uint32_t bb = rb == 3 ? (uint32_t)b->shape[0] : 1;
  uint32_t m = (uint32_t)a->shape[p->trans_a ? ra - 1 : ra - 2];
  uint32_t k = (uint32_t)a->shape[p->trans_a ? ra - 2 : ra - 1];
  uint32_t n = (uint32_t)b->shape[p->trans_b ? rb - 2 : rb - 1];
  AgfVkGemm g = {
    .m = m, .n = n, .k = k, .batch = MAX(ba, bb),
    /* A(m, k): [M, K] row-major, or [K, M] when transposed. */
    .a = { .t = a, .batches = ba, .bstride = m * k,
           .s_row = p->trans_a ? 1 : k, .s_k = p->trans_a ? m : 1 },
    /* B as rows n: [K, N] row-major, or [N, K] when transposed. */
    .b = { .t = b, .batches = bb, .bstride = k * n,
           .s_row = p->trans_b ? k : 1, .s_k = p->trans_b ? 1 : n },
    .alpha = p->alpha != 0.0f ? p->alpha : 1.0f,
    .bias = bias, .bias_mode = bias ? AGF_VK_BIAS_COL : AGF_VK_BIAS_NONE,
    .bias_groups = 1,
    .out = op->out, .c_bs = m * n, .c_ld = n,
  };
  if (bb == 1 && ba > 1 && !p->trans_a) {
    /* A shared B (a linear layer over a batch): one tall GEMM, which fills
     * the kernels better than ba small ones. */
    g.m = ba * m;
    g.a.batches = 1;
    g.batch = 1;
    g.c_bs = g.m * n;
  }
  return agf_vk_gemm(dev, &g, error);
}
