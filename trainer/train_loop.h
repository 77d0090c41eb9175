/* What every agfas-train training subcommand (vae, dfg, oanet, ...) shares:
 * the common options, the run directory, logging, progress, checkpoints,
 * --resume, SIGINT/SIGTERM handling and the export of the trained weights.
 * Nothing here is global except the signal flag (signals are per process),
 * so several runs (data-parallel replicas) can live side by side.
 *
 * How a subcommand uses it (train_vae.c is a complete example):
 *
 *   AgfTrainOptions o;
 *   agf_train_options_init(&o, 1000, 8, 1e-4);         // its own defaults
 *   GOptionContext *ctx = agf_cli_context(cmd, own_entries, &o.common, TRUE,
 *                                         "...");
 *   agf_train_options_add(ctx, &o);                      // --steps ... --out
 *   agf_cli_parse(...); agf_train_options_check(&o, &error);
 *   dev = agf_cli_open_device(&o.common, dt, &error);
 *   JsonBuilder *b = agf_train_config_begin("vae", &o);   // + own members
 *   char *config_json = agf_train_config_end(b);
 *   AgfTrainRun *run = agf_train_run_new(&o, "vae", config_json, &error);
 *   // the network (train_loop_model.h): weights, trained set, optimizer, EMA
 *   AgfWeights *w = agf_train_weights_open(init, preset, kind, seed,
 *                                          agf_train_run_dir(run), ...);
 *   AgfParamSet *all = agf_weights_param_set(w, &error);
 *   AgfTrainUpdate u;
 *   agf_train_update_init(&u, dev, all, &optim_cfg, ema_decay, clip, &error);
 *   AgfTrainState st = { .model = all, .opt = u.opt, .ema = u.ema,
 *                        .meta = agf_train_weights_meta(w),
 *                        .export_name = "autoencoder_kl.safetensors",
 *                        .scaler = u.scaling ? &u.scaler : NULL };
 *   agf_train_run_set_state(run, &st);
 *   agf_train_run_resume(run, &error);         // no-op without --resume
 *   while (agf_train_run_next(run)) {
 *     gint64 step = agf_train_run_step(run);   // 0-based, this step
 *     guint64 seed = agf_train_run_seed(run);  // (seed, step): all randomness
 *     x = agf_train_data_batch(data, seed, step, o.batch, size, dev, dt, ..);
 *     agf_train_update_begin(&u, &error);      // the tape records from here
 *     ... forward, loss ...
 *     agf_train_update_step(&u, loss, lr, &error);  // backward, step, EMA
 *     AgfTrainTerm t[] = { { "loss", v }, { "l1", a } };
 *     if (!agf_train_run_step_done(run, t, 2, lr, o.batch, &error)) fail;
 *   }
 *   return agf_train_run_finish(run);          // exit code: 0, 1 or 130
 *
 * The run directory (--out DIR):
 *   DIR/config.json              the subcommand's configuration (written once;
 *                                a resumed run keeps the first one)
 *   DIR/log.jsonl                one object per logged step: {"step": N
 *                                (steps done), "<term>": value..., "lr",
 *                                "samples_per_s", "elapsed_s"}
 *   DIR/checkpoint.safetensors   every --save-every steps, at the end and on
 *                                SIGINT/SIGTERM (written atomically)
 *   DIR/<export_name>            the final weights as an ordinary weights
 *                                file (EMA weights when there is an EMA,
 *                                --export-dtype f16 for shipping)
 *
 * Tests: $AGFAS_TRAIN_SIGNAL_AT_STEP=N makes a run send itself SIGINT
 * right after step N, to interrupt it at an exact step.
 *
 * Determinism: the data sampler and every noise are pure functions of
 * (seed, step), and the checkpoint holds parameters, optimizer and EMA
 * state, the step and the seed, so --resume continues bit-identically to an
 * uninterrupted run on the same device. */
#pragma once
#include <glib.h>
#include <json-glib/json-glib.h>
#include "train_cli.h"
#include "nn/optim.h"
#include "train_loop_model.h"
#include "train_signal.h"

G_BEGIN_DECLS

/* Exit status of a run stopped by SIGINT/SIGTERM (after its checkpoint). */
#define AGF_EXIT_INTERRUPTED 130

typedef struct {
  gint64 steps;        /* --steps: optimizer steps of the whole run */
  gint batch;          /* --batch */
  gdouble lr;          /* --lr: base learning rate */
  gint64 seed;         /* --seed */
  gchar *resume;       /* --resume: a checkpoint file or a run DIR */
  gchar *out;          /* --out DIR (required) */
  gint64 save_every;   /* --save-every N (0: only at the end / signal) */
  gint64 log_every;    /* --log-every N */
  gchar *export_dtype; /* --export-dtype f32|f16 (NULL: f32) */
  AgfCliCommon common; /* --device, --dtype (agf_cli_context adds them) */
  gchar *help_[3];     /* private: --help lines showing the defaults */
} AgfTrainOptions;

/* Defaults: the given steps, batch and lr; seed 0, save every 500, log
 * every 10. */
void agf_train_options_init(AgfTrainOptions *o, gint64 steps, int batch,
                            double lr);
/* Adds the common training options to ctx (call after agf_cli_context). */
void agf_train_options_add(GOptionContext *ctx, AgfTrainOptions *o);
/* After parsing: ranges and the required --out; errors say what to pass. */
gboolean agf_train_options_check(const AgfTrainOptions *o, GError **error);
/* --dtype (default f32) and --export-dtype (default f32) as dtypes. */
gboolean agf_train_options_dtypes(const AgfTrainOptions *o, AgfDType *compute,
                                  AgfDType *export_dt, GError **error);
void agf_train_options_clear(AgfTrainOptions *o);

/* The AdamW options of dfg and vae: --weight-decay, --lr-schedule,
 * --warmup, --clip, --ema-decay. */
typedef struct {
  gchar *schedule;     /* --lr-schedule constant|cosine (NULL: constant) */
  gint64 warmup;       /* --warmup: linear warm-up steps */
  gdouble weight_decay, clip, ema_decay;
  gchar *help_;        /* private: the --weight-decay line */
} AgfTrainAdamwOptions;

/* Defaults: the given weight and EMA decays, no warm-up, clip 1. */
void agf_train_adamw_init(AgfTrainAdamwOptions *w, double weight_decay,
                          double ema_decay);
/* Its config.json keys, from lr_schedule to clip. */
void agf_train_adamw_config(JsonBuilder *b, const AgfTrainAdamwOptions *w);
void agf_train_adamw_clear(AgfTrainAdamwOptions *w);

/* The option context of a training subcommand: its entries, then (w not
 * NULL) the AdamW options with ema_help for --ema-decay, then the common
 * ones; --dtype is the parameter dtype. */
GOptionContext *agf_train_context(const AgfTrainCommand *cmd,
                                  const GOptionEntry *entries,
                                  AgfTrainOptions *o, AgfTrainAdamwOptions *w,
                                  const char *ema_help,
                                  const char *description);
/* agf_train_options_check after parsing (and w's defaults); FALSE with *rc
 * the usage error's exit status. */
gboolean agf_train_options_usage(const AgfTrainCommand *cmd,
                                 const AgfTrainOptions *o,
                                 AgfTrainAdamwOptions *w, int *rc);

/* DIR/config.json: a JSON object with "command", the common options
 * (steps, batch, lr, seed, dtype, export_dtype) and what the subcommand
 * adds with the setters; _end returns its text and frees b. NULL strings
 * are written as "". */
JsonBuilder *agf_train_config_begin(const char *cmd, const AgfTrainOptions *o);
void agf_train_config_str(JsonBuilder *b, const char *key, const char *value);
void agf_train_config_int(JsonBuilder *b, const char *key, gint64 value);
void agf_train_config_double(JsonBuilder *b, const char *key, double value);
char *agf_train_config_end(JsonBuilder *b);

/* One scalar of the log (loss terms): name and value. */
typedef struct {
  const char *name;
  double value;
} AgfTrainTerm;

/* What the run saves and exports (borrowed; must outlive the run). */
typedef struct {
  AgfParamSet *model;      /* every tensor of the network (buffers too) */
  AgfOptimizer *opt;       /* NULL: nothing to resume but the weights */
  AgfEma *ema;             /* NULL: export the model's own tensors */
  GHashTable *meta;        /* the network's metadata (configuration keys,
                              agfas.schedule.*), copied into checkpoint and
                              export; may be NULL */
  const char *export_name; /* file name in DIR: "unet.safetensors" */
  AgfParamSet *export_model; /* the exported tensors when only part of model
                                (oanet: not its discriminator); NULL: model */
  AgfLossScaler *scaler;   /* f16 loss scaling, or NULL: its state is saved
                              and restored with the checkpoint */
} AgfTrainState;

typedef struct AgfTrainRun AgfTrainRun;

/* Creates DIR, writes DIR/config.json (config_json: the subcommand's JSON
 * object text; kept when DIR already has one from the run being resumed),
 * opens DIR/log.jsonl and installs the SIGINT/SIGTERM handler. cmd names
 * the run in progress lines ("dfg"). */
AgfTrainRun *agf_train_run_new(const AgfTrainOptions *o, const char *cmd,
                               const char *config_json, GError **error);
void agf_train_run_free(AgfTrainRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfTrainRun, agf_train_run_free)

void agf_train_run_set_state(AgfTrainRun *run, const AgfTrainState *state);
/* With --resume: loads the checkpoint into the state's model, optimizer
 * and EMA and continues at its step with its seed. Without: nothing. */
gboolean agf_train_run_resume(AgfTrainRun *run, GError **error);

/* TRUE while steps remain and no signal arrived. */
gboolean agf_train_run_next(AgfTrainRun *run);
/* The step about to run (0-based) = steps done so far. */
gint64 agf_train_run_step(const AgfTrainRun *run);
/* The run's seed (the checkpoint's after a resume). */
guint64 agf_train_run_seed(const AgfTrainRun *run);
const char *agf_train_run_dir(const AgfTrainRun *run);

/* Ends a step: counts it, logs the terms (every --log-every steps and the
 * last), redraws the progress and saves the checkpoint when due. Fails on a
 * non-finite loss term (saying so) or a write error. */
gboolean agf_train_run_step_done(AgfTrainRun *run, const AgfTrainTerm *terms,
                                 int n_terms, double lr, int batch,
                                 GError **error);
/* Saves DIR/checkpoint.safetensors now. */
gboolean agf_train_run_save(AgfTrainRun *run, GError **error);
/* After the loop: interrupted -> saves the checkpoint, returns
 * AGF_EXIT_INTERRUPTED; finished -> saves the checkpoint, exports the
 * weights, prints where they are, returns AGF_EXIT_OK; on an error prints
 * it and returns AGF_EXIT_FAILURE. Frees nothing. */
int agf_train_run_finish(AgfTrainRun *run);

/* Writes the export alone: for each tensor of the model its EMA shadow when
 * there is one, else the tensor, as dt, with the state's metadata. */
gboolean agf_train_export(const AgfTrainState *state, const char *path,
                          AgfDType dt, GError **error);

/* ---- the AdamW run of dfg and vae (train_loop_options.c) ---- */

/* AdamW over all with w's weight decay, EMA and clip into u, st's
 * optimizer fields filled from it, st made the run's state and the run
 * resumed when asked. On failure u is still to be cleared. */
gboolean agf_train_adamw_begin(AgfTrainRun *run, AgfTrainUpdate *u,
                               AgfDevice *dev, AgfParamSet *all,
                               const AgfTrainAdamwOptions *w,
                               AgfTrainState *st, GError **error);
/* The end of a step: the update at the step's learning rate (w's
 * schedule), then the step's log line of terms. */
gboolean agf_train_adamw_step(AgfTrainRun *run, AgfTrainUpdate *u,
                              const AgfTrainOptions *o,
                              const AgfTrainAdamwOptions *w, AgfTensor *loss,
                              const AgfTrainTerm *terms, int n_terms,
                              GError **error);

G_END_DECLS
