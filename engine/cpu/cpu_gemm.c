/* GEMM through OpenBLAS: out = alpha * op(A) op(B) + bias, batched with
 * broadcasting of a 2-D (or batch-1) operand. */
#include <string.h>
#include "cpu/cpu_internal.h"

/* Rows of y ([rows, n]) set to bias, or zero (memory-bound: serial). */
static void
init_rows(float *y, int64_t rows, int64_t n, const float *bias)
{
  if (!bias) {
    memset(y, 0, (size_t) (rows * n) * sizeof(float));
    return;
  }
  for (int64_t r = 0; r < rows; r++)
    memcpy(y + r * n, bias, (size_t) n * sizeof(float));
}

gboolean
agf_cpu_gemm(const AgfOp *op, GError **error)
{
  const AgfGemmParams *p = &op->p.gemm;
  const AgfTensor *ta = op->in[0], *tb = op->in[1];
  const AgfTensor *tbias = op->n_in > 2 ? op->in[2] : NULL;
  const int64_t ba = ta->ndim == 3 ? ta->shape[0] : 1;
  const int64_t bb = tb->ndim == 3 ? tb->shape[0] : 1;
  const int64_t batch = MAX(ba, bb);
  const int64_t ra = ta->shape[ta->ndim - 2], ca = ta->shape[ta->ndim - 1];
  const int64_t rb = tb->shape[tb->ndim - 2], cb = tb->shape[tb->ndim - 1];
  const int64_t m = p->trans_a ? ca : ra, k = p->trans_a ? ra : ca;
  const int64_t n = p->trans_b ? rb : cb;
  const float alpha = p->alpha == 0.0f ? 1.0f : p->alpha;
  const float *a = agf_cpu_f32(ta), *b = agf_cpu_f32(tb);
  const float *bias = tbias ? agf_cpu_f32(tbias) : NULL;
  float *y = agf_cpu_f32(op->out);

  if (MAX(MAX(m, n), MAX(k, batch * m)) > G_MAXINT) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                "GEMM of %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "x%"
                G_GINT64_FORMAT " exceeds the BLAS index range: split it",
                m, k, n);
    return FALSE;
  }
  if (m == 0 || n == 0)
    return TRUE;
  const CBLAS_TRANSPOSE opa = p->trans_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE opb = p->trans_b ? CblasTrans : CblasNoTrans;
  const int lda = (int) ca, ldb = (int) cb;
  /* The bias is written first and accumulated onto (beta = 1); without
   * one BLAS overwrites (beta = 0). */
  if (bias || k == 0)
    init_rows(y, batch * m, n, bias);
  if (k == 0)
    return TRUE;
  const float beta = bias ? 1.0f : 0.0f;

  /* A batched, B shared and A not transposed: one GEMM with batch*M rows,
   * the linear-layer case, lets BLAS use its best blocking. */
  if (bb == 1 && !p->trans_a) {
    agf_cpu_sgemm(opa, opb, (int) (batch * m), (int) n, (int) k, alpha, a,
                  lda, b, ldb, beta, y, (int) n);
    return TRUE;
  }
  /* Many small products: one whole product per thread; a few large ones
   * are split inside agf_cpu_sgemm instead. Which of the two is decided
   * by the shape alone (a product's result depends on how it is split). */
  const gboolean whole = batch >= 2 && m * n * k < ((int64_t) 1 << 21);
  const int nt = whole ? agf_cpu_threads_for(batch * m * n * k,
                                             (int64_t) 1 << 17)
                       : 1;
  AgfCpuBlasSerial serial;
  agf_cpu_blas_serial_begin(&serial);
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int64_t i = 0; i < batch; i++) {
    const float *ai = a + (ba == 1 ? 0 : i * m * k);
    const float *bi = b + (bb == 1 ? 0 : i * k * n);
    if (whole)
      cblas_sgemm(CblasRowMajor, opa, opb, (int) m, (int) n, (int) k, alpha,
                  ai, lda, bi, ldb, beta, y + i * m * n, (int) n);
    else
      agf_cpu_sgemm(opa, opb, (int) m, (int) n, (int) k, alpha, ai, lda, bi,
                    ldb, beta, y + i * m * n, (int) n);
  }
  agf_cpu_blas_serial_end(&serial);
  return TRUE;
}
