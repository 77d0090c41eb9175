/* agfas-bench: per-op and per-network timings on the CPU backend and
 * Vulkan devices, with OpenBLAS (ops) and optionally PyTorch measured in
 * the same run.
 *
 *   agfas-bench [--device D] [--list-devices] ops [--json FILE] [--quick]
 *               [--filter SUBSTR] [--dtype f32|f16|all] [--torch]
 *               [--export-cases FILE]
 *   agfas-bench [--device D] models [--preset P] [--json FILE] [--quick]
 *               [--filter SUBSTR] [--dtype f32|f16|all] [--torch]
 *               [--cache-dir DIR]
 *   agfas-bench [--device D] train [--preset P] [--batch N] [--json FILE]
 *               [--quick] [--filter unet|vit|dfg|oanet|cue]
 *               [--dtype f32|f16|all] [--torch] [--cache-dir DIR]
 */
#include <stdlib.h>
#include <string.h>
#include "bench.h"
#include "bench_train.h"
#include "cpu/cpu_wait_policy.h"

static char *opt_device;
static gboolean opt_list;
static char *opt_json;
static gboolean opt_quick;
static char *opt_filter;
static char *opt_dtype;
static gboolean opt_torch;
static char *opt_export;
static char *opt_preset;
static char *opt_cache;
static int opt_batch;

static const GOptionEntry entries[] = {
  { "device", 'd', 0, G_OPTION_ARG_STRING, &opt_device,
    "cpu, vulkan:N, vulkan, auto, or all (CPU + every Vulkan device); default "
    "$AGFAS_DEVICE, else auto", "D" },
  { "list-devices", 0, 0, G_OPTION_ARG_NONE, &opt_list, "List the devices and exit", NULL },
  { "json", 'j', 0, G_OPTION_ARG_FILENAME, &opt_json, "Also write the results as JSON", "FILE" },
  { "quick", 'q', 0, G_OPTION_ARG_NONE, &opt_quick,
    "ops: a small subset with fewer samples (about a minute on lavapipe); "
    "models: fewer runs and an OA-Net batch of 8; train: the tiny preset, 2 "
    "timed steps (cue: 1 generation of 10 PNDM steps) and smaller batches",
    NULL },
  { "filter", 'f', 0, G_OPTION_ARG_STRING, &opt_filter,
    "Only cases (ops), networks (models) or steps (train: unet, vit, dfg, "
    "oanet, cue) whose "
    "name contains SUBSTR", "SUBSTR" },
  { "dtype", 0, 0, G_OPTION_ARG_STRING, &opt_dtype,
    "f32, f16 or all (default: f32, plus f16 on Vulkan devices that have it)", "T" },
  { "torch", 0, 0, G_OPTION_ARG_NONE, &opt_torch,
    "Also time the same cases with PyTorch (CPU, and CUDA when present)", NULL },
  { "export-cases", 0, 0, G_OPTION_ARG_FILENAME, &opt_export,
    "ops: write the selected cases as JSON for bench_torch_ops.py and exit", "FILE" },
  { "preset", 'p', 0, G_OPTION_ARG_STRING, &opt_preset,
    "models, train: tiny, small, paper, a comma list of them, or all (default "
    "tiny,small; paper writes 2.2 GB of f16 weights once)", "P" },
  { "cache-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_cache,
    "models, train: where the random-weight checkpoints are kept (default "
    "$XDG_CACHE_HOME/agfas/bench)", "DIR" },
  { "batch", 'b', 0, G_OPTION_ARG_INT, &opt_batch,
    "train: samples per step (default: unet 2, vit 8, dfg 4, oanet 8, cue 2; "
    "--quick: vit 4, dfg 2, oanet 4, cue 1; oanet rounds down to a multiple "
    "of 4)", "N" },
  { NULL }
};

static int list_devices(void)
{
  GError *error = NULL;
  int n = 0;
  g_autofree AgfDeviceInfo *list = agf_device_list(&n, &error);
  if (!list) {
    g_printerr("agfas-bench: %s\n", error->message);
    return 1;
  }
  for (int i = 0; i < n; i++)
    g_print("%-10s %s%s%s (%.1f GiB%s)\n", list[i].spec, list[i].name,
            list[i].fp16 ? ", fp16" : "", list[i].coopmat ? ", coopmat" : "",
            list[i].memory_bytes / 1073741824.0,
            list[i].type == AGF_DEVICE_TYPE_CPU_DRIVER ? ", CPU driver" : "");
  return 0;
}

/* The devices to run on: one spec, or "all". */
GPtrArray *bench_open_devices(const char *spec, GError **error)
{
  GPtrArray *devs = g_ptr_array_new_with_free_func((GDestroyNotify)agf_device_free);
  if (spec && strcmp(spec, "all") == 0) {
    int n = 0;
    g_autofree AgfDeviceInfo *list = agf_device_list(&n, error);
    if (!list)
      goto fail;
    for (int i = 0; i < n; i++) {
      AgfDevice *d = agf_device_open(list[i].spec, error);
      if (!d)
        goto fail;
      g_ptr_array_add(devs, d);
    }
    return devs;
  }
  AgfDevice *d = agf_device_open(spec, error);
  if (d) {
    g_ptr_array_add(devs, d);
    return devs;
  }
fail:
  g_ptr_array_unref(devs);
  return NULL;
}

gboolean bench_want_dtype(AgfDevice *dev, AgfDType dt, const char *dtype)
{
  if (!agf_device_supports_dtype(dev, dt))
    return FALSE;
  if (dtype && strcmp(dtype, "all") != 0)
    return strcmp(dtype, agf_dtype_name(dt)) == 0;
  if (dtype)
    return TRUE;
  return dt == AGF_F32 || agf_device_info(dev)->backend == AGF_BACKEND_VULKAN;
}

static int run_ops(void)
{
  GError *error = NULL;
  g_autoptr(GPtrArray) sel = g_ptr_array_new();
  for (int i = 0; i < bench_n_cases; i++) {
    const BenchCase *c = &bench_cases[i];
    if ((opt_quick && !c->quick) || (opt_filter && !strstr(c->name, opt_filter)))
      continue;
    g_ptr_array_add(sel, (gpointer)c);
  }
  if (sel->len == 0) {
    g_printerr("agfas-bench: no case matches --filter \"%s\"\n", opt_filter);
    return 2;
  }
  const BenchCase *const *cases = (const BenchCase *const *)sel->pdata;
  if (opt_export) {
    if (!bench_write_cases(opt_export, cases, (int)sel->len, &error)) {
      g_printerr("agfas-bench: %s\n", error->message);
      return 1;
    }
    return 0;
  }
  g_autoptr(GPtrArray) devs = bench_open_devices(opt_device, &error);
  if (!devs) {
    g_printerr("agfas-bench: %s\n(agfas-bench --list-devices shows what is there)\n",
               error->message);
    return 1;
  }
  BenchTiming tm = { opt_quick ? 3 : 7, opt_quick ? 0.02 : 0.1 };
  g_autoptr(GArray) rows = g_array_new(FALSE, TRUE, sizeof(BenchResult));
  int failures = 0;
  for (guint d = 0; d < devs->len; d++) {
    const AgfDeviceInfo *info = agf_device_info(devs->pdata[d]);
    g_print("%s: %s\n", info->spec, info->name);
  }
  bench_print_header();
  for (guint i = 0; i < sel->len; i++) {
    const BenchCase *c = cases[i];
    BenchResult blas = { 0 };
    int64_t m, n, k;
    gboolean has_blas = bench_gemm_dims(c, &m, &n, &k);
    if (has_blas) {
      bench_run_openblas(c, &tm, &blas);
      bench_print_row(&blas, NULL);
      g_array_append_val(rows, blas);
    }
    for (guint d = 0; d < devs->len; d++)
      for (int t = 0; t < 2; t++) {
        AgfDevice *dev = devs->pdata[d];
        AgfDType dt = t ? AGF_F16 : AGF_F32;
        if (!bench_want_dtype(dev, dt, opt_dtype))
          continue;
        BenchResult r = { 0 };
        if (!bench_run_case(dev, c, dt, &tm, &r, &error)) {
          g_printerr("%-10s %-34s %s: FAILED: %s\n", agf_device_info(dev)->spec,
                     c->name, agf_dtype_name(dt), error->message);
          g_clear_error(&error);
          failures++;
          continue;
        }
        bench_print_row(&r, has_blas ? &blas : NULL);
        g_array_append_val(rows, r);
      }
  }
  if (opt_torch) {
    g_autoptr(GArray) torch = bench_run_torch(cases, (int)sel->len, opt_quick, &error);
    if (!torch) {
      g_printerr("agfas-bench: %s\n", error->message);
      g_clear_error(&error);
      failures++;
    } else {
      for (guint i = 0; i < torch->len; i++)
        bench_print_row(&g_array_index(torch, BenchResult, i), NULL);
      bench_print_torch((BenchResult *)rows->data, (int)rows->len, torch);
      g_array_append_vals(rows, torch->data, torch->len);
    }
  }
  if (opt_json) {
    if (!bench_write_json(opt_json, (BenchResult *)rows->data, (int)rows->len,
                          opt_quick, &error)) {
      g_printerr("agfas-bench: %s\n", error->message);
      return 1;
    }
    g_print("wrote %s\n", opt_json);
  }
  return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
  agf_cpu_wait_policy_init(argv);
  g_autoptr(GOptionContext) ctx = g_option_context_new("ops|models|train - time the engine's ops, networks or training steps");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_summary(ctx,
    "ops: times each op on the SD-1.5 U-Net and ViT-B/16 shapes (and square\n"
    "GEMMs) on the chosen devices, next to OpenBLAS cblas_sgemm for GEMM and conv.\n"
    "models: times every network of a preset (random weights, cached) and a\n"
    "whole DFG reconstruction, with peak device memory.\n"
    "train: training-step throughput (samples/s) and peak memory per preset\n"
    "(default tiny,small; --quick: tiny) of the steps unet (noise-prediction\n"
    "MSE, AdamW), vit (OA-Net image_only, cross-entropy, SGD momentum), dfg\n"
    "(the whole agfas-train dfg step), oanet (the whole agfas-train oanet\n"
    "SSDG step) and cue (a whole reconstruction + cue, no training: faces/s);\n"
    "with --torch the ratio to PyTorch doing the same step.");
  GError *error = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
    g_printerr("agfas-bench: %s (see --help)\n", error->message);
    return 2;
  }
  if (opt_list)
    return list_devices();
  if (opt_dtype && strcmp(opt_dtype, "f32") && strcmp(opt_dtype, "f16") &&
      strcmp(opt_dtype, "all")) {
    g_printerr("agfas-bench: --dtype takes f32, f16 or all, not \"%s\"\n", opt_dtype);
    return 2;
  }
  if (argc == 2 && strcmp(argv[1], "ops") == 0)
    return run_ops();
  if (argc == 2 && strcmp(argv[1], "models") == 0) {
    BenchModelsOptions o = { opt_device, opt_dtype, opt_preset, opt_json,
                             opt_filter, opt_cache, opt_torch, opt_quick };
    return bench_models_main(&o);
  }
  if (argc == 2 && strcmp(argv[1], "train") == 0) {
    BenchTrainOptions o = { opt_device, opt_dtype, opt_preset, opt_json,
                            opt_filter, opt_cache, opt_batch, opt_torch,
                            opt_quick };
    return bench_train_main(&o);
  }
  g_printerr("agfas-bench: the command is \"ops\", \"models\" or \"train\" (see --help)\n");
  return 2;
}
