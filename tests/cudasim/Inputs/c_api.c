/* The C side of the harness's headers compiles as C (gnu17), as tpc's runtime is C. */
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <nccl.h>

int c_api(cudaStream_t s, cublasHandle_t h, ncclComm_t comm, float *x, dim3 grid);
int c_api(cudaStream_t s, cublasHandle_t h, ncclComm_t comm, float *x, dim3 grid)
{
    __nv_bfloat16 b = __float2bfloat16(1.0f);
    struct cudaDeviceProp prop;
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    cudaGetDeviceProperties(&prop, 0);
    cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal);
    cudaMemcpyAsync(x, x + 1, 4, cudaMemcpyDeviceToDevice, s);
    ncclAllReduce(x, x, 1, ncclFloat, ncclSum, comm, s);
    cudaStreamEndCapture(s, &graph);
    cudaGraphInstantiate(&exec, graph, 0);
    return (int)grid.x + (int)__bfloat162float(b) + cublasSetStream(h, s) + prop.warpSize;
}
