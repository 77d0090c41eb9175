/* Crash-safe file replacement shared by every writer of whole files
 * (weights, manifests, images). */
#include "io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "nn/error.h"

struct AgfAtomicFile {
  int fd;
  char *path;
  char *tmp;
  char *what;
};

static void set_io_error(GError **error, const char *what, const char *path,
                         const char *step, int err)
{
  g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
              "cannot write %s%s%s: %s failed: %s (check the folder exists, "
              "is writable and the disk is not full)",
              what ? what : "", what ? " " : "", path, step, g_strerror(err));
}

gboolean agf_write_all(int fd, const void *data, gsize n)
{
  const guint8 *p = data;
  while (n) {
    ssize_t k = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k == 0)
      errno = EIO;
    if (k <= 0)
      return FALSE;
    p += k;
    n -= (gsize)k;
  }
  return TRUE;
}

static gboolean fsync_dir(const char *path, const char *what,
                          GError **error)
{
  g_autofree char *dir = g_path_get_dirname(path);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    int e = errno;
    set_io_error(error, what, path, "opening its folder to sync it", e);
    return FALSE;
  }
  if (fsync(dfd) != 0) {
    int e = errno;
    close(dfd);
    set_io_error(error, what, path, "fsync of its folder", e);
    return FALSE;
  }
  close(dfd);
  return TRUE;
}

gboolean agf_fsync_dir_of(const char *path, GError **error)
{
  return fsync_dir(path, NULL, error);
}

AgfAtomicFile *agf_atomic_file_open(const char *path, const char *what,
                                    GError **error)
{
  char *tmp = g_strconcat(path, ".tmp-XXXXXX", NULL);
  int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) {
    int e = errno;
    g_free(tmp);
    set_io_error(error, what, path, "creating a temporary file", e);
    return NULL;
  }
  AgfAtomicFile *f = g_new0(AgfAtomicFile, 1);
  f->fd = fd;
  f->path = g_strdup(path);
  f->tmp = tmp;
  f->what = g_strdup(what);
  return f;
}

static void atomic_file_free(AgfAtomicFile *f)
{
  g_free(f->path);
  g_free(f->tmp);
  g_free(f->what);
  g_free(f);
}

gboolean agf_atomic_file_write(AgfAtomicFile *f, const void *data, gsize n,
                               GError **error)
{
  if (agf_write_all(f->fd, data, n))
    return TRUE;
  set_io_error(error, f->what, f->path, "writing", errno);
  return FALSE;
}

void agf_atomic_file_abort(AgfAtomicFile *f)
{
  if (f == NULL)
    return;
  if (f->fd >= 0)
    close(f->fd);
  g_unlink(f->tmp);
  atomic_file_free(f);
}

gboolean agf_atomic_file_commit(AgfAtomicFile *f, GError **error)
{
  const char *step = NULL;
  int err = 0;
  if (fsync(f->fd) != 0) {
    step = "fsync";
    err = errno;
  }
  int fd = f->fd;
  f->fd = -1;
  if (close(fd) != 0 && step == NULL) {
    step = "close";
    err = errno;
  }
  if (step == NULL && g_rename(f->tmp, f->path) != 0) {
    step = "rename";
    err = errno;
  }
  if (step != NULL) {
    set_io_error(error, f->what, f->path, step, err);
    agf_atomic_file_abort(f);
    return FALSE;
  }
  /* The data is in place; make the rename itself durable. */
  gboolean ok = fsync_dir(f->path, f->what, error);
  atomic_file_free(f);
  return ok;
}

gboolean agf_atomic_write(const char *path, const char *what,
                          const void *data, gsize n, GError **error)
{
  g_autoptr(AgfAtomicFile) f = agf_atomic_file_open(path, what, error);
  if (f == NULL || !agf_atomic_file_write(f, data, n, error))
    return FALSE;
  return agf_atomic_file_commit(g_steal_pointer(&f), error);
}
