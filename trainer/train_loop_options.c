/* The common options of the training subcommands (train_loop.h). */
#include "train_loop.h"

void agf_train_options_init(AgfTrainOptions *o, gint64 steps, int batch,
                            double lr)
{
  *o = (AgfTrainOptions){ .steps = steps, .batch = batch, .lr = lr,
                          .seed = 0, .save_every = 500, .log_every = 10 };
}

void agf_train_options_add(GOptionContext *ctx, AgfTrainOptions *o)
{
  /* the subcommand's defaults, as agf_train_options_init set them */
  for (int i = 0; i < 3; i++)
    g_free(o->help_[i]);
  o->help_[0] = g_strdup_printf("Optimizer steps of the whole run (default %"
                                G_GINT64_FORMAT ")", o->steps);
  o->help_[1] = g_strdup_printf("Samples per step (default %d)", o->batch);
  o->help_[2] = g_strdup_printf("Base learning rate (default %g)", o->lr);
  const GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &o->out,
      "Run folder: config.json, log.jsonl, checkpoint.safetensors and the "
      "exported weights (required)", "DIR" },
    { "steps", 0, 0, G_OPTION_ARG_INT64, &o->steps, o->help_[0], "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &o->batch, o->help_[1], "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &o->lr, o->help_[2], "LR" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &o->seed,
      "Seed of the data order, augmentation and noise (default 0)", "S" },
    { "resume", 0, 0, G_OPTION_ARG_FILENAME, &o->resume,
      "Continue from a checkpoint (a file, or a run folder holding "
      "checkpoint.safetensors) bit-identically", "CKPT" },
    { "save-every", 0, 0, G_OPTION_ARG_INT64, &o->save_every,
      "Save the checkpoint every N steps (0: at the end and on "
      "SIGINT/SIGTERM only; default 500)", "N" },
    { "log-every", 0, 0, G_OPTION_ARG_INT64, &o->log_every,
      "Log a line to log.jsonl every N steps (default 10)", "N" },
    { "export-dtype", 0, 0, G_OPTION_ARG_STRING, &o->export_dtype,
      "Dtype of the exported weights: f32 (default) or f16 (for shipping)",
      "f32|f16" },
    { NULL }
  };
  GOptionGroup *g = g_option_context_get_main_group(ctx);
  g_option_group_add_entries(g, entries);
}

void agf_train_adamw_init(AgfTrainAdamwOptions *w, double weight_decay,
                          double ema_decay)
{
  *w = (AgfTrainAdamwOptions){ .weight_decay = weight_decay, .clip = 1.0,
                               .ema_decay = ema_decay };
}

static void adamw_add(GOptionContext *ctx, AgfTrainAdamwOptions *w,
                      const char *ema_help)
{
  g_free(w->help_);
  w->help_ = g_strdup_printf("AdamW decoupled weight decay (default %g)",
                             w->weight_decay);
  const GOptionEntry entries[] = {
    { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &w->weight_decay, w->help_,
      "W" },
    { "lr-schedule", 0, 0, G_OPTION_ARG_STRING, &w->schedule,
      "constant (default) or cosine, after --warmup", "NAME" },
    { "warmup", 0, 0, G_OPTION_ARG_INT64, &w->warmup,
      "Linear warm-up steps (default 0)", "N" },
    { "clip", 0, 0, G_OPTION_ARG_DOUBLE, &w->clip,
      "Clip the gradient norm at this value (default 1; 0: off)", "N" },
    { "ema-decay", 0, 0, G_OPTION_ARG_DOUBLE, &w->ema_decay, ema_help, "D" },
    { NULL }
  };
  g_option_group_add_entries(g_option_context_get_main_group(ctx), entries);
}

void agf_train_adamw_config(JsonBuilder *b, const AgfTrainAdamwOptions *w)
{
  agf_train_config_str(b, "lr_schedule", w->schedule);
  agf_train_config_int(b, "warmup", w->warmup);
  agf_train_config_double(b, "weight_decay", w->weight_decay);
  agf_train_config_double(b, "ema_decay", w->ema_decay);
  agf_train_config_double(b, "clip", w->clip);
}

void agf_train_adamw_clear(AgfTrainAdamwOptions *w)
{
  g_clear_pointer(&w->schedule, g_free);
  g_clear_pointer(&w->help_, g_free);
}

GOptionContext *agf_train_context(const AgfTrainCommand *cmd,
                                  const GOptionEntry *entries,
                                  AgfTrainOptions *o, AgfTrainAdamwOptions *w,
                                  const char *ema_help,
                                  const char *description)
{
  GOptionContext *ctx = agf_cli_context(cmd, entries, &o->common, TRUE,
                                        "Parameter dtype: f32 (default) or "
                                        "f16 (f32 masters, loss scaling)");
  if (w)
    adamw_add(ctx, w, ema_help);
  agf_train_options_add(ctx, o);
  g_option_context_set_description(ctx, description);
  return ctx;
}

gboolean agf_train_options_usage(const AgfTrainCommand *cmd,
                                 const AgfTrainOptions *o,
                                 AgfTrainAdamwOptions *w, int *rc)
{
  if (w && !w->schedule)
    w->schedule = g_strdup("constant");
  GError *error = NULL;
  if (agf_train_options_check(o, &error))
    return TRUE;
  *rc = agf_cli_usage_error(cmd->name, "%s", error->message);
  g_error_free(error);
  return FALSE;
}

gboolean agf_train_adamw_begin(AgfTrainRun *run, AgfTrainUpdate *u,
                               AgfDevice *dev, AgfParamSet *all,
                               const AgfTrainAdamwOptions *w,
                               AgfTrainState *st, GError **error)
{
  /* beta1, beta2 0: optim.h's 0.9, 0.999 */
  AgfOptimConfig oc = { .kind = AGF_OPTIM_ADAMW,
                        .weight_decay = (float)w->weight_decay };
  if (!agf_train_update_init(u, dev, all, &oc, (float)w->ema_decay,
                             (float)w->clip, error))
    return FALSE;
  st->model = all;
  st->opt = u->opt;
  st->ema = u->ema;
  st->scaler = u->scaling ? &u->scaler : NULL;
  agf_train_run_set_state(run, st);
  return agf_train_run_resume(run, error);
}

gboolean agf_train_adamw_step(AgfTrainRun *run, AgfTrainUpdate *u,
                              const AgfTrainOptions *o,
                              const AgfTrainAdamwOptions *w, AgfTensor *loss,
                              const AgfTrainTerm *terms, int n_terms,
                              GError **error)
{
  const float lr = agf_train_lr(w->schedule, agf_train_run_step(run),
                                o->steps, w->warmup, (float)o->lr);
  return agf_train_update_step(u, loss, lr, error) &&
         agf_train_run_step_done(run, terms, n_terms, lr, o->batch, error);
}

static gboolean bad(GError **error, const char *opt, gint64 v,
                    const char *rule)
{
  g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
              "--%s %" G_GINT64_FORMAT " must be %s", opt, v, rule);
  return FALSE;
}

gboolean agf_train_options_check(const AgfTrainOptions *o, GError **error)
{
  if (!o->out || !*o->out) {
    g_set_error_literal(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                        "--out DIR is required: the folder for the run's "
                        "checkpoint, log and exported weights");
    return FALSE;
  }
  if (o->steps < 1)
    return bad(error, "steps", o->steps, "at least 1");
  if (o->batch < 1)
    return bad(error, "batch", o->batch, "at least 1");
  if (o->seed < 0)
    return bad(error, "seed", o->seed, "0 or more");
  if (o->save_every < 0)
    return bad(error, "save-every", o->save_every, "0 or more");
  if (o->log_every < 1)
    return bad(error, "log-every", o->log_every, "at least 1");
  if (!(o->lr > 0.0 && o->lr < 1e3)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "--lr %g must be a positive learning rate", o->lr);
    return FALSE;
  }
  AgfDType a, b;
  return agf_train_options_dtypes(o, &a, &b, error);
}

gboolean agf_train_options_dtypes(const AgfTrainOptions *o, AgfDType *compute,
                                  AgfDType *export_dt, GError **error)
{
  if (!agf_cli_parse_dtype(o->common.dtype ? o->common.dtype : "f32", compute,
                           error))
    return FALSE;
  if (!agf_cli_parse_dtype(o->export_dtype ? o->export_dtype : "f32",
                           export_dt, error)) {
    g_prefix_error(error, "--export-dtype: ");
    return FALSE;
  }
  return TRUE;
}

void agf_train_options_clear(AgfTrainOptions *o)
{
  g_clear_pointer(&o->resume, g_free);
  g_clear_pointer(&o->out, g_free);
  g_clear_pointer(&o->export_dtype, g_free);
  g_clear_pointer(&o->common.device, g_free);
  g_clear_pointer(&o->common.dtype, g_free);
  for (int i = 0; i < 3; i++)
    g_clear_pointer(&o->help_[i], g_free);
}

void agf_train_config_str(JsonBuilder *b, const char *key, const char *value)
{
  json_builder_set_member_name(b, key);
  json_builder_add_string_value(b, value ? value : "");
}

void agf_train_config_int(JsonBuilder *b, const char *key, gint64 value)
{
  json_builder_set_member_name(b, key);
  json_builder_add_int_value(b, value);
}

void agf_train_config_double(JsonBuilder *b, const char *key, double value)
{
  json_builder_set_member_name(b, key);
  json_builder_add_double_value(b, value);
}

JsonBuilder *agf_train_config_begin(const char *cmd, const AgfTrainOptions *o)
{
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  agf_train_config_str(b, "command", cmd);
  agf_train_config_int(b, "steps", o->steps);
  agf_train_config_int(b, "batch", o->batch);
  agf_train_config_double(b, "lr", o->lr);
  agf_train_config_int(b, "seed", o->seed);
  agf_train_config_str(b, "dtype", o->common.dtype ? o->common.dtype : "f32");
  agf_train_config_str(b, "export_dtype",
                       o->export_dtype ? o->export_dtype : "f32");
  return b;
}

char *agf_train_config_end(JsonBuilder *b)
{
  json_builder_end_object(b);
  JsonNode *root = json_builder_get_root(b);
  char *text = json_to_string(root, FALSE);
  json_node_unref(root);
  g_object_unref(b);
  return text;
}
