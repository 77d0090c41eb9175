/* Shared by test_sample.c (generator, agfas-train sample) and
 * test_print_attack.c (the print-attack steps): one test program. */
#pragma once
#include "pipeline/print_attack.h"

G_BEGIN_DECLS

/* Uniform [0, 1) values from a fixed seed. */
AgfRgbImage *sample_test_random_image(int w, int h, guint32 seed);
AgfRgbImage *sample_test_flat_image(int w, int h, float r, float g, float b);
gboolean sample_test_same_image(const AgfRgbImage *a, const AgfRgbImage *b);
/* Fails the test at the first value outside [0, 1]. */
void sample_test_assert_unit_range(const AgfRgbImage *img);

/* Registers the /sample/print/ tests. */
void sample_test_add_print_attack(void);

G_END_DECLS
