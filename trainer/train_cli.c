/* Shared option handling and error reporting of agfas-train (train_cli.h). */
#include "train_cli.h"
#include <stdio.h>
#include <string.h>

static const char *const device_help =
  "Compute device: cpu, vulkan, vulkan:N or auto (see --list-devices); "
  "default $AGFAS_DEVICE, else auto";

GOptionContext *agf_cli_context(const AgfTrainCommand *cmd,
                                const GOptionEntry *entries,
                                AgfCliCommon *common, gboolean with_device,
                                const char *dtype_help)
{
  GOptionContext *ctx = g_option_context_new(cmd->args);
  g_autofree char *summary = g_strdup_printf("%c%s.", g_ascii_toupper(cmd->summary[0]),
                                             cmd->summary + 1);
  g_option_context_set_summary(ctx, summary);
  g_option_context_add_main_entries(ctx, entries, NULL);
  agf_cli_add_common(ctx, common, with_device, dtype_help);
  return ctx;
}

void agf_cli_add_common(GOptionContext *ctx, AgfCliCommon *common,
                        gboolean with_device, const char *dtype_help)
{
  if (!common)
    return;
  const GOptionEntry shared[] = {
    { "dtype", 0, 0, G_OPTION_ARG_STRING, &common->dtype, dtype_help,
      "f32|f16" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &common->device, device_help,
      "D" },
    { NULL }
  };
  /* --dtype always, --device only for commands that compute. */
  GOptionEntry used[3] = { shared[0], shared[2], shared[2] };
  if (with_device)
    used[1] = shared[1];
  g_option_context_add_main_entries(ctx, used, NULL);
}

gboolean agf_cli_parse(GOptionContext *ctx, const char *cmd, int *argc,
                       char ***argv, int *exit_code)
{
  GError *error = NULL;
  /* GLib prints --help under the name in argv[0]: make it the command. */
  g_autofree char *prg = g_strdup_printf("agfas-train %s", cmd);
  g_set_prgname(prg);
  if (g_option_context_parse(ctx, argc, argv, &error))
    return TRUE;
  *exit_code = agf_cli_usage_error(cmd, "%s", error->message);
  g_error_free(error);
  return FALSE;
}

int agf_cli_usage_error(const char *cmd, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  if (cmd)
    g_printerr("agfas-train %s: %s\nTry 'agfas-train %s --help'.\n", cmd, msg,
               cmd);
  else
    g_printerr("agfas-train: %s\nTry 'agfas-train --help'.\n", msg);
  return AGF_EXIT_USAGE;
}

int agf_cli_fail(GError *error)
{
  /* One line: a multi-line message is joined so scripts can grep it. */
  g_autofree char *msg = g_strdup(error ? error->message : "unknown failure");
  g_strdelimit(msg, "\n", ' ');
  g_printerr("agfas-train: error: %s\n", msg);
  g_clear_error(&error);
  return AGF_EXIT_FAILURE;
}

int agf_cli_result(const char *cmd, int rc, GError *error)
{
  if (rc == AGF_EXIT_USAGE) {
    rc = agf_cli_usage_error(cmd, "%s", error->message);
    g_error_free(error);
    return rc;
  }
  return rc == AGF_EXIT_OK ? rc : agf_cli_fail(error);
}

gboolean agf_cli_parse_dtype(const char *s, AgfDType *out, GError **error)
{
  if (!g_strcmp0(s, "f32") || !g_strcmp0(s, "float32")) {
    *out = AGF_F32;
    return TRUE;
  }
  if (!g_strcmp0(s, "f16") || !g_strcmp0(s, "float16")) {
    *out = AGF_F16;
    return TRUE;
  }
  g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
              "--dtype %s is not f32 or f16", s ? s : "(null)");
  return FALSE;
}

AgfDevice *agf_cli_open_device(const AgfCliCommon *common, AgfDType dt,
                               GError **error)
{
  AgfDevice *dev = agf_device_open(common->device, error);
  if (!dev)
    return NULL;
  if (!agf_device_supports_dtype(dev, dt)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED,
                "device %s (%s) does not compute in %s: use --dtype f32 or "
                "another --device", agf_device_info(dev)->spec,
                agf_device_info(dev)->name, agf_dtype_name(dt));
    agf_device_free(dev);
    return NULL;
  }
  return dev;
}

gboolean agf_cli_split_pair(const char *arg, const char *option, char **key,
                            char **value, GError **error)
{
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg || !eq[1]) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "--%s %s is not KEY=VALUE", option, arg);
    return FALSE;
  }
  *key = g_strndup(arg, eq - arg);
  *value = g_strdup(eq + 1);
  return TRUE;
}

char *agf_cli_file_sha256(const char *path, GError **error)
{
  g_autoptr(GMappedFile) f = g_mapped_file_new(path, FALSE, error);
  if (!f)
    return NULL;
  return g_compute_checksum_for_data(
    G_CHECKSUM_SHA256, (const guchar *)g_mapped_file_get_contents(f),
    g_mapped_file_get_length(f));
}

int agf_cli_list_devices(void)
{
  GError *error = NULL;
  int n = 0;
  g_autofree AgfDeviceInfo *list = agf_device_list(&n, &error);
  if (!list)
    return agf_cli_fail(error);
  for (int i = 0; i < n; i++)
    g_print("%-10s %s (%.1f GiB%s%s%s)\n", list[i].spec, list[i].name,
            list[i].memory_bytes / 1073741824.0, list[i].fp16 ? ", fp16" : "",
            list[i].coopmat ? ", coopmat" : "",
            list[i].type == AGF_DEVICE_TYPE_CPU_DRIVER ? ", CPU driver" : "");
  return AGF_EXIT_OK;
}
