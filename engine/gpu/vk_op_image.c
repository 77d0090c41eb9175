/* Image conversions on Vulkan: u8 HWC images (packed 4 bytes per 32-bit
 * word) to normalized float NCHW tensors and back to RGBA
 * (shaders/image_to_tensor.comp, tensor_to_image.comp), and the colormap
 * heatmap (shaders/colormap.comp). */
#include "gpu/vk_op_launch.h"
#include "image_to_tensor.spv.h"
#include "image_to_tensor_f16.spv.h"
#include "tensor_to_image.spv.h"
#include "tensor_to_image_f16.spv.h"
#include "colormap.spv.h"
#include "colormap_f16.spv.h"

static gboolean
check_nchw3(const char *name, const AgfTensor *t, GError **error)
{
  if (t->ndim == 4 && t->shape[1] == 3)
    return TRUE;
  char b[160];
  g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
              "%s: expected a [N,3,H,W] tensor, got %s", name,
              agf_shape_str(t, b, sizeof b));
  return FALSE;
}

gboolean
agf_vk_op_image_to_tensor(AgfDevice *dev, const AgfOp *op, GError **error)
{
  static const AgfVkShader sh_def = AGF_VK_SHADER(image_to_tensor);
  const AgfTensor *img = op->in[0];
  const AgfImageToTensorParams *pp = &op->p.to_tensor;
  if (img->dtype != AGF_U8 || img->ndim != 4 ||
      (img->shape[3] != 3 && img->shape[3] != 4)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "image_to_tensor: expected a u8 [N,H,W,3|4] image");
    return FALSE;
  }
  for (int c = 0; c < 3; c++)
    if (pp->std[c] == 0.0f) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "image_to_tensor: std[%d] is 0; pass non-zero std", c);
      return FALSE;
    }
  const AgfSpirv *spv = agf_vk_shader_for(dev, &sh_def, op->out->dtype,
                                          "image_to_tensor", error);
  uint64_t pixels = agf_vk_dims_prod(img, 0, 3);
  if (!spv || !agf_vk_check_u32("image_to_tensor", agf_tensor_numel(img), error) ||
      !check_nchw3("image_to_tensor", op->out, error))
    return FALSE;
  struct {
    uint32_t n, hw, channels;
    float mean[3], inv_std[3];
  } push = { (uint32_t)pixels, (uint32_t)(img->shape[1] * img->shape[2]),
             (uint32_t)img->shape[3],
             { pp->mean[0], pp->mean[1], pp->mean[2] },
             { 1.0f / pp->std[0], 1.0f / pp->std[1], 1.0f / pp->std[2] } };
  uint32_t spec[1] = { AGF_VK_ELEM_WG };
  AgfVkBinding bind[2] = { agf_vk_bind(img), agf_vk_bind(op->out) };
  return agf_vk_launch_items(dev, spv, spec, 1, bind, 2, &push, sizeof push,
                             pixels, error);
}

gboolean
agf_vk_op_tensor_to_image(AgfDevice *dev, const AgfOp *op, GError **error)
{
  static const AgfVkShader sh_def = AGF_VK_SHADER(tensor_to_image);
  const AgfTensor *x = op->in[0];
  const AgfTensorToImageParams *pp = &op->p.to_image;
  if (!check_nchw3("tensor_to_image", x, error))
    return FALSE;
  const AgfSpirv *spv = agf_vk_shader_for(dev, &sh_def, x->dtype,
                                          "tensor_to_image", error);
  if (!spv || !agf_vk_check_u32("tensor_to_image", agf_tensor_numel(op->out), error))
    return FALSE;
  uint64_t pixels = (uint64_t)(x->shape[0] * x->shape[2] * x->shape[3]);
  struct {
    uint32_t n, hw;
    float mean[3], std[3];
  } push = { (uint32_t)pixels, (uint32_t)(x->shape[2] * x->shape[3]),
             { pp->mean[0], pp->mean[1], pp->mean[2] },
             { pp->std[0], pp->std[1], pp->std[2] } };
  uint32_t spec[1] = { AGF_VK_ELEM_WG };
  AgfVkBinding bind[2] = { agf_vk_bind(x), agf_vk_bind(op->out) };
  return agf_vk_launch_items(dev, spv, spec, 1, bind, 2, &push, sizeof push,
                             pixels, error);
}

gboolean
agf_vk_op_colormap(AgfDevice *dev, const AgfOp *op, GError **error)
{
  static const AgfVkShader sh_def = AGF_VK_SHADER(colormap);
  const AgfTensor *x = op->in[0];
  const AgfColormapParams *pp = &op->p.cmap;
  if (x->ndim != 4) {
    char b[160];
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "colormap: expected a [N,C,H,W] tensor, got %s",
                agf_shape_str(x, b, sizeof b));
    return FALSE;
  }
  if ((unsigned)pp->cmap >= AGF_CMAP_COUNT) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "colormap: unknown colour map %d; use an AgfColormap value",
                pp->cmap);
    return FALSE;
  }
  const AgfSpirv *spv = agf_vk_shader_for(dev, &sh_def, x->dtype, "colormap",
                                          error);
  if (!spv || !agf_vk_check_u32("colormap", agf_tensor_numel(x), error))
    return FALSE;

  /* The table as 256 words 0x00BBGGRR, uploaded with the op (1 KiB). */
  const uint8_t *rgb = agf_colormap_lut(pp->cmap);
  if (!rgb) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "colormap: no table for colour map %d", pp->cmap);
    return FALSE;
  }
  uint32_t words[256];
  for (int i = 0; i < 256; i++)
    words[i] = (uint32_t)rgb[3 * i] | (uint32_t)rgb[3 * i + 1] << 8 |
               (uint32_t)rgb[3 * i + 2] << 16;
  int64_t lut_shape[1] = { sizeof words };
  g_autoptr(AgfTensor) lut = agf_tensor_from_host(dev, AGF_U8, 1, lut_shape,
                                                  words, error);
  if (!lut)
    return FALSE;

  uint64_t hw = (uint64_t)(x->shape[2] * x->shape[3]);
  float range = pp->vmax - pp->vmin;
  struct {
    uint32_t n, hw, channels, signed_values;
    float vmin, inv_range;
  } push = { (uint32_t)(x->shape[0] * hw), (uint32_t)hw,
             (uint32_t)x->shape[1], pp->signed_values ? 1u : 0u, pp->vmin,
             range != 0.0f ? 1.0f / range : 0.0f };
  uint32_t spec[1] = { AGF_VK_ELEM_WG };
  AgfVkBinding bind[3] = { agf_vk_bind(x), agf_vk_bind(lut),
                           agf_vk_bind(op->out) };
  return agf_vk_launch_items(dev, spv, spec, 1, bind, 3, &push, sizeof push,
                             push.n, error);
}
