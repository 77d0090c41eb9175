/* SRC arguments of agfas-train prepare -> work items (train_prepare.h). */
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include "train_prepare.h"
#include "nn/error.h"

static const char *const image_exts[] = {
  "jpg", "jpeg", "jpe", "png", "webp", "bmp", NULL
};
static const char *const video_exts[] = {
  "mp4", "m4v", "mov", "avi", "mkv", "webm", "mpg", "mpeg", "wmv", "flv",
  "3gp", "ts", "mts", "m2ts", "ogv", NULL
};

static gboolean ext_in(const char *path, const char *const *exts)
{
  const char *base = strrchr(path, '/');
  const char *dot = strrchr(base ? base : path, '.');
  if (!dot)
    return FALSE;
  for (const char *const *e = exts; *e; e++)
    if (!g_ascii_strcasecmp(dot + 1, *e))
      return TRUE;
  return FALSE;
}

AgfMediaKind agf_prep_kind_of(const char *path)
{
  if (ext_in(path, image_exts))
    return AGF_MEDIA_IMAGE;
  if (ext_in(path, video_exts))
    return AGF_MEDIA_VIDEO;
  return AGF_MEDIA_GUESS;
}

static gboolean is_manifest(const char *path)
{
  static const char *const exts[] = { "csv", "jsonl", "ndjson", NULL };
  return ext_in(path, exts);
}

typedef struct {
  GPtrArray *items;
  GHashTable *seen; /* absolute paths */
  guint duplicates;
} Collect;

static void add_item(Collect *c, const char *abs, AgfMediaKind kind,
                     AgfManifestRecord *meta)
{
  if (!g_hash_table_add(c->seen, g_strdup(abs))) {
    c->duplicates++;
    agf_manifest_record_free(meta);
    return;
  }
  AgfPrepItem *it = g_new0(AgfPrepItem, 1);
  it->path = g_strdup(abs);
  it->kind = kind;
  it->index = c->items->len;
  it->meta = meta;
  g_free(meta->path);
  meta->path = g_strdup(abs);
  g_ptr_array_add(c->items, it);
}

static int cmp_str(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Recursive walk in sorted order (stable item order between runs); hidden
 * entries and symlinked folders (loops) are skipped. */
static gboolean walk(Collect *c, const char *dir, const char *src,
                     const char *skip_dir, GError **error)
{
  GError *e = NULL;
  g_autoptr(GDir) d = g_dir_open(dir, 0, &e);
  if (!d) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot list %s", e->message);
    g_error_free(e);
    return FALSE;
  }
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  const char *n;
  while ((n = g_dir_read_name(d)))
    if (n[0] != '.')
      g_ptr_array_add(names, g_strdup(n));
  g_ptr_array_sort(names, cmp_str);
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *p = g_build_filename(dir, names->pdata[i], NULL);
    GStatBuf st;
    if (g_lstat(p, &st) != 0)
      continue;
    if (S_ISLNK(st.st_mode) && g_stat(p, &st) == 0 && S_ISDIR(st.st_mode))
      continue;
    if (S_ISDIR(st.st_mode)) {
      if (skip_dir && !strcmp(p, skip_dir))
        continue;
      if (!walk(c, p, src, skip_dir, error))
        return FALSE;
      continue;
    }
    AgfMediaKind k = agf_prep_kind_of(p);
    if (!S_ISREG(st.st_mode) || k == AGF_MEDIA_GUESS)
      continue;
    AgfManifestRecord *meta = agf_manifest_record_new();
    meta->source = g_strdup(src);
    add_item(c, p, k, meta);
  }
  return TRUE;
}

static gboolean add_manifest(Collect *c, const char *path, GError **error)
{
  g_autoptr(AgfManifest) m = agf_manifest_load(path, error);
  if (!m)
    return FALSE;
  for (guint i = 0; i < agf_manifest_len(m); i++) {
    AgfManifestRecord *meta = agf_manifest_record_copy(agf_manifest_get(m, i));
    g_autofree char *abs = agf_manifest_resolve(m, meta->path);
    /* What prepare computes is not carried over from the input. */
    meta->frame = -1;
    meta->face = -1;
    meta->has_box = meta->has_landmarks = FALSE;
    meta->score = NAN;
    g_clear_pointer(&meta->crop, g_free);
    g_clear_pointer(&meta->status, g_free);
    g_clear_pointer(&meta->error, g_free);
    if (!meta->source || !*meta->source) {
      g_free(meta->source);
      meta->source = g_strdup(path);
    }
    add_item(c, abs, agf_prep_kind_of(abs), meta);
  }
  return TRUE;
}

static void item_free(gpointer p)
{
  AgfPrepItem *it = p;
  g_free(it->path);
  agf_manifest_record_free(it->meta);
  g_free(it);
}

GPtrArray *agf_prep_collect(char **srcs, const char *skip_dir,
                            guint *duplicates, GError **error)
{
  Collect c = { g_ptr_array_new_with_free_func(item_free),
                g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
                0 };
  g_autofree char *cwd = g_get_current_dir();
  gboolean ok = TRUE;
  for (char **s = srcs; ok && *s; s++) {
    g_autofree char *abs = g_canonicalize_filename(*s, cwd);
    GStatBuf st;
    if (g_stat(abs, &st) != 0) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
                  "SRC %s does not exist (give folders, image or video "
                  "files, or CSV/JSONL manifests)", *s);
      ok = FALSE;
    } else if (S_ISDIR(st.st_mode)) {
      ok = walk(&c, abs, abs, skip_dir, error);
    } else if (is_manifest(abs)) {
      ok = add_manifest(&c, abs, error);
    } else {
      AgfManifestRecord *meta = agf_manifest_record_new();
      meta->source = g_strdup(abs);
      add_item(&c, abs, agf_prep_kind_of(abs), meta);
    }
  }
  g_hash_table_unref(c.seen);
  if (!ok) {
    g_ptr_array_unref(c.items);
    return NULL;
  }
  *duplicates = c.duplicates;
  return c.items;
}
