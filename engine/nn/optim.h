/* Optimizers, learning-rate schedules, gradient clipping, EMA of weights
 * and loss scaling: the PyTorch semantics (torch.optim.SGD / AdamW,
 * clip_grad_norm_, a diffusers-style EMA, GradScaler), computed on the
 * parameters' device with engine ops.
 *
 * Mixed precision: f16 parameters get an f32 master copy; the optimizer
 * state is f32; a step updates the master and writes it back rounded. */
#pragma once
#include "nn/param_set.h"

G_BEGIN_DECLS

typedef enum { AGF_OPTIM_SGD, AGF_OPTIM_ADAMW } AgfOptimKind;

typedef struct {
  AgfOptimKind kind;
  float weight_decay; /* SGD: L2 added to the gradient; AdamW: decoupled */
  float momentum;     /* SGD (0: plain SGD) */
  gboolean nesterov;  /* SGD */
  float beta1, beta2; /* AdamW; both 0 means 0.9, 0.999 */
  float eps;          /* AdamW; 0 means 1e-8 */
} AgfOptimConfig;

typedef struct AgfOptimizer AgfOptimizer;

/* Optimizes the tensors of params (kept referenced), which must require
 * gradients. */
AgfOptimizer *agf_optimizer_new(const AgfOptimConfig *cfg,
                                const AgfParamSet *params, GError **error);
void agf_optimizer_free(AgfOptimizer *opt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfOptimizer, agf_optimizer_free)

/* One update at learning rate lr from the parameters' gradients, taken
 * as grad / grad_scale (1 when not loss-scaling). Parameters without a
 * gradient are skipped, as in PyTorch. */
gboolean agf_optimizer_step(AgfOptimizer *opt, float lr, float grad_scale,
                            GError **error);
/* Clears every parameter's gradient. */
void agf_optimizer_zero_grad(AgfOptimizer *opt);
gint64 agf_optimizer_n_steps(const AgfOptimizer *opt);
const AgfOptimConfig *agf_optimizer_config(const AgfOptimizer *opt);

/* The state for checkpoints: named tensors ("<param>.exp_avg",
 * "<param>.exp_avg_sq", "<param>.momentum_buffer", "<param>.master"),
 * borrowed, plus "<param>.step" ([1] f32: the updates that parameter got,
 * which AdamW's bias correction counts per parameter as PyTorch does); and
 * restoring it (every tensor present with its shape, else an error that
 * names it). The optimizer's step count travels separately. */
AgfParamSet *agf_optimizer_state(AgfOptimizer *opt, GError **error);
gboolean agf_optimizer_load_state(AgfOptimizer *opt, const AgfParamSet *state,
                                  gint64 n_steps, GError **error);

/* Learning rate at step (0-based) of total: linear warm-up from 0 over
 * warmup steps, then cosine from base_lr down to min_lr. */
float agf_lr_cosine_warmup(gint64 step, gint64 total, gint64 warmup,
                           float base_lr, float min_lr);

/* torch.nn.utils.clip_grad_norm_: the global L2 norm of all gradients
 * (returned in *norm, before clipping); when above max_norm every gradient
 * is scaled by max_norm / (norm + 1e-6). */
gboolean agf_clip_grad_norm(const AgfParamSet *params, float max_norm,
                            float *norm, GError **error);

/* Exponential moving average of weights: shadow = decay * shadow +
 * (1 - decay) * param, in f32, after each optimizer step. */
typedef struct AgfEma AgfEma;
AgfEma *agf_ema_new(const AgfParamSet *params, float decay, GError **error);
void agf_ema_free(AgfEma *ema);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfEma, agf_ema_free)
gboolean agf_ema_update(AgfEma *ema, GError **error);
/* The shadow weights, named as the parameters (borrowed). */
const AgfParamSet *agf_ema_shadow(const AgfEma *ema);

/* Dynamic loss scaling (torch.cuda.amp.GradScaler): multiply the loss by
 * agf_loss_scaler_scale() before backward; agf_loss_scaler_check() looks
 * for inf/NaN in the gradients, sets *skip (do not step), and grows the
 * scale after growth_interval clean steps or halves it on overflow. */
typedef struct {
  float scale;            /* current; starts at init_scale */
  float growth_factor;    /* 2 */
  float backoff_factor;   /* 0.5 */
  int growth_interval;    /* 2000 */
  int clean_steps;
} AgfLossScaler;
void agf_loss_scaler_init(AgfLossScaler *s, float init_scale);
gboolean agf_loss_scaler_check(AgfLossScaler *s, const AgfParamSet *params,
                               gboolean *skip, GError **error);

G_END_DECLS
