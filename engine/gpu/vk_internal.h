/* What Vulkan op implementations (gpu/vk_op_*.c) use from the Vulkan
 * runtime (gpu/vk_*.c): device capabilities, cached pipelines built from
 * embedded SPIR-V, and recorded dispatches. Internal to the engine.
 *
 * Execution model: agf_vk_dispatch records into the device's current
 * command buffer with a full compute barrier after every dispatch, so
 * consecutive dispatches see each other's writes and a storage released by
 * an op can be reused by the next one. Nothing waits for the GPU until a
 * download or agf_device_sync(). */
#pragma once
#include <vulkan/vulkan.h>
#include "nn/backend.h"

G_BEGIN_DECLS

/* An embedded SPIR-V module; build it with AGF_SPIRV(symbol) where symbol
 * is the array a generated "<name>.spv.h" header defines (agf_spv_<name>). */
typedef struct {
  const uint32_t *code;
  size_t size; /* bytes */
  const char *name;
} AgfSpirv;
#define AGF_SPIRV(sym) ((AgfSpirv){ (sym), sizeof(sym), #sym })

typedef struct {
  gboolean cpu_driver;        /* lavapipe / llvmpipe / SwiftShader */
  uint32_t vendor_id;         /* 0x10de NVIDIA, 0x1002 AMD, 0x8086 Intel, 0x10005 Mesa */
  gboolean fp16;              /* shaderFloat16 + storageBuffer16BitAccess */
  gboolean coopmat_nv;        /* VK_NV_cooperative_matrix with fp16 16x16x16 (or 16x8x16) */
  uint32_t coopmat_m, coopmat_n, coopmat_k; /* the fp16 shape chosen */
  uint32_t subgroup_size;
  uint32_t max_workgroup_invocations;
  uint32_t max_workgroup_count[3];
  uint32_t max_shared_memory;
  uint32_t max_push_constants;
  VkDeviceSize storage_align;  /* minStorageBufferOffsetAlignment */
  VkDeviceSize texel_align;    /* minTexelBufferOffsetAlignment */
  uint32_t max_texel_elements; /* maxTexelBufferElements */
  VkDeviceSize max_storage_range; /* maxStorageBufferRange */
} AgfVkCaps;

const AgfVkCaps *agf_vk_caps(AgfDevice *dev);

typedef enum {
  AGF_VK_BIND_STORAGE, /* layout(std430, binding=i) buffer */
  AGF_VK_BIND_TEXEL,   /* layout(binding=i) uniform samplerBuffer (read only) */
} AgfVkBindKind;

/* One descriptor. Either a dense tensor (bound from its first element to
 * its last), or a raw byte range of a storage (t == NULL; byte_range 0
 * means to the end of the storage). Tensor offsets
 * must be aligned (the runtime densifies/aligns op inputs before calling an
 * op implementation, so op code can bind op->in[i] and op->out directly). */
typedef struct {
  AgfVkBindKind kind;
  const AgfTensor *t;
  AgfStorage *s;
  size_t byte_offset, byte_range;
  VkFormat texel_format; /* TEXEL only: R32_SFLOAT, R32G32B32A32_SFLOAT, R16_SFLOAT, ... */
} AgfVkBinding;

static inline AgfVkBinding agf_vk_bind(const AgfTensor *t)
{ return (AgfVkBinding){ .kind = AGF_VK_BIND_STORAGE, .t = t }; }
static inline AgfVkBinding agf_vk_bind_texel(const AgfTensor *t, VkFormat f)
{ return (AgfVkBinding){ .kind = AGF_VK_BIND_TEXEL, .t = t, .texel_format = f }; }

typedef struct AgfVkPipeline AgfVkPipeline;

/* A compute pipeline for spv with these specialization constants
 * (constant_id 0..n_spec-1, all 32-bit), descriptor kinds (binding
 * 0..n_bind-1, set 0) and push-constant size. Built once, then cached on
 * the device (the returned pointer stays valid until the device is freed). */
AgfVkPipeline *agf_vk_pipeline(AgfDevice *dev, const AgfSpirv *spv,
                               const uint32_t *spec, int n_spec,
                               const AgfVkBindKind *kinds, int n_bind,
                               uint32_t push_size, GError **error);

/* Records one dispatch of (gx, gy, gz) workgroups. Group counts above the
 * device limit are an error (split the work, or fold into y/z). */
gboolean agf_vk_dispatch(AgfDevice *dev, AgfVkPipeline *pl,
                         const AgfVkBinding *bind, int n_bind,
                         const void *push, uint32_t push_size,
                         uint32_t gx, uint32_t gy, uint32_t gz,
                         GError **error);

/* Records a copy of src into dst (same shape; any strides and offsets on
 * both sides; F32/F16 converted; U8 to U8 only). AGF_OP_COPY and concat are built on it. */
gboolean agf_vk_copy_strided(AgfDevice *dev, const AgfTensor *src,
                             const AgfTensor *dst, GError **error);

/* Messages the validation layers reported since start-up (only counted
 * with AGFAS_VK_VALIDATE=1); tests assert it stays 0. */
int agf_vk_validation_message_count(void);

static inline uint32_t agf_div_up(uint64_t a, uint64_t b)
{ return (uint32_t)((a + b - 1) / b); }

/* One implementation per op kind: each receives a checked op whose inputs
 * are dense and aligned (except AGF_OP_COPY, which takes any strides) and
 * whose output is dense. Defined in gpu/vk_op_*.c, collected in
 * gpu/vk_op_table.c. */
typedef gboolean (*AgfVkOpFn)(AgfDevice *dev, const AgfOp *op, GError **error);
extern const AgfVkOpFn agf_vk_op_table[AGF_OP_COUNT];

G_END_DECLS
