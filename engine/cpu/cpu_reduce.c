/* REDUCE: sum (in double) or max of x down to a broadcast-compatible shape.
 * The dims are merged into alternating runs of kept and reduced ones, so
 * every case is one of two loops: the innermost run reduced (each output
 * sums contiguous rows) or kept (each output row accumulates rows of x).
 * Sums are blocked the same way whatever the thread count, so a result
 * does not depend on it. */
#pragma GCC optimize("no-trapping-math")
#include <math.h>
#include <string.h>
#include "cpu/cpu_internal.h"
#include "cpu/cpu_math.h"

/* Elements per partial sum of a full reduction (fixed: determinism). */
#define FULL_BLOCK ((int64_t) 1 << 16)
/* Columns of the kept innermost run accumulated at a time. */
#define COL_CHUNK 1024
/* Output tasks under which the reduced rows are split into segments of
 * at least SEG_MIN rows, at most MAX_SEGS of them. */
#define FEW_TASKS 8
#define SEG_MIN 256
#define MAX_SEGS 64

typedef struct {
  int n;                         /* merged runs */
  int64_t size[AGF_MAX_DIMS];
  int64_t stride[AGF_MAX_DIMS];  /* in x, elements */
  gboolean reduced[AGF_MAX_DIMS];
} Runs;

static Runs
merge_runs(const AgfTensor *x, const AgfReduceParams *p)
{
  Runs r = { 0 };
  const int lead = x->ndim - p->ndim;
  for (int d = 0; d < x->ndim; d++) {
    const int64_t xd = x->shape[d];
    if (xd == 1)
      continue; /* neither kept nor reduced: no effect on the layout */
    const gboolean red = d < lead || p->shape[d - lead] == 1;
    if (r.n > 0 && r.reduced[r.n - 1] == red)
      r.size[r.n - 1] *= xd;
    else {
      r.size[r.n] = xd;
      r.reduced[r.n] = red;
      r.n++;
    }
  }
  int64_t s = 1;
  for (int i = r.n - 1; i >= 0; i--) {
    r.stride[i] = s;
    s *= r.size[i];
  }
  return r;
}

/* Offset in x of the idx-th combination of the runs [0, upto) whose
 * reduced flag is `red`, enumerated row-major. */
static int64_t
offset_of(const Runs *r, int upto, gboolean red, int64_t idx)
{
  int64_t off = 0;
  for (int i = upto - 1; i >= 0; i--) {
    if (r->reduced[i] != red)
      continue;
    off += idx % r->size[i] * r->stride[i];
    idx /= r->size[i];
  }
  return off;
}

static int64_t
count_of(const Runs *r, int upto, gboolean red)
{
  int64_t n = 1;
  for (int i = 0; i < upto; i++)
    if (r->reduced[i] == red)
      n *= r->size[i];
  return n;
}

static inline float
max_of(const float *x, int64_t n, float acc)
{
  /* NaN wins, as in PyTorch's amax. */
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    acc = v > acc || v != v ? v : acc;
  }
  return acc;
}

/* Everything reduced to one value: fixed blocks, partials summed in order. */
static gboolean
reduce_all(const float *x, int64_t n, gboolean is_max, float *y,
           GError **error)
{
  const int64_t blocks = (n + FULL_BLOCK - 1) / FULL_BLOCK;
  double *part = g_try_new(double, MAX(blocks, 1));
  if (part == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY,
                "out of host memory for a reduction's partial sums: free "
                "other tensors");
    return FALSE;
  }
#pragma omp parallel for schedule(static) \
    num_threads(agf_cpu_threads_for(n, FULL_BLOCK))
  for (int64_t b = 0; b < blocks; b++) {
    const int64_t lo = b * FULL_BLOCK, len = MIN(FULL_BLOCK, n - lo);
    if (is_max) {
      part[b] = max_of(x + lo, len, -INFINITY);
    } else {
      double s, q;
      agf_cpu_sums(x + lo, len, 0.0f, &s, &q);
      part[b] = s;
    }
  }
  double acc = is_max ? -INFINITY : 0.0;
  for (int64_t b = 0; b < blocks; b++)
    acc = is_max ? (part[b] > acc || isnan(part[b]) ? part[b] : acc)
                 : acc + part[b];
  *y = (float) acc;
  g_free(part);
  return TRUE;
}

/* The innermost run reduced: each output gathers rows of `inner` values. */
static void
reduce_rows(const float *x, const Runs *r, gboolean is_max, float *y,
            int64_t outs)
{
  const int64_t inner = r->size[r->n - 1];
  const int64_t outer_red = count_of(r, r->n - 1, TRUE);
  const int nt = agf_cpu_threads_for(outs * outer_red * inner, 32768);
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int64_t o = 0; o < outs; o++) {
    const int64_t base = offset_of(r, r->n, FALSE, o);
    double acc = is_max ? -INFINITY : 0.0;
    float mx = -INFINITY;
    for (int64_t j = 0; j < outer_red; j++) {
      const float *row = x + base + offset_of(r, r->n - 1, TRUE, j);
      if (is_max) {
        mx = max_of(row, inner, mx);
      } else {
        double s, q;
        agf_cpu_sums(row, inner, 0.0f, &s, &q);
        acc += s;
      }
    }
    y[o] = is_max ? mx : (float) acc;
  }
}

/* The innermost run kept: each output row adds up rows of x. A few wide
 * outputs (a bias gradient: [rows, D] -> [D]) split the reduced rows into
 * segments as well, whose partials are then combined in order. */
static gboolean
reduce_cols(const float *x, const Runs *r, gboolean is_max, float *y,
            int64_t outs, GError **error)
{
  const int64_t inner = r->size[r->n - 1], rows = outs / inner;
  const int64_t chunks = (inner + COL_CHUNK - 1) / COL_CHUNK;
  const int64_t red = count_of(r, r->n - 1, TRUE);
  /* Fixed by the shapes alone, so that results do not depend on threads. */
  const int64_t seg = rows * chunks >= FEW_TASKS ? red
                      : MAX(SEG_MIN, (red + MAX_SEGS - 1) / MAX_SEGS);
  const int64_t nseg = (red + seg - 1) / seg;
  double *part = nseg > 1 ? g_try_new(double, nseg * outs) : NULL;
  if (nseg > 1 && part == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY,
                "out of host memory for a reduction's partial sums: free "
                "other tensors");
    return FALSE;
  }
  const int64_t tasks = rows * chunks * nseg;
  const int nt = agf_cpu_threads_for(outs * red, 32768);
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int64_t t = 0; t < tasks; t++) {
    const int64_t sg = t / (rows * chunks), rc = t % (rows * chunks);
    const int64_t row = rc / chunks, c0 = rc % chunks * COL_CHUNK;
    const int64_t len = MIN(COL_CHUNK, inner - c0);
    const int64_t j0 = sg * seg, j1 = MIN(j0 + seg, red);
    /* The row's kept index, with the innermost run's index at c0. */
    const int64_t base = offset_of(r, r->n, FALSE, row * inner) + c0;
    double acc[COL_CHUNK];
    for (int64_t i = 0; i < len; i++)
      acc[i] = is_max ? -INFINITY : 0.0;
    for (int64_t j = j0; j < j1; j++) {
      const float *src = x + base + offset_of(r, r->n - 1, TRUE, j);
      if (is_max)
        for (int64_t i = 0; i < len; i++)
          acc[i] = src[i] > acc[i] || src[i] != src[i] ? src[i] : acc[i];
      else
        for (int64_t i = 0; i < len; i++)
          acc[i] += src[i];
    }
    const int64_t o = row * inner + c0;
    for (int64_t i = 0; i < len; i++) {
      if (part)
        part[sg * outs + o + i] = acc[i];
      else
        y[o + i] = (float) acc[i];
    }
  }
  if (part) {
    for (int64_t o = 0; o < outs; o++) {
      double acc = part[o];
      for (int64_t sg = 1; sg < nseg; sg++) {
        const double v = part[sg * outs + o];
        acc = is_max ? (v > acc || isnan(v) ? v : acc) : acc + v;
      }
      y[o] = (float) acc;
    }
    g_free(part);
  }
  return TRUE;
}

gboolean
agf_cpu_reduce(const AgfOp *op, GError **error)
{
  const AgfReduceParams *p = &op->p.reduce;
  const AgfTensor *tx = op->in[0];
  const float *x = agf_cpu_f32(tx);
  float *y = agf_cpu_f32(op->out);
  const int64_t n = agf_tensor_numel(tx), outs = agf_tensor_numel(op->out);
  const gboolean is_max = p->fn == AGF_REDUCE_MAX;
  if (p->fn != AGF_REDUCE_SUM && !is_max) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "reduce: unknown reduction %d", (int) p->fn);
    return FALSE;
  }
  if (n == 0 || outs == 0) {
    for (int64_t i = 0; i < outs; i++)
      y[i] = is_max ? -INFINITY : 0.0f;
    return TRUE;
  }
  const Runs r = merge_runs(tx, p);
  if (r.n == 0 || (r.n == 1 && !r.reduced[0])) {
    /* Nothing reduced (only size-1 dims dropped or kept): a copy. */
    memcpy(y, x, (size_t) n * sizeof(float));
    return TRUE;
  }
  if (outs == 1)
    return reduce_all(x, n, is_max, y, error);
  if (!r.reduced[r.n - 1])
    return reduce_cols(x, &r, is_max, y, outs, error);
  reduce_rows(x, &r, is_max, y, outs);
  return TRUE;
}
