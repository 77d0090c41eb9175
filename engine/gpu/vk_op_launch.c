/* Shared plumbing of the Vulkan op families (see vk_op_launch.h). */
#include "gpu/vk_op_launch.h"

#define MAX_BINDINGS 8

const AgfSpirv *
agf_vk_shader_for(AgfDevice *dev, const AgfVkShader *sh, AgfDType dt,
                  const char *op, GError **error)
{
  if (dt == AGF_F32)
    return &sh->f32;
  if (dt == AGF_F16) {
    if (!agf_vk_caps(dev)->fp16) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
                  "%s: this Vulkan device has no fp16 storage/arithmetic; "
                  "use f32 tensors", op);
      return NULL;
    }
    return &sh->f16;
  }
  g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
              "%s: tensors of dtype %s are not accepted; use f32 or f16",
              op, agf_dtype_name(dt));
  return NULL;
}

const AgfTensor *
agf_vk_as_dtype(AgfDevice *dev, const AgfTensor *t, AgfDType dt,
                AgfTensor **tmp, GError **error)
{
  *tmp = NULL;
  if (t->dtype == dt)
    return t;
  if ((t->dtype != AGF_F32 && t->dtype != AGF_F16) ||
      (dt != AGF_F32 && dt != AGF_F16)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
                "cannot convert a %s tensor to %s: only f32 and f16 convert",
                agf_dtype_name(t->dtype), agf_dtype_name(dt));
    return NULL;
  }
  AgfTensor *c = agf_tensor_new(dev, dt, t->ndim, t->shape, error);
  if (!c)
    return NULL;
  if (!agf_vk_copy_strided(dev, t, c, error)) {
    agf_tensor_unref(c);
    return NULL;
  }
  *tmp = c;
  return c;
}

gboolean
agf_vk_check_u32(const char *op, uint64_t n, GError **error)
{
  if (n <= G_MAXUINT32)
    return TRUE;
  g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
              "%s: %" G_GUINT64_FORMAT " elements exceed the 2^32 the Vulkan "
              "kernels index; split the tensor", op, n);
  return FALSE;
}

uint64_t
agf_vk_dims_prod(const AgfTensor *t, int from, int to)
{
  uint64_t n = 1;
  for (int i = from; i < to && i < t->ndim; i++)
    n *= (uint64_t)t->shape[i];
  return n;
}

uint32_t
agf_vk_reduce_wg(AgfDevice *dev, uint64_t len)
{
  const AgfVkCaps *caps = agf_vk_caps(dev);
  /* CPU drivers run a workgroup's invocations in turn on one core, where
   * every barrier of the tree costs a pass over all of them. */
  uint32_t limit = MIN(caps->cpu_driver ? 64u : 256u,
                       caps->max_workgroup_invocations);
  uint32_t wg = 32;
  while (wg < len && wg * 2 <= limit)
    wg *= 2;
  while (wg > limit)
    wg /= 2;
  return wg;
}

gboolean
agf_vk_fold_groups(AgfDevice *dev, uint64_t groups, uint32_t *gx,
                   uint32_t *gy, GError **error)
{
  const AgfVkCaps *caps = agf_vk_caps(dev);
  uint64_t mx = caps->max_workgroup_count[0], my = caps->max_workgroup_count[1];
  if (groups <= mx) {
    *gx = (uint32_t)MAX(groups, 1);
    *gy = 1;
    return TRUE;
  }
  uint64_t y = (groups + mx - 1) / mx;
  if (y > my) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "%" G_GUINT64_FORMAT " workgroups exceed this device's "
                "dispatch limits; split the tensor", groups);
    return FALSE;
  }
  *gy = (uint32_t)y;
  *gx = (uint32_t)((groups + y - 1) / y);
  return TRUE;
}

gboolean
agf_vk_launch(AgfDevice *dev, const AgfSpirv *spv, const uint32_t *spec,
              int n_spec, const AgfVkBinding *bind, int n_bind,
              const void *push, uint32_t push_size, uint32_t gx, uint32_t gy,
              uint32_t gz, GError **error)
{
  AgfVkBindKind kinds[MAX_BINDINGS];
  g_return_val_if_fail(n_bind <= MAX_BINDINGS, FALSE);
  for (int i = 0; i < n_bind; i++)
    kinds[i] = bind[i].kind;
  AgfVkPipeline *pl = agf_vk_pipeline(dev, spv, spec, n_spec, kinds, n_bind,
                                      push_size, error);
  if (!pl)
    return FALSE;
  return agf_vk_dispatch(dev, pl, bind, n_bind, push, push_size, gx, gy, gz,
                         error);
}

gboolean
agf_vk_launch_folded(AgfDevice *dev, const AgfSpirv *spv,
                     const uint32_t *spec, int n_spec,
                     const AgfVkBinding *bind, int n_bind, const void *push,
                     uint32_t push_size, uint64_t n_groups, GError **error)
{
  uint32_t gx, gy;
  if (n_groups == 0)
    return TRUE;
  if (!agf_vk_fold_groups(dev, n_groups, &gx, &gy, error))
    return FALSE;
  return agf_vk_launch(dev, spv, spec, n_spec, bind, n_bind, push, push_size,
                       gx, gy, 1, error);
}

gboolean
agf_vk_launch_items(AgfDevice *dev, const AgfSpirv *spv, const uint32_t *spec,
                    int n_spec, const AgfVkBinding *bind, int n_bind,
                    const void *push, uint32_t push_size, uint64_t n_items,
                    GError **error)
{
  return agf_vk_launch_folded(dev, spv, spec, n_spec, bind, n_bind, push,
                              push_size, (n_items + spec[0] - 1) / spec[0],
                              error);
}
