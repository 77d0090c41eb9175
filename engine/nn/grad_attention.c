/* Gradients of the row-wise ops of attention blocks: softmax, fused
 * attention (ATTENTION_BWD: statistics, then dq and dk+dv together,
 * recomputing the scores) and L2 normalization. */
#include "nn/autograd_internal.h"

/* Sum of t over its last dim, kept as a dim of 1. */
static AgfTensor *
row_sum(const AgfTensor *t, GError **error)
{
  int64_t shape[AGF_MAX_DIMS];
  for (int i = 0; i < t->ndim; i++)
    shape[i] = t->shape[i];
  shape[t->ndim - 1] = 1;
  return agf_reduce(t, AGF_REDUCE_SUM, t->ndim, shape, error);
}

/* dx = y * (dy - sum(dy * y)) */
gboolean
agf_grad_softmax(AgfGradCtx *c, GError **error)
{
  const AgfTensor *y = c->node->saved_out;
  g_autoptr(AgfTensor) p = agf_mul(c->dy, y, error);
  g_autoptr(AgfTensor) s = p ? row_sum(p, error) : NULL;
  g_autoptr(AgfTensor) d = s ? agf_sub(c->dy, s, error) : NULL;
  c->dx[0] = d ? agf_mul(y, d, error) : NULL;
  return c->dx[0] != NULL;
}

gboolean
agf_grad_attention(AgfGradCtx *c, GError **error)
{
  const AgfNode *n = c->node;
  AgfAttentionBwdParams p = { .n_heads = n->op.p.attention.n_heads,
                              .scale = n->op.p.attention.scale,
                              .which = AGF_ATTN_GRAD_STATS };
  const AgfTensor *q = n->saved[0], *k = n->saved[1], *v = n->saved[2],
                  *o = n->saved_out;
  g_autoptr(AgfTensor) stats = agf_attention_bwd(q, k, v, o, c->dy, NULL, &p,
                                                 error);
  if (stats == NULL)
    return FALSE;
  if (agf_node_wants(n, 0)) {
    p.which = AGF_ATTN_GRAD_Q;
    if (!(c->dx[0] = agf_attention_bwd(q, k, v, o, c->dy, stats, &p, error)))
      return FALSE;
  }
  const gboolean want_k = agf_node_wants(n, 1), want_v = agf_node_wants(n, 2);
  if (want_k && want_v) {
    /* One pass for both: dk and dv are views of its halves. */
    p.which = AGF_ATTN_GRAD_KV;
    g_autoptr(AgfTensor) kv = agf_attention_bwd(q, k, v, o, c->dy, stats, &p,
                                                error);
    if (kv == NULL ||
        !(c->dx[1] = agf_tensor_slice(kv, 2, 0, k->shape[2], error)) ||
        !(c->dx[2] = agf_tensor_slice(kv, 2, k->shape[2], v->shape[2], error)))
      return FALSE;
    return TRUE;
  }
  for (int i = 1; i < 3; i++) {
    if (!agf_node_wants(n, i))
      continue;
    p.which = i == 1 ? AGF_ATTN_GRAD_K : AGF_ATTN_GRAD_V;
    if (!(c->dx[i] = agf_attention_bwd(q, k, v, o, c->dy, stats, &p, error)))
      return FALSE;
  }
  return TRUE;
}

/* y = x / d with d = max(||x||, eps) per row:
 *   dx = (dy - [||x|| > eps] * y * sum(dy * y)) / d
 * (the clamp passes no gradient to the norm, as PyTorch's clamp_min). */
gboolean
agf_grad_l2_normalize(AgfGradCtx *c, GError **error)
{
  const AgfNode *n = c->node;
  const AgfTensor *x = n->saved[0], *y = n->saved_out;
  float eps = n->op.p.l2.eps;
  g_autoptr(AgfTensor) xx = agf_mul(x, x, error);
  g_autoptr(AgfTensor) ss = xx ? row_sum(xx, error) : NULL;
  g_autoptr(AgfTensor) norm = ss ? agf_unary(ss, AGF_UNARY_SQRT, 0, 0, error)
                                 : NULL;
  g_autoptr(AgfTensor) over = norm ? agf_scale(norm, 1.0f, -eps, error) : NULL;
  g_autoptr(AgfTensor) r = over ? agf_relu(over, error) : NULL;
  g_autoptr(AgfTensor) d = r ? agf_scale(r, 1.0f, eps, error) : NULL;
  AgfGradMeta rows = { .dtype = x->dtype, .ndim = x->ndim };
  for (int i = 0; d && i < x->ndim; i++)
    rows.shape[i] = d->shape[i];
  g_autoptr(AgfTensor) one = d ? agf_grad_full(x->dev, &rows, 1.0f, error)
                               : NULL;
  g_autoptr(AgfTensor) ind = one ? agf_unary_bwd(over, one, AGF_UNARY_RELU, 0,
                                                 0, error) : NULL;
  g_autoptr(AgfTensor) dyy = ind ? agf_mul(c->dy, y, error) : NULL;
  g_autoptr(AgfTensor) s = dyy ? row_sum(dyy, error) : NULL;
  g_autoptr(AgfTensor) si = s ? agf_mul(s, ind, error) : NULL;
  g_autoptr(AgfTensor) t = si ? agf_mul(y, si, error) : NULL;
  g_autoptr(AgfTensor) num = t ? agf_sub(c->dy, t, error) : NULL;
  c->dx[0] = num ? agf_div(num, d, error) : NULL;
  return c->dx[0] != NULL;
}
