/* agfas-train cues MANIFEST --out DIR [--models DIR] [--device D]
 *   [--batch N] [--store f16|f32] [DFG settings]
 *
 * Runs the DFG over the aligned crops of a prepared dataset (the manifest
 * `agfas-train prepare` writes) and stores, per face, its reconstruction
 * and standardized cue, so OA-Net training reads them instead of running
 * diffusion every epoch:
 *
 *   DIR/cues/<crop>-<hash>.safetensors  tensors "recon" and "cue",
 *        [1, 3, 256, 256] (--store f16 by default), metadata: format
 *        agfas-cue-1, sampler, t0, steps, seed, mask, source (the crop),
 *        residual_l1 (below)
 *   DIR/settings.json   the DFG settings of the run; a rerun must match
 *   DIR/manifest.jsonl  the input records (paths made absolute) plus a
 *        "cue" column naming each face's file, relative to DIR, and a
 *        "residual_l1" column: the reconstruction error of the face,
 *        sum |residual| / (3 * sum(mask)) over the masked residual
 *        crop - recon (mean |residual| over all pixels with --no-mask),
 *        computed from the residual itself, before --store rounds it
 *
 * Each file is written atomically, so it exists only when complete: a
 * rerun skips the faces whose file exists (resuming a killed run loses at
 * most the batch in flight) and takes their residual_l1 from the file's
 * metadata; a file without that key is redone. Records without a crop
 * (status other than ok) are carried over without a cue, and so are faces
 * whose reconstruction is not finite (reported; nothing stored). */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include "train_cli.h"
#include "train_recon_options.h"
#include "train_signal.h"
#include "train_progress.h"
#include "io/atomic_file.h"
#include "io/image.h"
#include "io/manifest.h"
#include "nn/ops.h"
#include "pipeline/analyze.h"

static char *opt_out, *opt_models, *opt_store;
static int opt_batch = 8;
static AgfReconOptions recon = AGF_RECON_OPTIONS_INIT;

static const GOptionEntry entries[] = {
  { "out", 'o', 0, G_OPTION_ARG_FILENAME, &opt_out,
    "Output folder: cues/, settings.json, manifest.jsonl (created)", "DIR" },
  { "models", 0, 0, G_OPTION_ARG_FILENAME, &opt_models,
    "Models folder holding dfg/{autoencoder_kl,unet,identity}.safetensors "
    "(default: $AGFAS_MODELS_DIR, then the source tree's and the installed "
    "resources/models)", "DIR" },
  { "batch", 'b', 0, G_OPTION_ARG_INT, &opt_batch,
    "Faces per DFG batch (default 8)", "N" },
  { "store", 0, 0, G_OPTION_ARG_STRING, &opt_store,
    "Stored precision: f16 (default, half the disk) or f32", "f16|f32" },
  { NULL }
};

static const char description[] =
  "MANIFEST: a dataset manifest from `agfas-train prepare` (CSV or JSONL):\n"
  "each record's crop (an aligned 256x256 face) is reconstructed; its\n"
  "landmarks place the face mask.\n\n"
  "Writes DIR/cues/*.safetensors (tensors recon and cue, [1, 3, 256, 256]),\n"
  "DIR/settings.json and DIR/manifest.jsonl: the input records plus a 'cue'\n"
  "column and a 'residual_l1' column, the face's reconstruction error:\n"
  "sum |crop - recon| / (3 * sum(mask)) over the masked residual, or the\n"
  "mean |crop - recon| over all pixels with --no-mask (`agfas-train eval\n"
  "DIR/manifest.jsonl --score-column residual_l1` compares live and attacks).\n"
  "Resumable: a rerun with the same settings skips the faces whose file\n"
  "exists, reading their residual_l1 from the file's metadata (a file\n"
  "without it is redone). Ctrl-C stops after the batch in flight.\n\n"
  "Exit status: 0 done, 1 failure or interrupted, 2 usage error.";

typedef struct {
  const char *dir;
  AgfDevice *dev;
  AgfDfg *dfg;
  AgfFaceMasker *masker;
  AgfDfgParams params;
  AgfDType dt;         /* the network's precision */
  AgfStDType store;
  AgfProgress progress;
  guint made, failed;
  /* the batch */
  GPtrArray *crops;    /* AgfTensor [1, 3, S, S] */
  GPtrArray *files;    /* absolute output paths */
  GPtrArray *records;  /* the faces' records (borrowed) */
  GArray *landmarks;   /* float[5][2] */
} Cues;

/* The cue file of a crop: readable stem + a hash of the crop's path. */
static char *cue_name(const char *crop)
{
  g_autofree char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256,
                                                        crop, -1);
  g_autofree char *base = g_path_get_basename(crop);
  char *dot = strrchr(base, '.');
  if (dot && dot != base)
    *dot = 0;
  if (strlen(base) > 60)
    base[60] = 0;
  hash[12] = 0;
  return g_strdup_printf("cues/%s-%s.safetensors", base, hash);
}

static char *settings_json(const Cues *c)
{
  char t0[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd(t0, sizeof t0, "%.10g", c->params.strength);
  return g_strdup_printf("{\"format\": \"agfas-cue-1\", \"sampler\": \"%s\", "
                         "\"t0\": %s, \"steps\": %d, \"seed\": %" G_GUINT64_FORMAT
                         ", \"eta\": 0, \"mask\": %s, \"dtype\": \"%s\", "
                         "\"store\": \"%s\"}\n",
                         c->params.sampler, t0, c->params.steps,
                         c->params.seed, c->masker ? "\"ellipse\"" : "null",
                         agf_dtype_name(c->dt), agf_st_dtype_name(c->store));
}

/* Writes DIR/settings.json, or checks an existing one says the same. */
static gboolean check_settings(const Cues *c, GError **error)
{
  g_autofree char *path = g_build_filename(c->dir, "settings.json", NULL);
  g_autofree char *want = settings_json(c);
  g_autofree char *have = NULL;
  if (!g_file_get_contents(path, &have, NULL, NULL))
    return agf_atomic_write(path, "cue settings", want, strlen(want), error);
  if (strcmp(have, want)) {
    g_strchomp(have);
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s was made with other settings (%s): rerun with those, or "
                "use another --out", c->dir, have);
    return FALSE;
  }
  return TRUE;
}

/* The reconstruction error of one face: residual [3, S, S] (already
 * masked when mask is not NULL), mask [S, S] (pixels = S * S). The mean
 * |residual| over the face: sum |residual| / (3 * sum(mask)), or over all
 * pixels without a mask. An empty mask leaves a zero residual: 0. */
static double residual_l1(const float *residual, const float *mask,
                          gsize pixels)
{
  double sum = 0, area = mask ? 0 : (double)pixels;
  for (gsize i = 0; i < 3 * pixels; i++)
    sum += fabs(residual[i]);
  for (gsize i = 0; mask && i < pixels; i++)
    area += mask[i];
  return area > 0 ? sum / (3 * area) : 0;
}

/* Item b of a downloaded [B, 3, S, S] batch x (per values each) in the
 * stored precision. */
static gboolean add_item(AgfSafetensorsWriter *w, const char *name,
                         const float *x, const AgfTensor *t, guint b,
                         AgfStDType store, GError **error)
{
  const gint64 per = agf_tensor_numel(t) / t->shape[0];
  const int64_t shape[4] = { 1, t->shape[1], t->shape[2], t->shape[3] };
  x += b * per;
  if (store == AGF_ST_F32)
    return agf_safetensors_writer_add(w, name, AGF_ST_F32, 4, shape, x, error);
  g_autofree uint16_t *h = g_new(uint16_t, per);
  for (gint64 i = 0; i < per; i++)
    h[i] = agf_f32_to_f16(x[i]);
  return agf_safetensors_writer_add(w, name, AGF_ST_F16, 4, shape, h, error);
}

static void batch_reset(Cues *c)
{
  g_ptr_array_set_size(c->crops, 0);
  g_ptr_array_set_size(c->files, 0);
  g_ptr_array_set_size(c->records, 0);
  g_array_set_size(c->landmarks, 0);
}

static gboolean flush(Cues *c, GError **error)
{
  const guint n = c->crops->len;
  if (!n)
    return TRUE;
  g_autoptr(AgfTensor) f32 = n == 1
    ? agf_tensor_ref(c->crops->pdata[0])
    : agf_concat((const AgfTensor *const *)c->crops->pdata, (int)n, 0, error);
  /* The crops in the network's precision (--dtype). */
  g_autoptr(AgfTensor) crops = f32 ? agf_tensor_cast(f32, c->dt, error)
                                   : NULL;
  AgfAnalysis a = { 0 };
  gboolean ok = crops &&
    agf_analysis_run(c->dfg, NULL, c->masker, crops,
                     (const float (*)[AGF_FACE_N_LANDMARKS][2])c->landmarks->data,
                     &c->params, agf_train_signal_continue, NULL, &a, error);
  g_autofree float *recon = ok ? g_new(float, agf_tensor_numel(a.recon))
                               : NULL;
  g_autofree float *cue = ok ? g_new(float, agf_tensor_numel(a.cue)) : NULL;
  g_autofree float *res = ok ? g_new(float, agf_tensor_numel(a.residual))
                             : NULL;
  /* The mask the residual was multiplied by (the analysis's own). */
  g_autofree float *mask =
    ok && a.mask ? g_new(float, agf_tensor_numel(a.mask)) : NULL;
  ok = ok && agf_tensor_to_f32(a.recon, recon, error) &&
       agf_tensor_to_f32(a.cue, cue, error) &&
       agf_tensor_to_f32(a.residual, res, error) &&
       (!mask || agf_tensor_to_f32(a.mask, mask, error));
  char t0[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd(t0, sizeof t0, "%.10g", c->params.strength);
  g_autofree char *steps = g_strdup_printf("%d", c->params.steps);
  g_autofree char *seed = g_strdup_printf("%" G_GUINT64_FORMAT,
                                          c->params.seed);
  const gsize pixels = ok ? (gsize)(a.residual->shape[2] *
                                    a.residual->shape[3]) : 0;
  for (guint i = 0; ok && i < n; i++) {
    AgfManifestRecord *r = c->records->pdata[i];
    const double l1 = residual_l1(res + i * 3 * pixels,
                                  mask ? mask + i * pixels : NULL, pixels);
    if (!isfinite(l1)) {
      /* A diverged reconstruction (e.g. an f16 overflow): no cue. */
      g_printerr("agfas-train cues: %s: the reconstruction is not finite; "
                 "no cue stored (try --dtype f32)\n", r->crop);
      agf_manifest_record_set_extra(r, "cue", "");
      c->failed++;
      continue;
    }
    char l1_text[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(l1_text, sizeof l1_text, "%.9g", l1);
    g_autoptr(AgfSafetensorsWriter) w = agf_safetensors_writer_new();
    agf_safetensors_writer_set_meta(w, "format", "agfas-cue-1");
    agf_safetensors_writer_set_meta(w, "sampler", c->params.sampler);
    agf_safetensors_writer_set_meta(w, "t0", t0);
    agf_safetensors_writer_set_meta(w, "steps", steps);
    agf_safetensors_writer_set_meta(w, "seed", seed);
    agf_safetensors_writer_set_meta(w, "mask", c->masker ? "ellipse" : "none");
    agf_safetensors_writer_set_meta(w, "source", r->crop);
    agf_safetensors_writer_set_meta(w, "residual_l1", l1_text);
    ok = add_item(w, "recon", recon, a.recon, i, c->store, error) &&
         add_item(w, "cue", cue, a.cue, i, c->store, error) &&
         agf_safetensors_writer_write(w, c->files->pdata[i], error);
    if (ok)
      agf_manifest_record_set_extra(r, "residual_l1", l1_text);
    c->made += ok;
  }
  agf_analysis_clear(&a);
  batch_reset(c);
  return ok;
}

/* The crop as [1, 3, S, S] in [-1, 1] (prepare wrote it from such a
 * tensor with the same mapping). */
static AgfTensor *load_crop(Cues *c, const char *path, GError **error)
{
  g_autoptr(AgfImage) img = agf_image_load(path, error);
  if (!img)
    return NULL;
  if (img->width != AGF_FACE_ALIGN_SIZE || img->height != AGF_FACE_ALIGN_SIZE) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_SHAPE,
                "%s is %dx%d, not an aligned %dx%d crop from prepare", path,
                img->width, img->height, AGF_FACE_ALIGN_SIZE,
                AGF_FACE_ALIGN_SIZE);
    return NULL;
  }
  static const float half[3] = { 0.5f, 0.5f, 0.5f };
  g_autoptr(AgfTensor) u8 = agf_image_upload(img, c->dev, error);
  return u8 ? agf_image_to_tensor(u8, half, half, error) : NULL;
}

/* The face's landmarks in its crop: its frame landmarks through their
 * alignment, or the template when the record has none. */
static void crop_landmarks(const AgfManifestRecord *r,
                           float out[AGF_FACE_N_LANDMARKS][2])
{
  AgfFaceAlignment al;
  if (r->has_landmarks &&
      agf_face_alignment_compute(r->landmarks, AGF_FACE_ALIGN_SIZE, &al,
                                 NULL))
    agf_analysis_crop_landmarks(&al, r->landmarks, out);
  else
    agf_face_template(AGF_FACE_ALIGN_SIZE, out);
}

/* The residual_l1 a finished cue file records, as text; NULL when the
 * file cannot be read or lacks a finite one (it is then redone). */
static char *stored_l1(const char *file)
{
  g_autoptr(AgfSafetensors) st = agf_safetensors_open(file, NULL);
  const char *v = st ? agf_safetensors_meta(st, "residual_l1") : NULL;
  char *end = NULL;
  double x = v ? g_ascii_strtod(v, &end) : NAN;
  return v && end != v && !*end && isfinite(x) ? g_strdup(v) : NULL;
}

/* Queues record r's face (absolute crop path in r) unless its file exists
 * (then its residual_l1 is read back); sets r's cue column. FALSE only
 * when a batch fails. */
static gboolean face_in(Cues *c, AgfManifestRecord *r, GError **error)
{
  g_autofree char *rel = cue_name(r->crop);
  agf_manifest_record_set_extra(r, "cue", rel);
  g_autofree char *file = g_build_filename(c->dir, rel, NULL);
  g_autofree char *l1 = g_file_test(file, G_FILE_TEST_IS_REGULAR)
                        ? stored_l1(file) : NULL;
  if (l1) {
    agf_manifest_record_set_extra(r, "residual_l1", l1);
    c->progress.skipped++;
    return TRUE;
  }
  GError *e = NULL;
  AgfTensor *t = load_crop(c, r->crop, &e);
  if (!t) {
    /* A broken crop is reported and left without a cue. */
    g_printerr("agfas-train cues: %s\n", e->message);
    g_error_free(e);
    agf_manifest_record_set_extra(r, "cue", "");
    c->failed++;
    return TRUE;
  }
  float lm[AGF_FACE_N_LANDMARKS][2];
  crop_landmarks(r, lm);
  g_ptr_array_add(c->crops, t);
  g_ptr_array_add(c->files, g_steal_pointer(&file));
  g_ptr_array_add(c->records, r);
  g_array_append_vals(c->landmarks, lm, 1);
  return c->crops->len < (guint)opt_batch || flush(c, error);
}

static int run_cues(const char *manifest, const AgfCliCommon *common,
                    GError **error)
{
  g_autofree char *cwd = g_get_current_dir();
  g_autofree char *dir = g_canonicalize_filename(opt_out, cwd);
  g_autoptr(AgfManifest) in = agf_manifest_load(manifest, error);
  if (!in)
    return AGF_EXIT_FAILURE;
  Cues c = { .dir = dir, .store = AGF_ST_F16 };
  if (opt_store && !strcmp(opt_store, "f32"))
    c.store = AGF_ST_F32;
  agf_analysis_dfg_params_init(&c.params);
  agf_recon_options_apply(&recon, &c.params);
  if (!recon.no_mask)
    c.masker = agf_face_masker_ellipse(NULL);

  /* The output records: paths absolute, faces with a crop to do. */
  g_autofree char *mpath = g_build_filename(dir, "manifest.jsonl", NULL);
  g_autoptr(AgfManifest) out = agf_manifest_new(dir);
  g_autoptr(GPtrArray) todo = g_ptr_array_new();
  for (guint i = 0; i < agf_manifest_len(in); i++) {
    AgfManifestRecord *r = agf_manifest_record_copy(agf_manifest_get(in, i));
    g_autofree char *p = agf_manifest_resolve(in, r->path);
    g_free(r->path);
    r->path = g_steal_pointer(&p);
    gboolean ok = r->crop && *r->crop &&
                  (!r->status || !*r->status || !strcmp(r->status, "ok"));
    if (ok) {
      g_autofree char *crop = agf_manifest_resolve(in, r->crop);
      g_free(r->crop);
      r->crop = g_steal_pointer(&crop);
      g_ptr_array_add(todo, r);
    }
    agf_manifest_record_set_extra(r, "cue", "");
    agf_manifest_record_set_extra(r, "residual_l1", "");
    agf_manifest_add(out, r);
  }
  if (!todo->len) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_FORMAT,
                "%s has no face crops (records with a crop and status ok): "
                "make it with `agfas-train prepare`", manifest);
    g_clear_pointer(&c.masker, agf_face_masker_free);
    return AGF_EXIT_FAILURE;
  }
  g_autofree char *cues_dir = g_build_filename(dir, "cues", NULL);
  AgfDType dt = AGF_F32;
  gboolean ok = TRUE;
  if (g_mkdir_with_parents(cues_dir, 0755) != 0) {
    int e = errno;
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot create %s: %s",
                cues_dir, g_strerror(e));
    ok = FALSE;
  }
  ok = ok && (!common->dtype || agf_cli_parse_dtype(common->dtype, &dt,
                                                     error));
  c.dt = dt;
  ok = ok && check_settings(&c, error) &&
       (c.dev = agf_cli_open_device(common, dt, error)) &&
       (c.dfg = agf_analysis_open_dfg(opt_models, c.dev, dt, error));
  c.crops = g_ptr_array_new_with_free_func((GDestroyNotify)agf_tensor_unref);
  c.files = g_ptr_array_new_with_free_func(g_free);
  c.records = g_ptr_array_new();
  c.landmarks = g_array_new(FALSE, FALSE, sizeof(float[AGF_FACE_N_LANDMARKS][2]));

  AgfTrainSignalScope signals;
  agf_train_signal_begin(&signals);
  agf_progress_init(&c.progress, "cues", "faces", todo->len);
  if (ok)
    g_printerr("agfas-train cues: %u faces on %s (%s), batches of %d\n",
               todo->len, agf_device_info(c.dev)->spec,
               agf_device_info(c.dev)->name, opt_batch);
  for (guint i = 0; ok && i < todo->len && !agf_train_signal_pending();
       i++) {
    ok = face_in(&c, todo->pdata[i], error);
    /* Progress counts queued faces; the ETA evens out over batches. */
    c.progress.done++;
    g_autofree char *d = g_strdup_printf("%u written, %u failed", c.made,
                                         c.failed);
    agf_progress_show(&c.progress, d, FALSE);
  }
  ok = ok && flush(&c, error);
  gboolean stopped = agf_train_signal_pending();
  if (!ok && stopped &&
      g_error_matches(*error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    g_clear_error(error); /* the batch in flight: redone by a rerun */
    ok = TRUE;
  }
  agf_train_signal_end(&signals);
  if (c.dev) {
    g_autofree char *d = g_strdup_printf("%u written, %u failed", c.made,
                                         c.failed);
    agf_progress_show(&c.progress, d, TRUE);
  }
  if (ok && !stopped && c.failed == todo->len) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "none of the %u crops of "
                "%s could be read (see the messages above): are the crop "
                "paths relative to the manifest's folder?", todo->len,
                manifest);
    ok = FALSE;
  }
  if (ok && !stopped)
    ok = agf_manifest_save(out, mpath, AGF_MANIFEST_JSONL, error);
  if (ok && stopped)
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "interrupted; rerun the same "
                "command to resume (finished cues are in %s)", cues_dir);
  else if (ok)
    g_print("cues: %u faces: %u written, %u already done, %u failed; "
            "manifest %s\n", todo->len, c.made, c.progress.skipped,
            c.failed, mpath);
  g_ptr_array_unref(c.crops);
  g_ptr_array_unref(c.files);
  g_ptr_array_unref(c.records);
  g_array_unref(c.landmarks);
  g_clear_pointer(&c.masker, agf_face_masker_free);
  g_clear_pointer(&c.dfg, agf_dfg_free);
  g_clear_pointer(&c.dev, agf_device_free);
  return ok && !stopped ? AGF_EXIT_OK : AGF_EXIT_FAILURE;
}

int agf_train_cues(int argc, char **argv)
{
  const AgfTrainCommand *cmd = agf_train_command("cues");
  AgfCliCommon common = { 0 };
  GOptionContext *ctx = agf_recon_context(cmd, entries, &recon, &common,
                                          description);
  int rc = AGF_EXIT_OK;
  GError *error = NULL;
  if (!agf_cli_parse(ctx, cmd->name, &argc, &argv, &rc))
    goto done;
  const char *bad = argc < 2 ? "missing MANIFEST (from agfas-train prepare)"
                    : argc > 2 ? "expected one MANIFEST"
                    : !opt_out ? "missing --out DIR"
                    : opt_batch < 1 ? "--batch must be at least 1"
                    : opt_store && strcmp(opt_store, "f16") &&
                      strcmp(opt_store, "f32")
                      ? "--store must be f16 or f32"
                    : agf_recon_options_check(&recon);
  if (bad) {
    rc = agf_cli_usage_error(cmd->name, "%s", bad);
    goto done;
  }
  rc = run_cues(argv[1], &common, &error);
  rc = agf_cli_result(cmd->name, rc, error);
done:
  g_option_context_free(ctx);
  g_clear_pointer(&opt_out, g_free);
  g_clear_pointer(&opt_models, g_free);
  g_clear_pointer(&opt_store, g_free);
  agf_recon_options_clear(&recon);
  g_clear_pointer(&common.device, g_free);
  g_clear_pointer(&common.dtype, g_free);
  return rc;
}
