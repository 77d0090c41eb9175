/* diffusers blocks of the SD autoencoder and U-Net, as engine ops. */
#include "models/sd_blocks.h"
#include <string.h>
#include "models/layers.h"

/* A linear's weight: [out, in], or [out, in, 1, 1] when allow_1x1 and the
 * file holds a 1x1 conv there. */
static gboolean expect_linear(AgfParamCheck *c, const char *prefix, int out,
                              int in, gboolean bias, gboolean allow_1x1,
                              GError **error)
{
  char name[AGF_SD_NAME_LEN + 32];
  g_snprintf(name, sizeof name, "%s.weight", prefix);
  int ndim = 2;
  int64_t shape[AGF_ST_MAX_DIMS];
  if (!allow_1x1 || !agf_param_file_shape(c, name, &ndim, shape) ||
      ndim != 4)
    ndim = 2;
  if (!agf_param_expect(c, name, ndim, (int64_t[]){ out, in, 1, 1 }, error))
    return FALSE;
  return !bias || agf_param_expect_vec(c, prefix, "bias", out, error);
}

/* dst = the check's prefix + prefix: the full name forward reads. */
static gboolean set_prefix(char *dst, const AgfParamCheck *c,
                           const char *prefix, GError **error)
{
  if (g_snprintf(dst, AGF_SD_NAME_LEN, "%s%s", c->prefix, prefix) >=
      AGF_SD_NAME_LEN) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "tensor name prefix \"%s%s\" is longer than %d characters",
                c->prefix, prefix, AGF_SD_NAME_LEN - 1);
    return FALSE;
  }
  return TRUE;
}

static gboolean check_groups(const char *prefix, int ch, int groups,
                             GError **error)
{
  if (groups < 1 || ch % groups != 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s: %d channels do not split into %d GroupNorm groups; set "
                "the metadata norm_num_groups to the checkpoint's value",
                prefix, ch, groups);
    return FALSE;
  }
  return TRUE;
}

static AgfTensor *conv(AgfWeights *w, const char *prefix, const char *leaf,
                       const AgfTensor *x, const AgfConv2dParams *p,
                       GError **error)
{
  char name[AGF_SD_NAME_LEN + 32];
  g_snprintf(name, sizeof name, "%s.%s", prefix, leaf);
  return agf_layer_conv2d(w, name, x, p, error);
}

/* A linear whose weight may be stored as a 1x1 conv [out, in, 1, 1]. */
static AgfTensor *linear(AgfWeights *w, const char *prefix, const char *leaf,
                         const AgfTensor *x, GError **error)
{
  char name[AGF_SD_NAME_LEN + 32];
  g_snprintf(name, sizeof name, "%s.%s.weight", prefix, leaf);
  const AgfTensor *wt = agf_weights_get(w, name, 0, NULL, error);
  if (!wt)
    return NULL;
  g_snprintf(name, sizeof name, "%s.%s.bias", prefix, leaf);
  const AgfTensor *b = NULL;
  if (agf_weights_has(w, name) &&
      !(b = agf_weights_get(w, name, 0, NULL, error)))
    return NULL;
  if (wt->ndim == 2)
    return agf_linear(x, wt, b, error);
  /* A view of the weights' own tensor: reshape only reads it. */
  g_autoptr(AgfTensor) w2 = agf_tensor_reshape(
      (AgfTensor *)wt, 2, (int64_t[]){ wt->shape[0], wt->shape[1] }, error);
  return w2 ? agf_linear(x, w2, b, error) : NULL;
}

static AgfTensor *norm_silu(AgfWeights *w, const char *prefix,
                            const char *leaf, const AgfTensor *x, int groups,
                            float eps, GError **error)
{
  char name[AGF_SD_NAME_LEN + 32];
  g_snprintf(name, sizeof name, "%s.%s", prefix, leaf);
  g_autoptr(AgfTensor) h = agf_layer_group_norm(w, name, x, groups, eps,
                                                error);
  return h ? agf_silu(h, error) : NULL;
}

/* ---- ResnetBlock2D ---- */

gboolean agf_sd_resnet_init(AgfSdResnet *r, AgfParamCheck *c,
                            const char *prefix,
                            int in_ch, int out_ch, int temb_ch, int groups,
                            float eps, GError **error)
{
  *r = (AgfSdResnet){ .in_ch = in_ch, .out_ch = out_ch, .temb_ch = temb_ch,
                      .groups = groups, .eps = eps };
  if (!set_prefix(r->prefix, c, prefix, error) ||
      !check_groups(prefix, in_ch, groups, error) ||
      !check_groups(prefix, out_ch, groups, error))
    return FALSE;
  char p[AGF_SD_NAME_LEN + 32];
#define SUB(leaf) (g_snprintf(p, sizeof p, "%s." leaf, prefix), p)
  if (!agf_param_expect_norm(c, SUB("norm1"), in_ch, error) ||
      !agf_param_expect_conv(c, SUB("conv1"), out_ch, in_ch, 3, TRUE,
                             error) ||
      (temb_ch > 0 && !expect_linear(c, SUB("time_emb_proj"), out_ch, temb_ch,
                                     TRUE, FALSE, error)) ||
      !agf_param_expect_norm(c, SUB("norm2"), out_ch, error) ||
      !agf_param_expect_conv(c, SUB("conv2"), out_ch, out_ch, 3, TRUE,
                             error) ||
      (in_ch != out_ch &&
       !agf_param_expect_conv(c, SUB("conv_shortcut"), out_ch, in_ch, 1,
                              TRUE, error)))
    return FALSE;
#undef SUB
  return TRUE;
}

AgfTensor *agf_sd_resnet_forward(const AgfSdResnet *r, AgfWeights *w,
                                 const AgfTensor *x, const AgfTensor *temb_act,
                                 GError **error)
{
  const AgfConv2dParams p1 = agf_conv_params(1, 1);
  g_autoptr(AgfTensor) h = NULL;
  AGF_SD_STEP(h, norm_silu(w, r->prefix, "norm1", x, r->groups, r->eps,
                           error));
  AGF_SD_STEP(h, conv(w, r->prefix, "conv1", h, &p1, error));
  if (r->temb_ch > 0) {
    if (!temb_act) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "%s needs a time embedding", r->prefix);
      return NULL;
    }
    g_autoptr(AgfTensor) t = linear(w, r->prefix, "time_emb_proj", temb_act,
                                    error);
    if (!t)
      return NULL;
    g_autoptr(AgfTensor) t4 = agf_tensor_reshape(
        t, 4, (int64_t[]){ t->shape[0], t->shape[1], 1, 1 }, error);
    if (!t4)
      return NULL;
    AGF_SD_STEP(h, agf_add(h, t4, error));
  }
  AGF_SD_STEP(h, norm_silu(w, r->prefix, "norm2", h, r->groups, r->eps,
                           error));
  AGF_SD_STEP(h, conv(w, r->prefix, "conv2", h, &p1, error));
  if (r->in_ch == r->out_ch)
    return agf_add(x, h, error);
  const AgfConv2dParams p0 = agf_conv_params(1, 0);
  g_autoptr(AgfTensor) s = conv(w, r->prefix, "conv_shortcut", x, &p0, error);
  return s ? agf_add(s, h, error) : NULL;
}

/* ---- Downsample2D / Upsample2D ---- */

gboolean agf_sd_downsample_init(AgfSdDownsample *d, AgfParamCheck *c,
                                const char *prefix, int ch, gboolean asym_pad,
                                GError **error)
{
  *d = (AgfSdDownsample){ .ch = ch, .asym_pad = asym_pad };
  return set_prefix(d->prefix, c, prefix, error) &&
         agf_param_expect_conv(c, prefix, ch, ch, 3, TRUE, error);
}

AgfTensor *agf_sd_downsample_forward(const AgfSdDownsample *d, AgfWeights *w,
                                     const AgfTensor *x, GError **error)
{
  AgfConv2dParams p = agf_conv_params(2, 1);
  if (d->asym_pad) /* F.pad(x, (0, 1, 0, 1)) then an unpadded conv */
    p.pad_top = p.pad_left = 0;
  return agf_layer_conv2d(w, d->prefix, x, &p, error);
}

gboolean agf_sd_upsample_init(AgfSdUpsample *u, AgfParamCheck *c,
                              const char *prefix, int ch, GError **error)
{
  *u = (AgfSdUpsample){ .ch = ch };
  return set_prefix(u->prefix, c, prefix, error) &&
         agf_param_expect_conv(c, prefix, ch, ch, 3, TRUE, error);
}

AgfTensor *agf_sd_upsample_forward(const AgfSdUpsample *u, AgfWeights *w,
                                   const AgfTensor *x, GError **error)
{
  const AgfConv2dParams p = agf_conv_params(1, 1);
  g_autoptr(AgfTensor) up = agf_upsample_nearest(x, 2, error);
  return up ? agf_layer_conv2d(w, u->prefix, up, &p, error) : NULL;
}

/* ---- tokens <-> maps ---- */

/* [B, C, H, W] -> dense [B, H*W, C]. */
static AgfTensor *to_tokens(const AgfTensor *x, GError **error)
{
  g_autoptr(AgfTensor) p = agf_tensor_permute((AgfTensor *)x,
                                              (int[]){ 0, 2, 3, 1 }, error);
  if (!p)
    return NULL;
  return agf_tensor_reshape(
      p, 3, (int64_t[]){ x->shape[0], x->shape[2] * x->shape[3], x->shape[1] },
      error);
}

/* [B, H*W, C] -> dense [B, C, H, W] of the shape of like. */
static AgfTensor *to_map(AgfTensor *tok, const AgfTensor *like,
                         GError **error)
{
  g_autoptr(AgfTensor) v = agf_tensor_reshape(
      tok, 4,
      (int64_t[]){ like->shape[0], like->shape[2], like->shape[3],
                   like->shape[1] },
      error);
  if (!v)
    return NULL;
  g_autoptr(AgfTensor) p = agf_tensor_permute(v, (int[]){ 0, 3, 1, 2 },
                                              error);
  return p ? agf_tensor_contiguous(p, error) : NULL;
}

/* ---- the autoencoder's attention block ---- */

static const char *const attn_new[4] = { "to_q", "to_k", "to_v", "to_out.0" };
static const char *const attn_old[4] = { "query", "key", "value",
                                         "proj_attn" };

gboolean agf_sd_attn_block_init(AgfSdAttnBlock *a, AgfParamCheck *c,
                                const char *prefix, int ch, int groups,
                                float eps, GError **error)
{
  *a = (AgfSdAttnBlock){ .ch = ch, .groups = groups, .eps = eps };
  if (!set_prefix(a->prefix, c, prefix, error) ||
      !check_groups(prefix, ch, groups, error))
    return FALSE;
  char p[AGF_SD_NAME_LEN + 32];
  g_snprintf(p, sizeof p, "%s.to_q.weight", prefix);
  a->old_names = !agf_param_file_has(c, p);
  g_snprintf(p, sizeof p, "%s.query.weight", prefix);
  a->old_names = a->old_names && agf_param_file_has(c, p);
  const char *const *names = a->old_names ? attn_old : attn_new;
  g_snprintf(p, sizeof p, "%s.group_norm", prefix);
  if (!agf_param_expect_norm(c, p, ch, error))
    return FALSE;
  for (int i = 0; i < 4; i++) {
    g_snprintf(p, sizeof p, "%s.%s", prefix, names[i]);
    if (!expect_linear(c, p, ch, ch, TRUE, TRUE, error))
      return FALSE;
  }
  return TRUE;
}

AgfTensor *agf_sd_attn_block_forward(const AgfSdAttnBlock *a, AgfWeights *w,
                                     const AgfTensor *x, GError **error)
{
  const char *const *names = a->old_names ? attn_old : attn_new;
  char name[AGF_SD_NAME_LEN + 32];
  g_snprintf(name, sizeof name, "%s.group_norm", a->prefix);
  g_autoptr(AgfTensor) h = agf_layer_group_norm(w, name, x, a->groups, a->eps,
                                                error);
  if (!h)
    return NULL;
  AGF_SD_STEP(h, to_tokens(h, error));
  g_autoptr(AgfTensor) q = linear(w, a->prefix, names[0], h, error);
  g_autoptr(AgfTensor) k = q ? linear(w, a->prefix, names[1], h, error) : NULL;
  g_autoptr(AgfTensor) v = k ? linear(w, a->prefix, names[2], h, error) : NULL;
  if (!v)
    return NULL;
  AGF_SD_STEP(h, agf_attention(q, k, v, 1, 0.0f, error)); /* scale 1/sqrt(C) */
  AGF_SD_STEP(h, linear(w, a->prefix, names[3], h, error));
  AGF_SD_STEP(h, to_map(h, x, error));
  return agf_add(h, x, error);
}

/* ---- Transformer2DModel ---- */

gboolean agf_sd_transformer_init(AgfSdTransformer *t, AgfParamCheck *c,
                                 const char *prefix, int ch, int heads,
                                 int ctx_dim, int groups, int depth,
                                 GError **error)
{
  *t = (AgfSdTransformer){ .ch = ch, .heads = heads, .ctx_dim = ctx_dim,
                           .groups = groups, .depth = depth };
  if (!set_prefix(t->prefix, c, prefix, error) ||
      !check_groups(prefix, ch, groups, error))
    return FALSE;
  if (heads < 1 || ch % heads != 0 || depth < 1 || ctx_dim < 1) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s: %d channels with %d heads, depth %d, context width %d: "
                "the width must split evenly into the heads (metadata "
                "attention_head_dim) and depth and context must be >= 1",
                prefix, ch, heads, depth, ctx_dim);
    return FALSE;
  }
  const int64_t C = ch;
  char p[AGF_SD_NAME_LEN + 64];
#define SUB(...) (g_snprintf(p, sizeof p, __VA_ARGS__), p)
  if (!agf_param_expect_norm(c, SUB("%s.norm", prefix), ch, error) ||
      !expect_linear(c, SUB("%s.proj_in", prefix), ch, ch, TRUE, TRUE, error))
    return FALSE;
  for (int b = 0; b < depth; b++) {
    char blk[AGF_SD_NAME_LEN + 32];
    g_snprintf(blk, sizeof blk, "%s.transformer_blocks.%d", prefix, b);
    for (int n = 1; n <= 3; n++)
      if (!agf_param_expect_norm(c, SUB("%s.norm%d", blk, n), ch, error))
        return FALSE;
    for (int n = 1; n <= 2; n++) {
      const int64_t kv_in = n == 1 ? C : ctx_dim;
      if (!expect_linear(c, SUB("%s.attn%d.to_q", blk, n), ch, ch, FALSE,
                         FALSE, error) ||
          !expect_linear(c, SUB("%s.attn%d.to_k", blk, n), ch, (int)kv_in,
                         FALSE, FALSE, error) ||
          !expect_linear(c, SUB("%s.attn%d.to_v", blk, n), ch, (int)kv_in,
                         FALSE, FALSE, error) ||
          !expect_linear(c, SUB("%s.attn%d.to_out.0", blk, n), ch, ch, TRUE,
                         FALSE, error))
        return FALSE;
    }
    if (!expect_linear(c, SUB("%s.ff.net.0.proj", blk), 8 * ch, ch, TRUE,
                       FALSE, error) ||
        !expect_linear(c, SUB("%s.ff.net.2", blk), ch, 4 * ch, TRUE, FALSE,
                       error))
      return FALSE;
  }
  if (!expect_linear(c, SUB("%s.proj_out", prefix), ch, ch, TRUE, TRUE,
                     error))
    return FALSE;
#undef SUB
  return TRUE;
}

/* diffusers Attention without biases on q/k/v: softmax(q k^T / sqrt(D)) v
 * per head, then to_out.0. kv is x itself for self-attention. */
static AgfTensor *attention(AgfWeights *w, const char *prefix, int heads,
                            const AgfTensor *x, const AgfTensor *kv,
                            GError **error)
{
  g_autoptr(AgfTensor) q = linear(w, prefix, "to_q", x, error);
  g_autoptr(AgfTensor) k = q ? linear(w, prefix, "to_k", kv, error) : NULL;
  g_autoptr(AgfTensor) v = k ? linear(w, prefix, "to_v", kv, error) : NULL;
  if (!v)
    return NULL;
  g_autoptr(AgfTensor) o = agf_attention(q, k, v, heads, 0.0f, error);
  return o ? linear(w, prefix, "to_out.0", o, error) : NULL;
}

/* GEGLU: proj to 2 x 4C, hidden * gelu(gate), then net.2 back to C. */
static AgfTensor *feed_forward(AgfWeights *w, const char *blk,
                               const AgfTensor *x, GError **error)
{
  char p[AGF_SD_NAME_LEN + 32];
  g_snprintf(p, sizeof p, "%s.ff.net.0", blk);
  g_autoptr(AgfTensor) proj = linear(w, p, "proj", x, error);
  if (!proj)
    return NULL;
  const int last = proj->ndim - 1;
  const int64_t inner = proj->shape[last] / 2;
  g_autoptr(AgfTensor) hid = agf_tensor_slice(proj, last, 0, inner, error);
  g_autoptr(AgfTensor) gate = hid ? agf_tensor_slice(proj, last, inner, inner,
                                                     error)
                                  : NULL;
  if (!gate)
    return NULL;
  g_autoptr(AgfTensor) g = agf_gelu(gate, error);
  g_autoptr(AgfTensor) h = g ? agf_mul(hid, g, error) : NULL;
  g_snprintf(p, sizeof p, "%s.ff", blk);
  return h ? linear(w, p, "net.2", h, error) : NULL;
}

/* h + f(LayerNorm_n(h)) for one of the block's three sublayers. */
static AgfTensor *sublayer(AgfWeights *w, const char *blk, int n, int heads,
                           const AgfTensor *h, const AgfTensor *context,
                           GError **error)
{
  char p[AGF_SD_NAME_LEN + 32];
  g_snprintf(p, sizeof p, "%s.norm%d", blk, n);
  g_autoptr(AgfTensor) x = agf_layer_layer_norm(w, p, h, 1e-5f, error);
  if (!x)
    return NULL;
  g_autoptr(AgfTensor) y = NULL;
  if (n == 3) {
    y = feed_forward(w, blk, x, error);
  } else {
    g_snprintf(p, sizeof p, "%s.attn%d", blk, n);
    y = attention(w, p, heads, x, n == 1 ? x : context, error);
  }
  return y ? agf_add(h, y, error) : NULL;
}

AgfTensor *agf_sd_transformer_forward(const AgfSdTransformer *t,
                                      AgfWeights *w, const AgfTensor *x,
                                      const AgfTensor *context,
                                      GError **error)
{
  if (!context || context->ndim != 3 || context->shape[0] != x->shape[0] ||
      context->shape[2] != t->ctx_dim) {
    char s[64] = "none";
    if (context)
      agf_shape_str(context, s, sizeof s);
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "%s: the context is %s but must be [%" G_GINT64_FORMAT
                ", tokens, %d] (batch, tokens, cross-attention width)",
                t->prefix, s, x->shape[0], t->ctx_dim);
    return NULL;
  }
  char name[AGF_SD_NAME_LEN + 32];
  g_snprintf(name, sizeof name, "%s.norm", t->prefix);
  /* Transformer2DModel's GroupNorm uses eps 1e-6 whatever the U-Net's. */
  g_autoptr(AgfTensor) h = agf_layer_group_norm(w, name, x, t->groups, 1e-6f,
                                                error);
  if (!h)
    return NULL;
  /* A 1x1 conv equals a linear on tokens, so both projections run there. */
  AGF_SD_STEP(h, to_tokens(h, error));
  AGF_SD_STEP(h, linear(w, t->prefix, "proj_in", h, error));
  for (int b = 0; b < t->depth; b++) {
    char blk[AGF_SD_NAME_LEN + 32];
    g_snprintf(blk, sizeof blk, "%s.transformer_blocks.%d", t->prefix, b);
    for (int n = 1; n <= 3; n++)
      AGF_SD_STEP(h, sublayer(w, blk, n, t->heads, h, context, error));
  }
  AGF_SD_STEP(h, linear(w, t->prefix, "proj_out", h, error));
  AGF_SD_STEP(h, to_map(h, x, error));
  return agf_add(h, x, error);
}

/* ---- configuration helpers ---- */

int agf_sd_count_indexed(const AgfWeights *w, const char *fmt)
{
  int i = 0;
  for (;; i++) {
    g_autofree char *name = g_strdup_printf(fmt, i);
    if (!agf_weights_has(w, name))
      return i;
  }
}

int agf_sd_dim_of(const AgfWeights *w, const char *name, int dim, int def)
{
  int nd;
  int64_t s[AGF_ST_MAX_DIMS];
  if (!agf_weights_shape(w, name, &nd, s) || dim >= nd || s[dim] > G_MAXINT)
    return def;
  return (int)s[dim];
}

gboolean agf_sd_meta_bool(const AgfWeights *w, const char *key, gboolean def,
                          GError **error)
{
  const char *v = agf_weights_meta(w, key);
  if (!v)
    return def;
  if (!g_ascii_strcasecmp(v, "true") || !g_strcmp0(v, "1"))
    return TRUE;
  if (!g_ascii_strcasecmp(v, "false") || !g_strcmp0(v, "0"))
    return FALSE;
  g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
              "weights file %s: metadata %s = \"%s\" is not true or false",
              agf_weights_path(w), key, v);
  return def;
}

int agf_sd_parse_int_list(const char *s, int *out, int max)
{
  int n = 0;
  const char *p = s;
  while (*p) {
    if (g_ascii_isdigit(*p) || *p == '-') {
      char *end;
      gint64 v = g_ascii_strtoll(p, &end, 10);
      if (end == p || v < G_MININT || v > G_MAXINT || n >= max)
        return -1;
      out[n++] = (int)v;
      p = end;
    } else if (strchr("[](), \t\n", *p)) {
      p++;
    } else {
      return -1;
    }
  }
  return n;
}
