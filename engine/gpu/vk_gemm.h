/* The Vulkan GEMM engine shared by AGF_OP_GEMM and AGF_OP_CONV2D:
 * C[b] = alpha * A[b] B[b] + bias for b < batch, where each operand is a
 * strided view of a tensor or an im2col gather from a conv input, and C is
 * a strided window of a dense output. It picks the kernel for the device:
 * texel-buffer panels on CPU drivers, shared-memory tiles on GPUs,
 * cooperative matrices for fp16 where VK_NV_cooperative_matrix exists. */
#pragma once
#include "gpu/vk_internal.h"

G_BEGIN_DECLS

/* Conv geometry for an im2col operand: x [N, ci, h, w] read as
 * batch b = n * groups + g, rows = output pixels (oy * ow + ox),
 * k = (c * kh + ky) * kw + kx, c < cig. */
typedef struct {
  uint32_t ci, h, w, ow, kh, kw, sh, sw, pt, pl, dh, dw, groups, cig;
} AgfVkIm2col;

/* Element (b, row, k) of an operand: A has rows = M, B has rows = N.
 * Strided: t[(b % batches) * bstride + row * s_row + k * s_k] (elements
 * from t's first element). im2col (geo != NULL): the gather above, with
 * batches = N * groups. */
typedef struct {
  const AgfTensor *t;
  uint32_t batches, bstride, s_row, s_k;
  const AgfVkIm2col *geo;
} AgfVkGemmOperand;

typedef enum {
  AGF_VK_BIAS_NONE,
  AGF_VK_BIAS_COL, /* bias[col]: linear layers */
  AGF_VK_BIAS_ROW, /* bias[(b % bias_groups) * m + row]: conv channels */
} AgfVkBiasMode;

typedef struct {
  uint32_t m, n, k, batch;
  AgfVkGemmOperand a, b;
  float alpha;
  const AgfTensor *bias;
  AgfVkBiasMode bias_mode;
  uint32_t bias_groups;
  /* C(b, row, col) = out[b * c_bs + row * c_ld + col]; out is dense and of
   * the operands' dtype. */
  AgfTensor *out;
  uint32_t c_bs, c_ld;
} AgfVkGemm;

/* t when it has dtype dt, else a converted dense copy kept in *tmp (unref
 * it after recording); NULL with an error for a non-float dtype. */
const AgfTensor *agf_vk_gemm_input(AgfDevice *dev, const AgfTensor *t,
                                   AgfDType dt, AgfTensor **tmp,
                                   const char *op, GError **error);

/* Records the dispatches of g (operands and output of one float dtype). */
gboolean agf_vk_gemm(AgfDevice *dev, const AgfVkGemm *g, GError **error);

G_END_DECLS
