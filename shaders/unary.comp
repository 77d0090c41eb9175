#version 450
// Elementwise activations; FN is AgfUnaryFn (IDENTITY computes a*x + b,
// LEAKY_RELU uses slope a). Grid folded into x/y for large tensors.
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint FN = 0;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { elem_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { elem_t y[]; };

layout(push_constant) uniform Push { uint n; float a, b; } p;

// Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): GLSL has no erf().
float erf_approx(float v)
{
  float s = sign(v), t = 1.0 / (1.0 + 0.3275911 * abs(v));
  float poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
               + t * (-1.453152027 + t * 1.061405429))));
  return s * (1.0 - poly * exp(-v * v));
}

// tanh without the inf/inf of exp(2v) for large |v|.
float tanh_safe(float v)
{
  float e = exp(-2.0 * abs(v));
  return sign(v) * (1.0 - e) / (1.0 + e);
}

float sigmoid(float v) { return 1.0 / (1.0 + exp(-v)); }

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
  default: r = sqrt(v); break;
  }
  y[i] = STORE_VAL(r);
}
