/* Progress of a long agfas-train run over items (files, faces): a bar with
 * the rate and ETA redrawn in place on a terminal, else one plain log line
 * every 10 s (for logs and CI). Shared by prepare, score, cues, sample and
 * the training loop. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *cmd;  /* "score": the log lines' prefix */
  const char *unit; /* "files" */
  gboolean tty;     /* stderr is a terminal */
  guint total;      /* items in the run */
  guint done;       /* items finished, skipped ones included */
  guint skipped;    /* items finished by an earlier run (no time spent) */
  gint64 t0, shown; /* monotonic microseconds */
} AgfProgress;

void agf_progress_init(AgfProgress *p, const char *cmd, const char *unit,
                       guint total);
/* Shows the state with detail (counters, may be NULL) unless the last
 * show was too recent; final always shows and ends the line. */
void agf_progress_show(AgfProgress *p, const char *detail, gboolean final);
/* "1m05s" / "2h03m" for s seconds. */
void agf_progress_duration(char *buf, gsize n, double s);

G_END_DECLS
