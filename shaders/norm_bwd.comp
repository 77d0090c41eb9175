#version 450
// Training kernels of the normalizations, in f32 arithmetic:
// MODE 0 NORM_STATS: one workgroup per channel c of x [outer, C, inner]:
//   st[c] = mean, st[C + c] = biased variance (two passes).
// MODE 1 row statistics of group / layer norm: one workgroup per row of
//   `len` elements (as norm.comp): st[2 row] = mean, st[2 row + 1] = rstd.
// MODE 2 dx of group / layer norm: one workgroup per row, with gamma of
//   channel (row % groups) * (len / inner) + i / inner (AFFINE 0: 1):
//   dx = rstd * (g - mean(g) - x_hat * mean(g * x_hat)), g = dy * gamma.
// MODE 3 dgamma: one workgroup per channel c, summing dy * x_hat over
//   elements (o * C + c) * inner + s of row o * groups + c / (C / groups),
//   with the row statistics of MODE 1 in st.
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256; // power of two
layout(constant_id = 1) const uint MODE = 0;
layout(constant_id = 2) const uint AFFINE = 0;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { elem_t x[]; };
layout(std430, binding = 1) readonly buffer DY { elem_t dy[]; };
layout(std430, binding = 2) readonly buffer Gm { elem_t gamma[]; };
layout(std430, binding = 3) writeonly buffer Out { elem_t out_[]; };
layout(std430, binding = 4) buffer St { float st[]; };

layout(push_constant) uniform Push {
  uint rows, len, inner, groups, channels, outer;
  float eps;
} p;

shared vec2 red[WG];

vec2 reduce_sum2(vec2 v)
{
  uint l = gl_LocalInvocationID.x;
  red[l] = v;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (l < s)
      red[l] += red[l + s];
    barrier();
  }
  vec2 r = red[0];
  barrier();
  return r;
}

float reduce_sum(float v) { return reduce_sum2(vec2(v, 0.0)).x; }

// Element t of channel c's slice (MODE 0 and 3).
uint chan_index(uint c, uint t)
{
  return ((t / p.inner) * p.channels + c) * p.inner + t % p.inner;
}

void main()
{
  uint wg = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  uint l = gl_LocalInvocationID.x;

  if (MODE == 0 || MODE == 3) {
    uint c = wg;
    if (c >= p.channels)
      return;
    uint count = p.outer * p.inner;
    if (MODE == 0) {
      float s = 0.0;
      for (uint t = l; t < count; t += WG)
        s += LOAD(x[chan_index(c, t)]);
      float mean = reduce_sum(s) / float(count);
      float q = 0.0;
      for (uint t = l; t < count; t += WG) {
        float d = LOAD(x[chan_index(c, t)]) - mean;
        q += d * d;
      }
      float var = reduce_sum(q) / float(count);
      if (l == 0) {
        st[c] = mean;
        st[p.channels + c] = var;
      }
    } else {
      uint g = c / (p.channels / p.groups);
      float s = 0.0;
      for (uint t = l; t < count; t += WG) {
        uint i = chan_index(c, t), row = (t / p.inner) * p.groups + g;
        s += LOAD(dy[i]) * (LOAD(x[i]) - st[2 * row]) * st[2 * row + 1];
      }
      s = reduce_sum(s);
      if (l == 0)
        out_[c] = STORE_VAL(s);
    }
    return;
  }

  uint row = wg;
  if (row >= p.rows)
    return;
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
  if (MODE == 1) {
    if (l == 0) {
      st[2 * row] = mean;
      st[2 * row + 1] = rstd;
    }
    return;
  }

  uint ch0 = (row % p.groups) * (p.len / p.inner);
  vec2 acc = vec2(0.0);
  for (uint i = l; i < p.len; i += WG) {
    float g = LOAD(dy[base + i]);
    if (AFFINE != 0)
      g *= LOAD(gamma[ch0 + i / p.inner]);
    acc += vec2(g, g * (LOAD(x[base + i]) - mean) * rstd);
  }
  acc = reduce_sum2(acc) / float(p.len);
  for (uint i = l; i < p.len; i += WG) {
    float g = LOAD(dy[base + i]);
    if (AFFINE != 0)
      g *= LOAD(gamma[ch0 + i / p.inner]);
    float xh = (LOAD(x[base + i]) - mean) * rstd;
    out_[base + i] = STORE_VAL(rstd * (g - acc.x - xh * acc.y));
  }
}
