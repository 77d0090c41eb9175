/* Tensors: f16 conversion, views (reshape, permute, slice, contiguous,
 * cast), host round trips and error reporting, on the CPU backend and on
 * Vulkan. */
#include <math.h>
#include <string.h>
#include "test_support.h"

/* --- f16 conversion --- */

static float f32_from_bits(uint32_t u)
{
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static void test_f16_exact(void)
{
  g_assert_cmphex(agf_f32_to_f16(0.0f), ==, 0x0000);
  g_assert_cmphex(agf_f32_to_f16(-0.0f), ==, 0x8000);
  g_assert_cmphex(agf_f32_to_f16(1.0f), ==, 0x3c00);
  g_assert_cmphex(agf_f32_to_f16(-2.0f), ==, 0xc000);
  g_assert_cmphex(agf_f32_to_f16(0.5f), ==, 0x3800);
  g_assert_cmphex(agf_f32_to_f16(65504.0f), ==, 0x7bff);  /* largest finite */
  g_assert_cmphex(agf_f32_to_f16(6.103515625e-05f), ==, 0x0400); /* 2^-14 */
  g_assert_cmpfloat(agf_f16_to_f32(0x3c00), ==, 1.0f);
  g_assert_cmpfloat(agf_f16_to_f32(0x7bff), ==, 65504.0f);
  g_assert_cmpfloat(agf_f16_to_f32(0xc000), ==, -2.0f);
  g_assert_cmpfloat(agf_f16_to_f32(0x3555), ==, 0.333251953125f);
}

static void test_f16_round_to_even(void)
{
  /* 1 + 2^-11 is halfway between 0x3c00 and 0x3c01: ties go to even. */
  g_assert_cmphex(agf_f32_to_f16(1.0f + 0x1p-11f), ==, 0x3c00);
  /* 1 + 3*2^-11 is halfway between 0x3c01 and 0x3c02: even is 0x3c02. */
  g_assert_cmphex(agf_f32_to_f16(1.0f + 0x3p-11f), ==, 0x3c02);
  /* Just above the tie rounds up. */
  g_assert_cmphex(agf_f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f), ==, 0x3c01);
  /* Just below the tie rounds down. */
  g_assert_cmphex(agf_f32_to_f16(1.0f + 0x1p-11f - 0x1p-22f), ==, 0x3c00);
  /* Mantissa carry into the exponent: 2 - 2^-12 rounds to 2. */
  g_assert_cmphex(agf_f32_to_f16(2.0f - 0x1p-12f), ==, 0x4000);
  /* 65520 is halfway between 65504 and 65536 (not representable): inf. */
  g_assert_cmphex(agf_f32_to_f16(65520.0f), ==, 0x7c00);
  g_assert_cmphex(agf_f32_to_f16(65519.0f), ==, 0x7bff);
  g_assert_cmphex(agf_f32_to_f16(-1e6f), ==, 0xfc00);
}

static void test_f16_inf_nan(void)
{
  g_assert_cmphex(agf_f32_to_f16(INFINITY), ==, 0x7c00);
  g_assert_cmphex(agf_f32_to_f16(-INFINITY), ==, 0xfc00);
  uint16_t h = agf_f32_to_f16(NAN);
  g_assert_cmphex(h & 0x7c00, ==, 0x7c00);
  g_assert_cmphex(h & 0x03ff, !=, 0);
  /* A NaN whose payload sits only in the low f32 bits must stay a NaN. */
  h = agf_f32_to_f16(f32_from_bits(0x7f800001));
  g_assert_cmphex(h & 0x7c00, ==, 0x7c00);
  g_assert_cmphex(h & 0x03ff, !=, 0);
  g_assert_true(isinf(agf_f16_to_f32(0x7c00)) && agf_f16_to_f32(0x7c00) > 0);
  g_assert_true(isinf(agf_f16_to_f32(0xfc00)) && agf_f16_to_f32(0xfc00) < 0);
  g_assert_true(isnan(agf_f16_to_f32(0x7e00)));
  g_assert_true(isnan(agf_f16_to_f32(0xfc01)));
}

static void test_f16_subnormal(void)
{
  g_assert_cmpfloat(agf_f16_to_f32(0x0001), ==, 0x1p-24f);
  g_assert_cmpfloat(agf_f16_to_f32(0x03ff), ==, 0x3ffp-24f);
  g_assert_cmpfloat(agf_f16_to_f32(0x8001), ==, -0x1p-24f);
  g_assert_true(signbit(agf_f16_to_f32(0x8000)));
  g_assert_cmphex(agf_f32_to_f16(0x1p-24f), ==, 0x0001);
  g_assert_cmphex(agf_f32_to_f16(0x3ffp-24f), ==, 0x03ff);
  /* 2^-25 is half the smallest subnormal: the tie goes to even (zero). */
  g_assert_cmphex(agf_f32_to_f16(0x1p-25f), ==, 0x0000);
  g_assert_cmphex(agf_f32_to_f16(0x1p-25f + 0x1p-35f), ==, 0x0001);
  /* 3 * 2^-25 = 1.5 ulp: ties to even gives 2 ulp. */
  g_assert_cmphex(agf_f32_to_f16(0x3p-25f), ==, 0x0002);
  g_assert_cmphex(agf_f32_to_f16(0x1p-30f), ==, 0x0000);
  g_assert_cmphex(agf_f32_to_f16(-0x1p-30f), ==, 0x8000);
  /* The largest subnormal plus half an ulp rounds up to the smallest
   * normal (0x3ff is odd, so the tie goes up). */
  g_assert_cmphex(agf_f32_to_f16(0x3ffp-24f + 0x1p-25f), ==, 0x0400);
}

static void test_f16_round_trip_all(void)
{
  for (uint32_t h = 0; h < 0x10000; h++) {
    float f = agf_f16_to_f32((uint16_t)h);
    if (isnan(f))
      continue;
    g_assert_cmphex(agf_f32_to_f16(f), ==, h);
  }
}

/* --- views on one backend --- */

/* user data: 0 = the CPU backend, 1 = Vulkan (NULL after a skip). */
static AgfDevice *open_backend(gconstpointer user)
{
  return GPOINTER_TO_INT(user) ? agf_test_vulkan_or_skip() : agf_test_cpu();
}

static void finish(AgfDevice *dev)
{
  GError *error = NULL;
  g_assert_true(agf_device_sync(dev, &error));
  g_assert_no_error(error);
  if (agf_device_info(dev)->backend == AGF_BACKEND_VULKAN)
    agf_test_assert_vk_clean();
}

/* x[i] = i for a [2,3,4] tensor. */
static AgfTensor *iota_234(AgfDevice *dev, AgfDType dt)
{
  float data[24];
  for (int i = 0; i < 24; i++)
    data[i] = (float)i;
  return agf_test_tensor(dev, dt, 3, (int64_t[]){ 2, 3, 4 }, data);
}

static void test_reshape(gconstpointer user)
{
  AgfDevice *dev = open_backend(user);
  if (!dev)
    return;
  GError *error = NULL;
  g_autoptr(AgfTensor) x = iota_234(dev, AGF_F32);
  g_autoptr(AgfTensor) r = agf_tensor_reshape(x, 2, (int64_t[]){ 6, -1 },
                                              &error);
  g_assert_no_error(error);
  g_assert_cmpint(r->ndim, ==, 2);
  g_assert_cmpint(r->shape[0], ==, 6);
  g_assert_cmpint(r->shape[1], ==, 4);
  g_assert_true(r->storage == x->storage); /* a view, not a copy */
  g_autofree float *v = agf_test_read_f32(r);
  for (int i = 0; i < 24; i++)
    g_assert_cmpfloat(v[i], ==, (float)i);
  char buf[64];
  g_assert_cmpstr(agf_shape_str(r, buf, sizeof buf), ==, "[6, 4]");
  finish(dev);
}

static void test_permute(gconstpointer user)
{
  AgfDevice *dev = open_backend(user);
  if (!dev)
    return;
  GError *error = NULL;
  g_autoptr(AgfTensor) x = iota_234(dev, AGF_F32);
  g_autoptr(AgfTensor) p = agf_tensor_permute(x, (int[]){ 2, 0, 1 }, &error);
  g_assert_no_error(error);
  g_assert_true(p->storage == x->storage);
  g_assert_cmpint(p->shape[0], ==, 4);
  g_assert_cmpint(p->shape[1], ==, 2);
  g_assert_cmpint(p->shape[2], ==, 3);
  g_assert_false(agf_tensor_is_contiguous(p));
  g_autofree float *v = agf_test_read_f32(p);
  for (int k = 0; k < 4; k++)
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 3; j++)
        g_assert_cmpfloat(v[(k * 2 + i) * 3 + j], ==, (float)(i * 12 + j * 4 + k));

  /* contiguous() makes a dense copy with the same logical order. */
  g_autoptr(AgfTensor) c = agf_tensor_contiguous(p, &error);
  g_assert_no_error(error);
  g_assert_true(agf_tensor_is_contiguous(c));
  g_autofree float *w = agf_test_read_f32(c);
  g_assert_cmpmem(v, 24 * sizeof(float), w, 24 * sizeof(float));

  /* contiguous() of a dense tensor is the tensor itself. */
  g_autoptr(AgfTensor) same = agf_tensor_contiguous(x, &error);
  g_assert_true(same == x);

  /* Reshaping a non-contiguous view copies, in logical order. */
  g_autoptr(AgfTensor) r = agf_tensor_reshape(p, 1, (int64_t[]){ 24 }, &error);
  g_assert_no_error(error);
  g_autofree float *u = agf_test_read_f32(r);
  g_assert_cmpmem(v, 24 * sizeof(float), u, 24 * sizeof(float));
  finish(dev);
}

static void test_slice(gconstpointer user)
{
  AgfDevice *dev = open_backend(user);
  if (!dev)
    return;
  GError *error = NULL;
  g_autoptr(AgfTensor) x = iota_234(dev, AGF_F32);
  g_autoptr(AgfTensor) s = agf_tensor_slice(x, 1, 1, 2, &error);
  g_assert_no_error(error);
  g_assert_true(s->storage == x->storage);
  g_assert_cmpint(s->shape[1], ==, 2);
  g_autofree float *v = agf_test_read_f32(s);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      for (int k = 0; k < 4; k++)
        g_assert_cmpfloat(v[(i * 2 + j) * 4 + k], ==, (float)(i * 12 + (j + 1) * 4 + k));

  /* A slice of a permuted view, made dense. */
  g_autoptr(AgfTensor) p = agf_tensor_permute(x, (int[]){ 2, 1, 0 }, &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) ps = agf_tensor_slice(p, 0, 3, 1, &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) c = agf_tensor_contiguous(ps, &error);
  g_assert_no_error(error);
  g_autofree float *w = agf_test_read_f32(c);
  for (int j = 0; j < 3; j++)
    for (int i = 0; i < 2; i++)
      g_assert_cmpfloat(w[j * 2 + i], ==, (float)(i * 12 + j * 4 + 3));

  /* The last dim sliced: the rows stay strided. */
  g_autoptr(AgfTensor) last = agf_tensor_slice(x, 2, 1, 3, &error);
  g_assert_no_error(error);
  g_autofree float *z = agf_test_read_f32(last);
  for (int r = 0; r < 6; r++)
    for (int k = 0; k < 3; k++)
      g_assert_cmpfloat(z[r * 3 + k], ==, (float)(r * 4 + k + 1));
  finish(dev);
}

static void test_cast(gconstpointer user)
{
  AgfDevice *dev = open_backend(user);
  if (!dev)
    return;
  if (!agf_device_supports_dtype(dev, AGF_F16)) {
    g_test_skip("this device has no f16 support");
    return;
  }
  GError *error = NULL;
  float data[24];
  agf_test_fill_uniform(data, 24, 7, -3, 3);
  g_autoptr(AgfTensor) x = agf_test_tensor(dev, AGF_F32, 3,
                                           (int64_t[]){ 2, 3, 4 }, data);
  g_autoptr(AgfTensor) same = agf_tensor_cast(x, AGF_F32, &error);
  g_assert_true(same == x);
  g_autoptr(AgfTensor) h = agf_tensor_cast(x, AGF_F16, &error);
  g_assert_no_error(error);
  g_assert_cmpint(h->dtype, ==, AGF_F16);
  uint16_t raw[24];
  g_assert_true(agf_tensor_read(h, raw, &error));
  g_assert_no_error(error);
  for (int i = 0; i < 24; i++)
    g_assert_cmphex(raw[i], ==, agf_f32_to_f16(data[i]));

  /* Cast of a permuted view: dense and in logical order. */
  g_autoptr(AgfTensor) p = agf_tensor_permute(x, (int[]){ 1, 2, 0 }, &error);
  g_autoptr(AgfTensor) hp = agf_tensor_cast(p, AGF_F16, &error);
  g_assert_no_error(error);
  g_assert_true(agf_tensor_is_contiguous(hp));
  g_autoptr(AgfTensor) back = agf_tensor_cast(hp, AGF_F32, &error);
  g_assert_no_error(error);
  g_autofree float *v = agf_test_read_f32(back);
  for (int j = 0; j < 3; j++)
    for (int k = 0; k < 4; k++)
      for (int i = 0; i < 2; i++)
        g_assert_cmpfloat(v[(j * 4 + k) * 2 + i], ==,
                          agf_f16_to_f32(agf_f32_to_f16(data[i * 12 + j * 4 + k])));
  finish(dev);
}

static void test_round_trip(gconstpointer user)
{
  AgfDevice *dev = open_backend(user);
  if (!dev)
    return;
  GError *error = NULL;
  /* f32, odd size. */
  float data[37], back[37];
  agf_test_fill_uniform(data, 37, 3, -100, 100);
  g_autoptr(AgfTensor) x = agf_test_tensor(dev, AGF_F32, 1,
                                           (int64_t[]){ 37 }, data);
  g_assert_true(agf_tensor_read(x, back, &error));
  g_assert_cmpmem(data, sizeof data, back, sizeof back);
  agf_test_fill_uniform(data, 37, 4, -1, 1);
  g_assert_true(agf_tensor_write(x, data, &error));
  g_assert_no_error(error);
  g_assert_true(agf_tensor_to_f32(x, back, &error));
  g_assert_cmpmem(data, sizeof data, back, sizeof back);

  /* fill */
  g_assert_true(agf_tensor_fill(x, 2.5f, &error));
  g_assert_no_error(error);
  g_assert_true(agf_tensor_read(x, back, &error));
  for (int i = 0; i < 37; i++)
    g_assert_cmpfloat(back[i], ==, 2.5f);

  /* u8 images: raw bytes, an odd count that does not fill a 32-bit word. */
  uint8_t img[2 * 3 * 5 * 3], img_back[sizeof img];
  for (size_t i = 0; i < sizeof img; i++)
    img[i] = (uint8_t)(i * 37 + 11);
  g_autoptr(AgfTensor) u = agf_tensor_from_host(dev, AGF_U8, 4,
                                                (int64_t[]){ 2, 3, 5, 3 },
                                                img, &error);
  g_assert_no_error(error);
  g_assert_true(agf_tensor_read(u, img_back, &error));
  g_assert_no_error(error);
  g_assert_cmpmem(img, sizeof img, img_back, sizeof img_back);

  if (agf_device_supports_dtype(dev, AGF_F16)) {
    uint16_t h[37], hb[37];
    for (int i = 0; i < 37; i++)
      h[i] = agf_f32_to_f16(data[i]);
    g_autoptr(AgfTensor) t = agf_tensor_from_host(dev, AGF_F16, 1,
                                                  (int64_t[]){ 37 }, h, &error);
    g_assert_no_error(error);
    g_assert_true(agf_tensor_read(t, hb, &error));
    g_assert_cmpmem(h, sizeof h, hb, sizeof hb);
    g_assert_true(agf_tensor_to_f32(t, back, &error));
    for (int i = 0; i < 37; i++)
      g_assert_cmpfloat(back[i], ==, agf_f16_to_f32(h[i]));
    g_assert_true(agf_tensor_fill(t, -0.25f, &error));
    g_assert_true(agf_tensor_read(t, hb, &error));
    for (int i = 0; i < 37; i++)
      g_assert_cmphex(hb[i], ==, agf_f32_to_f16(-0.25f));
  }
  finish(dev);
}

static void expect_error(GError **error, AgfTensor *t)
{
  g_assert_null(t);
  g_assert_nonnull(*error);
  g_assert_true((*error)->domain == AGF_ERROR);
  g_assert_cmpuint(strlen((*error)->message), >, 0);
  g_test_message("expected error: %s", (*error)->message);
  g_clear_error(error);
}

static void test_errors(gconstpointer user)
{
  AgfDevice *dev = open_backend(user);
  if (!dev)
    return;
  GError *error = NULL;
  g_autoptr(AgfTensor) x = iota_234(dev, AGF_F32);
  expect_error(&error, agf_tensor_reshape(x, 2, (int64_t[]){ 5, 5 }, &error));
  expect_error(&error, agf_tensor_reshape(x, 2, (int64_t[]){ -1, -1 }, &error));
  expect_error(&error, agf_tensor_reshape(x, 2, (int64_t[]){ 7, -1 }, &error));
  expect_error(&error, agf_tensor_slice(x, 1, 2, 2, &error));
  expect_error(&error, agf_tensor_slice(x, 1, -1, 1, &error));
  expect_error(&error, agf_tensor_slice(x, 3, 0, 1, &error));
  expect_error(&error, agf_tensor_slice(x, 0, 0, 0, &error));
  expect_error(&error, agf_tensor_permute(x, (int[]){ 0, 0, 1 }, &error));
  expect_error(&error, agf_tensor_permute(x, (int[]){ 0, 1, 3 }, &error));
  expect_error(&error, agf_tensor_new(dev, AGF_F32, AGF_MAX_DIMS + 1,
                                      (int64_t[]){ 1, 1, 1, 1, 1, 1, 1 },
                                      &error));
  expect_error(&error, agf_tensor_new(dev, AGF_F32, 2, (int64_t[]){ 3, -2 },
                                      &error));
  /* A shape error from an op: [2,3,4] x [5,6]. */
  float w[30] = { 0 };
  g_autoptr(AgfTensor) b = agf_test_tensor(dev, AGF_F32, 2,
                                           (int64_t[]){ 5, 6 }, w);
  expect_error(&error, agf_gemm(x, b, NULL, FALSE, FALSE, 1, &error));
  /* x is still usable after the failures. */
  g_autofree float *v = agf_test_read_f32(x);
  g_assert_cmpfloat(v[23], ==, 23.0f);
  finish(dev);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/tensor/f16/exact", test_f16_exact);
  g_test_add_func("/tensor/f16/round-to-even", test_f16_round_to_even);
  g_test_add_func("/tensor/f16/inf-nan", test_f16_inf_nan);
  g_test_add_func("/tensor/f16/subnormal", test_f16_subnormal);
  g_test_add_func("/tensor/f16/round-trip-all", test_f16_round_trip_all);
  static const struct { const char *name; GTestDataFunc fn; } cases[] = {
    { "reshape", test_reshape }, { "permute", test_permute },
    { "slice", test_slice },     { "cast", test_cast },
    { "round-trip", test_round_trip }, { "errors", test_errors },
  };
  static const char *const backends[] = { "cpu", "vulkan" };
  for (int b = 0; b < 2; b++)
    for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
      g_autofree char *path = g_strdup_printf("/tensor/%s/%s", backends[b],
                                              cases[c].name);
      g_test_add_data_func(path, GINT_TO_POINTER(b), cases[c].fn);
    }
  int rc = g_test_run();
  return agf_test_finish() ? 1 : rc;
}
