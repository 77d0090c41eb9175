/* The backward rule of each op kind, and which of its values (inputs,
 * output) the tape keeps for it. Kinds without an entry have no gradient:
 * recording one with an input that requires a gradient is an error. */
#include "nn/autograd_internal.h"

/* The identity scale needs no values; every other function reads x. */
static guint
unary_saves(const AgfOp *op)
{
  return op->p.unary.fn == AGF_UNARY_IDENTITY ? 0 : AGF_SAVE_IN(0);
}

/* Sums and differences need no values; products and quotients both. */
static guint
binary_saves(const AgfOp *op)
{
  AgfBinaryFn fn = op->p.binary.fn;
  return fn == AGF_BINARY_MUL || fn == AGF_BINARY_DIV
         ? AGF_SAVE_IN(0) | AGF_SAVE_IN(1) : 0;
}

#define IN01 (AGF_SAVE_IN(0) | AGF_SAVE_IN(1))

const AgfGradRule agf_grad_rules[AGF_OP_COUNT] = {
  [AGF_OP_COPY] = { agf_grad_copy, 0, NULL },
  [AGF_OP_GEMM] = { agf_grad_gemm, IN01, NULL },
  [AGF_OP_CONV2D] = { agf_grad_conv2d, IN01, NULL },
  [AGF_OP_GROUP_NORM] = { agf_grad_group_layer_norm, IN01, NULL },
  [AGF_OP_LAYER_NORM] = { agf_grad_group_layer_norm, IN01, NULL },
  [AGF_OP_BATCH_NORM] = { agf_grad_batch_norm,
                          IN01 | AGF_SAVE_IN(2) | AGF_SAVE_IN(3), NULL },
  [AGF_OP_SOFTMAX] = { agf_grad_softmax, AGF_SAVE_OUT, NULL },
  [AGF_OP_ATTENTION] = { agf_grad_attention,
                         IN01 | AGF_SAVE_IN(2) | AGF_SAVE_OUT, NULL },
  [AGF_OP_UNARY] = { agf_grad_unary, 0, unary_saves },
  [AGF_OP_BINARY] = { agf_grad_binary, 0, binary_saves },
  [AGF_OP_PRELU] = { agf_grad_prelu, IN01, NULL },
  [AGF_OP_UPSAMPLE_NEAREST] = { agf_grad_upsample, 0, NULL },
  [AGF_OP_POOL2D] = { agf_grad_pool2d, AGF_SAVE_IN(0), NULL },
  [AGF_OP_GLOBAL_AVG_POOL] = { agf_grad_global_avg_pool, 0, NULL },
  [AGF_OP_CONCAT] = { agf_grad_concat, 0, NULL },
  [AGF_OP_L2_NORMALIZE] = { agf_grad_l2_normalize,
                            AGF_SAVE_IN(0) | AGF_SAVE_OUT, NULL },
  [AGF_OP_REDUCE] = { agf_grad_reduce, 0, NULL },
  [AGF_OP_NORM_STATS] = { agf_grad_norm_stats,
                          AGF_SAVE_IN(0) | AGF_SAVE_OUT, NULL },
};
