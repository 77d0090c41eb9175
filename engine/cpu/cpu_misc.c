/* Concatenation, sinusoidal timestep embedding and L2 normalization. */
#include <math.h>
#include <string.h>
#include "cpu/cpu_internal.h"
#include "cpu/cpu_math.h"

gboolean
agf_cpu_concat(const AgfOp *op, GError **error)
{
  (void) error;
  const AgfTensor *ty = op->out;
  const int dim = op->p.concat.dim < 0 ? op->p.concat.dim + ty->ndim
                                       : op->p.concat.dim;
  float *y = agf_cpu_f32(ty);
  const int64_t outer = agf_cpu_dims(ty, 0, dim);
  const int64_t out_row = agf_cpu_dims(ty, dim, ty->ndim);
  int64_t col = 0;

  for (int i = 0; i < op->n_in; i++) {
    const AgfTensor *t = op->in[i];
    const float *x = agf_cpu_f32(t);
    const int64_t row = agf_cpu_dims(t, dim, t->ndim);
#pragma omp parallel for schedule(static) if (outer * row > 65536)
    for (int64_t o = 0; o < outer; o++)
      memcpy(y + o * out_row + col, x + o * row, (size_t) row * sizeof(float));
    col += row;
  }
  return TRUE;
}

/* diffusers get_timestep_embedding, in the same f32 arithmetic. */
gboolean
agf_cpu_timestep_embed(const AgfOp *op, GError **error)
{
  const AgfTimestepEmbedParams *p = &op->p.temb;
  const AgfTensor *tt = op->in[0];
  const float *t = agf_cpu_f32(tt);
  float *y = agf_cpu_f32(op->out);
  const int64_t batch = agf_tensor_numel(tt), dim = p->dim, half = dim / 2;
  const float max_period = p->max_period != 0.0f ? p->max_period : 10000.0f;
  const float denom = (float) half - p->downscale_freq_shift;
  if (half > 0 && denom == 0.0f) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "timestep embedding of dim %d with frequency shift %g divides "
                "by zero: use a larger dim or another shift", p->dim,
                (double) p->downscale_freq_shift);
    return FALSE;
  }
  const float log_period = -logf(max_period);
  const int64_t sin_at = p->flip_sin_to_cos ? half : 0;
  const int64_t cos_at = p->flip_sin_to_cos ? 0 : half;

  for (int64_t b = 0; b < batch; b++) {
    float *row = y + b * dim;
    for (int64_t i = 0; i < half; i++) {
      const float freq = expf(log_period * (float) i / denom);
      const float arg = t[b] * freq;
      row[sin_at + i] = sinf(arg);
      row[cos_at + i] = cosf(arg);
    }
    if (dim % 2)
      row[dim - 1] = 0.0f;
  }
  return TRUE;
}

gboolean
agf_cpu_l2_normalize(const AgfOp *op, GError **error)
{
  (void) error;
  const AgfTensor *tx = op->in[0];
  const float *x = agf_cpu_f32(tx);
  float *y = agf_cpu_f32(op->out);
  const int64_t d = tx->ndim ? tx->shape[tx->ndim - 1] : 1;
  const int64_t rows = d ? agf_tensor_numel(tx) / d : 0;
  const double eps = op->p.l2.eps;

#pragma omp parallel for schedule(static) if (rows * d > 32768)
  for (int64_t r = 0; r < rows; r++) {
    double sum, sq;
    agf_cpu_sums(x + r * d, d, 0.0f, &sum, &sq);
    const float inv = (float) (1.0 / fmax(sqrt(sq), eps));
    for (int64_t i = 0; i < d; i++)
      y[r * d + i] = x[r * d + i] * inv;
  }
  return TRUE;
}
