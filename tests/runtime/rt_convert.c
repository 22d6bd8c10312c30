/* rt_convert — every F16 value converted as the compiler's own _Float16 converts it (NaNs keep
 * their payload), BF16 by its definition, f32 to BF16 (round to nearest even) by its, and the random streams: in range, deterministic,
 * independent of the order elements are drawn in, distributed as they should be.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static void fail(const char *what, unsigned input, uint32_t want, uint32_t saw)
{
    printf("FAIL: %s 0x%04x: expected 0x%08x, saw 0x%08x\n", what, input, want, saw);
    exit(1);
}

static void check_f16(void)
{
    int subnormal = 0, infinite = 0, nan = 0;
    for (unsigned h = 0; h < 65536; h++) {
        float got = tpcrt_f16_to_f32((uint16_t)h);
        unsigned exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
        uint32_t want;
        if (exponent == 0x1f && mantissa) { /* the payload kept, as a quiet or signalling NaN */
            want = (uint32_t)(h & 0x8000) << 16 | 0x7f800000 | mantissa << 13;
            nan++;
        } else {
            _Float16 half;
            uint16_t bits = (uint16_t)h;
            memcpy(&half, &bits, sizeof half);
            want = bits_of((float)half);
            subnormal += exponent == 0 && mantissa != 0;
            infinite += exponent == 0x1f;
        }
        if (bits_of(got) != want)
            fail("f16", h, want, bits_of(got));
    }
    printf("f16: 65536 values ok (%d subnormal, %d infinite, %d nan)\n", subnormal, infinite,
           nan);
}

static void check_bf16(void)
{
    for (unsigned h = 0; h < 65536; h++)
        if (bits_of(tpcrt_bf16_to_f32((uint16_t)h)) != (uint32_t)h << 16)
            fail("bf16", h, (uint32_t)h << 16, bits_of(tpcrt_bf16_to_f32((uint16_t)h)));
    printf("bf16: 65536 values ok\n");
}

/* f32 -> bf16: for every bf16 value h and low halves below, at and above the midpoint, round to
 * nearest even by its definition; a NaN keeps its sign and high payload and becomes quiet. */
static void check_to_bf16(void)
{
    static const uint32_t lows[] = {0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xffff};
    int count = 0;
    for (uint32_t h = 0; h < 65536; h++)
        for (size_t i = 0; i < sizeof lows / sizeof lows[0]; i++, count++) {
            uint32_t u = h << 16 | lows[i], low = lows[i];
            float f;
            memcpy(&f, &u, sizeof f);
            uint32_t want = isnan(f)        ? (h | 0x40)
                            : low < 0x8000  ? h
                            : low > 0x8000  ? h + 1
                                            : h + (h & 1);
            if (tpcrt_f32_to_bf16(f) != want)
                fail("f32 to bf16", h, want, tpcrt_f32_to_bf16(f));
        }
    printf("f32 to bf16: %d values ok\n", count);
}

static void require(bool ok, const char *what)
{
    if (!ok) {
        printf("FAIL: %s\n", what);
        exit(1);
    }
}

static void check_uniform(void)
{
    enum { N = 200000 };
    uint64_t key = tpcrt_random_key(7, "layers.0.w");
    require(key != tpcrt_random_key(7, "layers.1.w"), "names give different keys");
    require(key != tpcrt_random_key(8, "layers.0.w"), "seeds give different keys");
    double sum = 0, squares = 0;
    for (int64_t k = N - 1; k >= 0; k--) { /* drawn backwards: order must not matter */
        float u = tpcrt_random_uniform(key, (uint64_t)k);
        require(u >= -1.0f && u < 1.0f, "uniform in [-1, 1)");
        require(u * 0x1p23f == floorf(u * 0x1p23f), "uniform a multiple of 2^-23");
        require(u == tpcrt_random_uniform(key, (uint64_t)k), "uniform deterministic");
        sum += u;
        squares += (double)u * u;
    }
    require(fabs(sum / N) < 0.01, "uniform mean near 0");
    require(fabs(squares / N - 1.0 / 3.0) < 0.01, "uniform variance near 1/3");
    printf("uniform: ok\n");
}

static void check_normal(void)
{
    enum { N = 200000 };
    uint64_t key = tpcrt_random_key(1, "x");
    double sum = 0, squares = 0;
    for (int64_t k = 0; k < N; k++) {
        float z = tpcrt_random_normal(key, (uint64_t)k);
        require(isfinite(z), "normal finite");
        sum += z;
        squares += (double)z * z;
    }
    require(fabs(sum / N) < 0.01, "normal mean near 0");
    require(fabs(squares / N - 1.0) < 0.02, "normal variance near 1");
    printf("normal: ok\n");
}

static void check_ids(void)
{
    enum { N = 100000, LIMIT = 10 };
    uint64_t key = tpcrt_random_key(3, "tokens");
    int seen[LIMIT] = {0};
    for (int64_t k = 0; k < N; k++) {
        int32_t id = tpcrt_random_id(key, (uint64_t)k, LIMIT);
        require(id >= 0 && id < LIMIT, "ids in [0, limit)");
        seen[id]++;
    }
    for (int i = 0; i < LIMIT; i++)
        require(abs(seen[i] - N / LIMIT) < N / LIMIT / 10, "ids uniform");
    printf("ids: ok\n");
}

int main(void)
{
    check_f16();
    check_bf16();
    check_to_bf16();
    check_uniform();
    check_normal();
    check_ids();
    return 0;
}
