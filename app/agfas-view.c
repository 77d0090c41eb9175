/* See agfas-view.h. */
#include "agfas-view.h"

#include <math.h>
#include <string.h>

struct _AgfasView {
  GObject parent_instance;
  double zoom, ox, oy;
  gboolean has_hover;
  double hx, hy;
};

G_DEFINE_FINAL_TYPE(AgfasView, agfas_view, G_TYPE_OBJECT)

enum { PROP_0, PROP_ZOOM, N_PROPS };
enum { SIG_CHANGED, SIG_HOVER_CHANGED, N_SIGNALS };
static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

static void agfas_view_get_property(GObject *object, guint id, GValue *value,
                                    GParamSpec *pspec)
{
  if (id == PROP_ZOOM)
    g_value_set_double(value, AGFAS_VIEW(object)->zoom);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
}

static void agfas_view_class_init(AgfasViewClass *klass)
{
  GObjectClass *oc = G_OBJECT_CLASS(klass);
  oc->get_property = agfas_view_get_property;
  props[PROP_ZOOM] = g_param_spec_double(
    "zoom", NULL, NULL, AGFAS_VIEW_MIN_ZOOM, AGFAS_VIEW_MAX_ZOOM, 1,
    G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(oc, N_PROPS, props);
  /* The transform changed (zoom or offset): panels redraw. */
  signals[SIG_CHANGED] = g_signal_new("changed", G_TYPE_FROM_CLASS(klass),
                                      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                      G_TYPE_NONE, 0);
  signals[SIG_HOVER_CHANGED] = g_signal_new(
    "hover-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
    NULL, NULL, G_TYPE_NONE, 0);
}

static void agfas_view_init(AgfasView *self)
{
  self->zoom = 1;
}

AgfasView *agfas_view_new(void)
{
  return g_object_new(AGFAS_TYPE_VIEW, NULL);
}

double agfas_view_get_zoom(AgfasView *self)
{
  g_return_val_if_fail(AGFAS_IS_VIEW(self), 1);
  return self->zoom;
}

void agfas_view_get_offset(AgfasView *self, double *ox, double *oy)
{
  g_return_if_fail(AGFAS_IS_VIEW(self));
  *ox = self->ox, *oy = self->oy;
}

void agfas_view_get_matrix(AgfasView *self, double m[2][3])
{
  g_return_if_fail(AGFAS_IS_VIEW(self));
  const double v[2][3] = { { self->zoom, 0, self->ox },
                           { 0, self->zoom, self->oy } };
  memcpy(m, v, sizeof v);
}

static void set_transform(AgfasView *self, double zoom, double ox, double oy)
{
  gboolean zoom_changed = zoom != self->zoom;
  if (!zoom_changed && ox == self->ox && oy == self->oy)
    return;
  self->zoom = zoom, self->ox = ox, self->oy = oy;
  if (zoom_changed)
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_ZOOM]);
  g_signal_emit(self, signals[SIG_CHANGED], 0);
}

void agfas_view_zoom_at(AgfasView *self, double gx, double gy, double zoom)
{
  g_return_if_fail(AGFAS_IS_VIEW(self));
  if (!isfinite(zoom) || !isfinite(gx) || !isfinite(gy))
    return;
  zoom = CLAMP(zoom, AGFAS_VIEW_MIN_ZOOM, AGFAS_VIEW_MAX_ZOOM);
  /* The face point x under g: g = zoom * x + o, before and after. */
  double x = (gx - self->ox) / self->zoom, y = (gy - self->oy) / self->zoom;
  set_transform(self, zoom, gx - zoom * x, gy - zoom * y);
}

void agfas_view_pan(AgfasView *self, double dx, double dy)
{
  g_return_if_fail(AGFAS_IS_VIEW(self));
  if (isfinite(dx) && isfinite(dy))
    set_transform(self, self->zoom, self->ox + dx, self->oy + dy);
}

void agfas_view_fit(AgfasView *self)
{
  g_return_if_fail(AGFAS_IS_VIEW(self));
  set_transform(self, 1, 0, 0);
}

void agfas_view_set_hover(AgfasView *self, gboolean has, double fx,
                          double fy)
{
  g_return_if_fail(AGFAS_IS_VIEW(self));
  if (has == self->has_hover && (!has || (fx == self->hx && fy == self->hy)))
    return;
  self->has_hover = has;
  self->hx = has ? fx : 0, self->hy = has ? fy : 0;
  g_signal_emit(self, signals[SIG_HOVER_CHANGED], 0);
}

gboolean agfas_view_get_hover(AgfasView *self, double *fx, double *fy)
{
  g_return_val_if_fail(AGFAS_IS_VIEW(self), FALSE);
  if (fx)
    *fx = self->hx;
  if (fy)
    *fy = self->hy;
  return self->has_hover;
}

void agfas_affine_mul(const double a[2][3], const double b[2][3],
                      double out[2][3])
{
  double r[2][3];
  for (int i = 0; i < 2; i++) {
    for (int j = 0; j < 3; j++)
      r[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j];
    r[i][2] += a[i][2];
  }
  memcpy(out, r, sizeof r);
}
