/* cuda_internal.h — what device.c and nccl.c share: the rank's device state. */
#ifndef TPCRT_CUDA_INTERNAL_H
#define TPCRT_CUDA_INTERNAL_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <nccl.h>
#include <stdbool.h>
#include <stdint.h>

/* One of the two pinned buffers weights are read into, and the event of its last upload. */
typedef struct Staging {
    void *host;
    size_t capacity;
    cudaEvent_t done;
    bool pending;
} Staging;

typedef struct TpcrtCuda {
    bool started;
    int device;
    cudaStream_t stream;
    cublasHandle_t blas;
    void *workspace;            /* cuBLAS's */
    ncclComm_t nccl;
    Staging stage[2];
    int next_stage;
    float *staging;             /* collectives' packing buffer (device), grown when needed */
    int64_t staging_capacity;   /* its floats */
    int64_t collective_bytes;   /* its bytes, for --stats */
    uint16_t *scratch_bf16;     /* bf16 GEMMs' rounded rows, grown when needed */
    int64_t scratch_bf16_capacity;
} TpcrtCuda;

extern TpcrtCuda tpcrt_cuda;

void tpcrt_cublas_check(cublasStatus_t status, const char *what);
void tpcrt_nccl_check(ncclResult_t result, const char *what);

#endif /* TPCRT_CUDA_INTERNAL_H */
