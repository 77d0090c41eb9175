#version 450
// AGF_OP_REDUCE: sum (in f32) or max of x over the dims the target shape
// drops or has as 1. The host collapses x's dims into at most 3 kept and 3
// reduced runs (size, element stride); output element o is the row-major
// index over the kept runs. PER_WG 0: one invocation per output, looping
// over the reduced elements (coalesced when x's inner dim is kept);
// PER_WG 1: one workgroup per output with a tree reduction (for long
// reductions such as bias gradients over N*H*W).
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256; // power of two
layout(constant_id = 1) const uint IS_MAX = 0;
layout(constant_id = 2) const uint PER_WG = 0;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { elem_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { elem_t y[]; };

layout(push_constant) uniform Push {
  uint n_out, n_red, nk, nr;
  uint ks[3], kst[3];
  uint rs[3], rst[3];
} p;

shared float red[WG];

float combine(float a, float b) { return IS_MAX != 0 ? max(a, b) : a + b; }

// x offset of output element o (kept runs) or of reduced element r.
uint kept_offset(uint o)
{
  uint off = 0;
  for (int d = int(p.nk) - 1; d >= 0; d--) {
    off += (o % p.ks[d]) * p.kst[d];
    o /= p.ks[d];
  }
  return off;
}

uint red_offset(uint r)
{
  uint off = 0;
  for (int d = int(p.nr) - 1; d >= 0; d--) {
    off += (r % p.rs[d]) * p.rst[d];
    r /= p.rs[d];
  }
  return off;
}

void main()
{
  float init = IS_MAX != 0 ? uintBitsToFloat(0xff800000u) : 0.0; // -inf
  uint wg_index = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (PER_WG == 0) {
    uint o = wg_index * WG + gl_LocalInvocationID.x;
    if (o >= p.n_out)
      return;
    uint base = kept_offset(o);
    float acc = init;
    for (uint r = 0; r < p.n_red; r++)
      acc = combine(acc, LOAD(x[base + red_offset(r)]));
    y[o] = STORE_VAL(acc);
    return;
  }
  if (wg_index >= p.n_out)
    return;
  uint l = gl_LocalInvocationID.x;
  uint base = kept_offset(wg_index);
  float acc = init;
  for (uint r = l; r < p.n_red; r += WG)
    acc = combine(acc, LOAD(x[base + red_offset(r)]));
  red[l] = acc;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (l < s)
      red[l] = combine(red[l], red[l + s]);
    barrier();
  }
  if (l == 0)
    y[wg_index] = STORE_VAL(red[0]);
}
