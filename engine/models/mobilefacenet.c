/* MobileFaceNet over the op wrappers (graph as the package's tflite file:
 * see mobilefacenet.h). */
#include "models/mobilefacenet.h"
#include <stdlib.h>
#include <string.h>
#include "models/layers.h"

#define NAME_LEN 256
#define STRIDES_KEY "mobilefacenet.block_strides"

struct AgfMobilefacenet {
  AgfWeights *w;
  AgfMobilefacenetConfig cfg;
};

/* The published network: (expansion, output, repeats, first stride). */
static const struct { int e, o, n, s; } published[] = {
  { 128, 64, 5, 2 }, { 256, 128, 1, 2 }, { 256, 128, 6, 1 },
  { 512, 128, 1, 2 }, { 256, 128, 2, 1 },
};

static void default_strides(int *stride)
{
  int b = 0;
  for (size_t g = 0; g < G_N_ELEMENTS(published); g++)
    for (int i = 0; i < published[g].n; i++)
      stride[b++] = i == 0 ? published[g].s : 1;
}

void agf_mobilefacenet_config_default(AgfMobilefacenetConfig *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  *cfg = (AgfMobilefacenetConfig){ .in_channels = 3, .stem_width = 64,
                                   .stem_out = 64, .stem_kernel = 3,
                                   .dw_kernel = 3, .last_width = 512,
                                   .map_size = 7, .embedding_size = 192 };
  int b = 0;
  for (size_t g = 0; g < G_N_ELEMENTS(published); g++)
    for (int i = 0; i < published[g].n; i++, b++) {
      cfg->expand[b] = published[g].e;
      cfg->out[b] = published[g].o;
    }
  cfg->n_blocks = b;
  default_strides(cfg->stride);
}

/* Map side for an input side: conv1 halves (SAME), then each block's
 * stride (SAME: ceil). */
static int64_t map_side(const AgfMobilefacenetConfig *cfg, int64_t in)
{
  int64_t s = (in + 1) / 2;
  for (int b = 0; b < cfg->n_blocks; b++)
    s = (s + cfg->stride[b] - 1) / cfg->stride[b];
  return s;
}

int agf_mobilefacenet_input_size(const AgfMobilefacenetConfig *cfg)
{
  int side = 2 * cfg->map_size;
  for (int b = 0; b < cfg->n_blocks; b++)
    side *= cfg->stride[b];
  return side;
}

static gboolean check_config(const AgfMobilefacenetConfig *cfg,
                             GError **error)
{
  gboolean ok = cfg->in_channels > 0 && cfg->stem_width > 0 &&
                cfg->stem_out > 0 && cfg->stem_kernel > 0 &&
                cfg->dw_kernel > 0 && cfg->last_width > 0 &&
                cfg->map_size > 0 && cfg->embedding_size > 0 &&
                cfg->n_blocks >= 0 && cfg->n_blocks <= AGF_MFN_MAX_BLOCKS;
  for (int b = 0; ok && b < cfg->n_blocks; b++)
    ok = cfg->expand[b] > 0 && cfg->out[b] > 0 &&
         (cfg->stride[b] == 1 || cfg->stride[b] == 2);
  if (!ok)
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "MobileFaceNet configuration has a zero width, kernel or map "
                "size, more than %d blocks, or a block stride other than 1 "
                "or 2", AGF_MFN_MAX_BLOCKS);
  return ok;
}

/* Declares every tensor of the configuration (checked when c->w). */
static gboolean walk(const AgfMobilefacenetConfig *cfg, AgfParamCheck *c,
                     GError **error)
{
  char n[NAME_LEN];
#define NM(...) (g_snprintf(n, sizeof n, __VA_ARGS__), n)
#define SLOPE(name, ch) agf_param_expect(c, name, 1, (int64_t[]){ ch }, error)
  int s = cfg->stem_width, k = cfg->stem_kernel;
  if (!agf_param_expect_conv(c, "conv1", s, cfg->in_channels, k, TRUE,
                             error) ||
      !SLOPE("prelu1.weight", s) ||
      !agf_param_expect_conv(c, "dw_conv1", s, 1, k, TRUE, error) ||
      !SLOPE("dw_prelu1.weight", s) ||
      !agf_param_expect_conv(c, "conv2", cfg->stem_out, s, 1, TRUE, error))
    return FALSE;
  int in = cfg->stem_out;
  for (int b = 0; b < cfg->n_blocks; b++) {
    int e = cfg->expand[b], o = cfg->out[b];
    if (!agf_param_expect_conv(c, NM("blocks.%d.expand", b), e, in, 1, TRUE,
                               error) ||
        !SLOPE(NM("blocks.%d.expand_prelu.weight", b), e) ||
        !agf_param_expect_conv(c, NM("blocks.%d.dw", b), e, 1,
                               cfg->dw_kernel, TRUE, error) ||
        !SLOPE(NM("blocks.%d.dw_prelu.weight", b), e) ||
        !agf_param_expect_conv(c, NM("blocks.%d.project", b), o, e, 1, TRUE,
                               error))
      return FALSE;
    in = o;
  }
  int l = cfg->last_width;
  return agf_param_expect_conv(c, "conv_last", l, in, 1, TRUE, error) &&
         SLOPE("prelu_last.weight", l) &&
         agf_param_expect_conv(c, "logits.dw", l, 1, cfg->map_size, TRUE,
                               error) &&
         agf_param_expect_linear(c, "logits.fc", l, l, TRUE, error) &&
         agf_param_expect_linear(c, "logits.linear", cfg->embedding_size, l,
                                 TRUE, error);
#undef SLOPE
#undef NM
}

gboolean agf_mobilefacenet_declare(const AgfMobilefacenetConfig *cfg,
                                   AgfParamCheck *c, GError **error)
{
  return check_config(cfg, error) && walk(cfg, c, error);
}

gint64 agf_mobilefacenet_param_count(const AgfMobilefacenetConfig *cfg,
                                     GError **error)
{
  AgfParamCheck c = { 0 };
  return agf_mobilefacenet_declare(cfg, &c, error) ? c.n_params : -1;
}

/* shape[dim] of a tensor in the file, or -1 and an error naming it. */
static int file_dim(AgfWeights *w, const char *name, int want_ndim, int dim,
                    GError **error)
{
  return agf_param_file_dim(w, name, want_ndim, dim, "a MobileFaceNet",
                            "is it a MobileFaceNet converted by agfas-train "
                            "import?", error);
}

static gboolean parse_strides(AgfWeights *w, AgfMobilefacenetConfig *cfg,
                              GError **error)
{
  const char *v = agf_weights_meta(w, STRIDES_KEY);
  if (!v) {
    AgfMobilefacenetConfig def;
    agf_mobilefacenet_config_default(&def);
    if (cfg->n_blocks != def.n_blocks) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "weights file %s has %d MobileFaceNet blocks and no "
                  "metadata " STRIDES_KEY ": add it (one stride per block, "
                  "e.g. \"2,1,1\")", agf_weights_path(w), cfg->n_blocks);
      return FALSE;
    }
    memcpy(cfg->stride, def.stride, sizeof cfg->stride);
    return TRUE;
  }
  g_auto(GStrv) parts = g_strsplit(v, ",", -1);
  int n = (int)g_strv_length(parts);
  gboolean ok = n == cfg->n_blocks;
  for (int b = 0; ok && b < n; b++) {
    char *end;
    long s = strtol(parts[b], &end, 10);
    ok = end != parts[b] && *end == '\0' && (s == 1 || s == 2);
    cfg->stride[b] = (int)s;
  }
  if (!ok)
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s: metadata " STRIDES_KEY " = \"%s\" is not "
                "%d comma-separated strides of 1 or 2 (one per block)",
                agf_weights_path(w), v, cfg->n_blocks);
  return ok;
}

static gboolean infer_config(AgfWeights *w, AgfMobilefacenetConfig *cfg,
                             GError **error)
{
  memset(cfg, 0, sizeof *cfg);
  if ((cfg->stem_width = file_dim(w, "conv1.weight", 4, 0, error)) < 0 ||
      (cfg->in_channels = file_dim(w, "conv1.weight", 4, 1, error)) < 0 ||
      (cfg->stem_kernel = file_dim(w, "conv1.weight", 4, 2, error)) < 0 ||
      (cfg->stem_out = file_dim(w, "conv2.weight", 4, 0, error)) < 0 ||
      (cfg->last_width = file_dim(w, "conv_last.weight", 4, 0, error)) < 0 ||
      (cfg->map_size = file_dim(w, "logits.dw.weight", 4, 2, error)) < 0 ||
      (cfg->embedding_size = file_dim(w, "logits.linear.weight", 2, 0,
                                      error)) < 0)
    return FALSE;
  int b = 0;
  while (agf_weights_hasf(w, "blocks.%d.expand.weight", b)) {
    if (b == AGF_MFN_MAX_BLOCKS) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "weights file %s has more than %d MobileFaceNet blocks",
                  agf_weights_path(w), AGF_MFN_MAX_BLOCKS);
      return FALSE;
    }
    char n[NAME_LEN];
    g_snprintf(n, sizeof n, "blocks.%d.expand.weight", b);
    if ((cfg->expand[b] = file_dim(w, n, 4, 0, error)) < 0)
      return FALSE;
    g_snprintf(n, sizeof n, "blocks.%d.project.weight", b);
    if ((cfg->out[b] = file_dim(w, n, 4, 0, error)) < 0)
      return FALSE;
    if (b == 0) {
      g_snprintf(n, sizeof n, "blocks.%d.dw.weight", b);
      if ((cfg->dw_kernel = file_dim(w, n, 4, 2, error)) < 0)
        return FALSE;
    }
    b++;
  }
  cfg->n_blocks = b;
  if (b == 0)
    cfg->dw_kernel = 3;
  return parse_strides(w, cfg, error);
}

AgfMobilefacenet *agf_mobilefacenet_new(AgfWeights *w, GError **error)
{
  g_return_val_if_fail(w != NULL, NULL);
  AgfMobilefacenetConfig cfg;
  AgfParamCheck c = { .w = w };
  if (!infer_config(w, &cfg, error) || !check_config(&cfg, error) ||
      !walk(&cfg, &c, error))
    return NULL;
  AgfMobilefacenet *net = g_new0(AgfMobilefacenet, 1);
  net->w = agf_weights_ref(w);
  net->cfg = cfg;
  return net;
}

void agf_mobilefacenet_free(AgfMobilefacenet *net)
{
  if (!net)
    return;
  agf_weights_unref(net->w);
  g_free(net);
}

const AgfMobilefacenetConfig *agf_mobilefacenet_config(
  const AgfMobilefacenet *net)
{
  return &net->cfg;
}

/* A conv with TF "SAME" padding for x's size; depthwise when groups > 1. */
static AgfTensor *conv_same(AgfMobilefacenet *net, const char *name,
                            const AgfTensor *x, int k, int stride, int groups,
                            GError **error)
{
  AgfConv2dParams p = agf_conv_params(stride, 0);
  p.groups = groups;
  agf_tf_same_pad(x->shape[2], k, stride, &p.pad_top, &p.pad_bottom);
  agf_tf_same_pad(x->shape[3], k, stride, &p.pad_left, &p.pad_right);
  return agf_layer_conv2d(net->w, name, x, &p, error);
}

/* conv (SAME) then PReLU slope. */
static AgfTensor *conv_prelu(AgfMobilefacenet *net, const char *name,
                             const char *slope, const AgfTensor *x, int k,
                             int stride, int groups, GError **error)
{
  g_autoptr(AgfTensor) y = conv_same(net, name, x, k, stride, groups, error);
  return y ? agf_layer_prelu(net->w, slope, y, error) : NULL;
}

/* Inverted residual: expand 1x1 + PReLU, depthwise + PReLU, project 1x1
 * (linear), plus the input when the shapes allow. */
static AgfTensor *block(AgfMobilefacenet *net, int b, const AgfTensor *x,
                        GError **error)
{
  const AgfMobilefacenetConfig *cfg = &net->cfg;
  char n[NAME_LEN], s[NAME_LEN];
#define NM(buf, leaf) (g_snprintf(buf, sizeof buf, "blocks.%d." leaf, b), buf)
  int e = cfg->expand[b], stride = cfg->stride[b];
  g_autoptr(AgfTensor) h1 = conv_prelu(net, NM(n, "expand"),
                                       NM(s, "expand_prelu"), x, 1, 1, 1,
                                       error);
  g_autoptr(AgfTensor) h2 = h1 ? conv_prelu(net, NM(n, "dw"),
                                            NM(s, "dw_prelu"), h1,
                                            cfg->dw_kernel, stride, e, error)
                               : NULL;
  g_autoptr(AgfTensor) h3 = h2 ? conv_same(net, NM(n, "project"), h2, 1, 1,
                                           1, error)
                               : NULL;
#undef NM
  if (!h3)
    return NULL;
  if (stride == 1 && h3->shape[1] == x->shape[1])
    return agf_add(h3, x, error);
  return g_steal_pointer(&h3);
}

AgfTensor *agf_mobilefacenet_map(AgfMobilefacenet *net, const AgfTensor *x,
                                 GError **error)
{
  g_return_val_if_fail(net != NULL && x != NULL, NULL);
  const AgfMobilefacenetConfig *cfg = &net->cfg;
  if (x->ndim != 4 || x->shape[1] != cfg->in_channels ||
      map_side(cfg, x->shape[2]) != cfg->map_size ||
      map_side(cfg, x->shape[3]) != cfg->map_size) {
    char buf[64];
    int side = agf_mobilefacenet_input_size(cfg);
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "MobileFaceNet input must be [B, %d, %d, %d] (resize the "
                "aligned face to %dx%d), not %s", cfg->in_channels, side,
                side, side, side, agf_shape_str(x, buf, sizeof buf));
    return NULL;
  }
  int s = cfg->stem_width, k = cfg->stem_kernel;
  g_autoptr(AgfTensor) a = conv_prelu(net, "conv1", "prelu1", x, k, 2, 1,
                                      error);
  g_autoptr(AgfTensor) b = a ? conv_prelu(net, "dw_conv1", "dw_prelu1", a, k,
                                          1, s, error)
                             : NULL;
  AgfTensor *h = b ? conv_same(net, "conv2", b, 1, 1, 1, error) : NULL;
  for (int i = 0; h && i < cfg->n_blocks; i++) {
    AgfTensor *next = block(net, i, h, error);
    agf_tensor_unref(h);
    h = next;
  }
  if (!h)
    return NULL;
  AgfTensor *map = conv_prelu(net, "conv_last", "prelu_last", h, 1, 1, 1,
                              error);
  agf_tensor_unref(h);
  return map;
}

/* Global depthwise conv (unpadded, the kernel covers the whole map), then
 * two linear layers. */
static AgfTensor *embedding_head(gpointer data, AgfTensor *map,
                                 GError **error)
{
  AgfMobilefacenet *net = data;
  AgfConv2dParams p = agf_conv_params(1, 0);
  p.groups = net->cfg.last_width;
  g_autoptr(AgfTensor) g = agf_layer_conv2d(net->w, "logits.dw", map, &p,
                                            error);
  int64_t shape[2] = { map->shape[0], net->cfg.last_width };
  g_autoptr(AgfTensor) flat = g ? agf_tensor_reshape(g, 2, shape, error)
                                : NULL;
  g_autoptr(AgfTensor) fc = flat ? agf_layer_linear(net->w, "logits.fc",
                                                    flat, error)
                                 : NULL;
  return fc ? agf_layer_linear(net->w, "logits.linear", fc, error) : NULL;
}

gboolean agf_mobilefacenet_forward(AgfMobilefacenet *net, const AgfTensor *x,
                                   AgfTensor **tokens, AgfTensor **embedding,
                                   GError **error)
{
  g_return_val_if_fail(tokens != NULL || embedding != NULL, FALSE);
  g_autoptr(AgfTensor) map = agf_mobilefacenet_map(net, x, error);
  return map && agf_map_outputs(map, embedding_head, net, tokens, embedding,
                                error);
}
