/* `agfas-train forward` internals: the table of runnable networks (their
 * input and output tensor names, which --help prints) and the context a
 * runner reads its inputs from and writes its outputs to. */
#pragma once
#include <glib.h>
#include "io/safetensors.h"
#include "models/weights.h"

G_BEGIN_DECLS

typedef struct {
  AgfDevice *dev;
  AgfDType dt;                /* compute dtype of weights and inputs */
  AgfWeights *weights;        /* NULL only for a scheduler step */
  const char *weights_prefix; /* --weights-prefix or NULL */
  AgfSafetensors *inputs;
  const char *input_prefix;   /* "" when none */
  GHashTable *input_map;      /* NET input name -> tensor name in inputs */
  AgfSafetensorsWriter *out;
  const struct AgfForwardNet *net;
  GString *report;            /* one line per output, printed on success */
} AgfForward;

typedef struct {
  const char *name;
  const char *shape; /* documentation: "[B, 3, H, W]" */
  const char *note;  /* "optional: ..." or NULL */
} AgfForwardIO;

#define AGF_FORWARD_MAX_IO 6

typedef struct AgfForwardNet {
  const char *name;
  const char *summary;
  gboolean needs_weights;
  gboolean takes_prefix; /* --weights-prefix applies */
  AgfForwardIO in[AGF_FORWARD_MAX_IO];
  AgfForwardIO out[AGF_FORWARD_MAX_IO];
  gboolean (*run)(AgfForward *f, GError **error);
} AgfForwardNet;

/* Every NET, ending with a NULL name (train_forward_nets.c). */
extern const AgfForwardNet agf_forward_nets[];
const AgfForwardNet *agf_forward_net(const char *name);

/* The scheduler steps (train_forward_step.c); the spec they read from the
 * inputs' metadata is documented in the forward --help text. */
gboolean agf_forward_ddim_step(AgfForward *f, GError **error);
gboolean agf_forward_pndm_step(AgfForward *f, GError **error);
extern const char agf_forward_step_help[];

/* The inputs-file tensor for NET input name: NULL with an error naming the
 * file, the tensor and what NET reads when it is absent and required, NULL
 * without error when absent and optional. */
const AgfStTensor *agf_forward_find(AgfForward *f, const char *name,
                                    gboolean required, GError **error);
/* The same loaded on f->dev as f->dt. */
AgfTensor *agf_forward_input(AgfForward *f, const char *name,
                             gboolean required, GError **error);
/* The same as host floats (g_free), any float dtype. */
float *agf_forward_input_f32(AgfForward *f, const char *name,
                             const AgfStTensor **info, GError **error);

/* Writes a device tensor as F32 under name. */
gboolean agf_forward_output(AgfForward *f, const char *name,
                            const AgfTensor *t, GError **error);
/* Writes host data of dtype dt. */
gboolean agf_forward_output_host(AgfForward *f, const char *name,
                                 AgfStDType dt, int ndim,
                                 const int64_t *shape, const void *data,
                                 GError **error);

G_END_DECLS
