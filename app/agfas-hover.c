/* See agfas-hover.h. */
#include "agfas-hover.h"

#include <math.h>
#include <string.h>

/* The pixel of a w x h image under a point of the AGF_FACE_ALIGN_SIZE face
 * (images of the face at another size are scaled); FALSE outside. */
static gboolean face_pixel(double fx, double fy, int w, int h, int *x, int *y)
{
  double px = floor(fx * w / AGF_FACE_ALIGN_SIZE);
  double py = floor(fy * h / AGF_FACE_ALIGN_SIZE);
  if (!(px >= 0 && py >= 0 && px < w && py < h))
    return FALSE;
  *x = (int)px, *y = (int)py;
  return TRUE;
}

static void rgb_at(const AgfasPixels *px, int x, int y, guint8 out[3])
{
  gsize n = 0;
  const guint8 *p = g_bytes_get_data(px->rgba, &n);
  memcpy(out, p + ((gsize)y * px->width + x) * 4, 3);
}

void agfas_hover_sample(const AgfasAnalysisResult *r, double fx, double fy,
                        AgfasHoverValues *out)
{
  memset(out, 0, sizeof *out);
  out->fx = fx, out->fy = fy;
  double inv[2][3], ix, iy;
  if (r->input.rgba && agf_affine_invert(r->align_fwd, inv)) {
    agf_affine_apply(inv, fx, fy, &ix, &iy);
    ix = floor(ix), iy = floor(iy);
    if (ix >= 0 && iy >= 0 && ix < r->input.width && iy < r->input.height) {
      out->has_input = TRUE;
      out->input_x = (int)ix, out->input_y = (int)iy;
      rgb_at(&r->input, out->input_x, out->input_y, out->input_rgb);
    }
  }
  out->has_face = face_pixel(fx, fy, AGF_FACE_ALIGN_SIZE, AGF_FACE_ALIGN_SIZE,
                             &out->face_x, &out->face_y);
  int x, y;
  if (r->recon.rgba &&
      face_pixel(fx, fy, r->recon.width, r->recon.height, &x, &y)) {
    out->has_recon = TRUE;
    rgb_at(&r->recon, x, y, out->recon_rgb);
  }
  if (r->heat_f32 &&
      face_pixel(fx, fy, r->heat_width, r->heat_height, &x, &y)) {
    out->has_residual = TRUE;
    out->residual = r->heat_f32[(gsize)y * r->heat_width + x];
  }
  if (r->cue_f32 && r->cue_channels > 0 &&
      face_pixel(fx, fy, r->cue_width, r->cue_height, &x, &y)) {
    out->has_cue = TRUE;
    out->cue_channels = r->cue_channels;
    gsize plane = (gsize)r->cue_width * r->cue_height;
    for (int c = 0; c < MIN(r->cue_channels, 3); c++)
      out->cue[c] = r->cue_f32[c * plane + (gsize)y * r->cue_width + x];
  }
}

char *agfas_hover_format(const AgfasHoverValues *v)
{
  GString *s = g_string_new(NULL);
  if (v->has_input)
    g_string_append_printf(s, "Input (%d, %d) RGB %u %u %u", v->input_x,
                           v->input_y, v->input_rgb[0], v->input_rgb[1],
                           v->input_rgb[2]);
  if (v->has_face)
    g_string_append_printf(s, "%sFace (%d, %d)", s->len ? " · " : "",
                           v->face_x, v->face_y);
  if (v->has_recon)
    g_string_append_printf(s, " · Reconstruction RGB %u %u %u",
                           v->recon_rgb[0], v->recon_rgb[1], v->recon_rgb[2]);
  if (v->has_residual)
    g_string_append_printf(s, " · |residual| %.3f", v->residual);
  if (v->has_cue) {
    g_string_append(s, " · Cue (");
    for (int c = 0; c < MIN(v->cue_channels, 3); c++)
      g_string_append_printf(s, "%s%+.2f", c ? ", " : "", v->cue[c]);
    g_string_append(s, ")");
  }
  if (!s->len)
    g_string_append(s, "Outside the image");
  return g_string_free(s, FALSE);
}
