/* Forward computations whose gradients test_autograd.c checks: each
 * exercises one backward rule (sometimes through a view or two). */
#include "autograd_cases.h"
#include "nn/autograd.h"

static AgfTensor *
f_copy_permute(AgfTensor *const *in, GError **error)
{
  g_autoptr(AgfTensor) p = agf_tensor_permute(in[0], (int[]){ 2, 0, 1 },
                                              error);
  return p ? agf_copy(p, error) : NULL;
}

static AgfTensor *
f_slice(AgfTensor *const *in, GError **error)
{
  g_autoptr(AgfTensor) s = agf_tensor_slice(in[0], 1, 1, 2, error);
  return s ? agf_sigmoid(s, error) : NULL;
}

static AgfTensor *
f_expand(AgfTensor *const *in, GError **error)
{
  int64_t shape[3] = { 2, in[0]->shape[0], in[1]->shape[2] };
  g_autoptr(AgfTensor) e = agf_tensor_expand(in[0], 3, shape, error);
  return e ? agf_mul(e, in[1], error) : NULL;
}

static AgfTensor *
f_reshape(AgfTensor *const *in, GError **error)
{
  int64_t shape[2] = { in[0]->shape[0], -1 };
  g_autoptr(AgfTensor) r = agf_tensor_reshape(in[0], 2, shape, error);
  return r ? agf_softmax(r, error) : NULL;
}

static AgfTensor *
f_linear(AgfTensor *const *in, GError **error)
{
  return agf_linear(in[0], in[1], in[2], error);
}

static AgfTensor *
f_gemm_ta(AgfTensor *const *in, GError **error)
{
  return agf_gemm(in[0], in[1], NULL, TRUE, FALSE, 0.7f, error);
}

static AgfTensor *
f_gemm_tb(AgfTensor *const *in, GError **error)
{
  return agf_gemm(in[0], in[1], NULL, FALSE, TRUE, 1.3f, error);
}

static AgfTensor *
f_conv(AgfTensor *const *in, GError **error)
{
  AgfConv2dParams p = { .stride_h = 2, .stride_w = 1, .pad_top = 1,
                        .pad_bottom = 0, .pad_left = 1, .pad_right = 2,
                        .groups = 2 };
  return agf_conv2d(in[0], in[1], in[2], &p, error);
}

static AgfTensor *
f_conv_dil(AgfTensor *const *in, GError **error)
{
  AgfConv2dParams p = { .pad_top = 2, .pad_bottom = 2, .pad_left = 2,
                        .pad_right = 2, .dil_h = 2, .dil_w = 2 };
  return agf_conv2d(in[0], in[1], NULL, &p, error);
}

static AgfTensor *
f_group_norm(AgfTensor *const *in, GError **error)
{
  return agf_group_norm(in[0], in[1], in[2], 3, 1e-5f, error);
}

static AgfTensor *
f_layer_norm(AgfTensor *const *in, GError **error)
{
  return agf_layer_norm(in[0], in[1], in[2], 1e-5f, error);
}

static AgfTensor *
f_batch_norm(AgfTensor *const *in, GError **error)
{
  return agf_batch_norm(in[0], in[1], in[2], in[3], in[4], 1e-3f, error);
}

static AgfTensor *
f_norm_stats(AgfTensor *const *in, GError **error)
{
  return agf_norm_stats(in[0], error);
}

/* Train-mode batch norm as agf_layer_batch_norm builds it. */
static AgfTensor *
f_bn_train(AgfTensor *const *in, GError **error)
{
  g_autoptr(AgfTensor) st = agf_norm_stats(in[0], error);
  int64_t c = in[0]->shape[1];
  g_autoptr(AgfTensor) m0 = st ? agf_tensor_slice(st, 0, 0, 1, error) : NULL;
  g_autoptr(AgfTensor) v0 = m0 ? agf_tensor_slice(st, 0, 1, 1, error) : NULL;
  g_autoptr(AgfTensor) m = v0 ? agf_tensor_reshape(m0, 1, &c, error) : NULL;
  g_autoptr(AgfTensor) v = m ? agf_tensor_reshape(v0, 1, &c, error) : NULL;
  /* The statistics are f32; an f16 input gets f16 copies (recorded). */
  g_autoptr(AgfTensor) mc = v ? agf_tensor_cast(m, in[0]->dtype, error) : NULL;
  g_autoptr(AgfTensor) vc = mc ? agf_tensor_cast(v, in[0]->dtype, error)
                               : NULL;
  return vc ? agf_batch_norm(in[0], mc, vc, in[1], in[2], 1e-5f, error)
            : NULL;
}

static AgfTensor *
f_softmax(AgfTensor *const *in, GError **error)
{
  return agf_softmax(in[0], error);
}

static AgfTensor *
f_attention(AgfTensor *const *in, GError **error)
{
  return agf_attention(in[0], in[1], in[2], 2, 0.0f, error);
}

static AgfTensor *
f_l2(AgfTensor *const *in, GError **error)
{
  return agf_l2_normalize(in[0], 1e-6f, error);
}

/* Every unary function on one input: a weighted sum keeps them apart. */
static AgfTensor *
unary_chain(AgfTensor *x, const AgfUnaryFn *fns, int n, GError **error)
{
  g_autoptr(AgfTensor) acc = agf_scale(x, 1.5f, 0.25f, error);
  for (int i = 0; acc && i < n; i++) {
    g_autoptr(AgfTensor) y = agf_unary(x, fns[i], 0.1f, 0.0f, error);
    g_autoptr(AgfTensor) w = y ? agf_scale(y, 1.0f + 0.3f * (float) i, 0.0f,
                                           error) : NULL;
    AgfTensor *next = w ? agf_add(acc, w, error) : NULL;
    g_clear_pointer(&acc, agf_tensor_unref);
    acc = next;
  }
  return g_steal_pointer(&acc);
}

static AgfTensor *
f_unary_any(AgfTensor *const *in, GError **error)
{
  static const AgfUnaryFn fns[] = {
    AGF_UNARY_RELU, AGF_UNARY_LEAKY_RELU, AGF_UNARY_SIGMOID, AGF_UNARY_TANH,
    AGF_UNARY_SILU, AGF_UNARY_GELU, AGF_UNARY_GELU_TANH, AGF_UNARY_ABS,
    AGF_UNARY_EXP };
  return unary_chain(in[0], fns, G_N_ELEMENTS(fns), error);
}

static AgfTensor *
f_unary_pos(AgfTensor *const *in, GError **error)
{
  static const AgfUnaryFn fns[] = { AGF_UNARY_SQRT, AGF_UNARY_LOG };
  return unary_chain(in[0], fns, G_N_ELEMENTS(fns), error);
}

/* (a + b) * (a - c) / d, broadcasting along different dims. */
static AgfTensor *
f_binary(AgfTensor *const *in, GError **error)
{
  g_autoptr(AgfTensor) s = agf_add(in[0], in[1], error);
  g_autoptr(AgfTensor) d = s ? agf_sub(in[0], in[2], error) : NULL;
  g_autoptr(AgfTensor) m = d ? agf_mul(s, d, error) : NULL;
  return m ? agf_div(m, in[3], error) : NULL;
}

static AgfTensor *
f_prelu(AgfTensor *const *in, GError **error)
{
  return agf_prelu(in[0], in[1], error);
}

static AgfTensor *
f_upsample(AgfTensor *const *in, GError **error)
{
  return agf_upsample_nearest(in[0], 3, error);
}

static AgfTensor *
f_max_pool(AgfTensor *const *in, GError **error)
{
  AgfPool2dParams p = { .kind = AGF_POOL_MAX, .kernel_h = 3, .kernel_w = 2,
                        .stride_h = 2, .stride_w = 2, .pad_top = 1,
                        .pad_bottom = 1, .ceil_mode = TRUE };
  return agf_pool2d(in[0], &p, error);
}

static AgfTensor *
f_avg_pool(AgfTensor *const *in, GError **error)
{
  AgfPool2dParams p = { .kind = AGF_POOL_AVG, .kernel_h = 3, .kernel_w = 3,
                        .stride_h = 2, .stride_w = 1, .pad_top = 1,
                        .pad_bottom = 1, .pad_left = 1, .pad_right = 1 };
  return agf_pool2d(in[0], &p, error);
}

static AgfTensor *
f_gap(AgfTensor *const *in, GError **error)
{
  return agf_global_avg_pool(in[0], error);
}

static AgfTensor *
f_concat(AgfTensor *const *in, GError **error)
{
  const AgfTensor *xs[3] = { in[0], in[1], in[2] };
  return agf_concat(xs, 3, 1, error);
}

static AgfTensor *
f_reduce(AgfTensor *const *in, GError **error)
{
  return agf_reduce(in[0], AGF_REDUCE_SUM, 2,
                    (int64_t[]){ in[0]->shape[1], 1 }, error);
}

#define T(...) { __VA_ARGS__ }
#define G TRUE
#define C FALSE

const AgcCase agc_cases[] = {
  { "copy-permute", 1, { { 3, T(3, 4, 5), T(9, 17, 20), G, -1, 1 } },
    f_copy_permute, 1e-2 },
  { "slice", 1, { { 3, T(2, 5, 3), T(8, 9, 33), G, -2, 2 } }, f_slice, 1e-2 },
  { "expand", 2, { { 2, T(3, 1), T(20, 1), G, -1, 1 },
                   { 3, T(2, 3, 4), T(2, 20, 31), G, -1, 1 } },
    f_expand, 1e-2 },
  { "reshape-softmax", 1, { { 3, T(3, 2, 5), T(9, 7, 11), G, -2, 2 } },
    f_reshape, 1e-2 },
  { "gemm-linear", 3, { { 2, T(3, 5), T(33, 40), G, -1, 1 },
                        { 2, T(4, 5), T(27, 40), G, -1, 1 },
                        { 1, T(4), T(27), G, -1, 1 } }, f_linear, 1e-2 },
  { "gemm-trans-a-batch", 2, { { 3, T(2, 5, 3), T(3, 37, 19), G, -1, 1 },
                               { 2, T(5, 4), T(37, 23), G, -1, 1 } },
    f_gemm_ta, 1e-2 },
  { "gemm-trans-b-batch", 2, { { 3, T(1, 3, 5), T(1, 19, 37), G, -1, 1 },
                               { 3, T(2, 4, 5), T(3, 23, 37), G, -1, 1 } },
    f_gemm_tb, 1e-2 },
  { "conv2d-groups", 3, { { 4, T(2, 4, 5, 6), T(2, 8, 15, 13), G, -1, 1 },
                          { 4, T(6, 2, 3, 3), T(6, 4, 3, 3), G, -1, 1 },
                          { 1, T(6), T(6), G, -1, 1 } }, f_conv, 1e-2 },
  { "conv2d-dilated", 2, { { 4, T(1, 3, 5, 5), T(2, 5, 14, 11), G, -1, 1 },
                           { 4, T(2, 3, 3, 3), T(7, 5, 3, 3), G, -1, 1 } },
    f_conv_dil, 1e-2 },
  { "group-norm", 3, { { 4, T(2, 6, 3, 5), T(3, 12, 9, 11), G, -2, 2 },
                       { 1, T(6), T(12), G, 0.5f, 1.5f },
                       { 1, T(6), T(12), G, -1, 1 } }, f_group_norm, 2e-2 },
  { "layer-norm", 3, { { 3, T(3, 2, 7), T(5, 9, 40), G, -2, 2 },
                       { 1, T(7), T(40), G, 0.5f, 1.5f },
                       { 1, T(7), T(40), G, -1, 1 } }, f_layer_norm, 2e-2 },
  { "batch-norm", 5, { { 4, T(3, 4, 2, 3), T(4, 9, 7, 6), G, -2, 2 },
                       { 1, T(4), T(9), G, -0.5f, 0.5f },
                       { 1, T(4), T(9), G, 0.5f, 1.5f },
                       { 1, T(4), T(9), G, 0.5f, 1.5f },
                       { 1, T(4), T(9), G, -1, 1 } }, f_batch_norm, 1e-2 },
  { "norm-stats", 1, { { 4, T(3, 4, 2, 3), T(4, 9, 7, 6), G, -2, 2 } },
    f_norm_stats, 1e-2 },
  { "batch-norm-train", 3, { { 4, T(3, 4, 2, 3), T(4, 9, 7, 6), G, -2, 2 },
                             { 1, T(4), T(9), G, 0.5f, 1.5f },
                             { 1, T(4), T(9), G, -1, 1 } }, f_bn_train, 2e-2 },
  { "softmax", 1, { { 2, T(3, 7), T(17, 45), G, -3, 3 } }, f_softmax, 1e-2 },
  { "attention", 3, { { 3, T(2, 3, 8), T(2, 19, 32), G, -1, 1 },
                      { 3, T(2, 5, 8), T(2, 23, 32), G, -1, 1 },
                      { 3, T(2, 5, 6), T(2, 23, 24), G, -1, 1 } },
    f_attention, 1e-2 },
  { "l2-normalize", 1, { { 2, T(3, 6), T(17, 33), G, -1, 1 } }, f_l2, 1e-2 },
  { "unary", 1, { { 2, T(3, 7), T(19, 33), G, -2, 2 } }, f_unary_any, 1e-2 },
  { "unary-positive", 1, { { 2, T(3, 7), T(19, 33), G, 0.5f, 2 } },
    f_unary_pos, 1e-2 },
  { "binary-broadcast", 4, { { 3, T(2, 3, 4), T(3, 17, 20), G, -1, 1 },
                             { 2, T(1, 4), T(1, 20), G, -1, 1 },
                             { 3, T(2, 1, 4), T(3, 1, 20), G, -1, 1 },
                             { 1, T(4), T(20), G, 0.5f, 1.5f } },
    f_binary, 1e-2 },
  { "prelu", 2, { { 4, T(2, 3, 4, 5), T(3, 6, 9, 10), G, -1, 1 },
                  { 1, T(3), T(6), G, 0.1f, 0.4f } }, f_prelu, 1e-2 },
  { "prelu-shared", 2, { { 3, T(2, 3, 5), T(3, 6, 17), G, -1, 1 },
                         { 1, T(1), T(1), G, 0.1f, 0.4f } }, f_prelu, 1e-2 },
  { "upsample", 1, { { 4, T(2, 3, 3, 2), T(2, 5, 9, 7), G, -1, 1 } },
    f_upsample, 1e-2 },
  { "pool-max", 1, { { 4, T(2, 3, 7, 6), T(2, 5, 17, 15), G, -1, 1 } },
    f_max_pool, 1e-2 },
  { "pool-avg", 1, { { 4, T(2, 3, 7, 6), T(2, 5, 17, 15), G, -1, 1 } },
    f_avg_pool, 1e-2 },
  { "global-avg-pool", 1, { { 4, T(2, 3, 4, 5), T(3, 7, 11, 9), G, -1, 1 } },
    f_gap, 1e-2 },
  { "concat", 3, { { 3, T(2, 2, 3), T(3, 5, 7), G, -1, 1 },
                   { 3, T(2, 3, 3), T(3, 9, 7), C, -1, 1 },
                   { 3, T(2, 1, 3), T(3, 4, 7), G, -1, 1 } },
    f_concat, 1e-2 },
  { "reduce-sum", 1, { { 3, T(4, 3, 5), T(9, 17, 21), G, -1, 1 } },
    f_reduce, 1e-2 },
};
const int agc_n_cases = G_N_ELEMENTS(agc_cases);
