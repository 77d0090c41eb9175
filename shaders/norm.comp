#version 450
// Group norm and layer norm: one workgroup normalizes one row of `len`
// contiguous elements (a (sample, group) slice, or a last-dim vector), then
// applies the per-channel affine. Two passes (mean, then the mean of the
// squared deviations) keep the variance accurate for rows of 10^4+ values.
// Channel of element i of row r: (r % groups) * (len / inner) + i / inner
// (group norm: inner = spatial size; layer norm: groups = inner = 1).
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256; // power of two
layout(constant_id = 1) const uint AFFINE = 0;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { elem_t x[]; };
layout(std430, binding = 1) readonly buffer Gm { elem_t gamma[]; };
layout(std430, binding = 2) readonly buffer Bt { elem_t beta[]; };
layout(std430, binding = 3) writeonly buffer Y { elem_t y[]; };

layout(push_constant) uniform Push {
  uint rows, len, inner, groups;
  float eps;
} p;

shared float red[WG];

float reduce_sum(float v)
{
  uint l = gl_LocalInvocationID.x;
  red[l] = v;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (l < s)
      red[l] += red[l + s];
    barrier();
  }
  float r = red[0];
  barrier();
  return r;
}

void main()
{
  uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (row >= p.rows)
    return;
  uint l = gl_LocalInvocationID.x;
  uint base = row * p.len;

  float s = 0.0;
  for (uint i = l; i < p.len; i += WG)
    s += LOAD(x[base + i]);
  float mean = reduce_sum(s) / float(p.len);

  float q = 0.0;
  for (uint i = l; i < p.len; i += WG) {
    float d = LOAD(x[base + i]) - mean;
    q += d * d;
  }
  float rstd = inversesqrt(reduce_sum(q) / float(p.len) + p.eps);

  uint ch0 = (row % p.groups) * (p.len / p.inner);
  for (uint i = l; i < p.len; i += WG) {
    float v = (LOAD(x[base + i]) - mean) * rstd;
    if (AFFINE != 0) {
      uint c = ch0 + i / p.inner;
      v = v * LOAD(gamma[c]) + LOAD(beta[c]);
    }
    y[base + i] = STORE_VAL(v);
  }
}
