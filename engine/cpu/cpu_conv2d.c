/* 2-D convolution: a straight GEMM for 1x1/stride-1/unpadded kernels, a
 * direct loop for depthwise (one input channel per group), otherwise
 * im2col + GEMM per group over bands of output rows (bounded scratch). */
#include <cblas.h>
#include <string.h>
#include "cpu/cpu_internal.h"

/* Scratch budget of one im2col band, in floats (32 MiB). */
#define COL_BUDGET ((int64_t) 8 << 20)

typedef struct {
  int64_t n, ci, h, w, co, ho, wo, kh, kw;
  int sh, sw, pt, pl, dh, dw, groups;
} ConvShape;

static ConvShape
conv_shape(const AgfOp *op)
{
  const AgfConv2dParams *p = &op->p.conv;
  const AgfTensor *x = op->in[0], *w = op->in[1], *y = op->out;
  ConvShape s = {
    .n = x->shape[0], .ci = x->shape[1], .h = x->shape[2], .w = x->shape[3],
    .co = w->shape[0], .kh = w->shape[2], .kw = w->shape[3],
    .ho = y->shape[2], .wo = y->shape[3],
    .sh = p->stride_h ? p->stride_h : 1, .sw = p->stride_w ? p->stride_w : 1,
    .pt = p->pad_top, .pl = p->pad_left,
    .dh = p->dil_h ? p->dil_h : 1, .dw = p->dil_w ? p->dil_w : 1,
    .groups = p->groups ? p->groups : 1,
  };
  return s;
}

/* Every output plane set to its channel's bias (or zero). This and
 * im2col are memory-bound and run serially: an OpenMP region right before
 * a BLAS call leaves its workers spinning on the cores that OpenBLAS's own
 * threads need (measured: a 1x1 conv ran 10x slower than its sgemm). */
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

/* Depthwise-style: each output channel reads one input channel. */
static void
conv_direct(const float *x, const float *w, float *y, const ConvShape *s)
{
  const int64_t per_group = s->co / s->groups, planes = s->n * s->co;
#pragma omp parallel for schedule(static)
  for (int64_t pl = 0; pl < planes; pl++) {
    const int64_t nn = pl / s->co, oc = pl % s->co, ic = oc / per_group;
    const float *xp = x + (nn * s->ci + ic) * s->h * s->w;
    const float *wp = w + oc * s->kh * s->kw;
    float *yp = y + pl * s->ho * s->wo;
    for (int64_t oy = 0; oy < s->ho; oy++)
      for (int64_t ox = 0; ox < s->wo; ox++) {
        float acc = 0.0f;
        for (int64_t ky = 0; ky < s->kh; ky++) {
          const int64_t iy = oy * s->sh - s->pt + ky * s->dh;
          if (iy < 0 || iy >= s->h)
            continue;
          for (int64_t kx = 0; kx < s->kw; kx++) {
            const int64_t ix = ox * s->sw - s->pl + kx * s->dw;
            if (ix >= 0 && ix < s->w)
              acc += xp[iy * s->w + ix] * wp[ky * s->kw + kx];
          }
        }
        yp[oy * s->wo + ox] += acc;
      }
  }
}

/* col[(c*kh + ky)*kw + kx][(oy - oy0)*wo + ox] for channels [c0, c0+nc)
 * and output rows [oy0, oy0+rows) of one image. */
static void
im2col(const float *x, float *col, const ConvShape *s, int64_t c0, int64_t nc,
       int64_t oy0, int64_t rows)
{
  const int64_t krows = nc * s->kh * s->kw, cols = rows * s->wo;
  for (int64_t r = 0; r < krows; r++) {
    const int64_t c = c0 + r / (s->kh * s->kw);
    const int64_t ky = r / s->kw % s->kh, kx = r % s->kw;
    const float *xp = x + c * s->h * s->w;
    float *cp = col + r * cols;
    /* Output columns whose input column is inside the image. */
    const int64_t off = kx * s->dw - s->pl;
    int64_t lo = off >= 0 ? 0 : (-off + s->sw - 1) / s->sw;
    int64_t hi = s->w - off <= 0 ? 0 : (s->w - off + s->sw - 1) / s->sw;
    lo = MIN(lo, s->wo);
    hi = CLAMP(hi, lo, s->wo);
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

gboolean
agf_cpu_conv2d(const AgfOp *op, GError **error)
{
  const ConvShape s = conv_shape(op);
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
  init_planes(y, &s, bias);
  if (hw == 0 || kk == 0)
    return TRUE;

  /* Depthwise: too little work per channel for a GEMM. A single input
   * channel without groups still goes through im2col + GEMM below. */
  if (cig == 1 && s.groups > 1) {
    conv_direct(x, w, y, &s);
    return TRUE;
  }
  if (s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.pt == 0 &&
      s.pl == 0 && s.ho == s.h && s.wo == s.w) {
    for (int64_t nn = 0; nn < s.n; nn++)
      for (int g = 0; g < s.groups; g++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) cog,
                    (int) hw, (int) cig, 1.0f, w + g * cog * kk, (int) kk,
                    x + (nn * s.ci + g * cig) * hw, (int) hw, 1.0f,
                    y + (nn * s.co + g * cog) * hw, (int) hw);
    return TRUE;
  }

  /* Bands of output rows small enough for the scratch budget. */
  const int64_t band = CLAMP(COL_BUDGET / MAX(kk * s.wo, 1), 1, s.ho);
  float *col = agf_cpu_scratch((size_t) (kk * band * s.wo), "conv2d im2col",
                               error);
  if (col == NULL)
    return FALSE;
  for (int64_t nn = 0; nn < s.n; nn++) {
    const float *xn = x + nn * s.ci * s.h * s.w;
    for (int g = 0; g < s.groups; g++) {
      float *yg = y + (nn * s.co + g * cog) * hw;
      for (int64_t oy0 = 0; oy0 < s.ho; oy0 += band) {
        const int64_t rows = MIN(band, s.ho - oy0), cols = rows * s.wo;
        im2col(xn, col, &s, g * cig, cig, oy0, rows);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) cog,
                    (int) cols, (int) kk, 1.0f, w + g * cog * kk, (int) kk,
                    col, (int) cols, 1.0f, yg + oy0 * s.wo, (int) hw);
      }
    }
  }
  g_free(col);
  return TRUE;
}
