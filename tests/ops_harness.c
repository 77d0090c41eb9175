/* The op harness (test_ops.c, test_ops_threads.c): a case's host inputs
 * and one run of it on a device. */
#include <math.h>
#include <string.h>
#include "test_support.h"
#include "ops_harness.h"

/* Host values of input i: fixed seeds, f16-rounded when the run is f16 so
 * that both sides see the same numbers. */
float *agf_ops_make_input(const OpCase *c, int ci, int i, AgfDType dt)
{
  const OpInput *in = &c->in[i];
  int64_t n = 1;
  for (int d = 0; d < in->ndim; d++)
    n *= in->shape[d];
  float *x = g_new(float, n);
  if (in->data) {
    memcpy(x, in->data, n * sizeof(float));
    return x;
  }
  float lo = in->lo, hi = in->hi;
  if (lo == 0 && hi == 0)
    lo = -1, hi = 1;
  agf_test_fill_uniform(x, n, 7919u * (guint32)ci + 104729u * (guint32)i + 1, lo, hi);
  if (in->kind == OP_IN_U8)
    for (int64_t j = 0; j < n; j++)
      x[j] = floorf(CLAMP(x[j], 0, 255));
  else if (in->kind == OP_IN_FLOAT && dt == AGF_F16)
    agf_test_round_f16(x, n);
  return x;
}

static AgfTensor *upload(AgfDevice *dev, const OpCase *c, int i,
                         const float *data, AgfDType dt)
{
  const OpInput *in = &c->in[i];
  int64_t shape[AGF_MAX_DIMS];
  memcpy(shape, in->shape, sizeof shape);
  gboolean perm = i == 0 && c->permute_in0;
  if (perm) /* storage shape whose permutation is the logical shape */
    for (int d = 0; d < in->ndim; d++)
      shape[c->perm[d]] = in->shape[d];
  GError *error = NULL;
  AgfTensor *t;
  if (in->kind == OP_IN_U8) {
    int64_t n = 1;
    for (int d = 0; d < in->ndim; d++)
      n *= in->shape[d];
    g_autofree uint8_t *bytes = g_new(uint8_t, n);
    for (int64_t j = 0; j < n; j++)
      bytes[j] = (uint8_t)data[j];
    t = agf_tensor_from_host(dev, AGF_U8, in->ndim, shape, bytes, &error);
    g_assert_no_error(error);
  } else {
    t = agf_test_tensor(dev, in->kind == OP_IN_F32 ? AGF_F32 : dt, in->ndim,
                        shape, data);
  }
  if (perm) {
    AgfTensor *v = agf_tensor_permute(t, c->perm, &error);
    g_assert_no_error(error);
    agf_tensor_unref(t);
    t = v;
  }
  return t;
}

/* ATTENTION_BWD's in3 must be the forward output of q, k, v and its in5
 * the STATS gradient of those: the cases' random values are replaced by
 * the naive references' results (o rounded like any f16 input), so every
 * backend gets one consistent set without the harness chaining ops. */
void agf_ops_chain_attention_inputs(const OpCase *c, float **host, AgfDType dt)
{
  if (c->op.kind != AGF_OP_ATTENTION_BWD)
    return;
  const AgfAttentionBwdParams *p = &c->op.p.attention_bwd;
  OpCase fwd = { .op = { .kind = AGF_OP_ATTENTION, .n_in = 3,
                         .p.attention = { p->n_heads, p->scale } },
                 .in = { c->in[0], c->in[1], c->in[2] } };
  int64_t n = 0;
  g_free(host[3]);
  host[3] = agf_naive_run(&fwd, host, &n);
  if (dt == AGF_F16)
    agf_test_round_f16(host[3], n);
  if (c->op.n_in > 5) {
    OpCase stats = *c;
    stats.op.n_in = 5;
    stats.op.p.attention_bwd.which = AGF_ATTN_GRAD_STATS;
    g_free(host[5]);
    host[5] = agf_naive_run(&stats, host, &n);
  }
}

/* Runs case c on dev in dt; returns the output, or NULL after marking the
 * test failed. */
AgfTensor *agf_ops_run_case(const OpCase *c, AgfDevice *dev, AgfDType dt,
                            float *const *host)
{
  GError *error = NULL;
  AgfOp op = c->op;
  AgfTensor *ins[AGF_OP_MAX_INPUTS] = { 0 };
  for (int i = 0; i < op.n_in; i++)
    if (c->in[i].ndim)
      op.in[i] = ins[i] = upload(dev, c, i, host[i], dt);
  AgfTensor *out;
  if (op.n_in == 0) {
    out = agf_tensor_new(dev, dt, c->out_ndim, c->out_shape, &error);
    g_assert_no_error(error);
    op.out = out;
    agf_op_run(&op, &error);
    if (error)
      g_clear_pointer(&out, agf_tensor_unref);
  } else {
    out = agf_op_call(&op, &error);
  }
  for (int i = 0; i < op.n_in; i++)
    g_clear_pointer(&ins[i], agf_tensor_unref);
  if (!out) {
    g_test_fail_printf("%s %s on %s (%s): %s", agf_op_name(c->op.kind), c->name,
                       agf_device_info(dev)->spec, agf_dtype_name(dt),
                       error ? error->message : "no output and no error");
    g_clear_error(&error);
  }
  return out;
}
