/* Every op kind on every backend against the CPU backend in f32 (the
 * table in ops_cases.c), the CPU backend against naive references for
 * GEMM, conv2d, attention and the training kinds, and hand-computed
 * pixels for the image, colormap and sampling ops. */
#include <math.h>
#include <string.h>
#include "test_support.h"
#include "ops_cases.h"
#include "ops_harness.h"

typedef struct {
  int ci;       /* index in agf_op_cases */
  gboolean vk;  /* Vulkan, else the CPU backend */
  AgfDType dt;
} OpTest;

/* The largest step between neighbouring entries of a colour map: a value on
 * a bin edge may land in either bin. */
static int lut_step(AgfColormap cmap)
{
  const uint8_t *lut = agf_colormap_lut(cmap);
  int step = 0;
  for (int i = 1; i < 256; i++)
    for (int k = 0; k < 3; k++)
      step = MAX(step, abs((int)lut[i * 3 + k] - (int)lut[(i - 1) * 3 + k]));
  return step;
}

static void compare(const OpCase *c, const AgfTensor *got,
                    const AgfTensor *ref, AgfDType dt)
{
  char gs[96], rs[96];
  agf_shape_str(got, gs, sizeof gs);
  agf_shape_str(ref, rs, sizeof rs);
  if (strcmp(gs, rs) != 0) {
    g_test_fail_printf("output shape %s, reference %s", gs, rs);
    return;
  }
  int64_t n = agf_tensor_numel(ref);
  double tol = dt == AGF_F16 ? c->tol_f16 : c->tol_f32;
  GError *error = NULL;
  if (ref->dtype == AGF_U8) {
    g_assert_cmpint(got->dtype, ==, AGF_U8);
    g_autofree uint8_t *a = g_new(uint8_t, n);
    g_autofree uint8_t *b = g_new(uint8_t, n);
    g_assert_true(agf_tensor_read(got, a, &error));
    g_assert_true(agf_tensor_read(ref, b, &error));
    g_assert_no_error(error);
    if (c->op.kind == AGF_OP_COLORMAP)
      tol = lut_step(c->op.p.cmap.cmap) * (dt == AGF_F16 ? 2 : 1);
    int worst = 0;
    int64_t worst_at = 0;
    for (int64_t i = 0; i < n; i++)
      if (abs((int)a[i] - (int)b[i]) > worst)
        worst = abs((int)a[i] - (int)b[i]), worst_at = i;
    g_test_message("%s %s: max difference %d levels (bound %.0f)",
                   agf_op_name(c->op.kind), c->name, worst, tol);
    if (worst > tol)
      g_test_message("at element %" G_GINT64_FORMAT ": got %d, reference %d",
                     worst_at, a[worst_at], b[worst_at]);
    g_assert_cmpint(worst, <=, (int)tol);
    return;
  }
  gboolean float_in = FALSE;
  for (int i = 0; i < c->op.n_in; i++)
    float_in |= c->in[i].ndim && c->in[i].kind == OP_IN_FLOAT;
  /* Statistics are F32 whatever the inputs' dtype (op.h). */
  gboolean f32_out = c->op.kind == AGF_OP_NORM_STATS ||
                     (c->op.kind == AGF_OP_ATTENTION_BWD &&
                      c->op.p.attention_bwd.which == AGF_ATTN_GRAD_STATS);
  if (float_in || c->op.n_in == 0) /* the run really used dt */
    g_assert_cmpint(got->dtype, ==, f32_out ? AGF_F32 : dt);
  g_autofree float *a = agf_test_read_f32(got);
  g_autofree float *b = agf_test_read_f32(ref);
  double err = agf_test_rel_err(a, b, n);
  g_test_message("%s %s %s: relative error %.3g (bound %.3g)",
                 agf_op_name(c->op.kind), c->name, agf_dtype_name(dt), err, tol);
  if (!(err <= tol)) {
    int64_t at = 0;
    for (int64_t i = 1; i < n; i++)
      if (fabsf(a[i] - b[i]) > fabsf(a[at] - b[at]) || isnan(a[i]))
        at = i;
    g_test_message("worst at element %" G_GINT64_FORMAT " of %s: got %g, reference %g",
                   at, rs, a[at], b[at]);
  }
  g_assert_cmpfloat(err, <=, tol);
}

static void test_op(gconstpointer data)
{
  const OpTest *t = data;
  const OpCase *c = &agf_op_cases[t->ci];
  AgfDevice *dev = t->vk ? agf_test_vulkan_or_skip() : agf_test_cpu();
  if (!dev)
    return;
  if (!agf_device_supports_dtype(dev, t->dt)) {
    g_test_skip("this device has no f16 kernels (shaderFloat16 + 16-bit storage)");
    return;
  }
  float *host[AGF_OP_MAX_INPUTS] = { 0 };
  for (int i = 0; i < c->op.n_in; i++)
    if (c->in[i].ndim)
      host[i] = agf_ops_make_input(c, t->ci, i, t->dt);
  agf_ops_chain_attention_inputs(c, host, t->dt);
  AgfTensor *ref = agf_ops_run_case(c, agf_test_cpu(), AGF_F32, host);
  AgfTensor *got = ref ? agf_ops_run_case(c, dev, t->dt, host) : NULL;
  if (got)
    compare(c, got, ref, t->dt);
  g_clear_pointer(&got, agf_tensor_unref);
  g_clear_pointer(&ref, agf_tensor_unref);
  for (int i = 0; i < c->op.n_in; i++)
    g_free(host[i]);
  if (t->vk)
    agf_test_assert_vk_clean();
}

/* The CPU backend against the naive double-precision definitions. */
static void check_naive(const OpCase *c, float *const *host)
{
  AgfTensor *out = agf_ops_run_case(c, agf_test_cpu(), AGF_F32, host);
  if (!out)
    return;
  int64_t n = 0;
  g_autofree float *ref = agf_naive_run(c, host, &n);
  g_autofree float *got = agf_test_read_f32(out);
  if (n != agf_tensor_numel(out))
    g_test_fail_printf("%" G_GINT64_FORMAT " outputs, the naive reference has %"
                       G_GINT64_FORMAT, agf_tensor_numel(out), n);
  else {
    double err = agf_test_rel_err(got, ref, n);
    g_test_message("%s %s: relative error %.3g against the naive reference",
                   agf_op_name(c->op.kind), c->name, err);
    g_assert_cmpfloat(err, <=, 1e-5);
  }
  agf_tensor_unref(out);
}

static void test_naive(gconstpointer data)
{
  int ci = GPOINTER_TO_INT(data);
  const OpCase *c = &agf_op_cases[ci];
  float *host[AGF_OP_MAX_INPUTS] = { 0 };
  for (int i = 0; i < c->op.n_in; i++)
    if (c->in[i].ndim)
      host[i] = agf_ops_make_input(c, ci, i, AGF_F32);
  agf_ops_chain_attention_inputs(c, host, AGF_F32);
  check_naive(c, host);
  for (int i = 0; i < c->op.n_in; i++)
    g_free(host[i]);
}

/* The conv gradients are the adjoints of the forward conv:
 * <conv(x, w), dy> = <x, bwd_data(dy, w)> = <w, bwd_filter(x, dy)>. Here
 * on an input whose im2col does not fit the CPU backend's column budget,
 * so that its backward walks several bands of output rows (the table's
 * shapes fit one band). */
static double dot_f32(const AgfTensor *a, const AgfTensor *b)
{
  g_autofree float *x = agf_test_read_f32(a);
  g_autofree float *y = agf_test_read_f32(b);
  double s = 0;
  for (int64_t i = 0; i < agf_tensor_numel(a); i++)
    s += (double)x[i] * y[i];
  return s;
}

static AgfTensor *random_tensor(AgfDevice *dev, const int64_t *shape, guint32 seed)
{
  int64_t n = shape[0] * shape[1] * shape[2] * shape[3];
  g_autofree float *h = g_new(float, n);
  agf_test_fill_uniform(h, n, seed, -1, 1);
  return agf_test_tensor(dev, AGF_F32, 4, shape, h);
}

static void test_conv_bwd_adjoint(void)
{
  AgfDevice *dev = agf_test_cpu();
  GError *error = NULL;
  const int64_t xs[4] = { 1, 256, 40, 401 }, ws[4] = { 4, 128, 3, 3 };
  const AgfConv2dParams p = { .stride_h = 1, .stride_w = 2, .pad_top = 1,
                              .pad_bottom = 0, .pad_left = 1, .pad_right = 1,
                              .groups = 2 };
  g_autoptr(AgfTensor) x = random_tensor(dev, xs, 11);
  g_autoptr(AgfTensor) w = random_tensor(dev, ws, 12);
  g_autoptr(AgfTensor) y = agf_conv2d(x, w, NULL, &p, &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) dy = random_tensor(dev, y->shape, 13);
  g_autoptr(AgfTensor) dx = agf_conv2d_bwd_data(dy, w, &p, (int)xs[2], (int)xs[3], &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) dw = agf_conv2d_bwd_filter(x, dy, &p, (int)ws[2], (int)ws[3], &error);
  g_assert_no_error(error);
  double ref = dot_f32(y, dy), via_dx = dot_f32(x, dx), via_dw = dot_f32(w, dw);
  g_test_message("<y,dy> %.6g, <x,dx> %.6g, <w,dw> %.6g", ref, via_dx, via_dw);
  /* The dots sum millions of random-sign terms: errors are measured against
   * the sums' natural scale, sqrt(terms) x typical term. One band's rows
   * lost would move a dot by ~1e-2 of it, a hundred times the bound. */
  double scale = sqrt((double)agf_tensor_numel(y) * 2304);
  g_assert_cmpfloat(fabs(via_dx - ref) / scale, <=, 1e-4);
  g_assert_cmpfloat(fabs(via_dw - ref) / scale, <=, 1e-4);
}

/* A new op kind must come with cases in the table. */
static void test_table_covers_every_kind(void)
{
  for (int k = 0; k < AGF_OP_COUNT; k++) {
    gboolean found = FALSE;
    for (int ci = 0; ci < agf_n_op_cases; ci++)
      found |= agf_op_cases[ci].op.kind == (AgfOpKind)k;
    if (!found)
      g_test_fail_printf("op %s has no case in tests/ops_cases.c", agf_op_name(k));
  }
}

/* --- hand-computed pixels, on both backends --- */

static AgfDevice *pixel_device(gconstpointer data)
{
  return GPOINTER_TO_INT(data) ? agf_test_vulkan_or_skip() : agf_test_cpu();
}

static void assert_values(const AgfTensor *t, const float *want, int n,
                          double tol)
{
  g_assert_cmpint(agf_tensor_numel(t), ==, n);
  g_autofree float *v = agf_test_read_f32(t);
  for (int i = 0; i < n; i++) {
    if (!(fabs(v[i] - want[i]) <= tol)) {
      g_test_fail_printf("element %d: got %.7g, want %.7g (tolerance %g)", i,
                         v[i], want[i], tol);
      return;
    }
  }
}

static void done(AgfDevice *dev)
{
  if (agf_device_info(dev)->backend == AGF_BACKEND_VULKAN)
    agf_test_assert_vk_clean();
}

static void test_pixels_image_to_tensor(gconstpointer data)
{
  AgfDevice *dev = pixel_device(data);
  if (!dev)
    return;
  GError *error = NULL;
  /* Two pixels, RGBA: alpha is ignored. */
  const uint8_t px[8] = { 0, 128, 255, 7, 10, 20, 30, 200 };
  g_autoptr(AgfTensor) img = agf_tensor_from_host(dev, AGF_U8, 4,
                                                  (int64_t[]){ 1, 1, 2, 4 }, px, &error);
  g_assert_no_error(error);
  const float mean[3] = { 0.5f, 0.25f, 0 }, std[3] = { 0.5f, 0.25f, 1 };
  g_autoptr(AgfTensor) t = agf_image_to_tensor(img, mean, std, &error);
  g_assert_no_error(error);
  g_assert_cmpint(t->ndim, ==, 4);
  g_assert_cmpint(t->shape[1], ==, 3);
  /* (x/255 - mean) / std, planar. */
  const float want[6] = { -1.0f, -0.9215686f,  /* R: 0, 10 */
                          1.0078431f, -0.6862745f, /* G: 128, 20 */
                          1.0f, 0.1176471f };     /* B: 255, 30 */
  assert_values(t, want, 6, 1e-5);
  done(dev);
}

static void test_pixels_tensor_to_image(gconstpointer data)
{
  AgfDevice *dev = pixel_device(data);
  if (!dev)
    return;
  GError *error = NULL;
  /* [1,3,1,3]; mean = std = 0.5 maps [-1, 1] to [0, 255]. */
  const float x[9] = { -1, 1, 0,       /* R */
                       3, -0.2f, 0.1f, /* G: clamps high */
                       -5, 0.5f, -1 }; /* B: clamps low */
  g_autoptr(AgfTensor) t = agf_test_tensor(dev, AGF_F32, 4,
                                           (int64_t[]){ 1, 3, 1, 3 }, x);
  const float ms[3] = { 0.5f, 0.5f, 0.5f };
  g_autoptr(AgfTensor) img = agf_tensor_to_image(t, ms, ms, &error);
  g_assert_no_error(error);
  g_assert_cmpint(img->dtype, ==, AGF_U8);
  g_assert_cmpint(img->shape[3], ==, 4);
  uint8_t got[12];
  g_assert_true(agf_tensor_read(img, got, &error));
  g_assert_no_error(error);
  /* 0.4*255 = 102; 0.55*255 = 140.25 -> 140; 0.75*255 = 191.25 -> 191;
   * 0.5*255 = 127.5 -> 128 either way of breaking the tie. */
  const uint8_t want[12] = { 0, 255, 0, 255, 255, 102, 191, 255, 128, 140, 0, 255 };
  g_assert_cmpmem(got, sizeof got, want, sizeof want);
  done(dev);
}

static void test_pixels_colormap(gconstpointer data)
{
  AgfDevice *dev = pixel_device(data);
  if (!dev)
    return;
  GError *error = NULL;
  const uint8_t *viridis = agf_colormap_lut(AGF_CMAP_VIRIDIS);
  /* matplotlib's viridis ends, in 8 bits. */
  const uint8_t v0[3] = { 68, 1, 84 }, v255[3] = { 253, 231, 37 };
  g_assert_cmpmem(viridis, 3, v0, 3);
  g_assert_cmpmem(viridis + 255 * 3, 3, v255, 3);
  const uint8_t *grey = agf_colormap_lut(AGF_CMAP_GREY);
  for (int i = 0; i < 256; i++)
    g_assert_true(grey[i * 3] == i && grey[i * 3 + 1] == i && grey[i * 3 + 2] == i);

  /* |x| in [0, 1] -> index round(u*255): -1 -> 255, 0 -> 0, 0.25 -> 64,
   * 0.75 -> 191 (63.75 and 191.25 are no ties). */
  const float x[4] = { -1, 0, 0.25f, 0.75f };
  g_autoptr(AgfTensor) t = agf_test_tensor(dev, AGF_F32, 4,
                                           (int64_t[]){ 1, 1, 1, 4 }, x);
  AgfColormapParams p = { AGF_CMAP_VIRIDIS, 0, 1, FALSE };
  g_autoptr(AgfTensor) img = agf_colormap(t, &p, &error);
  g_assert_no_error(error);
  uint8_t got[16];
  g_assert_true(agf_tensor_read(img, got, &error));
  const int idx[4] = { 255, 0, 64, 191 };
  for (int i = 0; i < 4; i++) {
    g_assert_cmpmem(got + i * 4, 3, viridis + idx[i] * 3, 3);
    g_assert_cmpint(got[i * 4 + 3], ==, 255);
  }

  /* Mean over channels: |0.2|, |-0.6| -> 0.4 -> grey 102; signed:
   * (0.2 - 0.6)/2 = -0.2 in [-1, 1] -> u = 0.4 -> 102. */
  const float y[2] = { 0.2f, -0.6f };
  g_autoptr(AgfTensor) u = agf_test_tensor(dev, AGF_F32, 4,
                                           (int64_t[]){ 1, 2, 1, 1 }, y);
  AgfColormapParams pg = { AGF_CMAP_GREY, 0, 1, FALSE };
  g_autoptr(AgfTensor) g1 = agf_colormap(u, &pg, &error);
  g_assert_no_error(error);
  g_assert_true(agf_tensor_read(g1, got, &error));
  g_assert_cmpint(got[0], ==, 102);
  AgfColormapParams ps = { AGF_CMAP_GREY, -1, 1, TRUE };
  g_autoptr(AgfTensor) g2 = agf_colormap(u, &ps, &error);
  g_assert_no_error(error);
  g_assert_true(agf_tensor_read(g2, got, &error));
  g_assert_cmpint(got[0], ==, 102);
  done(dev);
}

static void test_pixels_resize(gconstpointer data)
{
  AgfDevice *dev = pixel_device(data);
  if (!dev)
    return;
  GError *error = NULL;
  const float x[4] = { 0, 1, 2, 3 };
  g_autoptr(AgfTensor) t = agf_test_tensor(dev, AGF_F32, 4,
                                           (int64_t[]){ 1, 1, 2, 2 }, x);
  g_autoptr(AgfTensor) a = agf_resize_bilinear(t, 3, 3, TRUE, &error);
  g_assert_no_error(error);
  const float wa[9] = { 0, 0.5f, 1, 1, 1.5f, 2, 2, 2.5f, 3 };
  assert_values(a, wa, 9, 1e-6);
  /* Half-pixel centres: source x = (dst + 0.5)/2 - 0.5, clamped:
   * 0, 0.25, 0.75, 1 along each axis; out = x + 2y. */
  g_autoptr(AgfTensor) h = agf_resize_bilinear(t, 4, 4, FALSE, &error);
  g_assert_no_error(error);
  const float s[4] = { 0, 0.25f, 0.75f, 1 };
  float wh[16];
  for (int y = 0; y < 4; y++)
    for (int k = 0; k < 4; k++)
      wh[y * 4 + k] = s[k] + 2 * s[y];
  assert_values(h, wh, 16, 1e-6);
  done(dev);
}

static void test_pixels_pool(gconstpointer data)
{
  AgfDevice *dev = pixel_device(data);
  if (!dev)
    return;
  GError *error = NULL;
  float x[9];
  for (int i = 0; i < 9; i++)
    x[i] = (float)i;
  g_autoptr(AgfTensor) t = agf_test_tensor(dev, AGF_F32, 4,
                                           (int64_t[]){ 1, 1, 3, 3 }, x);
  AgfPool2dParams p = { .kind = AGF_POOL_MAX, .kernel_h = 2, .kernel_w = 2,
                        .stride_h = 2, .stride_w = 2, .ceil_mode = TRUE };
  g_autoptr(AgfTensor) mx = agf_pool2d(t, &p, &error);
  g_assert_no_error(error);
  assert_values(mx, (const float[]){ 4, 5, 7, 8 }, 4, 0);
  /* The partial windows of ceil_mode average only what they cover. */
  p.kind = AGF_POOL_AVG;
  g_autoptr(AgfTensor) av = agf_pool2d(t, &p, &error);
  g_assert_no_error(error);
  assert_values(av, (const float[]){ 2, 3.5f, 6.5f, 8 }, 4, 1e-6);
  /* floor mode: a single window. */
  p.ceil_mode = FALSE;
  g_autoptr(AgfTensor) fl = agf_pool2d(t, &p, &error);
  g_assert_no_error(error);
  assert_values(fl, (const float[]){ 2 }, 1, 1e-6);
  g_autoptr(AgfTensor) gp = agf_global_avg_pool(t, &error);
  g_assert_no_error(error);
  assert_values(gp, (const float[]){ 4 }, 1, 1e-6);
  done(dev);
}

static void test_pixels_timestep(gconstpointer data)
{
  AgfDevice *dev = pixel_device(data);
  if (!dev)
    return;
  GError *error = NULL;
  g_autoptr(AgfTensor) t = agf_test_tensor(dev, AGF_F32, 1, (int64_t[]){ 2 },
                                           (const float[]){ 0, 1 });
  /* dim 4, half 2: freq = exp(-ln(1e4) * i / 2) = 1, 0.01. */
  AgfTimestepEmbedParams p = { .dim = 4 };
  g_autoptr(AgfTensor) e = agf_timestep_embed(t, &p, &error);
  g_assert_no_error(error);
  const float want[8] = { 0, 0, 1, 1, sinf(1), sinf(0.01f), cosf(1), cosf(0.01f) };
  assert_values(e, want, 8, 1e-6);
  p.flip_sin_to_cos = TRUE;
  g_autoptr(AgfTensor) f = agf_timestep_embed(t, &p, &error);
  g_assert_no_error(error);
  const float wf[8] = { 1, 1, 0, 0, cosf(1), cosf(0.01f), sinf(1), sinf(0.01f) };
  assert_values(f, wf, 8, 1e-6);
  done(dev);
}

static void test_pixels_warp(gconstpointer data)
{
  AgfDevice *dev = pixel_device(data);
  if (!dev)
    return;
  GError *error = NULL;
  const float x[6] = { 0, 1, 2, 10, 20, 30 };
  g_autoptr(AgfTensor) t = agf_test_tensor(dev, AGF_F32, 4,
                                           (int64_t[]){ 1, 1, 2, 3 }, x);
  g_autoptr(AgfTensor) id = agf_test_tensor(dev, AGF_F32, 3, (int64_t[]){ 1, 2, 3 },
                                            (const float[]){ 1, 0, 0, 0, 1, 0 });
  g_autoptr(AgfTensor) same = agf_affine_warp(t, id, 2, 3, -7, &error);
  g_assert_no_error(error);
  assert_values(same, x, 6, 1e-6);
  /* Half a pixel to the right: interior outputs average neighbours. */
  g_autoptr(AgfTensor) sh = agf_test_tensor(dev, AGF_F32, 3, (int64_t[]){ 1, 2, 3 },
                                            (const float[]){ 1, 0, 0.5f, 0, 1, 0 });
  g_autoptr(AgfTensor) half = agf_affine_warp(t, sh, 2, 3, -7, &error);
  g_assert_no_error(error);
  g_autofree float *v = agf_test_read_f32(half);
  g_assert_cmpfloat_with_epsilon(v[0], 0.5f, 1e-6);
  g_assert_cmpfloat_with_epsilon(v[1], 1.5f, 1e-6);
  g_assert_cmpfloat_with_epsilon(v[3], 15.0f, 1e-6);
  g_assert_cmpfloat_with_epsilon(v[4], 25.0f, 1e-6);
  /* Far outside: the border value. */
  g_autoptr(AgfTensor) out = agf_test_tensor(dev, AGF_F32, 3, (int64_t[]){ 1, 2, 3 },
                                             (const float[]){ 1, 0, 100, 0, 1, 100 });
  g_autoptr(AgfTensor) far = agf_affine_warp(t, out, 2, 3, -7, &error);
  g_assert_no_error(error);
  assert_values(far, (const float[]){ -7, -7, -7, -7, -7, -7 }, 6, 1e-6);
  done(dev);
}

/* --only PREFIX (repeatable): register only the tests under PREFIX. GLib's
 * -p selects one suite level, not a whole subtree, so meson splits this
 * program into parts with --only. */
static char **only;

static gboolean selected(const char *path)
{
  if (!only)
    return TRUE;
  for (char **p = only; *p; p++)
    if (g_str_has_prefix(path, *p))
      return TRUE;
  return FALSE;
}

static void add_test(const char *path, gconstpointer data, GTestDataFunc fn)
{
  if (selected(path))
    g_test_add_data_func(path, data, fn);
}

static void take_only_args(int *argc, char **argv)
{
  GPtrArray *pre = g_ptr_array_new();
  int out = 1;
  for (int i = 1; i < *argc; i++) {
    if (strcmp(argv[i], "--only") == 0 && i + 1 < *argc)
      g_ptr_array_add(pre, g_strdup(argv[++i]));
    else
      argv[out++] = argv[i];
  }
  *argc = out;
  argv[out] = NULL;
  if (pre->len) {
    g_ptr_array_add(pre, NULL);
    only = (char **)g_ptr_array_free(pre, FALSE);
  } else {
    g_ptr_array_free(pre, TRUE);
  }
}

int main(int argc, char **argv)
{
  take_only_args(&argc, argv);
  g_test_init(&argc, &argv, NULL);
  /* A failing case is reported and the run goes on to the next one. */
  g_test_set_nonfatal_assertions();
  static const char *const backend_names[] = { "cpu", "vulkan" };

  if (selected("/ops/cpu/table"))
    g_test_add_func("/ops/cpu/table/covers-every-kind", test_table_covers_every_kind);
  if (selected("/ops/cpu/adjoint"))
    g_test_add_func("/ops/cpu/adjoint/conv2d-bwd-bands", test_conv_bwd_adjoint);

  /* The CPU backend against naive definitions. */
  for (int ci = 0; ci < agf_n_op_cases; ci++) {
    const OpCase *c = &agf_op_cases[ci];
    AgfOpKind k = c->op.kind;
    if (!agf_naive_covers(k))
      continue;
    g_autofree char *path = g_strdup_printf("/ops/cpu/naive/%s/%s",
                                            agf_op_name(k), c->name);
    add_test(path, GINT_TO_POINTER(ci), test_naive);
  }

  static const struct { const char *name; GTestDataFunc fn; } pixels[] = {
    { "image-to-tensor", test_pixels_image_to_tensor },
    { "tensor-to-image", test_pixels_tensor_to_image },
    { "colormap", test_pixels_colormap },
    { "resize", test_pixels_resize },
    { "pool", test_pixels_pool },
    { "timestep-embed", test_pixels_timestep },
    { "affine-warp", test_pixels_warp },
  };
  for (int b = 0; b < 2; b++)
    for (size_t i = 0; i < G_N_ELEMENTS(pixels); i++) {
      g_autofree char *path = g_strdup_printf("/ops/%s/pixels/%s",
                                              backend_names[b], pixels[i].name);
      add_test(path, GINT_TO_POINTER(b), pixels[i].fn);
    }

  /* Every case: CPU f16, Vulkan f32 and f16, against the CPU in f32. */
  OpTest *tests = g_new0(OpTest, 3 * agf_n_op_cases);
  int nt = 0;
  for (int b = 0; b < 2; b++)
    for (int d = 0; d < 2; d++) {
      AgfDType dt = d ? AGF_F16 : AGF_F32;
      if (!b && dt == AGF_F32)
        continue; /* that is the reference itself */
      for (int ci = 0; ci < agf_n_op_cases; ci++) {
        const OpCase *c = &agf_op_cases[ci];
        tests[nt] = (OpTest){ ci, b, dt };
        g_autofree char *path = g_strdup_printf("/ops/%s/%s/%s/%s",
                                                backend_names[b], agf_dtype_name(dt),
                                                agf_op_name(c->op.kind), c->name);
        add_test(path, &tests[nt++], test_op);
      }
    }
  int rc = g_test_run();
  g_free(tests);
  g_strfreev(only);
  return agf_test_finish() ? 1 : rc;
}
