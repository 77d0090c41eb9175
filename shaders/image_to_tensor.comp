#version 450
// u8 [N,H,W,C] (C = 3 or 4, bytes packed 4 per word) -> float [N,3,H,W]:
// (byte / 255 - mean) / std, one pixel per invocation.
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Img { uint img[]; };
layout(std430, binding = 1) writeonly buffer Y { elem_t y[]; };

layout(push_constant) uniform Push {
  uint n, hw, channels;
  float mean0, mean1, mean2, inv_std0, inv_std1, inv_std2;
} p;

float byte_at(uint idx) { return float((img[idx >> 2] >> ((idx & 3u) * 8u)) & 255u); }

void main()
{
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG
           + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  uint pix = i % p.hw, im = i / p.hw;
  uint src = i * p.channels, dst = im * 3 * p.hw + pix;
  y[dst] = STORE_VAL((byte_at(src) / 255.0 - p.mean0) * p.inv_std0);
  y[dst + p.hw] = STORE_VAL((byte_at(src + 1) / 255.0 - p.mean1) * p.inv_std1);
  y[dst + 2 * p.hw] = STORE_VAL((byte_at(src + 2) / 255.0 - p.mean2) * p.inv_std2);
}
