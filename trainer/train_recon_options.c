/* The DFG reconstruction options of score and cues (train_recon_options.h). */
#include "train_recon_options.h"
#include <string.h>

GOptionContext *agf_recon_context(const AgfTrainCommand *cmd,
                                  const GOptionEntry *entries,
                                  AgfReconOptions *r, AgfCliCommon *common,
                                  const char *description)
{
  const GOptionEntry recon[] = {
    { "strength", 0, 0, G_OPTION_ARG_DOUBLE, &r->strength,
      "DFG t0 as a fraction of the schedule (default 0.3, the app's)", "F" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &r->steps,
      "DFG num_inference_steps of the full schedule (default 10)", "N" },
    { "sampler", 0, 0, G_OPTION_ARG_STRING, &r->sampler,
      "DFG sampler: ddim (default) or pndm", "NAME" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &r->seed,
      "DFG noise seed (default 0)", "S" },
    { "no-mask", 0, 0, G_OPTION_ARG_NONE, &r->no_mask,
      "Do not mask the background out of the cue (the app masks it)", NULL },
    { NULL }
  };
  /* the command's entries, then these, then --dtype and --device */
  GOptionContext *ctx = agf_cli_context(cmd, entries, NULL, TRUE, NULL);
  g_option_context_add_main_entries(ctx, recon, NULL);
  agf_cli_add_common(ctx, common, TRUE,
                     "Network precision: f32 (default) or f16");
  g_option_context_set_description(ctx, description);
  return ctx;
}

const char *agf_recon_options_check(const AgfReconOptions *r)
{
  if (r->strength > 1)
    return "--strength must be between 0 and 1";
  if (r->sampler && strcmp(r->sampler, "ddim") && strcmp(r->sampler, "pndm"))
    return "--sampler must be ddim or pndm";
  return NULL;
}

void agf_recon_options_apply(const AgfReconOptions *r, AgfDfgParams *p)
{
  if (r->strength >= 0)
    p->strength = r->strength;
  if (r->steps > 0)
    p->steps = r->steps;
  if (r->sampler)
    p->sampler = r->sampler;
  p->seed = (guint64)r->seed;
}

void agf_recon_options_clear(AgfReconOptions *r)
{
  g_clear_pointer(&r->sampler, g_free);
}
