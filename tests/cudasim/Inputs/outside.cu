// APIs outside the harness's subset do not build.
#include <cuda_runtime.h>

#ifdef MANAGED
int main(void)
{
    float *p;
    return cudaMallocManaged((void **)&p, 64, 1);
}
#endif

#ifdef DYNAMIC_SHARED
__global__ void k(float *out)
{
    extern __shared__ float dynamic[];
    out[threadIdx.x] = dynamic[threadIdx.x];
}
#endif

#ifdef CONSTANT
__constant__ float table[4];
#endif

#ifdef SHFL_UP
__global__ void k(float *out) { out[0] = __shfl_up_sync(0xffffffffu, out[0], 1); }
#endif
