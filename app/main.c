/* agfas: the AG-FAS Studio app. `agfas [FILE...]`. */
#include "agfas-application.h"
#include "cpu/cpu_wait_policy.h"

int main(int argc, char **argv)
{
  agf_cpu_wait_policy_init(argv);
  g_autoptr(AgfasApplication) app = agfas_application_new(0);
  return g_application_run(G_APPLICATION(app), argc, argv);
}
