/* insightface ArcFace IResNet (recognition/arcface_torch/backbones/
 * iresnet.py: iresnet18/34/50/100), the DFG identity network. Tensor names
 * as insightface's state dict:
 *   conv1 (3x3/1, no bias), bn1, prelu
 *   layerN.i.bn1, .conv1 (3x3), .bn2, .prelu, .conv2 (3x3, stride 2 in
 *   block 0), .bn3, layerN.0.downsample.0 (1x1/2 conv) / .1 (bn)
 *   bn2 (the 7x7 map: the identity tap), fc (map -> features), features
 *   (BatchNorm1d); "dropout" has no tensors and is the identity at inference.
 * Batch norm eps 1e-5, from running statistics.
 *
 * Configuration from tensor shapes: stem width (conv1), stage widths
 * (layerN.0.conv1), blocks per stage (counting layerN.i: 2/2/2/2 is
 * iresnet18, 3/4/6/3 iresnet34, 3/4/14/3 iresnet50, 3/13/30/3 iresnet100),
 * embedding size (fc), and the map size from fc's input width: 7x7, so a
 * 112x112 input. */
#pragma once
#include "models/layers.h"

G_BEGIN_DECLS

#define AGF_IRESNET_STAGES 4

typedef struct {
  int in_channels;
  int stem_width;
  int widths[AGF_IRESNET_STAGES];
  int blocks[AGF_IRESNET_STAGES];
  int map_size;     /* side of the final map (7): input side = 16 * map_size */
  int num_features; /* embedding size (512) */
  int depth;        /* 18, 34, 50, 100 for insightface's layouts, else 0 */
} AgfIresnetConfig;

typedef struct AgfIresnet AgfIresnet;

/* insightface's iresnet<depth> (64..512 widths, 512 features, 112 input);
 * FALSE and an error for a depth other than 18, 34, 50, 100. */
gboolean agf_iresnet_config_preset(AgfIresnetConfig *cfg, int depth,
                                   GError **error);
/* Parameters (batch-norm running statistics not counted: iresnet18
 * 24,025,600, iresnet50 43,590,848), or -1 and an error. */
gint64 agf_iresnet_param_count(const AgfIresnetConfig *cfg, GError **error);
/* Declares every tensor of a configuration to c (layers.h), in load order. */
gboolean agf_iresnet_declare(const AgfIresnetConfig *cfg, AgfParamCheck *c,
                             GError **error);

/* Reads the configuration and checks every tensor's shape (w is ref'ed). */
AgfIresnet *agf_iresnet_new(AgfWeights *w, GError **error);
void agf_iresnet_free(AgfIresnet *net);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfIresnet, agf_iresnet_free)
const AgfIresnetConfig *agf_iresnet_config(const AgfIresnet *net);

/* x [B, 3, 112, 112] (the aligned face resized, values in [-1, 1]) ->
 * either or both of: tokens [B, 49, C] (the map after bn2, row-major
 * positions; C = 512 for insightface's widths) and the embedding
 * [B, num_features] (fc then the "features" batch norm). Outputs not wanted
 * may be NULL; on failure both are left NULL. */
gboolean agf_iresnet_forward(AgfIresnet *net, const AgfTensor *x,
                             AgfTensor **tokens, AgfTensor **embedding,
                             GError **error);
/* The map after bn2: [B, C, 7, 7]. */
AgfTensor *agf_iresnet_map(AgfIresnet *net, const AgfTensor *x,
                           GError **error);

/* The U-Net's identity context: tokens [B, L, C] zero-padded on the
 * feature axis to [B, L, width] (49 x 512 -> 49 x 768 in the paper
 * preset); a new reference to tokens when width == C, an error when
 * width < C. */
AgfTensor *agf_identity_context(const AgfTensor *tokens, int width,
                                GError **error);

G_END_DECLS
