/* The anomalous cue (method.md step 4) and the live/spoof score (step 5):
 *   residual = image - reconstruction            signed, [B, 3, H, W]
 *              (times a face mask [B, 1, H, W] when one is given: the
 *              background is reconstructed poorly even for live faces)
 *   heat     = mean over channels of |residual|  [B, 1, H, W], for display
 *   cue      = (residual - mean) / sqrt(var + AGF_CUE_EPS), per sample over
 *              all C x H x W values, var UNBIASED (divided by N - 1) as
 *              torch's .std() in the authors' code; the eps only guards a
 *              constant residual (an exact reconstruction)
 *   stack    = [image, cue] on the channel axis: [B, 6, H, W], the authors'
 *              network input layout.
 * Everything runs on the tensors' device through the engine's ops. */
#pragma once
#include "models/oanet.h"

G_BEGIN_DECLS

#define AGF_CUE_EPS 1e-10f

/* mask: NULL, or [B, 1, H, W] (broadcast over the channels). */
AgfTensor *agf_cue_residual(const AgfTensor *image, const AgfTensor *recon,
                            const AgfTensor *mask, GError **error);
AgfTensor *agf_cue_heat(const AgfTensor *residual, GError **error);
AgfTensor *agf_cue_standardize(const AgfTensor *residual, GError **error);
AgfTensor *agf_cue_stack(const AgfTensor *image, const AgfTensor *cue,
                         GError **error);

/* Runs the OA-Net (any variant) on image [B, 3, H, W] and the standardized
 * cue [B, 3, H, W]: the image (and for residual_only / dual_branch the cue
 * too) is resized bilinearly to the ViT's input size (224 in the paper),
 * the cue encoder of the full OA-Net sees the cue at its own size (256 ->
 * 64 tokens). *spoof: softmax(logits)[:, spoof_class], [B]; logits
 * [B, classes] too when logits != NULL. */
gboolean agf_dfg_score(AgfOanet *net, const AgfTensor *image,
                       const AgfTensor *cue, AgfTensor **spoof,
                       AgfTensor **logits, GError **error);

G_END_DECLS
