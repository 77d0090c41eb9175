/* Export of analysis results, without GTK widgets (cairo + GLib only) so it
 * runs on a worker thread and is tested headless:
 *   - the four panels composed into one PNG (titles, face box and
 *     landmarks on the input, score and verdict in a header line);
 *   - each panel as its own PNG;
 *   - the cue tensors (signed residual, standardized cue, reconstruction)
 *     as a safetensors file with the run's settings as metadata;
 *   - a CSV and a JSON of scores and labels for a list of results.
 * Every file is replaced atomically (engine/io/atomic_file.h): a reader
 * sees the old file or the complete new one, and a failed write leaves no
 * temporary file behind. */
#pragma once
#include <glib.h>

#include "agfas-analysis.h"
#include "io/image.h"

G_BEGIN_DECLS

typedef enum {
  AGFAS_PANEL_INPUT,
  AGFAS_PANEL_RECON,
  AGFAS_PANEL_HEAT,
  AGFAS_PANEL_CUE,
  AGFAS_N_PANELS
} AgfasPanelKind;

/* "Input", "Reconstruction", "Residual heatmap", "Masked cue". */
const char *agfas_panel_title(AgfasPanelKind kind);
/* File-name part: "input", "recon", "heat", "cue". */
const char *agfas_panel_slug(AgfasPanelKind kind);

/* What the composed PNG shows. Panels are borrowed RGB/RGBA images; a NULL
 * panel is drawn as a grey box carrying notes[kind] (why it is missing). */
typedef struct {
  const AgfImage *panels[AGFAS_N_PANELS];
  const char *notes[AGFAS_N_PANELS];
  gboolean has_box;          /* draw box/landmarks on the input panel */
  gboolean face_detected;    /* FALSE: box is a stand-in (drawn dashed) */
  float box[4];              /* x1, y1, x2, y2 in input pixels */
  gboolean has_landmarks;
  float landmarks[AGF_FACE_N_LANDMARKS][2];
  gboolean has_score;
  double score;              /* spoof probability */
  double threshold;          /* verdict: spoof when score >= threshold */
  const char *score_note;    /* why there is no score; may be NULL */
  const char *source;        /* shown in the header; may be NULL */
} AgfasExportPanels;

/* Zeroes p and sets threshold 0.5. */
void agfas_export_panels_init(AgfasExportPanels *p);
/* Fills p from r, with views[] (caller storage, alive as long as p is used)
 * pointing into r's pixel buffers; missing panels take r's notes. */
void agfas_export_panels_from_result(AgfasExportPanels *p,
                                     const AgfasAnalysisResult *r,
                                     AgfImage views[AGFAS_N_PANELS],
                                     const char *source);

/* "SPOOF" or "LIVE" for a score against threshold. */
const char *agfas_export_verdict(double score, double threshold);

/* The composed picture as a new RGBA image (panel height cell_height
 * pixels, 0 for the default 320). */
AgfImage *agfas_export_compose(const AgfasExportPanels *p, int cell_height,
                               GError **error);
/* agfas_export_compose + atomic PNG write. */
gboolean agfas_export_composite_png(const AgfasExportPanels *p,
                                    const char *path, GError **error);
/* Writes DIR/STEM-<slug>.png for every present panel (creating dir), at
 * the panel's own resolution. Fails when no panel is present. */
gboolean agfas_export_panel_pngs(const AgfasExportPanels *p, const char *dir,
                                 const char *stem, GError **error);

/* Float NCHW tensors [1, channels, height, width] of one run; any may be
 * NULL (not written), at least one must be present. */
typedef struct {
  int channels, height, width;
  const float *residual;   /* image - reconstruction, signed */
  const float *cue;        /* standardized residual */
  const float *recon;      /* reconstruction, [-1, 1] */
  /* metadata */
  const char *sampler;
  double t0;               /* strength: t0 as a fraction of T */
  int steps;
  guint64 seed;
  const char *source;      /* input path; may be NULL */
} AgfasExportCue;

/* Tensor names "residual", "cue", "recon"; metadata keys "sampler", "t0",
 * "steps", "seed", "source", "format" ("agfas-cue-1"). */
gboolean agfas_export_cue_tensors(const AgfasExportCue *c, const char *path,
                                  GError **error);

/* One row of a score table. frame is -1 for a still image. label may be
 * NULL (unlabeled); without a score the score and verdict cells are empty
 * (null in JSON); without a box its cells are empty (null). note says why
 * a row has no face or no score (NULL: nothing to say). The columns are
 * those of `agfas-train score`, plus label. */
typedef struct {
  const char *path;
  int frame;
  gboolean has_score;
  double score;
  const char *label;
  gboolean has_box;
  float box[4];            /* face box x1, y1, x2, y2 in frame pixels */
  const char *note;
} AgfasExportRow;

/* CSV (RFC 4180, header "path,frame,x1,y1,x2,y2,score,verdict,label,note"). */
gboolean agfas_export_scores_csv(const AgfasExportRow *rows, gsize n_rows,
                                 double threshold, const char *path,
                                 GError **error);
/* JSON: {"threshold": T, "results": [{"path", "frame", "box" ([x1, y1,
 * x2, y2] or null), "score", "verdict", "label", "note"}, ...]}. */
gboolean agfas_export_scores_json(const AgfasExportRow *rows, gsize n_rows,
                                  double threshold, const char *path,
                                  GError **error);

G_END_DECLS
