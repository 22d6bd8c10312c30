// cublasGemmEx against a plain-loop column-major reference: NN, NT, TN, TT on non-square shapes
// with leading dimensions above the rows, f32 and bf16 operands, f32 and bf16 results; a wrong
// transpose must give a wrong answer; bad arguments give cuBLAS's statuses.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <string.h>

#include "cudasim_check.h"

enum { M = 5, N = 7, K = 3, PAD = 2 };

static float value(int which, int i) { return (float)((i * 7 + which * 3) % 11) / 4.0f - 1.3f; }

/* A column-major rows x cols matrix with ld = rows + PAD, as float, its values rounded to bf16
 * when bf16 is set (so the reference sees exactly the operands cuBLAS sees). */
static void fill(float *h, int which, int rows, int cols, int bf16)
{
    for (int i = 0; i < (rows + PAD) * cols; i++) {
        float v = value(which, i);
        h[i] = bf16 ? __bfloat162float(__float2bfloat16(v)) : v;
    }
}

static void *upload(const float *h, int count, cudaDataType type)
{
    void *d;
    size_t size = type == CUDA_R_32F ? 4 : 2;
    CUDA_CHECK(cudaMalloc(&d, count * size));
    if (type == CUDA_R_32F) {
        CUDA_CHECK(cudaMemcpy(d, h, count * size, cudaMemcpyHostToDevice));
    } else {
        __nv_bfloat16 *b = (__nv_bfloat16 *)malloc(count * size);
        for (int i = 0; i < count; i++)
            b[i] = __float2bfloat16(h[i]);
        CUDA_CHECK(cudaMemcpy(d, b, count * size, cudaMemcpyHostToDevice));
        free(b);
    }
    return d;
}

static void download(float *h, const void *d, int count, cudaDataType type)
{
    if (type == CUDA_R_32F) {
        CUDA_CHECK(cudaMemcpy(h, d, count * 4, cudaMemcpyDeviceToHost));
        return;
    }
    __nv_bfloat16 *b = (__nv_bfloat16 *)malloc(count * 2);
    CUDA_CHECK(cudaMemcpy(b, d, count * 2, cudaMemcpyDeviceToHost));
    for (int i = 0; i < count; i++)
        h[i] = __bfloat162float(b[i]);
    free(b);
}

/* op(X)[i][j] for X stored column-major with ld. */
static double op_at(const float *x, int ld, int trans, int i, int j)
{
    return trans ? x[i * ld + j] : x[j * ld + i];
}

/* Runs C = 1.5 op(A) op(B) + 0.5 C with cuBLAS called with call_ta/call_tb, the data laid out for
 * ta/tb; returns the largest error against the reference, relative to its largest value. */
static double gemm_error(cublasHandle_t h, int ta, int tb, int call_ta, int call_tb,
                         cudaDataType in, cudaDataType out)
{
    int bf16 = in == CUDA_R_16BF;
    int arows = ta ? K : M, acols = ta ? M : K, brows = tb ? N : K, bcols = tb ? K : N;
    int lda = arows + PAD, ldb = brows + PAD, ldc = M + PAD;
    float a[(M + PAD) * M * K], b[(N + PAD) * N * K], c[(M + PAD) * N], got[(M + PAD) * N];
    fill(a, 1, arows, acols, bf16);
    fill(b, 2, brows, bcols, bf16);
    fill(c, 3, M, N, out == CUDA_R_16BF);
    void *da = upload(a, lda * acols, in), *db = upload(b, ldb * bcols, in);
    void *dc = upload(c, ldc * N, out);
    float alpha = 1.5f, beta = 0.5f;
    cublasStatus_t s = cublasGemmEx(h, call_ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                    call_tb ? CUBLAS_OP_T : CUBLAS_OP_N, M, N, K, &alpha, da, in,
                                    lda, db, in, ldb, &beta, dc, out, ldc, CUBLAS_COMPUTE_32F,
                                    CUBLAS_GEMM_DEFAULT);
    if (s != CUBLAS_STATUS_SUCCESS) {
        printf("cublasGemmEx: %s\n", cublasGetStatusString(s));
        exit(1);
    }
    download(got, dc, ldc * N, out);
    double worst = 0, largest = 0;
    for (int j = 0; j < N; j++)
        for (int i = 0; i < M; i++) {
            double r = 0.5 * c[j * ldc + i];
            for (int p = 0; p < K; p++)
                r += 1.5 * op_at(a, lda, ta, i, p) * op_at(b, ldb, tb, p, j);
            worst = fmax(worst, fabs(r - got[j * ldc + i]));
            largest = fmax(largest, fabs(r));
        }
    for (int j = 0; j < N; j++)  // the padding rows of C are not written
        for (int i = M; i < ldc; i++)
            if (memcmp(&got[j * ldc + i], &c[j * ldc + i], sizeof(float)))
                worst = INFINITY;
    CUDA_CHECK(cudaFree(da));
    CUDA_CHECK(cudaFree(db));
    CUDA_CHECK(cudaFree(dc));
    return worst / largest;
}

int main(void)
{
    cublasHandle_t h;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS)
        return 1;
    static const struct { cudaDataType in, out; const char *name; double tolerance; } types[] = {
        {CUDA_R_32F, CUDA_R_32F, "f32 -> f32", 1e-6},
        {CUDA_R_16BF, CUDA_R_32F, "bf16 -> f32", 1e-6},
        {CUDA_R_16BF, CUDA_R_16BF, "bf16 -> bf16", 1.0 / 128},
    };
    for (int t = 0; t < 3; t++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                double e = gemm_error(h, ta, tb, ta, tb, types[t].in, types[t].out);
                printf("%s %c%c: rel error %.1e %s %.0e\n", types[t].name, "NT"[ta], "NT"[tb], e,
                       e <= types[t].tolerance ? "<=" : "> WRONG", types[t].tolerance);
            }
    // A stored transposed (K x M, lda = K + 2 = M) but passed as CUBLAS_OP_N: a valid call, a
    // wrong answer.
    double e = gemm_error(h, 1, 0, 0, 0, CUDA_R_32F, CUDA_R_32F);
    printf("A^T passed as N: rel error %.1e %s\n", e, e > 1e-2 ? "(differs)" : "(SAME)");
    e = gemm_error(h, 0, 1, 0, 0, CUDA_R_32F, CUDA_R_32F);
    printf("B^T passed as N: rel error %.1e %s\n", e, e > 1e-2 ? "(differs)" : "(SAME)");

    float alpha = 1, beta = 0, *d;
    CUDA_CHECK(cudaMalloc((void **)&d, 4096));
#define STATUS(what, call) printf("%s: %s\n", what, cublasGetStatusString(call))
    STATUS("lda 4 < m 5", cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 5, 7, 3, &alpha, d, CUDA_R_32F, 4, d,
                        CUDA_R_32F, 3, &beta, d, CUDA_R_32F, 5, CUBLAS_COMPUTE_32F,
                        CUBLAS_GEMM_DEFAULT));
    STATUS("transposed A, lda 2 < k 3", cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, 5, 7, 3, &alpha, d, CUDA_R_32F, 2, d,
                        CUDA_R_32F, 3, &beta, d, CUDA_R_32F, 5, CUBLAS_COMPUTE_32F,
                        CUBLAS_GEMM_DEFAULT));
    STATUS("m -1", cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, -1, 7, 3, &alpha, d, CUDA_R_32F, 5, d,
                        CUDA_R_32F, 3, &beta, d, CUDA_R_32F, 5, CUBLAS_COMPUTE_32F,
                        CUBLAS_GEMM_DEFAULT));
    STATUS("bf16 A and B, f16 C", cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 5, 7, 3, &alpha, d, CUDA_R_16BF, 5, d,
                        CUDA_R_16BF, 3, &beta, d, CUDA_R_16F, 5, CUBLAS_COMPUTE_32F,
                        CUBLAS_GEMM_DEFAULT));
    STATUS("no handle", cublasGemmEx(NULL, CUBLAS_OP_N, CUBLAS_OP_N, 5, 7, 3, &alpha, d, CUDA_R_32F, 5, d,
                        CUDA_R_32F, 3, &beta, d, CUDA_R_32F, 5, CUBLAS_COMPUTE_32F,
                        CUBLAS_GEMM_DEFAULT));
    CUDA_CHECK(cudaFree(d));
    cublasDestroy(h);
    return 0;
}
