/* Normalizations: group, layer and (inference) batch norm. Statistics are
 * two-pass in double so that large means do not swamp the variance. */
#include <math.h>
#include "cpu/cpu_internal.h"
#include "cpu/cpu_math.h"

/* Mean and 1/sqrt(var + eps) of n values (biased variance, like PyTorch):
 * two passes, the second about the mean, with the corrected two-pass
 * formula for what rounding the mean left. */
static void
moments(const float *x, int64_t n, float eps, float *mean_out, float *rstd_out)
{
  double sum, sq;
  agf_cpu_sums(x, n, 0.0f, &sum, &sq);
  const float shift = n ? (float) (sum / (double) n) : 0.0f;
  agf_cpu_sums(x, n, shift, &sum, &sq);
  const double rest = n ? sum / (double) n : 0.0;
  const double var = n ? MAX(sq / (double) n - rest * rest, 0.0) : 0.0;
  *mean_out = (float) (shift + rest);
  *rstd_out = (float) (1.0 / sqrt(var + (double) eps));
}

gboolean
agf_cpu_group_norm(const AgfOp *op, GError **error)
{
  (void) error;
  const AgfGroupNormParams *p = &op->p.group_norm;
  const AgfTensor *tx = op->in[0];
  const float *x = agf_cpu_f32(tx);
  const float *gamma = op->n_in > 1 && op->in[1] ? agf_cpu_f32(op->in[1]) : NULL;
  const float *beta = op->n_in > 2 && op->in[2] ? agf_cpu_f32(op->in[2]) : NULL;
  float *y = agf_cpu_f32(op->out);
  const int64_t n = tx->shape[0], c = tx->shape[1];
  const int64_t spatial = agf_cpu_dims(tx, 2, tx->ndim);
  const int64_t groups = p->groups > 0 ? p->groups : 1, cg = c / groups;
  const int64_t blocks = n * groups;
  /* One group per task at the least; small tensors stay on one thread. */
  const int nt = MIN(agf_cpu_threads_for(blocks * cg * spatial, 16384),
                     (int) MAX(blocks, 1));

#pragma omp parallel for schedule(static) num_threads(nt)
  for (int64_t b = 0; b < blocks; b++) {
    const int64_t base = b * cg * spatial;
    float mean, rstd;
    moments(x + base, cg * spatial, p->eps, &mean, &rstd);
    for (int64_t j = 0; j < cg; j++) {
      const int64_t ch = (b % groups) * cg + j;
      const float s = rstd * (gamma ? gamma[ch] : 1.0f);
      const float t = (beta ? beta[ch] : 0.0f) - mean * s;
      const float *xp = x + base + j * spatial;
      float *yp = y + base + j * spatial;
      for (int64_t i = 0; i < spatial; i++)
        yp[i] = xp[i] * s + t;
    }
  }
  return TRUE;
}

gboolean
agf_cpu_layer_norm(const AgfOp *op, GError **error)
{
  (void) error;
  const AgfTensor *tx = op->in[0];
  const float *x = agf_cpu_f32(tx);
  const float *gamma = op->n_in > 1 && op->in[1] ? agf_cpu_f32(op->in[1]) : NULL;
  const float *beta = op->n_in > 2 && op->in[2] ? agf_cpu_f32(op->in[2]) : NULL;
  float *y = agf_cpu_f32(op->out);
  const int64_t d = tx->ndim ? tx->shape[tx->ndim - 1] : 1;
  const int64_t rows = d ? agf_tensor_numel(tx) / d : 0;
  const float eps = op->p.layer_norm.eps;

#pragma omp parallel for schedule(static) if (rows * d > 16384)
  for (int64_t r = 0; r < rows; r++) {
    const float *xp = x + r * d;
    float *yp = y + r * d;
    float mean, rstd;
    moments(xp, d, eps, &mean, &rstd);
    for (int64_t i = 0; i < d; i++)
      yp[i] = (xp[i] - mean) * rstd * (gamma ? gamma[i] : 1.0f) +
              (beta ? beta[i] : 0.0f);
  }
  return TRUE;
}

gboolean
agf_cpu_batch_norm(const AgfOp *op, GError **error)
{
  (void) error;
  const AgfTensor *tx = op->in[0];
  const float *x = agf_cpu_f32(tx);
  const float *mean = agf_cpu_f32(op->in[1]), *var = agf_cpu_f32(op->in[2]);
  const float *gamma = op->n_in > 3 && op->in[3] ? agf_cpu_f32(op->in[3]) : NULL;
  const float *beta = op->n_in > 4 && op->in[4] ? agf_cpu_f32(op->in[4]) : NULL;
  float *y = agf_cpu_f32(op->out);
  const int64_t c = tx->ndim > 1 ? tx->shape[1] : 1;
  const int64_t planes = tx->ndim > 0 ? tx->shape[0] * c : 1;
  const int64_t spatial = agf_cpu_dims(tx, 2, tx->ndim);
  const float eps = op->p.batch_norm.eps;

#pragma omp parallel for schedule(static) if (planes * spatial > 32768)
  for (int64_t pl = 0; pl < planes; pl++) {
    const int64_t ch = pl % c;
    const float s = (float) ((gamma ? gamma[ch] : 1.0) / sqrt((double) var[ch] + eps));
    const float t = (beta ? beta[ch] : 0.0f) - mean[ch] * s;
    const float *xp = x + pl * spatial;
    float *yp = y + pl * spatial;
    for (int64_t i = 0; i < spatial; i++)
      yp[i] = xp[i] * s + t;
  }
  return TRUE;
}
