/* Gradients of GEMM (linear layers, batched matmuls) and conv2d. */
#include "nn/autograd_internal.h"

/* Y = alpha op(A) op(B) + bias. With op(X) = X or X^T:
 *   dA = alpha dY op(B)^T      (stored A^T when trans_a: alpha op(B) dY^T)
 *   dB = alpha op(A)^T dY      (stored B^T when trans_b: alpha dY^T op(A))
 * A batch dim that was broadcast comes back summed (agf_grad_sum_to). */
gboolean
agf_grad_gemm(AgfGradCtx *c, GError **error)
{
  const AgfNode *n = c->node;
  const AgfGemmParams *p = &n->op.p.gemm;
  const AgfTensor *a = n->saved[0], *b = n->saved[1];
  AgfTensor *dy = c->dy;
  float alpha = p->alpha == 0.0f ? 1.0f : p->alpha;
  if (agf_node_wants(n, 0)) {
    g_autoptr(AgfTensor) g = p->trans_a
      ? agf_gemm(b, dy, NULL, p->trans_b, TRUE, alpha, error)
      : agf_gemm(dy, b, NULL, FALSE, !p->trans_b, alpha, error);
    if (g == NULL || !(c->dx[0] = agf_grad_sum_to(g, &n->in_meta[0], error)))
      return FALSE;
  }
  if (agf_node_wants(n, 1)) {
    g_autoptr(AgfTensor) g = p->trans_b
      ? agf_gemm(dy, a, NULL, TRUE, p->trans_a, alpha, error)
      : agf_gemm(a, dy, NULL, !p->trans_a, FALSE, alpha, error);
    if (g == NULL || !(c->dx[1] = agf_grad_sum_to(g, &n->in_meta[1], error)))
      return FALSE;
  }
  if (n->n_in > 2 && agf_node_wants(n, 2) &&
      !(c->dx[2] = agf_grad_sum_to(dy, &n->in_meta[2], error)))
    return FALSE;
  return TRUE;
}

gboolean
agf_grad_conv2d(AgfGradCtx *c, GError **error)
{
  const AgfNode *n = c->node;
  const AgfConv2dParams *p = &n->op.p.conv;
  const AgfTensor *x = n->saved[0], *w = n->saved[1];
  if (agf_node_wants(n, 0) &&
      !(c->dx[0] = agf_conv2d_bwd_data(c->dy, w, p, (int) x->shape[2],
                                       (int) x->shape[3], error)))
    return FALSE;
  if (agf_node_wants(n, 1) &&
      !(c->dx[1] = agf_conv2d_bwd_filter(x, c->dy, p, (int) w->shape[2],
                                         (int) w->shape[3], error)))
    return FALSE;
  if (n->n_in > 2 && agf_node_wants(n, 2) &&
      !(c->dx[2] = agf_grad_sum_channels(c->dy, w->shape[0], error)))
    return FALSE;
  return TRUE;
}
