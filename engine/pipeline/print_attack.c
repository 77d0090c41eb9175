/* The simulated print attack's steps; see print_attack.h. */
#include "pipeline/print_attack.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "nn/error.h"
#include "pipeline/rng.h"

/* rng.h streams ("prnt" + step) so the warp and noise draws never share
 * values with each other or with the DFG's streams 0, 1, 2 + i. */
#define STREAM_WARP G_GUINT64_CONSTANT(0x70726e7400000001)
#define STREAM_NOISE G_GUINT64_CONSTANT(0x70726e7400000002)

/* ---- images ---- */

AgfRgbImage *agf_rgb_image_new(int width, int height)
{
  g_return_val_if_fail(width > 0 && height > 0, NULL);
  AgfRgbImage *img = g_new(AgfRgbImage, 1);
  img->width = width;
  img->height = height;
  img->rgb = g_new0(float, (gsize)width * height * 3);
  return img;
}

AgfRgbImage *agf_rgb_image_copy(const AgfRgbImage *img)
{
  AgfRgbImage *c = agf_rgb_image_new(img->width, img->height);
  memcpy(c->rgb, img->rgb, (gsize)img->width * img->height * 3 * sizeof(float));
  return c;
}

void agf_rgb_image_free(AgfRgbImage *img)
{
  if (!img)
    return;
  g_free(img->rgb);
  g_free(img);
}

AgfRgbImage *agf_rgb_image_from_image(const AgfImage *img)
{
  g_return_val_if_fail(img && (img->channels == 3 || img->channels == 4),
                       NULL);
  AgfRgbImage *out = agf_rgb_image_new(img->width, img->height);
  for (int y = 0; y < img->height; y++) {
    const guint8 *row = img->pixels + (gsize)y * img->stride;
    for (int x = 0; x < img->width; x++)
      for (int c = 0; c < 3; c++)
        out->rgb[((gsize)y * img->width + x) * 3 + c] =
          row[x * img->channels + c] / 255.0f;
  }
  return out;
}

AgfImage *agf_rgb_image_to_image(const AgfRgbImage *img, GError **error)
{
  AgfImage *out = agf_image_new(img->width, img->height, 3, error);
  if (!out)
    return NULL;
  for (int y = 0; y < img->height; y++) {
    guint8 *row = out->pixels + (gsize)y * out->stride;
    for (int x = 0; x < img->width * 3; x++) {
      const float v = img->rgb[(gsize)y * img->width * 3 + x];
      row[x] = (guint8)lrintf(CLAMP(v, 0.0f, 1.0f) * 255.0f);
    }
  }
  return out;
}

/* ---- parameters ---- */

void agf_print_attack_params_init(AgfPrintAttackParams *p)
{
  *p = (AgfPrintAttackParams){
    .black = 0.07, .white = 0.93, .saturation = 0.75, .print_scale = 3,
    .dot_period = 5.0, .screen_angle = { 15, 75, 0, 45 },
    .paper = { 0.97f, 0.95f, 0.88f }, .blur_sigma = 1.1, .warp = 0.04,
    .border = { 0.16f, 0.15f, 0.17f }, .read_noise = 0.008,
    .shot_noise = 0.02, .seed = 0,
  };
}

gboolean agf_print_attack_params_check(const AgfPrintAttackParams *p,
                                       GError **error)
{
  const char *bad = NULL;
  if (!(p->black >= 0 && p->black < p->white && p->white <= 1))
    bad = "black/white (0 <= black < white <= 1)";
  else if (!(p->saturation >= 0 && p->saturation <= 1))
    bad = "saturation (0..1)";
  else if (p->print_scale < 1 || p->print_scale > 8)
    bad = "print_scale (1..8)";
  else if (!(p->dot_period >= 2 && p->dot_period <= 64))
    bad = "dot_period (2..64 print pixels)";
  else if (!(p->blur_sigma >= 0 && p->blur_sigma <= 16))
    bad = "blur_sigma (0..16 print pixels)";
  else if (!(p->warp >= 0 && p->warp <= 0.25))
    bad = "warp (0..0.25 of the side)";
  else if (!(p->read_noise >= 0 && p->read_noise <= 0.5 &&
             p->shot_noise >= 0 && p->shot_noise <= 0.5))
    bad = "read_noise/shot_noise (0..0.5)";
  for (int c = 0; !bad && c < 3; c++)
    if (!(p->paper[c] >= 0 && p->paper[c] <= 1 && p->border[c] >= 0 &&
          p->border[c] <= 1))
      bad = "paper/border colour (0..1 per channel)";
  if (bad)
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "print attack parameter out of range: %s", bad);
  return bad == NULL;
}

/* ---- 1. tone ---- */

void agf_print_tone(AgfRgbImage *img, double black, double white,
                    double saturation)
{
  const gsize n = (gsize)img->width * img->height;
  for (gsize i = 0; i < n; i++) {
    float *px = img->rgb + i * 3;
    const double l = 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2];
    for (int c = 0; c < 3; c++) {
      const double v = l + saturation * (px[c] - l);
      px[c] = (float)CLAMP(black + (white - black) * v, 0.0, 1.0);
    }
  }
}

/* ---- 2. upscale ---- */

/* Bilinear sample of img at continuous (sx, sy) (pixel centres at +0.5);
 * FALSE outside [0, w] x [0, h], edges clamped inside. */
static gboolean sample(const AgfRgbImage *img, double sx, double sy,
                       float out[3])
{
  if (!(sx >= 0 && sy >= 0 && sx <= img->width && sy <= img->height))
    return FALSE;
  const double fx = sx - 0.5, fy = sy - 0.5;
  const int x0 = (int)floor(fx), y0 = (int)floor(fy);
  const double ax = fx - x0, ay = fy - y0;
  const int xa = CLAMP(x0, 0, img->width - 1);
  const int xb = CLAMP(x0 + 1, 0, img->width - 1);
  const int ya = CLAMP(y0, 0, img->height - 1);
  const int yb = CLAMP(y0 + 1, 0, img->height - 1);
  const float *p00 = img->rgb + ((gsize)ya * img->width + xa) * 3;
  const float *p01 = img->rgb + ((gsize)ya * img->width + xb) * 3;
  const float *p10 = img->rgb + ((gsize)yb * img->width + xa) * 3;
  const float *p11 = img->rgb + ((gsize)yb * img->width + xb) * 3;
  for (int c = 0; c < 3; c++)
    out[c] = (float)((1 - ay) * ((1 - ax) * p00[c] + ax * p01[c]) +
                     ay * ((1 - ax) * p10[c] + ax * p11[c]));
  return TRUE;
}

AgfRgbImage *agf_print_upscale(const AgfRgbImage *img, int factor)
{
  g_return_val_if_fail(factor >= 1, NULL);
  AgfRgbImage *out = agf_rgb_image_new(img->width * factor,
                                       img->height * factor);
  for (int y = 0; y < out->height; y++)
    for (int x = 0; x < out->width; x++)
      sample(img, (x + 0.5) / factor, (y + 0.5) / factor,
             out->rgb + ((gsize)y * out->width + x) * 3);
  return out;
}

/* ---- 3. halftone ---- */

/* The Euclidean spot threshold at phase (a, b) of a cell: 0 at the dot
 * centres, 1 at the cell corners. */
static double spot_threshold(double a, double b)
{
  return (1.0 - (cos(a) + cos(b)) / 2.0) / 2.0;
}

static int cmp_double(const void *a, const void *b)
{
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* lut[i]: the threshold level below which a fraction i / LUT_N of a
 * cell's area lies, so a coverage maps to the dot of that area (a
 * linearised screen, as a calibrated printer has; the raw spot function
 * would print a 25 % tint as ~16 % ink). */
#define LUT_N 256
#define LUT_GRID 64
static void screen_lut(double lut[LUT_N + 1])
{
  g_autofree double *t = g_new(double, LUT_GRID * LUT_GRID);
  for (int j = 0; j < LUT_GRID; j++)
    for (int i = 0; i < LUT_GRID; i++)
      t[j * LUT_GRID + i] = spot_threshold(2 * G_PI * (i + 0.5) / LUT_GRID,
                                           2 * G_PI * (j + 0.5) / LUT_GRID);
  qsort(t, LUT_GRID * LUT_GRID, sizeof *t, cmp_double);
  for (int i = 0; i <= LUT_N; i++)
    lut[i] = t[MIN(i * (LUT_GRID * LUT_GRID - 1) / LUT_N,
                   LUT_GRID * LUT_GRID - 1)];
  lut[0] = 0.0, lut[LUT_N] = 1.0;
}

static double lut_level(const double lut[LUT_N + 1], double cover)
{
  const double f = CLAMP(cover, 0.0, 1.0) * LUT_N;
  const int i = MIN((int)f, LUT_N - 1);
  return lut[i] + (f - i) * (lut[i + 1] - lut[i]);
}

AgfRgbImage *agf_print_halftone(const AgfRgbImage *img, double period,
                                const double angle[4])
{
  g_return_val_if_fail(period > 0, NULL);
  double cs[4], sn[4];
  for (int i = 0; i < 4; i++) {
    cs[i] = cos(angle[i] * G_PI / 180.0);
    sn[i] = sin(angle[i] * G_PI / 180.0);
  }
  const double w = 2 * G_PI / period;
  /* The soft edge: the threshold's steepest slope is pi / (2 period) per
   * pixel, so this blends over about one pixel (ink spread on paper). */
  const double edge = G_PI / (2.0 * period);
  double lut[LUT_N + 1];
  screen_lut(lut);
  AgfRgbImage *out = agf_rgb_image_new(img->width, img->height);
  for (int y = 0; y < img->height; y++)
    for (int x = 0; x < img->width; x++) {
      const gsize o = ((gsize)y * img->width + x) * 3;
      const float *px = img->rgb + o;
      const double r = CLAMP(px[0], 0.0f, 1.0f), g = CLAMP(px[1], 0.0f, 1.0f),
                   b = CLAMP(px[2], 0.0f, 1.0f);
      const double k = 1.0 - MAX(r, MAX(g, b));
      const double d = k < 1.0 ? 1.0 - k : 1.0;
      const double cover[4] = { (1 - r - k) / d, (1 - g - k) / d,
                                (1 - b - k) / d, k };
      double ink[4];
      for (int i = 0; i < 4; i++) {
        const double u = (x + 0.5) * cs[i] + (y + 0.5) * sn[i];
        const double v = -(x + 0.5) * sn[i] + (y + 0.5) * cs[i];
        /* Euclidean dot: ink where the threshold is below the level of
         * the coverage. */
        const double thr = spot_threshold(w * u, w * v);
        /* The soft edge is symmetric about the level, so the mean ink
         * stays the coverage; only bare paper and solid ink are exact. */
        ink[i] = cover[i] <= 0.0 ? 0.0
               : cover[i] >= 1.0 ? 1.0
               : CLAMP((lut_level(lut, cover[i]) - thr) / edge + 0.5, 0.0,
                       1.0);
      }
      for (int c = 0; c < 3; c++)
        out->rgb[o + c] = (float)((1.0 - ink[c]) * (1.0 - ink[3]));
    }
  return out;
}

/* ---- 4. paper ---- */

void agf_print_paper(AgfRgbImage *img, const float paper[3])
{
  const gsize n = (gsize)img->width * img->height;
  for (gsize i = 0; i < n; i++)
    for (int c = 0; c < 3; c++)
      img->rgb[i * 3 + c] *= paper[c];
}

/* ---- 5. blur ---- */

/* One 1-D pass over n samples spaced step floats apart, lines lines
 * line_step apart. */
static void blur_pass(float *data, int n, gsize step, int lines,
                      gsize line_step, const float *k, int radius)
{
  g_autofree float *tmp = g_new(float, n);
  for (int l = 0; l < lines; l++) {
    float *line = data + (gsize)l * line_step;
    for (int i = 0; i < n; i++) {
      double s = 0;
      for (int j = -radius; j <= radius; j++)
        s += k[j + radius] * line[(gsize)CLAMP(i + j, 0, n - 1) * step];
      tmp[i] = (float)s;
    }
    for (int i = 0; i < n; i++)
      line[(gsize)i * step] = tmp[i];
  }
}

void agf_print_blur(AgfRgbImage *img, double sigma)
{
  if (sigma <= 0)
    return;
  const int radius = MAX(1, (int)ceil(3 * sigma));
  g_autofree float *k = g_new(float, 2 * radius + 1);
  double sum = 0;
  for (int j = -radius; j <= radius; j++)
    sum += k[j + radius] = (float)exp(-0.5 * j * j / (sigma * sigma));
  for (int j = 0; j <= 2 * radius; j++)
    k[j] = (float)(k[j] / sum);
  const gsize row = (gsize)img->width * 3;
  for (int c = 0; c < 3; c++) {
    /* rows: samples 3 floats apart; columns: a row apart. */
    blur_pass(img->rgb + c, img->width, 3, img->height, row, k, radius);
    blur_pass(img->rgb + c, img->height, row, img->width, 3, k, radius);
  }
}

/* ---- 6. warp ---- */

/* Solves the 8 x 8 system a x = b (Gaussian elimination, partial
 * pivoting); FALSE when singular. */
static gboolean solve8(double a[8][8], double b[8], double x[8])
{
  for (int c = 0; c < 8; c++) {
    int p = c;
    for (int r = c + 1; r < 8; r++)
      if (fabs(a[r][c]) > fabs(a[p][c]))
        p = r;
    if (fabs(a[p][c]) < 1e-12)
      return FALSE;
    for (int j = 0; j < 8; j++) {
      const double t = a[c][j];
      a[c][j] = a[p][j], a[p][j] = t;
    }
    const double t = b[c];
    b[c] = b[p], b[p] = t;
    for (int r = c + 1; r < 8; r++) {
      const double f = a[r][c] / a[c][c];
      for (int j = c; j < 8; j++)
        a[r][j] -= f * a[c][j];
      b[r] -= f * b[c];
    }
  }
  for (int r = 7; r >= 0; r--) {
    double s = b[r];
    for (int j = r + 1; j < 8; j++)
      s -= a[r][j] * x[j];
    x[r] = s / a[r][r];
  }
  return TRUE;
}

/* The homography taking the 4 points from[i] to to[i]; FALSE when
 * degenerate. */
static gboolean homography(const double from[4][2], const double to[4][2],
                           double H[9])
{
  double a[8][8], b[8], h[8];
  for (int i = 0; i < 4; i++) {
    const double x = from[i][0], y = from[i][1];
    const double u = to[i][0], v = to[i][1];
    const double r0[8] = { x, y, 1, 0, 0, 0, -u * x, -u * y };
    const double r1[8] = { 0, 0, 0, x, y, 1, -v * x, -v * y };
    memcpy(a[2 * i], r0, sizeof r0);
    memcpy(a[2 * i + 1], r1, sizeof r1);
    b[2 * i] = u;
    b[2 * i + 1] = v;
  }
  if (!solve8(a, b, h))
    return FALSE;
  memcpy(H, h, sizeof h);
  H[8] = 1;
  return TRUE;
}

gboolean agf_print_homography_apply(const double H[9], double x, double y,
                                    double *sx, double *sy)
{
  const double w = H[6] * x + H[7] * y + H[8];
  if (fabs(w) < 1e-12)
    return FALSE;
  *sx = (H[0] * x + H[1] * y + H[2]) / w;
  *sy = (H[3] * x + H[4] * y + H[5]) / w;
  return TRUE;
}

void agf_print_warp_matrix(int out_w, int out_h, int src_w, int src_h,
                           double jitter, guint64 seed, double H[9])
{
  const double from[4][2] = { { 0, 0 }, { out_w, 0 }, { out_w, out_h },
                              { 0, out_h } };
  double to[4][2] = { { 0, 0 }, { src_w, 0 }, { src_w, src_h },
                      { 0, src_h } };
  for (int i = 0; i < 4; i++) {
    to[i][0] += (2 * agf_rng_uniform(seed, STREAM_WARP, 2 * i) - 1) *
                jitter * src_w;
    to[i][1] += (2 * agf_rng_uniform(seed, STREAM_WARP, 2 * i + 1) - 1) *
                jitter * src_h;
  }
  /* jitter <= 0.25 keeps the quad convex, so this cannot fail; identity
   * scaling as the fallback all the same. */
  if (!homography(from, to, H)) {
    const double s[9] = { (double)src_w / out_w, 0, 0, 0,
                          (double)src_h / out_h, 0, 0, 0, 1 };
    memcpy(H, s, sizeof s);
  }
  /* Shift in source space: H(out centre) = source centre. */
  double cx, cy;
  if (agf_print_homography_apply(H, out_w / 2.0, out_h / 2.0, &cx, &cy)) {
    const double dx = src_w / 2.0 - cx, dy = src_h / 2.0 - cy;
    for (int j = 0; j < 3; j++) {
      H[j] += dx * H[6 + j];
      H[3 + j] += dy * H[6 + j];
    }
  }
}

AgfRgbImage *agf_print_warp(const AgfRgbImage *src, const double H[9],
                            int out_w, int out_h, const float border[3])
{
  AgfRgbImage *out = agf_rgb_image_new(out_w, out_h);
  for (int y = 0; y < out_h; y++)
    for (int x = 0; x < out_w; x++) {
      float *px = out->rgb + ((gsize)y * out_w + x) * 3;
      double sx, sy;
      if (!agf_print_homography_apply(H, x + 0.5, y + 0.5, &sx, &sy) ||
          !sample(src, sx, sy, px))
        memcpy(px, border, 3 * sizeof(float));
    }
  return out;
}

/* ---- 7. noise ---- */

void agf_print_sensor_noise(AgfRgbImage *img, double read, double shot,
                            guint64 seed)
{
  const gsize n = (gsize)img->width * img->height * 3;
  g_autofree float *z = g_new(float, n);
  agf_rng_normal(seed, STREAM_NOISE, 0, z, n);
  for (gsize i = 0; i < n; i++) {
    const double v = CLAMP(img->rgb[i], 0.0f, 1.0f);
    const double sd = sqrt(read * read + shot * shot * v);
    img->rgb[i] = (float)CLAMP(v + sd * z[i], 0.0, 1.0);
  }
}

/* ---- the whole attack ---- */

AgfRgbImage *agf_print_attack(const AgfRgbImage *live,
                              const AgfPrintAttackParams *p, GError **error)
{
  g_return_val_if_fail(live && p, NULL);
  if (!agf_print_attack_params_check(p, error))
    return NULL;
  if (live->width < 8 || live->height < 8) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "the print attack needs an image of at least 8 x 8 pixels, "
                "not %d x %d", live->width, live->height);
    return NULL;
  }
  g_autoptr(AgfRgbImage) toned = agf_rgb_image_copy(live);
  agf_print_tone(toned, p->black, p->white, p->saturation);
  g_autoptr(AgfRgbImage) raster = agf_print_upscale(toned, p->print_scale);
  g_autoptr(AgfRgbImage) print = agf_print_halftone(raster, p->dot_period,
                                                    p->screen_angle);
  agf_print_paper(print, p->paper);
  agf_print_blur(print, p->blur_sigma);
  double H[9];
  agf_print_warp_matrix(live->width, live->height, print->width,
                        print->height, p->warp, p->seed, H);
  AgfRgbImage *shot = agf_print_warp(print, H, live->width, live->height,
                                     p->border);
  agf_print_sensor_noise(shot, p->read_noise, p->shot_noise, p->seed);
  return shot;
}
