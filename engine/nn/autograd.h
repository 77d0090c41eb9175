/* Reverse-mode automatic differentiation, PyTorch-style: networks are
 * written with the ordinary op wrappers (ops.h) and tensor views; while a
 * tape is attached to their device, every op and view with an input that
 * requires a gradient is recorded. agf_backward() walks the record in
 * reverse, computing each input's gradient with the backward kinds of op.h
 * or compositions of forward ops, frees what each node saved as soon as it
 * has run, and accumulates the gradients of leaves (parameters) in
 * tensor->ag.grad.
 *
 * The state lives on the device (one tape per device, used from one
 * thread), never in globals, so data-parallel training can run one device
 * per thread. */
#pragma once
#include "nn/device.h"

G_BEGIN_DECLS

typedef struct AgfTape AgfTape;

/* Attaches a new tape to dev; from now on ops on dev are recorded.
 * Fails when dev already has one. */
AgfTape *agf_tape_new(AgfDevice *dev, GError **error);
/* Detaches the tape and drops everything it saved (results stay valid,
 * they just no longer carry a history). NULL is allowed. */
void agf_tape_free(AgfTape *tape);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfTape, agf_tape_free)
/* Number of recorded nodes (tests, memory reports). */
guint agf_tape_n_nodes(const AgfTape *tape);

/* Backpropagates from loss: seeds it with grad_out (loss's shape and
 * dtype) or, when NULL, with ones (then loss must have one element).
 * Leaves receive their gradients in ag.grad (added to what is there, in
 * the leaf's dtype and shape). Afterwards the tape is empty and can record
 * the next step. Fails (leaving the tape empty) when an op on the path has
 * no gradient or a kernel fails. */
gboolean agf_backward(AgfTape *tape, AgfTensor *loss, const AgfTensor *grad_out,
                      GError **error);

/* Leaves: parameters to train. Frozen parameters simply do not require a
 * gradient; nothing that depends only on them is recorded. */
void agf_tensor_set_requires_grad(AgfTensor *t, gboolean on);
gboolean agf_tensor_requires_grad(const AgfTensor *t);
/* The accumulated gradient of a leaf (borrowed), NULL before backward. */
AgfTensor *agf_tensor_grad(const AgfTensor *t);
void agf_tensor_clear_grad(AgfTensor *t);
/* A view of t that shares its storage but carries no history. */
AgfTensor *agf_tensor_detach(AgfTensor *t, GError **error);

/* No-grad regions (nest): ops inside are not recorded. */
void agf_no_grad_begin(AgfDevice *dev);
void agf_no_grad_end(AgfDevice *dev);
/* TRUE when a tape is attached and no no-grad region is open. */
gboolean agf_grad_enabled(const AgfDevice *dev);

/* Train mode (default off = inference): batch norm normalizes with the
 * batch's statistics and updates its running ones. */
void agf_set_training(AgfDevice *dev, gboolean on);
gboolean agf_is_training(const AgfDevice *dev);

/* The gradient-reversal layer of SSDG / DANN: the identity forward,
 * -coeff * gradient backward. */
AgfTensor *agf_grad_reverse(const AgfTensor *x, float coeff, GError **error);

G_END_DECLS
