/* Conv2d gradients through the forward's im2col layout (cpu_conv2d.c):
 *   data:   col = W_g^T dY_g (one GEMM per image, group and band of output
 *           rows), scattered back into dx by col2im;
 *   filter: dW_g += dY_g im2col(x)^T, one GEMM per image, group and band.
 * Depthwise convs (one input channel per group) are direct loops instead:
 * their GEMMs would be a few rows thin. The GEMMs split over our OpenMP
 * threads with a single-threaded BLAS (agf_cpu_sgemm, cpu_blas.c), and the
 * images are walked in a fixed order, so results do not depend on the
 * thread count. */
#include <string.h>
#include "cpu/cpu_internal.h"

/* Scratch budget of one band of columns, in floats (32 MiB). */
#define COL_BUDGET ((int64_t) 8 << 20)
/* Multiply-adds per thread below which a loop stays on one thread. */
#define PAR_MADDS ((int64_t) 1 << 18)

static gboolean
check_blas_range(int64_t kk, int64_t cols, GError **error)
{
  if (kk * cols <= G_MAXINT)
    return TRUE;
  g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
              "conv2d backward with %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT
              " im2col entries exceeds the BLAS index range: tile the input",
              kk, cols);
  return FALSE;
}

/* Output rows per band so that a band's columns fit the budget. */
static int64_t
band_rows(const AgfCpuConvShape *s, int64_t kk)
{
  return CLAMP(COL_BUDGET / MAX(kk * s->wo, 1), 1, s->ho);
}

/* dx[c0 + r / (kh*kw)] += the columns of rows [oy0, oy0+rows): the
 * transpose of agf_cpu_im2col, over channels [c0, c0+nc) of one image,
 * parallel over channels (each writes only its own plane). */
static void
col2im(const float *col, float *dx, const AgfCpuConvShape *s, int64_t c0,
       int64_t nc, int64_t oy0, int64_t rows)
{
  const int64_t taps = s->kh * s->kw, cols = rows * s->wo;
  const int nt = agf_cpu_threads_for(nc * taps * cols, PAR_MADDS / 4);
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int64_t c = 0; c < nc; c++) {
    float *xp = dx + (c0 + c) * s->h * s->w;
    for (int64_t t = 0; t < taps; t++) {
      const int64_t ky = t / s->kw, kx = t % s->kw;
      const float *cp = col + (c * taps + t) * cols;
      const int64_t off = kx * s->dw - s->pl;
      int64_t lo, hi;
      agf_cpu_conv_valid_cols(s, kx, &lo, &hi);
      for (int64_t oy = oy0; oy < oy0 + rows; oy++, cp += s->wo) {
        const int64_t iy = oy * s->sh - s->pt + ky * s->dh;
        if (iy < 0 || iy >= s->h || hi <= lo)
          continue;
        float *dst = xp + iy * s->w + off + lo * s->sw;
        if (s->sw == 1)
          for (int64_t ox = lo; ox < hi; ox++)
            dst[ox - lo] += cp[ox];
        else
          for (int64_t ox = lo; ox < hi; ox++)
            dst[(ox - lo) * s->sw] += cp[ox];
      }
    }
  }
}

/* Depthwise data gradient: each input plane gathers from its group's
 * output channels, tap by tap (planes in parallel, no write conflicts). */
static void
data_direct(const float *dy, const float *w, float *dx,
            const AgfCpuConvShape *s)
{
  const int64_t cog = s->co / s->groups, planes = s->n * s->ci;
  const int64_t madds = planes * cog * s->ho * s->wo * s->kh * s->kw;
  const int nt = agf_cpu_threads_for(madds, PAR_MADDS / 4);
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int64_t pl = 0; pl < planes; pl++) {
    const int64_t nn = pl / s->ci, c = pl % s->ci;
    float *xp = dx + pl * s->h * s->w;
    for (int64_t j = 0; j < cog; j++) {
      const int64_t oc = c * cog + j;
      const float *gp = dy + (nn * s->co + oc) * s->ho * s->wo;
      const float *wp = w + oc * s->kh * s->kw;
      for (int64_t ky = 0; ky < s->kh; ky++)
        for (int64_t kx = 0; kx < s->kw; kx++) {
          const float wv = wp[ky * s->kw + kx];
          const int64_t off = kx * s->dw - s->pl;
          int64_t lo, hi;
          agf_cpu_conv_valid_cols(s, kx, &lo, &hi);
          for (int64_t oy = 0; oy < s->ho && hi > lo; oy++) {
            const int64_t iy = oy * s->sh - s->pt + ky * s->dh;
            if (iy < 0 || iy >= s->h)
              continue;
            float *dst = xp + iy * s->w + off + lo * s->sw;
            const float *src = gp + oy * s->wo;
            for (int64_t ox = lo; ox < hi; ox++)
              dst[(ox - lo) * s->sw] += src[ox] * wv;
          }
        }
    }
  }
}

gboolean
agf_cpu_conv2d_bwd_data(const AgfOp *op, GError **error)
{
  const AgfTensor *tdy = op->in[0], *tw = op->in[1];
  const AgfCpuConvShape s = agf_cpu_conv_shape(&op->p.conv_bwd.conv,
                                               op->out->shape, tw->shape,
                                               tdy->shape[2], tdy->shape[3]);
  const float *dy = agf_cpu_f32(tdy), *w = agf_cpu_f32(tw);
  float *dx = agf_cpu_f32(op->out);
  const int64_t cig = s.ci / s.groups, cog = s.co / s.groups;
  const int64_t hw = s.ho * s.wo, kk = cig * s.kh * s.kw;

  memset(dx, 0, (size_t) agf_tensor_numel(op->out) * sizeof(float));
  if (hw == 0 || kk == 0 || cog == 0)
    return TRUE;
  if (cig == 1 && s.groups > 1) {
    data_direct(dy, w, dx, &s);
    return TRUE;
  }
  const int64_t band = band_rows(&s, kk);
  if (!check_blas_range(kk, MAX(band * s.wo, cog), error))
    return FALSE;
  const gboolean pointwise = s.kh == 1 && s.kw == 1 && s.sh == 1 &&
                             s.sw == 1 && s.pt == 0 && s.pl == 0 &&
                             s.ho == s.h && s.wo == s.w;
  float *col = pointwise ? NULL
                         : agf_cpu_scratch((size_t) (kk * band * s.wo),
                                           "conv2d backward columns", error);
  if (!pointwise && col == NULL)
    return FALSE;
  for (int64_t nn = 0; nn < s.n; nn++)
    for (int g = 0; g < s.groups; g++) {
      const float *wg = w + g * cog * kk;
      const float *gy = dy + (nn * s.co + g * cog) * hw;
      float *gx = dx + (nn * s.ci + g * cig) * s.h * s.w;
      if (pointwise) { /* the columns are dx itself */
        agf_cpu_sgemm(CblasTrans, CblasNoTrans, (int) cig, (int) hw,
                      (int) cog, 1.0f, wg, (int) kk, gy, (int) hw, 0.0f, gx,
                      (int) hw);
        continue;
      }
      for (int64_t oy0 = 0; oy0 < s.ho; oy0 += band) {
        const int64_t rows = MIN(band, s.ho - oy0), cols = rows * s.wo;
        agf_cpu_sgemm(CblasTrans, CblasNoTrans, (int) kk, (int) cols,
                      (int) cog, 1.0f, wg, (int) kk, gy + oy0 * s.wo,
                      (int) hw, 0.0f, col, (int) cols);
        col2im(col, gx, &s, 0, cig, oy0, rows);
      }
    }
  g_free(col);
  return TRUE;
}

/* Depthwise filter gradient: each weight tap is a dot product of an
 * output plane with a shifted input plane (weights in parallel). */
static void
filter_direct(const float *x, const float *dy, float *dw,
              const AgfCpuConvShape *s)
{
  const int64_t cog = s->co / s->groups, taps = s->kh * s->kw;
  const int nt = agf_cpu_threads_for(s->n * s->co * s->ho * s->wo * taps,
                                     PAR_MADDS / 4);
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int64_t e = 0; e < s->co * taps; e++) {
    const int64_t oc = e / taps, ky = e % taps / s->kw, kx = e % s->kw;
    const int64_t c = oc / cog, off = kx * s->dw - s->pl;
    int64_t lo, hi;
    agf_cpu_conv_valid_cols(s, kx, &lo, &hi);
    double acc = 0.0;
    for (int64_t nn = 0; nn < s->n && hi > lo; nn++) {
      const float *xp = x + (nn * s->ci + c) * s->h * s->w;
      const float *gp = dy + (nn * s->co + oc) * s->ho * s->wo;
      for (int64_t oy = 0; oy < s->ho; oy++) {
        const int64_t iy = oy * s->sh - s->pt + ky * s->dh;
        if (iy < 0 || iy >= s->h)
          continue;
        const float *src = xp + iy * s->w + off + lo * s->sw;
        const float *g = gp + oy * s->wo;
        float row = 0.0f;
        for (int64_t ox = lo; ox < hi; ox++)
          row += src[(ox - lo) * s->sw] * g[ox];
        acc += row;
      }
    }
    dw[e] = (float) acc;
  }
}

gboolean
agf_cpu_conv2d_bwd_filter(const AgfOp *op, GError **error)
{
  const AgfTensor *tx = op->in[0], *tdy = op->in[1];
  const AgfCpuConvShape s = agf_cpu_conv_shape(&op->p.conv_bwd.conv,
                                               tx->shape, op->out->shape,
                                               tdy->shape[2], tdy->shape[3]);
  const float *x = agf_cpu_f32(tx), *dy = agf_cpu_f32(tdy);
  float *dw = agf_cpu_f32(op->out);
  const int64_t cig = s.ci / s.groups, cog = s.co / s.groups;
  const int64_t hw = s.ho * s.wo, kk = cig * s.kh * s.kw;

  memset(dw, 0, (size_t) agf_tensor_numel(op->out) * sizeof(float));
  if (hw == 0 || kk == 0 || cog == 0 || s.n == 0)
    return TRUE;
  if (cig == 1 && s.groups > 1) {
    filter_direct(x, dy, dw, &s);
    return TRUE;
  }
  const int64_t band = band_rows(&s, kk);
  if (!check_blas_range(kk, MAX(band * s.wo, cog), error))
    return FALSE;
  float *col = agf_cpu_scratch((size_t) (kk * band * s.wo),
                               "conv2d backward columns", error);
  if (col == NULL)
    return FALSE;
  for (int64_t nn = 0; nn < s.n; nn++)
    for (int g = 0; g < s.groups; g++)
      for (int64_t oy0 = 0; oy0 < s.ho; oy0 += band) {
        const int64_t rows = MIN(band, s.ho - oy0), cols = rows * s.wo;
        const float *xn = x + nn * s.ci * s.h * s.w;
        /* im2col split over channels: each thread fills its own rows. */
        const int nt = agf_cpu_threads_for(kk * cols, PAR_MADDS / 4);
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int64_t c = 0; c < cig; c++)
          agf_cpu_im2col(xn, col + c * s.kh * s.kw * cols, &s, g * cig + c, 1,
                         oy0, rows);
        agf_cpu_sgemm(CblasNoTrans, CblasTrans, (int) cog, (int) kk,
                      (int) cols, 1.0f,
                      dy + (nn * s.co + g * cog) * hw + oy0 * s.wo, (int) hw,
                      col, (int) cols, 1.0f, dw + g * cog * kk, (int) kk);
      }
  g_free(col);
  return TRUE;
}
