/* The process-wide Vulkan instance (created lazily, shared by every
 * device), optional validation layers with a counting debug messenger, and
 * VkResult -> GError mapping. */
#include "gpu/vk_runtime.h"
#include <string.h>

static GMutex instance_lock;
static gboolean instance_tried;
static VkInstance instance;
static uint32_t instance_api;
static VkDebugUtilsMessengerEXT messenger;
static gint validation_messages;

const char *agf_vk_result_name(VkResult r)
{
  switch (r) {
#define R(x) case x: return #x;
  R(VK_SUCCESS) R(VK_NOT_READY) R(VK_TIMEOUT) R(VK_INCOMPLETE)
  R(VK_ERROR_OUT_OF_HOST_MEMORY) R(VK_ERROR_OUT_OF_DEVICE_MEMORY)
  R(VK_ERROR_INITIALIZATION_FAILED) R(VK_ERROR_DEVICE_LOST)
  R(VK_ERROR_MEMORY_MAP_FAILED) R(VK_ERROR_LAYER_NOT_PRESENT)
  R(VK_ERROR_EXTENSION_NOT_PRESENT) R(VK_ERROR_FEATURE_NOT_PRESENT)
  R(VK_ERROR_INCOMPATIBLE_DRIVER) R(VK_ERROR_TOO_MANY_OBJECTS)
  R(VK_ERROR_FORMAT_NOT_SUPPORTED) R(VK_ERROR_FRAGMENTED_POOL)
  R(VK_ERROR_OUT_OF_POOL_MEMORY) R(VK_ERROR_INVALID_EXTERNAL_HANDLE)
  R(VK_ERROR_FRAGMENTATION) R(VK_ERROR_UNKNOWN)
#undef R
  default: return "VkResult (unknown)";
  }
}

gboolean agf_vk_check(VkResult r, const char *what, GError **error)
{
  if (r == VK_SUCCESS)
    return TRUE;
  AgfError code = AGF_ERROR_DEVICE;
  const char *hint = "update the GPU driver or use --device cpu";
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) {
    code = AGF_ERROR_OUT_OF_MEMORY;
    hint = "use a smaller preset or --device cpu";
  } else if (r == VK_ERROR_DEVICE_LOST) {
    hint = "the GPU driver reset the device; restart and, if it repeats, use --device cpu";
  }
  g_set_error(error, AGF_ERROR, code, "Vulkan %s failed with %s: %s", what,
              agf_vk_result_name(r), hint);
  return FALSE;
}

int agf_vk_validation_message_count(void)
{
  return g_atomic_int_get(&validation_messages);
}

static VKAPI_ATTR VkBool32 VKAPI_CALL
on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
           VkDebugUtilsMessageTypeFlagsEXT type,
           const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
  (void)type; (void)user;
  g_atomic_int_inc(&validation_messages);
  g_printerr("agfas vulkan %s: %s\n",
             severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ?
             "error" : "warning",
             data && data->pMessage ? data->pMessage : "(no message)");
  return VK_FALSE;
}

static gboolean has_layer(const char *name)
{
  uint32_t n = 0;
  if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS)
    return FALSE;
  g_autofree VkLayerProperties *props = g_new0(VkLayerProperties, MAX(n, 1));
  if (vkEnumerateInstanceLayerProperties(&n, props) != VK_SUCCESS)
    return FALSE;
  for (uint32_t i = 0; i < n; i++)
    if (strcmp(props[i].layerName, name) == 0)
      return TRUE;
  return FALSE;
}

static gboolean has_instance_extension(const char *name)
{
  uint32_t n = 0;
  if (vkEnumerateInstanceExtensionProperties(NULL, &n, NULL) != VK_SUCCESS)
    return FALSE;
  g_autofree VkExtensionProperties *props = g_new0(VkExtensionProperties,
                                                   MAX(n, 1));
  if (vkEnumerateInstanceExtensionProperties(NULL, &n, props) != VK_SUCCESS)
    return FALSE;
  for (uint32_t i = 0; i < n; i++)
    if (strcmp(props[i].extensionName, name) == 0)
      return TRUE;
  return FALSE;
}

static gboolean create_instance(GError **error)
{
  uint32_t loader_api = VK_API_VERSION_1_0;
  if (vkEnumerateInstanceVersion(&loader_api) != VK_SUCCESS)
    loader_api = VK_API_VERSION_1_0;
  if (loader_api < VK_API_VERSION_1_1)
    return TRUE; /* a 1.0 loader: no usable device for us */
  instance_api = MIN(loader_api, VK_API_VERSION_1_3);

  const char *env = g_getenv("AGFAS_VK_VALIDATE");
  gboolean validate = env && env[0] && strcmp(env, "0") != 0;
  const char *layers[1] = { "VK_LAYER_KHRONOS_validation" };
  const char *exts[1] = { VK_EXT_DEBUG_UTILS_EXTENSION_NAME };
  if (validate && !has_layer(layers[0])) {
    g_printerr("agfas: AGFAS_VK_VALIDATE is set but %s is not installed "
               "(apt-get install vulkan-validationlayers); running without it\n",
               layers[0]);
    validate = FALSE;
  }
  gboolean debug_utils = validate &&
    has_instance_extension(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);

  VkDebugUtilsMessengerCreateInfoEXT mci = {
    .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
    .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
    .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                   VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                   VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
    .pfnUserCallback = on_message,
  };
  VkApplicationInfo app = {
    .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
    .pApplicationName = "agfas", .applicationVersion = 1,
    .pEngineName = "agfas-engine", .engineVersion = 1,
    .apiVersion = instance_api,
  };
  VkInstanceCreateInfo ci = {
    .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
    /* the messenger in pNext also reports instance creation itself */
    .pNext = debug_utils ? &mci : NULL,
    .pApplicationInfo = &app,
    .enabledLayerCount = validate ? 1 : 0,
    .ppEnabledLayerNames = layers,
    .enabledExtensionCount = debug_utils ? 1 : 0,
    .ppEnabledExtensionNames = exts,
  };
  VkResult r = vkCreateInstance(&ci, NULL, &instance);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED) {
    instance = VK_NULL_HANDLE; /* no driver installed: no Vulkan devices */
    return TRUE;
  }
  if (!agf_vk_check(r, "vkCreateInstance", error)) {
    instance = VK_NULL_HANDLE;
    return FALSE;
  }
  if (debug_utils) {
    PFN_vkCreateDebugUtilsMessengerEXT create =
      (PFN_vkCreateDebugUtilsMessengerEXT)
      vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT");
    if (create)
      create(instance, &mci, NULL, &messenger);
  }
  return TRUE;
}

VkInstance agf_vk_instance(uint32_t *api_version, GError **error)
{
  g_mutex_lock(&instance_lock);
  /* A real creation failure is reported every time; "no driver" once. */
  if (!instance_tried) {
    if (!create_instance(error)) {
      g_mutex_unlock(&instance_lock);
      return VK_NULL_HANDLE;
    }
    instance_tried = TRUE;
  }
  VkInstance inst = instance;
  g_mutex_unlock(&instance_lock);
  if (api_version)
    *api_version = instance_api;
  return inst;
}
