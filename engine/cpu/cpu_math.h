/* Vectorized reductions and exp for the CPU kernels (cpu_math.c). Sums run
 * in short float blocks (SIMD lanes) collected in double: as accurate as a
 * plain double loop at our sizes, and several times faster. */
#pragma once
#include <stdint.h>

/* Sum of (x[i] - shift) and of its square, over n values. */
void agf_cpu_sums(const float *x, int64_t n, float shift, double *sum_out,
                  double *sq_out);

/* x[i] = exp(x[i] - shift), within 1 ulp for x[i] - shift >= -87.3 (0
 * below, where expf would be denormal); returns the sum. For softmax-style
 * shifts (x[i] <= shift). */
double agf_cpu_exp_shifted(float *x, int64_t n, float shift);
/* The same without the sum. */
void agf_cpu_exp_shift(float *x, int64_t n, float shift);

/* y = sigmoid(x), or x * sigmoid(x) (SiLU) when times_x, within a few ulp. */
void agf_cpu_sigmoid(const float *x, float *y, int64_t n, int times_x);

/* The exact (erf) GELU y = x Phi(x), and dx = dy * gelu'(x): within 2e-7
 * of the double result absolutely (x Phi(x): relative to max(1, |x|)),
 * vectorized. */
void agf_cpu_gelu(const float *x, float *y, int64_t n);
void agf_cpu_gelu_grad(const float *x, const float *dy, float *dx, int64_t n);
