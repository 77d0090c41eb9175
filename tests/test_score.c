/* agfas-train score and cues (the built binary, $AGFAS_TRAIN) on random
 * tiny preset networks (agf_preset_write_random) and generated media: two
 * drawn faces, a flat image, a corrupt JPEG and a flat video. Checks the
 * command lines, the clear errors without models, the table's rows (scored
 * faces, no-face rows, the corrupt file's row), that batching does not
 * change a score, that --resume redoes exactly the missing rows, that
 * `agfas-train eval` reads the table, and the cues output and its resume,
 * with each face's residual_l1 against a recomputation from its crop and
 * stored reconstruction (masked and --no-mask).
 * The scoring parts need the MTCNN files (tools/fetch_face_models.sh) and
 * skip without them. */
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

#include "cli_support.h"
#include "io/image.h"
#include "io/manifest.h"
#include "io/safetensors.h"
#include "io/video.h"
#include "media_support.h"
#include "models/presets.h"
#include "nn/device.h"
#include "pipeline/analyze.h"
#include "pipeline/face_align.h"
#include "pipeline/face_mask.h"
#include "pipeline/face_models.h"
#include "test_support.h"

static char *tmp_dir, *models;

static char *tmp(const char *name)
{
  return g_build_filename(tmp_dir, name, NULL);
}

/* ---- a drawn face (media_support.c) placed in a frame ---- */

/* A w x h PNG showing the face at scale s, rotated deg, its crop centre at
 * (cx, cy). */
static void write_face(const char *path, int w, int h, double s, double deg,
                       double cx, double cy)
{
  GError *error = NULL;
  g_autoptr(AgfImage) img = agf_image_new(w, h, 3, &error);
  g_assert_no_error(error);
  double m[2][3], inv[2][3];
  agf_test_face_at(s, deg, cx, cy, m);
  g_assert_true(agf_affine_invert(m, inv));
  agf_test_render_face(img->pixels, w, h, img->stride, inv);
  g_assert_true(agf_image_save_png(img, path, &error));
  g_assert_no_error(error);
}

/* ---- fixtures ---- */

static gboolean have_face_models(void)
{
  g_autofree char *p = agf_face_model_path("onet", NULL);
  return p != NULL;
}

/* A fresh OA-Net ignores its cue (the cross-attention output projections
 * start at zero, as in training): give them random weights so the scores
 * here depend on the DFG and the cue. */
static void wake_cross_attention(const char *path)
{
  GError *error = NULL;
  g_autoptr(AgfSafetensors) st = agf_safetensors_open(path, &error);
  g_assert_no_error(error);
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, agf_safetensors_metadata(st));
  while (g_hash_table_iter_next(&it, &k, &v))
    agf_safetensors_writer_set_meta(w, k, v);
  GRand *rand = g_rand_new_with_seed(7);
  guint woken = 0;
  for (int i = 0; i < agf_safetensors_n_tensors(st); i++) {
    const AgfStTensor *t = agf_safetensors_tensor_at(st, i);
    g_autofree void *data = g_memdup2(t->data, t->nbytes);
    if (strstr(t->name, "cross_attn.proj.weight")) {
      g_assert_cmpint(t->dtype, ==, AGF_ST_F32);
      float *f = data;
      for (int64_t j = 0; j < t->numel; j++)
        f[j] = (float)g_rand_double_range(rand, -0.3, 0.3);
      woken++;
    }
    g_assert_true(agf_safetensors_writer_add(w, t->name, t->dtype, t->ndim,
                                             t->shape, data, &error));
  }
  g_rand_free(rand);
  g_assert_cmpuint(woken, >, 0);
  g_assert_true(agf_safetensors_writer_write(w, path, &error));
  g_assert_no_error(error);
}

/* models/: tiny random DFG + OA-Net, face/ linking the installed MTCNN. */
static void make_models(void)
{
  static const struct {
    const char *rel;
    AgfNetKind kind;
  } nets[] = { { "dfg/autoencoder_kl.safetensors", AGF_NET_AUTOENCODER },
               { "dfg/unet.safetensors", AGF_NET_UNET },
               { "dfg/identity.safetensors", AGF_NET_IDENTITY },
               { "oanet.safetensors", AGF_NET_OANET } };
  models = tmp("models");
  g_autofree char *dfg = g_build_filename(models, "dfg", NULL);
  g_autofree char *face = g_build_filename(models, "face", NULL);
  g_assert_cmpint(g_mkdir_with_parents(dfg, 0755), ==, 0);
  g_assert_cmpint(g_mkdir_with_parents(face, 0755), ==, 0);
  GError *error = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS(nets); i++) {
    g_autofree char *p = g_build_filename(models, nets[i].rel, NULL);
    g_assert_true(agf_preset_write_random(AGF_PRESET_TINY, nets[i].kind, 1,
                                          AGF_ST_F32, p, &error));
    g_assert_no_error(error);
  }
  g_autofree char *oanet = g_build_filename(models, "oanet.safetensors",
                                            NULL);
  wake_cross_attention(oanet);
  static const char *const mtcnn[] = { "pnet", "rnet", "onet" };
  for (gsize i = 0; have_face_models() && i < G_N_ELEMENTS(mtcnn); i++) {
    g_autofree char *src = agf_face_model_path(mtcnn[i], NULL);
    g_autofree char *name = g_strconcat(mtcnn[i], ".safetensors", NULL);
    g_autofree char *dst = g_build_filename(face, name, NULL);
    g_assert_cmpint(symlink(src, dst), ==, 0);
  }
}

/* src/: two faces, a flat image, a corrupt JPEG, a 12-frame flat video;
 * list.csv labelling them. */
static void make_media(void)
{
  g_autofree char *src = tmp("src");
  g_assert_cmpint(g_mkdir_with_parents(src, 0755), ==, 0);
  g_autofree char *f1 = tmp("src/face1.png");
  g_autofree char *f2 = tmp("src/face2.png");
  write_face(f1, 200, 180, 0.5, 5, 95, 90);
  write_face(f2, 240, 200, 0.6, -8, 130, 105);
  GError *error = NULL;
  g_autoptr(AgfImage) flat = agf_image_new(120, 90, 3, &error);
  memset(flat->pixels, 128, flat->stride * flat->height);
  g_autofree char *fl = tmp("src/flat.png");
  g_assert_true(agf_image_save_png(flat, fl, &error));
  g_autofree char *bad = tmp("src/bad.jpg");
  g_assert_true(g_file_set_contents(bad, "\xff\xd8\xff\xe0 not a jpeg", -1,
                                    NULL));
  g_autofree char *clip = tmp("src/clip.mkv");
  g_assert_true(agf_test_write_video(clip, "mpeg4", 12, 4, 0));
  g_autofree char *list = tmp("list.csv");
  g_assert_true(g_file_set_contents(list,
    "path,label,attack,domain\n"
    "src/bad.jpg,spoof,print,d1\n"
    "src/clip.mkv,spoof,replay,d1\n"
    "src/face1.png,live,none,d1\n"
    "src/face2.png,spoof,print,d1\n"
    "src/flat.png,live,none,d1\n", -1, NULL));
}

static AgfManifest *load(const char *path)
{
  GError *error = NULL;
  AgfManifest *m = agf_manifest_load(path, &error);
  g_assert_no_error(error);
  return m;
}

static const AgfManifestRecord *row_of(const AgfManifest *m, const char *tail,
                                       gint64 frame)
{
  for (guint i = 0; i < agf_manifest_len(m); i++) {
    const AgfManifestRecord *r = agf_manifest_get(m, i);
    if (g_str_has_suffix(r->path, tail) && r->frame == frame)
      return r;
  }
  g_error("no row for %s frame %" G_GINT64_FORMAT, tail, frame);
  return NULL;
}

static double extra_num(const AgfManifestRecord *r, const char *key)
{
  const char *v = agf_manifest_record_get_extra(r, key);
  g_assert_nonnull(v);
  g_assert_cmpstr(v, !=, "");
  return g_ascii_strtod(v, NULL);
}

/* The quick DFG settings every run here uses (2 U-Net calls). */
#define QUICK "--device", "cpu", "--steps", "4", "--strength", "0.5", \
              "--frames", "3"

/* ---- tests ---- */

static void test_usage(void)
{
  g_autofree char *src = tmp("src");
  g_autofree char *csv = tmp("usage.csv");
  AgfCliRun r = agf_cli_run("score", "--help", NULL);
  agf_cli_check(&r, 0, "--resume");
  r = agf_cli_run("score", src, NULL);
  agf_cli_check(&r, 2, "missing --csv");
  r = agf_cli_run("score", "--csv", csv, NULL);
  agf_cli_check(&r, 2, "missing PATH");
  r = agf_cli_run("score", src, "--csv", csv, "--batch", "0", NULL);
  agf_cli_check(&r, 2, "--batch");
  r = agf_cli_run("score", src, "--csv", csv, "--sampler", "euler", NULL);
  agf_cli_check(&r, 2, "--sampler");
  r = agf_cli_run("cues", "--help", NULL);
  agf_cli_check(&r, 0, "--store");
  r = agf_cli_run("cues", src, NULL);
  agf_cli_check(&r, 2, "missing --out");
  r = agf_cli_run("--help", NULL);
  agf_cli_check(&r, 0, "score");
  g_assert_false(g_file_test(csv, G_FILE_TEST_EXISTS));
}

static void test_no_models(void)
{
  g_autofree char *src = tmp("src");
  g_autofree char *csv = tmp("nomodels.csv");
  g_autofree char *empty = tmp("empty-models");
  g_assert_cmpint(g_mkdir_with_parents(empty, 0755), ==, 0);
  AgfCliRun r = agf_cli_run("score", src, "--csv", csv, "--models", empty,
                            "--device", "cpu", NULL);
  agf_cli_check(&r, 1, "tools/fetch_face_models.sh");
  /* The face networks alone: the DFG's absence is named. */
  g_autofree char *face_only = tmp("face-only");
  g_autofree char *face_link = g_build_filename(face_only, "face", NULL);
  g_autofree char *face_src = g_build_filename(models, "face", NULL);
  g_assert_cmpint(g_mkdir_with_parents(face_only, 0755), ==, 0);
  g_assert_cmpint(symlink(face_src, face_link), ==, 0);
  if (have_face_models()) {
    r = agf_cli_run("score", src, "--csv", csv, "--models", face_only,
                    "--device", "cpu", NULL);
    agf_cli_check(&r, 1, "dfg/autoencoder_kl.safetensors not found");
  }
  g_autofree char *list = tmp("list.csv");
  g_autofree char *out = tmp("nomodels-cues");
  r = agf_cli_run("cues", list, "--out", out, NULL);
  agf_cli_check(&r, 1, "no face crops");
}

static void test_score_rows(void)
{
  if (!have_face_models()) {
    g_test_skip("face models not found (run tools/fetch_face_models.sh)");
    return;
  }
  g_autofree char *src = tmp("src");
  g_autofree char *csv = tmp("out/scores.csv");
  AgfCliRun r = agf_cli_run("score", src, "--csv", csv, "--models", models,
                            "--batch", "2", QUICK, NULL);
  g_test_message("%s%s", r.out, r.err);
  agf_cli_check(&r, 0, "2 faces scored");
  g_autofree char *text = NULL;
  g_assert_true(g_file_get_contents(csv, &text, NULL, NULL));
  g_assert_true(g_str_has_prefix(text, "path,video,frame,score,source,status,x1,"
                                       "y1,x2,y2,verdict,note\n"));
  g_autoptr(AgfManifest) m = load(csv);
  /* bad.jpg, 3 video frames, face1, face2, flat: in input order. */
  g_assert_cmpuint(agf_manifest_len(m), ==, 7);
  int64_t idx[3];
  g_assert_cmpint(agf_video_sample_indices(12, 3, idx), ==, 3);
  const AgfManifestRecord *bad = agf_manifest_get(m, 0);
  g_assert_true(g_str_has_suffix(bad->path, "/bad.jpg"));
  g_assert_cmpstr(bad->status, ==, "unreadable");
  g_assert_true(isnan(bad->score));
  g_assert_cmpstr(agf_manifest_record_get_extra(bad, "note"), !=, "");
  for (int i = 0; i < 3; i++) {
    const AgfManifestRecord *f = agf_manifest_get(m, 1 + (guint)i);
    g_assert_true(g_str_has_suffix(f->path, "/clip.mkv"));
    g_assert_cmpint(f->frame, ==, idx[i]);
    g_assert_cmpstr(f->video, ==, f->path);
    g_assert_cmpstr(f->status, ==, "no_face");
    g_assert_nonnull(strstr(agf_manifest_record_get_extra(f, "note"),
                            "no face"));
  }
  static const struct {
    const char *name;
    double cx, cy, side;
  } faces[] = { { "/face1.png", 95, 90, 128 }, { "/face2.png", 130, 105,
                                                  154 } };
  for (int k = 0; k < 2; k++) {
    const AgfManifestRecord *f = agf_manifest_get(m, 4 + (guint)k);
    g_assert_true(g_str_has_suffix(f->path, faces[k].name));
    g_assert_cmpstr(f->status, ==, "ok");
    g_assert_cmpint(f->frame, ==, -1);
    g_assert_cmpfloat(f->score, >=, 0);
    g_assert_cmpfloat(f->score, <=, 1);
    g_assert_cmpstr(agf_manifest_record_get_extra(f, "verdict"), ==,
                    f->score >= 0.5 ? "spoof" : "live");
    double x1 = extra_num(f, "x1"), y1 = extra_num(f, "y1");
    double x2 = extra_num(f, "x2"), y2 = extra_num(f, "y2");
    g_assert_cmpfloat(x2 - x1, >, 0.3 * faces[k].side);
    g_assert_cmpfloat(fabs(0.5 * (x1 + x2) - faces[k].cx), <,
                      0.25 * faces[k].side);
    g_assert_cmpfloat(fabs(0.5 * (y1 + y2) - faces[k].cy), <,
                      0.35 * faces[k].side);
  }
  g_assert_cmpstr(agf_manifest_get(m, 6)->status, ==, "no_face");
  /* The faces differ, so their scores do (a constant would pass above). */
  g_assert_cmpfloat(agf_manifest_get(m, 4)->score, !=,
                    agf_manifest_get(m, 5)->score);

  /* Batching does not change a score; a threshold moves the verdict. */
  g_autofree char *csv1 = tmp("out/scores-b1.csv");
  r = agf_cli_run("score", src, "--csv", csv1, "--models", models, "--batch",
                  "1", "--threshold", "0", QUICK, NULL);
  agf_cli_check(&r, 0, NULL);
  g_autoptr(AgfManifest) m1 = load(csv1);
  g_assert_cmpuint(agf_manifest_len(m1), ==, 7);
  for (int k = 4; k < 6; k++) {
    const AgfManifestRecord *a = agf_manifest_get(m, (guint)k);
    const AgfManifestRecord *b = agf_manifest_get(m1, (guint)k);
    g_assert_cmpfloat_with_epsilon(a->score, b->score, 1e-4);
    g_assert_cmpstr(agf_manifest_record_get_extra(b, "verdict"), ==,
                    "spoof");
  }

  /* The background mask is part of the cue: without it the score moves. */
  g_autofree char *f1 = tmp("src/face1.png");
  g_autofree char *csv2 = tmp("out/scores-nomask.csv");
  r = agf_cli_run("score", f1, "--csv", csv2, "--models", models, "--no-mask",
                  QUICK, NULL);
  agf_cli_check(&r, 0, NULL);
  g_autoptr(AgfManifest) m2 = load(csv2);
  g_assert_cmpuint(agf_manifest_len(m2), ==, 1);
  g_assert_cmpfloat(fabs(agf_manifest_get(m2, 0)->score -
                         agf_manifest_get(m, 4)->score), >, 1e-5);

  /* Half-precision networks (--dtype f16): the same score, nearly. */
  g_autofree char *csv16 = tmp("out/scores-f16.csv");
  r = agf_cli_run("score", f1, "--csv", csv16, "--models", models, "--dtype",
                  "f16", QUICK, NULL);
  agf_cli_check(&r, 0, "1 faces scored");
  g_autoptr(AgfManifest) m16 = load(csv16);
  g_assert_cmpfloat_with_epsilon(agf_manifest_get(m16, 0)->score,
                                 agf_manifest_get(m, 4)->score, 5e-3);

  /* An existing table is not replaced without --resume. */
  r = agf_cli_run("score", src, "--csv", csv, "--models", models, QUICK, NULL);
  agf_cli_check(&r, 1, "--resume");
}

static void test_resume_eval(void)
{
  if (!have_face_models()) {
    g_test_skip("face models not found (run tools/fetch_face_models.sh)");
    return;
  }
  /* A manifest as input: its label/attack/domain are carried over. */
  g_autofree char *list = tmp("list.csv");
  g_autofree char *csv = tmp("resume/scores.csv");
  AgfCliRun r =
    agf_cli_run("score", list, "--csv", csv, "--models", models, QUICK, NULL);
  agf_cli_check(&r, 0, NULL);
  g_autoptr(AgfManifest) full = load(csv);
  g_assert_cmpuint(agf_manifest_len(full), ==, 7);
  g_assert_cmpint(row_of(full, "/face2.png", -1)->label, ==,
                  AGF_LABEL_SPOOF);
  g_assert_cmpstr(row_of(full, "/face1.png", -1)->domain, ==, "d1");

  /* A partial table (as a kill leaves it): face2 and one video frame are
   * gone. --resume does exactly those. */
  int64_t idx[3];
  agf_video_sample_indices(12, 3, idx);
  g_autoptr(AgfManifest) part = load(csv);
  g_autoptr(AgfManifest) kept = agf_manifest_new(agf_manifest_dir(part));
  for (guint i = 0; i < agf_manifest_len(part); i++) {
    const AgfManifestRecord *x = agf_manifest_get(part, i);
    if (!g_str_has_suffix(x->path, "/face2.png") &&
        !(g_str_has_suffix(x->path, "/clip.mkv") && x->frame == idx[1]))
      agf_manifest_add(kept, agf_manifest_record_copy(x));
  }
  GError *error = NULL;
  g_assert_true(agf_manifest_save(kept, csv, AGF_MANIFEST_CSV, &error));
  g_assert_no_error(error);
  r = agf_cli_run("score", list, "--csv", csv, "--models", models, "--resume",
                  QUICK, NULL);
  agf_cli_check(&r, 0, "(3 already done), 2 frames, 1 faces scored");
  g_autoptr(AgfManifest) again = load(csv);
  g_assert_cmpuint(agf_manifest_len(again), ==, 7);
  for (guint i = 0; i < 7; i++) {
    const AgfManifestRecord *a = agf_manifest_get(full, i);
    const AgfManifestRecord *b = agf_manifest_get(again, i);
    g_assert_cmpstr(a->path, ==, b->path);
    g_assert_cmpint(a->frame, ==, b->frame);
    g_assert_cmpstr(a->status, ==, b->status);
    if (!isnan(a->score))
      g_assert_cmpfloat_with_epsilon(a->score, b->score, 1e-6);
  }
  /* Nothing left: a second resume scores nothing. */
  r = agf_cli_run("score", list, "--csv", csv, "--models", models, "--resume",
                  QUICK, NULL);
  agf_cli_check(&r, 0, "(5 already done), 0 frames");

  /* eval reads the table: the two scored faces (one live, one spoof);
   * the rows without a score are not samples. */
  g_autofree char *ev = tmp("resume/eval");
  r = agf_cli_run("eval", csv, "--out", ev, NULL);
  agf_cli_check(&r, 0, "2 samples");
  g_autofree char *report = g_build_filename(ev, "report.json", NULL);
  g_assert_true(g_file_test(report, G_FILE_TEST_IS_REGULAR));
}

/* The same pipeline on the Vulkan backend: the same box and score. */
static void test_vulkan(void)
{
  if (!have_face_models()) {
    g_test_skip("face models not found (run tools/fetch_face_models.sh)");
    return;
  }
  GError *error = NULL;
  AgfDevice *dev = agf_device_open("vulkan", &error);
  if (!dev) {
    g_test_skip(error->message);
    g_clear_error(&error);
    return;
  }
  agf_device_free(dev);
  g_autofree char *f1 = tmp("src/face1.png");
  g_autofree char *cpu = tmp("vk/cpu.csv");
  g_autofree char *vk = tmp("vk/vulkan.csv");
  AgfCliRun r =
    agf_cli_run("score", f1, "--csv", cpu, "--models", models, QUICK, NULL);
  agf_cli_check(&r, 0, NULL);
  r = agf_cli_run("score", f1, "--csv", vk, "--models", models, "--steps", "4",
                  "--strength", "0.5", "--device", "vulkan", NULL);
  agf_cli_check(&r, 0, "1 faces scored");
  g_autoptr(AgfManifest) a = load(cpu);
  g_autoptr(AgfManifest) b = load(vk);
  const AgfManifestRecord *x = agf_manifest_get(a, 0);
  const AgfManifestRecord *y = agf_manifest_get(b, 0);
  g_assert_cmpfloat_with_epsilon(x->score, y->score, 1e-3);
  g_assert_cmpfloat_with_epsilon(extra_num(x, "x1"), extra_num(y, "x1"), 1.0);
  g_assert_cmpfloat_with_epsilon(extra_num(x, "y2"), extra_num(y, "y2"), 1.0);
}

/* A run killed (SIGKILL, no chance to clean up) once its first batch is
 * written leaves a complete table: it loads, and --resume finishes it. */
static void test_kill(void)
{
  if (!have_face_models()) {
    g_test_skip("face models not found (run tools/fetch_face_models.sh)");
    return;
  }
  g_autofree char *src = tmp("src");
  g_autofree char *csv = tmp("kill/scores.csv");
  const char *argv[] = { g_getenv("AGFAS_TRAIN"), "score", src, "--csv", csv,
                         "--models", models, "--batch", "1", QUICK, NULL };
  GPid pid;
  GError *error = NULL;
  g_assert_true(g_spawn_async(NULL, (char **)argv, NULL,
                              G_SPAWN_DO_NOT_REAP_CHILD |
                              G_SPAWN_STDOUT_TO_DEV_NULL |
                              G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pid,
                              &error));
  g_assert_no_error(error);
  for (int i = 0; i < 6000 && !g_file_test(csv, G_FILE_TEST_EXISTS); i++)
    g_usleep(10000);
  kill(pid, SIGKILL);
  int status;
  g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
  g_spawn_close_pid(pid);
  g_autoptr(AgfManifest) part = load(csv);
  g_assert_cmpuint(agf_manifest_len(part), >=, 1);
  g_assert_cmpuint(agf_manifest_len(part), <=, 7);
  AgfCliRun r = agf_cli_run("score", src, "--csv", csv, "--models", models,
                            "--resume", QUICK, NULL);
  agf_cli_check(&r, 0, NULL);
  g_autoptr(AgfManifest) done = load(csv);
  g_assert_cmpuint(agf_manifest_len(done), ==, 7);
  g_assert_cmpstr(agf_manifest_get(done, 4)->status, ==, "ok");
}

/* A prepared dataset by hand: crops drawn straight into the aligned frame
 * and records as prepare writes them. */
static char *make_prepared(void)
{
  g_autofree char *dir = tmp("prep/crops");
  g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
  GString *s = g_string_new("{\"path\":\"a.png\",\"status\":\"no_face\"}\n");
  for (int k = 0; k < 3; k++) {
    g_autofree char *name = g_strdup_printf("crops/f%d.png", k);
    g_autofree char *p = g_build_filename(tmp_dir, "prep", name, NULL);
    write_face(p, 256, 256, 1.0 - 0.05 * k, 3.0 * k, 128, 128);
    g_string_append_printf(s, "{\"path\":\"src%d.png\",\"label\":\"%s\","
                           "\"face\":0,\"crop\":\"%s\",\"status\":\"ok\"}\n",
                           k, k ? "spoof" : "live", name);
  }
  char *m = tmp("prep/manifest.jsonl");
  g_assert_true(g_file_set_contents(m, s->str, -1, NULL));
  g_string_free(s, TRUE);
  return m;
}

/* A cues manifest record's residual_l1: present, finite, positive, and
 * the value its cue file's metadata records. */
static double record_l1(const AgfManifestRecord *rec, const char *file)
{
  const double l1 = extra_num(rec, "residual_l1");
  g_assert_true(isfinite(l1));
  g_assert_cmpfloat(l1, >, 0);
  GError *error = NULL;
  g_autoptr(AgfSafetensors) st = agf_safetensors_open(file, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(agf_safetensors_meta(st, "residual_l1"), ==,
                  agf_manifest_record_get_extra(rec, "residual_l1"));
  return l1;
}

/* residual_l1 recomputed on the host from the crop PNG, the stored recon
 * and (masked) the ellipse mask at the template landmarks (the records
 * have none): sum |crop - recon| * mask / (3 * sum(mask)), or the mean
 * |crop - recon| over all pixels. */
static double direct_l1(const char *crop, const char *file, gboolean masked)
{
  const int S = 256;
  GError *error = NULL;
  g_autoptr(AgfImage) img = agf_image_load(crop, &error);
  g_assert_no_error(error);
  g_assert_cmpint(img->width, ==, S);
  g_autoptr(AgfSafetensors) st = agf_safetensors_open(file, &error);
  g_assert_no_error(error);
  g_autofree float *recon = agf_safetensors_read_f32(
    st, "recon", 4, (const int64_t[]){ 1, 3, S, S }, &error);
  g_assert_no_error(error);
  g_autofree float *mask = g_new(float, S * S);
  if (masked) {
    float lm[AGF_FACE_N_LANDMARKS][2];
    AgfFaceEllipseParams p;
    agf_face_template(S, lm);
    agf_face_ellipse_params_init(&p);
    g_assert_true(agf_face_ellipse_mask(lm, S, &p, mask, &error));
  } else {
    for (int i = 0; i < S * S; i++)
      mask[i] = 1;
  }
  double sum = 0, area = 0;
  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++) {
      const double w = mask[y * S + x];
      area += w;
      for (int c = 0; c < 3; c++) {
        const double v =
          img->pixels[y * img->stride + x * img->channels + c] / 127.5 - 1;
        sum += fabs((v - recon[(c * S + y) * S + x]) * w);
      }
    }
  return sum / (3 * area);
}

/* Rewrites a cue file without its residual_l1 metadata (as a file made
 * before the column existed). */
static void strip_l1(const char *file)
{
  GError *error = NULL;
  g_autoptr(AgfSafetensors) st = agf_safetensors_open(file, &error);
  g_assert_no_error(error);
  g_assert_nonnull(agf_safetensors_meta(st, "residual_l1"));
  g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, agf_safetensors_metadata(st));
  while (g_hash_table_iter_next(&it, &k, &v))
    if (strcmp(k, "residual_l1"))
      agf_safetensors_writer_set_meta(w, k, v);
  for (int i = 0; i < agf_safetensors_n_tensors(st); i++) {
    const AgfStTensor *t = agf_safetensors_tensor_at(st, i);
    g_assert_true(agf_safetensors_writer_add(w, t->name, t->dtype, t->ndim,
                                             t->shape, t->data, &error));
  }
  g_assert_true(agf_safetensors_writer_write(w, file, &error));
  g_assert_no_error(error);
}

/* The residual_l1 of records 1..3 of a cues run's manifest. */
static void manifest_l1(const char *out, double l1[3])
{
  g_autofree char *mpath = g_build_filename(out, "manifest.jsonl", NULL);
  g_autoptr(AgfManifest) cm = load(mpath);
  g_assert_cmpuint(agf_manifest_len(cm), ==, 4);
  for (guint i = 1; i < 4; i++) {
    const AgfManifestRecord *rec = agf_manifest_get(cm, i);
    g_autofree char *file = g_build_filename(
      out, agf_manifest_record_get_extra(rec, "cue"), NULL);
    l1[i - 1] = record_l1(rec, file);
  }
}

static void test_cues(void)
{
  g_autofree char *m = make_prepared();
  g_autofree char *out = tmp("cues-out");
  AgfCliRun r =
    agf_cli_run("cues", m, "--out", out, "--models", models, "--batch", "2",
                "--device", "cpu", "--steps", "4", "--strength", "0.5", NULL);
  agf_cli_check(&r, 0, "3 written, 0 already done");
  g_autofree char *mpath = g_build_filename(out, "manifest.jsonl", NULL);
  g_autoptr(AgfManifest) cm = load(mpath);
  g_assert_cmpuint(agf_manifest_len(cm), ==, 4);
  /* The record without a crop has no cue (JSONL leaves it out). */
  const char *none = agf_manifest_record_get_extra(agf_manifest_get(cm, 0),
                                                   "cue");
  g_assert_true(!none || !*none);
  none = agf_manifest_record_get_extra(agf_manifest_get(cm, 0),
                                       "residual_l1");
  g_assert_true(!none || !*none);
  g_autofree char *first = NULL, *second = NULL;
  double l1[3];
  for (guint i = 1; i < 4; i++) {
    const AgfManifestRecord *rec = agf_manifest_get(cm, i);
    const char *rel = agf_manifest_record_get_extra(rec, "cue");
    g_assert_true(g_str_has_prefix(rel, "cues/"));
    g_autofree char *file = g_build_filename(out, rel, NULL);
    GError *error = NULL;
    g_autoptr(AgfSafetensors) st = agf_safetensors_open(file, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(agf_safetensors_meta(st, "format"), ==, "agfas-cue-1");
    g_assert_cmpstr(agf_safetensors_meta(st, "steps"), ==, "4");
    const AgfStTensor *cue = agf_safetensors_find(st, "cue");
    g_assert_nonnull(cue);
    g_assert_cmpint(cue->dtype, ==, AGF_ST_F16);
    g_assert_cmpint(cue->shape[1], ==, 3);
    g_assert_cmpint(cue->shape[3], ==, 256);
    g_autofree float *v = agf_safetensors_read_f32(
      st, "cue", 4, (const int64_t[]){ 1, 3, 256, 256 }, &error);
    g_assert_no_error(error);
    /* Standardized over the (masked) residual: mean 0, sd 1. */
    double sum = 0, sq = 0;
    const gsize n = 3 * 256 * 256;
    for (gsize j = 0; j < n; j++)
      sum += v[j], sq += (double)v[j] * v[j];
    g_assert_cmpfloat(fabs(sum / n), <, 1e-2);
    g_assert_cmpfloat(fabs(sq / n - 1), <, 2e-2);
    g_assert_nonnull(agf_safetensors_find(st, "recon"));
    /* The masked reconstruction error: the recomputation's only
     * difference is the f16 rounding of the stored recon (< 2.5e-4). */
    l1[i - 1] = record_l1(rec, file);
    g_assert_cmpfloat_with_epsilon(l1[i - 1], direct_l1(rec->crop, file,
                                                        TRUE), 3e-4);
    if (i == 1)
      first = g_strdup(file);
    if (i == 2)
      second = g_strdup(file);
  }
  /* eval reads the manifest with residual_l1 as the score: face 0 is
   * live, 1 and 2 untyped attacks; the record without a crop is no
   * sample. */
  g_autofree char *ev = tmp("cues-out/eval");
  r = agf_cli_run("eval", mpath, "--score-column", "residual_l1", "--out", ev,
                  NULL);
  agf_cli_check(&r, 0, "residual_l1 per frame");
  g_autofree char *report = g_build_filename(ev, "report.json", NULL);
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *o = agf_test_read_json(report, &parser);
  g_assert_cmpint(json_object_get_int_member(o, "n_samples"), ==, 3);
  JsonObject *mean = json_object_get_object_member(
    json_object_get_object_member(o, "overall"), "score_mean");
  g_assert_cmpfloat_with_epsilon(
    json_object_get_double_member(mean, "live"), l1[0], 1e-8);
  g_assert_cmpfloat_with_epsilon(
    json_object_get_double_member(mean, "unspecified"), (l1[1] + l1[2]) / 2,
    1e-8);
  /* Resume: a deleted file is redone, the others skipped. */
  g_assert_cmpint(g_unlink(first), ==, 0);
  r = agf_cli_run("cues", m, "--out", out, "--models", models, "--device",
                  "cpu", "--steps", "4", "--strength", "0.5", NULL);
  agf_cli_check(&r, 0, "1 written, 2 already done");
  g_assert_true(g_file_test(first, G_FILE_TEST_IS_REGULAR));
  /* The skipped faces' residual_l1 comes from their files, the redone
   * one's is recomputed: the same values. */
  double again[3];
  manifest_l1(out, again);
  for (int k = 0; k < 3; k++)
    g_assert_cmpfloat_with_epsilon(again[k], l1[k], 1e-6);
  /* A file without residual_l1 (an older run's) is redone. */
  strip_l1(second);
  r = agf_cli_run("cues", m, "--out", out, "--models", models, "--device",
                  "cpu", "--steps", "4", "--strength", "0.5", NULL);
  agf_cli_check(&r, 0, "1 written, 2 already done");
  manifest_l1(out, again);
  for (int k = 0; k < 3; k++)
    g_assert_cmpfloat_with_epsilon(again[k], l1[k], 1e-6);
  /* --no-mask: the mean |crop - recon| over all pixels (f32 stored, so
   * the recomputation matches to float rounding). */
  g_autofree char *nm_out = tmp("cues-nomask");
  r = agf_cli_run("cues", m, "--out", nm_out, "--models", models, "--device",
                  "cpu", "--steps", "4", "--strength", "0.5", "--no-mask",
                  "--store", "f32", "--batch", "3", NULL);
  agf_cli_check(&r, 0, "3 written");
  g_autofree char *nm_path = g_build_filename(nm_out, "manifest.jsonl",
                                              NULL);
  g_autoptr(AgfManifest) nm = load(nm_path);
  for (guint i = 1; i < 4; i++) {
    const AgfManifestRecord *rec = agf_manifest_get(nm, i);
    g_autofree char *file = g_build_filename(
      nm_out, agf_manifest_record_get_extra(rec, "cue"), NULL);
    const double want = direct_l1(rec->crop, file, FALSE);
    g_assert_cmpfloat_with_epsilon(record_l1(rec, file), want, 1e-5 * want);
  }
  /* Crops that cannot be read: a failure, not an empty success. */
  g_autofree char *lost = tmp("prep/lost.jsonl");
  g_assert_true(g_file_set_contents(lost, "{\"path\":\"x.png\",\"crop\":"
                                    "\"crops/gone.png\",\"status\":"
                                    "\"ok\"}\n", -1, NULL));
  g_autofree char *lost_out = tmp("cues-lost");
  r = agf_cli_run("cues", lost, "--out", lost_out, "--models", models,
                  "--device", "cpu", NULL);
  agf_cli_expect_exit(&r, 1, "none of the 1 crops"); /* after progress lines */
  agf_cli_run_clear(&r);

  /* Other settings into the same folder: refused. */
  r = agf_cli_run("cues", m, "--out", out, "--models", models, "--device",
                  "cpu", "--steps", "5", NULL);
  agf_cli_expect_exit(&r, 1, "other settings"); /* after progress lines */
  agf_cli_run_clear(&r);
}

/* The face the pipeline takes: the first (largest) scoring at least the
 * minimum; its crop landmarks are its landmarks through the alignment. */
static void test_pick_face(void)
{
  float tpl[5][2];
  agf_face_template(256, tpl);
  g_autoptr(GArray) faces = g_array_new(FALSE, TRUE, sizeof(AgfFace));
  AgfFace weak = { .x1 = 0, .y1 = 0, .x2 = 300, .y2 = 300, .score = 0.85f };
  AgfFace strong = { .x1 = 10, .y1 = 10, .x2 = 138, .y2 = 138,
                     .score = 0.99f };
  for (int i = 0; i < 5; i++) {
    weak.landmarks[i][0] = tpl[i][0], weak.landmarks[i][1] = tpl[i][1];
    strong.landmarks[i][0] = 10 + 0.5f * tpl[i][0];
    strong.landmarks[i][1] = 10 + 0.5f * tpl[i][1];
  }
  g_array_append_val(faces, weak);
  g_array_append_val(faces, strong);
  AgfPickedFace pf;
  GError *error = NULL;
  g_assert_true(agf_analysis_pick_face(faces, AGF_ANALYSIS_MIN_FACE_SCORE,
                                       &pf, &error));
  g_assert_no_error(error);
  g_assert_cmpfloat(pf.face.score, ==, strong.score);
  for (int i = 0; i < 5; i++) {
    g_assert_cmpfloat_with_epsilon(pf.crop_landmarks[i][0], tpl[i][0], 1e-3);
    g_assert_cmpfloat_with_epsilon(pf.crop_landmarks[i][1], tpl[i][1], 1e-3);
  }
  g_assert_true(agf_analysis_pick_face(faces, 0.5, &pf, &error));
  g_assert_cmpfloat(pf.face.score, ==, weak.score);
  /* None strong enough, or none at all: FALSE without an error. */
  g_assert_false(agf_analysis_pick_face(faces, 0.995, &pf, &error));
  g_assert_no_error(error);
  g_assert_false(agf_analysis_pick_face(NULL, 0.5, &pf, &error));
  g_assert_no_error(error);
  /* Degenerate landmarks: an error. */
  for (int i = 0; i < 5; i++)
    g_array_index(faces, AgfFace, 1).landmarks[i][0] =
      g_array_index(faces, AgfFace, 1).landmarks[i][1] = 7;
  g_assert_false(agf_analysis_pick_face(faces, 0.9, &pf, &error));
  g_assert_nonnull(error);
  g_clear_error(&error);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  if (!agf_cli_available("test_score"))
    return 77;
  tmp_dir = agf_test_make_tmp("agfas-score-XXXXXX");
  make_models();
  make_media();
  g_test_add_func("/analysis/pick-face", test_pick_face);
  g_test_add_func("/score/usage", test_usage);
  g_test_add_func("/score/no-models", test_no_models);
  g_test_add_func("/score/rows", test_score_rows);
  g_test_add_func("/score/resume-eval", test_resume_eval);
  g_test_add_func("/score/kill-resume", test_kill);
  g_test_add_func("/score/vulkan", test_vulkan);
  g_test_add_func("/cues/run-resume", test_cues);
  int rc = g_test_run();
  agf_test_remove_tree(tmp_dir);
  g_free(tmp_dir);
  g_free(models);
  return rc;
}
