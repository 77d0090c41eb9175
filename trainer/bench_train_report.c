/* agfas-bench train output: the table, the JSON file, and the PyTorch
 * side (tests/reference/bench_torch_train.py runs the same step with the
 * reference networks on the same checkpoints; cases go to it as JSON and
 * rows come back in our schema). */
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
  char peak[32];
  bench_measure_peak_str(&r->m, peak, sizeof peak);
  g_print("%-10s %-7s %-5s %5d %-25s %-4s %10.2f %10.2f %10s\n", r->m.device,
          r->c->preset, bench_train_name(r->c->kind), r->c->batch, in,
          agf_dtype_name(r->m.dtype), r->m.usec / 1000,
          bench_train_samples_per_sec(r), peak);
}

gboolean bench_train_write_json(const char *path, const BenchTrainResult *r,
                                int n, const double *ratio, int n_ratio,
                                gboolean quick, int threads, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  bench_json_str(b, "schema", "agfas-bench-train/1");
  json_builder_set_member_name(b, "quick");
  json_builder_add_boolean_value(b, quick);
  bench_json_int(b, "threads", threads);
  json_builder_set_member_name(b, "results");
  json_builder_begin_array(b);
  for (int i = 0; i < n; i++) {
    const BenchTrainResult *x = &r[i];
    g_autofree char *in = bench_train_input_str(x->c);
    json_builder_begin_object(b);
    bench_json_str(b, "step", bench_train_name(x->c->kind));
    bench_json_str(b, "preset", x->c->preset);
    bench_json_int(b, "batch", x->c->batch);
    bench_json_str(b, "input", in);
    bench_measure_json(b, &x->m);
    bench_json_double(b, "samples_per_sec", bench_train_samples_per_sec(x));
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

static void case_json(JsonBuilder *b, gconstpointer p, gpointer data)
{
  const BenchTrainCase *c = p;
  (void)data;
  bench_json_str(b, "step", bench_train_name(c->kind));
  bench_json_str(b, "preset", c->preset);
  bench_json_int(b, "batch", c->batch);
  bench_json_int(b, "runs", c->runs);
  bench_models_add_files(b, c->files);
  if (c->kind == BT_CUE) {
    bench_json_str(b, "sampler", c->sampler);
    bench_json_int(b, "steps", c->steps);
    bench_json_double(b, "strength", c->strength);
  }
  bench_inputs_json(b, &c->in);
  bench_models_add_config(b, &c->cfg);
}

static void add_row(gconstpointer c, const BenchMeasure *m, gpointer rows)
{
  BenchTrainResult r = { c, *m };
  g_array_append_val((GArray *)rows, r);
}

GArray *bench_train_run_torch(GPtrArray *cases, int threads, GError **error)
{
  return bench_run_torch_measures("bench_torch_train.py",
                                  "agfas-bench-train-cases/1", cases, threads,
                                  case_json, NULL, sizeof(BenchTrainResult),
                                  add_row, error);
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
      if (bench_torch_better(r->c, &r->m, t->c, &t->m, best != NULL))
        best = t;
    }
    if (!best)
      continue;
    const double ours_s = bench_train_samples_per_sec(r);
    const double torch_s = bench_train_samples_per_sec(best);
    ratio[i] = torch_s > 0 ? ours_s / torch_s : 0;
    g_print("%-10s %-7s %-5s %-4s %10.2f %-10s %10.2f %7.2fx\n", r->m.device,
            r->c->preset, bench_train_name(r->c->kind), agf_dtype_name(r->m.dtype),
            ours_s, best->m.backend, torch_s, ratio[i]);
  }
}
