/* AGF_OP_CONV2D on Vulkan. Per image n and group g the convolution is the
 * GEMM out[n, g] (Cog x OH*OW) = W[g] (Cog x Cig*KH*KW) x col (Cig*KH*KW x
 * OH*OW); batching b = n * groups + g makes the output batch stride
 * uniform (Cog * OH * OW). 1x1 / stride 1 / no padding reads x directly as
 * B; other shapes gather it (im2col) inside the GEMM engine; depthwise
 * convs (groups == Ci == Co) have their own direct kernel. */
#include "gpu/vk_gemm.h"

#include "conv_depthwise.spv.h"
#include "conv_depthwise_f16.spv.h"

typedef struct {
  uint32_t c, h, w, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw, batch_base;
} DepthwisePush;

static gboolean conv_depthwise(AgfDevice *dev, const AgfTensor *x,
                               const AgfTensor *w, const AgfTensor *bias,
                               AgfTensor *out, const AgfVkIm2col *geo,
                               GError **error)
{
  AgfSpirv spv = out->dtype == AGF_F16 ? AGF_SPIRV(agf_spv_conv_depthwise_f16)
                                       : AGF_SPIRV(agf_spv_conv_depthwise);
  uint32_t spec[1] = { bias != NULL };
  static const AgfVkBindKind kinds[4] = { AGF_VK_BIND_STORAGE, AGF_VK_BIND_STORAGE,
                                          AGF_VK_BIND_STORAGE, AGF_VK_BIND_STORAGE };
  AgfVkPipeline *pl = agf_vk_pipeline(dev, &spv, spec, 1, kinds, 4,
                                      sizeof(DepthwisePush), error);
  if (!pl)
    return FALSE;
  uint32_t oh = (uint32_t)out->shape[2];
  DepthwisePush push = {
    .c = geo->ci, .h = geo->h, .w = geo->w, .oh = oh, .ow = geo->ow,
    .kh = geo->kh, .kw = geo->kw, .sh = geo->sh, .sw = geo->sw,
    .pt = geo->pt, .pl = geo->pl, .dh = geo->dh, .dw = geo->dw,
  };
  AgfVkBinding bind[4] = { agf_vk_bind(x), agf_vk_bind(w), agf_vk_bind(out),
                           agf_vk_bind(bias ? bias : out) };
  const AgfVkCaps *caps = agf_vk_caps(dev);
  uint64_t groups = agf_div_up((uint64_t)geo->ci * oh * geo->ow, 64);
  uint32_t gx = (uint32_t)MAX(1, MIN(groups, caps->max_workgroup_count[0]));
  uint32_t gy = agf_div_up(groups, gx);
  uint32_t n = (uint32_t)x->shape[0], zmax = caps->max_workgroup_count[2];
  for (uint32_t b0 = 0; b0 < n; b0 += zmax) {
    push.batch_base = b0;
    if (!agf_vk_dispatch(dev, pl, bind, 4, &push, sizeof push, gx, gy,
                         MIN(zmax, n - b0), error))
      return FALSE;
  }
  return TRUE;
}

gboolean agf_vk_op_conv2d(AgfDevice *dev, const AgfOp *op, GError **error)
{
  const AgfConv2dParams *p = &op->p.conv;
  AgfDType dt = op->out->dtype;
  g_autoptr(AgfTensor) tx = NULL, tw = NULL, tbias = NULL;
  const AgfTensor *x = agf_vk_gemm_input(dev, op->in[0], dt, &tx, "conv2d", error);
  const AgfTensor *w = x ? agf_vk_gemm_input(dev, op->in[1], dt, &tw, "conv2d", error)
                         : NULL;
  if (!w)
    return FALSE;
  const AgfTensor *bias = NULL;
  if (op->n_in > 2 && op->in[2]) {
    bias = agf_vk_gemm_input(dev, op->in[2], dt, &tbias, "conv2d", error);
    if (!bias)
      return FALSE;
  }
  uint64_t numel = MAX(agf_tensor_numel(x), agf_tensor_numel(op->out));
  if (numel > G_MAXUINT32) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "conv2d on Vulkan: %" G_GUINT64_FORMAT " elements exceed the "
                "kernels' 32-bit indices; run the batch in smaller parts", numel);
    return FALSE;
  }
  uint32_t n = (uint32_t)x->shape[0], ci = (uint32_t)x->shape[1];
  uint32_t co = (uint32_t)w->shape[0];
  uint32_t groups = p->groups > 0 ? (uint32_t)p->groups : 1;
  uint32_t cig = ci / groups, cog = co / groups;
  uint32_t oh = (uint32_t)op->out->shape[2], ow = (uint32_t)op->out->shape[3];
  AgfVkIm2col geo = {
    .ci = ci, .h = (uint32_t)x->shape[2], .w = (uint32_t)x->shape[3], .ow = ow,
    .kh = (uint32_t)w->shape[2], .kw = (uint32_t)w->shape[3],
    .sh = p->stride_h > 0 ? (uint32_t)p->stride_h : 1,
    .sw = p->stride_w > 0 ? (uint32_t)p->stride_w : 1,
    .pt = (uint32_t)p->pad_top, .pl = (uint32_t)p->pad_left,
    .dh = p->dil_h > 0 ? (uint32_t)p->dil_h : 1,
    .dw = p->dil_w > 0 ? (uint32_t)p->dil_w : 1,
    .groups = groups, .cig = cig,
  };
  if (groups > 1 && groups == ci && groups == co)
    return conv_depthwise(dev, x, w, bias, op->out, &geo, error);

  uint32_t pix = oh * ow, kg = cig * geo.kh * geo.kw;
  AgfVkGemm g = {
    .m = cog, .n = pix, .k = kg, .batch = n * groups,
    .a = { .t = w, .batches = groups, .bstride = cog * kg, .s_row = kg, .s_k = 1 },
    .alpha = 1.0f,
    .bias = bias, .bias_mode = bias ? AGF_VK_BIAS_ROW : AGF_VK_BIAS_NONE,
    .bias_groups = groups,
    .out = op->out, .c_bs = cog * pix, .c_ld = pix,
  };
  gboolean direct = geo.kh == 1 && geo.kw == 1 && geo.sh == 1 && geo.sw == 1 &&
                    p->pad_top == 0 && p->pad_bottom == 0 &&
                    p->pad_left == 0 && p->pad_right == 0;
  if (direct)
    /* x[n, g*cig + c, pixel] is B(k = c, row = pixel) of batch n*groups+g. */
    g.b = (AgfVkGemmOperand){ .t = x, .batches = n * groups,
                              .bstride = cig * pix, .s_row = 1, .s_k = pix };
  else
    g.b = (AgfVkGemmOperand){ .t = x, .batches = n * groups, .geo = &geo };
  return agf_vk_gemm(dev, &g, error);
}
