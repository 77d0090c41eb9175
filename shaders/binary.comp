#version 450
// Elementwise add/sub/mul/div (FN = AgfBinaryFn) with numpy broadcasting:
// the host collapses the shapes to NDIM <= 6 dims and passes per-operand
// element strides, 0 along broadcast dims.
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint FN = 0;
layout(constant_id = 2) const uint NDIM = 1;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer A { elem_t a[]; };
layout(std430, binding = 1) readonly buffer B { elem_t b[]; };
layout(std430, binding = 2) writeonly buffer Y { elem_t y[]; };

layout(push_constant) uniform Push {
  uint n;
  uint shape[6], sa[6], sb[6];
} p;

void main()
{
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG
           + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  uint r = i, ia = 0, ib = 0;
  for (int d = int(NDIM) - 1; d >= 0; d--) {
    uint c = r % p.shape[d];
    r /= p.shape[d];
    ia += c * p.sa[d];
    ib += c * p.sb[d];
  }
  float u = LOAD(a[ia]), v = LOAD(b[ib]), o;
  switch (FN) {
  case 0: o = u + v; break;
  case 1: o = u - v; break;
  case 2: o = u * v; break;
  default: o = u / v; break;
  }
  y[i] = STORE_VAL(o);
}
