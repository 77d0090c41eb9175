/* POOL2D_BWD: the forward's windows (cpu_pool.c) walked again, each output
 * gradient sent to its window's first maximum in scan order (max; the
 * forward's compare keeps the first of equal values and skips NaNs) or
 * spread over the window with the forward's divisor (avg). Planes are
 * independent, so they run in parallel without write conflicts. */
#include <math.h>
#include <string.h>
#include "cpu/cpu_internal.h"

gboolean
agf_cpu_pool2d_bwd(const AgfOp *op, GError **error)
{
  (void) error;
  const AgfPool2dBwdParams *p = &op->p.pool_bwd;
  const AgfTensor *tx = op->in[0], *tdy = op->in[1];
  const float *x = agf_cpu_f32(tx), *dy = agf_cpu_f32(tdy);
  float *dx = agf_cpu_f32(op->out);
  const int64_t planes = tx->shape[0] * tx->shape[1];
  const int64_t h = tx->shape[2], w = tx->shape[3];
  const int64_t ho = tdy->shape[2], wo = tdy->shape[3];
  const int sh = p->stride_h > 0 ? p->stride_h : 1;
  const int sw = p->stride_w > 0 ? p->stride_w : 1;
  const gboolean is_max = p->kind == AGF_POOL_MAX;
  const float full = (float) p->kernel_h * (float) p->kernel_w;

  memset(dx, 0, (size_t) agf_tensor_numel(op->out) * sizeof(float));
#pragma omp parallel for schedule(static) \
    if (planes * ho * wo * p->kernel_h * p->kernel_w > 65536)
  for (int64_t pl = 0; pl < planes; pl++) {
    const float *xp = x + pl * h * w, *gp = dy + pl * ho * wo;
    float *dp = dx + pl * h * w;
    for (int64_t oy = 0; oy < ho; oy++) {
      const int64_t y0 = oy * sh - p->pad_top;
      const int64_t ya = MAX(y0, 0), yb = MIN(y0 + p->kernel_h, h);
      for (int64_t ox = 0; ox < wo; ox++) {
        const int64_t x0 = ox * sw - p->pad_left;
        const int64_t xa = MAX(x0, 0), xb = MIN(x0 + p->kernel_w, w);
        const float g = gp[oy * wo + ox];
        if (yb <= ya || xb <= xa)
          continue; /* a window wholly in the padding */
        if (is_max) {
          /* The first element when none beats -inf (as PyTorch). */
          int64_t at = ya * w + xa;
          float best = -INFINITY;
          for (int64_t iy = ya; iy < yb; iy++)
            for (int64_t ix = xa; ix < xb; ix++)
              if (xp[iy * w + ix] > best) {
                best = xp[iy * w + ix];
                at = iy * w + ix;
              }
          dp[at] += g;
        } else {
          const int64_t covered = (yb - ya) * (xb - xa);
          const float v = g / (p->count_include_pad ? full : (float) covered);
          for (int64_t iy = ya; iy < yb; iy++)
            for (int64_t ix = xa; ix < xb; ix++)
              dp[iy * w + ix] += v;
        }
      }
    }
  }
  return TRUE;
}
