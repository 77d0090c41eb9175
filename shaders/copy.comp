// Strided copy of up to 6-D tensors with f32 <-> f16 conversion. One
// invocation per element (four when dense), in the logical (row-major) order of the shape;
// element offsets and strides come in push constants.
// Variants: dst type from dtype.glsl (AGF_F16), src type the same unless
// AGF_SRC_F16 / AGF_SRC_F32 says otherwise.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(local_size_x = 256) in;

#if defined(AGF_SRC_F16)
#define src_t float16_t
#elif defined(AGF_SRC_F32)
#define src_t float
#else
#define src_t elem_t
#endif

#if defined(AGF_SRC_F16)
#define src4_t f16vec4
#elif defined(AGF_SRC_F32)
#define src4_t vec4
#else
#define src4_t elem4_t
#endif

layout(std430, binding = 0) readonly buffer Src { src_t src[]; };
layout(std430, binding = 0) readonly buffer Src4 { src4_t src4[]; };
layout(std430, binding = 1) writeonly buffer Dst { elem_t dst[]; };
layout(std430, binding = 1) writeonly buffer Dst4 { elem4_t dst4[]; };

layout(push_constant) uniform Push {
  uint shape[6];   // leading dims padded with 1
  uint sstride[6]; // elements
  uint dstride[6];
  uint soff, doff; // first element, relative to the bound window
  uint count;
  uint ndim;       // real dims, the last ndim of shape
  uint dense4;     // 1: both dense, offsets multiples of 4: 4 per invocation
} p;

// Dense copies move four elements per invocation (lavapipe runs one wide
// access much faster than four scalar ones); invocation count/4 does the tail.
void copy_dense4(uint i)
{
  uint n4 = p.count / 4u;
  if (i < n4) {
    dst4[p.doff / 4u + i] = elem4_t(vec4(src4[p.soff / 4u + i]));
  } else if (i == n4) {
    for (uint j = n4 * 4u; j < p.count; j++)
      dst[p.doff + j] = STORE_VAL(LOAD(src[p.soff + j]));
  }
}

void main()
{
  uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u;
  if (p.dense4 != 0u) {
    copy_dense4(i);
    return;
  }
  if (i >= p.count)
    return;
  uint r = i, s = p.soff, d = p.doff;
  for (int k = 5; k >= 6 - int(p.ndim); k--) {
    uint c = r % p.shape[k];
    r /= p.shape[k];
    s += c * p.sstride[k];
    d += c * p.dstride[k];
  }
  dst[d] = STORE_VAL(LOAD(src[s]));
}
