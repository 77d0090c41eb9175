/* Gradients of the spatial ops: nearest upsampling (sums over each
 * block), pools (POOL2D_BWD), global average pooling (a broadcast) and
 * concatenation (slices). */
#include "nn/autograd_internal.h"

/* x [N,C,H,W] -> [N,C,fH,fW]: dx sums dy over each f x f block, read as
 * [N*C*H, f, W, f] reduced to [N*C*H, 1, W, 1]. */
gboolean
agf_grad_upsample(AgfGradCtx *c, GError **error)
{
  const AgfGradMeta *m = &c->node->in_meta[0];
  int64_t f = c->node->op.p.upsample.factor > 0
            ? c->node->op.p.upsample.factor : 2;
  int64_t rows = m->shape[0] * m->shape[1] * m->shape[2];
  int64_t blocks[4] = { rows, f, m->shape[3], f };
  int64_t sums[4] = { rows, 1, m->shape[3], 1 };
  g_autoptr(AgfTensor) b = agf_tensor_reshape(c->dy, 4, blocks, error);
  g_autoptr(AgfTensor) s = b ? agf_reduce(b, AGF_REDUCE_SUM, 4, sums, error)
                             : NULL;
  c->dx[0] = s ? agf_tensor_reshape(s, m->ndim, m->shape, error) : NULL;
  return c->dx[0] != NULL;
}

gboolean
agf_grad_pool2d(AgfGradCtx *c, GError **error)
{
  c->dx[0] = agf_pool2d_bwd(c->node->saved[0], c->dy, &c->node->op.p.pool,
                            error);
  return c->dx[0] != NULL;
}

gboolean
agf_grad_global_avg_pool(AgfGradCtx *c, GError **error)
{
  const AgfGradMeta *m = &c->node->in_meta[0];
  g_autoptr(AgfTensor) s = agf_scale(c->dy, (float) (1.0 / (double)
                                     (m->shape[2] * m->shape[3])), 0.0f,
                                     error);
  g_autoptr(AgfTensor) e = s ? agf_tensor_expand(s, m->ndim, m->shape, error)
                             : NULL;
  c->dx[0] = e ? agf_tensor_contiguous(e, error) : NULL;
  return c->dx[0] != NULL;
}

gboolean
agf_grad_concat(AgfGradCtx *c, GError **error)
{
  const AgfNode *n = c->node;
  int dim = n->op.p.concat.dim;
  int64_t start = 0;
  for (int i = 0; i < n->n_in; i++) {
    int64_t len = n->in_meta[i].shape[dim];
    if (agf_node_wants(n, i)) {
      g_autoptr(AgfTensor) s = agf_tensor_slice(c->dy, dim, start, len, error);
      if (s == NULL || !(c->dx[i] = agf_tensor_contiguous(s, error)))
        return FALSE;
    }
    start += len;
  }
  return TRUE;
}
