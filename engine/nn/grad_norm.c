/* Gradients of the normalizations: group / layer norm (NORM_BWD kernels),
 * batch norm with statistics as inputs, and the batch statistics
 * themselves. Train-mode batch norm is NORM_STATS -> BATCH_NORM on the
 * tape, so the chain rule through both gives its exact gradient. */
#include "nn/autograd_internal.h"

gboolean
agf_grad_group_layer_norm(AgfGradCtx *c, GError **error)
{
  const AgfNode *n = c->node;
  const AgfTensor *x = n->saved[0], *gamma = n->saved[1];
  gboolean group = n->op.kind == AGF_OP_GROUP_NORM;
  AgfNormBwdParams p = {
    .kind = group ? AGF_NORM_GROUP : AGF_NORM_LAYER,
    .groups = group ? n->op.p.group_norm.groups : 0,
    .eps = group ? n->op.p.group_norm.eps : n->op.p.layer_norm.eps,
    .which = AGF_NORM_GRAD_INPUT,
  };
  if (agf_node_wants(n, 0) &&
      !(c->dx[0] = agf_norm_bwd(x, c->dy, gamma, &p, error)))
    return FALSE;
  if (n->n_in < 3)
    return TRUE;
  p.which = AGF_NORM_GRAD_GAMMA;
  if (agf_node_wants(n, 1) &&
      !(c->dx[1] = agf_norm_bwd(x, c->dy, NULL, &p, error)))
    return FALSE;
  if (agf_node_wants(n, 2)) {
    c->dx[2] = group ? agf_grad_sum_channels(c->dy, x->shape[1], error)
                     : agf_grad_sum_to(c->dy, &n->in_meta[2], error);
    if (c->dx[2] == NULL)
      return FALSE;
  }
  return TRUE;
}

/* y = (x - mean) * inv * gamma + beta with inv = 1/sqrt(var + eps):
 *   dx = dy * gamma * inv            dbeta = sum dy
 *   dgamma = sum dy * (x - mean) * inv
 *   dmean = -dbeta * gamma * inv     dvar = -dgamma * gamma * inv^2 / 2 */
gboolean
agf_grad_batch_norm(AgfGradCtx *c, GError **error)
{
  const AgfNode *n = c->node;
  const AgfTensor *x = n->saved[0], *mean = n->saved[1], *var = n->saved[2],
                  *gamma = n->saved[3];
  AgfTensor *dy = c->dy;
  int nd = x->ndim;
  int64_t ch = x->shape[1];
  g_autoptr(AgfTensor) ve = agf_scale(var, 1.0f, n->op.p.batch_norm.eps,
                                      error);
  g_autoptr(AgfTensor) sd = ve ? agf_unary(ve, AGF_UNARY_SQRT, 0, 0, error)
                               : NULL;
  g_autoptr(AgfTensor) one = sd ? agf_grad_full(x->dev, &n->in_meta[2], 1.0f,
                                                error) : NULL;
  g_autoptr(AgfTensor) inv = one ? agf_div(one, sd, error) : NULL;
  g_autoptr(AgfTensor) ginv = inv ? agf_mul(gamma, inv, error) : NULL;
  if (ginv == NULL)
    return FALSE;
  if (agf_node_wants(n, 0)) {
    g_autoptr(AgfTensor) gv = agf_grad_channel_view(ginv, nd, error);
    if (gv == NULL || !(c->dx[0] = agf_mul(dy, gv, error)))
      return FALSE;
  }
  if (agf_node_wants(n, 1) || agf_node_wants(n, 4)) {
    g_autoptr(AgfTensor) dbeta = agf_grad_sum_channels(dy, ch, error);
    if (dbeta == NULL)
      return FALSE;
    if (agf_node_wants(n, 1)) {
      g_autoptr(AgfTensor) t = agf_mul(dbeta, ginv, error);
      if (t == NULL || !(c->dx[1] = agf_scale(t, -1.0f, 0.0f, error)))
        return FALSE;
    }
    if (agf_node_wants(n, 4))
      c->dx[4] = g_steal_pointer(&dbeta);
  }
  if (agf_node_wants(n, 2) || agf_node_wants(n, 3)) {
    g_autoptr(AgfTensor) mv = agf_grad_channel_view(mean, nd, error);
    g_autoptr(AgfTensor) iv = mv ? agf_grad_channel_view(inv, nd, error)
                                 : NULL;
    g_autoptr(AgfTensor) xc = iv ? agf_sub(x, mv, error) : NULL;
    g_autoptr(AgfTensor) xh = xc ? agf_mul(xc, iv, error) : NULL;
    g_autoptr(AgfTensor) p = xh ? agf_mul(dy, xh, error) : NULL;
    g_autoptr(AgfTensor) dgamma = p ? agf_grad_sum_channels(p, ch, error)
                                    : NULL;
    if (dgamma == NULL)
      return FALSE;
    if (agf_node_wants(n, 2)) {
      g_autoptr(AgfTensor) t = agf_mul(dgamma, ginv, error);
      g_autoptr(AgfTensor) t2 = t ? agf_mul(t, inv, error) : NULL;
      if (t2 == NULL || !(c->dx[2] = agf_scale(t2, -0.5f, 0.0f, error)))
        return FALSE;
    }
    if (agf_node_wants(n, 3))
      c->dx[3] = g_steal_pointer(&dgamma);
  }
  return TRUE;
}

/* Row r of the [2, C] statistics gradient or values, as [1, C, 1, ...] in
 * dtype dt. */
static AgfTensor *
stats_row(AgfTensor *s, int r, int ndim, AgfDType dt, GError **error)
{
  g_autoptr(AgfTensor) row = agf_tensor_slice(s, 0, r, 1, error);
  g_autoptr(AgfTensor) t = row ? agf_grad_as(row, dt, error) : NULL;
  if (t == NULL)
    return NULL;
  int64_t shape[AGF_MAX_DIMS];
  agf_grad_channel_shape(ndim, s->shape[1], shape);
  return agf_tensor_reshape(t, ndim, shape, error);
}

/* mean = sum x / M, var = sum (x - mean)^2 / M per channel:
 *   dx = dmean / M + dvar * 2 (x - mean) / M
 * (the mean's own dependence on x drops out of dvar: sum (x - mean) = 0). */
gboolean
agf_grad_norm_stats(AgfGradCtx *c, GError **error)
{
  const AgfNode *n = c->node;
  const AgfTensor *x = n->saved[0];
  int nd = x->ndim;
  double m = (double) agf_tensor_numel(x) / (double) x->shape[1];
  g_autoptr(AgfTensor) dmean = stats_row(c->dy, 0, nd, x->dtype, error);
  g_autoptr(AgfTensor) dvar = dmean ? stats_row(c->dy, 1, nd, x->dtype, error)
                                    : NULL;
  g_autoptr(AgfTensor) mean = dvar ? stats_row(n->saved_out, 0, nd, x->dtype,
                                               error) : NULL;
  g_autoptr(AgfTensor) xc = mean ? agf_sub(x, mean, error) : NULL;
  g_autoptr(AgfTensor) t = xc ? agf_mul(xc, dvar, error) : NULL;
  g_autoptr(AgfTensor) t2 = t ? agf_scale(t, (float) (2.0 / m), 0.0f, error)
                              : NULL;
  g_autoptr(AgfTensor) dm = t2 ? agf_scale(dmean, (float) (1.0 / m), 0.0f,
                                           error) : NULL;
  c->dx[0] = dm ? agf_add(t2, dm, error) : NULL;
  return c->dx[0] != NULL;
}
