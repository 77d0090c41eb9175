/* A Vulkan logical device: one compute queue, 16-bit storage + fp16
 * arithmetic and NV cooperative matrices when offered, and the device
 * capabilities (AgfVkCaps) the op kernels choose variants by. */
#include "gpu/vk_runtime.h"
#include <string.h>

const AgfVkCaps *agf_vk_caps(AgfDevice *dev)
{
  return &agf_vk_dev(dev)->caps;
}

gboolean agf_vk_dev_check(AgfVkDevice *vk, VkResult r, const char *what,
                          GError **error)
{
  if (r == VK_ERROR_DEVICE_LOST)
    vk->lost = TRUE;
  return agf_vk_check(r, what, error);
}

gboolean agf_vk_dev_alive(AgfVkDevice *vk, GError **error)
{
  if (!vk->lost)
    return TRUE;
  g_set_error(error, AGF_ERROR, AGF_ERROR_DEVICE,
              "the Vulkan device was lost earlier (VK_ERROR_DEVICE_LOST); "
              "restart, and if it repeats use --device cpu");
  return FALSE;
}

/* A queue family with compute; a compute-only one (often an async queue
 * without graphics work) first. */
static gboolean pick_queue(VkPhysicalDevice pd, uint32_t *family,
                           uint32_t *ts_bits)
{
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
  g_autofree VkQueueFamilyProperties *q = g_new0(VkQueueFamilyProperties,
                                                 MAX(n, 1));
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
  int best = -1;
  for (uint32_t i = 0; i < n; i++) {
    if (!(q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || q[i].queueCount == 0)
      continue;
    if (best < 0 || (!(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT) &&
                     (q[best].queueFlags & VK_QUEUE_GRAPHICS_BIT)))
      best = (int)i;
  }
  if (best < 0)
    return FALSE;
  *family = (uint32_t)best;
  *ts_bits = q[best].timestampValidBits;
  return TRUE;
}

static void fill_caps(AgfVkDevice *vk, const AgfVkFeatureProbe *fp)
{
  VkPhysicalDeviceSubgroupProperties sg = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
  };
  VkPhysicalDeviceProperties2 p2 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sg,
  };
  vkGetPhysicalDeviceProperties2(vk->phys, &p2);
  const VkPhysicalDeviceLimits *l = &p2.properties.limits;
  AgfVkCaps *c = &vk->caps;
  c->cpu_driver = p2.properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  c->vendor_id = p2.properties.vendorID;
  c->fp16 = fp->fp16;
  c->coopmat_nv = fp->coopmat_nv;
  c->coopmat_m = fp->coopmat_m;
  c->coopmat_n = fp->coopmat_n;
  c->coopmat_k = fp->coopmat_k;
  c->subgroup_size = sg.subgroupSize ? sg.subgroupSize : 1;
  c->max_workgroup_invocations = l->maxComputeWorkGroupInvocations;
  memcpy(c->max_workgroup_count, l->maxComputeWorkGroupCount,
         sizeof c->max_workgroup_count);
  c->max_shared_memory = l->maxComputeSharedMemorySize;
  c->max_push_constants = l->maxPushConstantsSize;
  c->storage_align = l->minStorageBufferOffsetAlignment;
  c->texel_align = l->minTexelBufferOffsetAlignment;
  c->max_texel_elements = l->maxTexelBufferElements;
  c->max_storage_range = l->maxStorageBufferRange;
  vk->timestamp_ns = l->timestampPeriod;
}

static gboolean create_device(AgfVkDevice *vk, const AgfVkFeatureProbe *fp,
                              GError **error)
{
  const char *exts[4];
  uint32_t n_ext = 0;
  if (fp->float16_int8_ext)
    exts[n_ext++] = VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME;
  if (fp->coopmat_nv)
    exts[n_ext++] = VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;
  if (fp->memory_model_ext)
    exts[n_ext++] = VK_KHR_VULKAN_MEMORY_MODEL_EXTENSION_NAME;

  VkPhysicalDeviceVulkanMemoryModelFeatures mm = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES,
    .vulkanMemoryModel = VK_TRUE,
  };
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV,
    .pNext = &mm,
    .cooperativeMatrix = VK_TRUE,
  };
  VkPhysicalDeviceShaderFloat16Int8Features f16 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
    .pNext = fp->coopmat_nv ? &coop : NULL,
    .shaderFloat16 = VK_TRUE,
  };
  VkPhysicalDevice16BitStorageFeatures s16 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
    .pNext = &f16,
    .storageBuffer16BitAccess = VK_TRUE,
  };
  VkPhysicalDeviceFeatures2 f2 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
    .pNext = fp->fp16 ? (void *)&s16 : NULL,
  };

  float prio = 1.0f;
  VkDeviceQueueCreateInfo qci = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
    .queueFamilyIndex = vk->queue_family, .queueCount = 1,
    .pQueuePriorities = &prio,
  };
  VkDeviceCreateInfo ci = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
    .pNext = &f2,
    .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci,
    .enabledExtensionCount = n_ext, .ppEnabledExtensionNames = exts,
  };
  if (!agf_vk_check(vkCreateDevice(vk->phys, &ci, NULL, &vk->device),
                    "vkCreateDevice", error))
    return FALSE;
  vkGetDeviceQueue(vk->device, vk->queue_family, 0, &vk->queue);
  return TRUE;
}

void agf_vk_device_destroy(AgfDevice *dev)
{
  AgfVkDevice *vk = agf_vk_dev(dev);
  if (!vk)
    return;
  if (vk->device) {
    vkDeviceWaitIdle(vk->device);
    agf_vk_stream_destroy(vk);
    agf_vk_pipelines_destroy(vk);
    agf_vk_staging_destroy(vk);
    agf_vk_arena_destroy(vk);
    vkDestroyDevice(vk->device, NULL);
  }
  if (vk->timings)
    g_array_free(vk->timings, TRUE);
  g_free(vk);
  g_free(dev);
}

AgfDevice *agf_vk_device_new(int vk_index, GError **error)
{
  uint32_t n = 0;
  GError *local = NULL;
  g_autofree VkPhysicalDevice *pds = agf_vk_physical_devices(&n, &local);
  if (local) {
    g_propagate_error(error, local);
    return NULL;
  }
  if (vk_index < 0 || (uint32_t)vk_index >= n) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_NO_DEVICE,
                "there is no Vulkan device vulkan:%d (%u found): see "
                "--list-devices, or use --device cpu", vk_index, n);
    return NULL;
  }
  VkPhysicalDevice pd = pds[vk_index];
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(pd, &props);
  if (props.apiVersion < VK_API_VERSION_1_1 ||
      agf_vk_effective_api(pd) < VK_API_VERSION_1_1) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_NO_DEVICE,
                "Vulkan device vulkan:%d (%s) supports only Vulkan 1.0; "
                "Vulkan 1.1 is needed: update the driver or use --device cpu",
                vk_index, props.deviceName);
    return NULL;
  }

  AgfDevice *dev = g_new0(AgfDevice, 1);
  AgfVkDevice *vk = g_new0(AgfVkDevice, 1);
  dev->be = agf_vk_backend();
  dev->impl = vk;
  agf_vk_fill_info(pd, vk_index, &dev->info);
  vk->phys = pd;
  vk->api_version = agf_vk_effective_api(pd);
  vk->cur = -1;
  vk->timings = g_array_new(FALSE, FALSE, sizeof(AgfOpTiming));
  vkGetPhysicalDeviceMemoryProperties(pd, &vk->mem_props);

  AgfVkFeatureProbe fp;
  agf_vk_probe_features(pd, &fp);
  uint32_t ts_bits = 0;
  if (!pick_queue(pd, &vk->queue_family, &ts_bits)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_NO_DEVICE,
                "Vulkan device vulkan:%d (%s) has no compute queue: use "
                "another device (--list-devices) or --device cpu",
                vk_index, props.deviceName);
    agf_vk_device_destroy(dev);
    return NULL;
  }
  fill_caps(vk, &fp);
  vk->timestamps = ts_bits > 0 && vk->timestamp_ns > 0;
  vk->timestamp_mask = ts_bits >= 64 ? G_MAXUINT64 : ((uint64_t)1 << ts_bits) - 1;

  if (!create_device(vk, &fp, error) ||
      !agf_vk_arena_init(vk, error) ||
      !agf_vk_staging_init(vk, error) ||
      !agf_vk_stream_init(vk, error)) {
    g_prefix_error(error, "opening Vulkan device vulkan:%d (%s): ",
                   vk_index, props.deviceName);
    agf_vk_device_destroy(dev);
    return NULL;
  }
  VkPipelineCacheCreateInfo pcci = {
    .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
  };
  if (!agf_vk_check(vkCreatePipelineCache(vk->device, &pcci, NULL,
                                          &vk->pipeline_cache),
                    "vkCreatePipelineCache", error)) {
    agf_vk_device_destroy(dev);
    return NULL;
  }
  vk->pipelines = g_hash_table_new(g_str_hash, g_str_equal);
  return dev;
}
