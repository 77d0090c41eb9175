/* Export of analysis results: see agfas-export.h. */
#include "agfas-export.h"

#include <cairo.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <string.h>

#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "nn/error.h"

/* Layout of the composed picture, in pixels. */
#define MARGIN 16
#define HEADER_H 44
#define TITLE_H 28
#define DEFAULT_CELL_H 320

static const char *const panel_titles[AGFAS_N_PANELS] = {
    "Input", "Reconstruction", "Residual heatmap", "Masked cue"};
static const char *const panel_slugs[AGFAS_N_PANELS] = {"input", "recon",
                                                        "heat", "cue"};

const char *agfas_panel_title(AgfasPanelKind kind)
{
  g_return_val_if_fail(kind < AGFAS_N_PANELS, NULL);
  return panel_titles[kind];
}

const char *agfas_panel_slug(AgfasPanelKind kind)
{
  g_return_val_if_fail(kind < AGFAS_N_PANELS, NULL);
  return panel_slugs[kind];
}

void agfas_export_panels_init(AgfasExportPanels *p)
{
  memset(p, 0, sizeof *p);
  p->threshold = 0.5;
}

static const AgfImage *pixels_view(const AgfasPixels *px, AgfImage *view)
{
  if (!px->rgba || px->width <= 0 || px->height <= 0)
    return NULL;
  gsize size = 0;
  const guint8 *data = g_bytes_get_data(px->rgba, &size);
  if (size < (gsize)px->width * (gsize)px->height * 4)
    return NULL;
  /* The image is only read; AgfImage has no const variant. */
  *view = (AgfImage){px->width, px->height, 4, (size_t)px->width * 4,
                     (guint8 *)data};
  return view;
}

void agfas_export_panels_from_result(AgfasExportPanels *p,
                                     const AgfasAnalysisResult *r,
                                     AgfImage views[AGFAS_N_PANELS],
                                     const char *source)
{
  agfas_export_panels_init(p);
  const AgfasPixels *px[AGFAS_N_PANELS] = {&r->input, &r->recon, &r->heat,
                                           &r->cue};
  for (int k = 0; k < AGFAS_N_PANELS; k++)
    p->panels[k] = pixels_view(px[k], &views[k]);
  p->notes[AGFAS_PANEL_INPUT] = "The input could not be decoded";
  for (int k = AGFAS_PANEL_RECON; k < AGFAS_N_PANELS; k++)
    p->notes[k] = r->dfg_note;
  p->has_box = p->panels[AGFAS_PANEL_INPUT] != NULL;
  p->face_detected = r->face_detected;
  memcpy(p->box, r->box, sizeof p->box);
  p->has_landmarks = r->face_detected;
  memcpy(p->landmarks, r->landmarks, sizeof p->landmarks);
  p->has_score = r->has_score;
  p->score = r->score;
  p->score_note = r->score_note;
  p->source = source;
}

const char *agfas_export_verdict(double score, double threshold)
{
  return score >= threshold ? "SPOOF" : "LIVE";
}

/* ---- composition ---- */

/* RGB/RGBA -> a cairo ARGB32 surface (premultiplied, native endian). */
static cairo_surface_t *surface_from_image(const AgfImage *img)
{
  cairo_surface_t *s =
      cairo_image_surface_create(CAIRO_FORMAT_ARGB32, img->width, img->height);
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
    return s;
  cairo_surface_flush(s);
  guint8 *dst = cairo_image_surface_get_data(s);
  int dst_stride = cairo_image_surface_get_stride(s);
  for (int y = 0; y < img->height; y++) {
    const guint8 *in = img->pixels + (size_t)y * img->stride;
    guint32 *out = (guint32 *)(void *)(dst + (size_t)y * dst_stride);
    for (int x = 0; x < img->width; x++, in += img->channels) {
      guint32 a = img->channels == 4 ? in[3] : 255;
      guint32 r = (in[0] * a + 127) / 255, g = (in[1] * a + 127) / 255,
              b = (in[2] * a + 127) / 255;
      out[x] = a << 24 | r << 16 | g << 8 | b;
    }
  }
  cairo_surface_mark_dirty(s);
  return s;
}

static void draw_text(cairo_t *cr, const char *font, const char *text,
                      double x, double y, double max_width, gboolean centre)
{
  PangoLayout *layout = pango_cairo_create_layout(cr);
  PangoFontDescription *desc = pango_font_description_from_string(font);
  pango_layout_set_font_description(layout, desc);
  pango_font_description_free(desc);
  pango_layout_set_text(layout, text, -1);
  pango_layout_set_width(layout, (int)(max_width * PANGO_SCALE));
  pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_MIDDLE);
  if (centre)
    pango_layout_set_alignment(layout, PANGO_ALIGN_CENTER);
  cairo_move_to(cr, x, y);
  pango_cairo_show_layout(cr, layout);
  g_object_unref(layout);
}

/* Wrapped, centred note inside a missing panel's box. */
static void draw_note(cairo_t *cr, const char *text, double x, double y,
                      double w, double h)
{
  PangoLayout *layout = pango_cairo_create_layout(cr);
  PangoFontDescription *desc = pango_font_description_from_string("Sans 11");
  pango_layout_set_font_description(layout, desc);
  pango_font_description_free(desc);
  pango_layout_set_text(layout, text, -1);
  pango_layout_set_width(layout, (int)((w - 24) * PANGO_SCALE));
  pango_layout_set_height(layout, (int)((h - 24) * PANGO_SCALE));
  pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
  pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_END);
  pango_layout_set_alignment(layout, PANGO_ALIGN_CENTER);
  int tw, th;
  pango_layout_get_pixel_size(layout, &tw, &th);
  cairo_move_to(cr, x + 12, y + (h - th) / 2);
  pango_cairo_show_layout(cr, layout);
  g_object_unref(layout);
}

static void draw_face(cairo_t *cr, const AgfasExportPanels *p, double x,
                      double y, double scale)
{
  if (p->face_detected)
    cairo_set_source_rgb(cr, 0.20, 0.82, 0.48);
  else
    cairo_set_source_rgb(cr, 0.96, 0.76, 0.07);
  if (p->has_box) {
    double dash[] = {6.0, 4.0};
    cairo_set_dash(cr, dash, p->face_detected ? 0 : 2, 0);
    cairo_set_line_width(cr, 2.0);
    cairo_rectangle(cr, x + p->box[0] * scale, y + p->box[1] * scale,
                    (p->box[2] - p->box[0]) * scale,
                    (p->box[3] - p->box[1]) * scale);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
  }
  if (p->has_landmarks) {
    for (int i = 0; i < AGF_FACE_N_LANDMARKS; i++) {
      cairo_arc(cr, x + p->landmarks[i][0] * scale,
                y + p->landmarks[i][1] * scale, 3.0, 0, 2 * G_PI);
      cairo_fill(cr);
    }
  }
}

static int cell_width(const AgfImage *img, int cell_h)
{
  if (!img)
    return cell_h;
  int w = (int)lround((double)img->width * cell_h / img->height);
  return CLAMP(w, cell_h / 2, cell_h * 3);
}

static gboolean check_panel(const AgfImage *img, AgfasPanelKind k,
                            GError **error)
{
  if (!img)
    return TRUE;
  if (img->width <= 0 || img->height <= 0 || !img->pixels ||
      (img->channels != 3 && img->channels != 4) ||
      img->stride < (size_t)img->width * img->channels) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "Cannot export the %s panel: it is not an RGB/RGBA image "
                "(%d x %d, %d channels); run the analysis again",
                panel_titles[k], img->width, img->height, img->channels);
    return FALSE;
  }
  return TRUE;
}

static void draw_header(cairo_t *cr, const AgfasExportPanels *p, int width)
{
  double x = MARGIN, avail = width - 2 * MARGIN;
  g_autofree char *score = NULL;
  if (p->has_score) {
    char num[G_ASCII_DTOSTR_BUF_SIZE], thr[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(num, sizeof num, "%.3f", p->score);
    g_ascii_formatd(thr, sizeof thr, "%.2f", p->threshold);
    score = g_strdup_printf("Spoof score %s (threshold %s)", num, thr);
  } else {
    score = g_strdup_printf("No score%s%s", p->score_note ? ": " : "",
                            p->score_note ? p->score_note : "");
  }
  if (p->has_score) {
    /* Verdict badge at the right end, coloured like the app's. */
    const char *verdict = agfas_export_verdict(p->score, p->threshold);
    gboolean spoof = p->score >= p->threshold;
    double verdict_w = 96;
    double bx = width - MARGIN - verdict_w, by = MARGIN + 4;
    if (spoof)
      cairo_set_source_rgb(cr, 0.75, 0.11, 0.16);
    else
      cairo_set_source_rgb(cr, 0.15, 0.64, 0.41);
    cairo_rectangle(cr, bx, by, verdict_w, HEADER_H - 16);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    draw_text(cr, "Sans Bold 14", verdict, bx, by + 3, verdict_w, TRUE);
    avail -= verdict_w + MARGIN;
  }
  cairo_set_source_rgb(cr, 0.14, 0.14, 0.14);
  double source_w = p->source ? avail * 0.5 : 0;
  if (p->source) {
    g_autofree char *base = g_path_get_basename(p->source);
    draw_text(cr, "Sans Bold 14", base, x, MARGIN + 6, source_w - MARGIN,
              FALSE);
  }
  draw_text(cr, "Sans 14", score, x + source_w, MARGIN + 6, avail - source_w,
            FALSE);
}

AgfImage *agfas_export_compose(const AgfasExportPanels *p, int cell_height,
                               GError **error)
{
  int cell_h = cell_height > 0 ? cell_height : DEFAULT_CELL_H;
  if (cell_h < 32 || cell_h > 4096) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "Panel height %d is out of range; use 32 to 4096 pixels",
                cell_h);
    return NULL;
  }
  int cw[AGFAS_N_PANELS], width = MARGIN;
  for (int k = 0; k < AGFAS_N_PANELS; k++) {
    if (!check_panel(p->panels[k], k, error))
      return NULL;
    cw[k] = cell_width(p->panels[k], cell_h);
    width += cw[k] + MARGIN;
  }
  int height = MARGIN + HEADER_H + TITLE_H + cell_h + MARGIN;

  cairo_surface_t *target =
      cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create(target);
  cairo_set_source_rgb(cr, 0.98, 0.98, 0.98);
  cairo_paint(cr);
  draw_header(cr, p, width);

  double x = MARGIN, top = MARGIN + HEADER_H;
  for (int k = 0; k < AGFAS_N_PANELS; k++) {
    const AgfImage *img = p->panels[k];
    double y = top + TITLE_H;
    cairo_set_source_rgb(cr, 0.14, 0.14, 0.14);
    draw_text(cr, "Sans Bold 12", panel_titles[k], x, top + 2, cw[k], TRUE);
    if (img) {
      /* Letterboxed into the cell, aspect kept. */
      double scale = MIN((double)cw[k] / img->width,
                         (double)cell_h / img->height);
      double ox = x + (cw[k] - img->width * scale) / 2,
             oy = y + (cell_h - img->height * scale) / 2;
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      cairo_rectangle(cr, x, y, cw[k], cell_h);
      cairo_fill(cr);
      cairo_surface_t *s = surface_from_image(img);
      cairo_save(cr);
      cairo_translate(cr, ox, oy);
      cairo_scale(cr, scale, scale);
      cairo_set_source_surface(cr, s, 0, 0);
      cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
      cairo_paint(cr);
      cairo_restore(cr);
      cairo_surface_destroy(s);
      if (k == AGFAS_PANEL_INPUT)
        draw_face(cr, p, ox, oy, scale);
    } else {
      cairo_set_source_rgb(cr, 0.87, 0.87, 0.87);
      cairo_rectangle(cr, x, y, cw[k], cell_h);
      cairo_fill(cr);
      cairo_set_source_rgb(cr, 0.30, 0.30, 0.30);
      draw_note(cr, p->notes[k] ? p->notes[k] : "Not available", x, y, cw[k],
                cell_h);
    }
    x += cw[k] + MARGIN;
  }
  cairo_destroy(cr);
  cairo_surface_flush(target);

  AgfImage *out = NULL;
  if (cairo_surface_status(target) != CAIRO_STATUS_SUCCESS) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_OUT_OF_MEMORY,
                "Cannot draw the %d x %d export picture: %s; use smaller "
                "panels",
                width, height,
                cairo_status_to_string(cairo_surface_status(target)));
  } else if ((out = agf_image_new(width, height, 4, error))) {
    const guint8 *src = cairo_image_surface_get_data(target);
    int stride = cairo_image_surface_get_stride(target);
    for (int y = 0; y < height; y++) {
      const guint32 *in = (const guint32 *)(const void *)(src + (size_t)y *
                                                                    stride);
      guint8 *o = out->pixels + (size_t)y * out->stride;
      for (int xx = 0; xx < width; xx++, o += 4) {
        guint32 v = in[xx], a = v >> 24;
        guint32 c[3] = {v >> 16 & 255, v >> 8 & 255, v & 255};
        for (int i = 0; i < 3; i++)
          o[i] = (guint8)(a ? MIN(255u, (c[i] * 255 + a / 2) / a) : 0);
        o[3] = (guint8)a;
      }
    }
  }
  cairo_surface_destroy(target);
  return out;
}

gboolean agfas_export_composite_png(const AgfasExportPanels *p,
                                    const char *path, GError **error)
{
  g_autoptr(AgfImage) img = agfas_export_compose(p, 0, error);
  return img && agf_image_save_png(img, path, error);
}

gboolean agfas_export_panel_pngs(const AgfasExportPanels *p, const char *dir,
                                 const char *stem, GError **error)
{
  int n = 0;
  for (int k = 0; k < AGFAS_N_PANELS; k++) {
    if (!check_panel(p->panels[k], k, error))
      return FALSE;
    n += p->panels[k] != NULL;
  }
  if (n == 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "There are no panels to export; run the analysis first");
    return FALSE;
  }
  if (g_mkdir_with_parents(dir, 0755) != 0) {
    int e = errno;
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
                "Cannot create the export folder %s: %s; choose a folder "
                "you can write to",
                dir, g_strerror(e));
    return FALSE;
  }
  for (int k = 0; k < AGFAS_N_PANELS; k++) {
    if (!p->panels[k])
      continue;
    g_autofree char *name = g_strdup_printf("%s-%s.png", stem, panel_slugs[k]);
    g_autofree char *path = g_build_filename(dir, name, NULL);
    if (!agf_image_save_png(p->panels[k], path, error))
      return FALSE;
  }
  return TRUE;
}

/* ---- cue tensors ---- */

gboolean agfas_export_cue_tensors(const AgfasExportCue *c, const char *path,
                                  GError **error)
{
  if (c->channels <= 0 || c->height <= 0 || c->width <= 0 ||
      (!c->residual && !c->cue && !c->recon)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "There are no cue tensors to export (shape %d x %d x %d); "
                "run the analysis with a reconstruction model first",
                c->channels, c->height, c->width);
    return FALSE;
  }
  const int64_t shape[4] = {1, c->channels, c->height, c->width};
  const struct {
    const char *name;
    const float *data;
  } tensors[] = {{"residual", c->residual}, {"cue", c->cue},
                 {"recon", c->recon}};
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  for (gsize i = 0; i < G_N_ELEMENTS(tensors); i++) {
    if (tensors[i].data &&
        !agf_safetensors_writer_add(w, tensors[i].name, AGF_ST_F32, 4, shape,
                                    tensors[i].data, error))
      return FALSE;
  }
  char t0[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_dtostr(t0, sizeof t0, c->t0);
  g_autofree char *steps = g_strdup_printf("%d", c->steps);
  g_autofree char *seed = g_strdup_printf("%" G_GUINT64_FORMAT, c->seed);
  agf_safetensors_writer_set_meta(w, "format", "agfas-cue-1");
  agf_safetensors_writer_set_meta(w, "sampler", c->sampler ? c->sampler : "");
  agf_safetensors_writer_set_meta(w, "t0", t0);
  agf_safetensors_writer_set_meta(w, "steps", steps);
  agf_safetensors_writer_set_meta(w, "seed", seed);
  agf_safetensors_writer_set_meta(w, "source", c->source ? c->source : "");
  return agf_safetensors_writer_write(w, path, error);
}

/* ---- score tables ---- */

static void csv_field(GString *s, const char *v)
{
  if (!v)
    return;
  if (!strpbrk(v, ",\"\r\n")) {
    g_string_append(s, v);
    return;
  }
  g_string_append_c(s, '"');
  for (const char *c = v; *c; c++) {
    if (*c == '"')
      g_string_append_c(s, '"');
    g_string_append_c(s, *c);
  }
  g_string_append_c(s, '"');
}

/* Lower case in tables, as `agfas-train score` writes it. */
static const char *table_verdict(double score, double threshold)
{
  return score >= threshold ? "spoof" : "live";
}

gboolean agfas_export_scores_csv(const AgfasExportRow *rows, gsize n_rows,
                                 double threshold, const char *path,
                                 GError **error)
{
  g_autoptr(GString) s = g_string_new(
    "path,frame,x1,y1,x2,y2,score,verdict,label,note\r\n");
  for (gsize i = 0; i < n_rows; i++) {
    const AgfasExportRow *r = &rows[i];
    csv_field(s, r->path);
    g_string_append_c(s, ',');
    if (r->frame >= 0)
      g_string_append_printf(s, "%d", r->frame);
    g_string_append_c(s, ',');
    for (int k = 0; k < 4; k++) {
      char num[G_ASCII_DTOSTR_BUF_SIZE];
      if (r->has_box)
        g_string_append(s, g_ascii_formatd(num, sizeof num, "%.1f",
                                           r->box[k]));
      g_string_append_c(s, ',');
    }
    if (r->has_score) {
      char num[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append(s, g_ascii_formatd(num, sizeof num, "%.6f", r->score));
      g_string_append_c(s, ',');
      g_string_append(s, table_verdict(r->score, threshold));
    } else {
      g_string_append_c(s, ',');
    }
    g_string_append_c(s, ',');
    csv_field(s, r->label);
    g_string_append_c(s, ',');
    csv_field(s, r->note);
    g_string_append(s, "\r\n");
  }
  return agf_atomic_write(path, "score table", s->str, s->len, error);
}

gboolean agfas_export_scores_json(const AgfasExportRow *rows, gsize n_rows,
                                  double threshold, const char *path,
                                  GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "threshold");
  json_builder_add_double_value(b, threshold);
  json_builder_set_member_name(b, "results");
  json_builder_begin_array(b);
  for (gsize i = 0; i < n_rows; i++) {
    const AgfasExportRow *r = &rows[i];
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "path");
    json_builder_add_string_value(b, r->path ? r->path : "");
    json_builder_set_member_name(b, "frame");
    if (r->frame >= 0)
      json_builder_add_int_value(b, r->frame);
    else
      json_builder_add_null_value(b);
    json_builder_set_member_name(b, "box");
    if (r->has_box) {
      json_builder_begin_array(b);
      for (int k = 0; k < 4; k++)
        json_builder_add_double_value(b, r->box[k]);
      json_builder_end_array(b);
    } else {
      json_builder_add_null_value(b);
    }
    json_builder_set_member_name(b, "score");
    if (r->has_score)
      json_builder_add_double_value(b, r->score);
    else
      json_builder_add_null_value(b);
    json_builder_set_member_name(b, "verdict");
    if (r->has_score)
      json_builder_add_string_value(b, table_verdict(r->score, threshold));
    else
      json_builder_add_null_value(b);
    json_builder_set_member_name(b, "label");
    if (r->label)
      json_builder_add_string_value(b, r->label);
    else
      json_builder_add_null_value(b);
    json_builder_set_member_name(b, "note");
    if (r->note)
      json_builder_add_string_value(b, r->note);
    else
      json_builder_add_null_value(b);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autoptr(JsonGenerator) gen = json_generator_new();
  json_generator_set_pretty(gen, TRUE);
  json_generator_set_root(gen, root);
  gsize len = 0;
  g_autofree char *text = json_generator_to_data(gen, &len);
  return agf_atomic_write(path, "score table", text, len, error);
}
