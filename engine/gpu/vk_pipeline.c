/* Compute pipelines from embedded SPIR-V, built once per (module,
 * specialization constants, binding kinds, push size) and cached on the
 * device; a VkPipelineCache shares driver work between variants. */
#include "gpu/vk_runtime.h"

static char *pipeline_key(const AgfSpirv *spv, const uint32_t *spec, int n_spec,
                          const AgfVkBindKind *kinds, int n_bind,
                          uint32_t push_size)
{
  GString *k = g_string_new(NULL);
  g_string_append_printf(k, "%p:%zu|", (const void *)spv->code, spv->size);
  for (int i = 0; i < n_spec; i++)
    g_string_append_printf(k, "%u,", spec[i]);
  g_string_append_c(k, '|');
  for (int i = 0; i < n_bind; i++)
    g_string_append_c(k, kinds[i] == AGF_VK_BIND_TEXEL ? 't' : 's');
  g_string_append_printf(k, "|%u", push_size);
  return g_string_free(k, FALSE);
}

static void pipeline_free(AgfVkDevice *vk, AgfVkPipeline *p)
{
  if (p->pipeline)
    vkDestroyPipeline(vk->device, p->pipeline, NULL);
  if (p->layout)
    vkDestroyPipelineLayout(vk->device, p->layout, NULL);
  if (p->set_layout)
    vkDestroyDescriptorSetLayout(vk->device, p->set_layout, NULL);
  g_free(p);
}

void agf_vk_pipelines_destroy(AgfVkDevice *vk)
{
  if (vk->pipelines) {
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, vk->pipelines);
    while (g_hash_table_iter_next(&it, &key, &value)) {
      pipeline_free(vk, value);
      g_free(key);
    }
    g_hash_table_destroy(vk->pipelines);
    vk->pipelines = NULL;
  }
  if (vk->pipeline_cache)
    vkDestroyPipelineCache(vk->device, vk->pipeline_cache, NULL);
  vk->pipeline_cache = VK_NULL_HANDLE;
}

static gboolean build(AgfVkDevice *vk, AgfVkPipeline *p, const AgfSpirv *spv,
                      const uint32_t *spec, int n_spec, GError **error)
{
  VkDescriptorSetLayoutBinding lb[AGF_VK_MAX_BINDINGS];
  for (int i = 0; i < p->n_bind; i++)
    lb[i] = (VkDescriptorSetLayoutBinding){
      .binding = (uint32_t)i,
      .descriptorType = p->kinds[i] == AGF_VK_BIND_TEXEL ?
        VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
      .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
  VkDescriptorSetLayoutCreateInfo dci = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
    .bindingCount = (uint32_t)p->n_bind, .pBindings = lb,
  };
  if (!agf_vk_dev_check(vk, vkCreateDescriptorSetLayout(vk->device, &dci, NULL,
                                                        &p->set_layout),
                        "vkCreateDescriptorSetLayout", error))
    return FALSE;
  VkPushConstantRange pr = {
    .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0,
    .size = p->push_size,
  };
  VkPipelineLayoutCreateInfo lci = {
    .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
    .setLayoutCount = 1, .pSetLayouts = &p->set_layout,
    .pushConstantRangeCount = p->push_size ? 1 : 0, .pPushConstantRanges = &pr,
  };
  if (!agf_vk_dev_check(vk, vkCreatePipelineLayout(vk->device, &lci, NULL,
                                                   &p->layout),
                        "vkCreatePipelineLayout", error))
    return FALSE;

  VkShaderModuleCreateInfo smci = {
    .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
    .codeSize = spv->size, .pCode = spv->code,
  };
  VkShaderModule module;
  if (!agf_vk_dev_check(vk, vkCreateShaderModule(vk->device, &smci, NULL,
                                                 &module),
                        "vkCreateShaderModule", error)) {
    g_prefix_error(error, "shader %s: ", spv->name);
    return FALSE;
  }
  VkSpecializationMapEntry me[64];
  for (int i = 0; i < n_spec; i++)
    me[i] = (VkSpecializationMapEntry){ (uint32_t)i, (uint32_t)(4 * i), 4 };
  VkSpecializationInfo si = {
    .mapEntryCount = (uint32_t)n_spec, .pMapEntries = me,
    .dataSize = (size_t)n_spec * 4, .pData = spec,
  };
  VkComputePipelineCreateInfo cci = {
    .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
    .stage = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
      .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = module, .pName = "main",
      .pSpecializationInfo = n_spec ? &si : NULL,
    },
    .layout = p->layout,
  };
  VkResult r = vkCreateComputePipelines(vk->device, vk->pipeline_cache, 1, &cci,
                                        NULL, &p->pipeline);
  vkDestroyShaderModule(vk->device, module, NULL);
  if (!agf_vk_dev_check(vk, r, "vkCreateComputePipelines", error)) {
    g_prefix_error(error, "shader %s: ", spv->name);
    return FALSE;
  }
  return TRUE;
}

AgfVkPipeline *agf_vk_pipeline(AgfDevice *dev, const AgfSpirv *spv,
                               const uint32_t *spec, int n_spec,
                               const AgfVkBindKind *kinds, int n_bind,
                               uint32_t push_size, GError **error)
{
  AgfVkDevice *vk = agf_vk_dev(dev);
  if (!agf_vk_dev_alive(vk, error))
    return NULL;
  if (n_spec < 0 || n_spec > 64 || n_bind < 0 || n_bind > AGF_VK_MAX_BINDINGS ||
      (n_spec && !spec) || (n_bind && !kinds) || push_size % 4 ||
      push_size > MIN(vk->caps.max_push_constants, 256u)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "pipeline %s: %d specialization constants, %d bindings, %u "
                "push bytes is outside what the runtime supports (64, %d, "
                "a multiple of 4 up to %u)", spv->name, n_spec, n_bind,
                push_size, AGF_VK_MAX_BINDINGS,
                MIN(vk->caps.max_push_constants, 256u));
    return NULL;
  }
  char *key = pipeline_key(spv, spec, n_spec, kinds, n_bind, push_size);
  AgfVkPipeline *p = g_hash_table_lookup(vk->pipelines, key);
  if (p) {
    g_free(key);
    return p;
  }
  p = g_new0(AgfVkPipeline, 1);
  p->n_bind = n_bind;
  p->push_size = push_size;
  for (int i = 0; i < n_bind; i++)
    p->kinds[i] = kinds[i];
  if (!build(vk, p, spv, spec, n_spec, error)) {
    pipeline_free(vk, p);
    g_free(key);
    return NULL;
  }
  g_hash_table_insert(vk->pipelines, key, p);
  return p;
}
