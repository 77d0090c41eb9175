/* Autograd: every backward rule against central finite differences (CPU
 * and Vulkan, f32), Vulkan backward against CPU backward on larger shapes,
 * and the tape's behaviour (no-grad, frozen parameters, freeing, gradient
 * accumulation, in-place refusal, gradient reversal, batch norm in train
 * mode against PyTorch). */
#include <math.h>
#include <string.h>
#include "autograd_cases.h"
#include "test_support.h"
#include "nn/autograd.h"

#define FD_EPS 1e-3
/* f16 backward against f32 backward (same f16-exact inputs): relative to
 * each gradient's largest magnitude. */
#define F16_TOL 1e-2
#define FD_MAX_POINTS 48

typedef struct {
  AgfTensor *in[AGC_MAX_IN];
  float *host[AGC_MAX_IN];
  size_t n[AGC_MAX_IN];
} Inputs;

static void
inputs_clear(Inputs *s)
{
  for (int i = 0; i < AGC_MAX_IN; i++) {
    g_clear_pointer(&s->in[i], agf_tensor_unref);
    g_clear_pointer(&s->host[i], g_free);
  }
}

static size_t
numel(int ndim, const int64_t *shape)
{
  size_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= (size_t) shape[i];
  return n;
}

static void
inputs_make_as(Inputs *s, AgfDevice *dev, AgfDType dt, const AgcCase *c,
               int ci, gboolean big)
{
  memset(s, 0, sizeof *s);
  for (int i = 0; i < c->n_in; i++) {
    const AgcInput *d = &c->in[i];
    const int64_t *shape = big ? d->big : d->small;
    s->n[i] = numel(d->ndim, shape);
    s->host[i] = g_new(float, s->n[i]);
    agf_test_fill_uniform(s->host[i], s->n[i], 1000u * (guint) ci + (guint) i,
                          d->lo, d->hi);
    if (dt == AGF_F16)
      agf_test_round_f16(s->host[i], s->n[i]);
    s->in[i] = agf_test_tensor(dev, dt, d->ndim, shape, s->host[i]);
    agf_tensor_set_requires_grad(s->in[i], d->grad);
  }
}

static void
inputs_make(Inputs *s, AgfDevice *dev, const AgcCase *c, int ci, gboolean big)
{
  inputs_make_as(s, dev, AGF_F32, c, ci, big);
}

/* sum(out * r) in double, with the inputs' current values and no tape. */
static double
loss_of(const AgcCase *c, Inputs *s, const float *r)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AgfTensor) out = c->fwd(s->in, &error);
  g_assert_no_error(error);
  if (out == NULL)
    return NAN;
  g_autofree float *y = agf_test_read_f32(out);
  size_t n = (size_t) agf_tensor_numel(out);
  double l = 0;
  for (size_t k = 0; k < n; k++)
    l += (double) y[k] * (double) r[k];
  return l;
}

/* Runs the case under a tape with grad_out r; returns the output's
 * element count and fills grads[i] (f32 copies) for the inputs. */
static float *
backward_of(const AgcCase *c, Inputs *s, guint32 seed, size_t *n_out,
            float **grads)
{
  AgfDevice *dev = s->in[0]->dev;
  g_autoptr(GError) error = NULL;
  g_autoptr(AgfTape) tape = agf_tape_new(dev, &error);
  g_assert_no_error(error);
  g_autoptr(AgfTensor) out = c->fwd(s->in, &error);
  g_assert_no_error(error);
  if (out == NULL)
    return NULL;
  g_assert_true(agf_tensor_requires_grad(out));
  *n_out = (size_t) agf_tensor_numel(out);
  float *r = g_new(float, *n_out);
  agf_test_fill_uniform(r, *n_out, seed, -1, 1);
  agf_test_round_f16(r, *n_out); /* the same weights for f16 outputs */
  g_autoptr(AgfTensor) rt = agf_test_tensor(dev, out->dtype, out->ndim,
                                            out->shape, r);
  gboolean ok = agf_backward(tape, out, rt, &error);
  g_assert_no_error(error);
  if (!ok) {
    g_free(r);
    return NULL;
  }
  g_assert_cmpuint(agf_tape_n_nodes(tape), ==, 0);
  for (int i = 0; i < c->n_in; i++) {
    AgfTensor *g = agf_tensor_grad(s->in[i]);
    grads[i] = NULL;
    if (!c->in[i].grad) {
      g_assert_null(g);
      continue;
    }
    g_assert_nonnull(g);
    g_assert_true(agf_tensor_same_shape(g, s->in[i]));
    grads[i] = agf_test_read_f32(g);
    agf_tensor_clear_grad(s->in[i]);
  }
  return r;
}

static void
test_fd(gconstpointer data)
{
  int ci = GPOINTER_TO_INT(data) & 0xffff;
  gboolean vk = GPOINTER_TO_INT(data) >> 16;
  const AgcCase *c = &agc_cases[ci];
  AgfDevice *dev = vk ? agf_test_vulkan_or_skip() : agf_test_cpu();
  if (dev == NULL)
    return;
  Inputs s;
  inputs_make(&s, dev, c, ci, FALSE);
  float *grads[AGC_MAX_IN];
  size_t n_out;
  g_autofree float *r = backward_of(c, &s, 77u + (guint) ci, &n_out, grads);
  if (r == NULL) {
    inputs_clear(&s);
    return;
  }
  g_autoptr(GRand) rng = g_rand_new_with_seed(5u + (guint) ci);
  for (int i = 0; i < c->n_in; i++) {
    if (!c->in[i].grad)
      continue;
    size_t n = s.n[i], points = MIN(n, FD_MAX_POINTS);
    double max_err = 0, max_ref = 1e-3;
    for (size_t p = 0; p < points; p++) {
      size_t k = n <= FD_MAX_POINTS ? p : (size_t) g_rand_int_range(
        rng, 0, (gint32) n);
      float x0 = s.host[i][k];
      double l[2];
      for (int side = 0; side < 2; side++) {
        s.host[i][k] = x0 + (float) (side ? -FD_EPS : FD_EPS);
        g_autoptr(GError) error = NULL;
        agf_tensor_write(s.in[i], s.host[i], &error);
        g_assert_no_error(error);
        l[side] = loss_of(c, &s, r);
      }
      s.host[i][k] = x0;
      double fd = (l[0] - l[1]) / (2 * FD_EPS);
      max_err = MAX(max_err, fabs(fd - grads[i][k]));
      max_ref = MAX(max_ref, fabs(fd));
    }
    g_autoptr(GError) error = NULL;
    agf_tensor_write(s.in[i], s.host[i], &error);
    g_assert_no_error(error);
    g_test_message("%s input %d: %zu points, max |fd - grad| %.3g of %.3g",
                   c->name, i, points, max_err, max_ref);
    g_assert_cmpfloat(max_err / max_ref, <, c->tol);
    g_free(grads[i]);
  }
  inputs_clear(&s);
  if (vk)
    agf_test_assert_vk_clean();
}

/* The case's gradients computed twice, on dev[b] in dt[b] with inputs of
 * the big or small shapes, the second run's against the first's within
 * tol; FALSE when the case could not run (already reported). */
static gboolean
compare_runs(const AgcCase *c, int ci, AgfDevice *const dev[2],
             const AgfDType dt[2], gboolean big, guint32 seed, double tol,
             const char *what)
{
  float *g[2][AGC_MAX_IN];
  size_t n_out;
  for (int b = 0; b < 2; b++) {
    Inputs s;
    inputs_make_as(&s, dev[b], dt[b], c, ci, big);
    float *r = backward_of(c, &s, seed, &n_out, g[b]);
    inputs_clear(&s);
    if (r == NULL) {
      for (int i = 0; b == 1 && i < c->n_in; i++)
        g_free(g[0][i]);
      return FALSE;
    }
    g_free(r);
  }
  for (int i = 0; i < c->n_in; i++) {
    if (!c->in[i].grad)
      continue;
    double err = agf_test_rel_err(g[1][i], g[0][i],
                                  numel(c->in[i].ndim,
                                        big ? c->in[i].big : c->in[i].small));
    g_test_message("%s input %d: %srel err %.3g", c->name, i, what, err);
    g_assert_cmpfloat(err, <, tol);
    g_free(g[0][i]);
    g_free(g[1][i]);
  }
  return TRUE;
}

/* The larger shapes: Vulkan's gradients against the CPU backend's. */
static void
test_vk_vs_cpu(gconstpointer data)
{
  int ci = GPOINTER_TO_INT(data);
  AgfDevice *vk = agf_test_vulkan_or_skip();
  if (vk == NULL)
    return;
  AgfDevice *const dev[2] = { agf_test_cpu(), vk };
  const AgfDType dt[2] = { AGF_F32, AGF_F32 };
  if (compare_runs(&agc_cases[ci], ci, dev, dt, TRUE, 99u + (guint) ci, 2e-3,
                   ""))
    agf_test_assert_vk_clean();
}

/* The CPU backend in f16 (node gradients in f16) against itself in f32. */
static void
test_f16(gconstpointer data)
{
  int ci = GPOINTER_TO_INT(data);
  AgfDevice *const dev[2] = { agf_test_cpu(), agf_test_cpu() };
  const AgfDType dt[2] = { AGF_F32, AGF_F16 };
  compare_runs(&agc_cases[ci], ci, dev, dt, FALSE, 55u + (guint) ci, F16_TOL,
               "f16 ");
}

int
main(int argc, char **argv)
{
  /* --backend cpu|vulkan registers that backend's tests only (meson runs
   * each as its own part). */
  const char *only = NULL;
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], "--backend") == 0) {
      only = argv[i + 1];
      memmove(argv + i, argv + i + 2, (size_t) (argc - i - 1) * sizeof *argv);
      argc -= 2;
      break;
    }
  g_test_init(&argc, &argv, NULL);
  g_test_set_nonfatal_assertions();
  static const char *const backends[] = { "cpu", "vulkan" };
  for (int b = 0; b < 2; b++) {
    if (only && strcmp(only, backends[b]) != 0)
      continue;
    for (int ci = 0; ci < agc_n_cases; ci++) {
      g_autofree char *path = g_strdup_printf("/autograd/%s/fd/%s",
                                              backends[b], agc_cases[ci].name);
      g_test_add_data_func(path, GINT_TO_POINTER(ci | (b << 16)), test_fd);
    }
    agc_add_tape_tests(backends[b], b);
  }
  for (int ci = 0; (!only || strcmp(only, "cpu") == 0) &&
                  ci < agc_n_cases; ci++) {
    g_autofree char *path = g_strdup_printf("/autograd/cpu/f16/%s",
                                            agc_cases[ci].name);
    g_test_add_data_func(path, GINT_TO_POINTER(ci), test_f16);
  }
  for (int ci = 0; (!only || strcmp(only, "vulkan") == 0) &&
                  ci < agc_n_cases; ci++) {
    g_autofree char *path = g_strdup_printf("/autograd/vulkan/vs-cpu/%s",
                                            agc_cases[ci].name);
    g_test_add_data_func(path, GINT_TO_POINTER(ci), test_vk_vs_cpu);
  }
  int rc = g_test_run();
  return agf_test_finish() ? 1 : rc;
}
