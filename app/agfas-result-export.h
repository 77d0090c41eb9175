/* The window's export step: an analysis result through agfas-export.h's
 * composer and writers, kept apart from the window's widgets. */
#pragma once
#include "agfas-analysis.h"

G_BEGIN_DECLS

/* Writes the composed four-panel PNG of r at path (verdict against
 * threshold, source shown in the header), and next to it
 * STEM-<panel>.png for each present panel and STEM-cues.safetensors when
 * r has cue tensors; STEM is path's base name without ".png". */
gboolean agfas_result_export(const AgfasAnalysisResult *r, const char *source,
                             double threshold, const char *path,
                             GError **error);

G_END_DECLS
