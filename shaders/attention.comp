#version 450
// Fused scaled-dot-product attention with an online softmax (flash
// attention): one invocation owns one query row (q and the output
// accumulator in registers); the workgroup streams BK keys/values at a time
// through shared memory, so no Lq x Lk matrix exists. Head dims D, DV and
// the tile size BK are specialization constants. Built with -DAGF_UNROLL
// the loops over them are unrolled so that the per-invocation arrays stay
// in registers (much faster; the unrolled body grows with BK * (D + DV),
// which lavapipe compiles for minutes at D = 160).
// q [B,Lq,H*D], k [B,Lk,H*D], v [B,Lk,H*DV] -> o [B,Lq,H*DV];
// workgroup (x: block of BQ queries, y: batch * head).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "dtype.glsl"
#ifdef AGF_UNROLL
#define UNROLL [[unroll]]
#else
#define UNROLL
#endif

layout(constant_id = 0) const uint BQ = 64;
layout(constant_id = 1) const uint D = 64;
layout(constant_id = 2) const uint DV = 64;
layout(constant_id = 3) const uint BK = 32;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Q { elem_t q[]; };
layout(std430, binding = 1) readonly buffer K { elem_t k[]; };
layout(std430, binding = 2) readonly buffer V { elem_t v[]; };
layout(std430, binding = 3) writeonly buffer O { elem_t o[]; };

layout(push_constant) uniform Push {
  uint lq, lk, heads;
  float scale;
} p;

shared float ks[BK * D];
shared float vs[BK * DV];

void main()
{
  uint lid = gl_LocalInvocationID.x;
  uint bh = gl_WorkGroupID.y;
  uint b = bh / p.heads, h = bh % p.heads;
  uint qi = gl_WorkGroupID.x * BQ + lid;
  bool live = qi < p.lq;

  float qr[D];
  float acc[DV];
  uint qbase = ((b * p.lq + qi) * p.heads + h) * D;
  UNROLL for (uint d = 0; d < D; d++)
    qr[d] = live ? LOAD(q[qbase + d]) * p.scale : 0.0;
  UNROLL for (uint d = 0; d < DV; d++)
    acc[d] = 0.0;
  float m = -3.402823e38, lsum = 0.0;

  for (uint k0 = 0; k0 < p.lk; k0 += BK) {
    uint nk = min(BK, p.lk - k0);
    for (uint e = lid; e < BK * D; e += BQ) {
      uint j = e / D, d = e % D;
      ks[e] = j < nk ? LOAD(k[((b * p.lk + k0 + j) * p.heads + h) * D + d]) : 0.0;
    }
    for (uint e = lid; e < BK * DV; e += BQ) {
      uint j = e / DV, d = e % DV;
      vs[e] = j < nk ? LOAD(v[((b * p.lk + k0 + j) * p.heads + h) * DV + d]) : 0.0;
    }
    barrier();
    if (live) {
      float s[BK];
      float mt = m;
      UNROLL for (uint j = 0; j < BK; j++) {
        float dot = 0.0;
        UNROLL for (uint d = 0; d < D; d++)
          dot += qr[d] * ks[j * D + d];
        s[j] = dot;
        if (j < nk)
          mt = max(mt, dot);
      }
      float corr = exp(m - mt);
      lsum *= corr;
      UNROLL for (uint d = 0; d < DV; d++)
        acc[d] *= corr;
      UNROLL for (uint j = 0; j < BK; j++) {
        float pj = j < nk ? exp(s[j] - mt) : 0.0;
        lsum += pj;
        UNROLL for (uint d = 0; d < DV; d++)
          acc[d] += pj * vs[j * DV + d];
      }
      m = mt;
    }
    barrier();
  }
  if (live) {
    float inv = 1.0 / lsum;
    uint obase = ((b * p.lq + qi) * p.heads + h) * DV;
    UNROLL for (uint d = 0; d < DV; d++)
      o[obase + d] = STORE_VAL(acc[d] * inv);
  }
}
