/* agfas-train forward NET --weights W --inputs I --out O [--device D]
 *                     [--dtype f32|f16] [--input-prefix P]
 *                     [--input NAME=TENSOR]... [--weights-prefix P]
 *
 * Runs one network (or scheduler step) on tensors read from a safetensors
 * file and writes every output, as f32, to another (atomically). The NET
 * table with every input and output name is in train_forward_nets.c and
 * printed by --help. */
#include <string.h>
#include "train_cli.h"
#include "train_forward.h"

/* ---- inputs and outputs ---- */

static const char *source_name(AgfForward *f, const char *name, char **own)
{
  const char *mapped = g_hash_table_lookup(f->input_map, name);
  if (mapped)
    return mapped;
  return *own = g_strconcat(f->input_prefix, name, NULL);
}

static char *input_names(const AgfForwardNet *net)
{
  GString *s = g_string_new(NULL);
  for (int i = 0; i < AGF_FORWARD_MAX_IO && net->in[i].name; i++)
    g_string_append_printf(s, "%s%s%s", i ? ", " : "", net->in[i].name,
                           net->in[i].note ? " (optional)" : "");
  return g_string_free(s, FALSE);
}

const AgfStTensor *agf_forward_find(AgfForward *f, const char *name,
                                    gboolean required, GError **error)
{
  g_autofree char *own = NULL;
  const char *src = source_name(f, name, &own);
  const AgfStTensor *t = agf_safetensors_find(f->inputs, src);
  if (t || !required)
    return t;
  g_autofree char *names = input_names(f->net);
  g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
              "inputs file %s has no tensor %s (input %s of %s, which reads "
              "%s; --input-prefix or --input %s=TENSOR name another tensor)",
              agf_safetensors_path(f->inputs), src, name, f->net->name, names,
              name);
  return NULL;
}

AgfTensor *agf_forward_input(AgfForward *f, const char *name,
                             gboolean required, GError **error)
{
  const AgfStTensor *t = agf_forward_find(f, name, required, error);
  if (!t)
    return NULL;
  if (!agf_st_dtype_is_float(t->dtype)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_DTYPE,
                "input %s (%s) in %s is %s, not a float tensor", name,
                t->name, agf_safetensors_path(f->inputs),
                agf_st_dtype_name(t->dtype));
    return NULL;
  }
  return agf_safetensors_load(f->inputs, f->dev, t->name, f->dt, 0, NULL,
                              error);
}

float *agf_forward_input_f32(AgfForward *f, const char *name,
                             const AgfStTensor **info, GError **error)
{
  const AgfStTensor *t = agf_forward_find(f, name, TRUE, error);
  if (!t)
    return NULL;
  if (info)
    *info = t;
  return agf_safetensors_read_f32(f->inputs, t->name, 0, NULL, error);
}

static void report(AgfForward *f, const char *name, int ndim,
                   const int64_t *shape, const char *dt)
{
  g_string_append_printf(f->report, "  %-12s [", name);
  for (int i = 0; i < ndim; i++)
    g_string_append_printf(f->report, "%s%" G_GINT64_FORMAT, i ? ", " : "",
                           shape[i]);
  g_string_append_printf(f->report, "] %s\n", dt);
}

gboolean agf_forward_output(AgfForward *f, const char *name,
                            const AgfTensor *t, GError **error)
{
  int64_t n = agf_tensor_numel(t);
  g_autofree float *v = g_new(float, MAX(n, 1));
  if (!agf_tensor_to_f32(t, v, error))
    return FALSE;
  return agf_forward_output_host(f, name, AGF_ST_F32, t->ndim, t->shape, v,
                                 error);
}

gboolean agf_forward_output_host(AgfForward *f, const char *name,
                                 AgfStDType dt, int ndim,
                                 const int64_t *shape, const void *data,
                                 GError **error)
{
  if (!agf_safetensors_writer_add(f->out, name, dt, ndim, shape, data, error))
    return FALSE;
  report(f, name, ndim, shape, agf_st_dtype_name(dt));
  return TRUE;
}

/* ---- help ---- */

static char *describe(void)
{
  GString *s = g_string_new("NET, its inputs (tensors of the --inputs file) "
                            "and outputs (written as F32\nunless noted):\n");
  for (const AgfForwardNet *n = agf_forward_nets; n->name; n++) {
    g_string_append_printf(s, "\n  %s: %s%s\n", n->name, n->summary,
                           n->needs_weights ? "" : " (--weights optional)");
    for (int io = 0; io < 2; io++) {
      const AgfForwardIO *l = io ? n->out : n->in;
      for (int i = 0; i < AGF_FORWARD_MAX_IO && l[i].name; i++)
        g_string_append_printf(s, "    %-4s %-15s %s%s%s%s\n",
                               i ? "" : io ? "out" : "in", l[i].name,
                               l[i].shape, l[i].note ? " (" : "",
                               l[i].note ? l[i].note : "",
                               l[i].note ? ")" : "");
    }
  }
  g_string_append(s, "\n");
  g_string_append(s, agf_forward_step_help);
  g_string_append(s,
    "\nInputs are converted to --dtype; outputs are read back as F32. "
    "Example, checking\na U-Net against PyTorch (st_io.save(I, {'sample': "
    "..., 'timesteps': ...,\n'context': ...})):\n"
    "  agfas-train forward unet --weights unet.safetensors --inputs I "
    "--out O --device cpu\n");
  return g_string_free(s, FALSE);
}

/* ---- the command ---- */

static char *opt_weights, *opt_inputs, *opt_out, *opt_prefix, *opt_wprefix;
static char **opt_map;

static const GOptionEntry entries[] = {
  { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &opt_weights,
    "The network's safetensors file (our layout: agfas-train import)", "W" },
  { "inputs", 'i', 0, G_OPTION_ARG_FILENAME, &opt_inputs,
    "safetensors file holding the NET's input tensors", "I" },
  { "out", 'o', 0, G_OPTION_ARG_FILENAME, &opt_out,
    "safetensors file to write every output to (replaced atomically)", "O" },
  { "input-prefix", 0, 0, G_OPTION_ARG_STRING, &opt_prefix,
    "Read input NAME from tensor PREFIX+NAME (e.g. test. for a golden)", "P" },
  { "input", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_map,
    "Read input NAME from TENSOR (repeatable)", "NAME=TENSOR" },
  { "weights-prefix", 0, 0, G_OPTION_ARG_STRING, &opt_wprefix,
    "The network's tensors are under P (resnet18, mtcnn_*), e.g. "
    "cue_encoder.", "P" },
  { NULL }
};

static gboolean has_input(const AgfForwardNet *net, const char *name)
{
  for (int i = 0; i < AGF_FORWARD_MAX_IO && net->in[i].name; i++)
    if (!strcmp(net->in[i].name, name))
      return TRUE;
  return FALSE;
}

static char *net_names(void)
{
  GString *s = g_string_new(NULL);
  for (const AgfForwardNet *n = agf_forward_nets; n->name; n++)
    g_string_append_printf(s, "%s%s", n == agf_forward_nets ? "" : ", ",
                           n->name);
  return g_string_free(s, FALSE);
}

/* The run itself, after the command line was checked. */
static gboolean forward(AgfForward *f, const AgfCliCommon *common,
                        GError **error)
{
  g_autoptr(AgfDevice) dev = agf_cli_open_device(common, f->dt, error);
  if (!dev)
    return FALSE;
  f->dev = dev;
  g_autoptr(AgfSafetensors) in = agf_safetensors_open(opt_inputs, error);
  if (!in) {
    g_prefix_error(error, "--inputs: ");
    return FALSE;
  }
  f->inputs = in;
  g_autoptr(AgfWeights) w = NULL;
  if (opt_weights && !(w = agf_weights_open(opt_weights, dev, f->dt, error)))
    return FALSE;
  f->weights = w;
  f->out = agf_safetensors_writer_new();
  gint64 t0 = g_get_monotonic_time();
  gboolean ok = f->net->run(f, error) && agf_device_sync(dev, error);
  double ms = (g_get_monotonic_time() - t0) / 1000.0;
  if (ok) {
    agf_safetensors_writer_set_meta(f->out, "agfas.forward.net", f->net->name);
    agf_safetensors_writer_set_meta(f->out, "agfas.forward.device",
                                    agf_device_info(dev)->spec);
    agf_safetensors_writer_set_meta(f->out, "agfas.forward.dtype",
                                    agf_dtype_name(f->dt));
    if (opt_weights) {
      g_autofree char *base = g_path_get_basename(opt_weights);
      agf_safetensors_writer_set_meta(f->out, "agfas.forward.weights", base);
    }
    ok = agf_safetensors_writer_write(f->out, opt_out, error);
  }
  agf_safetensors_writer_free(f->out);
  f->out = NULL;
  if (ok)
    g_print("forward %s on %s (%s, %.1f ms) -> %s\n%s", f->net->name,
            agf_device_info(dev)->spec, agf_dtype_name(f->dt), ms, opt_out,
            f->report->str);
  return ok;
}

int agf_train_forward(int argc, char **argv)
{
  const AgfTrainCommand *cmd = agf_train_command("forward");
  AgfCliCommon common = { 0 };
  GOptionContext *ctx = agf_cli_context(
    cmd, entries, &common, TRUE,
    "Compute (weights and inputs) in f32 (default) or f16");
  g_autofree char *desc = describe();
  g_option_context_set_description(ctx, desc);
  int rc = AGF_EXIT_OK;
  GError *error = NULL;
  g_autofree char *names = NULL;
  AgfForward f = { .input_prefix = "", .dt = AGF_F32 };
  f.input_map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  f.report = g_string_new(NULL);
  if (!agf_cli_parse(ctx, cmd->name, &argc, &argv, &rc))
    goto done;
  names = net_names();
  if (argc != 2) {
    rc = agf_cli_usage_error(cmd->name, "%s NET (one of %s)",
                             argc < 2 ? "missing" : "more than one", names);
    goto done;
  }
  if (!(f.net = agf_forward_net(argv[1]))) {
    rc = agf_cli_usage_error(cmd->name, "unknown NET %s (one of %s)", argv[1],
                             names);
    goto done;
  }
  const char *missing = !opt_inputs ? "--inputs I"
                        : !opt_out ? "--out O"
                        : !opt_weights && f.net->needs_weights ? "--weights W"
                        : NULL;
  if (missing) {
    rc = agf_cli_usage_error(cmd->name, "missing %s", missing);
    goto done;
  }
  if (opt_wprefix && !f.net->takes_prefix) {
    rc = agf_cli_usage_error(cmd->name, "--weights-prefix does not apply to "
                             "%s (only resnet18 and mtcnn_*)", f.net->name);
    goto done;
  }
  f.weights_prefix = opt_wprefix;
  if (opt_prefix)
    f.input_prefix = opt_prefix;
  for (char **m = opt_map; m && *m; m++) {
    char *k, *v;
    if (!agf_cli_split_pair(*m, "input", &k, &v, &error)) {
      rc = agf_cli_usage_error(cmd->name, "%s", error->message);
      g_clear_error(&error);
      goto done;
    }
    g_hash_table_insert(f.input_map, k, v);
    if (!has_input(f.net, k)) {
      g_autofree char *in = input_names(f.net);
      rc = agf_cli_usage_error(cmd->name, "--input %s: %s has no input %s "
                               "(it reads %s)", *m, f.net->name, k, in);
      goto done;
    }
  }
  if (common.dtype && !agf_cli_parse_dtype(common.dtype, &f.dt, &error)) {
    rc = agf_cli_usage_error(cmd->name, "%s", error->message);
    g_clear_error(&error);
    goto done;
  }
  if (!forward(&f, &common, &error))
    rc = agf_cli_fail(error);
done:
  g_option_context_free(ctx);
  g_hash_table_unref(f.input_map);
  g_string_free(f.report, TRUE);
  g_clear_pointer(&opt_weights, g_free);
  g_clear_pointer(&opt_inputs, g_free);
  g_clear_pointer(&opt_out, g_free);
  g_clear_pointer(&opt_prefix, g_free);
  g_clear_pointer(&opt_wprefix, g_free);
  g_clear_pointer(&opt_map, g_strfreev);
  g_free(common.dtype);
  g_free(common.device);
  return rc;
}
