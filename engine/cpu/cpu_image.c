/* Image <-> tensor conversion and the residual heatmap (colormap). */
#include <math.h>
#include "cpu/cpu_internal.h"

static inline uint8_t
unit_to_u8(float v)
{
  v *= 255.0f;
  return (uint8_t) (v <= 0.0f ? 0 : v >= 255.0f ? 255 : (int) (v + 0.5f));
}

gboolean
agf_cpu_image_to_tensor(const AgfOp *op, GError **error)
{
  (void) error;
  const AgfImageToTensorParams *p = &op->p.to_tensor;
  const AgfTensor *ti = op->in[0];
  const uint8_t *img = agf_cpu_ptr(ti);
  float *y = agf_cpu_f32(op->out);
  const int64_t n = ti->shape[0], hw = ti->shape[1] * ti->shape[2];
  const int64_t ch = ti->shape[3];

#pragma omp parallel for schedule(static) if (n * hw > 16384)
  for (int64_t b = 0; b < n; b++)
    for (int c = 0; c < 3; c++) {
      const float s = 1.0f / (255.0f * p->std[c]), t = -p->mean[c] / p->std[c];
      const uint8_t *src = img + b * hw * ch + c;
      float *dst = y + (b * 3 + c) * hw;
      for (int64_t i = 0; i < hw; i++)
        dst[i] = (float) src[i * ch] * s + t;
    }
  return TRUE;
}

gboolean
agf_cpu_tensor_to_image(const AgfOp *op, GError **error)
{
  (void) error;
  const AgfTensorToImageParams *p = &op->p.to_image;
  const AgfTensor *tx = op->in[0];
  const float *x = agf_cpu_f32(tx);
  uint8_t *img = agf_cpu_ptr(op->out);
  const int64_t n = tx->shape[0], hw = tx->shape[2] * tx->shape[3];

#pragma omp parallel for schedule(static) if (n * hw > 16384)
  for (int64_t b = 0; b < n; b++)
    for (int64_t i = 0; i < hw; i++) {
      uint8_t *px = img + (b * hw + i) * 4;
      for (int c = 0; c < 3; c++)
        px[c] = unit_to_u8(x[(b * 3 + c) * hw + i] * p->std[c] + p->mean[c]);
      px[3] = 255;
    }
  return TRUE;
}

gboolean
agf_cpu_colormap(const AgfOp *op, GError **error)
{
  const AgfColormapParams *p = &op->p.cmap;
  const AgfTensor *tx = op->in[0];
  const uint8_t *lut = agf_colormap_lut(p->cmap);
  if (lut == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "unknown colour map %d", (int) p->cmap);
    return FALSE;
  }
  const float *x = agf_cpu_f32(tx);
  uint8_t *img = agf_cpu_ptr(op->out);
  const int64_t n = tx->shape[0], c = tx->shape[1];
  const int64_t hw = tx->shape[2] * tx->shape[3];
  const float range = p->vmax - p->vmin;
  const float inv = range != 0.0f ? 1.0f / range : 0.0f;

#pragma omp parallel for schedule(static) if (n * hw > 16384)
  for (int64_t b = 0; b < n; b++)
    for (int64_t i = 0; i < hw; i++) {
      float sum = 0.0f;
      for (int64_t ch = 0; ch < c; ch++) {
        const float v = x[(b * c + ch) * hw + i];
        sum += p->signed_values ? v : fabsf(v);
      }
      const float value = c ? sum / (float) c : 0.0f;
      /* fmaxf first so that a NaN maps to the low end. */
      const float u = fminf(fmaxf((value - p->vmin) * inv, 0.0f), 1.0f);
      const uint8_t *rgb = lut + 3 * (int) (u * 255.0f + 0.5f);
      uint8_t *px = img + (b * hw + i) * 4;
      px[0] = rgb[0];
      px[1] = rgb[1];
      px[2] = rgb[2];
      px[3] = 255;
    }
  return TRUE;
}
