#version 450
// Backward of fused attention (attention.comp), FlashAttention-2 style:
// scores are recomputed tile by tile from q and k, never stored.
// s_ij = scale q_i.k_j, P_ij = exp(s_ij - lse_i), dS_ij = P_ij (dO_i.v_j - D_i)
// MODE 0 STATS: per query row, lse_i (online) and D_i = dO_i.o_i -> st.
// MODE 1 DQ: per query row, dq_i = scale sum_j dS_ij k_j.
// MODE 2 DK: per key row, dk_j = scale sum_i dS_ij q_i.
// MODE 3 DV: per key row, dv_j = sum_i P_ij dO_i.
// MODE 4 KV: per key row, both (one score recomputation); grad rows are
// [H*D + H*DV]: dk then dv.
// One invocation owns one row (its vectors in registers); the workgroup
// streams BT rows of the other side at a time through shared memory.
// Workgroup (x: block of WG rows, y: batch * head). Layouts: q, dq
// [B,Lq,H*D]; k, dk [B,Lk,H*D]; v, dv [B,Lk,H*DV]; o, dO [B,Lq,H*DV];
// st [B,H,Lq,2] f32. -DAGF_UNROLL unrolls the loops over D, DV and BT
// (see attention.comp).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "dtype.glsl"
#ifdef AGF_UNROLL
#define UNROLL [[unroll]]
#else
#define UNROLL
#endif

layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint D = 64;
layout(constant_id = 2) const uint DV = 64;
layout(constant_id = 3) const uint BT = 8;
layout(constant_id = 4) const uint MODE = 0;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Q { elem_t q[]; };
layout(std430, binding = 1) readonly buffer K { elem_t k[]; };
layout(std430, binding = 2) readonly buffer V { elem_t v[]; };
layout(std430, binding = 3) readonly buffer O { elem_t o[]; };
layout(std430, binding = 4) readonly buffer DO { elem_t dout[]; };
layout(std430, binding = 5) buffer St { float st[]; };
layout(std430, binding = 6) writeonly buffer G { elem_t grad[]; };

layout(push_constant) uniform Push {
  uint lq, lk, heads;
  float scale;
} p;

// The streamed tile: k and v (query-row modes) or q and dO (key-row modes).
shared float ta[BT * D];
shared float tb[BT * DV];
shared vec2 tst[BT]; // lse, D of the streamed queries (key-row modes)

uint qrow(uint b, uint i, uint h) { return ((b * p.lq + i) * p.heads + h); }
uint krow(uint b, uint j, uint h) { return ((b * p.lk + j) * p.heads + h); }

void main()
{
  uint lid = gl_LocalInvocationID.x;
  uint bh = gl_WorkGroupID.y;
  uint b = bh / p.heads, h = bh % p.heads;
  uint r = gl_WorkGroupID.x * WG + lid;
  bool by_query = MODE <= 1;
  uint own_n = by_query ? p.lq : p.lk, other_n = by_query ? p.lk : p.lq;
  bool live = r < own_n;
  uint ri = live ? r : 0;

  // Own row: q (scaled) and dO for query rows; k (scaled) and v for keys.
  float ra[D];
  float rb[DV];
  float acc[MODE == 3 ? DV : D];
  float acc_v[MODE == 4 ? DV : 1]; // KV: dv beside dk in acc
  uint abase = (by_query ? qrow(b, ri, h) : krow(b, ri, h)) * D;
  uint bbase = (by_query ? qrow(b, ri, h) : krow(b, ri, h)) * DV;
  UNROLL for (uint d = 0; d < D; d++)
    ra[d] = (by_query ? LOAD(q[abase + d]) : LOAD(k[abase + d])) * p.scale;
  UNROLL for (uint d = 0; d < DV; d++)
    rb[d] = by_query ? LOAD(dout[bbase + d]) : LOAD(v[bbase + d]);
  UNROLL for (uint d = 0; d < acc.length(); d++)
    acc[d] = 0.0;
  UNROLL for (uint d = 0; d < acc_v.length(); d++)
    acc_v[d] = 0.0;

  uint sbase = ((b * p.heads + h) * p.lq + ri) * 2;
  float m = -3.402823e38, lsum = 0.0; // STATS: online max and sum
  float lse = 0.0, di = 0.0;
  if (MODE == 1) {
    lse = st[sbase];
    di = st[sbase + 1];
  }

  for (uint t0 = 0; t0 < other_n; t0 += BT) {
    uint nt = min(BT, other_n - t0);
    for (uint e = lid; e < BT * D; e += WG) {
      uint j = e / D, d = e % D;
      float val = 0.0;
      if (j < nt)
        val = by_query ? LOAD(k[krow(b, t0 + j, h) * D + d])
                       : LOAD(q[qrow(b, t0 + j, h) * D + d]);
      ta[e] = val;
    }
    if (MODE != 0)
      for (uint e = lid; e < BT * DV; e += WG) {
        uint j = e / DV, d = e % DV;
        float val = 0.0;
        if (j < nt)
          val = by_query ? LOAD(v[krow(b, t0 + j, h) * DV + d])
                         : LOAD(dout[qrow(b, t0 + j, h) * DV + d]);
        tb[e] = val;
      }
    if (!by_query)
      for (uint j = lid; j < BT; j += WG) {
        uint s = ((b * p.heads + h) * p.lq + t0 + j) * 2;
        tst[j] = j < nt ? vec2(st[s], st[s + 1]) : vec2(0.0);
      }
    barrier();
    if (live) {
      UNROLL for (uint j = 0; j < BT; j++) {
        if (j < nt) {
          float s = 0.0;
          UNROLL for (uint d = 0; d < D; d++)
            s += ra[d] * ta[j * D + d];
          if (MODE == 0) {
            float mt = max(m, s);
            lsum = lsum * exp(m - mt) + exp(s - mt);
            m = mt;
          } else {
            vec2 sd = by_query ? vec2(lse, di) : tst[j];
            float pj = exp(s - sd.x);
            if (MODE == 3) {
              UNROLL for (uint d = 0; d < DV; d++)
                acc[d] += pj * tb[j * DV + d];
            } else {
              float dp = 0.0;
              UNROLL for (uint d = 0; d < DV; d++)
                dp += rb[d] * tb[j * DV + d];
              float ds = pj * (dp - sd.y);
              UNROLL for (uint d = 0; d < D; d++)
                acc[d] += ds * ta[j * D + d];
              if (MODE == 4) {
                UNROLL for (uint d = 0; d < DV; d++)
                  acc_v[d] += pj * tb[j * DV + d];
              }
            }
          }
        }
      }
    }
    barrier();
  }
  if (!live)
    return;
  if (MODE == 0) {
    float dsum = 0.0;
    UNROLL for (uint d = 0; d < DV; d++)
      dsum += rb[d] * LOAD(o[bbase + d]);
    st[sbase] = m + log(lsum);
    st[sbase + 1] = dsum;
    return;
  }
  if (MODE == 4) {
    uint kvbase = (b * p.lk + ri) * p.heads * (D + DV);
    UNROLL for (uint d = 0; d < D; d++)
      grad[kvbase + h * D + d] = STORE_VAL(acc[d] * p.scale);
    UNROLL for (uint d = 0; d < DV; d++)
      grad[kvbase + p.heads * D + h * DV + d] = STORE_VAL(acc_v[d]);
    return;
  }
  uint gbase = MODE == 3 ? bbase : abase;
  float gs = MODE == 3 ? 1.0 : p.scale;
  UNROLL for (uint d = 0; d < acc.length(); d++)
    grad[gbase + d] = STORE_VAL(acc[d] * gs);
}
