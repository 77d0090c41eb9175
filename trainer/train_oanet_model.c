/* The network SSDG trains: an OA-Net (any variant) from a weights file
 * (its forward computes the weight-normalized classifier from weight_g /
 * weight_v with ops, so they train), and SSDG's domain discriminator
 * behind a gradient-reversal layer. */
#include <math.h>
#include <string.h>
#include "train_oanet.h"
#include "metrics/roc.h"
#include "models/weights.h"
#include "nn/autograd.h"
#include "nn/error.h"
#include "nn/loss.h"
#include "nn/ops.h"
#include "pipeline/rng.h"

#define DISC_STREAM G_GUINT64_CONSTANT(0xd15c0000)
#define DROP_STREAM G_GUINT64_CONSTANT(0xd20b0000)

enum { D_W1, D_B1, D_W2, D_B2, D_COUNT };
static const char *const disc_names[D_COUNT] = {
  "ssdg_disc.fc1.weight", "ssdg_disc.fc1.bias", "ssdg_disc.fc2.weight",
  "ssdg_disc.fc2.bias",
};

struct AgfSsdgModel {
  AgfWeights *w;
  AgfOanet *net;
  AgfSsdgLossConfig lc;
  int n_domains;
  AgfParamSet *network, *state;
  AgfTensor *disc[D_COUNT];
};

double agf_ssdg_grl_coeff(gint64 step, gint64 total)
{
  /* SSDG's GRL counts forward calls: iteration step + 1 of total. */
  const double p = total > 0 ? (double)(step + 1) / (double)total : 1.0;
  return 2.0 / (1.0 + exp(-10.0 * p)) - 1.0;
}

void agf_ssdg_variant_config(AgfPreset p, AgfOanetVariant v,
                             AgfOanetConfig *cfg)
{
  AgfPresetConfigs c;
  agf_preset_configs(p, &c);
  *cfg = c.oanet;
  cfg->variant = v;
  if (v != AGF_OANET_FULL)
    cfg->vit.kv_dim = 0;
  if (v == AGF_OANET_DUAL_BRANCH)
    cfg->cue_vit = cfg->vit;
}

void agf_ssdg_loss_config_init(AgfSsdgLossConfig *c)
{
  *c = (AgfSsdgLossConfig){ .triplet_weight = 1.0f, .adv_weight = 0.5f,
                            .margin = 0.1f, .disc_hidden = 512,
                            .disc_dropout = 0.5f };
}

void agf_ssdg_model_free(AgfSsdgModel *m)
{
  if (!m)
    return;
  for (int i = 0; i < D_COUNT; i++)
    agf_tensor_unref(m->disc[i]);
  g_clear_pointer(&m->network, agf_param_set_free);
  g_clear_pointer(&m->state, agf_param_set_free);
  agf_oanet_free(m->net);
  agf_weights_unref(m->w);
  g_free(m);
}

/* SSDG's Discriminator: fc1 normal(0, 0.01), fc2 normal(0, 0.3), biases 0. */
static gboolean disc_new(AgfSsdgModel *m, AgfDevice *dev, AgfDType dt,
                         int features, guint64 seed, GError **error)
{
  const int h = m->lc.disc_hidden, k = m->n_domains;
  const int64_t shapes[D_COUNT][2] = { { h, features }, { h, 0 }, { k, h },
                                       { k, 0 } };
  const float stdev[D_COUNT] = { 0.01f, 0.0f, 0.3f, 0.0f };
  for (int i = 0; i < D_COUNT; i++) {
    const int ndim = shapes[i][1] ? 2 : 1;
    const gsize n = (gsize)shapes[i][0] * (ndim == 2 ? shapes[i][1] : 1);
    g_autofree float *v = g_new0(float, n);
    if (stdev[i] > 0) {
      agf_rng_normal(seed, DISC_STREAM + (guint64)i, 0, v, n);
      for (gsize j = 0; j < n; j++)
        v[j] *= stdev[i];
    }
    if (!(m->disc[i] = agf_tensor_from_f32(dev, dt, ndim, shapes[i], v,
                                           error)) ||
        !agf_param_set_add(m->state, disc_names[i], m->disc[i], error))
      return FALSE;
  }
  return TRUE;
}

AgfSsdgModel *agf_ssdg_model_new(AgfWeights *w, int n_domains,
                                 const AgfSsdgLossConfig *lc, guint64 seed,
                                 GError **error)
{
  const char *path = agf_weights_path(w);
  g_autoptr(AgfSsdgModel) m = g_new0(AgfSsdgModel, 1);
  m->lc = *lc;
  m->n_domains = n_domains;
  m->w = agf_weights_ref(w);
  if (!(m->net = agf_oanet_new(m->w, error)) ||
      !(m->network = agf_weights_param_set(m->w, error)))
    return NULL;
  const AgfOanetConfig *cfg = agf_oanet_config(m->net);
  if (cfg->n_classes != 2) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "%s classifies %d classes; SSDG trains a live / spoof (2 "
                "class) OA-Net", path, cfg->n_classes);
    return NULL;
  }
  m->state = agf_param_set_new();
  for (int i = 0; i < agf_param_set_size(m->network); i++)
    if (!agf_param_set_add(m->state, agf_param_set_name(m->network, i),
                           agf_param_set_tensor(m->network, i), error))
      return NULL;
  if (!disc_new(m, agf_weights_device(w), agf_weights_dtype(w),
                cfg->feature_dim, seed, error))
    return NULL;
  return g_steal_pointer(&m);
}

const AgfOanetConfig *agf_ssdg_model_config(const AgfSsdgModel *m)
{
  return agf_oanet_config(m->net);
}

AgfParamSet *agf_ssdg_model_state(AgfSsdgModel *m)
{
  return m->state;
}

AgfParamSet *agf_ssdg_model_network(AgfSsdgModel *m)
{
  return m->network;
}

static AgfTensor *at_size(const AgfTensor *x, int size, GError **error)
{
  if (x->shape[2] == size && x->shape[3] == size)
    return agf_tensor_ref((AgfTensor *)x);
  return agf_resize_bilinear(x, size, size, FALSE, error);
}

gboolean agf_ssdg_forward(AgfSsdgModel *m, const AgfTensor *image,
                          const AgfTensor *cue, AgfTensor **logits,
                          AgfTensor **feature, GError **error)
{
  const AgfOanetConfig *cfg = agf_oanet_config(m->net);
  const AgfOanetVariant v = cfg->variant;
  g_autoptr(AgfTensor) img = NULL, c = NULL;
  if (v != AGF_OANET_RESIDUAL_ONLY &&
      !(img = at_size(image, cfg->vit.img_size, error)))
    return FALSE;
  if (v != AGF_OANET_IMAGE_ONLY &&
      !(c = v == AGF_OANET_FULL ? agf_tensor_ref((AgfTensor *)cue)
            : at_size(cue, v == AGF_OANET_DUAL_BRANCH ? cfg->cue_vit.img_size
                                                      : cfg->vit.img_size,
                      error)))
    return FALSE;
  return agf_oanet_forward(m->net, img, c, logits, feature, error);
}

/* A one-element loss on the host; NaN when it cannot be read (the loop
 * then stops on the non-finite term). */
static double scalar(const AgfTensor *t)
{
  float v = NAN;
  return agf_tensor_to_f32(t, &v, NULL) ? v : NAN;
}

/* The discriminator on the live features, behind the GRL: logits
 * [n_live, n_domains]. Dropout masks are keyed by (seed, step). */
static AgfTensor *discriminate(AgfSsdgModel *m, AgfTensor *live, double coeff,
                               guint64 seed, gint64 step, GError **error)
{
  g_autoptr(AgfTensor) rev = agf_grad_reverse(live, (float)coeff, error);
  g_autoptr(AgfTensor) h = rev ? agf_linear(rev, m->disc[D_W1], m->disc[D_B1],
                                            error) : NULL;
  g_autoptr(AgfTensor) a = h ? agf_relu(h, error) : NULL;
  if (!a)
    return NULL;
  const float p = m->lc.disc_dropout;
  if (p > 0) {
    const gsize n = (gsize)agf_tensor_numel(a);
    g_autofree float *mask = g_new(float, n);
    for (gsize i = 0; i < n; i++)
      mask[i] = agf_rng_uniform(seed, DROP_STREAM + (guint64)step, i) < p
                  ? 0.0f : 1.0f / (1.0f - p);
    g_autoptr(AgfTensor) mt = agf_tensor_from_f32(a->dev, a->dtype, a->ndim,
                                                  a->shape, mask, error);
    AgfTensor *dropped = mt ? agf_mul(a, mt, error) : NULL;
    if (!dropped)
      return NULL;
    agf_tensor_unref(a);
    a = dropped;
  }
  return agf_linear(a, m->disc[D_W2], m->disc[D_B2], error);
}

AgfTensor *agf_ssdg_loss(AgfSsdgModel *m, const AgfTensor *image,
                         const AgfTensor *cue, const int *truth,
                         const int *domain, int n, double coeff,
                         guint64 seed, gint64 step, AgfSsdgTerms *terms,
                         GError **error)
{
  const int spoof = agf_oanet_config(m->net)->spoof_class;
  int n_live = 0;
  while (n_live < n && truth[n_live] == AGF_TRUTH_LIVE)
    n_live++;
  for (int i = n_live; i < n; i++)
    if (truth[i] == AGF_TRUTH_LIVE) {
      g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                  "SSDG batch: live faces must come first (sample %d is live "
                  "after a spoof)", i);
      return NULL;
    }
  if (n_live == 0 || n_live == n) {
    g_set_error(error, AGF_ERROR, AGF_ERROR_INVALID_ARGUMENT,
                "SSDG batch needs live and spoof faces (%d live of %d)",
                n_live, n);
    return NULL;
  }
  g_autofree int *labels = g_new(int, n);
  g_autofree int *classes = g_new(int, n);
  for (int i = 0; i < n; i++) {
    labels[i] = truth[i] == AGF_TRUTH_SPOOF ? spoof : 1 - spoof;
    /* Asymmetric triplet: all live faces one class, each domain's spoofs
     * their own. */
    classes[i] = truth[i] == AGF_TRUTH_SPOOF ? 1 + domain[i] : 0;
  }
  g_autoptr(AgfTensor) logits = NULL, feat = NULL;
  if (!agf_ssdg_forward(m, image, cue, &logits, &feat, error))
    return NULL;
  g_autoptr(AgfTensor) cls = agf_loss_cross_entropy(logits, labels, error);
  g_autoptr(AgfTensor) trip =
    cls ? agf_loss_asym_triplet_all(feat, classes, m->lc.margin, error) : NULL;
  g_autoptr(AgfTensor) live = trip ? agf_tensor_slice(feat, 0, 0, n_live,
                                                      error) : NULL;
  g_autoptr(AgfTensor) dl = live ? discriminate(m, live, coeff, seed, step,
                                                error) : NULL;
  g_autoptr(AgfTensor) adv = dl ? agf_loss_cross_entropy(dl, domain, error)
                                : NULL;
  g_autoptr(AgfTensor) t1 = adv ? agf_scale(trip, m->lc.triplet_weight, 0.0f,
                                            error) : NULL;
  g_autoptr(AgfTensor) t2 = t1 ? agf_scale(adv, m->lc.adv_weight, 0.0f, error)
                               : NULL;
  g_autoptr(AgfTensor) s1 = t2 ? agf_add(cls, t1, error) : NULL;
  g_autoptr(AgfTensor) total = s1 ? agf_add(s1, t2, error) : NULL;
  if (!total)
    return NULL;
  g_autofree float *lg = g_new(float, (gsize)n * 2);
  if (!agf_tensor_to_f32(logits, lg, error))
    return NULL;
  int right = 0;
  for (int i = 0; i < n; i++)
    right += (lg[i * 2 + 1] > lg[i * 2]) == (labels[i] == 1);
  *terms = (AgfSsdgTerms){ .cls = scalar(cls),
                           .triplet = scalar(trip),
                           .adv = scalar(adv),
                           .total = scalar(total),
                           .acc = (double)right / n, .coeff = coeff,
                           .n_disc = (int)dl->shape[0] };
  return g_steal_pointer(&total);
}

gboolean agf_ssdg_score(AgfSsdgModel *m, const AgfTensor *image,
                        const AgfTensor *cue, double *scores, GError **error)
{
  AgfDevice *dev = image->dev;
  const gboolean was = agf_is_training(dev);
  agf_set_training(dev, FALSE);
  agf_no_grad_begin(dev);
  g_autoptr(AgfTensor) logits = NULL;
  g_autoptr(AgfTensor) p = NULL;
  gboolean ok = agf_ssdg_forward(m, image, cue, &logits, NULL, error) &&
                (p = agf_oanet_spoof_probability(m->net, logits, error));
  agf_no_grad_end(dev);
  agf_set_training(dev, was);
  if (!ok)
    return FALSE;
  const int64_t n = p->shape[0];
  g_autofree float *v = g_new(float, n);
  if (!agf_tensor_to_f32(p, v, error))
    return FALSE;
  for (int64_t i = 0; i < n; i++)
    scores[i] = v[i];
  return TRUE;
}
