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
  /* Training: reductions and the backward kernels autograd (autograd.h)
   * composes the gradients from. Gradients that are plain compositions of
   * forward ops (GEMM, softmax, broadcasting, pools' sums, concat, ...) have
   * no kind of their own. */
  AGF_OP_REDUCE,            /* sum / max down to a broadcast-compatible shape */
  AGF_OP_UNARY_BWD,         /* dx = dy * fn'(x) */
  AGF_OP_CONV2D_BWD_DATA,   /* dx of a conv2d */
  AGF_OP_CONV2D_BWD_FILTER, /* dw of a conv2d */
  AGF_OP_NORM_STATS,        /* per-channel batch mean and biased variance */
  AGF_OP_NORM_BWD,          /* dx or dgamma of group / layer norm */
  AGF_OP_ATTENTION_BWD,     /* stats, dq, dk or dv of attention */
  AGF_OP_POOL2D_BWD,        /* dx of max / avg pool2d */
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
  AGF_UNARY_LOG,        /* natural log (losses) */
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

/* --- training kinds --- */

typedef enum { AGF_REDUCE_SUM, AGF_REDUCE_MAX } AgfReduceFn;
/* in0 x -> out of `shape`, which is broadcast-compatible with x aligned
 * to the right (numpy rules): every dim of shape is 1 or equals x's, and
 * x's extra leading dims are reduced away too. SUM adds in f32 whatever
 * the dtype; MAX keeps the largest. Reducing [4,3,5] to [3,1] sums over
 * dims 0 and 2. Gradients of broadcast binary ops use it, as do biases. */
typedef struct {
  AgfReduceFn fn;
  int ndim;
  int64_t shape[AGF_MAX_DIMS];
} AgfReduceParams;

/* in0 x, in1 dy (same shape) -> dx = dy * d fn(x)/dx, for every unary
 * function with the forward's a and b (IDENTITY: dy * a; ABS: sign(x)
 * with 0 at 0; RELU: 0 at 0; SQRT and LOG: from x, as PyTorch). */
typedef AgfUnaryParams AgfUnaryBwdParams;

/* The forward conv's parameters plus the spatial size the gradient has:
 * CONV2D_BWD_DATA: in0 dy [N,Co,Ho,Wo], in1 w [Co,Ci/g,kh,kw]
 *   -> dx [N,Ci,h,w] (h, w = the forward input's H, W; strides make
 *   them ambiguous from dy). Ci comes from w and groups.
 * CONV2D_BWD_FILTER: in0 x [N,Ci,H,W], in1 dy [N,Co,Ho,Wo]
 *   -> dw [Co,Ci/g,h,w] (h, w = the kernel's kh, kw).
 * The bias gradient is a REDUCE of dy to [1,Co,1,1]. */
typedef struct {
  AgfConv2dParams conv;
  int h, w;
} AgfConv2dBwdParams;

/* Batch-norm training statistics: in0 x [N,C,...] -> [2,C] F32:
 * row 0 the mean, row 1 the biased variance over N and the spatial dims
 * (the running statistics use the unbiased one: var * M/(M-1)). */
typedef struct { int unused; } AgfNormStatsParams;

typedef enum { AGF_NORM_GROUP, AGF_NORM_LAYER } AgfNormKind;
typedef enum { AGF_NORM_GRAD_INPUT, AGF_NORM_GRAD_GAMMA } AgfNormGrad;
/* in0 x, in1 dy (x's shape), in2 gamma (optional, GRAD_INPUT only; absent
 * means 1). Recomputes the statistics from x.
 * GRAD_INPUT -> dx (x's shape); GRAD_GAMMA -> dgamma [C] (group: dim 1)
 * or [D] (layer: last dim) = sum over the rest of dy * x_hat.
 * dbeta is a REDUCE of dy. */
typedef struct {
  AgfNormKind kind;
  int groups;   /* GROUP only */
  float eps;
  AgfNormGrad which;
} AgfNormBwdParams;

typedef enum {
  AGF_ATTN_GRAD_STATS, /* -> stats [B,H,Lq,2] F32: logsumexp of the scaled
                        * scores, and D = rowsum(dO * O) per head */
  AGF_ATTN_GRAD_Q,     /* -> dq (q's shape) */
  AGF_ATTN_GRAD_K,     /* -> dk (k's shape) */
  AGF_ATTN_GRAD_V,     /* -> dv (v's shape) */
  AGF_ATTN_GRAD_KV,    /* -> [B,Lk,H*D + H*Dv]: dk then dv along the last
                        * dim, from one recomputation of the scores */
} AgfAttentionGrad;
/* in0 q, in1 k, in2 v, in3 o (the forward output), in4 dO (o's shape),
 * in5 stats (absent for STATS, required otherwise). Memory-efficient as
 * FlashAttention's backward: scores are recomputed, never stored. */
typedef struct {
  int n_heads;
  float scale; /* 0 means 1/sqrt(D) */
  AgfAttentionGrad which;
} AgfAttentionBwdParams;

/* in0 x, in1 dy (the forward output's shape) -> dx (x's shape). Max pool
 * sends each window's gradient to its first maximum in scan order (as
 * PyTorch's CPU kernel); avg spreads it over the window as forward
 * divided. */
typedef AgfPool2dParams AgfPool2dBwdParams;

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
    AgfReduceParams reduce;
    AgfUnaryBwdParams unary_bwd;
    AgfConv2dBwdParams conv_bwd;
    AgfNormStatsParams norm_stats;
    AgfNormBwdParams norm_bwd;
    AgfAttentionBwdParams attention_bwd;
    AgfPool2dBwdParams pool_bwd;
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
