/* Shared by the tests that run the built agfas-train ($AGFAS_TRAIN, set by
 * meson test) as a subprocess: one run's exit status and outputs, and the
 * checks every such test makes on them. */
#pragma once
#include <stdarg.h>
#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct {
  int status; /* the exit status; -1 when killed by a signal */
  char *out, *err;
} AgfCliRun;

/* TRUE when $AGFAS_TRAIN is set; else FALSE after telling stderr that
 * test (the program's name) needs it. */
gboolean agf_cli_available(const char *test);

/* Runs $AGFAS_TRAIN with the NULL-terminated args (not the program) in env
 * (NULL: this process's). Asserts it started, and fails the test when the
 * Vulkan validation layers wrote anything ("agfas vulkan ..."). */
AgfCliRun agf_cli_runv(const char *const *args, char *const *env);
/* agf_cli_runv with the arguments first, ... up to a NULL. */
AgfCliRun agf_cli_run(const char *first, ...) G_GNUC_NULL_TERMINATED;
/* Frees r's outputs (r may be run again). */
void agf_cli_run_clear(AgfCliRun *r);

/* Asserts r exited want and, unless needle is NULL, that needle is in its
 * stderr or, for a run that exited 0, its stdout. */
void agf_cli_expect_exit(const AgfCliRun *r, int want, const char *needle);
/* agf_cli_expect_exit; a run that exited 1 must also have said just one
 * line on stderr, prefixed "agfas-train: error: " (a command that fails
 * after progress lines needs agf_cli_expect_exit). */
void agf_cli_expect(const AgfCliRun *r, int want, const char *needle);
/* agf_cli_expect, then frees r's outputs. */
void agf_cli_check(AgfCliRun *r, int want, const char *needle);

/* Runs argv (argv[0] a program path) in env (NULL: ours); fails the test,
 * showing both outputs, unless it exits 0. Returns its stdout. */
char *agf_cli_run_ok(const char *const *argv, char *const *env);

/* The root object of the JSON file at path, kept by *parser (asserts the
 * file parses to an object). */
JsonObject *agf_test_read_json(const char *path, JsonParser **parser);
/* The "results" of an agfas-bench JSON file at path, kept by *parser, after
 * checking its "schema" is schema and its "threads" positive. */
JsonArray *agf_bench_results(const char *path, const char *schema,
                             JsonParser **parser);

G_END_DECLS
