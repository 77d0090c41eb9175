#version 450
// Gradient of the elementwise activations (unary.comp): dx = dy * fn'(x),
// FN an AgfUnaryFn. Conventions as PyTorch: RELU and ABS have slope 0 at
// 0, LEAKY_RELU slope a at 0 and below; SQRT and LOG differentiate from x.
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"
#include "activation.glsl"

layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint FN = 0;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { elem_t x[]; };
layout(std430, binding = 1) readonly buffer DY { elem_t dy[]; };
layout(std430, binding = 2) writeonly buffer DX { elem_t dx[]; };

layout(push_constant) uniform Push { uint n; float a, b; } p;

const float INV_SQRT2 = 0.70710678118654752;
const float INV_SQRT_2PI = 0.39894228040143268;
const float SQRT_2_OVER_PI = 0.79788456080286536;

void main()
{
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG
           + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  float v = LOAD(x[i]), d;
  switch (FN) {
  case 0: d = p.a; break;
  case 1: d = v > 0.0 ? 1.0 : 0.0; break;
  case 2: d = v > 0.0 ? 1.0 : p.a; break;
  case 3: { float s = sigmoid(v); d = s * (1.0 - s); break; }
  case 4: { float t = tanh_safe(v); d = 1.0 - t * t; break; }
  case 5: { float s = sigmoid(v); d = s * (1.0 + v * (1.0 - s)); break; }
  case 6:
    d = 0.5 * (1.0 + erf_approx(v * INV_SQRT2))
        + v * INV_SQRT_2PI * exp(-0.5 * v * v);
    break;
  case 7: {
    float u = SQRT_2_OVER_PI * (v + 0.044715 * v * v * v);
    float t = tanh_safe(u);
    float du = SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * v * v);
    d = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * du;
    break;
  }
  case 8: d = sign(v); break;
  case 9: d = exp(v); break;
  case 10: d = 0.5 / sqrt(v); break;
  default: d = 1.0 / v; break;
  }
  dx[i] = STORE_VAL(LOAD(dy[i]) * d);
}
