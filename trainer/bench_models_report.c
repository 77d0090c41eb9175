/* agfas-bench models output: the table, the JSON file, and the PyTorch
 * comparison (tests/reference/bench_torch_models.py runs the reference
 * networks on the same checkpoints; cases go to it as JSON, rows come back
 * in the same schema as ours). */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include "bench_models.h"

void bench_models_print_header(void)
{
  g_print("%-10s %-7s %-13s %5s %-30s %-4s %11s %10s\n", "device", "preset",
          "network", "batch", "input", "type", "time (ms)", "peak (MiB)");
}

void bench_models_print_row(const BenchModelResult *r)
{
  g_autofree char *in = bench_model_input_str(r->c);
  char peak[32];
  bench_measure_peak_str(&r->m, peak, sizeof peak);
  g_print("%-10s %-7s %-13s %5d %-30s %-4s %11.2f %10s\n", r->m.device,
          r->c->preset, bench_model_name(r->c->kind), r->c->batch, in,
          agf_dtype_name(r->m.dtype), r->m.usec / 1000, peak);
}

gboolean bench_models_write_json(const char *path, const BenchModelResult *r,
                                 int n, gboolean quick, int threads,
                                 const char *loadavg, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  bench_json_str(b, "schema", "agfas-bench-models/1");
  json_builder_set_member_name(b, "quick");
  json_builder_add_boolean_value(b, quick);
  bench_json_int(b, "threads", threads);
  bench_json_str(b, "loadavg", loadavg ? loadavg : "");
  json_builder_set_member_name(b, "results");
  json_builder_begin_array(b);
  for (int i = 0; i < n; i++) {
    const BenchModelResult *x = &r[i];
    g_autofree char *in = bench_model_input_str(x->c);
    json_builder_begin_object(b);
    bench_json_str(b, "network", bench_model_name(x->c->kind));
    bench_json_str(b, "preset", x->c->preset);
    bench_json_int(b, "batch", x->c->batch);
    bench_json_str(b, "input", in);
    bench_measure_json(b, &x->m);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  return bench_write_json_node(path, b, error);
}

/* ---- the PyTorch side ---- */

void bench_models_add_config(JsonBuilder *b, const AgfPresetConfigs *cfg)
{
  json_builder_set_member_name(b, "config");
  json_builder_begin_object(b);
  const AgfAutoencoderKLConfig *v = &cfg->vae;
  json_builder_set_member_name(b, "vae");
  json_builder_begin_object(b);
  bench_json_ints(b, "block_out_channels", v->block_out_channels, v->n_levels);
  bench_json_int(b, "layers_per_block", v->layers_per_block);
  bench_json_int(b, "in_channels", v->in_channels);
  bench_json_int(b, "out_channels", v->out_channels);
  bench_json_int(b, "latent_channels", v->latent_channels);
  bench_json_int(b, "norm_num_groups", v->norm_num_groups);
  bench_json_double(b, "scaling_factor", v->scaling_factor);
  json_builder_end_object(b);

  const AgfUnetConfig *u = &cfg->unet;
  json_builder_set_member_name(b, "unet");
  json_builder_begin_object(b);
  bench_json_ints(b, "block_out_channels", u->block_out_channels, u->n_levels);
  bench_json_ints(b, "down_attention", u->down_attention, u->n_levels);
  bench_json_ints(b, "heads", u->heads, u->n_levels);
  bench_json_int(b, "layers_per_block", u->layers_per_block);
  bench_json_int(b, "in_channels", u->in_channels);
  bench_json_int(b, "out_channels", u->out_channels);
  bench_json_int(b, "cross_attention_dim", u->cross_attention_dim);
  bench_json_int(b, "norm_num_groups", u->norm_num_groups);
  bench_json_double(b, "norm_eps", u->norm_eps);
  bench_json_int(b, "transformer_depth", u->transformer_depth);
  json_builder_end_object(b);

  const AgfIresnetConfig *r = &cfg->identity;
  json_builder_set_member_name(b, "iresnet");
  json_builder_begin_object(b);
  bench_json_int(b, "stem", r->stem_width);
  bench_json_ints(b, "widths", r->widths, AGF_IRESNET_STAGES);
  bench_json_ints(b, "layers", r->blocks, AGF_IRESNET_STAGES);
  bench_json_int(b, "num_features", r->num_features);
  json_builder_end_object(b);

  const AgfOanetConfig *o = &cfg->oanet;
  json_builder_set_member_name(b, "oanet");
  json_builder_begin_object(b);
  bench_json_str(b, "variant", agf_oanet_variant_name(o->variant));
  bench_json_int(b, "img", o->vit.img_size);
  bench_json_int(b, "patch", o->vit.patch);
  bench_json_int(b, "dim", o->vit.dim);
  bench_json_int(b, "depth", o->vit.depth);
  bench_json_int(b, "heads", o->vit.heads);
  bench_json_int(b, "mlp", o->vit.mlp_dim);
  bench_json_double(b, "eps", o->ln_eps);
  bench_json_int(b, "feat", o->feature_dim);
  bench_json_int(b, "cue_in", o->cue_encoder.in_channels);
  bench_json_ints(b, "cue_widths", o->cue_encoder.widths, AGF_RESNET_STAGES);
  bench_json_ints(b, "cue_blocks", o->cue_encoder.blocks, AGF_RESNET_STAGES);
  bench_json_str(b, "norm", o->feature_norm == AGF_OANET_NORM_SSDG ? "ssdg" : "l2");
  json_builder_end_object(b);
  json_builder_end_object(b);
}

void bench_models_add_files(JsonBuilder *b, char *const files[BW_COUNT])
{
  static const char *const keys[BW_COUNT] = {
    "vae", "unet", "iresnet", "oanet", "mobilefacenet", "pnet"
  };
  json_builder_set_member_name(b, "files");
  json_builder_begin_object(b);
  for (int k = 0; k < BW_COUNT; k++)
    if (files[k])
      bench_json_str(b, keys[k], files[k]);
  json_builder_end_object(b);
}

static void case_json(JsonBuilder *b, gconstpointer p, gpointer data)
{
  const BenchModelCase *c = p;
  const gboolean quick = *(const gboolean *)data;
  bench_json_str(b, "network", bench_model_name(c->kind));
  bench_json_str(b, "preset", c->preset);
  bench_json_int(b, "batch", c->batch);
  bench_json_int(b, "runs", bench_model_runs(c, quick));
  bench_inputs_json(b, &c->in);
  bench_models_add_files(b, c->files);
  if (c->kind == BM_RECONSTRUCT) {
    bench_json_int(b, "steps", c->steps);
    bench_json_double(b, "strength", c->strength);
    bench_json_str(b, "sampler", c->sampler);
  }
  bench_models_add_config(b, &c->cfg);
}

static void add_row(gconstpointer c, const BenchMeasure *m, gpointer rows)
{
  BenchModelResult r = { c, *m };
  g_array_append_val((GArray *)rows, r);
}

GArray *bench_models_run_torch(GPtrArray *cases, gboolean quick, int threads,
                               GError **error)
{
  return bench_run_torch_measures("bench_torch_models.py",
                                  "agfas-bench-model-cases/1", cases, threads,
                                  case_json, &quick, sizeof(BenchModelResult),
                                  add_row, error);
}

/* Ours against torch for the same case and dtype: CPU rows against torch
 * on the CPU, Vulkan rows against CUDA when it ran, else the CPU. */
void bench_models_print_torch(const BenchModelResult *ours, int n_ours,
                              const GArray *torch, int threads)
{
  g_print("\nspeed = torch time / our time (> 1: we are faster); torch on the "
          "CPU with torch.set_num_threads(%d), our CPU backend's thread count\n",
          threads);
  g_print("%-10s %-7s %-13s %-4s %11s %-10s %11s %8s\n", "device", "preset",
          "network", "type", "ours (ms)", "torch", "torch (ms)", "speed");
  for (int i = 0; i < n_ours; i++) {
    const BenchModelResult *r = &ours[i];
    const BenchModelResult *best = NULL;
    for (guint j = 0; j < torch->len; j++) {
      const BenchModelResult *t = &g_array_index(torch, BenchModelResult, j);
      if (bench_torch_better(r->c, &r->m, t->c, &t->m, best != NULL))
        best = t;
    }
    if (!best)
      continue;
    g_print("%-10s %-7s %-13s %-4s %11.2f %-10s %11.2f %7.2fx\n", r->m.device,
            r->c->preset, bench_model_name(r->c->kind),
            agf_dtype_name(r->m.dtype), r->m.usec / 1000, best->m.backend,
            best->m.usec / 1000, best->m.usec / r->m.usec);
  }
}
