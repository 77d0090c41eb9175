/* `agfas-train import` internals: the list of tensors an import writes,
 * each copied from the source file or derived from it (renamed, fused,
 * normalised), and the network kinds it recognises. */
#pragma once
#include <glib.h>
#include "io/safetensors.h"

G_BEGIN_DECLS

typedef struct {
  char *name;              /* name in our layout */
  const AgfStTensor *src;  /* copied (maybe converted) from the source, or */
  float *data;             /* derived values, owned (src == NULL) */
  AgfStDType like;         /* derived: the source dtype it keeps by default */
  int ndim;
  int64_t shape[AGF_ST_MAX_DIMS];
} AgfImportTensor;

typedef struct {
  GPtrArray *tensors;  /* AgfImportTensor *, owned */
  GHashTable *meta;    /* metadata to write (strings, owned) */
  GPtrArray *dropped;  /* source names left out (strings, owned) */
} AgfImportPlan;

void agf_import_plan_init(AgfImportPlan *p);
void agf_import_plan_clear(AgfImportPlan *p);
/* Adds src under name (a copy of the name is kept). */
void agf_import_plan_copy(AgfImportPlan *p, const char *name,
                          const AgfStTensor *src);
/* Adds derived values (takes data) shaped like ndim/shape. */
void agf_import_plan_derived(AgfImportPlan *p, const char *name, float *data,
                             AgfStDType like, int ndim, const int64_t *shape);

/* The ViT prefix (e.g. "backbone.vit.") when st holds an AG-FAS OA_Net
 * checkpoint in the authors' HuggingFace ViT names (after strip, a prefix
 * removed from every name such as "module."), else NULL. */
char *agf_import_oanet_authors_prefix(const AgfSafetensors *st,
                                      const char *strip);
/* Maps such a checkpoint onto oanet.h's names (models/oanet.h): query/key/
 * value fused into attn.qkv, the ResNet halves under cue_encoder., the
 * SSDG classifier weight with unit-norm columns as its forward computes it,
 * metadata oanet.layer_norm_eps 1e-12 and oanet.feature_norm ssdg. */
gboolean agf_import_oanet_authors(const AgfSafetensors *st, const char *strip,
                                  const char *vit_prefix, AgfImportPlan *plan,
                                  GError **error);

G_END_DECLS
