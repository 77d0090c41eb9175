#version 450
// Affine warp of img [N,C,ih,iw] to [N,C,oh,ow]: output pixel centre (x, y)
// maps through the image's 2x3 matrix (f32) to input coordinates (pixel
// centres at integers); bilinear, each tap outside the input reads border.
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { elem_t x[]; };
layout(std430, binding = 1) readonly buffer M { float m[]; };
layout(std430, binding = 2) writeonly buffer Y { elem_t y[]; };

layout(push_constant) uniform Push {
  uint n, channels, ih, iw, oh, ow;
  float border;
} p;

float tap(uint base, int yy, int xx)
{
  if (xx < 0 || yy < 0 || xx >= int(p.iw) || yy >= int(p.ih))
    return p.border;
  return LOAD(x[base + uint(yy) * p.iw + uint(xx)]);
}

void main()
{
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG
           + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  uint ox = i % p.ow, t = i / p.ow;
  uint oy = t % p.oh, plane = t / p.oh;
  uint img = plane / p.channels;
  uint mb = img * 6;
  float fx = m[mb + 0] * float(ox) + m[mb + 1] * float(oy) + m[mb + 2];
  float fy = m[mb + 3] * float(ox) + m[mb + 4] * float(oy) + m[mb + 5];
  float x0f = floor(fx), y0f = floor(fy);
  float lx = fx - x0f, ly = fy - y0f;
  // Far outside: avoid int overflow, every tap is border anyway.
  if (abs(x0f) > 1.0e8 || abs(y0f) > 1.0e8) {
    y[i] = STORE_VAL(p.border);
    return;
  }
  int x0 = int(x0f), y0 = int(y0f);
  uint base = plane * p.ih * p.iw;
  float top = mix(tap(base, y0, x0), tap(base, y0, x0 + 1), lx);
  float bot = mix(tap(base, y0 + 1, x0), tap(base, y0 + 1, x0 + 1), lx);
  y[i] = STORE_VAL(mix(top, bot, ly));
}
