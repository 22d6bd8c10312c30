/* gemmtrace.c — an LD_PRELOAD shim that logs every cblas_sgemm and cblas_sgemv a program makes,
 * then calls OpenBLAS as usual.
 *
 * The benchmark runs a tpc program once under it (one forward, no --bench) to learn exactly
 * which BLAS calls that forward makes: kernel, transposes, M, N, K, leading dimensions and the
 * operand addresses. bench.py turns the addresses into memory regions (so that reuse of a
 * buffer and the weights' layout are kept) and floor.c replays the list with nothing between
 * the calls. The floor thus follows whatever the code generator emits (NT or NN weights,
 * sgemv at M = 1, fused projections, attention's per-head GEMMs) without being told.
 *
 *   cc -O2 -shared -fPIC -o gemmtrace.so gemmtrace.c -ldl
 *   GEMMTRACE=calls.txt LD_PRELOAD=./gemmtrace.so ./program ...
 * A '%d' in GEMMTRACE becomes the process id, so that each rank of a -tp N run has its log.
 *
 * One line per call (row-major assumed by the reader; the order is logged so it can check):
 *   sgemm ORDER TA TB M N K ALPHA A LDA B LDB BETA C LDC
 *   sgemv ORDER TA M N ALPHA A LDA X INCX BETA Y INCY
 * with ORDER R|C, TA/TB N|T and the addresses in hex.
 */
#define _GNU_SOURCE
#include <cblas.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef void sgemm_fn(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, blasint,
                      blasint, blasint, float, const float *, blasint, const float *, blasint,
                      float, float *, blasint);
typedef void sgemv_fn(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, blasint, blasint, float,
                      const float *, blasint, const float *, blasint, float, float *, blasint);

static FILE *out;

/* The log, opened on first use; with GEMMTRACE unset the shim only forwards. */
static FILE *trace(void)
{
    static int opened;
    if (!opened) {
        opened = 1;
        const char *format = getenv("GEMMTRACE");
        if (format && *format) {
            char path[4096];
            const char *pid = strstr(format, "%d");
            if (pid)
                snprintf(path, sizeof path, "%.*s%d%s", (int)(pid - format), format,
                         (int)getpid(), pid + 2);
            else
                snprintf(path, sizeof path, "%s", format);
            if (!(out = fopen(path, "w")))
                perror(path);
        }
    }
    return out;
}

static char order_char(enum CBLAS_ORDER o) { return o == CblasRowMajor ? 'R' : 'C'; }
static char trans_char(enum CBLAS_TRANSPOSE t) { return t == CblasNoTrans ? 'N' : 'T'; }

void cblas_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb,
                 blasint m, blasint n, blasint k, float alpha, const float *a, blasint lda,
                 const float *b, blasint ldb, float beta, float *c, blasint ldc)
{
    static sgemm_fn *real;
    if (!real)
        real = (sgemm_fn *)dlsym(RTLD_NEXT, "cblas_sgemm");
    if (trace())
        fprintf(out, "sgemm %c %c %c %d %d %d %g %p %d %p %d %g %p %d\n", order_char(order),
                trans_char(ta), trans_char(tb), (int)m, (int)n, (int)k, alpha, (const void *)a,
                (int)lda, (const void *)b, (int)ldb, beta, (void *)c, (int)ldc);
    real(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void cblas_sgemv(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, blasint m, blasint n,
                 float alpha, const float *a, blasint lda, const float *x, blasint incx,
                 float beta, float *y, blasint incy)
{
    static sgemv_fn *real;
    if (!real)
        real = (sgemv_fn *)dlsym(RTLD_NEXT, "cblas_sgemv");
    if (trace())
        fprintf(out, "sgemv %c %c %d %d %g %p %d %p %d %g %p %d\n", order_char(order),
                trans_char(ta), (int)m, (int)n, alpha, (const void *)a, (int)lda,
                (const void *)x, (int)incx, beta, (void *)y, (int)incy);
    real(order, ta, m, n, alpha, a, lda, x, incx, beta, y, incy);
}
