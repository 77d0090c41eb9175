/* Normalization training kernels: batch statistics (NORM_STATS) and the
 * group / layer norm gradients (NORM_BWD). Statistics are two-pass in
 * double as in the forward (cpu_norm.c), so the gradient sees the same
 * x_hat the forward did. With g = dy * gamma over a normalized block:
 *   dx = rstd * (g - mean(g) - x_hat * mean(g * x_hat)),
 *   dgamma = sum of dy * x_hat over everything but gamma's dim. */
#include <math.h>
#include "cpu/cpu_internal.h"
#include "cpu/cpu_math.h"

/* Element counts per thread under which threads cost more than they save. */
#define PAR_ELEMS 16384

typedef struct { double mean, rstd; } Moments;

/* Sum of (x - shift) and of its square over `planes` runs of n values,
 * `stride` apart. */
static void
plane_sums(const float *x, int64_t planes, int64_t stride, int64_t n,
           float shift, double *sum, double *sq)
{
  *sum = *sq = 0.0;
  for (int64_t p = 0; p < planes; p++) {
    double s, q;
    agf_cpu_sums(x + p * stride, n, shift, &s, &q);
    *sum += s;
    *sq += q;
  }
}

/* Mean and biased variance of the runs: a first pass for a shift, a
 * second about it (corrected for what rounding the shift left). */
static void
plane_moments(const float *x, int64_t planes, int64_t stride, int64_t n,
              double *mean, double *var)
{
  const double cnt = (double) (planes * n);
  double s, q;
  plane_sums(x, planes, stride, n, 0.0f, &s, &q);
  const float shift = cnt > 0 ? (float) (s / cnt) : 0.0f;
  plane_sums(x, planes, stride, n, shift, &s, &q);
  const double rest = cnt > 0 ? s / cnt : 0.0;
  *mean = shift + rest;
  *var = cnt > 0 ? MAX(q / cnt - rest * rest, 0.0) : 0.0;
}

static Moments
block_moments(const float *x, int64_t n, float eps)
{
  double mean, var;
  plane_moments(x, 1, 0, n, &mean, &var);
  return (Moments){ mean, 1.0 / sqrt(var + (double) eps) };
}

/* The statistics of count consecutive blocks of len values (g_free them),
 * or NULL and an error naming what a block is. */
static Moments *
all_moments(const float *x, int64_t count, int64_t len, float eps, int nt,
            const char *what, GError **error)
{
  Moments *m = g_try_new(Moments, MAX(count, 1));
  if (m == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY, "norm_bwd: out of "
                "host memory for %" G_GINT64_FORMAT " %s statistics: free "
                "other tensors", count, what);
    return NULL;
  }
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int64_t b = 0; b < count; b++)
    m[b] = block_moments(x + b * len, len, eps);
  return m;
}

gboolean
agf_cpu_norm_stats(const AgfOp *op, GError **error)
{
  (void) error;
  const AgfTensor *tx = op->in[0];
  const float *x = agf_cpu_f32(tx);
  float *out = agf_cpu_f32(op->out);
  const int64_t n = tx->shape[0], c = tx->shape[1];
  const int64_t spatial = agf_cpu_dims(tx, 2, tx->ndim);
  const int nt = MIN(agf_cpu_threads_for(n * c * spatial, PAR_ELEMS),
                     (int) MAX(c, 1));
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int64_t ch = 0; ch < c; ch++) {
    double mean, var;
    plane_moments(x + ch * spatial, n, c * spatial, spatial, &mean, &var);
    out[ch] = (float) mean;
    out[c + ch] = (float) var;
  }
  return TRUE;
}

/* dx of one normalized block of len values, gamma applied per run of
 * `run` values (group norm: a channel's spatial extent; layer norm: 1). */
static void
block_dx(const float *x, const float *dy, const float *gamma, int64_t len,
         int64_t run, Moments m, float *dx)
{
  double sg = 0.0, sgx = 0.0;
  for (int64_t i = 0; i < len; i++) {
    const double g = (double) dy[i] * (gamma ? gamma[i / run] : 1.0f);
    sg += g;
    sgx += g * ((x[i] - m.mean) * m.rstd);
  }
  const double mg = len ? sg / (double) len : 0.0;
  const double mgx = len ? sgx / (double) len : 0.0;
  for (int64_t i = 0; i < len; i++) {
    const double g = (double) dy[i] * (gamma ? gamma[i / run] : 1.0f);
    const double xh = (x[i] - m.mean) * m.rstd;
    dx[i] = (float) (m.rstd * (g - mg - xh * mgx));
  }
}

static gboolean
group_bwd(const AgfOp *op, GError **error)
{
  const AgfNormBwdParams *p = &op->p.norm_bwd;
  const AgfTensor *tx = op->in[0];
  const float *x = agf_cpu_f32(tx), *dy = agf_cpu_f32(op->in[1]);
  const float *gamma =
      op->n_in > 2 && op->in[2] ? agf_cpu_f32(op->in[2]) : NULL;
  float *out = agf_cpu_f32(op->out);
  const int64_t n = tx->shape[0], c = tx->shape[1];
  const int64_t spatial = agf_cpu_dims(tx, 2, tx->ndim);
  const int64_t groups = p->groups > 0 ? p->groups : 1, cg = c / groups;
  const int64_t blocks = n * groups, len = cg * spatial;
  const int nt = MIN(agf_cpu_threads_for(blocks * len, PAR_ELEMS),
                     (int) MAX(blocks, 1));

  if (p->which == AGF_NORM_GRAD_INPUT) {
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t b = 0; b < blocks; b++) {
      const int64_t base = b * len;
      block_dx(x + base, dy + base, gamma ? gamma + (b % groups) * cg : NULL,
               len, MAX(spatial, 1), block_moments(x + base, len, p->eps),
               out + base);
    }
    return TRUE;
  }
  /* dgamma: the blocks' statistics first, then one channel per task. */
  Moments *m = all_moments(x, blocks, len, p->eps, nt, "group", error);
  if (m == NULL)
    return FALSE;
#pragma omp parallel for schedule(static) \
    num_threads(MIN(nt, (int) MAX(c, 1)))
  for (int64_t ch = 0; ch < c; ch++) {
    double acc = 0.0;
    for (int64_t nn = 0; nn < n; nn++) {
      const Moments mb = m[nn * groups + ch / cg];
      const float *xp = x + (nn * c + ch) * spatial;
      const float *gp = dy + (nn * c + ch) * spatial;
      for (int64_t i = 0; i < spatial; i++)
        acc += gp[i] * ((xp[i] - mb.mean) * mb.rstd);
    }
    out[ch] = (float) acc;
  }
  g_free(m);
  return TRUE;
}

/* Columns of dgamma accumulated at a time (a stack buffer). */
#define COL_CHUNK 512

static gboolean
layer_bwd(const AgfOp *op, GError **error)
{
  const AgfNormBwdParams *p = &op->p.norm_bwd;
  const AgfTensor *tx = op->in[0];
  const float *x = agf_cpu_f32(tx), *dy = agf_cpu_f32(op->in[1]);
  const float *gamma =
      op->n_in > 2 && op->in[2] ? agf_cpu_f32(op->in[2]) : NULL;
  float *out = agf_cpu_f32(op->out);
  const int64_t d = tx->shape[tx->ndim - 1];
  const int64_t rows = d ? agf_tensor_numel(tx) / d : 0;
  const int nt = agf_cpu_threads_for(rows * d, PAR_ELEMS);

  if (p->which == AGF_NORM_GRAD_INPUT) {
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t r = 0; r < rows; r++)
      block_dx(x + r * d, dy + r * d, gamma, d, 1,
               block_moments(x + r * d, d, p->eps), out + r * d);
    return TRUE;
  }
  Moments *m = all_moments(x, rows, d, p->eps, nt, "row", error);
  if (m == NULL)
    return FALSE;
  const int64_t chunks = (d + COL_CHUNK - 1) / COL_CHUNK;
#pragma omp parallel for schedule(static) \
    num_threads(MIN(nt, (int) MAX(chunks, 1)))
  for (int64_t ck = 0; ck < chunks; ck++) {
    const int64_t c0 = ck * COL_CHUNK, len = MIN(COL_CHUNK, d - c0);
    double acc[COL_CHUNK] = { 0 };
    for (int64_t r = 0; r < rows; r++) {
      const float *xp = x + r * d + c0, *gp = dy + r * d + c0;
      for (int64_t i = 0; i < len; i++)
        acc[i] += gp[i] * ((xp[i] - m[r].mean) * m[r].rstd);
    }
    for (int64_t i = 0; i < len; i++)
      out[c0 + i] = (float) acc[i];
  }
  g_free(m);
  return TRUE;
}

gboolean
agf_cpu_norm_bwd(const AgfOp *op, GError **error)
{
  switch (op->p.norm_bwd.kind) {
  case AGF_NORM_GROUP: return group_bwd(op, error);
  case AGF_NORM_LAYER: return layer_bwd(op, error);
  default:
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "norm_bwd: unknown norm kind %d", (int) op->p.norm_bwd.kind);
    return FALSE;
  }
}
