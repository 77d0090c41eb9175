/* SIGINT/SIGTERM in agfas-train (train_signal.c): the first one only sets a
 * flag that the running command polls at its safe points (a step, a batch,
 * a file); a second one gets the default action. */
#pragma once
#include <glib.h>
#include <signal.h>

G_BEGIN_DECLS

/* For the whole process (the training loop): SIGINT/SIGTERM set the flag
 * instead of killing the process (idempotent). */
void agf_train_signal_install(void);
gboolean agf_train_signal_pending(void);

/* For one run of prepare, score or cues: clears the flag and catches the
 * signals until agf_train_signal_end puts the previous handlers back. */
typedef struct {
  struct sigaction old_int, old_term;
} AgfTrainSignalScope;

void agf_train_signal_begin(AgfTrainSignalScope *scope);
void agf_train_signal_end(AgfTrainSignalScope *scope);
/* Sets the flag as a signal would (a failure that must stop the run). */
void agf_train_signal_stop(void);
/* An AgfDfg progress callback: FALSE (cancel) once a signal arrived. */
gboolean agf_train_signal_continue(int done, int total, gpointer data);

G_END_DECLS
