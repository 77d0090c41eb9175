/* Vectorized reductions and exp (cpu_math.h). Built without trapping math:
 * GCC will not if-convert the clamps of the exp otherwise, and these loops
 * stay scalar (4x slower on SSE2). Nothing here relies on FP exceptions.
 * No FMA contraction either, so that the AVX clones below round exactly
 * like the SSE2 build. */
#pragma GCC optimize("no-trapping-math", "fp-contract=off")
#include "cpu/cpu_math.h"

#define SUM_BLOCK 64

void
agf_cpu_sums(const float *x, int64_t n, float shift, double *sum_out,
             double *sq_out)
{
  double sum = 0.0, sq = 0.0;
  for (int64_t b = 0; b < n; b += SUM_BLOCK) {
    const int64_t e = b + SUM_BLOCK < n ? b + SUM_BLOCK : n;
    float s = 0.0f, q = 0.0f;
#pragma omp simd reduction(+ : s, q)
    for (int64_t i = b; i < e; i++) {
      const float d = x[i] - shift;
      s += d;
      q += d * d;
    }
    sum += s;
    sq += q;
  }
  *sum_out = sum;
  *sq_out = sq;
}

/* exp(v) within 1 ulp for -87.3 <= v <= 88 (Cephes' polynomial); 0 below,
 * exp(88) above. Branch-free so that loops vectorize. */
static inline float
exp_poly(float v)
{
  const float x = v < 88.0f ? v : 88.0f;
  /* n = round(x / ln 2) by the 1.5 * 2^23 trick, r = x - n ln 2 in two
   * steps for precision. */
  const float t = x * 1.44269504088896341f + 12582912.0f;
  const float n = t - 12582912.0f;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  /* 2^n from its exponent bits; a union (not memcpy) keeps it vectorizable. */
  union { int32_t i; float f; } scale = { .i = ((int32_t) n + 127) << 23 };
  return x < -87.3f ? 0.0f : p * scale.f;
}

/* Elementwise, so cloned as agf_cpu_sigmoid below (every clone gives the
 * same bits); the sum of agf_cpu_exp_shifted stays in one order. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void
agf_cpu_exp_shift(float *x, int64_t n, float shift)
{
  for (int64_t i = 0; i < n; i++)
    x[i] = exp_poly(x[i] - shift);
}

double
agf_cpu_exp_shifted(float *x, int64_t n, float shift)
{
  agf_cpu_exp_shift(x, n, shift);
  double sum = 0.0;
  for (int64_t b = 0; b < n; b += SUM_BLOCK) {
    const int64_t e = b + SUM_BLOCK < n ? b + SUM_BLOCK : n;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t i = b; i < e; i++)
      s += x[i];
    sum += s;
  }
  return sum;
}

/* Also built for AVX-512 and AVX2 (x86-64-v4/v3), picked at load time:
 * the exp polynomial is the whole cost of SiLU and the baseline build is
 * SSE2 only (1.5 -> 0.4 ns per value). Elementwise and uncontracted, so
 * every clone gives the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void
agf_cpu_sigmoid(const float *x, float *y, int64_t n, int times_x)
{
  /* exp_poly clamps at exp(88): sigmoid(x < -88) comes out ~6e-39, not 0. */
  if (times_x)
    for (int64_t i = 0; i < n; i++)
      y[i] = x[i] / (1.0f + exp_poly(-x[i]));
  else
    for (int64_t i = 0; i < n; i++)
      y[i] = 1.0f / (1.0f + exp_poly(-x[i]));
}

/* erfc(z) = t exp(-z^2) P(t) with t = 1 / (1 + z/2), z >= 0: P is a
 * degree-10 fit of erfc(z) e^(z^2) / t over z in [0, 10] (relative error
 * 2e-7 in float; beyond 9.4, exp(-z^2) is 0 in float anyway). */
static inline float
erfc_poly_t(float t)
{
  float p = 3.590901569e-02f;
  p = p * t - 1.911368519e-01f;
  p = p * t + 3.798016310e-01f;
  p = p * t - 2.844060659e-01f;
  p = p * t - 2.945888229e-02f;
  p = p * t + 4.170156270e-02f;
  p = p * t + 5.158388987e-02f;
  p = p * t + 1.866806000e-01f;
  p = p * t + 2.449610680e-01f;
  p = p * t + 2.822766602e-01f;
  p = p * t + 2.820873857e-01f;
  return p;
}

/* Phi(v) = erfc(-v / sqrt 2) / 2, and exp(-v^2 / 2) in *e (phi(v) up to
 * 1 / sqrt(2 pi)), from one exp. Taking erfc of |v| and reflecting keeps
 * the negative tail relative-accurate (no 1 + erf(v) cancellation). */
static inline float
normal_cdf(float v, float *e)
{
  const float z = (v < 0.0f ? -v : v) * 0.70710678118654752f;
  const float t = 1.0f / (1.0f + 0.5f * z);
  *e = exp_poly(-0.5f * v * v); /* exp(-z^2) */
  const float half_erfc = 0.5f * t * *e * erfc_poly_t(t);
  return v < 0.0f ? half_erfc : 1.0f - half_erfc;
}

/* GELU and its gradient: vectorized and cloned as agf_cpu_sigmoid; the
 * libm erff they replace kept these loops scalar (20 -> 1.2 ns a value). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void
agf_cpu_gelu(const float *x, float *y, int64_t n)
{
  for (int64_t i = 0; i < n; i++) {
    float e;
    y[i] = x[i] * normal_cdf(x[i], &e);
  }
}

/* d/dx x Phi(x) = Phi(x) + x phi(x) */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void
agf_cpu_gelu_grad(const float *x, const float *dy, float *dx, int64_t n)
{
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    float e;
    const float cdf = normal_cdf(v, &e);
    dx[i] = dy[i] * (cdf + v * 0.39894228040143267794f * e);
  }
}
