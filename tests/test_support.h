/* Shared by the engine tests: devices opened once per test program,
 * seeded random data, error measures and the validation-layer check. */
#pragma once
#include <glib.h>
#include "nn/device.h"
#include "nn/ops.h"

G_BEGIN_DECLS

/* The CPU backend, opened on first use and kept for the whole program. */
AgfDevice *agf_test_cpu(void);
/* The best Vulkan device (agf_device_open("vulkan")), or NULL after
 * g_test_skip() when the machine has no Vulkan device at all. A device that
 * is listed but fails to open is a test failure, not a skip. */
AgfDevice *agf_test_vulkan_or_skip(void);
/* TRUE when agf_device_list() shows at least one Vulkan device. */
gboolean agf_test_have_vulkan(void);
/* Asserts the validation layers reported nothing so far. */
void agf_test_assert_vk_clean(void);
/* Frees the cached devices; returns the number of validation messages
 * (main() turns a non-zero count into a failing exit status). */
int agf_test_finish(void);

/* Uniform values in [lo, hi) from a fixed seed. */
void agf_test_fill_uniform(float *x, size_t n, guint32 seed, float lo,
                           float hi);
/* Rounds every value to the nearest f16 (so f16 and f32 runs see the same
 * inputs). */
void agf_test_round_f16(float *x, size_t n);

/* Reads any float tensor to a new f32 array (asserts success). */
float *agf_test_read_f32(const AgfTensor *t);
/* New tensor of dt from f32 host data (asserts success). */
AgfTensor *agf_test_tensor(AgfDevice *dev, AgfDType dt, int ndim,
                           const int64_t *shape, const float *data);

/* max |got - ref| / max(max |ref|, 1e-6): the error relative to the
 * output's scale, which does not blow up at zeros of the reference. */
double agf_test_rel_err(const float *got, const float *ref, size_t n);

/* A new scratch folder from tmpl ("agfas-x-XXXXXX"); asserts success. */
char *agf_test_make_tmp(const char *tmpl);
/* Deletes path and, for a folder (not a link to one), everything under it. */
void agf_test_remove_tree(const char *path);
/* The whole text file at path (asserts it reads). */
char *agf_test_read_text(const char *path);

G_END_DECLS
