// Reads element (b, row, k) of a GEMM operand, for the kernels that
// materialize operands (gemm_pack, gemm_pad). Requires `elem_t src[]`
// bound, the push block `pc` below, and the spec constant IM2COL.
//
// row counts from pc.row_base; rows >= pc.rows and k >= pc.kdim read 0.
// Strided mode (IM2COL false): src[(b % src_batches) * src_bstride
//   + row * s_row + k * s_k]; the modulo gives batch broadcasting and maps
//   a conv batch b = n * groups + g onto its weight group g.
// im2col mode: src is x [N, Ci, H, W]; b = n * groups + g, row = output
//   pixel oy * ow + ox, k = (ci * kh + ky) * kw + kx within group g;
//   taps outside the image (padding) read 0.
layout(push_constant) uniform Push {
  uint rows, kdim, src_batches, src_bstride, s_row, s_k;
  uint batch_base;  // first batch of this dispatch
  uint row_base;    // added to row (a chunk of the rows)
  uint dst_a, dst_b; // layout of the destination (see the shader)
  // im2col geometry (unused in strided mode)
  uint ci, h, w, ow, kh, kw, sh, sw, pt, pl, dh, dw, groups, cig;
} pc;

float gemm_src(uint b, uint row, uint k)
{
  row += pc.row_base;
  if (row >= pc.rows || k >= pc.kdim)
    return 0.0;
  if (!IM2COL)
    return LOAD(src[(b % pc.src_batches) * pc.src_bstride + row * pc.s_row + k * pc.s_k]);
  uint n = b / pc.groups, g = b % pc.groups;
  uint kx = k % pc.kw, t = k / pc.kw;
  uint ky = t % pc.kh, c = t / pc.kh;
  uint ox = row % pc.ow, oy = row / pc.ow;
  // Unsigned wrap-around makes negative (top/left padding) coordinates huge.
  uint iy = oy * pc.sh + ky * pc.dh - pc.pt;
  uint ix = ox * pc.sw + kx * pc.dw - pc.pl;
  if (iy >= pc.h || ix >= pc.w)
    return 0.0;
  return LOAD(src[((n * pc.ci + g * pc.cig + c) * pc.h + iy) * pc.w + ix]);
}
