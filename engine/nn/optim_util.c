/* In-place elementwise updates for the optimizers: every op writes an
 * existing dense state tensor (same-shape elementwise ops read and write
 * each element once, so in == out is safe on every backend). */
#include "nn/optim_internal.h"
#include "nn/autograd.h"

gboolean
agf_optim_unary_into(AgfTensor *out, const AgfTensor *x, AgfUnaryFn fn,
                     float a, float b, GError **error)
{
  AgfOp op = { .kind = AGF_OP_UNARY, .in = { x }, .n_in = 1, .out = out,
               .p.unary = { .fn = fn, .a = a, .b = b } };
  return agf_op_run(&op, error);
}

gboolean
agf_optim_binary_into(AgfTensor *out, const AgfTensor *a, const AgfTensor *b,
                      AgfBinaryFn fn, GError **error)
{
  AgfOp op = { .kind = AGF_OP_BINARY, .in = { a, b }, .n_in = 2, .out = out,
               .p.binary = { .fn = fn } };
  return agf_op_run(&op, error);
}

gboolean
agf_optim_axpy(AgfTensor *out, float alpha, const AgfTensor *x,
               GError **error)
{
  g_autoptr(AgfTensor) ax = agf_scale(x, alpha, 0.0f, error);
  return ax && agf_optim_binary_into(out, out, ax, AGF_BINARY_ADD, error);
}

gboolean
agf_optim_copy_into(AgfTensor *out, const AgfTensor *x, GError **error)
{
  AgfOp op = { .kind = AGF_OP_COPY, .in = { x }, .n_in = 1, .out = out };
  agf_no_grad_begin(out->dev); /* state writes are never part of a graph */
  gboolean ok = agf_op_run(&op, error);
  agf_no_grad_end(out->dev);
  return ok;
}

AgfTensor *
agf_optim_f32_like(const AgfTensor *t, gboolean copy, GError **error)
{
  g_autoptr(AgfTensor) out = agf_tensor_new(t->dev, AGF_F32, t->ndim,
                                            t->shape, error);
  if (!out)
    return NULL;
  gboolean ok = copy ? agf_optim_copy_into(out, t, error)
                     : agf_tensor_fill(out, 0.0f, error);
  return ok ? g_steal_pointer(&out) : NULL;
}

AgfTensor *
agf_optim_sum_all(const AgfTensor *x, GError **error)
{
  static const int64_t one[1] = { 1 };
  g_autoptr(AgfTensor) s = agf_reduce(x, AGF_REDUCE_SUM, 1, one, error);
  if (!s || s->dtype == AGF_F32)
    return g_steal_pointer(&s);
  return agf_tensor_cast(s, AGF_F32, error);
}
