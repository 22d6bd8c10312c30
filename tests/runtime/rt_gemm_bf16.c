/* rt_gemm_bf16 — tpcrt_linear_bf16 against an f64 reference computed from the same bf16 weights:
 * every kernel the CPU level allows (TPCRT_CPU caps it), then the kernel the dispatch picks, at
 * odd shapes (m, n, k not multiples of 16; k = 1, n = 1, k = 0; ld_x > k, ld_y > n; several BLAS
 * tiles), with beta 0 and 1, for x of any f32 value and for x exactly representable in bf16.
 *
 * The bound, per output, relative to S = sum_p |x_p w_p| + |beta y0|:
 *   every kernel, and dpbf16 when x is exact in bf16:  (k + 2) 2^-24   (f32 sums of exact
 *                                                      products, any order; the final add)
 *   dpbf16 with any f32 x:                             2^-8 + (k + 2) 2^-24  (x rounded to bf16)
 * Also checked: nothing outside y's [m, n] is written (the ld_y padding), nothing of x past k is
 * read (it holds NaN), and beta 0 never reads y (it holds NaN). Prints per kernel
 * "KERNEL: N cases ok (worst error F of the bound)" or "KERNEL: skipped at level L", then
 * "dispatch: ..." for the kernel tpcrt_linear_bf16 picks at m = 1, 4, 32, 128, 512.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>

typedef struct Shape {
    int64_t m, n, k, pad_x, pad_y; /* ld_x = k + pad_x, ld_y = n + pad_y */
} Shape;

static const Shape shapes[] = {
    {1, 1, 1, 0, 0},     {1, 1, 37, 0, 0},   {1, 37, 1, 0, 0},     {1, 17, 33, 3, 2},
    {1, 9, 64, 0, 0},    {2, 5, 31, 1, 1},   {3, 7, 100, 5, 0},    {4, 8, 96, 0, 3},
    {5, 13, 257, 7, 1},  {7, 3, 1000, 0, 0}, {1, 130, 2049, 1, 0}, {16, 33, 129, 2, 5},
    {33, 19, 65, 0, 0},  {1, 450, 5003, 0, 0}, {5, 450, 5003, 3, 2}, {64, 21, 300, 1, 1},
    {37, 70, 17, 0, 4},  {2, 3, 0, 1, 1},    {0, 3, 4, 0, 0},      {3, 0, 4, 0, 0},
};
enum { NSHAPES = sizeof shapes / sizeof shapes[0] };

static uint64_t rng_state = 12345;

static double normal(void)
{
    /* Box-Muller on a 64-bit LCG: reproducible, and enough for test data. */
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    double u1 = ((rng_state >> 11) + 1.0) * 0x1p-53;
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    double u2 = (rng_state >> 11) * 0x1p-53;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* The data of one case, and the worst error over its outputs as a fraction of the bound. */
typedef struct Case {
    Shape s;
    int64_t ld_x, ld_y;
    float *x, *y0, *y;
    uint16_t *w;
} Case;

static void case_make(Case *c, Shape s, bool x_bf16)
{
    c->s = s;
    c->ld_x = s.k + s.pad_x;
    c->ld_y = s.n + s.pad_y;
    c->x = malloc(sizeof(float) * (size_t)(s.m * c->ld_x + 1));
    c->y0 = malloc(sizeof(float) * (size_t)(s.m * c->ld_y + 1));
    c->y = malloc(sizeof(float) * (size_t)(s.m * c->ld_y + 1));
    c->w = malloc(sizeof(uint16_t) * (size_t)(s.n * s.k + 1));
    for (int64_t i = 0; i < s.m * c->ld_x; i++) {
        float v = (float)normal();
        c->x[i] = i % c->ld_x >= s.k ? NAN : x_bf16 ? tpcrt_bf16_to_f32(tpcrt_f32_to_bf16(v)) : v;
    }
    for (int64_t i = 0; i < s.n * s.k; i++)
        c->w[i] = tpcrt_f32_to_bf16((float)(0.05 * normal()));
    for (int64_t i = 0; i < s.m * c->ld_y; i++)
        c->y0[i] = i % c->ld_y >= s.n ? -7.0f : (float)normal();
}

static void case_free(Case *c)
{
    free(c->x);
    free(c->y0);
    free(c->y);
    free(c->w);
}

static void fail(const char *kernel, const Case *c, float beta, const char *what, int64_t i,
                 int64_t j, double saw, double want)
{
    printf("FAIL: %s: m %lld n %lld k %lld ld_x %lld ld_y %lld beta %g: %s at [%lld, %lld]: "
           "expected %.9g, saw %.9g\n", kernel, (long long)c->s.m, (long long)c->s.n,
           (long long)c->s.k, (long long)c->ld_x, (long long)c->ld_y, beta, what, (long long)i,
           (long long)j, want, saw);
    exit(1);
}

/* Runs the kernel (or the dispatch, kernel < 0) on the case; returns the worst error / bound. */
static double case_check(const Case *c, int kernel, float beta, double rel_bound)
{
    const Shape *s = &c->s;
    const char *name = kernel < 0 ? "dispatch" : tpcrt_bf16_kernel_name(kernel);
    for (int64_t i = 0; i < s->m * c->ld_y; i++) /* beta 0: y must not be read */
        c->y[i] = beta == 0 && i % c->ld_y < s->n ? NAN : c->y0[i];
    if (kernel < 0)
        tpcrt_linear_bf16(c->y, c->ld_y, c->x, c->ld_x, c->w, s->m, s->n, s->k, beta);
    else
        tpcrt_linear_bf16_with(kernel, c->y, c->ld_y, c->x, c->ld_x, c->w, s->m, s->n, s->k,
                               beta);
    double worst = 0;
    for (int64_t i = 0; i < s->m; i++) {
        for (int64_t j = s->n; j < c->ld_y; j++)
            if (c->y[i * c->ld_y + j] != -7.0f)
                fail(name, c, beta, "padding written", i, j, c->y[i * c->ld_y + j], -7.0);
        for (int64_t j = 0; j < s->n; j++) {
            double want = beta == 0 ? 0 : beta * (double)c->y0[i * c->ld_y + j];
            double scale = fabs(want);
            for (int64_t p = 0; p < s->k; p++) {
                double product = (double)c->x[i * c->ld_x + p] *
                                 tpcrt_bf16_to_f32(c->w[j * s->k + p]);
                want += product;
                scale += fabs(product);
            }
            double saw = c->y[i * c->ld_y + j];
            double bound = rel_bound * scale;
            double error = fabs(saw - want);
            if (!(error <= bound))
                fail(name, c, beta, "error above the bound", i, j, saw, want);
            if (bound > 0 && error / bound > worst)
                worst = error / bound;
        }
    }
    return worst;
}

/* Every shape, x any f32 and x exact in bf16, beta 0 and 1; prints the kernel's line. */
static void check_kernel(int kernel)
{
    if (kernel >= 0 && !tpcrt_bf16_kernel_runs(kernel)) {
        printf("%s: skipped at level %s\n", tpcrt_bf16_kernel_name(kernel),
               tpcrt_cpu_name(tpcrt_cpu()));
        return;
    }
    double worst = 0;
    int cases = 0;
    for (int x_bf16 = 0; x_bf16 < 2; x_bf16++)
        for (int i = 0; i < NSHAPES; i++) {
            Case c;
            case_make(&c, shapes[i], x_bf16);
            double rel = (double)(shapes[i].k + 2) * 0x1p-24;
            bool rounds_x = kernel == TPCRT_BF16_DPBF16 ||
                            (kernel < 0 && tpcrt_bf16_kernel_for(c.s.m, c.s.n, c.s.k) ==
                                               TPCRT_BF16_DPBF16);
            if (rounds_x && !x_bf16)
                rel += 0x1p-8;
            for (int b = 0; b < 2; b++, cases++) {
                double e = case_check(&c, kernel, (float)b, rel);
                worst = e > worst ? e : worst;
            }
            case_free(&c);
        }
    printf("%s: %d cases ok (worst error %.3f of the bound)\n",
           kernel < 0 ? "dispatch" : tpcrt_bf16_kernel_name(kernel), cases, worst);
}

int main(void)
{
    printf("level: %s\n", tpcrt_cpu_name(tpcrt_cpu()));
    for (int kernel = 0; kernel < TPCRT_BF16_KERNELS; kernel++)
        check_kernel(kernel);
    check_kernel(-1);
    printf("picks:");
    static const int64_t rows[] = {1, 4, 32, 128, 512};
    for (int i = 0; i < 5; i++)
        printf(" m=%lld %s", (long long)rows[i],
               tpcrt_bf16_kernel_name(tpcrt_bf16_kernel_for(rows[i], 2048, 2048)));
    printf("\n");
    return 0;
}
