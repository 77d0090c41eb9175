#version 450
// Gradient of 2-D max / average pooling (pool2d.comp), gather form: one
// invocation per input pixel of [planes, ih, iw] sums the gradients of the
// output windows that cover it, so no atomics are needed. MODE 0 max: a
// window's gradient goes to its first maximum in scan order (recomputed
// here exactly as the forward scans); MODE 1 avg: divided as the forward.
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint MODE = 0;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { elem_t x[]; };
layout(std430, binding = 1) readonly buffer DY { elem_t dy[]; };
layout(std430, binding = 2) writeonly buffer DX { elem_t dx[]; };

layout(push_constant) uniform Push {
  uint n, ih, iw, oh, ow, kh, kw, sh, sw, pt, pl, include_pad;
} p;

// Output windows oy with oy*s - pad <= i < oy*s - pad + k, within [0, o).
ivec2 covering(int i, int pad, int k, int s, int o)
{
  int t = i + pad;
  int lo = t - k + 1 > 0 ? (t - k + 1 + s - 1) / s : 0;
  int hi = min(t / s, o - 1);
  return ivec2(lo, hi);
}

void main()
{
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG
           + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  int ix = int(i % p.iw), iy = int((i / p.iw) % p.ih);
  uint plane = i / (p.iw * p.ih);
  uint xbase = plane * p.ih * p.iw, ybase = plane * p.oh * p.ow;
  ivec2 ry = covering(iy, int(p.pt), int(p.kh), int(p.sh), int(p.oh));
  ivec2 rx = covering(ix, int(p.pl), int(p.kw), int(p.sw), int(p.ow));
  float acc = 0.0;
  for (int oy = ry.x; oy <= ry.y; oy++) {
    int y0 = oy * int(p.sh) - int(p.pt);
    int ya = max(y0, 0), yb = min(y0 + int(p.kh), int(p.ih));
    for (int ox = rx.x; ox <= rx.y; ox++) {
      int x0 = ox * int(p.sw) - int(p.pl);
      int xa = max(x0, 0), xb = min(x0 + int(p.kw), int(p.iw));
      float g = LOAD(dy[ybase + uint(oy) * p.ow + uint(ox)]);
      if (MODE == 0) {
        float best = uintBitsToFloat(0xff800000u); // -inf
        int by = -1, bx = -1;
        for (int yy = ya; yy < yb; yy++)
          for (int xx = xa; xx < xb; xx++) {
            float v = LOAD(x[xbase + uint(yy) * p.iw + uint(xx)]);
            if (v > best) {
              best = v;
              by = yy;
              bx = xx;
            }
          }
        if (by == iy && bx == ix)
          acc += g;
      } else {
        int cnt = p.include_pad != 0 ? int(p.kh * p.kw)
                                     : (yb - ya) * (xb - xa);
        acc += g / float(max(cnt, 1));
      }
    }
  }
  dx[i] = STORE_VAL(acc);
}
