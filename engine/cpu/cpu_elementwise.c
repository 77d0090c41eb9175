/* Elementwise ops: strided copy with dtype conversion, fill, activations,
 * broadcasting binary arithmetic and PReLU. Built without trapping math
 * (as cpu_math.c) so that GCC if-converts compare-selects such as PReLU's
 * and vectorizes them; nothing here relies on FP exceptions. */
#pragma GCC optimize("no-trapping-math")
#include <math.h>
#include <string.h>
#include "cpu/cpu_internal.h"
#include "cpu/cpu_math.h"

/* Element counts under which threads cost more than they save. */
#define PAR_MIN 32768

static inline float
load_as_f32(const void *base, int64_t i, AgfDType dt)
{
  switch (dt) {
  case AGF_F16: return agf_f16_to_f32(((const uint16_t *) base)[i]);
  case AGF_U8: return ((const uint8_t *) base)[i];
  default: return ((const float *) base)[i];
  }
}

static inline uint8_t
f32_to_u8(float v)
{
  return (uint8_t) (v <= 0.0f ? 0 : v >= 255.0f ? 255 : (int) (v + 0.5f));
}

static inline void
store_f32(void *base, int64_t i, AgfDType dt, float v)
{
  switch (dt) {
  case AGF_F16: ((uint16_t *) base)[i] = agf_f32_to_f16(v); break;
  case AGF_U8: ((uint8_t *) base)[i] = f32_to_u8(v); break;
  default: ((float *) base)[i] = v; break;
  }
}

/* Walks in0 in logical (row-major) order, writing out densely; out may be
 * of another shape with the same element count (a reshape of a view). */
gboolean
agf_cpu_copy(const AgfOp *op, GError **error)
{
  (void) error;
  const AgfTensor *x = op->in[0];
  AgfTensor *y = op->out;
  const int64_t n = agf_tensor_numel(x);
  const size_t es = agf_dtype_size(x->dtype);
  const char *src = agf_cpu_ptr(x);
  char *dst = agf_cpu_ptr(y);
  if (n == 0)
    return TRUE;
  if (x->dtype == y->dtype && agf_tensor_is_contiguous(x)) {
    memcpy(dst, src, (size_t) n * es);
    return TRUE;
  }
  const int nd = x->ndim;
  const int64_t inner = nd > 0 ? x->shape[nd - 1] : 1;
  const int64_t istride = nd > 0 ? x->stride[nd - 1] : 1;
  const int64_t rows = n / inner;
  const gboolean same = x->dtype == y->dtype;

#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t r = 0; r < rows; r++) {
    int64_t off = 0, rem = r;
    for (int d = nd - 2; d >= 0; d--) {
      off += (rem % x->shape[d]) * x->stride[d];
      rem /= x->shape[d];
    }
    const int64_t o = r * inner;
    if (same) {
      if (es == 4)
        for (int64_t i = 0; i < inner; i++)
          ((uint32_t *) dst)[o + i] = ((const uint32_t *) src)[off + i * istride];
      else if (es == 2)
        for (int64_t i = 0; i < inner; i++)
          ((uint16_t *) dst)[o + i] = ((const uint16_t *) src)[off + i * istride];
      else
        for (int64_t i = 0; i < inner; i++)
          ((uint8_t *) dst)[o + i] = ((const uint8_t *) src)[off + i * istride];
    } else {
      for (int64_t i = 0; i < inner; i++)
        store_f32(dst, o + i, y->dtype, load_as_f32(src, off + i * istride, x->dtype));
    }
  }
  return TRUE;
}

gboolean
agf_cpu_fill(const AgfOp *op, GError **error)
{
  (void) error;
  AgfTensor *y = op->out;
  const int64_t n = agf_tensor_numel(y);
  const float v = op->p.fill.value;
  if (y->dtype == AGF_U8) {
    memset(agf_cpu_ptr(y), f32_to_u8(v), (size_t) n);
    return TRUE;
  }
  float *d = agf_cpu_f32(y);
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++)
    d[i] = v;
  return TRUE;
}

#define SQRT_2_OVER_PI 0.79788456080286535588f

/* Rows of this many elements for the vectorized sigmoid / SiLU / GELU. */
#define SIGMOID_CHUNK 4096

gboolean
agf_cpu_unary(const AgfOp *op, GError **error)
{
  const AgfUnaryParams *p = &op->p.unary;
  const float *x = agf_cpu_f32(op->in[0]);
  float *y = agf_cpu_f32(op->out);
  const int64_t n = agf_tensor_numel(op->out);
  const float a = p->a, b = p->b;

  if (p->fn == AGF_UNARY_SIGMOID || p->fn == AGF_UNARY_SILU) {
    const int64_t chunks = (n + SIGMOID_CHUNK - 1) / SIGMOID_CHUNK;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t c = 0; c < chunks; c++)
      agf_cpu_sigmoid(x + c * SIGMOID_CHUNK, y + c * SIGMOID_CHUNK,
                      MIN(SIGMOID_CHUNK, n - c * SIGMOID_CHUNK),
                      p->fn == AGF_UNARY_SILU);
    return TRUE;
  }
  if (p->fn == AGF_UNARY_GELU) {
    const int64_t chunks = (n + SIGMOID_CHUNK - 1) / SIGMOID_CHUNK;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t c = 0; c < chunks; c++)
      agf_cpu_gelu(x + c * SIGMOID_CHUNK, y + c * SIGMOID_CHUNK,
                   MIN(SIGMOID_CHUNK, n - c * SIGMOID_CHUNK));
    return TRUE;
  }

#define UNARY_LOOP(expr)                                                      \
  _Pragma("omp parallel for schedule(static) if (n > PAR_MIN)")               \
  for (int64_t i = 0; i < n; i++) {                                           \
    const float v = x[i];                                                     \
    y[i] = (expr);                                                            \
  }                                                                           \
  break;

  switch (p->fn) {
  case AGF_UNARY_IDENTITY: UNARY_LOOP(a * v + b)
  case AGF_UNARY_RELU: UNARY_LOOP(v > 0.0f ? v : 0.0f)
  case AGF_UNARY_LEAKY_RELU: UNARY_LOOP(v > 0.0f ? v : a * v)
  case AGF_UNARY_TANH: UNARY_LOOP(tanhf(v))
  case AGF_UNARY_GELU_TANH:
    UNARY_LOOP(0.5f * v * (1.0f + tanhf(SQRT_2_OVER_PI * (v + 0.044715f * v * v * v))))
  case AGF_UNARY_ABS: UNARY_LOOP(fabsf(v))
  case AGF_UNARY_EXP: UNARY_LOOP(expf(v))
  case AGF_UNARY_SQRT: UNARY_LOOP(sqrtf(v))
  case AGF_UNARY_LOG: UNARY_LOOP(logf(v))
  default:
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "unknown unary function %d", (int) p->fn);
    return FALSE;
  }
#undef UNARY_LOOP
  return TRUE;
}

/* Strides (in elements) of t broadcast to out's shape: 0 along the dims t
 * lacks or has as 1. */
static void
broadcast_strides(const AgfTensor *t, const AgfTensor *out, int64_t *st)
{
  const int shift = out->ndim - t->ndim;
  int64_t s = 1;
  for (int d = out->ndim - 1; d >= 0; d--) {
    const int td = d - shift;
    if (td < 0 || t->shape[td] == 1) {
      st[d] = 0;
    } else {
      st[d] = s;
      s *= t->shape[td];
    }
  }
}

static inline float
binary_apply(AgfBinaryFn fn, float a, float b)
{
  switch (fn) {
  case AGF_BINARY_ADD: return a + b;
  case AGF_BINARY_SUB: return a - b;
  case AGF_BINARY_MUL: return a * b;
  default: return a / b;
  }
}

gboolean
agf_cpu_binary(const AgfOp *op, GError **error)
{
  const AgfBinaryFn fn = op->p.binary.fn;
  if ((unsigned) fn >= AGF_BINARY_COUNT) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "unknown binary function %d", (int) fn);
    return FALSE;
  }
  const AgfTensor *ta = op->in[0], *tb = op->in[1];
  AgfTensor *ty = op->out;
  const float *a = agf_cpu_f32(ta), *b = agf_cpu_f32(tb);
  float *y = agf_cpu_f32(ty);
  const int64_t n = agf_tensor_numel(ty);
  const int nd = ty->ndim;
  if (n == 0)
    return TRUE;

  int64_t sa[AGF_MAX_DIMS], sb[AGF_MAX_DIMS];
  broadcast_strides(ta, ty, sa);
  broadcast_strides(tb, ty, sb);
  const int64_t inner = nd > 0 ? ty->shape[nd - 1] : 1;
  const int64_t ia = nd > 0 ? sa[nd - 1] : 0, ib = nd > 0 ? sb[nd - 1] : 0;
  const int64_t rows = n / inner;

#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t r = 0; r < rows; r++) {
    int64_t oa = 0, ob = 0, rem = r;
    for (int d = nd - 2; d >= 0; d--) {
      const int64_t idx = rem % ty->shape[d];
      rem /= ty->shape[d];
      oa += idx * sa[d];
      ob += idx * sb[d];
    }
    const float *pa = a + oa, *pb = b + ob;
    float *py = y + r * inner;
    /* Loops split by kind and by which side is broadcast along the row
     * (stride 0), so that each one vectorizes. */
#define BINARY_ROW(A, B)                                                      \
  switch (fn) {                                                               \
  case AGF_BINARY_ADD: for (int64_t i = 0; i < inner; i++) py[i] = A + B; break; \
  case AGF_BINARY_SUB: for (int64_t i = 0; i < inner; i++) py[i] = A - B; break; \
  case AGF_BINARY_MUL: for (int64_t i = 0; i < inner; i++) py[i] = A * B; break; \
  default: for (int64_t i = 0; i < inner; i++) py[i] = A / B; break;          \
  }
    if (ia == 1 && ib == 1) {
      BINARY_ROW(pa[i], pb[i])
    } else if (ia == 1 && ib == 0) {
      const float bv = pb[0];
      BINARY_ROW(pa[i], bv)
    } else if (ia == 0 && ib == 1) {
      const float av = pa[0];
      BINARY_ROW(av, pb[i])
    } else {
      for (int64_t i = 0; i < inner; i++)
        py[i] = binary_apply(fn, pa[i * ia], pb[i * ib]);
    }
#undef BINARY_ROW
  }
  return TRUE;
}

gboolean
agf_cpu_prelu(const AgfOp *op, GError **error)
{
  (void) error;
  const AgfTensor *tx = op->in[0], *tw = op->in[1];
  const float *x = agf_cpu_f32(tx), *w = agf_cpu_f32(tw);
  float *y = agf_cpu_f32(op->out);
  /* PyTorch: the channel dim is dim 1; below 2 dims there is one channel. */
  const int64_t outer = tx->ndim >= 2 ? tx->shape[0] : 1;
  const int64_t channels = tx->ndim >= 2 ? tx->shape[1] : 1;
  const int64_t inner = tx->ndim >= 2 ? agf_cpu_dims(tx, 2, tx->ndim)
                                      : agf_tensor_numel(tx);
  const gboolean shared = agf_tensor_numel(tw) == 1;
  const int64_t planes = outer * channels;

#pragma omp parallel for schedule(static) if (planes * inner > PAR_MIN)
  for (int64_t pl = 0; pl < planes; pl++) {
    const float s = w[shared ? 0 : pl % channels];
    const float *px = x + pl * inner;
    float *py = y + pl * inner;
    for (int64_t i = 0; i < inner; i++) {
      const float v = px[i], neg = s * v;
      py[i] = v > 0.0f ? v : neg;
    }
  }
  return TRUE;
}
