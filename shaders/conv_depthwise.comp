#version 450
#extension GL_GOOGLE_include_directive : require
// Depthwise conv2d (groups == Ci == Co): x [N, C, H, W], w [C, 1, KH, KW],
// bias [C] -> out [N, C, OH, OW]; one invocation per output element, taps
// in the padding are skipped. The x/y grid is a folded range over
// C * OH * OW, z is the image.
#include "dtype.glsl"

layout(local_size_x = 64) in;
layout(constant_id = 0) const bool HAS_BIAS = false;

layout(std430, binding = 0) readonly buffer X { elem_t x[]; };
layout(std430, binding = 1) readonly buffer W { elem_t wt[]; };
layout(std430, binding = 2) writeonly buffer Out { elem_t o[]; };
layout(std430, binding = 3) readonly buffer Bias { elem_t bias[]; };

layout(push_constant) uniform Push {
  uint c, h, w, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw, batch_base;
} pc;

void main()
{
  uint id = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u
            + gl_LocalInvocationID.x;
  if (id >= pc.c * pc.oh * pc.ow)
    return;
  uint n = gl_WorkGroupID.z + pc.batch_base;
  uint ox = id % pc.ow, t = id / pc.ow;
  uint oy = t % pc.oh, ch = t / pc.oh;
  uint xbase = (n * pc.c + ch) * pc.h * pc.w, wbase = ch * pc.kh * pc.kw;
  float s = HAS_BIAS ? LOAD(bias[ch]) : 0.0;
  for (uint ky = 0u; ky < pc.kh; ++ky) {
    // Unsigned wrap-around turns padding rows/columns into huge indices.
    uint iy = oy * pc.sh + ky * pc.dh - pc.pt;
    if (iy >= pc.h)
      continue;
    for (uint kx = 0u; kx < pc.kw; ++kx) {
      uint ix = ox * pc.sw + kx * pc.dw - pc.pl;
      if (ix < pc.w)
        s += LOAD(x[xbase + iy * pc.w + ix]) * LOAD(wt[wbase + ky * pc.kw + kx]);
    }
  }
  o[n * pc.c * pc.oh * pc.ow + id] = STORE_VAL(s);
}
