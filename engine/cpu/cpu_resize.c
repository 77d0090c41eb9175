/* Resampling: nearest upsampling, bilinear resize (PyTorch's
 * F.interpolate(mode='bilinear', antialias=False)) and affine warp. */
#include <math.h>
#include <string.h>
#include "cpu/cpu_internal.h"

gboolean
agf_cpu_upsample_nearest(const AgfOp *op, GError **error)
{
  (void) error;
  const AgfTensor *tx = op->in[0];
  const float *x = agf_cpu_f32(tx);
  float *y = agf_cpu_f32(op->out);
  const int64_t planes = tx->shape[0] * tx->shape[1];
  const int64_t h = tx->shape[2], w = tx->shape[3];
  const int64_t ho = op->out->shape[2], wo = op->out->shape[3];
  const int64_t fh = h ? ho / h : 1, fw = w ? wo / w : 1;

  /* Whole-factor widening copies each input value fw times, and each
   * output row repeated from the one above when it maps to the same input
   * row: no division per element (4x faster on the VAE decoder). */
  const gboolean whole = wo == w * fw;
#pragma omp parallel for schedule(static) if (planes * ho * wo > 32768)
  for (int64_t pl = 0; pl < planes; pl++)
    for (int64_t oy = 0; oy < ho; oy++) {
      const float *row = x + (pl * h + oy / fh) * w;
      float *yr = y + (pl * ho + oy) * wo;
      if (oy > 0 && oy / fh == (oy - 1) / fh)
        memcpy(yr, yr - wo, (size_t) wo * sizeof(float));
      else if (whole && fw == 2)
        for (int64_t ix = 0; ix < w; ix++)
          yr[2 * ix] = yr[2 * ix + 1] = row[ix];
      else if (whole)
        for (int64_t ix = 0; ix < w; ix++)
          for (int64_t f = 0; f < fw; f++)
            yr[ix * fw + f] = row[ix];
      else
        for (int64_t ox = 0; ox < wo; ox++)
          yr[ox] = row[ox / fw];
    }
  return TRUE;
}

/* PyTorch's area_pixel_compute_source_index + the neighbour/weight split
 * of upsample_bilinear2d. */
static void
source_taps(int64_t in, int64_t out, gboolean align_corners, int64_t *i0,
            int64_t *i1, float *frac)
{
  const float scale = align_corners
                          ? (out > 1 ? (float) (in - 1) / (float) (out - 1) : 0.0f)
                          : (float) in / (float) out;
  for (int64_t o = 0; o < out; o++) {
    float src = align_corners ? scale * (float) o
                              : scale * ((float) o + 0.5f) - 0.5f;
    if (src < 0.0f)
      src = 0.0f;
    const int64_t lo = MIN((int64_t) src, in - 1);
    i0[o] = lo;
    i1[o] = lo < in - 1 ? lo + 1 : lo;
    frac[o] = src - (float) lo;
  }
}

gboolean
agf_cpu_resize_bilinear(const AgfOp *op, GError **error)
{
  const AgfResizeParams *p = &op->p.resize;
  const AgfTensor *tx = op->in[0];
  const float *x = agf_cpu_f32(tx);
  float *y = agf_cpu_f32(op->out);
  const int64_t planes = tx->shape[0] * tx->shape[1];
  const int64_t h = tx->shape[2], w = tx->shape[3];
  const int64_t ho = op->out->shape[2], wo = op->out->shape[3];
  if (planes * ho * wo == 0)
    return TRUE;

  int64_t *idx = g_try_malloc(sizeof(int64_t) * 2 * (size_t) (ho + wo));
  float *frac = g_try_malloc(sizeof(float) * (size_t) (ho + wo));
  if (idx == NULL || frac == NULL) {
    g_free(idx);
    g_free(frac);
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY,
                "out of host memory for a bilinear resize to %" G_GINT64_FORMAT
                "x%" G_GINT64_FORMAT, ho, wo);
    return FALSE;
  }
  int64_t *y0 = idx, *y1 = idx + ho, *x0 = idx + 2 * ho, *x1 = idx + 2 * ho + wo;
  float *fy = frac, *fx = frac + ho;
  source_taps(h, ho, p->align_corners, y0, y1, fy);
  source_taps(w, wo, p->align_corners, x0, x1, fx);

#pragma omp parallel for schedule(static) if (planes * ho * wo > 16384)
  for (int64_t pl = 0; pl < planes; pl++) {
    const float *xp = x + pl * h * w;
    for (int64_t oy = 0; oy < ho; oy++) {
      const float *r0 = xp + y0[oy] * w, *r1 = xp + y1[oy] * w;
      const float wy1 = fy[oy], wy0 = 1.0f - wy1;
      float *yr = y + (pl * ho + oy) * wo;
      for (int64_t ox = 0; ox < wo; ox++) {
        const float wx1 = fx[ox], wx0 = 1.0f - wx1;
        yr[ox] = wy0 * (wx0 * r0[x0[ox]] + wx1 * r0[x1[ox]]) +
                 wy1 * (wx0 * r1[x0[ox]] + wx1 * r1[x1[ox]]);
      }
    }
  }
  g_free(idx);
  g_free(frac);
  return TRUE;
}

gboolean
agf_cpu_affine_warp(const AgfOp *op, GError **error)
{
  (void) error;
  const AgfAffineWarpParams *p = &op->p.warp;
  const AgfTensor *tx = op->in[0];
  const float *x = agf_cpu_f32(tx), *mat = agf_cpu_f32(op->in[1]);
  float *y = agf_cpu_f32(op->out);
  const int64_t n = tx->shape[0], c = tx->shape[1];
  const int64_t h = tx->shape[2], w = tx->shape[3];
  const int64_t ho = op->out->shape[2], wo = op->out->shape[3];
  const float border = p->border;

#pragma omp parallel for schedule(static) if (n * c * ho * wo > 16384)
  for (int64_t pl = 0; pl < n * c; pl++) {
    const float *m = mat + (pl / c) * 6;
    const float *xp = x + pl * h * w;
    float *yp = y + pl * ho * wo;
    for (int64_t oy = 0; oy < ho; oy++)
      for (int64_t ox = 0; ox < wo; ox++) {
        const float sx = m[0] * (float) ox + m[1] * (float) oy + m[2];
        const float sy = m[3] * (float) ox + m[4] * (float) oy + m[5];
        const float fx0 = floorf(sx), fy0 = floorf(sy);
        const float ax = sx - fx0, ay = sy - fy0;
        /* Each of the four taps outside the image reads the border value. */
        float tap[4];
        for (int t = 0; t < 4; t++) {
          const float ix = fx0 + (float) (t & 1), iy = fy0 + (float) (t >> 1);
          tap[t] = ix >= 0.0f && ix < (float) w && iy >= 0.0f && iy < (float) h
                       ? xp[(int64_t) iy * w + (int64_t) ix]
                       : border;
        }
        yp[oy * wo + ox] = (1.0f - ay) * ((1.0f - ax) * tap[0] + ax * tap[1]) +
                           ay * ((1.0f - ax) * tap[2] + ax * tap[3]);
      }
  }
  return TRUE;
}
