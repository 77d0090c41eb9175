/* agfas-train oanet (SSDG) on a synthetic two-domain dataset made here, in
 * the format a `cues` run writes (64x64 crops, cue files, manifest.jsonl
 * with a cue column): live faces are smooth images with a small noisy cue,
 * spoofs carry a strong periodic cue (and a faint moire in the image); the
 * two domains differ by a colour cast (train_oanet_support.h). The tiny
 * OA-Net preset, CPU backend.
 *
 * In process (the trainer's SSDG files linked in): the sampler is balanced
 * and deterministic and walks each pool once per epoch; the discriminator
 * sees only the live faces; the GRL coefficient schedule. Through the
 * binary ($AGFAS_TRAIN): the loss falls, the logged GRL coefficient follows
 * 2 / (1 + exp(-10 p)) - 1, validation AUC > 0.9, the exported network
 * loads without the discriminator and scores as validation did, `eval`
 * agrees with the logged AUC, a run interrupted by SIGINT and resumed ends
 * bit-identical to a straight one, the ablations train, --protocol and
 * --dfg feed the right data, and unusable data fails with a clear error. */
#include <math.h>
#include <string.h>
#include "test_support.h"
#include "train_oanet.h"
#include "train_oanet_support.h"
#include "models/weights.h"
#include "nn/autograd.h"
#include "pipeline/cue.h"

#define S 64          /* crop and cue size */
#define PER_POOL 12   /* training faces per (domain, class) */
#define VAL_PER_POOL 10
#define PER_CLASS 4   /* --batch: faces per domain per class per step */

static char *root;    /* the test's temporary folder */

static char *train_manifest, *val_manifest;

static AgfSsdgData *load_train(void)
{
  GError *error = NULL;
  AgfSsdgData *d = agf_ssdg_data_new();
  g_assert_true(agf_ssdg_data_add_manifest(d, train_manifest, NULL, NULL,
                                           NULL, TRUE, NULL, &error));
  g_assert_no_error(error);
  g_assert_true(agf_ssdg_data_check_train(d, &error));
  g_assert_no_error(error);
  return d;
}

/* ---- in process ---- */

static void test_sampler(void)
{
  g_autoptr(AgfSsdgData) d = load_train();
  g_assert_cmpuint(agf_ssdg_data_n_domains(d), ==, 2);
  const int n = 2 * 2 * PER_CLASS;
  guint rows[2 * 2 * PER_CLASS], again[2 * 2 * PER_CLASS];
  gboolean flip[2 * 2 * PER_CLASS], flip2[2 * 2 * PER_CLASS];
  /* an epoch of a pool is PER_POOL / PER_CLASS = 3 steps */
  guint seen[2 * 2 * PER_POOL] = { 0 };
  int flips = 0;
  for (gint64 step = 0; step < 3; step++) {
    agf_ssdg_sample(d, 7, step, PER_CLASS, rows, flip);
    agf_ssdg_sample(d, 7, step, PER_CLASS, again, flip2);
    g_assert_cmpmem(rows, sizeof rows, again, sizeof again);
    g_assert_cmpmem(flip, sizeof flip, flip2, sizeof flip2);
    for (int i = 0; i < n; i++) {
      const AgfSsdgItem *it = agf_ssdg_data_item(d, rows[i]);
      /* live of domain 0, live of domain 1, spoof of 0, spoof of 1 */
      const int block = i / PER_CLASS;
      g_assert_cmpint(it->truth, ==, block / 2);
      g_assert_cmpint(it->domain, ==, block % 2);
      seen[rows[i]]++;
      flips += flip[i];
    }
  }
  for (guint i = 0; i < agf_ssdg_data_len(d); i++)
    g_assert_cmpuint(seen[i], ==, 1);
  g_assert_cmpint(flips, >, 0);
  g_assert_cmpint(flips, <, 3 * n);
  /* another seed, another order */
  agf_ssdg_sample(d, 8, 0, PER_CLASS, again, NULL);
  agf_ssdg_sample(d, 7, 0, PER_CLASS, rows, NULL);
  g_assert_true(memcmp(rows, again, sizeof rows) != 0);
}

static void test_grl(void)
{
  const gint64 total = 4000;
  g_assert_cmpfloat(agf_ssdg_grl_coeff(0, total), <, 0.01);
  g_assert_cmpfloat_with_epsilon(agf_ssdg_grl_coeff(total / 2 - 1, total),
                                 2.0 / (1.0 + exp(-5.0)) - 1.0, 1e-12);
  g_assert_cmpfloat(agf_ssdg_grl_coeff(total - 1, total), >, 0.9999);
  for (gint64 s = 1; s < total; s += 97)
    g_assert_cmpfloat(agf_ssdg_grl_coeff(s, total), >,
                      agf_ssdg_grl_coeff(s - 1, total));
}

/* The adversarial term depends on the live faces only: changing every
 * spoof input leaves it bit-identical, changing a live one does not; and
 * the discriminator's input is exactly the live rows. */
static void test_disc_live_only(void)
{
  GError *error = NULL;
  g_autofree char *wpath = g_build_filename(root, "disc-init.safetensors",
                                            NULL);
  AgfOanetConfig cfg;
  agf_ssdg_variant_config(AGF_PRESET_TINY, AGF_OANET_FULL, &cfg);
  g_assert_true(agf_preset_write_random_oanet(AGF_PRESET_TINY, &cfg, 3,
                                              AGF_ST_F32, wpath, &error));
  g_assert_no_error(error);
  AgfDevice *dev = agf_test_cpu();
  g_autoptr(AgfWeights) w = agf_weights_open(wpath, dev, AGF_F32, &error);
  g_assert_no_error(error);
  AgfSsdgLossConfig lc;
  agf_ssdg_loss_config_init(&lc);
  g_autoptr(AgfSsdgModel) m = agf_ssdg_model_new(w, 2, &lc, 1, &error);
  g_assert_no_error(error);
  /* the discriminator is checkpointed but not exported */
  g_assert_cmpint(agf_param_set_find(agf_ssdg_model_state(m),
                                     "ssdg_disc.fc1.weight"), >=, 0);
  g_assert_cmpint(agf_param_set_find(agf_ssdg_model_network(m),
                                     "ssdg_disc.fc1.weight"), <, 0);

  g_autoptr(AgfSsdgData) d = load_train();
  const int n = 2 * 2 * PER_CLASS, n_live = n / 2;
  guint rows[2 * 2 * PER_CLASS];
  int truth[2 * 2 * PER_CLASS], domain[2 * 2 * PER_CLASS];
  agf_ssdg_sample(d, 0, 0, PER_CLASS, rows, NULL);
  for (int i = 0; i < n; i++) {
    truth[i] = agf_ssdg_data_item(d, rows[i])->truth;
    domain[i] = agf_ssdg_data_item(d, rows[i])->domain;
  }
  double adv[3];
  for (int variant = 0; variant < 3; variant++) {
    g_autoptr(AgfTensor) image = NULL, cue = NULL;
    g_assert_true(agf_ssdg_data_load(d, rows, NULL, n, dev, AGF_F32, &image,
                                     &cue, &error));
    g_assert_no_error(error);
    if (variant) {
      /* variant 1: every spoof's cue and image replaced; 2: one live's */
      const gsize per = 3 * S * S;
      g_autofree float *c = agf_test_read_f32(cue);
      g_autofree float *im = agf_test_read_f32(image);
      const int from = variant == 1 ? n_live : 0, to = variant == 1 ? n : 1;
      for (gsize j = from * per; j < to * per; j++) {
        c[j] = -c[j] * 0.5f + 0.3f;
        im[j] = -im[j];
      }
      agf_tensor_unref(cue);
      agf_tensor_unref(image);
      const int64_t shape[4] = { n, 3, S, S };
      cue = agf_test_tensor(dev, AGF_F32, 4, shape, c);
      image = agf_test_tensor(dev, AGF_F32, 4, shape, im);
    }
    AgfSsdgTerms t;
    g_autoptr(AgfTensor) loss = agf_ssdg_loss(m, image, cue, truth, domain,
                                              n, 0.5, 0, 0, &t, &error);
    g_assert_no_error(error);
    g_assert_cmpint(t.n_disc, ==, n_live);
    g_assert_true(isfinite(t.total) && isfinite(t.adv));
    adv[variant] = t.adv;
  }
  g_assert_cmpfloat(adv[1], ==, adv[0]);
  g_assert_cmpfloat(adv[2], !=, adv[0]);

  /* a batch whose live faces do not come first is refused */
  int swapped[2 * 2 * PER_CLASS];
  for (int i = 0; i < n; i++)
    swapped[i] = truth[n - 1 - i];
  g_autoptr(AgfTensor) image = NULL, cue = NULL;
  g_assert_true(agf_ssdg_data_load(d, rows, NULL, n, dev, AGF_F32, &image,
                                   &cue, &error));
  AgfSsdgTerms t;
  g_autoptr(AgfTensor) bad = agf_ssdg_loss(m, image, cue, swapped, domain, n,
                                           0.5, 0, 0, &t, &error);
  g_assert_null(bad);
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
}

/* The GRL sits between the network and the discriminator: the
 * discriminator's gradient does not depend on its coefficient, the
 * network's changes linearly with it, by the adversarial part times
 * -coeff: a step against the network gradient's part at coeff -1 (no
 * reversal) lowers the adversarial loss, so at coeff > 0 the network
 * climbs it. Inference mode, so that batch norm keeps its statistics. */
static void test_grl_backward(void)
{
  GError *error = NULL;
  g_autofree char *wpath = g_build_filename(root, "grl-init.safetensors",
                                            NULL);
  AgfOanetConfig cfg;
  agf_ssdg_variant_config(AGF_PRESET_TINY, AGF_OANET_FULL, &cfg);
  g_assert_true(agf_preset_write_random_oanet(AGF_PRESET_TINY, &cfg, 4,
                                              AGF_ST_F32, wpath, &error));
  AgfDevice *dev = agf_test_cpu();
  g_autoptr(AgfWeights) w = agf_weights_open(wpath, dev, AGF_F32, &error);
  g_assert_no_error(error);
  AgfSsdgLossConfig lc;
  agf_ssdg_loss_config_init(&lc);
  g_autoptr(AgfSsdgModel) m = agf_ssdg_model_new(w, 2, &lc, 1, &error);
  g_assert_no_error(error);
  AgfParamSet *st = agf_ssdg_model_state(m);
  AgfTensor *leaf[2] = {
    agf_param_set_tensor(st, agf_param_set_find(st, "head.fc.weight")),
    agf_param_set_tensor(st, agf_param_set_find(st, "ssdg_disc.fc2.weight")),
  };
  for (int l = 0; l < 2; l++)
    agf_tensor_set_requires_grad(leaf[l], TRUE);

  g_autoptr(AgfSsdgData) d = load_train();
  const int n = 2 * 2 * PER_CLASS;
  guint rows[2 * 2 * PER_CLASS];
  int truth[2 * 2 * PER_CLASS], domain[2 * 2 * PER_CLASS];
  agf_ssdg_sample(d, 0, 0, PER_CLASS, rows, NULL);
  for (int i = 0; i < n; i++) {
    truth[i] = agf_ssdg_data_item(d, rows[i])->truth;
    domain[i] = agf_ssdg_data_item(d, rows[i])->domain;
  }
  g_autoptr(AgfTensor) image = NULL, cue = NULL;
  g_assert_true(agf_ssdg_data_load(d, rows, NULL, n, dev, AGF_F32, &image,
                                   &cue, &error));
  g_autoptr(AgfTape) tape = agf_tape_new(dev, &error);
  g_assert_no_error(error);
  const double coeff[4] = { 0.0, 0.5, 1.0, -1.0 };
  float *grad[4][2];
  gsize len[2];
  for (int k = 0; k < 4; k++) {
    AgfSsdgTerms t;
    g_autoptr(AgfTensor) loss = agf_ssdg_loss(m, image, cue, truth, domain,
                                              n, coeff[k], 0, 0, &t, &error);
    g_assert_no_error(error);
    g_assert_true(agf_backward(tape, loss, NULL, &error));
    g_assert_no_error(error);
    for (int l = 0; l < 2; l++) {
      len[l] = (gsize)agf_tensor_numel(leaf[l]);
      grad[k][l] = agf_test_read_f32(agf_tensor_grad(leaf[l]));
      agf_tensor_clear_grad(leaf[l]);
    }
  }
  for (int k = 1; k < 4; k++)
    g_assert_cmpmem(grad[k][1], len[1] * sizeof(float), grad[0][1],
                    len[1] * sizeof(float));
  double d1 = 0, dd = 0, dm = 0, plain = 0;
  for (gsize j = 0; j < len[0]; j++) {
    const double a = grad[1][0][j] - grad[0][0][j];
    const double b = grad[2][0][j] - grad[0][0][j];
    const double c = grad[3][0][j] - grad[0][0][j];
    d1 += a * a;
    dd += (b - 2 * a) * (b - 2 * a);
    dm += (b + c) * (b + c);
    plain += c * c;
  }
  g_assert_cmpfloat(d1, >, 0);
  g_assert_cmpfloat(sqrt(dd), <, 1e-3 * 2 * sqrt(d1));
  g_assert_cmpfloat(sqrt(dm), <, 1e-3 * sqrt(plain));
  /* a small step along -(plain adversarial gradient) lowers adv */
  g_autofree float *w0 = agf_test_read_f32(leaf[0]);
  g_autofree float *w1 = g_new(float, len[0]);
  for (gsize j = 0; j < len[0]; j++)
    w1[j] = w0[j] - (float)(1e-2 * (grad[3][0][j] - grad[0][0][j]) /
                            sqrt(plain));
  double adv[2];
  agf_no_grad_begin(dev);
  for (int k = 0; k < 2; k++) {
    g_assert_true(agf_tensor_write(leaf[0], k ? w1 : w0, &error));
    AgfSsdgTerms t;
    g_autoptr(AgfTensor) loss = agf_ssdg_loss(m, image, cue, truth, domain,
                                              n, 1.0, 0, 0, &t, &error);
    g_assert_no_error(error);
    adv[k] = t.adv;
  }
  agf_no_grad_end(dev);
  g_test_message("adversarial loss %.6f -> %.6f", adv[0], adv[1]);
  g_assert_cmpfloat(adv[1], <, adv[0]);
  for (int k = 0; k < 4; k++)
    for (int l = 0; l < 2; l++)
      g_free(grad[k][l]);
  for (int l = 0; l < 2; l++)
    agf_tensor_set_requires_grad(leaf[l], FALSE);
}

/* ---- through the binary ---- */

/* oanet on the synthetic sets with the test's settings, then extra. */
static SsdgRun train_run(const char *out, int steps, const char *extra)
{
  g_autofree char *line = g_strdup_printf(
    "oanet %s --out %s --preset tiny --device cpu --steps %d --batch %d "
    "--lr 0.05 --val %s --val-every 0 --log-every 1 --save-every 0 "
    "--disc-hidden 64 --seed 5 %s", train_manifest, out, steps, PER_CLASS,
    val_manifest, extra ? extra : "");
  return ssdg_run(line, NULL);
}

#define STEPS 20

static void test_train(void)
{
  g_autofree char *out = g_build_filename(root, "run", NULL);
  SsdgRun r = train_run(out, STEPS, NULL);
  ssdg_expect(&r, 0, NULL);

  g_autofree char *log_path = g_build_filename(out, "log.jsonl", NULL);
  g_autoptr(GPtrArray) log = ssdg_read_jsonl(log_path);
  g_assert_cmpuint(log->len, ==, STEPS);
  double first = 0, last = 0;
  for (guint i = 0; i < log->len; i++) {
    JsonNode *n = log->pdata[i];
    const gint64 step = (gint64)ssdg_member(n, "step") - 1; /* steps done */
    g_assert_cmpint(step, ==, (gint64)i);
    const double p = (double)(step + 1) / STEPS;
    g_assert_cmpfloat_with_epsilon(ssdg_member(n, "grl_coeff"),
                                   2.0 / (1.0 + exp(-10.0 * p)) - 1.0, 1e-6);
    /* the discriminator saw the live half of the batch */
    g_assert_cmpfloat(ssdg_member(n, "disc_samples"), ==, 2 * PER_CLASS);
    if (i < 5)
      first += ssdg_member(n, "loss") / 5;
    if (i >= log->len - 5)
      last += ssdg_member(n, "loss") / 5;
  }
  g_test_message("loss %.4f -> %.4f", first, last);
  g_assert_cmpfloat(last, <, 0.8 * first);

  g_autofree char *val_path = g_build_filename(out, "val.jsonl", NULL);
  g_autoptr(GPtrArray) val = ssdg_read_jsonl(val_path);
  g_assert_cmpuint(val->len, ==, 1);
  const double auc = ssdg_member(val->pdata[0], "auc");
  g_test_message("val AUC %.4f, HTER %.4f", auc,
                 ssdg_member(val->pdata[0], "hter"));
  g_assert_cmpfloat(auc, >, 0.9);
  g_assert_cmpfloat(ssdg_member(val->pdata[0], "n"), ==, 4 * VAL_PER_POOL);

  /* `agfas-train eval` reads the validation scores and agrees. */
  g_autofree char *ev = g_build_filename(out, "eval", NULL);
  g_autofree char *scores_csv = g_build_filename(out, "val",
                                                 "step-000020.csv", NULL);
  g_autofree char *line = g_strdup_printf("eval %s --out %s", scores_csv, ev);
  r = ssdg_run(line, NULL);
  ssdg_expect(&r, 0, NULL);
  g_autofree char *report = g_build_filename(ev, "report.json", NULL);
  g_autoptr(JsonNode) rep = ssdg_read_json(report);
  JsonObject *overall = json_object_get_object_member(
    json_node_get_object(rep), "overall");
  g_assert_cmpfloat(fabs(json_object_get_double_member(overall, "auc") - auc),
                    <, 1e-3);

  /* The export is an OA-Net without the discriminator that scores the
   * validation faces through the app's agf_dfg_score as the trainer's
   * validation did. */
  GError *error = NULL;
  g_autofree char *wpath = g_build_filename(out, "oanet.safetensors", NULL);
  AgfDevice *dev = agf_test_cpu();
  g_autoptr(AgfWeights) w = agf_weights_open(wpath, dev, AGF_F32, &error);
  g_assert_no_error(error);
  g_assert_false(agf_weights_has(w, "ssdg_disc.fc1.weight"));
  g_autoptr(AgfOanet) net = agf_oanet_new(w, &error);
  g_assert_no_error(error);
  g_autoptr(AgfSsdgData) vd = agf_ssdg_data_new();
  g_assert_true(agf_ssdg_data_add_manifest(vd, val_manifest, NULL, NULL,
                                           NULL, FALSE, NULL, &error));
  guint rows[4] = { 0, VAL_PER_POOL, 2 * VAL_PER_POOL, 3 * VAL_PER_POOL };
  g_autoptr(AgfTensor) image = NULL, cue = NULL;
  g_assert_true(agf_ssdg_data_load(vd, rows, NULL, 4, dev, AGF_F32, &image,
                                   &cue, &error));
  g_autoptr(AgfTensor) spoof = NULL;
  g_assert_true(agf_dfg_score(net, image, cue, &spoof, NULL, &error));
  g_assert_no_error(error);
  g_autofree float *got = agf_test_read_f32(spoof);
  g_autoptr(AgfManifest) scores = agf_manifest_load(scores_csv, &error);
  g_assert_no_error(error);
  for (int i = 0; i < 4; i++) {
    const AgfManifestRecord *rec = agf_manifest_get(scores, rows[i]);
    g_assert_cmpfloat(fabs(got[i] - rec->score), <, 1e-4);
  }
}

/* SIGINT after step 3 (a real signal, sent by the run to itself through
 * train_loop's test hook), then --resume: the exported weights and the
 * validation scores equal those of the straight run. */
static void test_resume(void)
{
  g_autofree char *straight = g_build_filename(root, "straight", NULL);
  g_autofree char *cut = g_build_filename(root, "cut", NULL);
  const char *extra = "--val-every 4 --batch 2";
  SsdgRun r = train_run(straight, 8, extra);
  ssdg_expect(&r, 0, NULL);
  g_auto(GStrv) env = g_environ_setenv(g_get_environ(),
                                       "AGFAS_TRAIN_SIGNAL_AT_STEP", "3",
                                       TRUE);
  g_autofree char *line = g_strdup_printf(
    "oanet %s --out %s --preset tiny --device cpu --steps 8 --lr 0.05 "
    "--val %s --log-every 1 --save-every 0 --disc-hidden 64 --seed 5 %s",
    train_manifest, cut, val_manifest, extra);
  r = ssdg_run(line, env);
  ssdg_expect(&r, 130, "--resume");
  g_autofree char *log_path = g_build_filename(cut, "log.jsonl", NULL);
  g_autoptr(GPtrArray) part = ssdg_read_jsonl(log_path);
  g_assert_cmpuint(part->len, ==, 3);

  g_autofree char *resume = g_strdup_printf("%s --resume %s", extra, cut);
  r = train_run(cut, 8, resume);
  ssdg_expect(&r, 0, NULL);
  g_autoptr(GPtrArray) log = ssdg_read_jsonl(log_path);
  g_assert_cmpuint(log->len, ==, 8);
  const char *files[] = { "oanet.safetensors", "val/step-000008.csv" };
  for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
    g_autofree char *a = g_build_filename(straight, files[i], NULL);
    g_autofree char *b = g_build_filename(cut, files[i], NULL);
    gsize la = 0, lb = 0;
    g_autofree gchar *da = NULL, *db = NULL;
    g_assert_true(g_file_get_contents(a, &da, &la, NULL));
    g_assert_true(g_file_get_contents(b, &db, &lb, NULL));
    g_assert_cmpmem(da, la, db, lb);
  }
}

/* The ablations train from random weights of their own shape and export
 * a network of their variant. */
static void test_variants(void)
{
  for (int v = AGF_OANET_IMAGE_ONLY; v <= AGF_OANET_DUAL_BRANCH; v++) {
    const char *name = agf_oanet_variant_name((AgfOanetVariant)v);
    g_autofree char *out = g_build_filename(root, name, NULL);
    g_autofree char *extra = g_strdup_printf("--variant %s", name);
    SsdgRun r = train_run(out, 2, extra);
    ssdg_expect(&r, 0, NULL);
    GError *error = NULL;
    g_autofree char *wpath = g_build_filename(out, "oanet.safetensors", NULL);
    g_autoptr(AgfWeights) w = agf_weights_open(wpath, agf_test_cpu(),
                                               AGF_F32, &error);
    g_assert_no_error(error);
    g_autoptr(AgfOanet) net = agf_oanet_new(w, &error);
    g_assert_no_error(error);
    g_assert_cmpint(agf_oanet_config(net)->variant, ==, v);
    g_assert_false(agf_weights_has(w, "cue_encoder.conv1.weight"));
  }
}

/* --protocol: the sources' train records train with the datasets' domain
 * names, their val records validate. */
static void test_protocol(void)
{
  g_autofree char *proto = ssdg_write_protocol(root, train_manifest,
                                               val_manifest);
  g_autofree char *out = g_build_filename(root, "proto-run", NULL);
  g_autofree char *line = g_strdup_printf(
    "oanet --protocol %s --out %s --preset tiny --device cpu --steps 2 "
    "--batch 2 --disc-hidden 16", proto, out);
  SsdgRun r = ssdg_run(line, NULL);
  ssdg_expect(&r, 0, NULL);
  g_autofree char *cfg_path = g_build_filename(out, "config.json", NULL);
  g_autoptr(JsonNode) cfg = ssdg_read_json(cfg_path);
  JsonArray *doms = json_object_get_array_member(json_node_get_object(cfg),
                                                 "domains");
  g_assert_cmpuint(json_array_get_length(doms), ==, 2);
  g_assert_cmpstr(json_array_get_string_element(doms, 0), ==, "RA");
  g_assert_cmpstr(json_array_get_string_element(doms, 1), ==, "NUAA");
  g_assert_cmpfloat(ssdg_member(cfg, "faces"), ==, 4 * PER_POOL);
  g_autofree char *val_path = g_build_filename(out, "val.jsonl", NULL);
  g_autoptr(GPtrArray) val = ssdg_read_jsonl(val_path);
  g_assert_cmpfloat(ssdg_member(val->pdata[0], "n"), ==, 4 * VAL_PER_POOL);
  GError *error = NULL;
  g_autofree char *csv = g_build_filename(out, "val", "step-000002.csv", NULL);
  g_autoptr(AgfManifest) scores = agf_manifest_load(csv, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(agf_manifest_get(scores, 0)->domain, ==, "RA");
}

/* --dfg: the cues of prepared 256x256 crops are computed first (tiny
 * random DFG models, `cues` into DIR/cues and DIR/val-cues), then used. */
static void test_dfg(void)
{
  GError *error = NULL;
  g_autofree char *models = g_build_filename(root, "models", NULL);
  g_autofree char *dfg_dir = g_build_filename(models, "dfg", NULL);
  g_assert_cmpint(g_mkdir_with_parents(dfg_dir, 0755), ==, 0);
  static const struct {
    const char *file;
    AgfNetKind kind;
  } nets[] = { { "autoencoder_kl.safetensors", AGF_NET_AUTOENCODER },
               { "unet.safetensors", AGF_NET_UNET },
               { "identity.safetensors", AGF_NET_IDENTITY } };
  for (gsize i = 0; i < G_N_ELEMENTS(nets); i++) {
    g_autofree char *p = g_build_filename(dfg_dir, nets[i].file, NULL);
    g_assert_true(agf_preset_write_random(AGF_PRESET_TINY, nets[i].kind, 1,
                                          AGF_ST_F32, p, &error));
    g_assert_no_error(error);
  }
  g_autofree char *prep = ssdg_make_set(root, "prep", 1, 13, 256);
  g_autofree char *prep_val = ssdg_make_set(root, "prep-val", 1, 14, 256);
  g_autofree char *out = g_build_filename(root, "dfg-run", NULL);
  g_autofree char *line = g_strdup_printf(
    "oanet %s --dfg %s --val %s --out %s --preset tiny --device cpu "
    "--steps 1 --batch 1 --disc-hidden 8", prep, models, prep_val, out);
  SsdgRun r = ssdg_run(line, NULL);
  ssdg_expect(&r, 0, NULL);
  const char *subs[] = { "cues", "val-cues" };
  for (gsize i = 0; i < G_N_ELEMENTS(subs); i++) {
    g_autofree char *m = g_build_filename(out, subs[i], "manifest.jsonl",
                                          NULL);
    g_autoptr(AgfSsdgData) d = agf_ssdg_data_new();
    g_assert_true(agf_ssdg_data_add_manifest(d, m, NULL, NULL, NULL, TRUE,
                                             NULL, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(agf_ssdg_data_len(d), ==, 4);
  }
  g_autofree char *val_path = g_build_filename(out, "val.jsonl", NULL);
  g_autoptr(GPtrArray) val = ssdg_read_jsonl(val_path);
  g_assert_cmpfloat(ssdg_member(val->pdata[0], "n"), ==, 4);
}

/* Data SSDG cannot train on fails early with a message saying why. */
static void test_errors(void)
{
  /* one domain: every record of the training set renamed */
  g_autofree char *one = g_build_filename(root, "train", "one.jsonl", NULL);
  GError *error = NULL;
  g_autoptr(AgfManifest) m = agf_manifest_load(train_manifest, &error);
  g_assert_no_error(error);
  for (guint i = 0; i < agf_manifest_len(m); i++) {
    AgfManifestRecord *r = agf_manifest_get(m, i);
    g_free(r->domain);
    r->domain = g_strdup("only");
  }
  g_assert_true(agf_manifest_save(m, one, AGF_MANIFEST_JSONL, &error));
  g_assert_no_error(error);
  g_autofree char *out = g_build_filename(root, "err", NULL);
  const struct {
    const char *data, *extra;
    int status;
    const char *needle;
  } cases[] = {
    { "", "", 2, "missing data" },
    { one, "", 1, "at least two source domains" },
    { train_manifest, "--domain-col subject", 1,
      "no value in column 'subject'" },
    { train_manifest, "--variant vit", 1, "--variant vit is not" },
  };
  for (gsize c = 0; c < G_N_ELEMENTS(cases); c++) {
    g_autofree char *line = g_strdup_printf(
      "oanet %s --out %s --preset tiny %s", cases[c].data, out,
      cases[c].extra);
    SsdgRun r = ssdg_run(line, NULL);
    ssdg_expect(&r, cases[c].status, cases[c].needle);
  }
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  if (!g_getenv("AGFAS_TRAIN")) {
    g_printerr("test_train_oanet: set AGFAS_TRAIN to the agfas-train "
               "binary\n");
    return 1;
  }
  GError *error = NULL;
  root = g_dir_make_tmp("agfas-ssdg-XXXXXX", &error);
  g_assert_no_error(error);
  train_manifest = ssdg_make_set(root, "train", PER_POOL, 11, S);
  val_manifest = ssdg_make_set(root, "val", VAL_PER_POOL, 12, S);
  g_test_add_func("/oanet/sampler", test_sampler);
  g_test_add_func("/oanet/grl", test_grl);
  g_test_add_func("/oanet/disc-live-only", test_disc_live_only);
  g_test_add_func("/oanet/grl-backward", test_grl_backward);
  g_test_add_func("/oanet/train", test_train);
  g_test_add_func("/oanet/resume", test_resume);
  g_test_add_func("/oanet/variants", test_variants);
  g_test_add_func("/oanet/protocol", test_protocol);
  g_test_add_func("/oanet/dfg", test_dfg);
  g_test_add_func("/oanet/errors", test_errors);
  int rc = g_test_run();
  g_autofree char *rm = g_strdup_printf("rm -rf '%s'", root);
  if (rc == 0 && system(rm) != 0)
    g_printerr("test_train_oanet: could not remove %s\n", root);
  g_free(train_manifest);
  g_free(val_manifest);
  g_free(root);
  return rc;
}
