/* Counter-based normal noise (splitmix64 + Box-Muller); see rng.h. */
#include "pipeline/rng.h"
#include <math.h>

#define GOLDEN G_GUINT64_CONSTANT(0x9E3779B97F4A7C15)

guint64 agf_rng_mix(guint64 x)
{
  x ^= x >> 30;
  x *= G_GUINT64_CONSTANT(0xBF58476D1CE4E5B9);
  x ^= x >> 27;
  x *= G_GUINT64_CONSTANT(0x94D049BB133111EB);
  return x ^ (x >> 31);
}

static double uniform_of_key(guint64 key, guint64 j)
{
  guint64 w = agf_rng_mix(key + GOLDEN * (j + 1));
  return ((double)(w >> 11) + 0.5) * 0x1p-53;
}

double agf_rng_uniform(guint64 seed, guint64 stream, guint64 j)
{
  return uniform_of_key(agf_rng_mix(seed + GOLDEN * (stream + 1)), j);
}

void agf_rng_normal(guint64 seed, guint64 stream, guint64 first, float *dst,
                    gsize n)
{
  const guint64 key = agf_rng_mix(seed + GOLDEN * (stream + 1));
  for (gsize i = 0; i < n; i++) {
    guint64 e = first + i, p = e & ~(guint64)1;
    double r = sqrt(-2.0 * log(uniform_of_key(key, p)));
    double a = 2.0 * G_PI * uniform_of_key(key, p + 1);
    dst[i] = (float)((e & 1) ? r * sin(a) : r * cos(a));
  }
}
