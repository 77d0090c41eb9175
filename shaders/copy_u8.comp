// Strided copy of u8 tensors, which live packed 4 per 32-bit word. One
// invocation per element; the destination byte is replaced with two
// atomics so that neighbours in the same word never race.
#version 450

layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer Src { uint src[]; };
layout(std430, binding = 1) buffer Dst { uint dst[]; };

layout(push_constant) uniform Push {
  uint shape[6];
  uint sstride[6]; // bytes
  uint dstride[6];
  uint soff, doff; // first byte, relative to the bound window
  uint count;
  uint ndim;       // real dims, the last ndim of shape
} p;

void main()
{
  uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u;
  if (i >= p.count)
    return;
  uint r = i, s = p.soff, d = p.doff;
  for (int k = 5; k >= 6 - int(p.ndim); k--) {
    uint c = r % p.shape[k];
    r /= p.shape[k];
    s += c * p.sstride[k];
    d += c * p.dstride[k];
  }
  uint v = (src[s >> 2] >> ((s & 3u) * 8u)) & 0xffu;
  uint sh = (d & 3u) * 8u;
  atomicAnd(dst[d >> 2], ~(0xffu << sh));
  atomicOr(dst[d >> 2], v << sh);
}
