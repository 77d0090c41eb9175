/* The CPU backend's cache of large freed blocks (cpu_block_cache.h): reuse
 * within a size class, the size limit with the oldest blocks evicted
 * first, small blocks left to malloc, and the device's memory accounting
 * (reserved = in use + cached). */
#include "cpu/cpu_block_cache.h"
#include "test_support.h"

#define MIB ((size_t) 1 << 20)

static void test_reuse(void)
{
  AgfCpuBlockCache *c = agf_cpu_block_cache_new();
  void *p = agf_cpu_block_get(c, MIB);
  g_assert_nonnull(p);
  g_assert_cmpuint((guintptr) p % 64, ==, 0);
  agf_cpu_block_put(c, p, MIB, 8 * MIB);
  g_assert_cmpuint(agf_cpu_block_cached(c), ==, MIB);
  /* 1 MiB + 100 bytes rounds up to the same class (1 MiB + 128 KiB). */
  void *q = agf_cpu_block_get(c, MIB + 100);
  g_assert_cmpuint(agf_cpu_block_cached(c), ==, MIB);
  g_assert_true(q != p);
  agf_cpu_block_put(c, q, MIB + 100, 8 * MIB);
  g_assert_true(agf_cpu_block_get(c, MIB) == p);
  g_assert_true(agf_cpu_block_get(c, MIB + 64 * 1024) == q);
  g_assert_cmpuint(agf_cpu_block_cached(c), ==, 0);
  agf_cpu_block_put(c, p, MIB, 8 * MIB);
  agf_cpu_block_put(c, q, MIB + 64 * 1024, 8 * MIB);
  agf_cpu_block_cache_free(c); /* frees both */
}

static void test_small_and_zero(void)
{
  AgfCpuBlockCache *c = agf_cpu_block_cache_new();
  void *p = agf_cpu_block_get(c, 1000);
  void *z = agf_cpu_block_get(c, 0);
  g_assert_nonnull(p);
  g_assert_nonnull(z);
  agf_cpu_block_put(c, p, 1000, 8 * MIB);
  agf_cpu_block_put(c, z, 0, 8 * MIB);
  g_assert_cmpuint(agf_cpu_block_cached(c), ==, 0);
  g_assert_null(agf_cpu_block_get(c, G_MAXSIZE - 10));
  agf_cpu_block_cache_free(c);
}

static void test_limit(void)
{
  AgfCpuBlockCache *c = agf_cpu_block_cache_new();
  void *b[3];
  for (int i = 0; i < 3; i++)
    b[i] = agf_cpu_block_get(c, MIB);
  const size_t limit = 2 * MIB + MIB / 2;
  for (int i = 0; i < 3; i++)
    agf_cpu_block_put(c, b[i], MIB, limit);
  /* The third put evicted the first block. */
  g_assert_cmpuint(agf_cpu_block_cached(c), ==, 2 * MIB);
  g_assert_true(agf_cpu_block_get(c, MIB) == b[2]);
  g_assert_true(agf_cpu_block_get(c, MIB) == b[1]);
  g_assert_cmpuint(agf_cpu_block_cached(c), ==, 0);
  /* Larger than the limit: freed at once. */
  agf_cpu_block_put(c, b[1], MIB, MIB / 2);
  g_assert_cmpuint(agf_cpu_block_cached(c), ==, 0);
  agf_cpu_block_put(c, b[2], MIB, limit);
  agf_cpu_block_cache_free(c);
}

static void test_device_accounting(void)
{
  AgfDevice *dev = agf_test_cpu();
  GError *error = NULL;
  AgfMemStats s0, s1, s2, s3;
  agf_device_mem_stats(dev, &s0);
  const int64_t shape[1] = { 1 << 20 }; /* 4 MiB of f32 */
  AgfTensor *t = agf_tensor_new(dev, AGF_F32, 1, shape, &error);
  g_assert_no_error(error);
  agf_device_mem_stats(dev, &s1);
  g_assert_cmpuint(s1.in_use, ==, s0.in_use + 4 * MIB);
  agf_tensor_unref(t);
  agf_device_mem_stats(dev, &s2);
  g_assert_cmpuint(s2.in_use, ==, s0.in_use);
  /* Kept for reuse (the device has held 4 MiB, so it fits the limit). */
  g_assert_cmpuint(s2.reserved, >=, s2.in_use + 4 * MIB);
  t = agf_tensor_new(dev, AGF_F32, 1, shape, &error);
  g_assert_no_error(error);
  agf_device_mem_stats(dev, &s3);
  g_assert_cmpuint(s3.reserved, ==, s2.reserved); /* reused, nothing new */
  agf_tensor_unref(t);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/cpu_block_cache/reuse", test_reuse);
  g_test_add_func("/cpu_block_cache/small_and_zero", test_small_and_zero);
  g_test_add_func("/cpu_block_cache/limit", test_limit);
  g_test_add_func("/cpu_block_cache/device_accounting", test_device_accounting);
  return g_test_run();
}
