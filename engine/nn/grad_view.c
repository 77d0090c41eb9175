/* Gradients of views (reshape, permute, slice, expand) and of the
 * gradient-reversal layer, plus the small helpers the other rules share
 * (summing a broadcast gradient back to its source's shape, per-channel
 * views, constants). */
#include <string.h>
#include "nn/autograd_internal.h"

AgfTensor *
agf_grad_as(const AgfTensor *x, AgfDType dt, GError **error)
{
  /* cast() only reads x (a new ref or a new tensor comes back). */
  if (x->dtype == dt)
    return agf_tensor_ref((AgfTensor *) x);
  return agf_tensor_cast((AgfTensor *) x, dt, error);
}

void
agf_grad_channel_shape(int ndim, int64_t c, int64_t *shape)
{
  for (int i = 0; i < ndim; i++)
    shape[i] = 1;
  shape[ndim > 1 ? 1 : 0] = c;
}

AgfTensor *
agf_grad_channel_view(const AgfTensor *v, int ndim, GError **error)
{
  int64_t shape[AGF_MAX_DIMS];
  agf_grad_channel_shape(ndim, v->shape[0], shape);
  return agf_tensor_reshape((AgfTensor *) v, ndim, shape, error);
}

AgfTensor *
agf_grad_full(AgfDevice *dev, const AgfGradMeta *meta, float value,
              GError **error)
{
  AgfTensor *t = agf_tensor_new(dev, meta->dtype, meta->ndim, meta->shape,
                                error);
  if (t && !agf_tensor_fill(t, value, error))
    g_clear_pointer(&t, agf_tensor_unref);
  return t;
}

static gboolean
same_dims(const AgfTensor *t, int ndim, const int64_t *shape)
{
  if (t->ndim != ndim)
    return FALSE;
  for (int i = 0; i < ndim; i++)
    if (t->shape[i] != shape[i])
      return FALSE;
  return TRUE;
}

AgfTensor *
agf_grad_sum_to(AgfTensor *g, const AgfGradMeta *meta, GError **error)
{
  if (same_dims(g, meta->ndim, meta->shape))
    return agf_tensor_ref(g);
  int64_t n = 1;
  for (int i = 0; i < meta->ndim; i++)
    n *= meta->shape[i];
  if (n == agf_tensor_numel(g))
    return agf_tensor_reshape(g, meta->ndim, meta->shape, error);
  return agf_reduce(g, AGF_REDUCE_SUM, meta->ndim, meta->shape, error);
}

AgfTensor *
agf_grad_sum_channels(AgfTensor *g, int64_t c, GError **error)
{
  int64_t shape[AGF_MAX_DIMS];
  agf_grad_channel_shape(g->ndim, c, shape);
  g_autoptr(AgfTensor) r = agf_reduce(g, AGF_REDUCE_SUM, g->ndim, shape,
                                      error);
  return r ? agf_tensor_reshape(r, 1, &c, error) : NULL;
}

/* The gradient of a slice: dy placed between zero blocks along the dim. */
static AgfTensor *
unslice(const AgfNode *n, AgfTensor *dy, GError **error)
{
  const AgfGradMeta *base = &n->in_meta[0];
  int dim = n->view.dim;
  int64_t before = n->view.start;
  int64_t after = base->shape[dim] - before - dy->shape[dim];
  const AgfTensor *parts[3];
  AgfTensor *zeros[2] = { NULL, NULL };
  int np = 0;
  gboolean ok = TRUE;
  for (int side = 0; side < 2 && ok; side++) {
    int64_t len = side == 0 ? before : after;
    if (len > 0) {
      AgfGradMeta m = *base;
      m.shape[dim] = len;
      zeros[side] = agf_grad_full(dy->dev, &m, 0.0f, error);
      ok = zeros[side] != NULL;
    }
  }
  AgfTensor *dx = NULL;
  if (ok) {
    if (zeros[0])
      parts[np++] = zeros[0];
    parts[np++] = dy;
    if (zeros[1])
      parts[np++] = zeros[1];
    dx = np == 1 ? agf_tensor_contiguous(dy, error)
                 : agf_concat(parts, np, dim, error);
  }
  agf_tensor_unref(zeros[0]);
  agf_tensor_unref(zeros[1]);
  return dx;
}

gboolean
agf_grad_view(AgfGradCtx *c, GError **error)
{
  const AgfNode *n = c->node;
  const AgfGradMeta *base = &n->in_meta[0];
  switch (n->view.kind) {
  case AGF_VIEW_RESHAPE:
    c->dx[0] = agf_tensor_reshape(c->dy, base->ndim, base->shape, error);
    break;
  case AGF_VIEW_PERMUTE: {
    int inv[AGF_MAX_DIMS];
    for (int i = 0; i < base->ndim; i++)
      inv[n->view.perm[i]] = i;
    g_autoptr(AgfTensor) p = agf_tensor_permute(c->dy, inv, error);
    c->dx[0] = p ? agf_tensor_contiguous(p, error) : NULL;
    break;
  }
  case AGF_VIEW_SLICE:
    c->dx[0] = unslice(n, c->dy, error);
    break;
  case AGF_VIEW_EXPAND:
  default:
    c->dx[0] = agf_grad_sum_to(c->dy, base, error);
    break;
  }
  return c->dx[0] != NULL;
}

gboolean
agf_grad_reverse_rule(AgfGradCtx *c, GError **error)
{
  c->dx[0] = agf_scale(c->dy, -c->node->coeff, 0.0f, error);
  return c->dx[0] != NULL;
}
