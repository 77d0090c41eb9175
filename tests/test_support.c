#include "test_support.h"
#include <math.h>
#include <glib/gstdio.h>
#include "gpu/vk_internal.h"

static AgfDevice *cpu_dev;
static AgfDevice *vk_dev;

AgfDevice *agf_test_cpu(void)
{
  if (!cpu_dev) {
    GError *error = NULL;
    cpu_dev = agf_device_open("cpu", &error);
    g_assert_no_error(error);
  }
  return cpu_dev;
}

gboolean agf_test_have_vulkan(void)
{
  GError *error = NULL;
  int n = 0;
  AgfDeviceInfo *list = agf_device_list(&n, &error);
  g_assert_no_error(error);
  gboolean found = FALSE;
  for (int i = 0; i < n; i++)
    found |= list[i].backend == AGF_BACKEND_VULKAN;
  g_free(list);
  return found;
}

AgfDevice *agf_test_vulkan_or_skip(void)
{
  if (vk_dev)
    return vk_dev;
  if (!agf_test_have_vulkan()) {
    g_test_skip("no Vulkan device on this machine (install mesa-vulkan-drivers "
                "for lavapipe to run the Vulkan tests on the CPU)");
    return NULL;
  }
  GError *error = NULL;
  vk_dev = agf_device_open("vulkan", &error);
  g_assert_no_error(error);
  g_assert_nonnull(vk_dev);
  return vk_dev;
}

void agf_test_assert_vk_clean(void)
{
  g_assert_cmpint(agf_vk_validation_message_count(), ==, 0);
}

int agf_test_finish(void)
{
  g_clear_pointer(&vk_dev, agf_device_free);
  g_clear_pointer(&cpu_dev, agf_device_free);
  int n = agf_vk_validation_message_count();
  if (n)
    g_printerr("Vulkan validation layers reported %d message(s)\n", n);
  return n;
}

void agf_test_fill_uniform(float *x, size_t n, guint32 seed, float lo,
                           float hi)
{
  GRand *r = g_rand_new_with_seed(seed);
  for (size_t i = 0; i < n; i++)
    x[i] = (float)g_rand_double_range(r, lo, hi);
  g_rand_free(r);
}

void agf_test_round_f16(float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    x[i] = agf_f16_to_f32(agf_f32_to_f16(x[i]));
}

float *agf_test_read_f32(const AgfTensor *t)
{
  GError *error = NULL;
  float *out = g_new(float, MAX(agf_tensor_numel(t), 1));
  g_assert_true(agf_tensor_to_f32(t, out, &error));
  g_assert_no_error(error);
  return out;
}

AgfTensor *agf_test_tensor(AgfDevice *dev, AgfDType dt, int ndim,
                           const int64_t *shape, const float *data)
{
  GError *error = NULL;
  AgfTensor *t = agf_tensor_from_f32(dev, dt, ndim, shape, data, &error);
  g_assert_no_error(error);
  g_assert_nonnull(t);
  return t;
}

double agf_test_rel_err(const float *got, const float *ref, size_t n)
{
  double dmax = 0, rmax = 0;
  for (size_t i = 0; i < n; i++) {
    if (isnan(got[i]) || isnan(ref[i])) {
      if (isnan(got[i]) && isnan(ref[i]))
        continue;
      return INFINITY;
    }
    double d = fabs((double)got[i] - ref[i]);
    dmax = MAX(dmax, d);
    rmax = MAX(rmax, fabs((double)ref[i]));
  }
  return dmax / MAX(rmax, 1e-6);
}

char *agf_test_make_tmp(const char *tmpl)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp(tmpl, &error);
  g_assert_no_error(error);
  return dir;
}

void agf_test_remove_tree(const char *path)
{
  if (g_file_test(path, G_FILE_TEST_IS_DIR) &&
      !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    for (const char *n; d && (n = g_dir_read_name(d));) {
      g_autofree char *child = g_build_filename(path, n, NULL);
      agf_test_remove_tree(child);
    }
  }
  g_remove(path);
}

char *agf_test_read_text(const char *path)
{
  GError *error = NULL;
  char *text = NULL;
  g_assert_true(g_file_get_contents(path, &text, NULL, &error));
  g_assert_no_error(error);
  return text;
}
