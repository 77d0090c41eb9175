/* The tape (attached to a device) and the small public switches of
 * autograd.h: requires-grad, no-grad regions, train mode, detach and the
 * gradient-reversal layer. Recording is in autograd_record.c, the reverse
 * walk in autograd_backward.c. */
#include <string.h>
#include "nn/autograd_internal.h"

/* Generations are unique across all tapes, so a tensor recorded by a freed
 * tape never matches a new tape that happens to reuse its address. */
static guint
next_generation(void)
{
  static gint counter = 0;
  return (guint) g_atomic_int_add(&counter, 1) + 1;
}

AgfTape *
agf_tape_new(AgfDevice *dev, GError **error)
{
  if (dev == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "tape_new: no device given: open one with agf_device_open()");
    return NULL;
  }
  if (dev->tape != NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "tape_new: device \"%s\" already has a tape: free it "
                "(agf_tape_free) or keep using it", dev->info.name);
    return NULL;
  }
  AgfTape *tape = g_new0(AgfTape, 1);
  tape->dev = dev;
  tape->nodes = g_array_new(FALSE, TRUE, sizeof(AgfNode));
  tape->generation = next_generation();
  tape->saved = g_hash_table_new(g_direct_hash, g_direct_equal);
  dev->tape = tape;
  return tape;
}

void
agf_tape_free(AgfTape *tape)
{
  if (tape == NULL)
    return;
  agf_tape_reset(tape);
  if (tape->dev->tape == tape)
    tape->dev->tape = NULL;
  g_array_free(tape->nodes, TRUE);
  g_hash_table_destroy(tape->saved);
  g_free(tape);
}

guint
agf_tape_n_nodes(const AgfTape *tape)
{
  return tape ? tape->nodes->len : 0;
}

static void
save_storage(AgfTape *tape, AgfStorage *s)
{
  guint n = GPOINTER_TO_UINT(g_hash_table_lookup(tape->saved, s));
  g_hash_table_insert(tape->saved, s, GUINT_TO_POINTER(n + 1));
}

static void
unsave_storage(AgfTape *tape, AgfStorage *s)
{
  guint n = GPOINTER_TO_UINT(g_hash_table_lookup(tape->saved, s));
  if (n <= 1)
    g_hash_table_remove(tape->saved, s);
  else
    g_hash_table_insert(tape->saved, s, GUINT_TO_POINTER(n - 1));
}

static void
set_meta(AgfGradMeta *m, const AgfTensor *t)
{
  m->dtype = t->dtype;
  m->ndim = t->ndim;
  memcpy(m->shape, t->shape, sizeof m->shape);
}

void
agf_node_set_inputs(AgfTape *tape, AgfNode *node, const AgfTensor *const *in,
                    int n, guint saves)
{
  node->n_in = n;
  for (int i = 0; i < n; i++) {
    node->parent[i] = -1;
    node->op.in[i] = NULL;
    if (in[i] == NULL)
      continue;
    /* The tape holds references; the tensors are not modified. */
    AgfTensor *t = (AgfTensor *) in[i];
    set_meta(&node->in_meta[i], t);
    if (agf_autograd_tracked(t)) {
      if (t->ag.tape == NULL)
        node->leaf[i] = agf_tensor_ref(t);
      else
        node->parent[i] = (int) t->ag.node;
    }
    if (saves & AGF_SAVE_IN(i)) {
      node->saved[i] = agf_tensor_ref(t);
      node->op.in[i] = t;
      save_storage(tape, t->storage);
    }
  }
}

void
agf_node_clear(AgfTape *tape, AgfNode *node)
{
  for (int i = 0; i < AGF_OP_MAX_INPUTS; i++) {
    if (node->saved[i])
      unsave_storage(tape, node->saved[i]->storage);
    g_clear_pointer(&node->saved[i], agf_tensor_unref);
    g_clear_pointer(&node->leaf[i], agf_tensor_unref);
    node->op.in[i] = NULL;
  }
  if (node->saved_out)
    unsave_storage(tape, node->saved_out->storage);
  g_clear_pointer(&node->saved_out, agf_tensor_unref);
  node->op.out = NULL;
  g_clear_pointer(&node->grad, agf_tensor_unref);
}

gboolean
agf_tape_push(AgfTape *tape, AgfNode *node, AgfTensor *out, GError **error)
{
  if (tape->nodes->len >= G_MAXINT) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY,
                "autograd: the tape holds too many nodes: run backward (or "
                "free the tape) more often");
    agf_node_clear(tape, node);
    return FALSE;
  }
  set_meta(&node->out_meta, out);
  if (node->saved_out) {
    node->op.out = node->saved_out;
    save_storage(tape, node->saved_out->storage);
  }
  out->ag.requires_grad = TRUE;
  out->ag.tape = tape;
  out->ag.node = tape->nodes->len;
  out->ag.generation = tape->generation;
  g_array_append_vals(tape->nodes, node, 1);
  return TRUE;
}

void
agf_tape_reset(AgfTape *tape)
{
  for (guint i = 0; i < tape->nodes->len; i++)
    agf_node_clear(tape, &g_array_index(tape->nodes, AgfNode, i));
  g_array_set_size(tape->nodes, 0);
  tape->generation = next_generation();
}

gboolean
agf_autograd_tracked(const AgfTensor *t)
{
  if (t == NULL || !t->ag.requires_grad)
    return FALSE;
  if (t->ag.tape == NULL)
    return TRUE; /* a leaf */
  /* Only compares the pointer: a stale one is never dereferenced. */
  const AgfTape *tape = t->dev->tape;
  return tape != NULL && t->ag.tape == (gpointer) tape &&
         t->ag.generation == tape->generation;
}

void
agf_tensor_set_requires_grad(AgfTensor *t, gboolean on)
{
  if (t == NULL)
    return;
  /* Either way the tensor becomes a leaf (any recorded history is cut). */
  t->ag.requires_grad = on;
  t->ag.tape = NULL;
  t->ag.node = 0;
  t->ag.generation = 0;
}

gboolean
agf_tensor_requires_grad(const AgfTensor *t)
{
  return agf_autograd_tracked(t);
}

AgfTensor *
agf_tensor_grad(const AgfTensor *t)
{
  return t ? t->ag.grad : NULL;
}

void
agf_tensor_clear_grad(AgfTensor *t)
{
  if (t)
    g_clear_pointer(&t->ag.grad, agf_tensor_unref);
}

AgfTensor *
agf_tensor_detach(AgfTensor *t, GError **error)
{
  if (t == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "detach: no tensor given (NULL)");
    return NULL;
  }
  /* A whole-tensor slice is a view of the same elements; new views start
   * without history, and with recording off none is added. */
  agf_no_grad_begin(t->dev);
  AgfTensor *v = agf_tensor_slice(t, 0, 0, t->shape[0], error);
  agf_no_grad_end(t->dev);
  return v;
}

void
agf_no_grad_begin(AgfDevice *dev)
{
  if (dev)
    dev->no_grad_depth++;
}

void
agf_no_grad_end(AgfDevice *dev)
{
  g_return_if_fail(dev == NULL || dev->no_grad_depth > 0);
  if (dev)
    dev->no_grad_depth--;
}

gboolean
agf_grad_enabled(const AgfDevice *dev)
{
  return dev != NULL && agf_autograd_recording(dev);
}

void
agf_set_training(AgfDevice *dev, gboolean on)
{
  if (dev)
    dev->training = on;
}

gboolean
agf_is_training(const AgfDevice *dev)
{
  return dev != NULL && dev->training;
}

AgfTensor *
agf_grad_reverse(const AgfTensor *x, float coeff, GError **error)
{
  if (x == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "grad_reverse: no input given (NULL)");
    return NULL;
  }
  AgfDevice *dev = x->dev;
  agf_no_grad_begin(dev);
  AgfTensor *out = agf_copy(x, error);
  agf_no_grad_end(dev);
  if (out == NULL || !agf_autograd_recording(dev) || !agf_autograd_tracked(x))
    return out;
  AgfNode node = { .type = AGF_NODE_REVERSE, .coeff = coeff };
  agf_node_set_inputs(dev->tape, &node, &x, 1, 0);
  if (!agf_tape_push(dev->tape, &node, out, error))
    g_clear_pointer(&out, agf_tensor_unref);
  return out;
}
