/* agfas-bench models: the benchmarked networks of each preset, their
 * random-weight checkpoints, and the results (shared by bench_models*.c;
 * the PyTorch side is tests/reference/bench_torch_models.py). */
#pragma once
#include "bench.h"
#include "io/safetensors.h"
#include "models/presets.h"

G_BEGIN_DECLS

typedef enum {
  BM_VAE_ENCODE,    /* autoencoder encode, 3x256x256 -> moments */
  BM_VAE_DECODE,    /* autoencoder decode, latent 32x32 -> 256x256 */
  BM_UNET,          /* one U-Net call, latent 32x32, 49 context tokens */
  BM_IRESNET,       /* identity network, 112x112 -> tokens + embedding */
  BM_OANET,         /* OA-Net forward: image + 256x256 cue, a batch */
  BM_RESNET18,      /* the OA-Net's cue encoder alone, 256x256 -> 64 tokens */
  BM_MOBILEFACENET, /* the package's MobileFaceNet, 112x112 */
  BM_PNET,          /* MTCNN P-Net on a 640x480 frame */
  BM_RECONSTRUCT,   /* identity + encode + PNDM steps + decode */
  BM_COUNT
} BenchModelKind;

/* Checkpoints a case reads. */
typedef enum {
  BW_VAE, BW_UNET, BW_IRESNET, BW_OANET, BW_MOBILEFACENET, BW_PNET, BW_COUNT
} BenchWeightsKind;

#define BM_MAX_IN 2

/* The input shapes of a models or train case. */
typedef struct {
  int n;
  int ndim[BM_MAX_IN];
  int64_t shape[BM_MAX_IN][4];
} BenchInputs;

/* Input i: ndim of the dims a, b, h, w. */
void bench_inputs_set(BenchInputs *in, int i, int ndim, int64_t a, int64_t b,
                      int64_t h, int64_t w);
/* "1x3x256x256 + 1x49x256" */
char *bench_inputs_str(const BenchInputs *in);
/* "inputs": [[1, 3, 256, 256], ...] */
void bench_inputs_json(JsonBuilder *b, const BenchInputs *in);

typedef struct {
  BenchModelKind kind;
  const char *preset;     /* "tiny", "small", "paper"; "package" for the
                             preset-independent face networks */
  AgfPreset p;
  AgfPresetConfigs cfg;
  int batch;
  BenchInputs in;
  char *files[BW_COUNT];  /* the checkpoints it needs, else NULL */
  /* reconstruction */
  int steps;
  double strength;
  const char *sampler;
} BenchModelCase;

typedef struct {
  const BenchModelCase *c;
  BenchMeasure m;
} BenchModelResult;

const char *bench_model_name(BenchModelKind k);
/* "1x3x256x256", "64x3x224x224 + 64x3x256x256" */
char *bench_model_input_str(const BenchModelCase *c);
/* How many timed runs c gets (ours and torch's alike). */
int bench_model_runs(const BenchModelCase *c, gboolean quick);

/* bench_models_weights.c: random-init checkpoints in dir, written once and
 * named by a hash of their tensor list (a changed configuration gets a new
 * file). Sets c->files of every case in cases. */
gboolean bench_models_prepare_weights(GPtrArray *cases, const char *dir,
                                      GError **error);

/* bench_models_run.c: times c on dev in dt (warm-up, then runs median). */
gboolean bench_models_run_case(AgfDevice *dev, const BenchModelCase *c,
                               AgfDType dt, int runs, BenchModelResult *out,
                               GError **error);

/* bench_models_report.c */
void bench_models_print_header(void);
void bench_models_print_row(const BenchModelResult *r);
gboolean bench_models_write_json(const char *path, const BenchModelResult *r,
                                 int n, gboolean quick, int threads,
                                 const char *loadavg, GError **error);
/* Shared with bench_train_report.c: a case's "config" object (what
 * bench_torch_models.py's build_* read: the preset's autoencoder, U-Net,
 * iresnet and OA-Net sizes) and its "files" object (the checkpoints it
 * reads, by the script's file keys). */
void bench_models_add_config(JsonBuilder *b, const AgfPresetConfigs *cfg);
void bench_models_add_files(JsonBuilder *b, char *const files[BW_COUNT]);
/* Runs bench_torch_models.py on the cases with threads CPU threads. */
GArray *bench_models_run_torch(GPtrArray *cases, gboolean quick, int threads,
                               GError **error);
void bench_models_print_torch(const BenchModelResult *ours, int n_ours,
                              const GArray *torch, int threads);

G_END_DECLS
