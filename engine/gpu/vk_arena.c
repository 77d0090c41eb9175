/* Device memory: large VkDeviceMemory blocks (64 MiB, or one block per
 * larger tensor), each with one VkBuffer, sub-allocated first-fit from a
 * sorted, coalescing free list. Blocks stay until the device is freed, so a
 * steady workload stops calling vkAllocateMemory after its first pass.
 * Storage can be reused as soon as it is released: every recorded command
 * is followed by a full barrier (see vk_internal.h). */
#include "gpu/vk_runtime.h"

static VkDeviceSize round_up(VkDeviceSize v, VkDeviceSize a)
{
  return (v + a - 1) / a * a;
}

/* A memory type in type_bits with the wanted flags; device-local first. */
static int find_memory_type(const VkPhysicalDeviceMemoryProperties *mp,
                            uint32_t type_bits, VkMemoryPropertyFlags want,
                            VkMemoryPropertyFlags prefer)
{
  int fallback = -1;
  for (uint32_t i = 0; i < mp->memoryTypeCount; i++) {
    if (!(type_bits & (1u << i)))
      continue;
    VkMemoryPropertyFlags f = mp->memoryTypes[i].propertyFlags;
    if ((f & want) != want)
      continue;
    if ((f & prefer) == prefer)
      return (int)i;
    if (fallback < 0)
      fallback = (int)i;
  }
  return fallback;
}

gboolean agf_vk_arena_init(AgfVkDevice *vk, GError **error)
{
  (void)error;
  AgfVkArena *a = &vk->arena;
  a->blocks = g_ptr_array_new();
  a->align = MAX(MAX((VkDeviceSize)AGF_VK_ALIGN, vk->caps.storage_align),
                 vk->caps.texel_align);
  VkPhysicalDeviceMaintenance3Properties m3 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES,
  };
  VkPhysicalDeviceProperties2 p2 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &m3,
  };
  vkGetPhysicalDeviceProperties2(vk->phys, &p2);
  a->max_alloc = m3.maxMemoryAllocationSize ? m3.maxMemoryAllocationSize
                                            : G_MAXUINT64;
  for (uint32_t h = 0; h < vk->mem_props.memoryHeapCount; h++)
    a->heap_size = MAX(a->heap_size, vk->mem_props.memoryHeaps[h].size);
  return TRUE;
}

static void block_free(AgfVkDevice *vk, AgfVkBlock *b)
{
  if (b->buffer)
    vkDestroyBuffer(vk->device, b->buffer, NULL);
  if (b->memory)
    vkFreeMemory(vk->device, b->memory, NULL);
  if (b->free)
    g_array_free(b->free, TRUE);
  g_free(b);
}

void agf_vk_arena_destroy(AgfVkDevice *vk)
{
  AgfVkArena *a = &vk->arena;
  if (!a->blocks)
    return;
  for (guint i = 0; i < a->blocks->len; i++)
    block_free(vk, g_ptr_array_index(a->blocks, i));
  g_ptr_array_free(a->blocks, TRUE);
  a->blocks = NULL;
}

static gboolean out_of_memory(AgfDevice *dev, VkDeviceSize need,
                              GError **error)
{
  AgfVkArena *a = &agf_vk_dev(dev)->arena;
  g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY,
              "device %s is out of memory (needed %" G_GUINT64_FORMAT
              " MiB, %zu MiB in use): use a smaller preset or --device cpu",
              dev->info.name, (guint64)((need + (1 << 20) - 1) >> 20),
              a->in_use >> 20);
  return FALSE;
}

/* A new block of size bytes; NULL with *vkr set when the driver refuses. */
static AgfVkBlock *block_new(AgfVkDevice *vk, VkDeviceSize size,
                             VkResult *vkr, GError **error)
{
  AgfVkBlock *b = g_new0(AgfVkBlock, 1);
  b->size = size;
  b->free = g_array_new(FALSE, FALSE, sizeof(AgfVkRange));
  VkBufferCreateInfo bci = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = size,
    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
             VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
             VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
    .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  *vkr = vkCreateBuffer(vk->device, &bci, NULL, &b->buffer);
  if (*vkr != VK_SUCCESS)
    goto fail;
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(vk->device, b->buffer, &req);
  int type = find_memory_type(&vk->mem_props, req.memoryTypeBits, 0,
                              VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  if (type < 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_DEVICE,
                "the Vulkan driver offers no memory type for storage "
                "buffers: update the driver or use --device cpu");
    goto fail;
  }
  VkMemoryAllocateInfo mai = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
    .allocationSize = req.size, .memoryTypeIndex = (uint32_t)type,
  };
  *vkr = vkAllocateMemory(vk->device, &mai, NULL, &b->memory);
  if (*vkr != VK_SUCCESS)
    goto fail;
  *vkr = vkBindBufferMemory(vk->device, b->buffer, b->memory, 0);
  if (*vkr != VK_SUCCESS)
    goto fail;
  AgfVkRange all = { 0, size };
  g_array_append_val(b->free, all);
  return b;
fail:
  block_free(vk, b);
  return NULL;
}

static gboolean take(AgfVkBlock *b, VkDeviceSize size, VkDeviceSize *offset)
{
  for (guint i = 0; i < b->free->len; i++) {
    AgfVkRange *r = &g_array_index(b->free, AgfVkRange, i);
    if (r->size < size)
      continue;
    *offset = r->offset;
    r->offset += size;
    r->size -= size;
    if (r->size == 0)
      g_array_remove_index(b->free, i);
    return TRUE;
  }
  return FALSE;
}

static void give_back(AgfVkBlock *b, VkDeviceSize offset, VkDeviceSize size)
{
  GArray *f = b->free;
  guint i = 0;
  while (i < f->len && g_array_index(f, AgfVkRange, i).offset < offset)
    i++;
  AgfVkRange r = { offset, size };
  g_array_insert_val(f, i, r);
  /* merge with the next range, then with the previous one */
  if (i + 1 < f->len) {
    AgfVkRange *cur = &g_array_index(f, AgfVkRange, i);
    AgfVkRange *nx = &g_array_index(f, AgfVkRange, i + 1);
    if (cur->offset + cur->size == nx->offset) {
      cur->size += nx->size;
      g_array_remove_index(f, i + 1);
    }
  }
  if (i > 0) {
    AgfVkRange *pv = &g_array_index(f, AgfVkRange, i - 1);
    AgfVkRange *cur = &g_array_index(f, AgfVkRange, i);
    if (pv->offset + pv->size == cur->offset) {
      pv->size += cur->size;
      g_array_remove_index(f, i);
    }
  }
}

AgfStorage *agf_vk_storage_alloc(AgfDevice *dev, size_t nbytes,
                                 GError **error)
{
  AgfVkDevice *vk = agf_vk_dev(dev);
  AgfVkArena *a = &vk->arena;
  if (!agf_vk_dev_alive(vk, error))
    return NULL;
  /* >= 4-byte multiples keep u8 tensors word-addressable by shaders */
  VkDeviceSize size = round_up(MAX(nbytes, (size_t)1), a->align);
  if (size > a->max_alloc || size > a->heap_size)
    return out_of_memory(dev, size, error), NULL;

  AgfVkBlock *block = NULL;
  VkDeviceSize offset = 0;
  for (guint i = 0; i < a->blocks->len && !block; i++) {
    AgfVkBlock *b = g_ptr_array_index(a->blocks, i);
    if (take(b, size, &offset))
      block = b;
  }
  if (!block) {
    VkDeviceSize bsize = MAX(size, MIN(AGF_VK_BLOCK_BYTES, a->max_alloc));
    VkResult r = VK_SUCCESS;
    GError *local = NULL;
    block = block_new(vk, bsize, &r, &local);
    if (!block && !local && bsize > size &&
        (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY))
      block = block_new(vk, bsize = size, &r, &local); /* just what is needed */
    if (!block) {
      if (local) {
        g_propagate_error(error, local);
        return NULL;
      }
      if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
        return out_of_memory(dev, size, error), NULL;
      agf_vk_dev_check(vk, r, "allocating device memory", error);
      return NULL;
    }
    g_ptr_array_add(a->blocks, block);
    a->reserved += bsize;
    take(block, size, &offset);
  }

  AgfVkAlloc *al = g_new0(AgfVkAlloc, 1);
  al->block = block;
  al->offset = offset;
  al->size = size;
  AgfStorage *s = g_new0(AgfStorage, 1);
  s->refcount = 1;
  s->dev = dev;
  s->nbytes = nbytes;
  s->impl = al;
  a->in_use += size;
  a->peak = MAX(a->peak, a->in_use);
  return s;
}

void agf_vk_storage_release(AgfDevice *dev, AgfStorage *s)
{
  if (!s)
    return;
  AgfVkArena *a = &agf_vk_dev(dev)->arena;
  AgfVkAlloc *al = s->impl;
  if (al) {
    give_back(al->block, al->offset, al->size);
    a->in_use -= MIN(a->in_use, al->size);
    g_free(al);
  }
  g_free(s);
}

void agf_vk_arena_stats(const AgfDevice *dev, AgfMemStats *out)
{
  const AgfVkArena *a = &((const AgfVkDevice *)dev->impl)->arena;
  out->in_use = a->in_use;
  out->peak = a->peak;
  out->reserved = a->reserved;
}

void agf_vk_arena_reset_peak(AgfDevice *dev)
{
  AgfVkArena *a = &agf_vk_dev(dev)->arena;
  a->peak = a->in_use;
}
