/* A simulated print attack: a photo printed on paper and re-captured by a
 * camera, made on the host from a live face so the app can ship a spoof
 * example without third-party photos (agfas-train sample). Each effect is
 * its own function, applied by agf_print_attack() in this order:
 *
 *   1. tone       the printer's gamut and dynamic range: chroma scaled
 *                 towards luma, values squeezed into [black, white]
 *   2. upscale    the photo printed on a finer raster (print_scale x), so
 *                 the dot screen is finer than the photo's pixels
 *   3. halftone   CMYK conversion and an amplitude-modulated dot screen
 *                 per ink at its own angle (C 15, M 75, Y 0, K 45 degrees)
 *   4. paper      the paper's white (a warm tint) under the inks
 *   5. blur       the camera's defocus: a Gaussian on the print raster
 *   6. warp       a mild perspective (homography) keeping the centre in
 *                 place, sampled bilinearly back to the input size with no
 *                 prefilter: the dot screen aliases into moire, as it
 *                 does on a real re-capture; outside the print: a dark
 *                 background
 *   7. noise      the sensor's read noise plus shot noise ~ sqrt(signal)
 *
 * Everything random (warp corners, noise) comes from rng.h keyed by the
 * seed: the same input and parameters give the same bytes everywhere. */
#pragma once
#include <glib.h>
#include "io/image.h"

G_BEGIN_DECLS

/* Interleaved RGB floats, nominally in [0, 1], rows top to bottom:
 * pixel (x, y) channel c at rgb[(y * width + x) * 3 + c]. */
typedef struct {
  int width, height;
  float *rgb;
} AgfRgbImage;

AgfRgbImage *agf_rgb_image_new(int width, int height); /* zeroed */
AgfRgbImage *agf_rgb_image_copy(const AgfRgbImage *img);
void agf_rgb_image_free(AgfRgbImage *img);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfRgbImage, agf_rgb_image_free)
/* 8-bit RGB or RGBA (alpha ignored) -> floats v / 255. */
AgfRgbImage *agf_rgb_image_from_image(const AgfImage *img);
/* -> 8-bit RGB, round(clamp(v, 0, 1) * 255). */
AgfImage *agf_rgb_image_to_image(const AgfRgbImage *img, GError **error);

typedef struct {
  double black, white;   /* printed range of [0, 1]: 0.07, 0.93 */
  double saturation;     /* chroma kept by the printer's gamut: 0.75 */
  int print_scale;       /* print raster / input pixels: 3 */
  double dot_period;     /* halftone cell side, print pixels: 5 */
  double screen_angle[4];/* C, M, Y, K in degrees: 15, 75, 0, 45 */
  float paper[3];        /* paper white (linear RGB): 0.97, 0.95, 0.88 */
  double blur_sigma;     /* defocus, print pixels: 1.1 */
  double warp;           /* corner jitter, fraction of the side: 0.04 */
  float border[3];       /* what the camera sees around the print */
  double read_noise;     /* sensor noise std at black: 0.008 */
  double shot_noise;     /* std at white (scales with sqrt(v)): 0.02 */
  guint64 seed;
} AgfPrintAttackParams;

void agf_print_attack_params_init(AgfPrintAttackParams *p);
/* Checks every field's range; the message names the bad one. */
gboolean agf_print_attack_params_check(const AgfPrintAttackParams *p,
                                       GError **error);

/* live (any size >= 8 x 8) -> the re-captured print, the same size. */
AgfRgbImage *agf_print_attack(const AgfRgbImage *live,
                              const AgfPrintAttackParams *p, GError **error);

/* ---- the steps (exported for tests and for other attack simulations) -- */

/* 1: in place, v' = black + (white - black) * (l + saturation * (v - l)),
 * l = Rec. 601 luma, clamped to [0, 1]. */
void agf_print_tone(AgfRgbImage *img, double black, double white,
                    double saturation);
/* 2: bilinear (align_corners false) to factor x the size. */
AgfRgbImage *agf_print_upscale(const AgfRgbImage *img, int factor);
/* 3: CMYK with full grey-component replacement (k = 1 - max(r, g, b)),
 * each ink i thresholded against the Euclidean spot function of a grid of
 * period `period` rotated by angle[i] degrees, linearised (a coverage c
 * inks a fraction c of the cell) and soft-edged over ~1 print pixel;
 * reflectance = product of (1 - ink) per channel. White paper (1); the
 * paper's tint comes after. */
AgfRgbImage *agf_print_halftone(const AgfRgbImage *img, double period,
                                const double angle[4]);
/* 4: in place, v *= paper[c]. */
void agf_print_paper(AgfRgbImage *img, const float paper[3]);
/* 5: in place, separable Gaussian (radius 3 sigma, edges clamped);
 * sigma <= 0 leaves img unchanged. */
void agf_print_blur(AgfRgbImage *img, double sigma);
/* 6a: the homography H (row-major 3 x 3, H[8] = 1) mapping an output
 * pixel centre (x + 0.5, y + 0.5) of out_w x out_h to source coordinates
 * of src_w x src_h: the output's corners go to the source's corners, each
 * moved by up to jitter * side (uniform, from seed), then the whole map is
 * shifted so the output centre lands exactly on the source centre. */
void agf_print_warp_matrix(int out_w, int out_h, int src_w, int src_h,
                           double jitter, guint64 seed, double H[9]);
/* Applies H to (x, y) -> (*sx, *sy); FALSE where the point maps to
 * infinity. */
gboolean agf_print_homography_apply(const double H[9], double x, double y,
                                    double *sx, double *sy);
/* 6b: out(x, y) = bilinear src at H(x + 0.5, y + 0.5) (pixel centres at
 * +0.5), border outside the source. */
AgfRgbImage *agf_print_warp(const AgfRgbImage *src, const double H[9],
                            int out_w, int out_h, const float border[3]);
/* 7: in place, v += N(0, read^2 + shot^2 * v) per sample, then clamped to
 * [0, 1]. */
void agf_print_sensor_noise(AgfRgbImage *img, double read, double shot,
                            guint64 seed);

G_END_DECLS
