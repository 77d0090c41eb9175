/* The authors' OA-Net checkpoints (qqwsad5/AG-FAS model/FAS_model.py: a
 * HuggingFace ViTCrossModel under backbone.vit, embedder.bottleneck_layer_fc,
 * a torchvision ResNet-18 split into backbone_res (conv1..layer3) and
 * embedder_res (layer4), classifier.classifier_layer) -> oanet.h's names. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "train_import.h"

#define PATCH_W "embeddings.patch_embeddings.projection.weight"

/* Direct renames inside one encoder layer: authors' suffix -> ours. */
static const struct { const char *from, *to; } layer_map[] = {
  { "layernorm_before.", "norm1." },
  { "attention.output.dense.", "attn.proj." },
  { "ln_cross_attn.", "cross_norm." },
  { "crossattention.query.", "cross_attn.q." },
  { "crossattention.key.", "cross_attn.k." },
  { "crossattention.value.", "cross_attn.v." },
  { "crossattention.dense.", "cross_attn.proj." },
  { "layernorm_after.", "norm2." },
  { "intermediate.dense.", "mlp.fc1." },
  { "output.dense.", "mlp.fc2." },
};

static const struct { const char *from, *to; } vit_map[] = {
  { "embeddings.cls_token", "cls_token" },
  { "embeddings.position_embeddings", "pos_embed" },
  { "embeddings.patch_embeddings.projection.", "patch_embed.proj." },
  { "layernorm.", "norm." },
};

char *agf_import_oanet_authors_prefix(const AgfSafetensors *st,
                                      const char *strip)
{
  for (int i = 0; i < agf_safetensors_n_tensors(st); i++) {
    const char *n = agf_safetensors_tensor_at(st, i)->name;
    if (!g_str_has_prefix(n, strip) || !g_str_has_suffix(n, PATCH_W))
      continue;
    n += strlen(strip);
    return g_strndup(n, strlen(n) - strlen(PATCH_W));
  }
  return NULL;
}

/* Fuses layer i's query, key, value (weight or bias) into attn.qkv. */
static gboolean fuse_qkv(const AgfSafetensors *st, const char *base, int i,
                         const char *what, AgfImportPlan *plan, GError **error)
{
  static const char *const parts[] = { "query", "key", "value" };
  const AgfStTensor *t[3];
  for (int k = 0; k < 3; k++) {
    g_autofree char *n = g_strdup_printf("%s%d.attention.attention.%s.%s",
                                         base, i, parts[k], what);
    if (!(t[k] = agf_safetensors_get(st, n, error)))
      return FALSE;
    if (t[k]->ndim != t[0]->ndim || t[k]->numel != t[0]->numel ||
        !agf_st_dtype_is_float(t[k]->dtype)) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                  "tensor %s in %s does not match %s: query, key and value "
                  "must have one shape", n, agf_safetensors_path(st),
                  t[0]->name);
      return FALSE;
    }
  }
  float *v = g_new(float, 3 * t[0]->numel);
  for (int k = 0; k < 3; k++)
    if (!agf_st_tensor_to_f32(t[k], v + k * t[0]->numel, error)) {
      g_free(v);
      return FALSE;
    }
  int64_t shape[AGF_ST_MAX_DIMS];
  memcpy(shape, t[0]->shape, sizeof shape);
  shape[0] *= 3;
  g_autofree char *name = g_strdup_printf("blocks.%d.attn.qkv.%s", i, what);
  agf_import_plan_derived(plan, name, v, t[0]->dtype, t[0]->ndim, shape);
  return TRUE;
}

/* SSDG's Classifier.forward replaces its weight by l2_norm(weight, axis=0):
 * every column (over the classes) scaled to unit length. */
static gboolean classifier(const AgfStTensor *t, AgfImportPlan *plan,
                           GError **error)
{
  if (t->ndim != 2 || !agf_st_dtype_is_float(t->dtype)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "tensor %s is not a 2-D float weight [classes, features]",
                t->name);
    return FALSE;
  }
  int64_t k = t->shape[0], f = t->shape[1];
  float *w = g_new(float, MAX(t->numel, 1));
  if (!agf_st_tensor_to_f32(t, w, error)) {
    g_free(w);
    return FALSE;
  }
  for (int64_t j = 0; j < f; j++) {
    double ss = 0.0;
    for (int64_t r = 0; r < k; r++)
      ss += (double)w[r * f + j] * w[r * f + j];
    if (ss == 0.0) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "tensor %s has an all-zero column %" G_GINT64_FORMAT
                  ": the SSDG classifier's column normalisation is undefined",
                  t->name, j);
      g_free(w);
      return FALSE;
    }
    double s = 1.0 / sqrt(ss);
    for (int64_t r = 0; r < k; r++)
      w[r * f + j] = (float)(w[r * f + j] * s);
  }
  agf_import_plan_derived(plan, "classifier.weight", w, t->dtype, 2, t->shape);
  return TRUE;
}

/* Our name for one of the authors' tensors: NULL (dropped) or new string;
 * *fused set for query/key/value, which fuse_qkv handles per layer. */
static char *rename_one(const char *n, const char *vit, gboolean *fused)
{
  *fused = FALSE;
  if (g_str_has_suffix(n, ".num_batches_tracked"))
    return NULL;
  if (g_str_has_prefix(n, vit)) {
    const char *r = n + strlen(vit);
    if (g_str_has_prefix(r, "encoder.layer.")) {
      char *end;
      guint64 i = g_ascii_strtoull(r + strlen("encoder.layer."), &end, 10);
      if (*end != '.')
        return NULL;
      const char *s = end + 1;
      if (g_str_has_prefix(s, "attention.attention.")) {
        *fused = TRUE;
        return NULL;
      }
      for (size_t k = 0; k < G_N_ELEMENTS(layer_map); k++)
        if (g_str_has_prefix(s, layer_map[k].from))
          return g_strdup_printf("blocks.%u.%s%s", (unsigned)i,
                                 layer_map[k].to,
                                 s + strlen(layer_map[k].from));
      return NULL;
    }
    for (size_t k = 0; k < G_N_ELEMENTS(vit_map); k++)
      if (g_str_has_prefix(r, vit_map[k].from))
        return g_strconcat(vit_map[k].to, r + strlen(vit_map[k].from), NULL);
    return NULL; /* pooler (unused by the model), mask_token */
  }
  if (g_str_has_prefix(n, "embedder.bottleneck_layer_fc."))
    return g_strconcat("head.fc.", n + strlen("embedder.bottleneck_layer_fc."),
                       NULL);
  if (g_str_has_prefix(n, "backbone_res."))
    return g_strconcat("cue_encoder.", n + strlen("backbone_res."), NULL);
  if (g_str_has_prefix(n, "embedder_res.layer4."))
    return g_strconcat("cue_encoder.", n + strlen("embedder_res."), NULL);
  if (!strcmp(n, "classifier.classifier_layer.bias"))
    return g_strdup("classifier.bias");
  return NULL;
}

gboolean agf_import_oanet_authors(const AgfSafetensors *st, const char *strip,
                                  const char *vit_prefix, AgfImportPlan *plan,
                                  GError **error)
{
  g_autofree char *base = g_strconcat(strip, vit_prefix, "encoder.layer.",
                                      NULL);
  GHashTable *done = g_hash_table_new(g_direct_hash, g_direct_equal);
  gboolean ok = TRUE;
  for (int i = 0; ok && i < agf_safetensors_n_tensors(st); i++) {
    const AgfStTensor *t = agf_safetensors_tensor_at(st, i);
    if (!g_str_has_prefix(t->name, strip)) {
      g_ptr_array_add(plan->dropped, g_strdup(t->name));
      continue;
    }
    const char *n = t->name + strlen(strip);
    if (!strcmp(n, "classifier.classifier_layer.weight")) {
      ok = classifier(t, plan, error);
      continue;
    }
    gboolean fused;
    g_autofree char *to = rename_one(n, vit_prefix, &fused);
    if (fused) {
      /* "<base><i>.attention.attention.<q|k|v>.<weight|bias>" */
      int layer = atoi(n + strlen(vit_prefix) + strlen("encoder.layer."));
      const char *what = strrchr(n, '.') + 1;
      gpointer key = GINT_TO_POINTER(layer * 2 + !strcmp(what, "bias") + 1);
      if (!g_hash_table_contains(done, key)) {
        g_hash_table_add(done, key);
        ok = fuse_qkv(st, base, layer, what, plan, error);
      }
    } else if (to) {
      agf_import_plan_copy(plan, to, t);
    } else {
      g_ptr_array_add(plan->dropped, g_strdup(t->name));
    }
  }
  g_hash_table_unref(done);
  if (!ok)
    return FALSE;
  g_hash_table_insert(plan->meta, g_strdup("oanet.variant"), g_strdup("oanet"));
  g_hash_table_insert(plan->meta, g_strdup("oanet.layer_norm_eps"),
                      g_strdup("1e-12"));
  g_hash_table_insert(plan->meta, g_strdup("oanet.feature_norm"),
                      g_strdup("ssdg"));
  g_hash_table_insert(plan->meta, g_strdup("agfas.source_layout"),
                      g_strdup("AG-FAS OA_Net (qqwsad5/AG-FAS, HuggingFace "
                               "ViT names)"));
  return TRUE;
}
