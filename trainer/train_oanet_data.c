/* SSDG training data: items from `cues` manifests, the balanced sampler
 * (per domain, per class) and batch loading with a host cache. */
#include <string.h>
#include "train_oanet.h"
#include "io/image.h"
#include "io/safetensors.h"
#include "metrics/roc.h"
#include "nn/error.h"
#include "pipeline/rng.h"

#define CACHE_BUDGET ((gsize)1 << 30) /* decoded floats kept, bytes */
#define FLIP_STREAM G_GUINT64_CONSTANT(0xf11b5d6e)
#define PERM_STREAM G_GUINT64_CONSTANT(0x5d69a3c1)

typedef struct {
  int size;
  float *image, *cue; /* [3, size, size] each */
} Decoded;

struct AgfSsdgData {
  GArray *items;       /* AgfSsdgItem */
  GPtrArray *domains;  /* names */
  GPtrArray *pools;    /* GArray of guint per (domain, truth): d * 2 + t */
  GHashTable *cache;   /* item index -> Decoded */
  gsize cached_bytes;
};

static void item_clear(gpointer p)
{
  AgfSsdgItem *it = p;
  g_free(it->crop);
  g_free(it->cue);
  g_free(it->path);
  g_free(it->video);
  g_free(it->attack);
}

static void decoded_free(gpointer p)
{
  Decoded *d = p;
  g_free(d->image);
  g_free(d->cue);
  g_free(d);
}

AgfSsdgData *agf_ssdg_data_new(void)
{
  AgfSsdgData *d = g_new0(AgfSsdgData, 1);
  d->items = g_array_new(FALSE, TRUE, sizeof(AgfSsdgItem));
  g_array_set_clear_func(d->items, item_clear);
  d->domains = g_ptr_array_new_with_free_func(g_free);
  d->pools = g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
  d->cache = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                   decoded_free);
  return d;
}

void agf_ssdg_data_free(AgfSsdgData *d)
{
  if (!d)
    return;
  g_array_unref(d->items);
  g_ptr_array_unref(d->domains);
  g_ptr_array_unref(d->pools);
  g_hash_table_unref(d->cache);
  g_free(d);
}

guint agf_ssdg_data_len(const AgfSsdgData *d)
{
  return d->items->len;
}

const AgfSsdgItem *agf_ssdg_data_item(const AgfSsdgData *d, guint i)
{
  return &g_array_index(d->items, AgfSsdgItem, i);
}

guint agf_ssdg_data_n_domains(const AgfSsdgData *d)
{
  return d->domains->len;
}

const char *agf_ssdg_data_domain(const AgfSsdgData *d, guint i)
{
  return d->domains->pdata[i];
}

static GArray *pool(const AgfSsdgData *d, guint domain, int truth)
{
  return d->pools->pdata[domain * 2 + (truth ? 1 : 0)];
}

guint agf_ssdg_data_pool_len(const AgfSsdgData *d, guint domain, int truth)
{
  return domain < d->domains->len ? pool(d, domain, truth)->len : 0;
}

static int domain_index(AgfSsdgData *d, const char *name)
{
  for (guint i = 0; i < d->domains->len; i++)
    if (!strcmp(d->domains->pdata[i], name))
      return (int)i;
  g_ptr_array_add(d->domains, g_strdup(name));
  g_ptr_array_add(d->pools, g_array_new(FALSE, FALSE, sizeof(guint)));
  g_ptr_array_add(d->pools, g_array_new(FALSE, FALSE, sizeof(guint)));
  return (int)d->domains->len - 1;
}

/* A record's value of column col: a known text column or an extra one. */
static const char *column(const AgfManifestRecord *r, const char *col)
{
  if (!strcmp(col, "domain"))
    return r->domain;
  if (!strcmp(col, "subject"))
    return r->subject;
  if (!strcmp(col, "split"))
    return r->split;
  if (!strcmp(col, "video"))
    return r->video;
  if (!strcmp(col, "attack"))
    return r->attack;
  if (!strcmp(col, "source"))
    return r->source;
  return agf_manifest_record_get_extra(r, col);
}

static char *nonempty(const char *s)
{
  return s && *s ? g_strdup(s) : NULL;
}

gboolean agf_ssdg_data_add_manifest(AgfSsdgData *d, const char *manifest,
                                    const char *split, const char *domain_col,
                                    const char *domain, gboolean need_domain,
                                    guint *skipped, GError **error)
{
  g_autoptr(AgfManifest) m = agf_manifest_load(manifest, error);
  if (!m)
    return FALSE;
  const char *col = domain_col ? domain_col : "domain";
  guint skip = 0;
  for (guint i = 0; i < agf_manifest_len(m); i++) {
    const AgfManifestRecord *r = agf_manifest_get(m, i);
    if (split && g_strcmp0(r->split, split))
      continue;
    const char *cue = agf_manifest_record_get_extra(r, "cue");
    gboolean ok = r->crop && *r->crop && cue && *cue &&
                  (!r->status || !*r->status || !strcmp(r->status, "ok")) &&
                  (r->label == AGF_LABEL_LIVE || r->label == AGF_LABEL_SPOOF);
    if (!ok) {
      skip++;
      continue;
    }
    const char *dom = domain ? domain : column(r, col);
    if ((!dom || !*dom) && !need_domain)
      dom = "";
    if (!dom || !*dom) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                  "%s: record %u (%s) has no value in column '%s': fill it, "
                  "or name the column that says each face's dataset with "
                  "--domain-col", manifest, i + 1, r->path ? r->path : "?",
                  col);
      return FALSE;
    }
    AgfSsdgItem it = {
      .crop = agf_manifest_resolve(m, r->crop),
      .cue = agf_manifest_resolve(m, cue),
      .truth = r->label == AGF_LABEL_SPOOF ? AGF_TRUTH_SPOOF : AGF_TRUTH_LIVE,
      .domain = domain_index(d, dom),
      .path = r->path ? agf_manifest_resolve(m, r->path) : g_strdup(r->crop),
      .frame = r->frame,
      .video = nonempty(r->video),
      .attack = nonempty(r->attack),
    };
    guint idx = d->items->len;
    g_array_append_val(d->items, it);
    g_array_append_val(pool(d, (guint)it.domain, it.truth), idx);
  }
  if (skipped)
    *skipped += skip;
  return TRUE;
}

gboolean agf_ssdg_data_check_train(const AgfSsdgData *d, GError **error)
{
  if (d->domains->len < 2) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "SSDG trains on at least two source domains, the data has "
                "%u (%s): give a manifest whose domain column (--domain-col) "
                "names two or more datasets, or a --protocol",
                d->domains->len,
                d->domains->len ? (const char *)d->domains->pdata[0] : "none");
    return FALSE;
  }
  for (guint i = 0; i < d->domains->len; i++)
    for (int t = 0; t < 2; t++)
      if (!pool(d, i, t)->len) {
        g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                    "domain '%s' has no %s faces with a cue: every source "
                    "domain needs live and spoof faces (run `agfas-train "
                    "cues` over them)", (const char *)d->domains->pdata[i],
                    t ? "spoof" : "live");
        return FALSE;
      }
  return TRUE;
}

/* perm[0..n) of pool p in epoch e (Fisher-Yates on the counter RNG). */
static void permutation(guint64 seed, guint p, gint64 epoch, guint *perm,
                        guint n)
{
  const guint64 stream = agf_rng_mix(PERM_STREAM + ((guint64)p << 40) +
                                     (guint64)epoch);
  for (guint i = 0; i < n; i++)
    perm[i] = i;
  for (guint i = n; i-- > 1;) {
    guint j = (guint)(agf_rng_uniform(seed, stream, i) * (i + 1));
    if (j > i)
      j = i;
    guint t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}

void agf_ssdg_sample(const AgfSsdgData *d, guint64 seed, gint64 step,
                     int per_class, guint *rows, gboolean *flip)
{
  const guint nd = d->domains->len;
  guint out = 0;
  for (int t = 0; t < 2; t++)
    for (guint dom = 0; dom < nd; dom++) {
      const GArray *pl = pool(d, dom, t);
      const guint n = pl->len, p = dom * 2 + (guint)t;
      g_return_if_fail(n > 0); /* agf_ssdg_data_check_train() first */
      g_autofree guint *perm = g_new(guint, n);
      gint64 have = -1;
      for (int j = 0; j < per_class; j++, out++) {
        const gint64 k = step * per_class + j, epoch = k / n;
        if (epoch != have)
          permutation(seed, p, have = epoch, perm, n);
        rows[out] = g_array_index(pl, guint, perm[k % n]);
      }
    }
  const gint64 b = (gint64)out;
  for (guint i = 0; flip && i < out; i++)
    flip[i] = agf_rng_uniform(seed, FLIP_STREAM, (guint64)(step * b + i)) < 0.5;
}

/* ---- loading ---- */

static Decoded *decode(const AgfSsdgItem *it, GError **error)
{
  g_autoptr(AgfImage) img = agf_image_load(it->crop, error);
  if (!img)
    return NULL;
  if (img->width != img->height) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "%s is %dx%d, not a square aligned crop from `agfas-train "
                "prepare`", it->crop, img->width, img->height);
    return NULL;
  }
  const int s = img->width;
  g_autoptr(AgfSafetensors) st = agf_safetensors_open(it->cue, error);
  if (!st)
    return NULL;
  const int64_t shape[4] = { 1, 3, s, s };
  g_autofree float *cue = agf_safetensors_read_f32(st, "cue", 4, shape, error);
  if (!cue) {
    g_prefix_error(error, "cue of %s (its crop is %dx%d): ", it->crop, s, s);
    return NULL;
  }
  Decoded *out = g_new0(Decoded, 1);
  out->size = s;
  out->image = g_new(float, 3 * (gsize)s * s);
  for (int y = 0; y < s; y++)
    for (int x = 0; x < s; x++)
      for (int c = 0; c < 3; c++)
        out->image[((gsize)c * s + y) * s + x] =
          img->pixels[y * img->stride + (gsize)x * img->channels + c] /
            127.5f - 1.0f;
  out->cue = g_steal_pointer(&cue);
  return out;
}

/* dst [3, s, s] = src, mirrored left-right when flip. */
static void put(float *dst, const float *src, int s, gboolean flip)
{
  if (!flip) {
    memcpy(dst, src, sizeof(float) * 3 * s * s);
    return;
  }
  for (int r = 0; r < 3 * s; r++)
    for (int x = 0; x < s; x++)
      dst[(gsize)r * s + x] = src[(gsize)r * s + (s - 1 - x)];
}

gboolean agf_ssdg_data_load(AgfSsdgData *d, const guint *rows,
                            const gboolean *flip, int n, AgfDevice *dev,
                            AgfDType dt, AgfTensor **image, AgfTensor **cue,
                            GError **error)
{
  g_autofree float *img = NULL, *cu = NULL;
  int s = 0;
  for (int i = 0; i < n; i++) {
    const AgfSsdgItem *it = agf_ssdg_data_item(d, rows[i]);
    Decoded *dec = g_hash_table_lookup(d->cache, GUINT_TO_POINTER(rows[i]));
    Decoded *fresh = NULL;
    if (!dec && !(dec = fresh = decode(it, error)))
      return FALSE;
    if (!i) {
      s = dec->size;
      img = g_new(float, (gsize)n * 3 * s * s);
      cu = g_new(float, (gsize)n * 3 * s * s);
    } else if (dec->size != s) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                  "%s is %dx%d but other crops are %dx%d: prepare every "
                  "dataset at the same crop size", it->crop, dec->size,
                  dec->size, s, s);
      if (fresh)
        decoded_free(fresh);
      return FALSE;
    }
    const gsize per = 3 * (gsize)s * s;
    put(img + i * per, dec->image, s, flip && flip[i]);
    put(cu + i * per, dec->cue, s, flip && flip[i]);
    if (fresh) {
      if (d->cached_bytes + 2 * per * sizeof(float) <= CACHE_BUDGET) {
        g_hash_table_insert(d->cache, GUINT_TO_POINTER(rows[i]), fresh);
        d->cached_bytes += 2 * per * sizeof(float);
      } else {
        decoded_free(fresh);
      }
    }
  }
  const int64_t shape[4] = { n, 3, s, s };
  *image = agf_tensor_from_f32(dev, dt, 4, shape, img, error);
  *cue = *image ? agf_tensor_from_f32(dev, dt, 4, shape, cu, error) : NULL;
  if (!*cue)
    g_clear_pointer(image, agf_tensor_unref);
  return *cue != NULL;
}
