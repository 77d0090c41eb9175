/* agfas-train eval (the built binary, $AGFAS_TRAIN): report.json holds
 * exactly what engine/metrics computes from the same scores (frame level,
 * video level, labels joined from a manifest, the --val threshold, per
 * domain, the mean and median score per class); --score-column reads
 * another column as the score (figures against hand-computed values); the
 * plots are real PNG/SVG files; bad inputs exit 1 with one
 * "agfas-train: error:" line, bad command lines exit 2. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include "cli_support.h"
#include "io/image.h"
#include "metrics/fas_metrics.h"
#include "test_support.h"

static char *tmp_dir;

/* agf_cli_check on a run that is not kept. */
static void expect(AgfCliRun r, int want, const char *needle)
{
  agf_cli_check(&r, want, needle);
}

static char *write_tmp(const char *name, const char *text)
{
  char *path = g_build_filename(tmp_dir, name, NULL);
  GError *error = NULL;
  g_assert_true(g_file_set_contents(path, text, -1, &error));
  g_assert_no_error(error);
  return path;
}

static JsonObject *load_report(const char *dir, JsonParser **parser)
{
  g_autofree char *path = g_build_filename(dir, "report.json", NULL);
  return agf_test_read_json(path, parser);
}

static void cmp(double got, double want)
{
  g_assert_cmpfloat_with_epsilon(got, want, 1e-12);
}

#define D(obj, key) json_object_get_double_member(obj, key)
#define O(obj, key) json_object_get_object_member(obj, key)

static int cmp_double(const void *a, const void *b)
{
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* score_mean / score_median of a figures object: one entry per class
 * (live, each attack type), each the mean / median of its samples. */
static void check_class_scores(JsonObject *o, const double *s, const int *l,
                               const char *const *at, gsize n)
{
  JsonObject *mean = O(o, "score_mean"), *median = O(o, "score_median");
  gsize n_classes = 0;
  for (gsize i = 0; i < n; i++) {
    const char *name = l[i] ? at[i] : "live";
    gsize first = 0;
    while (strcmp(l[first] ? at[first] : "live", name))
      first++;
    if (first < i)
      continue; /* counted at its first sample */
    n_classes++;
    double v[64], sum = 0;
    gsize m = 0;
    for (gsize j = i; j < n; j++)
      if (!strcmp(l[j] ? at[j] : "live", name))
        sum += v[m++] = s[j];
    qsort(v, m, sizeof *v, cmp_double);
    cmp(D(mean, name), sum / m);
    cmp(D(median, name), m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2);
  }
  g_assert_cmpuint(json_object_get_size(mean), ==, n_classes);
  g_assert_cmpuint(json_object_get_size(median), ==, n_classes);
}

/* Checks one report figures object against engine/metrics on the samples
 * (fixed: NAN for none). */
static void check_figures(JsonObject *o, const double *s, const int *l,
                          const char *const *at, gsize n, double fixed)
{
  GError *error = NULL;
  g_autoptr(AgfRoc) roc = agf_roc_compute(s, n, l, n, &error);
  g_assert_no_error(error);
  double thr, tpr;
  double eer = agf_roc_eer(roc, &thr);
  g_assert_true(agf_roc_tpr_at_fpr(roc, 0.01, &tpr, &error));
  AgfHter he;
  g_assert_true(agf_fas_hter_at_eer(s, n, l, n, &he, NULL, &error));
  g_assert_cmpint(json_object_get_int_member(o, "n_live"), ==, roc->n_live);
  g_assert_cmpint(json_object_get_int_member(o, "n_spoof"), ==,
                  roc->n_spoof);
  cmp(D(o, "auc"), agf_roc_auc(roc));
  cmp(D(o, "eer"), eer);
  cmp(D(o, "eer_threshold"), thr);
  cmp(D(o, "tpr_at_fpr_1pct"), tpr);
  cmp(D(O(o, "hter_at_eer"), "hter"), he.hter);
  cmp(D(O(o, "hter_at_eer"), "threshold"), he.threshold);
  check_class_scores(o, s, l, at, n);
  for (int k = 0; k < 2; k++) {
    double t = k ? fixed : thr;
    if (isnan(t)) {
      g_assert_false(json_object_has_member(o, "rates_at_fixed"));
      continue;
    }
    g_autoptr(AgfFasRates) r = agf_fas_rates_at(s, n, l, n, at, n, t,
                                                &error);
    g_assert_no_error(error);
    JsonObject *jr = O(o, k ? "rates_at_fixed" : "rates_at_eer");
    cmp(D(jr, "threshold"), t);
    cmp(D(jr, "bpcer"), r->bpcer);
    cmp(D(jr, "acer"), r->acer);
    cmp(D(jr, "apcer_max"), r->apcer_max);
    g_assert_cmpstr(json_object_get_string_member(jr, "worst_attack_type"),
                    ==, r->worst_attack_type);
    JsonObject *ap = O(jr, "apcer");
    g_assert_cmpuint(json_object_get_size(ap), ==, r->n_attack_types);
    for (gsize i = 0; i < r->n_attack_types; i++)
      cmp(D(O(ap, r->attack_types[i]), "apcer"), r->apcer[i]);
    if (k) {
      AgfHter hf;
      g_assert_true(agf_fas_hter_at(s, n, l, n, t, &hf, &error));
      cmp(D(O(o, "hter_at_fixed"), "hter"), hf.hter);
      cmp(D(O(o, "hter_at_fixed"), "far"), hf.far);
      cmp(D(O(o, "hter_at_fixed"), "frr"), hf.frr);
    }
  }
}

static void check_plots(const char *dir)
{
  const char *stems[] = { "roc", "hist" };
  for (int i = 0; i < 2; i++) {
    g_autofree char *png_name = g_strdup_printf("%s.png", stems[i]);
    g_autofree char *svg_name = g_strdup_printf("%s.svg", stems[i]);
    g_autofree char *png = g_build_filename(dir, png_name, NULL);
    g_autofree char *svg = g_build_filename(dir, svg_name, NULL);
    GError *error = NULL;
    g_autoptr(AgfImage) img = agf_image_load(png, &error);
    g_assert_no_error(error);
    g_assert_cmpint(img->width, >, 100);
    g_assert_cmpint(img->height, >, 100);
    /* Not blank: some pixel is far from white. */
    gboolean inked = FALSE;
    for (int y = 0; y < img->height && !inked; y++)
      for (int x = 0; x < img->width && !inked; x++)
        inked = img->pixels[y * img->stride + x * img->channels] < 100;
    g_assert_true(inked);
    g_autofree char *text = NULL;
    gsize len;
    g_assert_true(g_file_get_contents(svg, &text, &len, &error));
    g_assert_cmpuint(len, >, 1000);
    g_assert_nonnull(strstr(text, "<svg"));
  }
}

/* 6 videos over 2 domains, 2-3 frames each, with ties across classes. */
static const char video_csv[] =
  "path,frame,score,label,attack,domain,video\n"
  "v/a.mp4,0,0.10,live,,A,a\n"
  "v/a.mp4,5,0.30,live,,A,a\n"
  "v/b.mp4,0,0.60,spoof,print,A,b\n"
  "v/b.mp4,5,0.80,spoof,print,A,b\n"
  "v/b.mp4,9,0.70,spoof,print,A,b\n"
  "v/c.mp4,0,0.20,live,,B,c\n"
  "v/c.mp4,5,0.50,live,,B,c\n"
  "v/d.mp4,0,0.35,spoof,replay,B,d\n"
  "v/d.mp4,5,0.35,spoof,replay,B,d\n"
  "v/e.mp4,0,0.05,live,,B,e\n"
  "v/f.mp4,0,0.90,spoof,replay,A,f\n"
  "v/f.mp4,5,0.20,spoof,replay,A,f\n"
  "v/g.mp4,0,0.55,unsure,,A,g\n";

static const double v_scores[] = { 0.10, 0.30, 0.60, 0.80, 0.70, 0.20, 0.50,
                                   0.35, 0.35, 0.05, 0.90, 0.20 };
static const int v_labels[] = { 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1 };
static const char *const v_attacks[] = { NULL, NULL, "print", "print",
  "print", NULL, NULL, "replay", "replay", NULL, "replay", "replay" };
static const char *const v_ids[] = { "a", "a", "b", "b", "b", "c", "c", "d",
                                     "d", "e", "f", "f" };
static const char *const v_domains[] = { "A", "A", "A", "A", "A", "B", "B",
                                         "B", "B", "B", "A", "A" };
#define NV G_N_ELEMENTS(v_scores)

static AgfFasVideos *reference_videos(void)
{
  GError *error = NULL;
  AgfFasVideos *v = agf_fas_videos_from_frames(
    v_scores, NV, v_labels, NV, v_ids, NV, v_attacks, NV, &error);
  g_assert_no_error(error);
  return v;
}

static void check_video_report(const char *dir, double fixed)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *o = load_report(dir, &parser);
  g_assert_cmpstr(json_object_get_string_member(o, "level"), ==, "video");
  g_autoptr(AgfFasVideos) v = reference_videos();
  g_assert_cmpint(json_object_get_int_member(o, "n_samples"), ==, v->n);
  check_figures(O(o, "overall"), v->scores, v->labels,
                (const char *const *)v->attack_types, v->n, fixed);
  /* Per domain: the videos whose first frame is in the domain. */
  JsonObject *doms = O(o, "domains");
  g_assert_cmpuint(json_object_get_size(doms), ==, 2);
  for (int d = 0; d < 2; d++) {
    const char *name = d ? "B" : "A";
    double s[8];
    int l[8];
    const char *at[8];
    gsize n = 0;
    for (gsize i = 0; i < v->n; i++)
      for (gsize f = 0; f < NV; f++)
        if (!strcmp(v_ids[f], v->group_ids[i])) {
          if (!strcmp(v_domains[f], name)) {
            s[n] = v->scores[i];
            l[n] = v->labels[i];
            at[n++] = v->attack_types[i];
          }
          break;
        }
    check_figures(O(doms, name), s, l, at, n, fixed);
  }
}

static void test_video_level(void)
{
  g_autofree char *csv = write_tmp("videos.csv", video_csv);
  g_autofree char *out = g_build_filename(tmp_dir, "out-video", NULL);
  expect(agf_cli_run("eval", csv, "--threshold", "0.4", "--out", out, NULL), 0,
         NULL);
  check_video_report(out, 0.4);
  check_plots(out);
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *o = load_report(out, &parser);
  g_assert_cmpint(json_object_get_int_member(o, "n_unlabeled_skipped"), ==,
                  1);
  g_assert_cmpstr(json_object_get_string_member(O(o, "fixed_threshold"),
                                                "source"), ==,
                  "--threshold");
}

static void test_frame_level(void)
{
  /* No video column: every frame is a sample; no fixed threshold. */
  GString *s = g_string_new("path,frame,score,label,attack\n");
  for (gsize i = 0; i < NV; i++)
    g_string_append_printf(s, "f%zu.png,,%.17g,%s,%s\n", i, v_scores[i],
                           v_labels[i] ? "spoof" : "live",
                           v_attacks[i] ? v_attacks[i] : "");
  g_autofree char *csv = write_tmp("frames.csv", s->str);
  g_string_free(s, TRUE);
  g_autofree char *out = g_build_filename(tmp_dir, "out-frame", NULL);
  expect(agf_cli_run("eval", csv, "--out", out, NULL), 0, NULL);
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *o = load_report(out, &parser);
  g_assert_cmpstr(json_object_get_string_member(o, "level"), ==, "frame");
  g_assert_false(json_object_has_member(o, "domains"));
  check_figures(O(o, "overall"), v_scores, v_labels, v_attacks, NV, NAN);
  check_plots(out);
}

static void test_labels_and_val(void)
{
  /* Scores without labels + a manifest with them: the same report. The
   * manifest lives in another folder and names the media relative to it. */
  GString *scores = g_string_new("path,frame,score\n");
  GString *man = g_string_new("path,label,attack,domain,video,frame\n");
  for (gsize i = 0; i < NV; i++) {
    g_string_append_printf(scores, "v/%s.mp4,%zu,%.17g\n", v_ids[i], i,
                           v_scores[i]);
    g_string_append_printf(man, "../v/%s.mp4,%s,%s,%s,%s,%zu\n", v_ids[i],
                           v_labels[i] ? "spoof" : "live",
                           v_attacks[i] ? v_attacks[i] : "", v_domains[i],
                           v_ids[i], i);
  }
  g_autofree char *csv = write_tmp("unlabeled.csv", scores->str);
  g_autofree char *mdir = g_build_filename(tmp_dir, "m", NULL);
  g_assert_cmpint(g_mkdir_with_parents(mdir, 0755), ==, 0);
  g_autofree char *manifest = write_tmp("m/labels.csv", man->str);
  g_string_free(scores, TRUE);
  g_string_free(man, TRUE);
  /* Validation scores: frame level; the fixed threshold is their EER's. */
  static const double vs[] = { 0.1, 0.42, 0.3, 0.6, 0.42, 0.8 };
  static const int vl[] = { 0, 0, 0, 1, 1, 1 };
  g_autofree char *val = write_tmp("val.csv",
    "path,frame,score,label,attack\n"
    "x0.png,,0.1,live,\nx1.png,,0.42,live,\nx2.png,,0.3,live,\n"
    "x3.png,,0.6,spoof,print\nx4.png,,0.42,spoof,print\n"
    "x5.png,,0.8,spoof,replay\n");
  GError *error = NULL;
  g_autoptr(AgfRoc) vroc = agf_roc_compute(vs, 6, vl, 6, &error);
  g_assert_no_error(error);
  double vthr;
  agf_roc_eer(vroc, &vthr);
  g_autofree char *out = g_build_filename(tmp_dir, "out-join", NULL);
  expect(agf_cli_run("eval", csv, "--labels", manifest, "--val", val, "--out",
                     out, NULL),
         0, NULL);
  check_video_report(out, vthr);
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *o = load_report(out, &parser);
  cmp(D(O(o, "fixed_threshold"), "value"), vthr);
}

/* Frames with a score column and another one (err), by clip. */
static const char err_csv[] =
  "path,frame,score,label,attack,clip,err\n"
  "l1.png,,0.1,live,,x,0.5\n"
  "l2.png,,0.2,live,,x,1.5\n"
  "l3.png,,0.3,live,,y,1.25\n"
  "p1.png,,0.6,spoof,print,p,2.0\n"
  "p2.png,,0.7,spoof,print,p,3.0\n"
  "r1.png,,0.8,spoof,replay,r1,1.25\n"
  "r2.png,,0.9,spoof,replay,r2,0.25\n";

static void test_score_column(void)
{
  g_autofree char *csv = write_tmp("err.csv", err_csv);
  g_autofree char *out = g_build_filename(tmp_dir, "out-col", NULL);
  /* The default column: score, which separates the classes. */
  expect(agf_cli_run("eval", csv, "--out", out, NULL), 0, NULL);
  {
    g_autoptr(JsonParser) parser = NULL;
    JsonObject *o = load_report(out, &parser);
    g_assert_cmpstr(json_object_get_string_member(o, "score_column"), ==,
                    "score");
    cmp(D(O(o, "overall"), "auc"), 1.0);
  }
  /* err per frame: spoof > live in 3 + 3 + 1.5 (a tie) + 0 of the 3 x 4
   * pairs. */
  AgfCliRun r = agf_cli_run("eval", csv, "--score-column", "err", "--out",
                            out, NULL);
  agf_cli_expect(&r, 0, "err per frame, by class");
  g_assert_nonnull(strstr(r.out, "mean 0.75  median 0.75"));
  agf_cli_run_clear(&r);
  {
    g_autoptr(JsonParser) parser = NULL;
    JsonObject *o = load_report(out, &parser);
    g_assert_cmpstr(json_object_get_string_member(o, "score_column"), ==,
                    "err");
    g_assert_cmpstr(json_object_get_string_member(o, "level"), ==, "frame");
    JsonObject *f = O(o, "overall");
    cmp(D(f, "auc"), 7.5 / 12);
    cmp(D(O(f, "score_mean"), "live"), 3.25 / 3);
    cmp(D(O(f, "score_median"), "live"), 1.25);
    cmp(D(O(f, "score_mean"), "print"), 2.5);
    cmp(D(O(f, "score_median"), "print"), 2.5);
    cmp(D(O(f, "score_mean"), "replay"), 0.75);
    cmp(D(O(f, "score_median"), "replay"), 0.75);
  }
  /* Live vs one attack type alone: print is above every live frame;
   * replay wins 1 + 0.5 (a tie) of its 6 pairs. At T = 1: live frames 1.5
   * and 1.25 are rejected (FRR 2/3); replay 0.25 passes (FAR 1/2). */
  r = agf_cli_run("eval", csv, "--score-column", "err", "--threshold", "1",
                  "--out", out, NULL);
  agf_cli_expect(&r, 0, "Live vs each attack type alone");
  agf_cli_run_clear(&r);
  {
    g_autoptr(JsonParser) parser = NULL;
    JsonObject *o = load_report(out, &parser);
    JsonObject *a = O(O(o, "overall"), "per_attack_type");
    JsonObject *print = O(a, "print"), *replay = O(a, "replay");
    g_assert_cmpint(json_object_get_int_member(print, "n_live"), ==, 3);
    g_assert_cmpint(json_object_get_int_member(print, "n_spoof"), ==, 2);
    cmp(D(print, "auc"), 1.0);
    cmp(D(print, "eer"), 0.0);
    cmp(D(replay, "auc"), 1.5 / 6);
    cmp(D(O(print, "hter_at_fixed"), "hter"), (2.0 / 3 + 0) / 2);
    cmp(D(O(replay, "hter_at_fixed"), "hter"), (2.0 / 3 + 0.5) / 2);
    g_assert_true(json_object_has_member(replay, "hter_at_eer"));
  }
  /* Per clip: live clips 1.0 (x) and 1.25 (y); spoof 2.5, 1.25, 0.25. */
  expect(agf_cli_run("eval", csv, "--score-column", "err", "--video-column",
                     "clip", "--out", out, NULL), 0, NULL);
  {
    g_autoptr(JsonParser) parser = NULL;
    JsonObject *o = load_report(out, &parser);
    g_assert_cmpstr(json_object_get_string_member(o, "level"), ==, "video");
    JsonObject *f = O(o, "overall");
    cmp(D(f, "auc"), 3.5 / 6);
    cmp(D(O(f, "score_mean"), "live"), 1.125);
    cmp(D(O(f, "score_median"), "live"), 1.125);
    cmp(D(O(f, "score_mean"), "print"), 2.5);
    cmp(D(O(f, "score_mean"), "replay"), 0.75);
  }
  /* A missing column, a non-numeric value, an empty value: exit 1 naming
   * the column; an empty name: a usage error. */
  g_autofree char *bad_out = g_build_filename(tmp_dir, "out-col-err", NULL);
  expect(agf_cli_run("eval", csv, "--score-column", "residual_l1", "--out",
                     bad_out, NULL), 1, "no residual_l1");
  g_autofree char *text = write_tmp("err-text.csv",
    "path,frame,label,err\na.png,,live,0.5\nb.png,,spoof,high\n");
  expect(agf_cli_run("eval", text, "--score-column", "err", "--out", bad_out,
                     NULL), 1, "record 2 has a non-numeric err 'high'");
  g_autofree char *empty = write_tmp("err-empty.csv",
    "path,frame,label,err\na.png,,live,0.5\nb.png,,spoof,\n");
  expect(agf_cli_run("eval", empty, "--score-column", "err", "--out", bad_out,
                     NULL), 1, "record 2 has no err");
  expect(agf_cli_run("eval", csv, "--score-column", "", "--out", bad_out,
                     NULL), 2, "--score-column");
  g_assert_false(g_file_test(bad_out, G_FILE_TEST_EXISTS));
}

static void test_errors(void)
{
  g_autofree char *out = g_build_filename(tmp_dir, "out-err", NULL);
  g_autofree char *live = write_tmp("live.csv",
    "path,frame,score,label\na.png,,0.1,live\nb.png,,0.2,live\n");
  expect(agf_cli_run("eval", live, "--out", out, NULL), 1, "no spoof samples");
  g_autofree char *noscore = write_tmp("noscore.csv",
    "path,frame,label\na.png,,live\nb.png,,spoof\n");
  expect(agf_cli_run("eval", noscore, "--out", out, NULL), 1, "score");
  g_autofree char *nan = write_tmp("nan.csv",
    "path,frame,score,label\na.png,,nan,live\nb.png,,0.5,spoof\n");
  expect(agf_cli_run("eval", nan, "--out", out, NULL), 1, NULL);
  g_autofree char *nolabel = write_tmp("nolabel.csv",
    "path,frame,score\na.png,,0.1\nb.png,,0.5\n");
  expect(agf_cli_run("eval", nolabel, "--out", out, NULL), 1, "--labels");
  g_autofree char *missing = g_build_filename(tmp_dir, "missing.csv", NULL);
  expect(agf_cli_run("eval", missing, "--out", out, NULL), 1, NULL);
  expect(agf_cli_run("eval", live, "--val", live, "--out", out, NULL), 1,
         NULL);
  g_autofree char *ok = write_tmp("ok.csv",
    "path,frame,score,label\na.png,,0.1,live\nb.png,,0.5,spoof\n");
  expect(agf_cli_run("eval", ok, "--val", missing, "--out", out, NULL), 1,
         "validation");
  expect(agf_cli_run("eval", ok, "--threshold", "0.5", "--val", ok, NULL), 2,
         "--val");
  expect(agf_cli_run("eval", "--out", out, NULL), 2, "SCORES");
  g_assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  tmp_dir = agf_test_make_tmp("agfas-eval-XXXXXX");
  g_test_add_func("/eval/video-level", test_video_level);
  g_test_add_func("/eval/frame-level", test_frame_level);
  g_test_add_func("/eval/labels-and-val", test_labels_and_val);
  g_test_add_func("/eval/score-column", test_score_column);
  g_test_add_func("/eval/errors", test_errors);
  int rc = g_test_run();
  agf_test_remove_tree(tmp_dir);
  g_free(tmp_dir);
  return rc;
}
