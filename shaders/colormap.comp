#version 450
// Heatmap of x [N,C,H,W] -> u8 RGBA [N,H,W,4] (one word per pixel):
// v = mean over C of |x| (x when signed), u = clamp((v - vmin) * inv_range,
// 0, 1), colour = lut[round(u * 255)] (256 words 0x00BBGGRR), alpha 255.
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { elem_t x[]; };
layout(std430, binding = 1) readonly buffer Lut { uint lut[]; };
layout(std430, binding = 2) writeonly buffer Img { uint img[]; };

layout(push_constant) uniform Push {
  uint n, hw, channels, signed_values;
  float vmin, inv_range;
} p;

void main()
{
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG
           + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  uint pix = i % p.hw, im = i / p.hw;
  uint base = im * p.channels * p.hw + pix;
  float s = 0.0;
  for (uint c = 0; c < p.channels; c++) {
    float v = LOAD(x[base + c * p.hw]);
    s += p.signed_values != 0 ? v : abs(v);
  }
  float u = clamp((s / float(p.channels) - p.vmin) * p.inv_range, 0.0, 1.0);
  uint idx = uint(floor(u * 255.0 + 0.5));
  img[i] = (lut[idx] & 0xffffffu) | (255u << 24);
}
