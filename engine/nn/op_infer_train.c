/* Shape rules of the training kinds (op.h, "training kinds"). A backward
 * kind is valid exactly when the forward op it differentiates is: the rules
 * rebuild that forward op from shape-only tensors, infer it with
 * agf_op_infer(), and check that the incoming gradient has the forward
 * output's shape. */
#include <stdarg.h>
#include <string.h>
#include "nn/nn_internal.h"

/* A tensor that only has a shape (for inferring a forward op). */
static AgfTensor
shape_only(const AgfTensor *like, int ndim, const int64_t *shape)
{
  AgfTensor t = { .refcount = 1, .dev = like->dev, .dtype = like->dtype,
                  .ndim = ndim };
  memcpy(t.shape, shape, (size_t) ndim * sizeof *shape);
  return t;
}

/* The forward op's output must have the gradient's shape. */
static gboolean
forward_matches(const char *name, const AgfOp *fwd, const AgfTensor *dy,
                const char *what, GError **error)
{
  char a[AGF_SHAPE_STR_LEN], b[AGF_SHAPE_STR_LEN];
  AgfDType dt;
  int nd;
  int64_t shape[AGF_MAX_DIMS];
  g_autoptr(GError) err = NULL;
  if (!agf_op_infer(fwd, &dt, &nd, shape, &err))
    return agf_op_fail(error, err->code, name, "the forward op is invalid (%s)",
                       err->message);
  gboolean same = nd == dy->ndim;
  for (int i = 0; same && i < nd; i++)
    same = shape[i] == dy->shape[i];
  if (!same)
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "%s is %s but the forward op "
                       "produces %s",
                       what, agf_shape_str(dy, a, sizeof a),
                       agf_dims_str(nd, shape, b, sizeof b));
  return TRUE;
}

static void
set_like(int *ndim, int64_t *shape, const AgfTensor *t)
{
  *ndim = t->ndim;
  memcpy(shape, t->shape, (size_t) t->ndim * sizeof *shape);
}

static gboolean
infer_reduce(const AgfOp *op, const char *name, int *ndim, int64_t *shape,
             GError **error)
{
  char a[AGF_SHAPE_STR_LEN], b[AGF_SHAPE_STR_LEN];
  const AgfReduceParams *p = &op->p.reduce;
  const AgfTensor *x = op->in[0];
  if ((unsigned) p->fn > AGF_REDUCE_MAX)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "unknown reduction "
                       "%d",
                       (int) p->fn);
  gboolean ok = p->ndim >= 1 && p->ndim <= x->ndim;
  for (int i = 1; ok && i <= p->ndim; i++) {
    int64_t d = p->shape[p->ndim - i], dx = x->shape[x->ndim - i];
    ok = d == 1 || d == dx;
  }
  if (!ok)
    return agf_op_fail(
        error, AGF_ERROR_SHAPE, name,
        "cannot reduce %s to %s: the "
        "target has at most as many dims, each 1 or equal to the "
        "input's (aligned from the last)",
        agf_shape_str(x, a, sizeof a),
        agf_dims_str(CLAMP(p->ndim, 0, AGF_MAX_DIMS), p->shape, b, sizeof b));
  *ndim = p->ndim;
  memcpy(shape, p->shape, (size_t) p->ndim * sizeof *shape);
  return TRUE;
}

static gboolean
infer_unary_bwd(const AgfOp *op, const char *name, int *ndim, int64_t *shape,
                GError **error)
{
  AgfOp fwd = { .kind = AGF_OP_UNARY, .in = { op->in[0] }, .n_in = 1,
                .p.unary = op->p.unary_bwd };
  if (!forward_matches(name, &fwd, op->in[1], "dy", error))
    return FALSE;
  set_like(ndim, shape, op->in[0]);
  return TRUE;
}

static gboolean
infer_conv_bwd_data(const AgfOp *op, const char *name, int *ndim,
                    int64_t *shape, GError **error)
{
  const AgfConv2dBwdParams *p = &op->p.conv_bwd;
  const AgfTensor *dy = op->in[0], *w = op->in[1];
  int g = p->conv.groups > 0 ? p->conv.groups : 1;
  if (w->ndim != 4 || dy->ndim != 4 || p->h < 1 || p->w < 1)
    return agf_op_fail(
        error, AGF_ERROR_SHAPE, name,
        "needs dy [N,Co,Ho,Wo], w "
        "[Co,Ci/g,kh,kw] and the input size h, w >= 1 (got %d x %d)",
        p->h, p->w);
  AgfTensor x = shape_only(dy, 4, (int64_t[]){ dy->shape[0],
                                               w->shape[1] * g, p->h, p->w });
  AgfOp fwd = { .kind = AGF_OP_CONV2D, .in = { &x, w }, .n_in = 2,
                .p.conv = p->conv };
  if (!forward_matches(name, &fwd, dy, "dy", error))
    return FALSE;
  set_like(ndim, shape, &x);
  return TRUE;
}

static gboolean
infer_conv_bwd_filter(const AgfOp *op, const char *name, int *ndim,
                      int64_t *shape, GError **error)
{
  const AgfConv2dBwdParams *p = &op->p.conv_bwd;
  const AgfTensor *x = op->in[0], *dy = op->in[1];
  int g = p->conv.groups > 0 ? p->conv.groups : 1;
  if (x->ndim != 4 || dy->ndim != 4 || p->h < 1 || p->w < 1 ||
      x->shape[1] % g != 0)
    return agf_op_fail(
        error, AGF_ERROR_SHAPE, name,
        "needs x [N,Ci,H,W] with Ci "
        "divisible by groups %d, dy [N,Co,Ho,Wo] and the kernel size "
        "h, w >= 1 (got %d x %d)",
        g, p->h, p->w);
  AgfTensor w = shape_only(x, 4, (int64_t[]){ dy->shape[1], x->shape[1] / g,
                                              p->h, p->w });
  AgfOp fwd = { .kind = AGF_OP_CONV2D, .in = { x, &w }, .n_in = 2,
                .p.conv = p->conv };
  if (!forward_matches(name, &fwd, dy, "dy", error))
    return FALSE;
  set_like(ndim, shape, &w);
  return TRUE;
}

static gboolean
infer_norm_stats(const AgfOp *op, const char *name, int *ndim, int64_t *shape,
                 GError **error)
{
  char a[AGF_SHAPE_STR_LEN];
  const AgfTensor *x = op->in[0];
  if (x->ndim < 2)
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "input %s must be [N, C, ...]",
                       agf_shape_str(x, a, sizeof a));
  *ndim = 2;
  shape[0] = 2;
  shape[1] = x->shape[1];
  return TRUE;
}

static gboolean
infer_norm_bwd(const AgfOp *op, const char *name, int *ndim, int64_t *shape,
               GError **error)
{
  const AgfNormBwdParams *p = &op->p.norm_bwd;
  const AgfTensor *x = op->in[0], *gamma = op->n_in > 2 ? op->in[2] : NULL;
  if ((unsigned) p->kind > AGF_NORM_LAYER ||
      (unsigned) p->which > AGF_NORM_GRAD_GAMMA)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "unknown norm kind "
                       "%d or gradient %d",
                       (int) p->kind, (int) p->which);
  if (gamma && p->which != AGF_NORM_GRAD_INPUT)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "gamma is an input "
                       "of the dx gradient only");
  AgfOp fwd = { .n_in = gamma ? 3 : 1, .in = { x, gamma, gamma } };
  if (p->kind == AGF_NORM_GROUP) {
    fwd.kind = AGF_OP_GROUP_NORM;
    fwd.p.group_norm = (AgfGroupNormParams){ p->groups, p->eps };
  } else {
    fwd.kind = AGF_OP_LAYER_NORM;
    fwd.p.layer_norm = (AgfLayerNormParams){ p->eps };
  }
  if (!forward_matches(name, &fwd, op->in[1], "dy", error))
    return FALSE;
  if (p->which == AGF_NORM_GRAD_INPUT) {
    set_like(ndim, shape, x);
  } else {
    *ndim = 1;
    shape[0] = p->kind == AGF_NORM_GROUP ? x->shape[1] : x->shape[x->ndim - 1];
  }
  return TRUE;
}

static gboolean
infer_attention_bwd(const AgfOp *op, const char *name, AgfDType *dtype,
                    int *ndim, int64_t *shape, GError **error)
{
  char a[AGF_SHAPE_STR_LEN];
  const AgfAttentionBwdParams *p = &op->p.attention_bwd;
  const AgfTensor *q = op->in[0], *stats = op->n_in > 5 ? op->in[5] : NULL;
  if ((unsigned) p->which > AGF_ATTN_GRAD_KV)
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "unknown gradient "
                       "%d",
                       (int) p->which);
  AgfOp fwd = { .kind = AGF_OP_ATTENTION, .in = { q, op->in[1], op->in[2] },
                .n_in = 3, .p.attention = { p->n_heads, p->scale } };
  if (!forward_matches(name, &fwd, op->in[3], "o", error) ||
      !forward_matches(name, &fwd, op->in[4], "dO", error))
    return FALSE;
  int64_t stats_shape[4] = { q->shape[0], p->n_heads, q->shape[1], 2 };
  if (p->which == AGF_ATTN_GRAD_STATS) {
    if (stats)
      return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name, "the stats "
                         "gradient takes no stats input");
    *dtype = AGF_F32;
    *ndim = 4;
    memcpy(shape, stats_shape, sizeof stats_shape);
    return TRUE;
  }
  AgfTensor want = shape_only(q, 4, stats_shape);
  want.dtype = AGF_F32;
  if (stats == NULL || stats->dtype != AGF_F32 ||
      !agf_tensor_same_shape(stats, &want))
    return agf_op_fail(error, AGF_ERROR_SHAPE, name,
                       "needs the f32 stats [B,H,Lq,2] "
                       "of AGF_ATTN_GRAD_STATS as input 5 (got %s)",
                       stats ? agf_shape_str(stats, a, sizeof a) : "none");
  if (p->which == AGF_ATTN_GRAD_KV) {
    set_like(ndim, shape, op->in[1]);
    shape[2] += op->in[2]->shape[2];
    return TRUE;
  }
  set_like(ndim, shape, op->in[p->which - AGF_ATTN_GRAD_Q]);
  return TRUE;
}

static gboolean
infer_pool_bwd(const AgfOp *op, const char *name, int *ndim, int64_t *shape,
               GError **error)
{
  AgfOp fwd = { .kind = AGF_OP_POOL2D, .in = { op->in[0] }, .n_in = 1,
                .p.pool = op->p.pool_bwd };
  if (!forward_matches(name, &fwd, op->in[1], "dy", error))
    return FALSE;
  set_like(ndim, shape, op->in[0]);
  return TRUE;
}

gboolean
agf_op_infer_train(const AgfOp *op, const char *name, AgfDType *dtype,
                   int *ndim, int64_t *shape, GError **error)
{
  switch (op->kind) {
  case AGF_OP_REDUCE:
    return infer_reduce(op, name, ndim, shape, error);
  case AGF_OP_UNARY_BWD:
    return infer_unary_bwd(op, name, ndim, shape, error);
  case AGF_OP_CONV2D_BWD_DATA:
    return infer_conv_bwd_data(op, name, ndim, shape, error);
  case AGF_OP_CONV2D_BWD_FILTER:
    return infer_conv_bwd_filter(op, name, ndim, shape, error);
  case AGF_OP_NORM_STATS:
    *dtype = AGF_F32;
    return infer_norm_stats(op, name, ndim, shape, error);
  case AGF_OP_NORM_BWD:
    return infer_norm_bwd(op, name, ndim, shape, error);
  case AGF_OP_ATTENTION_BWD:
    return infer_attention_bwd(op, name, dtype, ndim, shape, error);
  case AGF_OP_POOL2D_BWD:
    return infer_pool_bwd(op, name, ndim, shape, error);
  default:
    return agf_op_fail(error, AGF_ERROR_INVALID_ARGUMENT, name,
                       "is not a training "
                       "op kind");
  }
}
