#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
// fp16 GEMM on tensor cores (VK_NV_cooperative_matrix), fp32 accumulation.
// Inputs are fp16, dense and zero-padded by gemm_pad: A [Mp, Kp],
// B [Kp, Np] per batch, Mp a multiple of 2*CM, Np of 2*CN, Kp of CK, so no
// load needs a bounds check. One subgroup per workgroup computes a 2x2 grid
// of CM x CN tiles and stores them, unscaled, to the fp32 [Mp, Np] scratch
// that gemm_epilogue crops, scales and biases into the output.
layout(local_size_x_id = 0) in; // the subgroup size
layout(constant_id = 1) const uint CM = 16;
layout(constant_id = 2) const uint CN = 16;
layout(constant_id = 3) const uint CK = 16;

layout(std430, binding = 0) readonly buffer A { float16_t a[]; };
layout(std430, binding = 1) readonly buffer B { float16_t bm[]; };
layout(std430, binding = 2) writeonly buffer Out { float c[]; };

layout(push_constant) uniform Push {
  uint mp, np, kp, a_batches, b_batches, batch_base;
} pc;

void main()
{
  uint b = gl_WorkGroupID.z + pc.batch_base;
  uint m0 = gl_WorkGroupID.y * 2u * CM, n0 = gl_WorkGroupID.x * 2u * CN;
  uint abase = (b % pc.a_batches) * pc.mp * pc.kp;
  uint bbase = (b % pc.b_batches) * pc.kp * pc.np;
  fcoopmatNV<32, gl_ScopeSubgroup, CM, CN> acc[2][2];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, CM, CN>(0.0);
  for (uint k0 = 0u; k0 < pc.kp; k0 += CK) {
    fcoopmatNV<16, gl_ScopeSubgroup, CM, CK> ta[2];
    fcoopmatNV<16, gl_ScopeSubgroup, CK, CN> tb[2];
    for (uint i = 0u; i < 2u; ++i)
      coopMatLoadNV(ta[i], a, abase + (m0 + i * CM) * pc.kp + k0, pc.kp, false);
    for (uint j = 0u; j < 2u; ++j)
      coopMatLoadNV(tb[j], bm, bbase + k0 * pc.np + n0 + j * CN, pc.np, false);
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j)
        acc[i][j] = coopMatMulAddNV(ta[i], tb[j], acc[i][j]);
  }
  uint cbase = b * pc.mp * pc.np;
  for (uint i = 0u; i < 2u; ++i)
    for (uint j = 0u; j < 2u; ++j)
      coopMatStoreNV(acc[i][j], c, cbase + (m0 + i * CM) * pc.np + n0 + j * CN,
                     pc.np, false);
}
