/* agfas-bench: op timings per backend, with OpenBLAS and PyTorch reference
 * rows measured in the same run. */
#pragma once
#include <glib.h>
#include <json-glib/json-glib.h>
#include "nn/device.h"
#include "nn/ops.h"

G_BEGIN_DECLS

#define BENCH_MAX_IN 3

/* One benchmarked op on fixed shapes. */
typedef struct {
  const char *name;   /* unique key, shared with the PyTorch script */
  const char *group;  /* "gemm", "sd15" (U-Net at a 4x32x32 latent), "vit" (ViT-B/16) */
  AgfOp op;           /* kind, n_in and parameters */
  int ndim[BENCH_MAX_IN];
  int64_t shape[BENCH_MAX_IN][AGF_MAX_DIMS];
  gboolean quick;     /* in the --quick subset */
} BenchCase;

extern const BenchCase bench_cases[];
extern const int bench_n_cases;

/* One measured row. */
typedef struct {
  const BenchCase *c;
  char backend[24];   /* "cpu", "vulkan", "openblas", "torch-cpu", "torch-cuda" */
  char device[64];    /* device spec, or the library */
  char device_name[128];
  AgfDType dtype;
  double usec;        /* median time of one op */
  double gflops;      /* 0 when the op is memory bound */
  double gbps;
} BenchResult;

/* Useful work of a case: floating-point operations (GEMM, conv,
 * attention) or bytes moved (everything else, at dtype size). */
double bench_flops(const BenchCase *c);
double bench_bytes(const BenchCase *c, AgfDType dt);
/* "1024x1024x1024", "1x320x32x32 k3 s1 -> 320", ... */
char *bench_shape_str(const BenchCase *c);
const char *bench_op_label(const BenchCase *c);
/* The equivalent single sgemm (M, N, K) of a GEMM / linear / conv case;
 * FALSE for other ops. */
gboolean bench_gemm_dims(const BenchCase *c, int64_t *m, int64_t *n,
                         int64_t *k);

typedef struct {
  int samples;        /* timed batches; the median is reported */
  double batch_sec;   /* aim for batches of about this long */
} BenchTiming;

/* Times c on dev in dt; FALSE with error when the op fails. */
gboolean bench_run_case(AgfDevice *dev, const BenchCase *c, AgfDType dt,
                        const BenchTiming *tm, BenchResult *out,
                        GError **error);
/* Times cblas_sgemm on the case's equivalent GEMM. */
void bench_run_openblas(const BenchCase *c, const BenchTiming *tm,
                        BenchResult *out);

/* Output: the table, JSON, and the PyTorch comparison. */
void bench_print_header(void);
void bench_print_row(const BenchResult *r, const BenchResult *blas);
gboolean bench_write_json(const char *path, const BenchResult *r, int n,
                          gboolean quick, GError **error);
/* Writes the selected cases for tests/reference/bench_torch_ops.py. */
gboolean bench_write_cases(const char *path, const BenchCase *const *cases,
                           int n, GError **error);
/* Runs the PyTorch script on the cases and returns its rows. */
GArray *bench_run_torch(const BenchCase *const *cases, int n, gboolean quick,
                        GError **error);
void bench_print_torch(const BenchResult *ours, int n_ours,
                       const GArray *torch);

/* ---- shared by the ops and models commands ---- */

/* Median of v[0..n-1] (sorts v). */
double bench_median(double *v, int n);
/* The devices of a --device spec: one device, or "all" (CPU + every
 * Vulkan device). */
GPtrArray *bench_open_devices(const char *spec, GError **error);
/* Whether to run dt on dev for a --dtype value (NULL: f32, plus f16 on
 * Vulkan devices that have it). */
gboolean bench_want_dtype(AgfDevice *dev, AgfDType dt, const char *opt_dtype);
/* Runs /usr/bin/python3 (Debian's python3-torch) on a script of
 * tests/reference/ with args (NULL-terminated); its output goes to ours. */
gboolean bench_run_python(const char *script, const char *const *args,
                          GError **error);

/* Shared by both reports (bench_report.c). */
/* Writes b's root to path, pretty-printed; the error names path. */
gboolean bench_write_json_node(const char *path, JsonBuilder *b,
                               GError **error);
/* The "results" array of a comparison script's output at path (owned by
 * parser), or NULL and an error naming path and script. */
JsonArray *bench_load_torch_results(JsonParser *parser, const char *path,
                                    const char *script, GError **error);
/* A torch row's dtype and who ran it, into the caller's buffers. */
void bench_read_torch_ids(JsonObject *o, AgfDType *dtype, char *backend,
                          gsize backend_n, char *device, gsize device_n,
                          char *device_name, gsize device_name_n);
/* Whether a torch row of torch_backend suits one of ours run on
 * our_backend: CUDA for Vulkan rows, the CPU for CPU rows. */
gboolean bench_torch_suits(const char *our_backend, const char *torch_backend);

/* ---- shared by the models and train reports (bench_measure.c) ---- */

/* What one timed case measured on one device, ours or torch's. */
typedef struct {
  char backend[24];   /* "cpu", "vulkan", "torch-cpu", "torch-cuda" */
  char device[64];
  char device_name[160];
  AgfDType dtype;     /* f16: f16 weights (train: f32 masters, loss scaling) */
  double usec;        /* median of runs */
  int runs;
  double peak_bytes;  /* device high-water mark during the runs; < 0 unknown */
} BenchMeasure;

/* m from runs timings (times is sorted) on dev in dt, with dev's peak. */
void bench_measure_take(BenchMeasure *m, AgfDevice *dev, AgfDType dt,
                        double *times, int runs);
/* The rows of a models or train comparison script's output at path: fn
 * gets each one that measured something, with its case (cases->pdata[its
 * "id"]). */
typedef void (*BenchTorchRowFn)(gconstpointer c, const BenchMeasure *m,
                                gpointer data);
gboolean bench_read_torch_measures(const char *path, const char *script,
                                   GPtrArray *cases, BenchTorchRowFn fn,
                                   gpointer data, GError **error);
/* The measurement's members, from "dtype" to "peak_bytes". */
void bench_measure_json(JsonBuilder *b, const BenchMeasure *m);
/* "12.3" MiB, or "-" when unknown, into buf. */
void bench_measure_peak_str(const BenchMeasure *m, char *buf, gsize n);

/* One named member of the current JSON object. */
void bench_json_str(JsonBuilder *b, const char *k, const char *v);
void bench_json_int(JsonBuilder *b, const char *k, gint64 v);
void bench_json_double(JsonBuilder *b, const char *k, double v);
void bench_json_ints(JsonBuilder *b, const char *k, const int *v, int n);

/* The CPU backend's thread count (PyTorch is given the same). */
int bench_cpu_threads(void);
/* --cache-dir, else $XDG_CACHE_HOME/agfas/bench. */
char *bench_cache_dir(const char *opt);
/* The devices of --device spec, printed with the weights folder; NULL
 * after printing why. */
GPtrArray *bench_open_devices_report(const char *spec, const char *dir);

/* A temporary folder holding cases.json (written by us) and torch.json
 * (written by the PyTorch script). */
typedef struct {
  char *dir, *cases, *out;
} BenchTorchFiles;

gboolean bench_torch_files_init(BenchTorchFiles *f, GError **error);
/* Removes the files and the folder. */
void bench_torch_files_clear(BenchTorchFiles *f);

/* One case's members (after its "id") in the cases.json of a comparison
 * script. */
typedef void (*BenchCaseJsonFn)(JsonBuilder *b, gconstpointer c,
                                gpointer data);
/* The whole PyTorch side of the models and train benchmarks: writes
 * cases.json ({schema, threads, cases}, each case from case_json), runs
 * script with --threads threads and reads its rows into a GArray of
 * row_size elements, which add appends (its data is that array). NULL and
 * error when a step failed. */
GArray *bench_run_torch_measures(const char *script, const char *schema,
                                 GPtrArray *cases, int threads,
                                 BenchCaseJsonFn case_json, gpointer data,
                                 guint row_size, BenchTorchRowFn add,
                                 GError **error);
/* Whether a torch row (case tc, measure tm) is the one to compare ours
 * (case c, measure m) against, given whether one was found already: the
 * same case and dtype, the backend bench_torch_suits picks preferred. */
gboolean bench_torch_better(gconstpointer c, const BenchMeasure *m,
                            gconstpointer tc, const BenchMeasure *tm,
                            gboolean have_best);

/* ---- agfas-bench models (bench_models*.c) ---- */

typedef struct {
  const char *device;    /* --device */
  const char *dtype;     /* --dtype */
  const char *presets;   /* --preset: tiny, small, paper, a comma list, all */
  const char *json;      /* --json */
  const char *filter;    /* --filter: networks whose name contains it */
  const char *cache_dir; /* --cache-dir, NULL: $XDG_CACHE_HOME/agfas/bench */
  gboolean torch;
  gboolean quick;
} BenchModelsOptions;

int bench_models_main(const BenchModelsOptions *o);

G_END_DECLS
