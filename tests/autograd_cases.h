/* The gradient-check cases of test_autograd.c: one forward computation
 * per backward rule, on a small odd shape (finite differences) and a
 * larger one (Vulkan against CPU). */
#pragma once
#include "nn/ops.h"

G_BEGIN_DECLS

#define AGC_MAX_IN 5

typedef struct {
  int ndim;
  int64_t small[AGF_MAX_DIMS];
  int64_t big[AGF_MAX_DIMS];
  gboolean grad;  /* a leaf that requires a gradient */
  float lo, hi;   /* uniform range of its values */
} AgcInput;

typedef struct {
  const char *name;
  int n_in;
  AgcInput in[AGC_MAX_IN];
  AgfTensor *(*fwd)(AgfTensor *const *in, GError **error);
  double tol; /* finite differences against backward, relative */
} AgcCase;

extern const AgcCase agc_cases[];
extern const int agc_n_cases;

/* Registers the tape tests (autograd_tape_tests.c) under
 * /autograd/<backend>/tape/ for the CPU (vk FALSE) or Vulkan. */
void agc_add_tape_tests(const char *backend, gboolean vk);

G_END_DECLS
