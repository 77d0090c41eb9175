/* Face-region maskers; see face_mask.h. */
#include "pipeline/face_mask.h"
#include <math.h>

struct AgfFaceMasker {
  char *name;
  AgfFaceMaskFn fn;
  gpointer self;
  GDestroyNotify free_self;
};

AgfFaceMasker *agf_face_masker_new(const char *name, AgfFaceMaskFn fn,
                                   gpointer self, GDestroyNotify free_self)
{
  g_return_val_if_fail(fn != NULL, NULL);
  AgfFaceMasker *m = g_new0(AgfFaceMasker, 1);
  m->name = g_strdup(name ? name : "mask");
  m->fn = fn;
  m->self = self;
  m->free_self = free_self;
  return m;
}

void agf_face_masker_free(AgfFaceMasker *m)
{
  if (!m)
    return;
  if (m->free_self)
    m->free_self(m->self);
  g_free(m->name);
  g_free(m);
}

const char *agf_face_masker_name(const AgfFaceMasker *m)
{
  return m->name;
}

AgfTensor *agf_face_masker_run(AgfFaceMasker *m, const AgfTensor *aligned,
                               const float (*landmarks)[AGF_FACE_N_LANDMARKS][2],
                               GError **error)
{
  if (aligned == NULL || aligned->ndim != 4 || aligned->shape[1] != 3 ||
      aligned->shape[2] != aligned->shape[3] || landmarks == NULL) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "face mask (%s): needs aligned faces [B, 3, S, S] and their "
                "landmarks", m->name);
    return NULL;
  }
  AgfTensor *mask = m->fn(m->self, aligned, landmarks, error);
  if (!mask)
    return NULL;
  if (mask->ndim != 4 || mask->shape[0] != aligned->shape[0] ||
      mask->shape[1] != 1 || mask->shape[2] != aligned->shape[2] ||
      mask->shape[3] != aligned->shape[3]) {
    char got[64];
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "face mask (%s): the masker returned %s, not [%" G_GINT64_FORMAT
                ", 1, %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]", m->name,
                agf_shape_str(mask, got, sizeof got), aligned->shape[0],
                aligned->shape[2], aligned->shape[3]);
    agf_tensor_unref(mask);
    return NULL;
  }
  return mask;
}

void agf_face_ellipse_params_init(AgfFaceEllipseParams *p)
{
  p->up = 1.05;
  p->down = 0.5;
  p->half_width = 1.05;
  p->feather = 0.08;
}

gboolean agf_face_ellipse_mask(const float lm[AGF_FACE_N_LANDMARKS][2],
                               int size, const AgfFaceEllipseParams *p,
                               float *out, GError **error)
{
  if (size < 1 || !(p->up >= 0 && p->down >= 0 && p->half_width > 0 &&
                    p->feather >= 0 && p->feather < 1 &&
                    p->up + p->down < 100 && p->half_width < 100)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "face mask: ellipse parameters out of range (up %g, down "
                "%g >= 0, half_width %g > 0, feather %g in [0, 1), size %d)",
                p->up, p->down, p->half_width, p->feather, size);
    return FALSE;
  }
  double ex = 0.5 * (lm[0][0] + lm[1][0]), ey = 0.5 * (lm[0][1] + lm[1][1]);
  double mx = 0.5 * (lm[3][0] + lm[4][0]), my = 0.5 * (lm[3][1] + lm[4][1]);
  double d = hypot(mx - ex, my - ey);
  double io = hypot(lm[1][0] - lm[0][0], lm[1][1] - lm[0][1]);
  if (!(d > 1e-3) || !(io > 1e-3) || !isfinite(d + io)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "face mask: the landmarks are degenerate (eye-mouth distance "
                "%g, eye distance %g); pass the aligned face's 5 points", d,
                io);
    return FALSE;
  }
  double ux = (mx - ex) / d, uy = (my - ey) / d; /* down the face */
  double a = 0.5 * ((1 + p->up + p->down) * d); /* half length along u */
  double b = p->half_width * io;                 /* half width across u */
  double t0 = -p->up * d + a;                    /* centre, along u from e */
  double cx = ex + ux * t0, cy = ey + uy * t0;
  double f = p->feather;
  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++) {
      double dx = x - cx, dy = y - cy;
      double along = dx * ux + dy * uy, across = -dx * uy + dy * ux;
      double r = sqrt((along / a) * (along / a) + (across / b) * (across / b));
      double v;
      if (f == 0)
        v = r <= 1 ? 1 : 0;
      else {
        double t = CLAMP((1 + f - r) / (2 * f), 0.0, 1.0);
        v = t * t * (3 - 2 * t);
      }
      out[(gsize)y * size + x] = (float)v;
    }
  return TRUE;
}

static AgfTensor *ellipse_fn(gpointer self, const AgfTensor *aligned,
                             const float (*landmarks)[AGF_FACE_N_LANDMARKS][2],
                             GError **error)
{
  const AgfFaceEllipseParams *p = self;
  int B = (int)aligned->shape[0], S = (int)aligned->shape[2];
  gsize plane = (gsize)S * S;
  g_autofree float *host = g_new(float, plane * B);
  for (int b = 0; b < B; b++)
    if (!agf_face_ellipse_mask(landmarks[b], S, p, host + plane * b, error))
      return NULL;
  return agf_tensor_from_f32(aligned->dev, aligned->dtype, 4,
                             (int64_t[]){ B, 1, S, S }, host, error);
}

AgfFaceMasker *agf_face_masker_ellipse(const AgfFaceEllipseParams *p)
{
  AgfFaceEllipseParams *own = g_new(AgfFaceEllipseParams, 1);
  if (p)
    *own = *p;
  else
    agf_face_ellipse_params_init(own);
  return agf_face_masker_new("ellipse", ellipse_fn, own, g_free);
}
