/* agfas-train oanet internals: SSDG training of the OA-Net (method.md) and
 * its ablations. Split by concern:
 *   train_oanet.c        the subcommand: options, the loop (train_loop.h)
 *   train_oanet_data.c   items (crop + cue + label + domain), the balanced
 *                        sampler, batch loading
 *   train_oanet_model.c  the network to train, the normalized classifier,
 *                        the domain discriminator, one SSDG step's loss
 *   train_oanet_val.c    validation: frame scores CSV + AUC / HTER
 * No global state: everything lives in these objects (data parallelism
 * can run one model per device). */
#pragma once
#include <glib.h>
#include "io/manifest.h"
#include "models/oanet.h"
#include "models/presets.h"
#include "models/weights.h"
#include "nn/param_set.h"

G_BEGIN_DECLS

/* ---- data (train_oanet_data.c) ---- */

/* One face: its aligned crop, its stored cue (a `cues` run's file), its
 * truth (metrics/roc.h: 0 live, 1 spoof) and domain index. */
typedef struct {
  char *crop, *cue;        /* absolute paths */
  int truth;
  int domain;
  char *path;              /* the media file (score rows) */
  gint64 frame;            /* -1: a still */
  char *video, *attack;    /* may be NULL */
} AgfSsdgItem;

typedef struct AgfSsdgData AgfSsdgData;

AgfSsdgData *agf_ssdg_data_new(void);
void agf_ssdg_data_free(AgfSsdgData *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfSsdgData, agf_ssdg_data_free)

/* Adds the usable records of a manifest (a `cues` run's manifest.jsonl:
 * crop, status ok or empty, label live or spoof, a cue file): of split
 * `split` when not NULL; domain from column domain_col (NULL: "domain";
 * another known column or any extra column), or `domain` for every record
 * when not NULL (a protocol's dataset). Records without a usable crop,
 * label or cue are skipped and counted in *skipped (may be NULL); a record
 * whose domain is empty is an error when need_domain (training), else in
 * domain "" (validation). */
gboolean agf_ssdg_data_add_manifest(AgfSsdgData *d, const char *manifest,
                                    const char *split, const char *domain_col,
                                    const char *domain, gboolean need_domain,
                                    guint *skipped, GError **error);
guint agf_ssdg_data_len(const AgfSsdgData *d);
const AgfSsdgItem *agf_ssdg_data_item(const AgfSsdgData *d, guint i);
guint agf_ssdg_data_n_domains(const AgfSsdgData *d);
const char *agf_ssdg_data_domain(const AgfSsdgData *d, guint i);
/* Items in pool (domain, truth). */
guint agf_ssdg_data_pool_len(const AgfSsdgData *d, guint domain, int truth);
/* Training needs every domain to have live and spoof faces, and at least
 * two domains for the adversarial loss; the error says which is missing. */
gboolean agf_ssdg_data_check_train(const AgfSsdgData *d, GError **error);

/* The balanced batch of `step`: per_class faces of each (domain, class),
 * ordered all live faces first (domain 0, 1, ...), then the spoofs (domain
 * 0, 1, ...), so that the live features are one slice. Each pool is
 * walked through a permutation per epoch keyed by (seed, pool, epoch), so
 * a pool's faces are all seen once per epoch; flip is a coin per sample.
 * rows, flip: [2 * n_domains * per_class]. A pure function of its
 * arguments. */
void agf_ssdg_sample(const AgfSsdgData *d, guint64 seed, gint64 step,
                     int per_class, guint *rows, gboolean *flip);

/* Images [n, 3, S, S] in [-1, 1] and cues [n, 3, S, S] of items rows
 * (mirrored where flip[i]; flip may be NULL), S the crops' size (every
 * crop and cue of a batch the same size). Decoded items are cached on the
 * host up to a budget. */
gboolean agf_ssdg_data_load(AgfSsdgData *d, const guint *rows,
                            const gboolean *flip, int n, AgfDevice *dev,
                            AgfDType dt, AgfTensor **image, AgfTensor **cue,
                            GError **error);

/* ---- model (train_oanet_model.c) ---- */

/* The GRL coefficient of SSDG at progress p = step / total:
 * 2 / (1 + exp(-10 p)) - 1. */
double agf_ssdg_grl_coeff(gint64 step, gint64 total);

/* The configuration of preset p's OA-Net as variant v (ablations). */
void agf_ssdg_variant_config(AgfPreset p, AgfOanetVariant v,
                             AgfOanetConfig *cfg);

typedef struct {
  float triplet_weight;  /* 1.0 */
  float adv_weight;      /* 0.5 */
  float margin;          /* 0.1 */
  int disc_hidden;       /* 512 */
  float disc_dropout;    /* 0.5 */
} AgfSsdgLossConfig;

void agf_ssdg_loss_config_init(AgfSsdgLossConfig *c);

typedef struct AgfSsdgModel AgfSsdgModel;

/* The OA-Net of w (any variant; w is ref'ed) plus a domain discriminator
 * for n_domains domains on w's device and dtype, initialised from seed
 * (SSDG: weights normal(0, 0.01) / normal(0, 0.3), biases 0). */
AgfSsdgModel *agf_ssdg_model_new(AgfWeights *w, int n_domains,
                                 const AgfSsdgLossConfig *lc, guint64 seed,
                                 GError **error);
void agf_ssdg_model_free(AgfSsdgModel *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgfSsdgModel, agf_ssdg_model_free)

const AgfOanetConfig *agf_ssdg_model_config(const AgfSsdgModel *m);
/* Every tensor to checkpoint and train (network, its batch-norm buffers,
 * the discriminator "ssdg_disc.*"). */
AgfParamSet *agf_ssdg_model_state(AgfSsdgModel *m);
/* The network's tensors alone (what is exported). */
AgfParamSet *agf_ssdg_model_network(AgfSsdgModel *m);

/* Forward on image / cue at the crop size (resized to the network's input
 * like the app's agf_dfg_score): logits [B, K] and the normalized feature
 * [B, F]. */
gboolean agf_ssdg_forward(AgfSsdgModel *m, const AgfTensor *image,
                          const AgfTensor *cue, AgfTensor **logits,
                          AgfTensor **feature, GError **error);

/* One SSDG objective on a balanced batch (agf_ssdg_sample's order): truth
 * and domain per sample. Terms (host values) and the total to backpropagate. */
typedef struct {
  double total, cls, triplet, adv;
  double acc;       /* classifier accuracy on the batch */
  double coeff;     /* the GRL coefficient used */
  int n_disc;       /* samples the discriminator saw (the live ones) */
} AgfSsdgTerms;

AgfTensor *agf_ssdg_loss(AgfSsdgModel *m, const AgfTensor *image,
                         const AgfTensor *cue, const int *truth,
                         const int *domain, int n, double coeff,
                         guint64 seed, gint64 step, AgfSsdgTerms *terms,
                         GError **error);

/* Spoof probabilities [n] (host) of a batch, in inference mode without
 * recording. */
gboolean agf_ssdg_score(AgfSsdgModel *m, const AgfTensor *image,
                        const AgfTensor *cue, double *scores, GError **error);

/* ---- validation (train_oanet_val.c) ---- */

typedef struct {
  gsize n;          /* scored faces */
  double auc, eer, hter;  /* at the set's EER threshold; per video when
                             every item has a video id */
  double threshold;
  gboolean videos;
} AgfSsdgValResult;

/* Scores every item of val (batches of `batch`) and writes csv_path
 * (columns path, frame, score, label, attack, domain, video: what
 * `agfas-train eval` reads), then the metrics from engine/metrics. */
gboolean agf_ssdg_validate(AgfSsdgModel *m, AgfSsdgData *val, int batch,
                           AgfDevice *dev, AgfDType dt, const char *csv_path,
                           AgfSsdgValResult *out, GError **error);

G_END_DECLS
