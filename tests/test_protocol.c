/* Protocol files (io/protocol.h): every shipped protocol loads and is the
 * split its name says; placeholders resolve from the caller's variables,
 * the environment, and relative to the file; each malformed file fails
 * with a message naming the problem. */
#include <string.h>
#include <glib/gstdio.h>

#include "io/protocol.h"
#include "nn/error.h"

static const struct {
  const char *name, *sources, *target;
} shipped[] = {
  { "OCI-M", "OCI", "M" }, { "OMI-C", "OMI", "C" }, { "OCM-I", "OCM", "I" },
  { "ICM-O", "ICM", "O" }, { "MI-C", "MI", "C" }, { "MI-O", "MI", "O" },
};

static void test_shipped(void)
{
  g_auto(GStrv) files = agf_protocol_list();
  g_assert_cmpuint(g_strv_length(files), >=, G_N_ELEMENTS(shipped));
  for (gsize i = 0; i < G_N_ELEMENTS(shipped); i++) {
    GError *error = NULL;
    g_autoptr(AgfProtocol) p = agf_protocol_find(shipped[i].name, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(p->name, ==, shipped[i].name);
    const char *s = shipped[i].sources;
    g_assert_cmpuint(g_strv_length(p->sources), ==, strlen(s));
    for (gsize k = 0; k < strlen(s); k++) {
      char key[2] = { s[k], 0 };
      g_assert_cmpstr(p->sources[k], ==, key);
    }
    g_assert_cmpstr(p->target, ==, shipped[i].target);
    g_assert_cmpuint(p->n_datasets, ==, strlen(s) + 1);
    g_assert_cmpstr(p->train_split, ==, "train");
    g_assert_cmpstr(p->test_split, ==, "test");
    /* Every dataset is a placeholder users point at their copy. */
    for (guint k = 0; k < p->n_datasets; k++)
      g_assert_true(g_str_has_prefix(p->datasets[k].manifest, "${AGFAS_"));
  }
  GError *error = NULL;
  g_assert_null(agf_protocol_find("X-Y", &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull(strstr(error->message, "OCI-M"));
  g_clear_error(&error);
}

static const char good[] =
  "{\"format\": \"agfas-protocol-1\", \"name\": \"t\",\n"
  " \"datasets\": {\"A\": {\"manifest\": \"${T_ROOT}/a.csv\", \"name\": "
  "\"Set A\"},\n"
  "               \"B\": {\"manifest\": \"b/manifest.jsonl\", \"domain\": "
  "\"bee\"}},\n"
  " \"sources\": [\"A\"], \"target\": \"B\",\n"
  " \"splits\": {\"val\": \"devel\"}}";

static void test_resolve(void)
{
  GError *error = NULL;
  g_autoptr(AgfProtocol) p = agf_protocol_parse(good, strlen(good), "t.json",
                                                "/data/protos", &error);
  g_assert_no_error(error);
  g_assert_cmpstr(p->title, ==, "t");
  g_assert_null(p->description);
  g_assert_cmpstr(p->val_split, ==, "devel");
  g_assert_cmpstr(p->train_split, ==, "train");
  const AgfProtocolDataset *a = agf_protocol_dataset(p, "A");
  g_assert_cmpstr(a->name, ==, "Set A");
  g_assert_cmpstr(a->domain, ==, "A");
  g_assert_cmpstr(agf_protocol_dataset(p, "B")->domain, ==, "bee");
  g_assert_cmpstr(agf_protocol_dataset(p, "B")->name, ==, "B");
  g_assert_null(agf_protocol_dataset(p, "C"));

  /* Relative to the protocol's folder. */
  g_autofree char *b = agf_protocol_manifest(p, "B", NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(b, ==, "/data/protos/b/manifest.jsonl");

  /* Unset: the error names the variable and the dataset. */
  g_unsetenv("T_ROOT");
  g_assert_null(agf_protocol_manifest(p, "A", NULL, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull(strstr(error->message, "${T_ROOT}"));
  g_assert_nonnull(strstr(error->message, "Set A"));
  g_clear_error(&error);
  /* From the environment, then the caller's variables win. */
  g_setenv("T_ROOT", "/env", TRUE);
  g_autofree char *from_env = agf_protocol_manifest(p, "A", NULL, &error);
  g_assert_cmpstr(from_env, ==, "/env/a.csv");
  g_autoptr(GHashTable) vars = g_hash_table_new(g_str_hash, g_str_equal);
  g_hash_table_insert(vars, "T_ROOT", "/mine");
  g_autofree char *from_vars = agf_protocol_manifest(p, "A", vars, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(from_vars, ==, "/mine/a.csv");
  g_unsetenv("T_ROOT");
  g_assert_null(agf_protocol_manifest(p, "Z", vars, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
}

static void test_load_file(void)
{
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp("agfas-protocol-XXXXXX", &error);
  g_assert_no_error(error);
  g_autofree char *path = g_build_filename(dir, "mine.json", NULL);
  g_assert_true(g_file_set_contents(path, good, -1, NULL));
  g_autoptr(AgfProtocol) p = agf_protocol_find(path, &error);
  g_assert_no_error(error);
  g_autofree char *b = agf_protocol_manifest(p, "B", NULL, &error);
  g_autofree char *want = g_build_filename(dir, "b", "manifest.jsonl", NULL);
  g_assert_cmpstr(b, ==, want);
  g_autofree char *missing = g_build_filename(dir, "none.json", NULL);
  g_assert_null(agf_protocol_load(missing, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_IO);
  g_assert_nonnull(strstr(error->message, "none.json"));
  g_clear_error(&error);
  g_unlink(path);
  g_rmdir(dir);
}

static void test_records(void)
{
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp("agfas-protocol-XXXXXX", &error);
  g_assert_no_error(error);
  g_autofree char *a = g_build_filename(dir, "a.csv", NULL);
  g_assert_true(g_file_set_contents(a,
    "path,label,split,domain,crop\n"
    "x1.png,live,train,,c/x1.png\n"
    "x2.png,spoof,train,own,\n"
    "x3.png,live,devel,,\n"
    "x4.png,spoof,test,,\n", -1, NULL));
  g_autofree char *bdir = g_build_filename(dir, "b", NULL);
  g_assert_cmpint(g_mkdir_with_parents(bdir, 0755), ==, 0);
  g_autofree char *b = g_build_filename(bdir, "manifest.jsonl", NULL);
  g_assert_true(g_file_set_contents(b,
    "{\"path\":\"y1.png\",\"label\":\"spoof\",\"split\":\"test\"}\n"
    "{\"path\":\"y2.png\",\"label\":\"live\",\"split\":\"train\"}\n",
    -1, NULL));
  g_autoptr(AgfProtocol) p = agf_protocol_parse(good, strlen(good), "t.json",
                                                dir, &error);
  g_assert_no_error(error);
  g_autoptr(GHashTable) vars = g_hash_table_new(g_str_hash, g_str_equal);
  g_hash_table_insert(vars, "T_ROOT", dir);

  g_autoptr(AgfManifest) train = agf_protocol_records(p, AGF_PROTOCOL_TRAIN,
                                                      vars, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(agf_manifest_len(train), ==, 2);
  const AgfManifestRecord *r = agf_manifest_get(train, 0);
  g_autofree char *x1 = g_build_filename(dir, "x1.png", NULL);
  g_autofree char *c1 = g_build_filename(dir, "c", "x1.png", NULL);
  g_assert_cmpstr(r->path, ==, x1);
  g_assert_cmpstr(r->crop, ==, c1);
  g_assert_cmpstr(r->domain, ==, "A");
  g_assert_cmpstr(agf_manifest_get(train, 1)->domain, ==, "own");

  g_autoptr(AgfManifest) val = agf_protocol_records(p, AGF_PROTOCOL_VAL,
                                                    vars, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(agf_manifest_len(val), ==, 1);
  g_assert_true(g_str_has_suffix(agf_manifest_get(val, 0)->path, "/x3.png"));

  g_autoptr(AgfManifest) test = agf_protocol_records(p, AGF_PROTOCOL_TEST,
                                                     vars, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(agf_manifest_len(test), ==, 1);
  g_autofree char *y1 = g_build_filename(bdir, "y1.png", NULL);
  g_assert_cmpstr(agf_manifest_get(test, 0)->path, ==, y1);
  g_assert_cmpstr(agf_manifest_get(test, 0)->domain, ==, "bee");

  /* A dataset without the split: named, with the splits it has. */
  g_assert_true(g_file_set_contents(b,
    "{\"path\":\"y1.png\",\"split\":\"eval\"}\n", -1, NULL));
  g_assert_null(agf_protocol_records(p, AGF_PROTOCOL_TEST, vars, &error));
  g_assert_error(error, AGF_ERROR, AGF_ERROR_FORMAT);
  g_assert_nonnull(strstr(error->message, "no record with split 'test'"));
  g_assert_nonnull(strstr(error->message, "eval"));
  g_clear_error(&error);
  /* A manifest that is not there. */
  g_unlink(b);
  g_assert_null(agf_protocol_records(p, AGF_PROTOCOL_TEST, vars, &error));
  g_assert_nonnull(strstr(error->message, "dataset B"));
  g_clear_error(&error);
  g_unlink(a);
  g_rmdir(bdir);
  g_rmdir(dir);
}

#define HEAD "{\"format\": \"agfas-protocol-1\", \"name\": \"t\", "
#define DS "\"datasets\": {\"A\": {\"manifest\": \"a\"}, " \
           "\"B\": {\"manifest\": \"b\"}}, "

static void test_errors(void)
{
  static const struct {
    const char *text, *message;
  } cases[] = {
    { "[1, 2]", "one JSON object" },
    { "{\"format\": ", "not valid JSON" },
    { "{\"format\": \"agfas-protocol-9\", \"name\": \"t\"}",
      "is not agfas-protocol-1" },
    { "{\"name\": \"t\"}", "has no \"format\"" },
    { HEAD DS "\"sources\": [\"A\"], \"target\": \"B\", \"sorces\": []}",
      "unknown key 'sorces'" },
    { HEAD "\"datasets\": {\"A\": {\"manifest\": \"a\"}}, \"sources\": "
      "[\"A\"], \"target\": \"A\"}", "at least two datasets" },
    { HEAD "\"datasets\": {\"A\": {\"path\": \"a\"}, \"B\": {\"manifest\": "
      "\"b\"}}, \"sources\": [\"A\"], \"target\": \"B\"}",
      "unknown key 'path' in dataset A" },
    { HEAD "\"datasets\": {\"A\": {\"manifest\": \"\"}, \"B\": {\"manifest\": "
      "\"b\"}}, \"sources\": [\"A\"], \"target\": \"B\"}",
      "\"manifest\" of dataset A must be a non-empty string" },
    { HEAD "\"datasets\": {\"A\": {\"manifest\": \"${A\"}, \"B\": "
      "{\"manifest\": \"b\"}}, \"sources\": [\"A\"], \"target\": \"B\"}",
      "malformed placeholder" },
    { HEAD DS "\"sources\": [], \"target\": \"B\"}", "non-empty array" },
    { HEAD DS "\"sources\": [\"A\", \"A\"], \"target\": \"B\"}",
      "listed twice" },
    { HEAD DS "\"sources\": [\"C\"], \"target\": \"B\"}",
      "source 'C' is not a key" },
    { HEAD DS "\"sources\": [\"A\"], \"target\": \"D\"}",
      "target 'D' is not a key" },
    { HEAD DS "\"sources\": [\"A\", \"B\"], \"target\": \"B\"}",
      "also a source" },
    { HEAD DS "\"sources\": [\"A\"]}", "has no \"target\"" },
    { HEAD DS "\"sources\": [\"A\"], \"target\": \"B\", \"splits\": "
      "{\"dev\": \"x\"}}", "unknown key 'dev' in \"splits\"" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    GError *error = NULL;
    AgfProtocol *p = agf_protocol_parse(cases[i].text, strlen(cases[i].text),
                                        "bad.json", NULL, &error);
    if (p || !error || !strstr(error->message, cases[i].message) ||
        !strstr(error->message, "bad.json"))
      g_error("case %zu: want an error with '%s', got %s", i,
              cases[i].message, error ? error->message : "success");
    g_assert_error(error, AGF_ERROR, AGF_ERROR_FORMAT);
    g_clear_error(&error);
  }
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/protocol/shipped", test_shipped);
  g_test_add_func("/protocol/resolve", test_resolve);
  g_test_add_func("/protocol/load-file", test_load_file);
  g_test_add_func("/protocol/records", test_records);
  g_test_add_func("/protocol/errors", test_errors);
  return g_test_run();
}
