/* Recently opened files and folders, newest first, persisted in their own
 * keyfile g_get_user_config_dir()/agfas/recent.ini (the preferences file
 * is rewritten whole by agfas-settings.c, so the list lives apart), and
 * written atomically on every change. Paths that no longer exist are
 * dropped when the list is read. */
#pragma once
#include <gio/gio.h>

G_BEGIN_DECLS

#define AGFAS_RECENT_MAX 10

/* g_get_user_config_dir()/agfas/recent.ini (g_free). */
char *agfas_recent_default_path(void);

/* The list in file (a missing or unreadable file: empty, with a warning
 * for an unreadable one), at most AGFAS_RECENT_MAX existing paths. */
GStrv agfas_recent_load(const char *file);

/* Moves (or adds) path to the front, trims to AGFAS_RECENT_MAX and saves.
 * Errors: the file cannot be written (the message names it). */
gboolean agfas_recent_add(const char *file, const char *path, GError **error);

/* Fills menu (emptied first) with one item per recent path: label the
 * base name, action `action` with the path as its string target. An empty
 * list gives one disabled "No recent files" item. */
void agfas_recent_fill_menu(GMenu *menu, const char *const *paths,
                            const char *action);

G_END_DECLS
