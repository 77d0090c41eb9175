#include "cpu/cpu_wait_policy.h"
#include <stdlib.h>
#include <unistd.h>

void
agf_cpu_wait_policy_init(char **argv)
{
  if (getenv("OMP_WAIT_POLICY") != NULL || argv == NULL || argv[0] == NULL)
    return;
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0)
    return;
  execv("/proc/self/exe", argv);
  /* Still here: exec failed (no /proc); run with the default policy. */
}
