/* The Vulkan implementation of every op kind, indexed by AgfOpKind. A NULL
 * entry makes run() report the op as not available on Vulkan. */
#include "gpu/vk_internal.h"

/* --- runtime ops --- */
gboolean agf_vk_op_copy(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_fill(AgfDevice *dev, const AgfOp *op, GError **error);
/* --- gemm/conv declarations (vkgemm) --- */
gboolean agf_vk_op_gemm(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_conv2d(AgfDevice *dev, const AgfOp *op, GError **error);
/* --- end gemm/conv declarations --- */
/* --- other ops declarations (vkops) --- */
gboolean agf_vk_op_group_norm(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_layer_norm(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_batch_norm(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_softmax(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_attention(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_unary(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_binary(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_prelu(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_upsample_nearest(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_pool2d(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_global_avg_pool(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_concat(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_timestep_embed(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_l2_normalize(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_resize_bilinear(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_affine_warp(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_image_to_tensor(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_tensor_to_image(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_colormap(AgfDevice *dev, const AgfOp *op, GError **error);
/* --- end other ops declarations --- */
/* --- training ops declarations (vkbwd) --- */
gboolean agf_vk_op_reduce(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_unary_bwd(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_conv2d_bwd_data(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_conv2d_bwd_filter(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_norm_stats(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_norm_bwd(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_attention_bwd(AgfDevice *dev, const AgfOp *op, GError **error);
gboolean agf_vk_op_pool2d_bwd(AgfDevice *dev, const AgfOp *op, GError **error);
/* --- end training ops declarations --- */

const AgfVkOpFn agf_vk_op_table[AGF_OP_COUNT] = {
  [AGF_OP_COPY] = agf_vk_op_copy,
  [AGF_OP_FILL] = agf_vk_op_fill,
  /* --- gemm/conv entries (vkgemm) --- */
  [AGF_OP_GEMM] = agf_vk_op_gemm,
  [AGF_OP_CONV2D] = agf_vk_op_conv2d,
  /* --- end gemm/conv entries --- */
  /* --- other ops entries (vkops) --- */
  [AGF_OP_GROUP_NORM] = agf_vk_op_group_norm,
  [AGF_OP_LAYER_NORM] = agf_vk_op_layer_norm,
  [AGF_OP_BATCH_NORM] = agf_vk_op_batch_norm,
  [AGF_OP_SOFTMAX] = agf_vk_op_softmax,
  [AGF_OP_ATTENTION] = agf_vk_op_attention,
  [AGF_OP_UNARY] = agf_vk_op_unary,
  [AGF_OP_BINARY] = agf_vk_op_binary,
  [AGF_OP_PRELU] = agf_vk_op_prelu,
  [AGF_OP_UPSAMPLE_NEAREST] = agf_vk_op_upsample_nearest,
  [AGF_OP_POOL2D] = agf_vk_op_pool2d,
  [AGF_OP_GLOBAL_AVG_POOL] = agf_vk_op_global_avg_pool,
  [AGF_OP_CONCAT] = agf_vk_op_concat,
  [AGF_OP_TIMESTEP_EMBED] = agf_vk_op_timestep_embed,
  [AGF_OP_L2_NORMALIZE] = agf_vk_op_l2_normalize,
  [AGF_OP_RESIZE_BILINEAR] = agf_vk_op_resize_bilinear,
  [AGF_OP_AFFINE_WARP] = agf_vk_op_affine_warp,
  [AGF_OP_IMAGE_TO_TENSOR] = agf_vk_op_image_to_tensor,
  [AGF_OP_TENSOR_TO_IMAGE] = agf_vk_op_tensor_to_image,
  [AGF_OP_COLORMAP] = agf_vk_op_colormap,
  /* --- end other ops entries --- */
  /* --- training ops entries (vkbwd) --- */
  [AGF_OP_REDUCE] = agf_vk_op_reduce,
  [AGF_OP_UNARY_BWD] = agf_vk_op_unary_bwd,
  [AGF_OP_CONV2D_BWD_DATA] = agf_vk_op_conv2d_bwd_data,
  [AGF_OP_CONV2D_BWD_FILTER] = agf_vk_op_conv2d_bwd_filter,
  [AGF_OP_NORM_STATS] = agf_vk_op_norm_stats,
  [AGF_OP_NORM_BWD] = agf_vk_op_norm_bwd,
  [AGF_OP_ATTENTION_BWD] = agf_vk_op_attention_bwd,
  [AGF_OP_POOL2D_BWD] = agf_vk_op_pool2d_bwd,
  /* --- end training ops entries --- */
};
