/* A long run of a small U-Net-like block (conv, group norm, SiLU, self-
 * attention, linear, residual add), releasing every intermediate: after a
 * warm-up the device's peak and reserved memory must stay flat, and
 * in_use must return to where it started (no leaked storage). */
#include "test_support.h"

#define C 32
#define HW 8
#define ITERATIONS 200
#define WARMUP 20
#define SYNC_EVERY 10

typedef struct {
  AgfTensor *x, *w_conv, *b_conv, *gamma, *beta, *w_lin, *b_lin;
} Block;

static AgfTensor *rand_tensor(AgfDevice *dev, AgfDType dt, guint32 seed,
                              int ndim, const int64_t *shape, float scale)
{
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  g_autofree float *v = g_new(float, n);
  agf_test_fill_uniform(v, n, seed, -scale, scale);
  return agf_test_tensor(dev, dt, ndim, shape, v);
}

static void block_init(Block *b, AgfDevice *dev, AgfDType dt)
{
  b->x = rand_tensor(dev, dt, 1, 4, (int64_t[]){ 1, C, HW, HW }, 1);
  b->w_conv = rand_tensor(dev, dt, 2, 4, (int64_t[]){ C, C, 3, 3 }, 0.06f);
  b->b_conv = rand_tensor(dev, dt, 3, 1, (int64_t[]){ C }, 0.1f);
  b->gamma = rand_tensor(dev, dt, 4, 1, (int64_t[]){ C }, 1);
  b->beta = rand_tensor(dev, dt, 5, 1, (int64_t[]){ C }, 0.1f);
  b->w_lin = rand_tensor(dev, dt, 6, 2, (int64_t[]){ C, C }, 0.17f);
  b->b_lin = rand_tensor(dev, dt, 7, 1, (int64_t[]){ C }, 0.1f);
}

static void block_clear(Block *b)
{
  AgfTensor **all[] = { &b->x, &b->w_conv, &b->b_conv, &b->gamma, &b->beta,
                        &b->w_lin, &b->b_lin };
  for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
    g_clear_pointer(all[i], agf_tensor_unref);
}

/* One pass; every intermediate is released before returning. */
static void block_run(const Block *b)
{
  GError *error = NULL;
  AgfConv2dParams cp = { .pad_top = 1, .pad_bottom = 1, .pad_left = 1,
                         .pad_right = 1 };
  g_autoptr(AgfTensor) h = agf_conv2d(b->x, b->w_conv, b->b_conv, &cp, &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) n = agf_group_norm(h, b->gamma, b->beta, 8, 1e-5f, &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) s = agf_silu(n, &error);
  g_assert_no_error(error);
  /* [1,C,H,W] -> tokens [1,HW*HW,C] (a permuted view; the op densifies). */
  g_autoptr(AgfTensor) flat = agf_tensor_reshape(s, 3, (int64_t[]){ 1, C, HW * HW },
                                                 &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) tok = agf_tensor_permute(flat, (int[]){ 0, 2, 1 }, &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) a = agf_attention(tok, tok, tok, 4, 0, &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) l = agf_linear(a, b->w_lin, b->b_lin, &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) r = agf_add(l, tok, &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) sm = agf_softmax(r, &error);
  g_assert_no_error(error);
}

static void sync_dev(AgfDevice *dev)
{
  GError *error = NULL;
  g_assert_true(agf_device_sync(dev, &error));
  g_assert_no_error(error);
}

static void check_flat(AgfDevice *dev, AgfDType dt)
{
  AgfMemStats start, base, end;
  agf_device_mem_stats(dev, &start);
  Block b;
  block_init(&b, dev, dt);
  for (int i = 0; i < WARMUP; i++)
    block_run(&b);
  sync_dev(dev);
  agf_device_reset_peak(dev);
  for (int i = 0; i < SYNC_EVERY; i++)
    block_run(&b);
  sync_dev(dev);
  agf_device_mem_stats(dev, &base);
  for (int i = WARMUP + SYNC_EVERY; i < ITERATIONS; i++) {
    block_run(&b);
    if (i % SYNC_EVERY == 0)
      sync_dev(dev);
  }
  sync_dev(dev);
  agf_device_mem_stats(dev, &end);
  g_test_message("%s: after warm-up peak %zu reserved %zu; after %d "
                 "iterations peak %zu reserved %zu", agf_device_info(dev)->spec,
                 base.peak, base.reserved, ITERATIONS, end.peak, end.reserved);
  g_assert_cmpuint(end.peak, <=, base.peak);
  g_assert_cmpuint(end.reserved, <=, base.reserved);
  block_clear(&b);
  sync_dev(dev);
  AgfMemStats after;
  agf_device_mem_stats(dev, &after);
  g_assert_cmpuint(after.in_use, ==, start.in_use);
}

static void test_cpu(void)
{
  check_flat(agf_test_cpu(), AGF_F32);
}

static void test_vulkan(gconstpointer data)
{
  AgfDevice *dev = agf_test_vulkan_or_skip();
  if (!dev)
    return;
  AgfDType dt = GPOINTER_TO_INT(data) ? AGF_F16 : AGF_F32;
  if (!agf_device_supports_dtype(dev, dt)) {
    g_test_skip("this device has no f16 kernels");
    return;
  }
  check_flat(dev, dt);
  agf_test_assert_vk_clean();
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/memory/cpu/f32", test_cpu);
  g_test_add_data_func("/memory/vulkan/f32", GINT_TO_POINTER(0), test_vulkan);
  g_test_add_data_func("/memory/vulkan/f16", GINT_TO_POINTER(1), test_vulkan);
  int rc = g_test_run();
  return agf_test_finish() ? 1 : rc;
}
