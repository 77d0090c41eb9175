/* EMA of weights in f32, updated as diffusers' EMAModel.step with a fixed
 * decay: shadow -= (1 - decay) * (shadow - param). */
#include "nn/optim.h"
#include "nn/autograd.h"
#include "nn/optim_internal.h"

struct AgfEma {
  AgfParamSet *params; /* the live weights (refs) */
  AgfParamSet *shadow; /* f32 copies, same names */
  float decay;
};

void
agf_ema_free(AgfEma *ema)
{
  if (!ema)
    return;
  agf_param_set_free(ema->params);
  agf_param_set_free(ema->shadow);
  g_free(ema);
}

AgfEma *
agf_ema_new(const AgfParamSet *params, float decay, GError **error)
{
  if (!(decay >= 0.0f && decay <= 1.0f)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "EMA: decay %g is outside [0, 1] (typical: 0.999 or 0.9999)",
                (double) decay);
    return NULL;
  }
  g_autoptr(AgfEma) ema = g_new0(AgfEma, 1);
  ema->decay = decay;
  ema->params = agf_param_set_new();
  ema->shadow = agf_param_set_new();
  for (int i = 0; i < agf_param_set_size(params); i++) {
    AgfTensor *p = agf_param_set_tensor(params, i);
    const char *name = agf_param_set_name(params, i);
    if (p->dtype != AGF_F32 && p->dtype != AGF_F16) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
                  "EMA: %s is %s; only f32 and f16 weights can be averaged",
                  name, agf_dtype_name(p->dtype));
      return NULL;
    }
    g_autoptr(AgfTensor) s = agf_optim_f32_like(p, TRUE, error);
    if (!s || !agf_param_set_add(ema->params, name, p, error) ||
        !agf_param_set_add(ema->shadow, name, s, error))
      return NULL;
  }
  return g_steal_pointer(&ema);
}

gboolean
agf_ema_update(AgfEma *ema, GError **error)
{
  for (int i = 0; i < agf_param_set_size(ema->params); i++) {
    AgfTensor *p = agf_param_set_tensor(ema->params, i);
    AgfTensor *s = agf_param_set_tensor(ema->shadow, i);
    agf_no_grad_begin(p->dev);
    g_autoptr(AgfTensor) p32 = agf_tensor_cast(p, AGF_F32, error);
    g_autoptr(AgfTensor) diff = p32 ? agf_sub(s, p32, error) : NULL;
    gboolean ok = diff && agf_optim_axpy(s, -(1.0f - ema->decay), diff,
                                         error);
    agf_no_grad_end(p->dev);
    if (!ok) {
      g_prefix_error(error, "EMA update, %s: ",
                     agf_param_set_name(ema->params, i));
      return FALSE;
    }
  }
  return TRUE;
}

const AgfParamSet *
agf_ema_shadow(const AgfEma *ema)
{
  return ema->shadow;
}
