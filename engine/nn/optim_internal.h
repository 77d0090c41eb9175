/* Helpers shared by the optimizer files (optim*.c, loss*.c): in-place
 * elementwise updates of existing dense tensors and device-side sums.
 * Not part of the engine's API. */
#pragma once
#include "nn/ops.h"

G_BEGIN_DECLS

/* out = fn(x) (IDENTITY: a * x + b) written into out, which may be x. */
gboolean agf_optim_unary_into(AgfTensor *out, const AgfTensor *x,
                              AgfUnaryFn fn, float a, float b, GError **error);
/* out = a fn b (same shapes) written into out, which may be a or b. */
gboolean agf_optim_binary_into(AgfTensor *out, const AgfTensor *a,
                               const AgfTensor *b, AgfBinaryFn fn,
                               GError **error);
/* out += alpha * x. */
gboolean agf_optim_axpy(AgfTensor *out, float alpha, const AgfTensor *x,
                        GError **error);
/* out = x, converting the dtype (f32 master -> f16 parameter). */
gboolean agf_optim_copy_into(AgfTensor *out, const AgfTensor *x,
                             GError **error);
/* A new dense f32 tensor of t's shape on t's device, holding t's values
 * (copy TRUE) or zeros. */
AgfTensor *agf_optim_f32_like(const AgfTensor *t, gboolean copy,
                              GError **error);
/* A one-element f32 tensor on x's device: the sum of every element of x
 * (accumulated in f32 by REDUCE). */
AgfTensor *agf_optim_sum_all(const AgfTensor *x, GError **error);

G_END_DECLS

G_BEGIN_DECLS
/* Losses (loss.c): the mean of every element of x as a [1] tensor, built
 * from ops so that autograd differentiates it. */
AgfTensor *agf_loss_mean_all(const AgfTensor *x, GError **error);
/* A host-made constant of x's device and dtype (masks, one-hots). */
AgfTensor *agf_loss_const(const AgfTensor *like, int ndim,
                          const int64_t *shape, const float *data,
                          GError **error);
G_END_DECLS
