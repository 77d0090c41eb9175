/* SSDG's asymmetric triplet loss: HardTripletLoss on Euclidean distances,
 * batch-hard and batch-all. The mining (which positive is farthest, which
 * negative nearest) is decided on the host from the distances read back;
 * the chosen entries are then picked with one-hot masks, so gradients flow
 * to exactly the pairs PyTorch's max / min would route them to. */
#include <math.h>
#include "nn/loss.h"
#include "nn/autograd.h"
#include "nn/optim_internal.h"

/* Sum over the last dim of x * mask (picks one entry per row of a one-hot
 * mask): [B,B] -> [B,1]. */
static AgfTensor *
pick_rows(const AgfTensor *x, const float *mask, GError **error)
{
  int64_t b = x->shape[0], col[2] = { b, 1 };
  g_autoptr(AgfTensor) m = agf_loss_const(x, 2, x->shape, mask, error);
  g_autoptr(AgfTensor) xm = m ? agf_mul(x, m, error) : NULL;
  return xm ? agf_reduce(xm, AGF_REDUCE_SUM, 2, col, error) : NULL;
}

/* _pairwise_distance(x, squared=False): ||a||^2 - 2 a.b + ||b||^2 with the
 * norms taken from the Gram matrix's diagonal (so the diagonal is exactly
 * 0), relu, then sqrt guarded at 0 (sqrt(0 + eps) * 0). */
static AgfTensor *
pairwise_distance(const AgfTensor *x, GError **error)
{
  int64_t b = x->shape[0], row[2] = { 1, b };
  g_autofree float *eye = g_new0(float, b * b);
  for (int64_t i = 0; i < b; i++)
    eye[i * b + i] = 1.0f;
  g_autoptr(AgfTensor) cor = agf_gemm(x, x, NULL, FALSE, TRUE, 1.0f, error);
  if (!cor)
    return NULL;
  g_autoptr(AgfTensor) norm = pick_rows(cor, eye, error);
  g_autoptr(AgfTensor) norm_row = norm ? agf_tensor_reshape(norm, 2, row,
                                                            error) : NULL;
  g_autoptr(AgfTensor) cor2 = norm_row ? agf_scale(cor, 2.0f, 0.0f, error)
                                       : NULL;
  g_autoptr(AgfTensor) t = cor2 ? agf_sub(norm, cor2, error) : NULL;
  g_autoptr(AgfTensor) t2 = t ? agf_add(t, norm_row, error) : NULL;
  g_autoptr(AgfTensor) d2 = t2 ? agf_relu(t2, error) : NULL;
  if (!d2)
    return NULL;
  g_autofree float *v = g_new(float, b * b);
  if (!agf_tensor_to_f32(d2, v, error))
    return NULL;
  /* eps: SSDG's 1e-16, or f16's smallest step where 1e-16 would round to
   * 0 and turn the masked gradient into 0 * inf. */
  float eps = x->dtype == AGF_F16 ? 5.9604645e-8f : 1e-16f;
  g_autofree float *add = g_new(float, b * b);
  g_autofree float *keep = g_new(float, b * b);
  for (int64_t i = 0; i < b * b; i++) {
    add[i] = v[i] == 0.0f ? eps : 0.0f;
    keep[i] = v[i] == 0.0f ? 0.0f : 1.0f;
  }
  g_autoptr(AgfTensor) tadd = agf_loss_const(x, 2, d2->shape, add, error);
  g_autoptr(AgfTensor) tkeep = tadd ? agf_loss_const(x, 2, d2->shape, keep,
                                                     error) : NULL;
  g_autoptr(AgfTensor) de = tkeep ? agf_add(d2, tadd, error) : NULL;
  g_autoptr(AgfTensor) ds = de ? agf_unary(de, AGF_UNARY_SQRT, 0, 0, error)
                               : NULL;
  return ds ? agf_mul(ds, tkeep, error) : NULL;
}

/* Index of the first largest (largest TRUE) or smallest value of row. */
static int64_t
arg_extreme(const float *row, int64_t n, gboolean largest)
{
  int64_t best = 0;
  for (int64_t j = 1; j < n; j++)
    if (largest ? row[j] > row[best] : row[j] < row[best])
      best = j;
  return best;
}

static gboolean
check_args(const AgfTensor *features, const int *classes, float margin,
           GError **error)
{
  if (features->ndim != 2 || !classes || !isfinite(margin)) {
    char s[160];
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "triplet loss: needs features [B,D], B class labels and a "
                "finite margin (got features %s%s)",
                agf_shape_str(features, s, sizeof s),
                classes ? "" : " and no labels");
    return FALSE;
  }
  return TRUE;
}

AgfTensor *
agf_loss_asym_triplet(const AgfTensor *features, const int *classes,
                      float margin, GError **error)
{
  if (!check_args(features, classes, margin, error))
    return NULL;
  int64_t b = features->shape[0];
  g_autoptr(AgfTensor) d = pairwise_distance(features, error);
  if (!d)
    return NULL;
  g_autofree float *dv = g_new(float, b * b);
  if (!agf_tensor_to_f32(d, dv, error))
    return NULL;
  /* Masks and the mined columns, as HardTripletLoss(hardest=True): the
   * positive mask excludes the anchor itself; non-negatives get the row's
   * max distance added before the min. */
  g_autofree float *pos = g_new0(float, b * b);
  g_autofree float *notneg = g_new0(float, b * b);
  g_autofree float *sel_p = g_new0(float, b * b);
  g_autofree float *sel_max = g_new0(float, b * b);
  g_autofree float *sel_n = g_new0(float, b * b);
  g_autofree float *tmp = g_new(float, b);
  for (int64_t i = 0; i < b; i++) {
    const float *r = dv + i * b;
    for (int64_t j = 0; j < b; j++) {
      gboolean same = classes[i] == classes[j];
      pos[i * b + j] = same && i != j ? 1.0f : 0.0f;
      notneg[i * b + j] = same ? 1.0f : 0.0f;
      tmp[j] = r[j] * pos[i * b + j];
    }
    sel_p[i * b + arg_extreme(tmp, b, TRUE)] = 1.0f;
    int64_t jm = arg_extreme(r, b, TRUE);
    sel_max[i * b + jm] = 1.0f;
    for (int64_t j = 0; j < b; j++)
      tmp[j] = r[j] + r[jm] * notneg[i * b + j];
    sel_n[i * b + arg_extreme(tmp, b, FALSE)] = 1.0f;
  }
  int64_t shape[2] = { b, b };
  g_autoptr(AgfTensor) tpos = agf_loss_const(d, 2, shape, pos, error);
  g_autoptr(AgfTensor) tnn = tpos ? agf_loss_const(d, 2, shape, notneg, error)
                                  : NULL;
  g_autoptr(AgfTensor) vp = tnn ? agf_mul(d, tpos, error) : NULL;
  g_autoptr(AgfTensor) hp = vp ? pick_rows(vp, sel_p, error) : NULL;
  g_autoptr(AgfTensor) mx = hp ? pick_rows(d, sel_max, error) : NULL;
  g_autoptr(AgfTensor) shift = mx ? agf_mul(mx, tnn, error) : NULL;
  g_autoptr(AgfTensor) an = shift ? agf_add(d, shift, error) : NULL;
  g_autoptr(AgfTensor) hn = an ? pick_rows(an, sel_n, error) : NULL;
  g_autoptr(AgfTensor) diff = hn ? agf_sub(hp, hn, error) : NULL;
  g_autoptr(AgfTensor) dm = diff ? agf_scale(diff, 1.0f, margin, error)
                                 : NULL;
  g_autoptr(AgfTensor) l = dm ? agf_relu(dm, error) : NULL;
  return l ? agf_loss_mean_all(l, error) : NULL;
}

AgfTensor *
agf_loss_asym_triplet_all(const AgfTensor *features, const int *classes,
                          float margin, GError **error)
{
  if (!check_args(features, classes, margin, error))
    return NULL;
  int64_t b = features->shape[0], n = b * b * b;
  g_autofree float *mask = g_new0(float, n);
  for (int64_t i = 0; i < b; i++)
    for (int64_t j = 0; j < b; j++)
      for (int64_t k = 0; k < b; k++)
        mask[(i * b + j) * b + k] = i != j && j != k && i != k &&
                                    classes[i] == classes[j] &&
                                    classes[i] != classes[k];
  /* loss[i,j,k] = relu(mask * (d[i,j] - d[i,k] + margin)) by broadcasting
   * d as [B,B,1] against [B,1,B]. */
  int64_t ap_shape[3] = { b, b, 1 }, an_shape[3] = { b, 1, b };
  int64_t cube[3] = { b, b, b };
  g_autoptr(AgfTensor) d = pairwise_distance(features, error);
  g_autoptr(AgfTensor) ap = d ? agf_tensor_reshape(d, 3, ap_shape, error)
                              : NULL;
  g_autoptr(AgfTensor) an = ap ? agf_tensor_reshape(d, 3, an_shape, error)
                               : NULL;
  g_autoptr(AgfTensor) diff = an ? agf_sub(ap, an, error) : NULL;
  g_autoptr(AgfTensor) dm = diff ? agf_scale(diff, 1.0f, margin, error)
                                 : NULL;
  g_autoptr(AgfTensor) tm = dm ? agf_loss_const(features, 3, cube, mask,
                                                error) : NULL;
  g_autoptr(AgfTensor) masked = tm ? agf_mul(dm, tm, error) : NULL;
  g_autoptr(AgfTensor) l = masked ? agf_relu(masked, error) : NULL;
  if (!l || !agf_tensor_to_f32(l, mask, error))
    return NULL;
  /* the count of hard triplets is a constant divisor, as torch.gt's */
  double hard = 0.0;
  for (int64_t i = 0; i < n; i++)
    hard += mask[i] > 1e-16f;
  static const int64_t one[1] = { 1 };
  g_autoptr(AgfTensor) s = agf_reduce(l, AGF_REDUCE_SUM, 1, one, error);
  return s ? agf_scale(s, (float) (1.0 / (hard + 1e-16)), 0.0f, error)
           : NULL;
}
