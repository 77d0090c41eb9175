/* agfas-bench train: the cases (per preset: the bare U-Net and ViT steps,
 * the dfg and oanet training steps, cue generation), the device loop and
 * the PyTorch comparison. */
#include <string.h>
#include "bench_train.h"

static const char *const kind_names[BT_COUNT] = { "unet", "vit", "dfg",
                                                  "oanet", "cue" };

const char *bench_train_name(BenchTrainKind k)
{
  return (unsigned)k < BT_COUNT ? kind_names[k] : "?";
}

char *bench_train_input_str(const BenchTrainCase *c)
{
  g_autofree char *in = bench_inputs_str(&c->in);
  if (c->kind != BT_CUE)
    return g_steal_pointer(&in);
  return g_strdup_printf("%s %s %dx%g", in, c->sampler, c->steps, c->strength);
}

double bench_train_samples_per_sec(const BenchTrainResult *r)
{
  return r->m.usec > 0 ? r->c->batch * 1e6 / r->m.usec : 0;
}

static void case_free(gpointer p)
{
  BenchTrainCase *c = p;
  for (int i = 0; i < BW_COUNT; i++)
    g_free(c->files[i]);
  g_free(c);
}

/* The app's sizes: the U-Net on the latent of a 256 face (32x32, f8) with
 * 49 identity tokens; the ViT on its preset's image size; dfg, oanet and
 * cue on 256x256 face crops as agfas-train gets them (oanet: a cue of the
 * same size, the image resized to the ViT's inside the step). Batches are
 * small for the CPU; the oanet batch is SSDG's balanced one (2 domains x
 * live / spoof x per class), so a multiple of 4 (--batch rounds down). */
static BenchTrainCase *make_case(BenchTrainKind k, AgfPreset p, int batch,
                                 gboolean quick)
{
  BenchTrainCase *c = g_new0(BenchTrainCase, 1);
  c->kind = k;
  c->p = p;
  c->preset = agf_preset_name(p);
  agf_preset_configs(p, &c->cfg);
  c->runs = quick ? 2 : 5;
  switch (k) {
  case BT_UNET:
    c->batch = batch > 0 ? batch : 2;
    bench_inputs_set(&c->in, 0, 4, c->batch, c->cfg.unet.in_channels, 32, 32);
    bench_inputs_set(&c->in, 1, 3, c->batch, 49, c->cfg.unet.cross_attention_dim, 0);
    break;
  case BT_VIT: {
    c->batch = batch > 0 ? batch : quick ? 4 : 8;
    const int s = c->cfg.oanet.vit.img_size;
    bench_inputs_set(&c->in, 0, 4, c->batch, 3, s, s);
    break;
  }
  case BT_DFG:
    c->batch = batch > 0 ? batch : quick ? 2 : 4;
    bench_inputs_set(&c->in, 0, 4, c->batch, 3, 256, 256);
    break;
  case BT_OANET:
    c->batch = batch > 0 ? MAX(4, batch / 4 * 4) : quick ? 4 : 8;
    bench_inputs_set(&c->in, 0, 4, c->batch, 3, 256, 256);
    bench_inputs_set(&c->in, 1, 4, c->batch, 3, 256, 256);
    break;
  case BT_CUE:
  default:
    /* The authors' setting: t0 = 0.8 T of a 50-step PNDM schedule, 41
     * U-Net calls (--quick: 10 steps, 9 calls). */
    c->batch = batch > 0 ? batch : quick ? 1 : 2;
    c->runs = quick ? 1 : 2;
    c->steps = quick ? 10 : 50;
    c->strength = 0.8;
    c->sampler = "pndm";
    bench_inputs_set(&c->in, 0, 4, c->batch, 3, 256, 256);
    break;
  }
  return c;
}

/* --preset: a comma list of tiny / small / paper, or all; default
 * tiny,small (--quick: tiny). */
static GPtrArray *make_cases(const BenchTrainOptions *o, GError **error)
{
  gboolean want[AGF_PRESET_COUNT] = { FALSE };
  if (!o->presets) {
    want[AGF_PRESET_TINY] = TRUE;
    want[AGF_PRESET_SMALL] = !o->quick;
  } else {
    g_auto(GStrv) parts = g_strsplit(o->presets, ",", -1);
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
        return NULL;
      }
    }
  }
  GPtrArray *cases = g_ptr_array_new_with_free_func(case_free);
  static const AgfPreset order[] = { AGF_PRESET_TINY, AGF_PRESET_SMALL,
                                     AGF_PRESET_PAPER };
  for (guint i = 0; i < G_N_ELEMENTS(order); i++)
    for (int k = 0; k < BT_COUNT && want[order[i]]; k++)
      if (!o->filter || strstr(kind_names[k], o->filter))
        g_ptr_array_add(cases, make_case((BenchTrainKind)k, order[i], o->batch,
                                         o->quick));
  return cases;
}

int bench_train_main(const BenchTrainOptions *o)
{
  GError *error = NULL;
  if (o->batch < 0) {
    g_printerr("agfas-bench: --batch takes a positive count\n");
    return 2;
  }
  g_autoptr(GPtrArray) cases = make_cases(o, &error);
  if (!cases) {
    g_printerr("agfas-bench: %s\n", error->message);
    g_error_free(error);
    return 2;
  }
  if (cases->len == 0) {
    g_printerr("agfas-bench: no training case matches --filter \"%s\" "
               "(cases: unet, vit, dfg, oanet, cue)\n", o->filter);
    return 2;
  }
  g_autofree char *dir = bench_cache_dir(o->cache_dir);
  for (guint i = 0; i < cases->len; i++)
    if (!bench_train_prepare(cases->pdata[i], dir, &error)) {
      g_printerr("agfas-bench: %s\n", error->message);
      g_error_free(error);
      return 1;
    }
  g_autoptr(GPtrArray) devs = bench_open_devices_report(o->device, dir);
  if (!devs)
    return 1;
  const int threads = bench_cpu_threads();
  bench_train_print_header();
  g_autoptr(GArray) rows = g_array_new(FALSE, TRUE, sizeof(BenchTrainResult));
  int failures = 0;
  for (guint i = 0; i < cases->len; i++)
    for (guint d = 0; d < devs->len; d++)
      for (int t = 0; t < 2; t++) {
        const BenchTrainCase *c = cases->pdata[i];
        AgfDevice *dev = devs->pdata[d];
        AgfDType dt = t ? AGF_F16 : AGF_F32;
        if (!bench_want_dtype(dev, dt, o->dtype))
          continue;
        BenchTrainResult r;
        if (!bench_train_run_case(dev, c, dt, &r, &error)) {
          g_printerr("%-10s %-6s %-5s %s: FAILED: %s\n",
                     agf_device_info(dev)->spec, c->preset,
                     bench_train_name(c->kind), agf_dtype_name(dt),
                     error->message);
          g_clear_error(&error);
          failures++;
          continue;
        }
        bench_train_print_row(&r);
        g_array_append_val(rows, r);
      }
  const int n_ours = (int)rows->len;
  g_autofree double *ratio = g_new0(double, MAX(n_ours, 1));
  if (o->torch) {
    g_autoptr(GArray) torch = bench_train_run_torch(cases, threads, &error);
    if (!torch) {
      g_printerr("agfas-bench: %s\n", error->message);
      g_clear_error(&error);
      failures++;
    } else {
      for (guint i = 0; i < torch->len; i++)
        bench_train_print_row(&g_array_index(torch, BenchTrainResult, i));
      bench_train_compare((BenchTrainResult *)rows->data, n_ours, torch,
                          threads, ratio);
      g_array_append_vals(rows, torch->data, torch->len);
    }
  }
  if (o->json) {
    if (!bench_train_write_json(o->json, (BenchTrainResult *)rows->data,
                                (int)rows->len, ratio, n_ours, o->quick,
                                threads, &error)) {
      g_printerr("agfas-bench: %s\n", error->message);
      g_error_free(error);
      return 1;
    }
    g_print("wrote %s\n", o->json);
  }
  return failures ? 1 : 0;
}
