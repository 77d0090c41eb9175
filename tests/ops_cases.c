/* The op test table (see ops_cases.h). Shapes are small and odd (1, 3, 17,
 * 31, ...) so that no kernel's tile size divides them, and tiny enough for
 * lavapipe with the validation layers on. */
#include "ops_cases.h"

#define SHAPE(...) \
  .ndim = (int)(sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), \
  .shape = { __VA_ARGS__ }
#define X(...) { SHAPE(__VA_ARGS__) }
#define XR(l, h, ...) { SHAPE(__VA_ARGS__), .lo = (l), .hi = (h) }
#define XF32(l, h, ...) { SHAPE(__VA_ARGS__), .kind = OP_IN_F32, .lo = (l), .hi = (h) }
#define XU8(...) { SHAPE(__VA_ARGS__), .kind = OP_IN_U8, .lo = 0, .hi = 256 }
#define NONE { .ndim = 0 }

/* Error bounds (f32, f16) relative to the output's largest magnitude.
 * f16 runs get f16-rounded inputs on both sides, so f16 bounds cover the
 * rounding of intermediate results and outputs (2^-11 = 4.9e-4 each). */
#define T_EXACT  .tol_f32 = 1e-6, .tol_f16 = 2e-3 /* moves, max, relu */
#define T_ELEM   .tol_f32 = 1e-5, .tol_f16 = 3e-3 /* one rounding per element */
#define T_TRANS  .tol_f32 = 1e-4, .tol_f16 = 5e-3 /* exp, tanh, erf, sin */
#define T_REDUCE .tol_f32 = 1e-4, .tol_f16 = 1e-2 /* norms, softmax, means */
#define T_MATMUL .tol_f32 = 2e-4, .tol_f16 = 1e-2 /* gemm, conv, attention */
#define T_LEVEL  .tol_f32 = 1, .tol_f16 = 1       /* u8 outputs: one level */

#define OP(k, n) .kind = AGF_OP_##k, .n_in = (n)

static const float warp_matrix[12] = {
  0.9f, 0.1f, 1.5f, -0.05f, 1.1f, -0.7f,  /* mild rotation, scale, shift */
  1.3f, -0.2f, -2.0f, 0.25f, 0.8f, 3.0f,  /* maps partly outside */
};

/* Zeros where relu, leaky relu and abs have kinks (their gradient there
 * is 0, a and 0, as PyTorch's). */
static const float kinks[7] = { -1.0f, 0.0f, 0.5f, -0.0f, -0.25f, 2.0f, 0.0f };
/* Equal maxima in every 3x3 window. */
static const float pool_ties[16] = { 1, 2, 2, 0, 2, 1, 2, 2, 0, 2, 2, 1, 1, 1, 0, 2 };

const OpCase agf_op_cases[] = {
  /* --- copy, fill --- */
  { "dense_31", .op = { OP(COPY, 1) }, .in = { X(31) }, T_EXACT },
  { "permuted_5x3x17", .op = { OP(COPY, 1) }, .in = { X(5, 3, 17) },
    .permute_in0 = TRUE, .perm = { 2, 0, 1 }, T_EXACT },
  { "permuted_2x3x4x5", .op = { OP(COPY, 1) }, .in = { X(2, 3, 4, 5) },
    .permute_in0 = TRUE, .perm = { 0, 3, 1, 2 }, T_EXACT },
  { "3x17x5", .op = { OP(FILL, 0), .p.fill = { 1.5f } },
    .out_ndim = 3, .out_shape = { 3, 17, 5 }, T_EXACT },

  /* --- gemm: A, B, bias --- */
  { "1x1x1", .op = { OP(GEMM, 2) }, .in = { X(1, 1), X(1, 1) }, T_MATMUL },
  { "m17_n31_k3", .op = { OP(GEMM, 2) }, .in = { X(17, 3), X(3, 31) }, T_MATMUL },
  { "m31_n17_k64_bias", .op = { OP(GEMM, 3) },
    .in = { X(31, 64), X(64, 17), X(17) }, T_MATMUL },
  { "m3_n65_k33_ta", .op = { OP(GEMM, 2), .p.gemm = { .trans_a = TRUE } },
    .in = { X(33, 3), X(33, 65) }, T_MATMUL },
  { "m33_n20_k17_tb_bias_alpha",
    .op = { OP(GEMM, 3), .p.gemm = { .trans_b = TRUE, .alpha = 0.5f } },
    .in = { X(33, 17), X(20, 17), X(20) }, T_MATMUL },
  { "m17_n5_k40_ta_tb",
    .op = { OP(GEMM, 2), .p.gemm = { .trans_a = TRUE, .trans_b = TRUE } },
    .in = { X(40, 17), X(5, 40) }, T_MATMUL },
  { "m65_n67_k129", .op = { OP(GEMM, 2) }, .in = { X(65, 129), X(129, 67) },
    T_MATMUL },
  { "m130_n70_k96_tb_bias", .op = { OP(GEMM, 3), .p.gemm = { .trans_b = TRUE } },
    .in = { X(130, 96), X(70, 96), X(70) }, T_MATMUL },
  { "batched_3x17x9x13", .op = { OP(GEMM, 2) },
    .in = { X(3, 17, 9), X(3, 9, 13) }, T_MATMUL },
  { "bcast_a2d_b4x12x7", .op = { OP(GEMM, 2) },
    .in = { X(5, 12), X(4, 12, 7) }, T_MATMUL },
  { "bcast_a2x6x11_b2d_tb_bias", .op = { OP(GEMM, 3), .p.gemm = { .trans_b = TRUE } },
    .in = { X(2, 6, 11), X(19, 11), X(19) }, T_MATMUL },
  { "bcast_a1x4x8_b3x8x5", .op = { OP(GEMM, 2) },
    .in = { X(1, 4, 8), X(3, 8, 5) }, T_MATMUL },
  { "batched_ta_tb_2x9x7x31",
    .op = { OP(GEMM, 2), .p.gemm = { .trans_a = TRUE, .trans_b = TRUE } },
    .in = { X(2, 31, 9), X(2, 7, 31) }, T_MATMUL },

  /* --- conv2d: x, w, bias --- */
  { "1x1_bias", .op = { OP(CONV2D, 3) },
    .in = { X(1, 3, 5, 7), X(4, 3, 1, 1), X(4) }, T_MATMUL },
  { "3x3_pad1_bias", .op = { OP(CONV2D, 3),
      .p.conv = { .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 } },
    .in = { X(2, 3, 17, 13), X(8, 3, 3, 3), X(8) }, T_MATMUL },
  { "3x3_stride2_pad1", .op = { OP(CONV2D, 3),
      .p.conv = { .stride_h = 2, .stride_w = 2, .pad_top = 1, .pad_bottom = 1,
                  .pad_left = 1, .pad_right = 1 } },
    .in = { X(1, 5, 17, 17), X(7, 5, 3, 3), X(7) }, T_MATMUL },
  { "3x3_dil2_pad2", .op = { OP(CONV2D, 2),
      .p.conv = { .dil_h = 2, .dil_w = 2, .pad_top = 2, .pad_bottom = 2,
                  .pad_left = 2, .pad_right = 2 } },
    .in = { X(1, 4, 15, 16), X(6, 4, 3, 3) }, T_MATMUL },
  { "groups3", .op = { OP(CONV2D, 3),
      .p.conv = { .groups = 3, .pad_top = 1, .pad_bottom = 1, .pad_left = 1,
                  .pad_right = 1 } },
    .in = { X(1, 6, 9, 11), X(9, 2, 3, 3), X(9) }, T_MATMUL },
  { "depthwise_3x3", .op = { OP(CONV2D, 3),
      .p.conv = { .groups = 8, .pad_top = 1, .pad_bottom = 1, .pad_left = 1,
                  .pad_right = 1 } },
    .in = { X(2, 8, 13, 9), X(8, 1, 3, 3), X(8) }, T_MATMUL },
  { "depthwise_5x5_stride2", .op = { OP(CONV2D, 2),
      .p.conv = { .groups = 5, .stride_h = 2, .stride_w = 2, .pad_top = 2,
                  .pad_bottom = 2, .pad_left = 2, .pad_right = 2 } },
    .in = { X(1, 5, 16, 15), X(5, 1, 5, 5) }, T_MATMUL },
  { "asym_pad_0101_stride2", .op = { OP(CONV2D, 3),
      .p.conv = { .stride_h = 2, .stride_w = 2, .pad_bottom = 1, .pad_right = 1 } },
    .in = { X(1, 4, 16, 16), X(4, 4, 3, 3), X(4) }, T_MATMUL },
  { "1x3_stride1x2", .op = { OP(CONV2D, 2),
      .p.conv = { .stride_h = 1, .stride_w = 2, .pad_left = 1, .pad_right = 1 } },
    .in = { X(1, 3, 9, 10), X(5, 3, 1, 3) }, T_MATMUL },
  { "3x3_ci33_co40", .op = { OP(CONV2D, 3),
      .p.conv = { .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 } },
    .in = { X(1, 33, 9, 9), X(40, 33, 3, 3), X(40) }, T_MATMUL },
  { "7x7_stride2_pad3", .op = { OP(CONV2D, 2),
      .p.conv = { .stride_h = 2, .stride_w = 2, .pad_top = 3, .pad_bottom = 3,
                  .pad_left = 3, .pad_right = 3 } },
    .in = { X(1, 3, 31, 31), X(8, 3, 7, 7) }, T_MATMUL },

  /* --- normalization --- */
  { "2x6x5x7_g3", .op = { OP(GROUP_NORM, 3), .p.group_norm = { 3, 1e-5f } },
    .in = { X(2, 6, 5, 7), X(6), X(6) }, T_REDUCE },
  { "1x32x3x3_g32", .op = { OP(GROUP_NORM, 3), .p.group_norm = { 32, 1e-6f } },
    .in = { X(1, 32, 3, 3), X(32), X(32) }, T_REDUCE },
  { "2x4x31_g2_noaffine", .op = { OP(GROUP_NORM, 1), .p.group_norm = { 2, 1e-5f } },
    .in = { X(2, 4, 31) }, T_REDUCE },
  /* A large mean over a small spread: one-pass E[x^2]-E[x]^2 loses this. */
  { "offset_mean", .op = { OP(GROUP_NORM, 3), .p.group_norm = { 2, 1e-5f } },
    .in = { XR(10, 11, 1, 4, 17, 3), X(4), X(4) }, .tol_f32 = 1e-3, .tol_f16 = 3e-2 },
  { "3x17x40", .op = { OP(LAYER_NORM, 3), .p.layer_norm = { 1e-5f } },
    .in = { X(3, 17, 40), X(40), X(40) }, T_REDUCE },
  { "1x31_noaffine", .op = { OP(LAYER_NORM, 1), .p.layer_norm = { 1e-6f } },
    .in = { X(1, 31) }, T_REDUCE },
  { "2x5x768", .op = { OP(LAYER_NORM, 3), .p.layer_norm = { 1e-6f } },
    .in = { XR(-3, 3, 2, 5, 768), X(768), X(768) }, T_REDUCE },
  { "2x5x7x3", .op = { OP(BATCH_NORM, 5), .p.batch_norm = { 1e-5f } },
    .in = { X(2, 5, 7, 3), X(5), XR(0.1f, 2, 5), X(5), X(5) }, T_ELEM },
  { "3x17", .op = { OP(BATCH_NORM, 5), .p.batch_norm = { 1e-3f } },
    .in = { X(3, 17), X(17), XR(0.1f, 2, 17), X(17), X(17) }, T_ELEM },
  { "3x17", .op = { OP(SOFTMAX, 1) }, .in = { XR(-4, 4, 3, 17) }, T_REDUCE },
  { "2x5x31", .op = { OP(SOFTMAX, 1) }, .in = { XR(-4, 4, 2, 5, 31) }, T_REDUCE },
  { "1x1", .op = { OP(SOFTMAX, 1) }, .in = { X(1, 1) }, T_REDUCE },
  { "4x160_large", .op = { OP(SOFTMAX, 1) }, .in = { XR(-20, 20, 4, 160) }, T_REDUCE },
  { "3x17", .op = { OP(L2_NORMALIZE, 1), .p.l2 = { 1e-12f } },
    .in = { X(3, 17) }, T_REDUCE },
  { "2x5x512", .op = { OP(L2_NORMALIZE, 1), .p.l2 = { 1e-12f } },
    .in = { X(2, 5, 512) }, T_REDUCE },

  /* --- attention: q, k, v --- */
  { "self_l17_h2_d8", .op = { OP(ATTENTION, 3), .p.attention = { 2, 0 } },
    .in = { X(1, 17, 16), X(1, 17, 16), X(1, 17, 16) }, T_MATMUL },
  { "cross_lq31_lk5_h1_d40", .op = { OP(ATTENTION, 3), .p.attention = { 1, 0 } },
    .in = { X(1, 31, 40), X(1, 5, 40), X(1, 5, 40) }, T_MATMUL },
  { "cross_b2_lq3_lk77_h2_d64", .op = { OP(ATTENTION, 3), .p.attention = { 2, 0 } },
    .in = { X(2, 3, 128), X(2, 77, 128), X(2, 77, 128) }, T_MATMUL },
  { "lq17_lk33_h1_d80", .op = { OP(ATTENTION, 3), .p.attention = { 1, 0 } },
    .in = { X(1, 17, 80), X(1, 33, 80), X(1, 33, 80) }, T_MATMUL },
  { "lq5_lk9_h2_d160", .op = { OP(ATTENTION, 3), .p.attention = { 2, 0 } },
    .in = { X(1, 5, 320), X(1, 9, 320), X(1, 9, 320) }, T_MATMUL },
  { "l1_h1_d8", .op = { OP(ATTENTION, 3), .p.attention = { 1, 0 } },
    .in = { X(1, 1, 8), X(1, 1, 8), X(1, 1, 8) }, T_MATMUL },
  { "dv16_d8_scale0.3", .op = { OP(ATTENTION, 3), .p.attention = { 2, 0.3f } },
    .in = { X(1, 7, 16), X(1, 11, 16), X(1, 11, 32) }, T_MATMUL },
  { "self_l130_h1_d40", .op = { OP(ATTENTION, 3), .p.attention = { 1, 0 } },
    .in = { X(1, 130, 40), X(1, 130, 40), X(1, 130, 40) }, T_MATMUL },
  { "peaked_lq9_lk31_h3_d8", .op = { OP(ATTENTION, 3), .p.attention = { 3, 2.0f } },
    .in = { XR(-3, 3, 1, 9, 24), XR(-3, 3, 1, 31, 24), X(1, 31, 24) }, T_MATMUL },

  /* --- unary --- */
  { "identity_affine", .op = { OP(UNARY, 1),
      .p.unary = { AGF_UNARY_IDENTITY, 0.5f, -0.25f } },
    .in = { X(3, 17, 5) }, T_ELEM },
  { "relu", .op = { OP(UNARY, 1), .p.unary = { AGF_UNARY_RELU, 0, 0 } },
    .in = { X(3, 17, 5) }, T_EXACT },
  { "relu_permuted", .op = { OP(UNARY, 1), .p.unary = { AGF_UNARY_RELU, 0, 0 } },
    .in = { X(3, 17, 5) }, .permute_in0 = TRUE, .perm = { 2, 0, 1 }, T_EXACT },
  { "leaky_relu", .op = { OP(UNARY, 1), .p.unary = { AGF_UNARY_LEAKY_RELU, 0.1f, 0 } },
    .in = { X(31) }, T_ELEM },
  { "sigmoid", .op = { OP(UNARY, 1), .p.unary = { AGF_UNARY_SIGMOID, 0, 0 } },
    .in = { XR(-6, 6, 2, 31) }, T_TRANS },
  { "tanh", .op = { OP(UNARY, 1), .p.unary = { AGF_UNARY_TANH, 0, 0 } },
    .in = { XR(-4, 4, 2, 31) }, T_TRANS },
  { "silu", .op = { OP(UNARY, 1), .p.unary = { AGF_UNARY_SILU, 0, 0 } },
    .in = { XR(-6, 6, 1, 3, 17, 3) }, T_TRANS },
  { "gelu", .op = { OP(UNARY, 1), .p.unary = { AGF_UNARY_GELU, 0, 0 } },
    .in = { XR(-5, 5, 17, 31) }, T_TRANS },
  { "gelu_tanh", .op = { OP(UNARY, 1), .p.unary = { AGF_UNARY_GELU_TANH, 0, 0 } },
    .in = { XR(-5, 5, 17, 31) }, T_TRANS },
  { "abs", .op = { OP(UNARY, 1), .p.unary = { AGF_UNARY_ABS, 0, 0 } },
    .in = { X(31) }, T_EXACT },
  { "exp", .op = { OP(UNARY, 1), .p.unary = { AGF_UNARY_EXP, 0, 0 } },
    .in = { XR(-4, 4, 3, 17) }, T_TRANS },
  { "sqrt", .op = { OP(UNARY, 1), .p.unary = { AGF_UNARY_SQRT, 0, 0 } },
    .in = { XR(0, 4, 3, 17) }, T_TRANS },

  /* --- binary with broadcasting, prelu --- */
  { "add_3x17x5", .op = { OP(BINARY, 2), .p.binary = { AGF_BINARY_ADD } },
    .in = { X(3, 17, 5), X(3, 17, 5) }, T_ELEM },
  { "sub_2x3x17x5_3x1x5", .op = { OP(BINARY, 2), .p.binary = { AGF_BINARY_SUB } },
    .in = { X(2, 3, 17, 5), X(3, 1, 5) }, T_ELEM },
  { "mul_17x1_1x31", .op = { OP(BINARY, 2), .p.binary = { AGF_BINARY_MUL } },
    .in = { X(17, 1), X(1, 31) }, T_ELEM },
  { "div_4x31_31", .op = { OP(BINARY, 2), .p.binary = { AGF_BINARY_DIV } },
    .in = { X(4, 31), XR(0.5f, 2, 31) }, T_ELEM },
  { "add_scalar", .op = { OP(BINARY, 2), .p.binary = { AGF_BINARY_ADD } },
    .in = { X(3, 17), X(1) }, T_ELEM },
  { "mul_2x3x4x5_2x1x4x1", .op = { OP(BINARY, 2), .p.binary = { AGF_BINARY_MUL } },
    .in = { X(2, 3, 4, 5), X(2, 1, 4, 1) }, T_ELEM },
  { "sub_1x5_3x5", .op = { OP(BINARY, 2), .p.binary = { AGF_BINARY_SUB } },
    .in = { X(1, 5), X(3, 5) }, T_ELEM },
  { "add_permuted", .op = { OP(BINARY, 2), .p.binary = { AGF_BINARY_ADD } },
    .in = { X(5, 3, 17), X(5, 3, 17) }, .permute_in0 = TRUE, .perm = { 1, 2, 0 },
    T_ELEM },
  { "2x5x7x3", .op = { OP(PRELU, 2) }, .in = { X(2, 5, 7, 3), XR(0, 0.5f, 5) },
    T_ELEM },
  { "1x3x17", .op = { OP(PRELU, 2) }, .in = { X(1, 3, 17), XR(0, 0.5f, 3) },
    T_ELEM },

  /* --- resampling, pooling, concat --- */
  { "x2_1x3x5x7", .op = { OP(UPSAMPLE_NEAREST, 1), .p.upsample = { 2 } },
    .in = { X(1, 3, 5, 7) }, T_EXACT },
  { "x3_2x2x3x3", .op = { OP(UPSAMPLE_NEAREST, 1), .p.upsample = { 3 } },
    .in = { X(2, 2, 3, 3) }, T_EXACT },
  { "max_k3s2p1", .op = { OP(POOL2D, 1), .p.pool = { .kind = AGF_POOL_MAX,
      .kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2, .pad_top = 1,
      .pad_bottom = 1, .pad_left = 1, .pad_right = 1 } },
    .in = { X(1, 3, 17, 17) }, T_EXACT },
  { "max_k2s2_ceil", .op = { OP(POOL2D, 1), .p.pool = { .kind = AGF_POOL_MAX,
      .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2,
      .ceil_mode = TRUE } },
    .in = { X(1, 2, 17, 15) }, T_EXACT },
  { "max_k3s1_pad_0101", .op = { OP(POOL2D, 1), .p.pool = { .kind = AGF_POOL_MAX,
      .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1,
      .pad_bottom = 1, .pad_right = 1 } },
    .in = { X(1, 2, 7, 9) }, T_EXACT },
  { "avg_k3s2p1_incl_pad", .op = { OP(POOL2D, 1), .p.pool = { .kind = AGF_POOL_AVG,
      .kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2, .pad_top = 1,
      .pad_bottom = 1, .pad_left = 1, .pad_right = 1, .count_include_pad = TRUE } },
    .in = { X(1, 3, 9, 9) }, T_ELEM },
  { "avg_k3s2p1_excl_pad_ceil", .op = { OP(POOL2D, 1), .p.pool = { .kind = AGF_POOL_AVG,
      .kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2, .pad_top = 1,
      .pad_bottom = 1, .pad_left = 1, .pad_right = 1, .ceil_mode = TRUE } },
    .in = { X(2, 2, 10, 11) }, T_ELEM },
  { "avg_k2s2", .op = { OP(POOL2D, 1), .p.pool = { .kind = AGF_POOL_AVG,
      .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2 } },
    .in = { X(1, 4, 8, 8) }, T_ELEM },
  { "avg_k2x3_s1x2_ceil", .op = { OP(POOL2D, 1), .p.pool = { .kind = AGF_POOL_AVG,
      .kernel_h = 2, .kernel_w = 3, .stride_h = 1, .stride_w = 2,
      .ceil_mode = TRUE } },
    .in = { X(1, 3, 5, 8) }, T_ELEM },
  { "2x5x7x9", .op = { OP(GLOBAL_AVG_POOL, 1) }, .in = { X(2, 5, 7, 9) }, T_REDUCE },
  { "1x17x1x1", .op = { OP(GLOBAL_AVG_POOL, 1) }, .in = { X(1, 17, 1, 1) }, T_REDUCE },
  { "1x3x31x17", .op = { OP(GLOBAL_AVG_POOL, 1) }, .in = { X(1, 3, 31, 17) }, T_REDUCE },
  { "dim1_3_inputs", .op = { OP(CONCAT, 3), .p.concat = { 1 } },
    .in = { X(2, 3, 5), X(2, 7, 5), X(2, 1, 5) }, T_EXACT },
  { "dim0", .op = { OP(CONCAT, 2), .p.concat = { 0 } },
    .in = { X(3, 4), X(1, 4) }, T_EXACT },
  { "dim_last", .op = { OP(CONCAT, 2), .p.concat = { 2 } },
    .in = { X(2, 3, 5), X(2, 3, 4) }, T_EXACT },
  { "dim1_permuted", .op = { OP(CONCAT, 2), .p.concat = { 1 } },
    .in = { X(2, 3, 5), X(2, 4, 5) }, .permute_in0 = TRUE, .perm = { 2, 0, 1 },
    T_EXACT },

  /* --- embeddings, sampling, images --- */
  { "sd15_320", .op = { OP(TIMESTEP_EMBED, 1),
      .p.temb = { .dim = 320, .flip_sin_to_cos = TRUE } },
    .in = { XF32(0, 1000, 3) }, .tol_f32 = 1e-3, .tol_f16 = 1e-2 },
  { "odd17_shift1", .op = { OP(TIMESTEP_EMBED, 1),
      .p.temb = { .dim = 17, .downscale_freq_shift = 1 } },
    .in = { XF32(0, 1000, 2) }, .tol_f32 = 1e-3, .tol_f16 = 1e-2 },
  { "dim8_period100", .op = { OP(TIMESTEP_EMBED, 1),
      .p.temb = { .dim = 8, .max_period = 100 } },
    .in = { XF32(0, 50, 5) }, .tol_f32 = 1e-3, .tol_f16 = 1e-2 },
  { "up_5x7_to_9x13", .op = { OP(RESIZE_BILINEAR, 1), .p.resize = { 9, 13, FALSE } },
    .in = { X(1, 3, 5, 7) }, T_ELEM },
  { "up_5x7_to_9x13_align", .op = { OP(RESIZE_BILINEAR, 1), .p.resize = { 9, 13, TRUE } },
    .in = { X(1, 3, 5, 7) }, T_ELEM },
  { "down_17x16_to_5x6", .op = { OP(RESIZE_BILINEAR, 1), .p.resize = { 5, 6, FALSE } },
    .in = { X(2, 2, 17, 16) }, T_ELEM },
  { "down_17x16_to_5x6_align", .op = { OP(RESIZE_BILINEAR, 1), .p.resize = { 5, 6, TRUE } },
    .in = { X(2, 2, 17, 16) }, T_ELEM },
  { "1x1_to_3x4", .op = { OP(RESIZE_BILINEAR, 1), .p.resize = { 3, 4, FALSE } },
    .in = { X(1, 2, 1, 1) }, T_ELEM },
  { "2x3x17x19_to_11x13", .op = { OP(AFFINE_WARP, 2), .p.warp = { 11, 13, 0.5f } },
    .in = { X(2, 3, 17, 19), { SHAPE(2, 2, 3), .kind = OP_IN_F32, .data = warp_matrix } },
    T_ELEM },
  { "rgb_1x5x7x3_imagenet", .op = { OP(IMAGE_TO_TENSOR, 1), .p.to_tensor = {
      { 0.485f, 0.456f, 0.406f }, { 0.229f, 0.224f, 0.225f } } },
    .in = { XU8(1, 5, 7, 3) }, T_ELEM },
  { "rgba_2x4x3x4_half", .op = { OP(IMAGE_TO_TENSOR, 1), .p.to_tensor = {
      { 0.5f, 0.5f, 0.5f }, { 0.5f, 0.5f, 0.5f } } },
    .in = { XU8(2, 4, 3, 4) }, T_ELEM },
  { "1x3x5x7", .op = { OP(TENSOR_TO_IMAGE, 1), .p.to_image = {
      { 0.5f, 0.5f, 0.5f }, { 0.5f, 0.5f, 0.5f } } },
    .in = { XR(-2.5f, 2.5f, 1, 3, 5, 7) }, T_LEVEL },
  { "2x3x3x17_imagenet", .op = { OP(TENSOR_TO_IMAGE, 1), .p.to_image = {
      { 0.485f, 0.456f, 0.406f }, { 0.229f, 0.224f, 0.225f } } },
    .in = { XR(-2.5f, 2.5f, 2, 3, 3, 17) }, T_LEVEL },
  /* Colormaps: the harness allows one LUT step (a value on a bin edge). */
  { "viridis_abs", .op = { OP(COLORMAP, 1),
      .p.cmap = { AGF_CMAP_VIRIDIS, 0, 1, FALSE } },
    .in = { X(1, 2, 9, 7) }, T_LEVEL },
  { "turbo_signed", .op = { OP(COLORMAP, 1),
      .p.cmap = { AGF_CMAP_TURBO, -0.5f, 0.5f, TRUE } },
    .in = { X(1, 1, 5, 17) }, T_LEVEL },
  { "inferno", .op = { OP(COLORMAP, 1),
      .p.cmap = { AGF_CMAP_INFERNO, 0.1f, 0.6f, FALSE } },
    .in = { X(2, 3, 4, 5) }, T_LEVEL },
  { "grey", .op = { OP(COLORMAP, 1), .p.cmap = { AGF_CMAP_GREY, 0, 2, FALSE } },
    .in = { X(1, 3, 3, 31) }, T_LEVEL },

  /* --- training kinds (owner: cpubwd) --- */

  /* reduce: x -> a broadcast-compatible shape */
  { "sum_3x17x5_to_1", .op = { OP(REDUCE, 1), .p.reduce = { AGF_REDUCE_SUM, 1, { 1 } } },
    .in = { X(3, 17, 5) }, T_REDUCE },
  { "sum_4x3x5_to_3x1", .op = { OP(REDUCE, 1), .p.reduce = { AGF_REDUCE_SUM, 2, { 3, 1 } } },
    .in = { X(4, 3, 5) }, T_REDUCE },
  { "sum_2x7x5x3_to_1x7x1x1", .op = { OP(REDUCE, 1),
      .p.reduce = { AGF_REDUCE_SUM, 4, { 1, 7, 1, 1 } } },
    .in = { X(2, 7, 5, 3) }, T_REDUCE },
  { "sum_2x7x5x3_to_7x1x1", .op = { OP(REDUCE, 1),
      .p.reduce = { AGF_REDUCE_SUM, 3, { 7, 1, 1 } } },
    .in = { X(2, 7, 5, 3) }, T_REDUCE },
  { "sum_5x3x17_to_3x17", .op = { OP(REDUCE, 1),
      .p.reduce = { AGF_REDUCE_SUM, 2, { 3, 17 } } },
    .in = { X(5, 3, 17) }, T_REDUCE },
  { "sum_3x1x31_to_1x31", .op = { OP(REDUCE, 1),
      .p.reduce = { AGF_REDUCE_SUM, 2, { 1, 31 } } },
    .in = { X(3, 1, 31) }, T_REDUCE },
  { "sum_2x3x4x5_to_2x1x4x1", .op = { OP(REDUCE, 1),
      .p.reduce = { AGF_REDUCE_SUM, 4, { 2, 1, 4, 1 } } },
    .in = { X(2, 3, 4, 5) }, T_REDUCE },
  { "sum_same_3x17", .op = { OP(REDUCE, 1), .p.reduce = { AGF_REDUCE_SUM, 2, { 3, 17 } } },
    .in = { X(3, 17) }, T_EXACT },
  /* More than one block of the full reduction; all positive, so that the
   * sum is large and f16 inputs still give a small relative error. */
  { "sum_7x10001_to_1", .op = { OP(REDUCE, 1), .p.reduce = { AGF_REDUCE_SUM, 1, { 1 } } },
    .in = { XR(0, 1, 7, 10001) }, T_REDUCE },
  /* Many rows into a few columns (a bias gradient): segments of rows. */
  { "sum_1100x7_to_7", .op = { OP(REDUCE, 1), .p.reduce = { AGF_REDUCE_SUM, 1, { 7 } } },
    .in = { X(1100, 7) }, T_REDUCE },
  { "max_2x300x5_to_1x1x5", .op = { OP(REDUCE, 1),
      .p.reduce = { AGF_REDUCE_MAX, 3, { 1, 1, 5 } } },
    .in = { X(2, 300, 5) }, T_EXACT },
  { "max_3x17x5_to_3x1x5", .op = { OP(REDUCE, 1),
      .p.reduce = { AGF_REDUCE_MAX, 3, { 3, 1, 5 } } },
    .in = { X(3, 17, 5) }, T_EXACT },
  { "max_4x31_to_1", .op = { OP(REDUCE, 1), .p.reduce = { AGF_REDUCE_MAX, 1, { 1 } } },
    .in = { X(4, 31) }, T_EXACT },
  { "max_2x3x17_to_17", .op = { OP(REDUCE, 1), .p.reduce = { AGF_REDUCE_MAX, 1, { 17 } } },
    .in = { X(2, 3, 17) }, T_EXACT },

  /* unary LOG, the forward function added for the losses */
  { "log", .op = { OP(UNARY, 1), .p.unary = { AGF_UNARY_LOG, 0, 0 } },
    .in = { XR(0.05f, 8, 3, 17) }, T_TRANS },

  /* unary_bwd: x, dy; every function, kinks included */
#define UB(nm, fn, a, tol, ...) \
  { nm, .op = { OP(UNARY_BWD, 2), .p.unary_bwd = { fn, a, 0 } }, \
    .in = { __VA_ARGS__ }, tol }
  UB("identity", AGF_UNARY_IDENTITY, 0.5f, T_ELEM, X(3, 17, 5), X(3, 17, 5)),
  UB("relu", AGF_UNARY_RELU, 0, T_EXACT, X(3, 17, 5), X(3, 17, 5)),
  UB("relu_kinks", AGF_UNARY_RELU, 0, T_EXACT, { SHAPE(7), .data = kinks }, X(7)),
  UB("leaky_relu", AGF_UNARY_LEAKY_RELU, 0.1f, T_ELEM, X(31), X(31)),
  UB("leaky_relu_kinks", AGF_UNARY_LEAKY_RELU, 0.2f, T_ELEM,
     { SHAPE(7), .data = kinks }, X(7)),
  UB("sigmoid", AGF_UNARY_SIGMOID, 0, T_TRANS, XR(-6, 6, 2, 31), X(2, 31)),
  UB("tanh", AGF_UNARY_TANH, 0, T_TRANS, XR(-4, 4, 2, 31), X(2, 31)),
  UB("silu", AGF_UNARY_SILU, 0, T_TRANS, XR(-6, 6, 1, 3, 17, 3), X(1, 3, 17, 3)),
  UB("gelu", AGF_UNARY_GELU, 0, T_TRANS, XR(-5, 5, 17, 31), X(17, 31)),
  UB("gelu_tanh", AGF_UNARY_GELU_TANH, 0, T_TRANS, XR(-5, 5, 17, 31), X(17, 31)),
  UB("abs", AGF_UNARY_ABS, 0, T_EXACT, X(31), X(31)),
  UB("abs_kinks", AGF_UNARY_ABS, 0, T_EXACT, { SHAPE(7), .data = kinks }, X(7)),
  UB("exp", AGF_UNARY_EXP, 0, T_TRANS, XR(-4, 4, 3, 17), X(3, 17)),
  UB("sqrt", AGF_UNARY_SQRT, 0, T_TRANS, XR(0.1f, 4, 3, 17), X(3, 17)),
  UB("log", AGF_UNARY_LOG, 0, T_TRANS, XR(0.1f, 4, 3, 17), X(3, 17)),
  /* 4097 elements: past one chunk of the vectorized sigmoid. */
  UB("silu_4097", AGF_UNARY_SILU, 0, T_TRANS, XR(-8, 8, 4097), X(4097)),
  /* Past one chunk of the vectorized GELU gradient; its tails included. */
  UB("gelu_4097", AGF_UNARY_GELU, 0, T_TRANS, XR(-12, 12, 4097), X(4097)),
#undef UB

  /* conv2d_bwd_data: dy, w (h, w: the forward input's size);
   * conv2d_bwd_filter: x, dy (h, w: the kernel's size). Both on the same
   * geometries: x [n,ci,h,w], w [co,cg,kh,kw], dy [n,co,ho,wo]. */
#define CONV_BWD(nm, n, ci, h, w, co, cg, kh, kw, ho, wo, ...) \
  { nm, .op = { OP(CONV2D_BWD_DATA, 2), .p.conv_bwd = { { __VA_ARGS__ }, h, w } }, \
    .in = { X(n, co, ho, wo), X(co, cg, kh, kw) }, T_MATMUL }, \
  { nm, .op = { OP(CONV2D_BWD_FILTER, 2), .p.conv_bwd = { { __VA_ARGS__ }, kh, kw } }, \
    .in = { X(n, ci, h, w), X(n, co, ho, wo) }, T_MATMUL }
#define P1 .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1
  CONV_BWD("3x3_pad1", 2, 3, 17, 13, 8, 3, 3, 3, 17, 13, P1),
  CONV_BWD("3x3_stride2_pad1", 1, 5, 17, 17, 7, 5, 3, 3, 9, 9,
           .stride_h = 2, .stride_w = 2, P1),
  CONV_BWD("asym_pad_0101_stride2", 1, 4, 16, 16, 4, 4, 3, 3, 8, 8,
           .stride_h = 2, .stride_w = 2, .pad_bottom = 1, .pad_right = 1),
  CONV_BWD("3x3_dil2_pad2", 1, 4, 15, 16, 6, 4, 3, 3, 15, 16,
           .dil_h = 2, .dil_w = 2, .pad_top = 2, .pad_bottom = 2,
           .pad_left = 2, .pad_right = 2),
  CONV_BWD("groups3", 1, 6, 9, 11, 9, 2, 3, 3, 9, 11, .groups = 3, P1),
  CONV_BWD("depthwise_3x3", 2, 8, 13, 9, 8, 1, 3, 3, 13, 9, .groups = 8, P1),
  CONV_BWD("depthwise_x2_5x5_stride2", 1, 3, 16, 15, 6, 1, 5, 5, 8, 8,
           .groups = 3, .stride_h = 2, .stride_w = 2, .pad_top = 2,
           .pad_bottom = 2, .pad_left = 2, .pad_right = 2),
  CONV_BWD("1x1", 2, 5, 7, 3, 4, 5, 1, 1, 7, 3, .groups = 1),
  CONV_BWD("1x1_groups2", 1, 6, 5, 7, 4, 3, 1, 1, 5, 7, .groups = 2),
  CONV_BWD("1x1_stride2", 1, 3, 9, 10, 5, 3, 1, 1, 5, 5, .stride_h = 2, .stride_w = 2),
  CONV_BWD("1x3_stride1x2", 1, 3, 9, 10, 5, 3, 1, 3, 9, 5,
           .stride_h = 1, .stride_w = 2, .pad_left = 1, .pad_right = 1),
  /* Stride 3 leaves the input's last row and column out of every window. */
  CONV_BWD("3x3_stride3_tail", 1, 2, 11, 10, 3, 2, 3, 3, 3, 3,
           .stride_h = 3, .stride_w = 3),
  CONV_BWD("3x3_ci33_co40", 1, 33, 9, 9, 40, 33, 3, 3, 9, 9, P1),
  CONV_BWD("7x7_stride2_pad3", 1, 3, 31, 31, 8, 3, 7, 7, 16, 16,
           .stride_h = 2, .stride_w = 2, .pad_top = 3, .pad_bottom = 3,
           .pad_left = 3, .pad_right = 3),
#undef P1
#undef CONV_BWD

  /* norm_stats: x -> [2, C] */
  { "2x5x7x3", .op = { OP(NORM_STATS, 1) }, .in = { X(2, 5, 7, 3) }, T_REDUCE },
  { "3x17", .op = { OP(NORM_STATS, 1) }, .in = { X(3, 17) }, T_REDUCE },
  { "1x3x31", .op = { OP(NORM_STATS, 1) }, .in = { X(1, 3, 31) }, T_REDUCE },
  /* A large mean over a small spread (the variance row is what it tests). */
  { "offset_mean", .op = { OP(NORM_STATS, 1) }, .in = { XR(10, 11, 3, 4, 17, 3) },
    T_REDUCE },

  /* norm_bwd: x, dy (, gamma) */
#define NB(nm, kind, g, which, n, ...) \
  { nm, .op = { OP(NORM_BWD, n), .p.norm_bwd = { kind, g, 1e-5f, which } }, \
    .in = { __VA_ARGS__ }, T_REDUCE }
  NB("group_dx_2x6x5x7_g3", AGF_NORM_GROUP, 3, AGF_NORM_GRAD_INPUT, 3,
     X(2, 6, 5, 7), X(2, 6, 5, 7), X(6)),
  NB("group_dx_2x4x31_g2_nogamma", AGF_NORM_GROUP, 2, AGF_NORM_GRAD_INPUT, 2,
     X(2, 4, 31), X(2, 4, 31)),
  NB("group_dx_1x32x3x3_g32", AGF_NORM_GROUP, 32, AGF_NORM_GRAD_INPUT, 3,
     X(1, 32, 3, 3), X(1, 32, 3, 3), X(32)),
  NB("group_dx_offset_mean", AGF_NORM_GROUP, 2, AGF_NORM_GRAD_INPUT, 3,
     XR(10, 11, 1, 4, 17, 3), X(1, 4, 17, 3), X(4)),
  NB("group_dgamma_2x6x5x7_g3", AGF_NORM_GROUP, 3, AGF_NORM_GRAD_GAMMA, 2,
     X(2, 6, 5, 7), X(2, 6, 5, 7)),
  NB("group_dgamma_3x4x17_g1", AGF_NORM_GROUP, 1, AGF_NORM_GRAD_GAMMA, 2,
     X(3, 4, 17), X(3, 4, 17)),
  NB("layer_dx_3x17x40", AGF_NORM_LAYER, 0, AGF_NORM_GRAD_INPUT, 3,
     X(3, 17, 40), X(3, 17, 40), X(40)),
  NB("layer_dx_1x31_nogamma", AGF_NORM_LAYER, 0, AGF_NORM_GRAD_INPUT, 2,
     X(1, 31), X(1, 31)),
  NB("layer_dgamma_3x17x40", AGF_NORM_LAYER, 0, AGF_NORM_GRAD_GAMMA, 2,
     X(3, 17, 40), X(3, 17, 40)),
  NB("layer_dgamma_2x3x600", AGF_NORM_LAYER, 0, AGF_NORM_GRAD_GAMMA, 2,
     XR(-3, 3, 2, 3, 600), X(2, 3, 600)),
#undef NB

  /* attention_bwd: q, k, v, o, dO (, stats). The harness replaces o and
   * stats by the forward's output and the STATS gradient (test_ops.c). */
#define AB(nm, which, sc, b, lq, lk, h, d, dv) \
  { nm, .op = { OP(ATTENTION_BWD, (which) == AGF_ATTN_GRAD_STATS ? 5 : 6), \
                .p.attention_bwd = { h, sc, which } }, \
    .in = { X(b, lq, (h) * (d)), X(b, lk, (h) * (d)), X(b, lk, (h) * (dv)), \
            X(b, lq, (h) * (dv)), X(b, lq, (h) * (dv)), XF32(-1, 1, b, h, lq, 2) }, \
    T_MATMUL }
#define AB4(nm, sc, b, lq, lk, h, d, dv) \
  AB("stats_" nm, AGF_ATTN_GRAD_STATS, sc, b, lq, lk, h, d, dv), \
  AB("dq_" nm, AGF_ATTN_GRAD_Q, sc, b, lq, lk, h, d, dv), \
  AB("dk_" nm, AGF_ATTN_GRAD_K, sc, b, lq, lk, h, d, dv), \
  AB("dv_" nm, AGF_ATTN_GRAD_V, sc, b, lq, lk, h, d, dv), \
  AB("dkv_" nm, AGF_ATTN_GRAD_KV, sc, b, lq, lk, h, d, dv)
  AB4("self_l17_h2_d8", 0, 1, 17, 17, 2, 8, 8),
  AB4("cross_b2_lq9_lk31_h3_d8_dv5", 0, 2, 9, 31, 3, 8, 5),
  /* Past one tile of queries (64) and of keys (128). */
  AB4("lq70_lk130_h2_d16_dv24_scale0.3", 0.3f, 1, 70, 130, 2, 16, 24),
  AB4("lq1_lk3_h1_d8", 0, 1, 1, 3, 1, 8, 8),
  /* One key: P = 1, so dq and dk are 0 up to rounding (nothing to
   * compare); the stats and dv (alone or beside dk) still have values. */
  AB("stats_l1_h1_d8", AGF_ATTN_GRAD_STATS, 0, 1, 1, 1, 1, 8, 8),
  AB("dv_l1_h1_d8", AGF_ATTN_GRAD_V, 0, 1, 1, 1, 1, 8, 8),
  AB("dkv_l1_h1_d8", AGF_ATTN_GRAD_KV, 0, 1, 1, 1, 1, 8, 8),
#undef AB4
#undef AB

  /* pool2d_bwd: x, dy (the forward output's shape) */
  { "max_k3s2p1", .op = { OP(POOL2D_BWD, 2), .p.pool_bwd = { .kind = AGF_POOL_MAX,
      .kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2, .pad_top = 1,
      .pad_bottom = 1, .pad_left = 1, .pad_right = 1 } },
    .in = { X(1, 3, 17, 17), X(1, 3, 9, 9) }, T_EXACT },
  { "max_k2s2_ceil", .op = { OP(POOL2D_BWD, 2), .p.pool_bwd = { .kind = AGF_POOL_MAX,
      .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2,
      .ceil_mode = TRUE } },
    .in = { X(1, 2, 17, 15), X(1, 2, 9, 8) }, T_EXACT },
  { "max_k3s1_pad_0101", .op = { OP(POOL2D_BWD, 2), .p.pool_bwd = { .kind = AGF_POOL_MAX,
      .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1,
      .pad_bottom = 1, .pad_right = 1 } },
    .in = { X(1, 2, 7, 9), X(1, 2, 6, 8) }, T_EXACT },
  /* Ties everywhere: the first maximum in scan order takes the gradient. */
  { "max_k3s1_ties", .op = { OP(POOL2D_BWD, 2), .p.pool_bwd = { .kind = AGF_POOL_MAX,
      .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1 } },
    .in = { { SHAPE(1, 1, 4, 4), .data = pool_ties }, X(1, 1, 2, 2) }, T_EXACT },
  { "avg_k3s2p1_incl_pad", .op = { OP(POOL2D_BWD, 2), .p.pool_bwd = { .kind = AGF_POOL_AVG,
      .kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2, .pad_top = 1,
      .pad_bottom = 1, .pad_left = 1, .pad_right = 1, .count_include_pad = TRUE } },
    .in = { X(1, 3, 9, 9), X(1, 3, 5, 5) }, T_ELEM },
  { "avg_k3s2p1_excl_pad_ceil", .op = { OP(POOL2D_BWD, 2), .p.pool_bwd = {
      .kind = AGF_POOL_AVG, .kernel_h = 3, .kernel_w = 3, .stride_h = 2,
      .stride_w = 2, .pad_top = 1, .pad_bottom = 1, .pad_left = 1,
      .pad_right = 1, .ceil_mode = TRUE } },
    .in = { X(2, 2, 10, 11), X(2, 2, 6, 6) }, T_ELEM },
  { "avg_k2s2", .op = { OP(POOL2D_BWD, 2), .p.pool_bwd = { .kind = AGF_POOL_AVG,
      .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2 } },
    .in = { X(1, 4, 8, 8), X(1, 4, 4, 4) }, T_ELEM },
  { "avg_k2x3_s1x2_ceil", .op = { OP(POOL2D_BWD, 2), .p.pool_bwd = { .kind = AGF_POOL_AVG,
      .kernel_h = 2, .kernel_w = 3, .stride_h = 1, .stride_w = 2,
      .ceil_mode = TRUE } },
    .in = { X(1, 3, 5, 8), X(1, 3, 4, 4) }, T_ELEM },
};

const int agf_n_op_cases = G_N_ELEMENTS(agf_op_cases);
