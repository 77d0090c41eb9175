/* Presets and random-init checkpoints; see presets.h. */
#include "models/presets.h"
#include <math.h>
#include <string.h>
#include "models/layers.h"
#include "pipeline/noise_schedule.h"
#include "pipeline/rng.h"

static const char *const preset_names[AGF_PRESET_COUNT] = { "paper", "small",
                                                            "tiny" };
static const char *const kind_names[AGF_NET_COUNT] = { "autoencoder", "unet",
                                                       "iresnet", "oanet" };

const char *agf_preset_name(AgfPreset p)
{
  return (unsigned)p < AGF_PRESET_COUNT ? preset_names[p] : "?";
}

const char *agf_net_kind_name(AgfNetKind k)
{
  return (unsigned)k < AGF_NET_COUNT ? kind_names[k] : "?";
}

static int index_of(const char *const *names, int n, const char *name)
{
  for (int i = 0; name && i < n; i++)
    if (!g_ascii_strcasecmp(names[i], name))
      return i;
  return -1;
}

gboolean agf_preset_from_name(const char *name, AgfPreset *out,
                              GError **error)
{
  int i = index_of(preset_names, AGF_PRESET_COUNT, name);
  if (i < 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "unknown preset \"%s\": use paper, small or tiny",
                name ? name : "");
    return FALSE;
  }
  *out = (AgfPreset)i;
  return TRUE;
}

gboolean agf_net_kind_from_name(const char *name, AgfNetKind *out,
                                GError **error)
{
  int i = index_of(kind_names, AGF_NET_COUNT, name);
  if (i < 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "unknown network \"%s\": use autoencoder, unet, iresnet or "
                "oanet", name ? name : "");
    return FALSE;
  }
  *out = (AgfNetKind)i;
  return TRUE;
}

/* ---- configurations ---- */

static void set4(int *dst, int a, int b, int c, int d)
{
  dst[0] = a, dst[1] = b, dst[2] = c, dst[3] = d;
}

/* A small iresnet / ResNet-18 shape: one block per stage. */
static void small_identity(AgfIresnetConfig *c, int stem, int w0, int w1,
                           int w2, int w3, int features)
{
  *c = (AgfIresnetConfig){ .in_channels = 3, .stem_width = stem,
                           .map_size = 7, .num_features = features };
  set4(c->widths, w0, w1, w2, w3);
  set4(c->blocks, 1, 1, 1, 1);
}

static void small_oanet(AgfOanetConfig *c, int img, int dim, int depth,
                        int heads, int mlp, int stem, int w0, int w1, int w2,
                        int w3, int features)
{
  agf_oanet_config_paper(c, AGF_OANET_FULL);
  c->vit = (AgfVitConfig){ .img_size = img, .patch = 16, .in_channels = 3,
                           .dim = dim, .depth = depth, .heads = heads,
                           .mlp_dim = mlp, .kv_dim = w3 };
  c->cue_encoder.stem_width = stem;
  set4(c->cue_encoder.widths, w0, w1, w2, w3);
  set4(c->cue_encoder.blocks, 1, 1, 1, 1);
  c->feature_dim = features;
}

static void small_unet(AgfUnetConfig *c, int c0, int c1, int c2, int levels,
                       int heads, int ctx, int groups)
{
  agf_unet_config_sd15(c);
  c->n_levels = levels;
  int ch[3] = { c0, c1, c2 };
  for (int i = 0; i < AGF_UNET_MAX_LEVELS; i++) {
    c->block_out_channels[i] = i < levels ? ch[i] : 0;
    /* Attention everywhere but the lowest-resolution level, as SD-1.5. */
    c->down_attention[i] = i < levels - 1;
    c->up_attention[i] = i > 0 && i < levels;
    c->heads[i] = heads;
  }
  c->layers_per_block = 1;
  c->cross_attention_dim = ctx;
  c->time_embed_dim = 4 * c0;
  c->norm_num_groups = groups;
}

static void small_vae(AgfAutoencoderKLConfig *c, int c0, int c1, int c2,
                      int groups)
{
  agf_autoencoder_kl_config_sd15(c);
  set4(c->block_out_channels, c0, c1, c2, c2);
  c->layers_per_block = 1;
  c->norm_num_groups = groups;
}

void agf_preset_configs(AgfPreset p, AgfPresetConfigs *out)
{
  memset(out, 0, sizeof *out);
  switch (p) {
  case AGF_PRESET_SMALL:
    small_vae(&out->vae, 32, 64, 128, 16);
    /* 48 wide (not 64): the shipped autoencoder, U-Net and OA-Net stay
     * under 40 MB in f16. */
    small_unet(&out->unet, 48, 96, 192, 3, 4, 256, 16);
    small_identity(&out->identity, 32, 32, 64, 128, 256, 128);
    small_oanet(&out->oanet, 224, 192, 6, 3, 768, 32, 32, 64, 128, 256, 128);
    break;
  case AGF_PRESET_TINY:
    small_vae(&out->vae, 8, 16, 32, 4);
    small_unet(&out->unet, 32, 64, 0, 2, 2, 32, 8);
    /* Attention only at the 16x16 level (and the mid block): at 32x32 it
     * would cost most of a lavapipe run. */
    out->unet.down_attention[0] = FALSE, out->unet.down_attention[1] = TRUE;
    out->unet.up_attention[0] = TRUE, out->unet.up_attention[1] = FALSE;
    small_identity(&out->identity, 8, 8, 16, 32, 32, 16);
    small_oanet(&out->oanet, 64, 32, 2, 2, 64, 8, 8, 16, 32, 32, 16);
    break;
  case AGF_PRESET_PAPER:
  default:
    agf_autoencoder_kl_config_sd15(&out->vae);
    agf_unet_config_sd15(&out->unet);
    agf_iresnet_config_preset(&out->identity, 18, NULL);
    agf_oanet_config_paper(&out->oanet, AGF_OANET_FULL);
    break;
  }
}

/* Declares every tensor of network k of the configurations to check. */
static gboolean declare(const AgfPresetConfigs *c, AgfNetKind k,
                        AgfParamCheck *check, GError **error)
{
  switch (k) {
  case AGF_NET_AUTOENCODER:
    return agf_autoencoder_kl_declare(&c->vae, check, error);
  case AGF_NET_UNET:
    return agf_unet_declare(&c->unet, check, error);
  case AGF_NET_IDENTITY:
    return agf_iresnet_declare(&c->identity, check, error);
  case AGF_NET_OANET:
    return agf_oanet_declare(&c->oanet, check, NULL, error);
  default:
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "unknown network kind %d", (int)k);
    return FALSE;
  }
}

gint64 agf_preset_param_count(AgfPreset p, AgfNetKind k, GError **error)
{
  AgfPresetConfigs c;
  agf_preset_configs(p, &c);
  AgfParamCheck check = { 0 };
  return declare(&c, k, &check, error) ? check.n_params : -1;
}

char *agf_preset_describe(void)
{
  GString *s = g_string_new("preset  network        parameters\n");
  for (int p = 0; p < AGF_PRESET_COUNT; p++)
    for (int k = 0; k < AGF_NET_COUNT; k++) {
      g_autoptr(GError) err = NULL;
      gint64 n = agf_preset_param_count(p, k, &err);
      if (n < 0)
        g_string_append_printf(s, "%-7s %-12s   error: %s\n",
                               preset_names[p], kind_names[k], err->message);
      else
        g_string_append_printf(s, "%-7s %-12s %14" G_GINT64_FORMAT "\n",
                               preset_names[p], kind_names[k], n);
    }
  return g_string_free(s, FALSE);
}

/* ---- tensor lists ---- */

/* Every declaration of the network, in declaration order. */
static GArray *declarations(const AgfPresetConfigs *c, AgfNetKind k,
                            GError **error)
{
  g_autoptr(GArray) all = agf_param_decls_new();
  AgfParamCheck check = { .listener = agf_param_decls_collect,
                          .listener_data = all };
  return declare(c, k, &check, error) ? g_steal_pointer(&all) : NULL;
}

gboolean agf_preset_list_tensors(AgfPreset p, AgfNetKind k,
                                 void (*fn)(const char *name, int ndim,
                                            const int64_t *shape,
                                            gpointer data),
                                 gpointer data, GError **error)
{
  AgfPresetConfigs c;
  agf_preset_configs(p, &c);
  g_autoptr(GArray) all = declarations(&c, k, error);
  if (!all)
    return FALSE;
  for (guint i = 0; i < all->len; i++) {
    const AgfParamDecl *d = &g_array_index(all, AgfParamDecl, i);
    fn(d->name, d->ndim, d->shape, data);
  }
  return TRUE;
}

/* ---- initialisation ---- */

static guint64 name_stream(const char *name)
{
  guint64 h = G_GUINT64_CONSTANT(0xcbf29ce484222325); /* FNV-1a */
  for (const unsigned char *s = (const unsigned char *)name; *s; s++)
    h = (h ^ *s) * G_GUINT64_CONSTANT(0x100000001b3);
  return h;
}

static gboolean has_suffix(const char *s, const char *suffix)
{
  return g_str_has_suffix(s, suffix);
}

/* "<prefix>.weight" (or weight_v) of rank >= 2 -> fan_in, by prefix. */
static GHashTable *fan_ins(GArray *all)
{
  GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                        NULL);
  for (guint i = 0; i < all->len; i++) {
    const AgfParamDecl *d = &g_array_index(all, AgfParamDecl, i);
    const char *dot = strrchr(d->name, '.');
    if (d->ndim < 2 || !dot ||
        (strcmp(dot, ".weight") && strcmp(dot, ".weight_v")))
      continue;
    gint64 fan = agf_param_decl_numel(d) / d->shape[0];
    g_hash_table_insert(t, g_strndup(d->name, (gsize)(dot - d->name)),
                        GSIZE_TO_POINTER((gsize)fan));
  }
  return t;
}

static void fill(float *x, gint64 n, float v)
{
  for (gint64 i = 0; i < n; i++)
    x[i] = v;
}

static void uniform(float *x, gint64 n, guint64 seed, const char *name,
                    double bound)
{
  guint64 stream = name_stream(name);
  for (gint64 i = 0; i < n; i++)
    x[i] = (float)((2.0 * agf_rng_uniform(seed, stream, (guint64)i) - 1.0) *
                   bound);
}

/* One tensor's values by PyTorch's default for its kind (presets.h). */
static gboolean init_tensor(const AgfParamDecl *d, GHashTable *fans, guint64 seed,
                            float *x, GError **error)
{
  const gint64 n = agf_param_decl_numel(d);
  const char *name = d->name, *dot = strrchr(name, '.');
  const char *leaf = dot ? dot + 1 : name;
  g_autofree char *prefix = dot ? g_strndup(name, (gsize)(dot - name))
                                : g_strdup("");
  if (strstr(name, "cross_attn.proj.")) { /* OA-Net: starts as a plain ViT */
    fill(x, n, 0.0f);
  } else if (!strcmp(leaf, "running_mean")) {
    fill(x, n, 0.0f);
  } else if (!strcmp(leaf, "running_var")) {
    fill(x, n, 1.0f);
  } else if (!strcmp(name, "cls_token") || !strcmp(name, "pos_embed") ||
             has_suffix(name, ".cls_token") || has_suffix(name, ".pos_embed")) {
    agf_rng_normal(seed, name_stream(name), 0, x, (gsize)n);
    for (gint64 i = 0; i < n; i++)
      x[i] *= 0.02f;
  } else if (has_suffix(name, "prelu.weight")) {
    fill(x, n, 0.25f);
  } else if (!strcmp(leaf, "weight_g")) {
    fill(x, n, 1.0f); /* replaced by ||v|| once v is drawn */
  } else if ((!strcmp(leaf, "weight") || !strcmp(leaf, "weight_v")) &&
             d->ndim >= 2) {
    uniform(x, n, seed, name, 1.0 / sqrt((double)(n / d->shape[0])));
  } else if (!strcmp(leaf, "weight") && d->ndim == 1) {
    fill(x, n, 1.0f); /* a norm's scale */
  } else if (!strcmp(leaf, "bias")) {
    gpointer fan;
    if (g_hash_table_lookup_extended(fans, prefix, NULL, &fan))
      uniform(x, n, seed, name, 1.0 / sqrt((double)GPOINTER_TO_SIZE(fan)));
    else
      fill(x, n, 0.0f); /* a norm's shift */
  } else {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "no initialisation rule for tensor %s; extend presets.c's "
                "init_tensor() for it", name);
    return FALSE;
  }
  return TRUE;
}

/* weight_g = ||weight_v|| per output row (torch weight_norm at wrap). */
static void weight_norm_g(float *g, const float *v, const AgfParamDecl *vd)
{
  gint64 rows = vd->shape[0], cols = agf_param_decl_numel(vd) / rows;
  for (gint64 r = 0; r < rows; r++) {
    double s = 0;
    for (gint64 i = 0; i < cols; i++)
      s += (double)v[r * cols + i] * v[r * cols + i];
    g[r] = (float)sqrt(s);
  }
}

/* ---- metadata ---- */

static char *int_list(const int *v, int n)
{
  GString *s = g_string_new("[");
  for (int i = 0; i < n; i++)
    g_string_append_printf(s, "%s%d", i ? ", " : "", v[i]);
  g_string_append_c(s, ']');
  return g_string_free(s, FALSE);
}

static void meta_int(AgfSafetensorsWriter *w, const char *key, int v)
{
  g_autofree char *s = g_strdup_printf("%d", v);
  agf_safetensors_writer_set_meta(w, key, s);
}

static void meta_double(AgfSafetensorsWriter *w, const char *key, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  agf_safetensors_writer_set_meta(w, key, g_ascii_dtostr(buf, sizeof buf, v));
}

static void vae_meta(AgfSafetensorsWriter *w, const AgfAutoencoderKLConfig *c)
{
  g_autofree char *boc = int_list(c->block_out_channels, c->n_levels);
  agf_safetensors_writer_set_meta(w, "block_out_channels", boc);
  meta_int(w, "layers_per_block", c->layers_per_block);
  meta_int(w, "in_channels", c->in_channels);
  meta_int(w, "out_channels", c->out_channels);
  meta_int(w, "latent_channels", c->latent_channels);
  meta_int(w, "norm_num_groups", c->norm_num_groups);
  meta_double(w, "scaling_factor", c->scaling_factor);
  agf_safetensors_writer_set_meta(w, "mid_block_add_attention",
                                  c->mid_attention ? "true" : "false");
}

static char *block_types(const gboolean *attn, int n, const char *kind)
{
  GString *s = g_string_new("[");
  for (int i = 0; i < n; i++)
    g_string_append_printf(s, "%s\"%s%sBlock2D\"", i ? ", " : "",
                           attn[i] ? "CrossAttn" : "", kind);
  g_string_append_c(s, ']');
  return g_string_free(s, FALSE);
}

static void unet_meta(AgfSafetensorsWriter *w, const AgfUnetConfig *c)
{
  g_autofree char *boc = int_list(c->block_out_channels, c->n_levels);
  g_autofree char *heads = int_list(c->heads, c->n_levels);
  g_autofree char *down = block_types(c->down_attention, c->n_levels, "Down");
  g_autofree char *up = block_types(c->up_attention, c->n_levels, "Up");
  agf_safetensors_writer_set_meta(w, "block_out_channels", boc);
  agf_safetensors_writer_set_meta(w, "attention_head_dim", heads);
  agf_safetensors_writer_set_meta(w, "down_block_types", down);
  agf_safetensors_writer_set_meta(w, "up_block_types", up);
  meta_int(w, "layers_per_block", c->layers_per_block);
  meta_int(w, "transformer_layers_per_block", c->transformer_depth);
  meta_int(w, "in_channels", c->in_channels);
  meta_int(w, "out_channels", c->out_channels);
  meta_int(w, "cross_attention_dim", c->cross_attention_dim);
  meta_int(w, "norm_num_groups", c->norm_num_groups);
  meta_double(w, "norm_eps", c->norm_eps);
  meta_double(w, "freq_shift", c->freq_shift);
  agf_safetensors_writer_set_meta(w, "flip_sin_to_cos",
                                  c->flip_sin_to_cos ? "true" : "false");
  AgfScheduleConfig sc;
  agf_schedule_config_init_sd15(&sc);
  g_autoptr(GHashTable) sm = agf_schedule_config_to_metadata(&sc);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, sm);
  while (g_hash_table_iter_next(&it, &k, &v))
    agf_safetensors_writer_set_meta(w, k, v);
}

static void oanet_meta(AgfSafetensorsWriter *w, const AgfOanetConfig *c)
{
  agf_safetensors_writer_set_meta(w, "oanet.variant",
                                  agf_oanet_variant_name(c->variant));
  meta_int(w, "oanet.num_heads", c->vit.heads);
  meta_double(w, "oanet.layer_norm_eps", c->ln_eps);
  agf_safetensors_writer_set_meta(
      w, "oanet.feature_norm",
      c->feature_norm == AGF_OANET_NORM_SSDG ? "ssdg" : "l2");
  meta_int(w, "oanet.spoof_class", c->spoof_class);
}

/* ---- writing ---- */

static gboolean add(AgfSafetensorsWriter *w, const AgfParamDecl *d, const float *x,
                    AgfStDType dt, GError **error)
{
  if (dt == AGF_ST_F32)
    return agf_safetensors_writer_add(w, d->name, dt, d->ndim, d->shape, x,
                                      error);
  const gint64 n = agf_param_decl_numel(d);
  g_autofree uint16_t *h = g_new(uint16_t, n);
  for (gint64 i = 0; i < n; i++)
    h[i] = agf_f32_to_f16(x[i]);
  return agf_safetensors_writer_add(w, d->name, dt, d->ndim, d->shape, h,
                                    error);
}

static gboolean write_random(const AgfPresetConfigs *cfgs, AgfPreset p,
                             AgfNetKind k, guint64 seed, AgfStDType dt,
                             const char *path, GError **error)
{
  if (dt != AGF_ST_F32 && dt != AGF_ST_F16) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "random weights are written as F32 or F16, not %s",
                agf_st_dtype_name(dt));
    return FALSE;
  }
  const AgfPresetConfigs c = *cfgs;
  g_autoptr(GArray) all = declarations(&c, k, error);
  if (!all)
    return FALSE;
  g_autoptr(GHashTable) fans = fan_ins(all);
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  g_autofree float *g_pending = NULL; /* classifier.weight_g, after v */
  const AgfParamDecl *g_decl = NULL;
  for (guint i = 0; i < all->len; i++) {
    const AgfParamDecl *d = &g_array_index(all, AgfParamDecl, i);
    g_autofree float *x = g_new(float, agf_param_decl_numel(d));
    if (!init_tensor(d, fans, seed, x, error))
      return FALSE;
    if (has_suffix(d->name, ".weight_g")) {
      g_pending = g_steal_pointer(&x);
      g_decl = d;
      continue;
    }
    if (g_decl && has_suffix(d->name, ".weight_v") &&
        !strncmp(d->name, g_decl->name, strlen(g_decl->name) - 1))
      weight_norm_g(g_pending, x, d);
    if (!add(w, d, x, dt, error))
      return FALSE;
  }
  if (g_decl && !add(w, g_decl, g_pending, dt, error))
    return FALSE;
  agf_safetensors_writer_set_meta(w, "agfas.preset", preset_names[p]);
  agf_safetensors_writer_set_meta(w, "agfas.network", kind_names[k]);
  g_autofree char *s = g_strdup_printf("%" G_GUINT64_FORMAT, seed);
  agf_safetensors_writer_set_meta(w, "agfas.init_seed", s);
  switch (k) {
  case AGF_NET_AUTOENCODER:
    vae_meta(w, &c.vae);
    break;
  case AGF_NET_UNET:
    unet_meta(w, &c.unet);
    break;
  case AGF_NET_OANET:
    oanet_meta(w, &c.oanet);
    break;
  default:
    break;
  }
  return agf_safetensors_writer_write(w, path, error);
}

gboolean agf_preset_write_random(AgfPreset p, AgfNetKind k, guint64 seed,
                                 AgfStDType dt, const char *path,
                                 GError **error)
{
  AgfPresetConfigs c;
  agf_preset_configs(p, &c);
  return write_random(&c, p, k, seed, dt, path, error);
}

gboolean agf_preset_write_random_oanet(AgfPreset p, const AgfOanetConfig *cfg,
                                       guint64 seed, AgfStDType dt,
                                       const char *path, GError **error)
{
  AgfPresetConfigs c;
  agf_preset_configs(p, &c);
  c.oanet = *cfg;
  return write_random(&c, p, AGF_NET_OANET, seed, dt, path, error);
}

gboolean agf_preset_write_random_unet(AgfPreset p, const AgfUnetConfig *cfg,
                                      guint64 seed, AgfStDType dt,
                                      const char *path, GError **error)
{
  AgfPresetConfigs c;
  agf_preset_configs(p, &c);
  c.unet = *cfg;
  return write_random(&c, p, AGF_NET_UNET, seed, dt, path, error);
}
