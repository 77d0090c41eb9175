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

/* --- training kinds --- */

static int64_t numel_of(const OpInput *in)
{
  int64_t n = 1;
  for (int d = 0; d < in->ndim; d++)
    n *= in->shape[d];
  return n;
}

/* Every x element added to (or maxed into) the output element it maps to:
 * x's index with the target's size-1 dims (and x's extra leading dims)
 * set to 0. */
static float *naive_reduce(const OpCase *c, float *const *in, int64_t *numel)
{
  const AgfReduceParams *p = &c->op.p.reduce;
  const OpInput *x = &c->in[0];
  const int lead = x->ndim - p->ndim;
  int64_t nout = 1;
  for (int d = 0; d < p->ndim; d++)
    nout *= p->shape[d];
  const gboolean mx = p->fn == AGF_REDUCE_MAX;
  double *acc = g_new(double, nout);
  for (int64_t o = 0; o < nout; o++)
    acc[o] = mx ? -INFINITY : 0;
  const int64_t n = numel_of(x);
  for (int64_t i = 0; i < n; i++) {
    int64_t rem = i, o = 0, ostride = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
      const int64_t idx = rem % x->shape[d];
      rem /= x->shape[d];
      if (d >= lead && p->shape[d - lead] != 1) {
        o += idx * ostride;
        ostride *= p->shape[d - lead];
      }
    }
    acc[o] = mx ? MAX(acc[o], in[0][i]) : acc[o] + in[0][i];
  }
  float *out = g_new(float, nout);
  for (int64_t o = 0; o < nout; o++)
    out[o] = (float)acc[o];
  g_free(acc);
  *numel = nout;
  return out;
}

static double unary_grad(const AgfUnaryParams *p, double x)
{
  const double k = sqrt(2 / G_PI), s = 1 / (1 + exp(-x));
  switch (p->fn) {
  case AGF_UNARY_IDENTITY: return p->a;
  case AGF_UNARY_RELU: return x > 0;
  case AGF_UNARY_LEAKY_RELU: return x > 0 ? 1 : p->a;
  case AGF_UNARY_SIGMOID: return s * (1 - s);
  case AGF_UNARY_TANH: return 1 - tanh(x) * tanh(x);
  case AGF_UNARY_SILU: return s + x * s * (1 - s);
  case AGF_UNARY_GELU:
    return 0.5 * (1 + erf(x / sqrt(2))) + x * exp(-x * x / 2) / sqrt(2 * G_PI);
  case AGF_UNARY_GELU_TANH: {
    const double u = k * (x + 0.044715 * x * x * x), t = tanh(u);
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
  }
  case AGF_UNARY_ABS: return (x > 0) - (x < 0);
  case AGF_UNARY_EXP: return exp(x);
  case AGF_UNARY_SQRT: return 0.5 / sqrt(x);
  case AGF_UNARY_LOG: return 1 / x;
  default: return NAN;
  }
}

static float *naive_unary_bwd(const OpCase *c, float *const *in, int64_t *numel)
{
  const int64_t n = numel_of(&c->in[0]);
  float *out = g_new(float, n);
  for (int64_t i = 0; i < n; i++)
    out[i] = (float)(in[1][i] * unary_grad(&c->op.p.unary_bwd, in[0][i]));
  *numel = n;
  return out;
}

/* Both conv gradients from the forward's sum, term by term: dx gathers
 * dy * w, dw gathers dy * x, over every (output pixel, tap) pair. */
static float *naive_conv_bwd(const OpCase *c, float *const *in, int64_t *numel)
{
  const AgfConv2dBwdParams *p = &c->op.p.conv_bwd;
  const gboolean data = c->op.kind == AGF_OP_CONV2D_BWD_DATA;
  const OpInput *dyi = &c->in[data ? 0 : 1];
  const int g = p->conv.groups ? p->conv.groups : 1;
  const int sh = p->conv.stride_h ? p->conv.stride_h : 1;
  const int sw = p->conv.stride_w ? p->conv.stride_w : 1;
  const int dh = p->conv.dil_h ? p->conv.dil_h : 1;
  const int dw = p->conv.dil_w ? p->conv.dil_w : 1;
  const int64_t N = dyi->shape[0], Co = dyi->shape[1];
  const int64_t Ho = dyi->shape[2], Wo = dyi->shape[3];
  const int64_t Cg = data ? c->in[1].shape[1] : c->in[0].shape[1] / g;
  const int64_t H = data ? p->h : c->in[0].shape[2];
  const int64_t W = data ? p->w : c->in[0].shape[3];
  const int64_t KH = data ? c->in[1].shape[2] : p->h;
  const int64_t KW = data ? c->in[1].shape[3] : p->w;
  const int64_t Ci = Cg * g, cog = Co / g;
  const float *dy = in[data ? 0 : 1], *other = in[data ? 1 : 0];
  const int64_t n_out = data ? N * Ci * H * W : Co * Cg * KH * KW;
  double *acc = g_new0(double, n_out);
  for (int64_t n = 0; n < N; n++)
    for (int64_t o = 0; o < Co; o++)
      for (int64_t ci = 0; ci < Cg; ci++)
        for (int64_t ky = 0; ky < KH; ky++)
          for (int64_t kx = 0; kx < KW; kx++)
            for (int64_t y = 0; y < Ho; y++)
              for (int64_t x = 0; x < Wo; x++) {
                const int64_t iy = y * sh - p->conv.pad_top + ky * dh;
                const int64_t ix = x * sw - p->conv.pad_left + kx * dw;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                  continue;
                const int64_t xi = ((n * Ci + o / cog * Cg + ci) * H + iy) * W + ix;
                const int64_t wi = ((o * Cg + ci) * KH + ky) * KW + kx;
                const double gy = dy[((n * Co + o) * Ho + y) * Wo + x];
                if (data)
                  acc[xi] += gy * other[wi];
                else
                  acc[wi] += gy * other[xi];
              }
  float *out = g_new(float, n_out);
  for (int64_t i = 0; i < n_out; i++)
    out[i] = (float)acc[i];
  g_free(acc);
  *numel = n_out;
  return out;
}

/* Mean and biased variance of the elements at x[base + i*stride + j],
 * i < outer, j < inner. */
static void moments(const float *x, int64_t base, int64_t outer,
                    int64_t stride, int64_t inner, double *mean, double *var)
{
  double s = 0, q = 0;
  for (int64_t i = 0; i < outer; i++)
    for (int64_t j = 0; j < inner; j++)
      s += x[base + i * stride + j];
  *mean = s / (double)(outer * inner);
  for (int64_t i = 0; i < outer; i++)
    for (int64_t j = 0; j < inner; j++) {
      const double d = x[base + i * stride + j] - *mean;
      q += d * d;
    }
  *var = q / (double)(outer * inner);
}

static float *naive_norm_stats(const OpCase *c, float *const *in, int64_t *numel)
{
  const OpInput *x = &c->in[0];
  const int64_t N = x->shape[0], C = x->shape[1], S = numel_of(x) / (N * C);
  float *out = g_new(float, 2 * C);
  for (int64_t ch = 0; ch < C; ch++) {
    double mean, var;
    moments(in[0], ch * S, N, C * S, S, &mean, &var);
    out[ch] = (float)mean;
    out[C + ch] = (float)var;
  }
  *numel = 2 * C;
  return out;
}

/* Group norm: blocks of one group of one sample, gamma per channel; layer
 * norm: rows of the last dim, gamma per column. Gradients of
 * y = gamma * (x - mean) / sqrt(var + eps) from the chain rule. */
static float *naive_norm_bwd(const OpCase *c, float *const *in, int64_t *numel)
{
  const AgfNormBwdParams *p = &c->op.p.norm_bwd;
  const OpInput *x = &c->in[0];
  const gboolean group = p->kind == AGF_NORM_GROUP;
  const int64_t n = numel_of(x);
  const int64_t C = group ? x->shape[1] : x->shape[x->ndim - 1];
  const int64_t G = group ? p->groups : 1;
  const int64_t len = group ? n / x->shape[0] / G : C; /* a block */
  const int64_t run = group ? len / (C / G) : 1;      /* per gamma entry */
  const float *gamma = c->op.n_in > 2 && c->in[2].ndim ? in[2] : NULL;
  const gboolean dgamma = p->which == AGF_NORM_GRAD_GAMMA;
  double *acc = g_new0(double, dgamma ? C : n);
  for (int64_t b = 0; b < n / len; b++) {
    const int64_t base = b * len;
    double mean, var;
    moments(in[0], base, 1, 0, len, &mean, &var);
    const double rstd = 1 / sqrt(var + p->eps);
    double sg = 0, sgx = 0;
    for (int64_t i = 0; i < len; i++) {
      const int64_t ch = group ? (b % G) * (C / G) + i / run : i;
      const double xh = (in[0][base + i] - mean) * rstd;
      const double gy = in[1][base + i] * (gamma ? gamma[ch] : 1.0);
      if (dgamma)
        acc[ch] += in[1][base + i] * xh;
      sg += gy;
      sgx += gy * xh;
    }
    for (int64_t i = 0; i < len && !dgamma; i++) {
      const int64_t ch = group ? (b % G) * (C / G) + i / run : i;
      const double xh = (in[0][base + i] - mean) * rstd;
      const double gy = in[1][base + i] * (gamma ? gamma[ch] : 1.0);
      acc[base + i] = rstd * (gy - sg / len - xh * sgx / len);
    }
  }
  const int64_t nout = dgamma ? C : n;
  float *out = g_new(float, nout);
  for (int64_t i = 0; i < nout; i++)
    out[i] = (float)acc[i];
  g_free(acc);
  *numel = nout;
  return out;
}

/* The whole score matrix of each (batch, head) in double. */
static float *naive_attention_bwd(const OpCase *c, float *const *in, int64_t *numel)
{
  const AgfAttentionBwdParams *p = &c->op.p.attention_bwd;
  const int64_t H = p->n_heads, B = c->in[0].shape[0];
  const int64_t Lq = c->in[0].shape[1], Lk = c->in[1].shape[1];
  const int64_t D = c->in[0].shape[2] / H, Dv = c->in[2].shape[2] / H;
  const double scale = p->scale ? p->scale : 1 / sqrt((double)D);
  const float *q = in[0], *k = in[1], *v = in[2], *o = in[3], *dO = in[4];
  /* KV rows hold dk [H*D] then dv [H*Dv]. */
  const gboolean kv = p->which == AGF_ATTN_GRAD_KV;
  const int64_t nout = p->which == AGF_ATTN_GRAD_STATS ? B * H * Lq * 2
                       : p->which == AGF_ATTN_GRAD_V   ? B * Lk * H * Dv
                       : p->which == AGF_ATTN_GRAD_K   ? B * Lk * H * D
                       : kv ? B * Lk * H * (D + Dv)
                            : B * Lq * H * D;
  double *acc = g_new0(double, nout);
  double *P = g_new(double, Lq * Lk), *dS = g_new(double, Lq * Lk);
#define Q(i, e) q[(b * Lq + (i)) * H * D + h * D + (e)]
#define K(j, e) k[(b * Lk + (j)) * H * D + h * D + (e)]
#define V(j, e) v[(b * Lk + (j)) * H * Dv + h * Dv + (e)]
#define QO(t, i, e) t[(b * Lq + (i)) * H * Dv + h * Dv + (e)]
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < H; h++)
      for (int64_t i = 0; i < Lq; i++) {
        double mx = -INFINITY, sum = 0, Di = 0;
        for (int64_t j = 0; j < Lk; j++) {
          double s = 0;
          for (int64_t e = 0; e < D; e++)
            s += (double)Q(i, e) * K(j, e);
          P[i * Lk + j] = s * scale;
          mx = MAX(mx, s * scale);
        }
        for (int64_t j = 0; j < Lk; j++)
          sum += exp(P[i * Lk + j] - mx);
        for (int64_t e = 0; e < Dv; e++)
          Di += (double)QO(dO, i, e) * QO(o, i, e);
        if (p->which == AGF_ATTN_GRAD_STATS) {
          acc[((b * H + h) * Lq + i) * 2] = mx + log(sum);
          acc[((b * H + h) * Lq + i) * 2 + 1] = Di;
          continue;
        }
        for (int64_t j = 0; j < Lk; j++) {
          const double pij = exp(P[i * Lk + j] - mx) / sum;
          double dp = 0;
          for (int64_t e = 0; e < Dv; e++)
            dp += (double)QO(dO, i, e) * V(j, e);
          P[i * Lk + j] = pij;
          dS[i * Lk + j] = pij * (dp - Di);
        }
        for (int64_t j = 0; j < Lk; j++) {
          if (p->which == AGF_ATTN_GRAD_Q)
            for (int64_t e = 0; e < D; e++)
              acc[(b * Lq + i) * H * D + h * D + e] += scale * dS[i * Lk + j] * K(j, e);
          else if (p->which == AGF_ATTN_GRAD_K)
            for (int64_t e = 0; e < D; e++)
              acc[(b * Lk + j) * H * D + h * D + e] += scale * dS[i * Lk + j] * Q(i, e);
          else if (p->which == AGF_ATTN_GRAD_V)
            for (int64_t e = 0; e < Dv; e++)
              acc[(b * Lk + j) * H * Dv + h * Dv + e] += P[i * Lk + j] * QO(dO, i, e);
          else {
            double *row = acc + (b * Lk + j) * H * (D + Dv);
            for (int64_t e = 0; e < D; e++)
              row[h * D + e] += scale * dS[i * Lk + j] * Q(i, e);
            for (int64_t e = 0; e < Dv; e++)
              row[H * D + h * Dv + e] += P[i * Lk + j] * QO(dO, i, e);
          }
        }
      }
#undef Q
#undef K
#undef V
#undef QO
  float *out = g_new(float, nout);
  for (int64_t i = 0; i < nout; i++)
    out[i] = (float)acc[i];
  g_free(acc);
  g_free(P);
  g_free(dS);
  *numel = nout;
  return out;
}

/* Each window of the forward (op.h: output size, padding, ceil_mode) sends
 * its gradient to its first maximum in scan order, or evenly over what it
 * averaged. */
static float *naive_pool_bwd(const OpCase *c, float *const *in, int64_t *numel)
{
  const AgfPool2dParams *p = &c->op.p.pool_bwd;
  const OpInput *x = &c->in[0], *dy = &c->in[1];
  const int64_t planes = x->shape[0] * x->shape[1], H = x->shape[2], W = x->shape[3];
  const int64_t Ho = dy->shape[2], Wo = dy->shape[3];
  const int sh = p->stride_h ? p->stride_h : 1, sw = p->stride_w ? p->stride_w : 1;
  const int64_t n = numel_of(x);
  double *acc = g_new0(double, n);
  for (int64_t pl = 0; pl < planes; pl++)
    for (int64_t oy = 0; oy < Ho; oy++)
      for (int64_t ox = 0; ox < Wo; ox++) {
        const double gy = in[1][(pl * Ho + oy) * Wo + ox];
        int64_t best = -1, count = 0;
        for (int64_t ky = 0; ky < p->kernel_h; ky++)
          for (int64_t kx = 0; kx < p->kernel_w; kx++) {
            const int64_t iy = oy * sh - p->pad_top + ky, ix = ox * sw - p->pad_left + kx;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W)
              continue;
            const int64_t at = (pl * H + iy) * W + ix;
            if (best < 0 || in[0][at] > in[0][best])
              best = at;
            count++;
          }
        if (best < 0)
          continue;
        if (p->kind == AGF_POOL_MAX) {
          acc[best] += gy;
          continue;
        }
        const double div = p->count_include_pad ? p->kernel_h * p->kernel_w : count;
        for (int64_t ky = 0; ky < p->kernel_h; ky++)
          for (int64_t kx = 0; kx < p->kernel_w; kx++) {
            const int64_t iy = oy * sh - p->pad_top + ky, ix = ox * sw - p->pad_left + kx;
            if (iy >= 0 && iy < H && ix >= 0 && ix < W)
              acc[(pl * H + iy) * W + ix] += gy / div;
          }
      }
  float *out = g_new(float, n);
  for (int64_t i = 0; i < n; i++)
    out[i] = (float)acc[i];
  g_free(acc);
  *numel = n;
  return out;
}

static float *naive_train_run(const OpCase *c, float *const *in, int64_t *numel)
{
  switch (c->op.kind) {
  case AGF_OP_REDUCE: return naive_reduce(c, in, numel);
  case AGF_OP_UNARY_BWD: return naive_unary_bwd(c, in, numel);
  case AGF_OP_CONV2D_BWD_DATA:
  case AGF_OP_CONV2D_BWD_FILTER: return naive_conv_bwd(c, in, numel);
  case AGF_OP_NORM_STATS: return naive_norm_stats(c, in, numel);
  case AGF_OP_NORM_BWD: return naive_norm_bwd(c, in, numel);
  case AGF_OP_ATTENTION_BWD: return naive_attention_bwd(c, in, numel);
  case AGF_OP_POOL2D_BWD: return naive_pool_bwd(c, in, numel);
  default: return NULL;
  }
}

gboolean agf_naive_covers(AgfOpKind kind)
{
  return kind == AGF_OP_GEMM || kind == AGF_OP_CONV2D ||
         kind == AGF_OP_ATTENTION || kind >= AGF_OP_REDUCE;
}

float *agf_naive_run(const OpCase *c, float *const *in, int64_t *numel)
{
  switch (c->op.kind) {
  case AGF_OP_GEMM: return naive_gemm(c, in, numel);
  case AGF_OP_CONV2D: return naive_conv2d(c, in, numel);
  case AGF_OP_ATTENTION: return naive_attention(c, in, numel);
  default: return c->op.kind >= AGF_OP_REDUCE ? naive_train_run(c, in, numel)
                                              : NULL;
  }
}
