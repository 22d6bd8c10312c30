// peaks.cu — the device's measured peaks, for scripts/gpu-check.sh's ratios: cuBLAS GEMM
// throughput (f32 with f32 compute, as --target cuda's GEMMs run; and bf16 with f32 compute)
// and device-to-device copy bandwidth (each byte read once and written once).
// Prints: "peaks: sgemm F TFLOP/s, bf16 gemm B TFLOP/s, copy C GB/s"
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call)                                                                    \
    do {                                                                               \
        if ((call) != 0) {                                                             \
            fprintf(stderr, "peaks: %s failed at line %d\n", #call, __LINE__);         \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

static float seconds(cudaEvent_t a, cudaEvent_t b)
{
    float ms;
    CHECK(cudaEventElapsedTime(&ms, a, b));
    return ms / 1e3f;
}

static double gemm_tflops(cublasHandle_t h, cudaDataType type, int n, int reps)
{
    size_t bytes = (size_t)n * n * (type == CUDA_R_32F ? 4 : 2);
    void *a, *b, *c;
    CHECK(cudaMalloc(&a, bytes));
    CHECK(cudaMalloc(&b, bytes));
    CHECK(cudaMalloc(&c, (size_t)n * n * 4));
    CHECK(cudaMemset(a, 0, bytes));
    CHECK(cudaMemset(b, 0, bytes));
    float one = 1, zero = 0;
    cudaEvent_t start, stop;
    CHECK(cudaEventCreate(&start));
    CHECK(cudaEventCreate(&stop));
    for (int warm = 0; warm < 2; warm++)
        CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, type, n, b, type, n,
                           &zero, c, CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    CHECK(cudaEventRecord(start));
    for (int r = 0; r < reps; r++)
        CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, type, n, b, type, n,
                           &zero, c, CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    CHECK(cudaEventRecord(stop));
    CHECK(cudaEventSynchronize(stop));
    double t = seconds(start, stop) / reps;
    CHECK(cudaFree(a));
    CHECK(cudaFree(b));
    CHECK(cudaFree(c));
    return 2.0 * n * n * (double)n / t / 1e12;
}

static double copy_gbs(size_t bytes, int reps)
{
    void *a, *b;
    CHECK(cudaMalloc(&a, bytes));
    CHECK(cudaMalloc(&b, bytes));
    CHECK(cudaMemset(a, 0, bytes));
    cudaEvent_t start, stop;
    CHECK(cudaEventCreate(&start));
    CHECK(cudaEventCreate(&stop));
    CHECK(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice));
    CHECK(cudaEventRecord(start));
    for (int r = 0; r < reps; r++)
        CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice));
    CHECK(cudaEventRecord(stop));
    CHECK(cudaEventSynchronize(stop));
    double t = seconds(start, stop) / reps;
    CHECK(cudaFree(a));
    CHECK(cudaFree(b));
    return 2.0 * (double)bytes / t / 1e9;
}

int main(void)
{
    cublasHandle_t h;
    CHECK(cublasCreate(&h));
    double f32 = gemm_tflops(h, CUDA_R_32F, 8192, 10);
    double bf16 = gemm_tflops(h, CUDA_R_16BF, 8192, 20);
    double copy = copy_gbs((size_t)1 << 30, 20);
    printf("peaks: sgemm %.1f TFLOP/s, bf16 gemm %.1f TFLOP/s, copy %.0f GB/s\n", f32, bf16, copy);
    CHECK(cublasDestroy(h));
    return 0;
}
