/* The engine's state, shared by agfas-engine.c (devices, networks, model
 * status) and agfas-analysis.c (the pipeline). */
#pragma once
#include "agfas-analysis.h"
#include "pipeline/dfg.h"
#include "pipeline/cue.h"
#include "pipeline/face_detect.h"

struct AgfasEngine {
  GMutex lock;            /* held by a run */
  char *spec;             /* device the networks below live on */
  AgfDevice *dev;
  /* Each network is tried once per device (or per model change); a
   * failure is kept as the message the panel shows. */
  gboolean tried_detector, tried_dfg, tried_oanet;
  AgfFaceDetector *detector;
  char *detector_note;
  AgfDfg *dfg;
  char *dfg_note;
  AgfOanet *oanet;
  char *oanet_note;

  /* Guarded by state_lock, never held long: read by the UI while a run
   * holds `lock`. */
  GMutex state_lock;
  char *session_path[AGFAS_MODEL_COUNT]; /* "Open model..." choices */
  gboolean changed[AGFAS_MODEL_COUNT];   /* session_path changed since load */
  AgfasModelState state[AGFAS_MODEL_COUNT]; /* LOADED / FAILED, else FOUND */
  char *load_note[AGFAS_MODEL_COUNT];    /* why FAILED */
};

/* Called with `lock` held, on the run's thread. */
gboolean _agfas_engine_use_device(AgfasEngine *e, const char *spec,
                                  GError **error);
/* Drops the networks whose file the session changed since they loaded. */
void _agfas_engine_apply_changes(AgfasEngine *e);
void _agfas_engine_load_detector(AgfasEngine *e);
void _agfas_engine_load_dfg(AgfasEngine *e);
void _agfas_engine_load_oanet(AgfasEngine *e);
