/* SGD and AdamW with PyTorch's update rules (torch.optim.SGD with
 * dampening 0, torch.optim.AdamW, single-tensor path), run on the
 * parameters' device with elementwise ops writing the state in place.
 * f16 parameters are updated through an f32 master copy. */
#include <math.h>
#include "nn/optim.h"
#include "nn/autograd.h"
#include "nn/optim_internal.h"

typedef struct {
  char *name;
  AgfTensor *param;  /* ref */
  AgfTensor *master; /* f32 copy of an f16 parameter, else NULL */
  AgfTensor *m;      /* SGD momentum buffer / AdamW exp_avg (f32), or NULL */
  AgfTensor *v;      /* AdamW exp_avg_sq (f32), or NULL */
  gint64 steps;      /* updates this parameter received (AdamW's bias
                        correction counts them per parameter, as PyTorch) */
} Slot;

struct AgfOptimizer {
  AgfOptimConfig cfg;
  Slot *slots;
  int n;
  gint64 n_steps;
};

static void
slot_clear(Slot *s)
{
  g_free(s->name);
  agf_tensor_unref(s->param);
  agf_tensor_unref(s->master);
  agf_tensor_unref(s->m);
  agf_tensor_unref(s->v);
}

void
agf_optimizer_free(AgfOptimizer *opt)
{
  if (!opt)
    return;
  for (int i = 0; i < opt->n; i++)
    slot_clear(&opt->slots[i]);
  g_free(opt->slots);
  g_free(opt);
}

static gboolean
check_config(AgfOptimConfig *c, GError **error)
{
  if (c->beta1 == 0.0f && c->beta2 == 0.0f) {
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
  }
  if (c->eps == 0.0f)
    c->eps = 1e-8f;
  const char *bad = NULL;
  if (c->kind != AGF_OPTIM_SGD && c->kind != AGF_OPTIM_ADAMW)
    bad = "the kind is neither SGD nor AdamW";
  else if (!(c->weight_decay >= 0.0f) || !isfinite(c->weight_decay))
    bad = "weight_decay must be finite and >= 0";
  else if (!(c->momentum >= 0.0f && c->momentum < 1.0f))
    bad = "momentum must be in [0, 1)";
  else if (c->nesterov && c->momentum == 0.0f)
    bad = "nesterov needs a momentum above 0";
  else if (!(c->beta1 >= 0.0f && c->beta1 < 1.0f && c->beta2 >= 0.0f &&
             c->beta2 < 1.0f))
    bad = "betas must be in [0, 1)";
  else if (!(c->eps > 0.0f) || !isfinite(c->eps))
    bad = "eps must be finite and > 0";
  if (bad)
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "optimizer: %s", bad);
  return bad == NULL;
}

AgfOptimizer *
agf_optimizer_new(const AgfOptimConfig *cfg, const AgfParamSet *params,
                  GError **error)
{
  g_return_val_if_fail(cfg != NULL && params != NULL, NULL);
  g_autoptr(AgfOptimizer) opt = g_new0(AgfOptimizer, 1);
  opt->cfg = *cfg;
  if (!check_config(&opt->cfg, error))
    return NULL;
  int n = agf_param_set_size(params);
  opt->slots = g_new0(Slot, MAX(n, 1));
  for (int i = 0; i < n; i++) {
    AgfTensor *p = agf_param_set_tensor(params, i);
    const char *name = agf_param_set_name(params, i);
    if (p->dtype != AGF_F32 && p->dtype != AGF_F16) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
                  "optimizer: parameter %s is %s; only f32 and f16 tensors "
                  "can be trained", name, agf_dtype_name(p->dtype));
      return NULL;
    }
    if (!agf_tensor_requires_grad(p)) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "optimizer: parameter %s does not require a gradient; "
                  "leave frozen tensors out of the set or call "
                  "agf_param_set_requires_grad()", name);
      return NULL;
    }
    Slot *s = &opt->slots[opt->n++];
    s->name = g_strdup(name);
    s->param = agf_tensor_ref(p);
    /* Zero state behaves as PyTorch's lazily created state: momentum * 0
     * + g == g on the first SGD step, and AdamW starts from zeros. */
    if ((p->dtype == AGF_F16 &&
         !(s->master = agf_optim_f32_like(p, TRUE, error))) ||
        ((opt->cfg.kind == AGF_OPTIM_ADAMW || opt->cfg.momentum > 0.0f) &&
         !(s->m = agf_optim_f32_like(p, FALSE, error))) ||
        (opt->cfg.kind == AGF_OPTIM_ADAMW &&
         !(s->v = agf_optim_f32_like(p, FALSE, error))))
      return NULL;
  }
  return g_steal_pointer(&opt);
}

/* The gradient as f32, divided by the loss scale (GradScaler multiplies by
 * the f32 reciprocal). A new ref; never the gradient itself when scaled. */
static AgfTensor *
unscaled_grad(AgfTensor *grad, float grad_scale, GError **error)
{
  g_autoptr(AgfTensor) g = agf_tensor_cast(grad, AGF_F32, error);
  if (!g || grad_scale == 1.0f)
    return g_steal_pointer(&g);
  return agf_scale(g, 1.0f / grad_scale, 0.0f, error);
}

static gboolean
sgd_update(const AgfOptimConfig *c, Slot *s, AgfTensor *w, AgfTensor *g_in,
           float lr, GError **error)
{
  g_autoptr(AgfTensor) g = agf_tensor_ref(g_in);
  if (c->weight_decay != 0.0f) { /* g = g + wd * w */
    g_autoptr(AgfTensor) wd = agf_scale(w, c->weight_decay, 0.0f, error);
    agf_tensor_unref(g);
    g = wd ? agf_add(g_in, wd, error) : NULL;
    if (!g)
      return FALSE;
  }
  if (c->momentum > 0.0f) { /* buf = momentum * buf + g */
    if (!agf_optim_unary_into(s->m, s->m, AGF_UNARY_IDENTITY, c->momentum,
                              0.0f, error) ||
        !agf_optim_binary_into(s->m, s->m, g, AGF_BINARY_ADD, error))
      return FALSE;
    if (c->nesterov) { /* g = g + momentum * buf */
      g_autoptr(AgfTensor) mb = agf_scale(s->m, c->momentum, 0.0f, error);
      AgfTensor *ng = mb ? agf_add(g, mb, error) : NULL;
      agf_tensor_unref(g);
      if (!(g = ng))
        return FALSE;
    } else {
      agf_tensor_unref(g);
      g = agf_tensor_ref(s->m);
    }
  }
  return agf_optim_axpy(w, -lr, g, error);
}

static gboolean
adamw_update(const AgfOptimConfig *c, Slot *s, AgfTensor *w, AgfTensor *g,
             float lr, GError **error)
{
  double t = (double) s->steps;
  double bc1 = 1.0 - pow(c->beta1, t), bc2 = 1.0 - pow(c->beta2, t);
  float step_size = (float) (lr / bc1);
  float inv_bc2_sqrt = (float) (1.0 / sqrt(bc2));
  /* Decoupled decay, then exp_avg.lerp_(g, 1 - b1) and
   * exp_avg_sq.mul_(b2).addcmul_(g, g, 1 - b2). */
  if (c->weight_decay != 0.0f &&
      !agf_optim_unary_into(w, w, AGF_UNARY_IDENTITY,
                            1.0f - lr * c->weight_decay, 0.0f, error))
    return FALSE;
  g_autoptr(AgfTensor) gg = agf_mul(g, g, error);
  if (!gg ||
      !agf_optim_unary_into(s->m, s->m, AGF_UNARY_IDENTITY, c->beta1, 0.0f,
                            error) ||
      !agf_optim_axpy(s->m, 1.0f - c->beta1, g, error) ||
      !agf_optim_unary_into(s->v, s->v, AGF_UNARY_IDENTITY, c->beta2, 0.0f,
                            error) ||
      !agf_optim_axpy(s->v, 1.0f - c->beta2, gg, error))
    return FALSE;
  /* denom = sqrt(v) / sqrt(bc2) + eps; w -= lr / bc1 * m / denom */
  g_autoptr(AgfTensor) denom = agf_unary(s->v, AGF_UNARY_SQRT, 0, 0, error);
  if (!denom ||
      !agf_optim_unary_into(denom, denom, AGF_UNARY_IDENTITY, inv_bc2_sqrt,
                            c->eps, error))
    return FALSE;
  g_autoptr(AgfTensor) upd = agf_div(s->m, denom, error);
  return upd && agf_optim_axpy(w, -step_size, upd, error);
}

static gboolean
step_slot(AgfOptimizer *opt, Slot *s, float lr, float grad_scale,
          GError **error)
{
  AgfTensor *grad = agf_tensor_grad(s->param);
  if (!grad)
    return TRUE; /* no gradient this step: skipped, as PyTorch */
  g_autoptr(AgfTensor) g = unscaled_grad(grad, grad_scale, error);
  if (!g)
    return FALSE;
  AgfTensor *w = s->master ? s->master : s->param;
  s->steps++;
  gboolean ok = opt->cfg.kind == AGF_OPTIM_SGD
                  ? sgd_update(&opt->cfg, s, w, g, lr, error)
                  : adamw_update(&opt->cfg, s, w, g, lr, error);
  if (ok && s->master)
    ok = agf_optim_copy_into(s->param, s->master, error);
  if (!ok)
    g_prefix_error(error, "optimizer step, parameter %s: ", s->name);
  return ok;
}

gboolean
agf_optimizer_step(AgfOptimizer *opt, float lr, float grad_scale,
                   GError **error)
{
  if (!isfinite(lr) || lr < 0.0f || !isfinite(grad_scale) ||
      grad_scale <= 0.0f) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "optimizer step: the learning rate (%g) must be finite and "
                ">= 0 and the gradient scale (%g) finite and > 0",
                (double) lr, (double) grad_scale);
    return FALSE;
  }
  for (int i = 0; i < opt->n; i++) {
    AgfDevice *dev = opt->slots[i].param->dev;
    agf_no_grad_begin(dev); /* updates are never part of a graph */
    gboolean ok = step_slot(opt, &opt->slots[i], lr, grad_scale, error);
    agf_no_grad_end(dev);
    if (!ok)
      return FALSE;
  }
  opt->n_steps++;
  return TRUE;
}

void
agf_optimizer_zero_grad(AgfOptimizer *opt)
{
  for (int i = 0; i < opt->n; i++)
    agf_tensor_clear_grad(opt->slots[i].param);
}

gint64
agf_optimizer_n_steps(const AgfOptimizer *opt)
{
  return opt->n_steps;
}

const AgfOptimConfig *
agf_optimizer_config(const AgfOptimizer *opt)
{
  return &opt->cfg;
}

/* ---- state for checkpoints ---- */

enum { ST_MASTER, ST_M, ST_V, ST_STEP, ST_COUNT };

static const char *
state_suffix(const AgfOptimizer *opt, int kind)
{
  switch (kind) {
  case ST_MASTER: return "master";
  case ST_M: return opt->cfg.kind == AGF_OPTIM_SGD ? "momentum_buffer"
                                                   : "exp_avg";
  case ST_V: return "exp_avg_sq";
  default: return "step";
  }
}

static AgfTensor *
state_tensor(const Slot *s, int kind)
{
  switch (kind) {
  case ST_MASTER: return s->master;
  case ST_M: return s->m;
  case ST_V: return s->v;
  default: return NULL;
  }
}

AgfParamSet *
agf_optimizer_state(AgfOptimizer *opt, GError **error)
{
  g_autoptr(AgfParamSet) ps = agf_param_set_new();
  for (int i = 0; i < opt->n; i++) {
    Slot *s = &opt->slots[i];
    for (int k = 0; k < ST_COUNT; k++) {
      g_autofree char *name = g_strdup_printf("%s.%s", s->name,
                                              state_suffix(opt, k));
      g_autoptr(AgfTensor) t = NULL;
      if (k == ST_STEP) { /* exact in f32 up to 2^24 steps */
        float v = (float) s->steps;
        t = agf_tensor_from_f32(s->param->dev, AGF_F32, 1, (int64_t[]){ 1 },
                                &v, error);
        if (!t)
          return NULL;
      } else if (state_tensor(s, k)) {
        t = agf_tensor_ref(state_tensor(s, k));
      } else {
        continue;
      }
      if (!agf_param_set_add(ps, name, t, error))
        return NULL;
    }
  }
  return g_steal_pointer(&ps);
}

/* The state tensor named name in state, of want's shape, or NULL + error. */
static AgfTensor *
find_state(const AgfParamSet *state, const char *name, const int64_t *shape,
           int ndim, GError **error)
{
  int j = agf_param_set_find(state, name);
  if (j < 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "optimizer state: %s is missing (the checkpoint was saved "
                "for another model or optimizer)", name);
    return NULL;
  }
  AgfTensor *t = agf_param_set_tensor(state, j);
  gboolean same = t->ndim == ndim;
  for (int d = 0; same && d < ndim; d++)
    same = t->shape[d] == shape[d];
  if (!same) {
    char a[160];
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "optimizer state: %s has shape %s but the parameter needs "
                "another one (the checkpoint was saved for another model)",
                name, agf_shape_str(t, a, sizeof a));
    return NULL;
  }
  return t;
}

gboolean
agf_optimizer_load_state(AgfOptimizer *opt, const AgfParamSet *state,
                         gint64 n_steps, GError **error)
{
  if (n_steps < 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "optimizer state: the step count %" G_GINT64_FORMAT
                " is negative", n_steps);
    return FALSE;
  }
  /* Check everything first so that a bad state changes nothing. */
  gint64 *steps = g_new0(gint64, MAX(opt->n, 1));
  gboolean ok = TRUE;
  for (int i = 0; ok && i < opt->n; i++) {
    Slot *s = &opt->slots[i];
    for (int k = 0; ok && k < ST_COUNT; k++) {
      g_autofree char *name = g_strdup_printf("%s.%s", s->name,
                                              state_suffix(opt, k));
      AgfTensor *mine = state_tensor(s, k);
      if (k != ST_STEP && !mine)
        continue;
      AgfTensor *t = find_state(state, name, k == ST_STEP ? (int64_t[]){ 1 }
                                : mine->shape, k == ST_STEP ? 1 : mine->ndim,
                                error);
      float v = 0.0f;
      ok = t != NULL;
      if (ok && k == ST_STEP) {
        ok = agf_tensor_to_f32(t, &v, error);
        if (ok && !(v >= 0.0f && v <= 16777216.0f && v == floorf(v))) {
          g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                      "optimizer state: %s = %g is not a step count", name,
                      (double) v);
          ok = FALSE;
        }
        steps[i] = (gint64) v;
      }
    }
  }
  for (int i = 0; ok && i < opt->n; i++) {
    Slot *s = &opt->slots[i];
    for (int k = 0; ok && k < ST_STEP; k++) {
      AgfTensor *mine = state_tensor(s, k);
      if (!mine)
        continue;
      g_autofree char *name = g_strdup_printf("%s.%s", s->name,
                                              state_suffix(opt, k));
      AgfTensor *t = agf_param_set_tensor(state,
                                          agf_param_set_find(state, name));
      ok = agf_optim_copy_into(mine, t, error);
    }
    /* keep the invariant parameter == master rounded */
    if (ok && s->master)
      ok = agf_optim_copy_into(s->param, s->master, error);
    s->steps = steps[i];
  }
  g_free(steps);
  if (ok)
    opt->n_steps = n_steps;
  return ok;
}
