/* torchvision ResNet (BasicBlock) over the op wrappers. */
#include "models/resnet18.h"
#include "models/layers.h"

#define BN_EPS 1e-5f
#define NAME_LEN 256

struct AgfResnet18 {
  AgfWeights *w;
  char *prefix;
  AgfResnet18Config cfg;
};

void agf_resnet18_config_default(AgfResnet18Config *cfg)
{
  *cfg = (AgfResnet18Config){ .in_channels = 3, .stem_width = 64,
                              .widths = { 64, 128, 256, 512 },
                              .blocks = { 2, 2, 2, 2 }, .num_classes = 1000 };
}

static gboolean check_config(const AgfResnet18Config *cfg, GError **error)
{
  gboolean ok = cfg->in_channels > 0 && cfg->stem_width > 0 &&
                cfg->num_classes >= 0;
  for (int s = 0; s < AGF_RESNET_STAGES; s++)
    ok = ok && cfg->widths[s] > 0 && cfg->blocks[s] > 0;
  if (!ok)
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "ResNet configuration has a zero or negative width, block "
                "count or input channel count");
  return ok;
}

static gboolean has_downsample(const AgfResnet18Config *cfg, int s, int i)
{
  int in = s == 0 ? cfg->stem_width : cfg->widths[s - 1];
  return i == 0 && (s > 0 || in != cfg->widths[s]);
}

/* Declares every tensor of the configuration (checked when c->w). */
static gboolean walk(const AgfResnet18Config *cfg, AgfParamCheck *c,
                     GError **error)
{
  char n[NAME_LEN];
  if (!agf_param_expect_conv(c, "conv1", cfg->stem_width, cfg->in_channels,
                             7, FALSE, error) ||
      !agf_param_expect_batch_norm(c, "bn1", cfg->stem_width, error))
    return FALSE;
  int in = cfg->stem_width;
  for (int s = 0; s < AGF_RESNET_STAGES; s++) {
    int out = cfg->widths[s];
    for (int i = 0; i < cfg->blocks[s]; i++) {
      char b[NAME_LEN];
      g_snprintf(b, sizeof b, "layer%d.%d", s + 1, i);
      int bin = i == 0 ? in : out;
      g_snprintf(n, sizeof n, "%s.conv1", b);
      if (!agf_param_expect_conv(c, n, out, bin, 3, FALSE, error))
        return FALSE;
      g_snprintf(n, sizeof n, "%s.bn1", b);
      if (!agf_param_expect_batch_norm(c, n, out, error))
        return FALSE;
      g_snprintf(n, sizeof n, "%s.conv2", b);
      if (!agf_param_expect_conv(c, n, out, out, 3, FALSE, error))
        return FALSE;
      g_snprintf(n, sizeof n, "%s.bn2", b);
      if (!agf_param_expect_batch_norm(c, n, out, error))
        return FALSE;
      if (has_downsample(cfg, s, i)) {
        g_snprintf(n, sizeof n, "%s.downsample.0", b);
        if (!agf_param_expect_conv(c, n, out, bin, 1, FALSE, error))
          return FALSE;
        g_snprintf(n, sizeof n, "%s.downsample.1", b);
        if (!agf_param_expect_batch_norm(c, n, out, error))
          return FALSE;
      }
    }
    in = out;
  }
  return cfg->num_classes == 0 ||
         agf_param_expect_linear(c, "fc", cfg->num_classes, in, TRUE, error);
}

gboolean agf_resnet18_declare(const AgfResnet18Config *cfg, AgfParamCheck *c,
                              GError **error)
{
  return check_config(cfg, error) && walk(cfg, c, error);
}

gint64 agf_resnet18_param_count(const AgfResnet18Config *cfg, GError **error)
{
  AgfParamCheck c = { 0 };
  return agf_resnet18_declare(cfg, &c, error) ? c.n_params : -1;
}

/* shape[dim] of a tensor in the file, or -1 and an error naming it. */
static int dim0(AgfWeights *w, const char *name, int want_ndim, int dim,
                GError **error)
{
  return agf_param_file_dim(w, name, want_ndim, dim, "a ResNet-18",
                            "is it a ResNet-18 (torchvision names) "
                            "checkpoint?", error);
}

static gboolean infer_config(AgfWeights *w, const char *prefix,
                             AgfResnet18Config *cfg, GError **error)
{
  char n[NAME_LEN];
  g_snprintf(n, sizeof n, "%sconv1.weight", prefix);
  if ((cfg->stem_width = dim0(w, n, 4, 0, error)) < 0 ||
      (cfg->in_channels = dim0(w, n, 4, 1, error)) < 0)
    return FALSE;
  for (int s = 0; s < AGF_RESNET_STAGES; s++) {
    g_snprintf(n, sizeof n, "%slayer%d.0.conv3.weight", prefix, s + 1);
    if (agf_weights_has(w, n)) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                  "weights file %s holds a bottleneck ResNet (%s): only "
                  "BasicBlock ResNets (18, 34) are supported",
                  agf_weights_path(w), n);
      return FALSE;
    }
    g_snprintf(n, sizeof n, "%slayer%d.0.conv1.weight", prefix, s + 1);
    if ((cfg->widths[s] = dim0(w, n, 4, 0, error)) < 0)
      return FALSE;
    int i = 1;
    while (agf_weights_hasf(w, "%slayer%d.%d.conv1.weight", prefix, s + 1, i))
      i++;
    cfg->blocks[s] = i;
  }
  g_snprintf(n, sizeof n, "%sfc.weight", prefix);
  cfg->num_classes = 0;
  if (agf_weights_has(w, n) && (cfg->num_classes = dim0(w, n, 2, 0, error)) < 0)
    return FALSE;
  return TRUE;
}

AgfResnet18 *agf_resnet18_new(AgfWeights *w, GError **error)
{
  return agf_resnet18_new_at(w, "", error);
}

AgfResnet18 *agf_resnet18_new_at(AgfWeights *w, const char *prefix,
                                 GError **error)
{
  g_return_val_if_fail(w != NULL && prefix != NULL, NULL);
  AgfResnet18Config cfg;
  AgfParamCheck root = { .w = w }, c;
  if (!infer_config(w, prefix, &cfg, error) ||
      !agf_param_check_at(&c, &root, prefix, error) || !walk(&cfg, &c, error))
    return NULL;
  AgfResnet18 *net = g_new0(AgfResnet18, 1);
  net->w = agf_weights_ref(w);
  net->prefix = g_strdup(prefix);
  net->cfg = cfg;
  return net;
}

void agf_resnet18_free(AgfResnet18 *net)
{
  if (!net)
    return;
  agf_weights_unref(net->w);
  g_free(net->prefix);
  g_free(net);
}

const AgfResnet18Config *agf_resnet18_config(const AgfResnet18 *net)
{
  return &net->cfg;
}

/* conv (no bias) -> batch norm [-> relu] */
static AgfTensor *conv_bn(AgfResnet18 *net, const char *conv, const char *bn,
                          const AgfTensor *x, int stride, int pad,
                          gboolean relu, GError **error)
{
  AgfConv2dParams p = agf_conv_params(stride, pad);
  g_autoptr(AgfTensor) y = agf_layer_conv2d(net->w, conv, x, &p, error);
  if (!y)
    return NULL;
  g_autoptr(AgfTensor) z = agf_layer_batch_norm(net->w, bn, y, BN_EPS, error);
  if (!z || !relu)
    return g_steal_pointer(&z);
  return agf_relu(z, error);
}

static AgfTensor *block(AgfResnet18 *net, int s, int i, const AgfTensor *x,
                        GError **error)
{
  char b[NAME_LEN], c1[NAME_LEN], n1[NAME_LEN], c2[NAME_LEN], n2[NAME_LEN];
  g_snprintf(b, sizeof b, "%slayer%d.%d", net->prefix, s + 1, i);
  g_snprintf(c1, sizeof c1, "%s.conv1", b);
  g_snprintf(n1, sizeof n1, "%s.bn1", b);
  g_snprintf(c2, sizeof c2, "%s.conv2", b);
  g_snprintf(n2, sizeof n2, "%s.bn2", b);
  int stride = (s > 0 && i == 0) ? 2 : 1;
  g_autoptr(AgfTensor) h = conv_bn(net, c1, n1, x, stride, 1, TRUE, error);
  g_autoptr(AgfTensor) y = h ? conv_bn(net, c2, n2, h, 1, 1, FALSE, error)
                             : NULL;
  if (!y)
    return NULL;
  g_autoptr(AgfTensor) sum = NULL;
  if (has_downsample(&net->cfg, s, i)) {
    g_snprintf(c1, sizeof c1, "%s.downsample.0", b);
    g_snprintf(n1, sizeof n1, "%s.downsample.1", b);
    g_autoptr(AgfTensor) id = conv_bn(net, c1, n1, x, stride, 0, FALSE, error);
    sum = id ? agf_add(y, id, error) : NULL;
  } else {
    sum = agf_add(y, x, error);
  }
  return sum ? agf_relu(sum, error) : NULL;
}

AgfTensor *agf_resnet18_features(AgfResnet18 *net, const AgfTensor *x,
                                 GError **error)
{
  g_return_val_if_fail(net != NULL && x != NULL, NULL);
  if (x->ndim != 4 || x->shape[1] != net->cfg.in_channels) {
    char buf[64];
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "ResNet-18 input must be [B, %d, H, W], not %s",
                net->cfg.in_channels, agf_shape_str(x, buf, sizeof buf));
    return NULL;
  }
  char c[NAME_LEN], n[NAME_LEN];
  g_snprintf(c, sizeof c, "%sconv1", net->prefix);
  g_snprintf(n, sizeof n, "%sbn1", net->prefix);
  g_autoptr(AgfTensor) stem = conv_bn(net, c, n, x, 2, 3, TRUE, error);
  if (!stem)
    return NULL;
  AgfPool2dParams mp = { .kind = AGF_POOL_MAX, .kernel_h = 3, .kernel_w = 3,
                         .stride_h = 2, .stride_w = 2, .pad_top = 1,
                         .pad_bottom = 1, .pad_left = 1, .pad_right = 1 };
  AgfTensor *h = agf_pool2d(stem, &mp, error);
  for (int s = 0; h && s < AGF_RESNET_STAGES; s++)
    for (int i = 0; h && i < net->cfg.blocks[s]; i++) {
      AgfTensor *next = block(net, s, i, h, error);
      agf_tensor_unref(h);
      h = next;
    }
  return h;
}

AgfTensor *agf_resnet18_tokens(AgfResnet18 *net, const AgfTensor *x,
                               GError **error)
{
  g_autoptr(AgfTensor) f = agf_resnet18_features(net, x, error);
  return f ? agf_map_to_tokens(f, error) : NULL;
}

AgfTensor *agf_resnet18_logits(AgfResnet18 *net, const AgfTensor *x,
                               GError **error)
{
  g_return_val_if_fail(net != NULL && x != NULL, NULL);
  if (net->cfg.num_classes == 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                "weights file %s has no %sfc layer (a feature-only "
                "ResNet-18, e.g. a cue encoder): use its features or tokens",
                agf_weights_path(net->w), net->prefix);
    return NULL;
  }
  g_autoptr(AgfTensor) f = agf_resnet18_features(net, x, error);
  g_autoptr(AgfTensor) pooled = f ? agf_global_avg_pool(f, error) : NULL;
  if (!pooled)
    return NULL;
  int64_t shape[2] = { pooled->shape[0], pooled->shape[1] };
  g_autoptr(AgfTensor) flat = agf_tensor_reshape(pooled, 2, shape, error);
  if (!flat)
    return NULL;
  char n[NAME_LEN];
  g_snprintf(n, sizeof n, "%sfc", net->prefix);
  return agf_layer_linear(net->w, n, flat, error);
}
