/* The curator label store (app/agfas-label-store.h): labels round-trip
 * through CSV and JSONL manifests, undo/redo, the filter/sort view, journal
 * replay after a crash, and no acknowledged label lost to SIGKILL. */
#include "agfas-label-store.h"
#include "app_support.h"
#include "nn/error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define CHILD_FLAG "--label-store-child"
#define KILL_N_ITEMS 37u
#define KILL_MAX_EDITS 200000u
#define KILL_AFTER_ACKS 150u

typedef struct {
  char *dir;
} Fixture;

static void fixture_setup(Fixture *fx, gconstpointer data)
{
  (void)data;
  GError *error = NULL;
  fx->dir = g_dir_make_tmp("agfas-labels-XXXXXX", &error);
  g_assert_no_error(error);
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
  (void)data;
  app_test_remove_tree(fx->dir);
  g_free(fx->dir);
}

/* n items: scores i/n except every 5th unscored, domains a/b alternating,
 * an extra column that must survive. */
static char *write_manifest(const char *dir, const char *name, guint n,
                            AgfManifestFormat format)
{
  g_autoptr(AgfManifest) m = agf_manifest_new(dir);
  for (guint i = 0; i < n; i++) {
    AgfManifestRecord *r = agf_manifest_record_new();
    r->path = g_strdup_printf("media/clip%02u.mp4", i / 2);
    r->frame = i % 2;
    r->face = 0;
    r->score = i % 5 == 4 ? NAN : (double)((i * 7) % n) / n;
    r->domain = g_strdup(i % 2 ? "b" : "a");
    r->subject = g_strdup_printf("s%u", i % 3);
    agf_manifest_record_set_extra(r, "note", i == 1 ? "has, comma" : "x");
    agf_manifest_add(m, r);
  }
  char *path = g_build_filename(dir, name, NULL);
  GError *error = NULL;
  g_assert_true(agf_manifest_save(m, path, format, &error));
  g_assert_no_error(error);
  return path;
}

static AgfasLabelStore *open_ok(const char *path)
{
  GError *error = NULL;
  AgfasLabelStore *s = agfas_label_store_open(path, &error);
  g_assert_no_error(error);
  g_assert_nonnull(s);
  return s;
}

static void set_ok(AgfasLabelStore *s, guint i, AgfasLabelKind k)
{
  GError *error = NULL;
  g_assert_true(agfas_label_store_set_label(s, i, k, &error));
  g_assert_no_error(error);
}

static void round_trip(Fixture *fx, AgfManifestFormat format,
                       const char *name)
{
  g_autofree char *path = write_manifest(fx->dir, name, 8, format);
  AgfasLabelStore *s = open_ok(path);
  g_assert_cmpuint(agfas_label_store_get_n_items(s), ==, 8);
  g_assert_cmpint(agfas_label_store_get_format(s), ==, format);
  for (guint k = AGFAS_LABEL_KIND_LIVE; k < AGFAS_LABEL_KIND_COUNT; k++)
    set_ok(s, k - 1, (AgfasLabelKind)k);
  g_assert_true(g_file_test(agfas_label_store_get_journal_path(s),
                            G_FILE_TEST_EXISTS));
  GError *error = NULL;
  g_assert_true(agfas_label_store_close(s, &error));
  g_assert_no_error(error);
  g_assert_false(g_file_test(agfas_label_store_get_journal_path(s),
                             G_FILE_TEST_EXISTS));
  /* Edits after close fail with a message, and change nothing. */
  g_assert_false(agfas_label_store_set_label(s, 7, AGFAS_LABEL_KIND_LIVE,
                                             &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  g_object_unref(s);

  /* What the trainer reads: the label/attack pairs of the header's table. */
  g_autoptr(AgfManifest) m = agf_manifest_load(path, &error);
  g_assert_no_error(error);
  static const struct { AgfLabel label; const char *attack; } want[] = {
    { AGF_LABEL_LIVE, "none" },   { AGF_LABEL_SPOOF, "print" },
    { AGF_LABEL_SPOOF, "replay" }, { AGF_LABEL_SPOOF, "mask" },
    { AGF_LABEL_SPOOF, "other" },  { AGF_LABEL_UNSURE, NULL },
    { AGF_LABEL_NONE, NULL },     { AGF_LABEL_NONE, NULL },
  };
  g_assert_cmpuint(agf_manifest_len(m), ==, 8);
  for (guint i = 0; i < 8; i++) {
    const AgfManifestRecord *r = agf_manifest_get(m, i);
    g_assert_cmpint(r->label, ==, want[i].label);
    g_assert_cmpstr(r->attack && *r->attack ? r->attack : NULL, ==,
                    want[i].attack);
    g_assert_cmpstr(r->domain, ==, i % 2 ? "b" : "a");
    g_assert_cmpint(r->frame, ==, i % 2);
    g_assert_cmpstr(agf_manifest_record_get_extra(r, "note"), ==,
                    i == 1 ? "has, comma" : "x");
    g_assert_true(i % 5 == 4 ? isnan(r->score) : !isnan(r->score));
  }
  s = open_ok(path);
  for (guint k = AGFAS_LABEL_KIND_LIVE; k < AGFAS_LABEL_KIND_COUNT; k++)
    g_assert_cmpint(agfas_label_store_get_kind(s, k - 1), ==, k);
  g_assert_cmpint(agfas_label_store_get_kind(s, 7), ==,
                  AGFAS_LABEL_KIND_NONE);
  g_assert_false(agfas_label_store_can_undo(s));
  g_autofree char *abs = agfas_label_store_resolve(s, 2);
  g_autofree char *expect = g_build_filename(fx->dir, "media/clip01.mp4",
                                             NULL);
  g_assert_cmpstr(abs, ==, expect);
  g_assert_true(agfas_label_store_close(s, &error));
  g_object_unref(s);
}

static void test_round_trip_csv(Fixture *fx, gconstpointer data)
{
  (void)data;
  round_trip(fx, AGF_MANIFEST_CSV, "items.csv");
}

static void test_round_trip_jsonl(Fixture *fx, gconstpointer data)
{
  (void)data;
  round_trip(fx, AGF_MANIFEST_JSONL, "items.jsonl");
}

static void count_changed(AgfasLabelStore *s, guint i, gpointer data)
{
  (void)s;
  (void)i;
  (*(guint *)data)++;
}

static void test_undo_redo(Fixture *fx, gconstpointer data)
{
  (void)data;
  g_autofree char *path = write_manifest(fx->dir, "u.jsonl", 10,
                                         AGF_MANIFEST_JSONL);
  /* A free-text attack that undo must restore as it was. */
  {
    g_autoptr(AgfManifest) m = agf_manifest_load(path, NULL);
    AgfManifestRecord *r = agf_manifest_get(m, 0);
    r->label = AGF_LABEL_SPOOF;
    r->attack = g_strdup("cutout");
    g_assert_true(agf_manifest_save(m, path, AGF_MANIFEST_JSONL, NULL));
  }
  AgfasLabelStore *s = open_ok(path);
  guint changed = 0;
  g_signal_connect(s, "item-changed", G_CALLBACK(count_changed), &changed);
  g_assert_cmpint(agfas_label_store_get_kind(s, 0), ==,
                  AGFAS_LABEL_KIND_OTHER);
  GError *error = NULL;
  guint at = G_MAXUINT;
  g_assert_false(agfas_label_store_undo(s, &at, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);

  set_ok(s, 0, AGFAS_LABEL_KIND_LIVE);
  set_ok(s, 3, AGFAS_LABEL_KIND_MASK);
  set_ok(s, 3, AGFAS_LABEL_KIND_MASK); /* same label: no step */
  set_ok(s, 5, AGFAS_LABEL_KIND_UNSURE);
  g_assert_cmpuint(changed, ==, 3);
  g_assert_false(agfas_label_store_set_label(s, 10, AGFAS_LABEL_KIND_LIVE,
                                             &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);

  g_assert_true(agfas_label_store_undo(s, &at, &error));
  g_assert_cmpuint(at, ==, 5);
  g_assert_cmpint(agfas_label_store_get_kind(s, 5), ==, AGFAS_LABEL_KIND_NONE);
  g_assert_true(agfas_label_store_undo(s, &at, NULL));
  g_assert_cmpuint(at, ==, 3);
  g_assert_true(agfas_label_store_undo(s, &at, NULL));
  g_assert_cmpuint(at, ==, 0);
  g_assert_cmpstr(agfas_label_store_get_item(s, 0)->attack, ==, "cutout");
  g_assert_false(agfas_label_store_can_undo(s));
  g_assert_true(agfas_label_store_can_redo(s));

  g_assert_true(agfas_label_store_redo(s, &at, NULL));
  g_assert_cmpuint(at, ==, 0);
  g_assert_cmpint(agfas_label_store_get_kind(s, 0), ==, AGFAS_LABEL_KIND_LIVE);
  g_assert_true(agfas_label_store_redo(s, &at, NULL));
  g_assert_cmpint(agfas_label_store_get_kind(s, 3), ==, AGFAS_LABEL_KIND_MASK);
  /* A new edit drops what was left to redo. */
  set_ok(s, 9, AGFAS_LABEL_KIND_REPLAY);
  g_assert_false(agfas_label_store_can_redo(s));
  g_assert_cmpuint(changed, ==, 9);

  /* The stack is bounded. */
  for (guint e = 0; e < AGFAS_LABEL_STORE_UNDO_DEPTH + 10; e++)
    set_ok(s, 1, e % 2 ? AGFAS_LABEL_KIND_PRINT : AGFAS_LABEL_KIND_LIVE);
  guint undos = 0;
  while (agfas_label_store_can_undo(s)) {
    g_assert_true(agfas_label_store_undo(s, NULL, NULL));
    undos++;
  }
  g_assert_cmpuint(undos, ==, AGFAS_LABEL_STORE_UNDO_DEPTH);
  /* Undone edits are journaled too: the reopened store shows this state. */
  AgfasLabelKind before[10];
  for (guint i = 0; i < 10; i++)
    before[i] = agfas_label_store_get_kind(s, i);
  g_object_unref(s);
  s = open_ok(path);
  for (guint i = 0; i < 10; i++)
    g_assert_cmpint(agfas_label_store_get_kind(s, i), ==, before[i]);
  g_assert_true(agfas_label_store_close(s, NULL));
  g_object_unref(s);
}

static void assert_view(GArray *v, const guint *want, guint n)
{
  g_assert_cmpuint(v->len, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpuint(g_array_index(v, guint, i), ==, want[i]);
  g_array_unref(v);
}

static void test_filter_sort(Fixture *fx, gconstpointer data)
{
  (void)data;
  /* 10 items: score (i*7 % 10)/10, unscored at 4 and 9, domain a (even) /
   * b (odd). Scores: 0 .0, 1 .7, 2 .4, 3 .1, 5 .5, 6 .2, 7 .9, 8 .6 */
  g_autofree char *path = write_manifest(fx->dir, "f.csv", 10,
                                         AGF_MANIFEST_CSV);
  AgfasLabelStore *s = open_ok(path);
  set_ok(s, 1, AGFAS_LABEL_KIND_LIVE);
  set_ok(s, 3, AGFAS_LABEL_KIND_LIVE);
  set_ok(s, 4, AGFAS_LABEL_KIND_LIVE);
  set_ok(s, 7, AGFAS_LABEL_KIND_PRINT);
  set_ok(s, 8, AGFAS_LABEL_KIND_REPLAY);

  assert_view(agfas_label_store_query(s, NULL, AGFAS_LABEL_SORT_INDEX),
              (const guint[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, 10);
  assert_view(agfas_label_store_query(s, NULL, AGFAS_LABEL_SORT_SCORE_ASC),
              (const guint[]){ 0, 3, 6, 2, 5, 8, 1, 7, 4, 9 }, 10);
  assert_view(agfas_label_store_query(s, NULL, AGFAS_LABEL_SORT_SCORE_DESC),
              (const guint[]){ 7, 1, 8, 5, 2, 6, 3, 0, 4, 9 }, 10);

  AgfasLabelFilter f;
  agfas_label_filter_init(&f);
  f.kinds = 1u << AGFAS_LABEL_KIND_LIVE;
  assert_view(agfas_label_store_query(s, &f, AGFAS_LABEL_SORT_SCORE_ASC),
              (const guint[]){ 3, 1, 4 }, 3);
  f.kinds |= 1u << AGFAS_LABEL_KIND_PRINT | 1u << AGFAS_LABEL_KIND_REPLAY;
  f.unscored = FALSE;
  f.score_min = 0.5;
  assert_view(agfas_label_store_query(s, &f, AGFAS_LABEL_SORT_SCORE_DESC),
              (const guint[]){ 7, 1, 8 }, 3);
  agfas_label_filter_init(&f);
  f.kinds = 1u << AGFAS_LABEL_KIND_NONE;
  f.domain = "a";
  f.score_max = 0.4;
  assert_view(agfas_label_store_query(s, &f, AGFAS_LABEL_SORT_INDEX),
              (const guint[]){ 0, 2, 6 }, 3);
  f.domain = "";
  assert_view(agfas_label_store_query(s, &f, AGFAS_LABEL_SORT_INDEX),
              NULL, 0);

  char **domains = agfas_label_store_list_domains(s);
  g_assert_cmpuint(g_strv_length(domains), ==, 2);
  g_assert_cmpstr(domains[0], ==, "a");
  g_assert_cmpstr(domains[1], ==, "b");
  g_strfreev(domains);
  g_assert_true(agfas_label_store_close(s, NULL));
  g_object_unref(s);
}

static void test_crash_replay(Fixture *fx, gconstpointer data)
{
  (void)data;
  g_autofree char *path = write_manifest(fx->dir, "c.csv", 6,
                                         AGF_MANIFEST_CSV);
  g_autofree char *orig = NULL;
  g_assert_true(g_file_get_contents(path, &orig, NULL, NULL));
  AgfasLabelStore *s = open_ok(path);
  set_ok(s, 0, AGFAS_LABEL_KIND_LIVE);
  set_ok(s, 2, AGFAS_LABEL_KIND_MASK);
  set_ok(s, 5, AGFAS_LABEL_KIND_UNSURE);
  g_autofree char *jpath = g_strdup(agfas_label_store_get_journal_path(s));
  /* A crash: no close. The manifest is untouched, the journal has it all. */
  g_object_unref(s);
  g_autofree char *now = NULL;
  g_assert_true(g_file_get_contents(path, &now, NULL, NULL));
  g_assert_cmpstr(now, ==, orig);
  /* A crash mid-append leaves a torn last line. */
  FILE *j = fopen(jpath, "a");
  g_assert_nonnull(j);
  fputs("{\"path\":\"media/cl", j);
  fclose(j);

  s = open_ok(path);
  g_assert_cmpuint(agfas_label_store_get_n_replayed(s), ==, 3);
  g_assert_cmpuint(agfas_label_store_get_n_unmatched(s), ==, 0);
  gboolean dirty = FALSE;
  g_object_get(s, "dirty", &dirty, NULL);
  g_assert_true(dirty);
  g_assert_cmpint(agfas_label_store_get_kind(s, 0), ==, AGFAS_LABEL_KIND_LIVE);
  g_assert_cmpint(agfas_label_store_get_kind(s, 2), ==, AGFAS_LABEL_KIND_MASK);
  g_assert_cmpint(agfas_label_store_get_kind(s, 5), ==,
                  AGFAS_LABEL_KIND_UNSURE);
  g_assert_cmpint(agfas_label_store_get_kind(s, 1), ==, AGFAS_LABEL_KIND_NONE);
  /* flush compacts and edits go on into a fresh journal. */
  GError *error = NULL;
  g_assert_true(agfas_label_store_flush(s, &error));
  g_assert_no_error(error);
  set_ok(s, 1, AGFAS_LABEL_KIND_REPLAY);
  g_object_unref(s);

  /* The manifest reordered under the journal: lines match by
   * path/frame/face; a line for an item that is gone is counted. */
  {
    g_autoptr(AgfManifest) m = agf_manifest_load(path, &error);
    g_assert_no_error(error);
    g_autoptr(AgfManifest) r = agf_manifest_new(fx->dir);
    for (guint i = agf_manifest_len(m); i-- > 0;)
      if (i != 3)
        agf_manifest_add(r, agf_manifest_record_copy(agf_manifest_get(m, i)));
    g_assert_true(agf_manifest_save(r, path, AGF_MANIFEST_CSV, &error));
    g_assert_no_error(error);
  }
  s = open_ok(path);
  set_ok(s, 2, AGFAS_LABEL_KIND_PRINT); /* item 3 of old order */
  g_object_unref(s);
  {
    g_autoptr(AgfManifest) m = agf_manifest_load(path, &error);
    g_assert_no_error(error);
    g_autoptr(AgfManifest) r = agf_manifest_new(fx->dir);
    for (guint i = 0; i < agf_manifest_len(m); i++)
      if (i != 2)
        agf_manifest_add(r, agf_manifest_record_copy(agf_manifest_get(m, i)));
    g_assert_true(agf_manifest_save(r, path, AGF_MANIFEST_CSV, &error));
  }
  s = open_ok(path);
  g_assert_cmpuint(agfas_label_store_get_n_replayed(s), ==, 1);
  g_assert_cmpuint(agfas_label_store_get_n_unmatched(s), ==, 1);
  /* Old items 5, 4, 1, 0 now; old 1 got REPLAY via the journal. */
  g_assert_cmpint(agfas_label_store_get_kind(s, 2), ==,
                  AGFAS_LABEL_KIND_REPLAY);
  g_assert_cmpint(agfas_label_store_get_kind(s, 0), ==,
                  AGFAS_LABEL_KIND_UNSURE);
  g_assert_true(agfas_label_store_close(s, &error));
  g_assert_no_error(error);
  g_object_unref(s);
}

/* The kill test's edit e: item e % n, a kind that cycles with the pass. */
static AgfasLabelKind kill_kind(guint e)
{
  return (AgfasLabelKind)(1 + (e + e / KILL_N_ITEMS) % 6);
}

/* Child: labels until killed, acknowledging each edit on stdout once
 * set_label returned TRUE. */
static int child_main(const char *path)
{
  GError *error = NULL;
  AgfasLabelStore *s = agfas_label_store_open(path, &error);
  if (!s) {
    fprintf(stderr, "child: %s\n", error->message);
    return 1;
  }
  for (guint e = 0; e < KILL_MAX_EDITS; e++) {
    if (!agfas_label_store_set_label(s, e % KILL_N_ITEMS, kill_kind(e),
                                     &error)) {
      fprintf(stderr, "child: %s\n", error->message);
      return 1;
    }
    printf("%u\n", e);
    fflush(stdout);
  }
  return 0;
}

static void test_kill(Fixture *fx, gconstpointer data)
{
  (void)data;
  g_autofree char *path = write_manifest(fx->dir, "k.jsonl", KILL_N_ITEMS,
                                         AGF_MANIFEST_JSONL);
  guint acks = app_test_kill_child(CHILD_FLAG, path, NULL, KILL_AFTER_ACKS);
  GError *error = NULL;
  g_assert_cmpuint(acks, <, KILL_MAX_EDITS);
  g_test_message("child killed after %u acknowledged edits", acks);

  /* Every acknowledged edit is there; the one in flight may or may not be. */
  AgfasLabelKind want[KILL_N_ITEMS] = { 0 };
  for (guint e = 0; e < acks; e++)
    want[e % KILL_N_ITEMS] = kill_kind(e);
  AgfasLabelStore *s = open_ok(path);
  g_assert_cmpuint(agfas_label_store_get_n_unmatched(s), ==, 0);
  g_assert_cmpuint(agfas_label_store_get_n_replayed(s), >=, acks);
  for (guint i = 0; i < KILL_N_ITEMS; i++) {
    AgfasLabelKind got = agfas_label_store_get_kind(s, i);
    if (i == acks % KILL_N_ITEMS && got == kill_kind(acks))
      continue;
    g_assert_cmpint(got, ==, want[i]);
  }
  g_assert_true(agfas_label_store_close(s, &error));
  g_assert_no_error(error);
  g_object_unref(s);
}

int main(int argc, char **argv)
{
  if (argc == 3 && strcmp(argv[1], CHILD_FLAG) == 0)
    return child_main(argv[2]);
  g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) \
  g_test_add("/label-store/" name, Fixture, NULL, fixture_setup, fn, \
             fixture_teardown)
  ADD("round-trip-csv", test_round_trip_csv);
  ADD("round-trip-jsonl", test_round_trip_jsonl);
  ADD("undo-redo", test_undo_redo);
  ADD("filter-sort", test_filter_sort);
  ADD("crash-replay", test_crash_replay);
  ADD("kill", test_kill);
  return g_test_run();
}
