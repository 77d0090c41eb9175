/* agfas-bench models: every network of the chosen presets (random weights,
 * cached), one forward each on each device, and a whole DFG reconstruction
 * per preset; optionally the same with PyTorch in the same run. */
#include <string.h>
#include "bench_models.h"

static const char *const model_names[BM_COUNT] = {
  "vae_encode", "vae_decode", "unet", "iresnet", "oanet", "resnet18",
  "mobilefacenet", "pnet", "reconstruct"
};

const char *bench_model_name(BenchModelKind k)
{
  return (unsigned)k < BM_COUNT ? model_names[k] : "?";
}

char *bench_model_input_str(const BenchModelCase *c)
{
  g_autofree char *in = bench_inputs_str(&c->in);
  if (c->kind != BM_RECONSTRUCT)
    return g_steal_pointer(&in);
  return g_strdup_printf("%s %s %dx%.1f", in, c->sampler, c->steps, c->strength);
}

int bench_model_runs(const BenchModelCase *c, gboolean quick)
{
  return c->kind == BM_RECONSTRUCT ? (quick ? 1 : 3) : (quick ? 2 : 5);
}

void bench_inputs_set(BenchInputs *in, int i, int ndim, int64_t a, int64_t b,
                      int64_t h, int64_t w)
{
  const int64_t v[4] = { a, b, h, w };
  in->ndim[i] = ndim;
  memcpy(in->shape[i], v, sizeof v);
  in->n = MAX(in->n, i + 1);
}

char *bench_inputs_str(const BenchInputs *in)
{
  GString *s = g_string_new(NULL);
  for (int i = 0; i < in->n; i++) {
    if (i)
      g_string_append(s, " + ");
    for (int d = 0; d < in->ndim[i]; d++)
      g_string_append_printf(s, "%s%" G_GINT64_FORMAT, d ? "x" : "",
                             in->shape[i][d]);
  }
  return g_string_free(s, FALSE);
}

void bench_inputs_json(JsonBuilder *b, const BenchInputs *in)
{
  json_builder_set_member_name(b, "inputs");
  json_builder_begin_array(b);
  for (int i = 0; i < in->n; i++) {
    json_builder_begin_array(b);
    for (int d = 0; d < in->ndim[i]; d++)
      json_builder_add_int_value(b, in->shape[i][d]);
    json_builder_end_array(b);
  }
  json_builder_end_array(b);
}

static void case_free(gpointer p)
{
  BenchModelCase *c = p;
  for (int k = 0; k < BW_COUNT; k++)
    g_free(c->files[k]);
  g_free(c);
}

/* The app's sizes: a 256x256 face (latent 32x32, f8), the identity
 * network's 112x112, a 256x256 cue, a 640x480 camera frame for P-Net
 * (transposed, as the package feeds it). */
static BenchModelCase *make_case(BenchModelKind k, AgfPreset p,
                                 gboolean quick)
{
  BenchModelCase *c = g_new0(BenchModelCase, 1);
  c->kind = k;
  c->p = p;
  c->preset = k == BM_MOBILEFACENET || k == BM_PNET ? "package"
                                                    : agf_preset_name(p);
  agf_preset_configs(p, &c->cfg);
  c->batch = 1;
  const int lat = c->cfg.vae.latent_channels;
  switch (k) {
  case BM_VAE_ENCODE:
  case BM_RECONSTRUCT:
  case BM_RESNET18:
    bench_inputs_set(&c->in, 0, 4, 1, 3, 256, 256);
    break;
  case BM_VAE_DECODE:
    bench_inputs_set(&c->in, 0, 4, 1, lat, 32, 32);
    break;
  case BM_UNET:
    bench_inputs_set(&c->in, 0, 4, 1, c->cfg.unet.in_channels, 32, 32);
    bench_inputs_set(&c->in, 1, 3, 1, 49, c->cfg.unet.cross_attention_dim, 0);
    break;
  case BM_IRESNET:
  case BM_MOBILEFACENET:
    bench_inputs_set(&c->in, 0, 4, 1, 3, 112, 112);
    break;
  case BM_OANET: {
    c->batch = quick ? 8 : 64;
    int s = c->cfg.oanet.vit.img_size;
    bench_inputs_set(&c->in, 0, 4, c->batch, 3, s, s);
    bench_inputs_set(&c->in, 1, 4, c->batch, 3, 256, 256);
    break;
  }
  case BM_PNET:
    bench_inputs_set(&c->in, 0, 4, 1, 3, 640, 480);
    break;
  default:
    break;
  }
  if (k == BM_RECONSTRUCT) {
    /* The authors' setting: t0 = 0.8 T of a 50-step PNDM schedule, 41
     * U-Net calls (--quick: 10 steps, 9 calls). */
    c->steps = quick ? 10 : 50;
    c->strength = 0.8;
    c->sampler = "pndm";
  }
  return c;
}

/* --preset: a comma list of preset names or "all"; default tiny,small
 * (paper only when asked for: its weights are GBs). */
static gboolean parse_presets(const char *arg, gboolean want[AGF_PRESET_COUNT],
                              GError **error)
{
  memset(want, 0, sizeof(gboolean) * AGF_PRESET_COUNT);
  if (!arg) {
    want[AGF_PRESET_TINY] = want[AGF_PRESET_SMALL] = TRUE;
    return TRUE;
  }
  g_auto(GStrv) parts = g_strsplit(arg, ",", -1);
  for (int i = 0; parts[i]; i++) {
    const char *s = g_strstrip(parts[i]);
    AgfPreset p;
    if (!strcmp(s, "all")) {
      for (int j = 0; j < AGF_PRESET_COUNT; j++)
        want[j] = TRUE;
    } else if (agf_preset_from_name(s, &p, error)) {
      want[p] = TRUE;
    } else {
      g_prefix_error(error, "--preset: ");
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean selected(BenchModelKind k, const char *filter)
{
  return !filter || strstr(bench_model_name(k), filter);
}

static GPtrArray *make_cases(const gboolean want[AGF_PRESET_COUNT],
                             const char *filter, gboolean quick)
{
  GPtrArray *cases = g_ptr_array_new_with_free_func(case_free);
  static const AgfPreset order[] = { AGF_PRESET_TINY, AGF_PRESET_SMALL,
                                     AGF_PRESET_PAPER };
  AgfPreset first = AGF_PRESET_COUNT;
  for (guint i = 0; i < G_N_ELEMENTS(order); i++) {
    if (!want[order[i]])
      continue;
    if (first == AGF_PRESET_COUNT)
      first = order[i];
    for (int k = 0; k < BM_COUNT; k++)
      if (k != BM_MOBILEFACENET && k != BM_PNET && selected(k, filter))
        g_ptr_array_add(cases, make_case((BenchModelKind)k, order[i], quick));
  }
  /* The face front-end's networks have one size whatever the preset. */
  if (selected(BM_MOBILEFACENET, filter))
    g_ptr_array_add(cases, make_case(BM_MOBILEFACENET, first, quick));
  if (selected(BM_PNET, filter))
    g_ptr_array_add(cases, make_case(BM_PNET, first, quick));
  return cases;
}

/* paper runs in f16 where the device has it (the 4 GB target), else f32;
 * the other presets as --dtype says (default f32, plus f16 on Vulkan). */
static gboolean want_dtype(AgfDevice *dev, const BenchModelCase *c,
                           AgfDType dt, const char *opt_dtype)
{
  if (c->p == AGF_PRESET_PAPER && strcmp(c->preset, "package") && !opt_dtype)
    return agf_device_supports_dtype(dev, AGF_F16) ? dt == AGF_F16
                                                   : dt == AGF_F32;
  return bench_want_dtype(dev, dt, opt_dtype);
}

int bench_models_main(const BenchModelsOptions *o)
{
  GError *error = NULL;
  gboolean want[AGF_PRESET_COUNT];
  if (!parse_presets(o->presets, want, &error)) {
    g_printerr("agfas-bench: %s\n", error->message);
    g_error_free(error);
    return 2;
  }
  g_autoptr(GPtrArray) cases = make_cases(want, o->filter, o->quick);
  if (cases->len == 0) {
    g_printerr("agfas-bench: no network matches --filter \"%s\" (networks: "
               "vae_encode, vae_decode, unet, iresnet, oanet, resnet18, "
               "mobilefacenet, pnet, reconstruct)\n", o->filter);
    return 2;
  }
  g_autofree char *dir = bench_cache_dir(o->cache_dir);
  if (!bench_models_prepare_weights(cases, dir, &error)) {
    g_printerr("agfas-bench: %s\n", error->message);
    g_error_free(error);
    return 1;
  }
  g_autoptr(GPtrArray) devs = bench_open_devices_report(o->device, dir);
  if (!devs)
    return 1;
  const int threads = bench_cpu_threads();
  const char *load = NULL;
  g_autofree char *loadavg = NULL;
  if (g_file_get_contents("/proc/loadavg", &loadavg, NULL, NULL)) {
    /* "1.02 0.98 0.95 2/97 1234": the 1, 5 and 15 minute averages */
    char *end = loadavg;
    for (int f = 0; f < 3 && end && *end; f++)
      end = strchr(end + 1, ' ');
    if (end)
      *end = '\0';
    load = loadavg;
  }
  if (load)
    g_print("load average: %s\n", load);
  bench_models_print_header();
  g_autoptr(GArray) rows = g_array_new(FALSE, TRUE, sizeof(BenchModelResult));
  int failures = 0;
  for (guint i = 0; i < cases->len; i++) {
    const BenchModelCase *c = cases->pdata[i];
    int runs = bench_model_runs(c, o->quick);
    for (guint d = 0; d < devs->len; d++)
      for (int t = 0; t < 2; t++) {
        AgfDevice *dev = devs->pdata[d];
        AgfDType dt = t ? AGF_F16 : AGF_F32;
        if (!want_dtype(dev, c, dt, o->dtype))
          continue;
        BenchModelResult r;
        if (!bench_models_run_case(dev, c, dt, runs, &r, &error)) {
          g_printerr("%-10s %-6s %-13s %s: FAILED: %s\n",
                     agf_device_info(dev)->spec, c->preset,
                     bench_model_name(c->kind), agf_dtype_name(dt),
                     error->message);
          g_clear_error(&error);
          failures++;
          continue;
        }
        bench_models_print_row(&r);
        g_array_append_val(rows, r);
      }
  }
  if (o->torch) {
    g_autoptr(GArray) torch = bench_models_run_torch(cases, o->quick, threads, &error);
    if (!torch) {
      g_printerr("agfas-bench: %s\n", error->message);
      g_clear_error(&error);
      failures++;
    } else {
      for (guint i = 0; i < torch->len; i++)
        bench_models_print_row(&g_array_index(torch, BenchModelResult, i));
      bench_models_print_torch((BenchModelResult *)rows->data, (int)rows->len,
                               torch, threads);
      g_array_append_vals(rows, torch->data, torch->len);
    }
  }
  if (load)
    g_print("load average at the start: %s\n", load);
  if (o->json) {
    if (!bench_models_write_json(o->json, (BenchModelResult *)rows->data,
                                 (int)rows->len, o->quick, threads, load,
                                 &error)) {
      g_printerr("agfas-bench: %s\n", error->message);
      g_error_free(error);
      return 1;
    }
    g_print("wrote %s\n", o->json);
  }
  return failures ? 1 : 0;
}
