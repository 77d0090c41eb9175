/* Max / average pooling with per-side padding, and global average pooling. */
#include <math.h>
#include "cpu/cpu_internal.h"
#include "cpu/cpu_math.h"

gboolean
agf_cpu_pool2d(const AgfOp *op, GError **error)
{
  (void) error;
  const AgfPool2dParams *p = &op->p.pool;
  const AgfTensor *tx = op->in[0];
  const float *x = agf_cpu_f32(tx);
  float *y = agf_cpu_f32(op->out);
  const int64_t planes = tx->shape[0] * tx->shape[1];
  const int64_t h = tx->shape[2], w = tx->shape[3];
  const int64_t ho = op->out->shape[2], wo = op->out->shape[3];
  const int sh = p->stride_h > 0 ? p->stride_h : 1;
  const int sw = p->stride_w > 0 ? p->stride_w : 1;
  const gboolean is_max = p->kind == AGF_POOL_MAX;
  const float full = (float) p->kernel_h * (float) p->kernel_w;

#pragma omp parallel for schedule(static) if (planes * ho * wo > 16384)
  for (int64_t pl = 0; pl < planes; pl++) {
    const float *xp = x + pl * h * w;
    float *yp = y + pl * ho * wo;
    for (int64_t oy = 0; oy < ho; oy++) {
      const int64_t y0 = oy * sh - p->pad_top;
      const int64_t ya = MAX(y0, 0), yb = MIN(y0 + p->kernel_h, h);
      for (int64_t ox = 0; ox < wo; ox++) {
        const int64_t x0 = ox * sw - p->pad_left;
        const int64_t xa = MAX(x0, 0), xb = MIN(x0 + p->kernel_w, w);
        float acc = is_max ? -INFINITY : 0.0f;
        /* A compare-select, not fmaxf: the same result (NaNs skipped, acc
         * never NaN) without a libm call per element. */
        if (is_max)
          for (int64_t iy = ya; iy < yb; iy++)
            for (int64_t ix = xa; ix < xb; ix++) {
              const float v = xp[iy * w + ix];
              acc = v > acc ? v : acc;
            }
        else
          for (int64_t iy = ya; iy < yb; iy++)
            for (int64_t ix = xa; ix < xb; ix++)
              acc += xp[iy * w + ix];
        if (!is_max) {
          const int64_t covered = MAX(yb - ya, 0) * MAX(xb - xa, 0);
          const float div = p->count_include_pad ? full : (float) covered;
          acc = div > 0.0f ? acc / div : 0.0f;
        }
        yp[oy * wo + ox] = acc;
      }
    }
  }
  return TRUE;
}

gboolean
agf_cpu_global_avg_pool(const AgfOp *op, GError **error)
{
  (void) error;
  const AgfTensor *tx = op->in[0];
  const float *x = agf_cpu_f32(tx);
  float *y = agf_cpu_f32(op->out);
  const int64_t planes = tx->shape[0] * tx->shape[1];
  const int64_t hw = agf_cpu_dims(tx, 2, tx->ndim);

#pragma omp parallel for schedule(static) if (planes * hw > 32768)
  for (int64_t pl = 0; pl < planes; pl++) {
    double sum, sq;
    agf_cpu_sums(x + pl * hw, hw, 0.0f, &sum, &sq);
    y[pl] = hw ? (float) (sum / (double) hw) : 0.0f;
  }
  return TRUE;
}
