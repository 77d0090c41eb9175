/* Resampling ops on Vulkan: nearest upsample and bilinear resize
 * (shaders/resize.comp), affine warp (shaders/affine_warp.comp). Planes
 * are the leading dims flattened; H, W the last two. */
#include "gpu/vk_op_launch.h"
#include "resize.spv.h"
#include "resize_f16.spv.h"
#include "affine_warp.spv.h"
#include "affine_warp_f16.spv.h"

enum { MODE_NEAREST, MODE_BILINEAR };

typedef struct {
  uint32_t n, ih, iw, oh, ow, factor, align_corners;
  float sy, sx;
} ResizePush;

static gboolean
run_resize(AgfDevice *dev, const AgfOp *op, const char *name, uint32_t mode,
           ResizePush *push, GError **error)
{
  static const AgfVkShader sh_def = AGF_VK_SHADER(resize);
  AgfDType dt = op->out->dtype;
  const AgfTensor *x0 = op->in[0];
  if (x0->ndim < 2) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "%s: the input needs at least 2 dims (H, W)", name);
    return FALSE;
  }
  uint64_t n = (uint64_t)agf_tensor_numel(op->out);
  const AgfSpirv *spv = agf_vk_shader_for(dev, &sh_def, dt, name, error);
  if (!spv || !agf_vk_check_u32(name, n, error) ||
      !agf_vk_check_u32(name, agf_tensor_numel(x0), error))
    return FALSE;
  g_autoptr(AgfTensor) tx = NULL;
  const AgfTensor *x = agf_vk_as_dtype(dev, x0, dt, &tx, error);
  if (!x)
    return FALSE;
  push->n = (uint32_t)n;
  push->ih = (uint32_t)x0->shape[x0->ndim - 2];
  push->iw = (uint32_t)x0->shape[x0->ndim - 1];
  push->oh = (uint32_t)op->out->shape[op->out->ndim - 2];
  push->ow = (uint32_t)op->out->shape[op->out->ndim - 1];
  uint32_t spec[2] = { AGF_VK_ELEM_WG, mode };
  AgfVkBinding bind[2] = { agf_vk_bind(x), agf_vk_bind(op->out) };
  return agf_vk_launch_items(dev, spv, spec, 2, bind, 2, push, sizeof *push,
                             n, error);
}

gboolean
agf_vk_op_upsample_nearest(AgfDevice *dev, const AgfOp *op, GError **error)
{
  int f = op->p.upsample.factor ? op->p.upsample.factor : 2;
  if (f < 1) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "upsample_nearest: factor %d must be >= 1", f);
    return FALSE;
  }
  ResizePush push = { .factor = (uint32_t)f };
  return run_resize(dev, op, "upsample_nearest", MODE_NEAREST, &push, error);
}

gboolean
agf_vk_op_resize_bilinear(AgfDevice *dev, const AgfOp *op, GError **error)
{
  const AgfTensor *x = op->in[0], *y = op->out;
  double ih = (double)x->shape[x->ndim - 2], iw = (double)x->shape[x->ndim - 1];
  double oh = (double)y->shape[y->ndim - 2], ow = (double)y->shape[y->ndim - 1];
  ResizePush push = { .factor = 1, .align_corners = op->p.resize.align_corners };
  if (op->p.resize.align_corners) {
    push.sy = oh > 1 ? (float)((ih - 1) / (oh - 1)) : 0.0f;
    push.sx = ow > 1 ? (float)((iw - 1) / (ow - 1)) : 0.0f;
  } else {
    push.sy = (float)(ih / oh);
    push.sx = (float)(iw / ow);
  }
  return run_resize(dev, op, "resize_bilinear", MODE_BILINEAR, &push, error);
}

gboolean
agf_vk_op_affine_warp(AgfDevice *dev, const AgfOp *op, GError **error)
{
  static const AgfVkShader sh_def = AGF_VK_SHADER(affine_warp);
  AgfDType dt = op->out->dtype;
  const AgfTensor *img = op->in[0], *m = op->in[1];
  if (img->ndim != 4 || agf_tensor_numel(m) != img->shape[0] * 6) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "affine_warp: expected img [N,C,H,W] and matrix [N,2,3]");
    return FALSE;
  }
  uint64_t n = (uint64_t)agf_tensor_numel(op->out);
  const AgfSpirv *spv = agf_vk_shader_for(dev, &sh_def, dt, "affine_warp",
                                          error);
  if (!spv || !agf_vk_check_u32("affine_warp", n, error) ||
      !agf_vk_check_u32("affine_warp", agf_tensor_numel(img), error))
    return FALSE;
  g_autoptr(AgfTensor) tx = NULL;
  g_autoptr(AgfTensor) tm = NULL;
  const AgfTensor *x = agf_vk_as_dtype(dev, img, dt, &tx, error);
  const AgfTensor *cm = x ? agf_vk_as_dtype(dev, m, AGF_F32, &tm, error) : NULL;
  if (!cm)
    return FALSE;
  struct { uint32_t n, channels, ih, iw, oh, ow; float border; } push = {
    (uint32_t)n, (uint32_t)img->shape[1], (uint32_t)img->shape[2],
    (uint32_t)img->shape[3], (uint32_t)op->out->shape[2],
    (uint32_t)op->out->shape[3], op->p.warp.border };
  uint32_t spec[1] = { AGF_VK_ELEM_WG };
  AgfVkBinding bind[3] = { agf_vk_bind(x), agf_vk_bind(cm),
                           agf_vk_bind(op->out) };
  return agf_vk_launch_items(dev, spv, spec, 1, bind, 3, &push, sizeof push,
                             n, error);
}
