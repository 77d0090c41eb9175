/* SIGINT/SIGTERM during agfas-train (train_signal.h). The flag is the one
 * piece of process-wide state: signals are delivered to the process. It is
 * a lock-free atomic, so decoding threads see it too (prepare). */
#include "train_signal.h"
#include <string.h>

static gint pending;

static void on_signal(int sig)
{
  g_atomic_int_set(&pending, 1);
  /* the next one of this kind terminates as usual: a user who presses
   * Ctrl-C twice wants out now */
  signal(sig, SIG_DFL);
}

void agf_train_signal_install(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

gboolean agf_train_signal_pending(void)
{
  return g_atomic_int_get(&pending) != 0;
}

void agf_train_signal_begin(AgfTrainSignalScope *scope)
{
  g_atomic_int_set(&pending, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &scope->old_int);
  sigaction(SIGTERM, &sa, &scope->old_term);
}

void agf_train_signal_end(AgfTrainSignalScope *scope)
{
  sigaction(SIGINT, &scope->old_int, NULL);
  sigaction(SIGTERM, &scope->old_term, NULL);
}

void agf_train_signal_stop(void)
{
  g_atomic_int_set(&pending, 1);
}

gboolean agf_train_signal_continue(int done, int total, gpointer data)
{
  (void)done, (void)total, (void)data;
  return !agf_train_signal_pending();
}
