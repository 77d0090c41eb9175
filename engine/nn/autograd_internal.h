/* The tape's records and the backward rules' interface, shared by the
 * autograd files of nn/ (autograd*.c, grad_*.c). */
#pragma once
#include "nn/autograd.h"
#include "nn/backend.h"
#include "nn/nn_internal.h"
#include "nn/ops.h"

G_BEGIN_DECLS

typedef enum {
  AGF_NODE_OP,      /* a forward op (node.op) */
  AGF_NODE_VIEW,    /* a view of input 0 (node.view) */
  AGF_NODE_REVERSE, /* agf_grad_reverse: identity, -coeff * dy backward */
} AgfNodeType;

/* What a gradient needs to know of a tensor it no longer holds. */
typedef struct {
  AgfDType dtype;
  int ndim;
  int64_t shape[AGF_MAX_DIMS];
} AgfGradMeta;

typedef struct {
  AgfNodeType type;
  /* Kind and parameters; op.in[i] points at saved[i] (NULL when the rule
   * does not read input i's values), op.out at saved_out (or NULL). */
  AgfOp op;
  AgfViewInfo view;
  float coeff;
  int n_in;
  AgfGradMeta in_meta[AGF_OP_MAX_INPUTS], out_meta;
  AgfTensor *saved[AGF_OP_MAX_INPUTS];
  AgfTensor *saved_out;
  /* Input i's history: a node index (>= 0), or -1 with leaf[i] (a ref)
   * when it is a leaf that requires a gradient, or neither (a constant). */
  int parent[AGF_OP_MAX_INPUTS];
  AgfTensor *leaf[AGF_OP_MAX_INPUTS];
  AgfTensor *grad; /* the output's accumulated gradient */
} AgfNode;

struct AgfTape {
  AgfDevice *dev;
  GArray *nodes;      /* AgfNode, in recording order */
  guint generation;   /* unique among all tapes; renewed by backward */
  GHashTable *saved;  /* AgfStorage* -> count of saved refs to it */
};

/* Input i of the node needs a gradient. */
static inline gboolean
agf_node_wants(const AgfNode *n, int i)
{
  return n->parent[i] >= 0 || n->leaf[i] != NULL;
}

/* A backward rule: from dy (the output's gradient, out_meta's dtype and
 * shape) computes dx[i] (new refs, in_meta[i]'s shape) for each input i
 * that agf_node_wants(). Runs with recording off. */
typedef struct {
  const AgfNode *node;
  AgfTensor *dy;
  AgfTensor *dx[AGF_OP_MAX_INPUTS];
} AgfGradCtx;
typedef gboolean (*AgfGradFn)(AgfGradCtx *c, GError **error);

typedef struct {
  AgfGradFn fn;     /* NULL: the kind has no gradient */
  /* Which values the rule reads: bit i = input i, AGF_SAVE_OUT = output;
   * saves_fn (when set) decides from the op's parameters instead. */
  guint saves;
  guint (*saves_fn)(const AgfOp *op);
} AgfGradRule;
#define AGF_SAVE_OUT (1u << AGF_OP_MAX_INPUTS)
#define AGF_SAVE_IN(i) (1u << (i))

extern const AgfGradRule agf_grad_rules[AGF_OP_COUNT];

/* TRUE when t takes part in differentiation on its device's tape: a leaf
 * that requires a gradient, or a result the live tape recorded. */
gboolean agf_autograd_tracked(const AgfTensor *t);
/* Whether recording is on for dev (tape attached, no no-grad region). */
static inline gboolean
agf_autograd_recording(const AgfDevice *dev)
{
  return dev->tape != NULL && dev->no_grad_depth == 0;
}
/* Appends a node (taking its refs) and makes out its result. */
gboolean agf_tape_push(AgfTape *tape, AgfNode *node, AgfTensor *out,
                       GError **error);
/* Fills node's input history and metadata from the tensors in[0..n-1],
 * saving (a ref to) those whose bit is set in saves. */
void agf_node_set_inputs(AgfTape *tape, AgfNode *node,
                         const AgfTensor *const *in, int n, guint saves);
/* Drops everything the node holds. */
void agf_node_clear(AgfTape *tape, AgfNode *node);
/* Drops all nodes and starts a new generation (tensors of the old one then
 * carry no history). */
void agf_tape_reset(AgfTape *tape);

/* Helpers for the rules (grad_view.c). */
/* Gradient of a view / broadcast source: sums g down to meta's shape when
 * it has more elements, reshapes when only the dims differ. */
AgfTensor *agf_grad_sum_to(AgfTensor *g, const AgfGradMeta *meta,
                           GError **error);
/* g summed over every dim but dim 1 (the channels), as a vector [c]. */
AgfTensor *agf_grad_sum_channels(AgfTensor *g, int64_t c, GError **error);
/* shape [1, C, 1, ...] of ndim dims, for per-channel vectors. */
void agf_grad_channel_shape(int ndim, int64_t c, int64_t *shape);
/* v [C] viewed as [1, C, 1, ...] (ndim dims). */
AgfTensor *agf_grad_channel_view(const AgfTensor *v, int ndim, GError **error);
/* A tensor of meta's shape and dtype filled with value. */
AgfTensor *agf_grad_full(AgfDevice *dev, const AgfGradMeta *meta, float value,
                         GError **error);
/* x cast to dt (a new ref when it already is). */
AgfTensor *agf_grad_as(const AgfTensor *x, AgfDType dt, GError **error);

/* The backward rules, by family (grad_<family>.c). */
gboolean agf_grad_copy(AgfGradCtx *c, GError **error);
gboolean agf_grad_unary(AgfGradCtx *c, GError **error);
gboolean agf_grad_binary(AgfGradCtx *c, GError **error);
gboolean agf_grad_prelu(AgfGradCtx *c, GError **error);
gboolean agf_grad_reduce(AgfGradCtx *c, GError **error);
gboolean agf_grad_gemm(AgfGradCtx *c, GError **error);
gboolean agf_grad_conv2d(AgfGradCtx *c, GError **error);
gboolean agf_grad_group_layer_norm(AgfGradCtx *c, GError **error);
gboolean agf_grad_batch_norm(AgfGradCtx *c, GError **error);
gboolean agf_grad_norm_stats(AgfGradCtx *c, GError **error);
gboolean agf_grad_softmax(AgfGradCtx *c, GError **error);
gboolean agf_grad_attention(AgfGradCtx *c, GError **error);
gboolean agf_grad_l2_normalize(AgfGradCtx *c, GError **error);
gboolean agf_grad_upsample(AgfGradCtx *c, GError **error);
gboolean agf_grad_pool2d(AgfGradCtx *c, GError **error);
gboolean agf_grad_global_avg_pool(AgfGradCtx *c, GError **error);
gboolean agf_grad_concat(AgfGradCtx *c, GError **error);
gboolean agf_grad_view(AgfGradCtx *c, GError **error);
gboolean agf_grad_reverse_rule(AgfGradCtx *c, GError **error);

G_END_DECLS
