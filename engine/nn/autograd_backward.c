/* agf_backward(): the reverse walk over the tape. Each node's output
 * gradient is complete once every later node has run (nodes are recorded
 * in execution order), so one pass from the loss's node down suffices;
 * a node's saved tensors and gradient are dropped as soon as it has run. */
#include "nn/autograd_internal.h"

static gboolean
run_rule(AgfGradCtx *c, GError **error)
{
  const AgfNode *n = c->node;
  switch (n->type) {
  case AGF_NODE_VIEW:
    return agf_grad_view(c, error);
  case AGF_NODE_REVERSE:
    return agf_grad_reverse_rule(c, error);
  case AGF_NODE_OP:
  default:
    if (agf_grad_rules[n->op.kind].fn == NULL) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                  "backward: %s has no gradient", agf_op_label(&n->op));
      return FALSE;
    }
    return agf_grad_rules[n->op.kind].fn(c, error);
  }
}

static const char *
node_name(const AgfNode *n)
{
  static const char *const views[] = { "reshape", "permute", "slice",
                                       "expand" };
  if (n->type == AGF_NODE_VIEW)
    return views[n->view.kind];
  if (n->type == AGF_NODE_REVERSE)
    return "grad_reverse";
  return agf_op_label(&n->op);
}

/* dx (consumed) must have input i's shape; it is brought to the input's
 * dtype. */
static AgfTensor *
conform(const AgfNode *n, int i, AgfTensor *dx_in, GError **error)
{
  g_autoptr(AgfTensor) dx = dx_in;
  char a[AGF_SHAPE_STR_LEN], b[AGF_SHAPE_STR_LEN];
  const AgfGradMeta *m = &n->in_meta[i];
  gboolean same = dx->ndim == m->ndim;
  for (int d = 0; same && d < m->ndim; d++)
    same = dx->shape[d] == m->shape[d];
  if (!same) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "backward: the gradient rule of %s gave %s for input %d of "
                "shape %s (an engine bug: please report it)", node_name(n),
                agf_shape_str(dx, a, sizeof a),
                i, agf_dims_str(m->ndim, m->shape, b, sizeof b));
    return NULL;
  }
  if (dx->dtype == m->dtype)
    return g_steal_pointer(&dx);
  return agf_tensor_cast(dx, m->dtype, error);
}

/* Adds dx (consumed) to a leaf's gradient: in place once one exists. */
static gboolean
accumulate_leaf(AgfTensor *leaf, AgfTensor *dx, GError **error)
{
  g_autoptr(AgfTensor) owned = dx;
  if (leaf->ag.grad == NULL) {
    /* Keep dx itself only when nothing else can see its storage (a rule
     * may hand the same gradient to several inputs). */
    if (owned->refcount == 1 && owned->storage->refcount == 1 &&
        agf_tensor_is_contiguous(owned)) {
      leaf->ag.grad = g_steal_pointer(&owned);
      return TRUE;
    }
    leaf->ag.grad = agf_copy(owned, error);
    return leaf->ag.grad != NULL;
  }
  if (!agf_tensor_same_shape(leaf->ag.grad, owned) ||
      leaf->ag.grad->dtype != owned->dtype) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "backward: the leaf's stored gradient no longer matches its "
                "shape or dtype: clear it with agf_tensor_clear_grad()");
    return FALSE;
  }
  AgfOp add = { .kind = AGF_OP_BINARY, .in = { leaf->ag.grad, owned },
                .n_in = 2, .out = leaf->ag.grad,
                .p.binary.fn = AGF_BINARY_ADD };
  return agf_op_run(&add, error);
}

static gboolean
accumulate_node(AgfNode *parent, AgfTensor *dx, GError **error)
{
  if (parent->grad == NULL) {
    parent->grad = dx;
    return TRUE;
  }
  /* Out of place: dx or the old sum may be shared with another input. */
  AgfTensor *sum = agf_add(parent->grad, dx, error);
  agf_tensor_unref(dx);
  if (sum == NULL)
    return FALSE;
  agf_tensor_unref(parent->grad);
  parent->grad = sum;
  return TRUE;
}

static gboolean
backward_node(AgfTape *tape, AgfNode *n, GError **error)
{
  AgfGradCtx c = { .node = n, .dy = n->grad };
  gboolean ok = run_rule(&c, error);
  for (int i = 0; i < n->n_in; i++) {
    AgfTensor *dx = g_steal_pointer(&c.dx[i]);
    if (!ok || !agf_node_wants(n, i)) {
      agf_tensor_unref(dx);
      continue;
    }
    if (dx == NULL) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                  "backward: %s gave no gradient for input %d (an engine "
                  "bug: please report it)", node_name(n), i);
      ok = FALSE;
      continue;
    }
    AgfTensor *g = conform(n, i, dx, error);
    if (g == NULL)
      ok = FALSE;
    else if (n->parent[i] >= 0)
      ok = accumulate_node(&g_array_index(tape->nodes, AgfNode, n->parent[i]),
                           g, error);
    else
      ok = accumulate_leaf(n->leaf[i], g, error);
  }
  return ok;
}

/* The seed: grad_out in loss's dtype, or ones for a one-element loss. */
static AgfTensor *
seed(AgfTensor *loss, const AgfTensor *grad_out, GError **error)
{
  char a[AGF_SHAPE_STR_LEN], b[AGF_SHAPE_STR_LEN];
  if (grad_out != NULL) {
    if (!agf_tensor_same_shape(loss, grad_out) || grad_out->dev != loss->dev) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                  "backward: grad_out %s must have the loss's shape %s and "
                  "device", agf_shape_str(grad_out, a, sizeof a),
                  agf_shape_str(loss, b, sizeof b));
      return NULL;
    }
    AgfTensor *g = agf_grad_as(grad_out, loss->dtype, error);
    /* The seed may be the caller's own tensor: accumulation never writes
     * into a node gradient, so sharing it is safe. */
    return g;
  }
  if (agf_tensor_numel(loss) != 1) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "backward: the loss %s has more than one element: reduce it "
                "to one, or pass grad_out", agf_shape_str(loss, a, sizeof a));
    return NULL;
  }
  AgfTensor *g = agf_tensor_new(loss->dev, loss->dtype, loss->ndim,
                                loss->shape, error);
  if (g && !agf_tensor_fill(g, 1.0f, error))
    g_clear_pointer(&g, agf_tensor_unref);
  return g;
}

gboolean
agf_backward(AgfTape *tape, AgfTensor *loss, const AgfTensor *grad_out,
             GError **error)
{
  if (tape == NULL || loss == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "backward: no %s given (NULL)", tape ? "loss" : "tape");
    return FALSE;
  }
  if (loss->dev != tape->dev || loss->ag.tape != (gpointer) tape ||
      loss->ag.generation != tape->generation || !loss->ag.requires_grad) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "backward: the loss has no history on this tape: compute it "
                "from tensors that require a gradient (parameters with "
                "agf_tensor_set_requires_grad) while the tape records");
    agf_tape_reset(tape);
    return FALSE;
  }
  AgfDevice *dev = tape->dev;
  agf_no_grad_begin(dev);
  AgfTensor *g = seed(loss, grad_out, error);
  gboolean ok = g != NULL;
  if (ok) {
    AgfNode *top = &g_array_index(tape->nodes, AgfNode, loss->ag.node);
    top->grad = g;
  }
  for (guint i = loss->ag.node + 1; ok && i-- > 0;) {
    AgfNode *n = &g_array_index(tape->nodes, AgfNode, i);
    if (n->grad != NULL)
      ok = backward_node(tape, n, error);
    agf_node_clear(tape, n);
  }
  agf_no_grad_end(dev);
  agf_tape_reset(tape);
  return ok;
}
