/* agfas-train prepare (the built binary, $AGFAS_TRAIN) on generated inputs
 * only: images without faces, a corrupt file, a missing file and a tiny
 * video (media_support.c). Checks the command line (exit codes 0/1/2), the
 * clear error when the face models are absent, and, when the models are
 * installed, that a run completes with every failure recorded per reason,
 * that a rerun does nothing, that a record deleted from the journal is
 * redone, and that manifest columns are carried over (CSV in and out). */
#include <glib/gstdio.h>
#include <string.h>

#include "cli_support.h"
#include "io/image.h"
#include "io/manifest.h"
#include "io/video.h"
#include "media_support.h"
#include "pipeline/face_models.h"
#include "test_support.h"

static char *tmp_dir;

static char *tmp(const char *name)
{
  return g_build_filename(tmp_dir, name, NULL);
}

/* src/: a flat and a noisy image (no face), a corrupt JPEG, a 12-frame
 * video; manifest.csv naming two of them and a missing file. */
static void make_inputs(void)
{
  g_autofree char *sub = tmp("src/sub");
  g_assert_cmpint(g_mkdir_with_parents(sub, 0755), ==, 0);
  GError *error = NULL;
  g_autoptr(AgfImage) flat = agf_image_new(160, 120, 3, &error);
  memset(flat->pixels, 128, flat->stride * flat->height);
  g_autofree char *a = tmp("src/a.png");
  g_assert_true(agf_image_save_png(flat, a, &error));
  g_autoptr(AgfImage) noise = agf_image_new(96, 80, 3, &error);
  GRand *rand = g_rand_new_with_seed(5);
  for (gsize i = 0; i < noise->stride * noise->height; i++)
    noise->pixels[i] = (guint8)g_rand_int_range(rand, 0, 256);
  g_rand_free(rand);
  g_autofree char *b = tmp("src/sub/b.png");
  g_assert_true(agf_image_save_png(noise, b, &error));
  g_assert_no_error(error);
  g_autofree char *bad = tmp("src/bad.jpg");
  g_assert_true(g_file_set_contents(bad, "\xff\xd8\xff\xe0 not a jpeg", -1,
                                    NULL));
  g_autofree char *clip = tmp("src/clip.mkv");
  g_assert_true(agf_test_write_video(clip, "mpeg4", 12, 4, 0));
  g_autofree char *csv = tmp("src/list.csv");
  g_assert_true(g_file_set_contents(csv,
    "path,label,attack,subject,session\n"
    "a.png,live,none,s1,\"1, morning\"\n"
    "missing.jpg,spoof,print,s2,2\n"
    "sub/b.png,spoof,replay,s2,3\n", -1, NULL));
}

static gboolean have_models(void)
{
  g_autofree char *p = agf_face_model_path("onet", NULL);
  return p != NULL;
}

static guint count_status(const AgfManifest *m, const char *status)
{
  guint n = 0;
  for (guint i = 0; i < agf_manifest_len(m); i++)
    n += !g_strcmp0(agf_manifest_get(m, i)->status, status);
  return n;
}

static AgfManifest *load(const char *path)
{
  GError *error = NULL;
  AgfManifest *m = agf_manifest_load(path, &error);
  g_assert_no_error(error);
  return m;
}

static void test_usage(void)
{
  g_autofree char *src = tmp("src");
  g_autofree char *out = tmp("usage-out");
  AgfCliRun r = agf_cli_run("prepare", "--help", NULL);
  agf_cli_check(&r, 0, "--all-faces");
  r = agf_cli_run("prepare", "--out", out, NULL);
  agf_cli_check(&r, 2, "missing SRC");
  r = agf_cli_run("prepare", src, NULL);
  agf_cli_check(&r, 2, "missing --out");
  r = agf_cli_run("prepare", src, "--out", out, "--frames", "0", NULL);
  agf_cli_check(&r, 2, "--frames");
  r = agf_cli_run("prepare", src, "--out", out, "--format", "xml", NULL);
  agf_cli_check(&r, 2, "--format xml");
  r = agf_cli_run("prepare", src, "--out", out, "--min-score", "1.5", NULL);
  agf_cli_check(&r, 2, "--min-score");
  r = agf_cli_run("prepare", src, "--out", out, "--bogus", NULL);
  agf_cli_check(&r, 2, "--bogus");
  g_assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
}

static void test_no_models(void)
{
  g_autofree char *src = tmp("src");
  g_autofree char *out = tmp("nomodels-out");
  g_autofree char *empty = tmp("empty-models");
  g_assert_cmpint(g_mkdir_with_parents(empty, 0755), ==, 0);
  AgfCliRun r = agf_cli_run("prepare", src, "--out", out, "--models", empty,
                            "--device", "cpu", NULL);
  agf_cli_expect(&r, 1, "tools/fetch_face_models.sh");
  g_assert_nonnull(strstr(r.err, "pnet.safetensors"));
  agf_cli_run_clear(&r);
  /* Nothing is created before the models are found. */
  g_assert_false(g_file_test(out, G_FILE_TEST_EXISTS));

  /* A SRC that does not exist is a failure, not a usage error. */
  g_autofree char *nope = tmp("no-such-src");
  r = agf_cli_run("prepare", nope, "--out", out, NULL);
  g_assert_cmpint(r.status, ==, 1);
  agf_cli_run_clear(&r);
}

static guint count_lines(const char *path)
{
  g_autofree char *text = agf_test_read_text(path);
  guint n = 0;
  for (const char *p = text; *p; p++)
    n += *p == '\n';
  return n;
}

static void test_run_resume(void)
{
  if (!have_models()) {
    g_test_skip("face models not found (run tools/fetch_face_models.sh)");
    return;
  }
  g_autofree char *src = tmp("src");
  g_autofree char *out = tmp("out");
  g_autofree char *journal = tmp("out/journal.jsonl");
  g_autofree char *mpath = tmp("out/manifest.jsonl");
  /* The folder walk skips list.csv (not media); 4 video frames. */
  AgfCliRun r = agf_cli_run("prepare", src, "--out", out, "--device", "cpu",
                            "--frames", "4", "--jobs", "2", NULL);
  agf_cli_expect(&r, 0, "no_face 6 unreadable 1");
  g_test_message("%s", r.out);
  agf_cli_run_clear(&r);
  g_autoptr(AgfManifest) m = load(mpath);
  g_assert_cmpuint(agf_manifest_len(m), ==, 7);
  g_assert_cmpuint(count_status(m, "no_face"), ==, 6);
  g_assert_cmpuint(count_status(m, "unreadable"), ==, 1);
  /* Input order (sorted walk: a.png, bad.jpg, clip.mkv, sub/b.png), the
   * video's frames the uniform sampling picks, in order. */
  int64_t idx[4];
  g_assert_cmpint(agf_video_sample_indices(12, 4, idx), ==, 4);
  g_assert_true(g_str_has_suffix(agf_manifest_get(m, 0)->path, "/a.png"));
  g_assert_cmpint(agf_manifest_get(m, 0)->frame, ==, -1);
  const AgfManifestRecord *bad = agf_manifest_get(m, 1);
  g_assert_true(g_str_has_suffix(bad->path, "/bad.jpg"));
  g_assert_nonnull(bad->error);
  for (int i = 0; i < 4; i++) {
    const AgfManifestRecord *f = agf_manifest_get(m, 2 + (guint)i);
    g_assert_true(g_str_has_suffix(f->path, "/clip.mkv"));
    g_assert_cmpint(f->frame, ==, idx[i]);
    g_assert_cmpstr(f->video, ==, f->path);
  }
  g_assert_true(g_str_has_suffix(agf_manifest_get(m, 6)->path, "/b.png"));
  g_assert_cmpstr(agf_manifest_get(m, 6)->source, ==, src);
  g_assert_cmpuint(count_lines(journal), ==, 7);

  /* Rerun: everything is done already. */
  r = agf_cli_run("prepare", src, "--out", out, "--device", "cpu", "--frames",
                  "4", NULL);
  agf_cli_check(&r, 0, "4 files (4 already done), 0 frames");
  g_assert_cmpuint(count_lines(journal), ==, 7);

  /* A frame deleted from the journal is redone, and only that one. */
  g_autofree char *text = agf_test_read_text(journal);
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  g_autofree char *frame = g_strdup_printf("\"frame\":%d,", (int)idx[2]);
  GString *kept = g_string_new(NULL);
  for (char **l = lines; *l; l++)
    if (**l && !(strstr(*l, "clip.mkv") && strstr(*l, frame)))
      g_string_append_printf(kept, "%s\n", *l);
  g_assert_true(g_file_set_contents(journal, kept->str, -1, NULL));
  g_string_free(kept, TRUE);
  g_assert_cmpuint(count_lines(journal), ==, 6);
  r = agf_cli_run("prepare", src, "--out", out, "--device", "cpu", "--frames",
                  "4", NULL);
  agf_cli_check(&r, 0, "(3 already done), 1 frames");
  g_assert_cmpuint(count_lines(journal), ==, 7);
  g_autoptr(AgfManifest) m2 = load(mpath);
  g_assert_cmpuint(agf_manifest_len(m2), ==, 7);
  g_assert_cmpint(agf_manifest_get(m2, 4)->frame, ==, idx[2]);

  /* Only the run's own files in the output folder (no temporaries). */
  g_autoptr(GDir) d = g_dir_open(out, 0, NULL);
  for (const char *n; (n = g_dir_read_name(d));)
    g_assert_true(!strcmp(n, "crops") || !strcmp(n, "journal.jsonl") ||
                  !strcmp(n, "manifest.jsonl"));
}

static void test_manifest_source(void)
{
  if (!have_models()) {
    g_test_skip("face models not found (run tools/fetch_face_models.sh)");
    return;
  }
  g_autofree char *csv = tmp("src/list.csv");
  g_autofree char *out = tmp("out-csv");
  g_autofree char *mpath = tmp("out-csv/list.csv");
  AgfCliRun r = agf_cli_run("prepare", csv, "--out", out, "--device", "cpu",
                            "--manifest", mpath, NULL);
  agf_cli_check(&r, 0, "no_face 2 missing 1");
  g_autofree char *text = agf_test_read_text(mpath);
  g_assert_true(g_str_has_prefix(text, "path,label,attack,subject,source,"
                                       "status,error,session\n"));
  g_autoptr(AgfManifest) m = load(mpath);
  g_assert_cmpuint(agf_manifest_len(m), ==, 3);
  const AgfManifestRecord *a = agf_manifest_get(m, 0);
  g_assert_cmpint(a->label, ==, AGF_LABEL_LIVE);
  g_assert_cmpstr(a->subject, ==, "s1");
  g_assert_cmpstr(agf_manifest_record_get_extra(a, "session"), ==,
                  "1, morning");
  g_assert_cmpstr(a->source, ==, csv);
  const AgfManifestRecord *miss = agf_manifest_get(m, 1);
  g_assert_cmpstr(miss->status, ==, "missing");
  g_assert_cmpint(miss->label, ==, AGF_LABEL_SPOOF);
  g_assert_cmpstr(agf_manifest_get(m, 2)->attack, ==, "replay");
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  if (!agf_cli_available("test_prepare"))
    return 77;
  tmp_dir = agf_test_make_tmp("agfas-prepare-XXXXXX");
  make_inputs();
  g_test_add_func("/prepare/usage", test_usage);
  g_test_add_func("/prepare/no-models", test_no_models);
  g_test_add_func("/prepare/run-resume", test_run_resume);
  g_test_add_func("/prepare/manifest-source", test_manifest_source);
  int rc = g_test_run();
  agf_test_remove_tree(tmp_dir);
  g_free(tmp_dir);
  return rc;
}
