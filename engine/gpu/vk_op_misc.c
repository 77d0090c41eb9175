/* Concat (strided copies into slices of the output, no shader of its own)
 * and the sinusoidal timestep embedding (shaders/timestep_embed.comp) on
 * Vulkan. */
#include <math.h>
#include "gpu/vk_op_launch.h"
#include "timestep_embed.spv.h"
#include "timestep_embed_f16.spv.h"

gboolean
agf_vk_op_concat(AgfDevice *dev, const AgfOp *op, GError **error)
{
  const AgfTensor *out = op->out;
  int dim = op->p.concat.dim;
  if (dim < 0)
    dim += out->ndim;
  if (dim < 0 || dim >= out->ndim) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "concat: dim %d is out of range for %d-D tensors",
                op->p.concat.dim, out->ndim);
    return FALSE;
  }
  int64_t start = 0;
  for (int i = 0; i < op->n_in; i++) {
    const AgfTensor *x = op->in[i];
    if (start + x->shape[dim] > out->shape[dim]) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                  "concat: the inputs are larger than the output along dim %d",
                  dim);
      return FALSE;
    }
    /* A view of out's slice [start, start + len) along dim. */
    AgfTensor slice = *out;
    slice.shape[dim] = x->shape[dim];
    slice.offset = out->offset + (size_t)(start * out->stride[dim]);
    if (!agf_vk_copy_strided(dev, x, &slice, error))
      return FALSE;
    start += x->shape[dim];
  }
  return TRUE;
}

gboolean
agf_vk_op_timestep_embed(AgfDevice *dev, const AgfOp *op, GError **error)
{
  static const AgfVkShader sh_def = AGF_VK_SHADER(timestep_embed);
  const AgfTimestepEmbedParams *pp = &op->p.temb;
  const AgfTensor *out = op->out;
  int half = pp->dim / 2;
  float max_period = pp->max_period != 0.0f ? pp->max_period : 10000.0f;
  if (pp->dim < 1 || (half > 0 && (float)half - pp->downscale_freq_shift == 0.0f)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "timestep_embed: dim %d with freq shift %g divides by zero; "
                "use dim >= 2 and a shift below dim/2",
                pp->dim, pp->downscale_freq_shift);
    return FALSE;
  }
  uint64_t n = (uint64_t)agf_tensor_numel(out);
  const AgfSpirv *spv = agf_vk_shader_for(dev, &sh_def, out->dtype,
                                          "timestep_embed", error);
  if (!spv || !agf_vk_check_u32("timestep_embed", n, error))
    return FALSE;
  g_autoptr(AgfTensor) tt = NULL;
  const AgfTensor *t = agf_vk_as_dtype(dev, op->in[0], AGF_F32, &tt, error);
  if (!t)
    return FALSE;
  /* The frequencies in the CPU backend's f32 order of operations. */
  struct { uint32_t n, dim, half_dim, flip; float log_period, denom; } push = {
    (uint32_t)n, (uint32_t)pp->dim, (uint32_t)half, pp->flip_sin_to_cos ? 1u : 0u,
    -logf(max_period), (float)half - pp->downscale_freq_shift };
  uint32_t spec[1] = { AGF_VK_ELEM_WG };
  AgfVkBinding bind[2] = { agf_vk_bind(t), agf_vk_bind(out) };
  return agf_vk_launch_items(dev, spv, spec, 1, bind, 2, &push, sizeof push,
                             n, error);
}
