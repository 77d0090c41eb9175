/* The printed table, the JSON file, and the PyTorch comparison (the same
 * cases timed by tests/reference/bench_torch_ops.py, same JSON schema). */
#include <json-glib/json-glib.h>
#include <string.h>
#include "bench.h"

#define TORCH_SCRIPTS AGF_SOURCE_ROOT "/tests/reference"
#define TORCH_PYTHON "/usr/bin/python3" /* Debian's python3-torch */

void bench_print_header(void)
{
  g_print("%-10s %-34s %-16s %-24s %-4s %10s %9s %8s %8s\n", "device", "case",
          "op", "shape", "type", "time (ms)", "GFLOP/s", "GB/s", "vs BLAS");
}

void bench_print_row(const BenchResult *r, const BenchResult *blas)
{
  g_autofree char *shape = bench_shape_str(r->c);
  char gf[16] = "-", gb[16] = "-", ratio[16] = "";
  /* GFLOP/s for compute-bound ops, GB/s for the others. */
  if (r->gflops > 0)
    g_snprintf(gf, sizeof gf, "%.1f", r->gflops);
  else
    g_snprintf(gb, sizeof gb, "%.2f", r->gbps);
  if (blas && blas != r && r->gflops > 0)
    g_snprintf(ratio, sizeof ratio, "%.2f", r->gflops / blas->gflops);
  g_print("%-10s %-34s %-16s %-24s %-4s %10.3f %9s %8s %8s\n", r->device,
          r->c->name, bench_op_label(r->c), shape, agf_dtype_name(r->dtype),
          r->usec / 1000, gf, gb, ratio);
}

static void add_result(JsonBuilder *b, const BenchResult *r)
{
  g_autofree char *shape = bench_shape_str(r->c);
  json_builder_begin_object(b);
  bench_json_str(b, "case", r->c->name);
  bench_json_str(b, "group", r->c->group);
  bench_json_str(b, "op", bench_op_label(r->c));
  bench_json_str(b, "shape", shape);
  bench_json_str(b, "dtype", agf_dtype_name(r->dtype));
  bench_json_str(b, "backend", r->backend);
  bench_json_str(b, "device", r->device);
  bench_json_str(b, "device_name", r->device_name);
  bench_json_double(b, "usec", r->usec);
  json_builder_set_member_name(b, "gflops");
  if (r->gflops > 0)
    json_builder_add_double_value(b, r->gflops);
  else
    json_builder_add_null_value(b);
  bench_json_double(b, "gbps", r->gbps);
  json_builder_end_object(b);
}

gboolean bench_write_json_node(const char *path, JsonBuilder *b,
                               GError **error)
{
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autoptr(JsonGenerator) gen = json_generator_new();
  json_generator_set_pretty(gen, TRUE);
  json_generator_set_root(gen, root);
  if (!json_generator_to_file(gen, path, error)) {
    g_prefix_error(error, "cannot write %s: ", path);
    return FALSE;
  }
  return TRUE;
}

gboolean bench_write_json(const char *path, const BenchResult *r, int n,
                          gboolean quick, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  bench_json_str(b, "schema", "agfas-bench-ops/1");
  json_builder_set_member_name(b, "quick");
  json_builder_add_boolean_value(b, quick);
  json_builder_set_member_name(b, "results");
  json_builder_begin_array(b);
  for (int i = 0; i < n; i++)
    add_result(b, &r[i]);
  json_builder_end_array(b);
  json_builder_end_object(b);
  return bench_write_json_node(path, b, error);
}

static const char *unary_fn_name(AgfUnaryFn fn)
{
  return fn == AGF_UNARY_SILU ? "silu" : fn == AGF_UNARY_GELU ? "gelu" : "relu";
}

/* Each case as the script needs it: op, input shapes, parameters. */
gboolean bench_write_cases(const char *path, const BenchCase *const *cases,
                           int n, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  bench_json_str(b, "schema", "agfas-bench-cases/1");
  json_builder_set_member_name(b, "cases");
  json_builder_begin_array(b);
  for (int i = 0; i < n; i++) {
    const BenchCase *c = cases[i];
    g_autofree char *shape = bench_shape_str(c);
    json_builder_begin_object(b);
    bench_json_str(b, "case", c->name);
    bench_json_str(b, "group", c->group);
    bench_json_str(b, "op", agf_op_name(c->op.kind));
    bench_json_str(b, "label", bench_op_label(c));
    bench_json_str(b, "shape", shape);
    bench_json_double(b, "flops", bench_flops(c));
    bench_json_double(b, "elements", bench_bytes(c, AGF_F32) / 4);
    json_builder_set_member_name(b, "inputs");
    json_builder_begin_array(b);
    for (int k = 0; k < c->op.n_in; k++) {
      json_builder_begin_array(b);
      for (int d = 0; d < c->ndim[k]; d++)
        json_builder_add_int_value(b, c->shape[k][d]);
      json_builder_end_array(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "params");
    json_builder_begin_object(b);
    const AgfOp *op = &c->op;
    switch (op->kind) {
    case AGF_OP_GEMM:
      json_builder_set_member_name(b, "trans_b");
      json_builder_add_boolean_value(b, op->p.gemm.trans_b);
      break;
    case AGF_OP_CONV2D:
      bench_json_int(b, "stride", MAX(op->p.conv.stride_h, 1));
      bench_json_int(b, "padding", op->p.conv.pad_top);
      break;
    case AGF_OP_GROUP_NORM:
      bench_json_int(b, "groups", op->p.group_norm.groups);
      bench_json_double(b, "eps", op->p.group_norm.eps);
      break;
    case AGF_OP_LAYER_NORM:
      bench_json_double(b, "eps", op->p.layer_norm.eps);
      break;
    case AGF_OP_ATTENTION:
      bench_json_int(b, "n_heads", op->p.attention.n_heads);
      break;
    case AGF_OP_UNARY:
      bench_json_str(b, "fn", unary_fn_name(op->p.unary.fn));
      break;
    default:
      break;
    }
    json_builder_end_object(b);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  return bench_write_json_node(path, b, error);
}

static const BenchCase *find_case(const BenchCase *const *cases, int n,
                                  const char *name)
{
  for (int i = 0; i < n; i++)
    if (strcmp(cases[i]->name, name) == 0)
      return cases[i];
  return NULL;
}

JsonArray *bench_load_torch_results(JsonParser *parser, const char *path,
                                    const char *script, GError **error)
{
  if (!json_parser_load_from_file(parser, path, error)) {
    g_prefix_error(error, "cannot read %s: ", path);
    return NULL;
  }
  JsonObject *root = json_node_get_object(json_parser_get_root(parser));
  JsonArray *res = root ? json_object_get_array_member(root, "results") : NULL;
  if (!res)
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s has no \"results\" array: is %s up to date?", path, script);
  return res;
}

void bench_read_torch_ids(JsonObject *o, AgfDType *dtype, char *backend,
                          gsize backend_n, char *device, gsize device_n,
                          char *device_name, gsize device_name_n)
{
  const char *dt = json_object_get_string_member_with_default(o, "dtype", "f32");
  *dtype = strcmp(dt, "f16") == 0 ? AGF_F16 : AGF_F32;
  g_strlcpy(backend, json_object_get_string_member_with_default(o, "backend", "torch"),
            backend_n);
  g_strlcpy(device, json_object_get_string_member_with_default(o, "device", "torch"),
            device_n);
  g_strlcpy(device_name,
            json_object_get_string_member_with_default(o, "device_name", ""),
            device_name_n);
}

gboolean bench_torch_suits(const char *our_backend, const char *torch_backend)
{
  return (strcmp(torch_backend, "torch-cuda") == 0) ==
         (strcmp(our_backend, "vulkan") == 0);
}

static GArray *read_torch_rows(const char *out_path,
                               const BenchCase *const *cases, int n,
                               GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  JsonArray *res = bench_load_torch_results(parser, out_path,
                                            "bench_torch_ops.py", error);
  if (!res)
    return NULL;
  GArray *rows = g_array_new(FALSE, TRUE, sizeof(BenchResult));
  for (guint i = 0; i < json_array_get_length(res); i++) {
    JsonObject *o = json_array_get_object_element(res, i);
    BenchResult r = { 0 };
    r.c = find_case(cases, n, json_object_get_string_member_with_default(o, "case", ""));
    if (!r.c)
      continue;
    bench_read_torch_ids(o, &r.dtype, r.backend, sizeof r.backend, r.device,
                         sizeof r.device, r.device_name, sizeof r.device_name);
    r.usec = json_object_get_double_member_with_default(o, "usec", 0);
    if (r.usec <= 0)
      continue;
    r.gflops = bench_flops(r.c) > 0 ? bench_flops(r.c) / r.usec * 1e-3 : 0;
    r.gbps = bench_bytes(r.c, r.dtype) / r.usec * 1e-3;
    g_array_append_val(rows, r);
  }
  return rows;
}

gboolean bench_run_python(const char *script, const char *const *args,
                          GError **error)
{
  g_autofree char *path = g_build_filename(TORCH_SCRIPTS, script, NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  g_ptr_array_add(argv, (gpointer)TORCH_PYTHON);
  g_ptr_array_add(argv, path);
  for (int i = 0; args[i]; i++)
    g_ptr_array_add(argv, (gpointer)args[i]);
  g_ptr_array_add(argv, NULL);
  int status = 0;
  g_print("\nrunning %s %s ...\n", TORCH_PYTHON, path);
  if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_CHILD_INHERITS_STDIN,
                    NULL, NULL, NULL, NULL, &status, error)) {
    g_prefix_error(error, "cannot run the PyTorch comparison (install python3-torch): ");
    return FALSE;
  }
  if (!g_spawn_check_wait_status(status, error)) {
    g_prefix_error(error, "%s failed (is python3-torch installed?): ", path);
    return FALSE;
  }
  return TRUE;
}

GArray *bench_run_torch(const BenchCase *const *cases, int n, gboolean quick,
                        GError **error)
{
  BenchTorchFiles f;
  if (!bench_torch_files_init(&f, error))
    return NULL;
  GArray *rows = NULL;
  const char *args[] = { "--cases", f.cases, "--json", f.out,
                         quick ? "--quick" : NULL, NULL };
  if (bench_write_cases(f.cases, cases, n, error) &&
      bench_run_python("bench_torch_ops.py", args, error))
    rows = read_torch_rows(f.out, cases, n, error);
  bench_torch_files_clear(&f);
  return rows;
}

/* Our time against torch's for the same case and dtype: CPU rows against
 * torch on the CPU, Vulkan rows against CUDA when it ran, else the CPU. */
void bench_print_torch(const BenchResult *ours, int n_ours, const GArray *torch)
{
  g_print("\n%-10s %-34s %-4s %10s %-11s %10s %9s\n", "device", "case", "type",
          "ours (ms)", "torch", "torch (ms)", "speed");
  for (int i = 0; i < n_ours; i++) {
    const BenchResult *r = &ours[i];
    if (strcmp(r->backend, "cpu") != 0 && strcmp(r->backend, "vulkan") != 0)
      continue;
    const BenchResult *best = NULL;
    for (guint j = 0; j < torch->len; j++) {
      const BenchResult *t = &g_array_index(torch, BenchResult, j);
      if (t->c != r->c || t->dtype != r->dtype)
        continue;
      if (!best || bench_torch_suits(r->backend, t->backend))
        best = t;
    }
    if (!best)
      continue;
    /* speed > 1: we are faster. */
    g_print("%-10s %-34s %-4s %10.3f %-11s %10.3f %8.2fx\n", r->device, r->c->name,
            agf_dtype_name(r->dtype), r->usec / 1000, best->backend,
            best->usec / 1000, best->usec / r->usec);
  }
}
