/* Typed op wrappers: build the descriptor, allocate the output where the
 * first input lives, run. */
#include <string.h>
#include "nn/ops.h"
#include "nn/backend.h"

AgfTensor *
agf_op_call(AgfOp *op, GError **error)
{
  AgfDType dt;
  int ndim;
  int64_t shape[AGF_MAX_DIMS];
  op->out = NULL; /* infer must not see a stale output (COPY reads its dtype) */
  if (!agf_op_infer(op, &dt, &ndim, shape, error))
    return NULL;
  if (op->n_in < 1 || op->in[0] == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s: has no input to take the device from: allocate the "
                "output yourself and call agf_op_run()",
                agf_op_name(op->kind));
    return NULL;
  }
  op->out = agf_tensor_new(op->in[0]->dev, dt, ndim, shape, error);
  if (op->out && !agf_op_run(op, error))
    g_clear_pointer(&op->out, agf_tensor_unref);
  return op->out;
}

/* Runs op with inputs in0..in(n-1) (NULL entries are absent inputs). */
static AgfTensor *
call(AgfOp op, int n, const AgfTensor *const *in, GError **error)
{
  op.n_in = n;
  for (int i = 0; i < n; i++)
    op.in[i] = in[i];
  return agf_op_call(&op, error);
}

#define CALL(op, error, ...) \
  call(op, G_N_ELEMENTS(((const AgfTensor *[]){ __VA_ARGS__ })), \
       (const AgfTensor *[]){ __VA_ARGS__ }, error)

AgfTensor *
agf_copy(const AgfTensor *x, GError **error)
{
  return CALL((AgfOp){ .kind = AGF_OP_COPY }, error, x);
}

AgfTensor *
agf_gemm(const AgfTensor *a, const AgfTensor *b, const AgfTensor *bias,
         gboolean trans_a, gboolean trans_b, float alpha, GError **error)
{
  AgfOp op = { .kind = AGF_OP_GEMM,
               .p.gemm = { .trans_a = trans_a, .trans_b = trans_b,
                           .alpha = alpha } };
  return CALL(op, error, a, b, bias);
}

AgfTensor *
agf_linear(const AgfTensor *x, const AgfTensor *w, const AgfTensor *bias,
           GError **error)
{
  if (x == NULL || w == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "linear: %s is missing (NULL)", x ? "the weight" : "the input");
    return NULL;
  }
  int64_t k = x->shape[x->ndim - 1];
  int64_t rows = agf_tensor_numel(x) / k;
  /* reshape views a dense x and copies only a strided one; it does not
   * modify x itself (only its storage's refcount). */
  g_autoptr(AgfTensor) x2 = agf_tensor_reshape((AgfTensor *) x, 2,
                                               (int64_t[]){ rows, k }, error);
  if (x2 == NULL)
    return NULL;
  g_autoptr(AgfTensor) y2 = agf_gemm(x2, w, bias, FALSE, TRUE, 1.0f, error);
  if (y2 == NULL || x->ndim == 2)
    return g_steal_pointer(&y2);
  int64_t shape[AGF_MAX_DIMS];
  for (int i = 0; i < x->ndim - 1; i++)
    shape[i] = x->shape[i];
  shape[x->ndim - 1] = y2->shape[1];
  return agf_tensor_reshape(y2, x->ndim, shape, error);
}

AgfTensor *
agf_conv2d(const AgfTensor *x, const AgfTensor *w, const AgfTensor *bias,
           const AgfConv2dParams *p, GError **error)
{
  AgfOp op = { .kind = AGF_OP_CONV2D };
  if (p)
    op.p.conv = *p;
  return CALL(op, error, x, w, bias);
}

AgfTensor *
agf_group_norm(const AgfTensor *x, const AgfTensor *gamma,
               const AgfTensor *beta, int groups, float eps, GError **error)
{
  AgfOp op = { .kind = AGF_OP_GROUP_NORM,
               .p.group_norm = { .groups = groups, .eps = eps } };
  return CALL(op, error, x, gamma, beta);
}

AgfTensor *
agf_layer_norm(const AgfTensor *x, const AgfTensor *gamma,
               const AgfTensor *beta, float eps, GError **error)
{
  AgfOp op = { .kind = AGF_OP_LAYER_NORM, .p.layer_norm.eps = eps };
  return CALL(op, error, x, gamma, beta);
}

AgfTensor *
agf_batch_norm(const AgfTensor *x, const AgfTensor *mean,
               const AgfTensor *var, const AgfTensor *gamma,
               const AgfTensor *beta, float eps, GError **error)
{
  AgfOp op = { .kind = AGF_OP_BATCH_NORM, .p.batch_norm.eps = eps };
  return CALL(op, error, x, mean, var, gamma, beta);
}

AgfTensor *
agf_softmax(const AgfTensor *x, GError **error)
{
  return CALL((AgfOp){ .kind = AGF_OP_SOFTMAX }, error, x);
}

AgfTensor *
agf_attention(const AgfTensor *q, const AgfTensor *k, const AgfTensor *v,
              int n_heads, float scale, GError **error)
{
  AgfOp op = { .kind = AGF_OP_ATTENTION,
               .p.attention = { .n_heads = n_heads, .scale = scale } };
  return CALL(op, error, q, k, v);
}

AgfTensor *
agf_unary(const AgfTensor *x, AgfUnaryFn fn, float a, float b, GError **error)
{
  AgfOp op = { .kind = AGF_OP_UNARY, .p.unary = { .fn = fn, .a = a, .b = b } };
  return CALL(op, error, x);
}

AgfTensor *
agf_relu(const AgfTensor *x, GError **error)
{
  return agf_unary(x, AGF_UNARY_RELU, 0.0f, 0.0f, error);
}

AgfTensor *
agf_silu(const AgfTensor *x, GError **error)
{
  return agf_unary(x, AGF_UNARY_SILU, 0.0f, 0.0f, error);
}

AgfTensor *
agf_gelu(const AgfTensor *x, GError **error)
{
  return agf_unary(x, AGF_UNARY_GELU, 0.0f, 0.0f, error);
}

AgfTensor *
agf_sigmoid(const AgfTensor *x, GError **error)
{
  return agf_unary(x, AGF_UNARY_SIGMOID, 0.0f, 0.0f, error);
}

AgfTensor *
agf_tanh(const AgfTensor *x, GError **error)
{
  return agf_unary(x, AGF_UNARY_TANH, 0.0f, 0.0f, error);
}

AgfTensor *
agf_scale(const AgfTensor *x, float a, float b, GError **error)
{
  return agf_unary(x, AGF_UNARY_IDENTITY, a, b, error);
}

AgfTensor *
agf_binary(const AgfTensor *a, const AgfTensor *b, AgfBinaryFn fn,
           GError **error)
{
  AgfOp op = { .kind = AGF_OP_BINARY, .p.binary.fn = fn };
  return CALL(op, error, a, b);
}

AgfTensor *
agf_add(const AgfTensor *a, const AgfTensor *b, GError **error)
{
  return agf_binary(a, b, AGF_BINARY_ADD, error);
}

AgfTensor *
agf_sub(const AgfTensor *a, const AgfTensor *b, GError **error)
{
  return agf_binary(a, b, AGF_BINARY_SUB, error);
}

AgfTensor *
agf_mul(const AgfTensor *a, const AgfTensor *b, GError **error)
{
  return agf_binary(a, b, AGF_BINARY_MUL, error);
}

AgfTensor *
agf_div(const AgfTensor *a, const AgfTensor *b, GError **error)
{
  return agf_binary(a, b, AGF_BINARY_DIV, error);
}

AgfTensor *
agf_prelu(const AgfTensor *x, const AgfTensor *alpha, GError **error)
{
  return CALL((AgfOp){ .kind = AGF_OP_PRELU }, error, x, alpha);
}

AgfTensor *
agf_upsample_nearest(const AgfTensor *x, int factor, GError **error)
{
  AgfOp op = { .kind = AGF_OP_UPSAMPLE_NEAREST, .p.upsample.factor = factor };
  return CALL(op, error, x);
}

AgfTensor *
agf_pool2d(const AgfTensor *x, const AgfPool2dParams *p, GError **error)
{
  if (p == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "pool2d: no parameters given (kernel and stride are needed)");
    return NULL;
  }
  AgfOp op = { .kind = AGF_OP_POOL2D, .p.pool = *p };
  return CALL(op, error, x);
}

AgfTensor *
agf_global_avg_pool(const AgfTensor *x, GError **error)
{
  return CALL((AgfOp){ .kind = AGF_OP_GLOBAL_AVG_POOL }, error, x);
}

AgfTensor *
agf_concat(const AgfTensor *const *xs, int n, int dim, GError **error)
{
  if (xs == NULL || n < 1 || xs[0] == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "concat: needs at least one input tensor");
    return NULL;
  }
  if (dim < 0)
    dim += xs[0]->ndim; /* Python-style: -1 is the last dim */
  AgfOp op = { .kind = AGF_OP_CONCAT, .p.concat.dim = dim };
  if (n <= AGF_OP_MAX_INPUTS)
    return call(op, n, xs, error);
  /* More inputs than one op takes: concatenate in chunks, each chunk after
   * the first led by the result so far. */
  g_autoptr(AgfTensor) acc = call(op, AGF_OP_MAX_INPUTS, xs, error);
  for (int i = AGF_OP_MAX_INPUTS; acc && i < n; i += AGF_OP_MAX_INPUTS - 1) {
    const AgfTensor *chunk[AGF_OP_MAX_INPUTS] = { acc };
    int m = MIN(n - i, AGF_OP_MAX_INPUTS - 1);
    for (int j = 0; j < m; j++)
      chunk[j + 1] = xs[i + j];
    AgfTensor *next = call(op, m + 1, chunk, error);
    agf_tensor_unref(acc);
    acc = next;
  }
  return g_steal_pointer(&acc);
}

AgfTensor *
agf_timestep_embed(const AgfTensor *t, const AgfTimestepEmbedParams *p,
                   GError **error)
{
  if (p == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "timestep_embed: no parameters given (dim is needed)");
    return NULL;
  }
  AgfOp op = { .kind = AGF_OP_TIMESTEP_EMBED, .p.temb = *p };
  return CALL(op, error, t);
}

AgfTensor *
agf_l2_normalize(const AgfTensor *x, float eps, GError **error)
{
  AgfOp op = { .kind = AGF_OP_L2_NORMALIZE, .p.l2.eps = eps };
  return CALL(op, error, x);
}

AgfTensor *
agf_resize_bilinear(const AgfTensor *x, int out_h, int out_w,
                    gboolean align_corners, GError **error)
{
  AgfOp op = { .kind = AGF_OP_RESIZE_BILINEAR,
               .p.resize = { .out_h = out_h, .out_w = out_w,
                             .align_corners = align_corners } };
  return CALL(op, error, x);
}

AgfTensor *
agf_affine_warp(const AgfTensor *img, const AgfTensor *matrix, int out_h,
                int out_w, float border, GError **error)
{
  AgfOp op = { .kind = AGF_OP_AFFINE_WARP,
               .p.warp = { .out_h = out_h, .out_w = out_w, .border = border } };
  return CALL(op, error, img, matrix);
}

AgfTensor *
agf_image_to_tensor(const AgfTensor *img, const float mean[3],
                    const float std[3], GError **error)
{
  AgfOp op = { .kind = AGF_OP_IMAGE_TO_TENSOR };
  for (int c = 0; c < 3; c++) {
    op.p.to_tensor.mean[c] = mean ? mean[c] : 0.0f;
    op.p.to_tensor.std[c] = std ? std[c] : 1.0f;
  }
  return CALL(op, error, img);
}

AgfTensor *
agf_tensor_to_image(const AgfTensor *x, const float mean[3],
                    const float std[3], GError **error)
{
  AgfOp op = { .kind = AGF_OP_TENSOR_TO_IMAGE };
  for (int c = 0; c < 3; c++) {
    op.p.to_image.mean[c] = mean ? mean[c] : 0.0f;
    op.p.to_image.std[c] = std ? std[c] : 1.0f;
  }
  return CALL(op, error, x);
}

AgfTensor *
agf_colormap(const AgfTensor *x, const AgfColormapParams *p, GError **error)
{
  if (p == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "colormap: no parameters given (map and value range)");
    return NULL;
  }
  AgfOp op = { .kind = AGF_OP_COLORMAP, .p.cmap = *p };
  return CALL(op, error, x);
}

/* --- training kinds --- */

/* A parameter block the caller must give (NULL is an error, not a default). */
static gboolean
need_params(const void *p, const char *name, GError **error)
{
  if (p == NULL)
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s: no parameters given", name);
  return p != NULL;
}

AgfTensor *
agf_log(const AgfTensor *x, GError **error)
{
  return agf_unary(x, AGF_UNARY_LOG, 0.0f, 0.0f, error);
}

AgfTensor *
agf_reduce(const AgfTensor *x, AgfReduceFn fn, int ndim, const int64_t *shape,
           GError **error)
{
  AgfOp op = { .kind = AGF_OP_REDUCE, .p.reduce = { .fn = fn, .ndim = ndim } };
  if (shape == NULL || ndim < 1 || ndim > AGF_MAX_DIMS) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "reduce: the target shape needs 1 to %d dims, not %d",
                AGF_MAX_DIMS, ndim);
    return NULL;
  }
  memcpy(op.p.reduce.shape, shape, (size_t) ndim * sizeof *shape);
  return CALL(op, error, x);
}

AgfTensor *
agf_unary_bwd(const AgfTensor *x, const AgfTensor *dy, AgfUnaryFn fn, float a,
              float b, GError **error)
{
  AgfOp op = { .kind = AGF_OP_UNARY_BWD,
               .p.unary_bwd = { .fn = fn, .a = a, .b = b } };
  return CALL(op, error, x, dy);
}

AgfTensor *
agf_conv2d_bwd_data(const AgfTensor *dy, const AgfTensor *w,
                    const AgfConv2dParams *p, int in_h, int in_w,
                    GError **error)
{
  if (!need_params(p, "conv2d_bwd_data", error))
    return NULL;
  AgfOp op = { .kind = AGF_OP_CONV2D_BWD_DATA,
               .p.conv_bwd = { .conv = *p, .h = in_h, .w = in_w } };
  return CALL(op, error, dy, w);
}

AgfTensor *
agf_conv2d_bwd_filter(const AgfTensor *x, const AgfTensor *dy,
                      const AgfConv2dParams *p, int kh, int kw, GError **error)
{
  if (!need_params(p, "conv2d_bwd_filter", error))
    return NULL;
  AgfOp op = { .kind = AGF_OP_CONV2D_BWD_FILTER,
               .p.conv_bwd = { .conv = *p, .h = kh, .w = kw } };
  return CALL(op, error, x, dy);
}

AgfTensor *
agf_norm_stats(const AgfTensor *x, GError **error)
{
  return CALL((AgfOp){ .kind = AGF_OP_NORM_STATS }, error, x);
}

AgfTensor *
agf_norm_bwd(const AgfTensor *x, const AgfTensor *dy, const AgfTensor *gamma,
             const AgfNormBwdParams *p, GError **error)
{
  if (!need_params(p, "norm_bwd", error))
    return NULL;
  AgfOp op = { .kind = AGF_OP_NORM_BWD, .p.norm_bwd = *p };
  if (gamma)
    return CALL(op, error, x, dy, gamma);
  return CALL(op, error, x, dy);
}

AgfTensor *
agf_attention_bwd(const AgfTensor *q, const AgfTensor *k, const AgfTensor *v,
                  const AgfTensor *o, const AgfTensor *dout,
                  const AgfTensor *stats, const AgfAttentionBwdParams *p,
                  GError **error)
{
  if (!need_params(p, "attention_bwd", error))
    return NULL;
  AgfOp op = { .kind = AGF_OP_ATTENTION_BWD, .p.attention_bwd = *p };
  if (stats)
    return CALL(op, error, q, k, v, o, dout, stats);
  return CALL(op, error, q, k, v, o, dout);
}

AgfTensor *
agf_pool2d_bwd(const AgfTensor *x, const AgfTensor *dy,
               const AgfPool2dParams *p, GError **error)
{
  if (!need_params(p, "pool2d_bwd", error))
    return NULL;
  AgfOp op = { .kind = AGF_OP_POOL2D_BWD, .p.pool_bwd = *p };
  return CALL(op, error, x, dy);
}
