/* OA-Net (AG-FAS's Off-real Attention Network): a ViT on the face image
 * whose every block, after self-attention, cross-attends to cue tokens
 * from a ResNet-18 on the anomalous cue; CLS -> linear -> normalized
 * feature -> weight-normalized classifier (live / spoof). Also the paper's
 * ablation variants.
 *
 * Tensor names: timm's VisionTransformer for the ViT, plus ours for the
 * parts timm lacks:
 *   patch_embed.proj (conv, kernel = stride = patch), cls_token [1,1,D],
 *   pos_embed [1,1+N,D], blocks.i.norm1, blocks.i.attn.qkv (fused [3D,D]),
 *   blocks.i.attn.proj, blocks.i.norm2, blocks.i.mlp.fc1 / fc2 (GELU, erf),
 *   norm                                    (the image ViT, at the root)
 *   blocks.i.cross_norm (LayerNorm), blocks.i.cross_attn.q [D,D],
 *   .k / .v [D,Kc], .proj [D,D] (zero-initialized when training starts)
 *                                           (cross-attention, variant oanet)
 *   cue_encoder.*  torchvision ResNet-18 conv1..layer4 (models/resnet18.h):
 *                  its layer4 map as tokens of width Kc (variant oanet)
 *   cue_vit.*      a second ViT, on the cue (variant dual_branch)
 *   head.fc [F, D] (or [F, 2D] for dual_branch), classifier.weight_g [K,1],
 *   classifier.weight_v [K,F] (torch weight_norm, dim 0), classifier.bias
 *   [K] (optional); a plain classifier.weight [K,F] is accepted too.
 * Block: x += attn(norm1(x)); x += cross_attn(cross_norm(x), cue tokens);
 * x += mlp(norm2(x)). The authors' code (HuggingFace ViT names) maps onto
 * these one to one: embeddings.patch_embeddings.projection = patch_embed.
 * proj, embeddings.cls_token / position_embeddings, encoder.layer.i.
 * layernorm_before = norm1, attention.attention.query/key/value = attn.qkv
 * (concatenated in that order), attention.output.dense = attn.proj,
 * ln_cross_attn = cross_norm, crossattention.query/key/value/dense =
 * cross_attn.q/k/v/proj, layernorm_after = norm2, intermediate.dense =
 * mlp.fc1, output.dense = mlp.fc2, layernorm = norm; embedder.
 * bottleneck_layer_fc = head.fc (set oanet.layer_norm_eps 1e-12 and
 * oanet.feature_norm ssdg for such files).
 *
 * Configuration: widths, depth, patch, image size (from pos_embed), MLP
 * width, cue token width, feature size and classes from tensor shapes;
 * metadata:
 *   oanet.variant        oanet (default) | image_only | residual_only |
 *                        dual_branch
 *   oanet.num_heads      default D / 64 (12 for ViT-B)
 *   oanet.layer_norm_eps default 1e-6 (timm)
 *   oanet.feature_norm   l2 (default): f / max(||f||, 1e-12), or ssdg:
 *                        f / sqrt(2 ||f||) (the authors' SSDG embedder)
 *   oanet.spoof_class    default 0 (SSDG labels: live = 1, spoof = 0) */
#pragma once
#include "models/resnet18.h"

G_BEGIN_DECLS

typedef enum {
  AGF_OANET_FULL,          /* "oanet": image ViT + cross-attention to the cue */
  AGF_OANET_IMAGE_ONLY,    /* plain ViT on the image */
  AGF_OANET_RESIDUAL_ONLY, /* plain ViT on the cue */
  AGF_OANET_DUAL_BRANCH,   /* ViT on the image, ViT on the cue, CLS concat */
} AgfOanetVariant;

typedef enum { AGF_OANET_NORM_L2, AGF_OANET_NORM_SSDG } AgfOanetFeatureNorm;

typedef struct {
  int img_size, patch, in_channels;
  int dim, depth, heads, mlp_dim;
  int kv_dim; /* cross-attention K/V width (cue tokens); 0: no cross */
} AgfVitConfig;

typedef struct {
  AgfOanetVariant variant;
  AgfVitConfig vit;     /* at the root: on the image (on the cue for
                           residual_only) */
  AgfVitConfig cue_vit; /* dual_branch only */
  AgfResnet18Config cue_encoder; /* oanet only (num_classes 0) */
  int feature_dim; /* head.fc output (512) */
  int n_classes;   /* 2 */
  gboolean classifier_bias;
  float ln_eps;
  AgfOanetFeatureNorm feature_norm;
  int spoof_class;
} AgfOanetConfig;

/* Parameters by part (batch-norm running statistics not counted). */
typedef struct {
  gint64 vit;         /* the ViT(s) without cross-attention */
  gint64 cross;       /* the cross-attention modules */
  gint64 cue_encoder; /* the ResNet-18 */
  gint64 head;        /* head.fc + classifier */
  gint64 total;
} AgfOanetParamCounts;

typedef struct AgfOanet AgfOanet;

const char *agf_oanet_variant_name(AgfOanetVariant v);
/* The paper's network: ViT-B/16 at 224 (12 blocks, width 768, 12 heads,
 * MLP 3072), a ResNet-18 cue encoder on a 3-channel cue (512-wide tokens),
 * 512 features, 2 classes; variant v. */
void agf_oanet_config_paper(AgfOanetConfig *cfg, AgfOanetVariant v);
/* Total parameters (and the parts when parts != NULL), or -1 and an error
 * for an invalid configuration. Paper, oanet: ViT 85,798,656 + cross
 * 23,648,256 + head 394,756 = 109,841,668, + cue encoder 11,176,512. */
gint64 agf_oanet_param_count(const AgfOanetConfig *cfg,
                             AgfOanetParamCounts *parts, GError **error);
/* Declares every tensor of a configuration to c (layers.h), in load order
 * with the cue encoder last, and adds the total to c->n_params; parts
 * (may be NULL) gets the counts by part. */
gboolean agf_oanet_declare(const AgfOanetConfig *cfg, AgfParamCheck *c,
                           AgfOanetParamCounts *parts, GError **error);

/* Reads the configuration and checks every tensor's shape; computes the
 * classifier weight g v / ||v|| once. w is ref'ed. */
AgfOanet *agf_oanet_new(AgfWeights *w, GError **error);
void agf_oanet_free(AgfOanet *net);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfOanet, agf_oanet_free)
const AgfOanetConfig *agf_oanet_config(const AgfOanet *net);

/* image [B, 3, S, S] (S = vit.img_size: 224 for the paper; resize the
 * 256 face first), cue [B, C, H, W] (the cue encoder's channels, any size
 * a multiple of 32: 256 -> 64 tokens; for residual_only / dual_branch the
 * cue ViT's [B, C, S, S]). image may be NULL for residual_only, cue for
 * image_only. Outputs: logits [B, n_classes] and the normalized feature
 * [B, feature_dim]; feature may be NULL. */
gboolean agf_oanet_forward(AgfOanet *net, const AgfTensor *image,
                           const AgfTensor *cue, AgfTensor **logits,
                           AgfTensor **feature, GError **error);
/* softmax(logits)[:, spoof_class]: [B]. */
AgfTensor *agf_oanet_spoof_probability(const AgfOanet *net,
                                       const AgfTensor *logits,
                                       GError **error);

G_END_DECLS
