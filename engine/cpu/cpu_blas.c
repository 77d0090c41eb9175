/* sgemm split over the backend's OpenMP threads, each running OpenBLAS
 * single-threaded on its own block of C. Keeping one thread pool matters:
 * OpenBLAS's pthreads and libgomp's workers both spin-wait after their
 * work, and when the two pools take turns (every conv followed by a group
 * norm or an activation) each one's idle spinning steals the cores the
 * other needs: measured 3-10x slower on small networks. With every BLAS
 * call made from inside our own regions, OpenBLAS's threads stay asleep. */
#include <omp.h>
#include "cpu/cpu_internal.h"

/* Multiply-adds per thread under which a split costs more than it saves
 * (a region start is a few microseconds; 2^18 madds take about 10). */
#define SPLIT_MADDS ((int64_t) 1 << 18)
/* Blocks of C are multiples of this many rows or columns (kernel widths). */
#define SPLIT_ALIGN 16

int
agf_cpu_threads_for(int64_t work, int64_t per_thread)
{
  const int64_t max = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int64_t t = per_thread > 0 ? work / per_thread : max;
  return (int) CLAMP(t, 1, max);
}

void
agf_cpu_blas_serial_begin(AgfCpuBlasSerial *s)
{
  s->saved = openblas_get_num_threads();
  if (s->saved != 1)
    openblas_set_num_threads(1);
}

void
agf_cpu_blas_serial_end(const AgfCpuBlasSerial *s)
{
  if (s->saved != 1)
    openblas_set_num_threads(s->saved);
}

void
agf_cpu_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k,
              float alpha, const float *a, int lda, const float *b, int ldb,
              float beta, float *c, int ldc)
{
  const int64_t madds = (int64_t) m * n * k;
  /* Split the longer side of C: each block then keeps a full-width panel
   * of the other operand, which BLAS packs once per call. */
  const gboolean by_cols = n >= m;
  const int64_t side = by_cols ? n : m;
  const int nt = MIN(agf_cpu_threads_for(madds, SPLIT_MADDS),
                     (int) MAX(side / SPLIT_ALIGN, 1));
  AgfCpuBlasSerial serial;
  agf_cpu_blas_serial_begin(&serial);
  if (nt <= 1) {
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta,
                c, ldc);
    agf_cpu_blas_serial_end(&serial);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), used = omp_get_num_threads();
    const int64_t chunk = (side + used - 1) / used;
    const int64_t step = (chunk + SPLIT_ALIGN - 1) / SPLIT_ALIGN * SPLIT_ALIGN;
    const int64_t lo = MIN(t * step, side), hi = MIN(lo + step, side);
    if (hi > lo && by_cols) {
      const float *bp = tb == CblasNoTrans ? b + lo : b + lo * ldb;
      cblas_sgemm(CblasRowMajor, ta, tb, m, (int) (hi - lo), k, alpha, a, lda,
                  bp, ldb, beta, c + lo, ldc);
    } else if (hi > lo) {
      const float *ap = ta == CblasNoTrans ? a + lo * lda : a + lo;
      cblas_sgemm(CblasRowMajor, ta, tb, (int) (hi - lo), n, k, alpha, ap,
                  lda, b, ldb, beta, c + lo * ldc, ldc);
    }
  }
  agf_cpu_blas_serial_end(&serial);
}
