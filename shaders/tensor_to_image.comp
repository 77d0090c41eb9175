#version 450
// float [N,3,H,W] -> u8 RGBA [N,H,W,4] (one word per pixel):
// round(clamp((x * std + mean) * 255, 0, 255)), alpha 255.
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { elem_t x[]; };
layout(std430, binding = 1) writeonly buffer Img { uint img[]; };

layout(push_constant) uniform Push {
  uint n, hw;
  float mean0, mean1, mean2, std0, std1, std2;
} p;

uint to_byte(float v, float s, float m)
{
  return uint(floor(clamp((v * s + m) * 255.0, 0.0, 255.0) + 0.5));
}

void main()
{
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG
           + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  uint pix = i % p.hw, im = i / p.hw;
  uint src = im * 3 * p.hw + pix;
  uint r = to_byte(LOAD(x[src]), p.std0, p.mean0);
  uint g = to_byte(LOAD(x[src + p.hw]), p.std1, p.mean1);
  uint b = to_byte(LOAD(x[src + 2 * p.hw]), p.std2, p.mean2);
  img[i] = r | (g << 8) | (b << 16) | (255u << 24);
}
