#version 450
// Conv2d filter gradient without a GEMM, for depthwise-like convs (few
// channels per group, where a GEMM tile would be mostly empty): one
// workgroup per weight element (co, c, ky, kx) sums dy * x over all images
// and output pixels with a tree reduction.
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256; // power of two
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { elem_t x[]; };
layout(std430, binding = 1) readonly buffer DY { elem_t dy[]; };
layout(std430, binding = 2) writeonly buffer DW { elem_t dw_[]; };

layout(push_constant) uniform Push {
  uint n, ci, h, w, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw, groups, cig;
  uint batch, cog;
} p;

shared float red[WG];

void main()
{
  uint e = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (e >= p.n)
    return;
  uint l = gl_LocalInvocationID.x;
  uint kx = e % p.kw, ky = (e / p.kw) % p.kh;
  uint c = (e / (p.kw * p.kh)) % p.cig, co = e / (p.kw * p.kh * p.cig);
  uint g = co / p.cog, pix = p.oh * p.ow, co_all = p.groups * p.cog;
  uint count = p.batch * pix;
  float acc = 0.0;
  for (uint t = l; t < count; t += WG) {
    uint img = t / pix, pp = t % pix;
    // Unsigned wrap-around makes negative (padding) coordinates huge.
    uint iy = (pp / p.ow) * p.sh + ky * p.dh - p.pt;
    uint ix = (pp % p.ow) * p.sw + kx * p.dw - p.pl;
    if (iy < p.h && ix < p.w)
      acc += LOAD(dy[(img * co_all + co) * pix + pp]) *
             LOAD(x[((img * p.ci + g * p.cig + c) * p.h + iy) * p.w + ix]);
  }
  red[l] = acc;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (l < s)
      red[l] += red[l + s];
    barrier();
  }
  if (l == 0)
    dw_[e] = STORE_VAL(red[0]);
}
