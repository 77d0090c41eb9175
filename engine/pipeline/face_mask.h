/* Face-region masks in the aligned frame, for background-masked cues
 * (method.md step 4: the paper zeroes non-face pixels with a BiSeNet face
 * parser). A masker turns aligned faces into [B, 1, S, S] masks in [0, 1]
 * (1 = face). Built in: a feathered ellipse fitted to the landmarks;
 * a learned face-parsing network plugs in through agf_face_masker_new.
 *
 * The ellipse, from the 5 landmarks in aligned-crop pixels: e = the eyes'
 * midpoint, m = the mouth corners' midpoint, d = |m - e|, io = the
 * distance between the eyes; the long axis runs along u = (m - e) / d
 * from e - up * d (forehead) to m + down * d (chin), the half width across
 * it is half_width * io; with r the ellipse's normalised radius (1 on its
 * outline) the mask is 1 for r <= 1 - feather, 0 for r >= 1 + feather and
 * a smoothstep between. Defaults (up 1.05, down 0.5, half_width 1.05,
 * feather 0.08) on the 256 template: forehead y ~ 20, chin y ~ 257, cheeks
 * x ~ 44 .. 212, edge ~ 10 px wide. */
#pragma once
#include "nn/tensor.h"
#include "pipeline/face_align.h"

G_BEGIN_DECLS

/* aligned [B, 3, S, S] in [-1, 1]; landmarks[b] the face's 5 points in the
 * aligned crop (B entries) -> a new [B, 1, S, S] mask on aligned's device. */
typedef AgfTensor *(*AgfFaceMaskFn)(gpointer self, const AgfTensor *aligned,
                                    const float (*landmarks)[AGF_FACE_N_LANDMARKS][2],
                                    GError **error);

typedef struct AgfFaceMasker AgfFaceMasker;

/* name is copied; free_self (may be NULL) frees self with the masker. */
AgfFaceMasker *agf_face_masker_new(const char *name, AgfFaceMaskFn fn,
                                   gpointer self, GDestroyNotify free_self);
void agf_face_masker_free(AgfFaceMasker *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfFaceMasker, agf_face_masker_free)
const char *agf_face_masker_name(const AgfFaceMasker *m);

/* Runs the masker and checks its result is [B, 1, S, S]. */
AgfTensor *agf_face_masker_run(AgfFaceMasker *m, const AgfTensor *aligned,
                               const float (*landmarks)[AGF_FACE_N_LANDMARKS][2],
                               GError **error);

typedef struct {
  double up, down;   /* forehead / chin extent, in eye-mouth distances */
  double half_width; /* in inter-ocular distances */
  double feather;    /* soft edge half-width, in normalised radius */
} AgfFaceEllipseParams;

void agf_face_ellipse_params_init(AgfFaceEllipseParams *p);
/* One size x size mask (row-major) on the host; FALSE (and an error) for
 * degenerate landmarks or parameters out of range. */
gboolean agf_face_ellipse_mask(const float lm[AGF_FACE_N_LANDMARKS][2],
                               int size, const AgfFaceEllipseParams *p,
                               float *out, GError **error);
/* The ellipse as a masker (p NULL: defaults; copied). */
AgfFaceMasker *agf_face_masker_ellipse(const AgfFaceEllipseParams *p);

G_END_DECLS
