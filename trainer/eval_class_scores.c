/* The score distribution of each class for agfas-train eval: live and
 * every attack type, mean and median of the samples' scores (frames, or
 * videos when frames are averaged). With --score-column residual_l1 on a
 * cues manifest this is the reconstruction error per class, the figure
 * that says whether the cue separates live faces from attacks. */
#include <stdlib.h>
#include <string.h>
#include "train_eval.h"

static int cmp_double(const void *a, const void *b)
{
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void class_clear(gpointer p)
{
  g_free(((AgfEvalClassScore *)p)->name);
}

GArray *agf_eval_class_scores(const double *scores, const int *labels,
                              const char *const *attacks, gsize n)
{
  /* Class names in order: live, then attack types as they first appear. */
  g_autoptr(GPtrArray) names = g_ptr_array_new();
  for (gsize i = 0; i < n; i++) {
    const char *name = labels[i] ? attacks[i] : AGF_EVAL_LIVE_CLASS;
    if (!g_ptr_array_find_with_equal_func(names, name, g_str_equal, NULL))
      g_ptr_array_insert(names, labels[i] ? -1 : 0, (gpointer)name);
  }
  GArray *out = g_array_sized_new(FALSE, TRUE, sizeof(AgfEvalClassScore),
                                  names->len);
  g_array_set_clear_func(out, class_clear);
  g_autofree double *v = g_new(double, n ? n : 1);
  for (guint k = 0; k < names->len; k++) {
    const char *name = names->pdata[k];
    gsize m = 0;
    double sum = 0;
    for (gsize i = 0; i < n; i++)
      if (!strcmp(labels[i] ? attacks[i] : AGF_EVAL_LIVE_CLASS, name)) {
        v[m++] = scores[i];
        sum += scores[i];
      }
    qsort(v, m, sizeof *v, cmp_double);
    AgfEvalClassScore c = {
      .name = g_strdup(name), .n = m, .mean = sum / m,
      .median = m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]),
    };
    g_array_append_val(out, c);
  }
  return out;
}
