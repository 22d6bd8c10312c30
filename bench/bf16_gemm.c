/* bf16_gemm.c — tpcrt_linear_bf16's kernels against f32 OpenBLAS on the same shapes, one thread.
 *
 *   build/bench/bf16_gemm [--quick] [--rounds R] [--rows M,M,...] [--weights I,I,...]
 *
 * Shapes: y[m, n] = x[m, k] W^T for the bench model's weights (hidden 2048, intermediate 5632,
 * q/k/v 2048/512/512, vocab 32000) at m = 1, 4, 32, 128, 512 rows (--quick: 1 and 32, three
 * weights; --rows and --weights (indices into the list below) choose others). Per shape,
 * every kernel the CPU runs (generic only up to m = 4) and the f32 baseline on the same shape
 * (cblas_sgemv at m = 1, cblas_sgemm(N, T) above), measured one after another in R rounds
 * (default 3), each a median over calls; the table gives the median over rounds.
 * The weights rotate over copies that together exceed 512 MB, so they come from memory as in a
 * model's forward, not from the last-level cache.
 *
 * The floor: a read of a 1 GB buffer (vectorised sum, one thread, measured at the start and at
 * the end), and per shape the bf16 weight bytes over that bandwidth. Accuracy: at m = 4, each
 * kernel's relative L2 error and largest error (relative to sum |x w|) against an f64 reference
 * of the same bf16 weights. Not a test: it prints, and decides nothing.
 */
#include "internal.h"

#include <cblas.h>
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { POOL_BYTES = 512 << 20, FLOOR_BYTES = 1 << 30, MAX_CALLS = 200 };

typedef struct Weight {
    const char *name;
    int64_t n, k;
} Weight;

static const Weight weights[] = {
    {"q/o 2048x2048", 2048, 2048},  {"k/v 512x2048", 512, 2048},
    {"gate/up 5632x2048", 5632, 2048}, {"down 2048x5632", 2048, 5632},
    {"vocab 32000x2048", 32000, 2048},
};
static const int64_t all_rows[] = {1, 4, 32, 128, 512};

/* ---- the read floor -------------------------------------------------------------------------- */

#pragma GCC push_options
#pragma GCC target("avx2")
static float sum_avx2(const float *a, int64_t n)
{
    __m256 s[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
    for (int64_t i = 0; i < n; i += 32)
        for (int j = 0; j < 4; j++)
            s[j] = _mm256_add_ps(s[j], _mm256_load_ps(a + i + 8 * j));
    __m256 t = _mm256_add_ps(_mm256_add_ps(s[0], s[1]), _mm256_add_ps(s[2], s[3]));
    float out[8];
    _mm256_storeu_ps(out, t);
    return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f")
static float sum_avx512(const float *a, int64_t n)
{
    __m512 s[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                   _mm512_setzero_ps()};
    for (int64_t i = 0; i < n; i += 64)
        for (int j = 0; j < 4; j++)
            s[j] = _mm512_add_ps(s[j], _mm512_load_ps(a + i + 16 * j));
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s[0], s[1]),
                                              _mm512_add_ps(s[2], s[3])));
}
#pragma GCC pop_options

static volatile float sink;

/* Read bandwidth in GB/s: the best of five passes over a 1 GB buffer. */
static double read_bandwidth(void)
{
    int64_t n = FLOOR_BYTES / 4;
    float *a = tpcrt_alloc(FLOOR_BYTES, "floor buffer");
    for (int64_t i = 0; i < n; i++)
        a[i] = 1.0f;
    bool avx512 = tpcrt_cpu_detected() >= TPCRT_CPU_AVX512;
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        double t = tpcrt_now();
        sink = avx512 ? sum_avx512(a, n) : sum_avx2(a, n);
        t = tpcrt_now() - t;
        best = t < best ? t : best;
    }
    tpcrt_free(a);
    return FLOOR_BYTES / best / 1e9;
}

/* ---- timing ---------------------------------------------------------------------------------- */

/* A contender: a kernel (>= 0) or the f32 baseline (-1). */
enum { F32 = -1 };

typedef struct Pool {
    int64_t n, k, copies16, copies32;
    uint16_t *w16; /* copies16 copies of W, bf16 */
    float *w32;    /* copies32 copies, f32 */
    float *x, *y;  /* [512, k], [512, n] */
} Pool;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void call(const Pool *p, int who, int64_t m, int copy)
{
    if (who == F32) {
        const float *w = p->w32 + (size_t)(copy % p->copies32) * (size_t)(p->n * p->k);
        if (m == 1)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)p->n, (int)p->k, 1.0f, w, (int)p->k,
                        p->x, 1, 0.0f, p->y, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)p->n, (int)p->k,
                        1.0f, p->x, (int)p->k, w, (int)p->k, 0.0f, p->y, (int)p->n);
        return;
    }
    const uint16_t *w = p->w16 + (size_t)(copy % p->copies16) * (size_t)(p->n * p->k);
    tpcrt_linear_bf16_with(who, p->y, p->n, p->x, p->k, w, m, p->n, p->k, 0.0f);
}

/* Median ms per call over about 0.25 s of calls (at least 3, each on the next copy). */
static double time_calls(const Pool *p, int who, int64_t m)
{
    double t = tpcrt_now();
    call(p, who, m, 0); /* warm: scratch, code */
    t = tpcrt_now() - t;
    int calls = (int)(0.25 / (t > 1e-6 ? t : 1e-6));
    calls = calls < 3 ? 3 : calls > MAX_CALLS ? MAX_CALLS : calls;
    double times[MAX_CALLS];
    for (int c = 0; c < calls; c++) {
        double start = tpcrt_now();
        call(p, who, m, c + 1);
        times[c] = (tpcrt_now() - start) * 1e3;
    }
    return median(times, calls);
}

/* ---- accuracy -------------------------------------------------------------------------------- */

typedef struct Accuracy {
    double rel_l2, max_rel; /* ||y - ref|| / ||ref||; max |y - ref| / sum |x w| */
} Accuracy;

static Accuracy accuracy(const Pool *p, int who, int64_t m)
{
    call(p, who, m, 0);
    double err2 = 0, ref2 = 0, max_rel = 0;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < p->n; j++) {
            double ref = 0, scale = 0;
            for (int64_t q = 0; q < p->k; q++) {
                double product = (double)p->x[i * p->k + q] *
                                 (who == F32 ? (double)p->w32[j * p->k + q]
                                             : (double)tpcrt_bf16_to_f32(p->w16[j * p->k + q]));
                ref += product;
                scale += fabs(product);
            }
            double e = fabs(p->y[i * p->n + j] - ref);
            err2 += e * e;
            ref2 += ref * ref;
            max_rel = e / scale > max_rel ? e / scale : max_rel;
        }
    return (Accuracy){sqrt(err2 / ref2), max_rel};
}

/* ---- the table ------------------------------------------------------------------------------- */

static uint64_t rng = 88172645463325252ull;

static float uniform(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 11) * 0x1p-53 * 2 - 1);
}

static void pool_make(Pool *p, int64_t n, int64_t k)
{
    size_t elements = (size_t)(n * k);
    p->n = n;
    p->k = k;
    p->copies16 = (POOL_BYTES + (int64_t)elements * 2 - 1) / ((int64_t)elements * 2);
    p->copies32 = (POOL_BYTES + (int64_t)elements * 4 - 1) / ((int64_t)elements * 4);
    p->w16 = tpcrt_alloc(elements * 2 * (size_t)p->copies16, "bf16 weights");
    p->w32 = tpcrt_alloc(elements * 4 * (size_t)p->copies32, "f32 weights");
    for (size_t i = 0; i < elements; i++) {
        /* The f32 weight is the bf16 one widened: the same product, two storages. */
        p->w16[i] = tpcrt_f32_to_bf16(0.05f * uniform());
        p->w32[i] = tpcrt_bf16_to_f32(p->w16[i]);
    }
    for (int64_t c = 1; c < p->copies16; c++)
        memcpy(p->w16 + (size_t)c * elements, p->w16, elements * 2);
    for (int64_t c = 1; c < p->copies32; c++)
        memcpy(p->w32 + (size_t)c * elements, p->w32, elements * 4);
    p->x = tpcrt_alloc((size_t)(512 * k) * 4, "x");
    p->y = tpcrt_alloc((size_t)(512 * n) * 4, "y");
    for (int64_t i = 0; i < 512 * k; i++)
        p->x[i] = uniform();
}

static void pool_free(Pool *p)
{
    tpcrt_free(p->w16);
    tpcrt_free(p->w32);
    tpcrt_free(p->x);
    tpcrt_free(p->y);
}

/* The contenders at m rows: f32 first, then every kernel the CPU runs (generic up to m = 4). */
static int contenders(int64_t m, int *who)
{
    int count = 0;
    who[count++] = F32;
    for (int kernel = 0; kernel < TPCRT_BF16_KERNELS; kernel++)
        if (tpcrt_bf16_kernel_runs(kernel) && (kernel != TPCRT_BF16_GENERIC || m <= 4))
            who[count++] = kernel;
    return count;
}

static void print_shape(const Weight *wt, int64_t m, const int *who, int count,
                        const double *ms, double bandwidth)
{
    double bytes16 = (double)(wt->n * wt->k) * 2, floor_ms = bytes16 / bandwidth / 1e6;
    int picked = tpcrt_bf16_kernel_for(m, wt->n, wt->k), best = 1;
    printf("| %s | %lld | %.3f (%.1f GB/s) |", wt->name, (long long)m, ms[0],
           2 * bytes16 / ms[0] / 1e6);
    for (int kernel = 0; kernel < TPCRT_BF16_KERNELS; kernel++) {
        int c = 1;
        while (c < count && who[c] != kernel)
            c++;
        if (c == count) {
            printf(" - |");
            continue;
        }
        if (ms[c] < ms[best])
            best = c;
        printf(" %s%.3f (%.1f)%s |", kernel == picked ? "**" : "", ms[c], bytes16 / ms[c] / 1e6,
               kernel == picked ? "**" : "");
    }
    int p = 1;
    while (p < count && who[p] != picked)
        p++;
    printf(" %s | %.2fx | %.3f | %.2f |\n", tpcrt_bf16_kernel_name(who[best]), ms[0] / ms[p],
           floor_ms, floor_ms / ms[p]);
}

static void bench_weight(const Weight *wt, const int64_t *rows, int nrows, int rounds,
                         double bandwidth)
{
    Pool p;
    pool_make(&p, wt->n, wt->k);
    for (int r = 0; r < nrows; r++) {
        int who[TPCRT_BF16_KERNELS + 1], count = contenders(rows[r], who);
        double per_round[TPCRT_BF16_KERNELS + 1][8], ms[TPCRT_BF16_KERNELS + 1];
        for (int round = 0; round < rounds; round++)
            for (int c = 0; c < count; c++)
                per_round[c][round] = time_calls(&p, who[c], rows[r]);
        for (int c = 0; c < count; c++)
            ms[c] = median(per_round[c], rounds);
        print_shape(wt, rows[r], who, count, ms, bandwidth);
        fflush(stdout);
    }
    pool_free(&p);
}

static void print_accuracy(void)
{
    Pool p;
    pool_make(&p, 2048, 5632); /* down: the longest sums */
    int who[TPCRT_BF16_KERNELS + 1], count = contenders(4, who);
    printf("\naccuracy, y[4, 2048] = x[4, 5632] W^T, x uniform in [-1, 1), W bf16 (f32 is sgemm "
           "on W widened), against f64:\n\n| kernel | rel L2 error | max error / sum |x w| |\n"
           "| --- | --- | --- |\n");
    for (int c = 0; c < count; c++) {
        Accuracy a = accuracy(&p, who[c], 4);
        printf("| %s | %.2e | %.2e |\n", who[c] == F32 ? "f32 sgemm" :
               tpcrt_bf16_kernel_name(who[c]), a.rel_l2, a.max_rel);
    }
    pool_free(&p);
}

/* "1,4,32" into list (at most max); returns the count. */
static int parse_list(const char *text, int64_t *list, int max)
{
    int count = 0;
    for (const char *p = text; *p && count < max; p += *p == ',')
        list[count++] = strtoll(p, (char **)&p, 10);
    return count;
}

int main(int argc, char **argv)
{
    int rounds = 3, nrows = 5, nweights = (int)(sizeof weights / sizeof weights[0]);
    int64_t rows[8], chosen[8];
    memcpy(rows, all_rows, sizeof all_rows);
    for (int i = 0; i < nweights; i++)
        chosen[i] = i;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            nrows = 2, rows[1] = 32, nweights = 3;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) {
            nrows = parse_list(argv[++i], rows, 8);
        } else if (strcmp(argv[i], "--weights") == 0 && i + 1 < argc) {
            nweights = parse_list(argv[++i], chosen, 8);
        } else {
            fprintf(stderr, "usage: bf16_gemm [--quick] [--rounds R] [--rows M,...] "
                    "[--weights I,...]\n");
            return 2;
        }
    }
    for (int i = 0; i < nrows; i++)
        if (rows[i] < 1 || rows[i] > 512)
            rows[i] = 1;
    for (int i = 0; i < nweights; i++)
        if (chosen[i] < 0 || chosen[i] >= (int64_t)(sizeof weights / sizeof weights[0]))
            chosen[i] = 0;
    rounds = rounds < 1 ? 1 : rounds > 8 ? 8 : rounds;
    openblas_set_num_threads(1);
    double bandwidth = read_bandwidth();
    printf("CPU level %s (detected %s), one thread; read floor %.1f GB/s\n\n",
           tpcrt_cpu_name(tpcrt_cpu()), tpcrt_cpu_name(tpcrt_cpu_detected()), bandwidth);
    printf("ms per call (GB/s of weights read: f32 4 bytes, bf16 2 bytes per weight); **bold**: "
           "the kernel tpcrt_linear_bf16 picks\n\n");
    printf("| weight | m | f32 sgemv/sgemm |");
    for (int kernel = 0; kernel < TPCRT_BF16_KERNELS; kernel++)
        printf(" %s |", tpcrt_bf16_kernel_name(kernel));
    printf(" fastest | f32 / picked | floor ms | floor / picked |\n|---|---|---|");
    for (int kernel = 0; kernel < TPCRT_BF16_KERNELS; kernel++)
        printf("---|");
    printf("---|---|---|---|\n");
    for (int i = 0; i < nweights; i++)
        bench_weight(&weights[chosen[i]], rows, nrows, rounds, bandwidth);
    double after = read_bandwidth();
    printf("\nread floor at the end: %.1f GB/s\n", after);
    print_accuracy();
    return 0;
}
