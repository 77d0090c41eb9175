/* Shared support of the network parity tests (test_autoencoder_kl.c,
 * test_unet.c, test_resnet18.c, test_iresnet.c, test_oanet.c,
 * test_face_nets.c, test_dfg.c). A golden file made by a tests/reference
 * script holds the network's weights under their upstream names and the
 * test inputs and expected outputs under "test.*". */
#pragma once
#include "models/weights.h"

G_BEGIN_DECLS

/* tests/golden/<file> in the source tree. */
char *parity_golden_path(const char *file);
/* The golden <file> as weights on dev in dt (asserts it opens). */
AgfWeights *parity_open(const char *file, AgfDevice *dev, AgfDType dt);
/* "test.<name>" of the golden as a new f32 tensor on dev. */
AgfTensor *parity_tensor(const AgfSafetensors *st, AgfDevice *dev,
                         const char *name);
/* Asserts got has the shape of "test.<name>" and a max relative error
 * (max |a-b| / max |b|) <= tol; returns the error. */
double parity_compare(const AgfSafetensors *st, const char *name,
                      const AgfTensor *got, double tol);
/* Parameters of the golden's network under prefix ("" for all): every
 * tensor but "test.*" and batch-norm running statistics (buffers, which
 * torch does not count). */
gint64 parity_param_count(const AgfSafetensors *st, const char *prefix);

/* Runs fn on the CPU backend / on Vulkan (skipped without a Vulkan device,
 * then checked for validation messages) as the GLib test at path. */
typedef void (*ParityRunFn)(AgfDevice *dev, gconstpointer data);
void parity_add_cpu(const char *path, ParityRunFn fn, gconstpointer data);
void parity_add_vulkan(const char *path, ParityRunFn fn, gconstpointer data);

/* A copy of src in dir (a new path) without tensor drop and with tensor
 * reshape given a wrong shape (either may be NULL). */
char *parity_mutate(const char *src, const char *dir, const char *drop,
                    const char *reshape);

/* Loads (and frees) the network of the test from w; FALSE with the error
 * when the load fails. */
typedef gboolean (*ParityLoadFn)(AgfWeights *w, gconstpointer data,
                                 GError **error);
/* Asserts that loading path fails with code and a message naming tensor. */
void parity_expect_load_error(const char *path, ParityLoadFn load,
                              gconstpointer data, const char *tensor,
                              int code);
/* For every name of wrong (NULL-terminated): a copy of the golden <file>
 * with that tensor reshaped fails to load with AGF_ERROR_SHAPE; for every
 * name of missing, one without it with AGF_ERROR_FORMAT; both naming it. */
void parity_check_load_errors(const char *file, ParityLoadFn load,
                              gconstpointer data, const char *const *wrong,
                              const char *const *missing);

/* A parity run's precision: weights (and activations) in dt, outputs
 * within tol of the reference. */
typedef struct {
  AgfDType dt;
  double tol;
} ParityPrecision;

/* The usual tests of one network, under "/<name>/": "config" and
 * "<params_path>" (each run when non-NULL); when parity is non-NULL,
 * "parity-cpu" and "parity-vulkan" (parity with data f32) and
 * "parity-cpu-f16" (with data f16, when non-NULL); then "load-errors" (parity_check_load_errors of golden
 * with load, wrong and missing). */
typedef struct {
  const char *name;
  GTestFunc config;
  const char *params_path;
  GTestFunc params;
  ParityRunFn parity;
  gconstpointer f32, f16;
  const char *golden;
  ParityLoadFn load;
  const char *const *wrong, *const *missing;
} ParityNetTests;
/* Registers t's tests (t must outlive the run), runs every registered
 * test and returns main's exit status (failing on validation messages). */
int parity_net_main(const ParityNetTests *t);

G_END_DECLS
