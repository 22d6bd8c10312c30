// Launch configurations, built-in indices, warp shuffles, device memory never written, devices.
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <math.h>

#include "cudasim_check.h"

__global__ void indices(unsigned *out)  // every thread writes its linear ids once
{
    unsigned t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    unsigned b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    out[b * blockDim.x * blockDim.y * blockDim.z + t] += b * 1000 + t + 1;
}

__global__ void shuffles(float *out, double *wide, long long *ints)
{
    int lane = threadIdx.x % 32;
    float v = (float)lane;
    out[threadIdx.x] = __shfl_down_sync(0xffffffffu, v, 3);                 // lane + 3, or own
    out[32 + threadIdx.x] = __shfl_sync(0xffffffffu, v, 5, 8);              // lane 5 of its 8
    out[64 + threadIdx.x] = __shfl_xor_sync(0xffffffffu, v, 1, 16);
    wide[threadIdx.x] = __shfl_sync(0xffffffffu, (double)lane * 0.5, 31);
    ints[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (long long)lane << 40, 16);
    __syncwarp();
    if (lane < 16)  // half the warp: lanes outside the mask give no defined value (NaN here)
        out[96 + lane] = __shfl_down_sync(0x0000ffffu, v, 8);
}

__global__ void copy(float *out, const float *in) { out[threadIdx.x] = in[threadIdx.x]; }

int main(void)
{
    int devices;
    cudaError_t e = cudaGetDeviceCount(&devices);
    printf("cudaGetDeviceCount: %s, %d devices\n", cudaGetErrorName(e), devices);
    if (e != cudaSuccess)
        return 0;
    struct cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, devices - 1));
    printf("warpSize %d, maxThreadsPerBlock %d, sharedMemPerBlock %zu\n", prop.warpSize,
           prop.maxThreadsPerBlock, prop.sharedMemPerBlock);
    printf("cudaSetDevice(%d): %s\n", devices, cudaGetErrorName(cudaSetDevice(devices)));
    (void)cudaGetLastError();

    unsigned *d, h[2 * 3 * 4 * 5 * 6];
    int n = 2 * 3 * 4 * 5 * 6;
    CUDA_CHECK(cudaMalloc((void **)&d, sizeof h));
    CUDA_CHECK(cudaMemset(d, 0, sizeof h));
    LAUNCH(indices, dim3(2, 3), dim3(4, 5, 6), 0, 0)(d);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost));
    int ok = 1;
    for (int i = 0; i < n; i++)
        ok &= h[i] == (unsigned)(i / 120 * 1000 + i % 120 + 1);
    printf("grid (2,3) of blocks (4,5,6): %s\n", ok ? "each thread once" : "WRONG");

    const dim3 bad[][2] = {{dim3(1), dim3(0)}, {dim3(1), dim3(1025)}, {dim3(1), dim3(32, 32, 2)},
                           {dim3(0), dim3(32)}, {dim3(1, 0), dim3(32)}};
    for (int i = 0; i < 5; i++) {
        LAUNCH(indices, bad[i][0], bad[i][1], 0, 0)(d);
        cudaError_t launch = cudaGetLastError();
        printf("grid (%u,%u,%u), block (%u,%u,%u): %s, then %s\n", bad[i][0].x, bad[i][0].y,
               bad[i][0].z, bad[i][1].x, bad[i][1].y, bad[i][1].z, cudaGetErrorName(launch),
               cudaGetErrorName(cudaGetLastError()));
    }
    CUDA_CHECK(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost));
    ok = 1;
    for (int i = 0; i < n; i++)
        ok &= h[i] == (unsigned)(i / 120 * 1000 + i % 120 + 1);
    printf("invalid launches ran: %s\n", ok ? "none" : "WRONG");

    float *f, hf[112];
    double *w, hw[32];
    long long *l, hl[32];
    CUDA_CHECK(cudaMalloc((void **)&f, sizeof hf));
    CUDA_CHECK(cudaMalloc((void **)&w, sizeof hw));
    CUDA_CHECK(cudaMalloc((void **)&l, sizeof hl));
    LAUNCH(shuffles, 1, 32, 0, 0)(f, w, l);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaMemcpy(hf, f, sizeof hf, cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(hw, w, sizeof hw, cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(hl, l, sizeof hl, cudaMemcpyDeviceToHost));
    printf("down 3: %g %g %g %g\n", hf[0], hf[28], hf[29], hf[31]);
    printf("lane 5 of 8: %g %g %g\n", hf[32 + 0], hf[32 + 9], hf[32 + 31]);
    printf("xor 1 of 16: %g %g\n", hf[64 + 0], hf[64 + 17]);
    printf("double from lane 31: %g; long long xor 16: %lld\n", hw[3], hl[1] >> 40);
    printf("down 8 in mask 0xffff: %g %g %s\n", hf[96 + 0], hf[96 + 7], isnan(hf[96 + 8]) ? "nan" : "number");

    // Device memory nobody wrote reads as NaN.
    float *fresh, *out, got[4];
    CUDA_CHECK(cudaMalloc((void **)&fresh, sizeof got));
    CUDA_CHECK(cudaMalloc((void **)&out, sizeof got));
    LAUNCH(copy, 1, 4, 0, 0)(out, fresh);
    CUDA_CHECK(cudaMemcpy(got, out, sizeof got, cudaMemcpyDeviceToHost));
    printf("never written: %s\n", isnan(got[0]) && isnan(got[3]) ? "nan" : "a number");

    // Copies outside an allocation, or against their direction, are refused.
    printf("copy past the end: %s\n",
           cudaGetErrorName(cudaMemcpy(got, fresh, 2 * sizeof got, cudaMemcpyDeviceToHost)));
    printf("host pointer as device: %s\n",
           cudaGetErrorName(cudaMemcpy(got, got, sizeof got, cudaMemcpyDeviceToHost)));
    printf("bf16: %g %g %g\n", __bfloat162float(__float2bfloat16(1.0f + 1.0f / 256)),
           __bfloat162float(__float2bfloat16(1.0f + 3.0f / 256)),
           __bfloat162float(__float2bfloat16(3.14159f)));
    return 0;
}
