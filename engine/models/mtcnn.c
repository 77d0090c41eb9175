/* MTCNN P-/R-/O-Net over the op wrappers (graphs as the package's tflite
 * files: see mtcnn.h). */
#include "models/mtcnn.h"
#include <string.h>
#include "models/layers.h"

#define NAME_LEN 256

/* Max-pool after convN, as the tflite files have it: kernel (0 = none),
 * stride 2, TF padding. */
typedef struct { int k; gboolean same; } Pool;

static const struct {
  const char *name;
  int n_convs;
  const char *dense;      /* first dense layer (R, O), NULL for P */
  const char *heads[3];   /* prob, box, landmarks */
  int width[AGF_MTCNN_MAX_CONVS], kernel[AGF_MTCNN_MAX_CONVS];
  int dense_width;
  Pool pool[AGF_MTCNN_MAX_CONVS];
} stages[] = {
  [AGF_MTCNN_PNET] = { "pnet", 3, NULL, { "conv4_1", "conv4_2", NULL },
                       { 10, 16, 32 }, { 3, 3, 3 }, 0,
                       { { 2, TRUE } } },
  [AGF_MTCNN_RNET] = { "rnet", 3, "dense4", { "dense5_1", "dense5_2", NULL },
                       { 28, 48, 64 }, { 3, 3, 2 }, 128,
                       { { 3, TRUE }, { 3, FALSE } } },
  [AGF_MTCNN_ONET] = { "onet", 4, "dense5",
                       { "dense6_1", "dense6_2", "dense6_3" },
                       { 32, 64, 64, 128 }, { 3, 3, 3, 2 }, 256,
                       { { 3, TRUE }, { 3, FALSE }, { 2, TRUE } } },
};

static const int head_width[3] = { 2, 4, 10 };

struct AgfMtcnn {
  AgfWeights *w;
  char *prefix;
  AgfMtcnnConfig cfg;
};

const char *agf_mtcnn_stage_name(AgfMtcnnStage stage)
{
  return stage <= AGF_MTCNN_ONET ? stages[stage].name : "?";
}

void agf_mtcnn_config_default(AgfMtcnnConfig *cfg, AgfMtcnnStage stage)
{
  g_return_if_fail(stage <= AGF_MTCNN_ONET);
  memset(cfg, 0, sizeof *cfg);
  cfg->stage = stage;
  cfg->in_channels = 3;
  cfg->n_convs = stages[stage].n_convs;
  memcpy(cfg->conv_width, stages[stage].width, sizeof cfg->conv_width);
  memcpy(cfg->conv_kernel, stages[stage].kernel, sizeof cfg->conv_kernel);
  cfg->dense_width = stages[stage].dense_width;
  cfg->map_size = stage == AGF_MTCNN_PNET ? 0 : 3;
  cfg->input_size = stage == AGF_MTCNN_PNET ? 0 :
                    stage == AGF_MTCNN_RNET ? 24 : 48;
}

/* Output side of a pool (k = 0: none). */
static int64_t pool_out(int64_t in, Pool p)
{
  if (!p.k)
    return in;
  return p.same ? (in + 1) / 2 : (in - p.k) / 2 + 1;
}

/* Side of the last conv's map for an input side (< 1 when too small). */
static int64_t map_side(const AgfMtcnnConfig *cfg, int64_t in)
{
  for (int i = 0; i < cfg->n_convs && in >= 1; i++) {
    in -= cfg->conv_kernel[i] - 1;
    if (in >= 1)
      in = pool_out(in, stages[cfg->stage].pool[i]);
  }
  return in;
}

static gboolean check_config(const AgfMtcnnConfig *cfg, GError **error)
{
  gboolean ok = cfg->stage <= AGF_MTCNN_ONET && cfg->in_channels > 0 &&
                cfg->n_convs == stages[cfg->stage].n_convs;
  for (int i = 0; ok && i < cfg->n_convs; i++)
    ok = cfg->conv_width[i] > 0 && cfg->conv_kernel[i] > 0;
  if (ok && cfg->stage != AGF_MTCNN_PNET)
    ok = cfg->dense_width > 0 && cfg->map_size > 0;
  if (!ok)
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "MTCNN configuration has an unknown stage, a wrong number of "
                "convolutions or a zero width, kernel or map size");
  return ok;
}

/* Declares every tensor of the configuration (checked when c->w). */
static gboolean walk(const AgfMtcnnConfig *cfg, AgfParamCheck *c,
                     GError **error)
{
  char n[NAME_LEN];
#define NM(...) (g_snprintf(n, sizeof n, __VA_ARGS__), n)
  int in = cfg->in_channels;
  for (int i = 0; i < cfg->n_convs; i++) {
    int out = cfg->conv_width[i];
    if (!agf_param_expect_conv(c, NM("conv%d", i + 1), out, in,
                               cfg->conv_kernel[i], TRUE, error) ||
        !agf_param_expect(c, NM("prelu%d.weight", i + 1), 1,
                          (int64_t[]){ out }, error))
      return FALSE;
    in = out;
  }
  const char *const *heads = stages[cfg->stage].heads;
  if (cfg->stage != AGF_MTCNN_PNET) {
    int d = cfg->dense_width, k = cfg->n_convs + 1;
    if (!agf_param_expect_linear(c, NM("dense%d", k), d,
                                 in * cfg->map_size * cfg->map_size, TRUE,
                                 error) ||
        !agf_param_expect(c, NM("prelu%d.weight", k), 1,
                          (int64_t[]){ d }, error))
      return FALSE;
    for (int h = 0; h < 3 && heads[h]; h++)
      if (!agf_param_expect_linear(c, heads[h],
                                   head_width[h], d, TRUE, error))
        return FALSE;
    return TRUE;
  }
  for (int h = 0; h < 2; h++)
    if (!agf_param_expect_conv(c, heads[h],
                               head_width[h], in, 1, TRUE, error))
      return FALSE;
#undef NM
  return TRUE;
}

gboolean agf_mtcnn_declare(const AgfMtcnnConfig *cfg, AgfParamCheck *c,
                           GError **error)
{
  return check_config(cfg, error) && walk(cfg, c, error);
}

gint64 agf_mtcnn_param_count(const AgfMtcnnConfig *cfg, GError **error)
{
  AgfParamCheck c = { 0 };
  return agf_mtcnn_declare(cfg, &c, error) ? c.n_params : -1;
}

/* The file's shape of prefix+name, or FALSE and an error naming it. */
static gboolean file_shape(AgfWeights *w, const char *prefix,
                           const char *name, int want_ndim, int64_t *shape,
                           GError **error)
{
  g_autofree char *full = g_strconcat(prefix, name, NULL);
  int nd;
  int64_t s[8];
  if (!agf_weights_shape(w, full, &nd, s)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s has no tensor %s; is it an MTCNN stage "
                "converted by agfas-train import?", agf_weights_path(w), full);
    return FALSE;
  }
  if (nd != want_ndim) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "tensor %s in %s is %d-D, not the %d-D tensor of an MTCNN "
                "stage", full, agf_weights_path(w), nd, want_ndim);
    return FALSE;
  }
  for (int i = 0; i < nd; i++)
    if (s[i] < 1 || s[i] > G_MAXINT) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                  "tensor %s in %s has an empty or huge dimension", full,
                  agf_weights_path(w));
      return FALSE;
    }
  memcpy(shape, s, sizeof(int64_t) * nd);
  return TRUE;
}

static gboolean infer_config(AgfWeights *w, const char *prefix,
                             AgfMtcnnConfig *cfg, GError **error)
{
  AgfMtcnnStage stage;
  if (agf_weights_hasf(w, "%sdense6_1.weight", prefix))
    stage = AGF_MTCNN_ONET;
  else if (agf_weights_hasf(w, "%sdense5_1.weight", prefix))
    stage = AGF_MTCNN_RNET;
  else if (agf_weights_hasf(w, "%sconv4_1.weight", prefix))
    stage = AGF_MTCNN_PNET;
  else {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s has none of %sconv4_1.weight (P-Net), "
                "%sdense5_1.weight (R-Net), %sdense6_1.weight (O-Net): is it "
                "an MTCNN stage converted by agfas-train import?",
                agf_weights_path(w), prefix, prefix, prefix);
    return FALSE;
  }
  agf_mtcnn_config_default(cfg, stage);
  for (int i = 0; i < cfg->n_convs; i++) {
    char n[32];
    int64_t s[4];
    g_snprintf(n, sizeof n, "conv%d.weight", i + 1);
    if (!file_shape(w, prefix, n, 4, s, error))
      return FALSE;
    cfg->conv_width[i] = (int)s[0];
    cfg->conv_kernel[i] = (int)s[2];
    if (i == 0)
      cfg->in_channels = (int)s[1];
  }
  if (stage == AGF_MTCNN_PNET)
    return TRUE;
  int64_t s[2];
  if (!file_shape(w, prefix, stage == AGF_MTCNN_RNET ? "dense4.weight"
                                                     : "dense5.weight",
                  2, s, error))
    return FALSE;
  cfg->dense_width = (int)s[0];
  int64_t c = cfg->conv_width[cfg->n_convs - 1], side = 1;
  while (side * side * c < s[1])
    side++;
  if (side * side * c != s[1]) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "tensor %s%s.weight in %s takes %" G_GINT64_FORMAT " inputs, "
                "not %" G_GINT64_FORMAT " x a square map", prefix,
                stages[stage].dense, agf_weights_path(w), s[1], c);
    return FALSE;
  }
  cfg->map_size = (int)side;
  /* MTCNN's crop (24, 48) when it gives that map, else the smallest that
   * does (several sides do: the pools round). */
  int standard = stage == AGF_MTCNN_RNET ? 24 : 48;
  if (map_side(cfg, standard) == side) {
    cfg->input_size = standard;
    return TRUE;
  }
  for (int in = 1; in <= 4096; in++)
    if (map_side(cfg, in) == side) {
      cfg->input_size = in;
      return TRUE;
    }
  g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
              "no input size gives the %dx%d map that %s%s.weight in %s "
              "takes", (int)side, (int)side, prefix, stages[stage].dense,
              agf_weights_path(w));
  return FALSE;
}

AgfMtcnn *agf_mtcnn_new_at(AgfWeights *w, const char *prefix, GError **error)
{
  g_return_val_if_fail(w != NULL, NULL);
  prefix = prefix ? prefix : "";
  AgfMtcnnConfig cfg;
  AgfParamCheck root = { .w = w }, c;
  if (!infer_config(w, prefix, &cfg, error) ||
      !agf_param_check_at(&c, &root, prefix, error) || !walk(&cfg, &c, error))
    return NULL;
  AgfMtcnn *net = g_new0(AgfMtcnn, 1);
  net->w = agf_weights_ref(w);
  net->prefix = g_strdup(prefix);
  net->cfg = cfg;
  return net;
}

AgfMtcnn *agf_mtcnn_new(AgfWeights *w, GError **error)
{
  return agf_mtcnn_new_at(w, "", error);
}

void agf_mtcnn_free(AgfMtcnn *net)
{
  if (!net)
    return;
  agf_weights_unref(net->w);
  g_free(net->prefix);
  g_free(net);
}

const AgfMtcnnConfig *agf_mtcnn_config(const AgfMtcnn *net)
{
  return &net->cfg;
}

static AgfTensor *conv(AgfMtcnn *net, const char *name, const AgfTensor *x,
                       GError **error)
{
  g_autofree char *p = g_strconcat(net->prefix, name, NULL);
  AgfConv2dParams cp = agf_conv_params(1, 0);
  return agf_layer_conv2d(net->w, p, x, &cp, error);
}

static AgfTensor *dense(AgfMtcnn *net, const char *name, const AgfTensor *x,
                        GError **error)
{
  g_autofree char *p = g_strconcat(net->prefix, name, NULL);
  return agf_layer_linear(net->w, p, x, error);
}

static AgfTensor *prelu(AgfMtcnn *net, int i, const AgfTensor *x,
                        GError **error)
{
  g_autofree char *p = g_strdup_printf("%sprelu%d", net->prefix, i);
  return agf_layer_prelu(net->w, p, x, error);
}

static AgfTensor *max_pool(const AgfTensor *x, Pool pl, GError **error)
{
  AgfPool2dParams p = { .kind = AGF_POOL_MAX, .kernel_h = pl.k,
                        .kernel_w = pl.k, .stride_h = 2, .stride_w = 2 };
  if (pl.same) {
    agf_tf_same_pad(x->shape[2], pl.k, 2, &p.pad_top, &p.pad_bottom);
    agf_tf_same_pad(x->shape[3], pl.k, 2, &p.pad_left, &p.pad_right);
  }
  return agf_pool2d(x, &p, error);
}

/* Softmax over dim 1 of [B, C] or [B, C, H, W]. */
static AgfTensor *channel_softmax(AgfTensor *x, GError **error)
{
  if (x->ndim == 2)
    return agf_softmax(x, error);
  g_autoptr(AgfTensor) nhwc = agf_tensor_permute(x, (int[]){ 0, 2, 3, 1 },
                                                 error);
  g_autoptr(AgfTensor) dense_nhwc = nhwc ? agf_tensor_contiguous(nhwc, error)
                                         : NULL;
  g_autoptr(AgfTensor) s = dense_nhwc ? agf_softmax(dense_nhwc, error)
                                      : NULL;
  g_autoptr(AgfTensor) back = s ? agf_tensor_permute(s, (int[]){ 0, 3, 1, 2 },
                                                     error)
                                : NULL;
  return back ? agf_tensor_contiguous(back, error) : NULL;
}

static gboolean check_input(AgfMtcnn *net, const AgfTensor *x, GError **error)
{
  const AgfMtcnnConfig *cfg = &net->cfg;
  char buf[64];
  const char *name = agf_mtcnn_stage_name(cfg->stage);
  if (x->ndim != 4 || x->shape[1] != cfg->in_channels) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "%s input must be [B, %d, H, W], not %s", name,
                cfg->in_channels, agf_shape_str(x, buf, sizeof buf));
    return FALSE;
  }
  if (cfg->stage == AGF_MTCNN_PNET) {
    if (map_side(cfg, x->shape[2]) < 1 || map_side(cfg, x->shape[3]) < 1) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                  "pnet input %s is too small: its map would be empty (a "
                  "12x12 window per cell)",
                  agf_shape_str(x, buf, sizeof buf));
      return FALSE;
    }
  } else if (map_side(cfg, x->shape[2]) != cfg->map_size ||
             map_side(cfg, x->shape[3]) != cfg->map_size) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "%s input must be [B, %d, %d, %d] (resize each crop to "
                "%dx%d), not %s", name, cfg->in_channels, cfg->input_size,
                cfg->input_size, cfg->input_size, cfg->input_size,
                agf_shape_str(x, buf, sizeof buf));
    return FALSE;
  }
  return TRUE;
}

gboolean agf_mtcnn_forward(AgfMtcnn *net, const AgfTensor *x,
                           AgfTensor **prob, AgfTensor **box,
                           AgfTensor **landmarks, GError **error)
{
  g_return_val_if_fail(net != NULL && x != NULL, FALSE);
  const AgfMtcnnConfig *cfg = &net->cfg;
  if (landmarks && cfg->stage != AGF_MTCNN_ONET) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "only the O-Net gives landmarks, this is the %s",
                agf_mtcnn_stage_name(cfg->stage));
    return FALSE;
  }
  if (!check_input(net, x, error))
    return FALSE;
  AgfTensor *h = agf_tensor_ref((AgfTensor *)x);
  for (int i = 0; h && i < cfg->n_convs; i++) {
    char n[16];
    g_snprintf(n, sizeof n, "conv%d", i + 1);
    g_autoptr(AgfTensor) c = conv(net, n, h, error);
    g_autoptr(AgfTensor) a = c ? prelu(net, i + 1, c, error) : NULL;
    agf_tensor_unref(h);
    Pool pl = stages[cfg->stage].pool[i];
    h = !a ? NULL : pl.k ? max_pool(a, pl, error) : g_steal_pointer(&a);
  }
  if (!h)
    return FALSE;
  g_autoptr(AgfTensor) feat = h;
  const char *const *heads = stages[cfg->stage].heads;
  if (cfg->stage != AGF_MTCNN_PNET) {
    /* NCHW flatten: the importer permuted the dense columns to match. */
    int64_t shape[2] = { h->shape[0], -1 };
    g_autoptr(AgfTensor) flat = agf_tensor_reshape(h, 2, shape, error);
    g_autoptr(AgfTensor) d = flat ? dense(net, stages[cfg->stage].dense, flat,
                                          error)
                                  : NULL;
    g_autoptr(AgfTensor) a = d ? prelu(net, cfg->n_convs + 1, d, error)
                               : NULL;
    if (!a)
      return FALSE;
    g_clear_pointer(&feat, agf_tensor_unref);
    feat = g_steal_pointer(&a);
  }
  gboolean is_p = cfg->stage == AGF_MTCNN_PNET;
  AgfTensor *out[3] = { NULL, NULL, NULL };
  AgfTensor **want[3] = { prob, box, landmarks };
  gboolean ok = TRUE;
  for (int k = 0; ok && k < 3 && heads[k]; k++) {
    if (!want[k])
      continue;
    g_autoptr(AgfTensor) y = is_p ? conv(net, heads[k], feat, error)
                                  : dense(net, heads[k], feat, error);
    out[k] = !y ? NULL : k == 0 ? channel_softmax(y, error)
                                : g_steal_pointer(&y);
    ok = out[k] != NULL;
  }
  for (int k = 0; k < 3; k++) {
    if (!ok)
      g_clear_pointer(&out[k], agf_tensor_unref);
    else if (want[k])
      *want[k] = out[k];
  }
  return ok;
}
