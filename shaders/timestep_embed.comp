#version 450
// Sinusoidal timestep embedding (diffusers get_timestep_embedding):
// t [B] (f32) -> [B, dim]; columns [0, half) and [half, 2*half) hold
// sin/cos (cos/sin with flip) of t * freq_i, an odd dim's last column is 0.
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer T { float t[]; };
layout(std430, binding = 1) writeonly buffer Y { elem_t y[]; };

layout(push_constant) uniform Push {
  uint n, dim, half_dim, flip;
  float log_period, denom; // -ln(max_period), half - shift
} p;

// sin/cos are only accurate near [-pi, pi] on GPUs; reduce the argument
// (up to ~1000 rad for diffusion timesteps) with a two-part 2*pi first.
float reduce_2pi(float a)
{
  float k = floor(a * 0.15915494309189535 + 0.5);
  return (a - k * 6.28125) - k * 1.9353071795864769e-3;
}

void main()
{
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG
           + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  uint col = i % p.dim, row = i / p.dim;
  float r = 0.0;
  if (col < 2 * p.half_dim) {
    uint f = col < p.half_dim ? col : col - p.half_dim;
    float arg = reduce_2pi(t[row] * exp(p.log_period * float(f) / p.denom));
    bool first = col < p.half_dim;
    bool use_sin = (first != (p.flip != 0));
    r = use_sin ? sin(arg) : cos(arg);
  }
  y[i] = STORE_VAL(r);
}
