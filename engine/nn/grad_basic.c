/* Gradients of the elementwise family: copy / dtype cast, unary
 * activations, broadcasting binary ops, PReLU, and reductions. */
#include "nn/autograd_internal.h"

gboolean
agf_grad_copy(AgfGradCtx *c, GError **error)
{
  c->dx[0] = agf_grad_as(c->dy, c->node->in_meta[0].dtype, error);
  return c->dx[0] != NULL;
}

gboolean
agf_grad_unary(AgfGradCtx *c, GError **error)
{
  const AgfNode *n = c->node;
  const AgfUnaryParams *p = &n->op.p.unary;
  if (p->fn == AGF_UNARY_IDENTITY)
    c->dx[0] = agf_scale(c->dy, p->a, 0.0f, error);
  else
    c->dx[0] = agf_unary_bwd(n->saved[0], c->dy, p->fn, p->a, p->b, error);
  return c->dx[0] != NULL;
}

/* Input i's gradient from the full-size g (consumed): summed over the
 * dims input i was broadcast along. */
static gboolean
finish(AgfGradCtx *c, int i, AgfTensor *g, GError **error)
{
  if (g == NULL)
    return FALSE;
  c->dx[i] = agf_grad_sum_to(g, &c->node->in_meta[i], error);
  agf_tensor_unref(g);
  return c->dx[i] != NULL;
}

gboolean
agf_grad_binary(AgfGradCtx *c, GError **error)
{
  const AgfNode *n = c->node;
  const AgfTensor *a = n->saved[0], *b = n->saved[1];
  AgfTensor *dy = c->dy;
  gboolean wa = agf_node_wants(n, 0), wb = agf_node_wants(n, 1);
  switch (n->op.p.binary.fn) {
  case AGF_BINARY_ADD:
    return (!wa || finish(c, 0, agf_tensor_ref(dy), error)) &&
           (!wb || finish(c, 1, agf_tensor_ref(dy), error));
  case AGF_BINARY_SUB:
    return (!wa || finish(c, 0, agf_tensor_ref(dy), error)) &&
           (!wb || finish(c, 1, agf_scale(dy, -1.0f, 0.0f, error), error));
  case AGF_BINARY_MUL:
    return (!wa || finish(c, 0, agf_mul(dy, b, error), error)) &&
           (!wb || finish(c, 1, agf_mul(dy, a, error), error));
  case AGF_BINARY_DIV:
  default: {
    /* d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -(dy/b) * a / b */
    g_autoptr(AgfTensor) q = agf_div(dy, b, error);
    if (q == NULL || (wa && !finish(c, 0, agf_tensor_ref(q), error)))
      return FALSE;
    if (!wb)
      return TRUE;
    g_autoptr(AgfTensor) qa = agf_mul(q, a, error);
    g_autoptr(AgfTensor) qab = qa ? agf_div(qa, b, error) : NULL;
    return qab && finish(c, 1, agf_scale(qab, -1.0f, 0.0f, error), error);
  }
  }
}

/* y = x for x > 0, slope * x otherwise; the slope is [C] along dim 1 or
 * [1] for all. */
gboolean
agf_grad_prelu(AgfGradCtx *c, GError **error)
{
  const AgfNode *n = c->node;
  const AgfTensor *x = n->saved[0], *slope = n->saved[1];
  AgfTensor *dy = c->dy;
  gboolean per_channel = slope->shape[0] > 1;
  g_autoptr(AgfTensor) sv = per_channel
    ? agf_grad_channel_view(slope, x->ndim, error)
    : agf_tensor_ref((AgfTensor *) slope);
  if (sv == NULL)
    return FALSE;
  if (agf_node_wants(n, 0)) {
    g_autoptr(AgfTensor) pos = agf_unary_bwd(x, dy, AGF_UNARY_RELU, 0, 0,
                                             error);
    g_autoptr(AgfTensor) neg = pos ? agf_sub(dy, pos, error) : NULL;
    g_autoptr(AgfTensor) sneg = neg ? agf_mul(neg, sv, error) : NULL;
    if (sneg == NULL || !(c->dx[0] = agf_add(pos, sneg, error)))
      return FALSE;
  }
  if (agf_node_wants(n, 1)) {
    /* d/dslope = sum of dy * min(x, 0), with min(x, 0) = x - relu(x) */
    g_autoptr(AgfTensor) r = agf_relu(x, error);
    g_autoptr(AgfTensor) m = r ? agf_sub(x, r, error) : NULL;
    g_autoptr(AgfTensor) p = m ? agf_mul(dy, m, error) : NULL;
    if (p == NULL)
      return FALSE;
    c->dx[1] = per_channel ? agf_grad_sum_channels(p, slope->shape[0], error)
                           : agf_grad_sum_to(p, &n->in_meta[1], error);
    if (c->dx[1] == NULL)
      return FALSE;
  }
  return TRUE;
}

gboolean
agf_grad_reduce(AgfGradCtx *c, GError **error)
{
  const AgfNode *n = c->node;
  const AgfGradMeta *m = &n->in_meta[0];
  if (n->op.p.reduce.fn != AGF_REDUCE_SUM) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                "backward: reduce max is not differentiable: compute it on a "
                "detached tensor");
    return FALSE;
  }
  g_autoptr(AgfTensor) e = agf_tensor_expand(c->dy, m->ndim, m->shape, error);
  c->dx[0] = e ? agf_tensor_contiguous(e, error) : NULL;
  return c->dx[0] != NULL;
}
