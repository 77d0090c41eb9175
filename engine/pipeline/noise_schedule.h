/* The DDPM noise schedule (betas, alphas_cumprod over T training steps) as
 * diffusers computes it, and its configuration, which is a property of a
 * U-Net checkpoint: read from the file's safetensors metadata, SD-1.5's
 * values when a key is absent.
 *
 * Metadata keys (all optional, string values):
 *   agfas.schedule.num_train_timesteps  integer T >= 1             "1000"
 *   agfas.schedule.beta_schedule        "linear" | "scaled_linear" "scaled_linear"
 *   agfas.schedule.beta_start           number in (0, 1)           "0.00085"
 *   agfas.schedule.beta_end             number in (0, 1)           "0.012"
 *   agfas.schedule.timestep_spacing     "leading" | "trailing" | "linspace"
 *                                                                  "leading"
 *   agfas.schedule.steps_offset         integer >= 0               "1"
 *   agfas.schedule.set_alpha_to_one     "true" | "false"           "false"
 *   agfas.schedule.prediction_type      "epsilon" (the only one supported)
 * Any other key starting with "agfas.schedule." is an error (a typo would
 * otherwise silently give SD-1.5 values). */
#pragma once
#include <glib.h>
#include "nn/error.h"

G_BEGIN_DECLS

#define AGF_SCHEDULE_META_PREFIX "agfas.schedule."

typedef enum {
  AGF_BETA_LINEAR,        /* linspace(beta_start, beta_end, T) */
  AGF_BETA_SCALED_LINEAR, /* linspace(sqrt(beta_start), sqrt(beta_end), T)^2 */
} AgfBetaSchedule;

typedef enum {
  AGF_SPACING_LEADING,  /* (0..S-1) * (T / S) + steps_offset */
  AGF_SPACING_TRAILING, /* round(T, T - T/S, ...) - 1 */
  AGF_SPACING_LINSPACE, /* round(linspace(0, T - 1, S)) */
} AgfTimestepSpacing;

typedef struct {
  int num_train_timesteps;
  AgfBetaSchedule beta_schedule;
  double beta_start;
  double beta_end;
  AgfTimestepSpacing timestep_spacing;
  int steps_offset;
  gboolean set_alpha_to_one;
} AgfScheduleConfig;

/* Stable Diffusion 1.5's scheduler_config.json. */
void agf_schedule_config_init_sd15(AgfScheduleConfig *c);
/* SD-1.5 defaults overridden by the keys present in meta (a string ->
 * string map such as agf_safetensors_metadata(); NULL = none), then
 * validated. */
gboolean agf_schedule_config_from_metadata(AgfScheduleConfig *c,
                                           GHashTable *meta, GError **error);
/* Every key of c as a new string -> string table (g_free'd entries), for a
 * checkpoint writer. */
GHashTable *agf_schedule_config_to_metadata(const AgfScheduleConfig *c);
gboolean agf_schedule_config_validate(const AgfScheduleConfig *c,
                                      GError **error);

const char *agf_timestep_spacing_name(AgfTimestepSpacing s);
gboolean agf_timestep_spacing_from_string(const char *name,
                                          AgfTimestepSpacing *out,
                                          GError **error);
const char *agf_beta_schedule_name(AgfBetaSchedule s);

typedef struct {
  AgfScheduleConfig config;
  int T;
  float *betas;           /* [T], float32 like diffusers */
  float *alphas_cumprod;  /* [T], float32 (cumprod accumulated in double) */
  float final_alpha_cumprod; /* "alpha" before step 0: 1 or alphas_cumprod[0] */
} AgfNoiseSchedule;

AgfNoiseSchedule *agf_noise_schedule_new(const AgfScheduleConfig *c,
                                         GError **error);
AgfNoiseSchedule *agf_noise_schedule_copy(const AgfNoiseSchedule *s);
void agf_noise_schedule_free(AgfNoiseSchedule *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfNoiseSchedule, agf_noise_schedule_free)

/* alphas_cumprod[t] for 0 <= t < T, final_alpha_cumprod for t < 0 (the
 * target of the last denoising step). t must be < T. */
double agf_noise_schedule_alpha_cumprod(const AgfNoiseSchedule *s, int t);

G_END_DECLS
