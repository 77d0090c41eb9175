/* The DFG reconstruction options of agfas-train score and cues (they make
 * the same cue the app makes): --strength, --steps, --sampler, --seed,
 * --no-mask. */
#pragma once
#include "train_cli.h"
#include "pipeline/dfg.h"

G_BEGIN_DECLS

typedef struct {
  double strength;  /* < 0: the app's */
  int steps;        /* < 1: the app's */
  char *sampler;    /* NULL: the app's */
  gint64 seed;
  gboolean no_mask;
} AgfReconOptions;

#define AGF_RECON_OPTIONS_INIT { .strength = -1, .steps = -1 }

/* agf_cli_context with r's options after entries (before --dtype and
 * --device), description set. */
GOptionContext *agf_recon_context(const AgfTrainCommand *cmd,
                                  const GOptionEntry *entries,
                                  AgfReconOptions *r, AgfCliCommon *common,
                                  const char *description);
/* What is wrong with them, or NULL. */
const char *agf_recon_options_check(const AgfReconOptions *r);
/* The given ones over p's defaults; p->sampler borrows r's. */
void agf_recon_options_apply(const AgfReconOptions *r, AgfDfgParams *p);
void agf_recon_options_clear(AgfReconOptions *r);

G_END_DECLS
