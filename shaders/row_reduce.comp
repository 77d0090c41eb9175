#version 450
// Reductions over the last dim, one workgroup per row of `len` elements:
// MODE 0 softmax, MODE 1 L2 normalize (x / max(||x||, eps)), MODE 2 mean
// (global average pool: one output per row).
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256; // power of two
layout(constant_id = 1) const uint MODE = 0;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { elem_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { elem_t y[]; };

layout(push_constant) uniform Push {
  uint rows, len;
  float eps;
} p;

shared float red[WG];

float reduce(float v, bool is_max)
{
  uint l = gl_LocalInvocationID.x;
  red[l] = v;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (l < s)
      red[l] = is_max ? max(red[l], red[l + s]) : red[l] + red[l + s];
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

  if (MODE == 0) {
    float m = -3.402823e38;
    for (uint i = l; i < p.len; i += WG)
      m = max(m, LOAD(x[base + i]));
    m = reduce(m, true);
    float s = 0.0;
    for (uint i = l; i < p.len; i += WG)
      s += exp(LOAD(x[base + i]) - m);
    float inv = 1.0 / reduce(s, false);
    for (uint i = l; i < p.len; i += WG)
      y[base + i] = STORE_VAL(exp(LOAD(x[base + i]) - m) * inv);
  } else if (MODE == 1) {
    float s = 0.0;
    for (uint i = l; i < p.len; i += WG) {
      float v = LOAD(x[base + i]);
      s += v * v;
    }
    float inv = 1.0 / max(sqrt(reduce(s, false)), p.eps);
    for (uint i = l; i < p.len; i += WG)
      y[base + i] = STORE_VAL(LOAD(x[base + i]) * inv);
  } else {
    float s = 0.0;
    for (uint i = l; i < p.len; i += WG)
      s += LOAD(x[base + i]);
    s = reduce(s, false);
    if (l == 0)
      y[row] = STORE_VAL(s / float(p.len));
  }
}
