/* gemm_bf16.c — y = beta * y + x W^T with the weights W stored bf16, on the CPU.
 *
 * x is f32 [m, k] (rows ld_x apart), W is bf16 [n, k] (nn.Linear's layout, rows k apart, as
 * uint16_t), y is f32 [m, n] (rows ld_y apart). Weights are always stored [n, k]: a checkpoint
 * that holds [k, n] (GPT-2's Conv1D) is transposed while it is read
 * (tpcrt_weights_read_bf16 with dst_strides {1, k}), so there is one kernel layout.
 *
 * Kernels (TpcrtBf16Kernel), one is chosen per call from the shape and the CPU at run time:
 *
 *   generic     plain C: each w widened to f32 (a shift), products summed in f32;
 *   avx2        AVX2 + FMA, 256 bits;  \  the same sums vectorised. A 32-bit word of W holds
 *   avx512      AVX-512F/BW, 512 bits; /  elements 2t (low half) and 2t+1 (high half): a shift
 *               and an and make two f32 vectors of the even and the odd elements, so x is
 *               copied once per call into a scratch laid out to match (per chunk of 16 or 32
 *               elements: the evens, then the odds; zero padded). Blocks of up to 4 rows of x
 *               times 4 rows of W (1 x 8 at m = 1) are summed in registers; W is streamed once.
 *   dpbf16      AVX512-BF16: x rounded to bf16 (nearest even) and vdpbf16ps, which sums pairs
 *               of bf16 products in f32. Fewer instructions, but x loses its low 16 bits
 *               (relative error up to 2^-8 per element; input and output denormals are zero)
 *               and it measured no faster than avx512: never picked, kept for comparison.
 *   blas        a tile of W rows widened to f32 in a scratch, then cblas_sgemm on the tile:
 *               OpenBLAS's own kernels for the many-rows case (prefill), and its threads
 *               (--threads). The only kernel that uses more than one thread.
 *
 * The CPU's level (generic < avx2 < avx512 < avx512bf16) is read once with
 * __builtin_cpu_supports; the environment variable TPCRT_CPU=generic|avx2|avx512|avx512bf16
 * caps it (a level the CPU lacks is never used), so the tests run every path on one machine.
 * Which kernel a shape gets is tpcrt_bf16_kernel_for's rule, from bench/bf16_gemm.c's measurements
 * (docs/runtime.md, "bf16 weights").
 *
 * Each kernel sits in a section compiled for its instruction set with a target pragma and is
 * only called when the CPU has it. The scratch (x rearranged, a tile of W) is one buffer that
 * grows to the largest shape seen and is then reused: nothing is allocated once a program's
 * shapes have been seen. Not reentrant: one thread per rank calls it.
 */
#include "internal.h"

#include <cblas.h>
#include <immintrin.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the CPU --------------------------------------------------------------------------------- */

static const char *const cpu_names[] = {"generic", "avx2", "avx512", "avx512bf16"};

const char *tpcrt_cpu_name(TpcrtCpu cpu)
{
    return cpu_names[cpu];
}

TpcrtCpu tpcrt_cpu_detected(void)
{
    __builtin_cpu_init();
    bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512vl");
    if (avx512 && __builtin_cpu_supports("avx512bf16"))
        return TPCRT_CPU_AVX512BF16;
    if (avx512)
        return TPCRT_CPU_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return TPCRT_CPU_AVX2;
    return TPCRT_CPU_GENERIC;
}

static TpcrtCpu cpu_level;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

static void cpu_init(void)
{
    cpu_level = tpcrt_cpu_detected();
    const char *cap = getenv("TPCRT_CPU");
    if (!cap || !*cap)
        return;
    int i = 0;
    while (i <= TPCRT_CPU_AVX512BF16 && strcmp(cap, cpu_names[i]) != 0)
        i++;
    if (i > TPCRT_CPU_AVX512BF16) {
        char shown[TPCRT_TEXT_LEN];
        tpcrt_fail("TPCRT_CPU: expected generic, avx2, avx512 or avx512bf16, saw '%s'",
                   tpcrt_escape(cap, shown, sizeof shown));
    }
    if ((TpcrtCpu)i < cpu_level)
        cpu_level = (TpcrtCpu)i;
}

TpcrtCpu tpcrt_cpu(void)
{
    pthread_once(&cpu_once, cpu_init);
    return cpu_level;
}

/* ---- kernels: names, needs, which one a shape gets ------------------------------------------- */

static const struct {
    const char *name;
    TpcrtCpu needs;
} kernels[TPCRT_BF16_KERNELS] = {
    [TPCRT_BF16_GENERIC] = {"generic", TPCRT_CPU_GENERIC},
    [TPCRT_BF16_AVX2]    = {"avx2", TPCRT_CPU_AVX2},
    [TPCRT_BF16_AVX512]  = {"avx512", TPCRT_CPU_AVX512},
    [TPCRT_BF16_DPBF16]  = {"dpbf16", TPCRT_CPU_AVX512BF16},
    [TPCRT_BF16_BLAS]    = {"blas", TPCRT_CPU_GENERIC},
};

const char *tpcrt_bf16_kernel_name(TpcrtBf16Kernel kernel)
{
    return kernels[kernel].name;
}

bool tpcrt_bf16_kernel_runs(TpcrtBf16Kernel kernel)
{
    return kernels[kernel].needs <= tpcrt_cpu();
}

/* Which instruction set OpenBLAS's sgemm kernels use: it chooses its own at run time
 * (DYNAMIC_ARCH; OPENBLAS_CORETYPE overrides), and on a CPU it does not know it falls back to
 * SSE3 ("Prescott"), three times slower than the kernels here. */
static TpcrtCpu blas_level;
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_init(void)
{
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    static const char *const avx2[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake",
                                       "SapphireRapids"};
    const char *core = openblas_get_corename();
    blas_level = TPCRT_CPU_GENERIC;
    for (size_t i = 0; core && i < sizeof avx2 / sizeof *avx2; i++)
        if (strcasecmp(core, avx2[i]) == 0)
            blas_level = TPCRT_CPU_AVX2;
    for (size_t i = 0; core && i < sizeof avx512 / sizeof *avx512; i++)
        if (strcasecmp(core, avx512[i]) == 0)
            blas_level = TPCRT_CPU_AVX512;
}

/* From this many rows of x on, the blas kernel beats the register-blocked one of the level, when
 * OpenBLAS's kernels are of that level or above; against OpenBLAS's SSE3 kernels it never does
 * (measured by bench/bf16_gemm.c, docs/runtime.md). Plain C loses to any sgemm from 2 rows.
 * dpbf16 is never chosen: it is no faster where the accurate kernels are chosen (m = 1: both
 * stream W at the read bandwidth), and it rounds x to bf16. */
enum { BLAS_FROM_ROWS_GENERIC = 2, BLAS_FROM_ROWS_AVX2 = 64, BLAS_FROM_ROWS_AVX512 = 64 };

TpcrtBf16Kernel tpcrt_bf16_kernel_for(int64_t m, int64_t n, int64_t k)
{
    pthread_once(&blas_once, blas_init);
    switch (tpcrt_cpu()) {
    case TPCRT_CPU_GENERIC:
        return m >= BLAS_FROM_ROWS_GENERIC ? TPCRT_BF16_BLAS : TPCRT_BF16_GENERIC;
    case TPCRT_CPU_AVX2:
        return m >= BLAS_FROM_ROWS_AVX2 && blas_level >= TPCRT_CPU_AVX2 ? TPCRT_BF16_BLAS
                                                                         : TPCRT_BF16_AVX2;
    case TPCRT_CPU_AVX512:
    case TPCRT_CPU_AVX512BF16:
        break;
    }
    return m >= BLAS_FROM_ROWS_AVX512 && blas_level >= TPCRT_CPU_AVX512 ? TPCRT_BF16_BLAS
                                                                         : TPCRT_BF16_AVX512;
}

/* ---- scratch --------------------------------------------------------------------------------- */

static void *scratch;
static size_t scratch_bytes;

/* At least `bytes`, 64-byte aligned; contents undefined. Grows, never shrinks. */
static void *scratch_get(size_t bytes)
{
    if (bytes > scratch_bytes) {
        tpcrt_free(scratch);
        scratch = tpcrt_alloc(bytes, "bf16 GEMM scratch");
        scratch_bytes = bytes;
    }
    return scratch;
}

static int64_t round_up(int64_t a, int64_t b)
{
    return (a + b - 1) / b * b;
}

/* y[j] = sum + beta * y[j], y not read when beta is 0 (it may hold anything). */
static inline void store(float *y, float sum, float beta)
{
    *y = beta == 0.0f ? sum : sum + beta * *y;
}

/* x [m, k] into rows kp apart: per chunk of `chunk` elements, the evens, then the odds, zero
 * padded to kp (a multiple of chunk). */
static void x_split(float *xs, int64_t kp, const float *x, int64_t ld_x, int64_t m, int64_t k,
                    int chunk)
{
    int half = chunk / 2;
    for (int64_t i = 0; i < m; i++) {
        const float *row = x + i * ld_x;
        float *out = xs + i * kp;
        for (int64_t c = 0; c < kp; c += chunk)
            for (int t = 0; t < half; t++) {
                int64_t e = c + 2 * t;
                out[c + t] = e < k ? row[e] : 0.0f;
                out[c + half + t] = e + 1 < k ? row[e + 1] : 0.0f;
            }
    }
}

/* W rows j0 .. j0 + count (clamped to the last row: a block past n computes a copy of it). */
static void w_rows(const uint16_t **rows, const uint16_t *w, int64_t j0, int count, int64_t n,
                   int64_t k)
{
    for (int j = 0; j < count; j++)
        rows[j] = w + (j0 + j < n ? j0 + j : n - 1) * k;
}

/* ---- generic --------------------------------------------------------------------------------- */

static inline float widen(uint16_t bits)
{
    uint32_t u = (uint32_t)bits << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static float dot_generic(const float *x, const uint16_t *w, int64_t k)
{
    enum { LANES = 8 };
    float part[LANES] = {0};
    int64_t p = 0;
    for (; p + LANES <= k; p += LANES)
        for (int l = 0; l < LANES; l++)
            part[l] += x[p + l] * widen(w[p + l]);
    for (int l = 0; p < k; p++, l++)
        part[l] += x[p] * widen(w[p]);
    float sum = 0.0f;
    for (int l = 0; l < LANES; l++)
        sum += part[l];
    return sum;
}

static void linear_generic(float *y, int64_t ld_y, const float *x, int64_t ld_x,
                           const uint16_t *w, int64_t m, int64_t n, int64_t k, float beta)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++)
            store(&y[i * ld_y + j], dot_generic(x + i * ld_x, w + j * k, k), beta);
}

/* W rows [j0, j0 + rows) as f32 [rows, k], for the blas kernel. */
static void widen_rows_generic(float *dst, const uint16_t *w, int64_t count)
{
    for (int64_t p = 0; p < count; p++)
        dst[p] = widen(w[p]);
}

/* ---- avx2 ------------------------------------------------------------------------------------ */

#pragma GCC push_options
#pragma GCC target("avx2,fma")

enum { AVX2_CHUNK = 16 };

/* out[i][j] = x row i . W row j for MR rows of the split x and NR rows of W. */
static inline __attribute__((always_inline)) void
tile_avx2(int mr, int nr, const float *xs, int64_t kp, const uint16_t *const *wr, int64_t k,
          float out[4][8])
{
    __m256 acc[4][8];
    const __m256i high = _mm256_set1_epi32((int)0xffff0000u);
#pragma GCC unroll 8
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 8
        for (int j = 0; j < nr; j++)
            acc[i][j] = _mm256_setzero_ps();
    for (int64_t p = 0; p < kp; p += AVX2_CHUNK) {
        __m256 xe[4], xo[4];
#pragma GCC unroll 8
        for (int i = 0; i < mr; i++) {
            xe[i] = _mm256_load_ps(xs + i * kp + p);
            xo[i] = _mm256_load_ps(xs + i * kp + p + 8);
        }
#pragma GCC unroll 8
        for (int j = 0; j < nr; j++) {
            __m256i v;
            if (p + AVX2_CHUNK <= k) {
                v = _mm256_loadu_si256((const __m256i *)(wr[j] + p));
            } else { /* the last, partial chunk: zero padded */
                uint16_t tail[AVX2_CHUNK] = {0};
                memcpy(tail, wr[j] + p, (size_t)(k - p) * sizeof *tail);
                v = _mm256_loadu_si256((const __m256i *)tail);
            }
            __m256 we = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
            __m256 wo = _mm256_castsi256_ps(_mm256_and_si256(v, high));
#pragma GCC unroll 8
            for (int i = 0; i < mr; i++) {
                acc[i][j] = _mm256_fmadd_ps(we, xe[i], acc[i][j]);
                acc[i][j] = _mm256_fmadd_ps(wo, xo[i], acc[i][j]);
            }
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 8
        for (int j = 0; j < nr; j++) {
            __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc[i][j]),
                                  _mm256_extractf128_ps(acc[i][j], 1));
            s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            s = _mm_add_ss(s, _mm_movehdup_ps(s));
            out[i][j] = _mm_cvtss_f32(s);
        }
}

/* Rows i0 .. i0 + mr of y, all n columns, NR W rows at a time. */
static inline __attribute__((always_inline)) void
rows_avx2(int mr, int nr, float *y, int64_t ld_y, const float *xs, int64_t kp,
          const uint16_t *w, int64_t n, int64_t k, float beta)
{
    float out[4][8];
    const uint16_t *wr[8];
    for (int64_t j0 = 0; j0 < n; j0 += nr) {
        w_rows(wr, w, j0, nr, n, k);
        tile_avx2(mr, nr, xs, kp, wr, k, out);
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nr && j0 + j < n; j++)
                store(&y[i * ld_y + j0 + j], out[i][j], beta);
    }
}

static void linear_avx2(float *y, int64_t ld_y, const float *x, int64_t ld_x, const uint16_t *w,
                        int64_t m, int64_t n, int64_t k, float beta)
{
    int64_t kp = round_up(k, AVX2_CHUNK);
    float *xs = scratch_get((size_t)(m * kp) * sizeof *xs);
    x_split(xs, kp, x, ld_x, m, k, AVX2_CHUNK);
    if (m == 1) {
        rows_avx2(1, 8, y, ld_y, xs, kp, w, n, k, beta);
        return;
    }
    int64_t i = 0;
    for (; i + 2 <= m; i += 2)
        rows_avx2(2, 4, y + i * ld_y, ld_y, xs + i * kp, kp, w, n, k, beta);
    if (i < m)
        rows_avx2(1, 4, y + i * ld_y, ld_y, xs + i * kp, kp, w, n, k, beta);
}

static void widen_rows_avx2(float *dst, const uint16_t *w, int64_t count)
{
    int64_t p = 0;
    for (; p + 8 <= count; p += 8) {
        __m128i v = _mm_loadu_si128((const __m128i *)(w + p));
        __m256i wide = _mm256_slli_epi32(_mm256_cvtepu16_epi32(v), 16);
        _mm256_storeu_ps(dst + p, _mm256_castsi256_ps(wide));
    }
    for (; p < count; p++)
        dst[p] = widen(w[p]);
}

#pragma GCC pop_options

/* ---- avx512 ---------------------------------------------------------------------------------- */

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx2,fma")

enum { AVX512_CHUNK = 32 };

static inline __attribute__((always_inline)) __m512i load_w_avx512(const uint16_t *row,
                                                                   int64_t p, int64_t k)
{
    if (p + AVX512_CHUNK <= k)
        return _mm512_loadu_si512(row + p);
    __mmask32 mask = (__mmask32)((1ull << (k - p)) - 1); /* the last, partial chunk */
    return _mm512_maskz_loadu_epi16(mask, row + p);
}

static inline __attribute__((always_inline)) void
tile_avx512(int mr, int nr, const float *xs, int64_t kp, const uint16_t *const *wr, int64_t k,
            float out[4][8])
{
    __m512 acc[4][8];
    const __m512i high = _mm512_set1_epi32((int)0xffff0000u);
#pragma GCC unroll 8
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 8
        for (int j = 0; j < nr; j++)
            acc[i][j] = _mm512_setzero_ps();
    for (int64_t p = 0; p < kp; p += AVX512_CHUNK) {
        __m512 xe[4], xo[4];
#pragma GCC unroll 8
        for (int i = 0; i < mr; i++) {
            xe[i] = _mm512_load_ps(xs + i * kp + p);
            xo[i] = _mm512_load_ps(xs + i * kp + p + 16);
        }
#pragma GCC unroll 8
        for (int j = 0; j < nr; j++) {
            __m512i v = load_w_avx512(wr[j], p, k);
            __m512 we = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
            __m512 wo = _mm512_castsi512_ps(_mm512_and_si512(v, high));
#pragma GCC unroll 8
            for (int i = 0; i < mr; i++) {
                acc[i][j] = _mm512_fmadd_ps(we, xe[i], acc[i][j]);
                acc[i][j] = _mm512_fmadd_ps(wo, xo[i], acc[i][j]);
            }
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 8
        for (int j = 0; j < nr; j++)
            out[i][j] = _mm512_reduce_add_ps(acc[i][j]);
}

static inline __attribute__((always_inline)) void
rows_avx512(int mr, int nr, float *y, int64_t ld_y, const float *xs, int64_t kp,
            const uint16_t *w, int64_t n, int64_t k, float beta)
{
    float out[4][8];
    const uint16_t *wr[8];
    for (int64_t j0 = 0; j0 < n; j0 += nr) {
        w_rows(wr, w, j0, nr, n, k);
        tile_avx512(mr, nr, xs, kp, wr, k, out);
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nr && j0 + j < n; j++)
                store(&y[i * ld_y + j0 + j], out[i][j], beta);
    }
}

static void linear_avx512(float *y, int64_t ld_y, const float *x, int64_t ld_x,
                          const uint16_t *w, int64_t m, int64_t n, int64_t k, float beta)
{
    int64_t kp = round_up(k, AVX512_CHUNK);
    float *xs = scratch_get((size_t)(m * kp) * sizeof *xs);
    x_split(xs, kp, x, ld_x, m, k, AVX512_CHUNK);
    if (m == 1) {
        rows_avx512(1, 8, y, ld_y, xs, kp, w, n, k, beta);
        return;
    }
    int64_t i = 0;
    for (; i + 4 <= m; i += 4)
        rows_avx512(4, 4, y + i * ld_y, ld_y, xs + i * kp, kp, w, n, k, beta);
    if (m - i == 3)
        rows_avx512(3, 4, y + i * ld_y, ld_y, xs + i * kp, kp, w, n, k, beta);
    else if (m - i == 2)
        rows_avx512(2, 4, y + i * ld_y, ld_y, xs + i * kp, kp, w, n, k, beta);
    else if (m - i == 1)
        rows_avx512(1, 8, y + i * ld_y, ld_y, xs + i * kp, kp, w, n, k, beta);
}

static void widen_rows_avx512(float *dst, const uint16_t *w, int64_t count)
{
    int64_t p = 0;
    for (; p + 16 <= count; p += 16) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(w + p));
        __m512i wide = _mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16);
        _mm512_storeu_ps(dst + p, _mm512_castsi512_ps(wide));
    }
    for (; p < count; p++)
        dst[p] = widen(w[p]);
}

#pragma GCC pop_options

/* ---- dpbf16 ---------------------------------------------------------------------------------- */

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")

/* x [m, k] rounded to bf16 (nearest even, as tpcrt_f32_to_bf16) into rows kp apart, zero
 * padded. */
static void x_to_bf16(uint16_t *xs, int64_t kp, const float *x, int64_t ld_x, int64_t m,
                      int64_t k)
{
    for (int64_t i = 0; i < m; i++) {
        for (int64_t p = 0; p < k; p++)
            xs[i * kp + p] = tpcrt_f32_to_bf16(x[i * ld_x + p]);
        for (int64_t p = k; p < kp; p++)
            xs[i * kp + p] = 0;
    }
}

static inline __attribute__((always_inline)) void
tile_dpbf16(int mr, int nr, const uint16_t *xs, int64_t kp, const uint16_t *const *wr, int64_t k,
            float out[4][8])
{
    __m512 acc[4][8];
#pragma GCC unroll 8
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 8
        for (int j = 0; j < nr; j++)
            acc[i][j] = _mm512_setzero_ps();
    for (int64_t p = 0; p < kp; p += AVX512_CHUNK) {
        __m512i xv[4];
#pragma GCC unroll 8
        for (int i = 0; i < mr; i++)
            xv[i] = _mm512_load_si512(xs + i * kp + p);
#pragma GCC unroll 8
        for (int j = 0; j < nr; j++) {
            __m512i v = load_w_avx512(wr[j], p, k);
#pragma GCC unroll 8
            for (int i = 0; i < mr; i++)
                acc[i][j] = _mm512_dpbf16_ps(acc[i][j], (__m512bh)v, (__m512bh)xv[i]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 8
        for (int j = 0; j < nr; j++)
            out[i][j] = _mm512_reduce_add_ps(acc[i][j]);
}

static inline __attribute__((always_inline)) void
rows_dpbf16(int mr, int nr, float *y, int64_t ld_y, const uint16_t *xs, int64_t kp,
            const uint16_t *w, int64_t n, int64_t k, float beta)
{
    float out[4][8];
    const uint16_t *wr[8];
    for (int64_t j0 = 0; j0 < n; j0 += nr) {
        w_rows(wr, w, j0, nr, n, k);
        tile_dpbf16(mr, nr, xs, kp, wr, k, out);
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nr && j0 + j < n; j++)
                store(&y[i * ld_y + j0 + j], out[i][j], beta);
    }
}

static void linear_dpbf16(float *y, int64_t ld_y, const float *x, int64_t ld_x,
                          const uint16_t *w, int64_t m, int64_t n, int64_t k, float beta)
{
    int64_t kp = round_up(k, AVX512_CHUNK);
    uint16_t *xs = scratch_get((size_t)(m * kp) * sizeof *xs);
    x_to_bf16(xs, kp, x, ld_x, m, k);
    if (m == 1) {
        rows_dpbf16(1, 8, y, ld_y, xs, kp, w, n, k, beta);
        return;
    }
    int64_t i = 0;
    for (; i + 4 <= m; i += 4)
        rows_dpbf16(4, 4, y + i * ld_y, ld_y, xs + i * kp, kp, w, n, k, beta);
    if (m - i == 3)
        rows_dpbf16(3, 4, y + i * ld_y, ld_y, xs + i * kp, kp, w, n, k, beta);
    else if (m - i == 2)
        rows_dpbf16(2, 4, y + i * ld_y, ld_y, xs + i * kp, kp, w, n, k, beta);
    else if (m - i == 1)
        rows_dpbf16(1, 8, y + i * ld_y, ld_y, xs + i * kp, kp, w, n, k, beta);
}

#pragma GCC pop_options

/* ---- blas ------------------------------------------------------------------------------------ */

/* A tile of W rows widened to f32 is about this many bytes (at least 16 rows): big enough that
 * sgemm's packing of x is repeated for few tiles, small enough to stay in the last-level
 * cache. */
enum { BLAS_TILE_BYTES = 4 << 20, BLAS_TILE_MIN_ROWS = 16 };

static void linear_blas(float *y, int64_t ld_y, const float *x, int64_t ld_x, const uint16_t *w,
                        int64_t m, int64_t n, int64_t k, float beta)
{
    if (m > INT_MAX || n > INT_MAX || k > INT_MAX || ld_x > INT_MAX || ld_y > INT_MAX)
        tpcrt_fail("internal error: bf16 GEMM [%lld, %lld] x [%lld, %lld]^T too large for BLAS",
                   (long long)m, (long long)k, (long long)n, (long long)k);
    int64_t rows = BLAS_TILE_BYTES / (k * (int64_t)sizeof(float));
    rows = rows < BLAS_TILE_MIN_ROWS ? BLAS_TILE_MIN_ROWS : rows / BLAS_TILE_MIN_ROWS *
                                                            BLAS_TILE_MIN_ROWS;
    rows = rows < n ? rows : n;
    float *tile = scratch_get((size_t)(rows * k) * sizeof *tile);
    TpcrtCpu cpu = tpcrt_cpu();
    void (*widen_rows)(float *, const uint16_t *, int64_t) =
        cpu >= TPCRT_CPU_AVX512 ? widen_rows_avx512 :
        cpu == TPCRT_CPU_AVX2   ? widen_rows_avx2 : widen_rows_generic;
    for (int64_t j0 = 0; j0 < n; j0 += rows) {
        int64_t nb = n - j0 < rows ? n - j0 : rows;
        widen_rows(tile, w + j0 * k, nb * k);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)nb, (int)k, 1.0f, x,
                    (int)ld_x, tile, (int)k, beta, y + j0, (int)ld_y);
    }
}

/* ---- entry points ---------------------------------------------------------------------------- */

typedef void (*LinearFn)(float *y, int64_t ld_y, const float *x, int64_t ld_x,
                         const uint16_t *w, int64_t m, int64_t n, int64_t k, float beta);

static const LinearFn linear_fns[TPCRT_BF16_KERNELS] = {
    [TPCRT_BF16_GENERIC] = linear_generic, [TPCRT_BF16_AVX2] = linear_avx2,
    [TPCRT_BF16_AVX512] = linear_avx512,   [TPCRT_BF16_DPBF16] = linear_dpbf16,
    [TPCRT_BF16_BLAS] = linear_blas,
};

void tpcrt_linear_bf16_with(TpcrtBf16Kernel kernel, float *y, int64_t ld_y, const float *x,
                            int64_t ld_x, const uint16_t *w, int64_t m, int64_t n, int64_t k,
                            float beta)
{
    if (m < 0 || n < 0 || k < 0 || ld_x < k || ld_y < n)
        tpcrt_fail("internal error: bf16 GEMM with m %lld, n %lld, k %lld, ld_x %lld, ld_y %lld",
                   (long long)m, (long long)n, (long long)k, (long long)ld_x, (long long)ld_y);
    if (!tpcrt_bf16_kernel_runs(kernel))
        tpcrt_fail("internal error: bf16 GEMM kernel %s needs %s, the CPU level is %s",
                   kernels[kernel].name, cpu_names[kernels[kernel].needs],
                   cpu_names[tpcrt_cpu()]);
    if (m == 0 || n == 0)
        return;
    if (k == 0) { /* no products: y = beta * y */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                store(&y[i * ld_y + j], 0.0f, beta);
        return;
    }
    linear_fns[kernel](y, ld_y, x, ld_x, w, m, n, k, beta);
}

void tpcrt_linear_bf16(float *y, int64_t ld_y, const float *x, int64_t ld_x, const uint16_t *w,
                       int64_t m, int64_t n, int64_t k, float beta)
{
    tpcrt_linear_bf16_with(tpcrt_bf16_kernel_for(m, n, k), y, ld_y, x, ld_x, w, m, n, k, beta);
}
