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

#include "io/image.h"
#include "nn/op.h"
#include "agfas-models.h"
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

/* The timed stages of a run, in order. */
typedef enum {
  AGFAS_STAGE_READ,      /* image file decode (-1 for decoded pixels) */
  AGFAS_STAGE_LOAD,      /* networks loaded (first run on a device) */
  AGFAS_STAGE_DETECT,    /* face detection + alignment */
  AGFAS_STAGE_IDENTITY,  /* DFG identity context */
  AGFAS_STAGE_ENCODE,    /* DFG autoencoder encode */
  AGFAS_STAGE_DENOISE,   /* DFG U-Net calls */
  AGFAS_STAGE_DECODE,    /* DFG autoencoder decode */
  AGFAS_STAGE_CUE,       /* residual, heat, mask, cue */
  AGFAS_STAGE_SCORE,     /* OA-Net */
  AGFAS_STAGE_COUNT
} AgfasStage;

/* "Denoise" etc. */
const char *agfas_stage_title(AgfasStage s);

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
  /* Frame pixels -> aligned face pixels (the 256 crop every other panel
   * shows), row-major 2x3. */
  double align_fwd[2][3];
  char *face_note;   /* why no face was detected, or NULL */
  char *dfg_note;    /* why there is no reconstruction, or NULL */
  gboolean has_score;
  double score;      /* spoof probability */
  char *score_note;  /* why there is no score, or NULL */
  char *device_name;
  int n_calls;       /* U-Net calls of the reconstruction */
  double seconds;    /* wall time of the run */
  /* Wall seconds per stage, the device synchronised at each stage's end;
   * -1 for a stage that did not run (missing network, nothing to load). */
  double stage_s[AGFAS_STAGE_COUNT];
  /* Float NCHW [1, cue_channels, cue_height, cue_width] copies of the
   * signed residual, the standardized cue and the reconstruction (for
   * export); NULL when there is no reconstruction. */
  int cue_channels, cue_height, cue_width;
  float *residual_f32, *cue_f32, *recon_f32;
  /* The heat map (mean |residual| over channels, unmasked) [heat_height,
   * heat_width]; NULL when there is no reconstruction. */
  int heat_width, heat_height;
  float *heat_f32;
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

/* What the app knows of one network (agfas-models.h). */
typedef enum {
  AGFAS_MODEL_STATE_MISSING,  /* no file: note says how to get one */
  AGFAS_MODEL_STATE_FOUND,    /* a file, not loaded yet (loads on the next run) */
  AGFAS_MODEL_STATE_LOADED,   /* loaded on the engine's device */
  AGFAS_MODEL_STATE_FAILED,   /* a file that did not load: note says why */
} AgfasModelState;

typedef struct {
  AgfasModelState state;
  char *path;          /* the file in use or to be used, or NULL */
  gboolean session;    /* path was chosen with "Open model..." */
  char *note;          /* why missing / failed, or NULL */
} AgfasModelStatus;

void agfas_model_status_clear(AgfasModelStatus *s);
/* Thread-safe; does not wait for a running analysis. */
void agfas_engine_model_status(AgfasEngine *e, AgfasModel m,
                               AgfasModelStatus *out);
/* Uses path for m from the next run on, for this engine's lifetime (NULL:
 * back to the installed file); the network is reloaded then. */
void agfas_engine_set_model_path(AgfasEngine *e, AgfasModel m,
                                 const char *path);

/* Runs the pipeline on the image at path on device_spec (agf_device_open's
 * spec; NULL = auto). Blocking: call it from a worker thread. Fails for an
 * unreadable image, a device error, or G_IO_ERROR_CANCELLED. */
AgfasAnalysisResult *agfas_engine_run(AgfasEngine *e, const char *device_spec,
                                      const char *path,
                                      const AgfasAnalysisParams *params,
                                      GCancellable *cancellable,
                                      AgfasProgressFn progress,
                                      gpointer progress_data, GError **error);
/* The same on decoded pixels (a video or camera frame; RGB or RGBA, any
 * stride), analysed as they are: nothing is written or re-encoded, and
 * the read stage does not run. */
AgfasAnalysisResult *agfas_engine_run_image(AgfasEngine *e,
                                            const char *device_spec,
                                            const AgfImage *image,
                                            const AgfasAnalysisParams *params,
                                            GCancellable *cancellable,
                                            AgfasProgressFn progress,
                                            gpointer progress_data,
                                            GError **error);

G_END_DECLS
