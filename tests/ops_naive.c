/* Naive references in double precision, written from the definitions in
 * op.h and nothing else, to check the CPU backend (which the Vulkan tests
 * then trust). */
#include <math.h>
#include "ops_cases.h"

static float *naive_gemm(const OpCase *c, float *const *in, int64_t *numel)
{
  const OpInput *A = &c->in[0], *B = &c->in[1];
  const AgfGemmParams *p = &c->op.p.gemm;
  int a3 = A->ndim == 3, b3 = B->ndim == 3;
  int64_t ba = a3 ? A->shape[0] : 1, bb = b3 ? B->shape[0] : 1;
  int64_t ar = A->shape[a3], ac = A->shape[a3 + 1];
  int64_t br = B->shape[b3], bc = B->shape[b3 + 1];
  int64_t M = p->trans_a ? ac : ar, K = p->trans_a ? ar : ac;
  int64_t N = p->trans_b ? br : bc;
  int64_t batch = MAX(ba, bb);
  double alpha = p->alpha == 0 ? 1 : p->alpha;
  const float *bias = c->op.n_in > 2 && c->in[2].ndim ? in[2] : NULL;
  float *out = g_new(float, batch * M * N);
  for (int64_t s = 0; s < batch; s++) {
    const float *a = in[0] + (ba == 1 ? 0 : s) * ar * ac;
    const float *b = in[1] + (bb == 1 ? 0 : s) * br * bc;
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double acc = 0;
        for (int64_t k = 0; k < K; k++)
          acc += (double)(p->trans_a ? a[k * ac + i] : a[i * ac + k]) *
                 (p->trans_b ? b[j * bc + k] : b[k * bc + j]);
        out[(s * M + i) * N + j] = (float)(alpha * acc + (bias ? bias[j] : 0));
      }
  }
  *numel = batch * M * N;
  return out;
}

static float *naive_conv2d(const OpCase *c, float *const *in, int64_t *numel)
{
  const int64_t *xs = c->in[0].shape, *ws = c->in[1].shape;
  const AgfConv2dParams *p = &c->op.p.conv;
  int sh = p->stride_h ? p->stride_h : 1, sw = p->stride_w ? p->stride_w : 1;
  int dh = p->dil_h ? p->dil_h : 1, dw = p->dil_w ? p->dil_w : 1;
  int g = p->groups ? p->groups : 1;
  int64_t N = xs[0], Ci = xs[1], H = xs[2], W = xs[3];
  int64_t Co = ws[0], Cg = ws[1], KH = ws[2], KW = ws[3];
  int64_t Ho = (H + p->pad_top + p->pad_bottom - dh * (KH - 1) - 1) / sh + 1;
  int64_t Wo = (W + p->pad_left + p->pad_right - dw * (KW - 1) - 1) / sw + 1;
  int64_t co_per_g = Co / g;
  const float *bias = c->op.n_in > 2 && c->in[2].ndim ? in[2] : NULL;
  float *out = g_new(float, N * Co * Ho * Wo);
  for (int64_t n = 0; n < N; n++)
    for (int64_t o = 0; o < Co; o++)
      for (int64_t y = 0; y < Ho; y++)
        for (int64_t x = 0; x < Wo; x++) {
          double acc = bias ? bias[o] : 0;
          int64_t gi = o / co_per_g;
          for (int64_t ci = 0; ci < Cg; ci++)
            for (int64_t ky = 0; ky < KH; ky++)
              for (int64_t kx = 0; kx < KW; kx++) {
                int64_t iy = y * sh - p->pad_top + ky * dh;
                int64_t ix = x * sw - p->pad_left + kx * dw;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                  continue;
                acc += (double)in[0][((n * Ci + gi * Cg + ci) * H + iy) * W + ix] *
                       in[1][((o * Cg + ci) * KH + ky) * KW + kx];
              }
          out[((n * Co + o) * Ho + y) * Wo + x] = (float)acc;
        }
  *numel = N * Co * Ho * Wo;
  return out;
}

/* softmax(scale * Q K^T) V per batch and head, the full matrix in memory. */
static float *naive_attention(const OpCase *c, float *const *in, int64_t *numel)
{
  int H = c->op.p.attention.n_heads;
  int64_t B = c->in[0].shape[0], Lq = c->in[0].shape[1], Lk = c->in[1].shape[1];
  int64_t D = c->in[0].shape[2] / H, Dv = c->in[2].shape[2] / H;
  double scale = c->op.p.attention.scale ? c->op.p.attention.scale : 1 / sqrt((double)D);
  const float *q = in[0], *k = in[1], *v = in[2];
  float *out = g_new(float, B * Lq * H * Dv);
  double *s = g_new(double, Lk);
  for (int64_t b = 0; b < B; b++)
    for (int h = 0; h < H; h++)
      for (int64_t i = 0; i < Lq; i++) {
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j < Lk; j++) {
          double d = 0;
          for (int64_t e = 0; e < D; e++)
            d += (double)q[(b * Lq + i) * H * D + h * D + e] *
                 k[(b * Lk + j) * H * D + h * D + e];
          s[j] = d * scale;
          mx = MAX(mx, s[j]);
        }
        for (int64_t j = 0; j < Lk; j++)
          sum += s[j] = exp(s[j] - mx);
        for (int64_t e = 0; e < Dv; e++) {
          double acc = 0;
          for (int64_t j = 0; j < Lk; j++)
            acc += s[j] * v[(b * Lk + j) * H * Dv + h * Dv + e];
          out[(b * Lq + i) * H * Dv + h * Dv + e] = (float)(acc / sum);
        }
      }
  g_free(s);
  *numel = B * Lq * H * Dv;
  return out;
}

float *agf_naive_run(const OpCase *c, float *const *in, int64_t *numel)
{
  switch (c->op.kind) {
  case AGF_OP_GEMM: return naive_gemm(c, in, numel);
  case AGF_OP_CONV2D: return naive_conv2d(c, in, numel);
  case AGF_OP_ATTENTION: return naive_attention(c, in, numel);
  default: return NULL;
  }
}
