/* Losses, written with engine ops so that autograd differentiates them.
 * Each returns a one-element tensor (the mean over the batch unless said
 * otherwise), with PyTorch's definitions. */
#pragma once
#include "nn/tensor.h"

G_BEGIN_DECLS

/* mean((pred - target)^2), as F.mse_loss. */
AgfTensor *agf_loss_mse(const AgfTensor *pred, const AgfTensor *target,
                        GError **error);
/* mean(|pred - target|), as F.l1_loss. */
AgfTensor *agf_loss_l1(const AgfTensor *pred, const AgfTensor *target,
                       GError **error);
/* F.cross_entropy(logits [B,K], labels): labels are host class indices
 * 0..K-1, one per row. Numerically stable (log-sum-exp). */
AgfTensor *agf_loss_cross_entropy(const AgfTensor *logits, const int *labels,
                                  GError **error);
/* F.binary_cross_entropy_with_logits(logits, targets), targets in [0,1]
 * of the logits' shape. Stable for large |logits|. */
AgfTensor *agf_loss_bce_with_logits(const AgfTensor *logits,
                                    const AgfTensor *targets, GError **error);
/* SSDG's asymmetric triplet loss on features [B,D]: classes are host
 * labels, 0 for every live sample (one class across domains) and 1 + d
 * for the spoofs of domain d. As SSDG's HardTripletLoss: batch-hard
 * mining on Euclidean distances (farthest positive, nearest negative per
 * anchor), mean of relu(d_ap - d_an + margin) over the anchors. */
AgfTensor *agf_loss_asym_triplet(const AgfTensor *features, const int *classes,
                                 float margin, GError **error);
/* The same loss as SSDG's training script actually calls it,
 * HardTripletLoss(margin=0.1, hardest=False): batch-all, the sum of
 * relu(d_ap - d_an + margin) over every valid triplet (a, p, n) (p != a of
 * a's class, n of another) divided by the number of triplets above 1e-16.
 * Memory: B^3 elements. */
AgfTensor *agf_loss_asym_triplet_all(const AgfTensor *features,
                                     const int *classes, float margin,
                                     GError **error);

G_END_DECLS
