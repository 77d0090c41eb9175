/* Training data: the aligned face crops of a prepared dataset (the manifest
 * `agfas-train prepare` writes), sampled deterministically from (seed,
 * step) so that a resumed run sees exactly the batches an uninterrupted
 * one would, and decoded into float tensors in [-1, 1] with a random
 * horizontal flip as augmentation. No global state: one object per
 * replica / loader. */
#pragma once
#include <glib.h>
#include "io/manifest.h"
#include "nn/tensor.h"

G_BEGIN_DECLS

typedef enum {
  AGF_TRAIN_ROWS_ALL,  /* every row with a crop and status ok (or none) */
  AGF_TRAIN_ROWS_LIVE, /* of those, label live; all of them when no row of
                          the manifest has a label */
} AgfTrainRows;

typedef struct AgfTrainData AgfTrainData;

/* Loads the manifest and keeps the rows that select picks; fails (saying
 * what to do) when none is left. */
AgfTrainData *agf_train_data_open(const char *manifest, AgfTrainRows select,
                                  GError **error);
void agf_train_data_free(AgfTrainData *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfTrainData, agf_train_data_free)

/* Rows kept, and row i's record (owned by d). */
guint agf_train_data_len(const AgfTrainData *d);
const AgfManifestRecord *agf_train_data_record(const AgfTrainData *d, guint i);
/* The crop file of row i (absolute or relative to the working folder). */
char *agf_train_data_crop_path(const AgfTrainData *d, guint i);

/* The rows of batch `step`: sample k of the run (k = step * batch + b) is
 * row perm_e[k mod n] with perm_e a permutation keyed by (seed, epoch
 * e = k / n), so every epoch visits each row once; flip[b] is a coin keyed
 * by (seed, k). rows, flip: [batch]. */
void agf_train_data_sample(AgfTrainData *d, guint64 seed, gint64 step,
                           int batch, guint *rows, gboolean *flip);

/* Decodes rows (flipped where flip[i]) into [n, 3, size, size] in [-1, 1]
 * of dtype dt on dev (bilinear resize when the crops are another size).
 * Decoded crops are cached in memory up to a budget. */
AgfTensor *agf_train_data_load(AgfTrainData *d, const guint *rows,
                               const gboolean *flip, int n, int size,
                               AgfDevice *dev, AgfDType dt, GError **error);

/* sample + load. */
AgfTensor *agf_train_data_batch(AgfTrainData *d, guint64 seed, gint64 step,
                                int batch, int size, AgfDevice *dev,
                                AgfDType dt, GError **error);

G_END_DECLS
