/* cublas.cc: cublasGemmEx and cublasGemmStridedBatchedEx, column-major as cuBLAS documents them,
 * through OpenBLAS's cblas_sgemm.  16-bit operands are converted to float, C too when it is
 * 16-bit (and rounded back, to nearest even); compute is always 32F.  Arguments are checked as
 * cuBLAS checks them, at the call; the GEMM runs on the handle's stream (recorded while it is
 * captured), with alpha and beta read at the call (host pointer mode). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include <cblas.h>

#include "cublas_v2.h"
#include "internal.h"

struct cublasContext {
    cudaStream_t stream;
    void *workspace;
    size_t workspace_size;
};

using namespace cudasim;

namespace {

size_t type_size(cudaDataType t) { return t == CUDA_R_32F ? 4 : 2; }

float load(const void *p, cudaDataType t, size_t i)
{
    switch (t) {
    case CUDA_R_32F:  return ((const float *)p)[i];
    case CUDA_R_16BF: return bf16_to_float(((const unsigned short *)p)[i]);
    default:          return half_to_float(((const unsigned short *)p)[i]);
    }
}

void store(void *p, cudaDataType t, size_t i, float v)
{
    switch (t) {
    case CUDA_R_32F:  ((float *)p)[i] = v; break;
    case CUDA_R_16BF: ((unsigned short *)p)[i] = float_to_bf16(v); break;
    default:          ((unsigned short *)p)[i] = float_to_half(v); break;
    }
}

/* A rows x cols column-major matrix with leading dimension ld, as packed floats. */
std::vector<float> to_float(const void *p, cudaDataType t, int rows, int cols, int ld)
{
    std::vector<float> out((size_t)rows * cols);
    for (int c = 0; c < cols; c++)
        for (int r = 0; r < rows; r++)
            out[(size_t)c * rows + r] = load(p, t, (size_t)c * ld + r);
    return out;
}

struct Gemm {
    cublasOperation_t transa, transb;
    int m, n, k;
    float alpha, beta;
    const void *A, *B;
    void *C;
    cudaDataType Atype, Btype, Ctype;
    int lda, ldb, ldc;
};

void gemm_run(const Gemm &g)
{
    CBLAS_TRANSPOSE ta = g.transa == CUBLAS_OP_N ? CblasNoTrans : CblasTrans;
    CBLAS_TRANSPOSE tb = g.transb == CUBLAS_OP_N ? CblasNoTrans : CblasTrans;
    if (g.Atype == CUDA_R_32F && g.Ctype == CUDA_R_32F) {
        cblas_sgemm(CblasColMajor, ta, tb, g.m, g.n, g.k, g.alpha, (const float *)g.A, g.lda,
                    (const float *)g.B, g.ldb, g.beta, (float *)g.C, g.ldc);
        return;
    }
    int arows = g.transa == CUBLAS_OP_N ? g.m : g.k, acols = g.transa == CUBLAS_OP_N ? g.k : g.m;
    int brows = g.transb == CUBLAS_OP_N ? g.k : g.n, bcols = g.transb == CUBLAS_OP_N ? g.n : g.k;
    std::vector<float> a = to_float(g.A, g.Atype, arows, acols, g.lda);
    std::vector<float> b = to_float(g.B, g.Btype, brows, bcols, g.ldb);
    if (g.Ctype == CUDA_R_32F) {
        cblas_sgemm(CblasColMajor, ta, tb, g.m, g.n, g.k, g.alpha, a.data(), arows > 0 ? arows : 1,
                    b.data(), brows > 0 ? brows : 1, g.beta, (float *)g.C, g.ldc);
        return;
    }
    std::vector<float> c((size_t)g.m * g.n, 0.0f);
    if (g.beta != 0.0f)  // beta 0: C is not read, as in BLAS
        c = to_float(g.C, g.Ctype, g.m, g.n, g.ldc);
    cblas_sgemm(CblasColMajor, ta, tb, g.m, g.n, g.k, g.alpha, a.data(), arows > 0 ? arows : 1,
                b.data(), brows > 0 ? brows : 1, g.beta, c.data(), g.m);
    for (int j = 0; j < g.n; j++)
        for (int i = 0; i < g.m; i++)
            store(g.C, g.Ctype, (size_t)j * g.ldc + i, c[(size_t)j * g.m + i]);
}

cublasStatus_t gemm_check(cublasHandle_t handle, const Gemm &g, const void *alpha,
                          const void *beta, cublasComputeType_t compute, cublasGemmAlgo_t algo)
{
    if (!handle)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if ((g.transa != CUBLAS_OP_N && g.transa != CUBLAS_OP_T) ||
        (g.transb != CUBLAS_OP_N && g.transb != CUBLAS_OP_T) || g.m < 0 || g.n < 0 || g.k < 0 ||
        !alpha || !beta)
        return CUBLAS_STATUS_INVALID_VALUE;
    int arows = g.transa == CUBLAS_OP_N ? g.m : g.k;
    int brows = g.transb == CUBLAS_OP_N ? g.k : g.n;
    if (g.lda < (arows > 1 ? arows : 1) || g.ldb < (brows > 1 ? brows : 1) ||
        g.ldc < (g.m > 1 ? g.m : 1))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (compute != CUBLAS_COMPUTE_32F || algo != CUBLAS_GEMM_DEFAULT)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    bool supported = g.Atype == g.Btype &&
                     (g.Atype == CUDA_R_32F ? g.Ctype == CUDA_R_32F
                      : g.Atype == CUDA_R_16BF || g.Atype == CUDA_R_16F
                          ? g.Ctype == g.Atype || g.Ctype == CUDA_R_32F
                          : false);
    return supported ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_SUPPORTED;
}

cublasStatus_t submit(cublasHandle_t handle, Work work)
{
    return stream_submit(handle->stream, std::move(work)) ? CUBLAS_STATUS_EXECUTION_FAILED
                                                          : CUBLAS_STATUS_SUCCESS;
}

} // namespace

extern "C" {

cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
{
    if (!handle)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (runtime_check())
        return CUBLAS_STATUS_NOT_INITIALIZED;
    *handle = new cublasContext{nullptr, nullptr, 0};
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
{
    if (!handle)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    delete handle;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId)
{
    if (!handle)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->stream = streamId;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void *workspace,
                                     size_t workspaceSizeInBytes)
{
    if (!handle)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (workspaceSizeInBytes && (!workspace || (uintptr_t)workspace % 256))
        return CUBLAS_STATUS_INVALID_VALUE;
    handle->workspace = workspace;
    handle->workspace_size = workspaceSizeInBytes;
    return CUBLAS_STATUS_SUCCESS;
}

const char *cublasGetStatusString(cublasStatus_t status)
{
    switch (status) {
    case CUBLAS_STATUS_SUCCESS:          return "the operation completed successfully";
    case CUBLAS_STATUS_NOT_INITIALIZED:  return "the library was not initialized";
    case CUBLAS_STATUS_INVALID_VALUE:    return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_NOT_SUPPORTED:    return "the functionality requested is not supported";
    }
    return "unknown error";
}

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
                            cublasOperation_t transb, int m, int n, int k, const void *alpha,
                            const void *A, cudaDataType Atype, int lda, const void *B,
                            cudaDataType Btype, int ldb, const void *beta, void *C,
                            cudaDataType Ctype, int ldc, cublasComputeType_t computeType,
                            cublasGemmAlgo_t algo)
{
    return cublasGemmStridedBatchedEx(handle, transa, transb, m, n, k, alpha, A, Atype, lda, 0, B,
                                      Btype, ldb, 0, beta, C, Ctype, ldc, 0, 1, computeType, algo);
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa,
                                          cublasOperation_t transb, int m, int n, int k,
                                          const void *alpha, const void *A, cudaDataType Atype,
                                          int lda, long long int strideA, const void *B,
                                          cudaDataType Btype, int ldb, long long int strideB,
                                          const void *beta, void *C, cudaDataType Ctype, int ldc,
                                          long long int strideC, int batchCount,
                                          cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    Gemm g = {transa, transb, m, n, k, 0, 0, A, B, C, Atype, Btype, Ctype, lda, ldb, ldc};
    if (cublasStatus_t s = gemm_check(handle, g, alpha, beta, computeType, algo))
        return s;
    if (batchCount < 0)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (m == 0 || n == 0 || batchCount == 0)
        return CUBLAS_STATUS_SUCCESS;
    g.alpha = *(const float *)alpha;
    g.beta = *(const float *)beta;
    return submit(handle, [g, strideA, strideB, strideC, batchCount] {
        for (int i = 0; i < batchCount; i++) {
            Gemm one = g;
            one.A = (const char *)g.A + i * strideA * (long long)type_size(g.Atype);
            one.B = (const char *)g.B + i * strideB * (long long)type_size(g.Btype);
            one.C = (char *)g.C + i * strideC * (long long)type_size(g.Ctype);
            gemm_run(one);
        }
    });
}

} // extern "C"
