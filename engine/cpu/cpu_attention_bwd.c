/* Attention backward, memory-efficient as FlashAttention's: the scores of
 * one tile of queries x keys are recomputed from q and k and the saved
 * statistics (lse = logsumexp of a query's scaled scores, D = rowsum(dO*O)),
 * never stored for a whole head. With S = scale Q K^T, P = exp(S - lse):
 *   dV = P^T dO,  dS = P * (dO V^T - D),  dQ = scale dS K,  dK = scale dS^T Q.
 * Tasks are tiles of one (batch, head): query tiles for the stats and dq,
 * key tiles for dk and dv (apart, or both at once: KV shares P and dS),
 * so each task owns its output rows. BLAS runs single-threaded inside them
 * (cpu_blas.c says why). */
#include <math.h>
#include <string.h>
#include "cpu/cpu_internal.h"
#include "cpu/cpu_math.h"

#define QT 64  /* queries per tile */
#define KT 128 /* keys per tile */

typedef struct {
  const float *q, *k, *v, *o, *dout;
  const float *stats; /* [B,H,Lq,2], NULL when computing it */
  float *out;
  int64_t b, lq, lk, h, d, dv;
  float scale;
  AgfAttentionGrad which;
} Bwd;

typedef struct {
  float *s, *dp, *acc; /* [QT*KT], [QT*KT], [max(QT,KT) * max(d,dv)] */
} Scratch;

static const float *
q_rows(const Bwd *a, int64_t b, int64_t h, int64_t i0)
{
  return a->q + (b * a->lq + i0) * a->h * a->d + h * a->d;
}

static const float *
k_rows(const Bwd *a, const float *base, int64_t b, int64_t h, int64_t j0)
{
  return base + (b * a->lk + j0) * a->h * a->d + h * a->d;
}

static const float *
v_rows(const Bwd *a, const float *base, int64_t b, int64_t h, int64_t j0)
{
  return base + (b * a->lk + j0) * a->h * a->dv + h * a->dv;
}

static const float *
o_rows(const Bwd *a, const float *base, int64_t b, int64_t h, int64_t i0)
{
  return base + (b * a->lq + i0) * a->h * a->dv + h * a->dv;
}

/* s [rows, KT] = scale Q K^T of one tile. */
static void
scores(const Bwd *a, int64_t b, int64_t h, int64_t i0, int64_t rows,
       int64_t j0, int64_t cols, float *s)
{
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int) rows, (int) cols,
              (int) a->d, a->scale, q_rows(a, b, h, i0), (int) (a->h * a->d),
              k_rows(a, a->k, b, h, j0), (int) (a->h * a->d), 0.0f, s, KT);
}

/* stats of queries [i0, i0+rows): an online logsumexp over key tiles. */
static void
tile_stats(const Bwd *a, int64_t b, int64_t h, int64_t i0, int64_t rows,
           const Scratch *t)
{
  float *m = t->acc, *l = t->acc + QT;
  for (int64_t i = 0; i < rows; i++) {
    m[i] = -INFINITY;
    l[i] = 0.0f;
  }
  for (int64_t j0 = 0; j0 < a->lk; j0 += KT) {
    const int64_t cols = MIN(KT, a->lk - j0);
    scores(a, b, h, i0, rows, j0, cols, t->s);
    for (int64_t i = 0; i < rows; i++) {
      float *si = t->s + i * KT;
      float mx = m[i];
      for (int64_t j = 0; j < cols; j++)
        mx = si[j] > mx ? si[j] : mx;
      const float corr = m[i] == -INFINITY ? 0.0f : expf(m[i] - mx);
      l[i] = l[i] * corr + (float) agf_cpu_exp_shifted(si, cols, mx);
      m[i] = mx;
    }
  }
  const int64_t hdv = a->h * a->dv;
  const float *op = o_rows(a, a->o, b, h, i0);
  const float *gp = o_rows(a, a->dout, b, h, i0);
  float *st = a->out + ((b * a->h + h) * a->lq + i0) * 2;
  for (int64_t i = 0; i < rows; i++) {
    double dsum = 0.0;
    for (int64_t e = 0; e < a->dv; e++)
      dsum += (double) op[i * hdv + e] * gp[i * hdv + e];
    st[i * 2] = l[i] > 0.0f ? m[i] + logf(l[i]) : -INFINITY;
    st[i * 2 + 1] = (float) dsum;
  }
}

/* P = exp(S - lse) and, unless only P is wanted, dS = P * (dO V^T - D), of
 * the tile of queries [i0, i0+rows) x keys [j0, j0+cols). */
static void
tile_p_ds(const Bwd *a, int64_t b, int64_t h, int64_t i0, int64_t rows,
          int64_t j0, int64_t cols, gboolean want_ds, const Scratch *t)
{
  const float *st = a->stats + ((b * a->h + h) * a->lq + i0) * 2;
  scores(a, b, h, i0, rows, j0, cols, t->s);
  for (int64_t i = 0; i < rows; i++)
    agf_cpu_exp_shift(t->s + i * KT, cols, st[i * 2]);
  if (!want_ds)
    return;
  const int hdv = (int) (a->h * a->dv);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int) rows, (int) cols,
              (int) a->dv, 1.0f, o_rows(a, a->dout, b, h, i0), hdv,
              v_rows(a, a->v, b, h, j0), hdv, 0.0f, t->dp, KT);
  for (int64_t i = 0; i < rows; i++) {
    const float di = st[i * 2 + 1];
    const float *pi = t->s + i * KT;
    float *dpi = t->dp + i * KT;
    for (int64_t j = 0; j < cols; j++)
      dpi[j] = pi[j] * (dpi[j] - di);
  }
}

/* dq of queries [i0, i0+rows). */
static void
tile_dq(const Bwd *a, int64_t b, int64_t h, int64_t i0, int64_t rows,
        const Scratch *t)
{
  memset(t->acc, 0, (size_t) (rows * a->d) * sizeof(float));
  for (int64_t j0 = 0; j0 < a->lk; j0 += KT) {
    const int64_t cols = MIN(KT, a->lk - j0);
    tile_p_ds(a, b, h, i0, rows, j0, cols, TRUE, t);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) rows,
                (int) a->d, (int) cols, a->scale, t->dp, KT,
                k_rows(a, a->k, b, h, j0), (int) (a->h * a->d), 1.0f, t->acc,
                (int) a->d);
  }
  float *dst = a->out + (b * a->lq + i0) * a->h * a->d + h * a->d;
  for (int64_t i = 0; i < rows; i++)
    memcpy(dst + i * a->h * a->d, t->acc + i * a->d,
           (size_t) a->d * sizeof(float));
}

/* dk, dv or both (KV: one score recomputation for the two) of keys
 * [j0, j0+cols). acc holds dk [cols, d] then dv [cols, dv]. */
static void
tile_dkv(const Bwd *a, int64_t b, int64_t h, int64_t j0, int64_t cols,
         const Scratch *t)
{
  const gboolean dk = a->which != AGF_ATTN_GRAD_V;
  const gboolean dv = a->which != AGF_ATTN_GRAD_K;
  float *acc_k = t->acc, *acc_v = t->acc + (dk ? cols * a->d : 0);
  memset(t->acc, 0, (size_t) (cols * ((dk ? a->d : 0) + (dv ? a->dv : 0))) *
                        sizeof(float));
  for (int64_t i0 = 0; i0 < a->lq; i0 += QT) {
    const int64_t rows = MIN(QT, a->lq - i0);
    tile_p_ds(a, b, h, i0, rows, j0, cols, dk, t);
    if (dk) /* dK += scale dS^T Q */
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int) cols,
                  (int) a->d, (int) rows, a->scale, t->dp, KT,
                  q_rows(a, b, h, i0), (int) (a->h * a->d), 1.0f, acc_k,
                  (int) a->d);
    if (dv) /* dV += P^T dO */
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int) cols,
                  (int) a->dv, (int) rows, 1.0f, t->s, KT,
                  o_rows(a, a->dout, b, h, i0), (int) (a->h * a->dv), 1.0f,
                  acc_v, (int) a->dv);
  }
  /* Output rows: [H*D] (K), [H*Dv] (V) or [H*D + H*Dv] (KV). */
  const int64_t hd = a->h * a->d, hdv = a->h * a->dv;
  const int64_t row = (dk ? hd : 0) + (dv ? hdv : 0);
  float *dst = a->out + (b * a->lk + j0) * row;
  for (int64_t j = 0; j < cols; j++) {
    if (dk)
      memcpy(dst + j * row + h * a->d, acc_k + j * a->d,
             (size_t) a->d * sizeof(float));
    if (dv)
      memcpy(dst + j * row + (dk ? hd : 0) + h * a->dv, acc_v + j * a->dv,
             (size_t) a->dv * sizeof(float));
  }
}

gboolean
agf_cpu_attention_bwd(const AgfOp *op, GError **error)
{
  const AgfAttentionBwdParams *p = &op->p.attention_bwd;
  const AgfTensor *tq = op->in[0], *tk = op->in[1], *tv = op->in[2];
  const int64_t heads = p->n_heads > 0 ? p->n_heads : 1;
  Bwd a = {
    .q = agf_cpu_f32(tq), .k = agf_cpu_f32(tk), .v = agf_cpu_f32(tv),
    .o = agf_cpu_f32(op->in[3]), .dout = agf_cpu_f32(op->in[4]),
    .stats = op->n_in > 5 && op->in[5] ? agf_cpu_f32(op->in[5]) : NULL,
    .out = agf_cpu_f32(op->out),
    .b = tq->shape[0], .lq = tq->shape[1], .lk = tk->shape[1], .h = heads,
    .d = tq->shape[2] / heads, .dv = tv->shape[2] / heads, .which = p->which,
  };
  a.scale = p->scale != 0.0f ? p->scale : (float) (1.0 / sqrt((double) a.d));
  if ((unsigned) p->which > AGF_ATTN_GRAD_KV ||
      (p->which != AGF_ATTN_GRAD_STATS && a.stats == NULL)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "attention_bwd: gradient %d needs the stats of "
                "AGF_ATTN_GRAD_STATS as input 5", (int) p->which);
    return FALSE;
  }
  const gboolean by_keys = p->which >= AGF_ATTN_GRAD_K;
  const int64_t len = by_keys ? a.lk : a.lq, tile = by_keys ? KT : QT;
  const int64_t tiles = (len + tile - 1) / tile;
  const int64_t tasks = a.b * heads * tiles;
  const size_t acc_len = (size_t) (MAX(QT, KT) * MAX(a.d + a.dv, 2));
  gboolean oom = FALSE;

  AgfCpuBlasSerial serial;
  agf_cpu_blas_serial_begin(&serial);
#pragma omp parallel num_threads(agf_cpu_threads_for(tasks, 1))
  {
    float *buf = g_try_malloc(sizeof(float) * (2 * QT * KT + acc_len));
    if (buf == NULL) {
#pragma omp atomic write
      oom = TRUE;
    }
    const Scratch t = { buf, buf ? buf + QT * KT : NULL,
                        buf ? buf + 2 * QT * KT : NULL };
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < tasks; task++) {
      if (buf == NULL)
        continue;
      const int64_t bh = task / tiles, r0 = task % tiles * tile;
      const int64_t b = bh / heads, h = bh % heads, n = MIN(tile, len - r0);
      if (p->which == AGF_ATTN_GRAD_STATS)
        tile_stats(&a, b, h, r0, n, &t);
      else if (p->which == AGF_ATTN_GRAD_Q)
        tile_dq(&a, b, h, r0, n, &t);
      else
        tile_dkv(&a, b, h, r0, n, &t);
    }
    g_free(buf);
  }
  agf_cpu_blas_serial_end(&serial);
  if (oom) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY,
                "out of host memory for attention backward scratch (head dim %"
                G_GINT64_FORMAT "): free other tensors", MAX(a.d, a.dv));
    return FALSE;
  }
  return TRUE;
}
