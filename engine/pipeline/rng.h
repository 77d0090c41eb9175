/* The DFG's host noise: a counter-based generator, so that every backend
 * (and the Python reference, tests/reference/dfg.py) draws bit-identical
 * noise from a seed, and any element can be computed on its own.
 *
 *   mix(x)     = splitmix64's output function:
 *                x ^= x >> 30; x *= 0xBF58476D1CE4E5B9;
 *                x ^= x >> 27; x *= 0x94D049BB133111EB; x ^= x >> 31
 *   G          = 0x9E3779B97F4A7C15 (all arithmetic modulo 2^64)
 *   key        = mix(seed + G * (stream + 1))
 *   word(j)    = mix(key + G * (j + 1))
 *   uniform(j) = ((word(j) >> 11) + 0.5) * 2^-53        in (0, 1)
 *   Box-Muller, element pairs (2p, 2p + 1), in double:
 *     r = sqrt(-2 ln uniform(2p)), a = 2 pi uniform(2p + 1)
 *     normal(2p) = r cos a, normal(2p + 1) = r sin a
 *   then rounded to float. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

guint64 agf_rng_mix(guint64 x);
/* uniform(j) of (seed, stream). */
double agf_rng_uniform(guint64 seed, guint64 stream, guint64 j);
/* normal(first .. first + n - 1) of (seed, stream) into dst. */
void agf_rng_normal(guint64 seed, guint64 stream, guint64 first, float *dst,
                    gsize n);

G_END_DECLS
