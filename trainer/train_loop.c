/* The training run: run folder, log, progress, checkpoints, resume and
 * export (train_loop.h). */
#include "train_loop.h"
#include <errno.h>
#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "models/checkpoint.h"
#include "train_progress.h"

#define CHECKPOINT_NAME "checkpoint.safetensors"

struct AgfTrainRun {
  AgfTrainOptions o;      /* copied scalars; strings not owned */
  char *cmd, *dir, *ckpt_path, *config_json;
  AgfDType export_dt;
  AgfTrainState state;
  gboolean have_state;
  gint64 step;            /* steps done */
  guint64 seed;
  FILE *log;
  AgfProgress progress;
  gint64 t_start;         /* monotonic us at the first step of this process */
  gint64 t_interval;      /* start of the current log interval */
  gint64 samples_interval;
  double elapsed_before;  /* seconds of the run before a resume */
  double last_loss;
  gboolean saved_at_step; /* the checkpoint holds the current step */
  gint64 signal_at;       /* tests: SIGINT to itself after this step */
};

/* Two configurations are the same run when their JSON values are equal
 * (member order and number spelling do not matter); unparsable means not. */
static gboolean
same_config(const char *a, const char *b)
{
  g_autoptr(JsonNode) na = json_from_string(a, NULL);
  g_autoptr(JsonNode) nb = json_from_string(b, NULL);
  return na && nb && json_node_equal(na, nb);
}

AgfTrainRun *agf_train_run_new(const AgfTrainOptions *o, const char *cmd,
                               const char *config_json, GError **error)
{
  AgfDType compute, export_dt;
  if (!agf_train_options_check(o, error) ||
      !agf_train_options_dtypes(o, &compute, &export_dt, error))
    return NULL;
  if (g_mkdir_with_parents(o->out, 0755) != 0) {
    int e = errno;
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
                "cannot create the run folder %s: %s; pass a writable --out",
                o->out, g_strerror(e));
    return NULL;
  }
  g_autoptr(AgfTrainRun) run = g_new0(AgfTrainRun, 1);
  run->o = *o;
  run->cmd = g_strdup(cmd);
  run->dir = g_strdup(o->out);
  run->ckpt_path = g_build_filename(o->out, CHECKPOINT_NAME, NULL);
  run->config_json = g_strdup(config_json ? config_json : "{}");
  run->export_dt = export_dt;
  run->seed = (guint64)o->seed;
  /* a fresh run must not silently overwrite another one's checkpoint */
  if (!o->resume && g_file_test(run->ckpt_path, G_FILE_TEST_EXISTS)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s already holds a run (%s): continue it with --resume %s "
                "or choose another --out", o->out, CHECKPOINT_NAME, o->out);
    return NULL;
  }
  g_autofree char *cfg_path = g_build_filename(o->out, "config.json", NULL);
  g_autofree char *text = g_strconcat(run->config_json, "\n", NULL);
  g_autofree char *old = NULL;
  if (o->resume && g_file_get_contents(cfg_path, &old, NULL, NULL)) {
    /* a resumed run keeps its first configuration; different options make
     * the continuation another run than an uninterrupted one would be */
    if (!same_config(old, text))
      g_printerr("agfas-train %s: the options differ from %s (kept as it "
                 "is): the continuation will not equal an uninterrupted "
                 "run\n", cmd, cfg_path);
  } else if (!agf_atomic_write(cfg_path, "run configuration", text,
                               strlen(text), error)) {
    return NULL;
  }
  /* Tests interrupt a run at an exact step with a real signal. */
  const char *at = g_getenv("AGFAS_TRAIN_SIGNAL_AT_STEP");
  run->signal_at = at ? g_ascii_strtoll(at, NULL, 10) : 0;
  agf_train_signal_install();
  return g_steal_pointer(&run);
}

void agf_train_run_free(AgfTrainRun *run)
{
  if (!run)
    return;
  if (run->log)
    fclose(run->log);
  g_free(run->cmd);
  g_free(run->dir);
  g_free(run->ckpt_path);
  g_free(run->config_json);
  g_free(run);
}

void agf_train_run_set_state(AgfTrainRun *run, const AgfTrainState *state)
{
  run->state = *state;
  run->have_state = TRUE;
}

gint64 agf_train_run_step(const AgfTrainRun *run)
{
  return run->step;
}

guint64 agf_train_run_seed(const AgfTrainRun *run)
{
  return run->seed;
}

const char *agf_train_run_dir(const AgfTrainRun *run)
{
  return run->dir;
}

/* Keeps the lines of log.jsonl up to step (a crash may have logged steps
 * the checkpoint does not hold), then opens it for appending. */
static gboolean open_log(AgfTrainRun *run, gint64 keep_upto, GError **error)
{
  g_autofree char *path = g_build_filename(run->dir, "log.jsonl", NULL);
  GString *kept = g_string_new(NULL);
  g_autofree char *old = NULL;
  if (keep_upto > 0 && g_file_get_contents(path, &old, NULL, NULL)) {
    g_auto(GStrv) lines = g_strsplit(old, "\n", -1);
    for (int i = 0; lines[i]; i++) {
      const char *s = strstr(lines[i], "\"step\":");
      if (s && g_ascii_strtoll(s + 7, NULL, 10) <= keep_upto)
        g_string_append_printf(kept, "%s\n", lines[i]);
    }
  }
  gboolean ok = agf_atomic_write(path, "training log", kept->str, kept->len,
                                 error);
  g_string_free(kept, TRUE);
  if (!ok)
    return FALSE;
  run->log = fopen(path, "a");
  if (!run->log) {
    int e = errno;
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot append to %s: %s",
                path, g_strerror(e));
    return FALSE;
  }
  return TRUE;
}

/* A number of the checkpoint's wrapper object (written by
 * agf_train_run_save, before the subcommand's config); 0 when absent. */
static double wrapper_number(const char *json, const char *key)
{
  g_autofree char *pat = g_strdup_printf("\"%s\":", key);
  const char *cfg = strstr(json, "\"config\":");
  const char *s = strstr(json, pat);
  if (!s || (cfg && s > cfg))
    return 0;
  return g_ascii_strtod(s + strlen(pat), NULL);
}

gboolean agf_train_run_resume(AgfTrainRun *run, GError **error)
{
  g_return_val_if_fail(run->have_state, FALSE);
  gint64 keep = 0;
  if (run->o.resume) {
    g_autofree char *path =
      g_file_test(run->o.resume, G_FILE_TEST_IS_DIR)
        ? g_build_filename(run->o.resume, CHECKPOINT_NAME, NULL)
        : g_strdup(run->o.resume);
    AgfCheckpointInfo info = { 0 };
    if (!agf_checkpoint_load(path, run->state.model, run->state.opt,
                             run->state.ema, &info, error)) {
      g_prefix_error(error, "--resume: ");
      return FALSE;
    }
    run->step = info.step;
    if (info.seed != run->seed)
      g_printerr("agfas-train %s: continuing with the checkpoint's seed %"
                 G_GUINT64_FORMAT " (not --seed %" G_GUINT64_FORMAT ")\n",
                 run->cmd, info.seed, run->seed);
    run->seed = info.seed;
    /* the earlier part's elapsed time and loss scale, from its config */
    if (info.config_json) {
      run->elapsed_before = wrapper_number(info.config_json, "elapsed_s");
      AgfLossScaler *sc = run->state.scaler;
      const double scale = wrapper_number(info.config_json, "loss_scale");
      if (sc && scale > 0) {
        sc->scale = (float)scale;
        sc->clean_steps =
          (int)wrapper_number(info.config_json, "clean_steps");
      }
    }
    agf_checkpoint_info_clear(&info);
    keep = run->step;
    if (run->step > run->o.steps) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "--resume: %s is at step %" G_GINT64_FORMAT ", beyond "
                  "--steps %" G_GINT64_FORMAT "; pass a larger --steps",
                  path, run->step, run->o.steps);
      return FALSE;
    }
    g_printerr("agfas-train %s: resuming %s at step %" G_GINT64_FORMAT "\n",
               run->cmd, path, run->step);
  }
  run->saved_at_step = run->o.resume != NULL;
  if (!open_log(run, keep, error))
    return FALSE;
  agf_progress_init(&run->progress, run->cmd, "steps", (guint)run->o.steps);
  run->progress.done = run->progress.skipped = (guint)run->step;
  run->t_start = run->t_interval = g_get_monotonic_time();
  return TRUE;
}

gboolean agf_train_run_next(AgfTrainRun *run)
{
  return run->step < run->o.steps && !agf_train_signal_pending();
}

static double elapsed(const AgfTrainRun *run)
{
  return run->elapsed_before +
         (double)(g_get_monotonic_time() - run->t_start) * 1e-6;
}

gboolean agf_train_run_save(AgfTrainRun *run, GError **error)
{
  g_return_val_if_fail(run->have_state, FALSE);
  const AgfParamSet *m = run->state.model;
  AgfDType dt = agf_param_set_size(m) > 0
                  ? agf_param_set_tensor(m, 0)->dtype : AGF_F32;
  if (dt != AGF_F16)
    dt = AGF_F32;
  /* the config travels in the checkpoint too, with the elapsed time, so a
   * resumed run reports the whole run's time */
  const AgfLossScaler *sc = run->state.scaler;
  char num[G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *cfg = g_strdup_printf(
    "{\"command\":\"%s\",\"elapsed_s\":%.3f,\"loss_scale\":%s,"
    "\"clean_steps\":%d,\"config\":%s}", run->cmd, elapsed(run),
    g_ascii_formatd(num, sizeof num, "%.9g", sc ? (double)sc->scale : 0.0),
    sc ? sc->clean_steps : 0, run->config_json);
  AgfCheckpointInfo info = { .step = run->step, .seed = run->seed,
                             .rng_counter = (guint64)run->step,
                             .config_json = cfg };
  if (!agf_checkpoint_save(run->ckpt_path, m, run->state.opt, run->state.ema,
                           &info, dt, run->state.meta, error)) {
    g_prefix_error(error, "saving the checkpoint: ");
    return FALSE;
  }
  run->saved_at_step = TRUE;
  return TRUE;
}

static gboolean write_log(AgfTrainRun *run, const AgfTrainTerm *terms,
                          int n_terms, double lr, GError **error)
{
  const double dt = (double)(g_get_monotonic_time() - run->t_interval) * 1e-6;
  const double rate = dt > 0 ? run->samples_interval / dt : 0.0;
  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "{\"step\":%" G_GINT64_FORMAT, run->step);
  char num[G_ASCII_DTOSTR_BUF_SIZE];
  for (int i = 0; i < n_terms; i++)
    g_string_append_printf(s, ",\"%s\":%s", terms[i].name,
                           g_ascii_formatd(num, sizeof num, "%.7g",
                                           terms[i].value));
  g_string_append_printf(s, ",\"lr\":%s",
                         g_ascii_formatd(num, sizeof num, "%.7g", lr));
  g_string_append_printf(s, ",\"samples_per_s\":%s",
                         g_ascii_formatd(num, sizeof num, "%.4g", rate));
  g_string_append_printf(s, ",\"elapsed_s\":%s}\n",
                         g_ascii_formatd(num, sizeof num, "%.3f",
                                         elapsed(run)));
  gboolean ok = fwrite(s->str, 1, s->len, run->log) == s->len &&
                fflush(run->log) == 0;
  g_string_free(s, TRUE);
  if (!ok) {
    int e = errno;
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot write %s/log.jsonl: "
                "%s", run->dir, g_strerror(e));
    return FALSE;
  }
  /* a plain line per logged step when stderr is not a terminal */
  g_autofree char *detail = g_strdup_printf(
    "step %" G_GINT64_FORMAT ", %s %.5g, lr %.3g, %.3g samples/s", run->step,
    n_terms ? terms[0].name : "loss", n_terms ? terms[0].value : 0.0, lr, rate);
  if (!run->progress.tty)
    agf_progress_show(&run->progress, detail, TRUE);
  run->t_interval = g_get_monotonic_time();
  run->samples_interval = 0;
  return TRUE;
}

gboolean agf_train_run_step_done(AgfTrainRun *run, const AgfTrainTerm *terms,
                                 int n_terms, double lr, int batch,
                                 GError **error)
{
  g_return_val_if_fail(run->log != NULL, FALSE); /* resume() opens it */
  for (int i = 0; i < n_terms; i++)
    if (!isfinite(terms[i].value)) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "%s is %g at step %" G_GINT64_FORMAT ": training diverged; "
                  "lower --lr or continue from an earlier checkpoint with "
                  "--resume", terms[i].name, terms[i].value, run->step + 1);
      return FALSE;
    }
  run->step++;
  run->saved_at_step = FALSE;
  if (run->step == run->signal_at)
    raise(SIGINT);
  run->samples_interval += batch;
  run->last_loss = n_terms ? terms[0].value : 0.0;
  run->progress.done = (guint)run->step;
  if (run->step % run->o.log_every == 0 || run->step == run->o.steps)
    if (!write_log(run, terms, n_terms, lr, error))
      return FALSE;
  if (run->progress.tty) {
    g_autofree char *detail = g_strdup_printf(
      "%s %.5g", n_terms ? terms[0].name : "loss", run->last_loss);
    agf_progress_show(&run->progress, detail, run->step == run->o.steps);
  }
  if (run->o.save_every > 0 && run->step % run->o.save_every == 0 &&
      run->step < run->o.steps)
    return agf_train_run_save(run, error);
  return TRUE;
}

gboolean agf_train_export(const AgfTrainState *state, const char *path,
                          AgfDType dt, GError **error)
{
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  if (state->meta) {
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, state->meta);
    while (g_hash_table_iter_next(&it, &k, &v))
      agf_safetensors_writer_set_meta(w, k, v);
  }
  const AgfParamSet *shadow = state->ema ? agf_ema_shadow(state->ema) : NULL;
  const AgfParamSet *out = state->export_model ? state->export_model
                                               : state->model;
  for (int i = 0; i < agf_param_set_size(out); i++) {
    const char *name = agf_param_set_name(out, i);
    AgfTensor *t = agf_param_set_tensor(out, i);
    int j = shadow ? agf_param_set_find(shadow, name) : -1;
    if (j >= 0)
      t = agf_param_set_tensor(shadow, j);
    g_autoptr(AgfTensor) c = t->dtype == dt || t->dtype == AGF_U8
                               ? agf_tensor_ref(t)
                               : agf_tensor_cast(t, dt, error);
    if (!c || !agf_safetensors_writer_add_tensor(w, name, c, error))
      return FALSE;
  }
  return agf_safetensors_writer_write(w, path, error);
}

int agf_train_run_finish(AgfTrainRun *run)
{
  GError *error = NULL;
  if (run->progress.tty && run->step < run->o.steps)
    g_printerr("\n");
  if (!run->saved_at_step && !agf_train_run_save(run, &error))
    return agf_cli_fail(error);
  /* a signal after the last step interrupts nothing: export as usual */
  if (agf_train_signal_pending() && run->step < run->o.steps) {
    g_printerr("agfas-train %s: interrupted at step %" G_GINT64_FORMAT
               "; checkpoint saved, continue with --resume %s\n", run->cmd,
               run->step, run->dir);
    return AGF_EXIT_INTERRUPTED;
  }
  g_autofree char *path = g_build_filename(run->dir, run->state.export_name,
                                           NULL);
  if (!agf_train_export(&run->state, path, run->export_dt, &error))
    return agf_cli_fail(error);
  g_print("%s\n", path);
  g_printerr("agfas-train %s: %" G_GINT64_FORMAT " steps done in %.1f s; "
             "weights %s%s\n", run->cmd, run->step, elapsed(run), path,
             run->state.ema ? " (EMA)" : "");
  return AGF_EXIT_OK;
}
