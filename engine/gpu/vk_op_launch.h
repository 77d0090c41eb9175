/* Helpers shared by the Vulkan op families of vk_op_<family>.c other than
 * the runtime and GEMM/conv ones: shader variant choice by dtype, dtype
 * conversion of inputs, workgroup sizing and grid folding, dispatch. */
#pragma once
#include "gpu/vk_internal.h"

G_BEGIN_DECLS

/* The f32 and f16-storage builds of one shader (NAME.comp compiled as
 * agf_spv_NAME and agf_spv_NAME_f16). */
typedef struct { AgfSpirv f32, f16; } AgfVkShader;
#define AGF_VK_SHADER(name) \
  { { agf_spv_##name, sizeof(agf_spv_##name), #name }, \
    { agf_spv_##name##_f16, sizeof(agf_spv_##name##_f16), #name "_f16" } }

/* Workgroup size of the 1-D elementwise kernels. */
#define AGF_VK_ELEM_WG 256u

/* The build of sh whose float tensors have dtype dt, or NULL with an error
 * when dt is not a float type or the device lacks fp16 storage. */
const AgfSpirv *agf_vk_shader_for(AgfDevice *dev, const AgfVkShader *sh,
                                  AgfDType dt, const char *op,
                                  GError **error);

/* t itself when it already has dtype dt, else a dense converted copy
 * stored in *tmp (the caller unrefs it after recording its dispatches). */
const AgfTensor *agf_vk_as_dtype(AgfDevice *dev, const AgfTensor *t,
                                 AgfDType dt, AgfTensor **tmp,
                                 GError **error);

/* FALSE with a message naming op when n does not fit the 32-bit element
 * indices the shaders use. */
gboolean agf_vk_check_u32(const char *op, uint64_t n, GError **error);

/* Product of shape[from..to). */
uint64_t agf_vk_dims_prod(const AgfTensor *t, int from, int to);

/* A power-of-two workgroup size for reducing rows of len elements: at
 * least 32, at most 256 (64 on CPU drivers) and the device limit. */
uint32_t agf_vk_reduce_wg(AgfDevice *dev, uint64_t len);

/* Splits a 1-D count of workgroups into (gx, gy) within the device's
 * limits; shaders take group gl_WorkGroupID.y * gl_NumWorkGroups.x +
 * gl_WorkGroupID.x and skip the ones past the end. */
gboolean agf_vk_fold_groups(AgfDevice *dev, uint64_t groups, uint32_t *gx,
                            uint32_t *gy, GError **error);

/* Gets the cached pipeline of spv (storage bindings only, push constants
 * of push_size bytes) and records one dispatch. */
gboolean agf_vk_launch(AgfDevice *dev, const AgfSpirv *spv,
                       const uint32_t *spec, int n_spec,
                       const AgfVkBinding *bind, int n_bind,
                       const void *push, uint32_t push_size,
                       uint32_t gx, uint32_t gy, uint32_t gz,
                       GError **error);

/* Like agf_vk_launch for n_groups workgroups folded into x/y. */
gboolean agf_vk_launch_folded(AgfDevice *dev, const AgfSpirv *spv,
                              const uint32_t *spec, int n_spec,
                              const AgfVkBinding *bind, int n_bind,
                              const void *push, uint32_t push_size,
                              uint64_t n_groups, GError **error);

/* One invocation per item for n_items items: spec[0] must be the
 * workgroup size AGF_VK_ELEM_WG. Does nothing when n_items is 0. */
gboolean agf_vk_launch_items(AgfDevice *dev, const AgfSpirv *spv,
                             const uint32_t *spec, int n_spec,
                             const AgfVkBinding *bind, int n_bind,
                             const void *push, uint32_t push_size,
                             uint64_t n_items, GError **error);

G_END_DECLS
