/* Crash-safe file replacement: write a temporary file next to the target,
 * fsync it, rename it over the target and fsync the folder, so readers see
 * either the old file or the complete new one, never a torn mix. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct AgfAtomicFile AgfAtomicFile;

/* Creates "PATH.tmp-XXXXXX" in PATH's folder. what names the kind of file
 * in messages ("weights file", "manifest"; NULL for none). */
AgfAtomicFile *agf_atomic_file_open(const char *path, const char *what,
                                    GError **error);
/* Appends n bytes; on failure the file stays open for abort. */
gboolean agf_atomic_file_write(AgfAtomicFile *f, const void *data, gsize n,
                               GError **error);
/* fsync, close, rename over the target and fsync its folder. Consumes f;
 * on failure the temporary file is removed and the target left as it was. */
gboolean agf_atomic_file_commit(AgfAtomicFile *f, GError **error);
/* Removes the temporary file and frees f; NULL is fine. */
void agf_atomic_file_abort(AgfAtomicFile *f);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfAtomicFile, agf_atomic_file_abort)

/* open + write + commit of one buffer. */
gboolean agf_atomic_write(const char *path, const char *what,
                          const void *data, gsize n, GError **error);

/* write(2) until done, EINTR retried, huge buffers chunked; FALSE with
 * errno set. */
gboolean agf_write_all(int fd, const void *data, gsize n);
/* fsync the folder holding path, so a new or renamed entry in it survives
 * a crash. The error names path. */
gboolean agf_fsync_dir_of(const char *path, GError **error);

G_END_DECLS
