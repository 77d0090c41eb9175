// out[i] = value for a dense tensor (f32, or f16 with AGF_F16). Four
// elements per invocation through a vec4 view of the same buffer (lavapipe
// runs one wide store much faster than four scalar ones); the last
// invocation writes the count % 4 tail.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(local_size_x = 256) in;

layout(std430, binding = 0) writeonly buffer Out { elem_t dst[]; };
layout(std430, binding = 0) writeonly buffer Out4 { elem4_t dst4[]; };

layout(push_constant) uniform Push {
  uint count;
  float value;
} p;

void main()
{
  uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u;
  uint n4 = p.count / 4u;
  if (i < n4) {
    dst4[i] = elem4_t(p.value);
  } else if (i == n4) {
    for (uint j = n4 * 4u; j < p.count; j++)
      dst[j] = STORE_VAL(p.value);
  }
}
