/* Host <-> device transfers through one host-visible staging ring.
 * Uploads copy into the ring and record a buffer copy in order with the
 * dispatches; when the ring is full the stream is submitted and drained
 * and the ring starts over. Downloads drain the stream, copy to the ring,
 * wait, and memcpy out. */
#include "gpu/vk_runtime.h"
#include <string.h>

gboolean agf_vk_staging_init(AgfVkDevice *vk, GError **error)
{
  AgfVkStaging *st = &vk->staging;
  st->size = AGF_VK_STAGING_BYTES;
  VkBufferCreateInfo bci = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = st->size,
    .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
    .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  if (!agf_vk_check(vkCreateBuffer(vk->device, &bci, NULL, &st->buffer),
                    "vkCreateBuffer (staging)", error))
    return FALSE;
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(vk->device, st->buffer, &req);
  const VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                     VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  int type = -1;
  /* host-cached makes downloads fast; any coherent host memory works */
  for (int pass = 0; pass < 2 && type < 0; pass++)
    for (uint32_t i = 0; i < vk->mem_props.memoryTypeCount; i++) {
      VkMemoryPropertyFlags f = vk->mem_props.memoryTypes[i].propertyFlags;
      VkMemoryPropertyFlags w = pass == 0 ? want | VK_MEMORY_PROPERTY_HOST_CACHED_BIT
                                          : want;
      if ((req.memoryTypeBits & (1u << i)) && (f & w) == w) {
        type = (int)i;
        break;
      }
    }
  if (type < 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_DEVICE,
                "the Vulkan driver offers no host-visible coherent memory "
                "for transfers: update the driver or use --device cpu");
    return FALSE;
  }
  VkMemoryAllocateInfo mai = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
    .allocationSize = req.size, .memoryTypeIndex = (uint32_t)type,
  };
  void *map = NULL;
  if (!agf_vk_check(vkAllocateMemory(vk->device, &mai, NULL, &st->memory),
                    "vkAllocateMemory (staging)", error) ||
      !agf_vk_check(vkBindBufferMemory(vk->device, st->buffer, st->memory, 0),
                    "vkBindBufferMemory (staging)", error) ||
      !agf_vk_check(vkMapMemory(vk->device, st->memory, 0, VK_WHOLE_SIZE, 0, &map),
                    "vkMapMemory (staging)", error))
    return FALSE;
  st->map = map;
  st->head = 0;
  return TRUE;
}

void agf_vk_staging_destroy(AgfVkDevice *vk)
{
  AgfVkStaging *st = &vk->staging;
  if (st->map)
    vkUnmapMemory(vk->device, st->memory);
  if (st->buffer)
    vkDestroyBuffer(vk->device, st->buffer, NULL);
  if (st->memory)
    vkFreeMemory(vk->device, st->memory, NULL);
  memset(st, 0, sizeof *st);
}

static gboolean check_range(AgfStorage *s, size_t offset, size_t nbytes,
                            const char *what, GError **error)
{
  if (!s || !s->impl || offset > s->nbytes || nbytes > s->nbytes - offset) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s of bytes %zu+%zu is outside a Vulkan storage of %zu bytes",
                what, offset, nbytes, s ? s->nbytes : 0);
    return FALSE;
  }
  return TRUE;
}

gboolean agf_vk_upload(AgfDevice *dev, AgfStorage *s, size_t offset,
                       const void *src, size_t nbytes, GError **error)
{
  AgfVkDevice *vk = agf_vk_dev(dev);
  AgfVkStaging *st = &vk->staging;
  if (!check_range(s, offset, nbytes, "upload", error) ||
      !agf_vk_dev_alive(vk, error))
    return FALSE;
  const AgfVkAlloc *al = s->impl;
  const uint8_t *p = src;
  while (nbytes > 0) {
    if (st->head + 16 > st->size && !agf_vk_stream_wait_all(vk, error))
      return FALSE; /* ring full: drain so it can start over */
    VkDeviceSize chunk = MIN((VkDeviceSize)nbytes, st->size - st->head);
    AgfVkBatch *b = agf_vk_stream_batch(vk, error);
    if (!b)
      return FALSE;
    memcpy(st->map + st->head, p, chunk);
    VkBufferCopy region = { st->head, al->offset + offset, chunk };
    vkCmdCopyBuffer(b->cmd, st->buffer, al->block->buffer, 1, &region);
    agf_vk_stream_barrier(b->cmd);
    b->n_commands++;
    st->head = (st->head + chunk + 15) & ~(VkDeviceSize)15;
    p += chunk;
    offset += chunk;
    nbytes -= chunk;
    /* a long run of uploads still goes out in bounded batches */
    if (!agf_vk_stream_maybe_flush(vk, FALSE, error))
      return FALSE;
  }
  return TRUE;
}

gboolean agf_vk_download(AgfDevice *dev, AgfStorage *s, size_t offset,
                         void *dst, size_t nbytes, GError **error)
{
  AgfVkDevice *vk = agf_vk_dev(dev);
  AgfVkStaging *st = &vk->staging;
  if (!check_range(s, offset, nbytes, "download", error) ||
      !agf_vk_stream_wait_all(vk, error))
    return FALSE;
  const AgfVkAlloc *al = s->impl;
  uint8_t *p = dst;
  while (nbytes > 0) {
    VkDeviceSize chunk = MIN((VkDeviceSize)nbytes, st->size);
    AgfVkBatch *b = agf_vk_stream_batch(vk, error);
    if (!b)
      return FALSE;
    VkBufferCopy region = { al->offset + offset, 0, chunk };
    vkCmdCopyBuffer(b->cmd, al->block->buffer, st->buffer, 1, &region);
    VkMemoryBarrier mb = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
    };
    vkCmdPipelineBarrier(b->cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    b->n_commands++;
    if (!agf_vk_stream_wait_all(vk, error))
      return FALSE;
    memcpy(p, st->map, chunk);
    p += chunk;
    offset += chunk;
    nbytes -= chunk;
  }
  return TRUE;
}
