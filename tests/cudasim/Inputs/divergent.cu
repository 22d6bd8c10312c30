// __syncthreads reached by only some threads of a block: the harness names the kernel, the block
// and the count, and aborts.
#include <cuda_runtime.h>

#include "cudasim_check.h"

__global__ void early_exit(float *out, int limit)
{
    __shared__ float s[128];
    if (threadIdx.x >= (unsigned)limit)
        return;
    s[threadIdx.x] = 1.0f;
    __syncthreads();
    out[threadIdx.x] = s[(threadIdx.x + 1) % limit];
}

int main(int argc, char **argv)
{
    int limit = argc > 1 ? atoi(argv[1]) : 128;
    float *out;
    CUDA_CHECK(cudaMalloc((void **)&out, 2 * 128 * sizeof *out));
    LAUNCH(early_exit, dim3(1, 2), 128, 0, 0)(out, limit);
    CUDA_CHECK(cudaGetLastError());
    printf("all threads reached the barrier\n");
    return 0;
}
