/* SIGINT/SIGTERM during training (train_loop.h): the first one only sets a
 * flag, so the loop finishes the step, saves its checkpoint at the step
 * boundary and exits 130; a second one gets the default action (a user who
 * presses Ctrl-C twice wants out now). The flag is the one piece of
 * process-wide state: signals are delivered to the process. */
#include "train_loop.h"
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t pending;

static void on_signal(int sig)
{
  pending = 1;
  /* the next one of this kind terminates as usual */
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
  return pending != 0;
}
