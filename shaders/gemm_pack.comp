#version 450
#extension GL_GOOGLE_include_directive : require
// Packs a GEMM operand into panels for gemm_texel: panel p holds rows
// [p*PANEL, (p+1)*PANEL), stored k4-major so that texel
// ((b * panels + p) * k4s + k4) * PANEL + r is the vec4 of k = 4*k4..4*k4+3
// of row p*PANEL + r. Rows and k past the operand are zero, so the GEMM
// loop needs no bounds checks. One invocation per texel; the x/y grid is a
// folded 1-D range, z is the batch.
#include "dtype.glsl"

layout(local_size_x = 64) in;
layout(constant_id = 0) const uint PANEL = 16;
layout(constant_id = 1) const bool IM2COL = false;

layout(std430, binding = 0) readonly buffer Src { elem_t src[]; };
layout(std430, binding = 1) writeonly buffer Dst { elem4_t dst[]; };

#include "gemm_src.glsl"

void main()
{
  uint panels = pc.dst_a, k4s = pc.dst_b;
  uint id = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u
            + gl_LocalInvocationID.x;
  if (id >= panels * k4s * PANEL)
    return;
  uint b = gl_WorkGroupID.z + pc.batch_base;
  uint r = id % PANEL, t = id / PANEL;
  uint k = (t % k4s) * 4u, row = (t / k4s) * PANEL + r;
  vec4 v = vec4(gemm_src(b, row, k), gemm_src(b, row, k + 1u),
                gemm_src(b, row, k + 2u), gemm_src(b, row, k + 3u));
  dst[b * panels * k4s * PANEL + id] = elem4_t(v);
}
