/* The analysis pipeline behind the four panels, without GTK so it can run
 * on a worker thread and be tested alone:
 *   decode -> detect (MTCNN) + align to 256 -> DFG reconstruct -> cue ->
 *   OA-Net score.
 * Every network is optional: what is missing is reported in the result
 * (the panel says so) and the stages that do not need it still run. With
 * no face found (or no detector installed) the centre square of the frame
 * stands in for the face, so a reconstruction is still shown. */
#pragma once
#include <gio/gio.h>

#include "nn/op.h"
#include "pipeline/face_align.h"

G_BEGIN_DECLS

typedef struct {
  double strength;   /* t0 as a fraction of T, [0, 1] */
  int steps;         /* num_inference_steps of the full schedule */
  char sampler[8];   /* "ddim" / "pndm" */
  guint64 seed;
  AgfColormap cmap;
  gboolean fixed_range; /* heat normalised to [0, AGFAS_HEAT_FIXED_MAX] */
  gboolean mask;        /* background-masked residual for the cue */
} AgfasAnalysisParams;

/* Fixed heat range: a mean |residual| of 0.5 (of the [-1, 1] range) is
 * already a gross reconstruction failure. */
#define AGFAS_HEAT_FIXED_MAX 0.5f

void agfas_analysis_params_init(AgfasAnalysisParams *p);

/* Tight RGBA pixels (stride width * 4); rgba NULL when not computed. */
typedef struct {
  int width, height;
  GBytes *rgba;
} AgfasPixels;

typedef struct {
  AgfasPixels input, recon, heat, cue;
  gboolean face_detected;  /* FALSE: box is the centre-square stand-in */
  float box[4];            /* x1, y1, x2, y2 in frame pixels */
  float landmarks[AGF_FACE_N_LANDMARKS][2]; /* frame pixels */
  char *face_note;   /* why no face was detected, or NULL */
  char *dfg_note;    /* why there is no reconstruction, or NULL */
  gboolean has_score;
  double score;      /* spoof probability */
  char *score_note;  /* why there is no score, or NULL */
  char *device_name;
  int n_calls;       /* U-Net calls of the reconstruction */
  double seconds;    /* wall time of the run */
  /* Float NCHW [1, cue_channels, cue_height, cue_width] copies of the
   * signed residual, the standardized cue and the reconstruction (for
   * export); NULL when there is no reconstruction. */
  int cue_channels, cue_height, cue_width;
  float *residual_f32, *cue_f32, *recon_f32;
  AgfasAnalysisParams params; /* the settings of this run */
} AgfasAnalysisResult;

void agfas_analysis_result_free(AgfasAnalysisResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfasAnalysisResult, agfas_analysis_result_free)

/* Called from the worker thread: done of total denoising steps. */
typedef void (*AgfasProgressFn)(int done, int total, gpointer data);

/* The device and the loaded networks, reused across runs. Reference
 * counted (tasks keep it alive); runs are serialised by a lock, so a new
 * run waits for a cancelled one to stop. */
typedef struct AgfasEngine AgfasEngine;

AgfasEngine *agfas_engine_new(void);
AgfasEngine *agfas_engine_ref(AgfasEngine *e);
void agfas_engine_unref(AgfasEngine *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfasEngine, agfas_engine_unref)

/* Runs the pipeline on the image at path on device_spec (agf_device_open's
 * spec; NULL = auto). Blocking: call it from a worker thread. Fails for an
 * unreadable image, a device error, or G_IO_ERROR_CANCELLED. */
AgfasAnalysisResult *agfas_engine_run(AgfasEngine *e, const char *device_spec,
                                      const char *path,
                                      const AgfasAnalysisParams *params,
                                      GCancellable *cancellable,
                                      AgfasProgressFn progress,
                                      gpointer progress_data, GError **error);

G_END_DECLS
