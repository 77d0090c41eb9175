/* How the CPU backend's OpenMP threads wait between parallel regions.
 * libgomp reads OMP_WAIT_POLICY once, when it is loaded, so a program can
 * only choose it by its environment. Its default (spin for a while) is
 * fast on an idle machine and ruinous on a busy one: with one other job
 * on a 2-core machine a training step ran 37x slower, every region
 * waiting for a spinner the kernel had descheduled. Passive waiting costs
 * a futex wake per region and keeps the speed when cores are shared. */
#pragma once

/* Call first thing in main(): when OMP_WAIT_POLICY is unset, sets it to
 * passive and re-executes the program (same arguments) so that libgomp
 * sees it; returns (changing nothing) when it is set, or when the
 * re-execution fails. */
void agf_cpu_wait_policy_init(char **argv);
