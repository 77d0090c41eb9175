#version 450
// Resampling of [planes, ih, iw] to [planes, oh, ow], one output per
// invocation. MODE 0: nearest upsample by an integer factor. MODE 1:
// bilinear, half-pixel centres (source clamped at 0, PyTorch) or
// align_corners.
#extension GL_GOOGLE_include_directive : require
#include "dtype.glsl"

layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint MODE = 0;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { elem_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { elem_t y[]; };

layout(push_constant) uniform Push {
  uint n, ih, iw, oh, ow, factor, align_corners;
  float sy, sx; // bilinear: source step per output pixel
} p;

void main()
{
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG
           + gl_LocalInvocationID.x;
  if (i >= p.n)
    return;
  uint ox = i % p.ow, t = i / p.ow;
  uint oy = t % p.oh, plane = t / p.oh;
  uint base = plane * p.ih * p.iw;
  if (MODE == 0) {
    y[i] = x[base + (oy / p.factor) * p.iw + ox / p.factor];
    return;
  }
  float fy, fx;
  if (p.align_corners != 0) {
    fy = float(oy) * p.sy;
    fx = float(ox) * p.sx;
  } else {
    fy = max((float(oy) + 0.5) * p.sy - 0.5, 0.0);
    fx = max((float(ox) + 0.5) * p.sx - 0.5, 0.0);
  }
  uint y0 = min(uint(fy), p.ih - 1), x0 = min(uint(fx), p.iw - 1);
  uint y1 = min(y0 + 1, p.ih - 1), x1 = min(x0 + 1, p.iw - 1);
  float ly = fy - float(y0), lx = fx - float(x0);
  float top = mix(LOAD(x[base + y0 * p.iw + x0]), LOAD(x[base + y0 * p.iw + x1]), lx);
  float bot = mix(LOAD(x[base + y1 * p.iw + x0]), LOAD(x[base + y1 * p.iw + x1]), lx);
  y[i] = STORE_VAL(mix(top, bot, ly));
}
