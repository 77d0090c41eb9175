/* What every agfas-train subcommand shares: exit codes, option parsing with
 * GOptionContext (one context per subcommand, so `agfas-train CMD --help`
 * lists exactly that command's options), the common --device / --dtype
 * options, and the one-line error report. */
#pragma once
#include <glib.h>
#include "nn/device.h"
#include "io/safetensors.h"

G_BEGIN_DECLS

enum {
  AGF_EXIT_OK = 0,
  AGF_EXIT_FAILURE = 1, /* the command ran and failed: "agfas-train: error: ..." */
  AGF_EXIT_USAGE = 2,   /* bad command line */
};

typedef struct {
  const char *name;    /* "import" */
  const char *args;    /* positional arguments for the usage line */
  const char *summary; /* one line for `agfas-train --help` */
  int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} AgfTrainCommand;

/* Every subcommand, ending with a NULL name (agfas_train.c). */
extern const AgfTrainCommand agf_train_commands[];
const AgfTrainCommand *agf_train_command(const char *name);

int agf_train_import(int argc, char **argv);
int agf_train_forward(int argc, char **argv);
int agf_train_prepare(int argc, char **argv); /* train_prepare.c */
int agf_train_eval(int argc, char **argv);    /* train_eval.c */
int agf_train_score(int argc, char **argv);   /* train_score.c */
int agf_train_cues(int argc, char **argv);    /* train_cues.c */
int agf_train_vae(int argc, char **argv);     /* train_vae.c (traindfg) */
int agf_train_dfg(int argc, char **argv);     /* train_dfg.c (traindfg) */
int agf_train_oanet(int argc, char **argv);   /* train_oanet.c (ssdg) */
int agf_train_sample(int argc, char **argv);  /* train_sample.c (sample) */

/* --device and --dtype, as every command that computes takes them. */
typedef struct {
  char *device; /* NULL: $AGFAS_DEVICE, else auto */
  char *dtype;  /* NULL: the command's default */
} AgfCliCommon;

/* A context for subcommand cmd with its entries plus, when common is not
 * NULL, --dtype (dtype_help describes it) and, when with_device, --device. */
GOptionContext *agf_cli_context(const AgfTrainCommand *cmd,
                                const GOptionEntry *entries,
                                AgfCliCommon *common, gboolean with_device,
                                const char *dtype_help);
/* Adds --dtype (and --device when with_device) for common to ctx; nothing
 * when common is NULL (agf_cli_context's second half). */
void agf_cli_add_common(GOptionContext *ctx, AgfCliCommon *common,
                        gboolean with_device, const char *dtype_help);
/* Parses; on a bad command line prints the message and a hint and returns
 * FALSE with *exit_code = AGF_EXIT_USAGE. --help exits 0 from GLib. */
gboolean agf_cli_parse(GOptionContext *ctx, const char *cmd, int *argc,
                       char ***argv, int *exit_code);
/* Prints "agfas-train CMD: MESSAGE" and the --help hint; returns
 * AGF_EXIT_USAGE. */
int agf_cli_usage_error(const char *cmd, const char *fmt, ...)
  G_GNUC_PRINTF(2, 3);
/* Prints "agfas-train: error: MESSAGE" (one line), frees error, returns
 * AGF_EXIT_FAILURE. */
int agf_cli_fail(GError *error);
/* The exit status of a run that returned rc with error set unless
 * AGF_EXIT_OK: AGF_EXIT_USAGE reports error as a usage error, a failure
 * through agf_cli_fail. Frees error. */
int agf_cli_result(const char *cmd, int rc, GError *error);

/* "f32" / "f16" -> dtype; an AGF_ERROR_INVALID_ARGUMENT error otherwise. */
gboolean agf_cli_parse_dtype(const char *s, AgfDType *out, GError **error);
/* Opens common->device and checks it computes in dt. */
AgfDevice *agf_cli_open_device(const AgfCliCommon *common, AgfDType dt,
                               GError **error);
/* Splits "KEY=VALUE" (both non-empty); FALSE and an error otherwise. */
gboolean agf_cli_split_pair(const char *arg, const char *option, char **key,
                            char **value, GError **error);
/* The hex sha256 of a file's bytes. */
char *agf_cli_file_sha256(const char *path, GError **error);

int agf_cli_list_devices(void);

G_END_DECLS
