/* Layers named as in PyTorch checkpoints: each reads "<prefix>.weight" and,
 * when present, "<prefix>.bias" from the weights and applies one op. */
#pragma once
#include "nn/ops.h"
#include "models/weights.h"

G_BEGIN_DECLS

/* Symmetric padding pad on every side, stride s (dilation 1, groups 1). */
AgfConv2dParams agf_conv_params(int stride, int pad);
/* TensorFlow "SAME" padding of one axis (conv or pool, dilation 1): the
 * output is ceil(in / stride) and the total padding that needs is split
 * with the odd pixel after (bottom / right). */
void agf_tf_same_pad(int64_t in, int k, int stride, int *before, int *after);

AgfTensor *agf_layer_conv2d(AgfWeights *w, const char *prefix,
                            const AgfTensor *x, const AgfConv2dParams *p,
                            GError **error);
/* x [..., in] with "<prefix>.weight" [out, in]. */
AgfTensor *agf_layer_linear(AgfWeights *w, const char *prefix,
                            const AgfTensor *x, GError **error);
/* PyTorch PReLU: "<prefix>.weight" [C], slope on dim 1. */
AgfTensor *agf_layer_prelu(AgfWeights *w, const char *prefix,
                           const AgfTensor *x, GError **error);
AgfTensor *agf_layer_group_norm(AgfWeights *w, const char *prefix,
                                const AgfTensor *x, int groups, float eps,
                                GError **error);
AgfTensor *agf_layer_layer_norm(AgfWeights *w, const char *prefix,
                                const AgfTensor *x, float eps, GError **error);
/* Inference batch norm from "<prefix>.running_mean/.running_var/.weight/
 * .bias" (torchvision names). */
AgfTensor *agf_layer_batch_norm(AgfWeights *w, const char *prefix,
                                const AgfTensor *x, float eps, GError **error);

/* One way for a network to declare the tensors it reads, each with its
 * expected shape, for three uses: checks at load (w set: a wrong file fails
 * with an error naming the tensor, both shapes and the file), parameter
 * counts of a configuration without a file (w NULL), and listing every
 * tensor a configuration loads (listener set; the presets' random
 * initialisation is built on this). Every network has an
 * agf_<net>_declare(cfg, check, ..., error) that makes these calls in a fixed
 * order, and its *_param_count() is that over a zeroed check.
 *
 * Names are declared relative to the check's prefix: a sub-network (the
 * OA-Net's cue encoder, an MTCNN stage) is declared by the same function
 * through a check made with agf_param_check_at(). */
#define AGF_PARAM_PREFIX_LEN 128

typedef void (*AgfParamListener)(const char *name, int ndim,
                                 const int64_t *shape, gpointer data);

typedef struct {
  AgfWeights *w;                     /* NULL: nothing to check against */
  char prefix[AGF_PARAM_PREFIX_LEN]; /* put before every declared name */
  gint64 n_params; /* sizes declared (batch-norm running statistics not) */
  AgfParamListener listener; /* NULL, or told every full name and shape
                                (running statistics included) */
  gpointer listener_data;
} AgfParamCheck;

/* One declared tensor, as agf_param_decls_collect records it. */
typedef struct {
  char *name;
  int ndim;
  int64_t shape[AGF_ST_MAX_DIMS];
} AgfParamDecl;

/* A new empty GArray of AgfParamDecl that frees the names with it. */
GArray *agf_param_decls_new(void);
/* An AgfParamListener appending to the agf_param_decls_new() array decls:
 * the declarations in order, for initialisers and file hashes. */
void agf_param_decls_collect(const char *name, int ndim, const int64_t *shape,
                             gpointer decls);
gint64 agf_param_decl_numel(const AgfParamDecl *d);

/* sub = a check at parent's prefix + prefix, with parent's file and
 * listener and a count from 0 (add it to the parent's when it should
 * count there). Fails only for a prefix longer than the buffer. */
gboolean agf_param_check_at(AgfParamCheck *sub, const AgfParamCheck *parent,
                            const char *prefix, GError **error);

/* Checks (when c->w) that prefix + name has exactly this shape, reports it
 * to the listener and adds its size to c->n_params. */
gboolean agf_param_expect(AgfParamCheck *c, const char *name, int ndim,
                          const int64_t *shape, GError **error);
/* The file's shape of prefix + name: FALSE without a file or that tensor
 * (for declarations that accept two layouts). */
gboolean agf_param_file_shape(const AgfParamCheck *c, const char *name,
                              int *ndim, int64_t *shape);
gboolean agf_param_file_has(const AgfParamCheck *c, const char *name);
/* shape[dim] of tensor name in w, for a configuration read from tensor
 * shapes; -1 and an error naming the tensor when it is absent
 * (AGF_ERROR_FORMAT, "...; <hint>") or not want_ndim-D (AGF_ERROR_SHAPE,
 * "... not the N-D tensor of <net>"). */
int agf_param_file_dim(const AgfWeights *w, const char *name, int want_ndim,
                       int dim, const char *net, const char *hint,
                       GError **error);

/* The tensors of one layer at "<prefix>.": a conv [out, in, k, k] (bias
 * [out] when bias), a linear [out, in] (+ bias), a norm's weight and bias
 * [n], and a batch norm's weight/bias/running_mean/running_var [n] (the
 * running statistics are checked but, as buffers, not counted). */
gboolean agf_param_expect_conv(AgfParamCheck *c, const char *prefix, int out,
                               int in, int k, gboolean bias, GError **error);
gboolean agf_param_expect_linear(AgfParamCheck *c, const char *prefix,
                                 int out, int in, gboolean bias,
                                 GError **error);
gboolean agf_param_expect_norm(AgfParamCheck *c, const char *prefix, int n,
                               GError **error);
gboolean agf_param_expect_batch_norm(AgfParamCheck *c, const char *prefix,
                                     int n, GError **error);
/* A per-channel vector "<prefix>.<leaf>" [n] (a PReLU slope, a bias). */
gboolean agf_param_expect_vec(AgfParamCheck *c, const char *prefix,
                              const char *leaf, int n, GError **error);

/* A feature map [B, C, H, W] as a token sequence [B, H*W, C] (row-major
 * positions, the order of PyTorch's x.flatten(2).transpose(1, 2)). */
AgfTensor *agf_map_to_tokens(const AgfTensor *x, GError **error);

/* The outputs of a face network from its final feature map: tokens
 * (agf_map_to_tokens) when asked for, and the embedding that head(net, map)
 * computes when asked for. Both or neither are set. */
typedef AgfTensor *(*AgfEmbeddingHead)(gpointer net, AgfTensor *map,
                                       GError **error);
gboolean agf_map_outputs(AgfTensor *map, AgfEmbeddingHead head,
                         gpointer net, AgfTensor **tokens,
                         AgfTensor **embedding, GError **error);

G_END_DECLS
