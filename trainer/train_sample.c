/* agfas-train sample: generates the app's built-in sample pair (a face the
 * DFG makes from noise, and a simulated print attack of it) with its
 * provenance (train_sample.h). */
#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include "train_cli.h"
#include "train_sample.h"
#include "train_progress.h"
#include "io/atomic_file.h"
#include "io/image.h"

static const char description[] =
  "Writes into DIR:\n"
  "  live.png         a 256 x 256 face the DFG generates from pure noise:\n"
  "                   z_T ~ N(0, I) (from --seed), --steps U-Net calls of\n"
  "                   the full schedule of the U-Net's noise schedule\n"
  "                   (leading spacing, 50 steps: t = 981 .. 1), decoded\n"
  "                   by the autoencoder\n"
  "  print.png        the same face printed and re-captured by a camera:\n"
  "                   printer gamut and range, CMYK halftone dot screen,\n"
  "                   paper white, defocus, a mild perspective warp whose\n"
  "                   resampling makes moire, sensor noise (seeded)\n"
  "  provenance.json  the tool, its parameters, and the sha256 of every\n"
  "                   model file and output\n\n"
  "The identity context is zero (--identity none, the default) or the\n"
  "tokens of --identity-image (an aligned face crop) from the --identity\n"
  "network: an iresnet or MobileFaceNet file, or 'mobilefacenet'.\n\n"
  "The app's welcome page offers resources/sample/{live,print}.png: make\n"
  "them with the trained default DFG (resources/models/dfg), never with\n"
  "random weights:\n"
  "  agfas-train sample \\\n"
  "    --vae resources/models/dfg/autoencoder_kl.safetensors \\\n"
  "    --unet resources/models/dfg/unet.safetensors --out resources/sample";

typedef struct {
  AgfCliCommon common;
  char *vae, *unet, *identity, *identity_image, *out, *sampler;
  gint64 seed;
  int steps;
} SampleArgs;

typedef struct {
  AgfProgress bar;
  gboolean started;
} Progress;

static gboolean on_progress(int done, int total, gpointer data)
{
  Progress *p = data;
  if (!p->started) {
    agf_progress_init(&p->bar, "sample", "steps", (guint)total);
    p->started = TRUE;
  }
  p->bar.done = (guint)done;
  const double s = (g_get_monotonic_time() - p->bar.t0) / 1e6;
  g_autofree char *detail =
    done ? g_strdup_printf("%.2f s/step", s / done) : g_strdup("from noise");
  agf_progress_show(&p->bar, detail, done == total);
  return TRUE;
}

/* ---- provenance ---- */

static int cmp_keys(const void *a, const void *b)
{
  return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

/* {"file": basename, "sha256": ... [, "metadata": {...}]} of path, with
 * the agfas.* keys of meta (preset, init seed: how the weights were made)
 * in sorted order. Base names only: the file is committed, and local
 * folders say nothing about the model. */
static gboolean add_file_meta(JsonBuilder *b, const char *key,
                              const char *path, GHashTable *meta,
                              GError **error)
{
  g_autofree char *sha = agf_cli_file_sha256(path, error);
  if (!sha)
    return FALSE;
  g_autofree char *base = g_path_get_basename(path);
  json_builder_set_member_name(b, key);
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "file");
  json_builder_add_string_value(b, base);
  json_builder_set_member_name(b, "sha256");
  json_builder_add_string_value(b, sha);
  if (meta) {
    g_autofree gpointer *keys = g_hash_table_get_keys_as_array(meta, NULL);
    qsort(keys, g_hash_table_size(meta), sizeof *keys, cmp_keys);
    json_builder_set_member_name(b, "metadata");
    json_builder_begin_object(b);
    for (guint i = 0; i < g_hash_table_size(meta); i++)
      if (g_str_has_prefix(keys[i], "agfas.") &&
          !g_str_has_prefix(keys[i], AGF_SCHEDULE_META_PREFIX)) {
        json_builder_set_member_name(b, keys[i]);
        json_builder_add_string_value(b, g_hash_table_lookup(meta, keys[i]));
      }
    json_builder_end_object(b);
  }
  json_builder_end_object(b);
  return TRUE;
}

static gboolean add_file(JsonBuilder *b, const char *key, const char *path,
                         GError **error)
{
  return add_file_meta(b, key, path, NULL, error);
}

static void add_doubles(JsonBuilder *b, const char *key, const double *v,
                        int n)
{
  json_builder_set_member_name(b, key);
  json_builder_begin_array(b);
  for (int i = 0; i < n; i++)
    json_builder_add_double_value(b, v[i]);
  json_builder_end_array(b);
}

static void add_print_params(JsonBuilder *b, const AgfPrintAttackParams *p)
{
  json_builder_set_member_name(b, "print_attack");
  json_builder_begin_object(b);
#define D(k, v) \
  json_builder_set_member_name(b, k), json_builder_add_double_value(b, v)
  D("black", p->black);
  D("white", p->white);
  D("saturation", p->saturation);
  json_builder_set_member_name(b, "print_scale");
  json_builder_add_int_value(b, p->print_scale);
  D("dot_period", p->dot_period);
  add_doubles(b, "screen_angle_cmyk", p->screen_angle, 4);
  const double paper[3] = { p->paper[0], p->paper[1], p->paper[2] };
  const double border[3] = { p->border[0], p->border[1], p->border[2] };
  add_doubles(b, "paper", paper, 3);
  D("blur_sigma", p->blur_sigma);
  D("warp", p->warp);
  add_doubles(b, "border", border, 3);
  D("read_noise", p->read_noise);
  D("shot_noise", p->shot_noise);
#undef D
  json_builder_end_object(b);
}

static gboolean write_provenance(const SampleArgs *a, const AgfSampleParams *sp,
                                 const AgfPrintAttackParams *pp,
                                 const char *identity_name,
                                 const char *device, GHashTable *vae_meta,
                                 GHashTable *unet_meta, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
#define S(k, v) \
  json_builder_set_member_name(b, k), json_builder_add_string_value(b, v)
#define I(k, v) \
  json_builder_set_member_name(b, k), json_builder_add_int_value(b, v)
  S("tool", "agfas-train sample");
  S("version", AGF_VERSION);
  S("note", a->identity_image
              ? "generated by the DFG from noise, conditioned on the "
                "identity of identity_image; print.png is a simulated print "
                "attack of live.png"
              : "generated by the DFG from noise with no identity context "
                "(no photograph involved); print.png is a simulated print "
                "attack of live.png");
  I("seed", sp->seed);
  I("steps", sp->steps);
  S("sampler", sp->sampler);
  I("size", sp->size);
  S("device", device);
  S("dtype", a->common.dtype ? a->common.dtype : "f32");
  json_builder_set_member_name(b, "models");
  json_builder_begin_object(b);
  if (!add_file_meta(b, "autoencoder", a->vae, vae_meta, error) ||
      !add_file_meta(b, "unet", a->unet, unet_meta, error))
    return FALSE;
  gboolean id_file = a->identity && strcmp(a->identity, "none") &&
                     strcmp(a->identity, "mobilefacenet");
  if (id_file && !add_file(b, "identity", a->identity, error))
    return FALSE;
  json_builder_end_object(b);
  S("identity_network", identity_name);
  if (a->identity_image && !add_file(b, "identity_image", a->identity_image,
                                     error))
    return FALSE;
  add_print_params(b, pp);
  json_builder_set_member_name(b, "outputs");
  json_builder_begin_object(b);
  for (int i = 0; i < 2; i++) {
    const char *name = i ? "print.png" : "live.png";
    g_autofree char *path = g_build_filename(a->out, name, NULL);
    if (!add_file(b, name, path, error))
      return FALSE;
  }
  json_builder_end_object(b);
#undef S
#undef I
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autoptr(JsonGenerator) gen = json_generator_new();
  json_generator_set_root(gen, root);
  json_generator_set_pretty(gen, TRUE);
  g_autofree char *text = json_generator_to_data(gen, NULL);
  g_autofree char *body = g_strconcat(text, "\n", NULL);
  g_autofree char *path = g_build_filename(a->out, "provenance.json", NULL);
  return agf_atomic_write(path, "the sample's provenance", body, strlen(body),
                          error);
}

/* ---- the command ---- */

static gboolean save(const AgfRgbImage *img, const char *dir,
                     const char *name, GError **error)
{
  g_autoptr(AgfImage) out = agf_rgb_image_to_image(img, error);
  g_autofree char *path = g_build_filename(dir, name, NULL);
  return out && agf_image_save_png(out, path, error);
}

static gboolean run(SampleArgs *a, GError **error)
{
  AgfDType dt = AGF_F32;
  if (a->common.dtype && !agf_cli_parse_dtype(a->common.dtype, &dt, error))
    return FALSE;
  if (g_mkdir_with_parents(a->out, 0755) != 0) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
                "cannot create --out %s: %s; pass a writable folder", a->out,
                g_strerror(errno));
    return FALSE;
  }
  g_autoptr(AgfDevice) dev = agf_cli_open_device(&a->common, dt, error);
  if (!dev)
    return FALSE;
  AgfDfgIdentity *id = agf_sample_open_identity(a->identity, dev, dt, error);
  if (!id)
    return FALSE;
  g_autofree char *id_name = g_strdup(agf_dfg_identity_name(id));
  g_autoptr(AgfWeights) vw = agf_weights_open(a->vae, dev, dt, error);
  g_autoptr(AgfWeights) uw =
    vw ? agf_weights_open(a->unet, dev, dt, error) : NULL;
  if (!uw) {
    agf_dfg_identity_free(id);
    g_prefix_error(error, "%s: ", vw ? "--unet" : "--vae");
    return FALSE;
  }
  g_autoptr(AgfDfg) dfg = agf_dfg_new(vw, uw, id, error);
  g_autoptr(AgfTensor) ctx =
    dfg ? agf_sample_context(dfg, a->identity_image, dt, error) : NULL;
  if (!ctx)
    return FALSE;
  AgfSampleParams sp;
  agf_sample_params_init(&sp);
  sp.steps = a->steps;
  sp.seed = (guint64)a->seed;
  if (a->sampler)
    sp.sampler = a->sampler;
  Progress progress = { 0 };
  g_autoptr(AgfTensor) x = agf_sample_generate(dfg, ctx, &sp, on_progress,
                                               &progress, error);
  g_autoptr(AgfRgbImage) live = x ? agf_sample_to_rgb(x, error) : NULL;
  if (!live)
    return FALSE;
  AgfPrintAttackParams pp;
  agf_print_attack_params_init(&pp);
  pp.seed = sp.seed;
  g_autoptr(AgfRgbImage) print = agf_print_attack(live, &pp, error);
  if (!print || !save(live, a->out, "live.png", error) ||
      !save(print, a->out, "print.png", error))
    return FALSE;
  if (!write_provenance(a, &sp, &pp, id_name, agf_device_info(dev)->spec,
                        agf_safetensors_metadata(agf_weights_file(vw)),
                        agf_safetensors_metadata(agf_weights_file(uw)),
                        error))
    return FALSE;
  g_print("wrote %s/live.png, print.png and provenance.json (seed %"
          G_GINT64_FORMAT ", %d %s steps)\n", a->out, a->seed, sp.steps,
          sp.sampler);
  return TRUE;
}

static const char *usage_problem(const SampleArgs *a, int argc)
{
  if (argc > 1)
    return "takes no positional arguments";
  if (!a->vae)
    return "--vae FILE is required (the DFG's autoencoder)";
  if (!a->unet)
    return "--unet FILE is required (the DFG's U-Net)";
  if (!a->out)
    return "--out DIR is required (where live.png and print.png go)";
  if (a->steps < 1 || a->steps > 1000)
    return "--steps must be 1..1000";
  if (a->seed < 0)
    return "--seed must be >= 0";
  if (a->sampler && strcmp(a->sampler, "ddim") && strcmp(a->sampler, "pndm"))
    return "--sampler is ddim or pndm";
  const gboolean no_id = !a->identity || !strcmp(a->identity, "none");
  if (a->identity_image && no_id)
    return "--identity-image needs an --identity network (an iresnet or "
           "MobileFaceNet file, or mobilefacenet)";
  if (!a->identity_image && !no_id)
    return "--identity needs --identity-image (the face whose identity "
           "conditions the sample); or use --identity none";
  return NULL;
}

int agf_train_sample(int argc, char **argv)
{
  const AgfTrainCommand *cmd = agf_train_command(argv[0]);
  SampleArgs a = { .steps = 50 };
  const GOptionEntry entries[] = {
    { "vae", 0, 0, G_OPTION_ARG_FILENAME, &a.vae,
      "The DFG's autoencoder file (required)", "FILE" },
    { "unet", 0, 0, G_OPTION_ARG_FILENAME, &a.unet,
      "The DFG's U-Net file (required)", "FILE" },
    { "identity", 0, 0, G_OPTION_ARG_FILENAME, &a.identity,
      "Identity network: an iresnet or MobileFaceNet file, 'mobilefacenet' "
      "or 'none' (default: zero context)", "FILE|mobilefacenet|none" },
    { "identity-image", 0, 0, G_OPTION_ARG_FILENAME, &a.identity_image,
      "Condition on this aligned face's identity (needs --identity)",
      "IMAGE" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &a.out,
      "Output folder (required; created if missing)", "DIR" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &a.seed,
      "Seed of the latent noise and of the print simulation (default 0)",
      "S" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &a.steps,
      "U-Net calls of the full schedule (default 50)", "N" },
    { "sampler", 0, 0, G_OPTION_ARG_STRING, &a.sampler,
      "ddim (default) or pndm", "NAME" },
    { NULL }
  };
  GOptionContext *ctx = agf_cli_context(cmd, entries, &a.common, TRUE,
                                        "Weights dtype: f32 (default) or "
                                        "f16");
  g_option_context_set_description(ctx, description);
  int rc = AGF_EXIT_OK;
  GError *error = NULL;
  if (!agf_cli_parse(ctx, cmd->name, &argc, &argv, &rc))
    goto done;
  const char *problem = usage_problem(&a, argc);
  if (problem)
    rc = agf_cli_usage_error(cmd->name, "%s", problem);
  else if (!run(&a, &error))
    rc = agf_cli_fail(error);
done:
  g_option_context_free(ctx);
  g_free(a.common.device);
  g_free(a.common.dtype);
  g_free(a.vae);
  g_free(a.unet);
  g_free(a.identity);
  g_free(a.identity_image);
  g_free(a.out);
  g_free(a.sampler);
  return rc;
}
