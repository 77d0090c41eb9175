/* The built-in sample the welcome page offers: a face the project's DFG
 * generated from noise (live.png) and a simulated print attack of it
 * (print.png), both made by `agfas-train sample` (no photograph of anyone).
 *
 * The pair lives in a sample folder, looked up in this order:
 *   1. $AGFAS_SAMPLE_DIR, when set: the only place looked (tests, users
 *      with their own pair)
 *   2. SOURCE/resources/sample   (the source tree the app was built from)
 *   3. DATADIR/agfas/sample      (installed)
 * A folder counts only when it holds both files.
 *
 * Window action added: open-sample(s) with "live" or "print", disabled
 * when no folder holds the pair; the welcome page's sample buttons and a
 * "Built-in Sample" submenu of the primary menu use it. */
#pragma once
#include <gtk/gtk.h>

#include "agfas-window.h"

G_BEGIN_DECLS

/* The searched folders in order (NULL-terminated; g_strfreev). */
char **agfas_sample_search_path(void);
/* The first folder holding live.png and print.png, or NULL and an error
 * (AGF_ERROR_IO) saying where it looked and how to make the pair. */
char *agfas_sample_find_dir(GError **error);
/* kind "live" or "print" -> that file of the found pair, or NULL and an
 * error. */
char *agfas_sample_find(const char *kind, GError **error);

/* Adds win.open-sample, sets the sensitivity and tooltip of the welcome
 * page's sample buttons (the template's "sample_box") and appends the
 * submenu to the template's "media_section" menu. */
void agfas_sample_attach(AgfasWindow *win);
/* Re-checks whether the pair exists (after making it while the app runs). */
void agfas_sample_refresh(AgfasWindow *win);

G_END_DECLS
