#version 450
// PReLU on x [N,C,inner]: slope per channel (dim 1), or one shared slope
// (alpha_step 0).
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { elem_t x[]; };
layout(std430, binding = 1) readonly buffer Al { elem_t alpha[]; };
layout(std430, binding = 2) writeonly buffer Y { elem_t y[]; };

layout(push_constant) uniform Push { uint n, inner, channels, alpha_step; } p;

void main()
{
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG
           + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  float v = LOAD(x[i]);
  float a = LOAD(alpha[((i / p.inner) % p.channels) * p.alpha_step]);
  y[i] = STORE_VAL(v >= 0.0 ? v : a * v);
}
