/* Vulkan physical devices: listing (agf_vk_enumerate) and the feature
 * probe that decides fp16 and cooperative-matrix support. */
#include "gpu/vk_runtime.h"
#include <string.h>

VkPhysicalDevice *agf_vk_physical_devices(uint32_t *n, GError **error)
{
  *n = 0;
  VkInstance inst = agf_vk_instance(NULL, error);
  if (!inst)
    return NULL;
  uint32_t count = 0;
  VkResult r = vkEnumeratePhysicalDevices(inst, &count, NULL);
  if (r == VK_ERROR_INITIALIZATION_FAILED || count == 0)
    return NULL; /* loader without a working driver */
  if (!agf_vk_check(r, "vkEnumeratePhysicalDevices", error))
    return NULL;
  VkPhysicalDevice *pds = g_new0(VkPhysicalDevice, count);
  r = vkEnumeratePhysicalDevices(inst, &count, pds);
  if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
    g_free(pds);
    agf_vk_check(r, "vkEnumeratePhysicalDevices", error);
    return NULL;
  }
  *n = count;
  return pds;
}

uint32_t agf_vk_effective_api(VkPhysicalDevice pd)
{
  uint32_t inst_api = VK_API_VERSION_1_0;
  agf_vk_instance(&inst_api, NULL);
  VkPhysicalDeviceProperties p;
  vkGetPhysicalDeviceProperties(pd, &p);
  return MIN(inst_api, p.apiVersion);
}

gboolean agf_vk_has_extension(VkPhysicalDevice pd, const char *name)
{
  uint32_t n = 0;
  if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS)
    return FALSE;
  g_autofree VkExtensionProperties *e = g_new0(VkExtensionProperties,
                                               MAX(n, 1));
  if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, e) != VK_SUCCESS)
    return FALSE;
  for (uint32_t i = 0; i < n; i++)
    if (strcmp(e[i].extensionName, name) == 0)
      return TRUE;
  return FALSE;
}

/* The fp16 A/B shape used by the cooperative-matrix GEMM: 16x16x16 when
 * offered, else 16x8x16, with a subgroup scope. */
static void probe_coopmat(VkPhysicalDevice pd, AgfVkFeatureProbe *out)
{
  VkInstance inst = agf_vk_instance(NULL, NULL);
  PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV get =
    (PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)
    vkGetInstanceProcAddr(inst, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV");
  if (!get)
    return;
  uint32_t n = 0;
  if (get(pd, &n, NULL) != VK_SUCCESS || n == 0)
    return;
  g_autofree VkCooperativeMatrixPropertiesNV *p =
    g_new0(VkCooperativeMatrixPropertiesNV, n);
  for (uint32_t i = 0; i < n; i++)
    p[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV;
  if (get(pd, &n, p) != VK_SUCCESS)
    return;
  static const uint32_t want[2][3] = { { 16, 16, 16 }, { 16, 8, 16 } };
  for (int w = 0; w < 2; w++)
    for (uint32_t i = 0; i < n; i++)
      if (p[i].AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
          p[i].BType == VK_COMPONENT_TYPE_FLOAT16_NV &&
          p[i].scope == VK_SCOPE_SUBGROUP_NV &&
          p[i].MSize == want[w][0] && p[i].NSize == want[w][1] &&
          p[i].KSize == want[w][2]) {
        out->coopmat_nv = TRUE;
        out->coopmat_m = p[i].MSize;
        out->coopmat_n = p[i].NSize;
        out->coopmat_k = p[i].KSize;
        return;
      }
}

void agf_vk_probe_features(VkPhysicalDevice pd, AgfVkFeatureProbe *out)
{
  memset(out, 0, sizeof *out);
  uint32_t api = agf_vk_effective_api(pd);
  gboolean f16_ext = api < VK_API_VERSION_1_2 &&
    agf_vk_has_extension(pd, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
  gboolean coop_ext = agf_vk_has_extension(pd,
                                           VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME);

  gboolean mm_ext = api < VK_API_VERSION_1_2 &&
    agf_vk_has_extension(pd, VK_KHR_VULKAN_MEMORY_MODEL_EXTENSION_NAME);
  gboolean mm_struct = coop_ext && (api >= VK_API_VERSION_1_2 || mm_ext);
  /* glslang's GL_NV_cooperative_matrix code declares VulkanMemoryModel */
  VkPhysicalDeviceVulkanMemoryModelFeatures mm = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES,
  };
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV,
    .pNext = mm_struct ? &mm : NULL,
  };
  VkPhysicalDeviceShaderFloat16Int8Features f16 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
    .pNext = coop_ext ? &coop : NULL,
  };
  gboolean f16_struct = api >= VK_API_VERSION_1_2 || f16_ext;
  VkPhysicalDevice16BitStorageFeatures s16 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
    .pNext = f16_struct ? (void *)&f16 : coop_ext ? (void *)&coop : NULL,
  };
  VkPhysicalDeviceFeatures2 f2 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &s16,
  };
  vkGetPhysicalDeviceFeatures2(pd, &f2);

  out->fp16 = s16.storageBuffer16BitAccess && f16_struct && f16.shaderFloat16;
  out->float16_int8_ext = out->fp16 && f16_ext;
  if (coop_ext && coop.cooperativeMatrix && out->fp16 && mm_struct &&
      mm.vulkanMemoryModel) {
    probe_coopmat(pd, out);
    out->memory_model_ext = out->coopmat_nv && mm_ext;
  }
}

static AgfDeviceType map_type(VkPhysicalDeviceType t)
{
  switch (t) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return AGF_DEVICE_TYPE_DISCRETE;
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return AGF_DEVICE_TYPE_INTEGRATED;
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return AGF_DEVICE_TYPE_VIRTUAL;
  case VK_PHYSICAL_DEVICE_TYPE_CPU: return AGF_DEVICE_TYPE_CPU_DRIVER;
  default: return AGF_DEVICE_TYPE_OTHER;
  }
}

void agf_vk_fill_info(VkPhysicalDevice pd, int index, AgfDeviceInfo *info)
{
  memset(info, 0, sizeof *info);
  VkPhysicalDeviceProperties p;
  vkGetPhysicalDeviceProperties(pd, &p);
  VkPhysicalDeviceMemoryProperties mp;
  vkGetPhysicalDeviceMemoryProperties(pd, &mp);
  AgfVkFeatureProbe fp;
  agf_vk_probe_features(pd, &fp);

  g_snprintf(info->spec, sizeof info->spec, "vulkan:%d", index);
  g_strlcpy(info->name, p.deviceName, sizeof info->name);
  info->backend = AGF_BACKEND_VULKAN;
  info->type = map_type(p.deviceType);
  info->vk_index = index;
  for (uint32_t h = 0; h < mp.memoryHeapCount; h++)
    if ((mp.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) &&
        mp.memoryHeaps[h].size > info->memory_bytes)
      info->memory_bytes = mp.memoryHeaps[h].size;
  info->fp16 = fp.fp16;
  info->coopmat = fp.coopmat_nv;
  info->threads = 0;
}

gboolean agf_vk_enumerate(GArray *infos, GError **error)
{
  uint32_t n = 0;
  GError *local = NULL;
  g_autofree VkPhysicalDevice *pds = agf_vk_physical_devices(&n, &local);
  if (local) {
    g_propagate_error(error, local);
    return FALSE;
  }
  for (uint32_t i = 0; i < n; i++) {
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties(pds[i], &p);
    if (p.apiVersion < VK_API_VERSION_1_1)
      continue; /* we need 1.1 (16-bit storage, subgroups, features2) */
    AgfDeviceInfo info;
    agf_vk_fill_info(pds[i], (int)i, &info);
    g_array_append_val(infos, info);
  }
  return TRUE;
}
