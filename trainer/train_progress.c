/* Progress display of long agfas-train runs (train_progress.h). */
#include "train_progress.h"
#include <stdio.h>
#include <unistd.h>

void agf_progress_init(AgfProgress *p, const char *cmd, const char *unit,
                       guint total)
{
  *p = (AgfProgress){ .cmd = cmd, .unit = unit, .total = total,
                      .tty = isatty(STDERR_FILENO),
                      .t0 = g_get_monotonic_time() };
}

void agf_progress_duration(char *buf, gsize n, double s)
{
  int t = (int)(s + 0.5);
  if (t >= 3600)
    snprintf(buf, n, "%dh%02dm", t / 3600, t / 60 % 60);
  else
    snprintf(buf, n, "%dm%02ds", t / 60, t % 60);
}

void agf_progress_show(AgfProgress *p, const char *detail, gboolean final)
{
  gint64 now = g_get_monotonic_time();
  if (!final && now - p->shown < (p->tty ? 200000 : 10000000))
    return;
  p->shown = now;
  double el = (now - p->t0) / 1e6;
  /* The ETA extrapolates the items this run worked on, not the skipped
   * ones, which cost nothing. */
  guint worked = p->done - p->skipped;
  char eta[32] = "--";
  if (p->done >= p->total)
    snprintf(eta, sizeof eta, "0m00s");
  else if (worked)
    agf_progress_duration(eta, sizeof eta,
                          el / worked * (p->total - p->done));
  if (p->tty) {
    enum { W = 24 };
    int fill = p->total ? (int)((guint64)W * p->done / p->total) : W;
    char bar[W + 1];
    for (int i = 0; i < W; i++)
      bar[i] = i < fill ? '#' : '.';
    bar[W] = 0;
    fprintf(stderr, "\r[%s] %u/%u %s  %s  ETA %s\033[K%s", bar, p->done,
            p->total, p->unit, detail ? detail : "", eta, final ? "\n" : "");
  } else {
    fprintf(stderr, "%s: %u/%u %s, %s, ETA %s\n", p->cmd, p->done, p->total,
            p->unit, detail ? detail : "", eta);
  }
  fflush(stderr);
}
