/* The dataset manifest (io/manifest.h): CSV quoting round trips (commas,
 * quotes, newlines, spaces), JSONL round trips of every typed column and
 * of unknown JSON values, unknown columns kept, malformed input reported
 * with its line number, atomic saves that leave no temporary file, and the
 * append journal (torn tail dropped, one writer at a time). */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "io/manifest.h"
#include "nn/error.h"
#include "test_support.h"

static char *tmp_dir;

static AgfManifest *parse(const char *text, AgfManifestFormat fmt,
                          GError **error)
{
  return agf_manifest_parse(text, strlen(text), fmt, "t.csv", "/data",
                            error);
}

static AgfManifest *parse_ok(const char *text, AgfManifestFormat fmt)
{
  GError *error = NULL;
  AgfManifest *m = parse(text, fmt, &error);
  g_assert_no_error(error);
  return m;
}

static char *text_of(const AgfManifest *m, AgfManifestFormat fmt)
{
  return agf_manifest_to_string(m, fmt, NULL);
}

static void test_csv_quoting(void)
{
  static const char *const tricky[] = {
    "plain", "a,b", "say \"hi\"", "two\nlines", "crlf\r\nend", " padded ",
    "\"", ",", "ünïcødé/фото.jpg", "",
  };
  g_autoptr(AgfManifest) m = agf_manifest_new("/data");
  for (size_t i = 0; i < G_N_ELEMENTS(tricky); i++) {
    AgfManifestRecord *r = agf_manifest_record_new();
    r->path = g_strdup_printf("img%zu.jpg", i);
    r->subject = g_strdup(tricky[i]);
    agf_manifest_record_set_extra(r, "note, with comma", tricky[i]);
    agf_manifest_add(m, r);
  }
  g_autofree char *csv = text_of(m, AGF_MANIFEST_CSV);
  g_assert_true(g_str_has_prefix(csv, "path,subject,\"note, with comma\"\n"));
  g_autoptr(AgfManifest) back = parse_ok(csv, AGF_MANIFEST_CSV);
  g_assert_cmpuint(agf_manifest_len(back), ==, G_N_ELEMENTS(tricky));
  for (size_t i = 0; i < G_N_ELEMENTS(tricky); i++) {
    const AgfManifestRecord *r = agf_manifest_get(back, (guint)i);
    g_assert_cmpstr(r->subject ? r->subject : "", ==, tricky[i]);
    const char *note = agf_manifest_record_get_extra(r, "note, with comma");
    g_assert_cmpstr(note ? note : "", ==, tricky[i]);
  }
  g_autofree char *again = text_of(back, AGF_MANIFEST_CSV);
  g_assert_cmpstr(again, ==, csv);

  /* CRLF rows, a BOM, blank lines and a missing final newline read too. */
  g_autoptr(AgfManifest) crlf = parse_ok(
    "\xef\xbb\xbfpath,label\r\na.jpg,live\r\n\r\n\"b\r\n.jpg\",SPOOF",
    AGF_MANIFEST_CSV);
  g_assert_cmpuint(agf_manifest_len(crlf), ==, 2);
  g_assert_cmpstr(agf_manifest_get(crlf, 1)->path, ==, "b\r\n.jpg");
  g_assert_cmpint(agf_manifest_get(crlf, 1)->label, ==, AGF_LABEL_SPOOF);
}

static AgfManifestRecord *full_record(void)
{
  AgfManifestRecord *r = agf_manifest_record_new();
  r->path = g_strdup("videos/a \"b\".mp4");
  r->label = AGF_LABEL_UNSURE;
  r->attack = g_strdup("replay");
  r->subject = g_strdup("s01");
  r->domain = g_strdup("casia");
  r->video = g_strdup("v1");
  r->split = g_strdup("train");
  r->frame = 123;
  r->face = 1;
  r->has_box = TRUE;
  const float box[4] = { 10.25f, 20.5f, 110.75f, 140.0f };
  memcpy(r->box, box, sizeof box);
  r->has_landmarks = TRUE;
  for (int i = 0; i < 10; i++)
    (&r->landmarks[0][0])[i] = 30.0f + 7.5f * i;
  r->score = 0.987654;
  r->crop = g_strdup("crops/a-0123.png");
  r->source = g_strdup("/data/in.csv");
  r->status = g_strdup("ok");
  r->error = g_strdup("line1\nline2\t\"q\"\\");
  agf_manifest_record_set_extra(r, "session", "03");
  return r;
}

static void assert_same_record(const AgfManifestRecord *a,
                               const AgfManifestRecord *b)
{
  g_assert_cmpstr(a->path, ==, b->path);
  g_assert_cmpint(a->label, ==, b->label);
  g_assert_cmpstr(a->attack, ==, b->attack);
  g_assert_cmpstr(a->subject, ==, b->subject);
  g_assert_cmpstr(a->domain, ==, b->domain);
  g_assert_cmpstr(a->video, ==, b->video);
  g_assert_cmpstr(a->split, ==, b->split);
  g_assert_cmpint(a->frame, ==, b->frame);
  g_assert_cmpint(a->face, ==, b->face);
  g_assert_cmpint(a->has_box, ==, b->has_box);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat_with_epsilon(a->box[i], b->box[i], 0.006);
  for (int i = 0; i < 10; i++)
    g_assert_cmpfloat_with_epsilon((&a->landmarks[0][0])[i],
                                   (&b->landmarks[0][0])[i], 0.006);
  g_assert_cmpfloat_with_epsilon(a->score, b->score, 1e-6);
  g_assert_cmpstr(a->crop, ==, b->crop);
  g_assert_cmpstr(a->source, ==, b->source);
  g_assert_cmpstr(a->status, ==, b->status);
  g_assert_cmpstr(a->error, ==, b->error);
  g_assert_cmpstr(agf_manifest_record_get_extra(a, "session"), ==,
                  agf_manifest_record_get_extra(b, "session"));
}

static void test_jsonl_round_trip(void)
{
  g_autoptr(AgfManifest) m = agf_manifest_new("/data");
  agf_manifest_add(m, full_record());
  AgfManifestRecord *bare = agf_manifest_record_new();
  bare->path = g_strdup("still.png");
  agf_manifest_add(m, bare);
  g_autofree char *jsonl = text_of(m, AGF_MANIFEST_JSONL);
  g_assert_nonnull(strstr(jsonl, "\"box\":[10.25,20.5,110.75,140]"));
  g_assert_nonnull(strstr(jsonl, "\n{\"path\":\"still.png\"}\n"));
  g_autoptr(AgfManifest) back = parse_ok(jsonl, AGF_MANIFEST_JSONL);
  g_assert_cmpuint(agf_manifest_len(back), ==, 2);
  assert_same_record(agf_manifest_get(m, 0), agf_manifest_get(back, 0));
  const AgfManifestRecord *b = agf_manifest_get(back, 1);
  g_assert_cmpint(b->frame, ==, -1);
  g_assert_cmpint(b->face, ==, -1);
  g_assert_false(b->has_box);
  g_assert_true(isnan(b->score));
  g_autofree char *again = text_of(back, AGF_MANIFEST_JSONL);
  g_assert_cmpstr(again, ==, jsonl);

  /* The same record through CSV. */
  g_autofree char *csv = text_of(m, AGF_MANIFEST_CSV);
  g_autoptr(AgfManifest) viacsv = parse_ok(csv, AGF_MANIFEST_CSV);
  assert_same_record(agf_manifest_get(m, 0), agf_manifest_get(viacsv, 0));

  /* Unknown JSON values (numbers, booleans, null, arrays, objects) come
   * back unchanged; known columns accept numbers as text and vice versa. */
  const char *in =
    "{\"path\":\"x.jpg\",\"frame\":\"7\",\"subject\":12,\"n\":3,"
    "\"ok\":true,\"z\":null,\"tags\":[\"a\",1],\"o\":{\"k\":\"v\"},"
    "\"box\":\"1 2 3 4\"}\n";
  g_autoptr(AgfManifest) ex = parse_ok(in, AGF_MANIFEST_JSONL);
  const AgfManifestRecord *e = agf_manifest_get(ex, 0);
  g_assert_cmpint(e->frame, ==, 7);
  g_assert_cmpstr(e->subject, ==, "12");
  g_assert_true(e->has_box);
  g_assert_cmpfloat(e->box[3], ==, 4.0f);
  g_autofree char *out = text_of(ex, AGF_MANIFEST_JSONL);
  g_assert_cmpstr(out, ==,
                  "{\"path\":\"x.jpg\",\"subject\":\"12\",\"frame\":7,"
                  "\"box\":[1,2,3,4],\"n\":3,\"ok\":true,\"z\":null,"
                  "\"tags\":[\"a\",1],\"o\":{\"k\":\"v\"}}\n");
}

static void test_extra_columns(void)
{
  /* The headers of the shared NUAA and Replay-Attack manifests. */
  const char *nuaa =
    "path,label,attack,subject,glasses,position,session\n"
    "ClientRaw/0001/0001_00_00_01_0.jpg,live,none,0001,yes,00,01\n"
    "ImposterRaw/0001/x.jpg,spoof,print,0001,,01,02\n";
  g_autoptr(AgfManifest) m = parse_ok(nuaa, AGF_MANIFEST_CSV);
  g_autofree char *csv = text_of(m, AGF_MANIFEST_CSV);
  g_assert_cmpstr(csv, ==, nuaa);
  g_assert_cmpstr(agf_manifest_record_get_extra(agf_manifest_get(m, 0),
                                                "position"), ==, "00");
  /* Through JSONL and back: same CSV (columns in first-use order). */
  g_autofree char *jsonl = text_of(m, AGF_MANIFEST_JSONL);
  g_autoptr(AgfManifest) j = parse_ok(jsonl, AGF_MANIFEST_JSONL);
  g_autofree char *csv2 = text_of(j, AGF_MANIFEST_CSV);
  g_assert_cmpstr(csv2, ==, nuaa);

  const char *replay = "path,label,attack,support,lighting,subject,split,"
                       "video\nt/f.jpg,spoof,tablet-photo-replay,fixed,"
                       "adverse,client001,train,t\n";
  g_autoptr(AgfManifest) r = parse_ok(replay, AGF_MANIFEST_CSV);
  g_assert_cmpstr(agf_manifest_get(r, 0)->video, ==, "t");
  g_autofree char *rcsv = text_of(r, AGF_MANIFEST_CSV);
  /* Known columns first, unknown ones after, no value lost. */
  g_assert_cmpstr(rcsv, ==, "path,label,attack,subject,video,split,support,"
                            "lighting\nt/f.jpg,spoof,tablet-photo-replay,"
                            "client001,t,train,fixed,adverse\n");

  /* A known column present but empty everywhere is kept. */
  g_autoptr(AgfManifest) d = parse_ok("path,domain\na.jpg,\n",
                                      AGF_MANIFEST_CSV);
  g_autofree char *dcsv = text_of(d, AGF_MANIFEST_CSV);
  g_assert_cmpstr(dcsv, ==, "path,domain\na.jpg,\n");

  g_autofree char *abs = agf_manifest_resolve(m, "ClientRaw/a.jpg");
  g_assert_cmpstr(abs, ==, "/data/ClientRaw/a.jpg");
  g_autofree char *kept = agf_manifest_resolve(m, "/x/y.jpg");
  g_assert_cmpstr(kept, ==, "/x/y.jpg");
}

static void expect_error(const char *text, AgfManifestFormat fmt,
                         const char *where, const char *what)
{
  GError *error = NULL;
  AgfManifest *m = parse(text, fmt, &error);
  g_assert_null(m);
  g_assert_error(error, AGF_ERROR, AGF_ERROR_FORMAT);
  if (g_test_verbose())
    g_test_message("%s", error->message);
  g_assert_nonnull(strstr(error->message, where));
  g_assert_nonnull(strstr(error->message, what));
  g_error_free(error);
}

static void test_malformed(void)
{
  const AgfManifestFormat C = AGF_MANIFEST_CSV, J = AGF_MANIFEST_JSONL;
  expect_error("path,label\na.jpg,live\n\"b.jpg,live\nc.jpg,live\n", C,
               "t.csv:3:", "never closed");
  expect_error("path,label\na.jpg,li\"ve\n", C, "t.csv:2:", "unquoted");
  expect_error("path,label\n\"a.jpg\"x,live\n", C, "t.csv:2:",
               "closing quote");
  expect_error("path,label\na.jpg,live\nb.jpg,live,extra\n", C, "t.csv:3:",
               "3 fields");
  expect_error("file,label\na.jpg,live\n", C, "t.csv:1:", "no 'path'");
  expect_error("path,path\na,b\n", C, "t.csv:1:", "twice");
  expect_error("", C, "t.csv", "empty");
  expect_error("path,label\na.jpg,maybe\n", C, "t.csv:2:", "label 'maybe'");
  expect_error("path,frame\n\"multi\nline\",1\nb.jpg,-3\n", C, "t.csv:4:",
               "frame '-3'");
  expect_error("path,box\na.jpg,1 2 3\n", C, "t.csv:2:", "box '1 2 3'");
  expect_error("path,score\na.jpg,high\n", C, "t.csv:2:", "score 'high'");
  expect_error("path\n\xff\xfe.jpg\n", C, "t.csv:2:", "UTF-8");
  expect_error("{\"path\":\"a\"}\n{\"path\":\"b\",}\n", J, "t.csv:2:",
               "invalid JSON");
  expect_error("{\"path\":\"a\"}\n\n[1,2]\n", J, "t.csv:3:", "JSON object");
  expect_error("{\"label\":\"live\"}\n", J, "t.csv:1:", "no \"path\"");
  expect_error("{\"path\":\"a\",\"landmarks\":[1,2]}\n", J, "t.csv:1:",
               "10 numbers");
  expect_error("{\"path\":\"a\",\"frame\":1.5}\n", J, "t.csv:1:", "frame");
}

static void test_labels(void)
{
  static const struct { const char *in; AgfLabel out; } cases[] = {
    { "", AGF_LABEL_NONE }, { "Live", AGF_LABEL_LIVE },
    { "real", AGF_LABEL_LIVE }, { "bonafide", AGF_LABEL_LIVE },
    { "SPOOF", AGF_LABEL_SPOOF }, { "fake", AGF_LABEL_SPOOF },
    { "attack", AGF_LABEL_SPOOF }, { "unsure", AGF_LABEL_UNSURE },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    AgfLabel l = -1;
    g_assert_true(agf_label_parse(cases[i].in, &l));
    g_assert_cmpint(l, ==, cases[i].out);
  }
  AgfLabel l;
  g_assert_false(agf_label_parse("spoofy", &l));
  g_assert_cmpstr(agf_label_name(AGF_LABEL_SPOOF), ==, "spoof");
}

static guint count_entries(const char *dir)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  guint n = 0;
  while (g_dir_read_name(d))
    n++;
  return n;
}

static void test_atomic_save(void)
{
  g_autofree char *dir = g_build_filename(tmp_dir, "save", NULL);
  g_assert_cmpint(g_mkdir(dir, 0755), ==, 0);
  g_autofree char *path = g_build_filename(dir, "m.csv", NULL);
  g_autoptr(AgfManifest) m = agf_manifest_new(dir);
  agf_manifest_add(m, full_record());
  GError *error = NULL;
  for (int round = 0; round < 2; round++) { /* create, then replace */
    g_assert_true(agf_manifest_save(m, path, AGF_MANIFEST_CSV, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(count_entries(dir), ==, 1);
  }
  g_autoptr(AgfManifest) back = agf_manifest_load(path, &error);
  g_assert_no_error(error);
  assert_same_record(agf_manifest_get(m, 0), agf_manifest_get(back, 0));
  g_assert_cmpstr(agf_manifest_dir(back), ==, dir);

  /* JSONL by name, and by content when the name says nothing. */
  g_autofree char *jpath = g_build_filename(dir, "m.jsonl", NULL);
  g_autofree char *opath = g_build_filename(dir, "m.list", NULL);
  g_assert_true(agf_manifest_save(m, jpath, AGF_MANIFEST_JSONL, &error));
  g_assert_true(agf_manifest_save(m, opath, AGF_MANIFEST_JSONL, &error));
  g_autoptr(AgfManifest) j = agf_manifest_load(opath, &error);
  g_assert_no_error(error);
  assert_same_record(agf_manifest_get(m, 0), agf_manifest_get(j, 0));
  g_assert_cmpuint(count_entries(dir), ==, 3);

  /* A folder that does not exist: an IO error, nothing written. */
  g_autofree char *bad = g_build_filename(dir, "nope", "m.csv", NULL);
  g_assert_false(agf_manifest_save(m, bad, AGF_MANIFEST_CSV, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_IO);
  g_clear_error(&error);
  g_assert_cmpuint(count_entries(dir), ==, 3);
  g_assert_null(agf_manifest_load(bad, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_IO);
  g_clear_error(&error);
}

static void test_journal(void)
{
  g_autofree char *path = g_build_filename(tmp_dir, "journal.jsonl", NULL);
  GError *error = NULL;
  AgfManifest *recs = NULL;
  AgfManifestJournal *j = agf_manifest_journal_open(path, &recs, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(agf_manifest_len(recs), ==, 0);
  agf_manifest_free(recs);
  AgfManifestRecord *batch[2] = { full_record(), agf_manifest_record_new() };
  batch[1]->path = g_strdup("b.jpg");
  g_assert_true(agf_manifest_journal_append(j, batch, 2, &error));
  g_assert_true(agf_manifest_journal_append(j, batch, 1, &error));
  g_assert_no_error(error);

  /* One writer at a time. */
  g_assert_null(agf_manifest_journal_open(path, NULL, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_IO);
  g_clear_error(&error);
  agf_manifest_journal_close(j);

  /* A crash mid-append leaves a torn line: dropped on open. */
  g_autofree char *text = NULL;
  gsize len = 0;
  g_assert_true(g_file_get_contents(path, &text, &len, NULL));
  g_autofree char *torn = g_strconcat(text, "{\"path\":\"c.j", NULL);
  g_assert_true(g_file_set_contents(path, torn, -1, NULL));
  j = agf_manifest_journal_open(path, &recs, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(agf_manifest_len(recs), ==, 3);
  assert_same_record(batch[0], agf_manifest_get(recs, 2));
  g_assert_cmpstr(agf_manifest_get(recs, 1)->path, ==, "b.jpg");
  agf_manifest_free(recs);
  g_autofree char *after = NULL;
  g_assert_true(g_file_get_contents(path, &after, NULL, NULL));
  g_assert_cmpstr(after, ==, text);
  /* Appends continue after the last whole line. */
  g_assert_true(agf_manifest_journal_append(j, &batch[1], 1, &error));
  agf_manifest_journal_close(j);
  j = agf_manifest_journal_open(path, &recs, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(agf_manifest_len(recs), ==, 4);
  agf_manifest_free(recs);
  agf_manifest_journal_close(j);

  /* A malformed whole line is an error naming the line. */
  g_assert_true(g_file_set_contents(path, "{\"path\":\"a\"}\nnot json\n", -1,
                                    NULL));
  g_assert_null(agf_manifest_journal_open(path, &recs, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_FORMAT);
  g_assert_nonnull(strstr(error->message, ":2:"));
  g_clear_error(&error);
  agf_manifest_record_free(batch[0]);
  agf_manifest_record_free(batch[1]);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp("agf-manifest-XXXXXX", NULL);
  g_assert_nonnull(tmp_dir);
  g_test_add_func("/manifest/csv-quoting", test_csv_quoting);
  g_test_add_func("/manifest/jsonl-round-trip", test_jsonl_round_trip);
  g_test_add_func("/manifest/extra-columns", test_extra_columns);
  g_test_add_func("/manifest/malformed", test_malformed);
  g_test_add_func("/manifest/labels", test_labels);
  g_test_add_func("/manifest/atomic-save", test_atomic_save);
  g_test_add_func("/manifest/journal", test_journal);
  int rc = g_test_run();
  agf_test_remove_tree(tmp_dir);
  g_free(tmp_dir);
  return rc;
}
