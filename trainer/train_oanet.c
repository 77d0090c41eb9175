/* agfas-train oanet: SSDG training of the OA-Net (method.md) and of its
 * ablations, on faces whose cues a `cues` run stored. The loop, run folder,
 * checkpoints and --resume are train_loop.h's; this file wires the SSDG
 * parts (train_oanet.h) into it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include "train_cli.h"
#include "train_loop.h"
#include "train_loop_model.h"
#include "train_oanet.h"
#include "io/protocol.h"
#include "nn/error.h"

static const char description[] =
  "Data: the manifest.jsonl of an `agfas-train cues` run (MANIFEST, or\n"
  "--cues DIR), or --protocol NAME|FILE whose source datasets name such\n"
  "manifests, or with --dfg MODELS a prepared MANIFEST whose cues are\n"
  "computed first. Faces need a crop, a cue and a live/spoof label; the\n"
  "domain of a face is its --domain-col value (with --protocol: its\n"
  "dataset).\n\n"
  "SSDG (method.md): each step takes --batch faces per domain per class\n"
  "(SSDG: 10); loss = cross-entropy + triplet-weight * asymmetric triplet\n"
  "(all live faces one class, each domain's spoofs their own; batch-all,\n"
  "margin 0.1) + adv-weight * domain cross-entropy of a discriminator\n"
  "(512-512-domains MLP, ReLU, dropout 0.5) on the LIVE faces' normalized\n"
  "features behind a gradient-reversal layer with coefficient\n"
  "2 / (1 + exp(-10 p)) - 1, p = (step + 1) / steps. SGD (momentum 0.9,\n"
  "weight decay 5e-4), cosine learning rate after a linear warm-up over\n"
  "the first 10 % of the steps.\n\n"
  "Network: --init FILE (any OA-Net file of the variant), or random\n"
  "weights of --preset in the --variant's shape (ablations: image_only,\n"
  "residual_only, dual_branch).\n\n"
  "Validation (--val MANIFEST, or the protocol's source val split) every\n"
  "--val-every steps and at the end: DIR/val/step-N.csv holds frame\n"
  "scores for `agfas-train eval`, DIR/val.jsonl the AUC, EER and HTER.\n\n"
  "Writes DIR/oanet.safetensors (the network without the discriminator)\n"
  "at the end. Ctrl-C saves the checkpoint and exits 130; continue with\n"
  "--resume DIR.";

typedef struct {
  AgfTrainOptions o;
  char *cues, *protocol, *split, *domain_col, *val, *val_split;
  char *variant, *preset, *init, *dfg;
  gint64 val_every;
  double warmup, momentum, weight_decay;
  double triplet_weight, adv_weight, margin, dropout;
  int disc_hidden;
} OanetArgs;

static char *config_json(const OanetArgs *a, const char *data,
                         const AgfSsdgData *train, guint n_val)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
#define S(k, v) json_builder_set_member_name(b, k), json_builder_add_string_value(b, v)
#define I(k, v) json_builder_set_member_name(b, k), json_builder_add_int_value(b, v)
#define D(k, v) json_builder_set_member_name(b, k), json_builder_add_double_value(b, v)
  S("command", "oanet");
  S("data", data);
  I("faces", agf_ssdg_data_len(train));
  json_builder_set_member_name(b, "domains");
  json_builder_begin_array(b);
  for (guint i = 0; i < agf_ssdg_data_n_domains(train); i++)
    json_builder_add_string_value(b, agf_ssdg_data_domain(train, i));
  json_builder_end_array(b);
  I("val_faces", n_val);
  S("variant", a->variant ? a->variant : "that of --init");
  S("preset", a->init ? "" : a->preset);
  S("init", a->init ? a->init : "");
  I("steps", a->o.steps);
  I("per_domain_per_class", a->o.batch);
  D("lr", a->o.lr);
  D("warmup", a->warmup);
  D("momentum", a->momentum);
  D("weight_decay", a->weight_decay);
  D("triplet_weight", a->triplet_weight);
  D("adv_weight", a->adv_weight);
  D("margin", a->margin);
  I("disc_hidden", a->disc_hidden);
  D("disc_dropout", a->dropout);
  I("seed", a->o.seed);
  S("dtype", a->o.common.dtype ? a->o.common.dtype : "f32");
#undef S
#undef I
#undef D
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  return json_to_string(root, FALSE);
}

/* Training and validation faces from the command line; *what describes
 * the data for config.json. */
static gboolean load_data(const OanetArgs *a, const char *manifest,
                          const char *val_manifest, AgfSsdgData *train,
                          AgfSsdgData *val, char **what, GError **error)
{
  guint skipped = 0;
  if (a->protocol) {
    g_autoptr(AgfProtocol) p = agf_protocol_find(a->protocol, error);
    if (!p)
      return FALSE;
    for (char **k = p->sources; *k; k++) {
      const AgfProtocolDataset *ds = agf_protocol_dataset(p, *k);
      g_autofree char *m = agf_protocol_manifest(p, *k, NULL, error);
      if (!m ||
          !agf_ssdg_data_add_manifest(train, m, p->train_split, NULL,
                                      ds->domain, TRUE, &skipped, error) ||
          (!val_manifest &&
           !agf_ssdg_data_add_manifest(val, m, p->val_split, NULL,
                                                  ds->domain, FALSE, NULL,
                                                  error)))
        return FALSE;
    }
    *what = g_strdup_printf("protocol %s (%s)", p->name, p->path);
  } else {
    g_autofree char *m = a->cues ? g_build_filename(a->cues, "manifest.jsonl",
                                                    NULL)
                                 : g_strdup(manifest);
    if (!agf_ssdg_data_add_manifest(train, m, a->split, a->domain_col, NULL,
                                    TRUE, &skipped, error))
      return FALSE;
    *what = g_steal_pointer(&m);
  }
  if (val_manifest &&
      !agf_ssdg_data_add_manifest(val, val_manifest, a->val_split,
                                  a->domain_col, NULL, FALSE, NULL, error))
    return FALSE;
  if (skipped)
    g_printerr("agfas-train oanet: %u training records skipped (no crop, "
               "cue or live/spoof label)\n", skipped);
  /* Validation figures need both classes: say so now, not after training. */
  guint n_class[2] = { 0, 0 };
  for (guint d = 0; d < agf_ssdg_data_n_domains(val); d++)
    for (int t = 0; t < 2; t++)
      n_class[t] += agf_ssdg_data_pool_len(val, d, t);
  if (agf_ssdg_data_len(val) && (!n_class[0] || !n_class[1])) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "the validation faces are all %s: AUC and HTER need live and "
                "spoof faces (check --val / the protocol's val split)",
                n_class[0] ? "live" : "spoof");
    return FALSE;
  }
  if (!agf_ssdg_data_len(val))
    g_printerr("agfas-train oanet: no validation faces (--val, or a "
               "protocol's val split): training without validation\n");
  return agf_ssdg_data_check_train(train, error);
}

/* The weights to start from: --init, or random weights of the preset in
 * the variant's shape, written once into the run folder. */
static AgfWeights *open_weights(const OanetArgs *a, AgfOanetVariant v,
                                const char *dir, AgfDevice *dev, AgfDType dt,
                                GError **error)
{
  if (a->init)
    return agf_train_init_open(a->init, dev, dt, error);
  AgfPreset preset;
  if (!agf_preset_from_name(a->preset, &preset, error))
    return NULL;
  g_autofree char *name = g_strdup_printf("init-oanet-%s.safetensors",
                                          agf_oanet_variant_name(v));
  g_autofree char *path = g_build_filename(dir, name, NULL);
  AgfOanetConfig cfg;
  agf_ssdg_variant_config(preset, v, &cfg);
  if (!g_file_test(path, G_FILE_TEST_EXISTS) &&
      !agf_preset_write_random_oanet(preset, &cfg, (guint64)a->o.seed,
                                     AGF_ST_F32, path, error))
    return NULL;
  return agf_weights_open(path, dev, dt, error);
}

static gboolean parse_variant(const char *s, AgfOanetVariant *v,
                              GError **error)
{
  for (int i = AGF_OANET_FULL; i <= AGF_OANET_DUAL_BRANCH; i++)
    if (!strcmp(s, agf_oanet_variant_name((AgfOanetVariant)i))) {
      *v = (AgfOanetVariant)i;
      return TRUE;
    }
  g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
              "--variant %s is not oanet, image_only, residual_only or "
              "dual_branch", s);
  return FALSE;
}

/* Scores the validation set, writes DIR/val/step-N.csv and a val.jsonl
 * line, prints the figures. */
static gboolean validate(AgfSsdgModel *m, AgfSsdgData *val, const char *dir,
                         gint64 step, int batch, AgfDevice *dev, AgfDType dt,
                         GError **error)
{
  g_autofree char *vdir = g_build_filename(dir, "val", NULL);
  if (g_mkdir_with_parents(vdir, 0755) != 0) {
    int e = errno;
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot create %s: %s", vdir,
                g_strerror(e));
    return FALSE;
  }
  g_autofree char *rel = g_strdup_printf("val/step-%06" G_GINT64_FORMAT
                                         ".csv", step);
  g_autofree char *csv = g_build_filename(dir, rel, NULL);
  AgfSsdgValResult r;
  if (!agf_ssdg_validate(m, val, batch, dev, dt, csv, &r, error))
    return FALSE;
  g_autofree char *log = g_build_filename(dir, "val.jsonl", NULL);
  FILE *f = g_fopen(log, "a");
  if (!f) {
    int e = errno;
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot open %s: %s", log,
                g_strerror(e));
    return FALSE;
  }
  char auc[G_ASCII_DTOSTR_BUF_SIZE], eer[G_ASCII_DTOSTR_BUF_SIZE],
    hter[G_ASCII_DTOSTR_BUF_SIZE], thr[G_ASCII_DTOSTR_BUF_SIZE];
  fprintf(f, "{\"step\": %" G_GINT64_FORMAT ", \"auc\": %s, \"eer\": %s, "
          "\"hter\": %s, \"threshold\": %s, \"n\": %zu, \"per\": \"%s\", "
          "\"scores\": \"%s\"}\n", step,
          g_ascii_dtostr(auc, sizeof auc, r.auc),
          g_ascii_dtostr(eer, sizeof eer, r.eer),
          g_ascii_dtostr(hter, sizeof hter, r.hter),
          g_ascii_dtostr(thr, sizeof thr, r.threshold), r.n,
          r.videos ? "video" : "frame", rel);
  gboolean ok = fflush(f) == 0;
  ok = fclose(f) == 0 && ok;
  if (!ok) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot write %s", log);
    return FALSE;
  }
  g_printerr("agfas-train oanet: step %" G_GINT64_FORMAT " validation (%zu "
             "%ss): AUC %.4f, EER %.4f, HTER %.4f\n", step, r.n,
             r.videos ? "video" : "face", r.auc, r.eer, r.hter);
  return TRUE;
}

/* --dfg: `agfas-train cues` over a prepared manifest into DIR/<sub>
 * (resumable: a rerun skips the faces already done); returns the cues
 * manifest. */
static char *compute_cues(const OanetArgs *a, const char *manifest,
                          const char *sub, GError **error)
{
  g_autofree char *dir = g_build_filename(a->o.out, sub, NULL);
  g_autoptr(GPtrArray) args = g_ptr_array_new();
  const char *fixed[] = { "cues", manifest, "--out", dir, "--models", a->dfg };
  for (gsize i = 0; i < G_N_ELEMENTS(fixed); i++)
    g_ptr_array_add(args, (char *)fixed[i]);
  if (a->o.common.device) {
    g_ptr_array_add(args, "--device");
    g_ptr_array_add(args, a->o.common.device);
  }
  if (a->o.common.dtype) {
    g_ptr_array_add(args, "--dtype");
    g_ptr_array_add(args, a->o.common.dtype);
  }
  g_ptr_array_add(args, NULL);
  g_printerr("agfas-train oanet: computing the cues of %s into %s\n",
             manifest, dir);
  /* The option parser reorders argv: hand it a copy of the pointers. */
  g_autofree char **argv = g_memdup2(args->pdata, args->len * sizeof(char *));
  if (agf_train_cues((int)args->len - 1, argv) != AGF_EXIT_OK) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
                "computing the cues of %s failed (see above); fix that and "
                "rerun: finished cues are kept", manifest);
    return NULL;
  }
  return g_build_filename(dir, "manifest.jsonl", NULL);
}

static int train(OanetArgs *a, const char *manifest, GError **error)
{
  AgfDType dt, export_dt;
  AgfOanetVariant variant = AGF_OANET_FULL;
  if (!agf_train_options_dtypes(&a->o, &dt, &export_dt, error) ||
      (a->variant && !parse_variant(a->variant, &variant, error)))
    return -1;
  g_autoptr(AgfSsdgData) data = agf_ssdg_data_new();
  g_autoptr(AgfSsdgData) val = agf_ssdg_data_new();
  g_autofree char *what = NULL, *cues = NULL, *val_cues = NULL;
  if (a->dfg &&
      (!(cues = compute_cues(a, manifest, "cues", error)) ||
       (a->val && !(val_cues = compute_cues(a, a->val, "val-cues", error)))))
    return -1;
  if (!load_data(a, cues ? cues : manifest, a->dfg ? val_cues : a->val, data,
                 val, &what, error))
    return -1;
  const int nd = (int)agf_ssdg_data_n_domains(data);
  g_autoptr(AgfDevice) dev = agf_cli_open_device(&a->o.common, dt, error);
  if (!dev)
    return -1;
  g_autofree char *cfg = config_json(a, what, data, agf_ssdg_data_len(val));
  g_autoptr(AgfTrainRun) run = agf_train_run_new(&a->o, "oanet", cfg, error);
  if (!run)
    return -1;
  const char *dir = agf_train_run_dir(run);
  g_autoptr(AgfWeights) w = open_weights(a, variant, dir, dev, dt, error);
  AgfSsdgLossConfig lc = { .triplet_weight = (float)a->triplet_weight,
                           .adv_weight = (float)a->adv_weight,
                           .margin = (float)a->margin,
                           .disc_hidden = a->disc_hidden,
                           .disc_dropout = (float)a->dropout };
  g_autoptr(AgfSsdgModel) m = w ? agf_ssdg_model_new(w, nd, &lc,
                                                     (guint64)a->o.seed,
                                                     error) : NULL;
  if (!m)
    return -1;
  if (a->variant && agf_ssdg_model_config(m)->variant != variant) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s holds an OA-Net of variant %s, not --variant %s "
                "(leave --variant out to train the file's)", a->init,
                agf_oanet_variant_name(agf_ssdg_model_config(m)->variant),
                a->variant);
    return -1;
  }
  g_autoptr(GHashTable) meta = agf_train_weights_meta(w);
  g_hash_table_insert(meta, g_strdup("agfas.trained_by"),
                      g_strdup("agfas-train oanet (SSDG)"));
  AgfOptimConfig oc = { .kind = AGF_OPTIM_SGD, .momentum = (float)a->momentum,
                        .weight_decay = (float)a->weight_decay };
  const int per = a->o.batch, n = 2 * nd * per;
  const gint64 warmup = (gint64)(a->warmup * (double)a->o.steps + 0.5);
  g_autofree guint *rows = g_new(guint, n);
  g_autofree gboolean *flip = g_new(gboolean, n);
  g_autofree int *truth = g_new(int, n);
  g_autofree int *domain = g_new(int, n);
  AgfTrainUpdate u;
  int rc = -1;
  if (!agf_train_update_init(&u, dev, agf_ssdg_model_state(m), &oc, 0.0f,
                             0.0f, error))
    goto out;
  AgfTrainState st = { .model = agf_ssdg_model_state(m), .opt = u.opt,
                       .meta = meta, .export_name = "oanet.safetensors",
                       .export_model = agf_ssdg_model_network(m) };
  agf_train_run_set_state(run, &st);
  if (!agf_train_run_resume(run, error))
    goto out;
  agf_set_training(dev, TRUE);
  while (agf_train_run_next(run)) {
    const gint64 step = agf_train_run_step(run);
    const guint64 seed = agf_train_run_seed(run);
    agf_ssdg_sample(data, seed, step, per, rows, flip);
    for (int i = 0; i < n; i++) {
      const AgfSsdgItem *it = agf_ssdg_data_item(data, rows[i]);
      truth[i] = it->truth;
      domain[i] = it->domain;
    }
    g_autoptr(AgfTensor) image = NULL, cue = NULL;
    if (!agf_ssdg_data_load(data, rows, flip, n, dev, dt, &image, &cue,
                            error) ||
        !agf_train_update_begin(&u, error))
      goto out;
    AgfSsdgTerms t;
    const double coeff = agf_ssdg_grl_coeff(step, a->o.steps);
    g_autoptr(AgfTensor) loss = agf_ssdg_loss(m, image, cue, truth, domain, n,
                                              coeff, seed, step, &t, error);
    const float lr = agf_lr_cosine_warmup(step, a->o.steps, warmup,
                                          (float)a->o.lr, 0.0f);
    if (!loss || !agf_train_update_step(&u, loss, lr, error))
      goto out;
    const AgfTrainTerm terms[] = {
      { "loss", t.total }, { "cls", t.cls }, { "triplet", t.triplet },
      { "adv", t.adv }, { "acc", t.acc }, { "grl_coeff", t.coeff },
      { "disc_samples", t.n_disc },
    };
    if (!agf_train_run_step_done(run, terms, G_N_ELEMENTS(terms), lr, n,
                                 error))
      goto out;
    const gint64 done = step + 1;
    if (agf_ssdg_data_len(val) && a->val_every > 0 &&
        done % a->val_every == 0 && done < a->o.steps &&
        !validate(m, val, dir, done, n, dev, dt, error))
      goto out;
  }
  if (agf_ssdg_data_len(val) && !agf_train_signal_pending() &&
      agf_train_run_step(run) == a->o.steps &&
      !validate(m, val, dir, a->o.steps, n, dev, dt, error))
    goto out;
  rc = agf_train_run_finish(run);
out:
  agf_set_training(dev, FALSE);
  agf_train_update_clear(&u);
  return rc;
}

int agf_train_oanet(int argc, char **argv)
{
  const AgfTrainCommand *cmd = agf_train_command(argv[0]);
  OanetArgs a = { .val_every = 500, .warmup = 0.1, .momentum = 0.9,
                  .weight_decay = 5e-4, .triplet_weight = 1.0,
                  .adv_weight = 0.5, .margin = 0.1, .dropout = 0.5,
                  .disc_hidden = 512 };
  agf_train_options_init(&a.o, 4000, 10, 1e-3);
  const GOptionEntry entries[] = {
    { "cues", 0, 0, G_OPTION_ARG_FILENAME, &a.cues,
      "A `cues` run folder: train on its manifest.jsonl", "DIR" },
    { "dfg", 0, 0, G_OPTION_ARG_FILENAME, &a.dfg,
      "MANIFEST and --val are prepared manifests: first compute their cues "
      "with the DFG of this models folder (`agfas-train cues` into "
      "DIR/cues and DIR/val-cues; slow, resumable)", "MODELS" },
    { "protocol", 0, 0, G_OPTION_ARG_STRING, &a.protocol,
      "Train on a protocol's source datasets (a shipped name such as "
      "OCI-M, or a file); their manifests must be cues manifests",
      "NAME|FILE" },
    { "split", 0, 0, G_OPTION_ARG_STRING, &a.split,
      "Train on the records of this split only (default: all)", "NAME" },
    { "domain-col", 0, 0, G_OPTION_ARG_STRING, &a.domain_col,
      "Manifest column naming each face's domain (default domain)", "COL" },
    { "val", 0, 0, G_OPTION_ARG_FILENAME, &a.val,
      "Validation faces: a cues manifest", "MANIFEST" },
    { "val-split", 0, 0, G_OPTION_ARG_STRING, &a.val_split,
      "Validate on the records of this split of --val only", "NAME" },
    { "val-every", 0, 0, G_OPTION_ARG_INT64, &a.val_every,
      "Validate every N steps, and at the end (default 500; 0: at the end "
      "only)", "N" },
    { "variant", 0, 0, G_OPTION_ARG_STRING, &a.variant,
      "oanet, image_only, residual_only or dual_branch (default: oanet, "
      "or that of --init)", "NAME" },
    { "preset", 0, 0, G_OPTION_ARG_STRING, &a.preset,
      "Size of a fresh network: tiny, small (default) or paper", "NAME" },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &a.init,
      "Start from this OA-Net file instead of random weights", "FILE" },
    { "warmup", 0, 0, G_OPTION_ARG_DOUBLE, &a.warmup,
      "Warm-up as a fraction of --steps (default 0.1)", "F" },
    { "momentum", 0, 0, G_OPTION_ARG_DOUBLE, &a.momentum,
      "SGD momentum (default 0.9)", "M" },
    { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &a.weight_decay,
      "SGD weight decay (default 5e-4)", "W" },
    { "triplet-weight", 0, 0, G_OPTION_ARG_DOUBLE, &a.triplet_weight,
      "Weight of the asymmetric triplet loss (default 1)", "W" },
    { "adv-weight", 0, 0, G_OPTION_ARG_DOUBLE, &a.adv_weight,
      "Weight of the adversarial loss (default 0.5)", "W" },
    { "margin", 0, 0, G_OPTION_ARG_DOUBLE, &a.margin,
      "Triplet margin (default 0.1)", "M" },
    { "disc-hidden", 0, 0, G_OPTION_ARG_INT, &a.disc_hidden,
      "Discriminator hidden width (default 512)", "N" },
    { "disc-dropout", 0, 0, G_OPTION_ARG_DOUBLE, &a.dropout,
      "Discriminator dropout (default 0.5)", "P" },
    { NULL }
  };
  GOptionContext *ctx = agf_train_context(cmd, entries, &a.o, NULL, NULL,
                                          description);
  int rc = AGF_EXIT_OK;
  if (!agf_cli_parse(ctx, cmd->name, &argc, &argv, &rc))
    goto done;
  const int sources = (argc == 2) + !!a.cues + !!a.protocol;
  const char *bad =
    argc > 2 ? "expected at most one MANIFEST"
    : sources == 0 ? "missing data: a cues MANIFEST, --cues DIR or "
                     "--protocol NAME"
    : sources > 1 ? "give one of MANIFEST, --cues and --protocol"
    : a.dfg && argc != 2 ? "--dfg computes the cues of a MANIFEST (for "
                           "--cues and --protocol they exist already)"
    : a.protocol && (a.split || a.domain_col)
      ? "--split and --domain-col do not apply to --protocol (its splits "
        "and datasets decide)"
    : a.val_every < 0 ? "--val-every must be 0 or more"
    : !(a.warmup >= 0 && a.warmup < 1) ? "--warmup must be in [0, 1)"
    : a.disc_hidden < 1 ? "--disc-hidden must be at least 1"
    : !(a.dropout >= 0 && a.dropout < 1) ? "--disc-dropout must be in "
                                           "[0, 1)"
    : !(a.margin >= 0) ? "--margin must be 0 or more"
    : NULL;
  if (bad) {
    rc = agf_cli_usage_error(cmd->name, "%s", bad);
    goto done;
  }
  if (!a.variant && !a.init)
    a.variant = g_strdup("oanet");
  if (!a.preset)
    a.preset = g_strdup("small");
  if (!agf_train_options_usage(cmd, &a.o, NULL, &rc))
    goto done;
  GError *error = NULL;
  rc = train(&a, argc == 2 ? argv[1] : NULL, &error);
  if (rc < 0)
    rc = agf_cli_fail(error);
done:
  g_option_context_free(ctx);
  agf_train_options_clear(&a.o);
  char **strs[] = { &a.cues, &a.protocol, &a.split, &a.domain_col, &a.val,
                    &a.val_split, &a.variant, &a.preset, &a.init,
                    &a.dfg };
  for (gsize i = 0; i < G_N_ELEMENTS(strs); i++)
    g_clear_pointer(strs[i], g_free);
  return rc;
}
