/* 5-point face alignment (method.md step 1): a similarity transform
 * (rotation, uniform scale, translation; no reflection, no shear) from the
 * detector's 5 landmarks to the standard template, then a bilinear warp to
 * an aligned S x S crop.
 *
 * Template: insightface's ArcFace 5 points in its 112 x 112 crop,
 *   left eye (38.2946, 51.6963), right eye (73.5318, 51.5014),
 *   nose (56.0252, 71.7366), left mouth (41.5493, 92.3655),
 *   right mouth (70.7299, 92.2041)
 * ("left" = the image's left, the subject's right eye), scaled to an
 * S x S crop by multiplying both coordinates by S / 112 (S = 256:
 * x * 256 / 112; no offset, the same convention as insightface's
 * norm_crop, whose coordinates are pixel centres at integers, as ours).
 *
 * Coordinates everywhere: pixels, pixel centres at integers, x right, y
 * down. A transform m[2][3] maps (x, y) to
 * (m[0][0] x + m[0][1] y + m[0][2], m[1][0] x + m[1][1] y + m[1][2]). */
#pragma once
#include "nn/tensor.h"

G_BEGIN_DECLS

#define AGF_FACE_N_LANDMARKS 5
#define AGF_FACE_ALIGN_SIZE 256 /* the networks' input side */

/* A face's alignment: fwd maps frame pixels to aligned-crop pixels, inv the
 * way back (to draw a cue computed on the crop onto the frame). */
typedef struct {
  int size;          /* S */
  double fwd[2][3];  /* frame -> aligned */
  double inv[2][3];  /* aligned -> frame */
} AgfFaceAlignment;

/* The template's 5 points scaled to an S x S crop (see above). */
void agf_face_template(int size, float out[AGF_FACE_N_LANDMARKS][2]);

/* Least-squares similarity transform dst ~ m(src) of n >= 2 point pairs
 * (Umeyama 1991 with the reflection excluded; in 2-D it is the complex
 * least-squares fit w = a z + b). Fails on non-finite or coincident
 * source points. */
gboolean agf_similarity_estimate(const float (*src)[2], const float (*dst)[2],
                                 int n, double m[2][3], GError **error);

/* Inverse of an affine transform; FALSE when it is singular. */
gboolean agf_affine_invert(const double m[2][3], double inv[2][3]);
/* m applied to (x, y). */
void agf_affine_apply(const double m[2][3], double x, double y, double *ox,
                      double *oy);

/* The alignment of a face with landmarks (frame pixels) to an S x S crop. */
gboolean agf_face_alignment_compute(
  const float landmarks[AGF_FACE_N_LANDMARKS][2], int size,
  AgfFaceAlignment *out, GError **error);

/* Aligned crops [n, 3, S, S] in [-1, 1] ((pixel / 255) * 2 - 1; outside
 * the frame black, -1) of the n alignments (one size S) from frame, u8
 * [1, H, W, 3] RGB or [1, H, W, 4] RGBA on any device; the crops are on
 * the frame's device. Bilinear sampling (agf_affine_warp). */
AgfTensor *agf_face_align(const AgfTensor *frame,
                          const AgfFaceAlignment *alignments, int n,
                          GError **error);
/* The same from a frame already converted to [-1, 1], [1, 3, H, W]. */
AgfTensor *agf_face_align_normalized(const AgfTensor *frame,
                                     const AgfFaceAlignment *alignments,
                                     int n, GError **error);

/* Crops [n, C, out_h, out_w]: crop k samples imgs[k] ([1, C, H, W] float,
 * all on one device; one image may appear many times) bilinearly through
 * m[k] (output pixel -> input pixel), border outside. The matrices go up
 * in one upload and each warp writes its slot of the result directly, so
 * n crops cost no concatenation. Used by the detector (R-/O-Net crops) and
 * the aligner. */
AgfTensor *agf_face_warp_crops(const AgfTensor *const *imgs,
                               const double (*m)[2][3], int n, int out_h,
                               int out_w, float border, GError **error);

G_END_DECLS
