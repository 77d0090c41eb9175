/* Similarity estimation and aligned crops; see face_align.h. */
#include "pipeline/face_align.h"
#include <math.h>
#include <string.h>
#include "nn/ops.h"

/* insightface's arcface_dst, in its 112 x 112 crop. */
static const float arcface_112[AGF_FACE_N_LANDMARKS][2] = {
  { 38.2946f, 51.6963f }, { 73.5318f, 51.5014f }, { 56.0252f, 71.7366f },
  { 41.5493f, 92.3655f }, { 70.7299f, 92.2041f },
};

void agf_face_template(int size, float out[AGF_FACE_N_LANDMARKS][2])
{
  double s = size / 112.0;
  for (int i = 0; i < AGF_FACE_N_LANDMARKS; i++) {
    out[i][0] = (float)(arcface_112[i][0] * s);
    out[i][1] = (float)(arcface_112[i][1] * s);
  }
}

gboolean agf_similarity_estimate(const float (*src)[2], const float (*dst)[2],
                                 int n, double m[2][3], GError **error)
{
  if (src == NULL || dst == NULL || n < 2) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "similarity estimate: needs at least 2 point pairs, got %d",
                src && dst ? n : 0);
    return FALSE;
  }
  double mz[2] = { 0, 0 }, mw[2] = { 0, 0 };
  for (int i = 0; i < n; i++) {
    for (int k = 0; k < 2; k++) {
      if (!isfinite(src[i][k]) || !isfinite(dst[i][k])) {
        g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                    "similarity estimate: point %d is not finite (%g, %g) "
                    "-> (%g, %g); pass detected landmarks", i,
                    (double)src[i][0], (double)src[i][1], (double)dst[i][0],
                    (double)dst[i][1]);
        return FALSE;
      }
      mz[k] += src[i][k];
      mw[k] += dst[i][k];
    }
  }
  for (int k = 0; k < 2; k++) {
    mz[k] /= n;
    mw[k] /= n;
  }
  /* Centred points as complex numbers z, w: a = sum(conj(z) w) / sum|z|^2
   * is Umeyama's c R (rotation-scale, det > 0) for 2-D. */
  double ss = 0, ar = 0, ai = 0;
  for (int i = 0; i < n; i++) {
    double zx = src[i][0] - mz[0], zy = src[i][1] - mz[1];
    double wx = dst[i][0] - mw[0], wy = dst[i][1] - mw[1];
    ss += zx * zx + zy * zy;
    ar += zx * wx + zy * wy;
    ai += zx * wy - zy * wx;
  }
  if (!(ss > 1e-12 * (1.0 + fabs(mz[0]) + fabs(mz[1])))) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "similarity estimate: the %d source points coincide, so no "
                "scale or rotation can be fitted", n);
    return FALSE;
  }
  ar /= ss;
  ai /= ss;
  m[0][0] = ar;
  m[0][1] = -ai;
  m[1][0] = ai;
  m[1][1] = ar;
  m[0][2] = mw[0] - (ar * mz[0] - ai * mz[1]);
  m[1][2] = mw[1] - (ai * mz[0] + ar * mz[1]);
  return TRUE;
}

gboolean agf_affine_invert(const double m[2][3], double inv[2][3])
{
  double det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
  double norm = fabs(m[0][0]) + fabs(m[0][1]) + fabs(m[1][0]) + fabs(m[1][1]);
  if (!isfinite(det) || fabs(det) <= 1e-12 * norm * norm)
    return FALSE;
  double a = m[1][1] / det, b = -m[0][1] / det;
  double c = -m[1][0] / det, d = m[0][0] / det;
  inv[0][0] = a;
  inv[0][1] = b;
  inv[1][0] = c;
  inv[1][1] = d;
  inv[0][2] = -(a * m[0][2] + b * m[1][2]);
  inv[1][2] = -(c * m[0][2] + d * m[1][2]);
  return TRUE;
}

void agf_affine_apply(const double m[2][3], double x, double y, double *ox,
                      double *oy)
{
  *ox = m[0][0] * x + m[0][1] * y + m[0][2];
  *oy = m[1][0] * x + m[1][1] * y + m[1][2];
}

gboolean agf_face_alignment_compute(
  const float landmarks[AGF_FACE_N_LANDMARKS][2], int size,
  AgfFaceAlignment *out, GError **error)
{
  if (size < 8 || size > 8192) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "face alignment: crop side %d is out of range (8 .. 8192; "
                "the networks take %d)", size, AGF_FACE_ALIGN_SIZE);
    return FALSE;
  }
  float tpl[AGF_FACE_N_LANDMARKS][2];
  agf_face_template(size, tpl);
  out->size = size;
  if (!agf_similarity_estimate(landmarks, (const float (*)[2])tpl,
                               AGF_FACE_N_LANDMARKS, out->fwd, error))
    return FALSE;
  if (!agf_affine_invert(out->fwd, out->inv)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "face alignment: the landmarks give a degenerate transform "
                "(scale %g); they must span a face",
                hypot(out->fwd[0][0], out->fwd[1][0]));
    return FALSE;
  }
  return TRUE;
}

AgfTensor *agf_face_warp_crops(const AgfTensor *const *imgs,
                               const double (*m)[2][3], int n, int out_h,
                               int out_w, float border, GError **error)
{
  if (imgs == NULL || m == NULL || n < 1 || imgs[0] == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "face crops: no image or no crop given (n = %d)", n);
    return NULL;
  }
  const AgfTensor *first = imgs[0];
  for (int k = 0; k < n; k++) {
    const AgfTensor *t = imgs[k];
    if (t == NULL || t->ndim != 4 || t->shape[0] != 1 ||
        t->shape[1] != first->shape[1] || t->dtype != first->dtype ||
        t->dev != first->dev) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                  "face crops: image %d must be [1, %" G_GINT64_FORMAT
                  ", H, W] of %s on the first image's device", k,
                  first->shape[1], agf_dtype_name(first->dtype));
      return NULL;
    }
  }
  g_autofree float *mat = g_new(float, (gsize)n * 6);
  for (int k = 0; k < n; k++)
    for (int r = 0; r < 2; r++)
      for (int c = 0; c < 3; c++)
        mat[k * 6 + r * 3 + c] = (float)m[k][r][c];
  g_autoptr(AgfTensor) mt = agf_tensor_from_f32(
    first->dev, AGF_F32, 3, (int64_t[]){ n, 2, 3 }, mat, error);
  if (!mt)
    return NULL;
  g_autoptr(AgfTensor) out = agf_tensor_new(
    first->dev, first->dtype, 4,
    (int64_t[]){ n, first->shape[1], out_h, out_w }, error);
  if (!out)
    return NULL;
  for (int k = 0; k < n; k++) {
    g_autoptr(AgfTensor) ms = agf_tensor_slice(mt, 0, k, 1, error);
    g_autoptr(AgfTensor) os = ms ? agf_tensor_slice(out, 0, k, 1, error)
                                 : NULL;
    if (!os)
      return NULL;
    AgfOp op = { .kind = AGF_OP_AFFINE_WARP,
                 .in = { imgs[k], ms },
                 .n_in = 2,
                 .out = os,
                 .p.warp = { .out_h = out_h, .out_w = out_w,
                             .border = border } };
    if (!agf_op_run(&op, error))
      return NULL;
  }
  return g_steal_pointer(&out);
}

AgfTensor *agf_face_align_normalized(const AgfTensor *frame,
                                     const AgfFaceAlignment *alignments,
                                     int n, GError **error)
{
  if (frame == NULL || frame->ndim != 4 || frame->shape[0] != 1 ||
      frame->shape[1] != 3) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "face alignment: the frame must be one RGB image [1, 3, H, "
                "W] in [-1, 1]");
    return NULL;
  }
  if (alignments == NULL || n < 1) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "face alignment: no face to align (n = %d)", n);
    return NULL;
  }
  int size = alignments[0].size;
  g_autofree const AgfTensor **imgs = g_new(const AgfTensor *, n);
  g_autofree double (*inv)[2][3] = g_malloc_n(n, sizeof(double[2][3]));
  for (int k = 0; k < n; k++) {
    if (alignments[k].size != size) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "face alignment: alignment %d is for %d px crops, the "
                  "first for %d; align one size per call", k,
                  alignments[k].size, size);
      return NULL;
    }
    imgs[k] = frame;
    memcpy(inv[k], alignments[k].inv, sizeof inv[k]);
  }
  return agf_face_warp_crops(imgs, (const double (*)[2][3])inv, n, size,
                             size, -1.0f, error);
}

AgfTensor *agf_face_align(const AgfTensor *frame,
                          const AgfFaceAlignment *alignments, int n,
                          GError **error)
{
  static const float half[3] = { 0.5f, 0.5f, 0.5f };
  g_autoptr(AgfTensor) x = agf_image_to_tensor(frame, half, half, error);
  if (!x)
    return NULL;
  return agf_face_align_normalized(x, alignments, n, error);
}
