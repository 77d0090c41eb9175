/* Checkpoint-named layers over the op wrappers. */
#include "models/layers.h"
#include "nn/autograd.h"

#include <string.h>

AgfConv2dParams agf_conv_params(int stride, int pad)
{
  return (AgfConv2dParams){ .stride_h = stride, .stride_w = stride,
                            .pad_top = pad, .pad_bottom = pad,
                            .pad_left = pad, .pad_right = pad };
}

void agf_tf_same_pad(int64_t in, int k, int stride, int *before, int *after)
{
  int64_t out = (in + stride - 1) / stride;
  int64_t total = MAX((out - 1) * stride + k - in, 0);
  *before = (int)(total / 2);
  *after = (int)(total - total / 2);
}

/* "<prefix>.<leaf>", or NULL without error when optional and absent. */
static const AgfTensor *param(AgfWeights *w, const char *prefix,
                              const char *leaf, gboolean optional,
                              GError **error)
{
  g_autofree char *name = g_strdup_printf("%s.%s", prefix, leaf);
  if (optional && !agf_weights_has(w, name))
    return NULL;
  return agf_weights_get(w, name, 0, NULL, error);
}

AgfTensor *agf_layer_conv2d(AgfWeights *w, const char *prefix,
                            const AgfTensor *x, const AgfConv2dParams *p,
                            GError **error)
{
  GError *err = NULL;
  const AgfTensor *wt = param(w, prefix, "weight", FALSE, error);
  const AgfTensor *b = wt ? param(w, prefix, "bias", TRUE, &err) : NULL;
  if (!wt || err) {
    if (err)
      g_propagate_error(error, err);
    return NULL;
  }
  return agf_conv2d(x, wt, b, p, error);
}

AgfTensor *agf_layer_linear(AgfWeights *w, const char *prefix,
                            const AgfTensor *x, GError **error)
{
  GError *err = NULL;
  const AgfTensor *wt = param(w, prefix, "weight", FALSE, error);
  const AgfTensor *b = wt ? param(w, prefix, "bias", TRUE, &err) : NULL;
  if (!wt || err) {
    if (err)
      g_propagate_error(error, err);
    return NULL;
  }
  return agf_linear(x, wt, b, error);
}

AgfTensor *agf_layer_prelu(AgfWeights *w, const char *prefix,
                           const AgfTensor *x, GError **error)
{
  const AgfTensor *a = param(w, prefix, "weight", FALSE, error);
  return a ? agf_prelu(x, a, error) : NULL;
}

AgfTensor *agf_layer_group_norm(AgfWeights *w, const char *prefix,
                                const AgfTensor *x, int groups, float eps,
                                GError **error)
{
  const AgfTensor *g = param(w, prefix, "weight", FALSE, error);
  const AgfTensor *b = g ? param(w, prefix, "bias", FALSE, error) : NULL;
  if (!b)
    return NULL;
  return agf_group_norm(x, g, b, groups, eps, error);
}

AgfTensor *agf_layer_layer_norm(AgfWeights *w, const char *prefix,
                                const AgfTensor *x, float eps, GError **error)
{
  const AgfTensor *g = param(w, prefix, "weight", FALSE, error);
  const AgfTensor *b = g ? param(w, prefix, "bias", FALSE, error) : NULL;
  if (!b)
    return NULL;
  return agf_layer_norm(x, g, b, eps, error);
}

/* running = (1 - momentum) * running + momentum * batch (in place; the
 * weights own the running tensors and the network reads them there). */
static gboolean bn_update_running(const AgfTensor *running,
                                  const AgfTensor *batch, float scale,
                                  GError **error)
{
  const float momentum = 0.1f; /* PyTorch's default */
  g_autoptr(AgfTensor) b = agf_tensor_cast((AgfTensor *) batch,
                                           running->dtype, error);
  g_autoptr(AgfTensor) old = b ? agf_scale(running, 1.0f - momentum, 0.0f,
                                           error) : NULL;
  g_autoptr(AgfTensor) add = old ? agf_scale(b, momentum * scale, 0.0f,
                                             error) : NULL;
  g_autoptr(AgfTensor) upd = add ? agf_add(old, add, error) : NULL;
  if (upd == NULL)
    return FALSE;
  AgfOp copy = { .kind = AGF_OP_COPY, .in = { upd }, .n_in = 1,
                 .out = (AgfTensor *) running };
  return agf_op_run(&copy, error);
}

/* Row r of the [2, C] batch statistics as a [C] vector of dtype dt. */
static AgfTensor *bn_stats_row(AgfTensor *stats, int r, AgfDType dt,
                               GError **error)
{
  g_autoptr(AgfTensor) row = agf_tensor_slice(stats, 0, r, 1, error);
  g_autoptr(AgfTensor) v = row ? agf_tensor_reshape(row, 1, &stats->shape[1],
                                                    error) : NULL;
  return v ? agf_tensor_cast(v, dt, error) : NULL;
}

/* Train mode (agf_is_training): normalize with the batch's statistics
 * (differentiable through NORM_STATS), then update the running ones under
 * no-grad as PyTorch: momentum 0.1, unbiased variance. */
static AgfTensor *bn_train(const AgfTensor *const *t, const AgfTensor *x,
                           float eps, GError **error)
{
  char s[96];
  int64_t per_channel = agf_tensor_numel(x) / x->shape[1];
  if (per_channel < 2) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "batch_norm: training needs more than one value per channel "
                "(input %s): use a larger batch or eval mode",
                agf_shape_str(x, s, sizeof s));
    return NULL;
  }
  g_autoptr(AgfTensor) stats = agf_norm_stats(x, error);
  g_autoptr(AgfTensor) mean = stats ? bn_stats_row(stats, 0, x->dtype, error)
                                    : NULL;
  g_autoptr(AgfTensor) var = mean ? bn_stats_row(stats, 1, x->dtype, error)
                                  : NULL;
  if (var == NULL)
    return NULL;
  g_autoptr(AgfTensor) y = agf_batch_norm(x, mean, var, t[2], t[3], eps,
                                          error);
  if (y == NULL)
    return NULL;
  g_autoptr(AgfTensor) ms = NULL, vs = NULL;
  agf_no_grad_begin(x->dev);
  gboolean ok = (ms = bn_stats_row(stats, 0, AGF_F32, error)) &&
                (vs = bn_stats_row(stats, 1, AGF_F32, error)) &&
                bn_update_running(t[0], ms, 1.0f, error) &&
                bn_update_running(t[1], vs, (float) per_channel /
                                  (float) (per_channel - 1), error);
  agf_no_grad_end(x->dev);
  return ok ? g_steal_pointer(&y) : NULL;
}

AgfTensor *agf_layer_batch_norm(AgfWeights *w, const char *prefix,
                                const AgfTensor *x, float eps, GError **error)
{
  const char *leaves[4] = { "running_mean", "running_var", "weight", "bias" };
  const AgfTensor *t[4];
  for (int i = 0; i < 4; i++)
    if (!(t[i] = param(w, prefix, leaves[i], FALSE, error)))
      return NULL;
  if (x && agf_is_training(x->dev))
    return bn_train(t, x, eps, error);
  return agf_batch_norm(x, t[0], t[1], t[2], t[3], eps, error);
}

static void param_decl_clear(gpointer p)
{
  g_free(((AgfParamDecl *)p)->name);
}

GArray *agf_param_decls_new(void)
{
  GArray *a = g_array_new(FALSE, FALSE, sizeof(AgfParamDecl));
  g_array_set_clear_func(a, param_decl_clear);
  return a;
}

void agf_param_decls_collect(const char *name, int ndim, const int64_t *shape,
                             gpointer decls)
{
  AgfParamDecl d = { .name = g_strdup(name),
                     .ndim = MIN(ndim, AGF_ST_MAX_DIMS) };
  memcpy(d.shape, shape, sizeof(int64_t) * (size_t)d.ndim);
  g_array_append_val((GArray *)decls, d);
}

gint64 agf_param_decl_numel(const AgfParamDecl *d)
{
  gint64 n = 1;
  for (int i = 0; i < d->ndim; i++)
    n *= d->shape[i];
  return n;
}

gboolean agf_param_check_at(AgfParamCheck *sub, const AgfParamCheck *parent,
                            const char *prefix, GError **error)
{
  *sub = (AgfParamCheck){ .w = parent->w, .listener = parent->listener,
                          .listener_data = parent->listener_data };
  if (g_snprintf(sub->prefix, sizeof sub->prefix, "%s%s", parent->prefix,
                 prefix) >= (int)sizeof sub->prefix) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "tensor name prefix \"%s%s\" is longer than %d characters",
                parent->prefix, prefix, AGF_PARAM_PREFIX_LEN - 1);
    return FALSE;
  }
  return TRUE;
}

gboolean agf_param_expect(AgfParamCheck *c, const char *name, int ndim,
                          const int64_t *shape, GError **error)
{
  g_autofree char *full = g_strconcat(c->prefix, name, NULL);
  if (c->w && !agf_safetensors_expect(agf_weights_file(c->w), full,
                                      AGF_ST_ANY_DTYPE, ndim, shape, error))
    return FALSE;
  if (c->listener)
    c->listener(full, ndim, shape, c->listener_data);
  gint64 n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  c->n_params += n;
  return TRUE;
}

gboolean agf_param_file_shape(const AgfParamCheck *c, const char *name,
                              int *ndim, int64_t *shape)
{
  if (!c->w)
    return FALSE;
  g_autofree char *full = g_strconcat(c->prefix, name, NULL);
  return agf_weights_shape(c->w, full, ndim, shape);
}

gboolean agf_param_file_has(const AgfParamCheck *c, const char *name)
{
  g_autofree char *full = g_strconcat(c->prefix, name, NULL);
  return c->w && agf_weights_has(c->w, full);
}

int agf_param_file_dim(const AgfWeights *w, const char *name, int want_ndim,
                       int dim, const char *net, const char *hint,
                       GError **error)
{
  int nd;
  int64_t shape[AGF_ST_MAX_DIMS];
  if (!agf_weights_shape(w, name, &nd, shape)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s has no tensor %s; %s", agf_weights_path(w),
                name, hint);
    return -1;
  }
  if (nd != want_ndim || shape[dim] < 1 || shape[dim] > G_MAXINT) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "tensor %s in %s is %d-D, not the %d-D tensor of %s", name,
                agf_weights_path(w), nd, want_ndim, net);
    return -1;
  }
  return (int)shape[dim];
}

static gboolean expect_leaf(AgfParamCheck *c, const char *prefix,
                            const char *leaf, int ndim, const int64_t *shape,
                            GError **error)
{
  g_autofree char *name = g_strdup_printf("%s.%s", prefix, leaf);
  return agf_param_expect(c, name, ndim, shape, error);
}

gboolean agf_param_expect_vec(AgfParamCheck *c, const char *prefix,
                              const char *leaf, int n, GError **error)
{
  return expect_leaf(c, prefix, leaf, 1, (int64_t[]){ n }, error);
}

gboolean agf_param_expect_conv(AgfParamCheck *c, const char *prefix, int out,
                               int in, int k, gboolean bias, GError **error)
{
  return expect_leaf(c, prefix, "weight", 4, (int64_t[]){ out, in, k, k },
                     error) &&
         (!bias || expect_leaf(c, prefix, "bias", 1, (int64_t[]){ out },
                               error));
}

gboolean agf_param_expect_linear(AgfParamCheck *c, const char *prefix,
                                 int out, int in, gboolean bias,
                                 GError **error)
{
  return expect_leaf(c, prefix, "weight", 2, (int64_t[]){ out, in }, error) &&
         (!bias || expect_leaf(c, prefix, "bias", 1, (int64_t[]){ out },
                               error));
}

gboolean agf_param_expect_norm(AgfParamCheck *c, const char *prefix, int n,
                               GError **error)
{
  return expect_leaf(c, prefix, "weight", 1, (int64_t[]){ n }, error) &&
         expect_leaf(c, prefix, "bias", 1, (int64_t[]){ n }, error);
}

gboolean agf_param_expect_batch_norm(AgfParamCheck *c, const char *prefix,
                                     int n, GError **error)
{
  gint64 before = c->n_params;
  if (!expect_leaf(c, prefix, "running_mean", 1, (int64_t[]){ n }, error) ||
      !expect_leaf(c, prefix, "running_var", 1, (int64_t[]){ n }, error))
    return FALSE;
  c->n_params = before;
  return agf_param_expect_norm(c, prefix, n, error);
}

AgfTensor *agf_map_to_tokens(const AgfTensor *x, GError **error)
{
  if (x->ndim != 4) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "a feature map to turn into tokens must be [B, C, H, W], not "
                "%d-D", x->ndim);
    return NULL;
  }
  int64_t shape[3] = { x->shape[0], x->shape[1], x->shape[2] * x->shape[3] };
  /* reshape only reads x (a view or a copy comes back). */
  g_autoptr(AgfTensor) flat = agf_tensor_reshape((AgfTensor *)x, 3, shape,
                                                 error);
  if (!flat)
    return NULL;
  g_autoptr(AgfTensor) t = agf_tensor_permute(flat, (int[]){ 0, 2, 1 },
                                              error);
  return t ? agf_tensor_contiguous(t, error) : NULL;
}

gboolean agf_map_outputs(AgfTensor *map, AgfEmbeddingHead head,
                         gpointer net, AgfTensor **tokens,
                         AgfTensor **embedding, GError **error)
{
  g_autoptr(AgfTensor) tok = NULL, emb = NULL;
  if (tokens && !(tok = agf_map_to_tokens(map, error)))
    return FALSE;
  if (embedding && !(emb = head(net, map, error)))
    return FALSE;
  if (tokens)
    *tokens = g_steal_pointer(&tok);
  if (embedding)
    *embedding = g_steal_pointer(&emb);
  return TRUE;
}
