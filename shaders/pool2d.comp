#version 450
// 2-D max / average pooling of [planes, ih, iw] to [planes, oh, ow];
// MODE 0 max, 1 avg (divisor kh*kw with count_include_pad, else the number
// of covered input pixels).
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint MODE = 0;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { elem_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { elem_t y[]; };

layout(push_constant) uniform Push {
  uint n, ih, iw, oh, ow, kh, kw, sh, sw, pt, pl, include_pad;
} p;

void main()
{
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG
           + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  uint ox = i % p.ow, t = i / p.ow;
  uint oy = t % p.oh, plane = t / p.oh;
  uint base = plane * p.ih * p.iw;
  int y0 = int(oy * p.sh) - int(p.pt), x0 = int(ox * p.sw) - int(p.pl);
  int ya = max(y0, 0), yb = min(y0 + int(p.kh), int(p.ih));
  int xa = max(x0, 0), xb = min(x0 + int(p.kw), int(p.iw));
  float acc = MODE == 0 ? -3.402823e38 : 0.0;
  for (int yy = ya; yy < yb; yy++)
    for (int xx = xa; xx < xb; xx++) {
      float v = LOAD(x[base + uint(yy) * p.iw + uint(xx)]);
      acc = MODE == 0 ? max(acc, v) : acc + v;
    }
  if (MODE != 0) {
    int cnt = p.include_pad != 0 ? int(p.kh * p.kw) : max((yb - ya) * (xb - xa), 1);
    acc /= float(cnt);
  }
  y[i] = STORE_VAL(acc);
}
