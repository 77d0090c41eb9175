/* The user's preferences (device, display and reconstruction knobs),
 * kept in a GKeyFile at g_get_user_config_dir()/agfas/settings.ini and
 * replaced atomically on every save, so a crash never leaves a torn file. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *device;          /* device spec ("auto", "cpu", "vulkan:0", ...) */
  char *colormap;        /* "viridis", "inferno", "turbo" or "grey" */
  char *sampler;         /* "ddim" or "pndm" */
  int steps;             /* denoising steps, 1..200 */
  double t0;             /* strength, a fraction of T in 0.05..1 */
  gboolean mask;         /* zero the background of the cue */
  gboolean fixed_range;  /* heatmap range: fixed (TRUE) or per image */
  gboolean overlay;      /* heatmap blended over the input */
  double overlay_opacity; /* its opacity, 0..1 */
} AgfasSettings;

/* Fills s with the defaults (the knobs' initial values). */
void agfas_settings_init(AgfasSettings *s);
void agfas_settings_clear(AgfasSettings *s);
/* g_get_user_config_dir()/agfas/settings.ini; free with g_free. */
char *agfas_settings_default_path(void);
/* Reads path into s. A missing file gives the defaults silently; an
 * unreadable or corrupt file, or an out-of-range value, gives the
 * defaults (for the bad keys) with a warning that names the file. */
void agfas_settings_load(AgfasSettings *s, const char *path);
/* Writes s to path atomically, creating its folder. */
gboolean agfas_settings_save(const AgfasSettings *s, const char *path,
                             GError **error);

G_END_DECLS
