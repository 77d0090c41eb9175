/* OA-Net and its ablation variants over the op wrappers. */
#include "models/oanet.h"
#include <math.h>
#include <string.h>
#include "models/layers.h"

#define NAME_LEN 256
#define CUE_VIT "cue_vit."
#define CUE_ENCODER "cue_encoder."

struct AgfOanet {
  AgfWeights *w;
  AgfOanetConfig cfg;
  AgfResnet18 *cue_encoder;     /* oanet only */
  gboolean plain;               /* classifier.weight, not weight_g / _v */
  const AgfTensor *classifier_weight; /* plain only */
  const AgfTensor *classifier_bias;
};

static const char *const variant_names[] = {
  [AGF_OANET_FULL] = "oanet", [AGF_OANET_IMAGE_ONLY] = "image_only",
  [AGF_OANET_RESIDUAL_ONLY] = "residual_only",
  [AGF_OANET_DUAL_BRANCH] = "dual_branch",
};

const char *agf_oanet_variant_name(AgfOanetVariant v)
{
  return (unsigned)v < G_N_ELEMENTS(variant_names) ? variant_names[v] : "?";
}

void agf_oanet_config_paper(AgfOanetConfig *cfg, AgfOanetVariant v)
{
  AgfVitConfig b16 = { .img_size = 224, .patch = 16, .in_channels = 3,
                       .dim = 768, .depth = 12, .heads = 12, .mlp_dim = 3072 };
  *cfg = (AgfOanetConfig){ .variant = v, .vit = b16, .feature_dim = 512,
                           .n_classes = 2, .classifier_bias = TRUE,
                           .ln_eps = 1e-6f,
                           .feature_norm = AGF_OANET_NORM_L2 };
  agf_resnet18_config_default(&cfg->cue_encoder);
  cfg->cue_encoder.num_classes = 0;
  if (v == AGF_OANET_FULL)
    cfg->vit.kv_dim = cfg->cue_encoder.widths[AGF_RESNET_STAGES - 1];
  if (v == AGF_OANET_DUAL_BRANCH)
    cfg->cue_vit = b16;
}

/* ---- configuration and tensor checks ---- */

static gboolean check_vit(const AgfVitConfig *v, GError **error)
{
  if (v->img_size < 1 || v->patch < 1 || v->img_size % v->patch != 0 ||
      v->in_channels < 1 || v->dim < 1 || v->depth < 1 || v->heads < 1 ||
      v->dim % v->heads != 0 || v->mlp_dim < 1 || v->kv_dim < 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "ViT configuration is invalid (image %d, patch %d, width %d, "
                "%d heads, depth %d, MLP %d): the image must be a multiple of "
                "the patch and the width of the head count", v->img_size,
                v->patch, v->dim, v->heads, v->depth, v->mlp_dim);
    return FALSE;
  }
  return TRUE;
}

/* A ViT at the checks' prefix; self-attention and MLP parameters go to
 * c, the cross-attention modules to cross. */
static gboolean declare_vit(const AgfVitConfig *v, AgfParamCheck *c,
                            AgfParamCheck *cross, GError **error)
{
  char n[NAME_LEN];
  int d = v->dim, grid = v->img_size / v->patch;
#define NM(...) (g_snprintf(n, sizeof n, __VA_ARGS__), n)
  if (!check_vit(v, error) ||
      !agf_param_expect_conv(c, "patch_embed.proj", d, v->in_channels,
                             v->patch, TRUE, error) ||
      !agf_param_expect(c, "cls_token", 3, (int64_t[]){ 1, 1, d }, error) ||
      !agf_param_expect(c, "pos_embed", 3,
                        (int64_t[]){ 1, 1 + grid * grid, d }, error))
    return FALSE;
  for (int i = 0; i < v->depth; i++) {
    if (!agf_param_expect_norm(c, NM("blocks.%d.norm1", i), d, error) ||
        !agf_param_expect_linear(c, NM("blocks.%d.attn.qkv", i), 3 * d, d,
                                 TRUE, error) ||
        !agf_param_expect_linear(c, NM("blocks.%d.attn.proj", i), d, d, TRUE,
                                 error) ||
        !agf_param_expect_norm(c, NM("blocks.%d.norm2", i), d, error) ||
        !agf_param_expect_linear(c, NM("blocks.%d.mlp.fc1", i), v->mlp_dim,
                                 d, TRUE, error) ||
        !agf_param_expect_linear(c, NM("blocks.%d.mlp.fc2", i), d,
                                 v->mlp_dim, TRUE, error))
      return FALSE;
    if (v->kv_dim > 0 &&
        (!agf_param_expect_norm(cross, NM("blocks.%d.cross_norm", i), d,
                                error) ||
         !agf_param_expect_linear(cross, NM("blocks.%d.cross_attn.q", i), d,
                                  d, TRUE, error) ||
         !agf_param_expect_linear(cross, NM("blocks.%d.cross_attn.k", i), d,
                                  v->kv_dim, TRUE, error) ||
         !agf_param_expect_linear(cross, NM("blocks.%d.cross_attn.v", i), d,
                                  v->kv_dim, TRUE, error) ||
         !agf_param_expect_linear(cross, NM("blocks.%d.cross_attn.proj", i),
                                  d, d, TRUE, error)))
      return FALSE;
  }
  return agf_param_expect_norm(c, "norm", d, error);
#undef NM
}

static int head_in(const AgfOanetConfig *cfg)
{
  return cfg->variant == AGF_OANET_DUAL_BRANCH
           ? cfg->vit.dim + cfg->cue_vit.dim : cfg->vit.dim;
}

/* Every tensor, by part, under at's prefix. plain: the file has
 * classifier.weight instead of weight_g / weight_v. cue_encoder: also the
 * cue encoder (last); a load leaves it to agf_resnet18_new_at(), which
 * reads its configuration from the file. */
static gboolean declare(const AgfOanetConfig *cfg, const AgfParamCheck *at,
                        gboolean plain, gboolean cue_encoder,
                        AgfOanetParamCounts *parts, GError **error)
{
  AgfParamCheck vit, cross, head;
  if (!agf_param_check_at(&vit, at, "", error) ||
      !agf_param_check_at(&cross, at, "", error) ||
      !agf_param_check_at(&head, at, "", error) ||
      !declare_vit(&cfg->vit, &vit, &cross, error))
    return FALSE;
  if (cfg->variant == AGF_OANET_DUAL_BRANCH) {
    AgfParamCheck cv, cx;
    if (!agf_param_check_at(&cv, at, CUE_VIT, error) ||
        !agf_param_check_at(&cx, at, CUE_VIT, error) ||
        !declare_vit(&cfg->cue_vit, &cv, &cx, error))
      return FALSE;
    vit.n_params += cv.n_params;
    cross.n_params += cx.n_params;
  }
  int f = cfg->feature_dim, k = cfg->n_classes;
  if (f < 1 || k < 1 || cfg->spoof_class < 0 || cfg->spoof_class >= k) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "OA-Net head is invalid: %d features, %d classes, spoof "
                "class %d (set oanet.spoof_class below the class count)", f,
                k, cfg->spoof_class);
    return FALSE;
  }
  if (!agf_param_expect_linear(&head, "head.fc", f, head_in(cfg), TRUE,
                               error))
    return FALSE;
  if (plain ? !agf_param_expect(&head, "classifier.weight", 2,
                                (int64_t[]){ k, f }, error)
            : (!agf_param_expect(&head, "classifier.weight_g", 2,
                                 (int64_t[]){ k, 1 }, error) ||
               !agf_param_expect(&head, "classifier.weight_v", 2,
                                 (int64_t[]){ k, f }, error)))
    return FALSE;
  if (cfg->classifier_bias &&
      !agf_param_expect(&head, "classifier.bias", 1, (int64_t[]){ k }, error))
    return FALSE;
  AgfParamCheck cue = { 0 };
  if (cue_encoder && cfg->variant == AGF_OANET_FULL &&
      (!agf_param_check_at(&cue, at, CUE_ENCODER, error) ||
       !agf_resnet18_declare(&cfg->cue_encoder, &cue, error)))
    return FALSE;
  *parts = (AgfOanetParamCounts){
    .vit = vit.n_params, .cross = cross.n_params,
    .cue_encoder = cue.n_params, .head = head.n_params,
    .total = vit.n_params + cross.n_params + cue.n_params + head.n_params };
  return TRUE;
}

gboolean agf_oanet_declare(const AgfOanetConfig *cfg, AgfParamCheck *c,
                           AgfOanetParamCounts *parts, GError **error)
{
  AgfOanetParamCounts p;
  if (!declare(cfg, c, FALSE, TRUE, &p, error))
    return FALSE;
  c->n_params += p.total;
  if (parts)
    *parts = p;
  return TRUE;
}

gint64 agf_oanet_param_count(const AgfOanetConfig *cfg,
                             AgfOanetParamCounts *parts, GError **error)
{
  AgfParamCheck c = { 0 };
  return agf_oanet_declare(cfg, &c, parts, error) ? c.n_params : -1;
}

/* shape[dim] of a tensor in the file, or -1 and an error naming it. */
static int file_dim(AgfWeights *w, const char *name, int want_ndim, int dim,
                    GError **error)
{
  return agf_param_file_dim(w, name, want_ndim, dim, "an OA-Net",
                            "is it an OA-Net checkpoint of this variant "
                            "(metadata oanet.variant)?", error);
}

static gboolean infer_vit(AgfWeights *w, const char *prefix, gboolean cross,
                          int heads, AgfVitConfig *v, GError **error)
{
  char n[NAME_LEN];
#define NM(...) (g_snprintf(n, sizeof n, __VA_ARGS__), n)
  int tokens;
  if ((v->dim = file_dim(w, NM("%spatch_embed.proj.weight", prefix), 4, 0,
                         error)) < 0 ||
      (v->in_channels = file_dim(w, n, 4, 1, error)) < 0 ||
      (v->patch = file_dim(w, n, 4, 2, error)) < 0 ||
      (tokens = file_dim(w, NM("%spos_embed", prefix), 3, 1, error)) < 0 ||
      (v->mlp_dim = file_dim(w, NM("%sblocks.0.mlp.fc1.weight", prefix), 2,
                             0, error)) < 0)
    return FALSE;
  int grid = (int)lround(sqrt((double)(tokens - 1)));
  if (tokens < 2 || grid * grid != tokens - 1) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "tensor %spos_embed in %s holds %d positions, not 1 + a "
                "square grid of patches", prefix, agf_weights_path(w),
                tokens);
    return FALSE;
  }
  v->img_size = grid * v->patch;
  v->depth = 1;
  while (agf_weights_hasf(w, "%sblocks.%d.norm1.weight", prefix, v->depth))
    v->depth++;
  v->heads = heads > 0 ? heads : v->dim / 64;
  if (heads <= 0 && (v->dim % 64 != 0 || v->heads < 1)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s: ViT width %d is not a multiple of 64; set "
                "the metadata oanet.num_heads", agf_weights_path(w), v->dim);
    return FALSE;
  }
  v->kv_dim = 0;
  if (cross && (v->kv_dim = file_dim(w, NM("%sblocks.0.cross_attn.k.weight",
                                           prefix), 2, 1, error)) < 0)
    return FALSE;
  return TRUE;
#undef NM
}

static gboolean parse_meta(AgfWeights *w, AgfOanetConfig *cfg, int *heads,
                           GError **error)
{
  const char *v = agf_weights_meta(w, "oanet.variant");
  cfg->variant = AGF_OANET_FULL;
  if (v) {
    gboolean found = FALSE;
    for (size_t i = 0; i < G_N_ELEMENTS(variant_names) && !found; i++)
      if (!strcmp(v, variant_names[i])) {
        cfg->variant = (AgfOanetVariant)i;
        found = TRUE;
      }
    if (!found) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "weights file %s: metadata oanet.variant = \"%s\" is not "
                  "oanet, image_only, residual_only or dual_branch",
                  agf_weights_path(w), v);
      return FALSE;
    }
  }
  const char *norm = agf_weights_meta(w, "oanet.feature_norm");
  cfg->feature_norm = AGF_OANET_NORM_L2;
  if (norm && !strcmp(norm, "ssdg")) {
    cfg->feature_norm = AGF_OANET_NORM_SSDG;
  } else if (norm && strcmp(norm, "l2")) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s: metadata oanet.feature_norm = \"%s\" is "
                "not l2 or ssdg", agf_weights_path(w), norm);
    return FALSE;
  }
  GError *err = NULL;
  *heads = agf_weights_meta_int(w, "oanet.num_heads", 0, &err);
  if (!err)
    cfg->ln_eps = (float)agf_weights_meta_double(w, "oanet.layer_norm_eps",
                                                 1e-6, &err);
  if (!err)
    cfg->spoof_class = agf_weights_meta_int(w, "oanet.spoof_class", 0, &err);
  if (!err && !(cfg->ln_eps > 0.0f))
    g_set_error(&err, AGF_ERROR, AGF_ERROR_FORMAT,
                "weights file %s: metadata oanet.layer_norm_eps must be "
                "positive", agf_weights_path(w));
  if (err) {
    g_propagate_error(error, err);
    return FALSE;
  }
  return TRUE;
}

static gboolean infer_config(AgfWeights *w, AgfOanetConfig *cfg,
                             gboolean *plain, GError **error)
{
  memset(cfg, 0, sizeof *cfg);
  int heads;
  if (!parse_meta(w, cfg, &heads, error) ||
      !infer_vit(w, "", cfg->variant == AGF_OANET_FULL, heads, &cfg->vit,
                 error))
    return FALSE;
  if (cfg->variant == AGF_OANET_DUAL_BRANCH &&
      !infer_vit(w, CUE_VIT, FALSE, heads, &cfg->cue_vit, error))
    return FALSE;
  *plain = !agf_weights_has(w, "classifier.weight_v") &&
           agf_weights_has(w, "classifier.weight");
  const char *cls = *plain ? "classifier.weight" : "classifier.weight_v";
  if ((cfg->feature_dim = file_dim(w, "head.fc.weight", 2, 0, error)) < 0 ||
      (cfg->n_classes = file_dim(w, cls, 2, 0, error)) < 0)
    return FALSE;
  cfg->classifier_bias = agf_weights_has(w, "classifier.bias");
  return TRUE;
}

/* A weight-normalized classifier needs every row of v to have a norm
 * (torch would divide by zero); checked once, on the host, at load. */
static gboolean check_weight_v(AgfWeights *w, const AgfOanetConfig *cfg,
                               GError **error)
{
  int k = cfg->n_classes, f = cfg->feature_dim;
  g_autofree float *v = agf_safetensors_read_f32(
    agf_weights_file(w), "classifier.weight_v", 2, (int64_t[]){ k, f }, error);
  if (!v)
    return FALSE;
  for (int r = 0; r < k; r++) {
    double ss = 0.0;
    for (int j = 0; j < f; j++)
      ss += (double)v[r * f + j] * v[r * f + j];
    if (ss == 0.0) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "tensor classifier.weight_v in %s has an all-zero row %d: "
                  "weight normalization is undefined", agf_weights_path(w), r);
      return FALSE;
    }
  }
  return TRUE;
}

/* The classifier weight: the plain one, or torch's weight_norm (dim 0)
 * w = v * g / ||v|| per row, computed with ops at every forward so that
 * training updates g and v as PyTorch does. */
static AgfTensor *classifier_weight(AgfOanet *net, GError **error)
{
  if (net->plain)
    return agf_tensor_ref((AgfTensor *)net->classifier_weight);
  const AgfTensor *g = agf_weights_get(net->w, "classifier.weight_g", 0, NULL,
                                       error);
  const AgfTensor *v = g ? agf_weights_get(net->w, "classifier.weight_v", 0,
                                           NULL, error) : NULL;
  if (!v)
    return NULL;
  g_autoptr(AgfTensor) vv = agf_mul(v, v, error);
  g_autoptr(AgfTensor) ss = vv ? agf_reduce(vv, AGF_REDUCE_SUM, 2,
                                            (int64_t[]){ v->shape[0], 1 },
                                            error) : NULL;
  g_autoptr(AgfTensor) norm = ss ? agf_unary(ss, AGF_UNARY_SQRT, 0, 0, error)
                                 : NULL;
  g_autoptr(AgfTensor) scale = norm ? agf_div(g, norm, error) : NULL;
  return scale ? agf_mul(v, scale, error) : NULL;
}

AgfOanet *agf_oanet_new(AgfWeights *w, GError **error)
{
  g_return_val_if_fail(w != NULL, NULL);
  AgfOanetConfig cfg;
  AgfOanetParamCounts parts;
  gboolean plain;
  AgfParamCheck root = { .w = w };
  if (!infer_config(w, &cfg, &plain, error) ||
      !declare(&cfg, &root, plain, FALSE, &parts, error))
    return NULL;
  g_autoptr(AgfResnet18) cue = NULL;
  if (cfg.variant == AGF_OANET_FULL) {
    if (!(cue = agf_resnet18_new_at(w, CUE_ENCODER, error)))
      return NULL;
    cfg.cue_encoder = *agf_resnet18_config(cue);
    int width = cfg.cue_encoder.widths[AGF_RESNET_STAGES - 1];
    if (width != cfg.vit.kv_dim) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                  "weights file %s: the cue encoder gives %d-wide tokens but "
                  "blocks.0.cross_attn.k.weight takes %d",
                  agf_weights_path(w), width, cfg.vit.kv_dim);
      return NULL;
    }
  }
  const AgfTensor *cw = plain ? agf_weights_get(w, "classifier.weight", 0,
                                                NULL, error) : NULL;
  if (plain ? !cw : !check_weight_v(w, &cfg, error))
    return NULL;
  AgfOanet *net = g_new0(AgfOanet, 1);
  net->w = agf_weights_ref(w);
  net->cfg = cfg;
  net->cue_encoder = g_steal_pointer(&cue);
  net->plain = plain;
  net->classifier_weight = cw;
  if (cfg.classifier_bias &&
      !(net->classifier_bias = agf_weights_get(w, "classifier.bias", 0, NULL,
                                               error))) {
    agf_oanet_free(net);
    return NULL;
  }
  return net;
}

void agf_oanet_free(AgfOanet *net)
{
  if (!net)
    return;
  agf_resnet18_free(net->cue_encoder);
  agf_weights_unref(net->w);
  g_free(net);
}

const AgfOanetConfig *agf_oanet_config(const AgfOanet *net)
{
  return &net->cfg;
}

/* ---- forward ---- */

static AgfTensor *linear(AgfOanet *net, const char *name, const AgfTensor *x,
                         GError **error)
{
  return agf_layer_linear(net->w, name, x, error);
}

/* Multi-head attention of q [B,Lq,D] over k, v [B,Lk,D], then proj. */
static AgfTensor *attend(AgfOanet *net, const char *proj, const AgfTensor *q,
                         const AgfTensor *k, const AgfTensor *v, int heads,
                         GError **error)
{
  g_autoptr(AgfTensor) a = agf_attention(q, k, v, heads, 0.0f, error);
  return a ? linear(net, proj, a, error) : NULL;
}

/* x += f(...) with ownership of both handled: returns the new x. */
static AgfTensor *residual(AgfTensor *x, AgfTensor *delta, GError **error)
{
  AgfTensor *y = delta ? agf_add(x, delta, error) : NULL;
  agf_tensor_unref(delta);
  agf_tensor_unref(x);
  return y;
}

static AgfTensor *self_attention(AgfOanet *net, const AgfVitConfig *v,
                                 const char *b, AgfTensor *x, GError **error)
{
  char n[NAME_LEN];
  int d = v->dim;
  g_snprintf(n, sizeof n, "%s.norm1", b);
  g_autoptr(AgfTensor) h = agf_layer_layer_norm(net->w, n, x, net->cfg.ln_eps,
                                                error);
  g_snprintf(n, sizeof n, "%s.attn.qkv", b);
  g_autoptr(AgfTensor) qkv = h ? linear(net, n, h, error) : NULL;
  if (!qkv)
    return NULL;
  g_autoptr(AgfTensor) q = agf_tensor_slice(qkv, 2, 0, d, error);
  g_autoptr(AgfTensor) k = q ? agf_tensor_slice(qkv, 2, d, d, error) : NULL;
  g_autoptr(AgfTensor) val = k ? agf_tensor_slice(qkv, 2, 2 * d, d, error)
                               : NULL;
  g_snprintf(n, sizeof n, "%s.attn.proj", b);
  return val ? attend(net, n, q, k, val, v->heads, error) : NULL;
}

static AgfTensor *cross_attention(AgfOanet *net, const AgfVitConfig *v,
                                  const char *b, const AgfTensor *x,
                                  const AgfTensor *ctx, GError **error)
{
  char n[NAME_LEN];
  g_snprintf(n, sizeof n, "%s.cross_norm", b);
  g_autoptr(AgfTensor) h = agf_layer_layer_norm(net->w, n, x, net->cfg.ln_eps,
                                                error);
  g_snprintf(n, sizeof n, "%s.cross_attn.q", b);
  g_autoptr(AgfTensor) q = h ? linear(net, n, h, error) : NULL;
  g_snprintf(n, sizeof n, "%s.cross_attn.k", b);
  g_autoptr(AgfTensor) k = q ? linear(net, n, ctx, error) : NULL;
  g_snprintf(n, sizeof n, "%s.cross_attn.v", b);
  g_autoptr(AgfTensor) val = k ? linear(net, n, ctx, error) : NULL;
  g_snprintf(n, sizeof n, "%s.cross_attn.proj", b);
  return val ? attend(net, n, q, k, val, v->heads, error) : NULL;
}

static AgfTensor *mlp(AgfOanet *net, const char *b, const AgfTensor *x,
                      GError **error)
{
  char n[NAME_LEN];
  g_snprintf(n, sizeof n, "%s.norm2", b);
  g_autoptr(AgfTensor) h = agf_layer_layer_norm(net->w, n, x, net->cfg.ln_eps,
                                                error);
  g_snprintf(n, sizeof n, "%s.mlp.fc1", b);
  g_autoptr(AgfTensor) a = h ? linear(net, n, h, error) : NULL;
  g_autoptr(AgfTensor) g = a ? agf_gelu(a, error) : NULL;
  g_snprintf(n, sizeof n, "%s.mlp.fc2", b);
  return g ? linear(net, n, g, error) : NULL;
}

/* Patch embedding, CLS token, position embedding: [B, 1 + N, D]. */
static AgfTensor *embed(AgfOanet *net, const AgfVitConfig *v,
                        const char *prefix, const AgfTensor *x, GError **error)
{
  char n[NAME_LEN];
  g_snprintf(n, sizeof n, "%spatch_embed.proj", prefix);
  AgfConv2dParams p = { .stride_h = v->patch, .stride_w = v->patch };
  g_autoptr(AgfTensor) pe = agf_layer_conv2d(net->w, n, x, &p, error);
  g_autoptr(AgfTensor) tok = pe ? agf_map_to_tokens(pe, error) : NULL;
  g_snprintf(n, sizeof n, "%scls_token", prefix);
  const AgfTensor *cls = tok ? agf_weights_get(net->w, n, 0, NULL, error)
                             : NULL;
  if (!cls)
    return NULL;
  /* The CLS token broadcast over the batch: zeros [B,1,D] + cls [1,1,D]. */
  int64_t shape[3] = { x->shape[0], 1, v->dim };
  g_autoptr(AgfTensor) zeros = agf_tensor_new(x->dev, tok->dtype, 3, shape,
                                              error);
  if (!zeros || !agf_tensor_fill(zeros, 0.0f, error))
    return NULL;
  g_autoptr(AgfTensor) cls_b = agf_add(zeros, cls, error);
  const AgfTensor *parts[2] = { cls_b, tok };
  g_autoptr(AgfTensor) seq = cls_b ? agf_concat(parts, 2, 1, error) : NULL;
  g_snprintf(n, sizeof n, "%spos_embed", prefix);
  const AgfTensor *pos = seq ? agf_weights_get(net->w, n, 0, NULL, error)
                             : NULL;
  return pos ? agf_add(seq, pos, error) : NULL;
}

static gboolean check_input(const char *what, const AgfTensor *x,
                            const AgfVitConfig *v, GError **error)
{
  if (x && x->ndim == 4 && x->shape[1] == v->in_channels &&
      x->shape[2] == v->img_size && x->shape[3] == v->img_size)
    return TRUE;
  char buf[64] = "none";
  if (x)
    agf_shape_str(x, buf, sizeof buf);
  g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
              "OA-Net %s must be [B, %d, %d, %d] (resize it to the ViT's "
              "input size), not %s", what, v->in_channels, v->img_size,
              v->img_size, buf);
  return FALSE;
}

/* The ViT at prefix on x (cross-attending to ctx when v->kv_dim): the CLS
 * feature after the final norm, [B, D]. */
static AgfTensor *vit_forward(AgfOanet *net, const AgfVitConfig *v,
                              const char *prefix, const AgfTensor *x,
                              const AgfTensor *ctx, GError **error)
{
  AgfTensor *h = embed(net, v, prefix, x, error);
  for (int i = 0; h && i < v->depth; i++) {
    char b[NAME_LEN];
    g_snprintf(b, sizeof b, "%sblocks.%d", prefix, i);
    h = residual(h, self_attention(net, v, b, h, error), error);
    if (h && v->kv_dim > 0)
      h = residual(h, cross_attention(net, v, b, h, ctx, error), error);
    if (h)
      h = residual(h, mlp(net, b, h, error), error);
  }
  if (!h)
    return NULL;
  /* The final LayerNorm is per token: apply it to the CLS token alone. */
  g_autoptr(AgfTensor) seq = h;
  g_autoptr(AgfTensor) cls = agf_tensor_slice(seq, 1, 0, 1, error);
  int64_t shape[2] = { x->shape[0], v->dim };
  g_autoptr(AgfTensor) flat = cls ? agf_tensor_reshape(cls, 2, shape, error)
                                  : NULL;
  char n[NAME_LEN];
  g_snprintf(n, sizeof n, "%snorm", prefix);
  return flat ? agf_layer_layer_norm(net->w, n, flat, net->cfg.ln_eps, error)
              : NULL;
}

/* f / sqrt(2 ||f||) per row (the SSDG embedder), as f / (4 ||f||^2)^(1/4);
 * the 1e-24 keeps a zero row finite where upstream clamps ||f|| to 1e-12. */
static AgfTensor *ssdg_norm(const AgfTensor *f, GError **error)
{
  int64_t shape[2] = { f->shape[1], 1 };
  g_autoptr(AgfTensor) ones = agf_tensor_new(f->dev, f->dtype, 2, shape,
                                             error);
  if (!ones || !agf_tensor_fill(ones, 1.0f, error))
    return NULL;
  g_autoptr(AgfTensor) sq = agf_mul(f, f, error);
  g_autoptr(AgfTensor) ss = sq ? agf_gemm(sq, ones, NULL, FALSE, FALSE, 1.0f,
                                          error) : NULL;
  g_autoptr(AgfTensor) s4 = ss ? agf_scale(ss, 4.0f, 1e-24f, error) : NULL;
  g_autoptr(AgfTensor) r2 = s4 ? agf_unary(s4, AGF_UNARY_SQRT, 0, 0, error)
                               : NULL;
  g_autoptr(AgfTensor) r4 = r2 ? agf_unary(r2, AGF_UNARY_SQRT, 0, 0, error)
                               : NULL;
  return r4 ? agf_div(f, r4, error) : NULL;
}

static AgfTensor *features(AgfOanet *net, const AgfTensor *image,
                           const AgfTensor *cue, GError **error)
{
  const AgfOanetConfig *cfg = &net->cfg;
  switch (cfg->variant) {
  case AGF_OANET_FULL: {
    if (!check_input("image", image, &cfg->vit, error))
      return NULL;
    if (!cue) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "OA-Net needs the cue as well as the image");
      return NULL;
    }
    g_autoptr(AgfTensor) ctx = agf_resnet18_tokens(net->cue_encoder, cue,
                                                   error);
    if (ctx && ctx->shape[0] != image->shape[0]) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                  "OA-Net image batch %" G_GINT64_FORMAT " and cue batch %"
                  G_GINT64_FORMAT " differ", image->shape[0], ctx->shape[0]);
      return NULL;
    }
    return ctx ? vit_forward(net, &cfg->vit, "", image, ctx, error) : NULL;
  }
  case AGF_OANET_IMAGE_ONLY:
    return check_input("image", image, &cfg->vit, error)
             ? vit_forward(net, &cfg->vit, "", image, NULL, error) : NULL;
  case AGF_OANET_RESIDUAL_ONLY:
    return check_input("cue", cue, &cfg->vit, error)
             ? vit_forward(net, &cfg->vit, "", cue, NULL, error) : NULL;
  case AGF_OANET_DUAL_BRANCH: {
    if (!check_input("image", image, &cfg->vit, error) ||
        !check_input("cue", cue, &cfg->cue_vit, error))
      return NULL;
    g_autoptr(AgfTensor) a = vit_forward(net, &cfg->vit, "", image, NULL,
                                         error);
    g_autoptr(AgfTensor) b = a ? vit_forward(net, &cfg->cue_vit, CUE_VIT, cue,
                                             NULL, error) : NULL;
    const AgfTensor *parts[2] = { a, b };
    return b ? agf_concat(parts, 2, 1, error) : NULL;
  }
  }
  g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
              "unknown OA-Net variant %d", (int)cfg->variant);
  return NULL;
}

gboolean agf_oanet_forward(AgfOanet *net, const AgfTensor *image,
                           const AgfTensor *cue, AgfTensor **logits,
                           AgfTensor **feature, GError **error)
{
  g_return_val_if_fail(net != NULL && logits != NULL, FALSE);
  g_autoptr(AgfTensor) cls = features(net, image, cue, error);
  g_autoptr(AgfTensor) f = cls ? linear(net, "head.fc", cls, error) : NULL;
  if (!f)
    return FALSE;
  g_autoptr(AgfTensor) fn = net->cfg.feature_norm == AGF_OANET_NORM_SSDG
                              ? ssdg_norm(f, error)
                              : agf_l2_normalize(f, 1e-12f, error);
  g_autoptr(AgfTensor) cw = fn ? classifier_weight(net, error) : NULL;
  g_autoptr(AgfTensor) out = cw ? agf_linear(fn, cw, net->classifier_bias,
                                             error) : NULL;
  if (!out)
    return FALSE;
  *logits = g_steal_pointer(&out);
  if (feature)
    *feature = g_steal_pointer(&fn);
  return TRUE;
}

AgfTensor *agf_oanet_spoof_probability(const AgfOanet *net,
                                       const AgfTensor *logits,
                                       GError **error)
{
  g_return_val_if_fail(net != NULL && logits != NULL, NULL);
  if (logits->ndim != 2 || logits->shape[1] != net->cfg.n_classes) {
    char buf[64];
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "OA-Net logits must be [B, %d], not %s", net->cfg.n_classes,
                agf_shape_str(logits, buf, sizeof buf));
    return NULL;
  }
  g_autoptr(AgfTensor) p = agf_softmax(logits, error);
  g_autoptr(AgfTensor) col = p ? agf_tensor_slice(p, 1, net->cfg.spoof_class,
                                                  1, error) : NULL;
  int64_t shape[1] = { logits->shape[0] };
  return col ? agf_tensor_reshape(col, 1, shape, error) : NULL;
}
