/* convert.cc: IEEE half and bfloat16 to and from float, rounding to nearest even. */
#include <string.h>

#include "cuda_bf16.h"
#include "internal.h"

namespace cudasim {

float bf16_to_float(unsigned short b)
{
    unsigned int u = (unsigned int)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

unsigned short float_to_bf16(float f)
{
    __nv_bfloat16 b = __float2bfloat16(f);
    return b.__x;
}

float half_to_float(unsigned short h)
{
    unsigned int sign = (unsigned int)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1f;
    unsigned int mantissa = h & 0x3ff, u;
    if (exponent == 0x1f) {
        u = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent) {
        u = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (!mantissa) {
        u = sign;
    } else {  // subnormal: normalise
        int e = -1;
        do {
            mantissa <<= 1;
            e++;
        } while (!(mantissa & 0x400));
        u = sign | ((unsigned int)(112 - e) << 23) | ((mantissa & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

unsigned short float_to_half(float f)
{
    unsigned int u;
    memcpy(&u, &f, sizeof u);
    unsigned int sign = (u >> 16) & 0x8000, a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return (unsigned short)(sign | 0x7e00);
    if (a >= 0x477ff000u)  // rounds to or past 65520: infinity
        return (unsigned short)(sign | 0x7c00);
    if (a < 0x38800000u) {  // below 2^-14: subnormal or zero
        if (a < 0x33000000u)
            return (unsigned short)sign;
        unsigned int e = a >> 23, m = (a & 0x7fffff) | 0x800000;
        unsigned int shift = 126 - e;  // 14 + 113 - 1 - e ... m >> (shift) gives the half mantissa
        unsigned int q = m >> shift, rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rest > half || (rest == half && (q & 1)))
            q++;
        return (unsigned short)(sign | q);
    }
    unsigned int r = a + 0xfffu + ((a >> 13) & 1);
    return (unsigned short)(sign | ((r - 0x38000000u) >> 13));
}

} // namespace cudasim
