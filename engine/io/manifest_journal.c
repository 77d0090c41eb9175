/* The append-only journal of prepared records (AgfManifestJournal): one
 * JSON line per record, fdatasync'd per batch, flock'd against a second
 * writer. */
#include "io/manifest_private.h"
#include "io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "nn/error.h"

struct AgfManifestJournal {
  int fd;
  char *path;
  GMutex lock;
};

AgfManifestJournal *agf_manifest_journal_open(const char *path,
                                              AgfManifest **records,
                                              GError **error)
{
  int fd = g_open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot open journal %s: %s",
                path, g_strerror(e));
    return NULL;
  }
  /* Two writers would interleave batches and both believe they own it. */
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
                "journal %s is in use by another process (is another "
                "agfas-train prepare writing to this folder?)", path);
    close(fd);
    return NULL;
  }
  /* Best effort: a journal that was just created should survive a crash. */
  agf_fsync_dir_of(path, NULL);
  g_autofree char *data = NULL;
  gsize len = 0;
  GError *e = NULL;
  if (!g_file_get_contents(path, &data, &len, &e)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot read journal: %s",
                e->message);
    g_error_free(e);
    close(fd);
    return NULL;
  }
  /* Keep whole lines only: a crash mid-append can leave a torn tail. */
  gsize keep = len;
  while (keep && data[keep - 1] != '\n')
    keep--;
  if (keep < len && ftruncate(fd, (off_t)keep) != 0) {
    int en = errno;
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
                "cannot drop the torn last line of journal %s: %s", path,
                g_strerror(en));
    close(fd);
    return NULL;
  }
  if (records) {
    g_autofree char *dir = g_path_get_dirname(path);
    *records = agf_manifest_parse(data, keep, AGF_MANIFEST_JSONL, path, dir,
                                  error);
    if (!*records) {
      close(fd);
      return NULL;
    }
  }
  AgfManifestJournal *j = g_new0(AgfManifestJournal, 1);
  j->fd = fd;
  j->path = g_strdup(path);
  g_mutex_init(&j->lock);
  return j;
}

gboolean agf_manifest_journal_append(AgfManifestJournal *j,
                                     AgfManifestRecord *const *recs, guint n,
                                     GError **error)
{
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < n; i++) {
    g_autofree char *line = agf_manifest_record_to_json(recs[i]);
    g_string_append(s, line);
    g_string_append_c(s, '\n');
  }
  g_mutex_lock(&j->lock);
  gboolean ok = agf_write_all(j->fd, s->str, s->len) &&
                fdatasync(j->fd) == 0;
  int e = errno;
  g_mutex_unlock(&j->lock);
  g_string_free(s, TRUE);
  if (!ok)
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot append to journal "
                "%s: %s (disk full?)", j->path, g_strerror(e));
  return ok;
}

void agf_manifest_journal_close(AgfManifestJournal *j)
{
  if (!j)
    return;
  close(j->fd);
  g_mutex_clear(&j->lock);
  g_free(j->path);
  g_free(j);
}
