/* The command stream: a small ring of batches, each a command buffer with
 * its fence, descriptor pools, texel buffer views and timestamp queries.
 * Dispatches are recorded into the current batch, each followed by a full
 * compute/transfer barrier; batches are submitted when full (between ops)
 * or on sync/download, and recycled when their fence signals. */
#include "gpu/vk_runtime.h"
#include <string.h>

#define POOL_SETS 256

static gboolean new_pool(AgfVkDevice *vk, AgfVkBatch *b, GError **error)
{
  VkDescriptorPoolSize sizes[2] = {
    { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, POOL_SETS * 6 },
    { VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, POOL_SETS * 3 },
  };
  VkDescriptorPoolCreateInfo ci = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
    .maxSets = POOL_SETS, .poolSizeCount = 2, .pPoolSizes = sizes,
  };
  VkDescriptorPool pool;
  if (!agf_vk_dev_check(vk, vkCreateDescriptorPool(vk->device, &ci, NULL, &pool),
                        "vkCreateDescriptorPool", error))
    return FALSE;
  g_array_append_val(b->pools, pool);
  return TRUE;
}

gboolean agf_vk_stream_init(AgfVkDevice *vk, GError **error)
{
  VkCommandPoolCreateInfo pci = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
    .queueFamilyIndex = vk->queue_family,
  };
  if (!agf_vk_check(vkCreateCommandPool(vk->device, &pci, NULL, &vk->cmd_pool),
                    "vkCreateCommandPool", error))
    return FALSE;
  for (int i = 0; i < AGF_VK_N_BATCHES; i++) {
    AgfVkBatch *b = &vk->batches[i];
    b->pools = g_array_new(FALSE, FALSE, sizeof(VkDescriptorPool));
    b->views = g_array_new(FALSE, FALSE, sizeof(VkBufferView));
    b->timed = g_array_new(FALSE, FALSE, sizeof(AgfOpTiming));
    VkCommandBufferAllocateInfo ai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
      .commandPool = vk->cmd_pool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1,
    };
    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    if (!agf_vk_check(vkAllocateCommandBuffers(vk->device, &ai, &b->cmd),
                      "vkAllocateCommandBuffers", error) ||
        !agf_vk_check(vkCreateFence(vk->device, &fci, NULL, &b->fence),
                      "vkCreateFence", error) ||
        !new_pool(vk, b, error))
      return FALSE;
    if (vk->timestamps) {
      VkQueryPoolCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
        .queryType = VK_QUERY_TYPE_TIMESTAMP,
        .queryCount = AGF_VK_BATCH_QUERIES,
      };
      if (!agf_vk_check(vkCreateQueryPool(vk->device, &qci, NULL, &b->queries),
                        "vkCreateQueryPool", error))
        return FALSE;
    }
  }
  return TRUE;
}

/* Frees what the batch's commands referenced and makes it FREE. */
static void recycle(AgfVkDevice *vk, AgfVkBatch *b)
{
  for (guint i = 0; i < b->pools->len; i++)
    vkResetDescriptorPool(vk->device,
                          g_array_index(b->pools, VkDescriptorPool, i), 0);
  b->pool_cur = 0;
  for (guint i = 0; i < b->views->len; i++)
    vkDestroyBufferView(vk->device, g_array_index(b->views, VkBufferView, i),
                        NULL);
  g_array_set_size(b->views, 0);
  g_array_set_size(b->timed, 0);
  b->n_queries = 0;
  b->n_commands = 0;
  b->state = AGF_VK_BATCH_FREE;
}

/* After the fence: per-op times from the timestamp pairs. */
static void collect_timings(AgfVkDevice *vk, AgfVkBatch *b)
{
  uint32_t n = b->n_queries & ~1u;
  if (n == 0 || b->timed->len == 0)
    return;
  uint64_t ts[AGF_VK_BATCH_QUERIES];
  if (vkGetQueryPoolResults(vk->device, b->queries, 0, n, n * sizeof(uint64_t),
                            ts, sizeof(uint64_t), VK_QUERY_RESULT_64_BIT)
      != VK_SUCCESS)
    return; /* timings are best effort: a failed read drops this batch's */
  for (uint32_t i = 0; i < n / 2 && i < b->timed->len; i++) {
    AgfOpTiming t = g_array_index(b->timed, AgfOpTiming, i);
    uint64_t d = ((ts[2 * i + 1] & vk->timestamp_mask) -
                  (ts[2 * i] & vk->timestamp_mask)) & vk->timestamp_mask;
    t.usec = (double)d * vk->timestamp_ns / 1000.0;
    g_array_append_val(vk->timings, t);
  }
}

static gboolean wait_batch(AgfVkDevice *vk, AgfVkBatch *b, GError **error)
{
  VkResult r = vkWaitForFences(vk->device, 1, &b->fence, VK_TRUE, UINT64_MAX);
  if (!agf_vk_dev_check(vk, r, "waiting for the GPU (vkWaitForFences)", error))
    return FALSE;
  collect_timings(vk, b);
  vkResetFences(vk->device, 1, &b->fence);
  recycle(vk, b);
  return TRUE;
}

void agf_vk_stream_destroy(AgfVkDevice *vk)
{
  for (int i = 0; i < AGF_VK_N_BATCHES; i++) {
    AgfVkBatch *b = &vk->batches[i];
    if (!b->pools)
      continue;
    recycle(vk, b);
    for (guint j = 0; j < b->pools->len; j++)
      vkDestroyDescriptorPool(vk->device,
                              g_array_index(b->pools, VkDescriptorPool, j), NULL);
    g_array_free(b->pools, TRUE);
    g_array_free(b->views, TRUE);
    g_array_free(b->timed, TRUE);
    if (b->fence)
      vkDestroyFence(vk->device, b->fence, NULL);
    if (b->queries)
      vkDestroyQueryPool(vk->device, b->queries, NULL);
  }
  if (vk->cmd_pool)
    vkDestroyCommandPool(vk->device, vk->cmd_pool, NULL);
}

AgfVkBatch *agf_vk_stream_batch(AgfVkDevice *vk, GError **error)
{
  if (!agf_vk_dev_alive(vk, error))
    return NULL;
  if (vk->cur >= 0)
    return &vk->batches[vk->cur];
  AgfVkBatch *b = &vk->batches[vk->next];
  /* all batches in flight: wait for the oldest (back-pressure only; its
   * work was submitted long ago) */
  if (b->state == AGF_VK_BATCH_SUBMITTED && !wait_batch(vk, b, error))
    return NULL;
  VkCommandBufferBeginInfo bi = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
    .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
  };
  if (!agf_vk_dev_check(vk, vkBeginCommandBuffer(b->cmd, &bi),
                        "vkBeginCommandBuffer", error))
    return NULL;
  if (b->queries)
    vkCmdResetQueryPool(b->cmd, b->queries, 0, AGF_VK_BATCH_QUERIES);
  b->state = AGF_VK_BATCH_RECORDING;
  vk->cur = vk->next;
  vk->next = (vk->next + 1) % AGF_VK_N_BATCHES;
  return b;
}

gboolean agf_vk_stream_submit(AgfVkDevice *vk, GError **error)
{
  if (vk->cur < 0)
    return TRUE;
  AgfVkBatch *b = &vk->batches[vk->cur];
  if (b->n_commands == 0 && b->n_queries == 0)
    return TRUE; /* nothing recorded yet: keep recording into it */
  vk->cur = -1;
  VkResult r = vkEndCommandBuffer(b->cmd);
  if (r == VK_SUCCESS) {
    VkSubmitInfo si = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
      .commandBufferCount = 1, .pCommandBuffers = &b->cmd,
    };
    r = vkQueueSubmit(vk->queue, 1, &si, b->fence);
  }
  if (r != VK_SUCCESS) {
    vkResetCommandBuffer(b->cmd, 0);
    recycle(vk, b);
    return agf_vk_dev_check(vk, r, "submitting work (vkQueueSubmit)", error);
  }
  b->state = AGF_VK_BATCH_SUBMITTED;
  return TRUE;
}

gboolean agf_vk_stream_wait_all(AgfVkDevice *vk, GError **error)
{
  if (!agf_vk_dev_alive(vk, error) || !agf_vk_stream_submit(vk, error))
    return FALSE;
  /* oldest first, so timings come out in submission order */
  for (int i = 0; i < AGF_VK_N_BATCHES; i++) {
    AgfVkBatch *b = &vk->batches[(vk->next + i) % AGF_VK_N_BATCHES];
    if (b->state == AGF_VK_BATCH_SUBMITTED && !wait_batch(vk, b, error))
      return FALSE;
  }
  /* nothing in flight references the staging ring any more */
  vk->staging.head = 0;
  return TRUE;
}

gboolean agf_vk_stream_maybe_flush(AgfVkDevice *vk, gboolean profiling,
                                   GError **error)
{
  if (vk->cur < 0)
    return TRUE;
  AgfVkBatch *b = &vk->batches[vk->cur];
  if (b->n_commands >= AGF_VK_BATCH_DISPATCHES ||
      (profiling && b->n_queries + 2 > AGF_VK_BATCH_QUERIES))
    return agf_vk_stream_submit(vk, error);
  return TRUE;
}

void agf_vk_stream_barrier(VkCommandBuffer cmd)
{
  VkMemoryBarrier mb = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
    .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                     VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
  };
  VkPipelineStageFlags st = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT |
                            VK_PIPELINE_STAGE_TRANSFER_BIT;
  vkCmdPipelineBarrier(cmd, st, st, 0, 1, &mb, 0, NULL, 0, NULL);
}

void agf_vk_stream_op_begin(AgfVkDevice *vk, AgfVkBatch *b, const char *name)
{
  if (!b->queries || b->n_queries + 2 > AGF_VK_BATCH_QUERIES ||
      (b->n_queries & 1))
    return;
  AgfOpTiming t = { .usec = 0 };
  g_strlcpy(t.name, name, sizeof t.name);
  g_array_append_val(b->timed, t);
  /* bottom of pipe: written once all earlier commands have finished */
  vkCmdWriteTimestamp(b->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT,
                      b->queries, b->n_queries++);
  (void)vk;
}

void agf_vk_stream_op_end(AgfVkDevice *vk, AgfVkBatch *b)
{
  if (vk->cur < 0 || b != &vk->batches[vk->cur] || !(b->n_queries & 1))
    return;
  vkCmdWriteTimestamp(b->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT,
                      b->queries, b->n_queries++);
}

AgfOpTiming *agf_vk_take_timings(AgfDevice *dev, int *n_out, GError **error)
{
  AgfVkDevice *vk = agf_vk_dev(dev);
  *n_out = 0;
  if (!agf_vk_stream_wait_all(vk, error))
    return NULL;
  *n_out = (int)vk->timings->len;
  AgfOpTiming *out = g_new0(AgfOpTiming, MAX(vk->timings->len, 1));
  if (vk->timings->len)
    memcpy(out, vk->timings->data, vk->timings->len * sizeof(AgfOpTiming));
  g_array_set_size(vk->timings, 0);
  return out;
}

/* ---- dispatch ---- */

static uint32_t format_size(VkFormat f)
{
  switch (f) {
  case VK_FORMAT_R8_UNORM: case VK_FORMAT_R8_UINT: case VK_FORMAT_R8_SINT:
    return 1;
  case VK_FORMAT_R16_SFLOAT: case VK_FORMAT_R16_UINT: case VK_FORMAT_R16_SINT:
    return 2;
  case VK_FORMAT_R32_SFLOAT: case VK_FORMAT_R32_UINT: case VK_FORMAT_R32_SINT:
  case VK_FORMAT_R16G16_SFLOAT: case VK_FORMAT_R8G8B8A8_UNORM:
  case VK_FORMAT_R8G8B8A8_UINT:
    return 4;
  case VK_FORMAT_R32G32_SFLOAT: case VK_FORMAT_R32G32_UINT:
  case VK_FORMAT_R16G16B16A16_SFLOAT:
    return 8;
  case VK_FORMAT_R32G32B32A32_SFLOAT: case VK_FORMAT_R32G32B32A32_UINT:
    return 16;
  default:
    return 0;
  }
}

gboolean agf_vk_binding_range(AgfVkDevice *vk, const AgfVkBinding *b,
                              VkBuffer *buf, VkDeviceSize *off,
                              VkDeviceSize *range, GError **error)
{
  AgfStorage *s = b->t ? b->t->storage : b->s;
  if (!s || !s->impl || s->dev->impl != vk) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "a Vulkan binding has no storage on this device: move the "
                "tensor to the device first");
    return FALSE;
  }
  const AgfVkAlloc *al = s->impl;
  VkDeviceSize o, r;
  if (b->t) {
    size_t es = agf_dtype_size(b->t->dtype);
    o = (VkDeviceSize)b->t->offset * es;
    r = (VkDeviceSize)agf_tensor_numel(b->t) * es;
  } else {
    o = b->byte_offset;
    r = b->byte_range ? b->byte_range : (o < s->nbytes ? s->nbytes - o : 0);
  }
  r = MAX(r, 4);
  if (o >= al->size || r > al->size - o) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "a Vulkan binding of bytes %" G_GUINT64_FORMAT "+%" G_GUINT64_FORMAT
                " lies outside its storage of %" G_GUINT64_FORMAT " bytes",
                (guint64)o, (guint64)r, (guint64)al->size);
    return FALSE;
  }
  if (b->kind == AGF_VK_BIND_TEXEL) {
    uint32_t fs = format_size(b->texel_format);
    if (fs == 0) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                  "texel format %d is not supported by the Vulkan runtime",
                  (int)b->texel_format);
      return FALSE;
    }
    if (o % vk->caps.texel_align || o % fs) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "a texel binding at byte %" G_GUINT64_FORMAT " is not aligned "
                  "to %" G_GUINT64_FORMAT ": bind a dense, aligned tensor",
                  (guint64)o, (guint64)MAX(vk->caps.texel_align, fs));
      return FALSE;
    }
    /* whole texels; the 256-byte allocation padding covers the round-up */
    r = MIN((r + fs - 1) / fs * fs, (al->size - o) / fs * fs);
    if (r / fs > vk->caps.max_texel_elements) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                  "a texel binding of %" G_GUINT64_FORMAT " elements exceeds "
                  "this device's limit of %u: use a smaller preset or --device cpu",
                  (guint64)(r / fs), vk->caps.max_texel_elements);
      return FALSE;
    }
  } else {
    if (o % vk->caps.storage_align) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "a storage binding at byte %" G_GUINT64_FORMAT " is not "
                  "aligned to %" G_GUINT64_FORMAT ": bind a dense, aligned tensor",
                  (guint64)o, (guint64)vk->caps.storage_align);
      return FALSE;
    }
    r = MIN((r + 3) & ~(VkDeviceSize)3, al->size - o);
    if (r > vk->caps.max_storage_range) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                  "a tensor of %" G_GUINT64_FORMAT " MiB exceeds this device's "
                  "largest storage binding (%" G_GUINT64_FORMAT " MiB): use a "
                  "smaller preset or --device cpu", (guint64)(r >> 20),
                  (guint64)(vk->caps.max_storage_range >> 20));
      return FALSE;
    }
  }
  *buf = al->block->buffer;
  *off = al->offset + o;
  *range = r;
  return TRUE;
}

static VkDescriptorSet alloc_set(AgfVkDevice *vk, AgfVkBatch *b,
                                 VkDescriptorSetLayout layout, GError **error)
{
  for (;;) {
    if (b->pool_cur >= b->pools->len && !new_pool(vk, b, error))
      return VK_NULL_HANDLE;
    VkDescriptorSetAllocateInfo ai = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
      .descriptorPool = g_array_index(b->pools, VkDescriptorPool, b->pool_cur),
      .descriptorSetCount = 1, .pSetLayouts = &layout,
    };
    VkDescriptorSet set;
    VkResult r = vkAllocateDescriptorSets(vk->device, &ai, &set);
    if (r == VK_SUCCESS)
      return set;
    if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL) {
      agf_vk_dev_check(vk, r, "vkAllocateDescriptorSets", error);
      return VK_NULL_HANDLE;
    }
    b->pool_cur++; /* this pool is full: the next one, or a new one */
  }
}

gboolean agf_vk_dispatch(AgfDevice *dev, AgfVkPipeline *pl,
                         const AgfVkBinding *bind, int n_bind,
                         const void *push, uint32_t push_size,
                         uint32_t gx, uint32_t gy, uint32_t gz,
                         GError **error)
{
  AgfVkDevice *vk = agf_vk_dev(dev);
  if (n_bind != pl->n_bind || push_size > pl->push_size ||
      (push_size && !push)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "Vulkan dispatch with %d bindings and %u push bytes for a "
                "pipeline made for %d and %u", n_bind, push_size, pl->n_bind,
                pl->push_size);
    return FALSE;
  }
  if (gx == 0 || gy == 0 || gz == 0)
    return agf_vk_dev_alive(vk, error); /* empty tensor: nothing to do */
  const uint32_t *mx = vk->caps.max_workgroup_count;
  if (gx > mx[0] || gy > mx[1] || gz > mx[2]) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "a dispatch of %u x %u x %u workgroups exceeds the device "
                "limit of %u x %u x %u: the kernel must split the work",
                gx, gy, gz, mx[0], mx[1], mx[2]);
    return FALSE;
  }
  AgfVkBatch *b = agf_vk_stream_batch(vk, error);
  if (!b)
    return FALSE;
  VkDescriptorSet set = alloc_set(vk, b, pl->set_layout, error);
  if (!set)
    return FALSE;

  VkWriteDescriptorSet w[AGF_VK_MAX_BINDINGS];
  VkDescriptorBufferInfo bi[AGF_VK_MAX_BINDINGS];
  VkBufferView views[AGF_VK_MAX_BINDINGS];
  for (int i = 0; i < n_bind; i++) {
    VkBuffer buf;
    VkDeviceSize off, range;
    if (bind[i].kind != pl->kinds[i]) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "binding %d of a Vulkan dispatch has the wrong kind", i);
      return FALSE;
    }
    if (!agf_vk_binding_range(vk, &bind[i], &buf, &off, &range, error))
      return FALSE;
    w[i] = (VkWriteDescriptorSet){
      .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
      .dstSet = set, .dstBinding = (uint32_t)i, .descriptorCount = 1,
    };
    if (bind[i].kind == AGF_VK_BIND_TEXEL) {
      VkBufferViewCreateInfo vci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
        .buffer = buf, .format = bind[i].texel_format,
        .offset = off, .range = range,
      };
      if (!agf_vk_dev_check(vk, vkCreateBufferView(vk->device, &vci, NULL,
                                                   &views[i]),
                            "vkCreateBufferView", error))
        return FALSE;
      /* destroyed when this batch retires, after the GPU used it */
      g_array_append_val(b->views, views[i]);
      w[i].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
      w[i].pTexelBufferView = &views[i];
    } else {
      bi[i] = (VkDescriptorBufferInfo){ buf, off, range };
      w[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      w[i].pBufferInfo = &bi[i];
    }
  }
  vkUpdateDescriptorSets(vk->device, (uint32_t)n_bind, w, 0, NULL);
  vkCmdBindPipeline(b->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pl->pipeline);
  vkCmdBindDescriptorSets(b->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pl->layout,
                          0, 1, &set, 0, NULL);
  if (pl->push_size) {
    /* the whole declared range, zero-padded, so no member is undefined */
    uint8_t data[256] = { 0 };
    if (push_size)
      memcpy(data, push, push_size);
    vkCmdPushConstants(b->cmd, pl->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                       pl->push_size, data);
  }
  vkCmdDispatch(b->cmd, gx, gy, gz);
  agf_vk_stream_barrier(b->cmd);
  b->n_commands++;
  return TRUE;
}
