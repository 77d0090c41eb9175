/* The interface each sampler (ddim.c, pndm.c) implements, and the helpers
 * they share (scheduler.c). Not installed API. */
#pragma once
#include "pipeline/scheduler.h"

G_BEGIN_DECLS

typedef struct {
  const char *name;
  gsize instance_size;     /* a struct starting with AgfScheduler */
  int order;               /* diffusers' scheduler.order (img2img truncation) */
  /* The untruncated diffusers timestep list for s->num_inference_steps. */
  gboolean (*make_timesteps)(AgfScheduler *s, GArray *out, GError **error);
  AgfTensor *(*step)(AgfScheduler *s, const AgfTensor *model_output, int t,
                     const AgfTensor *sample, const AgfTensor *variance_noise,
                     AgfStepCoeffs *c, GError **error);
  void (*reset)(AgfScheduler *s); /* drops per-run history */
} AgfSchedulerClass;

struct AgfScheduler {
  const AgfSchedulerClass *klass;
  AgfNoiseSchedule *ns;
  int num_inference_steps; /* 0 until set_timesteps */
  GArray *full;            /* int */
  int t_start;             /* index of the first kept timestep in full */
  AgfStepCoeffs last;
};

AgfScheduler *_agf_scheduler_alloc(const AgfSchedulerClass *klass,
                                   const AgfNoiseSchedule *ns);

/* The spacing's timesteps for s->num_inference_steps, descending (DDIM's
 * order; PNDM reverses them), exactly as diffusers' numpy code computes
 * them. Fails when a timestep falls outside [0, T). */
gboolean _agf_spaced_timesteps(const AgfScheduler *s, GArray *out,
                               GError **error);

/* T // num_inference_steps: how far every step moves back. */
int _agf_scheduler_step_ratio(const AgfScheduler *s);

/* Checks that the step can run: set_timesteps was called, 0 <= t < T,
 * and model_output / sample are float tensors of one shape on one device. */
gboolean _agf_scheduler_check_step(const AgfScheduler *s,
                                   const AgfTensor *model_output, int t,
                                   const AgfTensor *sample, GError **error);

/* sum_i w[i] * x[i] on the tensors' device (terms with w = 0 skipped;
 * at least one term must remain). */
AgfTensor *_agf_lincomb(const AgfTensor *const *x, const double *w, int n,
                        GError **error);

G_END_DECLS
