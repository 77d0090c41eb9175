/* Device listing and selection ("cpu", "vulkan:N", "vulkan", "auto"), and
 * the thin device API that forwards to the backend. */
#include <stdlib.h>
#include <string.h>
#include "nn/backend.h"

/* Preference of auto selection; CPU drivers rank below every GPU. */
static int
type_rank(AgfDeviceType type)
{
  switch (type) {
  case AGF_DEVICE_TYPE_DISCRETE: return 4;
  case AGF_DEVICE_TYPE_INTEGRATED: return 3;
  case AGF_DEVICE_TYPE_VIRTUAL: return 2;
  case AGF_DEVICE_TYPE_OTHER: return 2;
  default: return 1; /* CPU driver */
  }
}

static GArray *
list_devices(GError **error)
{
  g_autoptr(GArray) all = g_array_new(FALSE, TRUE, sizeof(AgfDeviceInfo));
  /* The CPU entry is the backend's own description (cheap to create). */
  AgfDevice *cpu = agf_cpu_device_new(error);
  if (cpu == NULL)
    return NULL;
  g_array_append_val(all, cpu->info);
  agf_device_free(cpu);
  if (!agf_vk_enumerate(all, error))
    return NULL;
  return g_steal_pointer(&all);
}

AgfDeviceInfo *
agf_device_list(int *n_out, GError **error)
{
  GArray *all = list_devices(error);
  if (all == NULL)
    return NULL;
  if (n_out)
    *n_out = (int) all->len;
  return (AgfDeviceInfo *) g_array_free(all, FALSE);
}

/* "cpu, vulkan:0 (name), ..., vulkan, auto" for error messages. */
static char *
valid_specs(const GArray *all)
{
  GString *s = g_string_new("cpu");
  for (guint i = 0; i < all->len; i++) {
    const AgfDeviceInfo *d = &g_array_index(all, AgfDeviceInfo, i);
    if (d->backend == AGF_BACKEND_VULKAN)
      g_string_append_printf(s, ", %s (%s)", d->spec, d->name);
  }
  g_string_append(s, all->len > 1 ? ", vulkan, auto" : ", auto");
  return g_string_free(s, FALSE);
}

/* Index in all of the best Vulkan device, or -1. */
static int
best_vulkan(const GArray *all)
{
  int best = -1;
  for (guint i = 0; i < all->len; i++) {
    const AgfDeviceInfo *d = &g_array_index(all, AgfDeviceInfo, i);
    if (d->backend != AGF_BACKEND_VULKAN)
      continue;
    const AgfDeviceInfo *b = best >= 0 ? &g_array_index(all, AgfDeviceInfo, best)
                                       : NULL;
    if (b == NULL || type_rank(d->type) > type_rank(b->type) ||
        (type_rank(d->type) == type_rank(b->type) &&
         d->memory_bytes > b->memory_bytes))
      best = (int) i;
  }
  return best;
}

/* Parses "vulkan:N" into N; FALSE when spec has another form. */
static gboolean
parse_vulkan_index(const char *spec, gint64 *index)
{
  if (g_ascii_strncasecmp(spec, "vulkan:", 7) != 0 || spec[7] == '\0')
    return FALSE;
  guint64 v;
  if (!g_ascii_string_to_unsigned(spec + 7, 10, 0, G_MAXINT, &v, NULL))
    return FALSE;
  *index = (gint64) v;
  return TRUE;
}

static AgfDevice *
open_listed(const AgfDeviceInfo *d, GError **error)
{
  return d->backend == AGF_BACKEND_CPU ? agf_cpu_device_new(error)
                                       : agf_vk_device_new(d->vk_index, error);
}

AgfDevice *
agf_device_open(const char *spec, GError **error)
{
  if (spec == NULL)
    spec = g_getenv("AGFAS_DEVICE");
  g_autofree char *want = g_strstrip(g_strdup(spec ? spec : ""));
  if (*want == '\0' || g_ascii_strcasecmp(want, "auto") == 0) {
    g_free(want);
    want = g_strdup("auto");
  }
  if (g_ascii_strcasecmp(want, "cpu") == 0)
    return agf_cpu_device_new(error);

  g_autoptr(GError) list_error = NULL;
  g_autoptr(GArray) all = list_devices(&list_error);
  if (all == NULL) {
    if (strcmp(want, "auto") == 0) {
      /* A broken Vulkan driver must not keep the program from running. */
      g_message("Vulkan is unavailable (%s); using the CPU backend",
                list_error->message);
      return agf_cpu_device_new(error);
    }
    g_propagate_prefixed_error(error, g_steal_pointer(&list_error),
                               "cannot open device \"%s\": ", want);
    return NULL;
  }

  g_autofree char *specs = valid_specs(all);
  int best = best_vulkan(all);
  gint64 index;
  if (strcmp(want, "auto") == 0) {
    const AgfDeviceInfo *b = best >= 0 ? &g_array_index(all, AgfDeviceInfo, best)
                                       : NULL;
    if (b == NULL || b->type == AGF_DEVICE_TYPE_CPU_DRIVER)
      return agf_cpu_device_new(error); /* our CPU backend beats a CPU driver */
    return open_listed(b, error);
  }
  if (g_ascii_strcasecmp(want, "vulkan") == 0) {
    if (best < 0) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_NO_DEVICE,
                  "no Vulkan 1.1 device found: install a Vulkan driver (e.g. "
                  "the Debian package mesa-vulkan-drivers) or use the device "
                  "\"cpu\" (valid devices: %s)", specs);
      return NULL;
    }
    return open_listed(&g_array_index(all, AgfDeviceInfo, best), error);
  }
  if (parse_vulkan_index(want, &index)) {
    for (guint i = 0; i < all->len; i++) {
      const AgfDeviceInfo *d = &g_array_index(all, AgfDeviceInfo, i);
      if (d->backend == AGF_BACKEND_VULKAN && d->vk_index == index)
        return open_listed(d, error);
    }
    g_set_error(error, AGF_ERROR, AGF_ERROR_NO_DEVICE,
                "there is no Vulkan device %" G_GINT64_FORMAT " (\"%s\"): "
                "valid devices are %s", index, want, specs);
    return NULL;
  }
  g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
              "unknown device \"%s\": valid devices are %s", want, specs);
  return NULL;
}

void
agf_device_free(AgfDevice *dev)
{
  if (dev)
    dev->be->destroy(dev);
}

const AgfDeviceInfo *
agf_device_info(const AgfDevice *dev)
{
  g_return_val_if_fail(dev != NULL, NULL);
  return &dev->info;
}

gboolean
agf_device_supports_dtype(const AgfDevice *dev, AgfDType dt)
{
  g_return_val_if_fail(dev != NULL, FALSE);
  switch (dt) {
  case AGF_F32:
  case AGF_U8:
    return TRUE;
  case AGF_F16:
    return dev->info.fp16;
  default:
    return FALSE;
  }
}

gboolean
agf_device_sync(AgfDevice *dev, GError **error)
{
  g_return_val_if_fail(dev != NULL, FALSE);
  return dev->be->sync(dev, error);
}

void
agf_device_mem_stats(const AgfDevice *dev, AgfMemStats *out)
{
  g_return_if_fail(out != NULL);
  memset(out, 0, sizeof *out);
  g_return_if_fail(dev != NULL);
  dev->be->mem_stats(dev, out);
}

void
agf_device_reset_peak(AgfDevice *dev)
{
  g_return_if_fail(dev != NULL);
  dev->be->reset_peak(dev);
}

void
agf_device_set_profiling(AgfDevice *dev, gboolean on)
{
  g_return_if_fail(dev != NULL);
  dev->profiling = on;
}

AgfOpTiming *
agf_device_take_timings(AgfDevice *dev, int *n_out, GError **error)
{
  g_return_val_if_fail(dev != NULL, NULL);
  GError *err = NULL;
  int n = 0;
  AgfOpTiming *t = dev->be->take_timings(dev, &n, &err);
  if (err) {
    g_propagate_error(error, err);
    g_free(t);
    t = NULL;
    n = 0;
  } else if (t == NULL) {
    t = g_new0(AgfOpTiming, 1); /* none recorded: NULL would mean failure */
    n = 0;
  }
  if (n_out)
    *n_out = n;
  return t;
}
