/* sgemm split over the backend's OpenMP threads, each running OpenBLAS
 * single-threaded on its own block of C. Keeping one thread pool matters:
 * OpenBLAS's pthreads and libgomp's workers both spin-wait after their
 * work, and when the two pools take turns (every conv followed by a group
 * norm or an activation) each one's idle spinning steals the cores the
 * other needs: measured 3-10x slower on small networks. With every BLAS
 * call made from inside our own regions, OpenBLAS's threads stay asleep. */
#include <omp.h>
#include <unistd.h>
#include "cpu/cpu_internal.h"

/* Multiply-adds per thread under which a split costs more than it saves
 * (a region start is a few microseconds; 2^18 madds take about 10). */
#define SPLIT_MADDS ((int64_t) 1 << 18)
/* Blocks of C are multiples of this many rows or columns (kernel widths). */
#define SPLIT_ALIGN 16
/* A product is cut into blocks of at least BLOCK_MADDS multiply-adds and
 * BLOCK_SIDE rows or columns, at most one per processor of the machine
 * (agf_cpu_split_cap). Every block is one BLAS call that repacks the
 * operand all blocks share, so blocks beyond the team size cost time
 * (measured on 2 cores, 1024^3: 2 blocks on one thread 4% slower than one
 * call; 32 blocks 24% slower than 2). */
#define BLOCK_MADDS ((int64_t) 1 << 18)
#define BLOCK_SIDE 16
#define MAX_BLOCKS 64

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

/* One sgemm call and the side of C it is cut along. */
typedef struct {
  CBLAS_TRANSPOSE ta, tb;
  int m, n, k, lda, ldb, ldc;
  float alpha, beta;
  const float *a, *b;
  float *c;
  gboolean by_cols;
} Sgemm;

/* Rows (or columns) [lo, hi) of C. */
static void
sgemm_block(const Sgemm *g, int64_t lo, int64_t hi)
{
  if (g->by_cols) {
    const float *bp = g->tb == CblasNoTrans ? g->b + lo : g->b + lo * g->ldb;
    cblas_sgemm(CblasRowMajor, g->ta, g->tb, g->m, (int) (hi - lo), g->k,
                g->alpha, g->a, g->lda, bp, g->ldb, g->beta, g->c + lo,
                g->ldc);
  } else {
    const float *ap = g->ta == CblasNoTrans ? g->a + lo * g->lda : g->a + lo;
    cblas_sgemm(CblasRowMajor, g->ta, g->tb, (int) (hi - lo), g->n, g->k,
                g->alpha, ap, g->lda, g->b, g->ldb, g->beta,
                g->c + lo * g->ldc, g->ldc);
  }
}

/* Where block i of `blocks` along a side starts: evenly spread, on a
 * multiple of SPLIT_ALIGN (the side's end for i == blocks). */
static int64_t
block_start(int64_t side, int64_t blocks, int64_t i)
{
  return i >= blocks ? side : side * i / blocks / SPLIT_ALIGN * SPLIT_ALIGN;
}

int
agf_cpu_split_cap(void)
{
  static gsize cap = 0;
  if (g_once_init_enter(&cap)) {
    const long n = sysconf(_SC_NPROCESSORS_CONF);
    g_once_init_leave(&cap, (gsize) CLAMP(n, 1, MAX_BLOCKS));
  }
  return (int) cap;
}

/* The blocks come from the shape and the machine, never from the team
 * size: OpenBLAS picks its kernels (direct, small-matrix, packed) and their
 * edge handling from each call's sizes, so one element of C computed by
 * calls of different sizes can round differently. With fixed blocks every
 * team size makes the same calls, and results are bit-identical. (Another
 * machine may round differently anyway: OpenBLAS picks kernels per CPU.) */
void
agf_cpu_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k,
              float alpha, const float *a, int lda, const float *b, int ldb,
              float beta, float *c, int ldc)
{
  const int64_t madds = (int64_t) m * n * k;
  /* Split the longer side of C: each block then keeps a full-width panel
   * of the other operand, which BLAS packs once per call. */
  const Sgemm g = { ta, tb, m, n, k, lda, ldb, ldc, alpha, beta, a, b, c,
                    n >= m };
  const int64_t side = g.by_cols ? n : m;
  /* One block per processor when there is work enough; else a power of
   * two, so that teams of 1, 2 and 4 still get equal shares. */
  const int64_t most = MIN(madds / BLOCK_MADDS, side / BLOCK_SIDE);
  int64_t blocks = agf_cpu_split_cap();
  if (most < blocks)
    for (blocks = 1; blocks * 2 <= most;)
      blocks *= 2;
  const int nt = MIN(agf_cpu_threads_for(madds, SPLIT_MADDS), (int) blocks);
  AgfCpuBlasSerial serial;
  agf_cpu_blas_serial_begin(&serial);
  if (nt <= 1) { /* no team at all: inside a region, one costs microseconds */
    for (int64_t blk = 0; blk < blocks; blk++)
      sgemm_block(&g, block_start(side, blocks, blk),
                  block_start(side, blocks, blk + 1));
  } else {
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t blk = 0; blk < blocks; blk++)
      sgemm_block(&g, block_start(side, blocks, blk),
                  block_start(side, blocks, blk + 1));
  }
  agf_cpu_blas_serial_end(&serial);
}
