/* The hooks op.c and tensor.c call (nn_internal.h): refusing in-place
 * writes the tape cannot differentiate, and recording ops and views whose
 * inputs require a gradient. Each hook returns after one NULL check while
 * the device has no tape. */
#include "nn/autograd_internal.h"

/* The first input of op that the tape differentiates, or -1. */
static int
first_tracked(const AgfOp *op)
{
  for (int i = 0; i < op->n_in; i++)
    if (agf_autograd_tracked(op->in[i]))
      return i;
  return -1;
}

gboolean
agf_autograd_before_run(const AgfOp *op, GError **error)
{
  AgfDevice *dev = op->out->dev;
  AgfTape *tape = dev->tape;
  if (G_LIKELY(tape == NULL))
    return TRUE;
  const char *name = agf_op_label(op);
  AgfStorage *out = op->out->storage;
  /* Saved values must still hold what the forward op read, even when the
   * write happens under no-grad. */
  if (g_hash_table_contains(tape->saved, out)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s: writes into a tensor the autograd tape saved for "
                "backward (an in-place update): compute into a new tensor, or "
                "run agf_backward() / agf_tape_free() first", name);
    return FALSE;
  }
  if (dev->no_grad_depth > 0)
    return TRUE;
  if (agf_autograd_tracked(op->out)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s: writes in place into a tensor that requires a gradient "
                "while the tape records: compute into a new tensor, or update "
                "it inside agf_no_grad_begin()/end()", name);
    return FALSE;
  }
  int first = first_tracked(op);
  if (first < 0)
    return TRUE;
  for (int i = 0; i < op->n_in; i++)
    if (op->in[i] && op->in[i]->storage == out &&
        agf_autograd_tracked(op->in[i])) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "%s: the output shares storage with input %d, which "
                  "requires a gradient (an in-place op): write a new tensor",
                  name, i);
      return FALSE;
    }
  if ((unsigned) op->kind >= AGF_OP_COUNT || agf_grad_rules[op->kind].fn ==
      NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                "%s: has no gradient, but its input %d requires one: run it "
                "on agf_tensor_detach() inputs or inside "
                "agf_no_grad_begin()/end()", name, first);
    return FALSE;
  }
  if (op->kind == AGF_OP_REDUCE && op->p.reduce.fn == AGF_REDUCE_MAX) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                "reduce max: is not differentiable, but its input requires a "
                "gradient: use it on agf_tensor_detach() inputs or inside "
                "agf_no_grad_begin()/end()");
    return FALSE;
  }
  return TRUE;
}

gboolean
agf_autograd_record_op(const AgfOp *op, GError **error)
{
  AgfDevice *dev = op->out->dev;
  if (G_LIKELY(dev->tape == NULL) || dev->no_grad_depth > 0 ||
      first_tracked(op) < 0)
    return TRUE;
  const AgfGradRule *rule = &agf_grad_rules[op->kind];
  guint saves = rule->saves | (rule->saves_fn ? rule->saves_fn(op) : 0);
  AgfNode node = { .type = AGF_NODE_OP };
  node.op.kind = op->kind;
  node.op.p = op->p;
  agf_node_set_inputs(dev->tape, &node, op->in, op->n_in, saves);
  node.op.n_in = op->n_in;
  if (saves & AGF_SAVE_OUT)
    node.saved_out = agf_tensor_ref(op->out);
  return agf_tape_push(dev->tape, &node, op->out, error);
}

gboolean
agf_autograd_record_view(AgfTensor *view, AgfTensor *base,
                         const AgfViewInfo *info, GError **error)
{
  AgfDevice *dev = base->dev;
  if (G_LIKELY(dev->tape == NULL) || dev->no_grad_depth > 0 ||
      !agf_autograd_tracked(base))
    return TRUE;
  AgfNode node = { .type = AGF_NODE_VIEW, .view = *info };
  const AgfTensor *in = base;
  agf_node_set_inputs(dev->tape, &node, &in, 1, 0);
  return agf_tape_push(dev->tape, &node, view, error);
}
