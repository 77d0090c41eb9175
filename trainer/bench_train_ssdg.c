/* The oanet case of agfas-bench train: the SSDG step of `agfas-train
 * oanet` (trainer/train_oanet.c) with the trainer's own model and loss
 * (train_oanet_model.c: the full OA-Net in train mode, its weight-
 * normalized classifier, the discriminator behind the gradient-reversal
 * layer; cross-entropy + 0.5 adversarial + 1.0 asymmetric triplet) and
 * update (train_loop_model.h: backward, loss scaling for f16, SGD with
 * momentum 0.9 and weight decay 5e-4). The batch is SSDG's balanced one
 * over 2 domains: every live face first, then the spoofs. */
#include <math.h>
#include "bench_train.h"
#include "train_loop_model.h"
#include "train_oanet.h"
#include "metrics/roc.h"

#define SEED 42
#define N_DOMAINS 2

typedef struct {
  AgfDevice *dev;
  AgfWeights *w;
  AgfSsdgModel *m;
  AgfTrainUpdate u;
  AgfTensor *image, *cue;
  int *truth, *domain;
  int n;
  gint64 step;
} SsdgBench;

static void ssdg_free(gpointer self)
{
  SsdgBench *b = self;
  agf_set_training(b->dev, FALSE);
  agf_train_update_clear(&b->u);
  g_clear_pointer(&b->m, agf_ssdg_model_free);
  g_clear_pointer(&b->w, agf_weights_unref);
  g_clear_pointer(&b->image, agf_tensor_unref);
  g_clear_pointer(&b->cue, agf_tensor_unref);
  g_free(b->truth);
  g_free(b->domain);
  g_free(b);
}

static gpointer ssdg_build(const BenchTrainCase *c, AgfDevice *dev,
                           AgfDType dt, GError **error)
{
  SsdgBench *b = g_new0(SsdgBench, 1);
  b->dev = dev;
  b->n = c->batch;
  b->truth = g_new(int, b->n);
  b->domain = g_new(int, b->n);
  const int per = b->n / (2 * N_DOMAINS);
  for (int i = 0; i < b->n; i++) {
    b->truth[i] = i < b->n / 2 ? AGF_TRUTH_LIVE : AGF_TRUTH_SPOOF;
    b->domain[i] = (i % (b->n / 2)) / per;
  }
  AgfSsdgLossConfig lc;
  agf_ssdg_loss_config_init(&lc);
  const AgfOptimConfig oc = { .kind = AGF_OPTIM_SGD, .momentum = 0.9f,
                              .weight_decay = 5e-4f };
  g_autoptr(GRand) rand = g_rand_new_with_seed(SEED);
  if (!(b->w = agf_weights_open(c->files[BW_OANET], dev, dt, error)) ||
      !(b->m = agf_ssdg_model_new(b->w, N_DOMAINS, &lc, SEED, error)) ||
      !agf_train_update_init(&b->u, dev, agf_ssdg_model_state(b->m), &oc,
                             0.0f, 0.0f, error) ||
      !(b->image = bench_train_random_tensor(dev, dt, c->in.ndim[0], c->in.shape[0],
                                             rand, error)) ||
      !(b->cue = bench_train_random_tensor(dev, dt, c->in.ndim[1], c->in.shape[1],
                                           rand, error))) {
    ssdg_free(b);
    return NULL;
  }
  agf_set_training(dev, TRUE);
  return b;
}

static gboolean ssdg_step(gpointer self, GError **error)
{
  SsdgBench *b = self;
  AgfSsdgTerms terms;
  /* The GRL ramp of a 1000-step run; the cost does not depend on it. */
  const double coeff = agf_ssdg_grl_coeff(b->step, 1000);
  if (!agf_train_update_begin(&b->u, error))
    return FALSE;
  g_autoptr(AgfTensor) loss = agf_ssdg_loss(b->m, b->image, b->cue, b->truth,
                                            b->domain, b->n, coeff, SEED,
                                            b->step, &terms, error);
  if (!loss)
    return FALSE;
  if (!isfinite(terms.total)) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "the loss is %g at step %" G_GINT64_FORMAT " (cls %g, triplet "
                "%g, adv %g): the step is broken, not worth timing",
                terms.total, b->step, terms.cls, terms.triplet, terms.adv);
    return FALSE;
  }
  if (!agf_train_update_step(&b->u, loss, 1e-3f, error))
    return FALSE;
  b->step++;
  return agf_device_sync(b->dev, error);
}

const BenchTrainOps bench_train_ssdg_ops = {
  ssdg_build, NULL, ssdg_step, ssdg_free
};
