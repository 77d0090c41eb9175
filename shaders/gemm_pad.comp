#version 450
#extension GL_GOOGLE_include_directive : require
// Materializes a GEMM operand as a dense row-major [rows_p, cols_p] matrix
// per batch (dst_a = rows_p, dst_b = cols_p), zero past the operand: the
// im2col step of the tiled path and the padded fp16 inputs of the
// cooperative-matrix path. ROW_IS_K picks whether dst rows run over k (a B
// operand [K, N]) or over the operand's rows (an A operand [M, K]).
// -DPAD_OUT_F16 writes fp16 whatever the source type.
#include "dtype.glsl"

layout(local_size_x = 64) in;
layout(constant_id = 0) const bool ROW_IS_K = false;
layout(constant_id = 1) const bool IM2COL = false;

#ifdef PAD_OUT_F16
#define out_t float16_t
#else
#define out_t elem_t
#endif
layout(std430, binding = 0) readonly buffer Src { elem_t src[]; };
layout(std430, binding = 1) writeonly buffer Dst { out_t dst[]; };

#include "gemm_src.glsl"

void main()
{
  uint rows_p = pc.dst_a, cols_p = pc.dst_b;
  uint id = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u
            + gl_LocalInvocationID.x;
  if (id >= rows_p * cols_p)
    return;
  uint b = gl_WorkGroupID.z + pc.batch_base;
  uint r = id / cols_p, c = id % cols_p;
  float v = ROW_IS_K ? gemm_src(b, c, r) : gemm_src(b, r, c);
  dst[b * rows_p * cols_p + id] = out_t(v);
}
