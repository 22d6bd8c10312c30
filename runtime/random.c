/* random.c — random values that are a function of (seed, name, index) and nothing else.
 *
 * A (seed, name) pair names a stream by its key; element k of the stream is splitmix64's output
 * for counter k + 1 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators"), so
 * any rank computes any element without drawing the ones before it, and a model is the same at
 * every -tp. tests/runtime/tpcrt_random.py computes the same values with NumPy.
 */
#include "internal.h"

#include <math.h>

static const uint64_t golden_gamma = 0x9e3779b97f4a7c15u;

/* splitmix64's finaliser (Stafford's Mix13): a bijection whose every output bit depends on
 * every input bit. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t hash_name(const char *name)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        h = (h ^ *c) * 0x100000001b3u;
    return mix64(h);
}

uint64_t tpcrt_random_key(uint64_t seed, const char *name)
{
    return mix64(seed ^ hash_name(name));
}

uint64_t tpcrt_random_bits(uint64_t key, uint64_t k)
{
    return mix64(key + (k + 1) * golden_gamma);
}

/* The top 24 bits as a multiple of 2^-23 in [0, 2), less one: exact in f32, so every machine
 * gets the same bits. */
float tpcrt_random_uniform(uint64_t key, uint64_t k)
{
    return (float)(tpcrt_random_bits(key, k) >> 40) * 0x1p-23f - 1.0f;
}

/* Box-Muller on elements 2k and 2k + 1 of the stream. */
float tpcrt_random_normal(uint64_t key, uint64_t k)
{
    double u1 = (double)((tpcrt_random_bits(key, 2 * k) >> 11) + 1) * 0x1p-53; /* (0, 1] */
    double u2 = (double)(tpcrt_random_bits(key, 2 * k + 1) >> 11) * 0x1p-53;  /* [0, 1) */
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}

/* Modulo bias is below limit / 2^64: nothing a test could see. */
int32_t tpcrt_random_id(uint64_t key, uint64_t k, int64_t limit)
{
    return (int32_t)(tpcrt_random_bits(key, k) % (uint64_t)limit);
}
