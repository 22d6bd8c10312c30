/* llvm_kernels.c — the kernel-level benchmark of --backend llvm: each kernel of the bench
 * decoder as gcc builds it (the C backend's text, -O3 -march=native) and as LLVM builds it
 * (NAME_kernels.o), timed in interleaved rounds on the same data, and their outputs compared.
 * Built three times by bench/llvm.sh: with KERNELS_C (the C kernels), KERNELS_LLVM (their
 * declarations) and neither (main). Not a test: it measures and prints.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Kernels {
    void (*rmsnorm)(float *, int64_t, const float *, int64_t, int64_t, int64_t, const float *, float);
    void (*rope_neox)(float *, int64_t, const float *, int64_t, const float *, int64_t, int64_t,
                      int64_t, int64_t, int64_t);
    void (*attention_softmax)(float *, const float *, int64_t, int64_t, float, int64_t, int64_t,
                              int64_t);
    void (*silu_mul)(float *, int64_t, const float *, int64_t, const float *, int64_t, int64_t,
                     int64_t);
} Kernels;

#if defined(KERNELS_C)
#include KERNELS_C
const Kernels c_kernels = {rmsnorm, rope_neox, attention_softmax, silu_mul};
#elif defined(KERNELS_LLVM)
#include KERNELS_LLVM
const Kernels llvm_kernels = {rmsnorm, rope_neox, attention_softmax, silu_mul};
#else
extern const Kernels c_kernels, llvm_kernels;

enum { ROUNDS = 15 };
static float *x, *y, *z, *w, *table, *mask;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void fill(float *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)((seed >> 8) * (1.0 / 16777216.0) * 2.0 - 1.0);
    }
}

typedef struct Case {
    const char *kernel;
    int64_t rows, cols, extra; /* what each kernel reads them as: see run() */
} Case;

/* one call of the case's kernel from `k`, out to y */
static void run(const Kernels *k, const Case *c)
{
    if (!strcmp(c->kernel, "rmsnorm"))
        k->rmsnorm(y, c->cols, x, c->cols, c->rows, c->cols, w, 1e-5f);
    else if (!strcmp(c->kernel, "silu_mul"))
        k->silu_mul(y, c->cols, x, c->cols, z, c->cols, c->rows, c->cols);
    else if (!strcmp(c->kernel, "rope_neox")) /* cols: heads * 64 */
        k->rope_neox(y, c->cols, x, c->cols, table, c->rows, c->rows, c->cols / 64, 64, 64);
    else { /* attention_softmax: rows queries over cols keys, causal, the last rows of cols */
        memcpy(y, x, sizeof(float) * (size_t)(c->rows * c->cols));
        k->attention_softmax(y, mask, c->rows, c->cols, 0.125f, 1, c->cols - c->rows, 0);
    }
}

static double time_case(const Kernels *k, const Case *c, int reps)
{
    double start = now();
    for (int r = 0; r < reps; r++)
        run(k, c);
    return (now() - start) / reps;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    static const Case cases[] = {
        {"rmsnorm", 1, 1024, 0},   {"rmsnorm", 32, 1024, 0},   {"rmsnorm", 512, 1024, 0},
        {"rmsnorm", 7, 1000, 0},   {"rmsnorm", 512, 4096, 0},
        {"silu_mul", 1, 2816, 0},  {"silu_mul", 32, 2816, 0},  {"silu_mul", 512, 2816, 0},
        {"silu_mul", 7, 2817, 0},
        {"rope_neox", 1, 1024, 0}, {"rope_neox", 32, 1024, 0}, {"rope_neox", 512, 1024, 0},
        {"attention_softmax", 1, 512, 0}, {"attention_softmax", 32, 32, 0},
        {"attention_softmax", 512, 512, 0}, {"attention_softmax", 7, 1001, 0},
    };
    size_t n = 512 * 4096 + 64;
    x = malloc(n * sizeof *x), y = malloc(n * sizeof *y), z = malloc(n * sizeof *z);
    w = malloc(4096 * sizeof *w), table = malloc(512 * 64 * sizeof *table);
    mask = malloc(2048 * sizeof *mask);
    float *y_c = malloc(n * sizeof *y_c);
    fill(x, n, 1), fill(z, n, 2), fill(w, 4096, 3), fill(table, 512 * 64, 4);
    for (int i = 0; i < 2048; i++)
        mask[i] = 1;
    printf("%-18s %5s %5s %10s %10s %7s %9s\n", "kernel", "rows", "cols", "c us", "llvm us",
           "llvm/c", "rel diff");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const Case *c = &cases[i];
        size_t elements = (size_t)(c->rows * c->cols);
        run(&c_kernels, c);
        memcpy(y_c, y, elements * sizeof *y);
        run(&llvm_kernels, c);
        double diff = 0, norm = 0;
        for (size_t e = 0; e < elements; e++) {
            diff += ((double)y[e] - y_c[e]) * ((double)y[e] - y_c[e]);
            norm += (double)y_c[e] * y_c[e];
        }
        int reps = (int)(2e7 / (double)elements) + 1;
        /* Interleaved, c then llvm: a round's two times share the machine's load of the
         * moment, so the ratio is the median of the rounds' ratios, not of the medians. */
        double tc[ROUNDS], tl[ROUNDS], ratio[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            tc[r] = time_case(&c_kernels, c, reps);
            tl[r] = time_case(&llvm_kernels, c, reps);
            ratio[r] = tl[r] / tc[r];
        }
        qsort(tc, ROUNDS, sizeof *tc, compare_doubles);
        qsort(tl, ROUNDS, sizeof *tl, compare_doubles);
        qsort(ratio, ROUNDS, sizeof *ratio, compare_doubles);
        printf("%-18s %5lld %5lld %10.2f %10.2f %7.3f %9.1e\n", c->kernel, (long long)c->rows,
               (long long)c->cols, 1e6 * tc[ROUNDS / 2], 1e6 * tl[ROUNDS / 2],
               ratio[ROUNDS / 2], sqrt(diff / (norm > 0 ? norm : 1)));
    }
    return 0;
}
#endif
