/* Live samples against one attack type at a time for agfas-train eval:
 * the per-attack-type AUC, EER and HTER that say which attacks a model
 * (or the cue alone) separates from live faces, and which it does not. */
#include <math.h>
#include <string.h>
#include "train_eval.h"
#include "metrics/fas_metrics.h"
#include "metrics/roc.h"

static void attack_clear(gpointer p)
{
  g_free(((AgfEvalAttackFigures *)p)->name);
}

/* Live samples plus those of attack type a, into sc / lb; the count. */
static gsize select_pair(const double *scores, const int *labels,
                         const char *const *attacks, gsize n, const char *a,
                         double *sc, int *lb)
{
  gsize m = 0;
  for (gsize i = 0; i < n; i++)
    if (!labels[i] || !strcmp(attacks[i], a)) {
      sc[m] = scores[i];
      lb[m++] = labels[i];
    }
  return m;
}

GArray *agf_eval_attack_figures(const double *scores, const int *labels,
                                const char *const *attacks, gsize n,
                                double threshold, double fixed,
                                GError **error)
{
  GArray *out = g_array_new(FALSE, TRUE, sizeof(AgfEvalAttackFigures));
  g_array_set_clear_func(out, attack_clear);
  g_autofree double *sc = g_new(double, n);
  g_autofree int *lb = g_new(int, n);
  g_autoptr(GPtrArray) names = g_ptr_array_new();
  for (gsize i = 0; i < n; i++)
    if (labels[i] &&
        !g_ptr_array_find_with_equal_func(names, attacks[i], g_str_equal,
                                          NULL))
      g_ptr_array_add(names, (gpointer)attacks[i]);
  for (guint k = 0; k < names->len; k++) {
    const char *a = names->pdata[k];
    const gsize m = select_pair(scores, labels, attacks, n, a, sc, lb);
    AgfEvalAttackFigures f = { .name = g_strdup(a) };
    g_array_append_val(out, f);
    AgfEvalAttackFigures *p =
      &g_array_index(out, AgfEvalAttackFigures, out->len - 1);
    g_autoptr(AgfRoc) roc = agf_roc_compute(sc, m, lb, m, error);
    if (!roc || !agf_fas_hter_at(sc, m, lb, m, threshold, &p->hter, error) ||
        (!isnan(fixed) &&
         !agf_fas_hter_at(sc, m, lb, m, fixed, &p->hter_fixed, error))) {
      g_prefix_error(error, "live vs %s: ", a);
      g_array_unref(out);
      return NULL;
    }
    p->n_live = roc->n_live;
    p->n_spoof = roc->n_spoof;
    p->auc = agf_roc_auc(roc);
    p->eer = agf_roc_eer(roc, NULL);
    p->has_fixed = !isnan(fixed);
  }
  return out;
}
