/* See agfas-result-export.h. */
#include "agfas-result-export.h"

#include <string.h>

#include "agfas-export.h"

gboolean agfas_result_export(const AgfasAnalysisResult *r, const char *source,
                             double threshold, const char *path,
                             GError **error)
{
  g_return_val_if_fail(r && path, FALSE);
  AgfasExportPanels p;
  AgfImage views[AGFAS_N_PANELS];
  agfas_export_panels_from_result(&p, r, views, source);
  p.threshold = threshold;
  if (!agfas_export_composite_png(&p, path, error))
    return FALSE;
  g_autofree char *dir = g_path_get_dirname(path);
  g_autofree char *base = g_path_get_basename(path);
  gsize n = strlen(base);
  if (n > 4 && g_ascii_strcasecmp(base + n - 4, ".png") == 0)
    base[n - 4] = '\0';
  if (!agfas_export_panel_pngs(&p, dir, base, error))
    return FALSE;
  if (r->residual_f32 || r->cue_f32 || r->recon_f32) {
    AgfasExportCue c = {
      .channels = r->cue_channels, .height = r->cue_height,
      .width = r->cue_width, .residual = r->residual_f32, .cue = r->cue_f32,
      .recon = r->recon_f32, .sampler = r->params.sampler,
      .t0 = r->params.strength, .steps = r->params.steps,
      .seed = r->params.seed, .source = source,
    };
    g_autofree char *name = g_strconcat(base, "-cues.safetensors", NULL);
    g_autofree char *cues = g_build_filename(dir, name, NULL);
    if (!agfas_export_cue_tensors(&c, cues, error))
      return FALSE;
  }
  return TRUE;
}
