/* Softmax over the last dim, shifted by the row maximum. */
#include <math.h>
#include "cpu/cpu_internal.h"
#include "cpu/cpu_math.h"

gboolean
agf_cpu_softmax(const AgfOp *op, GError **error)
{
  (void) error;
  const AgfTensor *tx = op->in[0];
  const float *x = agf_cpu_f32(tx);
  float *y = agf_cpu_f32(op->out);
  const int64_t d = tx->ndim ? tx->shape[tx->ndim - 1] : 1;
  const int64_t rows = d ? agf_tensor_numel(tx) / d : 0;

#pragma omp parallel for schedule(static) if (rows * d > 16384)
  for (int64_t r = 0; r < rows; r++) {
    const float *xp = x + r * d;
    float *yp = y + r * d;
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t i = 0; i < d; i++)
      mx = xp[i] > mx ? xp[i] : mx;
    for (int64_t i = 0; i < d; i++)
      yp[i] = xp[i];
    const double sum = agf_cpu_exp_shifted(yp, d, mx);
    const float inv = (float) (1.0 / sum);
    for (int64_t i = 0; i < d; i++)
      yp[i] *= inv;
  }
  return TRUE;
}
