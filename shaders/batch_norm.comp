#version 450
// Inference batch norm on x [N,C,inner]: running statistics per channel.
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { elem_t x[]; };
layout(std430, binding = 1) readonly buffer Mu { elem_t mean[]; };
layout(std430, binding = 2) readonly buffer Va { elem_t var[]; };
layout(std430, binding = 3) readonly buffer Gm { elem_t gamma[]; };
layout(std430, binding = 4) readonly buffer Bt { elem_t beta[]; };
layout(std430, binding = 5) writeonly buffer Y { elem_t y[]; };

layout(push_constant) uniform Push { uint n, inner, channels; float eps; } p;

void main()
{
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG
           + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  uint c = (i / p.inner) % p.channels;
  float s = LOAD(gamma[c]) * inversesqrt(LOAD(var[c]) + p.eps);
  y[i] = STORE_VAL((LOAD(x[i]) - LOAD(mean[c])) * s + LOAD(beta[c]));
}
