/* agfas-train vae and dfg (the built binary, $AGFAS_TRAIN) on the CPU
 * backend, tiny random presets and face-like images drawn here (skin-toned
 * ellipse, eyes, mouth; 32 x 32 crops; live and spoof rows): the loss is
 * finite and falls over ~30 steps on one batch's faces; a SIGINT mid-run
 * (a real signal, sent by the run itself at an exact step through
 * $AGFAS_TRAIN_SIGNAL_AT_STEP) exits 130 leaving a loadable checkpoint;
 * --resume then ends bit-identical to an uninterrupted run; the exported
 * weights load (agf_autoencoder_kl_new, agf_dfg_open) and reconstruct;
 * --identity mobilefacenet widens a fresh U-Net's context. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include "cli_support.h"
#include "test_support.h"
#include "io/image.h"
#include "io/safetensors.h"
#include "models/autoencoder_kl.h"
#include "models/presets.h"
#include "pipeline/dfg.h"
#include "pipeline/face_models.h"

#define SIDE 32
#define N_LIVE 4  /* = the batch: every step sees the same faces */
#define N_SPOOF 2

static char *tmp;      /* the fixture folder */
static char *manifest; /* tmp/manifest.csv */
static char *vae_file, *iresnet_file;

/* ---- fixture ---- */

/* A face-like crop: background, skin ellipse, two dark eyes, a red mouth,
 * slightly moved and tinted per face, plus noise. Spoofs are washed out
 * (they must never be trained on). */
static void write_face(const char *path, guint32 seed, gboolean spoof)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) r = g_rand_new_with_seed(seed);
  g_autoptr(AgfImage) img = agf_image_new(SIDE, SIDE, 3, &error);
  g_assert_no_error(error);
  const double cx = SIDE / 2.0 + g_rand_double_range(r, -2, 2);
  const double cy = SIDE / 2.0 + g_rand_double_range(r, -2, 2);
  const double ax = SIDE * g_rand_double_range(r, 0.28, 0.34);
  const double ay = SIDE * g_rand_double_range(r, 0.36, 0.42);
  const double tone = g_rand_double_range(r, 0.75, 1.05);
  const double bg[3] = { g_rand_double_range(r, 0.1, 0.4),
                         g_rand_double_range(r, 0.1, 0.4),
                         g_rand_double_range(r, 0.1, 0.4) };
  const double skin[3] = { 0.85 * tone, 0.65 * tone, 0.5 * tone };
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++) {
      const double u = (x - cx) / ax, v = (y - cy) / ay;
      double c[3];
      for (int k = 0; k < 3; k++)
        c[k] = u * u + v * v < 1 ? skin[k] : bg[k];
      for (int e = -1; e <= 1; e += 2) {
        const double dx = x - cx - e * ax * 0.4, dy = y - cy + ay * 0.2;
        if (dx * dx + dy * dy < 2.6)
          c[0] = c[1] = c[2] = 0.1;
      }
      if (fabs(y - cy - ay * 0.45) < 1.2 && fabs(x - cx) < ax * 0.4)
        c[0] = 0.6, c[1] = c[2] = 0.2;
      for (int k = 0; k < 3; k++) {
        double p = c[k] + g_rand_double_range(r, -0.03, 0.03);
        if (spoof)
          p = 0.5 + 0.3 * p;
        img->pixels[y * img->stride + x * 3 + k] =
          (guint8)CLAMP(p * 255.0 + 0.5, 0, 255);
      }
    }
  g_assert_true(agf_image_save_png(img, path, &error));
  g_assert_no_error(error);
}

static void make_fixture(void)
{
  g_autoptr(GError) error = NULL;
  tmp = agf_test_make_tmp("agfas-train-dfg-XXXXXX");
  GString *csv = g_string_new("path,label,crop\n");
  for (int i = 0; i < N_LIVE + N_SPOOF; i++) {
    const gboolean spoof = i >= N_LIVE;
    g_autofree char *name = g_strdup_printf("face%d.png", i);
    g_autofree char *path = g_build_filename(tmp, name, NULL);
    write_face(path, 100 + i, spoof);
    g_string_append_printf(csv, "src/%d.jpg,%s,%s\n", i,
                           spoof ? "spoof" : "live", name);
  }
  manifest = g_build_filename(tmp, "manifest.csv", NULL);
  g_assert_true(g_file_set_contents(manifest, csv->str, -1, &error));
  g_string_free(csv, TRUE);
  vae_file = g_build_filename(tmp, "vae.safetensors", NULL);
  iresnet_file = g_build_filename(tmp, "iresnet.safetensors", NULL);
  g_assert_true(agf_preset_write_random(AGF_PRESET_TINY, AGF_NET_AUTOENCODER,
                                        3, AGF_ST_F32, vae_file, &error));
  g_assert_true(agf_preset_write_random(AGF_PRESET_TINY, AGF_NET_IDENTITY, 4,
                                        AGF_ST_F32, iresnet_file, &error));
  g_assert_no_error(error);
}

/* ---- running agfas-train ---- */

/* agfas-train CMD with the fixture's manifest, the common arguments of
 * the command, --out out_dir and the NULL-terminated extra arguments;
 * signal_at > 0 interrupts the run after that step. */
static AgfCliRun train(const char *cmd, const char *out_dir, int signal_at,
                       ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  g_ptr_array_add(argv, (char *)cmd);
  g_ptr_array_add(argv, manifest);
  const char *common[] = { "--preset", "tiny", "--size", "32", "--batch", "4",
                           "--device", "cpu", "--log-every", "1",
                           "--out", out_dir };
  for (guint i = 0; i < G_N_ELEMENTS(common); i++)
    g_ptr_array_add(argv, (char *)common[i]);
  if (!strcmp(cmd, "dfg")) {
    g_ptr_array_add(argv, "--vae");
    g_ptr_array_add(argv, vae_file);
    g_ptr_array_add(argv, "--identity");
    g_ptr_array_add(argv, iresnet_file);
  }
  va_list ap;
  va_start(ap, signal_at);
  for (const char *a = va_arg(ap, const char *); a; a = va_arg(ap, const char *))
    g_ptr_array_add(argv, (char *)a);
  va_end(ap);
  g_ptr_array_add(argv, NULL);
  g_auto(GStrv) env = g_get_environ();
  g_autofree char *at = g_strdup_printf("%d", signal_at);
  env = g_environ_setenv(env, "AGFAS_TRAIN_SIGNAL_AT_STEP", at, TRUE);
  /* tiny shapes: one thread does it, and spinning OpenMP threads only slow
   * a loaded machine down */
  env = g_environ_setenv(env, "OMP_NUM_THREADS", "1", FALSE);
  const gint64 t0 = g_get_monotonic_time();
  AgfCliRun r = agf_cli_runv((const char *const *)argv->pdata, env);
  g_test_message("agfas-train %s --out %s: exit %d in %.1f s", cmd, out_dir,
                 r.status, (double)(g_get_monotonic_time() - t0) * 1e-6);
  return r;
}

static char *out_dir(const char *name)
{
  return g_build_filename(tmp, name, NULL);
}

/* The "loss" of every line of DIR/log.jsonl. */
static GArray *read_losses(const char *dir)
{
  g_autofree char *path = g_build_filename(dir, "log.jsonl", NULL);
  g_autofree char *text = NULL;
  g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
  GArray *v = g_array_new(FALSE, FALSE, sizeof(double));
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (int i = 0; lines[i]; i++) {
    const char *s = strstr(lines[i], "\"loss\":");
    if (!s)
      continue;
    double x = g_ascii_strtod(s + 7, NULL);
    g_array_append_val(v, x);
  }
  return v;
}

static double mean_range(const GArray *v, guint from, guint n)
{
  double s = 0;
  for (guint i = from; i < from + n; i++)
    s += g_array_index(v, double, i);
  return s / n;
}

/* Same tensor names, dtypes, shapes and bytes? */
static gboolean same_weights(const char *a, const char *b)
{
  g_autoptr(GError) error = NULL;
  AgfSafetensors *fa = agf_safetensors_open(a, &error);
  g_assert_no_error(error);
  AgfSafetensors *fb = agf_safetensors_open(b, &error);
  g_assert_no_error(error);
  g_assert_cmpint(agf_safetensors_n_tensors(fa), ==,
                  agf_safetensors_n_tensors(fb));
  g_assert_cmpint(agf_safetensors_n_tensors(fa), >, 0);
  gboolean same = TRUE;
  for (int i = 0; i < agf_safetensors_n_tensors(fa); i++) {
    const AgfStTensor *ta = agf_safetensors_tensor_at(fa, i);
    const AgfStTensor *tb = agf_safetensors_find(fb, ta->name);
    g_assert_nonnull(tb);
    g_assert_cmpint(ta->dtype, ==, tb->dtype);
    g_assert_cmpint(ta->nbytes, ==, tb->nbytes);
    same = same && !memcmp(ta->data, tb->data, ta->nbytes);
  }
  agf_safetensors_close(fa);
  agf_safetensors_close(fb);
  return same;
}

static void assert_same_weights(const char *a, const char *b)
{
  g_assert_true(same_weights(a, b));
}

/* Every value of t finite, and not all equal. */
static void assert_finite_varied(const AgfTensor *t)
{
  g_autofree float *v = agf_test_read_f32(t);
  const int64_t n = agf_tensor_numel(t);
  gboolean varied = FALSE;
  for (int64_t i = 0; i < n; i++) {
    g_assert_true(isfinite(v[i]));
    varied |= v[i] != v[0];
  }
  g_assert_true(varied);
}

/* A batch of the fixture's live faces as the trainer sees them. */
static AgfTensor *live_faces(AgfDevice *dev)
{
  g_autoptr(GError) error = NULL;
  g_autofree float *x = g_new(float, 2 * 3 * SIDE * SIDE);
  for (int b = 0; b < 2; b++) {
    g_autofree char *name = g_strdup_printf("face%d.png", b);
    g_autofree char *path = g_build_filename(tmp, name, NULL);
    g_autoptr(AgfImage) img = agf_image_load(path, &error);
    g_assert_no_error(error);
    for (int c = 0; c < 3; c++)
      for (int y = 0; y < SIDE; y++)
        for (int i = 0; i < SIDE; i++)
          x[((b * 3 + c) * SIDE + y) * SIDE + i] =
            img->pixels[y * img->stride + i * img->channels + c] / 127.5f - 1;
  }
  const int64_t shape[4] = { 2, 3, SIDE, SIDE };
  return agf_test_tensor(dev, AGF_F32, 4, shape, x);
}

/* ---- tests ---- */

/* ~30 steps on the same four faces: finite, and the mean loss of the last
 * five steps clearly under the first five's; only live rows are used. */
static void check_learns(const char *cmd, const char *lr, double max_ratio)
{
  g_autofree char *name = g_strdup_printf("%s-learn", cmd);
  g_autofree char *dir = out_dir(name);
  AgfCliRun r =
    train(cmd, dir, 0, "--steps", "30", "--lr", lr, "--save-every", "0", NULL);
  agf_cli_expect(&r, 0, NULL);
  g_autoptr(GArray) loss = read_losses(dir);
  g_assert_cmpuint(loss->len, ==, 30);
  for (guint i = 0; i < loss->len; i++)
    g_assert_true(isfinite(g_array_index(loss, double, i)));
  const double first = mean_range(loss, 0, 5), last = mean_range(loss, 25, 5);
  g_test_message("%s: loss %.4f -> %.4f (mean of 5 steps)", cmd, first, last);
  g_assert_cmpfloat(last, <, max_ratio * first);
  /* the run folder: config naming the live faces only, the checkpoint */
  g_autofree char *cfg_path = g_build_filename(dir, "config.json", NULL);
  g_autofree char *cfg = NULL;
  g_assert_true(g_file_get_contents(cfg_path, &cfg, NULL, NULL));
  g_autofree char *faces = g_strdup_printf("\"faces\":%d", N_LIVE);
  g_assert_nonnull(strstr(cfg, faces));
  g_autofree char *ckpt = g_build_filename(dir, "checkpoint.safetensors", NULL);
  g_assert_true(g_file_test(ckpt, G_FILE_TEST_IS_REGULAR));
  agf_cli_run_clear(&r);
}

/* Interrupted at step 2 by SIGINT: exit 130, a loadable checkpoint at step
 * 2; --resume to step 6 gives the uninterrupted run's weights bit for bit. */
static void check_resume(const char *cmd, const char *export_name)
{
  g_autofree char *na = g_strdup_printf("%s-straight", cmd);
  g_autofree char *nb = g_strdup_printf("%s-resumed", cmd);
  g_autofree char *a = out_dir(na), *b = out_dir(nb);
  AgfCliRun r = train(cmd, a, 0, "--steps", "6", "--lr", "1e-3", "--ema-decay",
                      "0.9", "--save-every", "0", NULL);
  agf_cli_check(&r, 0, NULL);

  r = train(cmd, b, 2, "--steps", "6", "--lr", "1e-3", "--ema-decay", "0.9",
            "--save-every", "0", NULL);
  agf_cli_check(&r, 130, "interrupted at step 2");
  g_autofree char *ckpt = g_build_filename(b, "checkpoint.safetensors", NULL);
  g_autofree char *exported = g_build_filename(b, export_name, NULL);
  g_assert_false(g_file_test(exported, G_FILE_TEST_EXISTS));
  g_autoptr(GError) error = NULL;
  AgfSafetensors *st = agf_safetensors_open(ckpt, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(agf_safetensors_meta(st, "train.step"), ==, "2");
  agf_safetensors_close(st);
  g_autoptr(AgfWeights) w = agf_weights_open(ckpt, agf_test_cpu(), AGF_F32,
                                             &error);
  g_assert_no_error(error);
  if (!strcmp(cmd, "vae")) {
    g_autoptr(AgfAutoencoderKL) vae = agf_autoencoder_kl_new(w, &error);
    g_assert_no_error(error);
  } else {
    g_autoptr(AgfUnet) unet = agf_unet_new(w, &error);
    g_assert_no_error(error);
  }
  /* a second run into the same folder must not overwrite it */
  r = train(cmd, b, 0, "--steps", "6", "--lr", "1e-3", NULL);
  agf_cli_check(&r, 1, "--resume");

  r = train(cmd, b, 0, "--steps", "6", "--lr", "1e-3", "--ema-decay", "0.9",
            "--save-every", "0", "--resume", b, NULL);
  agf_cli_check(&r, 0, NULL);
  g_autofree char *want = g_build_filename(a, export_name, NULL);
  assert_same_weights(want, exported);
  g_autoptr(GArray) la = read_losses(a), lb = read_losses(b);
  g_assert_cmpuint(la->len, ==, 6);
  g_assert_cmpuint(lb->len, ==, 6);
  g_assert_cmpmem(la->data, 6 * sizeof(double), lb->data, 6 * sizeof(double));
}

static void test_vae_learns(void)
{
  check_learns("vae", "1e-3", 0.85);
}

static void test_vae_resume(void)
{
  check_resume("vae", "autoencoder_kl.safetensors");
}

static void test_dfg_learns(void)
{
  check_learns("dfg", "1e-3", 0.85);
}

static void test_dfg_resume(void)
{
  check_resume("dfg", "unet.safetensors");
}

/* The exports of the learning runs: the autoencoder reconstructs, and the
 * trained U-Net with its schedule metadata runs in the app's DFG. */
static void test_exports_load(void)
{
  g_autoptr(GError) error = NULL;
  AgfDevice *dev = agf_test_cpu();
  g_autofree char *vdir = out_dir("vae-learn"), *udir = out_dir("dfg-learn");
  g_autofree char *vae = g_build_filename(vdir, "autoencoder_kl.safetensors",
                                          NULL);
  g_autofree char *unet = g_build_filename(udir, "unet.safetensors", NULL);
  if (!g_file_test(vae, G_FILE_TEST_EXISTS) ||
      !g_file_test(unet, G_FILE_TEST_EXISTS)) {
    g_test_skip("needs the learning runs (/train-dfg/*/learns) first");
    return;
  }
  g_autoptr(AgfTensor) x = live_faces(dev);
  /* the trained autoencoder: D(E(x)) */
  {
    g_autoptr(AgfWeights) w = agf_weights_open(vae, dev, AGF_F32, &error);
    g_assert_no_error(error);
    g_autoptr(AgfAutoencoderKL) ae = agf_autoencoder_kl_new(w, &error);
    g_assert_no_error(error);
    g_autoptr(AgfTensor) mean = NULL, logvar = NULL;
    g_assert_true(agf_autoencoder_kl_encode(ae, x, &mean, &logvar, &error));
    g_autoptr(AgfTensor) rec = agf_autoencoder_kl_decode(ae, mean, &error);
    g_assert_no_error(error);
    g_assert_cmpint(rec->shape[2], ==, SIDE);
    assert_finite_varied(rec);
  }
  AgfSafetensors *st = agf_safetensors_open(unet, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(agf_safetensors_meta(st, "agfas.schedule.prediction_type"),
                  ==, "epsilon");
  g_assert_nonnull(agf_safetensors_meta(st, "agfas.schedule.beta_schedule"));
  g_autofree char *side = g_strdup_printf("%d", SIDE);
  g_assert_cmpstr(agf_safetensors_meta(st, AGF_DFG_META_IMAGE_SIZE), ==, side);
  agf_safetensors_close(st);
  g_autoptr(AgfDfg) dfg = agf_dfg_open(vae_file, unet, iresnet_file, dev,
                                       AGF_F32, &error);
  g_assert_no_error(error);
  AgfDfgParams p;
  agf_dfg_params_init(&p);
  p.strength = 0.3;
  p.steps = 10;
  g_autoptr(AgfTensor) out = NULL;
  AgfDfgInfo info;
  g_assert_true(agf_dfg_reconstruct(dfg, x, &p, NULL, NULL, &out, &info,
                                    &error));
  g_assert_no_error(error);
  g_assert_cmpint(info.n_calls, >, 0);
  agf_dfg_info_clear(&info);
  g_assert_true(agf_tensor_same_shape(out, x));
  assert_finite_varied(out);
}

/* --context-dropout 1: the U-Net never sees an identity, so two identity
 * networks train the same U-Net; with 0 they train different ones. */
static void test_dfg_context_dropout(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *other = out_dir("iresnet-other.safetensors");
  g_assert_true(agf_preset_write_random(AGF_PRESET_TINY, AGF_NET_IDENTITY, 5,
                                        AGF_ST_F32, other, &error));
  g_assert_no_error(error);
  const char *ps[] = { "1", "0" };
  for (guint k = 0; k < G_N_ELEMENTS(ps); k++) {
    char *exported[2];
    for (int n = 0; n < 2; n++) {
      g_autofree char *name = g_strdup_printf("dfg-drop%s-%d", ps[k], n);
      g_autofree char *dir = out_dir(name);
      AgfCliRun r = train("dfg", dir, 0, "--steps", "2", "--lr", "1e-3",
                          "--context-dropout", ps[k], "--identity",
                          n ? other : iresnet_file, NULL);
      agf_cli_check(&r, 0, NULL);
      exported[n] = g_build_filename(dir, "unet.safetensors", NULL);
    }
    g_assert_cmpint(same_weights(exported[0], exported[1]), ==, k == 0);
    g_free(exported[0]);
    g_free(exported[1]);
  }
  g_autofree char *dir = out_dir("dfg-drop-bad");
  AgfCliRun r = train("dfg", dir, 0, "--context-dropout", "1.5", NULL);
  agf_cli_check(&r, 2, "--context-dropout");
}

/* A checkpoint is not a network file: --init refuses it (its optimizer
 * and EMA tensors would otherwise be trained and exported as weights). */
static void test_init_refuses_checkpoint(void)
{
  g_autofree char *vdir = out_dir("vae-learn");
  g_autofree char *ckpt = g_build_filename(vdir, "checkpoint.safetensors",
                                           NULL);
  g_autofree char *uckpt0 = g_build_filename(tmp, "dfg-learn",
                                             "checkpoint.safetensors", NULL);
  if (!g_file_test(ckpt, G_FILE_TEST_EXISTS) ||
      !g_file_test(uckpt0, G_FILE_TEST_EXISTS)) {
    g_test_skip("needs the learning runs (/train-dfg/*/learns) first");
    return;
  }
  g_autofree char *dir = out_dir("vae-init-ckpt");
  AgfCliRun r = train("vae", dir, 0, "--init", ckpt, "--steps", "1", NULL);
  agf_cli_expect(&r, 1, "is a training checkpoint");
  agf_cli_run_clear(&r);
  /* dfg's --init (a U-Net) goes through the same check. */
  g_autofree char *udir = out_dir("dfg-learn");
  g_autofree char *uckpt = g_build_filename(udir, "checkpoint.safetensors",
                                            NULL);
  g_autofree char *dir2 = out_dir("dfg-init-ckpt");
  r = train("dfg", dir2, 0, "--init", uckpt, "--steps", "1", NULL);
  agf_cli_expect(&r, 1, "is a training checkpoint");
  agf_cli_run_clear(&r);
}

/* --identity mobilefacenet (the face front-end's network, when fetched):
 * a fresh tiny U-Net gets a context as wide as its 512-wide tokens. */
static void test_dfg_mobilefacenet(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *mfn = agf_face_model_path("mobilefacenet", &error);
  if (!mfn) {
    g_test_skip("mobilefacenet.safetensors not found (run "
                "tools/fetch_face_models.sh)");
    return;
  }
  g_autofree char *dir = out_dir("dfg-mobilefacenet");
  AgfCliRun r = train("dfg", dir, 0, "--identity", "mobilefacenet", "--steps",
                      "2", "--lr", "1e-3", NULL);
  agf_cli_expect(&r, 0, NULL);
  g_assert_nonnull(strstr(r.err, "context widened from 32 to 512"));
  agf_cli_run_clear(&r);
  g_autofree char *unet = g_build_filename(dir, "unet.safetensors", NULL);
  AgfSafetensors *st = agf_safetensors_open(unet, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(agf_safetensors_meta(st, "cross_attention_dim"), ==, "512");
  agf_safetensors_close(st);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  if (!agf_cli_available("test_train_dfg"))
    return 1;
  make_fixture();
  g_test_add_func("/train-dfg/vae/learns", test_vae_learns);
  g_test_add_func("/train-dfg/vae/resume", test_vae_resume);
  g_test_add_func("/train-dfg/dfg/learns", test_dfg_learns);
  g_test_add_func("/train-dfg/dfg/resume", test_dfg_resume);
  g_test_add_func("/train-dfg/dfg/exports-load", test_exports_load);
  g_test_add_func("/train-dfg/dfg/mobilefacenet", test_dfg_mobilefacenet);
  g_test_add_func("/train-dfg/dfg/context-dropout", test_dfg_context_dropout);
  g_test_add_func("/train-dfg/dfg/init-refuses-checkpoint",
                  test_init_refuses_checkpoint);
  int rc = g_test_run();
  agf_test_remove_tree(tmp);
  g_free(tmp);
  g_free(manifest);
  g_free(vae_file);
  g_free(iresnet_file);
  return agf_test_finish() ? 1 : rc;
}
