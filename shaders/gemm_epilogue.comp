#version 450
#extension GL_GOOGLE_include_directive : require
// out[b, m, n] = alpha * acc[b, m, n] + bias: crops the padded fp32
// [Mp, Np] accumulators of gemm_coopmat into the [M, N] output (row
// stride c_ld).
#include "dtype.glsl"

layout(local_size_x = 64) in;
layout(constant_id = 0) const uint BIAS = 0;

layout(std430, binding = 0) readonly buffer Acc { float acc[]; };
layout(std430, binding = 1) writeonly buffer Out { elem_t c[]; };
layout(std430, binding = 2) readonly buffer Bias { elem_t bias[]; };

layout(push_constant) uniform Push {
  uint m, n, mp, np, batch_base;
  uint c_bs, c_ld, c_off, bias_groups, bias_off; // output layout, bias
  float alpha;
} pc;

#include "gemm_bias.glsl"

void main()
{
  uint id = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u
            + gl_LocalInvocationID.x;
  if (id >= pc.m * pc.n)
    return;
  uint b = gl_WorkGroupID.z + pc.batch_base;
  uint row = id / pc.n, col = id % pc.n;
  float v = pc.alpha * acc[(b * pc.mp + row) * pc.np + col] + gemm_bias(b, row, col);
  c[b * pc.c_bs + pc.c_off + row * pc.c_ld + col] = STORE_VAL(v);
}
