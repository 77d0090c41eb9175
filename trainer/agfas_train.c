/* agfas-train: the headless trainer and model tool.
 *
 *   agfas-train [--help | --version | --list-devices]
 *   agfas-train SUBCOMMAND [OPTIONS] ...   (agfas-train SUBCOMMAND --help)
 *
 * Exit status: 0 success, 1 failure (one "agfas-train: error: ..." line),
 * 2 usage error. */
#include <locale.h>
#include <string.h>
#include "train_cli.h"
#include "cpu/cpu_wait_policy.h"

const AgfTrainCommand agf_train_commands[] = {
  { "import", "SRC --out OUT.safetensors",
    "convert a checkpoint (TFLite face network or a safetensors file of a "
    "supported network) into our safetensors layout", agf_train_import },
  { "forward", "NET --weights W --inputs I --out O",
    "run one network or one scheduler step on tensors from a safetensors "
    "file and write every output (parity checks against PyTorch)",
    agf_train_forward },
  { "prepare", "SRC... --out DIR",
    "detect and align the faces of images, videos or a manifest into "
    "256x256 crops and a dataset manifest (resumable)", agf_train_prepare },
  { "eval", "SCORES.csv [--labels M] [--threshold T | --val V] "
            "[--score-column C] [--out DIR]",
    "frame scores -> AUC, EER, HTER, APCER/BPCER/ACER (per attack type and "
    "domain), score mean/median per class, ROC and histogram plots, "
    "report.json", agf_train_eval },
  { "score", "PATH... --csv FILE", /* score helper */
    "run the shipped pipeline (face, DFG, cue, OA-Net) on images, videos "
    "and folders: one spoof score per frame in a CSV (resumable)",
    agf_train_score },
  { "cues", "MANIFEST --out DIR", /* score helper */
    "store the DFG reconstruction and cue of every face of a prepared "
    "dataset, for OA-Net training (resumable)", agf_train_cues },
  { "vae", "MANIFEST --out DIR", /* traindfg */
    "train an autoencoder (KL, f8) on aligned real faces: L1 + KL, AdamW",
    agf_train_vae },
  { "dfg", "MANIFEST --vae FILE --identity FILE --out DIR", /* traindfg */
    "train the DFG U-Net on aligned live faces: epsilon MSE with the "
    "identity context, AdamW + EMA", agf_train_dfg },
  { "oanet", "MANIFEST|--cues DIR|--protocol P --out DIR", /* ssdg */
    "train the OA-Net (or an ablation) with SSDG on stored cues of several "
    "source domains", agf_train_oanet },
  { "sample", "--vae FILE --unet FILE --out DIR", /* sample helper */
    "generate the app's built-in sample: a face from noise by the DFG and "
    "a simulated print attack of it, with provenance", agf_train_sample },
  { NULL, NULL, NULL, NULL }
};
#define commands agf_train_commands
#define N_COMMANDS (G_N_ELEMENTS(agf_train_commands) - 1)

const AgfTrainCommand *agf_train_command(const char *name)
{
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (!strcmp(name, commands[i].name))
      return &commands[i];
  return NULL;
}

static void print_help(void)
{
  g_print("Usage:\n"
          "  agfas-train [--help | --version | --list-devices]\n"
          "  agfas-train SUBCOMMAND [OPTIONS]...\n\n"
          "Subcommands:\n");
  for (size_t i = 0; i < N_COMMANDS; i++)
    g_print("  %-9s %s\n", commands[i].name, commands[i].summary);
  g_print("\nOptions:\n"
          "  -h, --help       Show this help; 'agfas-train SUBCOMMAND --help' "
          "shows a subcommand's\n"
          "  --version        Print the version\n"
          "  --list-devices   List the compute devices (what --device takes)\n"
          "\nExit status: 0 success, 1 failure, 2 usage error.\n");
}

int main(int argc, char **argv)
{
  agf_cpu_wait_policy_init(argv);
  setlocale(LC_ALL, "");
  g_set_prgname("agfas-train");
  if (argc < 2)
    return agf_cli_usage_error(NULL, "missing subcommand (see "
                                     "'agfas-train --help')");
  const char *a = argv[1];
  if (!strcmp(a, "--help") || !strcmp(a, "-h") || !strcmp(a, "help")) {
    print_help();
    return AGF_EXIT_OK;
  }
  if (!strcmp(a, "--version")) {
    g_print("agfas-train %s\n", AGF_VERSION);
    return AGF_EXIT_OK;
  }
  if (!strcmp(a, "--list-devices"))
    return agf_cli_list_devices();
  const AgfTrainCommand *cmd = agf_train_command(a);
  if (cmd)
    return cmd->run(argc - 1, argv + 1);
  GString *names = g_string_new(NULL);
  for (size_t i = 0; i < N_COMMANDS; i++)
    g_string_append_printf(names, "%s%s", i ? ", " : "", commands[i].name);
  int rc = agf_cli_usage_error(NULL, "unknown %s '%s' (subcommands: %s)",
                               a[0] == '-' ? "option" : "subcommand", a,
                               names->str);
  g_string_free(names, TRUE);
  return rc;
}
