/* The op harness shared by test_ops.c and test_ops_threads.c: the host
 * inputs of a case of ops_cases.h and one run of it on a device. */
#pragma once
#include "nn/tensor.h"
#include "ops_cases.h"

G_BEGIN_DECLS

/* Host values of input i of c (a new array): random from a seed made of
 * ci and i, f16-rounded when dt is F16; c's fixed data when it has some. */
float *agf_ops_make_input(const OpCase *c, int ci, int i, AgfDType dt);
/* ATTENTION_BWD only: replaces host[3] (and host[5]) by what the forward
 * (and the STATS gradient) give for host[0..2], so that inputs agree. */
void agf_ops_chain_attention_inputs(const OpCase *c, float **host, AgfDType dt);
/* Runs c on dev in dt on the host inputs; the output, or NULL after
 * marking the test failed. */
AgfTensor *agf_ops_run_case(const OpCase *c, AgfDevice *dev, AgfDType dt,
                            float *const *host);

G_END_DECLS
