#version 450
// Elementwise activations; FN is AgfUnaryFn (IDENTITY computes a*x + b,
// LEAKY_RELU uses slope a, LOG is the natural log). Grid folded into x/y
// for large tensors.
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#include "activation.glsl"

layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint FN = 0;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { elem_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { elem_t y[]; };

layout(push_constant) uniform Push { uint n; float a, b; } p;

void main()
{
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG
           + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  float v = LOAD(x[i]), r;
  switch (FN) {
  case 0: r = p.a * v + p.b; break;
  case 1: r = max(v, 0.0); break;
  case 2: r = v >= 0.0 ? v : p.a * v; break;
  case 3: r = sigmoid(v); break;
  case 4: r = tanh_safe(v); break;
  case 5: r = v * sigmoid(v); break;
  case 6: r = 0.5 * v * (1.0 + erf_approx(v * 0.70710678118654752)); break;
  case 7: r = 0.5 * v * (1.0 + tanh_safe(0.79788456080286536 * (v + 0.044715 * v * v * v))); break;
  case 8: r = abs(v); break;
  case 9: r = exp(v); break;
  case 10: r = sqrt(v); break;
  default: r = log(v); break;
  }
  y[i] = STORE_VAL(r);
}
