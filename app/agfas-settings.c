/* See agfas-settings.h. */
#include "agfas-settings.h"

#include <errno.h>

#include "io/atomic_file.h"

#define GROUP "analysis"

static const char *const colormaps[] = { "viridis", "inferno", "turbo",
                                         "grey", NULL };
static const char *const samplers[] = { "ddim", "pndm", NULL };

void agfas_settings_init(AgfasSettings *s)
{
  s->device = g_strdup("auto");
  s->colormap = g_strdup("viridis");
  s->sampler = g_strdup("ddim");
  s->steps = 10;
  s->t0 = 0.3;
  s->mask = TRUE;
  s->fixed_range = FALSE;
  s->overlay = FALSE;
  s->overlay_opacity = 0.5;
}

void agfas_settings_clear(AgfasSettings *s)
{
  g_clear_pointer(&s->device, g_free);
  g_clear_pointer(&s->colormap, g_free);
  g_clear_pointer(&s->sampler, g_free);
}

char *agfas_settings_default_path(void)
{
  return g_build_filename(g_get_user_config_dir(), "agfas", "settings.ini",
                          NULL);
}

static void warn_key(const char *path, const char *key, const char *why)
{
  g_warning("preferences file %s: key %s %s; using its default (fix or "
            "delete the file)", path, key, why);
}

/* Replaces *dst by the key's value if it is one of allowed. */
static void load_choice(GKeyFile *kf, const char *path, const char *key,
                        const char *const *allowed, char **dst)
{
  if (!g_key_file_has_key(kf, GROUP, key, NULL))
    return;
  g_autofree char *v = g_key_file_get_string(kf, GROUP, key, NULL);
  if (v && g_strv_contains(allowed, v))
    g_free(*dst), *dst = g_steal_pointer(&v);
  else
    warn_key(path, key, "has an unknown value");
}

static void load_bool(GKeyFile *kf, const char *path, const char *key,
                      gboolean *dst)
{
  if (!g_key_file_has_key(kf, GROUP, key, NULL))
    return;
  GError *error = NULL;
  gboolean v = g_key_file_get_boolean(kf, GROUP, key, &error);
  if (error) {
    warn_key(path, key, "is not true or false");
    g_error_free(error);
    return;
  }
  *dst = v;
}

void agfas_settings_load(AgfasSettings *s, const char *path)
{
  g_autoptr(GKeyFile) kf = g_key_file_new();
  GError *error = NULL;
  if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &error)) {
    if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      g_warning("preferences file %s unreadable (%s); using the defaults "
                "(fix or delete the file)", path, error->message);
    g_error_free(error);
    return;
  }
  if (g_key_file_has_key(kf, GROUP, "device", NULL)) {
    g_autofree char *v = g_key_file_get_string(kf, GROUP, "device", NULL);
    if (v && *v)
      g_free(s->device), s->device = g_steal_pointer(&v);
    else
      warn_key(path, "device", "is empty");
  }
  load_choice(kf, path, "colormap", colormaps, &s->colormap);
  load_choice(kf, path, "sampler", samplers, &s->sampler);
  if (g_key_file_has_key(kf, GROUP, "steps", NULL)) {
    int v = g_key_file_get_integer(kf, GROUP, "steps", &error);
    if (error || v < 1 || v > 200)
      warn_key(path, "steps", "is not a whole number in 1..200");
    else
      s->steps = v;
    g_clear_error(&error);
  }
  if (g_key_file_has_key(kf, GROUP, "t0", NULL)) {
    double v = g_key_file_get_double(kf, GROUP, "t0", &error);
    if (error || !(v >= 0.05 && v <= 1))
      warn_key(path, "t0", "is not a number in 0.05..1");
    else
      s->t0 = v;
    g_clear_error(&error);
  }
  load_bool(kf, path, "mask", &s->mask);
  load_bool(kf, path, "overlay", &s->overlay);
  if (g_key_file_has_key(kf, GROUP, "overlay-opacity", NULL)) {
    double v = g_key_file_get_double(kf, GROUP, "overlay-opacity", &error);
    if (error || !(v >= 0 && v <= 1))
      warn_key(path, "overlay-opacity", "is not a number in 0..1");
    else
      s->overlay_opacity = v;
    g_clear_error(&error);
  }
  if (g_key_file_has_key(kf, GROUP, "heatmap-range", NULL)) {
    g_autofree char *v = g_key_file_get_string(kf, GROUP, "heatmap-range",
                                               NULL);
    if (g_strcmp0(v, "fixed") == 0 || g_strcmp0(v, "per-image") == 0)
      s->fixed_range = g_strcmp0(v, "fixed") == 0;
    else
      warn_key(path, "heatmap-range", "is not fixed or per-image");
  }
}

gboolean agfas_settings_save(const AgfasSettings *s, const char *path,
                             GError **error)
{
  g_autofree char *dir = g_path_get_dirname(path);
  if (g_mkdir_with_parents(dir, 0700) != 0) {
    int e = errno;
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                "Cannot create the preferences folder %s: %s; check its "
                "permissions", dir, g_strerror(e));
    return FALSE;
  }
  g_autoptr(GKeyFile) kf = g_key_file_new();
  g_key_file_set_string(kf, GROUP, "device", s->device);
  g_key_file_set_string(kf, GROUP, "colormap", s->colormap);
  g_key_file_set_string(kf, GROUP, "sampler", s->sampler);
  g_key_file_set_integer(kf, GROUP, "steps", s->steps);
  g_key_file_set_double(kf, GROUP, "t0", s->t0);
  g_key_file_set_boolean(kf, GROUP, "mask", s->mask);
  g_key_file_set_boolean(kf, GROUP, "overlay", s->overlay);
  g_key_file_set_double(kf, GROUP, "overlay-opacity", s->overlay_opacity);
  g_key_file_set_string(kf, GROUP, "heatmap-range",
                        s->fixed_range ? "fixed" : "per-image");
  gsize n = 0;
  g_autofree char *data = g_key_file_to_data(kf, &n, NULL);
  return agf_atomic_write(path, "preferences file", data, n, error);
}
