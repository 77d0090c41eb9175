/* agfas-bench train output: the table, the JSON file, and the PyTorch
 * side (tests/reference/bench_torch_train.py runs the same step with the
 * reference networks on the same checkpoints; cases go to it as JSON and
 * rows come back in our schema). */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include "bench_train.h"

void bench_train_print_header(void)
{
  g_print("(cue rows: a whole reconstruction + cue, no training; samples/s "
          "are faces/s)\n");
  g_print("%-10s %-7s %-5s %5s %-25s %-4s %10s %10s %10s\n", "device",
          "preset", "step", "batch", "input", "type", "step (ms)",
          "samples/s", "peak (MiB)");
}

void bench_train_print_row(const BenchTrainResult *r)
{
  g_autofree char *in = bench_train_input_str(r->c);
  char peak[32] = "-";
  if (r->peak_bytes >= 0)
    g_snprintf(peak, sizeof peak, "%.1f", r->peak_bytes / 1048576.0);
  g_print("%-10s %-7s %-5s %5d %-25s %-4s %10.2f %10.2f %10s\n", r->device,
          r->c->preset, bench_train_name(r->c->kind), r->c->batch, in,
          agf_dtype_name(r->dtype), r->usec / 1000,
          bench_train_samples_per_sec(r), peak);
}

static void member_str(JsonBuilder *b, const char *k, const char *v)
{
  json_builder_set_member_name(b, k);
  json_builder_add_string_value(b, v);
}

static void member_int(JsonBuilder *b, const char *k, gint64 v)
{
  json_builder_set_member_name(b, k);
  json_builder_add_int_value(b, v);
}

static void member_double(JsonBuilder *b, const char *k, double v)
{
  json_builder_set_member_name(b, k);
  json_builder_add_double_value(b, v);
}

static void member_ints(JsonBuilder *b, const char *k, const int *v, int n)
{
  json_builder_set_member_name(b, k);
  json_builder_begin_array(b);
  for (int i = 0; i < n; i++)
    json_builder_add_int_value(b, v[i]);
  json_builder_end_array(b);
}

gboolean bench_train_write_json(const char *path, const BenchTrainResult *r,
                                int n, const double *ratio, int n_ratio,
                                gboolean quick, int threads, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  member_str(b, "schema", "agfas-bench-train/1");
  json_builder_set_member_name(b, "quick");
  json_builder_add_boolean_value(b, quick);
  member_int(b, "threads", threads);
  json_builder_set_member_name(b, "results");
  json_builder_begin_array(b);
  for (int i = 0; i < n; i++) {
    const BenchTrainResult *x = &r[i];
    g_autofree char *in = bench_train_input_str(x->c);
    json_builder_begin_object(b);
    member_str(b, "step", bench_train_name(x->c->kind));
    member_str(b, "preset", x->c->preset);
    member_int(b, "batch", x->c->batch);
    member_str(b, "input", in);
    member_str(b, "dtype", agf_dtype_name(x->dtype));
    member_str(b, "backend", x->backend);
    member_str(b, "device", x->device);
    member_str(b, "device_name", x->device_name);
    member_double(b, "usec", x->usec);
    member_double(b, "samples_per_sec", bench_train_samples_per_sec(x));
    member_int(b, "runs", x->runs);
    json_builder_set_member_name(b, "peak_bytes");
    if (x->peak_bytes >= 0)
      json_builder_add_double_value(b, x->peak_bytes);
    else
      json_builder_add_null_value(b);
    /* ours / torch samples per second, when torch ran the same case */
    json_builder_set_member_name(b, "ratio_vs_torch");
    if (i < n_ratio && ratio[i] > 0)
      json_builder_add_double_value(b, ratio[i]);
    else
      json_builder_add_null_value(b);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  return bench_write_json_node(path, b, error);
}

/* ---- the PyTorch side ---- */

/* What the reference networks need, in agfas-bench models' layout
 * (bench_torch_models.py's build_* read it): the preset's autoencoder,
 * U-Net, iresnet and OA-Net sizes. */
static void add_config(JsonBuilder *b, const AgfPresetConfigs *cfg)
{
  json_builder_set_member_name(b, "config");
  json_builder_begin_object(b);
  const AgfAutoencoderKLConfig *v = &cfg->vae;
  json_builder_set_member_name(b, "vae");
  json_builder_begin_object(b);
  member_ints(b, "block_out_channels", v->block_out_channels, v->n_levels);
  member_int(b, "layers_per_block", v->layers_per_block);
  member_int(b, "in_channels", v->in_channels);
  member_int(b, "out_channels", v->out_channels);
  member_int(b, "latent_channels", v->latent_channels);
  member_int(b, "norm_num_groups", v->norm_num_groups);
  member_double(b, "scaling_factor", v->scaling_factor);
  json_builder_end_object(b);

  const AgfUnetConfig *u = &cfg->unet;
  json_builder_set_member_name(b, "unet");
  json_builder_begin_object(b);
  member_ints(b, "block_out_channels", u->block_out_channels, u->n_levels);
  member_ints(b, "down_attention", u->down_attention, u->n_levels);
  member_ints(b, "heads", u->heads, u->n_levels);
  member_int(b, "layers_per_block", u->layers_per_block);
  member_int(b, "in_channels", u->in_channels);
  member_int(b, "out_channels", u->out_channels);
  member_int(b, "cross_attention_dim", u->cross_attention_dim);
  member_int(b, "norm_num_groups", u->norm_num_groups);
  member_double(b, "norm_eps", u->norm_eps);
  member_int(b, "transformer_depth", u->transformer_depth);
  json_builder_end_object(b);

  const AgfIresnetConfig *r = &cfg->identity;
  json_builder_set_member_name(b, "iresnet");
  json_builder_begin_object(b);
  member_int(b, "stem", r->stem_width);
  member_ints(b, "widths", r->widths, AGF_IRESNET_STAGES);
  member_ints(b, "layers", r->blocks, AGF_IRESNET_STAGES);
  member_int(b, "num_features", r->num_features);
  json_builder_end_object(b);

  const AgfOanetConfig *o = &cfg->oanet;
  json_builder_set_member_name(b, "oanet");
  json_builder_begin_object(b);
  member_str(b, "variant", agf_oanet_variant_name(o->variant));
  member_int(b, "img", o->vit.img_size);
  member_int(b, "patch", o->vit.patch);
  member_int(b, "dim", o->vit.dim);
  member_int(b, "depth", o->vit.depth);
  member_int(b, "heads", o->vit.heads);
  member_int(b, "mlp", o->vit.mlp_dim);
  member_double(b, "eps", o->ln_eps);
  member_int(b, "feat", o->feature_dim);
  member_int(b, "cue_in", o->cue_encoder.in_channels);
  member_ints(b, "cue_widths", o->cue_encoder.widths, AGF_RESNET_STAGES);
  member_ints(b, "cue_blocks", o->cue_encoder.blocks, AGF_RESNET_STAGES);
  member_str(b, "norm", o->feature_norm == AGF_OANET_NORM_SSDG ? "ssdg" : "l2");
  json_builder_end_object(b);
  json_builder_end_object(b);
}

/* The checkpoints a case reads, by bench_torch_models.py's file keys. */
static void add_files(JsonBuilder *b, const BenchTrainCase *c)
{
  static const char *const keys[BW_COUNT] = {
    "vae", "unet", "iresnet", "oanet", "mobilefacenet", "pnet"
  };
  json_builder_set_member_name(b, "files");
  json_builder_begin_object(b);
  for (int k = 0; k < BW_COUNT; k++)
    if (c->files[k])
      member_str(b, keys[k], c->files[k]);
  json_builder_end_object(b);
}

static gboolean write_cases(const char *path, GPtrArray *cases, int threads,
                            GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  member_str(b, "schema", "agfas-bench-train-cases/1");
  member_int(b, "threads", threads);
  json_builder_set_member_name(b, "cases");
  json_builder_begin_array(b);
  for (guint i = 0; i < cases->len; i++) {
    const BenchTrainCase *c = cases->pdata[i];
    json_builder_begin_object(b);
    member_int(b, "id", i);
    member_str(b, "step", bench_train_name(c->kind));
    member_str(b, "preset", c->preset);
    member_int(b, "batch", c->batch);
    member_int(b, "runs", c->runs);
    add_files(b, c);
    if (c->kind == BT_CUE) {
      member_str(b, "sampler", c->sampler);
      member_int(b, "steps", c->steps);
      member_double(b, "strength", c->strength);
    }
    json_builder_set_member_name(b, "inputs");
    json_builder_begin_array(b);
    for (int k = 0; k < c->n_in; k++) {
      json_builder_begin_array(b);
      for (int d = 0; d < c->ndim[k]; d++)
        json_builder_add_int_value(b, c->shape[k][d]);
      json_builder_end_array(b);
    }
    json_builder_end_array(b);
    add_config(b, &c->cfg);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  return bench_write_json_node(path, b, error);
}

static GArray *read_rows(const char *path, GPtrArray *cases, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  JsonArray *res = bench_load_torch_results(parser, path,
                                            "bench_torch_train.py", error);
  if (!res)
    return NULL;
  GArray *rows = g_array_new(FALSE, TRUE, sizeof(BenchTrainResult));
  for (guint i = 0; i < json_array_get_length(res); i++) {
    JsonObject *o = json_array_get_object_element(res, i);
    gint64 id = json_object_get_int_member_with_default(o, "id", -1);
    if (id < 0 || id >= cases->len)
      continue;
    BenchTrainResult r = { .c = cases->pdata[id], .peak_bytes = -1 };
    bench_read_torch_ids(o, &r.dtype, r.backend, sizeof r.backend, r.device,
                         sizeof r.device, r.device_name, sizeof r.device_name);
    r.usec = json_object_get_double_member_with_default(o, "usec", 0);
    r.runs = (int)json_object_get_int_member_with_default(o, "runs", 0);
    JsonNode *peak = json_object_get_member(o, "peak_bytes");
    if (peak && !json_node_is_null(peak))
      r.peak_bytes = json_node_get_double(peak);
    if (r.usec > 0)
      g_array_append_val(rows, r);
  }
  return rows;
}

GArray *bench_train_run_torch(GPtrArray *cases, int threads, GError **error)
{
  g_autofree char *dir = g_dir_make_tmp("agfas-bench-XXXXXX", error);
  if (!dir)
    return NULL;
  g_autofree char *cases_path = g_build_filename(dir, "cases.json", NULL);
  g_autofree char *out_path = g_build_filename(dir, "torch.json", NULL);
  g_autofree char *nthreads = g_strdup_printf("%d", threads);
  GArray *rows = NULL;
  const char *args[] = { "--cases", cases_path, "--json", out_path,
                         "--threads", nthreads, NULL };
  if (write_cases(cases_path, cases, threads, error) &&
      bench_run_python("bench_torch_train.py", args, error))
    rows = read_rows(out_path, cases, error);
  g_remove(cases_path);
  g_remove(out_path);
  g_rmdir(dir);
  return rows;
}

void bench_train_compare(const BenchTrainResult *ours, int n_ours,
                         const GArray *torch, int threads, double *ratio)
{
  g_print("\nratio = our samples/s / torch samples/s (> 1: we are faster); "
          "torch on the CPU with torch.set_num_threads(%d), our CPU "
          "backend's thread count\n", threads);
  g_print("%-10s %-7s %-5s %-4s %10s %-10s %10s %8s\n", "device", "preset",
          "step", "type", "ours (/s)", "torch", "torch (/s)", "ratio");
  for (int i = 0; i < n_ours; i++) {
    const BenchTrainResult *r = &ours[i];
    const BenchTrainResult *best = NULL;
    ratio[i] = 0;
    for (guint j = 0; j < torch->len; j++) {
      const BenchTrainResult *t = &g_array_index(torch, BenchTrainResult, j);
      if (t->c != r->c || t->dtype != r->dtype)
        continue;
      if (!best || bench_torch_suits(r->backend, t->backend))
        best = t;
    }
    if (!best)
      continue;
    const double ours_s = bench_train_samples_per_sec(r);
    const double torch_s = bench_train_samples_per_sec(best);
    ratio[i] = torch_s > 0 ? ours_s / torch_s : 0;
    g_print("%-10s %-7s %-5s %-4s %10.2f %-10s %10.2f %7.2fx\n", r->device,
            r->c->preset, bench_train_name(r->c->kind), agf_dtype_name(r->dtype),
            ours_s, best->backend, torch_s, ratio[i]);
  }
}
