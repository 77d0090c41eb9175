/* 2-D convolution: a straight GEMM for 1x1/stride-1/unpadded kernels, a
 * direct loop for depthwise (one input channel per group), otherwise
 * im2col + GEMM per group over bands of output rows, the bands spread over
 * the OpenMP threads (each with its own scratch and a single-threaded
 * BLAS, see cpu_blas.c). */
#include <string.h>
#include "cpu/cpu_internal.h"

/* Scratch budget of one im2col band, in floats (32 MiB). */
#define COL_BUDGET ((int64_t) 8 << 20)
/* A band's im2col columns are sized to stay in L2 (512 KiB) between being
 * written and the sgemm reading them, but at least BAND_MIN_COLS wide, so
 * that BLAS's repacking of the weights for every call stays cheap. */
#define BAND_FLOATS ((int64_t) 1 << 17)
#define BAND_MIN_COLS 256
/* Multiply-adds per thread below which a conv runs on one thread. */
#define PAR_MADDS ((int64_t) 1 << 18)
/* Output maps of at most this many pixels split over channels instead. */
#define SMALL_MAP 64

typedef AgfCpuConvShape ConvShape;

ConvShape
agf_cpu_conv_shape(const AgfConv2dParams *p, const int64_t *xs,
                   const int64_t *ws, int64_t ho, int64_t wo)
{
  ConvShape s = {
    .n = xs[0], .ci = xs[1], .h = xs[2], .w = xs[3],
    .co = ws[0], .kh = ws[2], .kw = ws[3], .ho = ho, .wo = wo,
    .sh = p->stride_h ? p->stride_h : 1, .sw = p->stride_w ? p->stride_w : 1,
    .pt = p->pad_top, .pl = p->pad_left,
    .dh = p->dil_h ? p->dil_h : 1, .dw = p->dil_w ? p->dil_w : 1,
    .groups = p->groups ? p->groups : 1,
  };
  return s;
}

/* Every output plane set to its channel's bias (or zero). */
static void
init_planes(float *y, const ConvShape *s, const float *bias)
{
  const int64_t hw = s->ho * s->wo, planes = s->n * s->co;
  for (int64_t pl = 0; pl < planes; pl++) {
    const float b = bias ? bias[pl % s->co] : 0.0f;
    for (int64_t i = 0; i < hw; i++)
      y[pl * hw + i] = b;
  }
}

void
agf_cpu_conv_valid_cols(const ConvShape *s, int64_t kx, int64_t *lo_out,
                        int64_t *hi_out)
{
  const int64_t off = kx * s->dw - s->pl;
  const int64_t lo = off >= 0 ? 0 : (-off + s->sw - 1) / s->sw;
  const int64_t hi = s->w - off <= 0 ? 0 : (s->w - off + s->sw - 1) / s->sw;
  *lo_out = MIN(lo, s->wo);
  *hi_out = CLAMP(hi, *lo_out, s->wo);
}

/* Columns of one output row accumulated at a time (a stack buffer). */
#define DW_CHUNK 256

/* Depthwise-style: each output channel reads one input channel. Row
 * segments times one tap at a time, so the inner loop is a branch-free
 * axpy that vectorizes; each output still sums its taps in (ky, kx) order
 * from zero before the bias is added, as a per-pixel loop would. */
static void
conv_direct(const float *x, const float *w, float *y, const ConvShape *s)
{
  const int64_t per_group = s->co / s->groups, planes = s->n * s->co;
  const int nt = agf_cpu_threads_for(planes * s->ho * s->wo * s->kh * s->kw,
                                     PAR_MADDS / 4);
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int64_t pl = 0; pl < planes; pl++) {
    const int64_t nn = pl / s->co, oc = pl % s->co, ic = oc / per_group;
    const float *xp = x + (nn * s->ci + ic) * s->h * s->w;
    const float *wp = w + oc * s->kh * s->kw;
    float *yp = y + pl * s->ho * s->wo;
    float acc[DW_CHUNK];
    for (int64_t oy = 0; oy < s->ho; oy++)
      for (int64_t ox0 = 0; ox0 < s->wo; ox0 += DW_CHUNK) {
        const int64_t cols = MIN(DW_CHUNK, s->wo - ox0);
        for (int64_t i = 0; i < cols; i++)
          acc[i] = 0.0f;
        for (int64_t ky = 0; ky < s->kh; ky++) {
          const int64_t iy = oy * s->sh - s->pt + ky * s->dh;
          if (iy < 0 || iy >= s->h)
            continue;
          const float *row = xp + iy * s->w;
          for (int64_t kx = 0; kx < s->kw; kx++) {
            const float wv = wp[ky * s->kw + kx];
            const int64_t off = kx * s->dw - s->pl;
            int64_t lo, hi;
            agf_cpu_conv_valid_cols(s, kx, &lo, &hi);
            lo = MAX(lo, ox0);
            hi = MIN(hi, ox0 + cols);
            if (hi <= lo)
              continue;
            const float *src = row + lo * s->sw + off;
            float *a = acc + (lo - ox0);
            if (s->sw == 1)
              for (int64_t i = 0; i < hi - lo; i++)
                a[i] += src[i] * wv;
            else
              for (int64_t i = 0; i < hi - lo; i++)
                a[i] += src[i * s->sw] * wv;
          }
        }
        float *yr = yp + oy * s->wo + ox0;
        for (int64_t i = 0; i < cols; i++)
          yr[i] += acc[i];
      }
  }
}

void
agf_cpu_im2col(const float *x, float *col, const ConvShape *s, int64_t c0,
               int64_t nc, int64_t oy0, int64_t rows)
{
  const int64_t krows = nc * s->kh * s->kw, cols = rows * s->wo;
  for (int64_t r = 0; r < krows; r++) {
    const int64_t c = c0 + r / (s->kh * s->kw);
    const int64_t ky = r / s->kw % s->kh, kx = r % s->kw;
    const float *xp = x + c * s->h * s->w;
    float *cp = col + r * cols;
    const int64_t off = kx * s->dw - s->pl;
    int64_t lo, hi;
    agf_cpu_conv_valid_cols(s, kx, &lo, &hi);
    for (int64_t oy = oy0; oy < oy0 + rows; oy++, cp += s->wo) {
      const int64_t iy = oy * s->sh - s->pt + ky * s->dh;
      if (iy < 0 || iy >= s->h) {
        memset(cp, 0, (size_t) s->wo * sizeof(float));
        continue;
      }
      /* The input of output column lo; kept in bounds when hi == lo. */
      const float *src = xp + iy * s->w + (hi > lo ? off + lo * s->sw : 0);
      memset(cp, 0, (size_t) lo * sizeof(float));
      if (s->sw == 1)
        memcpy(cp + lo, src, (size_t) (hi - lo) * sizeof(float));
      else
        for (int64_t ox = lo; ox < hi; ox++)
          cp[ox] = src[(ox - lo) * s->sw];
      memset(cp + hi, 0, (size_t) (s->wo - hi) * sizeof(float));
    }
  }
}

/* One band of output rows [oy0, oy0+rows) of group g of image nn: its
 * output set to the bias, im2col into col, one sgemm accumulating. */
static void
conv_band(const float *x, const float *w, const float *bias, float *y,
          const ConvShape *s, int64_t nn, int g, int64_t oy0, int64_t rows,
          float *col)
{
  const int64_t cig = s->ci / s->groups, cog = s->co / s->groups;
  const int64_t hw = s->ho * s->wo, kk = cig * s->kh * s->kw;
  const int64_t cols = rows * s->wo;
  float *yb = y + (nn * s->co + g * cog) * hw + oy0 * s->wo;
  for (int64_t oc = 0; oc < cog; oc++) {
    const float b = bias ? bias[g * cog + oc] : 0.0f;
    float *yp = yb + oc * hw;
    for (int64_t i = 0; i < cols; i++)
      yp[i] = b;
  }
  agf_cpu_im2col(x + nn * s->ci * s->h * s->w, col, s, g * cig, cig, oy0,
                 rows);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) cog,
              (int) cols, (int) kk, 1.0f, w + g * cog * kk, (int) kk, col,
              (int) cols, 1.0f, yb, (int) hw);
}

/* Small maps (the U-Net's 8x8 and 4x4 levels): row bands would give each
 * thread a few output columns and the whole weight matrix to stream, so
 * instead one im2col per image and a GEMM split over output channels
 * (agf_cpu_sgemm splits the longer side). */
static gboolean
conv_by_channels(const float *x, const float *w, const float *bias, float *y,
                 const ConvShape *s, GError **error)
{
  const int64_t cig = s->ci / s->groups, cog = s->co / s->groups;
  const int64_t hw = s->ho * s->wo, kk = cig * s->kh * s->kw;
  float *col = agf_cpu_scratch((size_t) (kk * hw), "conv2d im2col", error);
  if (col == NULL)
    return FALSE;
  init_planes(y, s, bias);
  for (int64_t nn = 0; nn < s->n; nn++)
    for (int g = 0; g < s->groups; g++) {
      agf_cpu_im2col(x + nn * s->ci * s->h * s->w, col, s, g * cig, cig, 0,
                     s->ho);
      agf_cpu_sgemm(CblasNoTrans, CblasNoTrans, (int) cog, (int) hw, (int) kk,
                    1.0f, w + g * cog * kk, (int) kk, col, (int) hw, 1.0f,
                    y + (nn * s->co + g * cog) * hw, (int) hw);
    }
  g_free(col);
  return TRUE;
}

/* im2col + GEMM over bands of output rows, the bands spread over threads. */
static gboolean
conv_banded(const float *x, const float *w, const float *bias, float *y,
            const ConvShape *s, GError **error)
{
  const int64_t cig = s->ci / s->groups, kk = cig * s->kh * s->kw;
  const int64_t images = s->n * s->groups;
  const int64_t madds = s->n * s->co * s->ho * s->wo * kk;
  int64_t band = CLAMP(MAX(BAND_FLOATS / kk, BAND_MIN_COLS) / s->wo, 1, s->ho);
  band = MIN(band, MAX(COL_BUDGET / MAX(kk * s->wo, 1), 1));
  /* At least one band per core when there is work enough (PAR_MADDS per
   * band). Never from the team size: a band's sgemm rounds by its own
   * width (cpu_blas.c says why). */
  const int64_t want = CLAMP(madds / PAR_MADDS, 1, agf_cpu_split_cap());
  const int64_t bands_needed = (want + images - 1) / images;
  band = MIN(band, MAX((s->ho + bands_needed - 1) / bands_needed, 1));
  const int64_t per_image = (s->ho + band - 1) / band, tasks = images * per_image;
  const int nt = (int) MIN(agf_cpu_threads_for(madds, PAR_MADDS), tasks);
  gboolean oom = FALSE;
  AgfCpuBlasSerial serial;

  agf_cpu_blas_serial_begin(&serial);
#pragma omp parallel num_threads(nt)
  {
    float *col = g_try_malloc((size_t) (kk * band * s->wo) * sizeof(float));
    if (col == NULL) {
#pragma omp atomic write
      oom = TRUE;
    }
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < tasks; t++) {
      if (col == NULL)
        continue;
      const int64_t img = t / per_image, oy0 = t % per_image * band;
      conv_band(x, w, bias, y, s, img / s->groups, (int) (img % s->groups),
                oy0, MIN(band, s->ho - oy0), col);
    }
    g_free(col);
  }
  agf_cpu_blas_serial_end(&serial);
  if (oom) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY,
                "could not allocate %" G_GINT64_FORMAT " MiB of conv2d im2col "
                "scratch per thread: use smaller inputs or free other tensors",
                (kk * band * s->wo * (int64_t) sizeof(float)) >> 20);
    return FALSE;
  }
  return TRUE;
}

gboolean
agf_cpu_conv2d(const AgfOp *op, GError **error)
{
  const ConvShape s = agf_cpu_conv_shape(&op->p.conv, op->in[0]->shape,
                                        op->in[1]->shape, op->out->shape[2],
                                        op->out->shape[3]);
  const float *x = agf_cpu_f32(op->in[0]), *w = agf_cpu_f32(op->in[1]);
  const float *bias = op->n_in > 2 && op->in[2] ? agf_cpu_f32(op->in[2]) : NULL;
  float *y = agf_cpu_f32(op->out);
  const int64_t cig = s.ci / s.groups, cog = s.co / s.groups;
  const int64_t hw = s.ho * s.wo, kk = cig * s.kh * s.kw;

  if (kk * MAX(hw, cog) > G_MAXINT) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                "conv2d with %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT
                " im2col entries exceeds the BLAS index range: tile the input",
                kk, hw);
    return FALSE;
  }
  if (hw == 0 || kk == 0) {
    init_planes(y, &s, bias);
    return TRUE;
  }

  /* Depthwise: too little work per channel for a GEMM. A single input
   * channel without groups still goes through im2col + GEMM below. */
  if (cig == 1 && s.groups > 1) {
    init_planes(y, &s, bias);
    conv_direct(x, w, y, &s);
    return TRUE;
  }
  if (s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.pt == 0 &&
      s.pl == 0 && s.ho == s.h && s.wo == s.w) {
    init_planes(y, &s, bias);
    for (int64_t nn = 0; nn < s.n; nn++)
      for (int g = 0; g < s.groups; g++)
        agf_cpu_sgemm(CblasNoTrans, CblasNoTrans, (int) cog, (int) hw,
                      (int) cig, 1.0f, w + g * cog * kk, (int) kk,
                      x + (nn * s.ci + g * cig) * hw, (int) hw, 1.0f,
                      y + (nn * s.co + g * cog) * hw, (int) hw);
    return TRUE;
  }
  if (hw <= SMALL_MAP && cog >= hw && kk * hw <= COL_BUDGET)
    return conv_by_channels(x, w, bias, y, &s, error);
  return conv_banded(x, w, bias, y, &s, error);
}
