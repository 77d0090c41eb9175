#version 450
#extension GL_GOOGLE_include_directive : require
// GEMM for CPU Vulkan drivers (lavapipe): no shared memory, no barriers.
// Each invocation computes a 16x16 block of C in registers from panels
// made by gemm_pack (A: 16 rows x 4 k per texel group, B: 16 columns), read
// through texel buffers, which lavapipe fetches without the per-lane
// bounds branches of storage-buffer loads. The k loop steps by 4 (one vec4
// per row) and needs no bounds checks since the panels are zero-padded.
// C = alpha * A B + bias (see gemm_bias.glsl), row stride c_ld; b % a_batches picks the A batch, likewise B.
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint BIAS = 0;

layout(binding = 0) uniform samplerBuffer Ap;
layout(binding = 1) uniform samplerBuffer Bp;
layout(std430, binding = 2) writeonly buffer Out { elem_t c[]; };
layout(std430, binding = 3) readonly buffer Bias { elem_t bias[]; };

layout(push_constant) uniform Push {
  uint m, n, k4s, pm, pn, a_batches, b_batches, batch_base;
  uint c_bs, c_ld, c_off, bias_groups, bias_off; // output layout, bias
  float alpha;
} pc;

#include "gemm_bias.glsl"

#define X16(F) F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7) \
               F(8) F(9) F(10) F(11) F(12) F(13) F(14) F(15)
#define X16I(F, i) F(i, 0) F(i, 1) F(i, 2) F(i, 3) F(i, 4) F(i, 5) F(i, 6) \
  F(i, 7) F(i, 8) F(i, 9) F(i, 10) F(i, 11) F(i, 12) F(i, 13) F(i, 14) F(i, 15)

#define DECL_ROW(i) vec4 acc##i[4] = vec4[4](vec4(0), vec4(0), vec4(0), vec4(0));
#define LOAD_B(j) vec4 b##j = texelFetch(Bp, ib + j);
// acc row i, column j += A row i's 4 k values . B column j's, as explicit
// fma() calls: lavapipe emits dot() as separate multiplies and adds.
#define FMA_IJ(i, j) acc##i[j / 4][j % 4] = fma(a.w, b##j.w, fma(a.z, b##j.z, \
    fma(a.y, b##j.y, fma(a.x, b##j.x, acc##i[j / 4][j % 4]))));
#define ROW(i) { vec4 a = texelFetch(Ap, ia + i); X16I(FMA_IJ, i) }
#define STORE_IJ(i, j) if (n0 + j < pc.n) { \
    float v = pc.alpha * acc##i[j / 4][j % 4] + gemm_bias(b, m0 + i, n0 + j); \
    c[o + j] = STORE_VAL(v); }
#define STORE_ROW(i) if (m0 + i < pc.m) { uint o = cbase + (m0 + i) * pc.c_ld + n0; \
    X16I(STORE_IJ, i) }

void main()
{
  // Blocks (p, q) run over a 1-D range folded into the x/y groups.
  uint id = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x)
            * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (id >= pc.pm * pc.pn)
    return;
  uint q = id % pc.pn, p = id / pc.pn;
  uint b = gl_WorkGroupID.z + pc.batch_base;
  int ia = int((((b % pc.a_batches) * pc.pm + p) * pc.k4s) * 16u);
  int ib = int((((b % pc.b_batches) * pc.pn + q) * pc.k4s) * 16u);
  X16(DECL_ROW)
  for (uint k4 = 0u; k4 < pc.k4s; ++k4) {
    X16(LOAD_B)
    X16(ROW)
    ia += 16;
    ib += 16;
  }
  uint m0 = p * 16u, n0 = q * 16u, cbase = b * pc.c_bs + pc.c_off;
  X16(STORE_ROW)
}
