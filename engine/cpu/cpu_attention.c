/* Fused scaled-dot-product attention, blockwise with an online softmax
 * (flash-attention style): blocks of QB queries against chunks of KB keys,
 * scores and weighted values through BLAS, so no Lq x Lk matrix exists. */
#include <math.h>
#include <string.h>
#include "cpu/cpu_internal.h"
#include "cpu/cpu_math.h"

#define QB 64
#define KB 256

typedef struct {
  const float *q, *k, *v;
  float *out;
  int64_t lq, lk, h, d, dv;
  float scale;
} AttnShape;

/* One block of up to QB queries of one (batch, head), with scratch s
 * [QB*KB], acc [QB*dv], m and l [QB]. */
static void
attend_block(const AttnShape *a, int64_t b, int64_t h, int64_t q0, float *s,
             float *acc, float *m, float *l)
{
  const int64_t hd = a->h * a->d, hdv = a->h * a->dv;
  const int64_t rows = MIN(QB, a->lq - q0);
  const float *qp = a->q + (b * a->lq + q0) * hd + h * a->d;

  memset(acc, 0, (size_t) (rows * a->dv) * sizeof(float));
  for (int64_t i = 0; i < rows; i++) {
    m[i] = -INFINITY;
    l[i] = 0.0f;
  }
  for (int64_t k0 = 0; k0 < a->lk; k0 += KB) {
    const int64_t kc = MIN(KB, a->lk - k0);
    const float *kp = a->k + (b * a->lk + k0) * hd + h * a->d;
    const float *vp = a->v + (b * a->lk + k0) * hdv + h * a->dv;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int) rows, (int) kc,
                (int) a->d, a->scale, qp, (int) hd, kp, (int) hd, 0.0f, s, KB);
    for (int64_t i = 0; i < rows; i++) {
      float *si = s + i * KB;
      float mx = m[i];
#pragma omp simd reduction(max : mx)
      for (int64_t j = 0; j < kc; j++)
        mx = si[j] > mx ? si[j] : mx;
      /* Rescale what was accumulated under the previous maximum. */
      const float corr = m[i] == -INFINITY ? 0.0f : expf(m[i] - mx);
      l[i] = l[i] * corr + (float) agf_cpu_exp_shifted(si, kc, mx);
      m[i] = mx;
      if (corr != 1.0f)
        for (int64_t j = 0; j < a->dv; j++)
          acc[i * a->dv + j] *= corr;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) rows,
                (int) a->dv, (int) kc, 1.0f, s, KB, vp, (int) hdv, 1.0f, acc,
                (int) a->dv);
  }
  for (int64_t i = 0; i < rows; i++) {
    float *op = a->out + (b * a->lq + q0 + i) * hdv + h * a->dv;
    const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
    for (int64_t j = 0; j < a->dv; j++)
      op[j] = acc[i * a->dv + j] * inv;
  }
}

gboolean
agf_cpu_attention(const AgfOp *op, GError **error)
{
  const AgfAttentionParams *p = &op->p.attention;
  const AgfTensor *tq = op->in[0], *tk = op->in[1], *tv = op->in[2];
  const int64_t heads = p->n_heads > 0 ? p->n_heads : 1;
  AttnShape a = {
    .q = agf_cpu_f32(tq), .k = agf_cpu_f32(tk), .v = agf_cpu_f32(tv),
    .out = agf_cpu_f32(op->out),
    .lq = tq->shape[1], .lk = tk->shape[1], .h = heads,
    .d = tq->shape[2] / heads, .dv = tv->shape[2] / heads,
  };
  a.scale = p->scale != 0.0f ? p->scale : (float) (1.0 / sqrt((double) a.d));
  const int64_t batch = tq->shape[0], qblocks = (a.lq + QB - 1) / QB;
  const int64_t tasks = batch * heads * qblocks;
  gboolean oom = FALSE;

  /* Parallel over blocks, each with a single-threaded BLAS: the blocks are
   * too small for BLAS to split well, and nested threading oversubscribes. */
  AgfCpuBlasSerial serial;
  agf_cpu_blas_serial_begin(&serial);
#pragma omp parallel num_threads(agf_cpu_threads_for(tasks, 1))
  {
    float *s = g_try_malloc(sizeof(float) * (QB * KB + QB * a.dv + 2 * QB));
    if (s == NULL) {
#pragma omp atomic write
      oom = TRUE;
    }
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < tasks; t++) {
      if (s == NULL)
        continue;
      const int64_t qb = t % qblocks, bh = t / qblocks;
      attend_block(&a, bh / heads, bh % heads, qb * QB, s, s + QB * KB,
                   s + QB * KB + QB * a.dv, s + QB * KB + QB * a.dv + QB);
    }
    g_free(s);
  }
  agf_cpu_blas_serial_end(&serial);
  if (oom) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY,
                "out of host memory for attention scratch (head dim %"
                G_GINT64_FORMAT "): free other tensors", a.dv);
    return FALSE;
  }
  return TRUE;
}
