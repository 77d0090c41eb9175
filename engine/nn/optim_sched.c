/* Learning-rate schedule, gradient clipping and dynamic loss scaling:
 * the host-side arithmetic of PyTorch's LambdaLR cosine-with-warm-up,
 * clip_grad_norm_ and GradScaler, with the sums over gradients done on
 * the device (one read back per call). */
#include <math.h>
#include "nn/optim.h"
#include "nn/autograd.h"
#include "nn/optim_internal.h"

float
agf_lr_cosine_warmup(gint64 step, gint64 total, gint64 warmup, float base_lr,
                     float min_lr)
{
  if (step < 0)
    step = 0;
  if (step < warmup)
    return (float) ((double) base_lr * (double) step / (double) warmup);
  double progress = (double) (step - warmup) / (double) MAX(1, total - warmup);
  progress = CLAMP(progress, 0.0, 1.0);
  return (float) (min_lr + (base_lr - min_lr) * 0.5 *
                  (1.0 + cos(G_PI * progress)));
}

/* Sums f(grad) over every gradient of params into one f32 value read back.
 * square: sum of g^2 (for the norm); else sum of 0 * g, which is NaN
 * exactly when some gradient holds an inf or a NaN. */
static gboolean
grad_sum(const AgfParamSet *params, gboolean square, double *out,
         GError **error)
{
  g_autoptr(AgfTensor) acc = NULL;
  gboolean ok = TRUE;
  for (int i = 0; ok && i < agf_param_set_size(params); i++) {
    AgfTensor *g = agf_tensor_grad(agf_param_set_tensor(params, i));
    if (!g)
      continue;
    AgfDevice *dev = g->dev;
    agf_no_grad_begin(dev);
    g_autoptr(AgfTensor) g32 = agf_tensor_cast(g, AGF_F32, error);
    g_autoptr(AgfTensor) f = !g32 ? NULL
                             : square ? agf_mul(g32, g32, error)
                                      : agf_scale(g32, 0.0f, 0.0f, error);
    g_autoptr(AgfTensor) s = f ? agf_optim_sum_all(f, error) : NULL;
    ok = s != NULL;
    if (ok && !acc)
      acc = g_steal_pointer(&s);
    else if (ok && acc->dev == s->dev)
      ok = agf_optim_binary_into(acc, acc, s, AGF_BINARY_ADD, error);
    else if (ok) { /* gradients on several devices: add on the host */
      float a, b;
      ok = agf_tensor_to_f32(acc, &a, error) &&
           agf_tensor_to_f32(s, &b, error);
      a += b;
      ok = ok && agf_tensor_write(acc, &a, error);
    }
    agf_no_grad_end(dev);
  }
  float v = 0.0f;
  if (ok && acc)
    ok = agf_tensor_to_f32(acc, &v, error);
  *out = v;
  return ok;
}

gboolean
agf_clip_grad_norm(const AgfParamSet *params, float max_norm, float *norm,
                   GError **error)
{
  if (!(max_norm > 0.0f)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "gradient clipping: max_norm (%g) must be > 0",
                (double) max_norm);
    return FALSE;
  }
  double sq;
  if (!grad_sum(params, TRUE, &sq, error))
    return FALSE;
  float total = sqrtf((float) sq);
  if (norm)
    *norm = total;
  /* clip_coef = max_norm / (norm + 1e-6), clamped to 1 (a non-finite norm
   * leaves the gradients alone: the loss scaler skips that step). */
  float coef = max_norm / (total + 1e-6f);
  if (!(coef < 1.0f))
    return TRUE;
  for (int i = 0; i < agf_param_set_size(params); i++) {
    AgfTensor *g = agf_tensor_grad(agf_param_set_tensor(params, i));
    if (!g)
      continue;
    agf_no_grad_begin(g->dev);
    gboolean ok = agf_optim_unary_into(g, g, AGF_UNARY_IDENTITY, coef, 0.0f,
                                       error);
    agf_no_grad_end(g->dev);
    if (!ok) {
      g_prefix_error(error, "gradient clipping, %s: ",
                     agf_param_set_name(params, i));
      return FALSE;
    }
  }
  return TRUE;
}

void
agf_loss_scaler_init(AgfLossScaler *s, float init_scale)
{
  s->scale = init_scale > 0.0f ? init_scale : 65536.0f;
  s->growth_factor = 2.0f;
  s->backoff_factor = 0.5f;
  s->growth_interval = 2000;
  s->clean_steps = 0;
}

gboolean
agf_loss_scaler_check(AgfLossScaler *s, const AgfParamSet *params,
                      gboolean *skip, GError **error)
{
  double probe;
  if (!grad_sum(params, FALSE, &probe, error))
    return FALSE;
  gboolean found_inf = !isfinite(probe);
  *skip = found_inf;
  /* GradScaler.update(): back off on overflow, grow after
   * growth_interval clean steps in a row. */
  if (found_inf) {
    s->scale *= s->backoff_factor;
    s->clean_steps = 0;
  } else if (++s->clean_steps >= s->growth_interval) {
    s->scale *= s->growth_factor;
    s->clean_steps = 0;
  }
  return TRUE;
}
