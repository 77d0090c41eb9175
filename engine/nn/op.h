/* The forward op set. An op is a plain descriptor (kind, inputs, output,
 * parameters); agf_op_run() checks it and hands it to the device's backend.
 * Every backend implements every kind; the tests run each op on every
 * backend and compare with the CPU backend. The typed wrappers in ops.h
 * infer the output shape, allocate it, and run the op. */
#pragma once
#include "nn/tensor.h"

G_BEGIN_DECLS

#define AGF_OP_MAX_INPUTS 8

typedef enum {
  AGF_OP_COPY,              /* out (dense) = in0 (any strides); converts dtype */
  AGF_OP_FILL,              /* out = p.fill.value */
  AGF_OP_GEMM,              /* out = alpha * op(A) op(B) + bias */
  AGF_OP_CONV2D,            /* NCHW convolution */
  AGF_OP_GROUP_NORM,
  AGF_OP_LAYER_NORM,
  AGF_OP_BATCH_NORM,        /* inference: running statistics */
  AGF_OP_SOFTMAX,           /* over the last dim */
  AGF_OP_ATTENTION,         /* fused scaled-dot-product attention */
  AGF_OP_UNARY,             /* elementwise activation / affine */
  AGF_OP_BINARY,            /* elementwise with numpy broadcasting */
  AGF_OP_PRELU,             /* per-channel (dim 1) slope */
  AGF_OP_UPSAMPLE_NEAREST,
  AGF_OP_POOL2D,
  AGF_OP_GLOBAL_AVG_POOL,   /* [N,C,H,W] -> [N,C,1,1] */
  AGF_OP_CONCAT,
  AGF_OP_TIMESTEP_EMBED,    /* sinusoidal embedding of timesteps */
  AGF_OP_L2_NORMALIZE,      /* over the last dim */
  AGF_OP_RESIZE_BILINEAR,
  AGF_OP_AFFINE_WARP,       /* bilinear sampling through a 2x3 matrix */
  AGF_OP_IMAGE_TO_TENSOR,   /* u8 [N,H,W,C] -> float [N,3,H,W] */
  AGF_OP_TENSOR_TO_IMAGE,   /* float [N,3,H,W] -> u8 [N,H,W,4] (RGBA) */
  AGF_OP_COLORMAP,          /* float [N,C,H,W] -> u8 [N,H,W,4] heatmap */
  AGF_OP_COUNT
} AgfOpKind;

/* A: [M,K] or [Ba,M,K] ([K,M] / [Ba,K,M] when trans_a);
 * B: [K,N] or [Bb,K,N] ([N,K] / [Bb,N,K] when trans_b);
 * Ba == Bb, or either is 1 / 2-D (broadcast); bias (in2, optional): [N].
 * out: [M,N] when both are 2-D, else [max(Ba,Bb),M,N]. */
typedef struct {
  gboolean trans_a, trans_b;
  float alpha; /* 0 means 1 */
} AgfGemmParams;

/* x [N,Ci,H,W], w [Co,Ci/groups,kh,kw], bias [Co] (in2, optional).
 * Padding is per side so that the SD autoencoder's (0,1,0,1) pad fits. */
typedef struct {
  int stride_h, stride_w;                     /* 0 means 1 */
  int pad_top, pad_bottom, pad_left, pad_right;
  int dil_h, dil_w;                           /* 0 means 1 */
  int groups;                                 /* 0 means 1 */
} AgfConv2dParams;

/* x [N,C,...]; gamma, beta [C] (in1, in2; both present or both absent). */
typedef struct { int groups; float eps; } AgfGroupNormParams;
/* x [..., D]; gamma, beta [D] (in1, in2 optional). */
typedef struct { float eps; } AgfLayerNormParams;
/* x [N,C,...]; in1 mean [C], in2 var [C], in3 gamma [C], in4 beta [C]. */
typedef struct { float eps; } AgfBatchNormParams;

/* q [B,Lq,H*D], k [B,Lk,H*D], v [B,Lk,H*Dv] -> out [B,Lq,H*Dv].
 * Online softmax: no Lq x Lk matrix is materialized. */
typedef struct {
  int n_heads;
  float scale; /* 0 means 1/sqrt(D) */
} AgfAttentionParams;

typedef enum {
  AGF_UNARY_IDENTITY, /* y = a*x + b (with a=1,b=0: a copy) */
  AGF_UNARY_RELU,
  AGF_UNARY_LEAKY_RELU, /* slope a */
  AGF_UNARY_SIGMOID,
  AGF_UNARY_TANH,
  AGF_UNARY_SILU,
  AGF_UNARY_GELU,       /* exact (erf) */
  AGF_UNARY_GELU_TANH,  /* tanh approximation */
  AGF_UNARY_ABS,
  AGF_UNARY_EXP,
  AGF_UNARY_SQRT,
  AGF_UNARY_COUNT
} AgfUnaryFn;
/* Applied as y = fn(x) for activations; IDENTITY computes a*x + b. */
typedef struct { AgfUnaryFn fn; float a, b; } AgfUnaryParams;

typedef enum { AGF_BINARY_ADD, AGF_BINARY_SUB, AGF_BINARY_MUL, AGF_BINARY_DIV,
               AGF_BINARY_COUNT } AgfBinaryFn;
typedef struct { AgfBinaryFn fn; } AgfBinaryParams;

typedef struct { int factor; } AgfUpsampleParams; /* 0 means 2 */

typedef enum { AGF_POOL_MAX, AGF_POOL_AVG } AgfPoolKind;
/* Output size: floor((H + pt + pb - k) / s) + 1, or ceil with ceil_mode
 * (a window must start inside the input or the top/left padding).
 * Avg divides by k*k with count_include_pad, else by the covered count. */
typedef struct {
  AgfPoolKind kind;
  int kernel_h, kernel_w, stride_h, stride_w;
  int pad_top, pad_bottom, pad_left, pad_right;
  gboolean ceil_mode, count_include_pad;
} AgfPool2dParams;

typedef struct { int dim; } AgfConcatParams; /* in0..in(n_in-1) */

/* t [B] (F32 timesteps) -> [B, dim]. half = dim/2,
 * freq_i = exp(-ln(max_period) * i / (half - shift)), arg = t * freq_i;
 * out = [sin(arg), cos(arg)] or [cos, sin] with flip_sin_to_cos; an odd dim
 * gets a zero last column (diffusers get_timestep_embedding). */
typedef struct {
  int dim;
  gboolean flip_sin_to_cos;
  float downscale_freq_shift; /* SD-1.5: 0 */
  float max_period;           /* 0 means 10000 */
} AgfTimestepEmbedParams;

typedef struct { float eps; } AgfL2NormParams; /* x / max(||x||, eps) */

/* [N,C,H,W] -> [N,C,out_h,out_w]. align_corners FALSE = half-pixel centres
 * (PyTorch's default), no antialiasing. */
typedef struct { int out_h, out_w; gboolean align_corners; } AgfResizeParams;

/* img [N,C,H,W], in1 matrix [N,2,3] (F32) mapping output pixel centres
 * (x, y, 1) to input pixel coordinates (pixel centres at integers);
 * bilinear, outside the input = border. */
typedef struct { int out_h, out_w; float border; } AgfAffineWarpParams;

/* u8 [N,H,W,C] (C = 3 or 4, RGB(A)) -> [N,3,H,W]: (x/255 - mean) / std. */
typedef struct { float mean[3], std[3]; } AgfImageToTensorParams;
/* [N,3,H,W] -> u8 RGBA [N,H,W,4]: clamp((x*std + mean) * 255), alpha 255.
 * Rounds to nearest. */
typedef struct { float mean[3], std[3]; } AgfTensorToImageParams;

typedef enum { AGF_CMAP_VIRIDIS, AGF_CMAP_INFERNO, AGF_CMAP_TURBO,
               AGF_CMAP_GREY, AGF_CMAP_COUNT } AgfColormap;
/* value = mean over channels of |x| (or of x when signed), then
 * u = clamp((value - vmin) / (vmax - vmin), 0, 1), colour = lut[round(u*255)]
 * from the 256-entry table agf_colormap_lut(); alpha 255. */
typedef struct { AgfColormap cmap; float vmin, vmax; gboolean signed_values; }
  AgfColormapParams;

typedef struct { float value; } AgfFillParams;

typedef struct AgfOp {
  AgfOpKind kind;
  const AgfTensor *in[AGF_OP_MAX_INPUTS]; /* NULL for absent optional inputs */
  int n_in;
  AgfTensor *out;
  union {
    AgfGemmParams gemm;
    AgfConv2dParams conv;
    AgfGroupNormParams group_norm;
    AgfLayerNormParams layer_norm;
    AgfBatchNormParams batch_norm;
    AgfAttentionParams attention;
    AgfUnaryParams unary;
    AgfBinaryParams binary;
    AgfUpsampleParams upsample;
    AgfPool2dParams pool;
    AgfConcatParams concat;
    AgfTimestepEmbedParams temb;
    AgfL2NormParams l2;
    AgfResizeParams resize;
    AgfAffineWarpParams warp;
    AgfImageToTensorParams to_tensor;
    AgfTensorToImageParams to_image;
    AgfColormapParams cmap;
    AgfFillParams fill;
  } p;
} AgfOp;

const char *agf_op_name(AgfOpKind kind);

/* Output dtype and shape the op produces from its inputs and parameters,
 * or FALSE with a message naming the op and the offending shapes. */
gboolean agf_op_infer(const AgfOp *op, AgfDType *dtype, int *ndim,
                      int64_t *shape, GError **error);

/* Checks op (inputs on one device, op->out of the inferred shape/dtype and
 * dense) and runs it on the device of op->out. */
gboolean agf_op_run(const AgfOp *op, GError **error);

/* 256 RGB entries, 8 bits each, of a colour map (shared by both backends). */
const uint8_t *agf_colormap_lut(AgfColormap cmap);
const char *agf_colormap_name(AgfColormap cmap);

G_END_DECLS
