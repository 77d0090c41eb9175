/* The rows of agfas-train score's table (train_score.h). */
#include <errno.h>
#include <math.h>
#include <string.h>
#include "train_score.h"
#include "nn/error.h"

/* Set on every row in this order, so the columns come out in it too
 * (the manifest writer lists unknown columns by first appearance). */
static const char *const row_extras[] = { "x1", "y1", "x2", "y2", "verdict",
                                          "note" };

AgfManifestRecord *agf_score_row_new(const AgfManifestRecord *meta,
                                     gint64 frame, const char *status,
                                     const char *note)
{
  AgfManifestRecord *r = agf_manifest_record_copy(meta);
  r->frame = frame;
  r->face = -1;
  r->has_box = r->has_landmarks = FALSE;
  r->score = NAN;
  g_clear_pointer(&r->crop, g_free);
  g_clear_pointer(&r->error, g_free);
  g_free(r->status);
  r->status = g_strdup(status);
  if (frame >= 0 && (!r->video || !*r->video)) {
    g_free(r->video);
    r->video = g_strdup(r->path);
  }
  for (gsize i = 0; i < G_N_ELEMENTS(row_extras); i++)
    agf_manifest_record_set_extra(r, row_extras[i], "");
  agf_manifest_record_set_extra(r, "note", note ? note : "");
  return r;
}

void agf_score_row_set(AgfManifestRecord *r, const AgfFace *face,
                       double score, double threshold)
{
  const float box[4] = { face->x1, face->y1, face->x2, face->y2 };
  for (int i = 0; i < 4; i++) {
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(buf, sizeof buf, "%.1f", box[i]);
    agf_manifest_record_set_extra(r, row_extras[i], buf);
  }
  r->score = score;
  agf_manifest_record_set_extra(r, "verdict",
                                score >= threshold ? "spoof" : "live");
}

char *agf_score_key(const char *path, gint64 frame)
{
  return g_strdup_printf("%s\n%" G_GINT64_FORMAT, path, frame);
}

GHashTable *agf_score_done_set(const AgfManifest *m)
{
  GHashTable *done = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                           NULL);
  for (guint i = 0; i < agf_manifest_len(m); i++) {
    const AgfManifestRecord *r = agf_manifest_get(m, i);
    g_autofree char *abs = agf_manifest_resolve(m, r->path);
    g_hash_table_add(done, agf_score_key(abs, r->frame));
  }
  return done;
}

typedef struct {
  GHashTable *order;
  const AgfManifest *m;
} SortCtx;

static guint position(const SortCtx *c, const char *path)
{
  g_autofree char *abs = agf_manifest_resolve(c->m, path);
  return GPOINTER_TO_UINT(g_hash_table_lookup(c->order, abs));
}

static int cmp_rows(gconstpointer a, gconstpointer b, gpointer data)
{
  const AgfManifestRecord *x = *(AgfManifestRecord *const *)a;
  const AgfManifestRecord *y = *(AgfManifestRecord *const *)b;
  guint ix = position(data, x->path), iy = position(data, y->path);
  if (ix != iy)
    return ix < iy ? -1 : 1;
  if (!ix) /* both from elsewhere: keep their order (the sort is stable) */
    return 0;
  return (x->frame > y->frame) - (x->frame < y->frame);
}

void agf_score_sort(AgfManifest *m, GHashTable *order)
{
  SortCtx c = { order, m };
  agf_manifest_sort(m, cmp_rows, &c);
}

/* The table to continue (--resume) or a new one; refuses to replace an
 * existing file without --resume. */
AgfManifest *agf_score_open_table(const char *path, gboolean resume,
                                  GError **error)
{
  gboolean exists = g_file_test(path, G_FILE_TEST_EXISTS);
  if (exists && !resume) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s exists: pass --resume to continue it, or remove it",
                path);
    return NULL;
  }
  if (exists)
    return agf_manifest_load(path, error);
  g_autofree char *dir = g_path_get_dirname(path);
  if (g_mkdir_with_parents(dir, 0755) != 0) {
    int e = errno;
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot create %s: %s", dir,
                g_strerror(e));
    return NULL;
  }
  return agf_manifest_new(dir);
}
