/* Device listing and opening: the CPU backend first, the spec strings of
 * --device, $AGFAS_DEVICE, useful errors for bad specs, memory statistics
 * and per-op timing records. */
#include <string.h>
#include "test_support.h"

static void test_list(void)
{
  GError *error = NULL;
  int n = 0;
  g_autofree AgfDeviceInfo *list = agf_device_list(&n, &error);
  g_assert_no_error(error);
  g_assert_cmpint(n, >=, 1);
  g_assert_cmpint(list[0].backend, ==, AGF_BACKEND_CPU);
  g_assert_cmpint(list[0].type, ==, AGF_DEVICE_TYPE_CPU);
  g_assert_cmpstr(list[0].spec, ==, "cpu");
  g_assert_cmpint(list[0].vk_index, ==, -1);
  g_assert_cmpint(list[0].threads, >=, 1);
  g_assert_cmpuint(list[0].memory_bytes, >, 0);
  for (int i = 1; i < n; i++) {
    g_assert_cmpint(list[i].backend, ==, AGF_BACKEND_VULKAN);
    g_autofree char *spec = g_strdup_printf("vulkan:%d", list[i].vk_index);
    g_assert_cmpstr(list[i].spec, ==, spec);
    g_assert_cmpuint(strlen(list[i].name), >, 0);
    g_test_message("%s: %s%s%s", list[i].spec, list[i].name,
                   list[i].fp16 ? ", fp16" : "",
                   list[i].coopmat ? ", cooperative matrix" : "");
  }
}

static void test_open_cpu(void)
{
  GError *error = NULL;
  g_autoptr(AgfDevice) dev = agf_device_open("cpu", &error);
  g_assert_no_error(error);
  const AgfDeviceInfo *info = agf_device_info(dev);
  g_assert_cmpint(info->backend, ==, AGF_BACKEND_CPU);
  g_assert_cmpstr(info->spec, ==, "cpu");
  g_assert_true(agf_device_supports_dtype(dev, AGF_F32));
  g_assert_true(agf_device_sync(dev, &error));
  g_assert_no_error(error);
}

/* auto: a GPU when there is one, the CPU backend when the only Vulkan
 * devices are CPU drivers. */
static void test_open_auto(void)
{
  GError *error = NULL;
  int n = 0;
  g_autofree AgfDeviceInfo *list = agf_device_list(&n, &error);
  gboolean gpu = FALSE;
  for (int i = 1; i < n; i++)
    gpu |= list[i].type == AGF_DEVICE_TYPE_DISCRETE ||
           list[i].type == AGF_DEVICE_TYPE_INTEGRATED;
  g_autoptr(AgfDevice) dev = agf_device_open("auto", &error);
  g_assert_no_error(error);
  const AgfDeviceInfo *info = agf_device_info(dev);
  g_test_message("auto picked %s (%s)", info->spec, info->name);
  if (gpu)
    g_assert_true(info->type == AGF_DEVICE_TYPE_DISCRETE ||
                  info->type == AGF_DEVICE_TYPE_INTEGRATED);
  else if (n == 1 || list[1].type == AGF_DEVICE_TYPE_CPU_DRIVER)
    g_assert_cmpint(info->backend, ==, AGF_BACKEND_CPU);
}

static void test_open_vulkan(void)
{
  GError *error = NULL;
  if (!agf_test_have_vulkan()) {
    AgfDevice *dev = agf_device_open("vulkan", &error);
    g_assert_null(dev);
    g_assert_error(error, AGF_ERROR, AGF_ERROR_NO_DEVICE);
    g_test_message("expected error: %s", error->message);
    g_clear_error(&error);
    g_test_skip("no Vulkan device on this machine: only the error path checked");
    return;
  }
  g_autoptr(AgfDevice) dev = agf_device_open("vulkan", &error);
  g_assert_no_error(error);
  const AgfDeviceInfo *info = agf_device_info(dev);
  g_assert_cmpint(info->backend, ==, AGF_BACKEND_VULKAN);
  g_assert_true(g_str_has_prefix(info->spec, "vulkan:"));
  g_assert_true(agf_device_supports_dtype(dev, AGF_F32));
  g_assert_cmpint(agf_device_supports_dtype(dev, AGF_F16), ==, info->fp16);

  /* The same device by index. */
  g_autoptr(AgfDevice) same = agf_device_open(info->spec, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(agf_device_info(same)->name, ==, info->name);
  g_assert_true(agf_device_sync(dev, &error));
  g_assert_no_error(error);
  agf_test_assert_vk_clean();
}

static void expect_bad_spec(const char *spec)
{
  GError *error = NULL;
  AgfDevice *dev = agf_device_open(spec, &error);
  g_assert_null(dev);
  g_assert_nonnull(error);
  g_assert_true(error->domain == AGF_ERROR);
  g_assert_true(error->code == AGF_ERROR_NO_DEVICE ||
                error->code == AGF_ERROR_INVALID_ARGUMENT);
  g_test_message("%s -> %s", spec, error->message);
  /* The message names what was asked for. */
  g_assert_nonnull(strstr(error->message, spec));
  g_error_free(error);
}

static void test_open_bad(void)
{
  expect_bad_spec("vulkan:99");
  expect_bad_spec("gpu-please");
  expect_bad_spec("vulkan:x");
}

static void test_env(void)
{
  GError *error = NULL;
  g_setenv("AGFAS_DEVICE", "cpu", TRUE);
  AgfDevice *dev = agf_device_open(NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpint(agf_device_info(dev)->backend, ==, AGF_BACKEND_CPU);
  agf_device_free(dev);

  if (agf_test_have_vulkan()) {
    g_setenv("AGFAS_DEVICE", "vulkan", TRUE);
    dev = agf_device_open(NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpint(agf_device_info(dev)->backend, ==, AGF_BACKEND_VULKAN);
    agf_device_free(dev);
  }

  g_setenv("AGFAS_DEVICE", "bogus-device", TRUE);
  dev = agf_device_open(NULL, &error);
  g_assert_null(dev);
  g_assert_nonnull(error);
  g_assert_nonnull(strstr(error->message, "bogus-device"));
  g_test_message("expected error: %s", error->message);
  g_clear_error(&error);

  /* An explicit spec wins over the environment. */
  dev = agf_device_open("cpu", &error);
  g_assert_no_error(error);
  agf_device_free(dev);
  g_unsetenv("AGFAS_DEVICE");
  dev = agf_device_open(NULL, &error);
  g_assert_no_error(error);
  agf_device_free(dev);
}

/* Memory statistics follow allocations; profiling records every op. */
static void check_stats_and_timing(AgfDevice *dev)
{
  GError *error = NULL;
  AgfMemStats before, during, after;
  agf_device_mem_stats(dev, &before);
  float data[1000];
  agf_test_fill_uniform(data, 1000, 1, -1, 1);
  AgfTensor *x = agf_test_tensor(dev, AGF_F32, 2, (int64_t[]){ 10, 100 }, data);
  agf_device_mem_stats(dev, &during);
  g_assert_cmpuint(during.in_use, >=, before.in_use + sizeof data);
  g_assert_cmpuint(during.peak, >=, during.in_use);
  g_assert_cmpuint(during.reserved, >=, during.in_use);

  agf_device_set_profiling(dev, TRUE);
  AgfTensor *y = agf_relu(x, &error);
  g_assert_no_error(error);
  AgfTensor *z = agf_add(x, y, &error);
  g_assert_no_error(error);
  g_assert_true(agf_device_sync(dev, &error));
  int n = 0;
  g_autofree AgfOpTiming *t = agf_device_take_timings(dev, &n, &error);
  g_assert_no_error(error);
  g_assert_cmpint(n, >=, 2);
  for (int i = 0; i < n; i++) {
    g_assert_cmpuint(strlen(t[i].name), >, 0);
    g_assert_cmpfloat(t[i].usec, >=, 0);
    g_test_message("%s: %.1f us", t[i].name, t[i].usec);
  }
  /* take() cleared the list. */
  g_autofree AgfOpTiming *t2 = agf_device_take_timings(dev, &n, &error);
  g_assert_no_error(error);
  g_assert_cmpint(n, ==, 0);
  agf_device_set_profiling(dev, FALSE);

  agf_tensor_unref(x);
  agf_tensor_unref(y);
  agf_tensor_unref(z);
  g_assert_true(agf_device_sync(dev, &error));
  agf_device_mem_stats(dev, &after);
  g_assert_cmpuint(after.in_use, ==, before.in_use);
  agf_device_reset_peak(dev);
  agf_device_mem_stats(dev, &after);
  g_assert_cmpuint(after.peak, ==, after.in_use);
}

static void test_stats_cpu(void)
{
  check_stats_and_timing(agf_test_cpu());
}

static void test_stats_vulkan(void)
{
  AgfDevice *dev = agf_test_vulkan_or_skip();
  if (!dev)
    return;
  check_stats_and_timing(dev);
  agf_test_assert_vk_clean();
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/device/list", test_list);
  g_test_add_func("/device/open/cpu", test_open_cpu);
  g_test_add_func("/device/open/auto", test_open_auto);
  g_test_add_func("/device/open/vulkan", test_open_vulkan);
  g_test_add_func("/device/open/bad-spec", test_open_bad);
  g_test_add_func("/device/open/env", test_env);
  g_test_add_func("/device/stats/cpu", test_stats_cpu);
  g_test_add_func("/device/stats/vulkan", test_stats_vulkan);
  int rc = g_test_run();
  return agf_test_finish() ? 1 : rc;
}
