#version 450
// Conv2d filter gradient, first half: gathers the input patches of images
// [n0, n0 + nimg) as col[g, n*pix + oy*ow + ox, (c*kh + ky)*kw + kx]
// (padding taps 0), so the GEMM reduces over all images' pixels at once:
// dw[g] = dy[g] (cog x nimg*pix) . col[g] (nimg*pix x kg).
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { elem_t x[]; };
layout(std430, binding = 1) writeonly buffer Col { elem_t col[]; };

layout(push_constant) uniform Push {
  uint n, ci, h, w, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw, groups, cig;
  uint nimg, n0;
} p;

void main()
{
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG
           + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  uint kg = p.cig * p.kh * p.kw, pix = p.oh * p.ow;
  uint r = i % kg, t = i / kg;
  uint q = t % (p.nimg * pix), g = t / (p.nimg * pix);
  uint img = p.n0 + q / pix, pp = q % pix;
  uint kx = r % p.kw, ky = (r / p.kw) % p.kh, c = r / (p.kw * p.kh);
  // Unsigned wrap-around makes negative (top/left padding) coordinates huge.
  uint iy = (pp / p.ow) * p.sh + ky * p.dh - p.pt;
  uint ix = (pp % p.ow) * p.sw + kx * p.dw - p.pl;
  float val = 0.0;
  if (iy < p.h && ix < p.w)
    val = LOAD(x[((img * p.ci + g * p.cig + c) * p.h + iy) * p.w + ix]);
  col[i] = STORE_VAL(val);
}
