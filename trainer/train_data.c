/* Deterministic sampling and decoding of prepared face crops
 * (train_data.h). */
#include "train_data.h"
#include <string.h>
#include "io/image.h"
#include "nn/ops.h"
#include "pipeline/rng.h"

/* rng.h streams of the sampler, apart from the DFG's small stream numbers */
#define STREAM_PERM G_GUINT64_CONSTANT(0x5a4d504c00000000)
#define STREAM_FLIP G_GUINT64_CONSTANT(0x5a4d464c00000000)
/* decoded crops kept in memory (a 256x256 RGBA crop is 256 KiB) */
#define CACHE_BUDGET ((gsize)1 << 30)

struct AgfTrainData {
  AgfManifest *m;
  char *name;          /* the manifest's path, for messages */
  GArray *rows;        /* guint: record index of each kept row */
  AgfImage **cache;    /* [rows]: decoded crop or NULL */
  gsize cached_bytes;
  gint64 perm_epoch;   /* epoch of perm, -1: none */
  guint *perm;         /* [rows] */
};

static gboolean row_has_crop(const AgfManifestRecord *r)
{
  return r->crop && *r->crop && (!r->status || !*r->status ||
                                 !g_strcmp0(r->status, "ok"));
}

AgfTrainData *agf_train_data_open(const char *manifest, AgfTrainRows select,
                                  GError **error)
{
  g_autoptr(AgfManifest) m = agf_manifest_load(manifest, error);
  if (!m)
    return NULL;
  const guint n = agf_manifest_len(m);
  gboolean labeled = FALSE;
  for (guint i = 0; i < n; i++)
    labeled |= agf_manifest_get(m, i)->label != AGF_LABEL_NONE;
  GArray *rows = g_array_new(FALSE, FALSE, sizeof(guint));
  for (guint i = 0; i < n; i++) {
    const AgfManifestRecord *r = agf_manifest_get(m, i);
    if (!row_has_crop(r))
      continue;
    if (select == AGF_TRAIN_ROWS_LIVE && labeled && r->label != AGF_LABEL_LIVE)
      continue;
    g_array_append_val(rows, i);
  }
  if (rows->len == 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s has no %s with an aligned crop (of %u rows): pass the "
                "manifest that 'agfas-train prepare' wrote", manifest,
                select == AGF_TRAIN_ROWS_LIVE && labeled ? "live face"
                                                         : "face", n);
    g_array_unref(rows);
    return NULL;
  }
  AgfTrainData *d = g_new0(AgfTrainData, 1);
  d->m = g_steal_pointer(&m);
  d->name = g_strdup(manifest);
  d->rows = rows;
  d->cache = g_new0(AgfImage *, rows->len);
  d->perm = g_new(guint, rows->len);
  d->perm_epoch = -1;
  return d;
}

void agf_train_data_free(AgfTrainData *d)
{
  if (!d)
    return;
  for (guint i = 0; i < d->rows->len; i++)
    agf_image_free(d->cache[i]);
  g_free(d->cache);
  g_free(d->perm);
  g_array_unref(d->rows);
  agf_manifest_free(d->m);
  g_free(d->name);
  g_free(d);
}

guint agf_train_data_len(const AgfTrainData *d)
{
  return d->rows->len;
}

const AgfManifestRecord *agf_train_data_record(const AgfTrainData *d, guint i)
{
  return agf_manifest_get(d->m, g_array_index(d->rows, guint, i));
}

char *agf_train_data_crop_path(const AgfTrainData *d, guint i)
{
  return agf_manifest_resolve(d->m, agf_train_data_record(d, i)->crop);
}

/* Fisher-Yates keyed by (seed, epoch). */
static const guint *permutation(AgfTrainData *d, guint64 seed, gint64 epoch)
{
  if (d->perm_epoch == epoch)
    return d->perm;
  const guint n = d->rows->len;
  for (guint i = 0; i < n; i++)
    d->perm[i] = i;
  for (guint i = n - 1; i > 0; i--) {
    guint j = (guint)(agf_rng_uniform(seed, STREAM_PERM + (guint64)epoch, i) *
                      (i + 1));
    if (j > i)
      j = i;
    guint t = d->perm[i];
    d->perm[i] = d->perm[j];
    d->perm[j] = t;
  }
  d->perm_epoch = epoch;
  return d->perm;
}

void agf_train_data_sample(AgfTrainData *d, guint64 seed, gint64 step,
                           int batch, guint *rows, gboolean *flip)
{
  const guint64 n = d->rows->len;
  for (int b = 0; b < batch; b++) {
    const guint64 k = (guint64)step * (guint64)batch + (guint64)b;
    rows[b] = permutation(d, seed, (gint64)(k / n))[k % n];
    flip[b] = agf_rng_uniform(seed, STREAM_FLIP, k) < 0.5;
  }
}

static const AgfImage *crop_image(AgfTrainData *d, guint row, GError **error)
{
  if (d->cache[row])
    return d->cache[row];
  g_autofree char *path = agf_train_data_crop_path(d, row);
  AgfImage *img = agf_image_load(path, error);
  if (!img) {
    g_prefix_error(error, "%s row %u: ", d->name,
                   g_array_index(d->rows, guint, row) + 1);
    return NULL;
  }
  const gsize bytes = img->stride * (gsize)img->height;
  if (d->cached_bytes + bytes <= CACHE_BUDGET) {
    d->cache[row] = img;
    d->cached_bytes += bytes;
    return img;
  }
  /* over budget: a one-use image, freed after this batch by the caller */
  return img;
}

AgfTensor *agf_train_data_load(AgfTrainData *d, const guint *rows,
                               const gboolean *flip, int n, int size,
                               AgfDevice *dev, AgfDType dt, GError **error)
{
  g_return_val_if_fail(n > 0 && size > 0, NULL);
  int w = 0, h = 0;
  g_autofree float *host = NULL;
  for (int b = 0; b < n; b++) {
    const AgfImage *img = crop_image(d, rows[b], error);
    if (!img)
      return NULL;
    if (b == 0) {
      w = img->width;
      h = img->height;
      host = g_new(float, (gsize)n * 3 * (gsize)w * (gsize)h);
    } else if (img->width != w || img->height != h) {
      g_autofree char *p = agf_train_data_crop_path(d, rows[b]);
      g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                  "crop %s is %dx%d but the batch's others are %dx%d: "
                  "prepare every face at one crop size", p, img->width,
                  img->height, w, h);
      if (!d->cache[rows[b]])
        agf_image_free((AgfImage *)img);
      return NULL;
    }
    const gsize plane = (gsize)w * (gsize)h;
    float *dst = host + (gsize)b * 3 * plane;
    for (int y = 0; y < h; y++) {
      const guint8 *src = img->pixels + (gsize)y * img->stride;
      for (int x = 0; x < w; x++) {
        const int sx = flip[b] ? w - 1 - x : x;
        for (int c = 0; c < 3; c++)
          dst[c * plane + (gsize)y * w + x] =
            src[sx * img->channels + c] * (2.0f / 255.0f) - 1.0f;
      }
    }
    if (!d->cache[rows[b]])
      agf_image_free((AgfImage *)img);
  }
  const int64_t shape[4] = { n, 3, h, w };
  g_autoptr(AgfTensor) x = agf_tensor_from_f32(dev, dt, 4, shape, host, error);
  if (!x || (w == size && h == size))
    return g_steal_pointer(&x);
  return agf_resize_bilinear(x, size, size, FALSE, error);
}

AgfTensor *agf_train_data_batch(AgfTrainData *d, guint64 seed, gint64 step,
                                int batch, int size, AgfDevice *dev,
                                AgfDType dt, GError **error)
{
  g_autofree guint *rows = g_new(guint, batch);
  g_autofree gboolean *flip = g_new(gboolean, batch);
  agf_train_data_sample(d, seed, step, batch, rows, flip);
  return agf_train_data_load(d, rows, flip, batch, size, dev, dt, error);
}
