/* Typed wrappers over the op set (op.h): each infers the output shape,
 * allocates the output on the inputs' device, runs the op and returns a new
 * tensor (NULL + error on failure). Networks are written with these. */
#pragma once
#include "nn/op.h"

G_BEGIN_DECLS

/* Infers, allocates op->out on the device of op->in[0], runs; returns
 * op->out (owned by the caller) or NULL. */
AgfTensor *agf_op_call(AgfOp *op, GError **error);

AgfTensor *agf_copy(const AgfTensor *x, GError **error);
AgfTensor *agf_gemm(const AgfTensor *a, const AgfTensor *b,
                    const AgfTensor *bias, gboolean trans_a, gboolean trans_b,
                    float alpha, GError **error);
/* x [..., K], w [N, K] (PyTorch layout), bias [N] or NULL -> [..., N]. */
AgfTensor *agf_linear(const AgfTensor *x, const AgfTensor *w,
                      const AgfTensor *bias, GError **error);
AgfTensor *agf_conv2d(const AgfTensor *x, const AgfTensor *w,
                      const AgfTensor *bias, const AgfConv2dParams *p,
                      GError **error);
AgfTensor *agf_group_norm(const AgfTensor *x, const AgfTensor *gamma,
                          const AgfTensor *beta, int groups, float eps,
                          GError **error);
AgfTensor *agf_layer_norm(const AgfTensor *x, const AgfTensor *gamma,
                          const AgfTensor *beta, float eps, GError **error);
AgfTensor *agf_batch_norm(const AgfTensor *x, const AgfTensor *mean,
                          const AgfTensor *var, const AgfTensor *gamma,
                          const AgfTensor *beta, float eps, GError **error);
AgfTensor *agf_softmax(const AgfTensor *x, GError **error);
AgfTensor *agf_attention(const AgfTensor *q, const AgfTensor *k,
                         const AgfTensor *v, int n_heads, float scale,
                         GError **error);
AgfTensor *agf_unary(const AgfTensor *x, AgfUnaryFn fn, float a, float b,
                     GError **error);
AgfTensor *agf_relu(const AgfTensor *x, GError **error);
AgfTensor *agf_silu(const AgfTensor *x, GError **error);
AgfTensor *agf_gelu(const AgfTensor *x, GError **error);
AgfTensor *agf_sigmoid(const AgfTensor *x, GError **error);
AgfTensor *agf_tanh(const AgfTensor *x, GError **error);
/* a * x + b */
AgfTensor *agf_scale(const AgfTensor *x, float a, float b, GError **error);
AgfTensor *agf_binary(const AgfTensor *a, const AgfTensor *b, AgfBinaryFn fn,
                      GError **error);
AgfTensor *agf_add(const AgfTensor *a, const AgfTensor *b, GError **error);
AgfTensor *agf_sub(const AgfTensor *a, const AgfTensor *b, GError **error);
AgfTensor *agf_mul(const AgfTensor *a, const AgfTensor *b, GError **error);
AgfTensor *agf_div(const AgfTensor *a, const AgfTensor *b, GError **error);
AgfTensor *agf_prelu(const AgfTensor *x, const AgfTensor *alpha,
                     GError **error);
AgfTensor *agf_upsample_nearest(const AgfTensor *x, int factor,
                                GError **error);
AgfTensor *agf_pool2d(const AgfTensor *x, const AgfPool2dParams *p,
                      GError **error);
AgfTensor *agf_global_avg_pool(const AgfTensor *x, GError **error);
AgfTensor *agf_concat(const AgfTensor *const *xs, int n, int dim,
                      GError **error);
AgfTensor *agf_timestep_embed(const AgfTensor *t,
                              const AgfTimestepEmbedParams *p, GError **error);
AgfTensor *agf_l2_normalize(const AgfTensor *x, float eps, GError **error);
AgfTensor *agf_resize_bilinear(const AgfTensor *x, int out_h, int out_w,
                               gboolean align_corners, GError **error);
AgfTensor *agf_affine_warp(const AgfTensor *img, const AgfTensor *matrix,
                           int out_h, int out_w, float border, GError **error);
AgfTensor *agf_image_to_tensor(const AgfTensor *img, const float mean[3],
                               const float std[3], GError **error);
AgfTensor *agf_tensor_to_image(const AgfTensor *x, const float mean[3],
                               const float std[3], GError **error);
AgfTensor *agf_colormap(const AgfTensor *x, const AgfColormapParams *p,
                        GError **error);

/* --- training kinds (op.h) --- */
AgfTensor *agf_log(const AgfTensor *x, GError **error);
/* Sum / max of x down to shape (broadcast-compatible, aligned right). */
AgfTensor *agf_reduce(const AgfTensor *x, AgfReduceFn fn, int ndim,
                      const int64_t *shape, GError **error);
AgfTensor *agf_unary_bwd(const AgfTensor *x, const AgfTensor *dy,
                         AgfUnaryFn fn, float a, float b, GError **error);
/* dx [N,Ci,in_h,in_w] of conv2d(x, w, p) given dy. */
AgfTensor *agf_conv2d_bwd_data(const AgfTensor *dy, const AgfTensor *w,
                               const AgfConv2dParams *p, int in_h, int in_w,
                               GError **error);
/* dw [Co,Ci/g,kh,kw] of conv2d(x, w, p) given dy. */
AgfTensor *agf_conv2d_bwd_filter(const AgfTensor *x, const AgfTensor *dy,
                                 const AgfConv2dParams *p, int kh, int kw,
                                 GError **error);
AgfTensor *agf_norm_stats(const AgfTensor *x, GError **error);
AgfTensor *agf_norm_bwd(const AgfTensor *x, const AgfTensor *dy,
                        const AgfTensor *gamma, const AgfNormBwdParams *p,
                        GError **error);
/* stats: NULL for AGF_ATTN_GRAD_STATS, that op's result otherwise. */
AgfTensor *agf_attention_bwd(const AgfTensor *q, const AgfTensor *k,
                             const AgfTensor *v, const AgfTensor *o,
                             const AgfTensor *dout, const AgfTensor *stats,
                             const AgfAttentionBwdParams *p, GError **error);
AgfTensor *agf_pool2d_bwd(const AgfTensor *x, const AgfTensor *dy,
                          const AgfPool2dParams *p, GError **error);

G_END_DECLS
