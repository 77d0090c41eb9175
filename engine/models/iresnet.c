/* insightface IResNet over the op wrappers, and the identity context. */
#include "models/iresnet.h"
#include <string.h>
#include "models/layers.h"

#define BN_EPS 1e-5f
#define NAME_LEN 256

struct AgfIresnet {
  AgfWeights *w;
  AgfIresnetConfig cfg;
};

static const struct { int depth, blocks[AGF_IRESNET_STAGES]; } layouts[] = {
  { 18, { 2, 2, 2, 2 } },  { 34, { 3, 4, 6, 3 } },
  { 50, { 3, 4, 14, 3 } }, { 100, { 3, 13, 30, 3 } },
};

static int depth_of(const int *blocks)
{
  for (size_t i = 0; i < G_N_ELEMENTS(layouts); i++)
    if (!memcmp(blocks, layouts[i].blocks, sizeof layouts[i].blocks))
      return layouts[i].depth;
  return 0;
}

gboolean agf_iresnet_config_preset(AgfIresnetConfig *cfg, int depth,
                                   GError **error)
{
  for (size_t i = 0; i < G_N_ELEMENTS(layouts); i++)
    if (layouts[i].depth == depth) {
      *cfg = (AgfIresnetConfig){ .in_channels = 3, .stem_width = 64,
                                 .widths = { 64, 128, 256, 512 },
                                 .map_size = 7, .num_features = 512,
                                 .depth = depth };
      memcpy(cfg->blocks, layouts[i].blocks, sizeof cfg->blocks);
      return TRUE;
    }
  g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
              "insightface has no iresnet%d: use 18, 34, 50 or 100", depth);
  return FALSE;
}

static gboolean check_config(const AgfIresnetConfig *cfg, GError **error)
{
  gboolean ok = cfg->in_channels > 0 && cfg->stem_width > 0 &&
                cfg->map_size > 0 && cfg->num_features > 0;
  for (int s = 0; s < AGF_IRESNET_STAGES; s++)
    ok = ok && cfg->widths[s] > 0 && cfg->blocks[s] > 0;
  if (!ok)
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "iresnet configuration has a zero or negative width, block "
                "count, map size or feature count");
  return ok;
}

/* Declares every tensor of the configuration (checked when c->w). */
static gboolean walk(const AgfIresnetConfig *cfg, AgfParamCheck *c,
                     GError **error)
{
  int stem = cfg->stem_width;
  if (!agf_param_expect_conv(c, "conv1", stem, cfg->in_channels, 3, FALSE,
                             error) ||
      !agf_param_expect_batch_norm(c, "bn1", stem, error) ||
      !agf_param_expect(c, "prelu.weight", 1, (int64_t[]){ stem }, error))
    return FALSE;
  int in = stem;
  for (int s = 0; s < AGF_IRESNET_STAGES; s++) {
    int out = cfg->widths[s];
    for (int i = 0; i < cfg->blocks[s]; i++) {
      int bin = i == 0 ? in : out;
      char b[NAME_LEN], n[NAME_LEN];
      g_snprintf(b, sizeof b, "layer%d.%d", s + 1, i);
#define NM(leaf) (g_snprintf(n, sizeof n, "%s." leaf, b), n)
      if (!agf_param_expect_batch_norm(c, NM("bn1"), bin, error) ||
          !agf_param_expect_conv(c, NM("conv1"), out, bin, 3, FALSE, error) ||
          !agf_param_expect_batch_norm(c, NM("bn2"), out, error) ||
          !agf_param_expect(c, NM("prelu.weight"), 1, (int64_t[]){ out },
                            error) ||
          !agf_param_expect_conv(c, NM("conv2"), out, out, 3, FALSE, error) ||
          !agf_param_expect_batch_norm(c, NM("bn3"), out, error))
        return FALSE;
      /* Every stage strides by 2, so its first block always downsamples. */
      if (i == 0 &&
          (!agf_param_expect_conv(c, NM("downsample.0"), out, bin, 1, FALSE,
                                  error) ||
           !agf_param_expect_batch_norm(c, NM("downsample.1"), out, error)))
        return FALSE;
#undef NM
    }
    in = out;
  }
  int map = cfg->map_size;
  return agf_param_expect_batch_norm(c, "bn2", in, error) &&
         agf_param_expect_linear(c, "fc", cfg->num_features, in * map * map,
                                 TRUE, error) &&
         agf_param_expect_batch_norm(c, "features", cfg->num_features, error);
}

gboolean agf_iresnet_declare(const AgfIresnetConfig *cfg, AgfParamCheck *c,
                             GError **error)
{
  return check_config(cfg, error) && walk(cfg, c, error);
}

gint64 agf_iresnet_param_count(const AgfIresnetConfig *cfg, GError **error)
{
  AgfParamCheck c = { 0 };
  return agf_iresnet_declare(cfg, &c, error) ? c.n_params : -1;
}

/* shape[dim] of a tensor in the file, or -1 and an error naming it. */
static int file_dim(AgfWeights *w, const char *name, int want_ndim, int dim,
                    GError **error)
{
  return agf_param_file_dim(w, name, want_ndim, dim, "an iresnet",
                            "is it an ArcFace iresnet (insightface names) "
                            "checkpoint?", error);
}

static gboolean infer_config(AgfWeights *w, AgfIresnetConfig *cfg,
                             GError **error)
{
  if ((cfg->stem_width = file_dim(w, "conv1.weight", 4, 0, error)) < 0 ||
      (cfg->in_channels = file_dim(w, "conv1.weight", 4, 1, error)) < 0)
    return FALSE;
  for (int s = 0; s < AGF_IRESNET_STAGES; s++) {
    char n[NAME_LEN];
    g_snprintf(n, sizeof n, "layer%d.0.conv1.weight", s + 1);
    if ((cfg->widths[s] = file_dim(w, n, 4, 0, error)) < 0)
      return FALSE;
    int i = 1;
    while (agf_weights_hasf(w, "layer%d.%d.conv1.weight", s + 1, i))
      i++;
    cfg->blocks[s] = i;
  }
  cfg->depth = depth_of(cfg->blocks);
  int fc_in;
  if ((cfg->num_features = file_dim(w, "fc.weight", 2, 0, error)) < 0 ||
      (fc_in = file_dim(w, "fc.weight", 2, 1, error)) < 0)
    return FALSE;
  int c = cfg->widths[AGF_IRESNET_STAGES - 1], side = 1;
  while ((gint64)side * side * c < fc_in)
    side++;
  if ((gint64)side * side * c != fc_in) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "tensor fc.weight in %s takes %d inputs, not %d x a square "
                "map: is it an insightface iresnet?", agf_weights_path(w),
                fc_in, c);
    return FALSE;
  }
  cfg->map_size = side;
  return TRUE;
}

AgfIresnet *agf_iresnet_new(AgfWeights *w, GError **error)
{
  g_return_val_if_fail(w != NULL, NULL);
  AgfIresnetConfig cfg;
  AgfParamCheck c = { .w = w };
  if (!infer_config(w, &cfg, error) || !walk(&cfg, &c, error))
    return NULL;
  AgfIresnet *net = g_new0(AgfIresnet, 1);
  net->w = agf_weights_ref(w);
  net->cfg = cfg;
  return net;
}

void agf_iresnet_free(AgfIresnet *net)
{
  if (!net)
    return;
  agf_weights_unref(net->w);
  g_free(net);
}

const AgfIresnetConfig *agf_iresnet_config(const AgfIresnet *net)
{
  return &net->cfg;
}

static AgfTensor *bn(AgfIresnet *net, const char *prefix, const AgfTensor *x,
                     GError **error)
{
  return agf_layer_batch_norm(net->w, prefix, x, BN_EPS, error);
}

static AgfTensor *conv(AgfIresnet *net, const char *prefix,
                       const AgfTensor *x, int stride, int pad, GError **error)
{
  AgfConv2dParams p = agf_conv_params(stride, pad);
  return agf_layer_conv2d(net->w, prefix, x, &p, error);
}

/* IBasicBlock: bn1-conv1-bn2-prelu-conv2(stride)-bn3, plus the input (through
 * the downsample in block 0); no activation after the sum. */
static AgfTensor *block(AgfIresnet *net, int s, int i, const AgfTensor *x,
                        GError **error)
{
  char n[NAME_LEN];
#define NM(leaf) (g_snprintf(n, sizeof n, "layer%d.%d." leaf, s + 1, i), n)
  int stride = i == 0 ? 2 : 1;
  g_autoptr(AgfTensor) a = bn(net, NM("bn1"), x, error);
  g_autoptr(AgfTensor) b = a ? conv(net, NM("conv1"), a, 1, 1, error) : NULL;
  g_autoptr(AgfTensor) c = b ? bn(net, NM("bn2"), b, error) : NULL;
  g_autoptr(AgfTensor) d = c ? agf_layer_prelu(net->w, NM("prelu"), c,
                                                  error) : NULL;
  g_autoptr(AgfTensor) e = d ? conv(net, NM("conv2"), d, stride, 1, error)
                             : NULL;
  g_autoptr(AgfTensor) f = e ? bn(net, NM("bn3"), e, error) : NULL;
  if (!f)
    return NULL;
  if (i != 0)
    return agf_add(f, x, error);
  g_autoptr(AgfTensor) g = conv(net, NM("downsample.0"), x, stride, 0, error);
  g_autoptr(AgfTensor) id = g ? bn(net, NM("downsample.1"), g, error) : NULL;
#undef NM
  return id ? agf_add(f, id, error) : NULL;
}

AgfTensor *agf_iresnet_map(AgfIresnet *net, const AgfTensor *x,
                           GError **error)
{
  g_return_val_if_fail(net != NULL && x != NULL, NULL);
  const AgfIresnetConfig *cfg = &net->cfg;
  int side = 16 * cfg->map_size;
  if (x->ndim != 4 || x->shape[1] != cfg->in_channels ||
      x->shape[2] != side || x->shape[3] != side) {
    char buf[64];
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "iresnet input must be [B, %d, %d, %d] (resize the aligned "
                "face to %dx%d), not %s", cfg->in_channels, side, side, side,
                side, agf_shape_str(x, buf, sizeof buf));
    return NULL;
  }
  g_autoptr(AgfTensor) c1 = conv(net, "conv1", x, 1, 1, error);
  g_autoptr(AgfTensor) b1 = c1 ? bn(net, "bn1", c1, error) : NULL;
  AgfTensor *h = b1 ? agf_layer_prelu(net->w, "prelu", b1, error) : NULL;
  for (int s = 0; h && s < AGF_IRESNET_STAGES; s++)
    for (int i = 0; h && i < cfg->blocks[s]; i++) {
      AgfTensor *next = block(net, s, i, h, error);
      agf_tensor_unref(h);
      h = next;
    }
  if (!h)
    return NULL;
  AgfTensor *out = bn(net, "bn2", h, error);
  agf_tensor_unref(h);
  return out;
}

/* torch.flatten(x, 1) of the NCHW map (channel-major), fc, then bn. */
static AgfTensor *embedding_head(gpointer data, AgfTensor *map,
                                 GError **error)
{
  AgfIresnet *net = data;
  int64_t shape[2] = { map->shape[0], -1 };
  g_autoptr(AgfTensor) flat = agf_tensor_reshape(map, 2, shape, error);
  g_autoptr(AgfTensor) fc = flat ? agf_layer_linear(net->w, "fc", flat, error)
                                 : NULL;
  return fc ? bn(net, "features", fc, error) : NULL;
}

gboolean agf_iresnet_forward(AgfIresnet *net, const AgfTensor *x,
                             AgfTensor **tokens, AgfTensor **embedding,
                             GError **error)
{
  g_return_val_if_fail(tokens != NULL || embedding != NULL, FALSE);
  g_autoptr(AgfTensor) map = agf_iresnet_map(net, x, error);
  return map && agf_map_outputs(map, embedding_head, net, tokens, embedding,
                                error);
}

AgfTensor *agf_identity_context(const AgfTensor *tokens, int width,
                                GError **error)
{
  g_return_val_if_fail(tokens != NULL, NULL);
  if (tokens->ndim != 3 || width < tokens->shape[2]) {
    char buf[64];
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "identity tokens %s do not fit a context of width %d: they "
                "must be [B, L, C] with C <= the U-Net's context width",
                agf_shape_str(tokens, buf, sizeof buf), width);
    return NULL;
  }
  if (width == tokens->shape[2])
    return agf_tensor_ref((AgfTensor *)tokens);
  int64_t shape[3] = { tokens->shape[0], tokens->shape[1],
                       width - tokens->shape[2] };
  g_autoptr(AgfTensor) zeros = agf_tensor_new(tokens->dev, tokens->dtype, 3,
                                              shape, error);
  if (!zeros || !agf_tensor_fill(zeros, 0.0f, error))
    return NULL;
  const AgfTensor *parts[2] = { tokens, zeros };
  return agf_concat(parts, 2, 2, error);
}
