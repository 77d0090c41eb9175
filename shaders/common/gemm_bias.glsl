// Bias term of GEMM output (b, row, col), for kernels with a `bias[]`
// buffer, spec constant BIAS and push fields m, bias_groups, bias_off:
// BIAS 0: none; 1: per column, bias[bias_off + col] (linear layers, where
// bias_off is the first column of an N chunk); 2: per row,
// bias[(b % bias_groups) * m + row] (conv: row = output channel of group
// b % groups).
float gemm_bias(uint b, uint row, uint col)
{
  if (BIAS == 1u)
    return LOAD(bias[pc.bias_off + col]);
  if (BIAS == 2u)
    return LOAD(bias[(b % pc.bias_groups) * pc.m + row]);
  return 0.0;
}
