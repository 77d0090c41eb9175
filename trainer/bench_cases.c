/* The benchmarked shapes: square GEMMs, the SD-1.5 U-Net at a 4x32x32
 * latent (channels 320/640/1280 at 32/16/8/4, 8 heads, text context of 77
 * tokens of width 768) and ViT-B/16 at 224 (197 tokens, width 768, 12
 * heads of 64). */
#include "bench.h"

#define SHAPES(...) .shape = { __VA_ARGS__ }
#define GEMM(nm, grp, q, M, N, K) \
  { nm, grp, { .kind = AGF_OP_GEMM, .n_in = 2 }, { 2, 2 }, \
    SHAPES({ M, K }, { K, N }), q }
/* x [M,K] times a PyTorch weight [N,K] plus bias: nn.Linear. */
#define LINEAR(nm, grp, q, M, N, K) \
  { nm, grp, { .kind = AGF_OP_GEMM, .n_in = 3, .p.gemm = { .trans_b = TRUE } }, \
    { 2, 2, 1 }, SHAPES({ M, K }, { N, K }, { N }), q }
/* 3x3 (or kxk) conv with bias, "same" padding. */
#define CONV(nm, grp, q, Ci, Co, HW, K, S, P) \
  { nm, grp, { .kind = AGF_OP_CONV2D, .n_in = 3, .p.conv = { \
      .stride_h = S, .stride_w = S, .pad_top = P, .pad_bottom = P, \
      .pad_left = P, .pad_right = P } }, \
    { 4, 4, 1 }, SHAPES({ 1, Ci, HW, HW }, { Co, Ci, K, K }, { Co }), q }
#define GROUP_NORM(nm, q, C, HW) \
  { nm, "sd15", { .kind = AGF_OP_GROUP_NORM, .n_in = 3, \
      .p.group_norm = { 32, 1e-5f } }, \
    { 4, 1, 1 }, SHAPES({ 1, C, HW, HW }, { C }, { C }), q }
#define ATTN(nm, grp, q, Lq, Lk, H, D) \
  { nm, grp, { .kind = AGF_OP_ATTENTION, .n_in = 3, .p.attention = { H, 0 } }, \
    { 3, 3, 3 }, SHAPES({ 1, Lq, (H) * (D) }, { 1, Lk, (H) * (D) }, \
                        { 1, Lk, (H) * (D) }), q }

const BenchCase bench_cases[] = {
  GEMM("gemm_256", "gemm", TRUE, 256, 256, 256),
  GEMM("gemm_512", "gemm", FALSE, 512, 512, 512),
  GEMM("gemm_1024", "gemm", TRUE, 1024, 1024, 1024),

  /* SD-1.5 U-Net, 4x32x32 latent */
  CONV("sd15_conv_in_4_320_32", "sd15", FALSE, 4, 320, 32, 3, 1, 1),
  CONV("sd15_conv_320_32", "sd15", TRUE, 320, 320, 32, 3, 1, 1),
  CONV("sd15_conv_down_320_32s2", "sd15", FALSE, 320, 320, 32, 3, 2, 1),
  CONV("sd15_conv_640_16", "sd15", FALSE, 640, 640, 16, 3, 1, 1),
  CONV("sd15_conv_1280_8", "sd15", FALSE, 1280, 1280, 8, 3, 1, 1),
  CONV("sd15_conv_1280_4", "sd15", FALSE, 1280, 1280, 4, 3, 1, 1),
  CONV("sd15_conv_1x1_640_320_16", "sd15", FALSE, 640, 320, 16, 1, 1, 0),
  GROUP_NORM("sd15_group_norm_320_32", TRUE, 320, 32),
  GROUP_NORM("sd15_group_norm_640_16", FALSE, 640, 16),
  GROUP_NORM("sd15_group_norm_1280_8", FALSE, 1280, 8),
  ATTN("sd15_attn_1024_h8_d40", "sd15", TRUE, 1024, 1024, 8, 40),
  ATTN("sd15_attn_256_h8_d80", "sd15", FALSE, 256, 256, 8, 80),
  ATTN("sd15_attn_64_h8_d160", "sd15", FALSE, 64, 64, 8, 160),
  ATTN("sd15_attn_16_h8_d160", "sd15", FALSE, 16, 16, 8, 160),
  ATTN("sd15_xattn_1024x77_h8_d40", "sd15", TRUE, 1024, 77, 8, 40),
  ATTN("sd15_xattn_256x77_h8_d80", "sd15", FALSE, 256, 77, 8, 80),
  ATTN("sd15_xattn_64x77_h8_d160", "sd15", FALSE, 64, 77, 8, 160),
  LINEAR("sd15_linear_q_1024_320_320", "sd15", FALSE, 1024, 320, 320),
  LINEAR("sd15_linear_kv_77_768_320", "sd15", FALSE, 77, 320, 768),
  LINEAR("sd15_linear_geglu_1024_320_2560", "sd15", TRUE, 1024, 2560, 320),
  LINEAR("sd15_linear_ff_out_1024_1280_320", "sd15", FALSE, 1024, 320, 1280),
  { "sd15_silu_320_32", "sd15",
    { .kind = AGF_OP_UNARY, .n_in = 1, .p.unary = { AGF_UNARY_SILU, 0, 0 } },
    { 4 }, SHAPES({ 1, 320, 32, 32 }), FALSE },
  { "sd15_add_320_32", "sd15",
    { .kind = AGF_OP_BINARY, .n_in = 2, .p.binary = { AGF_BINARY_ADD } },
    { 4, 4 }, SHAPES({ 1, 320, 32, 32 }, { 1, 320, 32, 32 }), FALSE },

  /* ViT-B/16 at 224 */
  CONV("vit_patch_embed_3_768_224s16", "vit", FALSE, 3, 768, 224, 16, 16, 0),
  LINEAR("vit_linear_qkv_197_768_2304", "vit", FALSE, 197, 2304, 768),
  LINEAR("vit_linear_mlp1_197_768_3072", "vit", TRUE, 197, 3072, 768),
  LINEAR("vit_linear_mlp2_197_3072_768", "vit", FALSE, 197, 768, 3072),
  ATTN("vit_attn_197_h12_d64", "vit", TRUE, 197, 197, 12, 64),
  { "vit_layer_norm_197_768", "vit",
    { .kind = AGF_OP_LAYER_NORM, .n_in = 3, .p.layer_norm = { 1e-6f } },
    { 3, 1, 1 }, SHAPES({ 1, 197, 768 }, { 768 }, { 768 }), TRUE },
  { "vit_gelu_197_3072", "vit",
    { .kind = AGF_OP_UNARY, .n_in = 1, .p.unary = { AGF_UNARY_GELU, 0, 0 } },
    { 3 }, SHAPES({ 1, 197, 3072 }), FALSE },
  { "vit_softmax_12x197_197", "vit", { .kind = AGF_OP_SOFTMAX, .n_in = 1 },
    { 3 }, SHAPES({ 12, 197, 197 }), FALSE },
};

const int bench_n_cases = G_N_ELEMENTS(bench_cases);
