/* agfas-bench train: training-step throughput and peak memory of a small
 * U-Net (epsilon-prediction MSE, AdamW) and a small ViT (OA-Net
 * image_only, cross-entropy, SGD with momentum) per preset and device,
 * with PyTorch doing the same step in the same run
 * (tests/reference/bench_torch_train.py). Shared by bench_train*.c. */
#pragma once
#include "bench_models.h"

G_BEGIN_DECLS

typedef enum {
  BT_UNET, /* one U-Net training step on latents 32x32 + 49 context tokens */
  BT_VIT,  /* one OA-Net image_only training step on images */
  BT_COUNT
} BenchTrainKind;

typedef struct {
  BenchTrainKind kind;
  AgfPreset p;
  const char *preset;
  AgfPresetConfigs cfg;
  int batch;
  int ndim[BM_MAX_IN];
  int64_t shape[BM_MAX_IN][4]; /* unet: latent, context; vit: image */
  int n_in;
  int runs;                    /* timed steps (after one warm-up step) */
  char *file;                  /* the random-weight checkpoint */
} BenchTrainCase;

typedef struct {
  const BenchTrainCase *c;
  char backend[24];   /* "cpu", "vulkan", "torch-cpu", "torch-cuda" */
  char device[64];
  char device_name[160];
  AgfDType dtype;     /* f16: f16 weights, f32 masters, loss scaling */
  double usec;        /* median step time */
  int runs;
  double peak_bytes;  /* high-water mark over the timed steps; < 0 unknown */
} BenchTrainResult;

typedef struct {
  const char *device, *dtype, *presets, *json, *filter, *cache_dir;
  int batch;          /* 0: each case's default */
  gboolean torch, quick;
} BenchTrainOptions;

int bench_train_main(const BenchTrainOptions *o);

const char *bench_train_name(BenchTrainKind k);
/* "4x4x32x32 + 4x49x256" */
char *bench_train_input_str(const BenchTrainCase *c);
double bench_train_samples_per_sec(const BenchTrainResult *r);

/* bench_train_step.c: the case's checkpoint (written into dir when
 * missing), then one warm-up step and c->runs timed steps on dev. */
gboolean bench_train_prepare(BenchTrainCase *c, const char *dir,
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
