/* cudasim: cuda_bf16.h — __nv_bfloat16 (16-bit storage) and its conversions, C and C++. */
#ifndef CUDASIM_CUDA_BF16_H
#define CUDASIM_CUDA_BF16_H

#include <string.h>

typedef struct __nv_bfloat16 {
    unsigned short __x;
} __nv_bfloat16;

/* float -> bfloat16, round to nearest even; a NaN stays a (quiet) NaN. */
static inline __nv_bfloat16 __float2bfloat16(const float a)
{
    unsigned int u;
    __nv_bfloat16 r;
    memcpy(&u, &a, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        r.__x = (unsigned short)((u >> 16) | 0x40u);
        return r;
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    r.__x = (unsigned short)(u >> 16);
    return r;
}

static inline float __bfloat162float(const __nv_bfloat16 a)
{
    unsigned int u = (unsigned int)a.__x << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

#endif
