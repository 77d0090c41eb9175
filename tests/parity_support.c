#include "parity_support.h"
#include <string.h>
#include <glib/gstdio.h>
#include "test_support.h"

char *parity_golden_path(const char *file)
{
  return g_test_build_filename(G_TEST_DIST, "golden", file, NULL);
}

AgfWeights *parity_open(const char *file, AgfDevice *dev, AgfDType dt)
{
  g_autofree char *path = parity_golden_path(file);
  GError *error = NULL;
  AgfWeights *w = agf_weights_open(path, dev, dt, &error);
  g_assert_no_error(error);
  return w;
}

AgfTensor *parity_tensor(const AgfSafetensors *st, AgfDevice *dev,
                            const char *name)
{
  g_autofree char *full = g_strdup_printf("test.%s", name);
  GError *error = NULL;
  AgfTensor *t = agf_safetensors_load(st, dev, full, AGF_F32, 0, NULL,
                                      &error);
  g_assert_no_error(error);
  return t;
}

double parity_compare(const AgfSafetensors *st, const char *name,
                         const AgfTensor *got, double tol)
{
  g_autofree char *full = g_strdup_printf("test.%s", name);
  GError *error = NULL;
  const AgfStTensor *ref = agf_safetensors_get(st, full, &error);
  g_assert_no_error(error);
  g_assert_nonnull(got);
  g_assert_cmpint(got->ndim, ==, ref->ndim);
  for (int i = 0; i < ref->ndim; i++)
    g_assert_cmpint(got->shape[i], ==, ref->shape[i]);
  g_autofree float *want = g_new(float, ref->numel);
  g_assert_true(agf_st_tensor_to_f32(ref, want, &error));
  g_assert_no_error(error);
  g_autofree float *have = agf_test_read_f32(got);
  double err = agf_test_rel_err(have, want, (size_t)ref->numel);
  g_test_message("%s: max relative error %.3g", name, err);
  if (!(err <= tol))
    g_error("%s: max relative error %.3g exceeds %.1g", name, err, tol);
  return err;
}

gint64 parity_param_count(const AgfSafetensors *st, const char *prefix)
{
  gint64 n = 0;
  for (int i = 0; i < agf_safetensors_n_tensors(st); i++) {
    const AgfStTensor *t = agf_safetensors_tensor_at(st, i);
    if (g_str_has_prefix(t->name, prefix) &&
        !g_str_has_prefix(t->name, "test.") &&
        !g_str_has_suffix(t->name, ".running_mean") &&
        !g_str_has_suffix(t->name, ".running_var"))
      n += t->numel;
  }
  return n;
}

typedef struct {
  ParityRunFn fn;
  gconstpointer data;
} Run;

static void run_cpu(gconstpointer p)
{
  const Run *r = p;
  r->fn(agf_test_cpu(), r->data);
}

static void run_vulkan(gconstpointer p)
{
  const Run *r = p;
  AgfDevice *dev = agf_test_vulkan_or_skip();
  if (!dev)
    return;
  r->fn(dev, r->data);
  agf_test_assert_vk_clean();
}

static void add_run(const char *path, GTestDataFunc test, ParityRunFn fn,
                    gconstpointer data)
{
  Run *r = g_new(Run, 1);
  *r = (Run){ fn, data };
  g_test_add_data_func_full(path, r, test, g_free);
}

void parity_add_cpu(const char *path, ParityRunFn fn, gconstpointer data)
{
  add_run(path, run_cpu, fn, data);
}

void parity_add_vulkan(const char *path, ParityRunFn fn, gconstpointer data)
{
  add_run(path, run_vulkan, fn, data);
}

char *parity_mutate(const char *src, const char *dir, const char *drop,
                       const char *reshape)
{
  GError *error = NULL;
  g_autoptr(AgfSafetensors) st = agf_safetensors_open(src, &error);
  g_assert_no_error(error);
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, agf_safetensors_metadata(st));
  while (g_hash_table_iter_next(&it, &k, &v))
    agf_safetensors_writer_set_meta(w, k, v);
  gboolean dropped = drop == NULL, reshaped = reshape == NULL;
  for (int i = 0; i < agf_safetensors_n_tensors(st); i++) {
    const AgfStTensor *t = agf_safetensors_tensor_at(st, i);
    if (drop && !strcmp(t->name, drop)) {
      dropped = TRUE;
      continue;
    }
    int64_t shape[AGF_ST_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    if (reshape && !strcmp(t->name, reshape)) {
      /* One element fewer along a dim > 1: the data prefix still fits. */
      int d = t->ndim - 1;
      while (d > 0 && shape[d] < 2)
        d--;
      g_assert_cmpint(shape[d], >=, 2);
      shape[d]--;
      reshaped = TRUE;
    }
    g_assert_true(agf_safetensors_writer_add(w, t->name, t->dtype, t->ndim,
                                             shape, t->data, &error));
  }
  g_assert_true(dropped && reshaped);
  char *path = g_build_filename(dir, drop ? "missing.safetensors"
                                          : "wrong-shape.safetensors", NULL);
  g_assert_true(agf_safetensors_writer_write(w, path, &error));
  g_assert_no_error(error);
  return path;
}

void parity_expect_load_error(const char *path, ParityLoadFn load,
                              gconstpointer data, const char *tensor,
                              int code)
{
  GError *error = NULL;
  g_autoptr(AgfWeights) w = agf_weights_open(path, agf_test_cpu(), AGF_F32,
                                             &error);
  g_assert_no_error(error);
  g_assert_false(load(w, data, &error));
  g_assert_error(error, AGF_ERROR, code);
  g_test_message("%s", error->message);
  if (!strstr(error->message, tensor))
    g_error("message \"%s\" does not name %s", error->message, tensor);
  g_error_free(error);
}

void parity_check_load_errors(const char *file, ParityLoadFn load,
                              gconstpointer data, const char *const *wrong,
                              const char *const *missing)
{
  g_autofree char *src = parity_golden_path(file);
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp("agfas-parity-XXXXXX", &error);
  g_assert_no_error(error);
  for (; wrong && *wrong; wrong++) {
    g_autofree char *p = parity_mutate(src, dir, NULL, *wrong);
    parity_expect_load_error(p, load, data, *wrong, AGF_ERROR_SHAPE);
  }
  for (; missing && *missing; missing++) {
    g_autofree char *p = parity_mutate(src, dir, *missing, NULL);
    parity_expect_load_error(p, load, data, *missing, AGF_ERROR_FORMAT);
  }
  agf_test_remove_tree(dir);
}

static void net_load_errors(gconstpointer data)
{
  const ParityNetTests *t = data;
  parity_check_load_errors(t->golden, t->load, NULL, t->wrong, t->missing);
}

int parity_net_main(const ParityNetTests *t)
{
  g_autofree char *config = g_strdup_printf("/%s/config", t->name);
  g_autofree char *params = g_strdup_printf("/%s/%s", t->name,
                                            t->params_path);
  g_autofree char *cpu = g_strdup_printf("/%s/parity-cpu", t->name);
  g_autofree char *cpu16 = g_strdup_printf("/%s/parity-cpu-f16", t->name);
  g_autofree char *vk = g_strdup_printf("/%s/parity-vulkan", t->name);
  g_autofree char *load = g_strdup_printf("/%s/load-errors", t->name);
  if (t->config)
    g_test_add_func(config, t->config);
  if (t->params)
    g_test_add_func(params, t->params);
  if (t->parity) {
    parity_add_cpu(cpu, t->parity, t->f32);
    if (t->f16)
      parity_add_cpu(cpu16, t->parity, t->f16);
    parity_add_vulkan(vk, t->parity, t->f32);
  }
  g_test_add_data_func(load, t, net_load_errors);
  int rc = g_test_run();
  return agf_test_finish() ? 1 : rc;
}
