#version 450
#extension GL_GOOGLE_include_directive : require
// GEMM for GPUs: 64x64 block tiles through shared memory, 16 k per step,
// 256 invocations each holding a 4x4 register block (rows ty + 16 i,
// columns tx + 16 j, so shared-memory reads do not conflict).
// A(m, k) = a[(b % a_batches) * a_bs + m * a_sm + k * a_sk], likewise B(k, n);
// the tile loads walk the contiguous dimension (A_K_CONTIG / B_N_CONTIG) so
// neighbouring invocations read neighbouring addresses.
// C[b] = alpha * A B + bias (see gemm_bias.glsl), row stride c_ld.
#include "dtype.glsl"

layout(local_size_x = 256) in;
layout(constant_id = 0) const uint BIAS = 0;
layout(constant_id = 1) const bool A_K_CONTIG = true;
layout(constant_id = 2) const bool B_N_CONTIG = true;

layout(std430, binding = 0) readonly buffer A { elem_t a[]; };
layout(std430, binding = 1) readonly buffer B { elem_t bm[]; };
layout(std430, binding = 2) writeonly buffer Out { elem_t c[]; };
layout(std430, binding = 3) readonly buffer Bias { elem_t bias[]; };

layout(push_constant) uniform Push {
  uint m, n, k, a_batches, b_batches, batch_base;
  uint a_bs, a_sm, a_sk, b_bs, b_sk, b_sn;
  uint c_bs, c_ld, c_off, bias_groups, bias_off; // output layout, bias
  float alpha;
} pc;

#include "gemm_bias.glsl"

const uint BM = 64u, BN = 64u, BK = 16u;
shared float As[BK][BM];
shared float Bs[BK][BN];

void main()
{
  uint tid = gl_LocalInvocationID.x, tx = tid % 16u, ty = tid / 16u;
  uint b = gl_WorkGroupID.z + pc.batch_base;
  uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  uint abase = (b % pc.a_batches) * pc.a_bs, bbase = (b % pc.b_batches) * pc.b_bs;
  float acc[4][4];
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j)
      acc[i][j] = 0.0;

  for (uint k0 = 0u; k0 < pc.k; k0 += BK) {
    for (uint l = 0u; l < 4u; ++l) {
      uint idx = tid + 256u * l;
      uint mm = A_K_CONTIG ? idx / BK : idx % BM;
      uint kk = A_K_CONTIG ? idx % BK : idx / BM;
      uint gm = m0 + mm, gk = k0 + kk;
      As[kk][mm] = (gm < pc.m && gk < pc.k)
        ? LOAD(a[abase + gm * pc.a_sm + gk * pc.a_sk]) : 0.0;
      uint nn = B_N_CONTIG ? idx % BN : idx / BK;
      kk = B_N_CONTIG ? idx / BN : idx % BK;
      uint gn = n0 + nn;
      gk = k0 + kk;
      Bs[kk][nn] = (gn < pc.n && gk < pc.k)
        ? LOAD(bm[bbase + gk * pc.b_sk + gn * pc.b_sn]) : 0.0;
    }
    barrier();
    for (uint kk = 0u; kk < BK; ++kk) {
      float av[4], bv[4];
      for (uint i = 0u; i < 4u; ++i) {
        av[i] = As[kk][ty + 16u * i];
        bv[i] = Bs[kk][tx + 16u * i];
      }
      for (uint i = 0u; i < 4u; ++i)
        for (uint j = 0u; j < 4u; ++j)
          acc[i][j] += av[i] * bv[j];
    }
    barrier();
  }

  uint cbase = b * pc.c_bs + pc.c_off;
  for (uint i = 0u; i < 4u; ++i) {
    uint gm = m0 + ty + 16u * i;
    for (uint j = 0u; j < 4u; ++j) {
      uint gn = n0 + tx + 16u * j;
      if (gm < pc.m && gn < pc.n) {
        float v = pc.alpha * acc[i][j] + gemm_bias(b, gm, gn);
        c[cbase + gm * pc.c_ld + gn] = STORE_VAL(v);
      }
    }
  }
}
