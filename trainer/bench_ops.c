/* Timing: a warm-up run (pipelines, arenas), then batches of repeats
 * bracketed by agf_device_sync, sized to about batch_sec each; the median
 * batch gives the time of one op. */
#include <cblas.h>
#include <string.h>
#include "bench.h"

static int64_t numel(int ndim, const int64_t *shape)
{
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  return n;
}

gboolean bench_gemm_dims(const BenchCase *c, int64_t *m, int64_t *n, int64_t *k)
{
  const int64_t(*s)[AGF_MAX_DIMS] = c->shape;
  if (c->op.kind == AGF_OP_GEMM) {
    *m = s[0][0];
    *k = s[0][1];
    *n = c->op.p.gemm.trans_b ? s[1][0] : s[1][1];
    return TRUE;
  }
  if (c->op.kind == AGF_OP_CONV2D && c->op.p.conv.groups <= 1) {
    /* im2col: [Co, Ci*kh*kw] x [Ci*kh*kw, N*Ho*Wo] */
    const AgfConv2dParams *p = &c->op.p.conv;
    int sh = MAX(p->stride_h, 1), sw = MAX(p->stride_w, 1);
    int64_t ho = (s[0][2] + p->pad_top + p->pad_bottom - s[1][2]) / sh + 1;
    int64_t wo = (s[0][3] + p->pad_left + p->pad_right - s[1][3]) / sw + 1;
    *m = s[1][0];
    *k = s[1][1] * s[1][2] * s[1][3];
    *n = s[0][0] * ho * wo;
    return TRUE;
  }
  return FALSE;
}

double bench_flops(const BenchCase *c)
{
  int64_t m, n, k;
  if (bench_gemm_dims(c, &m, &n, &k))
    return 2.0 * m * n * k;
  if (c->op.kind == AGF_OP_ATTENTION) {
    const int64_t(*s)[AGF_MAX_DIMS] = c->shape;
    /* QK^T and PV: 2 * Lq * Lk * (D + Dv) per batch, over all heads. */
    return 2.0 * s[0][0] * s[0][1] * s[1][1] * (s[0][2] + s[2][2]);
  }
  return 0;
}

double bench_bytes(const BenchCase *c, AgfDType dt)
{
  /* Inputs plus one output of the first input's size (all memory-bound
   * ops benchmarked here are shape-preserving). */
  double elems = numel(c->ndim[0], c->shape[0]);
  for (int i = 0; i < c->op.n_in; i++)
    elems += numel(c->ndim[i], c->shape[i]);
  return elems * agf_dtype_size(dt);
}

const char *bench_op_label(const BenchCase *c)
{
  switch (c->op.kind) {
  case AGF_OP_GEMM: return c->op.p.gemm.trans_b ? "linear" : "gemm";
  case AGF_OP_UNARY:
    return c->op.p.unary.fn == AGF_UNARY_SILU ? "silu"
         : c->op.p.unary.fn == AGF_UNARY_GELU ? "gelu" : "unary";
  case AGF_OP_BINARY: return "add";
  default: return agf_op_name(c->op.kind);
  }
}

char *bench_shape_str(const BenchCase *c)
{
  const int64_t(*s)[AGF_MAX_DIMS] = c->shape;
  int64_t m, n, k;
  switch (c->op.kind) {
  case AGF_OP_GEMM:
    bench_gemm_dims(c, &m, &n, &k);
    return g_strdup_printf("%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT,
                           m, n, k);
  case AGF_OP_CONV2D:
    return g_strdup_printf("%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                           " k%" G_GINT64_FORMAT " s%d -> %" G_GINT64_FORMAT,
                           s[0][1], s[0][2], s[0][3], s[1][2],
                           MAX(c->op.p.conv.stride_h, 1), s[1][0]);
  case AGF_OP_ATTENTION: {
    int h = c->op.p.attention.n_heads;
    return g_strdup_printf("L%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT " h%d d%" G_GINT64_FORMAT,
                           s[0][1], s[1][1], h, s[0][2] / h);
  }
  default: {
    GString *str = g_string_new(NULL);
    for (int i = 0; i < c->ndim[0]; i++)
      g_string_append_printf(str, "%s%" G_GINT64_FORMAT, i ? "x" : "", s[0][i]);
    return g_string_free(str, FALSE);
  }
  }
}

double bench_median(double *v, int n)
{
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void fill_result(BenchResult *r, const BenchCase *c, AgfDType dt,
                        double usec)
{
  r->c = c;
  r->dtype = dt;
  r->usec = usec;
  double flops = bench_flops(c);
  r->gflops = flops > 0 ? flops / usec * 1e-3 : 0;
  r->gbps = bench_bytes(c, dt) / usec * 1e-3;
}

static gboolean run_reps(AgfDevice *dev, const AgfOp *op, int reps,
                         double *usec, GError **error)
{
  gint64 t0 = g_get_monotonic_time();
  for (int i = 0; i < reps; i++)
    if (!agf_op_run(op, error))
      return FALSE;
  if (!agf_device_sync(dev, error))
    return FALSE;
  *usec = (double)(g_get_monotonic_time() - t0) / reps;
  return TRUE;
}

gboolean bench_run_case(AgfDevice *dev, const BenchCase *c, AgfDType dt,
                        const BenchTiming *tm, BenchResult *out,
                        GError **error)
{
  AgfOp op = c->op;
  AgfTensor *in[BENCH_MAX_IN] = { 0 };
  gboolean ok = FALSE;
  /* Small values keep every op in range; the data does not affect speed. */
  for (int i = 0; i < op.n_in; i++) {
    int64_t n = numel(c->ndim[i], c->shape[i]);
    g_autofree float *v = g_new(float, n);
    GRand *rand = g_rand_new_with_seed(42 + i);
    for (int64_t j = 0; j < n; j++)
      v[j] = (float)g_rand_double_range(rand, -0.5, 0.5);
    g_rand_free(rand);
    if (!(in[i] = agf_tensor_from_f32(dev, dt, c->ndim[i], c->shape[i], v, error)))
      goto out;
    op.in[i] = in[i];
  }
  AgfDType odt;
  int ondim;
  int64_t oshape[AGF_MAX_DIMS];
  if (!agf_op_infer(&op, &odt, &ondim, oshape, error) ||
      !(op.out = agf_tensor_new(dev, odt, ondim, oshape, error)))
    goto out;

  double once = 0;
  if (!run_reps(dev, &op, 1, &once, error) || /* warm-up */
      !run_reps(dev, &op, 1, &once, error))
    goto out;
  int reps = (int)CLAMP(tm->batch_sec * 1e6 / MAX(once, 1.0), 1, 10000);
  double *t = g_new(double, tm->samples);
  for (int s = 0; s < tm->samples; s++)
    if (!run_reps(dev, &op, reps, &t[s], error)) {
      g_free(t);
      goto out;
    }
  const AgfDeviceInfo *info = agf_device_info(dev);
  g_strlcpy(out->backend, info->backend == AGF_BACKEND_CPU ? "cpu" : "vulkan",
            sizeof out->backend);
  g_strlcpy(out->device, info->spec, sizeof out->device);
  g_strlcpy(out->device_name, info->name, sizeof out->device_name);
  fill_result(out, c, dt, bench_median(t, tm->samples));
  g_free(t);
  ok = TRUE;
out:
  if (op.out)
    agf_tensor_unref(op.out);
  for (int i = 0; i < op.n_in; i++)
    if (in[i])
      agf_tensor_unref(in[i]);
  return ok;
}

void bench_run_openblas(const BenchCase *c, const BenchTiming *tm,
                        BenchResult *out)
{
  int64_t m, n, k;
  bench_gemm_dims(c, &m, &n, &k);
  float *a = g_new(float, m * k), *b = g_new(float, k * n), *d = g_new(float, m * n);
  for (int64_t i = 0; i < m * k; i++)
    a[i] = (float)(i % 7) * 0.1f;
  for (int64_t i = 0; i < k * n; i++)
    b[i] = (float)(i % 5) * 0.1f;
#define SGEMM() cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, \
                            (int)n, (int)k, 1.0f, a, (int)k, b, (int)n, 0.0f, d, (int)n)
  SGEMM();
  gint64 t0 = g_get_monotonic_time();
  SGEMM();
  double once = (double)(g_get_monotonic_time() - t0);
  int reps = (int)CLAMP(tm->batch_sec * 1e6 / MAX(once, 1.0), 1, 10000);
  double *t = g_new(double, tm->samples);
  for (int s = 0; s < tm->samples; s++) {
    t0 = g_get_monotonic_time();
    for (int r = 0; r < reps; r++)
      SGEMM();
    t[s] = (double)(g_get_monotonic_time() - t0) / reps;
  }
#undef SGEMM
  /* OpenBLAS's idle threads spin for ~0.1 s (its THREAD_TIMEOUT) after a
   * call; let them sleep before the next case is timed on the same cores. */
  g_usleep(250000);
  memset(out, 0, sizeof *out);
  g_strlcpy(out->backend, "openblas", sizeof out->backend);
  g_strlcpy(out->device, "openblas", sizeof out->device);
  g_snprintf(out->device_name, sizeof out->device_name,
             "OpenBLAS cblas_sgemm, %d threads", openblas_get_num_threads());
  double usec = bench_median(t, tm->samples);
  out->c = c;
  out->dtype = AGF_F32;
  out->usec = usec;
  out->gflops = 2.0 * m * n * k / usec * 1e-3;
  out->gbps = 0;
  g_free(t);
  g_free(a);
  g_free(b);
  g_free(d);
}
