#version 450
// Conv2d data gradient, second half: folds the GEMM result col
// [n*groups + g, (c*kh + ky)*kw + kx, oy*ow + ox] back onto the input grid,
// gather form: one invocation per dx element of images [n0, n0 + count)
// sums every (ky, kx) tap whose output pixel exists, so no atomics.
// DIRECT 1 (convs with few output channels per group, e.g. depthwise):
// no GEMM; src is dy [n, co, oy, ox] and the taps multiply w directly.
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint DIRECT = 0;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Src { elem_t src[]; };
layout(std430, binding = 1) writeonly buffer DX { elem_t dx[]; };
layout(std430, binding = 2) readonly buffer W { elem_t wt[]; };

layout(push_constant) uniform Push {
  uint n, ci, h, w, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw, groups, cig;
  uint dx_base; // first dx element of this chunk of images
  uint cog;     // output channels per group (DIRECT)
} p;

void main()
{
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG
           + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  int ix = int(i % p.w), iy = int((i / p.w) % p.h);
  uint t = i / (p.w * p.h);
  uint cc = t % p.ci, img = t / p.ci;
  uint g = cc / p.cig, c = cc % p.cig;
  uint pix = p.oh * p.ow, kg = p.cig * p.kh * p.kw;
  uint base = (img * p.groups + g) * kg * pix;
  float acc = 0.0;
  for (uint ky = 0; ky < p.kh; ky++) {
    int ty = iy + int(p.pt) - int(ky * p.dh);
    if (ty < 0 || ty % int(p.sh) != 0 || ty / int(p.sh) >= int(p.oh))
      continue;
    uint oy = uint(ty) / p.sh;
    for (uint kx = 0; kx < p.kw; kx++) {
      int tx = ix + int(p.pl) - int(kx * p.dw);
      if (tx < 0 || tx % int(p.sw) != 0 || tx / int(p.sw) >= int(p.ow))
        continue;
      uint ox = uint(tx) / p.sw;
      uint r = (c * p.kh + ky) * p.kw + kx;
      if (DIRECT == 0) {
        acc += LOAD(src[base + r * pix + oy * p.ow + ox]);
      } else {
        for (uint j = 0; j < p.cog; j++) {
          uint co = g * p.cog + j;
          acc += LOAD(wt[co * kg + r]) *
                 LOAD(src[(img * p.groups * p.cog + co) * pix + oy * p.ow + ox]);
        }
      }
    }
  }
  dx[p.dx_base + i] = STORE_VAL(acc);
}
