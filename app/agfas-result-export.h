/* The window's export step, apart from agfas-window.c because the export
 * unit's panel enum shares its names with the window's (AGFAS_PANEL_*). */
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
