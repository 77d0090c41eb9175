/* The tape's behaviour, on either backend: what is recorded (no-grad,
 * frozen parameters), what backward frees and accumulates, what it
 * refuses, gradient reversal, and train-mode batch norm against PyTorch. */
#include <math.h>
#include <string.h>
#include "autograd_cases.h"
#include "test_support.h"
#include "nn/autograd.h"
#include "models/layers.h"

static AgfDevice *
device_of(gconstpointer data)
{
  return GPOINTER_TO_INT(data) ? agf_test_vulkan_or_skip() : agf_test_cpu();
}

static AgfTensor *
param(AgfDevice *dev, int n, guint32 seed, gboolean grad)
{
  g_autofree float *v = g_new(float, n);
  agf_test_fill_uniform(v, (size_t) n, seed, -1, 1);
  AgfTensor *t = agf_test_tensor(dev, AGF_F32, 1, (int64_t[]){ n }, v);
  agf_tensor_set_requires_grad(t, grad);
  return t;
}

static void
assert_close(const float *got, const float *want, size_t n, double tol)
{
  double err = agf_test_rel_err(got, want, n);
  g_assert_cmpfloat(err, <, tol);
}

static void
finish(gconstpointer data)
{
  if (GPOINTER_TO_INT(data))
    agf_test_assert_vk_clean();
}

/* Nothing is recorded inside no-grad, nor for frozen parameters. */
static void
test_recording(gconstpointer data)
{
  AgfDevice *dev = device_of(data);
  if (dev == NULL)
    return;
  g_autoptr(GError) error = NULL;
  g_autoptr(AgfTensor) x = param(dev, 7, 1, TRUE);
  g_autoptr(AgfTensor) frozen = param(dev, 7, 2, FALSE);
  g_assert_false(agf_grad_enabled(dev));
  g_autoptr(AgfTape) tape = agf_tape_new(dev, &error);
  g_assert_no_error(error);
  g_assert_true(agf_grad_enabled(dev));
  g_assert_null(agf_tape_new(dev, &error)); /* one per device */
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);

  agf_no_grad_begin(dev);
  agf_no_grad_begin(dev);
  g_assert_false(agf_grad_enabled(dev));
  g_autoptr(AgfTensor) a = agf_mul(x, x, &error);
  agf_no_grad_end(dev);
  g_autoptr(AgfTensor) b = agf_silu(x, &error);
  agf_no_grad_end(dev);
  g_assert_no_error(error);
  g_assert_cmpuint(agf_tape_n_nodes(tape), ==, 0);
  g_assert_false(agf_tensor_requires_grad(a));

  g_autoptr(AgfTensor) f = agf_mul(frozen, frozen, &error);
  g_autoptr(AgfTensor) fv = agf_tensor_slice(f, 0, 1, 3, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(agf_tape_n_nodes(tape), ==, 0);
  g_assert_false(agf_tensor_requires_grad(fv));

  g_autoptr(AgfTensor) m = agf_mul(x, frozen, &error);
  g_autoptr(AgfTensor) d = agf_tensor_detach(m, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(agf_tape_n_nodes(tape), ==, 1);
  g_assert_true(agf_tensor_requires_grad(m));
  g_assert_false(agf_tensor_requires_grad(d));
  g_assert_true(d->storage == m->storage);

  /* Freeing the tape leaves results valid but without history. */
  g_clear_pointer(&tape, agf_tape_free);
  g_assert_false(agf_tensor_requires_grad(m));
  g_assert_true(agf_tensor_requires_grad(x));
  tape = agf_tape_new(dev, &error);
  g_assert_false(agf_tensor_requires_grad(m)); /* a new tape: still none */
  finish(data);
}

/* Backward frees what the tape saved: device memory returns to where it
 * was before the forward pass once the results and gradients are gone. */
static void
test_frees_saved(gconstpointer data)
{
  AgfDevice *dev = device_of(data);
  if (dev == NULL)
    return;
  g_autoptr(GError) error = NULL;
  g_autoptr(AgfTensor) x = param(dev, 64, 3, TRUE);
  g_autoptr(AgfTensor) w = param(dev, 64, 4, TRUE);
  AgfMemStats before, after;
  agf_device_mem_stats(dev, &before);
  g_autoptr(AgfTape) tape = agf_tape_new(dev, &error);
  AgfTensor *h = agf_mul(x, w, &error);
  for (int i = 0; i < 4; i++) {
    AgfTensor *t = agf_tanh(h, &error);
    agf_tensor_unref(h);
    h = agf_mul(t, w, &error);
    agf_tensor_unref(t);
  }
  AgfTensor *loss = agf_reduce(h, AGF_REDUCE_SUM, 1, (int64_t[]){ 1 },
                               &error);
  agf_tensor_unref(h);
  g_assert_no_error(error);
  g_assert_cmpuint(agf_tape_n_nodes(tape), ==, 10);
  g_assert_true(agf_backward(tape, loss, NULL, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(agf_tape_n_nodes(tape), ==, 0);
  agf_tensor_unref(loss);
  g_assert_nonnull(agf_tensor_grad(x));
  agf_tensor_clear_grad(x);
  agf_tensor_clear_grad(w);
  agf_device_mem_stats(dev, &after);
  g_assert_cmpuint(after.in_use, ==, before.in_use);
  finish(data);
}

/* Two backward passes add up; a shared input gets both paths' sum. */
static void
test_accumulate(gconstpointer data)
{
  AgfDevice *dev = device_of(data);
  if (dev == NULL)
    return;
  g_autoptr(GError) error = NULL;
  g_autoptr(AgfTensor) x = param(dev, 9, 5, TRUE);
  g_autoptr(AgfTensor) r = param(dev, 9, 6, FALSE);
  g_autofree float *rv = agf_test_read_f32(r);
  g_autoptr(AgfTape) tape = agf_tape_new(dev, &error);
  for (int pass = 0; pass < 2; pass++) {
    /* y = 2x + x*1 (x feeds two nodes): dy/dx = 3 */
    g_autoptr(AgfTensor) a = agf_scale(x, 2.0f, 0.0f, &error);
    g_autoptr(AgfTensor) y = agf_add(a, x, &error);
    g_assert_true(agf_backward(tape, y, r, &error));
    g_assert_no_error(error);
  }
  g_autofree float *g = agf_test_read_f32(agf_tensor_grad(x));
  float want[9];
  for (int i = 0; i < 9; i++)
    want[i] = 6.0f * rv[i];
  assert_close(g, want, 9, 1e-6);
  finish(data);
}

/* In-place writes the tape cannot differentiate are refused; ops without
 * a gradient refuse inputs that need one; backward needs a history. */
static void
test_refusals(gconstpointer data)
{
  AgfDevice *dev = device_of(data);
  if (dev == NULL)
    return;
  g_autoptr(GError) error = NULL;
  g_autoptr(AgfTensor) x = param(dev, 8, 7, TRUE);
  g_autoptr(AgfTensor) c = param(dev, 8, 8, FALSE);
  g_autoptr(AgfTape) tape = agf_tape_new(dev, &error);
  AgfOp op = { .kind = AGF_OP_UNARY, .in = { c }, .n_in = 1, .out = x,
               .p.unary.fn = AGF_UNARY_RELU };
  g_assert_false(agf_op_run(&op, &error)); /* into a leaf, recording */
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull(strstr(error->message, "in place"));
  g_clear_error(&error);

  g_autoptr(AgfTensor) y = agf_mul(x, c, &error); /* saves x and c */
  op.out = c;
  agf_no_grad_begin(dev);
  g_assert_false(agf_op_run(&op, &error));
  agf_no_grad_end(dev);
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull(strstr(error->message, "saved"));
  g_clear_error(&error);

  g_autoptr(AgfTensor) img = agf_tensor_reshape(y, 4, (int64_t[]){ 1, 2, 2,
                                                                   2 },
                                                &error);
  g_assert_null(agf_resize_bilinear(img, 3, 3, FALSE, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED);
  g_assert_nonnull(strstr(error->message, "resize_bilinear"));
  g_clear_error(&error);
  g_assert_null(agf_reduce(y, AGF_REDUCE_MAX, 1, (int64_t[]){ 1 }, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_UNSUPPORTED);
  g_clear_error(&error);

  g_autoptr(AgfTensor) s = agf_reduce(y, AGF_REDUCE_SUM, 1, (int64_t[]){ 1 },
                                      &error);
  g_assert_false(agf_backward(tape, c, NULL, &error)); /* no history */
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  g_assert_cmpuint(agf_tape_n_nodes(tape), ==, 0);
  /* The failed call emptied the tape; after backward c is writable. */
  g_autoptr(AgfTensor) s2 = agf_mul(x, c, &error);
  g_assert_true(agf_backward(tape, s2, c, &error));
  g_assert_no_error(error);
  agf_no_grad_begin(dev);
  g_assert_true(agf_op_run(&op, &error));
  agf_no_grad_end(dev);
  g_assert_no_error(error);
  finish(data);
}

static void
test_grad_reverse(gconstpointer data)
{
  AgfDevice *dev = device_of(data);
  if (dev == NULL)
    return;
  g_autoptr(GError) error = NULL;
  g_autoptr(AgfTensor) x = param(dev, 11, 9, TRUE);
  g_autoptr(AgfTensor) r = param(dev, 11, 10, FALSE);
  g_autoptr(AgfTape) tape = agf_tape_new(dev, &error);
  g_autoptr(AgfTensor) y = agf_grad_reverse(x, 0.25f, &error);
  g_autoptr(AgfTensor) z = agf_scale(y, 2.0f, 0.0f, &error);
  g_assert_no_error(error);
  g_autofree float *xv = agf_test_read_f32(x);
  g_autofree float *yv = agf_test_read_f32(y);
  assert_close(yv, xv, 11, 1e-7);
  g_assert_true(agf_backward(tape, z, r, &error));
  g_assert_no_error(error);
  g_autofree float *rv = agf_test_read_f32(r);
  g_autofree float *g = agf_test_read_f32(agf_tensor_grad(x));
  float want[11];
  for (int i = 0; i < 11; i++)
    want[i] = -0.5f * rv[i];
  assert_close(g, want, 11, 1e-6);
  finish(data);
}

/* Casts are recorded copies: the gradient crosses an f16 node in f16
 * (rounded there) and reaches the f32 leaf as f32. */
static void
test_cast(gconstpointer data)
{
  AgfDevice *dev = device_of(data);
  if (dev == NULL)
    return;
  if (!agf_device_supports_dtype(dev, AGF_F16)) {
    g_test_skip("the device has no f16 support");
    return;
  }
  g_autoptr(GError) error = NULL;
  g_autoptr(AgfTensor) x = param(dev, 13, 11, TRUE);
  g_autoptr(AgfTensor) r = param(dev, 13, 12, FALSE);
  g_autoptr(AgfTape) tape = agf_tape_new(dev, &error);
  g_autoptr(AgfTensor) h = agf_tensor_cast(x, AGF_F16, &error);
  g_autoptr(AgfTensor) y = h ? agf_tensor_cast(h, AGF_F32, &error) : NULL;
  g_assert_no_error(error);
  g_assert_cmpuint(agf_tape_n_nodes(tape), ==, 2);
  g_assert_true(agf_backward(tape, y, r, &error));
  g_assert_no_error(error);
  AgfTensor *g = agf_tensor_grad(x);
  g_assert_cmpint(g->dtype, ==, AGF_F32);
  g_autofree float *want = agf_test_read_f32(r);
  agf_test_round_f16(want, 13);
  g_autofree float *got = agf_test_read_f32(g);
  assert_close(got, want, 13, 1e-7);
  finish(data);
}

static const AgfTensor *
golden(AgfWeights *w, const char *name)
{
  g_autoptr(GError) error = NULL;
  const AgfTensor *t = agf_weights_get(w, name, 0, NULL, &error);
  g_assert_no_error(error);
  return t;
}

static void
assert_golden(AgfWeights *w, const AgfTensor *got, const char *name,
              double tol)
{
  const AgfTensor *want = golden(w, name);
  g_assert_true(agf_tensor_same_shape(got, want));
  g_autofree float *a = agf_test_read_f32(got);
  g_autofree float *b = agf_test_read_f32(want);
  double err = agf_test_rel_err(a, b, (size_t) agf_tensor_numel(want));
  g_test_message("batch norm %s: rel err %.3g", name, err);
  g_assert_cmpfloat(err, <, tol);
}

/* agf_layer_batch_norm in train mode: output, gradients and the running
 * statistics' update against PyTorch (tests/reference/autograd.py). */
static void
test_batch_norm_train(gconstpointer data)
{
  AgfDevice *dev = device_of(data);
  if (dev == NULL)
    return;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_test_build_filename(
    G_TEST_DIST, "golden", "autograd_batch_norm.safetensors", NULL);
  g_autoptr(AgfWeights) w = agf_weights_open(path, dev, AGF_F32, &error);
  g_assert_no_error(error);
  if (w == NULL) /* assertions are non-fatal here: stop, do not crash */
    return;
  /* The weights own the tensors; training marks and updates them. */
  AgfTensor *x = (AgfTensor *) golden(w, "x");
  AgfTensor *gamma = (AgfTensor *) golden(w, "bn.weight");
  AgfTensor *beta = (AgfTensor *) golden(w, "bn.bias");
  if (x == NULL || gamma == NULL || beta == NULL)
    return;
  agf_tensor_set_requires_grad(x, TRUE);
  agf_tensor_set_requires_grad(gamma, TRUE);
  agf_tensor_set_requires_grad(beta, TRUE);
  g_autoptr(AgfTape) tape = agf_tape_new(dev, &error);
  agf_set_training(dev, TRUE);
  g_autoptr(AgfTensor) y = agf_layer_batch_norm(w, "bn", x, 1e-5f, &error);
  agf_set_training(dev, FALSE);
  g_assert_no_error(error);
  g_assert_true(agf_backward(tape, y, golden(w, "r"), &error));
  g_assert_no_error(error);
  assert_golden(w, y, "y", 1e-5);
  assert_golden(w, agf_tensor_grad(x), "dx", 1e-4);
  assert_golden(w, agf_tensor_grad(gamma), "dweight", 1e-5);
  assert_golden(w, agf_tensor_grad(beta), "dbias", 1e-5);
  assert_golden(w, golden(w, "bn.running_mean"), "running_mean_after", 1e-6);
  assert_golden(w, golden(w, "bn.running_var"), "running_var_after", 1e-6);
  for (AgfTensor **t = (AgfTensor *[]){ x, gamma, beta, NULL }; *t; t++) {
    agf_tensor_clear_grad(*t);
    agf_tensor_set_requires_grad(*t, FALSE);
  }
  finish(data);
}

void
agc_add_tape_tests(const char *backend, gboolean vk)
{
  static const struct { const char *name; GTestDataFunc fn; } tests[] = {
    { "recording", test_recording },
    { "frees-saved", test_frees_saved },
    { "accumulate", test_accumulate },
    { "refusals", test_refusals },
    { "grad-reverse", test_grad_reverse },
    { "cast", test_cast },
    { "batch-norm-train", test_batch_norm_train },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(tests); i++) {
    g_autofree char *path = g_strdup_printf("/autograd/%s/tape/%s", backend,
                                            tests[i].name);
    g_test_add_data_func(path, GINT_TO_POINTER(vk), tests[i].fn);
  }
}
