/* ROC curve and score histograms for agfas-train eval, drawn with cairo
 * once per surface type: PNG (image surface) and SVG (vector). Both are
 * encoded in memory and written with agf_atomic_write, so a report folder
 * never holds a torn picture. */
#include <math.h>
#include <string.h>
#include <stdio.h>
#include <cairo.h>
#include <cairo-svg.h>
#include "train_eval.h"
#include "io/atomic_file.h"
#include "nn/error.h"

#define W 640.0
#define H 480.0
#define ML 64.0 /* margins: room for the axis labels */
#define MR 24.0
#define MT 40.0
#define MB 56.0

typedef void (*DrawFn)(cairo_t *cr, gconstpointer data);

static cairo_status_t to_bytes(void *closure, const unsigned char *data,
                               unsigned int len)
{
  g_byte_array_append(closure, data, len);
  return CAIRO_STATUS_SUCCESS;
}

static gboolean save(const char *dir, const char *stem, DrawFn draw,
                     gconstpointer data, GError **error)
{
  for (int svg = 0; svg < 2; svg++) {
    g_autoptr(GByteArray) bytes = g_byte_array_new();
    cairo_surface_t *s = svg
      ? cairo_svg_surface_create_for_stream(to_bytes, bytes, W, H)
      : cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)W, (int)H);
    cairo_t *cr = cairo_create(s);
    draw(cr, data);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    if (st == CAIRO_STATUS_SUCCESS && !svg)
      st = cairo_surface_write_to_png_stream(s, to_bytes, bytes);
    cairo_surface_finish(s); /* flushes the SVG into bytes */
    if (st == CAIRO_STATUS_SUCCESS)
      st = cairo_surface_status(s);
    cairo_surface_destroy(s);
    g_autofree char *name = g_strdup_printf("%s.%s", stem, svg ? "svg"
                                                                : "png");
    g_autofree char *path = g_build_filename(dir, name, NULL);
    if (st != CAIRO_STATUS_SUCCESS) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
                  "drawing %s failed: %s", path, cairo_status_to_string(st));
      return FALSE;
    }
    if (!agf_atomic_write(path, "plot", bytes->data, bytes->len, error))
      return FALSE;
  }
  return TRUE;
}

/* ---- shared frame: background, title, axes with ticks ---- */

typedef struct {
  double x0, x1, y0, y1; /* data ranges */
} Axes;

static double px(const Axes *a, double x)
{
  return ML + (x - a->x0) / (a->x1 - a->x0) * (W - ML - MR);
}

static double py(const Axes *a, double y)
{
  return H - MB - (y - a->y0) / (a->y1 - a->y0) * (H - MT - MB);
}

static void text(cairo_t *cr, double x, double y, double align,
                 const char *s)
{
  cairo_text_extents_t e;
  cairo_text_extents(cr, s, &e);
  cairo_move_to(cr, x - align * e.width - e.x_bearing, y);
  cairo_show_text(cr, s);
}

static void frame(cairo_t *cr, const Axes *a, const char *title,
                  const char *xlabel, const char *ylabel, int yticks_int)
{
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                         CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_font_size(cr, 15);
  text(cr, W / 2, MT - 16, 0.5, title);
  cairo_set_font_size(cr, 12);
  text(cr, (ML + W - MR) / 2, H - 12, 0.5, xlabel);
  cairo_save(cr);
  cairo_translate(cr, 16, (MT + H - MB) / 2);
  cairo_rotate(cr, -G_PI / 2);
  text(cr, 0, 0, 0.5, ylabel);
  cairo_restore(cr);
  cairo_set_font_size(cr, 10);
  cairo_set_line_width(cr, 1);
  for (int i = 0; i <= 5; i++) {
    char buf[32];
    double x = a->x0 + (a->x1 - a->x0) * i / 5;
    double y = a->y0 + (a->y1 - a->y0) * i / 5;
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, px(a, x), MT);
    cairo_line_to(cr, px(a, x), H - MB);
    cairo_move_to(cr, ML, py(a, y));
    cairo_line_to(cr, W - MR, py(a, y));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    snprintf(buf, sizeof buf, "%.3g", x);
    text(cr, px(a, x), H - MB + 14, 0.5, buf);
    if (yticks_int)
      snprintf(buf, sizeof buf, "%.0f", y);
    else
      snprintf(buf, sizeof buf, "%.3g", y);
    text(cr, ML - 6, py(a, y) + 4, 1.0, buf);
  }
  cairo_rectangle(cr, ML, MT, W - ML - MR, H - MT - MB);
  cairo_stroke(cr);
}

/* ---- ROC ---- */

typedef struct {
  const double *fpr, *tpr;
  gsize n;
  double eer, auc;
  const char *title;
} RocPlot;

static void draw_roc(cairo_t *cr, gconstpointer data)
{
  const RocPlot *p = data;
  const Axes a = { 0, 1, 0, 1 };
  frame(cr, &a, p->title, "false positive rate (BPCER: live flagged)",
        "true positive rate (attacks caught)", 0);
  double dash[] = { 4, 4 };
  cairo_set_dash(cr, dash, 2, 0);
  cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
  cairo_move_to(cr, px(&a, 0), py(&a, 0));
  cairo_line_to(cr, px(&a, 1), py(&a, 1));
  cairo_move_to(cr, px(&a, 0), py(&a, 1));
  cairo_line_to(cr, px(&a, 1), py(&a, 0)); /* the EER line FPR = 1 - TPR */
  cairo_stroke(cr);
  cairo_set_dash(cr, NULL, 0, 0);
  cairo_set_source_rgb(cr, 0.1, 0.3, 0.8);
  cairo_set_line_width(cr, 2);
  for (gsize i = 0; i < p->n; i++)
    (i ? cairo_line_to : cairo_move_to)(cr, px(&a, p->fpr[i]),
                                        py(&a, p->tpr[i]));
  cairo_stroke(cr);
  cairo_set_source_rgb(cr, 0.85, 0.1, 0.1);
  cairo_arc(cr, px(&a, p->eer), py(&a, 1 - p->eer), 4, 0, 2 * G_PI);
  cairo_fill(cr);
  char buf[96];
  snprintf(buf, sizeof buf, "AUC %.4f   EER %.2f %%", p->auc,
           100 * p->eer);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_font_size(cr, 13);
  text(cr, W - MR - 10, H - MB - 12, 1.0, buf);
}

gboolean agf_eval_plot_roc(const char *dir, const double *fpr,
                           const double *tpr, gsize n, double eer,
                           double auc, const char *title, GError **error)
{
  const RocPlot p = { fpr, tpr, n, eer, auc, title };
  return save(dir, "roc", draw_roc, &p, error);
}

/* ---- histograms ---- */

#define N_BINS 40

typedef struct {
  const double *scores;
  const int *labels;
  gsize n;
  const AgfEvalMark *marks;
  gsize n_marks;
  const char *title, *column;
} HistPlot;

static void draw_hist(cairo_t *cr, gconstpointer data)
{
  const HistPlot *p = data;
  /* Spoof probabilities (the score column) live in [0, 1], widened when
   * they do not; another column spans its own range. */
  const gboolean prob = !strcmp(p->column, "score");
  double lo = prob ? 0 : INFINITY, hi = prob ? 1 : -INFINITY;
  for (gsize i = 0; i < p->n; i++) {
    lo = MIN(lo, p->scores[i]);
    hi = MAX(hi, p->scores[i]);
  }
  for (gsize k = 0; k < p->n_marks; k++)
    if (isfinite(p->marks[k].value)) {
      lo = MIN(lo, p->marks[k].value);
      hi = MAX(hi, p->marks[k].value);
    }
  if (!(hi > lo))
    hi = lo + 1;
  guint count[2][N_BINS] = { { 0 } };
  guint peak = 1;
  for (gsize i = 0; i < p->n; i++) {
    int b = (int)((p->scores[i] - lo) / (hi - lo) * N_BINS);
    b = CLAMP(b, 0, N_BINS - 1);
    int c = p->labels[i] ? 1 : 0;
    count[c][b]++;
    peak = MAX(peak, count[c][b]);
  }
  const Axes a = { lo, hi, 0, ceil(peak * 1.1) };
  frame(cr, &a, p->title, prob ? "score (spoof probability)" : p->column,
        "samples", 1);
  const double rgb[2][3] = { { 0.1, 0.6, 0.2 }, { 0.85, 0.15, 0.15 } };
  for (int c = 0; c < 2; c++) {
    for (int b = 0; b < N_BINS; b++) {
      if (!count[c][b])
        continue;
      double x0 = px(&a, lo + (hi - lo) * b / N_BINS);
      double x1 = px(&a, lo + (hi - lo) * (b + 1) / N_BINS);
      double y = py(&a, count[c][b]);
      cairo_rectangle(cr, x0, y, x1 - x0, H - MB - y);
    }
    cairo_set_source_rgba(cr, rgb[c][0], rgb[c][1], rgb[c][2], 0.45);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, rgb[c][0], rgb[c][1], rgb[c][2]);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
  }
  cairo_set_font_size(cr, 12);
  for (int c = 0; c < 2; c++) {
    double y = MT + 18 + 16 * c;
    cairo_set_source_rgb(cr, rgb[c][0], rgb[c][1], rgb[c][2]);
    cairo_rectangle(cr, W - MR - 110, y - 9, 10, 10);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, W - MR - 94, y, 0, c ? "spoof" : "live");
  }
  double dash[] = { 6, 3 };
  for (gsize k = 0; k < p->n_marks; k++) {
    if (!isfinite(p->marks[k].value))
      continue;
    double x = px(&a, p->marks[k].value);
    cairo_set_source_rgb(cr, k ? 0.5 : 0.1, k ? 0.1 : 0.2, k ? 0.6 : 0.8);
    cairo_set_dash(cr, dash, 2, 0);
    cairo_set_line_width(cr, 1.5);
    cairo_move_to(cr, x, MT);
    cairo_line_to(cr, x, H - MB);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    char buf[96];
    snprintf(buf, sizeof buf, "%s %.3g", p->marks[k].name,
             p->marks[k].value);
    text(cr, x + 4, MT + 14 + 14 * (double)k, 0, buf);
  }
}

gboolean agf_eval_plot_hist(const char *dir, const double *scores,
                            const int *labels, gsize n,
                            const AgfEvalMark *marks, gsize n_marks,
                            const char *title, const char *column,
                            GError **error)
{
  const HistPlot p = { scores, labels, n, marks, n_marks, title, column };
  return save(dir, "hist", draw_hist, &p, error);
}
