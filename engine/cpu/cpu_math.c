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

double
agf_cpu_exp_shifted(float *x, int64_t n, float shift)
{
  double sum = 0.0;
  for (int64_t b = 0; b < n; b += SUM_BLOCK) {
    const int64_t e = b + SUM_BLOCK < n ? b + SUM_BLOCK : n;
    for (int64_t i = b; i < e; i++)
      x[i] = exp_poly(x[i] - shift);
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
