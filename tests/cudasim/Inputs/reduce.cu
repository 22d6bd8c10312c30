// A block reduction: each thread sums a grid-stride slice, warps reduce with __shfl_xor_sync,
// lane 0 of each warp leaves its sum in shared memory, and after __syncthreads warp 0 adds them.
// -DMISSING_BARRIER drops that __syncthreads: warp 0 then reads the sums of warps that have not
// written them yet.
#include <cuda_runtime.h>
#include <math.h>

#include "cudasim_check.h"

__device__ __forceinline__ float warp_sum(float v)
{
    for (int offset = 16; offset > 0; offset >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

__global__ void __launch_bounds__(1024) block_sum(float *__restrict__ out,
                                                  const float *__restrict__ x, int n)
{
    __shared__ float warp_sums[32];
    float v = 0.0f;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
        v += x[i];
    v = warp_sum(v);
    int lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
    if (lane == 0)
        warp_sums[warp] = v;
#ifndef MISSING_BARRIER
    __syncthreads();
#endif
    if (warp == 0) {
        v = lane < (int)(blockDim.x / warpSize) ? warp_sums[lane] : 0.0f;
        v = warp_sum(v);
        if (lane == 0)
            out[blockIdx.x] = v;
    }
}

int main(void)
{
    const int sizes[] = {1, 31, 1000, 4099, 100003};
    const int blocks[] = {32, 64, 96, 256, 1024};
    int failures = 0;
    for (int s = 0; s < 5; s++) {
        int n = sizes[s];
        float *x = (float *)malloc(n * sizeof *x), *dx, *dout;
        double reference = 0;
        for (int i = 0; i < n; i++) {
            x[i] = (float)(i % 7) - 3.0f + 0.25f;
            reference += x[i];
        }
        CUDA_CHECK(cudaMalloc((void **)&dx, n * sizeof *x));
        CUDA_CHECK(cudaMalloc((void **)&dout, 5 * sizeof *x));
        CUDA_CHECK(cudaMemcpy(dx, x, n * sizeof *x, cudaMemcpyHostToDevice));
        for (int b = 0; b < 5; b++) {
            int grid = 1 + (b + s) % 5;
            LAUNCH(block_sum, grid, blocks[b], 0, 0)(dout, dx, n);
            CUDA_CHECK(cudaGetLastError());
            float partial[5];
            CUDA_CHECK(cudaMemcpy(partial, dout, grid * sizeof *partial, cudaMemcpyDeviceToHost));
            double sum = 0;
            for (int g = 0; g < grid; g++)
                sum += partial[g];
            int ok = fabs(sum - reference) <= 1e-6 * fabs(reference) + 1e-6;
            failures += !ok;
            printf("n %d, %d blocks of %d: sum %g, reference %g, %s\n", n, grid, blocks[b], sum,
                   reference, ok ? "ok" : "WRONG");
        }
        CUDA_CHECK(cudaFree(dx));
        CUDA_CHECK(cudaFree(dout));
        free(x);
    }
    printf("%d wrong\n", failures);
    return failures != 0;
}
