/* agfas-bench train: training-step throughput and peak memory per preset
 * and device, with PyTorch doing the same step in the same run
 * (tests/reference/bench_torch_train.py): a bare U-Net step
 * (epsilon-prediction MSE, AdamW), a bare ViT step (OA-Net image_only,
 * cross-entropy, SGD with momentum), the whole `agfas-train dfg` step
 * (bench_train_dfg.c), the whole `agfas-train oanet` SSDG step
 * (bench_train_ssdg.c), and the cue generation of `agfas-train cues`
 * (reconstruction + cue, no training: its samples/s are faces/s).
 * Shared by bench_train*.c. */
#pragma once
#include "bench_models.h"

G_BEGIN_DECLS

typedef enum {
  BT_UNET, /* one U-Net training step on latents 32x32 + 49 context tokens */
  BT_VIT,  /* one OA-Net image_only training step on images */
  BT_DFG,  /* agfas-train dfg: frozen encode + identity, noised latents,
              U-Net step, AdamW, EMA */
  BT_OANET, /* agfas-train oanet: full OA-Net (batch norm in train mode),
               CE + adversarial + asymmetric triplet, SGD with momentum */
  BT_CUE,  /* a whole reconstruction (PNDM) + the cue of a batch of faces */
  BT_COUNT
} BenchTrainKind;

typedef struct {
  BenchTrainKind kind;
  AgfPreset p;
  const char *preset;
  AgfPresetConfigs cfg;
  int batch;
  BenchInputs in;               /* unet: latent, context; vit, dfg, cue:
                                  image; oanet: image, cue */
  int runs;                    /* timed steps (after one warm-up step) */
  char *files[BW_COUNT];       /* the random-weight checkpoints it reads
                                  (vit: an image_only OA-Net at BW_OANET) */
  /* cue: the reconstruction's schedule */
  int steps;
  double strength;
  const char *sampler;
} BenchTrainCase;

/* One kind's step on one device: build (weights, inputs, optimizer), a
 * warm-up (NULL: one step), a timed step (synced at its end), free. */
typedef struct {
  gpointer (*build)(const BenchTrainCase *c, AgfDevice *dev, AgfDType dt,
                    GError **error);
  gboolean (*warm)(gpointer self, GError **error);
  gboolean (*step)(gpointer self, GError **error);
  void (*free)(gpointer self);
} BenchTrainOps;

/* bench_train_step.c: unet and vit; bench_train_dfg.c: dfg and cue;
 * bench_train_ssdg.c: oanet. */
extern const BenchTrainOps bench_train_bare_ops;
extern const BenchTrainOps bench_train_dfg_ops;
extern const BenchTrainOps bench_train_cue_ops;
extern const BenchTrainOps bench_train_ssdg_ops;

typedef struct {
  const BenchTrainCase *c;
  BenchMeasure m;     /* f16: f16 weights, f32 masters, loss scaling */
} BenchTrainResult;

typedef struct {
  const char *device, *dtype, *presets, *json, *filter, *cache_dir;
  int batch;          /* 0: each case's default */
  gboolean torch, quick;
} BenchTrainOptions;

int bench_train_main(const BenchTrainOptions *o);

const char *bench_train_name(BenchTrainKind k);
/* "4x4x32x32 + 4x49x256"; cue: "1x3x256x256 pndm 50x0.8" */
char *bench_train_input_str(const BenchTrainCase *c);
double bench_train_samples_per_sec(const BenchTrainResult *r);

/* bench_train_step.c: the case's checkpoints (written into dir when
 * missing), then one warm-up and c->runs timed steps on dev. */
gboolean bench_train_prepare(BenchTrainCase *c, const char *dir,
                             GError **error);
/* Values uniform in [-1, 1] from rand, as inputs and targets. */
AgfTensor *bench_train_random_tensor(AgfDevice *dev, AgfDType dt, int ndim,
                                     const int64_t *shape, GRand *rand,
                                     GError **error);
gboolean bench_train_run_case(AgfDevice *dev, const BenchTrainCase *c,
                              AgfDType dt, BenchTrainResult *out,
                              GError **error);

/* bench_train_report.c */
void bench_train_print_header(void);
void bench_train_print_row(const BenchTrainResult *r);
GArray *bench_train_run_torch(GPtrArray *cases, int threads, GError **error);
/* Ours against torch (CPU rows against torch-cpu, Vulkan rows against
 * torch-cuda when it ran, else torch-cpu); fills ratio[i] for ours[i]
 * (ours / torch samples/s, 0 when no torch row matches). */
void bench_train_compare(const BenchTrainResult *ours, int n_ours,
                         const GArray *torch, int threads, double *ratio);
/* ratio[i] belongs to r[i] for i < n_ratio (our rows come first). */
gboolean bench_train_write_json(const char *path, const BenchTrainResult *r,
                                int n, const double *ratio, int n_ratio,
                                gboolean quick, int threads, GError **error);

G_END_DECLS
