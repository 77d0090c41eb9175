/* Residual, heat map, standardization and OA-Net scoring; see cue.h. */
#include "pipeline/cue.h"
#include <math.h>
#include "nn/ops.h"

static gboolean same_image_shape(const AgfTensor *a, const AgfTensor *b,
                                 const char *what, GError **error)
{
  char sa[64], sb[64];
  if (a->ndim != 4 || !agf_tensor_same_shape(a, b)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "%s: the image %s and the %s must both be [B, C, H, W] of "
                "the same shape", what, agf_shape_str(a, sa, sizeof sa),
                agf_shape_str(b, sb, sizeof sb));
    return FALSE;
  }
  return TRUE;
}

AgfTensor *agf_cue_residual(const AgfTensor *image, const AgfTensor *recon,
                            const AgfTensor *mask, GError **error)
{
  if (!same_image_shape(image, recon, "residual", error))
    return NULL;
  g_autoptr(AgfTensor) r = agf_sub(image, recon, error);
  if (!r || !mask)
    return g_steal_pointer(&r);
  char sm[64];
  if (mask->ndim != 4 || mask->shape[0] != r->shape[0] ||
      mask->shape[1] != 1 || mask->shape[2] != r->shape[2] ||
      mask->shape[3] != r->shape[3]) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "the face mask is %s; it must be [%" G_GINT64_FORMAT ", 1, %"
                G_GINT64_FORMAT ", %" G_GINT64_FORMAT "] (one value per "
                "pixel)", agf_shape_str(mask, sm, sizeof sm), r->shape[0],
                r->shape[2], r->shape[3]);
    return NULL;
  }
  return agf_mul(r, mask, error);
}

AgfTensor *agf_cue_heat(const AgfTensor *residual, GError **error)
{
  if (residual->ndim != 4 || residual->dtype == AGF_U8) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "a heat map needs a float residual [B, C, H, W]");
    return NULL;
  }
  const int64_t c = residual->shape[1];
  g_autoptr(AgfTensor) a = agf_unary(residual, AGF_UNARY_ABS, 0, 0, error);
  if (!a)
    return NULL;
  /* The channel mean as a 1x1 convolution with weights 1/C. */
  g_autofree float *wv = g_new(float, c);
  for (int64_t i = 0; i < c; i++)
    wv[i] = 1.0f / (float)c;
  g_autoptr(AgfTensor) w = agf_tensor_from_f32(
      residual->dev, residual->dtype, 4, (int64_t[]){ 1, c, 1, 1 }, wv, error);
  if (!w)
    return NULL;
  const AgfConv2dParams p = { 0 };
  return agf_conv2d(a, w, NULL, &p, error);
}

AgfTensor *agf_cue_standardize(const AgfTensor *residual, GError **error)
{
  if (residual->ndim < 2 || residual->dtype == AGF_U8) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "standardizing needs a float residual [B, C, ...]");
    return NULL;
  }
  const double n = (double)(agf_tensor_numel(residual) / residual->shape[0]);
  if (n < 2) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "a per-sample standard deviation needs at least 2 values per "
                "sample");
    return NULL;
  }
  /* One-group GroupNorm gives (x - m) / sqrt(v_biased + e'); with
   * e' = eps (N-1)/N, times sqrt((N-1)/N) it is (x - m) / sqrt(v_unbiased
   * + eps). */
  const double k = (n - 1.0) / n;
  g_autoptr(AgfTensor) g = agf_group_norm(residual, NULL, NULL, 1,
                                          (float)(AGF_CUE_EPS * k), error);
  return g ? agf_scale(g, (float)sqrt(k), 0.0f, error) : NULL;
}

AgfTensor *agf_cue_stack(const AgfTensor *image, const AgfTensor *cue,
                         GError **error)
{
  if (!same_image_shape(image, cue, "6-channel stack", error))
    return NULL;
  const AgfTensor *xs[2] = { image, cue };
  return agf_concat(xs, 2, 1, error);
}

/* x itself, or x resized to size x size. */
static AgfTensor *at_size(const AgfTensor *x, int size, GError **error)
{
  if (x->shape[2] == size && x->shape[3] == size)
    return agf_tensor_ref((AgfTensor *)x);
  return agf_resize_bilinear(x, size, size, FALSE, error);
}

gboolean agf_dfg_score(AgfOanet *net, const AgfTensor *image,
                       const AgfTensor *cue, AgfTensor **spoof,
                       AgfTensor **logits, GError **error)
{
  g_return_val_if_fail(net && image && cue && spoof, FALSE);
  *spoof = NULL;
  if (logits)
    *logits = NULL;
  if (!same_image_shape(image, cue, "OA-Net score", error))
    return FALSE;
  const AgfOanetConfig *cfg = agf_oanet_config(net);
  const gboolean want_img = cfg->variant != AGF_OANET_RESIDUAL_ONLY;
  const gboolean want_cue = cfg->variant != AGF_OANET_IMAGE_ONLY;
  /* The full OA-Net's cue encoder takes the cue at any multiple of 32;
   * the cue ViTs at their input size. */
  const int cue_size = cfg->variant == AGF_OANET_DUAL_BRANCH
                         ? cfg->cue_vit.img_size : cfg->vit.img_size;
  g_autoptr(AgfTensor) img = NULL, c = NULL;
  if (want_img && !(img = at_size(image, cfg->vit.img_size, error)))
    return FALSE;
  if (want_cue &&
      !(c = cfg->variant == AGF_OANET_FULL
              ? agf_tensor_ref((AgfTensor *)cue)
              : at_size(cue, cue_size, error)))
    return FALSE;
  g_autoptr(AgfTensor) lg = NULL;
  if (!agf_oanet_forward(net, img, c, &lg, NULL, error))
    return FALSE;
  if (!(*spoof = agf_oanet_spoof_probability(net, lg, error)))
    return FALSE;
  if (logits)
    *logits = g_steal_pointer(&lg);
  return TRUE;
}
