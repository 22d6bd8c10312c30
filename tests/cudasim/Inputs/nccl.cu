// NCCL over MPI at any world size: all-reduce (f32 sum in and out of place, bf16 sum, int32 max),
// all-gather (out of place and in place), broadcast, reduce, grouped sends and receives to rank 0
// with uneven counts, and a ring of grouped sends.  Rank 0 prints one verdict per collective.
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <mpi.h>
#include <nccl.h>
#include <string.h>

#include "cudasim_check.h"

#define NCCL_CHECK(call)                                                                           \
    do {                                                                                           \
        ncclResult_t r_ = (call);                                                                  \
        if (r_ != ncclSuccess) {                                                                   \
            fprintf(stderr, "%s: %s\n", #call, ncclGetErrorString(r_));                            \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static int rank, size;

static void verdict(const char *what, int ok)
{
    int all;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (rank == 0)
        printf("%s: %s\n", what, all ? "ok" : "WRONG");
}

static float *device_floats(const float *h, int n)
{
    float *d;
    CUDA_CHECK(cudaMalloc((void **)&d, n * sizeof *d));
    if (h)
        CUDA_CHECK(cudaMemcpy(d, h, n * sizeof *d, cudaMemcpyHostToDevice));
    return d;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int devices;
    CUDA_CHECK(cudaGetDeviceCount(&devices));
    CUDA_CHECK(cudaSetDevice(rank % devices));
    ncclUniqueId id;
    if (rank == 0)
        NCCL_CHECK(ncclGetUniqueId(&id));
    MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD);
    ncclComm_t comm;
    NCCL_CHECK(ncclCommInitRank(&comm, size, id, rank));
    int count, me;
    NCCL_CHECK(ncclCommCount(comm, &count));
    NCCL_CHECK(ncclCommUserRank(comm, &me));
    if (rank == 0)
        printf("communicator: %d ranks\n", count);
    verdict("rank", me == rank && count == size);
    cudaStream_t s;
    CUDA_CHECK(cudaStreamCreate(&s));

    enum { n = 7 };
    float h[n * 8], got[n * 8];
    for (int i = 0; i < n; i++)
        h[i] = (float)(rank + 1) * (i + 1);
    float *dx = device_floats(h, n), *dy = device_floats(NULL, n);
    NCCL_CHECK(ncclAllReduce(dx, dy, n, ncclFloat, ncclSum, comm, s));
    NCCL_CHECK(ncclAllReduce(dx, dx, n, ncclFloat32, ncclSum, comm, s));  // in place
    CUDA_CHECK(cudaStreamSynchronize(s));
    int ok = 1;
    float total = size * (size + 1) / 2.0f;
    CUDA_CHECK(cudaMemcpy(got, dy, n * sizeof *got, cudaMemcpyDeviceToHost));
    for (int i = 0; i < n; i++)
        ok &= got[i] == total * (i + 1);
    CUDA_CHECK(cudaMemcpy(got, dx, n * sizeof *got, cudaMemcpyDeviceToHost));
    for (int i = 0; i < n; i++)
        ok &= got[i] == total * (i + 1);
    verdict("all_reduce f32 sum", ok);

    __nv_bfloat16 hb[n], *db;
    for (int i = 0; i < n; i++)
        hb[i] = __float2bfloat16(0.5f * (rank + i));
    CUDA_CHECK(cudaMalloc((void **)&db, sizeof hb));
    CUDA_CHECK(cudaMemcpy(db, hb, sizeof hb, cudaMemcpyHostToDevice));
    NCCL_CHECK(ncclAllReduce(db, db, n, ncclBfloat16, ncclSum, comm, s));
    CUDA_CHECK(cudaMemcpy(hb, db, sizeof hb, cudaMemcpyDeviceToHost));
    ok = 1;
    for (int i = 0; i < n; i++)
        ok &= __bfloat162float(hb[i]) == 0.5f * (size * (size - 1) / 2 + size * i);
    verdict("all_reduce bf16 sum", ok);

    int hi[n], *di;
    for (int i = 0; i < n; i++)
        hi[i] = (rank * 5 + i * 3) % (size + 2);
    CUDA_CHECK(cudaMalloc((void **)&di, sizeof hi));
    CUDA_CHECK(cudaMemcpy(di, hi, sizeof hi, cudaMemcpyHostToDevice));
    NCCL_CHECK(ncclAllReduce(di, di, n, ncclInt32, ncclMax, comm, s));
    CUDA_CHECK(cudaMemcpy(hi, di, sizeof hi, cudaMemcpyDeviceToHost));
    ok = 1;
    for (int i = 0; i < n; i++) {
        int m = 0;
        for (int r = 0; r < size; r++)
            m = (r * 5 + i * 3) % (size + 2) > m ? (r * 5 + i * 3) % (size + 2) : m;
        ok &= hi[i] == m;
    }
    verdict("all_reduce int32 max", ok);

    float *dg = device_floats(NULL, n * size);
    for (int i = 0; i < n; i++)
        h[i] = rank * 100.0f + i;
    CUDA_CHECK(cudaMemcpy(dx, h, n * sizeof *h, cudaMemcpyHostToDevice));
    NCCL_CHECK(ncclAllGather(dx, dg, n, ncclFloat, comm, s));
    CUDA_CHECK(cudaMemcpy(got, dg, n * size * sizeof *got, cudaMemcpyDeviceToHost));
    ok = 1;
    for (int i = 0; i < n * size; i++)
        ok &= got[i] == (i / n) * 100.0f + i % n;
    CUDA_CHECK(cudaMemset(dg, 0, n * size * sizeof *got));
    CUDA_CHECK(cudaMemcpy(dg + rank * n, h, n * sizeof *h, cudaMemcpyHostToDevice));
    NCCL_CHECK(ncclAllGather(dg + rank * n, dg, n, ncclFloat, comm, s));  // in place
    CUDA_CHECK(cudaMemcpy(got, dg, n * size * sizeof *got, cudaMemcpyDeviceToHost));
    for (int i = 0; i < n * size; i++)
        ok &= got[i] == (i / n) * 100.0f + i % n;
    verdict("all_gather", ok);

    int root = size - 1;
    NCCL_CHECK(ncclBroadcast(dx, dy, n, ncclFloat, root, comm, s));
    CUDA_CHECK(cudaMemcpy(got, dy, n * sizeof *got, cudaMemcpyDeviceToHost));
    ok = 1;
    for (int i = 0; i < n; i++)
        ok &= got[i] == root * 100.0f + i;
    verdict("broadcast", ok);

    CUDA_CHECK(cudaMemset(dy, 0, n * sizeof *got));
    NCCL_CHECK(ncclReduce(dx, dy, n, ncclFloat, ncclSum, root, comm, s));
    CUDA_CHECK(cudaMemcpy(got, dy, n * sizeof *got, cudaMemcpyDeviceToHost));
    ok = 1;
    for (int i = 0; i < n; i++)
        ok &= got[i] == (rank == root ? 100.0f * size * (size - 1) / 2 + size * i : 0.0f);
    verdict("reduce", ok);

    // Rank r sends r + 1 values to rank 0 (rank 0 included): uneven counts, one group.
    float *dall = device_floats(NULL, size * (size + 1) / 2);
    NCCL_CHECK(ncclGroupStart());
    NCCL_CHECK(ncclSend(dx, rank + 1 <= n ? rank + 1 : n, ncclFloat, 0, comm, s));
    if (rank == 0)
        for (int r = 0, at = 0; r < size; at += r + 1, r++)
            NCCL_CHECK(ncclRecv(dall + at, r + 1, ncclFloat, r, comm, s));
    NCCL_CHECK(ncclGroupEnd());
    ok = 1;
    if (rank == 0) {
        CUDA_CHECK(cudaMemcpy(got, dall, size * (size + 1) / 2 * sizeof *got,
                              cudaMemcpyDeviceToHost));
        for (int r = 0, at = 0; r < size; at += r + 1, r++)
            for (int i = 0; i <= r; i++)
                ok &= got[at + i] == r * 100.0f + i;
    }
    verdict("grouped sends to rank 0, uneven", ok);

    // Every rank sends to the next and receives from the previous: a ring, in one group.
    NCCL_CHECK(ncclGroupStart());
    NCCL_CHECK(ncclSend(dx, n, ncclFloat, (rank + 1) % size, comm, s));
    NCCL_CHECK(ncclRecv(dy, n, ncclFloat, (rank + size - 1) % size, comm, s));
    NCCL_CHECK(ncclGroupEnd());
    CUDA_CHECK(cudaMemcpy(got, dy, n * sizeof *got, cudaMemcpyDeviceToHost));
    ok = 1;
    for (int i = 0; i < n; i++)
        ok &= got[i] == ((rank + size - 1) % size) * 100.0f + i;
    verdict("ring of grouped sends", ok);

    ncclResult_t r = ncclAllReduce(dx, dy, n, ncclFloat, ncclSum, comm, s);
    r = ncclSend(dx, n, ncclFloat, size, comm, s);
    if (rank == 0)
        printf("send to rank %d: %s\n", size, ncclGetErrorString(r));
    ncclComm_t wrong;
    r = ncclCommInitRank(&wrong, size + 1, id, rank);
    if (rank == 0)
        printf("%d ranks joining a communicator of %d: %s\n", size, size + 1,
               ncclGetErrorString(r));

    CUDA_CHECK(cudaStreamDestroy(s));
    NCCL_CHECK(ncclCommDestroy(comm));
    MPI_Finalize();
    return 0;
}
