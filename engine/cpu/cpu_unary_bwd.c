/* UNARY_BWD: dx = dy * fn'(x), with PyTorch's conventions where fn has a
 * kink (relu'(0) = 0, abs'(0) = 0, leaky relu: slope a for x <= 0). Built
 * without trapping math, as cpu_elementwise.c, so the selects vectorize. */
#pragma GCC optimize("no-trapping-math")
#include <math.h>
#include "cpu/cpu_internal.h"
#include "cpu/cpu_math.h"

#define PAR_MIN 32768
/* Elements per chunk of the sigmoid-based gradients (a stack buffer) and
 * of GELU's. */
#define CHUNK 2048

#define SQRT_2_OVER_PI 0.79788456080286535588f
#define GELU_KAPPA 0.044715f

/* SIGMOID and SILU from the vectorized sigmoid, a chunk at a time. */
static void
sigmoid_bwd(const float *x, const float *dy, float *dx, int64_t n,
            gboolean silu)
{
  const int64_t chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t c = 0; c < chunks; c++) {
    const int64_t lo = c * CHUNK, len = MIN(CHUNK, n - lo);
    const float *xp = x + lo, *gp = dy + lo;
    float *out = dx + lo;
    float s[CHUNK];
    agf_cpu_sigmoid(xp, s, len, 0);
    if (silu) /* d/dx x s(x) = s (1 + x (1 - s)) */
      for (int64_t i = 0; i < len; i++)
        out[i] = gp[i] * s[i] * (1.0f + xp[i] * (1.0f - s[i]));
    else
      for (int64_t i = 0; i < len; i++)
        out[i] = gp[i] * s[i] * (1.0f - s[i]);
  }
}

/* Exact GELU from the vectorized erfc-based gradient, a chunk per task. */
static void
gelu_bwd(const float *x, const float *dy, float *dx, int64_t n)
{
  const int64_t chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t c = 0; c < chunks; c++) {
    const int64_t lo = c * CHUNK;
    agf_cpu_gelu_grad(x + lo, dy + lo, dx + lo, MIN(CHUNK, n - lo));
  }
}

/* PyTorch's GeluBackward with approximate='tanh'. */
static inline float
gelu_tanh_grad(float v)
{
  const float inner = SQRT_2_OVER_PI * (v + GELU_KAPPA * v * v * v);
  const float t = tanhf(inner);
  const float left = 0.5f * v, right = 1.0f + t;
  return 0.5f * right + left * (1.0f - t * t) * SQRT_2_OVER_PI *
                            (1.0f + 3.0f * GELU_KAPPA * v * v);
}

gboolean
agf_cpu_unary_bwd(const AgfOp *op, GError **error)
{
  const AgfUnaryBwdParams *p = &op->p.unary_bwd;
  const float *x = agf_cpu_f32(op->in[0]), *dy = agf_cpu_f32(op->in[1]);
  float *dx = agf_cpu_f32(op->out);
  const int64_t n = agf_tensor_numel(op->out);
  const float a = p->a;

  if (p->fn == AGF_UNARY_SIGMOID || p->fn == AGF_UNARY_SILU) {
    sigmoid_bwd(x, dy, dx, n, p->fn == AGF_UNARY_SILU);
    return TRUE;
  }
  if (p->fn == AGF_UNARY_GELU) {
    gelu_bwd(x, dy, dx, n);
    return TRUE;
  }

#define BWD_LOOP(expr)                                                        \
  _Pragma("omp parallel for schedule(static) if (n > PAR_MIN)")               \
  for (int64_t i = 0; i < n; i++) {                                           \
    const float v = x[i], g = dy[i];                                          \
    (void) v; /* IDENTITY's gradient does not read x */                       \
    dx[i] = (expr);                                                           \
  }                                                                           \
  break;

  switch (p->fn) {
  case AGF_UNARY_IDENTITY: BWD_LOOP(g * a)
  case AGF_UNARY_RELU: BWD_LOOP(v > 0.0f ? g : 0.0f)
  case AGF_UNARY_LEAKY_RELU: BWD_LOOP(v > 0.0f ? g : g * a)
  case AGF_UNARY_TANH: BWD_LOOP(g * (1.0f - tanhf(v) * tanhf(v)))
  case AGF_UNARY_GELU_TANH: BWD_LOOP(g * gelu_tanh_grad(v))
  case AGF_UNARY_ABS:
    BWD_LOOP(v > 0.0f ? g : v < 0.0f ? -g : 0.0f)
  case AGF_UNARY_EXP: BWD_LOOP(g * expf(v))
  /* From the result, as PyTorch: sqrt'(x) = 1 / (2 sqrt(x)). */
  case AGF_UNARY_SQRT: BWD_LOOP(g / (2.0f * sqrtf(v)))
  case AGF_UNARY_LOG: BWD_LOOP(g / v)
  default:
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "unary_bwd: unknown unary function %d", (int) p->fn);
    return FALSE;
  }
#undef BWD_LOOP
  return TRUE;
}
