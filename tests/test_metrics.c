/* engine/metrics: hand-worked cases and the numpy golden made by
 * tests/reference/metrics.py (tests/golden/metrics.json). */
#include <json-glib/json-glib.h>
#include <math.h>

#include "metrics/fas_metrics.h"
#include "metrics/roc.h"
#include "nn/error.h"

#define TOL 1e-9
#define L AGF_TRUTH_LIVE
#define S AGF_TRUTH_SPOOF

static void
assert_close(double got, double want)
{
  if (!(fabs(got - want) <= TOL))
    g_error("got %.17g, want %.17g", got, want);
}

/* live {0.1, 0.2}, spoof {0.8, 0.9}. Points (thr: FPR, TPR):
 * inf: 0,0  0.9: 0,.5  0.8: 0,1  0.2: .5,1  0.1: 1,1.
 * AUC 1; FPR - FNR = -1, -.5, 0 -> EER 0 exactly at 0.8; TPR@1% = 1. */
static void
test_perfect(void)
{
  const double s[] = {0.1, 0.9, 0.2, 0.8};
  const int y[] = {L, S, L, S};
  g_autoptr(GError) err = NULL;
  g_autoptr(AgfRoc) roc = agf_roc_compute(s, 4, y, 4, &err);
  g_assert_no_error(err);
  g_assert_cmpuint(roc->n_points, ==, 5);
  g_assert_true(isinf(roc->thresholds[0]));
  const double fpr[] = {0, 0, 0, .5, 1}, tpr[] = {0, .5, 1, 1, 1};
  for (int i = 0; i < 5; i++) {
    assert_close(roc->fpr[i], fpr[i]);
    assert_close(roc->tpr[i], tpr[i]);
  }
  assert_close(agf_roc_auc(roc), 1.0);
  double t;
  assert_close(agf_roc_eer(roc, &t), 0.0);
  assert_close(t, 0.8);
  double r;
  g_assert_true(agf_roc_tpr_at_fpr(roc, 0.01, &r, &err));
  assert_close(r, 1.0);
  AgfHter h;
  g_assert_true(agf_fas_hter_at_eer(s, 4, y, 4, &h, NULL, &err));
  assert_close(h.hter, 0.0);
}

/* live {0.8, 0.9}, spoof {0.1, 0.2}: inf: 0,0  0.9: .5,0  0.8: 1,0
 * 0.2: 1,.5  0.1: 1,1. AUC 0; FPR - FNR = -1, -.5, 0 -> EER 1 at 0.8. */
static void
test_inverted(void)
{
  const double s[] = {0.8, 0.9, 0.1, 0.2};
  const int y[] = {L, L, S, S};
  g_autoptr(AgfRoc) roc = agf_roc_compute(s, 4, y, 4, NULL);
  g_assert_nonnull(roc);
  assert_close(agf_roc_auc(roc), 0.0);
  double t;
  assert_close(agf_roc_eer(roc, &t), 1.0);
  assert_close(t, 0.8);
  double r;
  g_assert_true(agf_roc_tpr_at_fpr(roc, 0.5, &r, NULL));
  assert_close(r, 0.0);
}

/* All four scores 0.5: one step inf: 0,0 -> 0.5: 1,1 (the diagonal).
 * AUC 0.5 (every pair tied, counted 1/2); FPR - FNR = -1, 1 -> crossing
 * halfway, EER 0.5, threshold 0.5; TPR@1% = 0.01 on the diagonal.
 * live {0.2, 0.5}, spoof {0.5, 0.9}: inf: 0,0  0.9: 0,.5  0.5: .5,1
 * 0.2: 1,1. Trapezoids .5*.75 + .5*1 = .875 = Mann-Whitney (1 + .5 + 1 +
 * 1)/4. FPR - FNR = -1, -.5, .5 -> EER .25 halfway between (0,.5) and
 * (.5,1); both points are .5 away, the lower threshold 0.5 is chosen.
 * TPR@10% = .5 + (.1/.5) * .5 = .6. */
static void
test_ties(void)
{
  const double s[] = {0.5, 0.5, 0.5, 0.5};
  const int y[] = {L, S, L, S};
  g_autoptr(AgfRoc) roc = agf_roc_compute(s, 4, y, 4, NULL);
  g_assert_cmpuint(roc->n_points, ==, 2);
  assert_close(agf_roc_auc(roc), 0.5);
  double t, r;
  assert_close(agf_roc_eer(roc, &t), 0.5);
  assert_close(t, 0.5);
  g_assert_true(agf_roc_tpr_at_fpr(roc, 0.01, &r, NULL));
  assert_close(r, 0.01);

  const double s2[] = {0.2, 0.5, 0.5, 0.9};
  const int y2[] = {L, L, S, S};
  g_autoptr(AgfRoc) roc2 = agf_roc_compute(s2, 4, y2, 4, NULL);
  g_assert_cmpuint(roc2->n_points, ==, 4);
  assert_close(agf_roc_auc(roc2), 0.875);
  assert_close(agf_roc_eer(roc2, &t), 0.25);
  assert_close(t, 0.5);
  g_assert_true(agf_roc_tpr_at_fpr(roc2, 0.1, &r, NULL));
  assert_close(r, 0.6);
  g_assert_true(agf_roc_tpr_at_fpr(roc2, 0.0, &r, NULL));
  assert_close(r, 0.5); /* top of the vertical step at FPR 0 */
}

/* live {.1, .2, .3, .6}, spoof {.4 print, .7 replay, .8 print, .9 replay}.
 * Descending: .9S .8S .7S .6L .4S .3L .2L .1L; at .6 FPR = 1/4 and
 * TPR = 3/4, so FPR = FNR = .25 exactly: EER .25 at threshold .6.
 * There FAR = 1/4 (.4 accepted), FRR = 1/4 (.6 rejected), HTER .25;
 * APCER print 1/2, replay 0, BPCER 1/4, ACER (.5 + .25)/2 = .375.
 * AUC = 15/16 (only .4 vs .6 is lost). */
static void
test_known_eer(void)
{
  const double s[] = {0.1, 0.4, 0.2, 0.7, 0.3, 0.8, 0.6, 0.9};
  const int y[] = {L, S, L, S, L, S, L, S};
  const char *types[] = {NULL, "print", NULL, "replay", NULL, "print", NULL,
                         "replay"};
  g_autoptr(GError) err = NULL;
  g_autoptr(AgfRoc) roc = agf_roc_compute(s, 8, y, 8, &err);
  g_assert_no_error(err);
  assert_close(agf_roc_auc(roc), 15.0 / 16.0);
  double t;
  assert_close(agf_roc_eer(roc, &t), 0.25);
  assert_close(t, 0.6);
  AgfHter h;
  double eer;
  g_assert_true(agf_fas_hter_at_eer(s, 8, y, 8, &h, &eer, &err));
  assert_close(eer, 0.25);
  assert_close(h.threshold, 0.6);
  assert_close(h.far, 0.25);
  assert_close(h.frr, 0.25);
  assert_close(h.hter, 0.25);
  g_assert_true(agf_fas_hter_at(s, 8, y, 8, 0.85, &h, &err));
  assert_close(h.far, 0.75);
  assert_close(h.frr, 0.0);
  assert_close(h.hter, 0.375);

  g_autoptr(AgfFasRates) r = agf_fas_rates_at(s, 8, y, 8, types, 8, 0.6,
                                              &err);
  g_assert_no_error(err);
  g_assert_cmpuint(r->n_attack_types, ==, 2);
  g_assert_cmpstr(r->attack_types[0], ==, "print");
  g_assert_cmpstr(r->attack_types[1], ==, "replay");
  g_assert_cmpuint(r->n_attacks[0], ==, 2);
  assert_close(r->apcer[0], 0.5);
  assert_close(r->apcer[1], 0.0);
  assert_close(r->apcer_max, 0.5);
  g_assert_cmpstr(r->worst_attack_type, ==, "print");
  assert_close(r->bpcer, 0.25);
  assert_close(r->acer, 0.375);
}

/* Videos a {.2, .4} live, b {.9} print, c {.6, .8, 1.0} replay:
 * means .3, .9, .8 in order of first appearance. */
static void
test_videos(void)
{
  const double s[] = {0.2, 0.9, 0.6, 0.4, 0.8, 1.0};
  const int y[] = {L, S, S, L, S, S};
  const char *ids[] = {"a", "b", "c", "a", "c", "c"};
  const char *types[] = {NULL, "print", "replay", NULL, "replay", "replay"};
  g_autoptr(GError) err = NULL;
  g_autoptr(AgfFasVideos) v = agf_fas_videos_from_frames(s, 6, y, 6, ids, 6,
                                                         types, 6, &err);
  g_assert_no_error(err);
  g_assert_cmpuint(v->n, ==, 3);
  g_assert_cmpstr(v->group_ids[0], ==, "a");
  g_assert_cmpstr(v->group_ids[2], ==, "c");
  assert_close(v->scores[0], 0.3);
  assert_close(v->scores[1], 0.9);
  assert_close(v->scores[2], 0.8);
  g_assert_cmpint(v->labels[0], ==, L);
  g_assert_null(v->attack_types[0]);
  g_assert_cmpstr(v->attack_types[2], ==, "replay");
  g_assert_cmpuint(v->n_frames[2], ==, 3);

  const int mixed[] = {L, S, S, S, S, S};
  AgfFasVideos *bad = agf_fas_videos_from_frames(s, 6, mixed, 6, ids, 6,
                                                 types, 6, &err);
  g_assert_null(bad);
  g_assert_error(err, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&err);
  const char *mixed_types[] = {NULL, "print", "replay", NULL, "print",
                               "replay"};
  bad = agf_fas_videos_from_frames(s, 6, y, 6, ids, 6, mixed_types, 6, &err);
  g_assert_null(bad);
  g_assert_error(err, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
}

static void
expect_invalid(GError **err)
{
  g_assert_error(*err, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_test_message("%s", (*err)->message);
  g_clear_error(err);
}

static void
test_errors(void)
{
  const double s[] = {0.1, 0.9, 0.4};
  const int y[] = {L, S, L};
  const int live[] = {L, L, L};
  const double nan_s[] = {0.1, NAN, 0.4};
  const char *types[] = {NULL, "print", NULL};
  GError *err = NULL;
  AgfHter h;

  g_assert_null(agf_roc_compute(s, 0, y, 0, &err));
  expect_invalid(&err);
  g_assert_null(agf_roc_compute(s, 3, live, 3, &err));
  g_assert_nonnull(strstr(err->message, "undefined"));
  expect_invalid(&err);
  g_assert_null(agf_roc_compute(nan_s, 3, y, 3, &err));
  g_assert_nonnull(strstr(err->message, "NaN"));
  expect_invalid(&err);
  g_assert_null(agf_roc_compute(s, 3, y, 2, &err));
  expect_invalid(&err);
  const int bad_label[] = {L, 2, S};
  g_assert_null(agf_roc_compute(s, 3, bad_label, 3, &err));
  expect_invalid(&err);

  g_assert_false(agf_fas_hter_at_eer(s, 3, live, 3, &h, NULL, &err));
  expect_invalid(&err);
  g_assert_false(agf_fas_hter_at(s, 0, y, 0, 0.5, &h, &err));
  expect_invalid(&err);
  g_assert_false(agf_fas_hter_at(nan_s, 3, y, 3, 0.5, &h, &err));
  expect_invalid(&err);
  g_assert_null(agf_fas_rates_at(s, 3, live, 3, types, 3, 0.5, &err));
  expect_invalid(&err);
  g_assert_null(agf_fas_rates_at(s, 3, y, 3, types, 2, 0.5, &err));
  expect_invalid(&err);
  const char *no_type[] = {NULL, NULL, NULL};
  g_assert_null(agf_fas_rates_at(s, 3, y, 3, no_type, 3, 0.5, &err));
  expect_invalid(&err);
  const char *ids[] = {"a", "b"};
  g_assert_null(agf_fas_videos_from_frames(s, 3, y, 3, ids, 2, NULL, 0,
                                           &err));
  expect_invalid(&err);

  g_autoptr(AgfRoc) roc = agf_roc_compute(s, 3, y, 3, NULL);
  double r;
  g_assert_false(agf_roc_tpr_at_fpr(roc, 1.5, &r, &err));
  expect_invalid(&err);
  g_assert_false(agf_roc_tpr_at_fpr(roc, NAN, &r, &err));
  expect_invalid(&err);
}

static double
member_double(JsonObject *o, const char *path)
{
  g_auto(GStrv) parts = g_strsplit(path, ".", -1);
  for (int i = 0; parts[i + 1] != NULL; i++)
    o = json_object_get_object_member(o, parts[i]);
  return json_object_get_double_member(o, parts[g_strv_length(parts) - 1]);
}

static void
check_rates(JsonObject *root, const char *key, const double *s, const int *y,
            const char *const *types, gsize n)
{
  JsonObject *want = json_object_get_object_member(root, key);
  double t = json_object_get_double_member(want, "threshold");
  g_autoptr(GError) err = NULL;
  g_autoptr(AgfFasRates) r = agf_fas_rates_at(s, n, y, n, types, n, t, &err);
  g_assert_no_error(err);
  JsonObject *apcer = json_object_get_object_member(want, "apcer");
  g_assert_cmpuint(r->n_attack_types, ==, json_object_get_size(apcer));
  for (gsize k = 0; k < r->n_attack_types; k++)
    assert_close(r->apcer[k],
                 json_object_get_double_member(apcer, r->attack_types[k]));
  assert_close(r->apcer_max, json_object_get_double_member(want, "apcer_max"));
  assert_close(r->bpcer, json_object_get_double_member(want, "bpcer"));
  assert_close(r->acer, json_object_get_double_member(want, "acer"));
}

static void
check_hter(JsonObject *root, const char *key, const AgfHter *h)
{
  JsonObject *want = json_object_get_object_member(root, key);
  assert_close(h->threshold, json_object_get_double_member(want, "threshold"));
  assert_close(h->far, json_object_get_double_member(want, "far"));
  assert_close(h->frr, json_object_get_double_member(want, "frr"));
  assert_close(h->hter, json_object_get_double_member(want, "hter"));
}

static void
test_golden(void)
{
  g_autofree char *path = g_test_build_filename(G_TEST_DIST, "golden",
                                                "metrics.json", NULL);
  g_autoptr(GError) err = NULL;
  g_autoptr(JsonParser) parser = json_parser_new();
  g_assert_true(json_parser_load_from_file(parser, path, &err));
  g_assert_no_error(err);
  JsonObject *root = json_node_get_object(json_parser_get_root(parser));
  JsonArray *js = json_object_get_array_member(root, "scores");
  JsonArray *jy = json_object_get_array_member(root, "labels");
  JsonArray *jt = json_object_get_array_member(root, "attack_types");
  gsize n = json_array_get_length(js);
  g_assert_cmpuint(n, >=, 100);
  g_autofree double *s = g_new(double, n);
  g_autofree int *y = g_new(int, n);
  g_autofree const char **types = g_new(const char *, n);
  gsize distinct_ties = 0;
  for (gsize i = 0; i < n; i++) {
    s[i] = json_array_get_double_element(js, i);
    y[i] = (int)json_array_get_int_element(jy, i);
    types[i] = json_array_get_string_element(jt, i);
  }

  g_autoptr(AgfRoc) roc = agf_roc_compute(s, n, y, n, &err);
  g_assert_no_error(err);
  g_assert_cmpint(roc->n_points, ==,
                  json_object_get_int_member(root, "n_roc_points"));
  distinct_ties = n + 1 - roc->n_points;
  g_assert_cmpuint(distinct_ties, >, 0); /* the golden does exercise ties */
  assert_close(agf_roc_auc(roc), member_double(root, "auc"));
  double t;
  assert_close(agf_roc_eer(roc, &t), member_double(root, "eer"));
  assert_close(t, member_double(root, "eer_threshold"));
  double r;
  g_assert_true(agf_roc_tpr_at_fpr(roc, 0.01, &r, &err));
  assert_close(r, member_double(root, "tpr_at_fpr_1pct"));
  g_assert_true(agf_roc_tpr_at_fpr(roc, 0.10, &r, &err));
  assert_close(r, member_double(root, "tpr_at_fpr_10pct"));

  AgfHter h;
  double eer;
  g_assert_true(agf_fas_hter_at_eer(s, n, y, n, &h, &eer, &err));
  assert_close(eer, member_double(root, "eer"));
  check_hter(root, "hter_at_eer", &h);
  g_assert_true(agf_fas_hter_at(s, n, y, n,
                                member_double(root, "fixed_threshold"), &h,
                                &err));
  check_hter(root, "hter_at_fixed", &h);
  check_rates(root, "rates_at_eer", s, y, types, n);
  check_rates(root, "rates_at_fixed", s, y, types, n);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/metrics/perfect", test_perfect);
  g_test_add_func("/metrics/inverted", test_inverted);
  g_test_add_func("/metrics/ties", test_ties);
  g_test_add_func("/metrics/known-eer", test_known_eer);
  g_test_add_func("/metrics/videos", test_videos);
  g_test_add_func("/metrics/errors", test_errors);
  g_test_add_func("/metrics/golden", test_golden);
  return g_test_run();
}
