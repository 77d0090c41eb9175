/* The values of the four panels at one face point (aligned-face
 * coordinates, agfas-view.h), for the hover line: the input pixel the
 * alignment maps it to, the reconstruction's pixel, the residual magnitude
 * (the heatmap's value) and the cue's channels there. */
#pragma once
#include "agfas-analysis.h"

G_BEGIN_DECLS

typedef struct {
  double fx, fy;          /* the face point */
  gboolean has_input;     /* inside the frame */
  int input_x, input_y;   /* frame pixel */
  guint8 input_rgb[3];
  gboolean has_face;      /* inside the aligned crop */
  int face_x, face_y;     /* crop pixel */
  gboolean has_recon;
  guint8 recon_rgb[3];
  gboolean has_residual;
  float residual;         /* mean |input - recon| over channels, [0, 2] */
  gboolean has_cue;
  int cue_channels;
  float cue[3];           /* standardized cue (first 3 channels) */
} AgfasHoverValues;

/* Samples r at face point (fx, fy) (nearest pixel). */
void agfas_hover_sample(const AgfasAnalysisResult *r, double fx, double fy,
                        AgfasHoverValues *out);
/* One line: "Input (x, y) RGB r g b · Reconstruction RGB ... · |residual|
 * 0.123 · Cue (a, b, c)"; parts without a value are left out. */
char *agfas_hover_format(const AgfasHoverValues *v);

G_END_DECLS
