/* The Vulkan runtime's private state, shared by the gpu/vk_*.c runtime
 * files (instance, device, arena, staging, pipelines, command stream).
 * Op implementations use gpu/vk_internal.h only. */
#pragma once
#include "gpu/vk_internal.h"

G_BEGIN_DECLS

/* Every sub-allocation starts on this boundary (raised to the device's
 * storage / texel alignment when larger), so any dense tensor at the start
 * of a storage can be bound directly as a storage or texel buffer. */
#define AGF_VK_ALIGN 256
#define AGF_VK_BLOCK_BYTES ((VkDeviceSize)64 << 20)
#define AGF_VK_STAGING_BYTES ((VkDeviceSize)32 << 20)
#define AGF_VK_N_BATCHES 3
#define AGF_VK_BATCH_DISPATCHES 256
#define AGF_VK_BATCH_QUERIES 512

/* ---- instance (vk_instance.c) ---- */

/* The process-wide instance, created on first use; VK_NULL_HANDLE (and no
 * error) when there is no Vulkan loader/driver. */
VkInstance agf_vk_instance(uint32_t *api_version, GError **error);
/* FALSE with an AGF_ERROR (VkResult named) unless r is VK_SUCCESS. */
gboolean agf_vk_check(VkResult r, const char *what, GError **error);
const char *agf_vk_result_name(VkResult r);

/* ---- physical devices (vk_enumerate.c) ---- */

typedef struct {
  gboolean fp16;
  gboolean float16_int8_ext; /* needs VK_KHR_shader_float16_int8 enabled */
  gboolean coopmat_nv;       /* also implies vulkanMemoryModel (coopmat shaders use it) */
  gboolean memory_model_ext; /* needs VK_KHR_vulkan_memory_model enabled */
  uint32_t coopmat_m, coopmat_n, coopmat_k;
} AgfVkFeatureProbe;

/* Every physical device (raw loader order); NULL + n 0 without Vulkan. */
VkPhysicalDevice *agf_vk_physical_devices(uint32_t *n, GError **error);
uint32_t agf_vk_effective_api(VkPhysicalDevice pd);
void agf_vk_probe_features(VkPhysicalDevice pd, AgfVkFeatureProbe *out);
gboolean agf_vk_has_extension(VkPhysicalDevice pd, const char *name);
void agf_vk_fill_info(VkPhysicalDevice pd, int index, AgfDeviceInfo *info);

/* ---- memory (vk_arena.c) ---- */

typedef struct {
  VkDeviceMemory memory;
  VkBuffer buffer;
  VkDeviceSize size;
  GArray *free; /* AgfVkRange, sorted by offset, coalesced */
} AgfVkBlock;

typedef struct { VkDeviceSize offset, size; } AgfVkRange;

/* AgfStorage.impl of a Vulkan storage. */
typedef struct {
  AgfVkBlock *block;
  VkDeviceSize offset; /* in block->buffer */
  VkDeviceSize size;   /* rounded allocation size */
} AgfVkAlloc;

typedef struct {
  GPtrArray *blocks; /* AgfVkBlock* */
  uint32_t memory_type;
  VkDeviceSize align;
  VkDeviceSize heap_size;
  VkDeviceSize max_alloc;
  size_t in_use, peak, reserved;
} AgfVkArena;

/* ---- command stream (vk_stream.c) ---- */

typedef enum { AGF_VK_BATCH_FREE, AGF_VK_BATCH_RECORDING,
               AGF_VK_BATCH_SUBMITTED } AgfVkBatchState;

typedef struct {
  AgfVkBatchState state;
  VkCommandBuffer cmd;
  VkFence fence;
  GArray *pools;      /* VkDescriptorPool; all reset when the batch retires */
  guint pool_cur;
  GArray *views;      /* VkBufferView destroyed when the batch retires */
  VkQueryPool queries;
  uint32_t n_queries;
  GArray *timed;      /* AgfOpTiming (usec filled at retirement) */
  uint32_t n_commands;
} AgfVkBatch;

typedef struct {
  VkBuffer buffer;
  VkDeviceMemory memory;
  uint8_t *map;
  VkDeviceSize size, head;
} AgfVkStaging;

typedef struct {
  VkPhysicalDevice phys;
  VkDevice device;
  VkQueue queue;
  uint32_t queue_family;
  uint32_t api_version;
  AgfVkCaps caps;
  VkPhysicalDeviceMemoryProperties mem_props;
  gboolean timestamps;       /* the queue supports timestamp queries */
  double timestamp_ns;       /* timestampPeriod */
  uint64_t timestamp_mask;
  gboolean lost;             /* VK_ERROR_DEVICE_LOST seen: every call fails */

  AgfVkArena arena;
  AgfVkStaging staging;

  VkPipelineCache pipeline_cache;
  GHashTable *pipelines;     /* key string -> AgfVkPipeline* */

  VkCommandPool cmd_pool;
  AgfVkBatch batches[AGF_VK_N_BATCHES];
  int cur;                   /* recording batch, -1 when none */
  int next;                  /* next batch to start (the oldest submitted) */
  GArray *timings;           /* AgfOpTiming of retired batches */
} AgfVkDevice;

static inline AgfVkDevice *agf_vk_dev(AgfDevice *dev)
{ return (AgfVkDevice *)dev->impl; }

/* Marks the device lost on VK_ERROR_DEVICE_LOST, then agf_vk_check. */
gboolean agf_vk_dev_check(AgfVkDevice *vk, VkResult r, const char *what,
                          GError **error);
/* FALSE with AGF_ERROR_DEVICE once the device was lost. */
gboolean agf_vk_dev_alive(AgfVkDevice *vk, GError **error);

gboolean agf_vk_arena_init(AgfVkDevice *vk, GError **error);
void agf_vk_arena_destroy(AgfVkDevice *vk);
AgfStorage *agf_vk_storage_alloc(AgfDevice *dev, size_t nbytes,
                                 GError **error);
void agf_vk_storage_release(AgfDevice *dev, AgfStorage *s);
void agf_vk_arena_stats(const AgfDevice *dev, AgfMemStats *out);
void agf_vk_arena_reset_peak(AgfDevice *dev);

gboolean agf_vk_staging_init(AgfVkDevice *vk, GError **error);
void agf_vk_staging_destroy(AgfVkDevice *vk);
gboolean agf_vk_upload(AgfDevice *dev, AgfStorage *s, size_t offset,
                       const void *src, size_t nbytes, GError **error);
gboolean agf_vk_download(AgfDevice *dev, AgfStorage *s, size_t offset,
                         void *dst, size_t nbytes, GError **error);

#define AGF_VK_MAX_BINDINGS 16

struct AgfVkPipeline {
  VkPipeline pipeline;
  VkPipelineLayout layout;
  VkDescriptorSetLayout set_layout;
  AgfVkBindKind kinds[AGF_VK_MAX_BINDINGS];
  int n_bind;
  uint32_t push_size;
};

void agf_vk_pipelines_destroy(AgfVkDevice *vk);

gboolean agf_vk_stream_init(AgfVkDevice *vk, GError **error);
void agf_vk_stream_destroy(AgfVkDevice *vk);
/* The batch being recorded (starting one, which may wait for the oldest
 * in-flight batch when all are busy). */
AgfVkBatch *agf_vk_stream_batch(AgfVkDevice *vk, GError **error);
/* Submits the recording batch (if it recorded anything). */
gboolean agf_vk_stream_submit(AgfVkDevice *vk, GError **error);
/* Submits, then waits for and retires every batch. */
gboolean agf_vk_stream_wait_all(AgfVkDevice *vk, GError **error);
/* Submits when the recording batch is full; call only between ops. */
gboolean agf_vk_stream_maybe_flush(AgfVkDevice *vk, gboolean profiling,
                                   GError **error);
/* The barrier recorded after every dispatch and transfer. */
void agf_vk_stream_barrier(VkCommandBuffer cmd);
/* Timestamp pair around one op (no-op without timestamp support). */
void agf_vk_stream_op_begin(AgfVkDevice *vk, AgfVkBatch *b,
                            const char *name);
void agf_vk_stream_op_end(AgfVkDevice *vk, AgfVkBatch *b);
AgfOpTiming *agf_vk_take_timings(AgfDevice *dev, int *n_out, GError **error);

/* Binding helpers (vk_stream.c): the buffer, offset and range a binding
 * resolves to. */
gboolean agf_vk_binding_range(AgfVkDevice *vk, const AgfVkBinding *b,
                              VkBuffer *buf, VkDeviceSize *off,
                              VkDeviceSize *range, GError **error);

const AgfBackend *agf_vk_backend(void);
/* Waits for the GPU, then frees everything the device holds. */
void agf_vk_device_destroy(AgfDevice *dev);

G_END_DECLS
