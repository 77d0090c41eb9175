/* What the models and train benchmarks share: one measurement (ours or
 * torch's), the JSON members both write, and the temporary files of the
 * PyTorch exchange. */
#include <glib/gstdio.h>
#include <string.h>
#include "bench.h"

void bench_measure_take(BenchMeasure *m, AgfDevice *dev, AgfDType dt,
                        double *times, int runs)
{
  AgfMemStats ms;
  agf_device_mem_stats(dev, &ms);
  const AgfDeviceInfo *info = agf_device_info(dev);
  memset(m, 0, sizeof *m);
  g_strlcpy(m->backend, info->backend == AGF_BACKEND_CPU ? "cpu" : "vulkan",
            sizeof m->backend);
  g_strlcpy(m->device, info->spec, sizeof m->device);
  g_strlcpy(m->device_name, info->name, sizeof m->device_name);
  m->dtype = dt;
  m->usec = bench_median(times, runs);
  m->runs = runs;
  m->peak_bytes = (double)ms.peak;
}

gboolean bench_read_torch_measures(const char *path, const char *script,
                                   GPtrArray *cases, BenchTorchRowFn fn,
                                   gpointer data, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  JsonArray *res = bench_load_torch_results(parser, path, script, error);
  if (!res)
    return FALSE;
  for (guint i = 0; i < json_array_get_length(res); i++) {
    JsonObject *o = json_array_get_object_element(res, i);
    gint64 id = json_object_get_int_member_with_default(o, "id", -1);
    if (id < 0 || id >= cases->len)
      continue;
    BenchMeasure m = { .peak_bytes = -1 };
    bench_read_torch_ids(o, &m.dtype, m.backend, sizeof m.backend, m.device,
                         sizeof m.device, m.device_name, sizeof m.device_name);
    m.usec = json_object_get_double_member_with_default(o, "usec", 0);
    m.runs = (int)json_object_get_int_member_with_default(o, "runs", 0);
    JsonNode *peak = json_object_get_member(o, "peak_bytes");
    if (peak && !json_node_is_null(peak))
      m.peak_bytes = json_node_get_double(peak);
    if (m.usec > 0)
      fn(cases->pdata[id], &m, data);
  }
  return TRUE;
}

void bench_measure_json(JsonBuilder *b, const BenchMeasure *m)
{
  bench_json_str(b, "dtype", agf_dtype_name(m->dtype));
  bench_json_str(b, "backend", m->backend);
  bench_json_str(b, "device", m->device);
  bench_json_str(b, "device_name", m->device_name);
  bench_json_double(b, "usec", m->usec);
  bench_json_int(b, "runs", m->runs);
  json_builder_set_member_name(b, "peak_bytes");
  if (m->peak_bytes >= 0)
    json_builder_add_double_value(b, m->peak_bytes);
  else
    json_builder_add_null_value(b);
}

void bench_measure_peak_str(const BenchMeasure *m, char *buf, gsize n)
{
  if (m->peak_bytes >= 0)
    g_snprintf(buf, n, "%.1f", m->peak_bytes / 1048576.0);
  else
    g_strlcpy(buf, "-", n);
}

void bench_json_str(JsonBuilder *b, const char *k, const char *v)
{
  json_builder_set_member_name(b, k);
  json_builder_add_string_value(b, v);
}

void bench_json_int(JsonBuilder *b, const char *k, gint64 v)
{
  json_builder_set_member_name(b, k);
  json_builder_add_int_value(b, v);
}

void bench_json_double(JsonBuilder *b, const char *k, double v)
{
  json_builder_set_member_name(b, k);
  json_builder_add_double_value(b, v);
}

void bench_json_ints(JsonBuilder *b, const char *k, const int *v, int n)
{
  json_builder_set_member_name(b, k);
  json_builder_begin_array(b);
  for (int i = 0; i < n; i++)
    json_builder_add_int_value(b, v[i]);
  json_builder_end_array(b);
}

int bench_cpu_threads(void)
{
  int n = 0;
  g_autofree AgfDeviceInfo *list = agf_device_list(&n, NULL);
  for (int i = 0; list && i < n; i++)
    if (list[i].backend == AGF_BACKEND_CPU)
      return list[i].threads;
  return (int)g_get_num_processors();
}

char *bench_cache_dir(const char *opt)
{
  return opt ? g_strdup(opt)
             : g_build_filename(g_get_user_cache_dir(), "agfas", "bench", NULL);
}

GPtrArray *bench_open_devices_report(const char *spec, const char *dir)
{
  GError *error = NULL;
  GPtrArray *devs = bench_open_devices(spec, &error);
  if (!devs) {
    g_printerr("agfas-bench: %s\n(agfas-bench --list-devices shows what is there)\n",
               error->message);
    g_error_free(error);
    return NULL;
  }
  g_print("weights: %s\n", dir);
  for (guint d = 0; d < devs->len; d++) {
    const AgfDeviceInfo *info = agf_device_info(devs->pdata[d]);
    g_print("%s: %s\n", info->spec, info->name);
  }
  return devs;
}

gboolean bench_torch_files_init(BenchTorchFiles *f, GError **error)
{
  memset(f, 0, sizeof *f);
  f->dir = g_dir_make_tmp("agfas-bench-XXXXXX", error);
  if (!f->dir)
    return FALSE;
  f->cases = g_build_filename(f->dir, "cases.json", NULL);
  f->out = g_build_filename(f->dir, "torch.json", NULL);
  return TRUE;
}

void bench_torch_files_clear(BenchTorchFiles *f)
{
  if (f->dir) {
    g_remove(f->cases);
    g_remove(f->out);
    g_rmdir(f->dir);
  }
  g_free(f->cases);
  g_free(f->out);
  g_free(f->dir);
  memset(f, 0, sizeof *f);
}

static gboolean write_cases(const char *path, const char *schema,
                            GPtrArray *cases, int threads,
                            BenchCaseJsonFn case_json, gpointer data,
                            GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  bench_json_str(b, "schema", schema);
  bench_json_int(b, "threads", threads);
  json_builder_set_member_name(b, "cases");
  json_builder_begin_array(b);
  for (guint i = 0; i < cases->len; i++) {
    json_builder_begin_object(b);
    bench_json_int(b, "id", i);
    case_json(b, cases->pdata[i], data);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  return bench_write_json_node(path, b, error);
}

GArray *bench_run_torch_measures(const char *script, const char *schema,
                                 GPtrArray *cases, int threads,
                                 BenchCaseJsonFn case_json, gpointer data,
                                 guint row_size, BenchTorchRowFn add,
                                 GError **error)
{
  BenchTorchFiles f;
  if (!bench_torch_files_init(&f, error))
    return NULL;
  g_autofree char *nthreads = g_strdup_printf("%d", threads);
  GArray *rows = NULL;
  const char *args[] = { "--cases", f.cases, "--json", f.out,
                         "--threads", nthreads, NULL };
  if (write_cases(f.cases, schema, cases, threads, case_json, data, error) &&
      bench_run_python(script, args, error)) {
    rows = g_array_new(FALSE, TRUE, row_size);
    if (!bench_read_torch_measures(f.out, script, cases, add, rows, error))
      g_clear_pointer(&rows, g_array_unref);
  }
  bench_torch_files_clear(&f);
  return rows;
}

gboolean bench_torch_better(gconstpointer c, const BenchMeasure *m,
                            gconstpointer tc, const BenchMeasure *tm,
                            gboolean have_best)
{
  if (tc != c || tm->dtype != m->dtype)
    return FALSE;
  return !have_best || bench_torch_suits(m->backend, tm->backend);
}
