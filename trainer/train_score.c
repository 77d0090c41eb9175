/* agfas-train score PATH... --csv FILE [--models DIR] [--device D]
 *   [--batch N] [--resume] [--threshold T] ...
 *
 * The shipped pipeline (engine/pipeline/analyze.h: MTCNN, alignment, DFG,
 * cue, OA-Net; the app's settings) over images, videos (the frames
 * prepare samples) and folders, one table row per frame.
 *
 * Faces are scored in batches of N crops, which may span files. After
 * each batch the whole table is rewritten atomically (a temporary file,
 * fsync, rename), so a kill loses at most the batch in flight and the file
 * on disk is always complete. --resume reads the table back and skips
 * every (path, frame) it holds; at the end the rows are sorted into input
 * order. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include "train_cli.h"
#include "train_recon_options.h"
#include "train_signal.h"
#include "train_prepare.h"
#include "train_score.h"
#include "train_progress.h"
#include "io/image.h"
#include "io/video.h"
#include "nn/ops.h"
#include "pipeline/analyze.h"

static char *opt_csv, *opt_models;
static int opt_batch = 8, opt_frames = AGF_VIDEO_DEFAULT_SAMPLES;
static gboolean opt_resume;
static double opt_threshold = 0.5, opt_min_face = 20.0;
static double opt_min_score = AGF_ANALYSIS_MIN_FACE_SCORE;
static AgfReconOptions recon = AGF_RECON_OPTIONS_INIT;

static const GOptionEntry entries[] = {
  { "csv", 'o', 0, G_OPTION_ARG_FILENAME, &opt_csv,
    "The scores table (.csv; .jsonl writes JSON lines)", "FILE" },
  { "models", 0, 0, G_OPTION_ARG_FILENAME, &opt_models,
    "Models folder: dfg/{autoencoder_kl,unet,identity}.safetensors, "
    "oanet.safetensors, face/{pnet,rnet,onet}.safetensors (default: "
    "$AGFAS_MODELS_DIR, then the source tree's and the installed "
    "resources/models)", "DIR" },
  { "batch", 'b', 0, G_OPTION_ARG_INT, &opt_batch,
    "Faces per DFG/OA-Net batch, and per table rewrite (default 8)", "N" },
  { "resume", 'r', 0, G_OPTION_ARG_NONE, &opt_resume,
    "Continue an existing table: skip the (path, frame) rows it holds", NULL },
  { "threshold", 't', 0, G_OPTION_ARG_DOUBLE, &opt_threshold,
    "Verdict threshold: spoof when score >= T (default 0.5)", "T" },
  { "frames", 'n', 0, G_OPTION_ARG_INT, &opt_frames,
    "Frames sampled uniformly per video (default 10, as prepare)", "N" },
  { "min-face", 0, 0, G_OPTION_ARG_DOUBLE, &opt_min_face,
    "Smallest face side the detector looks for, in pixels (default 20)",
    "PX" },
  { "min-score", 0, 0, G_OPTION_ARG_DOUBLE, &opt_min_score,
    "Ignore detections scoring below S (default 0.9, as prepare)", "S" },
  { NULL }
};

static const char description[] =
  "PATH: images (.jpg .png .webp .bmp), videos (.mp4 .mov .avi .mkv .webm\n"
  "...), folders (walked recursively) or CSV/JSONL manifests with a 'path'\n"
  "column, whose other columns (label, attack, domain, video, ...) are\n"
  "carried into the table, so `agfas-train eval FILE` needs no --labels.\n\n"
  "Columns: path, frame (empty for a still), x1 y1 x2 y2 (the face box,\n"
  "frame pixels), score (spoof probability, higher = attack), verdict (live\n"
  "or spoof at --threshold), status (ok, no_face, unreadable, missing,\n"
  "error) and note (why a row has no score). The largest face scoring\n"
  "--min-score or more is scored; a frame without one gets a no_face row.\n"
  "Unreadable files get a row and the run goes on.\n\n"
  "The table is rewritten atomically after every batch: a killed run loses\n"
  "at most that batch; rerun with --resume to continue it. Ctrl-C stops\n"
  "after writing what is finished.\n\n"
  "Exit status: 0 done (failed items are rows), 1 failure or interrupted,\n"
  "2 usage error.";

typedef struct {
  AgfDevice *dev;
  AgfFaceDetector *det;
  AgfDfg *dfg;
  AgfOanet *oanet;
  AgfFaceMasker *masker; /* NULL: --no-mask */
  AgfDType dt;           /* the networks' precision */
  AgfFaceDetectParams detect;
  AgfDfgParams dfg_params;
  AgfManifest *table;    /* every row written so far */
  AgfManifestFormat format;
  const char *path;      /* the table's file */
  GHashTable *done;      /* keys of rows from an earlier run */
  /* The batch: rows not yet written; faces[i] is the crop of rows[at[i]]. */
  GPtrArray *rows;
  GPtrArray *crops;
  GArray *at;            /* guint */
  GArray *faces;         /* AgfPickedFace */
  AgfProgress progress;
  guint frames, scored, no_face, failed;
  guint added;           /* rows made, to tell a file with work left */
} Score;

static char *detail(const Score *s)
{
  double el = (g_get_monotonic_time() - s->progress.t0) / 1e6;
  return g_strdup_printf("%u frames, %u scored (%.2f faces/s), %u no face, "
                         "%u failed", s->frames, s->scored,
                         el > 0 ? s->scored / el : 0.0, s->no_face,
                         s->failed);
}

static void show(Score *s, gboolean final)
{
  g_autofree char *d = detail(s);
  agf_progress_show(&s->progress, d, final);
}

/* Scores the batch's faces and moves its rows into the table, which is
 * then rewritten. On a failure (cancellation included) the batch is
 * dropped, so a resumed run redoes it. */
static gboolean flush(Score *s, GError **error)
{
  if (!s->rows->len)
    return TRUE;
  const guint n = s->crops->len;
  if (n) {
    g_autoptr(AgfTensor) f32 = n == 1
      ? agf_tensor_ref(s->crops->pdata[0])
      : agf_concat((const AgfTensor *const *)s->crops->pdata, (int)n, 0,
                   error);
    /* The crops in the networks' precision (--dtype). */
    g_autoptr(AgfTensor) crops = f32 ? agf_tensor_cast(f32, s->dt, error)
                                     : NULL;
    float (*lm)[AGF_FACE_N_LANDMARKS][2] = g_malloc(n * sizeof *lm);
    for (guint i = 0; i < n; i++)
      memcpy(lm[i], g_array_index(s->faces, AgfPickedFace, i).crop_landmarks,
             sizeof lm[i]);
    AgfAnalysis a = { 0 };
    g_autofree float *spoof = g_new(float, n);
    gboolean ok = crops &&
                  agf_analysis_run(s->dfg, s->oanet, s->masker, crops,
                                   (const float (*)[AGF_FACE_N_LANDMARKS][2])lm,
                                   &s->dfg_params, agf_train_signal_continue,
                                   NULL, &a, error) &&
                  agf_tensor_to_f32(a.spoof, spoof, error);
    agf_analysis_clear(&a);
    g_free(lm);
    if (!ok) {
      g_ptr_array_set_size(s->rows, 0);
      g_ptr_array_set_size(s->crops, 0);
      g_array_set_size(s->at, 0);
      g_array_set_size(s->faces, 0);
      return FALSE;
    }
    for (guint i = 0; i < n; i++)
      agf_score_row_set(s->rows->pdata[g_array_index(s->at, guint, i)],
                        &g_array_index(s->faces, AgfPickedFace, i).face,
                        spoof[i], opt_threshold);
    s->scored += n;
  }
  for (guint i = 0; i < s->rows->len; i++)
    agf_manifest_add(s->table, g_steal_pointer(&s->rows->pdata[i]));
  g_ptr_array_set_size(s->rows, 0);
  g_ptr_array_set_size(s->crops, 0);
  g_array_set_size(s->at, 0);
  g_array_set_size(s->faces, 0);
  return agf_manifest_save(s->table, s->path, s->format, error);
}

/* Drops the batch's faces and their rows, keeping its other rows. */
static void drop_faces(Score *s)
{
  for (guint i = s->at->len; i-- > 0;)
    g_ptr_array_remove_index(s->rows, g_array_index(s->at, guint, i));
  g_ptr_array_set_size(s->crops, 0);
  g_array_set_size(s->at, 0);
  g_array_set_size(s->faces, 0);
}

static void add_row(Score *s, AgfManifestRecord *r)
{
  if (!g_strcmp0(r->status, AGF_SCORE_NO_FACE))
    s->no_face++;
  else if (g_strcmp0(r->status, AGF_SCORE_OK))
    s->failed++;
  s->added++;
  g_ptr_array_add(s->rows, r);
}

static void fail_row(Score *s, const AgfPrepItem *it, gint64 frame,
                     const char *status, GError *e)
{
  add_row(s, agf_score_row_new(it->meta, frame, status, e->message));
  g_error_free(e);
}

/* Detects and aligns the face of one decoded frame into the batch; a row
 * either way. FALSE only when a full batch fails to score. */
static gboolean frame_in(Score *s, const AgfPrepItem *it, gint64 frame,
                         const AgfImage *img, GError **error)
{
  s->frames++;
  GError *e = NULL;
  g_autoptr(AgfTensor) t = agf_image_upload(img, s->dev, &e);
  g_autoptr(GArray) faces = t ? agf_face_detect(s->det, t, &s->detect, &e)
                              : NULL;
  AgfPickedFace pf;
  gboolean found = faces && agf_analysis_pick_face(faces, opt_min_score, &pf,
                                                   &e);
  g_autoptr(AgfTensor) crop = found ? agf_face_align(t, &pf.align, 1, &e)
                                    : NULL;
  if (e) {
    fail_row(s, it, frame, AGF_SCORE_ERROR, e);
    return TRUE;
  }
  if (!found) {
    g_autofree char *note = g_strdup_printf(
      "no face of at least %g px scoring %g or more", opt_min_face,
      opt_min_score);
    add_row(s, agf_score_row_new(it->meta, frame, AGF_SCORE_NO_FACE, note));
    return TRUE;
  }
  guint at = s->rows->len;
  s->added++;
  g_ptr_array_add(s->rows, agf_score_row_new(it->meta, frame, AGF_SCORE_OK,
                                             NULL));
  g_ptr_array_add(s->crops, g_steal_pointer(&crop));
  g_array_append_val(s->at, at);
  g_array_append_val(s->faces, pf);
  return s->crops->len < (guint)opt_batch || flush(s, error);
}

static gboolean is_done(const Score *s, const char *path, gint64 frame)
{
  g_autofree char *k = agf_score_key(path, frame);
  return g_hash_table_contains(s->done, k);
}

static gboolean video_in(Score *s, const AgfPrepItem *it, AgfVideo *v,
                         GError **error)
{
  const AgfVideoInfo *info = agf_video_get_info(v);
  g_autofree int64_t *idx = g_new(int64_t, opt_frames);
  int n = agf_video_sample_indices(info->n_frames, opt_frames, idx);
  for (int i = 0; i < n && !agf_train_signal_pending(); i++) {
    if (is_done(s, it->path, idx[i]))
      continue;
    GError *e = NULL;
    g_autoptr(AgfImage) img = agf_video_decode_frame(v, idx[i], NULL, &e);
    if (!img)
      fail_row(s, it, idx[i], AGF_SCORE_UNREADABLE, e);
    else if (!frame_in(s, it, idx[i], img, error))
      return FALSE;
  }
  return TRUE;
}

/* One file: a still, a video's sampled frames, or a failure row. */
static gboolean item_in(Score *s, const AgfPrepItem *it, GError **error)
{
  GError *e = NULL;
  if (!g_file_test(it->path, G_FILE_TEST_IS_REGULAR)) {
    g_autofree char *note = g_strdup_printf("%s does not exist or is not a "
                                            "file", it->path);
    add_row(s, agf_score_row_new(it->meta, -1, AGF_SCORE_MISSING, note));
    return TRUE;
  }
  g_autofree char *image_msg = NULL;
  if (it->kind != AGF_MEDIA_VIDEO) {
    g_autoptr(AgfImage) img = agf_image_load(it->path, &e);
    if (img)
      return frame_in(s, it, -1, img, error);
    if (it->kind == AGF_MEDIA_IMAGE ||
        g_error_matches(e, AGF_ERROR, AGF_ERROR_IO)) {
      fail_row(s, it, -1, AGF_SCORE_UNREADABLE, e);
      return TRUE;
    }
    image_msg = g_strdup(e->message);
    g_clear_error(&e);
  }
  g_autoptr(AgfVideo) v = agf_video_open(it->path, &e);
  if (!v) {
    if (image_msg) {
      g_autofree char *note = g_strdup_printf(
        "neither an image (%s) nor a video (%s)", image_msg, e->message);
      g_clear_error(&e);
      add_row(s, agf_score_row_new(it->meta, -1, AGF_SCORE_UNREADABLE,
                                   note));
    } else {
      fail_row(s, it, -1, AGF_SCORE_UNREADABLE, e);
    }
    return TRUE;
  }
  return video_in(s, it, v, error);
}

static gboolean open_models(Score *s, const AgfCliCommon *common,
                            GError **error)
{
  AgfDType dt = AGF_F32;
  if (common->dtype && !agf_cli_parse_dtype(common->dtype, &dt, error))
    return FALSE;
  s->dt = dt;
  s->dev = agf_cli_open_device(common, dt, error);
  if (!s->dev)
    return FALSE;
  /* The detector's files are checked first: its message names the
   * fetch script. */
  g_autofree char *face_dir = opt_models
    ? g_build_filename(opt_models, "face", NULL) : NULL;
  if (face_dir) {
    g_autofree char *onet = g_build_filename(face_dir, "onet.safetensors",
                                             NULL);
    if (!g_file_test(onet, G_FILE_TEST_IS_REGULAR)) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
                  "face model %s not found: run tools/fetch_face_models.sh "
                  "and copy resources/models/face/*.safetensors there", onet);
      return FALSE;
    }
  }
  s->det = agf_face_detector_open(face_dir, s->dev, error);
  if (!s->det)
    return FALSE;
  s->dfg = agf_analysis_open_dfg(opt_models, s->dev, dt, error);
  if (!s->dfg)
    return FALSE;
  s->oanet = agf_analysis_open_oanet(opt_models, s->dev, dt, error);
  if (!s->oanet)
    return FALSE;
  if (!recon.no_mask)
    s->masker = agf_face_masker_ellipse(NULL);
  return TRUE;
}

static void score_clear(Score *s)
{
  g_clear_pointer(&s->masker, agf_face_masker_free);
  g_clear_pointer(&s->oanet, agf_oanet_free);
  g_clear_pointer(&s->dfg, agf_dfg_free);
  g_clear_pointer(&s->det, agf_face_detector_free);
  g_clear_pointer(&s->table, agf_manifest_free);
  g_clear_pointer(&s->done, g_hash_table_unref);
  g_clear_pointer(&s->rows, g_ptr_array_unref);
  g_clear_pointer(&s->crops, g_ptr_array_unref);
  g_clear_pointer(&s->at, g_array_unref);
  g_clear_pointer(&s->faces, g_array_unref);
  g_clear_pointer(&s->dev, agf_device_free);
}

static int run_score(char **paths, AgfCliCommon *common, GError **error)
{
  g_autofree char *cwd = g_get_current_dir();
  g_autofree char *csv = g_canonicalize_filename(opt_csv, cwd);
  Score s = { .path = csv, .format = agf_manifest_format_for(csv) };
  agf_face_detect_params_init(&s.detect);
  s.detect.min_face_size = opt_min_face;
  agf_analysis_dfg_params_init(&s.dfg_params);
  agf_recon_options_apply(&recon, &s.dfg_params);
  if (!agf_face_detect_params_check(&s.detect, error))
    return AGF_EXIT_USAGE;

  guint dups = 0;
  g_autoptr(GPtrArray) items = agf_prep_collect(paths, NULL, &dups, error);
  if (!items)
    return AGF_EXIT_FAILURE;
  if (!items->len) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "no images or videos found "
                "in the PATHs given (image: .jpg .png .webp .bmp; video: "
                ".mp4 .mov .avi .mkv .webm ...)");
    return AGF_EXIT_FAILURE;
  }
  if (dups)
    g_printerr("agfas-train score: %u repeated paths skipped\n", dups);
  s.table = agf_score_open_table(csv, opt_resume, error);
  if (!s.table || !open_models(&s, common, error)) {
    score_clear(&s);
    return AGF_EXIT_FAILURE;
  }
  s.done = agf_score_done_set(s.table);
  s.rows = g_ptr_array_new_with_free_func(
    (GDestroyNotify)agf_manifest_record_free);
  s.crops = g_ptr_array_new_with_free_func((GDestroyNotify)agf_tensor_unref);
  s.at = g_array_new(FALSE, FALSE, sizeof(guint));
  s.faces = g_array_new(FALSE, FALSE, sizeof(AgfPickedFace));
  guint n_before = agf_manifest_len(s.table);

  AgfTrainSignalScope signals;
  agf_train_signal_begin(&signals);
  g_printerr("agfas-train score: %u files on %s (%s), batches of %d\n",
             items->len, agf_device_info(s.dev)->spec,
             agf_device_info(s.dev)->name, opt_batch);
  agf_progress_init(&s.progress, "score", "files", items->len);
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < items->len; i++) {
    if (agf_train_signal_pending())
      break;
    const AgfPrepItem *it = items->pdata[i];
    guint added = s.added;
    if (!is_done(&s, it->path, -1))
      ok = item_in(&s, it, error);
    /* Done before: a still's row, or every sampled frame of a video. */
    s.progress.skipped += ok && s.added == added;
    /* Rows without a face are saved too, not only with the next batch. */
    if (ok && s.rows->len >= 4 * (guint)opt_batch)
      ok = flush(&s, error);
    if (!ok && agf_train_signal_pending() &&
        g_error_matches(*error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      g_clear_error(error); /* Ctrl-C in a batch: drop it, write the rest */
      ok = TRUE;
    }
    s.progress.done++;
    show(&s, FALSE);
  }
  /* What is finished is written even when interrupted: the faces waiting
   * for a batch are dropped then (redone by --resume), their rows too. */
  if (agf_train_signal_pending())
    drop_faces(&s);
  ok = ok && flush(&s, error);
  gboolean stopped = agf_train_signal_pending();
  if (!ok && stopped &&
      g_error_matches(*error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    g_clear_error(error); /* the last batch, cancelled: dropped */
    ok = TRUE;
  }
  agf_train_signal_end(&signals);
  show(&s, TRUE);
  if (ok && !stopped) {
    g_autoptr(GHashTable) order = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < items->len; i++) {
      const AgfPrepItem *it = items->pdata[i];
      g_hash_table_insert(order, it->path, GUINT_TO_POINTER(it->index + 1));
    }
    agf_score_sort(s.table, order);
    ok = agf_manifest_save(s.table, csv, s.format, error);
  }
  if (ok && stopped)
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
                "interrupted after %u new rows; rerun with --resume to "
                "continue %s", agf_manifest_len(s.table) - n_before, csv);
  if (ok && !stopped)
    g_print("score: %u files (%u already done), %u frames, %u faces scored, "
            "%u without a face, %u failed; %s holds %u rows (%u new)\n",
            items->len, s.progress.skipped, s.frames, s.scored, s.no_face,
            s.failed, csv, agf_manifest_len(s.table),
            agf_manifest_len(s.table) - n_before);
  score_clear(&s);
  return ok && !stopped ? AGF_EXIT_OK : AGF_EXIT_FAILURE;
}

int agf_train_score(int argc, char **argv)
{
  const AgfTrainCommand *cmd = agf_train_command("score");
  AgfCliCommon common = { 0 };
  GOptionContext *ctx = agf_recon_context(cmd, entries, &recon, &common,
                                          description);
  int rc = AGF_EXIT_OK;
  GError *error = NULL;
  if (!agf_cli_parse(ctx, cmd->name, &argc, &argv, &rc))
    goto done;
  const char *bad = argc < 2 ? "missing PATH (images, videos, folders or "
                               "manifests)"
                    : !opt_csv ? "missing --csv FILE"
                    : opt_batch < 1 ? "--batch must be at least 1"
                    : opt_frames < 1 ? "--frames must be at least 1"
                    : !(opt_threshold >= 0 && opt_threshold <= 1)
                      ? "--threshold must be between 0 and 1"
                    : !(opt_min_score >= 0 && opt_min_score <= 1)
                      ? "--min-score must be between 0 and 1"
                    : agf_recon_options_check(&recon);
  if (bad) {
    rc = agf_cli_usage_error(cmd->name, "%s", bad);
    goto done;
  }
  rc = run_score(argv + 1, &common, &error);
  rc = agf_cli_result(cmd->name, rc, error);
done:
  g_option_context_free(ctx);
  g_clear_pointer(&opt_csv, g_free);
  g_clear_pointer(&opt_models, g_free);
  agf_recon_options_clear(&recon);
  g_clear_pointer(&common.device, g_free);
  g_clear_pointer(&common.dtype, g_free);
  return rc;
}
