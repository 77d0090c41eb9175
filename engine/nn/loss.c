/* Losses as compositions of ops (autograd differentiates them): MSE, L1,
 * cross-entropy and BCE with logits, PyTorch's definitions and mean
 * reduction. Data-dependent choices (a label's column, a logit's sign) are
 * host-made constant masks, so no op needs an index gather. */
#include "nn/loss.h"
#include "nn/autograd.h"
#include "nn/optim_internal.h"

AgfTensor *
agf_loss_mean_all(const AgfTensor *x, GError **error)
{
  static const int64_t one[1] = { 1 };
  g_autoptr(AgfTensor) s = agf_reduce(x, AGF_REDUCE_SUM, 1, one, error);
  return s ? agf_scale(s, (float) (1.0 / (double) agf_tensor_numel(x)), 0.0f,
                       error)
           : NULL;
}

AgfTensor *
agf_loss_const(const AgfTensor *like, int ndim, const int64_t *shape,
               const float *data, GError **error)
{
  return agf_tensor_from_f32(like->dev, like->dtype, ndim, shape, data, error);
}

static gboolean
same_shape(const char *loss, const AgfTensor *a, const AgfTensor *b,
           const char *bname, GError **error)
{
  if (agf_tensor_same_shape(a, b))
    return TRUE;
  char sa[160], sb[160];
  g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
              "%s: the prediction is %s but the %s is %s; they must have the "
              "same shape", loss, agf_shape_str(a, sa, sizeof sa), bname,
              agf_shape_str(b, sb, sizeof sb));
  return FALSE;
}

AgfTensor *
agf_loss_mse(const AgfTensor *pred, const AgfTensor *target, GError **error)
{
  if (!same_shape("mse loss", pred, target, "target", error))
    return NULL;
  g_autoptr(AgfTensor) d = agf_sub(pred, target, error);
  g_autoptr(AgfTensor) sq = d ? agf_mul(d, d, error) : NULL;
  return sq ? agf_loss_mean_all(sq, error) : NULL;
}

AgfTensor *
agf_loss_l1(const AgfTensor *pred, const AgfTensor *target, GError **error)
{
  if (!same_shape("l1 loss", pred, target, "target", error))
    return NULL;
  g_autoptr(AgfTensor) d = agf_sub(pred, target, error);
  g_autoptr(AgfTensor) a = d ? agf_unary(d, AGF_UNARY_ABS, 0, 0, error) : NULL;
  return a ? agf_loss_mean_all(a, error) : NULL;
}

AgfTensor *
agf_loss_cross_entropy(const AgfTensor *logits, const int *labels,
                       GError **error)
{
  if (logits->ndim != 2 || !labels) {
    char s[160];
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "cross-entropy loss: needs logits [B,K] and B labels (got "
                "logits %s%s)", agf_shape_str(logits, s, sizeof s),
                labels ? "" : " and no labels");
    return NULL;
  }
  int64_t b = logits->shape[0], k = logits->shape[1];
  g_autofree float *onehot = g_new0(float, b * k);
  for (int64_t i = 0; i < b; i++) {
    if (labels[i] < 0 || labels[i] >= k) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "cross-entropy loss: label %d of row %" G_GINT64_FORMAT
                  " is outside 0..%" G_GINT64_FORMAT " (the classes of the "
                  "logits)", labels[i], i, k - 1);
      return NULL;
    }
    onehot[i * k + labels[i]] = 1.0f;
  }
  /* loss_i = log(sum_k exp(z_ik)) - z_i,label with z = logits - rowmax; the
   * max is a constant shift (no gradient flows through it, as in
   * logsumexp). */
  int64_t col[2] = { b, 1 };
  agf_no_grad_begin(logits->dev);
  AgfTensor *mx = agf_reduce(logits, AGF_REDUCE_MAX, 2, col, error);
  agf_no_grad_end(logits->dev);
  g_autoptr(AgfTensor) mxr = mx;
  if (!mx)
    return NULL;
  g_autoptr(AgfTensor) z = agf_sub(logits, mx, error);
  g_autoptr(AgfTensor) e = z ? agf_unary(z, AGF_UNARY_EXP, 0, 0, error) : NULL;
  g_autoptr(AgfTensor) se = e ? agf_reduce(e, AGF_REDUCE_SUM, 2, col, error)
                              : NULL;
  g_autoptr(AgfTensor) lse = se ? agf_log(se, error) : NULL;
  g_autoptr(AgfTensor) oh = lse ? agf_loss_const(logits, 2, logits->shape,
                                                 onehot, error) : NULL;
  g_autoptr(AgfTensor) zp = oh ? agf_mul(z, oh, error) : NULL;
  g_autoptr(AgfTensor) picked = zp ? agf_reduce(zp, AGF_REDUCE_SUM, 2, col,
                                                error) : NULL;
  g_autoptr(AgfTensor) li = picked ? agf_sub(lse, picked, error) : NULL;
  return li ? agf_loss_mean_all(li, error) : NULL;
}

AgfTensor *
agf_loss_bce_with_logits(const AgfTensor *logits, const AgfTensor *targets,
                         GError **error)
{
  if (!same_shape("bce-with-logits loss", logits, targets, "targets", error))
    return NULL;
  /* max(x,0) - x*y + log(1 + exp(-|x|)), with max(x,0) = pos*x and
   * |x| = sgn*x from host masks: exact at x == 0 too, where the gradient
   * must be sigmoid(0) - y (sign(0) = 0 would give -y). */
  int64_t n = agf_tensor_numel(logits);
  g_autofree float *x = g_new(float, n);
  g_autofree float *pos = g_new(float, n);
  g_autofree float *sgn = g_new(float, n);
  if (!agf_tensor_to_f32(logits, x, error))
    return NULL;
  for (int64_t i = 0; i < n; i++) {
    pos[i] = x[i] >= 0.0f ? 1.0f : 0.0f;
    sgn[i] = x[i] >= 0.0f ? 1.0f : -1.0f;
  }
  g_autoptr(AgfTensor) tpos = agf_loss_const(logits, logits->ndim,
                                             logits->shape, pos, error);
  g_autoptr(AgfTensor) tsgn = tpos ? agf_loss_const(logits, logits->ndim,
                                                    logits->shape, sgn, error)
                                   : NULL;
  g_autoptr(AgfTensor) ax = tsgn ? agf_mul(logits, tsgn, error) : NULL;
  g_autoptr(AgfTensor) e = ax ? agf_scale(ax, -1.0f, 0.0f, error) : NULL;
  g_autoptr(AgfTensor) ex = e ? agf_unary(e, AGF_UNARY_EXP, 0, 0, error)
                              : NULL;
  g_autoptr(AgfTensor) ex1 = ex ? agf_scale(ex, 1.0f, 1.0f, error) : NULL;
  g_autoptr(AgfTensor) sp = ex1 ? agf_log(ex1, error) : NULL;
  g_autoptr(AgfTensor) r = sp ? agf_mul(logits, tpos, error) : NULL;
  g_autoptr(AgfTensor) xy = r ? agf_mul(logits, targets, error) : NULL;
  g_autoptr(AgfTensor) d = xy ? agf_sub(r, xy, error) : NULL;
  g_autoptr(AgfTensor) el = d ? agf_add(d, sp, error) : NULL;
  return el ? agf_loss_mean_all(el, error) : NULL;
}
