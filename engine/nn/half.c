/* IEEE 754 binary16 <-> binary32, bit-exact and independent of the FPU's
 * rounding mode and denormal flags (integer arithmetic only). */
#include <string.h>
#include "nn/tensor.h"

uint16_t
agf_f32_to_f16(float f)
{
  uint32_t x;
  memcpy(&x, &f, sizeof x);
  uint16_t sign = (uint16_t) ((x >> 16) & 0x8000u);
  uint32_t ax = x & 0x7fffffffu;

  if (ax >= 0x7f800000u) /* inf, or nan kept quiet with its top payload bits */
    return sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u | ((ax >> 13) & 0x3ffu) : 0);
  if (ax >= 0x477ff000u) /* >= 65520 rounds (to even) past 65504 */
    return sign | 0x7c00u;
  if (ax >= 0x38800000u) { /* normal half: rebias, round to nearest even */
    uint32_t odd = (ax >> 13) & 1u;
    ax += 0xc8000fffu + odd; /* (15 - 127) << 23, plus the rounding bias */
    return sign | (uint16_t) (ax >> 13);
  }
  if (ax < 0x33000000u) /* <= 2^-25: the tie at 2^-25 rounds to even zero */
    return sign;
  /* Subnormal half: value = mant * 2^(e - 150); unit 2^-24. */
  uint32_t e = ax >> 23;
  uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
  uint32_t shift = 126u - e; /* 14..24 */
  uint32_t q = mant >> shift;
  uint32_t rem = mant & ((1u << shift) - 1u);
  uint32_t half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (q & 1u)))
    q++; /* may carry into the smallest normal, which is the right encoding */
  return sign | (uint16_t) q;
}

float
agf_f16_to_f32(uint16_t h)
{
  uint32_t sign = (uint32_t) (h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu;
  uint32_t m = h & 0x3ffu;
  uint32_t x;

  if (e == 0x1fu) {
    x = sign | 0x7f800000u | (m << 13);
  } else if (e != 0) {
    x = sign | ((e + 112u) << 23) | (m << 13);
  } else if (m == 0) {
    x = sign;
  } else { /* subnormal: normalize the mantissa */
    int shift = 0;
    while (!(m & 0x400u)) {
      m <<= 1;
      shift++;
    }
    x = sign | ((uint32_t) (113 - shift) << 23) | ((m & 0x3ffu) << 13);
  }
  float f;
  memcpy(&f, &x, sizeof f);
  return f;
}
