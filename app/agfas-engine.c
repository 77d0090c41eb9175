/* The engine's device, networks and model status; see agfas-analysis.h. */
#include "agfas-engine-private.h"

#include <string.h>

#include "models/weights.h"
#include "nn/device.h"
#include "nn/error.h"

static void engine_drop_models(AgfasEngine *e)
{
  g_clear_pointer(&e->detector, agf_face_detector_free);
  g_clear_pointer(&e->dfg, agf_dfg_free);
  g_clear_pointer(&e->oanet, agf_oanet_free);
  g_clear_pointer(&e->detector_note, g_free);
  g_clear_pointer(&e->dfg_note, g_free);
  g_clear_pointer(&e->oanet_note, g_free);
  e->tried_detector = e->tried_dfg = e->tried_oanet = FALSE;
  g_mutex_lock(&e->state_lock);
  for (int m = 0; m < AGFAS_MODEL_COUNT; m++) {
    e->state[m] = AGFAS_MODEL_STATE_FOUND;
    g_clear_pointer(&e->load_note[m], g_free);
  }
  g_mutex_unlock(&e->state_lock);
}

static void engine_clear(gpointer data)
{
  AgfasEngine *e = data;
  engine_drop_models(e);
  g_clear_pointer(&e->dev, agf_device_free);
  g_clear_pointer(&e->spec, g_free);
  for (int m = 0; m < AGFAS_MODEL_COUNT; m++)
    g_free(e->session_path[m]);
  g_mutex_clear(&e->state_lock);
  g_mutex_clear(&e->lock);
}

AgfasEngine *agfas_engine_new(void)
{
  AgfasEngine *e = g_atomic_rc_box_new0(AgfasEngine);
  g_mutex_init(&e->lock);
  g_mutex_init(&e->state_lock);
  for (int m = 0; m < AGFAS_MODEL_COUNT; m++)
    e->state[m] = AGFAS_MODEL_STATE_FOUND;
  return e;
}

AgfasEngine *agfas_engine_ref(AgfasEngine *e)
{
  return g_atomic_rc_box_acquire(e);
}

void agfas_engine_unref(AgfasEngine *e)
{
  g_atomic_rc_box_release_full(e, engine_clear);
}

gboolean _agfas_engine_use_device(AgfasEngine *e, const char *spec,
                                  GError **error)
{
  const char *want = spec ? spec : "auto";
  if (e->dev && !g_strcmp0(e->spec, want))
    return TRUE;
  engine_drop_models(e);
  g_clear_pointer(&e->dev, agf_device_free);
  g_clear_pointer(&e->spec, g_free);
  e->dev = agf_device_open(want, error);
  if (!e->dev)
    return FALSE;
  e->spec = g_strdup(want);
  return TRUE;
}

/* The file for m: the session's choice, else the installed one. */
static char *engine_find(AgfasEngine *e, AgfasModel m, gboolean *session,
                         GError **error)
{
  g_mutex_lock(&e->state_lock);
  char *path = g_strdup(e->session_path[m]);
  g_mutex_unlock(&e->state_lock);
  if (session)
    *session = path != NULL;
  return path ? path : agfas_model_find(m, error);
}

static void set_state(AgfasEngine *e, AgfasModel m, gboolean ok,
                      const char *note)
{
  g_mutex_lock(&e->state_lock);
  e->state[m] = ok ? AGFAS_MODEL_STATE_LOADED : AGFAS_MODEL_STATE_FAILED;
  g_free(e->load_note[m]);
  e->load_note[m] = ok ? NULL : g_strdup(note);
  g_mutex_unlock(&e->state_lock);
}

void _agfas_engine_apply_changes(AgfasEngine *e)
{
  g_mutex_lock(&e->state_lock);
  gboolean dfg = FALSE, oanet = e->changed[AGFAS_MODEL_OANET];
  for (int m = AGFAS_MODEL_AUTOENCODER; m <= AGFAS_MODEL_IDENTITY; m++)
    dfg = dfg || e->changed[m];
  for (int m = 0; m < AGFAS_MODEL_COUNT; m++) {
    gboolean dropped = m == AGFAS_MODEL_OANET ? oanet : dfg;
    if (dropped) {
      e->state[m] = AGFAS_MODEL_STATE_FOUND;
      g_clear_pointer(&e->load_note[m], g_free);
    }
    e->changed[m] = FALSE;
  }
  g_mutex_unlock(&e->state_lock);
  if (dfg) {
    g_clear_pointer(&e->dfg, agf_dfg_free);
    g_clear_pointer(&e->dfg_note, g_free);
    e->tried_dfg = FALSE;
  }
  if (oanet) {
    g_clear_pointer(&e->oanet, agf_oanet_free);
    g_clear_pointer(&e->oanet_note, g_free);
    e->tried_oanet = FALSE;
  }
}

void _agfas_engine_load_detector(AgfasEngine *e)
{
  if (e->tried_detector)
    return;
  e->tried_detector = TRUE;
  GError *error = NULL;
  e->detector = agf_face_detector_open(NULL, e->dev, &error);
  if (!e->detector) {
    e->detector_note = g_strdup(error->message);
    g_error_free(error);
  }
}

void _agfas_engine_load_dfg(AgfasEngine *e)
{
  if (e->tried_dfg)
    return;
  e->tried_dfg = TRUE;
  GError *error = NULL;
  char *paths[3] = { NULL };
  for (int m = 0; m < 3 && !error; m++)
    paths[m] = engine_find(e, AGFAS_MODEL_AUTOENCODER + m, NULL, &error);
  if (!error)
    e->dfg = agf_dfg_open(paths[0], paths[1], paths[2], e->dev, AGF_F32,
                          &error);
  for (int m = 0; m < 3; m++)
    g_free(paths[m]);
  if (!e->dfg) {
    e->dfg_note = g_strdup(error->message);
    g_error_free(error);
  }
  /* The three load as one: a missing file stays MISSING (status finds
   * none), the others share the outcome. */
  for (int m = AGFAS_MODEL_AUTOENCODER; m <= AGFAS_MODEL_IDENTITY; m++)
    set_state(e, m, e->dfg != NULL, e->dfg_note);
}

void _agfas_engine_load_oanet(AgfasEngine *e)
{
  if (e->tried_oanet)
    return;
  e->tried_oanet = TRUE;
  GError *error = NULL;
  g_autofree char *path = engine_find(e, AGFAS_MODEL_OANET, NULL, &error);
  if (path) {
    AgfWeights *w = agf_weights_open(path, e->dev, AGF_F32, &error);
    if (w) {
      e->oanet = agf_oanet_new(w, &error);
      agf_weights_unref(w);
    }
  }
  if (!e->oanet) {
    e->oanet_note = g_strdup(error->message);
    g_error_free(error);
  }
  set_state(e, AGFAS_MODEL_OANET, e->oanet != NULL, e->oanet_note);
}

void agfas_model_status_clear(AgfasModelStatus *s)
{
  g_clear_pointer(&s->path, g_free);
  g_clear_pointer(&s->note, g_free);
}

void agfas_engine_model_status(AgfasEngine *e, AgfasModel m,
                               AgfasModelStatus *out)
{
  g_return_if_fail(e && m < AGFAS_MODEL_COUNT && out);
  memset(out, 0, sizeof *out);
  GError *error = NULL;
  out->path = engine_find(e, m, &out->session, &error);
  if (!out->path) {
    out->state = AGFAS_MODEL_STATE_MISSING;
    out->note = g_strdup(error->message);
    g_error_free(error);
    return;
  }
  g_mutex_lock(&e->state_lock);
  out->state = e->changed[m] ? AGFAS_MODEL_STATE_FOUND : e->state[m];
  if (out->state == AGFAS_MODEL_STATE_FAILED)
    out->note = g_strdup(e->load_note[m]);
  g_mutex_unlock(&e->state_lock);
}

void agfas_engine_set_model_path(AgfasEngine *e, AgfasModel m,
                                 const char *path)
{
  g_return_if_fail(e && m < AGFAS_MODEL_COUNT);
  g_mutex_lock(&e->state_lock);
  g_free(e->session_path[m]);
  e->session_path[m] = g_strdup(path);
  e->changed[m] = TRUE;
  g_mutex_unlock(&e->state_lock);
}
