/* torchvision ResNet-18 (any BasicBlock ResNet: 18, 34, other widths), the
 * OA-Net cue encoder. Tensor names as torchvision's state dict, under an
 * optional prefix ("cue_encoder." inside an OA-Net file):
 *   conv1 (7x7/2, no bias), bn1, [maxpool 3x3/2]
 *   layerN.i.conv1 (3x3, stride 2 in the first block of N > 1), .bn1,
 *   layerN.i.conv2, .bn2, layerN.0.downsample.0 (1x1 conv) / .1 (bn)
 *   fc (optional; absent in a cue encoder)
 * Batch norm in inference form (running statistics, eps 1e-5).
 *
 * Configuration from tensor shapes: input channels (3 for an image, 6 for
 * image + cue) and stem width from conv1.weight, stage widths from
 * layerN.0.conv1.weight, blocks per stage by counting layerN.i, classes
 * from fc.weight. Bottleneck files (layerN.i.conv3: ResNet-50 and up) are
 * refused at load. */
#pragma once
#include "models/layers.h"

G_BEGIN_DECLS

#define AGF_RESNET_STAGES 4

typedef struct {
  int in_channels;
  int stem_width;
  int widths[AGF_RESNET_STAGES];
  int blocks[AGF_RESNET_STAGES];
  int num_classes; /* 0: no fc (features only) */
} AgfResnet18Config;

typedef struct AgfResnet18 AgfResnet18;

/* torchvision's resnet18(): 3 channels, 64/128/256/512, 2 blocks per
 * stage, 1000 classes (11,689,512 parameters). */
void agf_resnet18_config_default(AgfResnet18Config *cfg);
/* Parameters (not counting batch-norm running statistics), or -1 and an
 * error for an invalid configuration. */
gint64 agf_resnet18_param_count(const AgfResnet18Config *cfg, GError **error);
/* Declares every tensor of a configuration to c (layers.h; torchvision
 * names after c's prefix), in load order. */
gboolean agf_resnet18_declare(const AgfResnet18Config *cfg, AgfParamCheck *c,
                              GError **error);

/* Tensors at the file's root. */
AgfResnet18 *agf_resnet18_new(AgfWeights *w, GError **error);
/* Tensors named prefix + torchvision name (prefix "" or e.g.
 * "cue_encoder."). Reads the configuration and checks every tensor's
 * shape; w is ref'ed. */
AgfResnet18 *agf_resnet18_new_at(AgfWeights *w, const char *prefix,
                                 GError **error);
void agf_resnet18_free(AgfResnet18 *net);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfResnet18, agf_resnet18_free)
const AgfResnet18Config *agf_resnet18_config(const AgfResnet18 *net);

/* x [B, in_channels, H, W] -> the layer4 map [B, widths[3], H', W']
 * (H' = H/32 for H a multiple of 32: 8x8 for a 256x256 cue). */
AgfTensor *agf_resnet18_features(AgfResnet18 *net, const AgfTensor *x,
                                 GError **error);
/* The layer4 map as tokens [B, H'*W', widths[3]] (the OA-Net cue tokens:
 * 64 x 512 at 256 input). */
AgfTensor *agf_resnet18_tokens(AgfResnet18 *net, const AgfTensor *x,
                               GError **error);
/* Global average pool then fc: [B, num_classes]; an error when the file
 * has no fc. */
AgfTensor *agf_resnet18_logits(AgfResnet18 *net, const AgfTensor *x,
                               GError **error);

G_END_DECLS
