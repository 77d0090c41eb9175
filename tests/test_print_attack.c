/* The print-attack steps (pipeline/print_attack.h): output range,
 * determinism, parameter checks, the halftone's spectrum at the dot
 * frequency and its linear tone, the warp keeping the centre, tone, blur
 * and sensor noise. Part of test_sample (test_sample.h). */
#include <math.h>
#include <string.h>
#include "test_sample.h"
#include "test_support.h"
#include "nn/error.h"

/* ---- helpers shared with test_sample.c ---- */

AgfRgbImage *sample_test_random_image(int w, int h, guint32 seed)
{
  AgfRgbImage *img = agf_rgb_image_new(w, h);
  agf_test_fill_uniform(img->rgb, (size_t)w * h * 3, seed, 0.0f, 1.0f);
  return img;
}

AgfRgbImage *sample_test_flat_image(int w, int h, float r, float g, float b)
{
  AgfRgbImage *img = agf_rgb_image_new(w, h);
  for (int i = 0; i < w * h; i++) {
    img->rgb[i * 3] = r;
    img->rgb[i * 3 + 1] = g;
    img->rgb[i * 3 + 2] = b;
  }
  return img;
}

gboolean sample_test_same_image(const AgfRgbImage *a, const AgfRgbImage *b)
{
  return a->width == b->width && a->height == b->height &&
         !memcmp(a->rgb, b->rgb, (size_t)a->width * a->height * 3 *
                                 sizeof(float));
}

void sample_test_assert_unit_range(const AgfRgbImage *img)
{
  for (int i = 0; i < img->width * img->height * 3; i++)
    if (!(img->rgb[i] >= 0.0f && img->rgb[i] <= 1.0f))
      g_error("sample %d is %g, outside [0, 1]", i, img->rgb[i]);
}

/* |DFT|^2 / N^2 of the luma at the frequency (fx, fy) in cycles per
 * pixel, mean removed. */
static double luma_power(const AgfRgbImage *img, double fx, double fy)
{
  const int n = img->width * img->height;
  double mean = 0;
  for (int i = 0; i < n; i++)
    mean += 0.299 * img->rgb[i * 3] + 0.587 * img->rgb[i * 3 + 1] +
            0.114 * img->rgb[i * 3 + 2];
  mean /= n;
  double re = 0, im = 0;
  for (int y = 0; y < img->height; y++)
    for (int x = 0; x < img->width; x++) {
      const float *p = img->rgb + ((size_t)y * img->width + x) * 3;
      const double l = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] - mean;
      const double a = 2 * G_PI * (fx * x + fy * y);
      re += l * cos(a);
      im -= l * sin(a);
    }
  return (re * re + im * im) / ((double)n * n);
}

/* ---- print attack ---- */

static void test_print_range(void)
{
  AgfPrintAttackParams p;
  agf_print_attack_params_init(&p);
  AgfRgbImage *inputs[3] = { sample_test_random_image(48, 40, 1),
                             sample_test_flat_image(48, 40, 0, 0, 0),
                             sample_test_flat_image(48, 40, 1, 1, 1) };
  for (int i = 0; i < 3; i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(AgfRgbImage) out = agf_print_attack(inputs[i], &p, &error);
    g_assert_no_error(error);
    g_assert_cmpint(out->width, ==, 48);
    g_assert_cmpint(out->height, ==, 40);
    sample_test_assert_unit_range(out);
    agf_rgb_image_free(inputs[i]);
  }
  /* A white input prints as tinted paper, not as white: the range and the
   * paper are applied. */
  g_autoptr(AgfRgbImage) white = sample_test_flat_image(48, 40, 1, 1, 1);
  g_autoptr(AgfRgbImage) out = agf_print_attack(white, &p, NULL);
  double mean_b = 0;
  for (int i = 0; i < 48 * 40; i++)
    mean_b += out->rgb[i * 3 + 2];
  g_assert_cmpfloat(mean_b / (48 * 40), <, 0.9);
}

static void test_print_determinism(void)
{
  g_autoptr(AgfRgbImage) live = sample_test_random_image(64, 64, 2);
  AgfPrintAttackParams p;
  agf_print_attack_params_init(&p);
  p.seed = 11;
  g_autoptr(AgfRgbImage) a = agf_print_attack(live, &p, NULL);
  g_autoptr(AgfRgbImage) b = agf_print_attack(live, &p, NULL);
  p.seed = 12;
  g_autoptr(AgfRgbImage) c = agf_print_attack(live, &p, NULL);
  g_assert_true(sample_test_same_image(a, b));
  g_assert_false(sample_test_same_image(a, c));
  /* Not the input either. */
  g_assert_false(sample_test_same_image(a, live));
}

static void test_print_params_checked(void)
{
  g_autoptr(AgfRgbImage) live = sample_test_random_image(16, 16, 3);
  AgfPrintAttackParams p;
  agf_print_attack_params_init(&p);
  p.white = p.black;
  g_autoptr(GError) error = NULL;
  g_assert_null(agf_print_attack(live, &p, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull(strstr(error->message, "black/white"));
  g_clear_error(&error);
  agf_print_attack_params_init(&p);
  g_autoptr(AgfRgbImage) tiny = sample_test_random_image(4, 4, 3);
  g_assert_null(agf_print_attack(tiny, &p, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_SHAPE);
}

/* Mid grey is all black ink (grey-component replacement): the K screen
 * at 45 degrees puts a peak at its dot frequency that neither the input
 * nor an unrelated frequency has. A coloured flat adds the cyan screen at
 * 15 degrees. */
static void test_halftone_spectrum(void)
{
  const double period = 6.0;
  const double angle[4] = { 15, 75, 0, 45 };
  struct { float rgb[3]; int ink; } cases[] = {
    { { 0.5f, 0.5f, 0.5f }, 3 },
    { { 0.35f, 0.8f, 0.85f }, 0 },
  };
  for (guint c = 0; c < G_N_ELEMENTS(cases); c++) {
    g_autoptr(AgfRgbImage) in = sample_test_flat_image(96, 96, cases[c].rgb[0],
                                           cases[c].rgb[1], cases[c].rgb[2]);
    g_autoptr(AgfRgbImage) out = agf_print_halftone(in, period, angle);
    sample_test_assert_unit_range(out);
    const double a = angle[cases[c].ink] * G_PI / 180;
    const double fx = cos(a) / period, fy = sin(a) / period;
    const double p_in = luma_power(in, fx, fy);
    const double p_dot = luma_power(out, fx, fy);
    const double p_off = luma_power(out, 0.5 * fy + 0.013, 0.37 * fx + 0.029);
    g_test_message("case %u: power at the dot frequency %g (input %g), off "
                   "it %g", c, p_dot, p_in, p_off);
    g_assert_cmpfloat(p_in, <, 1e-12);
    g_assert_cmpfloat(p_dot, >, 1e-3);
    g_assert_cmpfloat(p_dot, >, 50 * p_off);
  }
  /* The screen is linear: a grey's mean reflectance stays its value
   * (over whole cells: 60 = 10 periods). */
  const float greys[] = { 0.15f, 0.3f, 0.5f, 0.75f, 0.9f };
  for (guint g = 0; g < G_N_ELEMENTS(greys); g++) {
    const float v = greys[g];
    g_autoptr(AgfRgbImage) in = sample_test_flat_image(60, 60, v, v, v);
    const double zero[4] = { 0, 0, 0, 0 };
    g_autoptr(AgfRgbImage) out = agf_print_halftone(in, period, zero);
    double m = 0;
    for (int i = 0; i < 60 * 60 * 3; i++)
      m += out->rgb[i];
    m /= 60 * 60 * 3;
    g_test_message("grey %.2f prints as %.3f", v, m);
    g_assert_cmpfloat(fabs(m - v), <, 0.03);
  }
}

static void test_warp_keeps_centre(void)
{
  const int sw = 192, sh = 192, ow = 64, oh = 64;
  for (guint64 seed = 0; seed < 8; seed++) {
    double H[9], sx, sy;
    agf_print_warp_matrix(ow, oh, sw, sh, 0.04, seed, H);
    g_assert_true(agf_print_homography_apply(H, ow / 2.0, oh / 2.0, &sx,
                                             &sy));
    g_assert_cmpfloat(fabs(sx - sw / 2.0), <, 1e-9);
    g_assert_cmpfloat(fabs(sy - sh / 2.0), <, 1e-9);
    /* A perspective, not a plain scaling. */
    g_assert_cmpfloat(fabs(H[6]) + fabs(H[7]), >, 0);
    /* A bright blob at the source centre stays at the output centre. */
    g_autoptr(AgfRgbImage) src =
      sample_test_flat_image(sw, sh, 0.1f, 0.1f, 0.1f);
    for (int y = sh / 2 - 3; y < sh / 2 + 3; y++)
      for (int x = sw / 2 - 3; x < sw / 2 + 3; x++)
        for (int k = 0; k < 3; k++)
          src->rgb[((size_t)y * sw + x) * 3 + k] = 1.0f;
    const float border[3] = { 0, 0, 0 };
    g_autoptr(AgfRgbImage) out = agf_print_warp(src, H, ow, oh, border);
    double wx = 0, wy = 0, wsum = 0;
    for (int y = 0; y < oh; y++)
      for (int x = 0; x < ow; x++) {
        const double v = MAX(out->rgb[((size_t)y * ow + x) * 3] - 0.1, 0.0);
        wx += v * (x + 0.5), wy += v * (y + 0.5), wsum += v;
      }
    g_assert_cmpfloat(wsum, >, 0);
    g_assert_cmpfloat(fabs(wx / wsum - ow / 2.0), <, 0.5);
    g_assert_cmpfloat(fabs(wy / wsum - oh / 2.0), <, 0.5);
  }
  /* Different seeds, different warps. */
  double a[9], b[9];
  agf_print_warp_matrix(ow, oh, sw, sh, 0.04, 1, a);
  agf_print_warp_matrix(ow, oh, sw, sh, 0.04, 2, b);
  g_assert_false(memcmp(a, b, sizeof a) == 0);
}

static void test_tone_and_blur(void)
{
  g_autoptr(AgfRgbImage) img = sample_test_flat_image(8, 8, 0, 0, 0);
  img->rgb[0] = img->rgb[1] = img->rgb[2] = 1.0f;         /* white */
  img->rgb[3] = 1.0f, img->rgb[4] = 0.0f, img->rgb[5] = 0.0f; /* red */
  agf_print_tone(img, 0.1, 0.9, 0.5);
  g_assert_cmpfloat_with_epsilon(img->rgb[0], 0.9, 1e-6);
  g_assert_cmpfloat_with_epsilon(img->rgb[6], 0.1, 1e-6); /* black */
  /* Red's chroma halves: (1 - 0.299) / 2 above its luma, then scaled. */
  const double l = 0.299;
  g_assert_cmpfloat_with_epsilon(img->rgb[3], 0.1 + 0.8 * (l + 0.5 * (1 - l)),
                                 1e-6);
  /* Blur keeps a flat image and the mean; it lowers the variance. */
  g_autoptr(AgfRgbImage) noisy = sample_test_random_image(32, 32, 5);
  g_autoptr(AgfRgbImage) blurred = agf_rgb_image_copy(noisy);
  agf_print_blur(blurred, 1.5);
  double m0 = 0, m1 = 0, v0 = 0, v1 = 0;
  const int n = 32 * 32 * 3;
  for (int i = 0; i < n; i++)
    m0 += noisy->rgb[i], m1 += blurred->rgb[i];
  m0 /= n, m1 /= n;
  for (int i = 0; i < n; i++) {
    v0 += (noisy->rgb[i] - m0) * (noisy->rgb[i] - m0);
    v1 += (blurred->rgb[i] - m1) * (blurred->rgb[i] - m1);
  }
  g_assert_cmpfloat(fabs(m0 - m1), <, 0.01);
  g_assert_cmpfloat(v1, <, 0.25 * v0);
  g_autoptr(AgfRgbImage) flat =
    sample_test_flat_image(16, 16, 0.25f, 0.5f, 0.75f);
  agf_print_blur(flat, 2.0);
  for (int i = 0; i < 16 * 16; i++)
    g_assert_cmpfloat_with_epsilon(flat->rgb[i * 3 + 1], 0.5, 1e-5);
}

static void test_sensor_noise(void)
{
  g_autoptr(AgfRgbImage) a = sample_test_flat_image(32, 32, 0.5f, 0.5f, 0.5f);
  g_autoptr(AgfRgbImage) b = agf_rgb_image_copy(a);
  agf_print_sensor_noise(a, 0.01, 0.02, 7);
  agf_print_sensor_noise(b, 0.01, 0.02, 7);
  g_assert_true(sample_test_same_image(a, b));
  double var = 0;
  for (int i = 0; i < 32 * 32 * 3; i++)
    var += (a->rgb[i] - 0.5) * (a->rgb[i] - 0.5);
  var /= 32 * 32 * 3;
  const double want = 0.01 * 0.01 + 0.02 * 0.02 * 0.5;
  g_assert_cmpfloat(var, >, 0.7 * want);
  g_assert_cmpfloat(var, <, 1.3 * want);
}

/* Upscaling puts each source pixel's value at the centre of its block;
 * the paper multiplies per channel. */
static void test_upscale_paper(void)
{
  g_autoptr(AgfRgbImage) src = sample_test_random_image(8, 6, 21);
  g_autoptr(AgfRgbImage) up = agf_print_upscale(src, 3);
  g_assert_cmpint(up->width, ==, 24);
  g_assert_cmpint(up->height, ==, 18);
  for (int y = 0; y < 6; y++)
    for (int x = 0; x < 8; x++)
      for (int c = 0; c < 3; c++)
        g_assert_cmpfloat_with_epsilon(
          up->rgb[((3 * y + 1) * 24 + 3 * x + 1) * 3 + c],
          src->rgb[(y * 8 + x) * 3 + c], 1e-6);
  const float paper[3] = { 0.9f, 0.8f, 0.5f };
  g_autoptr(AgfRgbImage) tinted = agf_rgb_image_copy(src);
  agf_print_paper(tinted, paper);
  for (int i = 0; i < 8 * 6 * 3; i++)
    g_assert_cmpfloat_with_epsilon(tinted->rgb[i],
                                   src->rgb[i] * paper[i % 3], 1e-7);
}

void sample_test_add_print_attack(void)
{
  g_test_add_func("/sample/print/range", test_print_range);
  g_test_add_func("/sample/print/determinism", test_print_determinism);
  g_test_add_func("/sample/print/params", test_print_params_checked);
  g_test_add_func("/sample/print/halftone-spectrum", test_halftone_spectrum);
  g_test_add_func("/sample/print/warp-centre", test_warp_keeps_centre);
  g_test_add_func("/sample/print/tone-blur", test_tone_and_blur);
  g_test_add_func("/sample/print/upscale-paper", test_upscale_paper);
  g_test_add_func("/sample/print/sensor-noise", test_sensor_noise);
}
